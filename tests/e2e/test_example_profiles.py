"""The example scene at every profile's resolution, with no fault, passes every gate.

The local judge measures its patches at a working size; measured at the full size of a 720p or
1080p frame, the local provider's own clean clip once failed shot 1I's keyframe artefact check
(`0.48% of the last frame`, a false alarm that made a final run retake three times past its
approval). Draft is rendered by tests/e2e/test_scene_e2e.py; here final (720p, all nine shots) and
hero (1080p for the critical shot 1F, which ends the chain 1D → 1E → 1F; the scene's other shots
are 720p at hero as at final, so the hero run keeps that chain only), approved by a person
through Prefect's resume API, end with no escalation and no retake. The finishing pass is left out (tests/scene_cuts.without_finishing): its subject
is the gates at size; a hero cut's grade, mix and mezzanine are the finishing tests' subject.
"""
from __future__ import annotations

import json
import threading
import time

import pytest

from slate.manifests.options import RunOptions
from slate.flows.review.approval import APPROVAL_FILE
from slate.flows.scene import scene_flow
from slate.flows.run.scene_result import scene_result
from slate.governor.ledger import Ledger
from tests.scene_cuts import keep_shots, without_finishing

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_harness", "local_calls")]


def _approved_run(root, profile: str):
    from slate.flows.review.approval import resume_when_paused
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault(
        "state", scene_flow(project=str(root), options=RunOptions(profile=profile), return_state=True)))
    thread.start()
    marker = root / ".slate" / APPROVAL_FILE
    deadline = time.time() + 600
    while not marker.is_file():
        assert time.time() < deadline and thread.is_alive(), f"the {profile} run never waited for approval"
        time.sleep(0.2)
    record = json.loads(marker.read_text())
    resume_when_paused(record["flow_run_id"], run_input={"approve": "all shots", "shots": record["shots"],
                                                      "notes": "", "approved_by": "Ana"})
    thread.join(900)
    return box["state"]


#: the shots each profile's run keeps: final, every one; hero, the chain that ends on the critical shot
SHOTS = {"final": ("1A", "1B", "1C", "1D", "1E", "1F", "1G", "1H", "1I"), "hero": ("1D", "1E", "1F")}


@pytest.mark.parametrize("profile", ["final", "hero"])
def test_the_clean_example_passes_every_gate_at_each_profiles_size(example_film, profile):
    without_finishing(example_film)
    kept = keep_shots(example_film, SHOTS[profile])
    assert [s["id"] for s in kept] == list(SHOTS[profile])
    if profile == "hero":
        assert [s.get("critical", False) for s in kept] == [False, False, True]
    state = _approved_run(example_film, profile)
    result = scene_result(state)
    assert state.is_completed(), (state.name, state.message, [s.reason for s in result.escalated])
    assert [s.status for s in result.shots] == ["approved"] * len(kept), [(s.shot, s.status, s.reason)
                                                                         for s in result.shots]
    rows = [r for r in Ledger.for_project(example_film).rows(film="night-diner") if r.profile == profile]
    retaken = sorted({(r.shot, r.stage, r.take) for r in rows if r.take > 1})
    assert retaken == [], retaken                       # not one retake: no gate raised a false alarm
