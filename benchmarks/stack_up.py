"""How long `slate up` takes to be ready, and `slate down` to stop everything.

Writes the example film to a temporary folder, runs the real `slate up` (a Prefect server on a
fresh database, the work pool, four deployments, two automations, a worker) TRIALS times —
each followed by `slate down` — and prints each figure and the median: seconds from the
command to its return (the server healthy, everything registered, the worker started) and
seconds for `slate down`. A second `slate up` on a running stack (it only finds it) is timed
once too. The machine's load average is printed with them: on a shared 2-core machine it is
most of the figure.

    .venv/bin/python -m benchmarks.stack_up
    .venv/bin/python -m benchmarks.stack_up --studio   # the studio (slate/studio.py): S3 server,
                                                       # Prefect on Postgres, ledger database, 2 workers

It must never leave a process behind: every stack it starts it stops by its recorded ids.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TRIALS = 3


def _slate(*args: str) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    started = time.time()
    out = subprocess.run([sys.executable, "-m", "slate.cli", *args], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise SystemExit(f"slate {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
    return time.time() - started


def main() -> None:
    from slate.manifests import write_example_film
    studio = "--studio" in sys.argv[1:]
    with tempfile.TemporaryDirectory() as tmp:
        film = write_example_film(Path(tmp) / "film")
        up = ["up", str(film)]
        if studio:   # the studio keeps the film in a bucket of its own S3 server
            with open(film / "slate.toml", "a") as f:
                f.write('\n[storage]\nbackend = "s3"\nbucket = "studio"\n')
            up += ["--studio", "--workers", "2"]
        ups, downs = [], []
        for i in range(TRIALS):
            ups.append(_slate(*up))
            if i == 0:
                again = _slate(*up)
            downs.append(_slate("down", str(film)))
            print(f"trial {i + 1}: slate up {ups[-1]:.1f}s, slate down {downs[-1]:.1f}s "
                  f"(load average {os.getloadavg()[0]:.1f})")
        print(f"slate up{' --studio' if studio else ''}: median {statistics.median(ups):.1f}s to ready (min {min(ups):.1f}, max {max(ups):.1f}); "
              f"a second slate up on the running stack {again:.1f}s; slate down median "
              f"{statistics.median(downs):.1f}s")


if __name__ == "__main__":
    main()
