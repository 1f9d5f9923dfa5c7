"""The local provider speaks offline (providers/local_speech.py): real eSpeak NG speech, the same
samples for the same text and voice, recognisably different voices, faults that do what they say,
and a voice eSpeak lacks named in a clear error."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from slate.media.voiceprint import signature, speech_spans, voice_distance
from slate.providers.errors import BadRequest
from slate.providers.local import FaultMode, LocalSettings
from slate.providers.local_speech import (LOCAL_VOICES, SPEECH_FAULT_KINDS, LocalVoice, cut_short, faulty_line,
                                          other_voice, read_wav, silenced, speak, write_wav)

LINE = "Put the baby down gently, she has only just fallen asleep."


def test_it_speaks_real_speech_and_the_same_text_and_voice_give_the_same_samples():
    voice = LOCAL_VOICES["female_low"]
    first = speak(LINE, voice)
    other = speak("Something else in between.", LOCAL_VOICES["male_low"])   # the library's state moves on
    again = speak(LINE, voice)
    assert first.rate == 22050 and first.samples.dtype == np.int16
    assert 2.0 < first.seconds < 6.0, first.seconds
    assert np.array_equal(first.samples, again.samples)
    assert not np.array_equal(first.samples[:len(other.samples)], other.samples[:len(first.samples)])
    spans = speech_spans(first.samples, first.rate)
    assert spans and sum(s.seconds for s in spans) > 0.6 * first.seconds   # speech, not a tone or silence


def test_the_cast_voices_differ_by_pitch_and_timbre():
    sigs = {name: signature(speak(LINE, v).samples, 22050) for name, v in LOCAL_VOICES.items()}
    assert len(sigs) >= 4 and all(s is not None for s in sigs.values())
    f0 = {name: s.f0 for name, s in sigs.items()}
    assert f0["female_low"] > 1.5 * f0["male_low"] and f0["female_high"] > f0["female_low"], f0
    assert f0["male_high"] > f0["male_low"] and f0["child"] > f0["female_high"], f0
    names = list(sigs)
    closest = min(voice_distance(sigs[a], sigs[b]) for i, a in enumerate(names) for b in names[i + 1:])
    assert closest > 4.0, closest   # every pair further apart than the gate's cut (3.2)


def test_a_voice_espeak_lacks_is_a_clear_error_naming_it():
    with pytest.raises(BadRequest, match="unknown local voice 'en\\+nosuchvariant'.*no variant 'nosuchvariant'"):
        speak(LINE, LocalVoice("en+nosuchvariant"))
    with pytest.raises(BadRequest, match="unknown local voice 'xx-nowhere'.*no language"):
        speak(LINE, LocalVoice("xx-nowhere"))
    with pytest.raises(BadRequest, match="pitch 140 is outside"):
        LocalVoice("en+f3", pitch=140)


def test_the_faults_do_what_they_say():
    voice = LOCAL_VOICES["male_high"]
    clean = speak(LINE, voice)
    cast = tuple(LOCAL_VOICES.values())
    wrong = faulty_line("wrong_voice", LINE, voice, cast=cast, seed=3)
    assert np.array_equal(wrong.samples, speak(LINE, other_voice(voice, cast, 3)).samples)
    assert other_voice(voice, cast, 3) != voice
    quiet = silenced(clean, seed=1)
    assert len(quiet.samples) == len(clean.samples) and np.abs(quiet.samples).max() <= 2
    assert speech_spans(quiet.samples, quiet.rate) == []
    forms = set()
    for seed in range(8):
        cut = cut_short(clean, seed)
        spans = speech_spans(cut.samples, cut.rate)
        assert spans[-1].end < 0.6 * clean.seconds, (seed, spans[-1], clean.seconds)
        padded = len(cut.samples) == len(clean.samples)
        assert padded or len(cut.samples) < 0.6 * len(clean.samples)
        forms.add(padded)
    assert forms == {True, False}   # the file ends at the cut, or silence follows it
    assert np.array_equal(faulty_line("cut_line", LINE, voice, seed=2).samples, cut_short(clean, 2).samples)
    with pytest.raises(ValueError, match="unknown speech fault kind 'mumbled'"):
        faulty_line("mumbled", LINE, voice)


def test_wav_round_trip(tmp_path):
    line = speak("Dinner will be ready in ten minutes.", LOCAL_VOICES["child"])
    back = read_wav(write_wav(line, tmp_path / "line.wav"))
    assert back.rate == line.rate and np.array_equal(back.samples, line.samples)


def test_the_fault_mode_takes_the_speech_kinds_and_still_refuses_unknown_ones():
    assert FaultMode.parse(0.5, 1, ",".join(SPEECH_FAULT_KINDS)).kinds == SPEECH_FAULT_KINDS
    assert LocalSettings(fault_kinds="recolour,cut_line").faults.kinds == ("recolour", "cut_line")
    with pytest.raises(ValueError, match="unknown local fault kind.*'whispered'.*wrong_voice"):
        FaultMode.parse(0.5, 1, "whispered")


def test_a_killed_process_s_copy_of_the_library_is_removed_by_the_next_engine(tmp_path, monkeypatch):
    """A process killed before its exit leaves its copy of the library (its atexit never runs):
    the next engine made on the machine removes it, and leaves a live process's copy alone."""
    import os
    import signal
    import subprocess
    import sys

    from slate.providers import local_speech
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(local_speech.tempfile, "tempdir", None)     # read TMPDIR again
    speaker = subprocess.Popen(
        [sys.executable, "-c", "from slate.providers.local_speech import _Engine; e = _Engine(); "
                               "print(e._dir, flush=True); import time; time.sleep(120)"],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "TMPDIR": str(tmp_path)})
    try:
        killed = Path(speaker.stdout.readline().strip())
        assert killed.parent == tmp_path and (killed / "libespeak-ng.so").exists()
    finally:
        speaker.send_signal(signal.SIGKILL)
        speaker.wait()
    assert killed.exists()                          # the kill left it, as before
    stranger = tmp_path / "slate-espeak-notapid"
    stranger.mkdir()
    engine = local_speech._Engine()
    assert not killed.exists()
    assert Path(engine._dir).exists() and Path(engine._dir).parent == tmp_path   # its own, live
    assert stranger.exists()
    assert local_speech.sweep_engines(tmp_path) == []                # nothing more to remove
