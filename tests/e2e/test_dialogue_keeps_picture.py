"""Dialogue never costs the picture (issue 57): a shot whose lip-sync fails keeps its clip in the cut.

The example cut to 1C and 1D, every local lip-sync made off its line (the local painter's
`lip_offset`, at rate 1.0): 1D's mouth fails the sync gate take after take. Before, 1D was
escalated and cut out, picture and all (the cut 3.5 s instead of 6). Now the scene ends Escalated
naming 1D's line, the cut keeps 1D's un-synced clip (its length unchanged), the timeline record
marks the shot with what failed (an editor's marker), and the scene is not put in the can: the
next run makes nothing new and pays nothing, and is told the same. `dialogue_failure = "drop_shot"`
is the old rule, held on one shot in-process (tests/integration/test_stage_rules.py).
"""
from __future__ import annotations

import json

import pytest

from slate.flows.scene import scene_flow
from slate.governor.ledger import Ledger
from slate.media import probe
from slate.tasks.edit.export import record_path
from tests.scene_cuts import keep_shots

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("local_calls")]


def test_a_shot_whose_lip_sync_fails_keeps_its_picture_in_the_cut_with_a_marker(example_film, prefect_harness,
                                                                                monkeypatch):
    monkeypatch.setenv("SLATE_LOCAL_FAULT_RATE", "1.0")
    monkeypatch.setenv("SLATE_LOCAL_FAULT_KINDS", "lip_offset")
    keep_shots(example_film, ("1C", "1D"))
    state = scene_flow(project=str(example_film), return_state=True)
    done = state.result()
    assert state.name == "Escalated" and "1D" in (state.message or ""), (state.name, state.message)
    by = {s.shot: s for s in done.shots}
    assert by["1D"].status == "escalated" and by["1D"].picture_kept, by["1D"]
    assert "failed the sync gate" in by["1D"].reason and "its picture stays in the cut" in by["1D"].reason
    assert by["1C"].status == "approved"
    assert probe(done.output).duration == pytest.approx(3.5 + 2.5, abs=0.05)      # 1D's picture is in it
    record = json.loads(record_path(example_film, "scene-01", "draft").read_text())
    [d] = [s for s in record["shots"] if s["shot"] == "1D"]
    assert d["media"] and any(w.startswith("its line: ") for w in d["warnings"]), d
    rows = len(Ledger.for_project(example_film).rows())
    again = scene_flow(project=str(example_film), return_state=True)
    assert again.name == "Escalated" and again.result().provider_calls == 0
    assert len([r for r in Ledger.for_project(example_film).rows() if r.stage == "lipsync"]) == 3  # 3 takes, once
    assert len(Ledger.for_project(example_film).rows()) >= rows
