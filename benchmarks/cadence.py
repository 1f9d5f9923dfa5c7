"""The cadence checks at the lengths films use: `clip_dropped` and `clip_stutter` per clip length.

`python -m benchmarks.cadence [--n N] [--seed S] [--lengths 1.5,2,2.5,3,3.5] [--sway]`

benchmarks/gates.py renders every corpus clip 1.5 s long; the example's shots are 2-3.5 s, and a
slower move per frame was placed by the renders to whole pixels (a pixel some frames, none others:
ffmpeg zoompan until 2026-12-01, below a pixel since), which the cadence checks first read as frames
dropped (issue 56: six of the example's nine clean clips) — as a vendor's clip placed so still may be. Here each case is a shot of the example film, its own move (or a dolly where it asked
none; half the cases a dolly whatever it asked), rendered by ffmpeg at one of the lengths, each
graded by one photometric change (the clean takes' spread) and re-encoded, three ways:

  clean    the clip as rendered — must pass both checks;
  dropped  the same move rendered 3-6 frames longer with that many frames taken out at random
           places (never the first or last): the clip keeps its length and jumps ahead;
  stutter  2-4 hitches, a frame held 1-3 more frames and the picture then jumping on.

With `--sway` each move also sways across its way as the local provider's takes do
(providers/local.py `take_move`, drawn from the case's seed): the example's own clips are rendered
so, and a move placed to half pixels on two axes is what the cadence checks misread first.

A case is read by `media.dailies.watch` and `cadence_scores` (what the keyframe gate's clip checks
run); one JSON line per kind and length (cases, share failed on the kind's own check), then the
totals, exiting non-zero when a fault kind is caught under 95% or clean clips fail over 5%
(issue 56's bar). Nothing generated is kept.
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

from benchmarks.gate_corpus import (DROPPED, PHOTOMETRIC, clip_frames, dropped_frames, encode_clip, grade_frames,
                                    stutter, write_png)
from slate.manifests import load_film, write_example_film
from slate.media import render_clip
from slate.media.dailies import cadence_scores, watch
from slate.providers.local import LocalImage, take_move
from slate.providers.storage_local import LocalStorage
from slate.tasks.shot.plan import plan_from_project

FPS = 24
LENGTHS = (1.5, 2.0, 2.5, 3.0, 3.5)
CHECK = {"dropped": "clip_dropped", "stutter": "clip_stutter"}
CAUGHT, FALSE_ALARMS = 0.95, 0.05


def cases(n: int, seed: int, lengths: tuple[float, ...], sway: bool = False, only: set[int] | None = None,
          clean_only: bool = False):
    """Yields (kind, seconds, the names of the checks it fails) for n clips of each kind; `only`:
    the cases of these numbers alone, `clean_only`: their clean clips alone (each as the full run
    makes it: a case's clean clip is made and graded first, from its own seeded draw)."""
    with tempfile.TemporaryDirectory(prefix="slate-cadence-") as tmp:
        root = write_example_film(Path(tmp) / "film")
        painter = LocalImage(LocalStorage(root))
        plans = plan_from_project(load_film(root), "scene-01", "draft", FPS)
        made = iter(range(10**9))

        def path(suffix: str) -> Path:
            return Path(tmp) / f"{next(made)}{suffix}"

        for i in range(n):
            if only is not None and i not in only:
                continue
            rng = np.random.default_rng([seed, i])
            plan = plans[i % len(plans)]
            own = "static" if plan.camera_fixed else plan.movement
            movement = own if (i // len(plans)) % 2 == 0 else "dolly_in"
            if movement == "static" and plan.end is None:
                movement = "dolly_in"   # the checks read moving clips only
            seconds = lengths[i % len(lengths)]
            across = take_move(movement, False, seed * 1000 + i).sway if sway else 0.0
            req = replace(plan.panel_request("start", 1), seed=seed * 1000 + i)
            start = write_png(painter.draw(req), path(".png"))
            end = None
            if plan.end:
                end = write_png(painter.draw(replace(plan.panel_request("end", 1), seed=seed * 1000 + i)), path(".png"))
            count = int(round(seconds * FPS))
            grade = PHOTOMETRIC[i % len(PHOTOMETRIC)]

            def rendered(frames_: int) -> np.ndarray:
                f = path(".mp4")
                render_clip(start, f, width=req.width, height=req.height, fps=FPS, seconds=frames_ / FPS,
                            movement=movement, end_png=end, sway=across)
                frames = clip_frames(f)[0]
                f.unlink()
                return frames

            clean = rendered(count)
            extra = int(rng.integers(DROPPED[0], DROPPED[1] + 1))   # drawn whatever is kept: the same draws follow
            kinds = {"clean": lambda: clean, "dropped": lambda: dropped_frames(rendered(count + extra), count, rng)[0],
                    "stutter": lambda: stutter(clean, rng)[0]}
            for kind in ("clean",) if clean_only else ("clean", "dropped", "stutter"):
                frames = kinds[kind]()
                out = encode_clip(grade_frames(frames, grade, rng), path(".mp4"), FPS)
                failing = {s["name"] for s in cadence_scores(watch(out), expect_motion=True) if not s["passed"]}
                out.unlink()
                yield kind, seconds, failing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100, help="clips of each kind (default 100), cycling the lengths")
    parser.add_argument("--seed", type=int, default=41)
    parser.add_argument("--lengths", default=",".join(str(s) for s in LENGTHS), help="clip lengths, seconds")
    parser.add_argument("--sway", action="store_true", help="each move sways across its way as a local take's does")
    args = parser.parse_args(argv)
    lengths = tuple(float(s) for s in args.lengths.split(","))
    started = time.perf_counter()
    seen: dict[tuple[str, float], list[bool]] = {}
    for kind, seconds, failing in cases(args.n, args.seed, lengths, args.sway):
        flagged = bool(failing & set(CHECK.values())) if kind == "clean" else CHECK[kind] in failing
        seen.setdefault((kind, seconds), []).append(flagged)
    under = []
    for kind in ("clean", "dropped", "stutter"):
        rows = {s: v for (k, s), v in seen.items() if k == kind}
        every = [x for v in rows.values() for x in v]
        share = float(np.mean(every)) if every else 0.0
        for s in sorted(rows):
            print(json.dumps({"kind": kind, "seconds": s, "cases": len(rows[s]),
                              ("false_alarm" if kind == "clean" else "caught"): round(float(np.mean(rows[s])), 3)}))
        what = "false_alarm" if kind == "clean" else "caught"
        print(json.dumps({"kind": kind, "seconds": "all", "cases": len(every), what: round(share, 3)}))
        if (kind == "clean" and share > FALSE_ALARMS) or (kind != "clean" and share < CAUGHT):
            under.append(f"{kind} {what} {share:.1%}")
    print(json.dumps({"seconds_taken": round(time.perf_counter() - started, 1), "under_the_bar": under}))
    return 1 if under else 0


if __name__ == "__main__":
    sys.exit(main())
