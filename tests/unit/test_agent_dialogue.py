"""What an agent reads of a film's voices and lines (slate/agent/context.py): every voice of the
bible with the field it comes from, and a shot's lines placed as a run places them before any is
spoken — so an agent writing dialogue sees where each line falls and whether it fits."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from slate.agent import context
from slate.agent.session import Session
from slate.manifests.dialogue import LEAD_SECONDS, PAUSE_SECONDS, estimated_seconds
from tests.bad_inputs import VOICE
from tests.scene_cuts import without_voices


def _edit(root: Path, key: str, change) -> None:
    doc = yaml.safe_load((root / key).read_text())
    change(doc)
    (root / key).write_text(yaml.safe_dump(doc, sort_keys=False))


def test_the_bible_and_a_shot_carry_voices_and_lines(example_film):
    without_voices(example_film)
    def bible(d):
        for c in d["characters"]:
            if c["id"] == "nina":
                c["voice"] = {**VOICE, "voice": "en+f3", "pace_wpm": 160}
        d["narrator"] = {**VOICE, "description": "an old man, slow and warm", "voice": "en+m7", "pace_wpm": 120}

    def scene(d):
        d["shots"][2]["dialogue"] = [{"speaker": "nina", "text": "Coffee, black?", "delivery": ["quiet"]},
                                     {"speaker": "narrator", "text": "She knew his order.", "at": 1.4}]
    _edit(example_film, "bible.yaml", bible)
    _edit(example_film, "scenes/scene-01.yaml", scene)
    session = Session(example_film, cap=None)

    told = context.bible(session)
    by = {v["speaker"]: v for v in told["voices"]}
    assert set(by) == {"nina", "narrator"}              # a character with no voice is not listed
    nina_index = next(i for i, c in enumerate(told["characters"]) if c["id"] == "nina")
    assert by["nina"]["field"] == f"characters[{nina_index}].voice" and by["nina"]["voice"] == "en+f3"
    assert by["narrator"]["field"] == "narrator" and by["narrator"]["pace_wpm"] == 120

    shot = context.shot_manifest(session, "scene-01", "1C")
    first, second = shot["dialogue"]
    assert (first["field"], first["speaker"], first["delivery"]) == ("dialogue[0]", "nina", ["quiet"])
    assert first["start"] == pytest.approx(LEAD_SECONDS)
    assert first["end"] == pytest.approx(LEAD_SECONDS + estimated_seconds("Coffee, black?", 160), abs=1e-3)
    assert second["start"] == 1.4 and second["end"] == pytest.approx(1.4 + estimated_seconds(
        "She knew his order.", 120), abs=1e-3)      # the narrator at their own pace
    assert first["on_camera"] is ("nina" in shot["shot"]["characters"]) and second["on_camera"] is False
    assert first["estimated"] and PAUSE_SECONDS > 0
    assert context.shot_manifest(session, "scene-01", "1A")["dialogue"] == []
