"""Upscale only after approval (issue 41 item 5): a final run with `--upscale-model
comfyui:upscale-esrgan` upscales the takes a person approved — and nothing else — through the
example's upscale workflow on the fake ComfyUI, checks each against its take, and delivers the cut
at twice the profile's size.

The example cut to 1A (made 2 s long: its clip is upscaled to 2560x1440 frame by frame) and 1C (the
shot the person rejects); panels, clips and the judge are the local provider's. The scene runs in
a thread as a terminal run would, and the test answers its approval from outside (as
tests/e2e/test_approval.py does). Counted where the effects land: the ledger's rows (each paid
upscale, each check's $0 row), the fake's own book of the prompts it was sent (`State.create`),
the delivered MP4 as ffmpeg reads it, and the approval form a person reads.
"""
from __future__ import annotations

import json
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from slate.flows.review.approval import APPROVAL_FILE, resume_when_paused
from slate.flows.scene import scene_flow
from slate.flows.run.scene_result import scene_result
from slate.governor.ledger import Ledger
from slate.manifests.options import RunOptions
from slate.media.probe import probe
from tests.scene_cuts import keep_shots, without_finishing

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_harness")]
FILM = "night-diner"
MODEL = "comfyui:upscale-esrgan"
FINAL = RunOptions(profile="final", upscale_model=MODEL)


def rows(film: Path, stage: str | None = None) -> list:
    ledger = Ledger.for_project(film)
    try:
        return [r for r in ledger.rows(film=FILM) if stage is None or r.stage == stage]
    finally:
        ledger.close()


def two_shots(film: Path, shots: tuple[str, ...] = ("1A", "1C")) -> None:
    """1A (2 s) to approve and 1C to reject; no finishing pass, no lines (the subject is the cut's picture)."""
    without_finishing(film)
    keep_shots(film, shots)
    path = film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["shots"][0]["duration"] = 2.0
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def start(film: Path, options: RunOptions) -> tuple[threading.Thread, dict]:
    box: dict = {}
    thread = threading.Thread(target=lambda: box.setdefault(
        "state", scene_flow(project=str(film), options=options, return_state=True)))
    thread.start()
    return thread, box


def approve(film: Path, shots: list[str], timeout: float = 300) -> str:
    """Wait for the run to ask, then approve `shots` (the rest rejected); the form it showed."""
    from tests.e2e.test_approval import form_text
    marker = film / ".slate" / APPROVAL_FILE
    deadline = time.time() + timeout
    while not marker.is_file():
        assert time.time() < deadline, "the scene never waited for approval"
        time.sleep(0.2)
    record = json.loads(marker.read_text())
    text = form_text(record["flow_run_id"])
    resume_when_paused(record["flow_run_id"], run_input={"approve": "only the shots ticked", "shots": shots,
                                                      "notes": "", "retake_allowance": "0", "approved_by": "Ana"})
    return text


def finished(thread: threading.Thread, box: dict):
    thread.join(400)
    assert not thread.is_alive(), "the scene never finished"
    return box["state"]


