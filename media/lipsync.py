"""The sync gate's measure (issue 38): does a speaker's mouth move with their line, and how late.

A lip-synced clip and the WAV of its shot's speech go in; a `SyncReading` comes out: the
picture's offset against the sound (ms, positive when the picture lags, i.e. the sound leads),
how sure the reading is, and a verdict with a one-line reason naming the speaker and the span.

- ``envelope``     the speech's loudness about each frame time: the log energy (dB) of an
                   ENVELOPE_WINDOW window centred on it, ENVELOPE_RANGE dB under the line's
                   loudest read as 0 and the loudest as 1. Read at any time, so a lag search is
                   sub-frame.
- ``faces_in``     the painter's faces in a picture: pairs of small dark square eyes (the
                   turnaround's `_EYE`) level with each other, each ringed by one flat skin
                   colour, as far apart as their size says. A face's scale `hw` (half its width,
                   the turnaround's unit) is read off the pair's spacing. One eye (a profile) or
                   none (a back) is no face: turned away.
- ``mouth_opening`` how open the mouth is: the darkness (skin to near-black, soft) inside the
                   lower face — MOUTH_BOX below the eyes — over hw², so framing does not matter.
- ``judge_sync``   follows the speaker's face through the clip (who is who by the cast's colours:
                   a media/presence `Cast` for the frames' size, as the caller builds it — the
                   keyframe gate's tasks/gates/keyframes.py `cast_of` — and `Cast.looked`, at low resolution;
                   the face nearest the speaker's figure, at full resolution), correlates the
                   mouth's opening with the envelope, restricted to the line's span with MARGIN,
                   at every lag within ±LAG_RANGE_MS (LAG_STEP_MS apart, the peak refined by a
                   parabola), and holds the peak to the tolerances below.

Verdicts: `failed` when the picture lags the sound by more than PICTURE_LAGS_MS or leads it
by more than PICTURE_LEADS_MS (ITU-R BT.1359: sound leading is noticed sooner), when the peak
correlation is under CONFIDENCE_FLOOR (the mouth follows something else), or when the mouth's
opening hardly moves (STILL) while the line is spoken. `cannot_judge` — never a pass — when the
face is read in under FOUND_FLOOR of the line's frames (speaker not found, turned away), when it
is under MIN_FACE_PX tall, or when the WAV is silent over the span. Thresholds were measured on
benchmarks/lipsync.py's corpus (benchmarks/RESULTS.md 2026-11-27).

It reads files and pictures only: it must never pay, call a provider or write anything.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .commands import raw_frames_args
from .ffmpeg import pipe
from .probe import probe
from .voiceprint import read_pcm16

from .presence import Cast

#: The shot's cast as presence reads it, for frames of a (height, width): the caller builds it
#: (tasks/gates/keyframes.py `cast_of` over the shot's ClipCast), so media/ never reaches into tasks/.
CastFor = Callable[[tuple[int, int]], Cast]

ENVELOPE_WINDOW = 0.04   # s: about a frame at 24 fps, centred on the frame's time
ENVELOPE_RANGE = 40.0    # dB under the line's loudest that reads as silence (eSpeak's pauses sit lower)
LAG_RANGE_MS = 600.0     # lags searched either way: past the 400 ms a fault may shift by, so its peak is inside
LAG_STEP_MS = 10.0       # a quarter of a frame; the parabola through the peak refines it further
MARGIN = 0.5             # s of frames either side of the line's span correlated too: a lagging mouth moves there
SPEECH_PAD = 0.08        # s: sound further than this outside the speaker's span is someone else's
PICTURE_LAGS_MS = 60.0   # picture later than the sound by more (sound leading): fails
PICTURE_LEADS_MS = 100.0  # picture earlier than the sound by more (sound lagging): fails
CONFIDENCE_FLOOR = 0.70  # peak correlation under this: the mouth follows something else
STILL = 0.03             # hw² of darkness: the opening's spread (p95 - p5) in the span under this is a still mouth
FOUND_FLOOR = 0.6        # share of the span's frames the mouth must be read in
MIN_FACE_PX = 20         # px: a face shorter than this (a wide shot's) is too small to read a mouth in
SILENT_DB = -45.0        # dBFS: a span whose loudest window is under this holds no line

EYE_LUMA = 42.0          # an eye pixel is darker than this: the turnaround's _EYE is ~19, leo's skin ~64
FACE_HEIGHT = 1.67       # a face's height (chin to hairline) in hw: the turnaround's face ellipse
# Where the mouth is, in hw from the eyes' midpoint (the turnaround: eyes at 0.11, mouth at 0.155,
# chin at 0.185 of the figure's height, hw = 0.075 of it; the eyes 0.8 hw apart, 0.7 in three-quarter).
EYES_APART = 0.75        # hw: a pair's spacing, front and three-quarter views between
MOUTH_Y = 0.6            # hw below the eyes: the mouth's line
MOUTH_BOX = (-0.35, 0.35, 0.32, 0.88)   # x0, x1, y0, y1 in hw about (eyes' midpoint, eye line)


@dataclass(frozen=True)
class Face:
    """A face read off the painter's art: the eyes' midpoint (px), their line, and its scale."""
    x: float
    y: float
    hw: float        # half the face's width, px
    skin: np.ndarray  # RGB of the skin about the eyes

    @property
    def height_px(self) -> float:
        return FACE_HEIGHT * self.hw


@dataclass(frozen=True)
class SyncReading:
    speaker: str
    span: tuple[float, float]
    offset_ms: float | None      # positive: the picture lags the sound (the sound leads)
    confidence: float            # the peak's correlation, 0..1
    found: float                 # share of the span's frames the mouth was read in
    verdict: str                 # passed | failed | cannot_judge
    reason: str

    def as_score(self) -> dict:
        """As the other gate scores (media/presence `_score`): the confidence, held to the floor,
        and 0 for any reading that did not pass (the policy decides by value alone)."""
        value = round(float(max(0.0, min(1.0, self.confidence))), 4) if self.verdict == "passed" else 0.0
        return {"name": "lip_sync", "value": value, "threshold": CONFIDENCE_FLOOR,
                "passed": self.verdict == "passed", "reason": self.reason, "role": "block"}


# --- the sound ------------------------------------------------------------------------------------

def envelope(samples: np.ndarray, rate: int, times: np.ndarray, window: float = ENVELOPE_WINDOW) -> np.ndarray:
    """The speech's loudness at each of `times` (s): 0 (silence, or ENVELOPE_RANGE dB under the
    loudest) to 1 (the loudest window of the whole of `samples`). Any shape of `times`."""
    x = np.asarray(samples, dtype=np.float64) / 32768.0
    cum = np.concatenate([[0.0], np.cumsum(x * x)])
    top = _loudest_db(cum, rate, window)
    t = np.asarray(times, dtype=np.float64)
    return np.clip((_db(cum, rate, t, window) - top + ENVELOPE_RANGE) / ENVELOPE_RANGE, 0.0, 1.0)


def _db(cum: np.ndarray, rate: int, t: np.ndarray, window: float) -> np.ndarray:
    n = len(cum) - 1
    a = np.clip(np.round((t - window / 2) * rate).astype(np.int64), 0, n)
    b = np.clip(np.round((t + window / 2) * rate).astype(np.int64), 0, n)
    energy = (cum[b] - cum[a]) / np.maximum(1, b - a)
    return 10.0 * np.log10(np.maximum(energy, 1e-12))


def _loudest_db(cum: np.ndarray, rate: int, window: float) -> float:
    hops = np.arange(0.0, (len(cum) - 1) / rate, 0.01)
    return float(_db(cum, rate, hops, window).max()) if len(hops) else -120.0


def loudest_db(samples: np.ndarray, rate: int, span: tuple[float, float]) -> float:
    """The loudest ENVELOPE_WINDOW of `samples` within `span` (s), dBFS."""
    x = np.asarray(samples, dtype=np.float64) / 32768.0
    cum = np.concatenate([[0.0], np.cumsum(x * x)])
    hops = np.arange(span[0], span[1], 0.01)
    return float(_db(cum, rate, hops, ENVELOPE_WINDOW).max()) if len(hops) else -120.0


# --- the picture ----------------------------------------------------------------------------------

def _luma(a: np.ndarray) -> np.ndarray:
    a = a.astype(np.float32)
    return a[..., 0] * 0.299 + a[..., 1] * 0.587 + a[..., 2] * 0.114


def faces_in(picture: np.ndarray, box: tuple[float, float, float, float] | None = None) -> list[Face]:
    """The two-eyed faces in an RGB picture (or in its `box`: x0, y0, x1, y1), in its coordinates."""
    from scipy.ndimage import find_objects, label
    h, w = picture.shape[:2]
    x0, y0, x1, y1 = box if box is not None else (0, 0, w, h)
    x0, y0, x1, y1 = max(0, int(x0)), max(0, int(y0)), min(w, int(x1)), min(h, int(y1))
    if x1 - x0 < 8 or y1 - y0 < 8:
        return []
    crop = picture[y0:y1, x0:x1]
    luma = _luma(crop)
    labels, count = label(luma < EYE_LUMA)
    eyes = []
    for i, sl in enumerate(find_objects(labels), start=1):
        if sl is None:
            continue
        ys, xs = sl
        eh, ew = ys.stop - ys.start, xs.stop - xs.start
        # An eye is a small square (2 px of a wide shot's to ~12 of a close-up's); hair, legs,
        # a window's night and a lamp post are larger or long.
        if not (2 <= eh <= 16 and 2 <= ew <= 16 and 0.5 <= eh / ew <= 2.0):
            continue
        area = int((labels[sl] == i).sum())
        if area < 0.6 * eh * ew:
            continue
        # Ringed by skin: the band about it (clear of its edge, which a scaled or encoded frame
        # smears) is light, flat, and lighter than the eye by far.
        gap, r = 2, max(2, (eh + ew) // 2)
        ry0, ry1, rx0, rx1 = ys.start - gap - r, ys.stop + gap + r, xs.start - gap - r, xs.stop + gap + r
        if ry0 < 0 or rx0 < 0 or ry1 > crop.shape[0] or rx1 > crop.shape[1]:
            continue
        ring = np.ones((ry1 - ry0, rx1 - rx0), dtype=bool)
        ring[r:-r, r:-r] = False
        around = crop[ry0:ry1, rx0:rx1][ring].astype(np.float32)
        lum = _luma(around)
        q1, q2, q3 = np.percentile(lum, (25, 50, 75))
        if q2 - float(luma[sl][labels[sl] == i].mean()) < 30 or q3 - q1 > 12 or (lum < EYE_LUMA).mean() > 0.05:
            continue
        eyes.append(((xs.start + xs.stop) / 2, (ys.start + ys.stop) / 2, (eh + ew) / 2, np.median(around, axis=0)))
    faces = []
    used: set[int] = set()
    # Pairs: level, alike in size and skin, 3 to 8 eye sizes apart (the turnaround's eyes are
    # 0.8 hw apart and 0.16 hw wide, nearest-neighbour scaling rounding either).
    pairs = []
    for i, (ax, ay, asz, askin) in enumerate(eyes):
        for j in range(i + 1, len(eyes)):
            bx, by, bsz, bskin = eyes[j]
            size = (asz + bsz) / 2
            dx = abs(bx - ax)
            if abs(by - ay) > max(1.5, 0.35 * size) or not 2.5 * size <= dx <= 9.0 * size:
                continue
            if max(asz, bsz) > 1.8 * min(asz, bsz) or np.abs(askin - bskin).max() > 30:
                continue
            pairs.append((dx, i, j))
    for dx, i, j in sorted(pairs):
        if i in used or j in used:
            continue
        used |= {i, j}
        a, b = eyes[i], eyes[j]
        faces.append(Face(x0 + (a[0] + b[0]) / 2, y0 + (a[1] + b[1]) / 2, dx / EYES_APART, (a[3] + b[3]) / 2))
    return faces


def mouth_box(face: Face, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """The lower face a mouth is read (and painted) in: x0, y0, x1, y1 px, inside `shape` (h, w)."""
    bx0, bx1, by0, by1 = MOUTH_BOX
    x0 = int(np.floor(face.x + bx0 * face.hw))
    x1 = int(np.ceil(face.x + bx1 * face.hw))
    y0 = int(np.floor(face.y + by0 * face.hw))
    y1 = int(np.ceil(face.y + by1 * face.hw))
    return max(0, x0), max(0, y0), min(shape[1], x1), min(shape[0], y1)


def mouth_opening(picture: np.ndarray, face: Face) -> float:
    """How open the face's mouth is: darkness in the mouth box (each pixel from 0 at the skin's
    lightness to 1 at an eye's), summed, over hw². NaN when the box leaves the picture."""
    x0, y0, x1, y1 = mouth_box(face, picture.shape[:2])
    if x1 - x0 < 3 or y1 - y0 < 3:
        return float("nan")
    skin = float(_luma(face.skin[None])[0])
    dark = (skin - _luma(picture[y0:y1, x0:x1])) / max(20.0, skin - 20.0)
    return float(np.clip(dark, 0.0, 1.0).sum() / (face.hw * face.hw))


