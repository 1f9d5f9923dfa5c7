"""The local provider's own clean takes, read by the keyframe gate's timing checks (`clip_stutter`, `clip_dropped`).

`python -m benchmarks.local_takes [--seeds 3] [--seed 1000] [--profiles draft,final] [--verbose]`

benchmarks/cadence.py holds the timing checks to the bar on clips it renders itself, graded and
re-encoded. A stutter made to block (2026-12-01) still retook clean takes of the local provider in
`make test` (3 of 9 clips of one run): the stand-in's clips are not the benchmark's. Here each case
is what `LocalVideo` renders for a shot of the example film — the shot's own size at the profile
(draft 854x480, final 1280x720), its own length, the take's move drawn from its seed
(providers/local.py `take_move`: a static camera's drift out and back, a moving one's sway) —
rendered by `render_clip` as the provider does, with nothing done to it after. Locked-off shots
without an end frame never move and are left out.

Prints one JSON line per flagged take (profile, shot, seconds, size, seed, the move, the checks'
words; `--verbose`: the picture's step frame to frame over the whole clip, mean absolute difference),
then one line per profile (takes, share flagged by each check). Exits non-zero when any clean
take reads as a stutter: the bar a stutter must meet before it may block. Nothing generated is kept.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from benchmarks.gate_corpus import clip_frames, write_png
from slate.manifests import load_film, write_example_film
from slate.media import render_clip
from slate.media.dailies import cadence_scores, watch
from slate.providers.local import LocalImage, take_move
from slate.providers.storage_local import LocalStorage
from slate.tasks.shot.plan import plan_from_project

FPS = 24
TIMING = ("clip_stutter", "clip_dropped")


def takes(profiles: tuple[str, ...], seeds: int, first_seed: int, verbose: bool = False):
    """Yields one dict per take: where it came from, its move and the timing checks it fails."""
    with tempfile.TemporaryDirectory(prefix="slate-local-takes-") as tmp:
        root = write_example_film(Path(tmp) / "film")
        painter = LocalImage(LocalStorage(root))
        film = load_film(root)
        for profile in profiles:
            for plan in plan_from_project(film, "scene-01", profile, FPS):
                for k in range(seeds):
                    seed = first_seed + k
                    move = take_move(plan.movement, plan.camera_fixed, seed)
                    if move.movement == "static" and plan.end is None:
                        continue   # locked off: nothing moves, nothing to time
                    req = replace(plan.panel_request("start", 1), seed=seed)
                    start = write_png(painter.draw(req), Path(tmp) / "start.png")
                    end = write_png(painter.draw(replace(plan.panel_request("end", 1), seed=seed)),
                                    Path(tmp) / "end.png") if plan.end else None
                    clip = Path(tmp) / "take.mp4"
                    render_clip(start, clip, width=plan.width, height=plan.height, fps=FPS, seconds=plan.duration,
                                movement=move.movement, end_png=end, reach=move.reach, back=move.back,
                                sway=move.sway)
                    failing = [s for s in cadence_scores(watch(clip), expect_motion=True) if not s["passed"]]
                    row = {"profile": profile, "shot": plan.shot, "seconds": plan.duration,
                           "size": f"{plan.width}x{plan.height}", "seed": seed, "move": move.movement,
                           "reach": move.reach, "back": move.back, "sway": move.sway,
                           "failing": {s["name"]: s["reason"] for s in failing}}
                    if verbose and failing:
                        frames = clip_frames(clip)[0].astype(np.float32)
                        row["steps"] = np.round(np.abs(np.diff(frames, axis=0)).mean(axis=(1, 2, 3)
                                                if frames.ndim == 4 else (1, 2)), 2).tolist()
                    clip.unlink()
                    yield row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3, help="takes of each shot (default 3)")
    parser.add_argument("--seed", type=int, default=1000, help="the first take's seed")
    parser.add_argument("--profiles", default="draft,final")
    parser.add_argument("--verbose", action="store_true", help="print a flagged take's steps frame to frame")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    seen: dict[str, list[set[str]]] = {}
    for row in takes(tuple(args.profiles.split(",")), args.seeds, args.seed, args.verbose):
        seen.setdefault(row["profile"], []).append(set(row["failing"]))
        if row["failing"]:
            print(json.dumps(row), flush=True)
    stutters = 0
    for profile, rows in seen.items():
        shares = {name: round(sum(name in r for r in rows) / len(rows), 3) for name in TIMING}
        stutters += sum("clip_stutter" in r for r in rows)
        print(json.dumps({"profile": profile, "takes": len(rows), "flagged": shares,
                          "any_check": round(sum(bool(r) for r in rows) / len(rows), 3)}))
    print(json.dumps({"seconds_taken": round(time.perf_counter() - started, 1), "clean_takes_read_as_stutter": stutters}))
    return 1 if stutters else 0


if __name__ == "__main__":
    sys.exit(main())
