"""Continuity across cuts: the last frame of a shot against the first of the next, when they
share a place or people — measured on the example film's own panels, and end to end: a shot
whose panel passes its own gate but no longer matches the shot before it is escalated."""
from __future__ import annotations

import io

import numpy as np
import pytest
import yaml
from PIL import Image

from manifests import load_film
from media.continuity import palette_continuity
from providers.local import LocalImage
from providers.local_draw import hue_rotate
from providers.storage_local import LocalStorage
from tasks.plan import plan_from_project


def panels(root):
    painter = LocalImage(LocalStorage(root))
    return {p.shot: np.asarray(Image.open(io.BytesIO(painter.generate_panel(p.panel_request("start", 1))))
                               .convert("RGB")) for p in plan_from_project(load_film(root), "scene-01", "draft", 24)}


def test_clean_cuts_hold_and_off_model_ones_do_not(example_film):
    art = panels(example_film)
    pairs = [("1C", "1D"), ("1D", "1E"), ("1G", "1H"), ("1H", "1I")]  # the diner, shot after shot
    for a, b in pairs:
        assert palette_continuity(art[a], art[b])["passed"], (a, b)
        brighter = np.clip(art[b].astype(np.float32) * 1.25, 0, 255).astype(np.uint8)
        assert palette_continuity(art[a], brighter)["passed"], (a, b, "exposure alone must not break a cut")
        recoloured = np.asarray(hue_rotate(Image.fromarray(art[b]), 120).convert("RGB"))
        assert not palette_continuity(art[a], recoloured)["passed"], (a, b)
    street = art["1A"]
    assert not palette_continuity(art["1C"], street)["passed"]  # another place


@pytest.mark.e2e
def test_a_cut_that_does_not_hold_escalates_the_later_shot(example_film, prefect_harness, local_calls):
    from flows.scene import scene_flow, scene_result
    path = example_film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["shots"] = [s for s in doc["shots"] if s["id"] in ("1C", "1D")]
    doc["shots"][-1]["transition_out"] = {"kind": "cut", "duration": 0}
    # 1D's human composite: the diner with its right half pasted from the street by mistake. It
    # passes 1D's own panel gate (a composite is held only to its location's look) and its clip
    # matches it — but the cut from 1C does not hold.
    diner = np.asarray(Image.open(example_film / "locations" / "diner" / "diner_plate_APPROVED.png").convert("RGB"))
    street = np.asarray(Image.open(example_film / "locations" / "street" / "street_plate_APPROVED.png")
                        .convert("RGB").resize((diner.shape[1], diner.shape[0])))
    composite = diner.copy()
    composite[:, diner.shape[1] // 2:] = street[:, diner.shape[1] // 2:]
    (example_film / "overrides").mkdir()
    Image.fromarray(composite).save(example_film / "overrides" / "1D.png")
    doc["shots"][1]["panel_override"] = "overrides/1D.png"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    state = scene_flow(project=str(example_film), return_state=True)
    result = scene_result(state)
    shots = {s.shot: s for s in result.shots}
    assert shots["1C"].status == "approved"
    assert shots["1D"].status == "escalated" and "the cut from 1C does not hold" in shots["1D"].reason, shots["1D"]
    assert shots["1D"].video_takes == 1 and shots["1D"].continuity is not None and shots["1D"].continuity < 0.4
    assert state.name == "Escalated"
