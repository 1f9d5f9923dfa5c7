"""What the speech stage judges a line against and keys a scene on (tasks/shot/voicing.py): the
interim reference until a sample is approved, the approved one after, none for a vendor voice
that has neither; the voice gate on real eSpeak lines; a line measured past its shot named with
both durations; a scene with no line keeps the can's key it had (no speech part at all)."""
from __future__ import annotations

import shutil

import yaml

from slate.manifests import load_film
from slate.manifests.dialogue import Line, Voice
from slate.providers.local_speech import local_voice, speak, write_wav
from slate.tasks.shot.voicing import canonical_voice_key, judge, reference_of, speech_fingerprint, too_long
from tests.scene_cuts import without_voices

GABE = Voice(description="adult man, low", provider="local", voice="male_low")


def _film(example_master, tmp_path, lines=None):
    root = tmp_path / "film"
    shutil.copytree(example_master, root, ignore=shutil.ignore_patterns(".slate", "renders"))
    without_voices(root)
    bible = yaml.safe_load((root / "bible.yaml").read_text())
    for c in bible["characters"]:
        if c["id"] == "gabe":
            c["voice"] = GABE.model_dump(mode="json", exclude_defaults=True)
    (root / "bible.yaml").write_text(yaml.safe_dump(bible, sort_keys=False))
    if lines is not None:
        path = root / "scenes" / "scene-01.yaml"
        doc = yaml.safe_load(path.read_text())
        doc["shots"][2]["dialogue"] = lines     # 1C: gabe's shot
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return root


def test_a_scene_without_a_line_has_no_speech_part_and_a_line_moves_the_key(example_master, tmp_path):
    plain = _film(example_master, tmp_path / "a")
    assert speech_fingerprint(plain, load_film(plain), "scene-01") is None   # its can key is as it always was
    voiced = _film(example_master, tmp_path / "b", [{"speaker": "gabe", "text": "Coffee, black."}])
    one = speech_fingerprint(voiced, load_film(voiced), "scene-01")
    assert one is not None and list(one["lines"]) == ["1C"] and one["voices"]["gabe"]["sample"] is None
    other = _film(example_master, tmp_path / "c", [{"speaker": "gabe", "text": "Black, no sugar."}])
    assert speech_fingerprint(other, load_film(other), "scene-01") != one
    # an approved sample appears: every line of that voice is keyed anew
    sample = voiced / canonical_voice_key("gabe")
    write_wav(speak("Good evening.", local_voice("male_low")), sample)
    approved = speech_fingerprint(voiced, load_film(voiced), "scene-01")
    assert approved is not None and approved["voices"]["gabe"]["sample"] is not None and approved != one


def test_the_reference_is_interim_until_a_sample_is_approved_and_none_for_a_vendor_voice(tmp_path):
    interim = reference_of(tmp_path, "gabe", GABE)
    assert interim is not None and interim.kind == "interim" and interim.version.startswith("interim:")
    assert reference_of(tmp_path, "gabe", GABE) == interim                      # deterministic: the same key
    sample = tmp_path / canonical_voice_key("gabe")
    sample.parent.mkdir(parents=True)
    write_wav(speak("Good evening, what can I get you.", local_voice("male_low")), sample)
    approved = reference_of(tmp_path, "gabe", GABE)
    assert approved is not None and approved.kind == "approved" and approved.version != interim.version
    vendor = Voice(description="adult man", provider="elevenlabs", voice="JBFqnCBsd6RMkjVDRZzb")
    assert reference_of(tmp_path / "none", "gabe", vendor) is None              # nothing paid for a sample


def test_the_gate_passes_the_right_voice_and_fails_another(tmp_path):
    ref = reference_of(tmp_path, "gabe", GABE)
    assert ref is not None
    text = "The coffee is cold again tonight."
    right = write_wav(speak(text, local_voice("male_low")), tmp_path / "right.wav")
    wrong = write_wav(speak(text, local_voice("female_high")), tmp_path / "wrong.wav")
    assert judge(right, text, ref).passed
    verdict = judge(wrong, text, ref)
    assert not verdict.passed and "wrong_speaker" in verdict.kinds


def test_a_line_measured_past_its_shot_names_both_durations():
    lines = [Line(speaker="gabe", text="Coffee, black."), Line(speaker="gabe", text="And the pie.", at=1.5)]
    assert too_long(lines, 0, {0: 1.0}, {"gabe": 150}, 3.0) is None
    said = too_long(lines, 1, {0: 1.0, 1: 1.8}, {"gabe": 150}, 3.0)
    assert said is not None and "measured 1.80 s" in said and "past the shot's 3.00 s" in said and "3.30 s" in said
