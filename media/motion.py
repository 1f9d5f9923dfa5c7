"""Motion sanity of a clip: is it a clip at all — the size, shape, frame rate and length asked
(`format_score`, looked at before anything else: a clip of another size is a failed take, not one
the stitch scales without a word), moving where the shot moves, no black frames, as many frames
as asked. Measured by slate itself for every judge (a vision model is not asked to count frames).

It must never judge content: who or where is the judge's business.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .commands import exact_rate
from .metrics import load_rgb
from .probe import Probe, probe

BLACK_LUMA = 8.0       # a frame darker than this on average is black (encoder garbage, a failed render)
FROZEN_DIFF = 0.75     # mean absolute change (0–255) below this between first and last frame: no motion


SIZE_TOLERANCE = 0.02   # of the asked height: a codec's rounding (1088 for 1080)
SHAPE_TOLERANCE = 0.03  # of the asked width/height: a model's own 16:9 at 480p (832x480, 864x480 for 854x480)
RATE_TOLERANCE = 0.005  # of the asked frame rate: 23.976 for 24, never 25 or 30


def format_score(p: Probe, *, width: int, height: int, fps: float, seconds: float,
                 sizes: tuple[tuple[int, int], ...] = ()) -> dict:
    """`clip_format`: the clip is what was asked before anything is looked at in it — its height
    the asked height (within SIZE_TOLERANCE), its shape the asked shape (within SHAPE_TOLERANCE:
    a model's own 16:9 at that height), its frame rate the asked one (within RATE_TOLERANCE) and
    no shorter than asked (by more than a frame; a longer clip is cut at the stitch). `sizes`:
    other (width, height) the take's model was asked instead (one that makes no 480p is asked
    720p). A clip of another size is a failed take, never one the stitch scales without a word."""
    got_rate = float(p.fps or 0)
    asked_rate = float(exact_rate(fps))   # 23.976 is 24000/1001
    problems = []
    asked = [(width, height), *sizes]
    if not any(abs(p.height - h) <= SIZE_TOLERANCE * h and h and p.height
               and abs((p.width / p.height) / (w / h) - 1) <= SHAPE_TOLERANCE for w, h in asked):
        problems.append(f"is {p.width}x{p.height}, asked {' or '.join(f'{w}x{h}' for w, h in asked)}")
    if abs(got_rate - asked_rate) > RATE_TOLERANCE * asked_rate:
        problems.append(f"runs at {got_rate:g} fps, asked {asked_rate:g}")
    if p.duration + 1.0 / max(1.0, asked_rate) < seconds:
        problems.append(f"lasts {p.duration:.2f} s, asked {seconds:g} s")
    reason = ("the clip " + "; ".join(problems) if problems else
              f"{p.width}x{p.height} at {got_rate:g} fps for {p.duration:.2f} s, as asked")
    return _score("clip_format", 0.0 if problems else 1.0, 1.0, reason)


def motion_scores(clip: Path, frames: dict[str, Path], *, seconds: float, fps: float, expect_motion: bool,
                  info: Probe | None = None) -> list[dict]:
    """Two scores: `motion` (1 moving or still as asked; 0 frozen, black) and `frames` (1 when the
    clip has the frames asked, within one), each with its reason. `info`: the clip's probe, when
    the caller has it (a probe is a whole decode)."""
    try:
        p = info or probe(clip)
    except Exception as exc:  # noqa: BLE001 — a clip ffmpeg cannot read is a corrupt clip
        return [_score("motion", 0.0, 0.5, f"the clip cannot be read ({str(exc)[:120]})"),
                _score("frames", 0.0, 1.0, "the clip cannot be read")]
    images = {name: load_rgb(path).astype(np.float32) for name, path in frames.items()}
    lumas = {name: float((0.299 * a[..., 0] + 0.587 * a[..., 1] + 0.114 * a[..., 2]).mean()) for name, a in images.items()}
    dark = [name for name, luma in lumas.items() if luma < BLACK_LUMA]
    change = float(np.abs(images["first"] - images["last"]).mean()) if {"first", "last"} <= set(images) else 0.0
    if dark:
        motion = _score("motion", 0.0, 0.5, f"black frame(s): {', '.join(dark)}")
    elif expect_motion and change < FROZEN_DIFF:
        motion = _score("motion", 0.0, 0.5, f"frozen: the first and last frames differ by {change:.2f} on average")
    else:
        motion = _score("motion", 1.0, 0.5, f"{'moves' if change >= FROZEN_DIFF else 'still, as the shot asks'} "
                                            f"(mean change {change:.2f})")
    asked = round(seconds * float(exact_rate(fps)))
    got = p.frames or 0
    frames_ok = abs(got - asked) <= 1 or got > asked  # longer is cut at the stitch; shorter is not a take
    counted = _score("frames", 1.0 if frames_ok else 0.0, 1.0,
                     f"{got} frames at {float(p.fps or 0):g} fps for {asked} asked ({p.duration or 0:.2f} s)")
    return [motion, counted]


def _score(name: str, value: float, threshold: float, reason: str) -> dict:
    return {"name": name, "value": value, "threshold": threshold, "passed": value >= threshold, "reason": reason,
            "role": "block"}