# --- the gate -------------------------------------------------------------------------------------

def decode(clip: Path, width: int | None = None) -> tuple[np.ndarray, float]:
    """Every frame of a clip, (N, H, W, 3) uint8 (at `width`, area-scaled, when given), and its rate."""
    p = probe(clip)
    w = p.width if width is None else max(2, width - width % 2)
    h = p.height if width is None else max(2, round(w * p.height / max(1, p.width) / 2) * 2)
    raw = pipe(raw_frames_args(clip, width=w, height=h))
    n = len(raw) // (w * h * 3)
    return np.frombuffer(raw[:n * w * h * 3], np.uint8).reshape(n, h, w, 3), float(p.fps or 24)


def follow(frames: np.ndarray, near: list[tuple[float, float] | None], reach: np.ndarray | float = 0.0) -> list[Face | None]:
    """Per frame, the face nearest `near[i]` (px; None: no one to follow there), searched within
    `reach` px of it (a box; 0: the whole frame) and no further than a face's width from it."""
    h, w = frames.shape[1:3]
    out: list[Face | None] = []
    reaches = np.broadcast_to(np.asarray(reach, dtype=float), (len(frames),))
    for frame, at, r in zip(frames, near, reaches):
        if at is None:
            out.append(None)
            continue
        box = (0, 0, w, h) if r <= 0 else (at[0] - r, at[1] - r, at[0] + r, at[1] + r)
        found = faces_in(frame, box)
        best = min(found, key=lambda f: np.hypot(f.x - at[0], f.y - at[1]), default=None)
        out.append(best)
    return out


