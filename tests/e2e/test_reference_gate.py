"""The reference gate: a turnaround or plate that cannot be the film's reference stops the scene
before any paid call, naming the file; a good one is judged once per content hash.

slate's own reading of a sheet (media/sheet.py) is held to the policy on a seeded corpus made
from the example cast *after* drawing — other grounds, compression, scale, and faults made by
editing the drawn sheets: a view swapped from another character, one view's hair or outfit
recoloured, a person pasted into a view, a single view, a blank sheet, a photograph. Then the
gate in runs: the local judge (`slate check` and the scene), a vision judge behind the fake
Gemini API (its jobs counted at the fake), and a changed turnaround re-making exactly the shots
that use it (counted in the ledger).
"""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import yaml
from PIL import Image
from typer.testing import CliRunner

from benchmarks.references import SHEETS, clean_cases, far_colour, fault_cases, on_ground, recoloured, verdict
from slate.governor.gates import GatePolicy
from slate.governor.ledger import Ledger
from slate.manifests.turnaround import CELL_H, CELL_W, EXAMPLE_CAST
from slate.media.sheet import plate_scores
from slate.cli import app
from slate.tasks.gates.sheet_check import hold
from tests.scene_cuts import keep_shots, without_finishing

runner = CliRunner()


def test_the_sheet_reading_passes_every_clean_sheet_and_catches_every_edited_one():
    rng = np.random.default_rng(20261121)
    clean = clean_cases(rng)
    faults = fault_cases(rng)
    false_alarms = [(name, v["scores"]) for name, img in clean if not (v := verdict(img))["passed"]]
    missed = [(kind, name) for kind, name, img in faults if verdict(img)["passed"]]
    kinds = Counter(kind for kind, _, _ in faults)
    print(f"\nreference gate (local): {len(clean)} clean, {len(false_alarms)} refused; "
          f"{len(faults)} edited ({dict(kinds)}), {len(missed)} passed")
    assert not false_alarms, false_alarms
    assert not missed, missed


def test_a_failing_sheet_says_which_view_and_why():
    rng = np.random.default_rng(3)
    spec = EXAMPLE_CAST["leo"]
    v = verdict(recoloured(SHEETS["leo"], 2, spec.hair, far_colour(rng, spec.hair, spec.skin)))
    [head] = [s for s in v["scores"] if s["name"] == "head_agrees"]
    assert not head["passed"] and "3" in head["reason"] and "head colours" in head["reason"]
    photo = verdict(on_ground(SHEETS["leo"]).resize((768, 384)).rotate(3, expand=False, fillcolor=(10, 90, 30)))
    assert photo["passed"] is False  # a sheet photographed askew on a green desk: no plain ground or views agree


def test_a_vision_judge_decides_the_sheet_slates_reading_only_warns():
    """Under a vision judge, slate's reading of a sheet is a warning beside the judge's scores."""
    swapped = SHEETS["gabe"].copy()
    swapped.paste(SHEETS["nina"].crop((0, 0, CELL_W, CELL_H)), (0, 0))
    v = verdict(swapped, "vision")
    assert v["passed"] and any(s["role"] == "warn" and not s["passed"] for s in v["scores"])


def test_a_flat_plate_is_not_a_place():
    policy = GatePolicy.load(None)

    def passed(img):
        scores = [{"name": n, "value": v, "threshold": 1.0, "passed": v >= 1, "reason": r} for n, v, r in plate_scores(img)]
        return hold(policy, scores, "local", "draft")["passed"]

    from slate.manifests.example import draw_plate
    assert passed(draw_plate("diner"))
    assert not passed(Image.new("RGB", (1280, 720), (12, 12, 12)))


# -- the gate in runs ---------------------------------------------------------------------------

def two_shots(root, ids=("1A", "1C")):
    without_finishing(root)
    return keep_shots(root, ids)


def gabe_sheet(root):
    return root / "characters" / "gabe" / "gabe_turnaround_APPROVED.png"


def swap_a_view(root):
    sheet = Image.open(gabe_sheet(root)).convert("RGBA")
    sheet.paste(SHEETS["mia"].crop((2 * CELL_W, 0, 3 * CELL_W, CELL_H)), (2 * CELL_W, 0))
    sheet.save(gabe_sheet(root))


