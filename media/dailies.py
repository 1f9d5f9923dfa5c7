"""Dailies: the whole clip looked at, not three frames of it.

The keyframe gate's judge sees the first, middle and last frames; a fault between them — a black
or flat span, a camera move that stops halfway, a colour cast, a picture drowned in noise — is
seen by no one unless slate looks. `watch` decodes the clip once at low resolution (a fifth of a
second of work: ffmpeg scales by area to SCAN_WIDTH px and hands packed RGB through a pipe, every
`stride`-th frame so at least SAMPLES frames are seen and a fault lasting a fifth of the clip
covers several of them, each sample with the RUN - 1 frames after it, so a frame shown twice is
seen wherever it falls; the same frames are what media.presence looks for people in: one decode);
`dailies_scores` and `cadence_scores` measure those frames with vectorised numpy, each measure a
score with its threshold and a reason naming the span:

- ``clip_content``  the longest run of black or flat frames (one colour, nothing to hold a
                    shot's figures) as a share of the clip: a tenth fails;
- ``clip_motion``   when the shot's camera moves: the least change across a fifth of the clip
                    over the most, so a move that stops (frames a fifth apart that are the same
                    picture) fails, and an eased start or end does not;
- ``clip_colour``   how far the clip's colours moved from the picture it started from (the mean
                    Lab a*, b* of the frames over the start's), on the frames where it moved most:
                    a warm or cold cast over the whole clip, or a fifth of it;
- ``clip_noise``    how much the picture boils from frame to frame (each frame against the mean of
                    its neighbours, the median over the picture): a clip drowned in noise. Fine
                    detail at this scale cannot tell it (an encoder turns sigma-60 noise into blotches).

- ``clip_cadence``  frames shown twice (judder): of the runs of three consecutive frames that
                    move, the share where one step is under EVEN of the other;
- ``clip_dropped``  frames missing (issue 56): the clip jumps ahead of its own move — where
                    the picture is (its measured move frame to frame, a shift and a zoom, summed)
                    set against a smooth move through the frames either side of each step, the
                    held ones left out, and read again with a step of their own at the
                    steps the first reading found ahead (a few drops in one window); a step that lands
                    DROP_GAP of a frame's move and DROP_SHIFT px or more ahead of it, along the
                    move's own direction there (a sway across it is no drop), is a frame
                    dropped there (a move slower than MOVE_FLOOR is not read: its placing to
                    whole pixels is as large as a frame's move);
- ``clip_stutter``  frames held then jumped (issue 56): in a moving stretch, a frame shown again
                    (a step under EVEN of the move beside it) after a step that moved as the
                    clip moves, followed by a step that catches up (AHEAD of the move or more,
                    and no more than the held frames' worth: the same picture, not another),
                    where the move is placed evenly or measured at PLACED_PX a frame or more
                    (either way no placing of a slow move to whole pixels: a step of none there
                    is a frame held);
- ``clip_frozen``   in a shot whose camera moves: the longest run of samples standing still
                    (a step under STILL of the clip's brisk ones) as a share of the clip;
- ``clip_jump``     a part of the picture (BLOCK px blocks' mean colours) changing in one step
                    far beyond the steps beside it and its own usual change: a flash of another
                    picture (a second jump within FLASH_SECONDS), a figure jumping, a colour
                    repainted (whose, media.presence says). A stutter's catch-up is no jump: the
                    picture arrives where its move was going (`clip_stutter` names it).

Dropped frames and stutter are read on runs of consecutive frames decoded (every frame of a clip
of up to SAMPLES x RUN frames: six seconds at 24 fps); a longer clip's runs of RUN frames are too
short to set a step against a move, and its `clip_dropped` says it could not look.

Thresholds were measured on benchmarks/gates.py's clean clips (the shot's move or a dolly, each
graded by exposure, gamma, JPEG, blur or grain) and its faulty ones; see each constant.
It must never judge who or where (presence is media/presence.py's, content the judge's) and
never import anything of ours.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .commands import raw_frames_args
from .ffmpeg import pipe
from .motion import BLACK_LUMA  # one meaning of "a black frame", for the keyframes and the scan
from .probe import Probe, probe

SCAN_WIDTH = 160     # px: a figure of a wide shot is still ~40 px tall; grain and codec blocks average out
SAMPLES = 48         # at least this many frames seen (every frame of a clip shorter than that)
RUN = 3              # frames decoded in a row from each sample when the scan strides: a repeated
                     # frame falls inside every run, whichever frame of a pair the sample is
FLAT_SPREAD = 4.0    # luma and colour standard deviation under this (0-255): one flat colour. Clean frames: >= 25
SPAN_SHARE = 0.10    # a black or flat run this long (share of the clip) fails: a fault of a fifth is twice it
STALL_LAG = 0.20     # the lag a stop is looked for over: a fifth of the clip
STALL_RATIO = 0.12   # least/most change over that lag; clean eased moves read >= 0.26, a stop halfway <= 0.06
CAST_FULL = 12.0     # Lab units the mean (a*, b*) moved, read as 1.0; the 0.5 threshold is 6 units. Clean
                     # clips (exposure, gamma, JPEG, blur, grain; any move) moved at most 3.8; R x1.15,
                     # B x0.8 at least 8.6 (a dark street) and 11-13 elsewhere
NOISE_BOIL = 2.0     # luma levels (median over the picture) a frame differs from its neighbours' mean: clean
                     # clips read at most 1.0 (grain sigma 4, JPEG, a pan's jitter), noise sigma 60 at least 4.2
WORST_SHARE = 0.20   # colour and noise are read on the worst fifth of the frames
LEVEL = 5.0          # the most a frame's exposure is levelled by before its colours are read (a dark grade)
# Issue 36 (benchmarks/gates.py's whole-clip kinds, seed 7; see docs/gates.md):
BLOCK = 8            # px of the scan: a step is read on blocks' mean colours (a pan's edges average out)
JUMP_LEVELS = 18.0   # a block changing this much more in one step than in the steps beside it is a jump
                     # (a flash of another shot, a figure that jumps, a colour repainted): clean clips
                     # read at most 7.3, a hair or an outfit repainted at least 33, a jump 87, a flash 111
FLASH_SECONDS = 0.5  # a jump and a second one this soon after: a flash of another picture between them
STEP_FLOOR = 0.6     # luma levels (80 px): a step smaller than this is a picture standing still
EVEN = 0.3           # of the larger of two steps in a row: the smaller is a repeated frame below it
CADENCE_SHARE = 0.5  # of the moving runs with a repeated frame: judder. Clean clips <= 0.03, judder 1.0
STILL = 0.10         # of the clip's brisk steps (its 90th percentile): a step under this stands still
# Issue 56 (benchmarks/cadence.py: clips of 1.5-3.5 s, tuned at seeds 21 and 41, reported at 41 and 53;
# benchmarks/RESULTS.md 2026-11-30, fifth session). Frames dropped are read on the picture's measured move, not
# its summed change: a step's summed luma change is not the distance moved (a zoom's is no distance at all,
# and beside other drops its evenness could not be read), so it never added up to where the picture was.
DROP_WINDOW = 12     # frames each side of a step the smooth move is fitted through (a quartic in time
DROP_DEGREE = 4      # for each of the move's three parts, with one step of its own at the step looked at)
DROP_GAP = 0.8       # of a frame's move: a step landing this far ahead of the fitted move is a frame dropped
                     # (0.6 caught one more in ten, and read the example's clean 1B, a swaying dolly, at 0.75)
DROP_SHIFT = 0.08    # scan px (SCAN_WIDTH wide): and at least this far (half a pixel of an 854-px clip)
DROP_NOISE = 3.0     # times what the fit leaves along the move, and at least this far: a move placed to whole
                     # pixels leaves its placing (a slow pan placed to a fifth of the scan's pixel read 0.9)
DROP_ALONG = 0.8     # of the step's length: at least this much of it along the move (the example's pans and
                     # dollies sway across their move, placed to half pixels on two axes: a step of one
                     # axis's placing read 0.7-0.8 of a frame's move ahead on 2 of its 9 clean clips)
DROP_ASSIST = 0.4    # of a frame's move: a step this far ahead is given a step of its own in the fit when the
                     # others are read again (benchmarks.cadence N=100: 87-90% caught -> 88-94%, clean 0% both)
DROP_APART = 2       # frames: and only beside a step at least this far off (a step of its own next door took
                     # the very jump it stood beside: a pan's drops three apart read 0.00)
MOVE_FLOOR = 0.06    # scan px a frame: a move slower than this is not read for drops (its placing is its size)
MOVE_SMOOTH = 1.0    # px: the scan's luma is blurred this much before its move is measured (a texture's
                     # edges then move linearly with it)
HITCH_REACH = 10     # steps each side of a hold its move is read on
DROP_JITTER = 0.3    # a stutter's steps around the hold, their median spread over their median: above this
                     # the move is placed to whole pixels more slowly than a pixel a frame (steps of one
                     # pixel and of none alternate), and a step of none is the placing, not a frame held
PLACED_PX = 1.5      # the clip's own px a frame: a move measured this brisk into a hold, and its catch-up over
                     # the frames it makes up, is never placed into a step of none, so the hold is a frame held
                     # however unevenly its luma steps (an eased or swaying move's differ by half: the evenness
                     # rule alone missed 5 of 40 stutters; a clean swaying dolly stepped none at 1.0 px a frame)
BRISK_REACH = 3      # steps before a hold its move is read on
AHEAD = 1.5          # of the move beside it: the step after a held frame that catches up (two frames'
                     # worth for one frame held); clean eased moves never step this far after a small step
CATCH_UP = 2.0       # a catch-up of more than this many times the held frames' worth is another picture
                     # (a flash), not the same move arriving late
LEVEL_REACH = 5      # steps each side: the move's level at a step is their median
FROZEN_SHARE = 0.12  # a still run this long (share of the clip) in a moving shot: the move stops.
                     # Clean eased moves <= 0.03, a frozen last fifth >= 0.17


@dataclass(frozen=True)
class Dailies:
    """The frames looked at: (N, H, W, 3) uint8, and the time (s) of each; `near`: every frame
    decoded (the samples and the RUN - 1 frames after each when the scan strides), `numbers`
    their frame numbers, so frame-to-frame steps are seen wherever the samples fall."""
    frames: np.ndarray
    times: np.ndarray
    seconds: float
    near: np.ndarray | None = None
    numbers: np.ndarray | None = None
    fps: float = 24.0
    width: int | None = None   # the clip's own width (px): None when the frames are the picture itself


def watch(clip: Path, *, width: int = SCAN_WIDTH, samples: int = SAMPLES, info: Probe | None = None) -> Dailies:
    """One low-resolution decode of the clip: every `stride`-th frame, at least `samples` of them,
    each with the RUN - 1 frames after it. `info`: the clip's probe when the caller has it (a
    probe is a whole decode)."""
    p = info or probe(clip)
    w = max(2, width - width % 2)
    h = max(2, round(w * p.height / max(1, p.width) / 2) * 2)
    total = p.frames or max(1, round(float(p.duration or 0) * float(p.fps or 24)))
    stride = max(1, total // max(1, samples))
    # A stride of RUN or less decodes every frame (a frame's next ones are then samples or near them).
    every, run = (stride, RUN) if stride > RUN else (1, 1)
    raw = pipe(raw_frames_args(clip, width=w, height=h, every=every, run=run))
    n = len(raw) // (w * h * 3)
    decoded = np.frombuffer(raw[:n * w * h * 3], dtype=np.uint8).reshape(n, h, w, 3)
    numbers = (np.arange(n) // run) * every + np.arange(n) % run
    main = np.flatnonzero(numbers % stride == 0)
    fps = float(p.fps or 24)
    return Dailies(decoded[main], numbers[main] / fps, float(p.duration or n / fps), decoded, numbers, fps,
                   p.width or None)


def scaled(img: np.ndarray, like: np.ndarray) -> np.ndarray:
    """A picture area-averaged to the frames' size (the start panel beside the dailies)."""
    from PIL import Image
    h, w = like.shape[1:3]
    im = Image.fromarray(np.asarray(img, dtype=np.uint8)).convert("RGB")
    return np.asarray(im.resize((w, h), Image.Resampling.BOX), dtype=np.uint8)


