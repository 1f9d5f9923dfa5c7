"""Approval before finals: a final-profile scene waits for a person once its panels have passed,
nothing is rendered at final size before the answer, and the answer is in the ledger.

Run as a terminal run would be (the scene is a top-level run without a deployment, so it is
paused, not suspended): the flow runs in a thread, the test answers from outside — through
Prefect's resume API with the form's fields, or through `slate approve` — and reads what
happened where it lands: ledger rows, shot reports, renders. The suspension of a deployment's
run is tested against a real server with a worker (tests/e2e/test_ui_stack.py).
"""
from __future__ import annotations

import json
import threading
import time

import pytest
from typer.testing import CliRunner

from slate.manifests.options import RunOptions
from slate.flows.review.approval import APPROVAL_FILE
from slate.flows.scene import scene_flow
from slate.flows.run.scene_result import scene_result
from slate.governor.ledger import Ledger
from slate.cli import app
from tests.scene_cuts import keep_shots, without_finishing

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_harness", "local_calls")]


def two_shots(root, timeout_hours=None):
    """1A and 1C: one shot to approve and one to reject or retake. No finishing: the subject is
    the approval and the final clips it allows, not the finished cut (a final grade and mix)."""
    without_finishing(root)
    keep_shots(root, ("1A", "1C"))
    if timeout_hours is not None:
        (root / "slate.toml").write_text(f"approval_timeout_hours = {timeout_hours}\n")


def start(root):
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("state", scene_flow(project=str(root), options=RunOptions(profile="final"), return_state=True)))
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
    from slate.flows.review.approval import resume_when_paused
    two_shots(example_film)
    thread, box = start(example_film)
    record = waiting(example_film)
    time.sleep(1.0)
    assert videos(example_film) == []  # every panel judged, not one final clip paid for
    assert record["shots"] == ["1A", "1C"] and record["profile"] == "final"
    resume_when_paused(record["flow_run_id"], run_input={"approve": "only the shots ticked", "shots": ["1A"],
                                                      "notes": "1C: the lamp is wrong", "approved_by": "Ana"})
    thread.join(300)
    state = box["state"]
    result = scene_result(state)
    shots = {s.shot: s for s in result.shots}
    assert state.is_completed(), (state.name, state.message)
    assert shots["1A"].status == "approved" and shots["1C"].status == "rejected"
    assert "not approved" in shots["1C"].reason
    assert [(r.shot, r.status) for r in videos(example_film)] == [("1A", "succeeded")]
    with Ledger.for_project(example_film) as ledger:
        [decision] = ledger.approvals(film="night-diner")
        assert not [r for r in ledger.rows(film="night-diner") if r.stage == "approval"]  # never a paid call
    assert decision.stage == "approval" and decision.by == "Ana"
    assert "approved 1A; rejected 1C — by Ana" in decision.message and "the lamp is wrong" in decision.message
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
    state = scene_flow(project=str(example_film), options=RunOptions(profile="final"), return_state=True)
    assert state.is_failed() and state.name == "Approval expired", (state.name, state.message)
    assert "nothing was rendered at final resolution" in state.message
    assert videos(example_film) == []
    assert not (example_film / "renders" / "scene-01-final.mp4").exists()


# -- an approval approves an amount ----------------------------------------------------------------
# The local provider's fault mode, seeded, corrupts the first final clip of 1C (and only that clip of
# the two shots; tests: seed 5 at rate 0.3, found by drawing the scene's requests): its keyframe gate
# fails, and its retake is clean. Priced as Seedance 1 Pro, so every clip and retake costs money.
RETAKE_FILM = ('local_fault_rate = 0.3\nlocal_fault_seed = 5\nlocal_fault_kinds = "corrupted"\n'
               'price_as = "replicate:bytedance/seedance-1-pro"\n')


