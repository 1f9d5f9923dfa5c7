"""The local provider's lip-sync "model" (issue 38): a speaker's mouth painted to follow the speech.

`lipsync_clip` decodes a clip, finds each cued speaker's face the way a lip-sync model does —
from the picture alone, no cast data: the painter's two dark eyes (media/lipsync `faces_in`) of
the face nearest the cue in the first frame, then followed frame to frame within a face's width
— and paints over its lower face a mouth whose opening follows the speech's envelope
(media/lipsync `envelope`) within the cue's span, and a closed mouth (a thin dark line) outside
it. The clip comes back at its size, frame rate and frame count, video only, written atomically.
A face it cannot find in a frame (turned away, out of frame, a profile's single eye) is left
as drawn there.

Faults (`LIP_FAULT_KINDS`), pure functions of the envelope and the seed so the sync gate can be
measured (benchmarks/lipsync.py): `lip_offset` the mouth leads or lags the sound by 120–400 ms
(`fault_shift`: seeded, either sign); `lip_still` the mouth never opens; `lip_other_line` the
mouth follows another line — one of OTHER_LINES spoken by a seeded local voice
(providers/local_speech.py), its voiced part fitted to the cue's span.

It must never reach the network, never read a key, and never read anything but its arguments.
"""
from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import numpy as np

from slate.media.commands import raw_clip_args
from slate.media.ffmpeg import pipe
from slate.media.lipsync import MOUTH_Y, Face, decode, envelope, faces_in
from slate.media.render import scratch_beside
from slate.media.voiceprint import read_pcm16
from slate.providers.base import FaceCue
from slate.providers.local_draw import LIP_FAULT_KINDS

SHIFT_MS = (120.0, 400.0)     # how far a lip_offset take's mouth is from the sound, either sign
OTHER_LINES = ("Nothing ever happens on this street after midnight.",
               "I told you twice already, the kitchen is closed.",
               "Bring me the bill and a glass of water, please.",
               "She said the bus would come at seven, but it never did.",
               "Are you sure this is the right address?")
MOUTH_WIDTH = 0.25            # hw: half the mouth's width (the turnaround's mouth line)
MOUTH_CLOSED = 0.035          # hw: half the height of a closed mouth (a line a pixel or two thick)
MOUTH_OPEN = 0.20             # hw: added to it when the envelope reads 1
MOUTH_RGB = np.array([34.0, 10.0, 14.0])   # inside a mouth: darker than any skin of the cast


def _rng(*parts: object) -> np.random.Generator:
    import hashlib
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


def fault_shift(seed: int) -> float:
    """The seconds a `lip_offset` take's mouth lags (positive) or leads (negative) the sound."""
    rng = _rng("lip-offset", seed)
    ms = rng.uniform(*SHIFT_MS)
    return float(ms if rng.random() < 0.5 else -ms) / 1000.0


def openings(samples: np.ndarray, rate: int, times: np.ndarray, cue: FaceCue, *, fault: str | None = None,
             seed: int = 0) -> np.ndarray:
    """How open the cued speaker's mouth is at each of `times` (s), 0..1: the speech's envelope
    within the cue's span (0 outside it), as `fault` would spoil it."""
    span = (cue.start, cue.end)
    if fault == "lip_still":
        return np.zeros(len(times))
    if fault == "lip_other_line":
        return _other_line(times, span, seed)
    at = np.asarray(times, dtype=float) - (fault_shift(seed) if fault == "lip_offset" else 0.0)
    if fault not in (None, "lip_offset"):
        raise ValueError(f"unknown lip-sync fault kind {fault!r} (known: {', '.join(LIP_FAULT_KINDS)})")
    inside = (at >= span[0]) & (at <= span[1])
    return np.where(inside, envelope(samples, rate, at), 0.0)


def _other_line(times: np.ndarray, span: tuple[float, float], seed: int) -> np.ndarray:
    """Another sentence's envelope, its voiced part stretched over `span`."""
    from slate.providers.local_speech import LOCAL_VOICES, speak
    rng = _rng("lip-other", seed)
    voices = sorted(LOCAL_VOICES)
    speech = speak(OTHER_LINES[int(rng.integers(len(OTHER_LINES)))], LOCAL_VOICES[voices[int(rng.integers(len(voices)))]])
    hops = np.arange(0.0, speech.seconds, 0.01)
    env = envelope(speech.samples, speech.rate, hops)
    voiced = np.flatnonzero(env > 0.3)
    lo, hi = (hops[voiced[0]], hops[voiced[-1]]) if len(voiced) else (0.0, speech.seconds)
    t = np.asarray(times, dtype=float)
    inside = (t >= span[0]) & (t <= span[1])
    mapped = lo + (t - span[0]) / max(1e-6, span[1] - span[0]) * (hi - lo)
    return np.where(inside, envelope(speech.samples, speech.rate, mapped), 0.0)


