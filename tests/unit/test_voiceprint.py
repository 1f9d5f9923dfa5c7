"""The voice gate's measures (media/voiceprint.py) on a seeded sample of the corpus benchmarks/voices.py
runs in full: every fault kind caught and named by its own measure, clean lines passed."""
from __future__ import annotations

import numpy as np

from benchmarks.gate_bar import Sample
from benchmarks.voices import KINDS, NAMES, approved, case_of, judge, run, spoken
from slate.media.voiceprint import expected_seconds, judge_line, signature, speech_spans, spoken_chars

PER_KIND = 5   # lines of each kind drawn from the benchmark's corpus (of 120)


def test_a_seeded_sample_of_the_corpus_every_kind_caught_clean_passes():
    results = run(Sample(120, PER_KIND))
    assert sorted(results) == sorted(KINDS)
    for kind, (row, wrong) in results.items():
        assert row.total == PER_KIND, kind
        assert not wrong, [(kind, c, v.reasons) for c, v in wrong]
        if kind != "clean":
            assert row.named == PER_KIND, (kind, row)   # failed for its own reason


def test_reasons_name_what_was_measured():
    case = case_of("wrong_voice", 0)
    verdict = judge(case)
    assert not verdict.passed and verdict.kinds == (NAMES["wrong_voice"],)
    assert "wrong speaker: voice distance" in verdict.reasons[0] and "Hz" in verdict.reasons[0]
    assert verdict.measures["distance"] > 3.2
    silent = judge(case_of("silent_line", 0))
    assert silent.kinds == ("silent",) and "s of speech where the text needs about" in silent.reasons[0]
    cut = judge(case_of("cut_line", 0))
    assert "cut" in cut.kinds and "speech stops after" in " ".join(cut.reasons)


def test_speech_spans_find_a_tone_burst_and_nothing_in_near_silence():
    rate = 16000
    t = np.arange(rate) / rate
    burst = np.where((t > 0.3) & (t < 0.6), 0.3 * np.sin(2 * np.pi * 200 * t), 0.0)
    spans = speech_spans((burst * 32767).astype(np.int16), rate)
    assert len(spans) == 1 and abs(spans[0].start - 0.3) < 0.03 and abs(spans[0].end - 0.6) < 0.03
    hiss = np.random.default_rng(0).integers(-2, 3, rate).astype(np.int16)
    assert speech_spans(hiss, rate) == [] and signature(hiss, rate) is None


def test_signature_reads_a_pitch_it_was_given():
    rate = 16000
    t = np.arange(rate) / rate
    for f0 in (110.0, 220.0):
        # a buzz with harmonics falling off, like a voice's source
        x = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 8))
        sig = signature((0.2 * x / np.abs(x).max() * 32767).astype(np.int16), rate)
        assert sig is not None and abs(sig.f0 - f0) < 0.02 * f0, (f0, sig)


def test_the_length_a_text_predicts_counts_letters_and_digits():
    assert spoken_chars("Stop, now! 42") == 9
    assert expected_seconds("Stop, now! 42", 12.0) == 0.75


def test_a_clean_line_passes_against_its_own_voice_and_fails_against_another():
    case = case_of("clean", 1)
    line = spoken(case)
    own, cps = approved(case.voice)
    assert judge_line(line.samples, line.rate, text=case.text, approved=own, chars_per_second=cps).passed
    other = "male_low" if case.voice != "male_low" else "female_low"
    verdict = judge_line(line.samples, line.rate, text=case.text, approved=approved(other)[0], chars_per_second=cps)
    assert not verdict.passed and verdict.kinds == ("wrong_speaker",)