def form_text(flow_run_id) -> str:
    """The description the paused run's form shows (what a person reads before answering)."""
    from prefect.client.orchestration import get_client
    from prefect.input import read_flow_run_input
    from prefect.input.run_input import keyset_from_paused_state
    # The approval file is written just before the run pauses: read its form once it is Paused.
    deadline = time.time() + 60
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(flow_run_id).state
        while not state.is_paused():
            assert time.time() < deadline, f"flow run {flow_run_id} never paused for its form: {state.name}"
            time.sleep(0.5)
            state = client.read_flow_run(flow_run_id).state
    keyset = keyset_from_paused_state(state)
    # The form's own text, then each field's (the shots are shown in the Shots field's: issue 57).
    schema = read_flow_run_input(keyset["schema"], flow_run_id) or {}
    fields = [f.get("description", "") for f in (schema.get("properties") or {}).values()]
    return "\n\n".join([read_flow_run_input(keyset["description"], flow_run_id) or "", *fields])


def waiting_for(root, shots, timeout=300):
    """The approval the run waits for once it asks about these shots."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        record = waiting(root, timeout=deadline - time.time())
        if record["shots"] == shots:
            return record
        time.sleep(0.5)
    raise AssertionError(f"the run never asked about {shots}")


def test_a_retake_past_the_approved_amount_waits_for_a_person_again(example_film):
    from decimal import Decimal

    from slate.flows.review.approval import resume_when_paused
    two_shots(example_film)
    (example_film / "slate.toml").write_text(RETAKE_FILM)
    thread, box = start(example_film)
    first = waiting_for(example_film, ["1A", "1C"])
    text = form_text(first["flow_run_id"])
    # The form: each shot's scores by name with the judge's reasons, its estimate, the total, the caps.
    for words in ("#### 1A — $", "#### 1C — $", "**identity** ", "of the face and hair", "Total estimate: $",
                  "Caps: per-run $25.00; per-film $250.00", "What you approve is an amount"):
        assert words in text, (words, text[:3000])
    assert "| shot |" not in text  # no wide table in a narrow dialog
    resume_when_paused(first["flow_run_id"], run_input={"approve": "all shots", "shots": [], "notes": "",
                                                     "retake_allowance": "0", "approved_by": "Ana"})
    second = waiting_for(example_film, ["1C"])  # 1C's clip failed its gate: its retake is past the amount
    clips = sorted((r.shot, r.take, r.status) for r in videos(example_film))
    assert clips == [("1A", 1, "succeeded"), ("1C", 1, "succeeded")], clips  # no retake sent before the answer
    [asked] = Ledger.for_project(example_film).approvals(film="night-diner")
    spent = sum((r.actual_cost for r in videos(example_film)), Decimal(0))
    assert f"{'$'}{spent:.2f} approved in all" in asked.message, (asked.message, spent)
    again = form_text(second["flow_run_id"])
    assert "retakes past the amount approved" in again and "#### 1C — retake $" in again, again[:3000]
    assert f"**${spent:.2f}** of it is taken" in again and "artefacts" in again, again[:3000]
    out = CliRunner().invoke(app, ["approve", str(example_film), "--by", "Ana"])
    assert out.exit_code == 0, out.output
    thread.join(300)
    state = box["state"]
    assert state.name == "Completed", (state.name, state.message)
    clips = sorted((r.shot, r.take, r.status) for r in videos(example_film))
    assert clips == [("1A", 1, "succeeded"), ("1C", 1, "succeeded"), ("1C", 2, "succeeded")], clips
    decisions = [a.message for a in Ledger.for_project(example_film).approvals(film="night-diner")]
    assert len(decisions) == 2 and "approved 1C — by Ana" in decisions[1], decisions


def test_a_retake_allowance_given_up_front_is_not_asked_about_again(example_film):
    from slate.flows.review.approval import resume_when_paused
    two_shots(example_film)
    (example_film / "slate.toml").write_text(RETAKE_FILM)
    thread, box = start(example_film)
    first = waiting_for(example_film, ["1A", "1C"])
    resume_when_paused(first["flow_run_id"], run_input={"approve": "all shots", "shots": [], "notes": "",
                                                     "retake_allowance": "5.00", "approved_by": "Ana"})
    thread.join(300)
    state = box["state"]
    assert state.name == "Completed", (state.name, state.message)
    rows = Ledger.for_project(example_film).rows(film="night-diner")
    assert sorted((r.shot, r.take) for r in rows if r.stage == "video") == [("1A", 1), ("1C", 1), ("1C", 2)]
    [decision] = Ledger.for_project(example_film).approvals(film="night-diner")
    assert "(retake allowance $5.00)" in decision.message
