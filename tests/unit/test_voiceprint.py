"""The voice gate's measures (media/voiceprint.py) on a seeded sample of the corpus benchmarks/voices.py
runs in full: every fault kind caught and named by its own measure (issue 56's `same_pitch_voice`
among them), clean lines passed and so lines said at 1.3× and 0.8× the voice's pace."""
from __future__ import annotations

import numpy as np

from benchmarks.gate_bar import Sample
from benchmarks.voices import (KINDS, MUST_PASS, NAMES, approved, case_of, impostor, judge, other_tract, run,
                               spoken, variant_of)
from slate.media.voiceprint import (CUT_HEARD, CUT_SHARE, WRONG_SPEAKER, WRONG_TIMBRE, expected_seconds, heard_syllables,
                                    judge_line, signature, speech_spans, spoken_chars, text_syllables,
                                    timbre_distance, voice_distance)
from slate.providers.local_speech import LOCAL_VOICES

PER_KIND = 5   # lines of each kind drawn from the benchmark's corpus (of 120)


def test_a_seeded_sample_of_the_corpus_every_kind_caught_clean_passes():
    results = run(Sample(120, PER_KIND))
    assert sorted(results) == sorted(KINDS)
    for kind, (row, wrong) in results.items():
        assert row.total == PER_KIND, kind
        assert not wrong, [(kind, c, v.reasons) for c, v in wrong]
        if kind not in MUST_PASS:
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


def test_another_voice_at_the_same_pitch_is_told_by_its_timbre():
    """Issue 56: a voice of another vocal tract pitched to the approved voice's f0 sits within the
    distance's cut (pitch agrees); the timbre measure names it."""
    case = case_of("same_pitch_voice", 9)
    who = impostor(case)
    own = approved(case.voice)[0]
    assert who.name != LOCAL_VOICES[case.voice].name                 # another voice...
    assert other_tract(variant_of(who)[1], variant_of(LOCAL_VOICES[case.voice])[1])   # ...another vocal tract
    line = spoken(case)
    sig = signature(line.samples, line.rate)
    assert abs(12 * np.log2(sig.f0 / own.f0)) < 1.5                  # the same pitch, near enough
    assert voice_distance(sig, own) < WRONG_SPEAKER                  # the averages cannot tell
    assert timbre_distance(sig, own) > WRONG_TIMBRE
    verdict = judge(case)
    assert not verdict.passed and verdict.kinds == ("wrong_speaker",)
    assert "timbre" in verdict.reasons[0] and verdict.measures["timbre"] > WRONG_TIMBRE
    # the right voice's own line is close in timbre whatever its words
    clean = spoken(case_of("clean", 9))
    assert timbre_distance(signature(clean.samples, clean.rate), approved(case_of("clean", 9).voice)[0]) < WRONG_TIMBRE


def test_a_line_said_fast_is_not_cut_a_cut_one_is():
    """A line at 1.3× pace ends before CUT_SHARE of the length its text predicts at the voice's
    pace, yet holds its syllables; a cut line loses them."""
    fast = case_of("fast_pace", 13)
    line = spoken(fast)
    sig, cps = approved(fast.voice)
    spans = speech_spans(line.samples, line.rate)
    assert spans[-1].end - spans[0].start < CUT_SHARE * expected_seconds(fast.text, cps)   # short by length alone
    verdict = judge(fast)
    assert verdict.passed, verdict.reasons
    assert verdict.measures["heard_share"] >= CUT_HEARD
    cut = judge(case_of("cut_line", 13))
    assert "cut" in cut.kinds and cut.measures["heard_share"] < CUT_HEARD


def test_syllables_of_a_text_and_of_a_take():
    assert text_syllables("The kettle is boiling, can you get it?") == 10
    assert text_syllables("Stop, now! 42") == 2
    rate = 16000
    t = np.arange(rate) / rate
    # three 120 ms tone bursts: three syllables' loudness peaks
    bursts = sum(np.where(np.abs(t - c) < 0.06, np.sin(2 * np.pi * 800 * t), 0.0) for c in (0.2, 0.5, 0.8))
    assert heard_syllables((0.3 * bursts * 32767).astype(np.int16), rate) == 3


def test_the_example_films_short_lines_in_their_own_voice_pass(example_master):
    """The demo's 1F: jenny's "Be right with you." read timbre 0.84 (over 0.8) in her own voice and
    escalated; a short line's voice colour is not read (TIMBRE_MIN_VOICED), its distance is — and
    the other's voice saying it still fails."""
    import io

    from slate.manifests import load_film
    from slate.media.voiceprint import judge_line, pace, read_pcm16, signature
    from slate.providers.registry import offline_line
    from slate.tasks.workshop.audition import SAMPLE_LINE
    voices = load_film(example_master).bible.voices()
    # each speaker's own line of the example (1F, 1D), and short lines of jenny's high voice
    for who, other, texts in (("jenny", "gabe", ("Be right with you.", "Not tonight.", "Coffee?")),
                              ("gabe", "jenny", ("Too hot. Take it back.",))):
        mine, theirs = voices[who], voices[other]
        s, r = read_pcm16(io.BytesIO(offline_line(mine.voice, mine.settings, SAMPLE_LINE).wav))
        sig, cps = signature(s, r), pace(SAMPLE_LINE, s, r)
        for text in texts:
            ls, lr = read_pcm16(io.BytesIO(offline_line(mine.voice, mine.settings, text).wav))
            verdict = judge_line(ls, lr, text=text, approved=sig, chars_per_second=cps)
            assert verdict.passed, (who, text, verdict.reasons)
            os_, orate = read_pcm16(io.BytesIO(offline_line(theirs.voice, theirs.settings, text).wav))
            assert not judge_line(os_, orate, text=text, approved=sig, chars_per_second=cps).passed, (who, text)
