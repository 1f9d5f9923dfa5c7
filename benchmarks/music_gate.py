"""The music gate (issue 59, media/music_gate.py) on a seeded corpus of cues with known answers.

Each case is a brief of its own — a tempo of 70-170 BPM, 6-30 seconds, one to three hit points
at least a second apart, minor or major — composed by the local composer (media/cue.py) at 48 or
44.1 kHz, mono or stereo, at a gain of ±3 dB, then, per kind:
- clean:     as composed;
- short:     its last 2 frames to 2 seconds cut off;
- long:      2 frames to 2 seconds more of it;
- silent:    silence (a dead feed: -90 dBFS of hiss);
- clipped:   raised 9-15 dB and clipped at full scale;
- off_tempo: composed 6-15% faster or slower than the brief (the hits where the brief has them);
- late_hit:  one hit a beat late (or early, where late would leave the cue).
"named": failed on the kind's own check (length, silence, clipping, tempo, hit).

Bar (benchmarks/gate_bar.py): each fault kind at least 95% caught, at most 5% of clean cues
failed. The test (tests/unit/test_music_gate.py) draws a seeded sample of the same cases.

    .venv/bin/python -m benchmarks.music_gate --n 100 [--seed 5] [--kinds clean,late_hit]

prints a row per kind and exits non-zero when the bar is broken. It must never call a model or
touch the network.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from benchmarks.gate_bar import Sample, bar_broken
from slate.media.cue import compose
from slate.media.music_gate import judge_cue

KINDS = ("clean", "short", "long", "silent", "clipped", "off_tempo", "late_hit")
NAMED_BY = {"short": "length", "long": "length", "silent": "silence", "clipped": "clipping", "off_tempo": "tempo",
            "late_hit": "hit"}
FPS = 24.0


@dataclass(frozen=True)
class Case:
    bpm: float
    seconds: float
    hits: tuple[float, ...]
    rate: int
    samples: np.ndarray = field(repr=False)


@dataclass
class Row:
    kind: str
    failed: int = 0
    total: int = 0
    named: int = 0
    seconds: float = 0.0
    examples: list[str] = field(default_factory=list)


def _hits(rng: np.random.Generator, seconds: float) -> tuple[float, ...]:
    hits: list[float] = []
    for _ in range(int(rng.integers(1, 4))):
        for _try in range(20):
            h = float(rng.uniform(1.0, seconds - 1.0))
            if all(abs(h - o) >= 1.0 for o in hits):
                hits.append(round(h, 3))
                break
    return tuple(sorted(hits))


def case(kind: str, i: int, seed: int) -> Case:
    """Case `i` of `kind`: the brief the gate is told, and the cue it is handed."""
    rng = np.random.default_rng([seed, KINDS.index(kind), i])
    bpm = float(rng.integers(70, 171))
    seconds = round(float(rng.uniform(6.0, 30.0)), 3)
    hits = _hits(rng, seconds)
    rate = (48_000, 44_100)[int(rng.integers(0, 2))]
    mode = ("minor", "major")[int(rng.integers(0, 2))]
    made_bpm, made_seconds, made_hits = bpm, seconds, list(hits)
    extra = float(rng.uniform(2 / FPS, 2.0))
    if kind == "off_tempo":
        made_bpm = bpm * (1 + float(rng.choice([-1, 1])) * float(rng.uniform(0.06, 0.15)))
    elif kind == "long":
        made_seconds = seconds + extra
    elif kind == "late_hit":
        j = int(rng.integers(0, len(hits)))
        beat = 60.0 / bpm
        made_hits[j] = hits[j] + beat if hits[j] + beat < seconds - 0.3 else hits[j] - beat
    x = compose(made_bpm, made_seconds, made_hits, mode=mode, seed=seed * 1000 + i, rate=rate).astype(np.float64)
    x *= 10 ** (float(rng.uniform(-3.0, 3.0)) / 20)
    if kind == "short":
        x = x[:len(x) - int(round(extra * rate))]
    elif kind == "silent":
        x = rng.normal(0, 10 ** (-90 / 20), len(x))
    elif kind == "clipped":
        x = np.clip(x * 10 ** (float(rng.uniform(9.0, 15.0)) / 20), -1.0, 1.0)
    if rng.random() < 0.5:
        x = np.stack([x, x], axis=1)
    return Case(bpm, seconds, hits, rate, x.astype(np.float32))


def run(n: int, seed: int, kinds: tuple[str, ...] = KINDS, sample: int | None = None) -> dict[str, Row]:
    rows = {}
    for kind in kinds:
        row = rows[kind] = Row(kind)
        for i in Sample(n, sample).indices(kind):
            c = case(kind, i, seed)
            started = time.perf_counter()
            checks = judge_cue(c.samples, c.rate, seconds=c.seconds, bpm=c.bpm, hits=c.hits, fps=FPS)
            row.seconds += time.perf_counter() - started
            row.total += 1
            failed = [ch for ch in checks if not ch.passed]
            if failed:
                row.failed += 1
                row.named += any(ch.name == NAMED_BY.get(kind) for ch in failed)
            if bool(failed) == (kind == "clean") and len(row.examples) < 5:
                row.examples.append(f"case {i} ({c.bpm:g} BPM, {c.seconds:g} s, hits {list(c.hits)}): "
                                    + ("; ".join(f"{ch.name}: {ch.reason}" for ch in failed) or "passed"))
    return rows


def broken(rows: dict[str, Row]) -> list[str]:
    """What of the bar the rows break (empty: held)."""
    return bar_broken(rows, "cues")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100, help="cases per kind")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--kinds", default=",".join(KINDS))
    args = ap.parse_args(argv)
    rows = run(args.n, args.seed, tuple(k for k in args.kinds.split(",") if k))
    print(f"music gate, seed {args.seed}, N={args.n} per kind")
    print(f"{'kind':<12}{'failed':>10}{'share':>9}{'named':>8}{'ms/cue':>9}")
    for kind, row in rows.items():
        print(f"{kind:<12}{row.failed:>5}/{row.total:<4}{row.failed / max(1, row.total):>9.1%}"
              f"{row.named if kind != 'clean' else '':>8}{row.seconds / max(1, row.total) * 1000:>9.0f}")
    for kind, row in rows.items():
        for ex in row.examples[:3]:
            print(f"  {'false alarm' if kind == 'clean' else 'missed'} {kind}: {ex}")
    bad = broken(rows)
    print("bar:", "held" if not bad else "broken: " + "; ".join(bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
