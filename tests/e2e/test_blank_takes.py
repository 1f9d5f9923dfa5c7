"""A take with nothing in it never passes a gate, and is never shown to a paid judge (issue 20).

A black frame from a safety filter, a failed decode, an empty generation, a picture washed out
to a haze or drowned in noise: slate's content check (media/content.py) fails it before any
judge is asked. Measured where it lands: the verdicts and escalations a real `slate run` keeps,
the ledger's rows (no judge call for a blank take), and the requests the fake Gemini server
received (none carrying a blank picture).
"""
from __future__ import annotations

import base64
import io

import numpy as np
import pytest
import yaml
from PIL import Image
from typer.testing import CliRunner

from slate.governor.ledger import Ledger
from slate.media.content import content_fault, content_figures
from slate.cli import app
from slate.tasks.review.escalations import ESCALATED
from tests.scene_cuts import fit_music, keep_shots, without_finishing

runner = CliRunner()
FILM = "night-diner"
PAINTED = ("1A", "1C", "1D")   # none chained to another: each stands or falls on its own panel


def _clean(root, shot: str) -> Image.Image:
    import dataclasses

    from slate.manifests import load_film
    from slate.providers.local import LocalImage
    from slate.providers.storage_local import LocalStorage
    from slate.tasks.shot.plan import plan_from_project
    plan = next(p for p in plan_from_project(load_film(root), "scene-01", "draft", 24) if p.shot == shot)
    request = dataclasses.replace(plan.panel_request("start", 1), override_uri=None)
    return Image.open(io.BytesIO(LocalImage(LocalStorage(root)).generate_panel(request))).convert("RGB")


def _washed_out(img: Image.Image) -> Image.Image:
    a = np.asarray(img, dtype=np.float32)
    return Image.fromarray(np.clip(a.mean() + 0.2 * (a - a.mean()), 0, 255).round().astype(np.uint8))


# -- the check itself ----------------------------------------------------------------------------

def test_the_content_check_names_what_is_wrong_and_lets_a_drawn_panel_through(example_master):
    clean = _clean(example_master, "1C")
    rng = np.random.default_rng(4)
    noisy = np.clip(np.asarray(clean, np.float32) + rng.normal(0, 40, (clean.height, clean.width, 3)), 0, 255)
    stars = np.zeros((480, 854, 3), np.uint8)
    stars[rng.integers(0, 480, 300), rng.integers(0, 854, 300)] = 255
    cases = {"black": Image.new("RGB", clean.size, (0, 0, 0)), "mid-grey": Image.new("RGB", clean.size, (128,) * 3),
             "white": Image.new("RGB", clean.size, (255,) * 3), "washed": _washed_out(clean),
             "noise": Image.fromarray(noisy.astype(np.uint8)), "stars": Image.fromarray(stars)}
    said = {name: content_fault(img) for name, img in cases.items()}
    print(said)
    assert said["black"].startswith("flat: 100% of the picture within 4 levels of black")
    assert said["mid-grey"].startswith("flat: 100%") and "mid-grey" in said["mid-grey"]
    assert said["white"].startswith("flat: 100%") and "white" in said["white"]
    assert said["washed"].startswith("washed out")
    assert said["noise"].startswith("drowned in noise")
    assert said["stars"].startswith(("mostly black", "flat"))
    assert content_fault(clean) is None
    # A turnaround's figures measured on their own: an empty sheet has nothing where they should be.
    empty = np.zeros((384, 768), bool)
    assert content_figures(Image.new("RGB", (768, 384)), mask=empty)["share"] == 0.0
    assert content_fault(Image.new("RGB", (768, 384)), mask=empty, rules=("noise",)).startswith("empty")


# -- the panel gate in a real run, local judge -------------------------------------------------

@pytest.mark.e2e
@pytest.mark.usefixtures("local_calls", "prefect_harness")
def test_black_grey_and_washed_out_panels_fail_the_panel_gate_with_a_reason_and_no_judge(example_film):
    """Three shots whose panels are a black, a mid-grey and a washed-out (contrast x0.2) picture,
    dropped in as human composites: each escalates at its panel gate with the content check's
    reason; the judge is never asked (no panel-gate row in the ledger) and no clip is paid for."""
    shots = keep_shots(example_film, PAINTED)
    without_finishing(example_film)
    (example_film / "overrides").mkdir()
    pictures = {"1A": Image.new("RGB", (854, 480), (0, 0, 0)), "1C": Image.new("RGB", (854, 480), (128, 128, 128)),
                "1D": _washed_out(_clean(example_film, "1D"))}
    path = example_film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["shots"] = shots
    fit_music(doc)
    for s in doc["shots"]:
        pictures[s["id"]].save(example_film / "overrides" / f"{s['id']}.png")
        s["panel_override"] = f"overrides/{s['id']}.png"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))

    out = runner.invoke(app, ["run", str(example_film)])
    # Every shot escalated, so the scene made nothing: it ends Failed ("no shot ... passed its gates").
    assert "state: Failed" in out.output and "no shot of scene scene-01 passed its gates" in out.output, \
        out.output[-3000:]
    rows = Ledger.for_project(example_film).rows(film=FILM)
    escalated = {r.shot: r.parameters["best_take"] for r in rows if r.error_class == ESCALATED}
    assert sorted(escalated) == sorted(PAINTED), out.output[-3000:]
    said = {shot: [s for s in best["scores"] if not s["passed"]] for shot, best in escalated.items()}
    print(said)
    for shot, want in (("1A", "flat: 100% of the picture within 4 levels of black"),
                       ("1C", "flat: 100% of the picture within 4 levels of mid-grey"), ("1D", "washed out")):
        [content] = said[shot]
        assert content["name"] == "content" and content["role"] == "block", said[shot]
        assert content["reason"].startswith(f"the panel: {want}"), content
    assert [r for r in rows if r.stage in ("panel_gate", "video")] == []   # no judge, no clip


