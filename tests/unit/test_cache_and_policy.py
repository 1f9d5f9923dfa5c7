"""Cache keys are made of content only; the take policy escalates at the cap or without progress."""
from __future__ import annotations

import re

from pathlib import Path

import pytest

from slate.governor.policy import TakePolicy, TakeResult
from slate.tasks.run.cache import content_key
from slate.tasks.run.run import Run
from tests.runs import a_run


def run(run_id: str, root: str = "/films/a") -> Run:
    return a_run(root, run_id, film="f", scene="s", profile="draft")


def test_key_ignores_the_run_and_where_the_project_lives():
    inputs = {"shot": "1A", "request": {"plate_uri": "cas://" + "a" * 64 + ".png", "seed": 3}, "take": 1}
    k1 = content_key("panel-v1", {"run": run("r1"), **inputs})
    k2 = content_key("panel-v1", {"run": run("r2", "/elsewhere"), **inputs})
    assert k1 == k2


def test_key_changes_with_content_version_and_reference_hash():
    inputs = {"request": {"plate_uri": "cas://" + "a" * 64 + ".png"}, "take": 1}
    changed_ref = {"request": {"plate_uri": "cas://" + "b" * 64 + ".png"}, "take": 1}
    base = content_key("panel-v1", inputs)
    assert base != content_key("panel-v2", inputs)
    assert base != content_key("panel-v1", changed_ref)
    assert base != content_key("panel-v1", {**inputs, "take": 2})


def test_a_path_can_never_be_a_cache_key():
    with pytest.raises(TypeError, match="cas:// URI"):
        content_key("panel-v1", {"image": Path("/tmp/x.png")})


def history(*qualities_passed):
    return [TakeResult(i + 1, passed, q) for i, (q, passed) in enumerate(qualities_passed)]


def test_policy_accepts_a_pass():
    assert TakePolicy(3, 2).decide(history((-0.1, False), (0.2, True)))[0] == "accept"


def test_policy_retakes_then_escalates_at_the_cap():
    policy = TakePolicy(max_takes=3, no_progress_takes=5)
    assert policy.decide(history((-0.3, False)))[0] == "retake"
    decision, why = policy.decide(history((-0.3, False), (-0.2, False), (-0.1, False)))
    assert decision == "escalate" and "cap 3" in why


def test_policy_escalates_without_progress_before_the_cap():
    policy = TakePolicy(max_takes=10, no_progress_takes=2)
    assert policy.decide(history((-0.1, False), (-0.2, False)))[0] == "retake"
    decision, why = policy.decide(history((-0.1, False), (-0.2, False), (-0.15, False)))
    assert decision == "escalate" and "no progress" in why
    # Improvement within the window keeps it going.
    assert policy.decide(history((-0.1, False), (-0.2, False), (-0.05, False)))[0] == "retake"


def test_every_stage_task_keys_on_its_own_version_and_stores_nothing_in_the_cwd():
    from slate.tasks.gates.drift import drift_check
    from slate.tasks.gates.gate import panel_gate
    from slate.tasks.gates.keyframes import keyframe_gate
    from slate.tasks.shot.panel import panel_take
    from slate.tasks.edit.stitch import stitch_scene
    from slate.tasks.shot.video import video_take
    stages = [t.cache_policy.stage for t in (panel_take, panel_gate, video_take, keyframe_gate, drift_check,
                                             stitch_scene)]
    assert len(set(stages)) == 6 and all(re.fullmatch(r"[a-z-]+-v[0-9]+", s) for s in stages), stages
    assert all(t.cache_policy.key_storage is None for t in (panel_take, panel_gate, video_take))


def test_policy_escalates_at_once_when_the_judge_cannot_judge():
    policy = TakePolicy(max_takes=5, no_progress_takes=5)
    decision, why = policy.decide([TakeResult(1, False, -1.0, judgeable=False)])
    assert decision == "escalate" and "cannot judge" in why
    assert policy.decide([TakeResult(1, False, -1.0)])[0] == "retake"


def test_a_cut_read_back_through_the_result_serializer_is_the_typed_result():
    from prefect.serializers import JSONSerializer

    from slate.tasks.edit.results import FinishResult, StitchResult
    stitched = StitchResult(uri="cas://" + "a" * 64 + ".mp4", duration=4.5, width=854, height=480, codec="h264",
                            frames=108)
    finished = FinishResult(uri="cas://" + "b" * 64 + ".mp4", duration=4.5, frames=108, width=854, height=480,
                            has_audio=True, loudness=-14.1, true_peak=-1.2, target_lufs=-14.0, model_audio=0,
                            poster_uri="cas://" + "c" * 64 + ".png")
    serializer = JSONSerializer()
    for made in (stitched, finished):
        back = serializer.loads(serializer.dumps(made))
        assert type(back) is type(made) and back == made


