"""Lines of dialogue as data (manifests/dialogue.py): where each line falls in its shot, and a film
with voices and fitting lines passes `slate check` (the refusals are cases of tests/bad_inputs.py)."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from slate.cli import app
from slate.providers.audio import pcm16_wav
from slate.tasks.workshop.audition import sample_local_voices
from slate.manifests import load_film
from slate.manifests.dialogue import (LEAD_SECONDS, NARRATOR, PAUSE_SECONDS, Line, Voice, dialogue_problems,
                                      estimated_seconds, line_spans, on_camera)
from tests.bad_inputs import VOICE
from tests.scene_cuts import without_voices


def test_a_line_lasts_its_words_at_the_voices_pace():
    assert estimated_seconds("one two three four five", 150) == pytest.approx(2.0)
    assert estimated_seconds("one two three four five", 300) == pytest.approx(1.0)
    assert estimated_seconds("Hi.", 150) == 0.5          # never under half a second


def test_lines_follow_each_other_or_start_where_asked():
    lines = [Line(speaker="a", text="one two three"), Line(speaker="b", text="four five six"),
             Line(speaker="a", text="seven", at=3.0)]
    spans = line_spans(lines, {"a": 180, "b": 90})
    assert spans[0].start == LEAD_SECONDS and spans[0].end == pytest.approx(LEAD_SECONDS + 1.0)
    assert spans[1].start == pytest.approx(spans[0].end + PAUSE_SECONDS)
    assert spans[1].end - spans[1].start == pytest.approx(2.0)     # b speaks at 90 words a minute
    assert spans[2].start == 3.0
    measured = line_spans(lines, {"a": 180, "b": 90}, measured={0: 0.4})
    assert measured[0].end == pytest.approx(LEAD_SECONDS + 0.4) and measured[1].start == pytest.approx(
        LEAD_SECONDS + 0.4 + PAUSE_SECONDS)


def test_two_speakers_may_overlap_one_may_not():
    voices = {"a": Voice(**VOICE), "b": Voice(**VOICE)}
    crossing = [Line(speaker="a", text="one two three four", at=0.0), Line(speaker="b", text="five", at=0.5)]
    assert dialogue_problems(crossing, 4.0, voices, ["a", "b"]) == []
    same = [Line(speaker="a", text="one two three four", at=0.0), Line(speaker="a", text="five", at=0.5)]
    [(field, message)] = dialogue_problems(same, 4.0, voices, ["a"])
    assert field == "dialogue[1].at" and "two lines at once" in message


def test_off_screen_and_narrator_lines_are_not_on_camera():
    assert on_camera(Line(speaker="nina", text="Hi."), ["nina", "gabe"])
    assert not on_camera(Line(speaker="leo", text="Hi."), ["nina", "gabe"])      # off screen
    assert not on_camera(Line(speaker=NARRATOR, text="Night fell."), ["nina"])


def _edit(root: Path, key: str, change) -> None:
    doc = yaml.safe_load((root / key).read_text())
    change(doc)
    (root / key).write_text(yaml.safe_dump(doc, sort_keys=False))


def test_a_film_with_voices_and_fitting_lines_passes_check(example_film):
    without_voices(example_film)
    def bible(d):
        for c in d["characters"]:
            if c["id"] in ("nina", "gabe"):
                c["voice"] = {**VOICE, "voice": "en+f3" if c["id"] == "nina" else "en+m3", "pace_wpm": 160}
        d["narrator"] = {**VOICE, "description": "an old man, slow and warm", "voice": "en+m7"}

    def scene(d):
        d["shots"][0]["dialogue"] = [{"speaker": "narrator", "text": "It was late."}]
        d["shots"][2]["dialogue"] = [{"speaker": "nina", "text": "Coffee?", "delivery": ["quiet"]},
                                     {"speaker": "gabe", "text": "Black, thanks.", "at": 1.5}]
    _edit(example_film, "bible.yaml", bible)
    _edit(example_film, "scenes/scene-01.yaml", scene)
    # a local voice with no approved sample is noted (an interim reference judges its lines)
    result = CliRunner().invoke(app, ["check", str(example_film)])
    assert result.exit_code == 0, result.output + result.stderr
    warned = sorted({line for line in result.output.splitlines() + result.stderr.splitlines()
                     if "has no approved voice sample" in line})   # said once; output may hold stderr too
    assert len(warned) == 3 and all(line.startswith("coverage: ") and "interim reference" in line
                                    for line in warned), warned
    assert any("coverage: scenes/scene-01.yaml: shot 1C: dialogue[1].speaker: 'gabe' has no approved voice sample "
               "(characters/gabe/gabe_voice_APPROVED.wav is missing)" in line for line in warned), warned
    keys = ("characters/nina/nina_voice_APPROVED.wav", "characters/gabe/gabe_voice_APPROVED.wav",
            "narrator/narrator_voice_APPROVED.wav")
    for key in keys:   # an approved sample that is no WAV is refused
        (example_film / key).parent.mkdir(parents=True, exist_ok=True)
        (example_film / key).write_bytes(b"RIFF, but no WAV")
    result = CliRunner().invoke(app, ["check", str(example_film)])
    assert result.exit_code == 1
    assert "(characters/nina/nina_voice_APPROVED.wav is unusable: it is not a WAV file" in result.stderr
    for key in keys:   # a tenth of a second of a hum is no voice either (issue 56): refused
        (example_film / key).write_bytes(pcm16_wav(b"\x00\x01" * 2205, 22050))
    result = CliRunner().invoke(app, ["check", str(example_film)])
    assert result.exit_code == 1 and "no speaker signature can be read from it" in result.stderr, result.stderr
    for key in keys:   # each voice's sample line, spoken (what `slate init --example` approves)
        (example_film / key).unlink()
    sample_local_voices(example_film)
    result = CliRunner().invoke(app, ["check", str(example_film)])
    assert result.exit_code == 0, result.output + result.stderr
    film = load_film(example_film)
    assert film.bible.narrator is not None and film.bible.narrator.voice == "en+m7"
    lines = film.scenes[0][1].shot("1C").dialogue
    assert [(x.speaker, x.delivery) for x in lines] == [("nina", ["quiet"]), ("gabe", [])]
    assert set(film.bible.voices()) == {"gabe", "jenny", "leo", "mia", "nina", NARRATOR}


def test_a_character_may_not_take_the_narrators_id(example_film):
    _edit(example_film, "bible.yaml", lambda d: d["characters"][0].__setitem__("id", NARRATOR))
    result = CliRunner().invoke(app, ["check", str(example_film)])
    assert result.exit_code == 1 and "bible.yaml: characters[0].id: 'narrator' is the speaker id" in result.stderr
