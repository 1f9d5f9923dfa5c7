"""Voices in the bible workshop (tasks/workshop/audition.py, `slate bible voice`, `slate bible approve --voice`)
on the example film: versions of a voice spoken through the governor by the local eSpeak voice (and
once by the ElevenLabs fake over real HTTP), counted where they land — the ledger's rows, the
version files, the canonical sample and its history — and bad input refused before any row."""
from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from slate.governor.estimate import line_usage
from slate.governor.ledger import Ledger
from slate.governor.ratecard import RateCard
from slate.tasks.workshop.audition import SAMPLE_LINE
from tests.bible_steps import slate
from tests.fakes.control import fake_key

MIA = {"description": "a girl of nine, high and quick", "provider": "local", "voice": "child"}
NARRATOR = {"description": "a man of sixty, low and slow", "provider": "local", "voice": "narrator"}
GEORGE = "JBFqnCBsd6RMkjVDRZzb"


def with_voices(root: Path, mia: dict | None = None, **more: dict) -> None:
    path = root / "bible.yaml"
    bible = yaml.safe_load(path.read_text())
    for c in bible["characters"]:
        if c["id"] == "mia":
            c["voice"] = mia or MIA
    bible["narrator"] = NARRATOR
    bible.update(more)
    path.write_text(yaml.safe_dump(bible, sort_keys=False))


def voice_rows(root: Path) -> list:
    return [r for r in Ledger.for_project(root).rows() if r.scene == "bible"]


def record(root: Path, n: int, folder: str = "characters/mia") -> dict:
    return json.loads((root / folder / "voice" / "versions" / str(n) / "version.json").read_text())


def test_two_versions_the_second_approved_with_history_and_only_the_voice_bible_says(example_film, local_calls):
    root = example_film
    with_voices(root)
    out = slate("bible", "voice", root, "mia")
    assert "voice:mia v1: local:local-espeak-v1 voice 'child'" in out and "sample check passed" in out, out
    v1 = record(root, 1)
    assert (v1["parent"], v1["prompt"], v1["voice"], v1["settings"], v1["model"]) == \
        (None, SAMPLE_LINE, "child", {}, "local-espeak-v1")
    slate("bible", "approve", root, "mia", "--voice", "--version", "1", "--by", "ana")
    canonical = root / "characters/mia/mia_voice_APPROVED.wav"
    assert hashlib.sha256(canonical.read_bytes()).hexdigest() == v1["sha256"]

    out = slate("bible", "voice", root, "mia", "--from", "1", "--set", "pitch=60")
    assert "voice:mia v2 from v1" in out and "(pitch=60)" in out, out
    v2 = record(root, 2)
    assert (v2["parent"], v2["voice"], v2["settings"]) == (1, "child", {"pitch": 60})
    assert v2["signature"]["f0"] < v1["signature"]["f0"] - 10   # a lower voice, measured (child's pitch is 95)

    # Exactly the rows paid: one per version, stage voice, at the workshop's scene, the version's own call.
    rows = voice_rows(root)
    assert [(r.stage, r.shot, r.status, r.take) for r in rows] == \
        [("voice", "voice:mia", "succeeded", 1), ("voice", "voice:mia", "succeeded", 2)]
    assert [r.call_id for r in rows] == [v1["call_id"], v2["call_id"]]
    assert rows[1].parameters["voice_settings"] == {"pitch": 60} and rows[1].prompt == SAMPLE_LINE

    # Not the voice bible.yaml says: the film's lines would be spoken by another voice than the sample.
    out = slate("bible", "approve", root, "mia", "--voice", "--version", "2", code=1)
    assert "voice 'mia': --version 2 was spoken by another voice than bible.yaml says: " \
           "characters[3].voice.settings: {} (version 2: {'pitch': 60})" in out, out
    assert hashlib.sha256(canonical.read_bytes()).hexdigest() == v1["sha256"]

    with_voices(root, {**MIA, "settings": {"pitch": 60}})
    out = slate("bible", "approve", root, "mia", "--voice", "--version", "2", "--by", "ana")
    assert "promoted voice:mia v2 to characters/mia/mia_voice_APPROVED.wav" in out, out
    assert hashlib.sha256(canonical.read_bytes()).hexdigest() == v2["sha256"]
    # its words beside it: the speech stage reads the voice's pace from them (tasks/shot/voicing.py)
    assert (root / "characters/mia/mia_voice_APPROVED.txt").read_text() == SAMPLE_LINE
    [kept] = (root / "characters/mia/voice/history").iterdir()
    assert hashlib.sha256(kept.read_bytes()).hexdigest() == v1["sha256"]      # the replaced sample kept
    decisions = Ledger.for_project(root).approvals(stage="bible_approve")
    assert [(d.shot, d.parameters["version"], d.by) for d in decisions] == [("voice:mia", 1, "ana"),
                                                                             ("voice:mia", 2, "ana")]
    # what the film reads of it: the approved file's hash, and its signature measured from the file
    from slate.manifests import load_film
    from slate.providers.storage_local import LocalStorage
    from slate.tasks.workshop.audition import approved_sample
    sample = approved_sample(LocalStorage(root), load_film(root), "mia")
    assert sample is not None and sample.sha256 == v2["sha256"] and sample.pace_cps
    assert sample.signature is not None and sample.signature.f0 == pytest.approx(v2["signature"]["f0"])
    assert approved_sample(LocalStorage(root), load_film(root), "narrator") is None
    from slate.tasks.shot.voicing import reference_of   # the speech stage's reading: this sample, its pace from its words
    film = load_film(root)
    voice = film.bible.voices()["mia"]
    assert voice is not None
    reference = reference_of(root, "mia", voice)
    assert reference is not None and reference.kind == "approved" and reference.version.endswith(v2["sha256"][:16])
    assert reference.chars_per_second == pytest.approx(sample.pace_cps)
    listed = slate("bible", "versions", root, "mia", "--voice")
    assert "v1  parent -" in listed and "v2  parent 1" in listed and listed.rstrip().endswith("* canonical")
    assert len(voice_rows(root)) == 2                                         # approving paid nothing
    # the turnaround's own versions and canonical are untouched by the voice's
    assert not (root / "characters/mia/versions").exists()


