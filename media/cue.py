"""The local composer (issue 59): a music cue made offline, deterministically, from a brief's
physical terms — its tempo, its mode, its length and the hit points it must land on — so the
example and the tests make real music at $0.

What it plays: a kick on every beat and a hat between, a pad of the mode's triads changing each
bar, and at each hit point an accent (a low boom and a burst of noise, louder than any beat) —
wherever the hit falls, on the beat or between. The level sits near -18 dBFS RMS, its peak
under -1 dBFS.

It must never read or write a file, call a model, or draw on a random source other than its seed:
the same brief and seed make the same samples.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["RATE", "LEVELS", "KEYS", "compose"]

RATE = 48_000
#: Semitones of the triads a bar plays, by mode (i-VI-III-VII in minor, I-V-vi-IV in major).
PROGRESSIONS = {"minor": ((0, 3, 7), (-4, 0, 3), (3, 7, 10), (-2, 2, 5)),
                "major": ((0, 4, 7), (7, 11, 14), (9, 12, 16), (5, 9, 12))}
ROOT_HZ = 220.0
LEVEL_DBFS = -18.0
PEAK = 0.89     # -1 dBFS


def _decay(n: int, rate: int, seconds: float) -> np.ndarray:
    return np.exp(-np.arange(n) / (rate * seconds))


def _add(out: np.ndarray, sound: np.ndarray, at: int) -> None:
    if at >= len(out):
        return
    end = min(len(out), at + len(sound))
    out[max(0, at):end] += sound[max(0, -at):end - at]


#: How loud the bed (beats and pad, not the hits) plays at each intensity a brief marks.
LEVELS = {"soft": 0.45, "medium": 0.7, "full": 1.0}
#: Semitones above A of each key a brief may name (its root; the mode says minor or major).
KEYS = {"C": 3, "C#": 4, "Db": 4, "D": 5, "D#": 6, "Eb": 6, "E": 7, "F": 8, "F#": 9, "Gb": 9, "G": 10,
        "G#": 11, "Ab": 11, "A": 0, "A#": 1, "Bb": 1, "B": 2}


def _bed_gain(n: int, rate: int, intensity: Sequence[tuple[float, str]]) -> np.ndarray:
    """The bed's gain over the cue: each level from its time on, reached over half a second (a
    swell, not a step: a step would be an onset the hit check could take for a hit)."""
    gain = np.full(n, LEVELS["medium"])
    for at, level in sorted(intensity):
        start = int(round(at * rate))
        if start >= n:
            break
        ramp = min(n - start, int(0.5 * rate))
        before = gain[start - 1] if start > 0 else LEVELS[level]
        gain[start:start + ramp] = np.linspace(before, LEVELS[level], ramp, endpoint=False) if ramp else []
        gain[start + ramp:] = LEVELS[level]
    return gain


def compose(bpm: float, seconds: float, hits: Sequence[float] = (), *, mode: str = "minor", seed: int = 0,
            rate: int = RATE, key: str = "A", intensity: Sequence[tuple[float, str]] = ()) -> np.ndarray:
    """A mono cue of `seconds` at `bpm` (float32, -1..1) in `key` `mode` with an accent at each of
    `hits` (seconds), its bed at each `intensity` level ((seconds, soft|medium|full)) from its time on."""
    if not 20 <= bpm <= 300:
        raise ValueError(f"a tempo of {bpm} BPM is out of the composer's range (20-300)")
    rng = np.random.default_rng(seed)
    n = int(round(seconds * rate))
    out = np.zeros(n, dtype=np.float64)
    beat = 60.0 / bpm
    t = np.arange(int(0.25 * rate)) / rate
    kick = np.sin(2 * np.pi * (50 + 90 * np.exp(-t * 30)) * t) * _decay(len(t), rate, 0.07)
    hat = rng.normal(0, 1, int(0.04 * rate)) * _decay(int(0.04 * rate), rate, 0.008) * 0.25
    for i in range(int(seconds / beat) + 1):
        _add(out, kick * (0.9 if i % 4 else 1.0), int(round(i * beat * rate)))
        _add(out, hat, int(round((i + 0.5) * beat * rate)))
    # The pad: one triad a bar (four beats), a soft attack so it adds no onset of its own.
    bar = 4 * beat
    chords = PROGRESSIONS.get(mode, PROGRESSIONS["minor"])
    for j in range(int(seconds / bar) + 1):
        start, length = int(round(j * bar * rate)), int(round(bar * rate))
        tt = np.arange(length) / rate
        env = np.minimum(1.0, tt / 0.4) * np.minimum(1.0, (bar - tt) / 0.3).clip(0)
        root = ROOT_HZ * 2 ** (KEYS.get(key, 0) / 12)
        pad = sum(np.sin(2 * np.pi * root * 2 ** (s / 12) * tt) for s in chords[j % len(chords)])
        _add(out, 0.05 * env * pad, start)
    if intensity:
        out *= _bed_gain(n, rate, intensity)
    # The hits: a boom and a burst, well over any beat, wherever they fall.
    tb = np.arange(int(0.6 * rate)) / rate
    boom = np.sin(2 * np.pi * 45 * tb) * _decay(len(tb), rate, 0.25) * 1.4
    burst = rng.normal(0, 1, len(tb)) * _decay(len(tb), rate, 0.12) * 0.5
    for h in hits:
        _add(out, boom + burst, int(round(h * rate)))
    rms = float(np.sqrt(np.mean(out ** 2))) or 1.0
    # Near LEVEL_DBFS, with the loudest hit kept under full scale (a cue is never clipped as made).
    out *= min(10 ** (LEVEL_DBFS / 20) / rms, PEAK / (float(np.abs(out).max()) or 1.0))
    return out.astype(np.float32)
