"""The voice gate on a corpus of spoken lines: caught and false alarms by kind (issues 37, 56).

Every line is spoken by the local provider (providers/local_speech.py: eSpeak NG, offline) in one
voice of the local cast and judged by media/voiceprint.py's `judge_line` against that voice's
approved sample (APPROVED_LINE spoken by it: its signature and its pace). Kinds: `clean` (the
line as it should be), and the local provider's speech faults: `wrong_voice` (the line spoken in
another voice of the cast), `silent_line` (near-silence of the line's length), `cut_line` (stopped
at 25–55% of its length, the file ending there or padded with silence). Issue 56 adds the
kinds a gate is weak on:

- `same_pitch_voice` (a fault): the line spoken by another speaker at the approved voice's own
  pitch. Another eSpeak variant (IMPOSTORS) whose vocal tract differs from the approved voice's —
  eSpeak's own variant files set its formant frequencies, and at least one of F1–F3 (at a neutral
  vowel, factor and offset) lies TRACT_APART (8%) or more from the approved voice's: past the
  3–5% a listener can tell apart in a formant and about what lies between two adults' vocal
  tracts; the variants also differ in their voice source (breath, roughness, flutter) as their
  files set. Its eSpeak pitch is searched so that its median f0 on APPROVED_LINE lies within half
  a semitone of the approved voice's, and it takes the approved voice's pitch range and pace: only
  who is speaking differs. A variant the rule keeps out (eSpeak's f5 has f2's formants, klatt2–4
  the default voice's) is never drawn: those are one vocal tract with another source.
- `fast_pace` and `slow_pace` (clean kinds, held to FALSE_ALARMS like `clean`): the right voice
  speaking the line at 1.3× and 0.8× its pace (eSpeak's words a minute), judged against the
  approved sample at its own pace.

A fault is caught when the line fails; `named` counts the failures whose reasons name the fault's
own measure (wrong speaker, silent, cut).

Case i of a kind draws its voice and its text (one of LINES, or two joined) from its own
`random.Random(f"{kind}:{i}")`, so a sample (benchmarks/gate_bar.Sample: the unit test's) is a
subset of the full corpus. The bar (gate_bar.CAUGHT, FALSE_ALARMS): each fault kind at least 95%
caught, clean at most 5% failed.

    python -m benchmarks.voices [--n 120] [--first 0] [--calibrate]

`--first F` numbers the cases F..F+N-1 (each still its own stream): the cuts of 2026-11-28 were
tuned on cases 1000–1119 and are reported on 2000–2119 and on 0–119 (benchmarks/RESULTS.md).
`--calibrate` prints what voiceprint's cuts are set from: each measure's spread between lines of
one voice, the distance and the timbre of clean, paced, wrong-voice and same-pitch lines to the
approved sample, the spoken length of clean and paced lines against the length their text
predicts, and the share of their syllables heard beside a cut line's.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from benchmarks.gate_bar import CAUGHT, FALSE_ALARMS, Sample, as_sample
from slate.media.voiceprint import (Signature, VoiceVerdict, distance_parts, expected_seconds, heard_syllables,
                                    judge_line, pace, signature, speech_spans, text_syllables, timbre_distance,
                                    voice_distance)
from slate.providers.local_speech import (LOCAL_VOICES, SPEECH_FAULT_KINDS, LocalVoice, Speech,
                                          faulty_line, speak)

#: kinds the gate must pass (each held to FALSE_ALARMS) and the pace each speaks at
PACED = {"fast_pace": 1.3, "slow_pace": 0.8}
MUST_PASS = ("clean",) + tuple(PACED)
KINDS = MUST_PASS + SPEECH_FAULT_KINDS + ("same_pitch_voice",)
# which of the verdict's kinds names each fault
NAMES = {"wrong_voice": "wrong_speaker", "silent_line": "silent", "cut_line": "cut",
         "same_pitch_voice": "wrong_speaker"}
CAST = tuple(LOCAL_VOICES)
#: eSpeak variants a same-pitch voice is drawn from ("" is the language's own voice): the ordinary
#: human ones of the wheel's voices/!v (not the robots, whisperers or effects)
IMPOSTORS = ("", "f1", "f2", "f3", "f4", "f5", "linda", "steph", "anika", "aunty", "m1", "m2", "m3", "m4", "m5",
             "m6", "m7", "edward", "grandpa", "klatt", "klatt2", "klatt3", "klatt4")
#: another vocal tract: at least one of F1–F3 this far (as a ratio) from the approved voice's
TRACT_APART = 1.08
#: F1–F3 of a neutral vowel (Hz): what a variant's formant factor and offset are applied to
NEUTRAL_FORMANTS = (500.0, 1500.0, 2500.0)
#: a same-pitch voice's median f0 lies within this many semitones of the approved voice's
PITCH_MATCH_ST = 0.5
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
def tract(variant: str) -> tuple[float, float, float]:
    """F1–F3 (Hz) of a neutral vowel as an eSpeak variant's file sets them (factor % and offset Hz
    of `formant k freq height width [offset]`; a formant it does not set is at 100%)."""
    import espeakng_loader
    factors = {k: (100.0, 0.0) for k in (1, 2, 3)}
    if variant:
        for raw in (Path(espeakng_loader.get_data_path()) / "voices" / "!v" / variant).read_text(
                errors="replace").splitlines():
            words = raw.split("//")[0].split()
            if len(words) >= 3 and words[0] == "formant" and words[1] in ("1", "2", "3"):
                factors[int(words[1])] = (float(words[2]), float(words[5]) if len(words) > 5 else 0.0)
    return tuple(NEUTRAL_FORMANTS[k - 1] * factors[k][0] / 100.0 + factors[k][1] for k in (1, 2, 3))


def variant_of(voice: LocalVoice) -> tuple[str, str]:
    language, _, variant = voice.name.partition("+")
    return language, variant


def other_tract(a: str, b: str) -> bool:
    """Whether two variants' vocal tracts differ (module docstring: TRACT_APART in F1, F2 or F3)."""
    return max(abs(np.log(x / y)) for x, y in zip(tract(a), tract(b))) >= np.log(TRACT_APART)


