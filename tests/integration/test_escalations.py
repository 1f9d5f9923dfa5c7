"""Escalation a person can act on, end to end with the local provider priced as Seedance.

A shot whose panel cannot pass is escalated with its best take's scores; `slate escalations`
prints them, the path where a human composite goes and the manifest line to add; a good
composite placed there is judged at the panel gate on the next run, and only that shot and
its chained successor are paid for again — counted in the ledger."""
from __future__ import annotations

import dataclasses
import re

import pytest
import yaml
from typer.testing import CliRunner

from slate.governor.chokepoint import Usage
from slate.governor.ledger import Ledger
from slate.governor.ratecard import RateCard
from slate.manifests import load_film
from slate.providers.local import LocalImage
from slate.providers.storage_local import LocalStorage
from slate.cli import app
from tests.runs import a_run
from slate.governor.gates import against
from slate.tasks.review.escalations import CLEARED, ESCALATED, latest, record
from slate.tasks.shot.plan import plan_from_project


def _gov(root, run_id: str):
    from decimal import Decimal

    from slate.governor.chokepoint import Governor
    from slate.governor.ledger import Cap
    return Governor(run_id=run_id, film="night-diner", root=root, ledger=Ledger.for_project(root),
                    estimate=lambda units, _model: Decimal(0), caps=[Cap("run", Decimal(1))],
                    storage=LocalStorage(root))


def _shot(shot: str, status: str, take: int = 2):
    from slate.flows.run.scene_result import ShotReport
    best = {"stage": "panel", "moment": "start", "take": take, "uri": "cas://" + "a" * 64 + ".png", "quality": -0.2,
            "reasons": ["location 0.12 < 0.35: off the plate"],
            "scores": [{"name": "location", "value": 0.12, "threshold": 0.35, "role": "block", "passed": False,
                        "reason": "off the plate"}]} if status == "escalated" else None
    return ShotReport(shot=shot, panel_takes=take, video_takes=0, status=status, reason=f"{shot} gave up",
                      best_take=best)


def test_the_latest_run_of_each_scene_is_what_the_ledger_says(example_film):
    """Escalations are $0 rows per run; a later run with none clears them, even one that paid
    for nothing (all from the cache); scenes are read apart."""
    def finish(run_id, scene, shots):
        run = a_run(example_film, run_id, scene=scene)
        return record(run, _gov(example_film, run_id), shots)

    assert finish("run-1", "scene-01", [_shot("1C", "approved"), _shot("1D", "escalated")]) == 1
    assert finish("run-1", "scene-02", [_shot("2A", "escalated", take=3)]) == 1
    ledger = Ledger.for_project(example_film)
    found = latest(ledger, "night-diner", ["scene-01", "scene-02", "scene-03"])
    assert [(e.shot, e.best_take["take"]) for e in found["scene-01"]] == [("1D", 2)]
    assert [e.shot for e in found["scene-02"]] == ["2A"] and found["scene-03"] == []
    assert found["scene-01"][0].best_take["scores"][0]["reason"] == "off the plate"
    assert all(r.status == "released" and r.actual_cost == 0 for r in ledger.rows(film="night-diner"))

    assert finish("run-2", "scene-01", [_shot("1C", "approved"), _shot("1D", "approved")]) == 1  # cleared
    assert finish("run-3", "scene-01", [_shot("1C", "approved"), _shot("1D", "approved")]) == 0  # nothing to clear
    found = latest(ledger, "night-diner", ["scene-01", "scene-02"])
    assert found["scene-01"] == [] and [e.shot for e in found["scene-02"]] == ["2A"]
    assert [r.error_class for r in ledger.rows(film="night-diner")] == [ESCALATED, ESCALATED, CLEARED]

    assert finish("run-4", "scene-01", [_shot("1C", "escalated", take=1), _shot("1D", "approved")]) == 1
    assert [e.shot for e in latest(ledger, "night-diner", ["scene-01"])["scene-01"]] == ["1C"]


def test_the_same_escalations_again_write_no_row(example_film):
    """Issue 35: a run whose escalations are those its scene's latest run recorded (an unchanged
    scene served from the can) writes nothing; the ledger goes on naming the run that found them.
    Another escalation, or another take of the same shot, is written as before."""
    def finish(run_id, shots):
        return record(a_run(example_film, run_id, scene="scene-01"), _gov(example_film, run_id), shots)

    ledger = Ledger.for_project(example_film)
    assert finish("run-1", [_shot("1C", "approved"), _shot("1D", "escalated")]) == 1
    assert finish("run-2", [_shot("1C", "approved"), _shot("1D", "escalated")]) == 0
    assert finish("run-3", [_shot("1C", "approved"), _shot("1D", "escalated")]) == 0
    assert len(ledger.rows(film="night-diner")) == 1
    assert [(e.shot, e.run_id) for e in latest(ledger, "night-diner", ["scene-01"])["scene-01"]] == [("1D", "run-1")]

    assert finish("run-4", [_shot("1C", "approved"), _shot("1D", "escalated", take=3)]) == 1   # another best take
    assert finish("run-5", [_shot("1C", "escalated"), _shot("1D", "escalated", take=3)]) == 2  # one more shot
    assert finish("run-6", [_shot("1C", "escalated"), _shot("1D", "escalated", take=3)]) == 0
    assert [e.run_id for e in latest(ledger, "night-diner", ["scene-01"])["scene-01"]] == ["run-5", "run-5"]


