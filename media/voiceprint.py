"""A voice gate's measures: who is speaking, whether they speak, whether they finish.

For: judging a spoken line against its character's approved voice sample — the right speaker,
not silent, not cut off. Plain functions over PCM samples (int16 or float, mono) and a sample
rate; it imports nothing of ours, decides nothing on its own but `judge_line`, whose cuts are
arguments with defaults set from data (benchmarks/voices.py, benchmarks/RESULTS.md 2026-11-26).

- `speech_spans`: voice activity by energy. 20 ms frames (10 ms hop) whose RMS is within
  SPAN_REL_DB of the loudest frame *and* above SPAN_FLOOR_DBFS (so a near-silent take has no
  speech at all, however it is normalised); gaps shorter than SPAN_GAP are bridged, spans
  shorter than SPAN_MIN dropped.
- `signature`: a speaker signature over the voiced frames (40 ms, 10 ms hop, energetic and
  periodic): pitch by normalised autocorrelation (median f0 in Hz, spread as the interquartile
  range in semitones), spectral centroid (Hz), spectral tilt (dB per octave, 100 Hz–5 kHz), and
  the mean log-mel cepstrum (coefficients 1–12 of 26 mel bands, 80 Hz–8 kHz); and, kept beside
  it for `timbre_distance` (not in `as_dict`), each voiced frame's cepstrum.
- `voice_distance`: how far apart two signatures are, each measure in units of how much it moves
  between lines of one voice (SCALES, measured on the local cast), combined as a root mean square
  (pitch counted twice: it is what a listener hears first). Distance, not a probability.
- `timbre_distance`: how far a line's voice colour is from the approved sample's, whatever its
  pitch (issue 56: another voice at the approved voice's pitch passed on averages alone). Each
  voiced frame of the line is matched to its nearest frame of the approved sample (mel cepstrum);
  the mean of the closest TIMBRE_BEST share of those distances, in units of how close the approved
  sample's own frames come to each other (each frame's nearest frame at least TIMBRE_APART away in
  time). The same voice says some of the same sounds in any line, and those frames land on the
  approved sample's; another vocal tract's never do. The averages of `voice_distance` move with
  the words; the best matches move far less.
- `pace` and `expected_seconds`: a voice's pace in characters (letters and digits) per second of
  speech, read from its approved sample, and what a text should take at that pace.
- `heard_syllables` and `text_syllables`: how many syllables a take holds (peaks of its 300 Hz–
  3 kHz loudness) and how many its text has (vowel groups of its words): how much of the text was
  said, whatever the pace.
- `judge_line`: the verdict, with reasons naming what was measured: `silent` (less speech than
  MIN_SPEECH_SHARE of the expected), `cut` (speech ends before CUT_SHARE of the expected length
  *and* either before CUT_SURE of it or with fewer syllables heard than CUT_HEARD of the text's: a
  line said fast holds all its syllables in less time, a cut one loses them), `wrong_speaker`
  (distance beyond WRONG_SPEAKER, or timbre beyond WRONG_TIMBRE).

It must never decide a line is right because its pitch is: pitch is one measure of several, and the
timbre check holds on its own.
"""
from __future__ import annotations

import re
import wave
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
from scipy.fft import dct

def read_pcm16(path: "Path | str | BinaryIO") -> tuple[np.ndarray, int]:
    """A 16-bit mono WAV's samples (int16) and rate; ValueError naming the file otherwise."""
    with wave.open(str(path) if isinstance(path, (str, Path)) else path, "rb") as src:
        if src.getsampwidth() != 2 or src.getnchannels() != 1:
            raise ValueError(f"{path}: a spoken line must be 16-bit mono PCM (it has {src.getnchannels()} "
                             f"channel(s) of {8 * src.getsampwidth()} bits)")
        return np.frombuffer(src.readframes(src.getnframes()), dtype="<i2").astype(np.int16), src.getframerate()