def _luma(a: np.ndarray) -> np.ndarray:
    return a[..., 0] * 0.299 + a[..., 1] * 0.587 + a[..., 2] * 0.114


def _runs(flags: np.ndarray) -> tuple[int, int]:
    """(start, length) of the longest run of True."""
    best, start = (0, 0), None
    for i, f in enumerate(list(flags) + [False]):
        if f and start is None:
            start = i
        elif not f and start is not None:
            if i - start > best[1]:
                best = (start, i - start)
            start = None
    return best


def _span(d: Dailies, first: int, count: int) -> str:
    last = min(len(d.times) - 1, first + count - 1)
    step = d.times[1] - d.times[0] if len(d.times) > 1 else d.seconds
    return f"{d.times[first]:.2f}–{min(d.seconds, d.times[last] + step):.2f} s"


def _score(name: str, value: float, threshold: float, reason: str) -> dict:
    value = float(max(0.0, min(1.0, value)))
    return {"name": name, "value": round(value, 4), "threshold": threshold, "passed": value >= threshold,
            "reason": reason, "role": "block"}


def dailies_scores(d: Dailies, start: np.ndarray, *, expect_motion: bool, end: np.ndarray | None = None) -> list[dict]:
    """The four whole-clip scores of `d` against the picture it started from (`start`, any size);
    `expect_motion` for a shot whose camera moves (a start+end clip travels by its cross-fade,
    `end` given: no stop is looked for then)."""
    frames = d.frames.astype(np.float32)
    n = len(frames)
    if n == 0:
        return [_score("clip_content", 0.0, 1 - SPAN_SHARE, "no frame could be decoded")]
    start_small = scaled(start, d.frames).astype(np.float32)
    gray = _luma(frames)
    spread = np.maximum(gray.std(axis=(1, 2)), frames.std(axis=(1, 2)).max(axis=1))
    black = gray.mean(axis=(1, 2)) < BLACK_LUMA
    flat = black | (spread < FLAT_SPREAD)
    first, count = _runs(flat)
    share = count / n
    if count:
        what = "black" if black[first:first + count].all() else "one flat colour"
        reason = f"{what} from {_span(d, first, count)} ({share:.0%} of the clip)"
    else:
        reason = f"no black or flat frame among {n} looked at (every {d.seconds / n:.2f} s)"
    scores = [_score("clip_content", 1.0 - share, 1 - SPAN_SHARE, reason)]

    if expect_motion and end is None and n >= 5:
        # The picture's change across a fifth of the clip, at every point: a stop makes it vanish.
        small = frames[:, ::2, ::2].mean(axis=-1)
        lag = max(1, round(STALL_LAG * n))
        change = np.abs(small[lag:] - small[:-lag]).mean(axis=(1, 2))
        most = float(change.max())
        least = int(change.argmin())
        ratio = float(change[least]) / most if most > 0 else 0.0
        scores.append(_score("clip_motion", min(1.0, ratio / (2 * STALL_RATIO)), 0.5,
                             f"the move stops: {_span(d, least, lag + 1)} changes {ratio:.0%} as much as the "
                             f"clip's busiest fifth" if ratio < STALL_RATIO else
                             f"moves throughout (its stillest fifth changes {ratio:.0%} as much as its busiest)"))

    from .grade import lab
    # Exposure levelled to the start's first (one gain a frame, at most LEVEL either way): a clip
    # graded darker on purpose keeps its hues, and Lab's a*, b* shrink with its lightness.
    level = np.clip(max(1.0, float(start_small.mean())) / np.maximum(1.0, frames.mean(axis=(1, 2, 3))), 1 / LEVEL, LEVEL)
    level = np.where((level > 1.25) | (level < 0.8), level, 1.0)
    ab = lab(np.clip(frames * level[:, None, None, None], 0, 255))[..., 1:].mean(axis=(1, 2))
    ab0 = lab(start_small[None])[0][..., 1:].mean(axis=(0, 1))
    shift = np.linalg.norm(ab - ab0, axis=-1)
    k = max(1, round(WORST_SHARE * n))
    worst = np.argsort(shift)[-k:]
    cast = float(np.median(shift[worst]))
    towards = ab[worst].mean(axis=0) - ab0
    hue = ("warm" if towards[1] > 0 else "cold") if abs(towards[1]) >= abs(towards[0]) else \
        ("magenta" if towards[0] > 0 else "green")
    scores.append(_score("clip_colour", 1.0 - cast / CAST_FULL, 0.5,
                         f"the clip's colours moved {cast:.1f} Lab units from its start ({hue}) on its "
                         f"{'frames' if k == n else f'worst {k} of {n} frames'}"))

    if n >= 3:
        # Grain that boils: each frame against the mean of its two neighbours, the median over
        # the picture (a camera move is smooth in time, and its jitter sits on edges only).
        boil = np.median(np.abs(gray[1:-1] - (gray[:-2] + gray[2:]) / 2).reshape(n - 2, -1), axis=1)
        noisy = float(np.sort(boil)[-max(1, round(WORST_SHARE * (n - 2))):].min())
        scores.append(_score("clip_noise", 1.0 - noisy / (2 * NOISE_BOIL), 0.5,
                             f"the picture boils by {noisy:.2f} levels frame to frame on the clip's noisiest fifth"))
    return scores