def correlate(opening: np.ndarray, times: np.ndarray, samples: np.ndarray, rate: int,
              span: tuple[float, float]) -> tuple[float, float, np.ndarray, np.ndarray]:
    """(offset ms, peak correlation, lags ms, correlations) of the mouth's opening per frame
    (NaN where unread) against the speech's envelope, over the frames of `span` ± MARGIN; sound
    outside the span ± SPEECH_PAD is not the speaker's and counts as silence."""
    use = np.isfinite(opening) & (times >= span[0] - MARGIN) & (times <= span[1] + MARGIN)
    lags = np.arange(-LAG_RANGE_MS, LAG_RANGE_MS + LAG_STEP_MS / 2, LAG_STEP_MS)
    if use.sum() < 4:
        return float("nan"), 0.0, lags, np.zeros_like(lags)
    at = times[None, :] - lags[:, None] / 1000.0               # the sound each frame shows at each lag
    y = envelope(samples, rate, at)
    y = np.where((at >= span[0] - SPEECH_PAD) & (at <= span[1] + SPEECH_PAD), y, 0.0)
    # Frame-to-frame changes, not levels: any mouth that opens for the span and shuts after it
    # follows a line's levels (its start and end); only one that follows this line's syllables
    # follows its changes.
    x = np.diff(opening)
    y = np.diff(y, axis=1)
    use = use[1:] & use[:-1]
    x, y = x[use], y[:, use]
    xc = x - x.mean()
    yc = y - y.mean(axis=1, keepdims=True)
    denom = np.sqrt((xc * xc).sum() * (yc * yc).sum(axis=1))
    r = np.where(denom > 1e-12, (yc @ xc) / np.maximum(denom, 1e-12), 0.0)
    k = int(np.argmax(r))
    offset = float(lags[k])
    if 0 < k < len(r) - 1:
        a, b, c = r[k - 1], r[k], r[k + 1]
        bend = a - 2 * b + c
        if bend < 0:
            offset += LAG_STEP_MS * 0.5 * (a - c) / bend
    return offset, float(max(0.0, r[k])), lags, r


