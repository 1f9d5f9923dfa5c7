"""Tightening a threshold in a film's gates.toml changes a real run's outcome without paying the judge again (the verdicts are kept; the policy decides)."""

from __future__ import annotations

from slate.manifests.options import RunOptions
import pytest
import yaml
from PIL import Image


@pytest.mark.e2e
def test_tightening_a_threshold_changes_the_outcome_without_paying_the_judge_again(example_film, prefect_harness,
                                                                                    local_calls):
    from slate.flows.scene import scene_flow
    from slate.flows.run.scene_result import scene_result
    from slate.governor.ledger import Ledger
    from tests.scene_cuts import fit_music, without_finishing
    without_finishing(example_film)  # 1A alone, its panel a composite: the gate's verdict is the subject
    path = example_film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["shots"] = doc["shots"][:1]
    fit_music(doc)
    # A drawn panel scores 1.0 everywhere with the local judge (each region matches its blocking),
    # so there is nothing to tighten; a human composite is held to the plate's colours, a score
    # below 1. Here: the street plate a little brighter, as a composite of shot 1A in the street.
    from PIL import Image, ImageEnhance
    (example_film / "overrides").mkdir()
    plate = Image.open(example_film / "locations" / "street" / "street_plate_APPROVED.png").convert("RGB")
    ImageEnhance.Brightness(plate).enhance(1.15).save(example_film / "overrides" / "1A.png")
    doc["shots"][0]["panel_override"] = "overrides/1A.png"
    # The composite is the empty street: nobody is named in it (a clip without the shot's named
    # character is escalated by the keyframe gate's presence check).
    doc["shots"][0]["characters"] = []
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    first = scene_flow(project=str(example_film), options=RunOptions(max_takes=1), return_state=True)
    assert first.name == "Completed"
    gates_before = [r for r in Ledger.for_project(example_film).rows(film="night-diner") if r.stage == "panel_gate"]
    (example_film / "gates.toml").write_text("[panel.local]\nlocation = { threshold = 0.999 }\n")
    second = scene_flow(project=str(example_film), options=RunOptions(max_takes=1), return_state=True)
    result = scene_result(second)
    assert second.name == "Failed" and result.shots[0].status == "escalated"
    assert "location" in result.shots[0].reason and "< 1.00" in result.shots[0].reason
    gates_after = [r for r in Ledger.for_project(example_film).rows(film="night-diner") if r.stage == "panel_gate"]
    assert len(gates_after) == len(gates_before)  # the stored verdict was read again, not paid for again