# voice activity
SPAN_FRAME = 0.02        # s
SPAN_HOP = 0.01          # s
SPAN_REL_DB = 35.0       # a frame is speech within this many dB of the loudest frame...
SPAN_FLOOR_DBFS = -50.0  # ...and above this absolute floor (full scale = int16's 32768)
SPAN_GAP = 0.25          # s: pauses shorter than this are inside a span
SPAN_MIN = 0.05          # s: clicks shorter than this are not speech

# signature
SIG_FRAME = 0.04
SIG_HOP = 0.01
F0_MIN, F0_MAX = 60.0, 600.0
VOICED_CORR = 0.5        # normalised autocorrelation peak of a voiced frame
N_MELS, N_CEPS = 26, 12
MEL_LO, MEL_HI = 80.0, 8000.0

# How much each measure moves between different lines of one voice (a standard deviation over
# the local cast's lines; benchmarks/voices.py --calibrate prints them): a distance of 1 in a
# measure is one such step.
SCALES = {"f0_st": 0.6, "spread_st": 0.5, "centroid_oct": 0.12, "tilt": 0.5, "ceps": 2.4}

# timbre (issue 56): the best-matching share of a line's frames, and how far apart in time (s) the
# approved sample's frames must be to count as each other's match when it measures its own spread
TIMBRE_BEST = 0.3
TIMBRE_APART = 0.03
# syllables heard: loudness peaks at least this prominent (dB), this far apart (s)
NUCLEUS_PROMINENCE = 2.0
NUCLEUS_APART = 0.08

# verdict cuts (benchmarks/voices.py measures them; RESULTS.md 2026-11-26 and 2026-11-28)
WRONG_SPEAKER = 3.2      # voice_distance beyond this: another speaker
# timbre_distance beyond this: another speaker. From `benchmarks.voices --calibrate --first 1000`
# (cases 1000-1119 of each kind, 2026-11-28): the right voice's lines at 0.74 at most (clean,
# 1.3x and 0.8x pace; p95 0.63), another voice at the same pitch at 0.86 at least (p5 0.94), a
# wrong voice of the cast at 0.90 at least: the cut lies between.
WRONG_TIMBRE = 0.8
# ...read only on a line with at least this much voiced speech: the example film's own short lines
# in the right voice read far higher (jenny, female_high: "Be right with you." 0.84 from 0.71 s
# voiced, "No." 0.91 from 0.35 s, "Sure." 1.55 from 0.25 s; 2026-11-28), and the demo's 1F
# escalated on it. Every right-voice line of 0.75 s or more read 0.69 at most. A shorter line is
# held to voice_distance alone (a wrong voice of the cast reads 2.0 and more on it).
TIMBRE_MIN_VOICED = 0.75
MIN_SPEECH_SHARE = 0.15  # speech seconds under this share of the expected: silent
CUT_SHARE = 0.7          # speech ending before this share of the expected length: cut, if also...
# ...it ends before this share: from the same cases, a cut line ends by 0.56 of its expected
# length, a line said at 1.3x pace at 0.61 at the earliest...
CUT_SURE = 0.58
# ...or holds fewer syllables than this share of its text's: a cut line's heard share is under
# 0.73 (p95; max 0.86), a 1.3x line's that ends before CUT_SHARE at least 0.91 (p5; min 0.73).
CUT_HEARD = 0.8


def _mono_float(samples: np.ndarray) -> np.ndarray:
    x = np.asarray(samples)
    if x.ndim != 1:
        raise ValueError(f"samples must be mono (one dimension), not shape {x.shape}")
    if np.issubdtype(x.dtype, np.integer):
        return x.astype(np.float64) / 32768.0
    return x.astype(np.float64)


def _frames(x: np.ndarray, rate: int, frame_s: float, hop_s: float) -> np.ndarray:
    n, hop = int(round(frame_s * rate)), int(round(hop_s * rate))
    if len(x) < n:
        return np.zeros((0, n))
    count = 1 + (len(x) - n) // hop
    idx = np.arange(n)[None, :] + hop * np.arange(count)[:, None]
    return x[idx]