def touch_the_back_view(root):
    """A new version of gabe's sheet that is still a good one (a pixel of the back view)."""
    sheet = np.array(Image.open(gabe_sheet(root)).convert("RGBA"))
    ys, xs = np.nonzero(sheet[:, 3 * CELL_W:, 3] > 0)
    sheet[ys[len(ys) // 2], 3 * CELL_W + xs[len(xs) // 2], :3] ^= 1
    Image.fromarray(sheet).save(gabe_sheet(root))


@pytest.mark.e2e
def test_a_broken_turnaround_stops_the_scene_before_any_paid_call(example_film, prefect_harness, local_calls):
    from slate.flows.scene import scene_flow
    two_shots(example_film)
    swap_a_view(example_film)
    check = runner.invoke(app, ["check", str(example_film)])
    assert check.exit_code != 0
    line = next(ln for ln in check.output.splitlines() if "gabe_turnaround_APPROVED.png" in ln)
    assert "bible.yaml" in line and "characters[0].turnaround" in line and "outfit_agrees" in line, check.output
    state = scene_flow(project=str(example_film), return_state=True)
    assert state.name == "Refused" and "gabe_turnaround_APPROVED.png" in state.message
    assert Ledger.for_project(example_film).rows() == []  # no call was made, not even a free one
    assert not list((example_film / "renders").glob("*.mp4")) if (example_film / "renders").exists() else True


@pytest.mark.e2e
@pytest.mark.usefixtures("prefect_harness")
def test_a_vision_judge_refuses_a_sheet_once_per_content_and_a_new_sheet_is_judged_again(example_film, fakes):
    shots = two_shots(example_film)
    cast = sorted({c for s in shots for c in s.get("characters", [])})
    args = ["--panel-model", "gemini", "--judge", "gemini", "--video-model", "replicate:bytedance/seedance-1-lite"]
    fakes.faults({"provider": "gemini", "op": "judge", "kind": "judge_fail", "data": {"score": 0.3},
                  "contains": "TURNAROUND sheet of the character 'gabe'"})
    out = runner.invoke(app, ["run", str(example_film), *args])
    assert "state: Refused" in out.output and "gabe_turnaround_APPROVED.png" in out.output, out.output[-3000:]
    assert "same_person 0.30" in out.output and "characters[0].turnaround" in out.output
    made = Counter(f"{j['provider']}:{j['op']}" for j in fakes.jobs())
    assert made == {"gemini:judge": len(cast)}, made  # each sheet judged; no panel, no clip
    rows = Ledger.for_project(example_film).rows()
    assert {r.stage for r in rows} == {"reference_gate"} and all(r.scene == "*" for r in rows)

    again = runner.invoke(app, ["run", str(example_film), *args])
    assert "state: Refused" in again.output
    assert len(fakes.jobs()) == len(cast)  # the same sheet is never judged twice

    touch_the_back_view(example_film)  # a new sheet: judged anew (the fault is spent: it passes)
    fixed = runner.invoke(app, ["run", str(example_film), *args])
    assert "state: Completed" in fixed.output, fixed.output[-3000:]
    judged = [j for j in fakes.jobs() if j["op"] == "judge"]
    assert len([r for r in Ledger.for_project(example_film).rows() if r.stage == "reference_gate"]) == len(cast) + 1
    assert len(judged) > len(cast)


@pytest.mark.e2e
def test_a_changed_turnaround_remakes_exactly_the_shots_that_use_it(example_film, prefect_harness, local_calls):
    from slate.flows.scene import scene_flow
    shots = two_shots(example_film, ("1A", "1B", "1C"))
    with_gabe = {s["id"] for s in shots if "gabe" in s.get("characters", [])}
    assert with_gabe and with_gabe != {s["id"] for s in shots}
    first = scene_flow(project=str(example_film), return_state=True)
    assert first.name == "Completed", first.message
    ledger = Ledger.for_project(example_film)
    before = {r.id for r in ledger.rows()}
    # A new shade of gabe's hair in every view: still one person, and panels drawn from it differ.
    sheet = np.array(Image.open(gabe_sheet(example_film)).convert("RGBA"))
    hair = np.all(sheet[..., :3] == EXAMPLE_CAST["gabe"].hair, axis=-1)
    sheet[hair, 1] += 14
    Image.fromarray(sheet).save(gabe_sheet(example_film))
    second = scene_flow(project=str(example_film), return_state=True)
    assert second.name == "Completed", second.message
    new = [r for r in ledger.rows() if r.id not in before]
    remade = {r.shot for r in new}
    # Chained shots start from the previous shot's last frame: a remade shot remakes its chain.
    film = yaml.safe_load((example_film / "scenes" / "scene-01.yaml").read_text())
    chained = {s["id"] for s in film["shots"] if s.get("chain")}
    assert with_gabe <= remade <= with_gabe | chained, (remade, with_gabe)
    assert {r.stage for r in new} >= {"panel", "panel_gate", "video"}
    assert {r.shot for r in new if r.stage == "video"} <= with_gabe | chained
