"""Approval before finals: a final-profile scene waits for a person once its panels have passed,
nothing is rendered at final size before the answer, and the answer is in the ledger.

Run as a terminal run would be (the scene is a top-level run without a deployment, so it is
paused, not suspended): the flow runs in a thread, the test answers from outside — through
Prefect's resume API with the form's fields, or through `slate approve` — and reads what
happened where it lands: ledger rows, shot reports, renders. The suspension of a deployment's
run is tested against a real server with a worker (tests/test_ui_stack.py).
"""
from __future__ import annotations

import json
import threading
import time

import pytest
import yaml
from typer.testing import CliRunner

from flows.approval import APPROVAL_FILE
from flows.scene import scene_flow, scene_result
from governor.ledger import Ledger
from slate.cli import app

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_harness", "local_calls")]


def two_shots(root, timeout_hours=None):
    path = root / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["shots"] = [s for s in doc["shots"] if s["id"] in ("1A", "1C")]
    doc["shots"][-1]["transition_out"] = {"kind": "cut", "duration": 0}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    if timeout_hours is not None:
        (root / "slate.toml").write_text(f"approval_timeout_hours = {timeout_hours}\n")


def start(root):
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("state", scene_flow(project=str(root), profile="final",
                                                                                  return_state=True)))
    thread.start()
    return thread, box


def waiting(root, timeout=240):
    marker = root / ".slate" / APPROVAL_FILE
    deadline = time.time() + timeout
    while time.time() < deadline:
        if marker.is_file():
            return json.loads(marker.read_text())
        time.sleep(0.2)
    raise AssertionError("the scene never waited for approval")


def videos(root):
    return [r for r in Ledger.for_project(root).rows(film="night-diner") if r.stage == "video"]


def test_a_final_scene_waits_for_a_person_and_renders_only_what_was_approved(example_film):
    from prefect.flow_runs import resume_flow_run
    two_shots(example_film)
    thread, box = start(example_film)
    record = waiting(example_film)
    time.sleep(1.0)
    assert videos(example_film) == []  # every panel judged, not one final clip paid for
    assert record["shots"] == ["1A", "1C"] and record["profile"] == "final"
    resume_flow_run(record["flow_run_id"], run_input={"approve": "only the shots ticked", "shots": ["1A"],
                                                      "notes": "1C: the lamp is wrong", "approved_by": "Ana"})
    thread.join(300)
    state = box["state"]
    result = scene_result(state)
    shots = {s.shot: s for s in result.shots}
    assert state.is_completed(), (state.name, state.message)
    assert shots["1A"].status == "approved" and shots["1C"].status == "rejected"
    assert "not approved" in shots["1C"].reason
    assert [(r.shot, r.status) for r in videos(example_film)] == [("1A", "succeeded")]
    [decision] = [r for r in Ledger.for_project(example_film).rows(film="night-diner") if r.error_class == "Approval"]
    assert decision.actual_cost == 0 and decision.model == "Ana"
    assert "approved 1A; rejected 1C — by Ana" in decision.error_message and "the lamp is wrong" in decision.error_message
    assert not (example_film / ".slate" / APPROVAL_FILE).exists()


def test_slate_approve_answers_from_a_terminal(example_film):
    two_shots(example_film)
    thread, box = start(example_film)
    waiting(example_film)
    out = CliRunner().invoke(app, ["approve", str(example_film), "--notes", "looks right", "--by", "Ben"])
    assert out.exit_code == 0 and "approved every shot" in out.output, out.output
    thread.join(300)
    state = box["state"]
    assert state.name == "Completed", (state.name, state.message)
    assert sorted(r.shot for r in videos(example_film) if r.status == "succeeded") == ["1A", "1C"]
    assert (example_film / "renders" / "scene-01-final.mp4").is_file()


def test_an_unanswered_approval_expires_with_nothing_spent_on_finals(example_film):
    two_shots(example_film, timeout_hours=0.001)  # 3.6 seconds
    state = scene_flow(project=str(example_film), profile="final", return_state=True)
    assert state.is_failed() and state.name == "Approval expired", (state.name, state.message)
    assert "nothing was rendered at final resolution" in state.message
    assert videos(example_film) == []
    assert not (example_film / "renders" / "scene-01-final.mp4").exists()