def _dbfs(frames: np.ndarray) -> np.ndarray:
    rms = np.sqrt(np.mean(frames ** 2, axis=1)) if len(frames) else np.zeros(0)
    return 20 * np.log10(np.maximum(rms, 1e-9))


@dataclass(frozen=True)
class Span:
    start: float
    end: float

    @property
    def seconds(self) -> float:
        return self.end - self.start


def speech_spans(samples: np.ndarray, rate: int, *, rel_db: float = SPAN_REL_DB,
                 floor_dbfs: float = SPAN_FLOOR_DBFS) -> list[Span]:
    """Where there is speech, by energy (module docstring)."""
    x = _mono_float(samples)
    db = _dbfs(_frames(x, rate, SPAN_FRAME, SPAN_HOP))
    if not len(db):
        return []
    active = (db >= db.max() - rel_db) & (db >= floor_dbfs)
    spans: list[Span] = []
    i = 0
    while i < len(active):
        if not active[i]:
            i += 1
            continue
        j = i
        while j < len(active) and active[j]:
            j += 1
        start, end = i * SPAN_HOP, (j - 1) * SPAN_HOP + SPAN_FRAME
        if spans and start - spans[-1].end < SPAN_GAP:
            spans[-1] = Span(spans[-1].start, end)
        else:
            spans.append(Span(start, end))
        i = j
    return [s for s in spans if s.seconds >= SPAN_MIN]


def _mel_bank(rate: int, n_fft: int) -> np.ndarray:
    def mel(f: np.ndarray | float) -> np.ndarray:
        return 2595.0 * np.log10(1 + np.asarray(f) / 700.0)

    hi = min(MEL_HI, rate / 2)
    edges_mel = np.linspace(mel(MEL_LO), mel(hi), N_MELS + 2)
    edges = 700.0 * (10 ** (edges_mel / 2595.0) - 1)
    freqs = np.fft.rfftfreq(n_fft, 1 / rate)
    bank = np.zeros((N_MELS, len(freqs)))
    for m in range(N_MELS):
        lo, mid, top = edges[m], edges[m + 1], edges[m + 2]
        rising = (freqs - lo) / (mid - lo)
        falling = (top - freqs) / (top - mid)
        bank[m] = np.clip(np.minimum(rising, falling), 0, None)
    return bank


@dataclass(frozen=True)
class Signature:
    """A speaker signature (module docstring). `voiced_seconds` is how much speech it was read from."""

    f0: float
    spread_st: float
    centroid: float
    tilt: float
    ceps: tuple[float, ...] = field(repr=False)
    voiced_seconds: float = 0.0
    # each voiced frame's mel cepstrum (frames × N_CEPS), for timbre_distance; None when not kept
    frames: np.ndarray | None = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict[str, object]:
        """The summary measures (what a record keeps): not the frames."""
        return {k: v for k, v in asdict(self).items() if k != "frames"}