def test_the_narrator_is_a_voice_too(example_film, local_calls):
    with_voices(example_film)
    out = slate("bible", "voice", example_film, "narrator")
    assert "voice:narrator v1" in out and "narrator/voice/versions/1/narrator_voice_v1.wav" in out, out
    slate("bible", "approve", example_film, "narrator", "--voice", "--version", "1")
    assert (example_film / "narrator/narrator_voice_APPROVED.wav").is_file()
    assert [r.shot for r in voice_rows(example_film)] == ["voice:narrator"]


def test_a_silent_sample_fails_its_check_and_is_never_approved(example_film, local_calls, monkeypatch):
    with_voices(example_film)
    monkeypatch.setenv("SLATE_LOCAL_FAULT_RATE", "1")
    monkeypatch.setenv("SLATE_LOCAL_FAULT_KINDS", "silent_line")
    out = slate("bible", "voice", example_film, "mia")
    assert "sample check FAILED: speech: 0.00 s of speech" in out, out
    assert len(voice_rows(example_film)) == 1                  # paid for, and kept as a failed version
    out = slate("bible", "approve", example_film, "mia", "--voice", "--version", "1", code=1)
    assert "voice 'mia': --version 1: failed its sample check" in out, out
    assert not (example_film / "characters/mia/mia_voice_APPROVED.wav").exists()
    assert Ledger.for_project(example_film).approvals(stage="bible_approve") == []


@pytest.mark.parametrize("args, said", [
    (["voice", "{root}", "mia", "--voice", "en+nosuch"], "voice 'mia': --voice: local: unknown local voice 'en+nosuch'"),
    (["voice", "{root}", "mia", "--set", "pitch=high"], "voice 'mia': --set: local: local voice 'child': pitch must "
                                                       "be a whole number"),
    (["voice", "{root}", "mia", "--set", "pitch"], "--set 'pitch': give a setting as KEY=VALUE"),
    (["voice", "{root}", "mia", "--set", "pitch=1e400"], "--set 'pitch=1e400': '1e400' is not a finite number"),
    (["voice", "{root}", "mia", "--model", "gemini:gemini-2.5-flash-preview-tts"],
     "voice 'mia': --model gemini:gemini-2.5-flash-preview-tts: 'child' is a local voice; give a voice of gemini"),
    (["voice", "{root}", "mia", "--model", "gemini:gemini-2.5-flash-preview-tts", "--voice", "Kora"],
     "voice 'mia': --voice: gemini:gemini-2.5-flash-preview-tts has no voice 'Kora' (did you mean Kore?)"),
    (["voice", "{root}", "zed"], "bible.yaml: no character 'zed'"),
    (["voice", "{root}", "nina"], "bible.yaml: characters[4].voice: character 'nina' has no voice"),
    (["voice", "{root}", "mia", "--from", "4"], "voice 'mia': --from: no version 4 (versions: none yet)"),
    (["approve", "{root}", "mia", "--voice", "--version", "3"], "voice 'mia': --version: no version 3"),
    (["voice", "{root}", "leo"], "bible.yaml: characters[2].voice.voice: gemini:gemini-2.5-flash-preview-tts has no "
                                 "voice 'Kora'"),
])
def test_bad_input_names_the_voice_and_field_and_pays_nothing(example_film, local_calls, args, said):
    with_voices(example_film)
    path = example_film / "bible.yaml"
    bible = yaml.safe_load(path.read_text())
    for c in bible["characters"]:
        if c["id"] == "leo":
            c["voice"] = {"description": "a boy", "provider": "gemini", "voice": "Kora"}
    path.write_text(yaml.safe_dump(bible, sort_keys=False))
    out = slate("bible", *[a.format(root=example_film) for a in args], code=2)
    assert said in out, out
    assert voice_rows(example_film) == []
    assert not list(example_film.glob("characters/*/voice"))


