"""Where a rendered film's cues made to a brief land their hits in the delivered mix (issue 59).

    .venv/bin/python -m benchmarks.music_hit FILM_DIR [--profile draft]

For each scene's timeline record (.slate/timelines/<scene>-<profile>.json) and each cue in it made
to a brief: the brief spotted on the cut the record holds (tasks/edit/spotting.py: where each hit should
fall), the cue found in the delivered cut's sound by cross-correlation (the mix's loudness pass
limits a hit's peak, so the cue is found by all of it), and each hit's onset read in the cue itself
(media/music_gate.onsets). Prints, per hit, where it should be and where it is heard, in seconds
and frames; exits non-zero when a hit is off by more than a frame.

It reads only what a run left; it never renders, calls a provider or writes.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np

from slate.manifests.assembly import MusicBrief
from slate.media.ffmpeg import ffmpeg_exe
from slate.media.music_gate import onsets
from slate.tasks.edit.spotting import places, spot

RATE = 48000


def _sound(path: Path) -> np.ndarray:
    raw = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-vn", "-ac", "1", "-ar", str(RATE),
                          "-f", "f32le", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, dtype="<f4").astype(np.float64)


def _cue(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as src:
        x = np.frombuffer(src.readframes(src.getnframes()), dtype="<i2").astype(np.float64) / 32768.0
        if src.getframerate() != RATE:
            return _sound(path)
    return x


def placed_at(mix: np.ndarray, cue: np.ndarray, near: float, reach: float = 0.5) -> float:
    """Where `cue` starts in `mix` (seconds), searched within `reach` of `near`, by cross-correlation."""
    n = 1 << int(np.ceil(np.log2(len(mix) + len(cue))))
    corr = np.fft.irfft(np.fft.rfft(mix, n) * np.conj(np.fft.rfft(cue, n)), n)
    lo, hi = int(round((near - reach) * RATE)), int(round((near + reach) * RATE))
    lags = np.array([corr[k % n] for k in range(lo, hi + 1)])
    return (lo + int(np.argmax(lags))) / RATE


def onset_near(x: np.ndarray, at: float, reach: float = 0.25) -> float:
    env, step = onsets(x, RATE)
    lo, hi = max(0, int((at - reach) / step)), int((at + reach) / step)
    return (lo + int(np.argmax(env[lo:hi]))) * step


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("film", type=Path)
    ap.add_argument("--profile", default="draft")
    args = ap.parse_args(argv)
    records = sorted((args.film / ".slate" / "timelines").glob(f"*-{args.profile}.json"))
    worst, seen = 0.0, 0
    for path in records:
        record = json.loads(path.read_text())
        fps = float(record["fps"])
        shots = [s for s in record["shots"] if s.get("media")]
        cut = places([(s["shot"], s["seconds"] - s.get("trim_in", 0.0) - s.get("trim_out", 0.0)) for s in shots],
                     [(str(s["transition"][0]), float(s["transition"][1])) for s in shots])
        made = [c for c in record["cues"] if "brief" in c]
        if not made:
            continue
        mix = _sound(Path(record["output"]))
        for c in made:
            brief = MusicBrief.model_validate(c["brief"])
            spotted = spot(brief, cut, fps)
            cue = _cue(Path(c["media"]))
            start = placed_at(mix, cue, float(c["start"]))
            print(f"{record['scene']} cue {brief.name}: placed at {start:.3f}s (asked {c['start']:.3f}s), "
                  f"{len(cue) / RATE:.3f}s long")
            for hit in spotted.hits:
                heard = start + onset_near(cue, hit)
                off = heard - (spotted.start + hit)
                worst, seen = max(worst, abs(off) * fps), seen + 1
                print(f"  hit at {spotted.start + hit:.3f}s: heard at {heard:.3f}s ({off * fps:+.2f} frames)")
    if not seen:
        print("no cue made to a brief with a hit in the records read", file=sys.stderr)
        return 1
    print(f"{seen} hit(s), the farthest {worst:.2f} frames off: {'held' if worst <= 1 else 'BROKEN'} (1 frame)")
    return 0 if worst <= 1 else 1


if __name__ == "__main__":
    raise SystemExit(main())
