"""Wall time of the example scene: a first render and a cached re-run, through `slate run`.

What `make demo` does, measured: a fresh example film is written to a temporary folder, then
`slate run` is timed twice (the second run must make 0 provider calls). Prints both times and
the provider calls each run made.

    .venv/bin/python -m benchmarks.scene_render

It must never touch the repository's own example-film/ folder.
"""
from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from manifests import write_example_film


def timed_run(film: Path) -> tuple[float, int, str]:
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "slate.cli", "run", str(film)], capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    calls = re.search(r"provider calls made: (\d+)", out.stdout)
    state = re.search(r"state: (\w+)", out.stdout)
    if out.returncode != 0 or not calls:
        raise SystemExit(f"slate run failed ({out.returncode}):\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return elapsed, int(calls.group(1)), state.group(1) if state else "?"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        film = write_example_film(Path(tmp) / "film")
        first = timed_run(film)
        second = timed_run(film)
    print("example scene (9 shots, 25.25 s at 480p), `slate run` wall time incl. the embedded Prefect server:")
    print(f"  first render: {first[0]:.1f} s, {first[1]} provider calls, state {first[2]}")
    print(f"  cached re-run: {second[0]:.1f} s, {second[1]} provider calls, state {second[2]}")


if __name__ == "__main__":
    main()
