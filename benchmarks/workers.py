"""The film's wall time through the film deployment on one worker, then on two.

Starts the two-worker test's studio (tests/studio_harness.py: `slate up --studio` in a subprocess —
SeaweedFS, a Prefect server, the ledger in Postgres, process workers with their own folders,
asking for runs every 2 s as the studio itself chooses) with ONE worker, renders the
four-scene cut of the example with new takes and times it from the run's creation to its
final state; then starts a second worker and renders it again with other new takes. Prints
each wall time, which worker ran each scene, the video latency on the critical path (one job:
no shot of the cut is chained) and the machine's load average — on a shared 2-core machine
the load is most of the figure.

    PYTHONPATH=. .venv/bin/python -m benchmarks.workers

It must never leave a process behind: the studio stops everything it started by process id.
"""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from slate.studio import add_worker
from tests.studio_harness import LATENCY, SCENES, open_studio, run_film, scene_runs, wait_final, who_ran


def _render(one, seed: int) -> tuple[float, str, dict]:
    one.reshoot(seed)
    started = time.time()
    film_run = run_film(one, project=one.address)
    run = wait_final(one, film_run)
    wall = time.time() - started
    ran = who_ran(one)
    state = f"{run.state.name}: {run.state.message}"
    return wall, state, {r.parameters["scene"]: f"{ran.get(str(r.id))} ({r.state.name})"
                         for r in scene_runs(one, film_run)}


def main() -> None:
    from slate.manifests import write_example_film
    with tempfile.TemporaryDirectory() as tmp:
        example = write_example_film(Path(tmp) / "example")
        with open_studio(Path(tmp) / "studio", example, workers=1) as one:
            figures = {1: _render(one, seed=21)}
            add_worker(one.film)
            figures[2] = _render(one, seed=22)
    clips = sum(len(s) for s in SCENES.values())
    print(f"film: {len(SCENES)} scenes, {clips} clips, {LATENCY} s per local video job; video latency on the "
          f"critical path {LATENCY} s (no shot is chained; 8 video slots)")
    for n, (wall, state, where) in figures.items():
        print(f"  {n} worker(s): {wall:6.1f} s wall ({state}); ratio to the critical path {wall / LATENCY:.1f}x; "
              f"scenes: {', '.join(f'{s} on {w}' for s, w in sorted(where.items()))}")
    print(f"  two workers vs one: {figures[1][0] / figures[2][0]:.2f}x faster; load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
