"""Wall time of the example scene: a first render and a cached re-run, through `slate run`.

What `make demo` does, measured: a fresh example film is written to a temporary folder, then
`slate run` is timed twice. Every figure printed is measured from what the runs left behind:
the shots from the film's manifests, the mp4's duration and size probed with ffmpeg, and the
provider calls of each run counted from the ledger rows that run added (every row but the
refused and released ones, which cost nothing) — not from the counter the CLI prints, which is
shown beside it only as a cross-check.

    .venv/bin/python -m benchmarks.scene_render

It must never touch the repository's own example-film/ folder, and never print a figure it
did not measure.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from slate.governor.ledger import Ledger
from slate.manifests import load_film, write_example_film
from slate.media import Probe, probe

NOT_CALLS = ("refused", "released")  # rows for the log that never reached a provider


@dataclass(frozen=True)
class RunFigures:
    wall: float
    state: str
    calls: int                 # ledger rows this run added that reached a provider
    calls_by_stage: Counter
    cli_calls: str             # what the CLI printed, for comparison only
    output: Path
    probed: Probe


def _call_ids(film: Path, film_id: str) -> set[str]:
    with Ledger.for_project(film) as ledger:
        return {r.call_id for r in ledger.rows(film=film_id)}


def _new_calls(film: Path, film_id: str, before: set[str]) -> list:
    with Ledger.for_project(film) as ledger:
        return [r for r in ledger.rows(film=film_id) if r.call_id not in before and r.status not in NOT_CALLS]


def _written_mp4(film: Path, since: float) -> Path:
    """The mp4 this run wrote into renders/ (the scene's output is rewritten on every run)."""
    written = [p for p in (film / "renders").glob("*.mp4") if p.stat().st_mtime >= since]
    if len(written) != 1:
        raise SystemExit(f"expected the run to write one mp4 under {film / 'renders'}, found {written}")
    return written[0]


def timed_run(film: Path, film_id: str) -> RunFigures:
    before = _call_ids(film, film_id)
    since = time.time() - 1  # mtime resolution
    started = time.perf_counter()
    # A wide console: rich would otherwise wrap the CLI's lines at 80 columns.
    out = subprocess.run([sys.executable, "-m", "slate.cli", "run", str(film)], capture_output=True, text=True,
                         env={**os.environ, "COLUMNS": "300"})
    wall = time.perf_counter() - started
    if out.returncode != 0:
        raise SystemExit(f"slate run failed ({out.returncode}):\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    state = re.search(r"state: (\w+)", out.stdout)
    cli_calls = re.search(r"provider calls made: (\d+)", out.stdout)
    calls = _new_calls(film, film_id, before)
    mp4 = _written_mp4(film, since)
    return RunFigures(wall=wall, state=state.group(1) if state else "?", calls=len(calls),
                      calls_by_stage=Counter(r.stage for r in calls),
                      cli_calls=cli_calls.group(1) if cli_calls else "not printed", output=mp4, probed=probe(mp4))


def describe(label: str, r: RunFigures) -> str:
    stages = ", ".join(f"{stage} {n}" for stage, n in sorted(r.calls_by_stage.items())) or "none"
    p = r.probed
    return (f"  {label}: {r.wall:.1f} s, state {r.state}; {r.calls} provider calls in the ledger ({stages}); "
            f"the CLI said {r.cli_calls}\n"
            f"    {r.output.name}: {p.duration:.2f} s ({p.frames} frames at {float(p.fps):g} fps), "
            f"{p.width}x{p.height} {p.codec}")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        film = write_example_film(Path(tmp) / "film")
        loaded = load_film(film)
        film_id = loaded.film.id
        scene_id, scene = loaded.scenes[0][1].id, loaded.scenes[0][1]  # `slate run` renders the first scene
        first = timed_run(film, film_id)
        second = timed_run(film, film_id)
    print(f"example film '{film_id}', scene {scene_id}: {len(scene.shots)} shots in the manifest; "
          "`slate run` wall time incl. the embedded Prefect server:")
    print(describe("first render", first))
    print(describe("cached re-run", second))


if __name__ == "__main__":
    main()
