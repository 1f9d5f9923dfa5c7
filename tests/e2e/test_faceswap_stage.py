"""`face_swap:` in a scene (issue 41's done-when: "a face-swap step runs and is gated"): the example's
medium two-shot 1D asks for Jenny's face swapped, the clip is made by the local painter, and the
swap runs through the film's face-swap workflow on the fake ComfyUI, gated again before the cut.

Counted where the effects land: the ledger's rows (the swap's paid row at $0 with its GPU
seconds, the gate's $0 row with its verdict, each take's), the prompts in the fake's book, and
`slate check` refusing a face swap no model can make before anything is spent. The swap gate's
rule (a swap that repaints the set taken again; one that spoils another face every time
escalated) is held on one shot in-process: tests/integration/test_stage_rules.py.
"""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from slate.cli import app
from slate.governor.ledger import Ledger
from tests.scene_cuts import keep_shots, without_finishing

pytestmark = pytest.mark.e2e
FILM = "night-diner"
SWAP = ["--faceswap-model", "comfyui:faceswap-reactor"]


def rows(film: Path):
    ledger = Ledger.for_project(film)
    try:
        return ledger.rows(film=FILM)
    finally:
        ledger.close()


def swap_jenny_in_1d(film: Path) -> None:
    without_finishing(film)
    keep_shots(film, ("1D",))
    path = film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["shots"][0]["face_swap"] = ["jenny"]
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def test_a_face_swap_no_model_can_make_is_refused_before_anything_is_spent(example_film):
    swap_jenny_in_1d(example_film)
    out = CliRunner().invoke(app, ["check", str(example_film)])
    assert out.exit_code == 1, out.output
    assert "scene-01.yaml" in out.output and "1D" in out.output and "face_swap" in out.output, out.output
    assert "--faceswap-model" in out.output
    assert not rows(example_film)


def test_the_shot_is_swapped_gated_and_cut_and_a_second_run_pays_nothing(example_film, prefect_harness, fakes,
                                                                        monkeypatch):
    monkeypatch.setenv("SLATE_COMFYUI_POLL_SECONDS", "0.1")
    swap_jenny_in_1d(example_film)
    out = CliRunner().invoke(app, ["run", str(example_film), *SWAP])
    assert out.exit_code == 0 and "state: Completed" in out.output, out.output[-3000:]
    made = rows(example_film)
    [swap] = [r for r in made if r.stage == "faceswap"]
    assert (swap.shot, swap.take, swap.provider, swap.model, swap.status) == \
        ("1D", 1, "comfyui", "faceswap-reactor", "succeeded")
    assert swap.actual_cost == Decimal(0) and swap.usage["kind"] == "faceswap" and swap.usage["gpu_seconds"] > 0
    assert swap.parameters["character"] == "jenny" and swap.parameters["face_index"] == 1   # Gabe stands left
    [gate] = [r for r in made if r.stage == "faceswap_gate"]
    assert gate.error_class == "SwapGatePassed", gate.error_message
    assert {s["name"] for s in gate.parameters["scores"]} >= {"swap_identity", "swap_others", "swap_location",
                                                              "swap_length", "swap_motion"}
    [job] = fakes.jobs("comfyui")
    assert job["id"] == swap.job_id
    # Where an agent reads every gate: its `verdicts` of the shot, the swap gate's scores among them.
    from slate.agent.context import verdicts
    from slate.agent.session import Session
    [seen] = [v for v in verdicts(Session(example_film, cap=Decimal(0)), "scene-01", "1D")["verdicts"]
              if v["stage"] == "faceswap_gate"]
    assert seen["verdict"]["outcome"] == "SwapGatePassed" and seen["verdict"]["scores"] == gate.parameters["scores"]
    # The cut holds the swap: the scene's timeline (what it was stitched from) names the swap's clip.
    [cut_in] = json.loads((example_film / ".slate" / "timelines" / "scene-01-draft.json").read_text())["shots"]
    assert swap.artifact_uri and Path(cut_in["media"]).name == swap.artifact_uri.removeprefix("cas://"), cut_in
    # Again: from the can, nothing paid, nothing queued.
    again = CliRunner().invoke(app, ["run", str(example_film), *SWAP])
    assert again.exit_code == 0, again.output[-2000:]
    assert len(rows(example_film)) == len(made) and len(fakes.jobs("comfyui")) == 1