def paint_mouth(frame: np.ndarray, face: Face, opening: float) -> None:
    """Paint over `face`'s lower face, in place: its drawn mouth skinned over, then a mouth
    `opening` (0 closed .. 1 wide) open, edges anti-aliased by 4x4 supersampling."""
    h, w = frame.shape[:2]
    hw = face.hw
    cx, cy = face.x, face.y + MOUTH_Y * hw
    # The drawn mouth (a line at the same place) goes under skin first.
    ex0, ex1 = int(round(cx - 0.32 * hw)), int(round(cx + 0.32 * hw))
    ey0, ey1 = int(round(cy - 0.18 * hw)), int(round(cy + 0.18 * hw))
    ex0, ey0, ex1, ey1 = max(0, ex0), max(0, ey0), min(w, ex1 + 1), min(h, ey1 + 1)
    if ex1 <= ex0 or ey1 <= ey0:
        return
    frame[ey0:ey1, ex0:ex1] = np.clip(face.skin, 0, 255).astype(np.uint8)
    a = MOUTH_WIDTH * hw
    b = max(0.5, (MOUTH_CLOSED + MOUTH_OPEN * float(np.clip(opening, 0.0, 1.0))) * hw)
    x0, x1 = max(0, int(np.floor(cx - a))), min(w, int(np.ceil(cx + a)) + 1)
    y0, y1 = max(0, int(np.floor(cy - b))), min(h, int(np.ceil(cy + b)) + 1)
    if x1 <= x0 or y1 <= y0:
        return
    sub = (np.arange(4) + 0.5) / 4
    ys = (np.arange(y0, y1)[:, None] + sub[None, :]).ravel()
    xs = (np.arange(x0, x1)[:, None] + sub[None, :]).ravel()
    inside = (((xs[None, :] - cx) / a) ** 2 + ((ys[:, None] - cy) / b) ** 2) <= 1.0
    cover = inside.reshape(y1 - y0, 4, x1 - x0, 4).mean(axis=(1, 3))[..., None]
    region = frame[y0:y1, x0:x1].astype(np.float32)
    frame[y0:y1, x0:x1] = np.clip(region * (1 - cover) + MOUTH_RGB * cover + 0.5, 0, 255).astype(np.uint8)


def track(frames: np.ndarray, cue: FaceCue) -> list[Face | None]:
    """The cued face in each frame: the two-eyed face nearest the cue in the first frame it is
    found in, then the one nearest where it was, within a face's width."""
    h, w = frames.shape[1:3]
    out: list[Face | None] = []
    last: Face | None = None
    for frame in frames:
        if last is None:
            found = faces_in(frame)
            at = (cue.x * w, cue.y * h)
            best = min(found, key=lambda f: np.hypot(f.x - at[0], f.y - at[1]), default=None)
            # The cue names the head's centre; a face further than twice its width is someone else's.
            if best is not None and np.hypot(best.x - at[0], best.y - at[1]) > 4 * best.hw:
                best = None
        else:
            was, r = last, 2.0 * last.hw
            found = faces_in(frame, (was.x - r, was.y - r, was.x + r, was.y + r))
            best = min(found, key=lambda f: np.hypot(f.x - was.x, f.y - was.y), default=None)
        out.append(best)
        last = best if best is not None else last
    return out


def lipsync_clip(clip: Path, speech_wav: Path, out: Path, *, faces: tuple[FaceCue, ...], fault: str | None = None,
                 seed: int = 0) -> Path:
    """`clip` with each cued speaker's mouth following `speech_wav` (16-bit PCM mono, the clip's
    timeline), written to `out` (H.264, same size, rate and frame count, no sound); `fault` one of
    LIP_FAULT_KINDS or None. The same inputs always give the same pixels."""
    if fault is not None and fault not in LIP_FAULT_KINDS:
        raise ValueError(f"unknown lip-sync fault kind {fault!r} (known: {', '.join(LIP_FAULT_KINDS)})")
    frames, fps = decode(Path(clip))
    frames = frames.copy()
    samples, rate = read_pcm16(speech_wav)
    times = np.arange(len(frames)) / fps
    for k, cue in enumerate(faces):
        # The first cue's fault is fault_shift(seed)'s: what a benchmark holds the gate to.
        opened = openings(samples, rate, times, cue, fault=fault, seed=seed + 7919 * k)
        for frame, face, o in zip(frames, track(frames, cue), opened):
            if face is not None:
                paint_mouth(frame, face, o)
    out = Path(out)
    tmp = scratch_beside(out)
    try:
        pipe(raw_clip_args(tmp, width=frames.shape[2], height=frames.shape[1], fps=_rate(fps)),
             np.ascontiguousarray(frames).tobytes())
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def _rate(fps: float) -> Fraction:
    return Fraction(fps).limit_denominator(1001)
