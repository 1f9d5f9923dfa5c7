"""A long film, first render and fully cached re-run, through `slate run` (the whole film).

The film is generated here from the example's bible (never committed): its one scene's shots
dealt into `scenes` scenes until there are `shots` shots (62 in 4 scenes by default, the size
film-makers report), each shot keeping its own camera, cast and duration. Then `slate run DIR`
is timed twice. Every figure is measured from what the runs left behind: calls are ledger rows
that reached a provider, provider seconds are the ledger's submitted→finished spans, the cut is
probed with ffmpeg.

Prints one JSON line per run: wall seconds, calls, provider seconds, orchestration seconds per
shot ((wall - provider seconds) / shots, an upper bound: the local provider's renders run in
the same process), and for the cached run the goal (10 s).

    .venv/bin/python -m benchmarks.film [shots=62] [scenes=4]

It must never touch the repository's example-film/ folder, and never print a figure it did not
measure.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from governor.ledger import Ledger
from manifests import load_film, write_example_film
from media import probe

NOT_CALLS = ("refused", "released")


def long_film(root: Path, shots: int, scenes: int) -> Path:
    """The example film with `shots` shots dealt into `scenes` scenes."""
    write_example_film(root)
    source = yaml.safe_load((root / "scenes" / "scene-01.yaml").read_text())
    pool = source["shots"]
    per = [shots // scenes + (1 if k < shots % scenes else 0) for k in range(scenes)]
    files, n = [], 0
    for k, count in enumerate(per, start=1):
        doc = {key: value for key, value in source.items() if key != "shots"}
        doc["id"], doc["title"] = f"scene-{k:02d}", f"{source['title']} ({k})"
        doc["shots"] = []
        for i in range(count):
            shot = dict(pool[(n + i) % len(pool)])
            # Shot ids are a number and one or two capitals: the scene's number, then AA, AB, …
            shot["id"] = f"{k}{chr(65 + i // 26)}{chr(65 + i % 26)}"
            doc["shots"].append(shot)
        # A chain cannot start a scene: the first shot of each scene stands alone.
        doc["shots"][0].pop("chain", None)
        doc["shots"][-1].pop("transition_out", None)
        n += count
        path = root / "scenes" / f"scene-{k:02d}.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        files.append(f"scenes/{path.name}")
    film = yaml.safe_load((root / "film.yaml").read_text())
    film["scenes"] = files
    (root / "film.yaml").write_text(yaml.safe_dump(film, sort_keys=False))
    return root


def _rows(root: Path, film_id: str) -> list:
    with Ledger.for_project(root) as ledger:
        return [r for r in ledger.rows(film=film_id) if r.status not in NOT_CALLS]


def timed_run(root: Path, film_id: str, shots: int, label: str) -> dict:
    before = {r.call_id for r in _rows(root, film_id)}
    started = time.perf_counter()
    done = subprocess.run([str(Path(sys.executable).with_name("slate")), "run", str(root)], capture_output=True,
                          text=True, env={**os.environ, "SLATE_PROFILE": "draft"})
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"slate run failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    new = [r for r in _rows(root, film_id) if r.call_id not in before]
    provider = sum(((r.finished_at - r.submitted_at).total_seconds() for r in new if r.finished_at and r.submitted_at),
                   0.0)
    cut = next((root / "renders").glob("*-draft.mp4"), None)
    figures = {"benchmark": "film", "run": label, "shots": shots, "wall_s": round(wall, 1), "calls": len(new),
               "provider_s": round(float(provider), 1),
               "orchestration_s_per_shot": round((wall - float(provider)) / shots, 3),
               "film_seconds": round(probe(cut).duration, 2) if cut else None}
    if label == "cached":
        figures["goal_s"] = 10
    return figures


def main(shots: int = 62, scenes: int = 4) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        root = long_film(Path(tmp) / "film", shots, scenes)
        film_id = load_film(root).film.id
        lines = [timed_run(root, film_id, shots, "first"), timed_run(root, film_id, shots, "cached")]
    for line in lines:
        print(json.dumps(line))
    return lines


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
