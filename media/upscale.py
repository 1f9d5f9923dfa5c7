"""The upscale check's measure (issue 41): is an upscaled clip the take it was made from, only larger.

An approved take and what an upscale model made of it go in; an `UpscaleReading` comes out: the
clip's size, frame rate, frame count and length against what was asked and against the take,
and how far the upscaled clip, scaled back down to the take's size, is from the take. An upscale
adds detail that a downscale averages away again; anything else it changed — a colour, a face, a
prop, the motion, a frame dropped mid-clip, another clip altogether — is still there at the
take's size.

- ``aligned``       which of the upscaled clip's frames is which of the take's: an upscaler may
                    drop or add a frame at the start (FRAME_SLACK), so the offset of -1, 0 or +1
                    frame that matches best, read on small copies of every frame (0 when none
                    is better: a still clip matches at every offset).
- ``frames_of``     up to SAMPLES frames spread evenly through a clip from its `first`, each
                    scaled to the take's size by area averaging (every pixel's share kept), RGB.
- ``psnr``          10·log10(255² / MSE) of two pictures; PSNR_CEILING for identical ones.
- ``worst_block``   the largest mean absolute difference (0–255, the channels' mean) of any
                    BLOCK x BLOCK square of two pictures: a change to a small part of the frame
                    (a face, a sign) that the whole frame's PSNR averages away.
- ``judge_upscale`` the whole reading, and its verdict.

Verdict: `failed` when the clip is not the size asked for, runs at another frame rate than the
take, has more than FRAME_SLACK frames more or fewer, lasts more than a frame and a half longer
or shorter, or when any compared frame, scaled back down, reads under PSNR_FLOOR dB against the
take's or has a square more than BLOCK_CEILING levels from it. Otherwise `passed`.

The thresholds were measured on real encodes (tests/unit/test_upscale_check.py holds a sample
of them): the local painter's 720p and 480p takes (H.264, CRF 23) upscaled 2x by lanczos,
bicubic or nearest-neighbour and encoded again read 39.7–42.1 dB, their worst square 6.7
levels (one dropped first frame: the same, at offset 1). Changes of content fail by a wide
margin: a 32-pixel square painted over (35.7 dB, but a square 58–71 levels off), mirrored,
another shot's take (13–16 dB), a blur of σ 2 (a square 24–27 levels off). A grade sits
between: brightness +8%, hue +10°, saturation +20% read 34–35 dB and 12–16 levels and pass;
gamma +10% reads 29.2–29.5 dB and fails, just. Natural footage with grain that a model
cleans reads lower than the painter's flat colours [?]: the floors leave it some 9 dB and 13
levels below what was measured here.

It reads files only: it must never pay, call a provider, write anything, or import anything of
ours but media.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .commands import fmt_rate, raw_frames_args
from .ffmpeg import pipe
from .probe import probe

#: Every compared frame, scaled back down, must be at least this close to the take's (dB).
PSNR_FLOOR = 30.0
#: No BLOCK x BLOCK square of a compared frame may be further than this from the take's (levels).
BLOCK_CEILING = 20.0
BLOCK = 16
#: Identical pictures have no finite PSNR: read as this.
PSNR_CEILING = 99.0
#: An upscaler may add or drop a frame (a decoder's delay, a rounding of the length): one frame
#: either way is the same clip; two is not.
FRAME_SLACK = 1
#: Frames compared a clip: a change to a second of a clip is caught in a clip of a minute;
#: few enough that a 1080p take's frames (6 MB each) are held twice in memory.
SAMPLES = 24
#: The small copies the offset is read on: this many times smaller each way.
ALIGN_SCALE = 8
#: A shift is taken only where it matches this much better than none (its error this share of none's).
SHIFT_GAIN = 0.8


@dataclass(frozen=True)
class UpscaleReading:
    """The upscale check's reading of one upscaled clip against its take: its size, rate, frames
    and seconds as made, and the take's; the offset its frames were held at (upscaled frame j is
    the take's j + `offset`); over the frames compared, the PSNR (dB) of them all scaled back down,
    the worst frame's, and the worst square's difference (levels); what failed, one line each."""

    width: int
    height: int
    fps: str
    frames: int
    seconds: float
    take_width: int
    take_height: int
    take_fps: str
    take_frames: int
    take_seconds: float
    offset: int
    compared: int
    psnr: float | None
    worst_psnr: float | None
    worst_block: float | None
    problems: tuple[str, ...] = ()

    @property
    def verdict(self) -> str:
        return "failed" if self.problems else "passed"

    @property
    def reason(self) -> str:
        """One line a person reads."""
        if self.problems:
            return "; ".join(self.problems)
        return (f"{self.width}x{self.height} at {self.fps} fps, {self.frames} frames ({self.seconds:.3f} s); "
                f"scaled back to {self.take_width}x{self.take_height} it is the take: {self.psnr:.1f} dB "
                f"(worst frame {self.worst_psnr:.1f} dB, worst square {self.worst_block:.1f} levels, "
                f"{self.compared} frames)")


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """The PSNR (dB) of two same-shaped 8-bit pictures; PSNR_CEILING when they are identical."""
    return _db(float(np.mean((a.astype(np.float32) - b.astype(np.float32)) ** 2)))


def _db(mse: float) -> float:
    return PSNR_CEILING if mse <= 0 else min(PSNR_CEILING, 10 * math.log10(255.0 ** 2 / mse))


def worst_block(a: np.ndarray, b: np.ndarray, size: int = BLOCK) -> float:
    """The largest mean absolute difference (levels, over the channels) of any `size` x `size`
    square of two same-shaped pictures (a part square at the right or bottom edge is left out)."""
    d = np.abs(a.astype(np.int16) - b.astype(np.int16)).mean(axis=-1)
    h, w = d.shape[0] // size * size, d.shape[1] // size * size
    if not h or not w:
        return float(d.mean()) if d.size else 0.0
    return float(d[:h, :w].reshape(h // size, size, w // size, size).mean(axis=(1, 3)).max())


def frames_of(clip, *, width: int, height: int, every: int = 1, first: int = 0) -> np.ndarray:
    """Every `every`-th frame of `clip` from frame `first`, at width x height (area averaging),
    as an (n, height, width, 3) uint8 array."""
    data = pipe(raw_frames_args(clip, width=width, height=height, every=every, first=first))
    size = width * height * 3
    count = len(data) // size
    return np.frombuffer(data[:count * size], dtype=np.uint8).reshape(count, height, width, 3)


def aligned(take, upscaled, *, width: int, height: int) -> int:
    """The offset d (-FRAME_SLACK..FRAME_SLACK) at which the upscaled clip's frame j best matches
    the take's frame j + d, read on copies ALIGN_SCALE times smaller: 0 unless another is
    clearly better (SHIFT_GAIN), since a still clip matches at every offset."""
    w, h = max(2, width // ALIGN_SCALE), max(2, height // ALIGN_SCALE)
    ours = frames_of(take, width=w, height=h).astype(np.float32)
    theirs = frames_of(upscaled, width=w, height=h).astype(np.float32)
    errors: dict[int, float] = {}
    for d in range(-FRAME_SLACK, FRAME_SLACK + 1):
        a, b = (ours[d:], theirs) if d >= 0 else (ours, theirs[-d:])
        n = min(len(a), len(b))
        if n:
            errors[d] = float(np.mean((a[:n] - b[:n]) ** 2))
    if not errors:
        return 0
    best = min(errors, key=lambda d: (errors[d], abs(d)))
    return best if 0 not in errors or errors[best] < SHIFT_GAIN * errors[0] else 0


def judge_upscale(take, upscaled, *, width: int, height: int) -> UpscaleReading:
    """The upscale check of `upscaled` against `take`, asked to be `width` x `height` (the
    module's docstring says what is held and how)."""
    was, made = probe(take), probe(upscaled)
    problems = []
    if (made.width, made.height) != (width, height):
        problems.append(f"is {made.width}x{made.height}, asked {width}x{height}")
    if made.fps != was.fps:
        problems.append(f"runs at {fmt_rate(made.fps)} fps, the take at {fmt_rate(was.fps)}")
    if abs(made.frames - was.frames) > FRAME_SLACK:
        problems.append(f"has {made.frames} frames, the take {was.frames}")
    if was.fps and abs(made.duration - was.duration) > 1.5 / float(was.fps):
        problems.append(f"lasts {made.duration:.3f} s, the take {was.duration:.3f} s")
    offset = aligned(take, upscaled, width=was.width, height=was.height)
    every = max(1, was.frames // SAMPLES)
    ours = frames_of(take, width=was.width, height=was.height, every=every, first=max(offset, 0))
    theirs = frames_of(upscaled, width=was.width, height=was.height, every=every, first=max(-offset, 0))
    n = min(len(ours), len(theirs))
    scores = [psnr(ours[i], theirs[i]) for i in range(n)]
    blocks = [worst_block(ours[i], theirs[i]) for i in range(n)]
    overall = worst = square = None
    if n:
        overall = _db(float(np.mean([255.0 ** 2 / 10 ** (s / 10) for s in scores])))
        worst, square = min(scores), max(blocks)
        back = f"scaled back to {was.width}x{was.height}"
        if worst < PSNR_FLOOR:
            at = scores.index(worst) * every + max(offset, 0)
            problems.append(f"{back} it is not the take: its frame {at} reads {worst:.1f} dB against the take's "
                            f"(the floor {PSNR_FLOOR:g} dB; {overall:.1f} dB over {n} frames) — the upscale "
                            f"changed more than its size")
        elif square > BLOCK_CEILING:
            at = blocks.index(square) * every + max(offset, 0)
            problems.append(f"{back} a part of its frame {at} is not the take's: a {BLOCK}-pixel square differs "
                            f"by {square:.1f} levels (at most {BLOCK_CEILING:g}) — the upscale changed "
                            f"something in the picture")
    else:
        problems.append("not one frame of it could be compared with the take")
    return UpscaleReading(width=made.width, height=made.height, fps=fmt_rate(made.fps), frames=made.frames,
                          seconds=round(made.duration, 4), take_width=was.width, take_height=was.height,
                          take_fps=fmt_rate(was.fps), take_frames=was.frames, take_seconds=round(was.duration, 4),
                          offset=offset, compared=n, psnr=None if overall is None else round(overall, 2),
                          worst_psnr=None if worst is None else round(worst, 2),
                          worst_block=None if square is None else round(square, 2), problems=tuple(problems))
