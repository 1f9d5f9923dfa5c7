"""The voice gate on a corpus of spoken lines: caught and false alarms by kind (issue 37).

Every line is spoken by the local provider (providers/local_speech.py: eSpeak NG, offline) in one
voice of the local cast and judged by media/voiceprint.py's `judge_line` against that voice's
approved sample (APPROVED_LINE spoken by it: its signature and its pace). Kinds: `clean` (the
line as it should be), and the local provider's speech faults: `wrong_voice` (the line spoken in
another voice of the cast), `silent_line` (near-silence of the line's length), `cut_line` (stopped
at 25–55% of its length, the file ending there or padded with silence). A fault is caught when the
line fails; `named` counts the failures whose reasons name the fault's own measure (wrong
speaker, silent, cut).

Case i of a kind draws its voice and its text (one of LINES, or two joined) from its own
`random.Random(f"{kind}:{i}")`, so a sample (benchmarks/gate_bar.Sample: the unit test's) is a
subset of the full corpus. The bar (gate_bar.CAUGHT, FALSE_ALARMS): each fault kind at least 95%
caught, clean at most 5% failed.

    python -m benchmarks.voices [--n 120] [--calibrate]

`--calibrate` prints what voiceprint's cuts are set from: each measure's spread between lines of
one voice, the distance of clean lines and of wrong-voice lines to the approved sample, and the
spoken length of clean lines against the length their text predicts.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from benchmarks.gate_bar import CAUGHT, FALSE_ALARMS, Sample, as_sample
from slate.media.voiceprint import (Signature, VoiceVerdict, distance_parts, judge_line, pace, signature,
                                    speech_spans, voice_distance)
from slate.providers.local_speech import (LOCAL_VOICES, SPEECH_FAULT_KINDS, LocalVoice, Speech, faulty_line,
                                          speak)

KINDS = ("clean",) + SPEECH_FAULT_KINDS
# which of the verdict's kinds names each fault
NAMES = {"wrong_voice": "wrong_speaker", "silent_line": "silent", "cut_line": "cut"}
CAST = tuple(LOCAL_VOICES)
APPROVED_LINE = "My name is on the call sheet, and this is how I sound when I read my lines."

LINES = (
    "The kettle is boiling, can you get it?",
    "We leave at dawn, whatever the weather says.",
    "I told you the keys were in the blue coat.",
    "Nobody saw the car leave the garage last night.",
    "Put the baby down gently, she has only just fallen asleep.",
    "Is that your bicycle leaning on the fence?",
    "Dinner will be ready in ten minutes.",
    "Turn the lights off when you go upstairs.",
    "The river was higher this morning than I have ever seen it.",
    "Why did you not call me back?",
    "Mum said we could stay up until the film ends.",
    "Hold the ladder steady while I reach the window.",
    "There are seven boxes left in the van.",
    "I think the storm will pass before midnight.",
    "Please read the second letter out loud.",
    "He was standing by the door the whole time.",
    "Can we go to the beach on Saturday?",
    "The train to the city is running twenty minutes late.",
    "Give me the torch and wait here.",
    "She painted the kitchen yellow last summer.",
    "I found your glasses under the sofa cushions.",
    "Grandad always whistles when he is nervous.",
    "The shop on the corner closes at six.",
    "Stop running in the hallway, both of you.",
    "We should plant the tomatoes before it gets warm.",
    "The dog has been barking at the gate since lunch.",
    "Did anyone remember to buy milk?",
    "Listen, the music is coming from the house next door.",
)


@dataclass(frozen=True)
class Case:
    kind: str
    i: int
    voice: str
    text: str


def case_of(kind: str, i: int) -> Case:
    """Case i of a kind: its voice and text from its own random stream."""
    rng = random.Random(f"{kind}:{i}")
    voice = CAST[rng.randrange(len(CAST))]
    text = rng.choice(LINES)
    if rng.random() < 0.3:
        text = f"{text} {rng.choice([line for line in LINES if line != text])}"
    return Case(kind, i, voice, text)


@lru_cache(maxsize=None)
def approved(voice: str) -> tuple[Signature, float]:
    """A voice's approved sample, as the gate holds it: its signature and its pace (chars/s)."""
    sample = speak(APPROVED_LINE, LOCAL_VOICES[voice])
    sig = signature(sample.samples, sample.rate)
    assert sig is not None, f"the approved sample of {voice} has no voiced frame"
    return sig, pace(APPROVED_LINE, sample.samples, sample.rate)


def spoken(case: Case) -> Speech:
    voice: LocalVoice = LOCAL_VOICES[case.voice]
    if case.kind == "clean":
        return speak(case.text, voice)
    return faulty_line(case.kind, case.text, voice, cast=tuple(LOCAL_VOICES.values()), seed=case.i)


def judge(case: Case) -> VoiceVerdict:
    sig, chars_per_second = approved(case.voice)
    line = spoken(case)
    return judge_line(line.samples, line.rate, text=case.text, approved=sig, chars_per_second=chars_per_second)


@dataclass
class Row:
    total: int = 0
    failed: int = 0
    named: int = 0