def test_the_best_take_is_of_the_stage_that_gave_up():
    from slate.flows.shot.shot import ClipOutcome, PanelOutcome, Take, best_take

    def take(stage, moment, n, quality, passed=False, uri="cas://x"):
        return Take(stage=stage, moment=moment, take=n, uri=uri, passed=passed, quality=quality,
                    reasons=[] if passed else [f"{stage} {n} failed"])
    # The end panel gave up: its best take, not the (better) approved start panel's.
    panels = PanelOutcome(shot="1E", approved={"start": "cas://s"}, escalated="end panel failed",
                          takes=[take("panel", "start", 1, 0.5, True), take("panel", "end", 1, -0.4),
                                 take("panel", "end", 2, -0.1), take("panel", "end", 3, -0.3)])
    assert (best_take(panels).moment, best_take(panels).take) == ("end", 2)
    ok = PanelOutcome(shot="1E", approved={"start": "cas://s"}, takes=[take("panel", "start", 1, 0.5, True)])
    assert best_take(ok, ClipOutcome(shot="1E", clip_uri="cas://c")) is None  # nothing escalated
    clips = [take("video", "clip", 1, -0.2), take("video", "clip", 2, -0.5)]
    assert best_take(ok, ClipOutcome(shot="1E", escalated="clip failed", takes=clips)).take == 1
    cut = take("continuity", "cut from 1D", 2, -0.3)
    assert best_take(ok, ClipOutcome(shot="1E", escalated="the cut does not hold", takes=clips, cut=cut)) is cut
    refused = [take("video", "clip", 1, -1.0, uri="")]
    assert best_take(ok, ClipOutcome(shot="1E", escalated="refused", takes=refused)).reasons == ["video 1 failed"]


def _escalation(stage=None, uri="cas://x", scores=(), reason="failed"):
    from datetime import datetime, timezone
    from slate.tasks.review.escalations import Escalation
    unusable = stage == "unusable"   # a clip take whose file could not be used (flows/shot/shot.py)
    stage = "video" if unusable else stage
    best = None if stage is None else {"stage": stage, "moment": "clip" if stage == "video" else "start", "take": 3,
                                       "uri": uri, "quality": -0.1, "scores": list(scores),
                                       "reasons": [reason.split("last reasons: ")[-1]] if unusable else []}
    return Escalation("scene-01", "1D", "run", datetime.now(timezone.utc), reason, best)


@pytest.mark.parametrize("stage,uri,scores,reason,wanted,not_wanted", [
    ("panel", "cas://p", [], "start panel failed the gate in 3 takes", ["composite: put the corrected panel at",
                                                                      "panel_override: overrides/scene-01-1D.png"],
     ["max_takes", "--video-model"]),
    ("video", "cas://c", [], "clip failed the gate in 3 takes", ["raise max_takes (now 3", "--video-model",
                                                               "a new start for the clip"], []),
    ("video", "", [], "clip refused by moderation on replicate:x, no fallback left", ["reword the shot's action"],
     ["composite", "max_takes"]),
    ("unusable", "", [], "clip failed the gate in 3 takes; last reasons: the clip from replicate:x was unusable: "
     "replicate: the provider's file was cut short (10 of 20 bytes), 3 times in a row",
     ["could not be used", "run again", "--video-model"], ["reword", "composite"]),
    ("continuity", "cas://f", [], "the cut from 1C does not hold", ["compare the two frames", "contact"], []),
    ("panel", "cas://p", [{"name": "judgeable", "value": 0.0, "threshold": 1.0, "passed": False,
                           "reason": "cannot judge: turnaround of 'gabe' is mode RGB with no alpha channel"}],
     "start panel: the judge cannot judge take 1", ["--judge gemini", "--cannot-judge warn"], ["composite"]),
])
def test_escalation_advice_follows_the_stage_that_failed(stage, uri, scores, reason, wanted, not_wanted):
    from slate.tasks.review.escalations import advice
    text = "\n".join(advice(_escalation(stage, uri, scores, reason), project="/films/f", scene_file="scenes/s.yaml",
                            current_override=None, max_takes=3))
    for words in wanted:
        assert words in text, text
    for words in not_wanted:
        assert words not in text, text


def test_thresholds_print_with_the_digits_that_show_the_difference():
    from slate.governor.gates import failing
    verdict = {"scores": [{"name": "artefacts", "value": 0.9952, "threshold": 0.997, "passed": False, "role": "block",
                           "reason": "a patch"}]}
    assert failing(verdict) == ["artefacts 0.995 < 0.997: a patch"]
    assert against(0.7412, 0.745) == "0.741 < 0.745" and against(0.5, 0.7) == "0.50 < 0.70"