def test_typed_stage_inputs_key_as_the_dicts_they_replaced():
    from dataclasses import asdict, replace

    from slate.providers.base import CharacterRef, ClipRequest, PanelRequest
    from slate.tasks.shot.take_inputs import ClipTake, FinishingShot, Maker, PanelTake
    maker = Maker(provider="local", model="m", profile="draft")
    panel = PanelRequest(prompt="p", location_id="diner", plate_uri="cas://" + "a" * 64 + ".png",
                         characters=(CharacterRef("gabe", "tall", "cas://" + "b" * 64 + ".png"),), framing="wide",
                         angle="eye", movement="static", width=854, height=480, seed=7)
    typed = PanelTake(shot="1A", moment="start", take=1, request=panel, maker=maker)
    assert content_key("p", {"given": typed}) == content_key(
        "p", {"given": {**typed.model_dump(exclude={"request"}), "request": asdict(panel)}})
    clip = ClipRequest(prompt="c", start_uri="cas://s.png", end_uri=None, seconds=4.0, width=854, height=480, fps=24,
                       resolution="480p", movement="static", camera_fixed=True, seed=3)
    for req in (clip, replace(clip, audio=True, references=({"uri": "cas://r.png", "kind": "character"},))):
        given = ClipTake(shot="1A", take=1, request=req, maker=maker)
        assert given.model_dump(mode="json")["request"] == {**req.as_dict(), **(
            {"references": [dict(r) for r in req.references]} if req.references else {})}
    # A shot the scene's finishing gives nothing keys without trims, grade or dip.
    assert FinishingShot(uri="cas://c.mp4", seconds=4.0, transition=("cut", 0.0)).model_dump(mode="json") == \
        {"uri": "cas://c.mp4", "seconds": 4.0, "transition": ["cut", 0.0]}


def test_a_keyframe_gate_keys_an_entrance_only_where_there_is_one():
    """Issue 35: a shot's `enters` changes what its keyframe gate holds a clip to, so its key; a
    shot nobody walks into keys as before `enters` existed (its verdicts stay in the cache)."""
    from slate.providers.base import PanelRequest
    from slate.tasks.gates.gate_inputs import Judging, KeyframeInput
    req = PanelRequest(prompt="p", location_id="diner", plate_uri="cas://" + "a" * 64 + ".png", characters=(),
                       framing="wide", angle="eye", movement="static", width=854, height=480, seed=0)
    given = KeyframeInput(shot="1G", take=1, clip_uri="cas://c.mp4", start_uri="cas://s.png", end_uri=None,
                          request=req, seconds=3.0, fps=24, expect_motion=True,
                          judging=Judging(judge="local", model="m", profile="draft", policy="x"))
    assert "enters" not in given.model_dump(mode="json")
    entering = given.model_copy(update={"enters": ("leo",)})
    assert entering.model_dump(mode="json")["enters"] == ["leo"]
    assert content_key("k", {"given": entering}) != content_key("k", {"given": given})
    # Issue 36: so does a chained clip's origin (its people held to the bible there); an unchained one keys as before.
    assert "chain_origin_uri" not in given.model_dump(mode="json")
    chained = given.model_copy(update={"chain_origin_uri": "cas://o.png"})
    assert content_key("k", {"given": chained}) != content_key("k", {"given": given})


def test_the_can_keeps_a_scene_whose_escalations_a_gate_decided():
    """Issue 35: a scene with a cut whose shots are approved or escalated on judged takes (settled)
    is what its key always comes to; one with an escalation no gate decided (a loop that stopped,
    a retake a person declined), a halted shot or no cut is not."""
    from slate.tasks.run.can import cannable

    def scene(*shots, output="renders/s.mp4", halted=None):
        return {"output": output, "halted": halted,
                "shots": [{"shot": f"1{chr(65 + i)}", "status": st, "settled": settled}
                          for i, (st, settled) in enumerate(shots)]}

    assert cannable(scene(("approved", False), ("approved", False)))
    assert cannable(scene(("approved", False), ("escalated", True)))
    assert not cannable(scene(("approved", False), ("escalated", False)))
    assert not cannable(scene(("approved", False), ("halted", False)))
    assert not cannable(scene(("approved", False), ("unjudged", False)))
    assert not cannable(scene(("escalated", True), output=None))
    assert not cannable(scene(("approved", False), halted="the run cap"))
    # A shot escalated for its line (issue 57): its picture follows `dialogue_failure`, which is not
    # keyed — never canned; nor a record written before the picture was kept, in slate's own words.
    kept = scene(("approved", False), ("escalated", True))
    kept["shots"][1]["picture_kept"] = True
    assert not cannable(kept)
    for words in ("scene scene-01, shot 1B: the lip-sync failed the sync gate in 3 takes",
                  "scene scene-01, shot 1B, line 0 (gabe: 'Hi.'): the line failed the voice gate against the …"):
        old = scene(("approved", False), ("escalated", True))
        old["shots"][1]["reason"] = words
        assert not cannable(old), words