@lru_cache(maxsize=None)
def _f0(voice: LocalVoice) -> float:
    line = speak(APPROVED_LINE, voice)
    sig = signature(line.samples, line.rate)
    return sig.f0 if sig is not None else float("nan")


@lru_cache(maxsize=None)
def pitch_matched(voice: str, variant: str) -> LocalVoice | None:
    """`variant` speaking in the language of the cast's `voice`, at its pitch range and pace, its
    eSpeak pitch searched (secant steps, then the nearer end) until its median f0 on APPROVED_LINE
    lies within PITCH_MATCH_ST of the voice's; None when no pitch 0–100 gets there."""
    own = LOCAL_VOICES[voice]
    language, _ = variant_of(own)
    name = language + (f"+{variant}" if variant else "")
    goal = 12 * np.log2(_f0(own))

    def at(p: int) -> tuple[int, float]:
        return p, 12 * np.log2(_f0(LocalVoice(name, pitch=p, range=own.range, rate=own.rate)))

    lo, hi = at(0), at(100)
    if not lo[1] - PITCH_MATCH_ST <= goal <= hi[1] + PITCH_MATCH_ST:
        return None
    for _ in range(8):
        best = min(lo, hi, key=lambda x: abs(x[1] - goal))
        if abs(best[1] - goal) <= PITCH_MATCH_ST / 2 or hi[0] - lo[0] <= 1:
            break
        guess = lo[0] + (goal - lo[1]) / max(hi[1] - lo[1], 1e-6) * (hi[0] - lo[0])
        mid = at(int(min(max(round(guess), lo[0] + 1), hi[0] - 1)))
        lo, hi = (mid, hi) if mid[1] < goal else (lo, mid)
    best = min(lo, hi, key=lambda x: abs(x[1] - goal))
    if abs(best[1] - goal) > PITCH_MATCH_ST:
        return None
    return LocalVoice(name, pitch=best[0], range=own.range, rate=own.rate)


def impostor(case: Case) -> LocalVoice:
    """Who speaks a `same_pitch_voice` case: the first of IMPOSTORS, in its own seeded order, with
    another vocal tract than the case's voice that can be pitched to it."""
    own = variant_of(LOCAL_VOICES[case.voice])[1]
    order = [v for v in IMPOSTORS if v != own and other_tract(v, own)]
    random.Random(f"same_pitch_voice:impostor:{case.i}").shuffle(order)
    for variant in order:
        matched = pitch_matched(case.voice, variant)
        if matched is not None:
            return matched
    raise RuntimeError(f"no eSpeak variant can speak at {case.voice}'s pitch")


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
    if case.kind in PACED:
        return speak(case.text, LocalVoice(voice.name, voice.pitch, voice.range, round(voice.rate * PACED[case.kind])))
    if case.kind == "same_pitch_voice":
        return speak(case.text, impostor(case))
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


def run(n: int | Sample = 120, first: int = 0,
        kinds: tuple[str, ...] = KINDS) -> dict[str, tuple[Row, list[tuple[Case, VoiceVerdict]]]]:
    """Every kind's tally over the corpus (or a Sample of it; its cases numbered from `first`), with
    the cases the gate got wrong."""
    sample = as_sample(n)
    out: dict[str, tuple[Row, list[tuple[Case, VoiceVerdict]]]] = {}
    for kind in kinds:
        row, wrong = Row(), []
        for i in sample.indices(kind):
            case = case_of(kind, first + i)
            verdict = judge(case)
            row.total += 1
            row.failed += not verdict.passed
            row.named += kind in NAMES and NAMES[kind] in verdict.kinds
            if verdict.passed == (kind not in MUST_PASS):
                wrong.append((case, verdict))
        out[kind] = (row, wrong)
    return out


def meets_bar(kind: str, row: Row) -> bool:
    if kind in MUST_PASS:
        return row.failed <= FALSE_ALARMS * row.total
    return row.failed >= CAUGHT * row.total