def signature(samples: np.ndarray, rate: int) -> Signature | None:
    """The speaker signature of a take, or None when it has no voiced frame to read it from."""
    x = _mono_float(samples)
    frames = _frames(x, rate, SIG_FRAME, SIG_HOP)
    if not len(frames):
        return None
    db = _dbfs(frames)
    loud = (db >= db.max() - 30.0) & (db >= SPAN_FLOOR_DBFS)
    frames = frames[loud]
    if not len(frames):
        return None
    n = frames.shape[1]
    centred = frames - frames.mean(axis=1, keepdims=True)
    # pitch: normalised autocorrelation by FFT, peak within F0_MIN..F0_MAX
    spec = np.fft.rfft(centred, 2 * n, axis=1)
    ac = np.fft.irfft(np.abs(spec) ** 2, axis=1)[:, :n]
    ac = ac / np.maximum(ac[:, :1], 1e-12)
    lo, hi = int(rate / F0_MAX), min(int(rate / F0_MIN), n - 1)
    lag = lo + np.argmax(ac[:, lo:hi], axis=1)
    peak = ac[np.arange(len(ac)), lag]
    voiced = peak >= VOICED_CORR
    if not voiced.any():
        return None
    # parabolic refinement of the lag
    a, b, c = ac[np.arange(len(ac)), lag - 1], peak, ac[np.arange(len(ac)), np.minimum(lag + 1, n - 1)]
    denom = a - 2 * b + c
    shift = np.where(np.abs(denom) > 1e-12, 0.5 * (a - c) / np.where(denom == 0, 1, denom), 0.0)
    f0s = rate / (lag + np.clip(shift, -0.5, 0.5))
    f0s = f0s[voiced]
    st = 12 * np.log2(f0s)
    q1, q3 = np.percentile(st, [25, 75])
    # spectra of the voiced frames
    vf = centred[voiced] * np.hanning(n)[None, :]
    n_fft = 1 << int(np.ceil(np.log2(n)))
    power = np.abs(np.fft.rfft(vf, n_fft, axis=1)) ** 2 + 1e-12
    freqs = np.fft.rfftfreq(n_fft, 1 / rate)
    mean_power = power.mean(axis=0)
    centroid = float((freqs * mean_power).sum() / mean_power.sum())
    band = (freqs >= 100) & (freqs <= min(5000, rate / 2))
    tilt = float(np.polyfit(np.log2(freqs[band]), 10 * np.log10(mean_power[band]), 1)[0])
    mel_energy = np.log(power @ _mel_bank(rate, n_fft).T + 1e-10)
    frame_ceps = dct(mel_energy, type=2, norm="ortho", axis=1)[:, 1:N_CEPS + 1]
    ceps = frame_ceps.mean(axis=0)
    return Signature(float(np.median(f0s)), float((q3 - q1)), centroid, tilt,
                     tuple(float(c) for c in ceps), voiced_seconds=float(voiced.sum() * SIG_HOP),
                     frames=frame_ceps.astype(np.float32))


def distance_parts(a: Signature, b: Signature) -> dict[str, float]:
    """Each measure's difference between two signatures, in SCALES steps."""
    return {
        "f0_st": abs(12 * np.log2(a.f0 / b.f0)) / SCALES["f0_st"],
        "spread_st": abs(a.spread_st - b.spread_st) / SCALES["spread_st"],
        "centroid_oct": abs(np.log2(a.centroid / b.centroid)) / SCALES["centroid_oct"],
        "tilt": abs(a.tilt - b.tilt) / SCALES["tilt"],
        "ceps": float(np.linalg.norm(np.subtract(a.ceps, b.ceps))) / SCALES["ceps"],
    }


def voice_distance(a: Signature, b: Signature) -> float:
    """How far apart two speakers sound (module docstring): 0 for the same signature."""
    p = distance_parts(a, b)
    weights = {"f0_st": 2.0, "spread_st": 1.0, "centroid_oct": 1.0, "tilt": 1.0, "ceps": 1.0}
    return float(np.sqrt(sum(weights[k] * p[k] ** 2 for k in p) / sum(weights.values())))


def _nearest(a: np.ndarray, b: np.ndarray, chunk: int = 512) -> np.ndarray:
    """For each row of `a`, its Euclidean distance to the nearest row of `b`."""
    out = np.empty(len(a))
    bb = (b.astype(np.float64) ** 2).sum(axis=1)
    for i in range(0, len(a), chunk):
        x = a[i:i + chunk].astype(np.float64)
        d2 = (x ** 2).sum(axis=1)[:, None] + bb[None, :] - 2 * x @ b.astype(np.float64).T
        out[i:i + chunk] = np.sqrt(np.maximum(d2.min(axis=1), 0.0))
    return out