def run(n: int | Sample = 120) -> dict[str, tuple[Row, list[tuple[Case, VoiceVerdict]]]]:
    """Every kind's tally over the corpus (or a Sample of it), with the cases the gate got wrong."""
    sample = as_sample(n)
    out: dict[str, tuple[Row, list[tuple[Case, VoiceVerdict]]]] = {}
    for kind in KINDS:
        row, wrong = Row(), []
        for i in sample.indices(kind):
            case = case_of(kind, i)
            verdict = judge(case)
            row.total += 1
            row.failed += not verdict.passed
            row.named += kind in NAMES and NAMES[kind] in verdict.kinds
            if verdict.passed == (kind != "clean"):
                wrong.append((case, verdict))
        out[kind] = (row, wrong)
    return out


def meets_bar(kind: str, row: Row) -> bool:
    if kind == "clean":
        return row.failed <= FALSE_ALARMS * row.total
    return row.failed >= CAUGHT * row.total


def table(results: dict[str, tuple[Row, list[tuple[Case, VoiceVerdict]]]]) -> str:
    lines = ["| kind | lines | caught | false alarms | named by its own measure | bar |",
             "|---|---|---|---|---|---|"]
    for kind, (row, _) in results.items():
        if kind == "clean":
            lines.append(f"| clean | {row.total} | – | {row.failed} ({row.failed / row.total:.1%}) | – | "
                         f"≤ {FALSE_ALARMS:.0%}: {'met' if meets_bar(kind, row) else 'MISSED'} |")
        else:
            lines.append(f"| {kind} | {row.total} | {row.failed} ({row.failed / row.total:.1%}) | – | "
                         f"{row.named} | ≥ {CAUGHT:.0%}: {'met' if meets_bar(kind, row) else 'MISSED'} |")
    return "\n".join(lines)


def calibrate(n: int) -> None:
    """What the cuts are set from (module docstring)."""
    by_voice: dict[str, list[Signature]] = {v: [] for v in CAST}
    clean_d, wrong_d, ratios = [], [], []
    for i in range(n):
        case = case_of("clean", i)
        line = spoken(case)
        sig = signature(line.samples, line.rate)
        assert sig is not None
        by_voice[case.voice].append(sig)
        ref, cps = approved(case.voice)
        clean_d.append(voice_distance(sig, ref))
        spans = speech_spans(line.samples, line.rate)
        ratios.append((spans[-1].end - spans[0].start) / (sum(c.isalnum() for c in case.text) / cps))
        wcase = case_of("wrong_voice", i)
        w = spoken(wcase)
        wsig = signature(w.samples, w.rate)
        assert wsig is not None
        wrong_d.append(voice_distance(wsig, approved(wcase.voice)[0]))
    print("within-voice spread of each measure (std over the voice's clean lines), by voice:")
    for v, sigs in by_voice.items():
        if len(sigs) < 2:
            continue
        f0 = np.std([12 * np.log2(s.f0) for s in sigs])
        spread = np.std([s.spread_st for s in sigs])
        cen = np.std([np.log2(s.centroid) for s in sigs])
        tilt = np.std([s.tilt for s in sigs])
        mean_c = np.mean([s.ceps for s in sigs], axis=0)
        ceps = np.sqrt(np.mean([np.sum((np.array(s.ceps) - mean_c) ** 2) for s in sigs]))
        print(f"  {v:12s} n={len(sigs):3d} f0 {np.median([s.f0 for s in sigs]):6.1f} Hz  f0_st {f0:.2f}  "
              f"spread_st {spread:.2f}  centroid_oct {cen:.3f}  tilt {tilt:.2f}  ceps {ceps:.2f}")
    print("pairwise distance of approved samples:")
    for a in CAST:
        print("  " + a.ljust(12) + " ".join(f"{voice_distance(approved(a)[0], approved(b)[0]):6.2f}" for b in CAST))
    for name, ds in (("clean", clean_d), ("wrong_voice", wrong_d)):
        q = np.percentile(ds, [0, 5, 50, 95, 100])
        print(f"distance {name:11s}: min {q[0]:.2f} p5 {q[1]:.2f} median {q[2]:.2f} p95 {q[3]:.2f} max {q[4]:.2f}")
    q = np.percentile(ratios, [0, 5, 50, 95, 100])
    print(f"clean spoken/expected length: min {q[0]:.2f} p5 {q[1]:.2f} median {q[2]:.2f} p95 {q[3]:.2f} max {q[4]:.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=120, help="lines per kind (default 120)")
    parser.add_argument("--calibrate", action="store_true", help="print what the gate's cuts are set from")
    args = parser.parse_args(argv)
    started = time.process_time()
    if args.calibrate:
        calibrate(args.n)
        return 0
    results = run(args.n)
    print(f"voice gate on {args.n} lines per kind, {len(CAST)} voices ({', '.join(CAST)})")
    print(table(results))
    for kind, (_, wrong) in results.items():
        for case, verdict in wrong[:5]:
            print(f"  {kind} #{case.i} ({case.voice}): {'passed' if verdict.passed else '; '.join(verdict.reasons)} "
                  f"{verdict.measures}")
    print(f"CPU {time.process_time() - started:.1f} s")
    return 0 if all(meets_bar(k, row) for k, (row, _) in results.items()) else 1


if __name__ == "__main__":
    sys.exit(main())