def _blocks(frames: np.ndarray) -> np.ndarray:
    """(N, H/BLOCK, W/BLOCK, 3) float32: each block's mean colour."""
    n, h, w, _ = frames.shape
    hh, ww = max(1, h // BLOCK), max(1, w // BLOCK)
    b = min(BLOCK, h, w)
    return frames[:, :hh * b, :ww * b].astype(np.float32).reshape(n, hh, b, ww, b, 3).mean(axis=(2, 4))


def _coarse_luma(frames: np.ndarray) -> np.ndarray:
    """(N, H/2, W/2) luma, 2x2 area-averaged (grain and codec speckle average out)."""
    g = _luma(frames.astype(np.float32))
    n, h, w = g.shape
    h2, w2 = max(1, h // 2), max(1, w // 2)
    return g[:, :h2 * 2, :w2 * 2].reshape(n, h2, 2, w2, 2).mean(axis=(2, 4)) if h > 1 and w > 1 else g


@dataclass(frozen=True)
class Jump:
    """The clip's sharpest step: between samples `at` and `at` + 1 (indices of Dailies.frames),
    how far a block changed beyond the steps beside it (levels), where (a bool mask over the
    blocks), and whether it jumped back within FLASH_SECONDS (`back`: the sample it came back at:
    a flash)."""
    at: int
    levels: float
    where: np.ndarray
    back: int | None = None


def jump_mask(jump: Jump, shape: tuple[int, int]) -> np.ndarray:
    """The jump's blocks as an (H, W) bool mask over the scan's frames."""
    full = np.zeros(shape, dtype=bool)
    grown = np.repeat(np.repeat(jump.where, BLOCK, axis=0), BLOCK, axis=1)[:shape[0], :shape[1]]
    full[:grown.shape[0], :grown.shape[1]] = grown
    return full


def sharpest_jump(d: Dailies, skip: frozenset[int] | set[int] = frozenset()) -> Jump | None:
    """The step between samples that changes a block most beyond the steps beside it (a smooth
    move changes each block about as much step after step; a flash, a figure that jumps, a
    colour repainted changes some blocks in one step only). None when fewer than 3 samples.
    `skip`: frame numbers a step ending on is no jump (a stutter's catch-up: `timeline`)."""
    if len(d.frames) < 3:
        return None
    b = _blocks(d.frames)
    c = np.abs(np.diff(b, axis=0)).max(axis=-1)                  # (K-1, hb, wb)
    k = len(c)
    beside = np.maximum(np.concatenate([c[:1] * 0, c[:-1]]), np.concatenate([c[1:], c[-1:] * 0]))
    # A block that changes a lot at every step (fine texture under a move) is held to twice its
    # usual change too: only a step no step of its own comes near is a jump.
    spike = c - np.maximum(beside, 2 * np.median(c, axis=0)[None])
    worst = spike.reshape(k, -1).max(axis=1)
    if skip:
        ends = np.round(d.times[1:] * d.fps).astype(int)
        worst = np.where(np.isin(ends, list(skip)), -np.inf, worst)
        if not np.isfinite(worst).any():
            return None
    at = int(worst.argmax())
    where = spike[at] >= JUMP_LEVELS
    # Back again: a second jump within half a second (the picture leaves the flash as sharply
    # as it came): the span between is a flash of another picture, not a change that stays.
    back = None
    if worst[at] >= JUMP_LEVELS:
        other = [k for k in range(len(worst)) if k != at and worst[k] >= JUMP_LEVELS
                 and abs(d.times[k + 1] - d.times[at + 1]) <= FLASH_SECONDS]
        if other:
            k = min(other, key=lambda k: abs(k - at))
            at, back = min(at, k), max(at, k) + 1
    return Jump(at, float(worst.max()), where, back)


@dataclass(frozen=True)
class Timeline:
    """The clip's frame-to-frame steps on its runs of consecutive frames (`Dailies.near`): per
    step (between near[j] and near[j + 1]; NaN where the two are not consecutive) its change in
    luma levels, the frame number it ends on, the move's level there (LEVEL_REACH steps each
    side), whether it is a frame held (under EVEN of that level), and how far ahead of the
    fitted move it lands (`gaps`, in frames' moves; NaN where not read). `stutters`: (frame
    number the hold starts on, frames held, frame number it catches up on)."""
    steps: np.ndarray
    ends: np.ndarray
    level: np.ndarray
    held: np.ndarray
    gaps: np.ndarray
    stutters: tuple[tuple[int, int, int], ...]


def picture_moves(frames: np.ndarray) -> np.ndarray:
    """(N - 1, 3) float: how the picture moved from each frame to the next — across and down (scan
    px) and its zoom about the centre (as the px it moves a point half the frame's width out) —
    fitted to the whole frame's luma at once (a global Lucas-Kanade of a shift and a scale, three
    passes, the next frame warped back by what the last found). A camera move is one such motion
    of the whole picture; a step of it is measured to a tenth of a pixel of the scan, where the
    picture's summed change is not a distance at all."""
    from scipy.ndimage import gaussian_filter, map_coordinates
    n = len(frames)
    if n < 2:
        return np.zeros((0, 3))
    g = gaussian_filter(_luma(frames.astype(np.float32)), (0, MOVE_SMOOTH, MOVE_SMOOTH))
    h, w = g.shape[1:]
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = x - (w - 1) / 2, y - (h - 1) / 2
    inner = (slice(3, max(4, h - 3)), slice(3, max(4, w - 3)))   # edge rows warp in from outside the frame
    reach = w / 2
    out = np.zeros((n - 1, 3))
    for k in range(n - 1):
        a, b, p = g[k], g[k + 1], np.zeros(3)
        for i in range(3):
            back = b if i == 0 else map_coordinates(b, [y + p[1] + cy * p[2], x + p[0] + cx * p[2]], order=1,
                                                    mode="nearest")
            gy, gx = np.gradient((a + back) / 2)
            basis = np.stack([gx[inner].ravel(), gy[inner].ravel(), (gx * cx + gy * cy)[inner].ravel()], axis=1)
            normal = basis.T @ basis
            if abs(np.linalg.det(normal)) < 1e-9:
                break   # a flat picture: nothing to measure a move by
            d = np.linalg.solve(normal, basis.T @ (a - back)[inner].ravel())
            p += d
            if np.abs(d).max() < 1e-3:
                break
        out[k] = (-p[0], -p[1], -p[2] * reach)
    return out


def _ahead(where: np.ndarray, keep: np.ndarray, k: int, others: np.ndarray | None = None) -> tuple[float, float]:
    """How far frame k + 1 of a run lands ahead of a smooth move through the frames either side of
    it (DROP_WINDOW each way, those in `keep`): `where` (N, 3) the picture's place frame by frame
    (its moves summed), each of its three parts fitted with a quartic in time and a step of its
    own at k. The step is read along the move's own direction there (its pace, the fit's slope):
    (that step over the pace, in frames' moves; the step, in scan px). NaN when too few frames or
    no move."""
    lo, hi = max(0, k - DROP_WINDOW + 1), min(len(where), k + DROP_WINDOW + 1)
    idx = np.arange(lo, hi)
    idx = idx[keep[idx]]
    if (idx <= k).sum() < 4 or (idx > k).sum() < 4:
        return float("nan"), float("nan")
    t = idx - (k + 0.5)
    # Other steps of the window read as ahead (`others`) get a step of their own too: beside them
    # the quartic bent to take their jumps, and this one read short (two drops three frames apart
    # read 0.70 and 0.62 of a frame's move).
    near = [] if others is None else [j for j in others if abs(j - k) >= DROP_APART and lo <= j < hi - 1]
    basis = np.stack([t ** p for p in range(DROP_DEGREE + 1)] + [(idx > k).astype(float)]
                     + [(idx > j).astype(float) for j in near], axis=1)
    coef, *_ = np.linalg.lstsq(basis, where[idx], rcond=None)
    pace, step = coef[1], coef[DROP_DEGREE + 1]
    speed = float(np.sqrt(pace @ pace))
    if speed <= 0:
        return float("nan"), float("nan")
    along = float(step @ pace) / speed
    # What the fit leaves along the move: a move placed to whole pixels leaves its placing (a
    # step under DROP_NOISE times that is the placing, not a frame missing).
    left = (where[idx] - basis @ coef) @ (pace / speed)
    noise = float(np.sqrt((left ** 2).sum() / max(1, len(idx) - basis.shape[1])))
    # A frame missing moves the picture on along its move; a step of the placing across it does not.
    aligned = along >= DROP_ALONG * float(np.sqrt(step @ step))
    return along / speed, (along if along >= DROP_NOISE * noise and aligned else 0.0)


def _dropped(run_moves: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Per step of a run of consecutive frames (`run_moves`: (M, 3), the picture's move from frame
    to frame, `picture_moves`), how far ahead of the move it lands (`_ahead`, in frames' moves; at
    most 0 where it lands less than DROP_SHIFT ahead; NaN where not read: the move slower than
    MOVE_FLOOR there, a frame held, or too few frames). Read twice: the second time each step's
    fit has a step of its own at the others the first found DROP_ASSIST ahead (DROP_APART off)."""
    m = len(run_moves)
    gaps = np.full(m, np.nan)
    if m < 6:
        return gaps
    # The move's pace there: its steps' median, part by part (a jitter across the move cancels out).
    pace = np.array([float(np.sqrt((np.median(run_moves[max(0, j - LEVEL_REACH):j + LEVEL_REACH + 1], axis=0) ** 2)
                                   .sum())) for j in range(m)])
    where = np.concatenate([np.zeros((1, 3)), np.cumsum(run_moves, axis=0)])
    looked = np.flatnonzero((pace >= MOVE_FLOOR) & keep[1:])

    def read(others: np.ndarray | None) -> np.ndarray:
        out = np.full(m, np.nan)
        for k in looked:
            gap, shift = _ahead(where, keep, int(k), others)
            out[k] = gap if shift >= DROP_SHIFT or not np.isfinite(gap) else min(gap, 0.0)
        return out
    gaps = read(None)
    # Read again beside the steps that landed ahead, each given its own step in the fit.
    others = np.flatnonzero(np.nan_to_num(gaps) >= DROP_ASSIST)
    return read(others) if len(others) else gaps


def _around(run: np.ndarray, first: int, last: int) -> np.ndarray:
    """The steps HITCH_REACH each side of steps first..last, those left out."""
    return np.concatenate([run[max(0, first - HITCH_REACH):first], run[last + 1:last + 1 + HITCH_REACH]])


def _placed_evenly(run: np.ndarray, first: int, last: int) -> bool:
    """Whether the steps around steps first..last are placed evenly enough for a hold there to be
    a hitch, not a move placed to whole pixels (a pixel some frames, none others): their median
    spread (robust to another hitch among them) no more than DROP_JITTER of their median."""
    around = _around(run, first, last)
    if len(around) < 4:
        return True   # too few to say the move is uneven: the hitch's own shape decides
    mid = float(np.median(around))
    return mid > 0 and float(np.median(np.abs(around - mid))) <= DROP_JITTER * mid


def _brisk(speed: np.ndarray, first: int, last: int) -> bool:
    """Whether the move into a hold of steps first..last - 1 and out of it by step `last` (`speed`:
    each step's measured move, in the clip's px) is at least PLACED_PX a frame: the BRISK_REACH
    steps before it (their median), and the catch-up over the frames it makes up. Too brisk for
    its placing to make a step of none. Not the steps after: a stutter near a clip's end is
    followed by its easing out; but where a move eases in, a step of none after its slow start is
    its placing, as is a catch-up of a pixel or so (two clean swaying dollies read so)."""
    before = speed[max(0, first - BRISK_REACH):first]
    return len(before) >= 2 and float(np.median(before)) >= PLACED_PX and \
        float(speed[last]) / (last - first + 1) >= PLACED_PX


def timeline(d: Dailies) -> Timeline:
    """The clip's steps frame to frame, what of them is a frame held, a frame dropped (a step
    landing ahead of the move the frames either side of it make) and a stutter (a frame held
    after a step that moved as the clip moves, then a step that catches up with the move).
    A frame dropped is read on the picture's measured move (`picture_moves`) summed into where
    the picture is, each step read along the move's own direction there: a move's frames each
    placed to a pixel's rounding do not add up (a frame placed late steps short, then long), a
    frame missing does."""
    near = d.near if d.near is not None else d.frames
    numbers = d.numbers if d.numbers is not None else np.arange(len(near))
    m = max(0, len(near) - 1)
    steps, level = np.full(m, np.nan), np.zeros(m)
    held, gaps = np.zeros(m, dtype=bool), np.full(m, np.nan)
    stutters: list[tuple[int, int, int]] = []
    if m:
        g = _coarse_luma(near)
        change = np.abs(np.diff(g, axis=0)).mean(axis=(1, 2))
        consecutive = np.diff(numbers) == 1
        steps[consecutive] = change[consecutive]
        # Runs of consecutive steps: [a, b) of the steps.
        edges = np.flatnonzero(np.diff(np.concatenate([[0], consecutive.astype(int), [0]])))
        # The picture's move frame to frame, measured only where a run is long enough to read a drop in.
        moves = picture_moves(near) if any(b - a >= 6 for a, b in zip(edges[::2], edges[1::2])) \
            else np.zeros((m, 3))
        # Each step's measured move in the clip's own px (the scan is SCAN_WIDTH wide).
        speed = np.sqrt((moves ** 2).sum(axis=1)) * ((d.width or near.shape[2]) / near.shape[2])
        for a, b in zip(edges[::2], edges[1::2]):
            run = steps[a:b]
            lv = np.array([np.median(run[max(0, j - LEVEL_REACH):j + LEVEL_REACH + 1]) for j in range(len(run))])
            level[a:b] = lv
            still = (lv >= STEP_FLOOR) & (run < EVEN * lv)
            held[a:b] = still
            keep = np.concatenate([[True], ~still])   # a held frame is where the one before it was
            if len(run) >= 6:
                gaps[a:b] = _dropped(moves[a:b], keep)
            # Stutters: a run of held steps after a step that moved as the clip moves, then one
            # that catches up with the move (no more than the held frames' worth: the same picture).
            j = 0
            while j < len(run):
                if not still[j]:
                    j += 1
                    continue
                q = j
                while q + 1 < len(run) and still[q + 1]:
                    q += 1
                h = q - j + 1
                if j >= 1 and q + 1 < len(run):
                    around = run[max(0, j - LEVEL_REACH):q + LEVEL_REACH + 2]
                    moving = around[around >= EVEN * lv[j]]
                    pace = float(np.median(moving)) if len(moving) else 0.0
                    entered, caught = float(run[j - 1]), float(run[q + 1])
                    if pace >= STEP_FLOOR and entered <= CATCH_UP * pace and \
                            AHEAD * pace <= caught <= CATCH_UP * (h + 1) * pace and \
                            (_placed_evenly(run, j, q + 1) or _brisk(speed[a:b], j, q + 1)):
                        stutters.append((int(numbers[a + j]), h, int(numbers[a + q + 2])))
                j = q + 1
    ends = numbers[1:].astype(int) if m else np.zeros(0, dtype=int)
    return Timeline(steps, ends, level, held, gaps, tuple(stutters))


def cadence_scores(d: Dailies, *, expect_motion: bool, travel: bool = False, jump: Jump | None = None) -> list[dict]:
    """Issue 36: the clip frame to frame, wherever the samples fall — `clip_cadence` (frames
    shown twice in a moving shot: judder), `clip_frozen` (a move that stops: the longest run of
    samples standing still, in a moving shot that does not `travel` by a cross-fade to its end) and `clip_jump` (a step some part of
    the picture takes alone: a flash of another shot, a figure jumping, a colour repainted),
    each with the span it names; and (issue 56, `timeline`) `clip_dropped` (frames missing: a
    step landing ahead of the clip's move) and `clip_stutter` (frames held then jumped). Who
    stands where a jump is, is media.presence's to say. `jump`: `sharpest_jump(d)` when the
    caller has it; a stutter's catch-up is passed over by `clip_jump` (and by `clip_dropped`,
    a jump's step: a figure that jumps is not a frame dropped)."""
    scores: list[dict] = []
    seen = timeline(d)
    catch_ups = {end for _, _, end in seen.stutters}
    jump = jump or sharpest_jump(d)
    if jump is not None and catch_ups:
        ends = {int(round(d.times[k + 1] * d.fps)) for k in (jump.at, (jump.back or jump.at + 1) - 1)}
        if ends & catch_ups:   # the sharpest step is the move arriving late: look past the stutter
            jump = sharpest_jump(d, skip=catch_ups)
    n = len(d.frames)
    near = d.near if d.near is not None else d.frames
    numbers = d.numbers if d.numbers is not None else np.arange(len(near))
    if len(near) >= 3:   # whatever the shot asked: a clip that moves frame to frame shows its cadence
        g = _coarse_luma(near)
        steps = np.abs(np.diff(g, axis=0)).mean(axis=(1, 2))
        consecutive = np.diff(numbers) == 1
        runs = np.flatnonzero(consecutive[:-1] & consecutive[1:])   # j: frames j, j+1, j+2 in a row
        a, b = steps[runs], steps[runs + 1]
        top, low = np.maximum(a, b), np.minimum(a, b)
        moving = top > STEP_FLOOR
        if moving.sum() >= 4:
            uneven = moving & (low < EVEN * top)
            share = float(uneven.sum()) / float(moving.sum())
            since = float(numbers[runs[uneven][0]]) / d.fps if uneven.any() else 0.0
            reason = (f"frames shown twice (judder): {share:.0%} of its moving runs of three frames repeat one, "
                      f"from {since:.2f} s" if share >= CADENCE_SHARE else f"every frame new ({share:.0%} of its moving runs repeat one)")
            scores.append(_score("clip_cadence", 1.0 - share / (2 * CADENCE_SHARE), 0.5, reason))
        else:
            scores.append(_score("clip_cadence", 1.0, 0.5, "too still frame to frame to tell a repeated frame"))
    elif expect_motion:
        scores.append(_score("clip_cadence", 1.0, 0.5, "too few frames to tell a repeated frame"))
    if expect_motion and not travel and n >= 5:
        c = np.abs(np.diff(_coarse_luma(d.frames), axis=0)).mean(axis=(1, 2))
        brisk = float(np.quantile(c, 0.9))
        if brisk > STEP_FLOOR:
            first, count = _runs(c < STILL * brisk)
            share = count / n
            reason = (f"the move stops: {_span(d, first + 1, count)} stands still ({share:.0%} of the clip)"
                      if share >= FROZEN_SHARE else f"moves throughout (its longest still run is {share:.0%} of it)")
            scores.append(_score("clip_frozen", 1.0 - share / (2 * FROZEN_SHARE), 0.5, reason))
    scores += _timing_scores(d, seen, jump)
    if jump is not None:
        when = f"{d.times[jump.at + 1]:.2f} s"
        if jump.levels < JUMP_LEVELS:
            reason = f"no part of the picture jumps (the sharpest step, at {when}, {jump.levels:.0f} levels)"
        elif jump.back is not None:
            reason = (f"a flash of another picture at {_span(d, jump.at + 1, jump.back - jump.at - 1)}: "
                      f"{jump.where.mean():.0%} of the frame changes and changes back")
        else:
            reason = (f"the picture jumps at {when}: {jump.where.mean():.0%} of the frame changes in one "
                      f"step ({jump.levels:.0f} levels beyond the steps beside it)")
        scores.append(_score("clip_jump", 1.0 - jump.levels / (2 * JUMP_LEVELS), 0.5, reason))
    return scores



def _timing_scores(d: Dailies, seen: Timeline, jump: Jump | None) -> list[dict]:
    """`clip_dropped` and `clip_stutter` (issue 56) from the clip's `timeline`. The steps of a
    jump of some part of the picture (`jump`, `clip_jump`'s) are not read for a frame dropped."""
    gaps = seen.gaps.copy()
    if jump is not None and jump.levels >= JUMP_LEVELS:
        for k in (jump.at, *(() if jump.back is None else (jump.back - 1,))):
            first, last = (int(round(t * d.fps)) for t in (d.times[k], d.times[k + 1]))
            gaps[(seen.ends > first) & (seen.ends <= last)] = np.nan
    scores = []
    read = np.isfinite(gaps)
    if not read.any():
        scores.append(_score("clip_dropped", 1.0, 0.5, "too still, or too few frames in a row, to tell a frame "
                                                         "dropped"))
    else:
        worst = int(np.nanargmax(gaps))
        gap, when = float(gaps[worst]), f"{seen.ends[worst] / d.fps:.2f} s"
        ahead = read & (np.nan_to_num(gaps) >= DROP_GAP)
        count = int(ahead.sum())
        reason = (f"frames dropped: the clip jumps ahead of its move at {when} ({gap:.1f} of a frame's move)"
                  + (f", and at {count - 1} more step(s), from "
                     f"{seen.ends[np.flatnonzero(ahead)[0]] / d.fps:.2f} s" if count > 1 else "")
                  if gap >= DROP_GAP else
                  f"no step jumps ahead of the clip's move (the most, {gap:.2f} of a frame's move, at {when})")
        scores.append(_score("clip_dropped", 1.0 - gap / (2 * DROP_GAP), 0.5, reason))
    if seen.stutters:
        first, held, caught = seen.stutters[0]
        more = len(seen.stutters) - 1
        reason = (f"stutter: frames held then jumped — frame {first} ({first / d.fps:.2f} s) held {held} more "
                  f"frame(s), then the picture jumps to frame {caught} ({caught / d.fps:.2f} s)"
                  + (f"; {more} more such hitch(es)" if more else ""))
        scores.append(_score("clip_stutter", 0.4 - 0.1 * more, 0.5, reason))
    else:
        scores.append(_score("clip_stutter", 1.0, 0.5, "no frame held then jumped"))
    return scores