def table(results: dict[str, tuple[Row, list[tuple[Case, VoiceVerdict]]]]) -> str:
    lines = ["| kind | lines | caught | false alarms | named by its own measure | bar |",
             "|---|---|---|---|---|---|"]
    for kind, (row, _) in results.items():
        if kind in MUST_PASS:
            lines.append(f"| {kind} | {row.total} | – | {row.failed} ({row.failed / row.total:.1%}) | – | "
                         f"≤ {FALSE_ALARMS:.0%}: {'met' if meets_bar(kind, row) else 'MISSED'} |")
        else:
            lines.append(f"| {kind} | {row.total} | {row.failed} ({row.failed / row.total:.1%}) | – | "
                         f"{row.named} | ≥ {CAUGHT:.0%}: {'met' if meets_bar(kind, row) else 'MISSED'} |")
    return "\n".join(lines)


def _q(values: list[float]) -> str:
    q = np.percentile(values, [0, 5, 50, 95, 100])
    return f"min {q[0]:.2f} p5 {q[1]:.2f} median {q[2]:.2f} p95 {q[3]:.2f} max {q[4]:.2f} (n={len(values)})"


def calibrate(n: int, first: int = 0) -> None:
    """What the cuts are set from (module docstring), over cases first..first+n-1."""
    from slate.media.voiceprint import CUT_SHARE
    by_voice: dict[str, list[Signature]] = {v: [] for v in CAST}
    dist: dict[str, list[float]] = {}
    timbre: dict[str, list[tuple[float, str]]] = {}
    length: dict[str, list[float]] = {}
    heard: dict[str, list[tuple[float, float]]] = {}
    for i in range(first, first + n):
        for kind in MUST_PASS + ("wrong_voice", "same_pitch_voice", "cut_line"):
            case = case_of(kind, i)
            line = spoken(case)
            ref, cps = approved(case.voice)
            expected = expected_seconds(case.text, cps)
            if kind in MUST_PASS or kind == "cut_line":
                spans = speech_spans(line.samples, line.rate)
                share = (spans[-1].end - spans[0].start) / expected
                length.setdefault(kind, []).append(share)
                if share < CUT_SHARE:
                    heard.setdefault(kind, []).append(
                        (share, heard_syllables(line.samples, line.rate) / text_syllables(case.text)))
            if kind == "cut_line":
                continue
            sig = signature(line.samples, line.rate)
            assert sig is not None, case
            if kind == "clean":
                by_voice[case.voice].append(sig)
            dist.setdefault(kind, []).append(voice_distance(sig, ref))
            who = case.voice + (f"/{impostor(case).name}" if kind == "same_pitch_voice" else "")
            timbre.setdefault(kind, []).append((timbre_distance(sig, ref), who))
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
    for kind, ds in dist.items():
        print(f"distance {kind:16s}: {_q(ds)}")
    for kind, ts in timbre.items():
        ordered = sorted(ts)
        ends = ordered[:3] if kind not in MUST_PASS else ordered[-3:]
        print(f"timbre   {kind:16s}: {_q([t for t, _ in ts])}; "
              f"{'lowest' if kind not in MUST_PASS else 'highest'}: " + ", ".join(f"{t:.2f} {w}" for t, w in ends))
    for kind, ratios in length.items():
        print(f"spoken/expected length {kind:10s}: {_q(ratios)}")
    for kind, pairs in heard.items():
        print(f"under {CUT_SHARE:.0%} of the expected length, {kind:10s}: spoken {_q([a for a, _ in pairs])}; "
              f"syllables heard/text {_q([b for _, b in pairs])}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=120, help="lines per kind (default 120)")
    parser.add_argument("--first", type=int, default=0, help="number the cases from this (default 0)")
    parser.add_argument("--kinds", default=",".join(KINDS), help="kinds to run, comma-separated (default all)")
    parser.add_argument("--calibrate", action="store_true", help="print what the gate's cuts are set from")
    args = parser.parse_args(argv)
    started = time.process_time()
    if args.calibrate:
        calibrate(args.n, args.first)
        return 0
    kinds = tuple(k for k in args.kinds.split(",") if k)
    unknown = set(kinds) - set(KINDS)
    if unknown:
        parser.error(f"unknown kinds {sorted(unknown)} (known: {', '.join(KINDS)})")
    results = run(args.n, args.first, kinds)
    print(f"voice gate on {args.n} lines per kind (cases {args.first}–{args.first + args.n - 1}), "
          f"{len(CAST)} voices ({', '.join(CAST)})")
    print(table(results))
    for kind, (_, wrong) in results.items():
        for case, verdict in wrong[:5]:
            print(f"  {kind} #{case.i} ({case.voice}): {'passed' if verdict.passed else '; '.join(verdict.reasons)} "
                  f"{verdict.measures}")
    print(f"CPU {time.process_time() - started:.1f} s")
    return 0 if all(meets_bar(k, row) for k, (row, _) in results.items()) else 1


if __name__ == "__main__":
    sys.exit(main())