# -- a paid judge is never shown a blank picture ---------------------------------------------------

def _flat_images_sent(requests: list[dict]) -> tuple[int, int]:
    """(judge requests, of them the ones carrying a picture the content check fails)."""
    judged = blank = 0
    for r in requests:
        body = r["body"] if isinstance(r["body"], dict) else {}
        if (body.get("generationConfig") or {}).get("responseMimeType") != "application/json":
            continue   # not a verdict
        judged += 1
        parts = [p for c in body.get("contents") or [] for p in c.get("parts") or []]
        pictures = [Image.open(io.BytesIO(base64.urlsafe_b64decode(p["inlineData"]["data"])))
                    for p in parts if "inlineData" in p]
        blank += any(content_fault(p.convert("RGB")) for p in pictures if p.mode != "RGBA")
    return judged, blank


@pytest.mark.e2e
@pytest.mark.usefixtures("prefect_harness")
def test_a_black_panel_from_the_image_model_is_never_sent_to_the_paid_judge(example_film, fakes):
    """Gemini draws the panel and judges it (over real HTTP, the fake server). Its first panel
    comes back black (a safety filter's frame, answered as a success and billed): the panel gate
    fails it on content without asking the judge; the second take is judged and the shot renders.
    The fake received judge requests, and none carried a blank picture; the ledger holds one
    panel-gate call, for the second take."""
    keep_shots(example_film, ("1C",))
    without_finishing(example_film)
    fakes.faults({"provider": "gemini", "op": "generate", "kind": "blank", "times": 1,
                  "data": {"colour": [0, 0, 0]}})
    out = runner.invoke(app, ["run", str(example_film), "--panel-model", "gemini", "--judge", "gemini",
                              "--video-model", "replicate:bytedance/seedance-1-lite"])
    assert out.exit_code == 0 and "state: Completed" in out.output, out.output[-3000:]
    rows = [r for r in Ledger.for_project(example_film).rows(film=FILM) if r.status == "succeeded"]
    panels = sorted(r.take for r in rows if r.stage == "panel")
    gates = sorted(r.take for r in rows if r.stage == "panel_gate")
    assert panels == [1, 2] and gates == [2], [(r.stage, r.take) for r in rows]
    judged, blank = _flat_images_sent(fakes.requests("gemini"))
    assert judged >= 2 and blank == 0, (judged, blank)   # the sheets and the second take were judged


def test_the_local_judge_fails_a_blank_keyframe_and_a_blank_side_of_a_cut(example_master, tmp_path):
    """The local judge, which every rehearsal rests on, fails a black middle keyframe and a
    white first frame after a cut with `content`, naming the frame — before comparing anything
    (a grade fitted to a flat frame would make anything match it)."""
    from slate.manifests import load_film
    from slate.providers.base import ReferenceImages
    from slate.providers.local_judge import LocalJudge
    from slate.providers.storage_local import LocalStorage
    from slate.tasks.shot.plan import plan_from_project
    storage = LocalStorage(example_master)
    plans = {p.shot: p for p in plan_from_project(load_film(example_master), "scene-01", "draft", 24)}
    req, prev = plans["1D"].panel_request("start", 1), plans["1C"].panel_request("start", 1)
    refs = ReferenceImages(plate=storage.open_local(req.plate_uri),
                           turnarounds={c.id: storage.open_local(c.turnaround_uri) for c in req.characters})
    panel = tmp_path / "panel.png"
    _clean(example_master, "1D").save(panel)
    black, white = tmp_path / "black.png", tmp_path / "white.png"
    Image.new("RGB", (854, 480), (0, 0, 0)).save(black)
    Image.new("RGB", (854, 480), (255, 255, 255)).save(white)
    judge = LocalJudge()
    keys = judge.judge_keyframes({"first": panel, "middle": black, "last": panel}, panel, None, req, refs)
    assert [(s.name, s.passed) for s in keys.scores] == [("content", False)], keys.scores
    assert keys.scores[0].reason.startswith("the middle frame: flat: 100% of the picture within 4 levels of black")
    clean = judge.judge_keyframes({"first": panel, "middle": panel, "last": panel}, panel, None, req, refs)
    assert clean.passed and "content" not in {s.name for s in clean.scores}, clean.scores
    cut = judge.judge_continuity(panel, white, prev, req, refs)
    assert [(s.name, s.passed) for s in cut.scores] == [("content", False)], cut.scores
    assert cut.scores[0].reason.startswith("the first frame after the cut: flat") and "white" in cut.scores[0].reason
