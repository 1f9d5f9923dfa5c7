"""Every spoken line and approved voice sample checked before money (issue 56, item 1).

Each case below passed `slate check` before this change and the run then paid for clips before
failing (or spoke a 10,000-letter line three times): a voice sample that is silent, truncated or
not audio; a line of letters with no spaces (the fit counted words); a key-shaped token or a NUL
in a line; `enters:` naming someone already in the frame a chained shot starts from. Each is now
a problem of the preflight (`slate check`, and every run's first step) naming the file, the shot
and the field; the last test runs the real command line on one and counts the ledger's rows.
"""
from __future__ import annotations

import io
import wave
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from slate.tasks.run.preflight import preflight

KEY = "sk-proj-" + "Ab3dEf6hIj9kLm2n"   # key-shaped, never a real one


def _wav(seconds: float, rate: int = 22050, level: int = 0) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(int(level).to_bytes(2, "little", signed=True) * int(seconds * rate))
    return out.getvalue()


def _sample(root: Path, who: str = "jenny") -> Path:
    return root / "characters" / who / f"{who}_voice_APPROVED.wav"


def _line(root: Path, shot: str, text: str) -> None:
    path = root / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    [s] = [s for s in doc["shots"] if s["id"] == shot]
    s["dialogue"][0]["text"] = text
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))


def _enters(root: Path, shot: str, who: list[str]) -> None:
    path = root / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    [s] = [s for s in doc["shots"] if s["id"] == shot]
    s["enters"] = who
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def silent(root):
    _sample(root).write_bytes(_wav(4.0))


def truncated(root):
    data = _sample(root).read_bytes()
    _sample(root).write_bytes(data[:len(data) // 3])


def not_audio(root):
    _sample(root).write_bytes(b"this is not a WAV file at all\n" * 40)


def a_hum(root):   # a constant level, not a voice: nothing voiced to read a speaker from
    _sample(root).write_bytes(_wav(0.3, level=9000))


def letters_without_spaces(root):
    _line(root, "1C", "あ" * 10_000)


def a_long_word_line(root):
    _line(root, "1F", "Be right with you" + "o" * 400 + ".")


def a_key(root):
    _line(root, "1C", f"Fresh pot. My key is {KEY}, careful.")


def a_nul(root):
    _line(root, "1C", "Fresh pot.\x00 Careful, it's hot.")


def enters_who_is_there(root):
    _enters(root, "1E", ["jenny"])   # 1E chains from 1D, where Gabe and Jenny already are


CASES = {
    # case: (break the film, the file, the shot, the field, words the message must hold)
    "a silent sample": (silent, "scenes/scene-01.yaml", "1C", "dialogue[0].speaker", "jenny_voice_APPROVED.wav"),
    "a truncated sample": (truncated, "scenes/scene-01.yaml", "1C", "dialogue[0].speaker", "truncated"),
    "a sample that is not audio": (not_audio, "scenes/scene-01.yaml", "1C", "dialogue[0].speaker", "not a WAV"),
    "a hum, not a voice": (a_hum, "scenes/scene-01.yaml", "1C", "dialogue[0].speaker", "unusable"),
    "10,000 letters, no space": (letters_without_spaces, "scenes/scene-01.yaml", "1C", "dialogue[0]", "letters"),
    "a line of one long word": (a_long_word_line, "scenes/scene-01.yaml", "1F", "dialogue[0]", "letters"),
    "a key-shaped token": (a_key, "scenes/scene-01.yaml", "1C", "dialogue[0].text", "key-shaped"),
    "a NUL": (a_nul, "scenes/scene-01.yaml", "1C", "dialogue[0].text", "U+0000"),
    "enters: someone already there": (enters_who_is_there, "scenes/scene-01.yaml", "1E", "enters[0]",
                                      "1D's last frame"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_line_or_voice_sample_is_refused_naming_file_shot_and_field(example_film, case):
    breaks, file, shot, field, words = CASES[case]
    assert preflight(example_film).ok   # the example as written passes
    breaks(example_film)
    found = preflight(example_film).problems
    hits = [p for p in found if (p.file, p.shot, p.field) == (file, shot, field)]
    assert hits, [str(p) for p in found]
    assert any(words in p.message for p in hits), [str(p) for p in hits]
    assert not [p for p in found if KEY in str(p)]   # a key is never echoed back


def test_an_ordinary_line_is_still_measured_by_its_words():
    from slate.manifests.dialogue import estimated_seconds, spoken_words
    assert spoken_words("Fresh pot. Careful, it's hot.") == 5
    assert estimated_seconds("Fresh pot. Careful, it's hot.", 150) == pytest.approx(2.0)
    assert estimated_seconds("あ" * 600, 150) == pytest.approx(40.0)   # 600 letters as 100 words


def test_a_run_given_a_silent_voice_sample_pays_nothing(example_film):
    from slate.cli import app
    from slate.governor.ledger import Ledger
    silent(example_film)
    out = CliRunner().invoke(app, ["run", str(example_film)])
    assert out.exit_code != 0, out.output
    assert "jenny_voice_APPROVED.wav" in out.output and "dialogue[0].speaker" in out.output, out.output
    with Ledger.for_project(example_film) as ledger:
        assert ledger.rows() == []


@pytest.mark.parametrize("by", ["its note", "its workshop version"])
def test_a_voice_changed_in_the_bible_after_its_sample_was_approved_is_refused(example_film, by):
    """Issue 57: gabe's voice changed in bible.yaml (male_low to female_high) passed `slate check`;
    his line was then spoken three times in the new voice, failed the voice gate against the old
    voice's sample each time, and 1D was escalated out of the cut. Refused now, naming the bible's
    field, both voices and the commands that approve a new sample — read from the note written
    beside the sample, or (a sample approved before notes were kept) from the workshop version
    whose sound it is."""
    import hashlib
    import json
    bible = example_film / "bible.yaml"
    doc = yaml.safe_load(bible.read_text())
    [i] = [n for n, c in enumerate(doc["characters"]) if c["id"] == "gabe"]
    note = _sample(example_film, "gabe").with_name("gabe_voice_APPROVED.voice.json")
    assert json.loads(note.read_text())["voice"] == "male_low"
    if by == "its workshop version":
        note.unlink()
        version = example_film / "characters" / "gabe" / "voice" / "versions" / "1" / "version.json"
        version.parent.mkdir(parents=True)
        version.write_text(json.dumps({"version": 1, "provider": "local", "model": "local-espeak-v1",
                                       "voice": "male_low", "settings": {},
                                       "sha256": hashlib.sha256(_sample(example_film, "gabe").read_bytes()).hexdigest()}))
    assert preflight(example_film).ok
    doc["characters"][i]["voice"]["voice"] = "female_high"
    bible.write_text(yaml.safe_dump(doc, sort_keys=False))
    [hit] = [p for p in preflight(example_film).problems if p.field == f"characters[{i}].voice"]
    assert hit.file == "bible.yaml" and "gabe's approved voice sample" in hit.message, hit
    assert f"characters[{i}].voice.voice: 'female_high' (its approved sample's: 'male_low')" in hit.message, hit
    assert "slate bible voice DIR gabe" in hit.message and "--voice --version N" in hit.message, hit