def own_spread(sig: Signature) -> float:
    """How close a sample's voiced frames come to each other: the mean distance of each frame to
    its nearest frame at least TIMBRE_APART away in time (the unit of timbre_distance)."""
    if sig.frames is None or len(sig.frames) < 2:
        raise ValueError("the signature keeps no frames to measure a timbre against")
    f = sig.frames.astype(np.float64)
    d2 = (f ** 2).sum(axis=1)[:, None] + (f ** 2).sum(axis=1)[None, :] - 2 * f @ f.T
    idx = np.arange(len(f))
    d2[np.abs(idx[:, None] - idx[None, :]) <= int(round(TIMBRE_APART / SIG_HOP))] = np.inf
    nearest = np.sqrt(np.maximum(d2.min(axis=1), 0.0))
    nearest = nearest[np.isfinite(nearest)]
    return float(nearest.mean()) if len(nearest) else 1.0


def timbre_distance(line: Signature, approved: Signature) -> float:
    """How far a line's voice colour is from the approved sample's (module docstring): 0 when its
    best-matching frames are the approved sample's own, about 0.5 for another line of the same
    voice, beyond WRONG_TIMBRE for another voice even at the same pitch."""
    if line.frames is None or approved.frames is None or not len(line.frames):
        raise ValueError("timbre_distance needs signatures that keep their frames (media.voiceprint.signature)")
    d = np.sort(_nearest(line.frames, approved.frames))
    best = d[:max(1, int(len(d) * TIMBRE_BEST))].mean()
    return float(best / max(own_spread(approved), 1e-9))


_SPOKEN = re.compile(r"\w", re.UNICODE)
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_VOWELS = re.compile(r"[aeiouyàáâãäåæèéêëìíîïòóôõöøùúûüýœ]+")


def spoken_chars(text: str) -> int:
    """Letters and digits of a text: what its length is counted in."""
    return len(_SPOKEN.findall(text))


def pace(text: str, samples: np.ndarray, rate: int) -> float:
    """A voice's pace: characters (spoken_chars) per second of speech, from the first span's start
    to the last span's end of a take of `text`."""
    spans = speech_spans(samples, rate)
    if not spans:
        raise ValueError("the sample has no speech to read a pace from")
    return spoken_chars(text) / max(spans[-1].end - spans[0].start, 1e-3)


def expected_seconds(text: str, chars_per_second: float) -> float:
    return spoken_chars(text) / chars_per_second


def text_syllables(text: str) -> int:
    """About how many syllables a text has: the vowel groups of each word (a final silent e not
    counted), at least one a word. A count for comparing with `heard_syllables`, not a dictionary's."""
    count = 0
    for word in _WORD.findall(text.lower()):
        groups = len(_VOWELS.findall(word))
        if groups > 1 and word.endswith("e") and not word.endswith(("le", "ee")):
            groups -= 1
        count += max(groups, 1)
    return count


def heard_syllables(samples: np.ndarray, rate: int) -> int:
    """About how many syllables a take holds: peaks of its 300 Hz–3 kHz loudness (30 ms frames,
    smoothed over 50 ms) at least NUCLEUS_PROMINENCE dB above their surroundings, NUCLEUS_APART
    apart, within 30 dB of the loudest."""
    from scipy.signal import butter, find_peaks, sosfiltfilt
    x = _mono_float(samples)
    if len(x) < int(0.1 * rate) or rate <= 6000:
        return 0
    band = sosfiltfilt(butter(4, [300, 3000], btype="band", fs=rate, output="sos"), x)
    db = _dbfs(_frames(band, rate, 0.03, SPAN_HOP))
    if not len(db):
        return 0
    kernel = np.hanning(5)
    db = np.convolve(db, kernel / kernel.sum(), mode="same")
    peaks, _ = find_peaks(db, prominence=NUCLEUS_PROMINENCE, distance=int(round(NUCLEUS_APART / SPAN_HOP)),
                          height=max(db.max() - 30.0, SPAN_FLOOR_DBFS))
    return int(len(peaks))


@dataclass(frozen=True)
class VoiceVerdict:
    """Whether a line passes, why not (`reasons`, each naming what was measured), and the measures."""

    passed: bool
    reasons: tuple[str, ...]
    measures: dict[str, float]
    kinds: tuple[str, ...] = ()   # "silent", "cut", "wrong_speaker"


