"""The music gate (issue 59): a cue held to its brief before it is mixed.

Each check reads the samples the way a music editor would listen for it, and says what it heard:
- length:   the cue is the asked length within one frame of the film's rate;
- silence:  it is not silent (its loudest 400 ms block above SILENT_DBFS);
- clipping: it is not clipped (under CLIP_SAMPLES of its samples flat at full scale, in runs of
            CLIP_RUN or more: music never holds full scale for three samples unless clipped);
- loudness: its level (the RMS of its sounding 400 ms blocks) is within LOUDNESS_DBFS;
- tempo:    the pulse found in it (autocorrelation of its onsets, searched within ±25% of the
            brief) is within TEMPO_SHARE of the brief's tempo;
- hits:     at each hit point, an onset of the bright part of the sound (its first difference)
            within one frame of its time and ACCENT times as strong as the cue's usual beat (a
            hit is an accent — a crash, a stab — not just the next kick).
A check that cannot be made (no pulse in a cue too short to hold two beats) is said so and fails:
it is never a pass.

It must never change the samples, call a model or read anything but the samples it is given.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Check", "judge_cue", "onsets", "tempo_of", "SILENT_DBFS", "LOUDNESS_DBFS",
           "TEMPO_SHARE", "ACCENT", "CLIP_SAMPLES"]

SILENT_DBFS = -50.0
CLIP_LEVEL = 0.999
CLIP_RUN = 3
CLIP_SAMPLES = 20
LOUDNESS_DBFS = (-30.0, -10.0)
TEMPO_SHARE = 0.03          # "within a few percent of the brief"
TEMPO_SEARCH = 0.25
ACCENT = 2.5
HOP_S = 0.004               # the onset envelope's step
FRAME_S = 0.010             # ... and its window


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    reason: str
    value: float = 0.0


def _dbfs(x: np.ndarray) -> float:
    return 20 * np.log10(max(float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))), 1e-10))


def _blocks(x: np.ndarray, rate: int, seconds: float = 0.4) -> np.ndarray:
    n = int(rate * seconds)
    k = len(x) // n
    if k == 0:
        return np.array([_dbfs(x)]) if len(x) else np.array([-200.0])
    return 20 * np.log10(np.sqrt(np.mean(np.square(x[:k * n].reshape(k, n), dtype=np.float64), axis=1)) + 1e-10)


def onsets(x: np.ndarray, rate: int, bright: bool = False) -> tuple[np.ndarray, float]:
    """The onset envelope — how much the (bright) energy rises, step by step, rectified — and its step in
    seconds (HOP_S in whole samples: at 44.1 kHz a step is 3.991 ms, and 27 s in that is 62 ms)."""
    hop, win = int(round(rate * HOP_S)), int(round(rate * FRAME_S))
    if len(x) < win + hop:
        return np.zeros(0), hop / rate
    idx = np.arange(0, len(x) - win, hop)
    # `bright`: of the signal's first difference (a gentle high-pass) — an accent's crash or stab
    # is bright, a kick is not, so a hit stands out from the beats it may fall beside. The pulse
    # is read from the whole signal (the kicks carry it).
    y = np.diff(x, prepend=x[:1]) if bright else x
    sq = np.concatenate([[0.0], np.cumsum(np.square(y, dtype=np.float64))])
    energy = (sq[idx + win] - sq[idx]) / win
    return np.maximum(0.0, np.diff(energy, prepend=energy[0])), hop / rate


def tempo_of(env: np.ndarray, step: float, near_bpm: float) -> tuple[float, float] | None:
    """The pulse of an onset envelope (`step` seconds a value) within ±TEMPO_SEARCH of `near_bpm`:
    (bpm, strength), or None when the envelope is too short to hold four beats of it."""
    lag0 = 60.0 / near_bpm / step
    if len(env) < 4 * lag0 * (1 + TEMPO_SEARCH):
        return None
    e = env - env.mean()
    spec = np.fft.rfft(e, 2 * len(e))
    ac = np.fft.irfft(spec * np.conj(spec))[:len(e)]
    ac /= ac[0] or 1.0
    grid = near_bpm * np.linspace(1 - TEMPO_SEARCH, 1 + TEMPO_SEARCH, 1001)
    lags = 60.0 / grid / step
    # A comb over the first multiples of the beat: one lag alone has a broad peak.
    score = np.sum([np.interp(k * lags, np.arange(len(ac)), ac, right=0.0) / k for k in (1, 2, 3, 4)], axis=0)
    i = int(np.argmax(score))
    return float(grid[i]), float(score[i])


def judge_cue(samples: np.ndarray, rate: int, *, seconds: float, bpm: float | None, hits: Sequence[float] = (),
              fps: float = 24.0) -> list[Check]:
    """Every check of the cue (mono or (n, channels) floats in -1..1) against its brief."""
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 2:
        x = x.mean(axis=1)
    frame = 1.0 / fps
    out = []
    got = len(x) / rate
    out.append(Check("length", abs(got - seconds) <= frame, f"{got:.3f} s against {seconds:.3f} s asked "
                     f"({(got - seconds) * fps:+.1f} frames)", got))
    blocks = _blocks(x, rate)
    loudest = float(blocks.max())
    silent = loudest < SILENT_DBFS
    out.append(Check("silence", not silent, f"its loudest 400 ms is {loudest:.1f} dBFS"
                     + (" — silent" if silent else ""), loudest))
    flat = _flat_tops(x)
    out.append(Check("clipping", flat < CLIP_SAMPLES, f"{flat} samples flat at full scale "
                     f"({flat / max(1, len(x)):.3%})", float(flat)))
    sounding = blocks[blocks > loudest - 20] if not silent else blocks
    level = float(10 * np.log10(np.mean(10 ** (sounding / 10)))) if len(sounding) else -200.0
    lo, hi = LOUDNESS_DBFS
    out.append(Check("loudness", bool(lo <= level <= hi), f"{level:.1f} dBFS RMS (range {lo:.0f} to {hi:.0f})", level))
    env, step = onsets(x, rate)
    if bpm is not None:
        found = None if silent else tempo_of(env, step, bpm)
        if found is None:
            out.append(Check("tempo", False, "cannot judge: no pulse to read (silent, or under four beats)"))
        else:
            off = found[0] / bpm - 1
            out.append(Check("tempo", abs(off) <= TEMPO_SHARE, f"a pulse of {found[0]:.1f} BPM against {bpm:g} "
                             f"asked ({off:+.1%})", found[0]))
    if hits:
        env, step = onsets(x, rate, bright=True)
        usual = _usual_beat(env, step, hits, len(x) / rate * (bpm or 0.0) / 60.0)
        for h in hits:
            a, b = int((h - frame) / step), int((h + frame) / step) + 1
            peak = float(env[max(0, a):max(0, b)].max()) if 0 <= a < len(env) else 0.0
            strength = peak / usual if usual > 0 else 0.0
            out.append(Check("hit", strength >= ACCENT, f"at {h:.2f} s: the strongest onset within a frame is "
                             f"{strength:.1f}× the usual beat (an accent is {ACCENT:g}×)", strength))
    return out


def _flat_tops(x: np.ndarray) -> int:
    """How many samples sit at full scale in runs of CLIP_RUN or more (a clipped waveform's flat tops)."""
    at = np.abs(x) >= CLIP_LEVEL
    if not at.any():
        return 0
    edges = np.diff(np.concatenate([[0], at.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    runs = ends - starts
    return int(runs[runs >= CLIP_RUN].sum())


def _usual_beat(env: np.ndarray, step: float, hits: Sequence[float], beats: float) -> float:
    """The cue's usual beat, as strong as its onsets go away from the hit points: the median of its
    `beats` strongest local peaks (the kicks, one a beat, not the hats and specks between them;
    with no tempo to count beats by, the top 3% of the peaks)."""
    if len(env) < 3:
        return 0.0
    peaks = np.flatnonzero((env[1:-1] > env[:-2]) & (env[1:-1] >= env[2:])) + 1
    away = [p for p in peaks if all(abs(p * step - h) > 0.15 for h in hits)]
    strong = np.sort(env[away] if away else env[peaks])
    if not len(strong):
        return 0.0
    top = strong[-max(1, int(beats)):] if beats >= 1 else strong[-max(1, len(strong) * 3 // 100):]
    return float(np.median(top))
