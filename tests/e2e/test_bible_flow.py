"""The `bible` flow: the run waits with the candidate beside the canonical, promotes only on a
person's answer, and refuses a promotion that another one overtook while it waited."""
from __future__ import annotations

import hashlib
import json
import threading
import time

import pytest
from typer.testing import CliRunner

from slate.governor.ledger import Ledger
from slate.cli import app

runner = CliRunner()
pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("local_calls", "prefect_harness")]


def waiting(root, timeout=120) -> dict:
    marker = root / ".slate" / "bible-approval.json"
    deadline = time.time() + timeout
    while time.time() < deadline:
        if marker.is_file():
            return json.loads(marker.read_text())
        time.sleep(0.2)
    raise AssertionError("the bible run never waited for a person")


def start(root, asset: str, version: int):
    from slate.flows.bible import bible_flow
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault(
        "state", bible_flow(project=str(root), asset=asset, version=version, return_state=True)))
    thread.start()
    return thread, box


def test_the_bible_run_shows_both_and_promotes_on_approval_only(example_film):
    from slate.flows.review.approval import resume_when_paused   # the marker comes just before Paused
    root = example_film
    assert runner.invoke(app, ["bible", "plate", str(root), "diner"]).exit_code == 0
    canonical = root / "locations/diner/diner_plate_APPROVED.png"
    before = canonical.read_bytes()

    thread, box = start(root, "diner", 1)
    record = waiting(root)
    assert "![candidate](data:image/jpeg;base64," in record["text"] and "![canonical](data:image" in record["text"]
    assert "Shots that use it: scene-01/1C" in record["text"] and "estimated at **$" in record["text"]
    resume_when_paused(record["flow_run_id"], run_input={"approve": False, "notes": "too dark"})
    thread.join(120)
    assert box["state"].name == "Declined" and canonical.read_bytes() == before

    thread, box = start(root, "diner", 1)
    record = waiting(root)
    resume_when_paused(record["flow_run_id"], run_input={"approve": True, "approved_by": "Ana"})
    thread.join(120)
    assert box["state"].is_completed(), (box["state"].name, box["state"].message)
    v1 = json.loads((root / "locations/diner/versions/1/version.json").read_text())
    assert hashlib.sha256(canonical.read_bytes()).hexdigest() == v1["sha256"]
    [decision] = Ledger.for_project(root).approvals(stage="bible_approve")
    assert decision.parameters["by"] == "Ana" and decision.parameters["version"] == 1


def test_a_promotion_overtaken_while_waiting_is_refused(example_film):
    from slate.flows.review.approval import resume_when_paused   # the marker comes just before Paused
    root = example_film
    for _ in range(2):
        assert runner.invoke(app, ["bible", "plate", str(root), "street"]).exit_code == 0
    thread, box = start(root, "street", 1)
    record = waiting(root)
    # meanwhile someone promotes version 2 from a terminal
    assert runner.invoke(app, ["bible", "approve", str(root), "street", "--version", "2"]).exit_code == 0
    resume_when_paused(record["flow_run_id"], run_input={"approve": True, "approved_by": "Ana"})
    thread.join(120)
    state = box["state"]
    assert state.name == "Refused" and "location 'street': locations[1].plate:" in state.message, state.message
    v2 = json.loads((root / "locations/street/versions/2/version.json").read_text())
    canonical = root / "locations/street/street_plate_APPROVED.png"
    assert hashlib.sha256(canonical.read_bytes()).hexdigest() == v2["sha256"]   # the winner's stays