def _located(cast: CastFor, speaker: str, small: np.ndarray, start: Path | None, every: int,
             scale: float) -> tuple[list[tuple[float, float] | None], float, str, float]:
    """Where the speaker's head is in each frame (full-resolution px, from the frames `every`
    apart that the cast was looked for in, nearest of them), the search reach, or why not, and
    the face's height their head's width says (px; 0 when not seen): a face too small for its
    eyes to be found is still said to be too small."""
    from slate.media import load_rgb
    from slate.media.dailies import scaled
    n = len(small)
    members = cast(small.shape[1:3])
    if speaker not in members.members:
        why = members.unseen.get(speaker, "they are not of the cast")
        return [None] * n, 0.0, f"{speaker} cannot be told apart by colour ({why})", 0.0
    picks = tuple(range(0, n, every))
    first = scaled(load_rgb(start), small) if start is not None else None
    looked = members.looked(small[list(picks)], first, keep=tuple(range(len(picks))))
    heads: list[tuple[float, float] | None] = []
    reach = 0.0
    widths = []
    for k in range(len(picks)):
        mask = looked.masks.get(k, {}).get(speaker)
        if mask is None or mask.sum() < 3:
            heads.append(None)
            continue
        rows = np.flatnonzero(mask.any(axis=1))
        cols = np.flatnonzero(mask.any(axis=0))
        top = rows[0]
        # The head: the top of where they are found (hair, or the face under it), centred on
        # their figure's columns there; searched within the figure's width about it.
        band = mask[top:top + max(2, (rows[-1] - top) // 4 + 1)]
        xs = np.flatnonzero(band.any(axis=0))
        cx = (xs[0] + xs[-1] + 1) / 2
        widths.append((xs[-1] - xs[0] + 1) * scale)
        heads.append(((cx) * scale, (top + 0.5) * scale))
        reach = max(reach, (cols[-1] - cols[0] + 1) * scale * 0.75)
    out = [heads[min(len(heads) - 1, int(round(i / every)))] for i in range(n)]
    # Their head's width is about 2.2 hw (hair either side of the face): the face 0.76 of it tall.
    return out, reach, "", float(np.median(widths)) * FACE_HEIGHT / 2.2 if widths else 0.0


def judge_sync(clip: Path, speech_wav: Path, *, speaker: str, span: tuple[float, float], cast: CastFor,
               named: tuple[str, ...] = (), start: Path | None = None) -> SyncReading:
    """The sync gate's reading of `speaker`'s mouth in `clip` against `speech_wav` (16-bit PCM
    mono, the shot's length, their line within `span` seconds): see the module's docstring.
    `cast`: the shot's cast for a frame size (CastFor); `named`: the shot's characters (one alone
    in it owns the face in frame); `start`: the picture the clip began from."""
    span = (float(span[0]), float(span[1]))
    where = f"{span[0]:.2f}–{span[1]:.2f} s"

    def reading(verdict: str, reason: str, offset: float | None = None, conf: float = 0.0,
                found: float = 0.0) -> SyncReading:
        return SyncReading(speaker, span, None if offset is None else round(float(offset), 1), round(float(conf), 4),
                           round(float(found), 4), verdict, reason)

    samples, rate = read_pcm16(speech_wav)
    if loudest_db(samples, rate, span) < SILENT_DB:
        return reading("cannot_judge", f"cannot judge {speaker}'s lip-sync: the speech is silent over {where}")
    frames, fps = decode(clip)
    n, h, w = frames.shape[:3]
    if n == 0:
        return reading("cannot_judge", f"cannot judge {speaker}'s lip-sync: the clip has no frames")
    times = np.arange(n) / fps
    in_span = (times >= span[0]) & (times <= span[1])
    if not in_span.any():
        return reading("cannot_judge", f"cannot judge {speaker}'s lip-sync: the clip has no frames in {where}")
    small_w = 160
    small = frames[:, ::max(1, w // small_w), ::max(1, w // small_w)]   # a glance: who stands where
    step = max(1, w // small_w)
    heads, reach, why, guess = _located(cast, speaker, small, start, every=6, scale=float(step))
    if why and len(named) == 1:
        # Alone in the shot: the face in the frame is theirs, whether or not colour can tell.
        heads, reach, why = [(w / 2, h / 2)] * n, 0.0, ""
    if why:
        return reading("cannot_judge", f"cannot judge {speaker}'s lip-sync, {where}: {why}")
    faces = follow(frames, heads, reach)
    opening = np.array([mouth_opening(f, face) if face is not None else np.nan for f, face in zip(frames, faces)])
    sizes = [face.height_px for face, inside in zip(faces, in_span) if face is not None and inside]
    read = np.isfinite(opening)
    found = float(read[in_span].mean())
    # A face seen too small to read, or a head too small for its eyes to be seen at all.
    tall = float(np.median(sizes)) if sizes else guess if 0 < guess < 1.5 * MIN_FACE_PX else 0.0
    if tall and tall < MIN_FACE_PX or (not sizes and tall):
        return reading("cannot_judge", f"cannot judge {speaker}'s lip-sync: their face is {tall:.0f} px "
                       f"tall, under the {MIN_FACE_PX} px a mouth is read at, {where}", found=found)
    opening = np.where(read, opening, np.nan)
    if found < FOUND_FLOOR:
        said = ("their face was not found (not in frame, or turned away)" if not sizes else
                f"their face was read in {found:.0%} of the line's frames only (turned away or hidden)")
        return reading("cannot_judge", f"cannot judge {speaker}'s lip-sync, {where}: {said}", found=found)
    spoken = opening[in_span & read]
    spread = float(np.percentile(spoken, 95) - np.percentile(spoken, 5))
    offset, conf, _, _ = correlate(opening, times, samples, rate, span)
    if spread < STILL:
        return reading("failed", f"{speaker}'s mouth does not move while they speak ({spread:.3f} hw² of "
                       f"opening), {where}", None, conf, found)
    if conf < CONFIDENCE_FLOOR:
        return reading("failed", f"{speaker}'s mouth does not follow their line (confidence {conf:.2f}, best at "
                       f"{offset:+.0f} ms), {where}", offset, conf, found)
    if offset > PICTURE_LAGS_MS or offset < -PICTURE_LEADS_MS:
        how = "lags" if offset > 0 else "leads"
        return reading("failed", f"{speaker}'s mouth {how} their line by {abs(offset):.0f} ms (confidence "
                       f"{conf:.2f}), {where}", offset, conf, found)
    return reading("passed", f"{speaker}'s mouth is in sync with their line ({offset:+.0f} ms, confidence "
                   f"{conf:.2f}), {where}", offset, conf, found)