def test_a_final_run_upscales_the_approved_take_once_and_delivers_it_twice_the_size(example_film, fakes,
                                                                                  monkeypatch):
    monkeypatch.setenv("SLATE_COMFYUI_POLL_SECONDS", "0.1")
    two_shots(example_film)
    thread, box = start(example_film, FINAL)
    form = approve(example_film, ["1A"])
    state = finished(thread, box)
    assert state.is_completed(), (state.name, state.message)
    # What the person approved named the upscale, at $0 on the film's own GPU.
    assert "Upscale (part of the amount): 2x, to 2560x1440, by comfyui:upscale-esrgan" in form, form[:3000]
    shots = {s.shot: s for s in scene_result(state).shots}
    assert shots["1A"].status == "approved" and shots["1C"].status == "rejected", shots
    # One paid upscale, of the approved shot only, at $0 with the GPU seconds it took; asked twice
    # the final profile's 1280x720.
    [paid] = rows(example_film, "upscale")
    assert (paid.shot, paid.take, paid.provider, paid.model, paid.status) == \
        ("1A", 1, "comfyui", "upscale-esrgan", "succeeded")
    assert paid.actual_cost == Decimal(0) and paid.usage["kind"] == "upscale" and paid.usage["gpu_seconds"] > 0
    assert (paid.parameters["width"], paid.parameters["height"]) == (2560, 1440)
    [check] = rows(example_film, "upscale_check")
    assert (check.shot, check.error_class, check.actual_cost) == ("1A", "UpscaleCheckPassed", 0), check.error_message
    reading = check.parameters["reading"]
    assert (reading["width"], reading["height"], reading["frames"]) == (2560, 1440, 48) and reading["psnr"] >= 30
    assert shots["1A"].upscale is not None and shots["1A"].upscale.passed
    assert not [r for r in rows(example_film) if r.shot == "1C" and r.stage not in ("panel", "panel_gate")]
    [job] = fakes.jobs("comfyui")
    assert job["id"] == paid.job_id
    # Where an agent reads every gate: the check's reading beside the shot's other verdicts.
    from slate.agent.context import verdicts
    from slate.agent.session import Session
    [seen] = [v for v in verdicts(Session(example_film, cap=Decimal(0)), "scene-01", "1A")["verdicts"]
              if v["stage"] == "upscale_check"]
    assert seen["verdict"]["outcome"] == "UpscaleCheckPassed" and seen["verdict"]["reading"]["width"] == 2560
    # The delivered cut is the upscaled size, and its clip the upscaled one.
    cut = probe(example_film / "renders" / "scene-01-final.mp4")
    assert (cut.width, cut.height) == (2560, 1440), cut
    assert (scene_result(state).width, scene_result(state).height) == (2560, 1440)
    made = len(rows(example_film))

    # The same again, the same answer: every take, upscale and check from the cache — nothing paid,
    # nothing queued.
    thread, box = start(example_film, FINAL)
    approve(example_film, ["1A"])
    again = finished(thread, box)
    assert again.is_completed(), (again.name, again.message)
    assert len(rows(example_film)) == made and len(fakes.jobs("comfyui")) == 1
    assert (probe(example_film / "renders" / "scene-01-final.mp4").width, scene_result(again).provider_calls) == \
        (2560, 0)


def test_a_draft_run_with_an_upscale_model_upscales_nothing(example_film, fakes):
    without_finishing(example_film)
    keep_shots(example_film, ("1A",))
    state = scene_flow(project=str(example_film), options=RunOptions(upscale_model=MODEL), return_state=True)
    assert state.is_completed(), (state.name, state.message)
    assert not rows(example_film, "upscale") and not rows(example_film, "upscale_check")
    assert fakes.jobs("comfyui") == []
    cut = probe(example_film / "renders" / "scene-01-draft.mp4")
    assert (cut.width, cut.height) == (854, 480), cut


def test_a_run_cap_too_small_for_the_upscale_refuses_it(example_film, fakes, monkeypatch):
    """The film prices its GPU (rates.toml): each shot's upscale is on the approval form and in its
    total (1A's 2 s an estimated $0.60, part of what is approved with it), and the run's cap is
    $0.25: the governor refuses the upscale like any paid call, the run halts, and nothing is
    queued or written past the cap."""
    monkeypatch.setenv("SLATE_COMFYUI_POLL_SECONDS", "0.1")
    two_shots(example_film)
    (example_film / "rates.toml").write_text(
        '[models."comfyui:upscale-*"]\nkind = "upscale"\nper_gpu_second = "0.01"\ngpu_seconds_per_second = 30\n'
        'source = "a test\'s rented GPU"\nconfidence = "D"\n')
    thread, box = start(example_film, FINAL.model_copy(update={"run_cap_usd": Decimal("0.25")}))
    text = approve(example_film, ["1A"])
    state = finished(thread, box)
    # The form: each shot's upscale, in the total; what the person approved, 1A's clip and upscale.
    assert "by comfyui:upscale-esrgan once its clip passes, then checked against the take — $0.60" in text  # 1A: 2 s
    assert "by comfyui:upscale-esrgan once its clip passes, then checked against the take — $1.05" in text  # 1C: 3.5 s
    assert "**Total estimate: $1.65** for 2 clip(s)" in text, text[:600]
    with Ledger.for_project(example_film) as ledger:
        [decision] = ledger.approvals(film=FILM)
    assert "$0.60 approved in all" in decision.message, decision.message
    assert state.name == "Halted", (state.name, state.message)
    shots = {s.shot: s for s in scene_result(state).shots}
    assert shots["1A"].status == "halted" and "cap" in shots["1A"].reason, shots["1A"]
    assert not [r for r in rows(example_film, "upscale") if r.status in ("reserved", "submitted", "succeeded")]
    assert fakes.jobs("comfyui") == []
    with Ledger.for_project(example_film) as ledger:
        assert ledger.totals(film=FILM).committed <= Decimal("0.25")