def test_a_version_spoken_by_the_elevenlabs_fake_is_one_row_priced_by_the_card_with_no_key(example_film, fakes):
    root = example_film
    with_voices(root, {"description": "a girl of nine", "provider": "elevenlabs", "voice": GEORGE,
                       "model": "eleven_multilingual_v2", "settings": {"stability": 0.4}})
    out = slate("bible", "voice", root, "mia")
    assert "voice:mia v1: elevenlabs:eleven_multilingual_v2 voice 'JBFqnCBsd6RMkjVDRZzb' (stability=0.4)" in out, out
    [call] = fakes.requests("elevenlabs")                       # one request reached the vendor
    assert call["body"]["text"] == SAMPLE_LINE and call["body"]["voice_settings"] == {"stability": 0.4}
    [row] = voice_rows(root)
    card = RateCard.load()
    price = card.price("elevenlabs:eleven_multilingual_v2", line_usage(SAMPLE_LINE))
    assert row.estimate == price and Decimal(row.actual_cost) == price == Decimal(len(SAMPLE_LINE)) / 10_000
    v1 = record(root, 1)
    assert Decimal(v1["cost_usd"]) == price and v1["call_id"] == row.call_id
    kept = (root / "characters/mia/voice/versions/1/version.json").read_text() + json.dumps(row.parameters)
    assert fake_key("elevenlabs") not in kept and fake_key("elevenlabs") not in out


def test_slate_check_refuses_a_voice_its_provider_lacks_and_a_vendor_speaker_with_no_approved_sample(
        example_film, local_calls):
    from typer.testing import CliRunner

    from slate.cli import app
    with_voices(example_film, {**MIA, "voice": "en+nosuch"}, narrator={**NARRATOR, "provider": "gemini",
                                                                       "voice": "Kore"})
    bible = yaml.safe_load((example_film / "bible.yaml").read_text())
    for c in bible["characters"]:
        if c["id"] == "leo":
            c["voice"] = {"description": "a boy", "provider": "gemini", "voice": "Kora"}
        if c["id"] == "gabe":
            c["voice"] = {"description": "a man", "provider": "local", "voice": "male_low"}
    (example_film / "bible.yaml").write_text(yaml.safe_dump(bible, sort_keys=False))
    scene = example_film / "scenes/scene-01.yaml"
    data = yaml.safe_load(scene.read_text())
    data["shots"][0]["dialogue"] = [{"speaker": "narrator", "text": "Night."}]
    data["shots"][2]["dialogue"] = [{"speaker": "gabe", "text": "Coffee."}]
    scene.write_text(yaml.safe_dump(data, sort_keys=False))
    result = CliRunner().invoke(app, ["check", str(example_film)])
    assert result.exit_code == 1
    said = result.stderr
    assert "bible.yaml: characters[3].voice.voice: local: unknown local voice 'en+nosuch'" in said, said
    assert "bible.yaml: characters[2].voice.voice: gemini:gemini-2.5-flash-preview-tts has no voice 'Kora'" in said
    # a vendor voice has no interim reference: its lines would escalate unspoken, so it is refused now
    assert ("error: scenes/scene-01.yaml: shot 1A: dialogue[0].speaker: 'narrator' has no approved voice sample "
            "(narrator/narrator_voice_APPROVED.wav is missing)") in said, said
    # a local voice is judged against its interim reference until one is approved: noted, not refused
    assert "'gabe'" not in said, said
    assert voice_rows(example_film) == []


def test_a_version_dearer_than_the_cap_left_is_refused_before_it_is_sent(example_film, fakes, monkeypatch):
    with_voices(example_film, {"description": "a girl of nine", "provider": "elevenlabs", "voice": GEORGE,
                               "model": "eleven_multilingual_v2"})
    monkeypatch.setenv("SLATE_RUN_CAP_USD", "0.01")            # the sample costs $0.0125 by the card
    out = slate("bible", "voice", example_film, "mia", code=1)
    assert "voice 'mia': per-run cap $0.01 would be exceeded" in out and "halted" in out, out
    assert fakes.requests("elevenlabs") == []                   # nothing reached the vendor
    # the governor's own record of the refusal: one row, refused, nothing spent
    assert [(r.stage, r.status, r.actual_cost) for r in voice_rows(example_film)] == [("voice", "refused", Decimal(0))]
    assert not (example_film / "characters/mia/voice").exists()