def judge_line(samples: np.ndarray, rate: int, *, text: str, approved: Signature, chars_per_second: float,
               wrong_speaker: float = WRONG_SPEAKER, min_speech_share: float = MIN_SPEECH_SHARE,
               cut_share: float = CUT_SHARE, wrong_timbre: float = WRONG_TIMBRE, cut_sure: float = CUT_SURE,
               cut_heard: float = CUT_HEARD) -> VoiceVerdict:
    """A spoken line of `text` against its voice's approved signature and pace."""
    expected = expected_seconds(text, chars_per_second)
    spans = speech_spans(samples, rate)
    speech = sum(s.seconds for s in spans)
    duration = len(samples) / rate
    measures: dict[str, float] = {"expected_s": round(expected, 3), "duration_s": round(duration, 3),
                                  "speech_s": round(speech, 3)}
    reasons: list[str] = []
    kinds: list[str] = []
    if speech < min_speech_share * expected:
        kinds.append("silent")
        reasons.append(f"silent: {speech:.2f} s of speech where the text needs about {expected:.2f} s "
                       f"(under {min_speech_share:.0%})")
        return VoiceVerdict(False, tuple(reasons), measures, tuple(kinds))
    spoken = spans[-1].end - spans[0].start
    measures["spoken_s"] = round(spoken, 3)
    if spoken < cut_share * expected:
        syllables = text_syllables(text)
        heard = heard_syllables(samples, rate)
        measures["heard_share"] = round(heard / max(syllables, 1), 3)
        if spoken < cut_sure * expected or heard < cut_heard * syllables:
            kinds.append("cut")
            reasons.append(f"cut: speech stops after {spoken:.2f} s where the text needs about {expected:.2f} s "
                           f"at the voice's pace ({chars_per_second:.1f} chars/s; under {cut_share:.0%}), "
                           f"about {heard} of its {syllables} syllables heard")
    sig = signature(samples, rate)
    if sig is None:
        kinds.append("wrong_speaker")
        reasons.append("wrong speaker: no voiced frame to read a voice from")
    else:
        d = voice_distance(sig, approved)
        # an approved signature made without its frames (built by hand) is judged on the distance alone
        # (and a line too short to read a voice colour from, TIMBRE_MIN_VOICED, on the distance alone)
        t = timbre_distance(sig, approved) if approved.frames is not None else None
        if t is not None and sig.voiced_seconds < TIMBRE_MIN_VOICED:
            measures["timbre_unread"] = round(t, 3)
            t = None
        measures.update({"distance": round(d, 3), "f0_hz": round(sig.f0, 1), "approved_f0_hz": round(approved.f0, 1),
                         "centroid_hz": round(sig.centroid, 0), "approved_centroid_hz": round(approved.centroid, 0)})
        if t is not None:
            measures["timbre"] = round(t, 3)
        timbre_said = "" if t is None else f", timbre {t:.2f}"
        if d > wrong_speaker:
            parts = distance_parts(sig, approved)
            worst = max(parts, key=lambda k: parts[k])
            kinds.append("wrong_speaker")
            reasons.append(f"wrong speaker: voice distance {d:.2f} from the approved sample (over {wrong_speaker}); "
                           f"pitch {sig.f0:.0f} Hz against {approved.f0:.0f} Hz, centroid {sig.centroid:.0f} Hz "
                           f"against {approved.centroid:.0f} Hz; most apart: {worst}{timbre_said}")
        elif t is not None and t > wrong_timbre:
            kinds.append("wrong_speaker")
            reasons.append(f"wrong speaker: timbre {t:.2f} from the approved sample (over {wrong_timbre}: its "
                           f"closest sounds are not the approved voice's) at pitch {sig.f0:.0f} Hz against "
                           f"{approved.f0:.0f} Hz, voice distance {d:.2f}")
    return VoiceVerdict(not kinds, tuple(reasons), measures, tuple(kinds))
