"""`slate run --provider comfyui`: the example scene made on a film's own GPU (the fake ComfyUI,
tests/fakes/comfyui.py) from the workflows `slate init --example` writes — and a run killed while
a ComfyUI job runs, collected by the next run with no prompt queued twice (issue 41's done-when).

Counted where the effects land: the ledger's rows (status, cost, the GPU seconds kept in `usage`)
and the fake's own book of the prompts it was sent.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from slate.cli import app
from slate.governor.ledger import Ledger
from tests.holding_cli import read_trace
from tests.prefect_homes import slate_env
from tests.scene_cuts import keep_shots, without_finishing

pytestmark = pytest.mark.e2e
FILM = "night-diner"
REPO = Path(__file__).resolve().parents[2]
SHOTS = ("1A", "1B", "1C")   # a start-only shot, a start+end shot, a pan


def rows(film: Path):
    ledger = Ledger.for_project(film)
    try:
        return ledger.rows(film=FILM)
    finally:
        ledger.close()


def comfy_rows(film: Path):
    return [r for r in rows(film) if r.provider == "comfyui"]


def queued_once(fakes) -> list[dict]:
    """The prompts the fake was sent, each what was asked once (no request queued twice)."""
    jobs = fakes.jobs("comfyui")
    twice = {f: n for f, n in Counter(j["fingerprint"] for j in jobs).items() if n > 1}
    assert not twice, twice
    return jobs


def test_the_example_scene_renders_from_its_comfyui_workflows_at_no_cost(example_film, prefect_harness, fakes,
                                                                        monkeypatch):
    monkeypatch.setenv("SLATE_COMFYUI_POLL_SECONDS", "0.2")
    without_finishing(example_film)
    keep_shots(example_film, SHOTS)
    out = CliRunner().invoke(app, ["run", str(example_film), "--provider", "comfyui"])
    assert out.exit_code == 0 and "state: Completed" in out.output, out.output[-3000:]
    for shot in SHOTS:
        [line] = [ln for ln in out.output.splitlines() if f" {shot} " in ln]
        assert line.count("approved") == 2, line

    made = comfy_rows(example_film)
    panels = [r for r in made if r.stage == "panel" and r.status == "succeeded"]
    clips = [r for r in made if r.stage == "video" and r.status == "succeeded"]
    assert {r.shot for r in clips} == set(SHOTS) and {r.model for r in clips} == {"video-wan21"}
    assert {r.shot for r in panels} == set(SHOTS) and {r.model for r in panels} == {"panel-qwen-edit"}
    assert len([r for r in panels if r.shot == "1B"]) >= 2          # its start and its end panel
    for r in panels + clips:                                       # $0, with the GPU seconds each took
        assert r.actual_cost == Decimal(0) and r.estimate == Decimal(0), r
        assert r.usage["kind"] == ("image" if r.stage == "panel" else "video") and r.usage["gpu_seconds"] > 0, r
    # every prompt the fake ran is one of these rows, none asked twice
    jobs = queued_once(fakes)
    assert sorted(j["id"] for j in jobs) == sorted(r.job_id for r in made if r.job_id)
    # the workflow a clip was made by is in its ledger row (its variant), as it is in its cache key
    assert all(r.parameters.get("workflow") for r in panels + clips)
    # the judge is a vision model (the local judge reads only the local painter's drawings): paid, on its card
    assert {r.provider for r in rows(example_film) if r.stage.endswith("gate") and r.status == "succeeded"} == {"gemini"}

    again = CliRunner().invoke(app, ["run", str(example_film), "--provider", "comfyui"])
    assert again.exit_code == 0 and "provider calls made: 0" in again.output, again.output[-2000:]
    assert len(fakes.jobs("comfyui")) == len(jobs)


def test_a_run_killed_while_a_comfyui_job_runs_collects_it_next_run_and_queues_nothing_twice(example_film, fakes,
                                                                                             tmp_path):
    """The run is held at the first poll of a clip (tests/holding_cli.py) while the fake runs that
    prompt for eight seconds, SIGKILLed with its embedded Prefect server, and run again: the next run
    finds the prompt id in the ledger and the process gone, polls and fetches it — the fake's book
    holds each prompt once, and the held clip's row succeeds under the same job id."""
    without_finishing(example_film)
    keep_shots(example_film, ("1A", "1C"))
    # the first clip's prompt runs long enough to be killed under; everything after at the fake's pace
    fakes.faults({"provider": "comfyui", "op": "run", "kind": "slow", "data": {"seconds": 8.0}})
    env = slate_env(tmp_path / "prefect-home", **fakes.env(), SLATE_COMFYUI_POLL_SECONDS="0.2",
                    SLATE_EMBEDDED_PREFECT="1", PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120")
    command = [sys.executable, str(REPO / "tests" / "holding_cli.py"), "run", str(example_film),
               "--provider", "comfyui", "--panel-model", "local", "--judge", "local"]
    trace = tmp_path / "trace.jsonl"
    log = tmp_path / "first.log"
    with open(log, "w") as out:
        first = subprocess.Popen(command, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                 env={**env, "SLATE_TEST_TRACE": str(trace), "SLATE_TEST_HOLD_AT": "video:polling"})
        try:
            held = None
            deadline = time.time() + 240
            while held is None and time.time() < deadline:
                held = next((e for e in read_trace(trace) if e.get("holding")), None)
                assert first.poll() is None, log.read_text()[-3000:]
                time.sleep(0.2)
            assert held is not None, log.read_text()[-3000:]
        finally:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(30)
    # killed while its prompt runs on the GPU
    assert [item[1] for item in fakes.http.get("/comfyui/queue").json()["queue_running"]] == [held["job_id"]]
    [open_row] = [r for r in comfy_rows(example_film) if r.call_id == held["call_id"]]
    assert open_row.status == "submitted" and open_row.job_id == held["job_id"]
    assert [j["id"] for j in fakes.jobs("comfyui")] == [held["job_id"]]     # queued once, and running

    second = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=400)
    assert second.returncode == 0 and "state: Completed" in second.stdout, (second.stdout + second.stderr)[-3000:]
    [collected] = [r for r in comfy_rows(example_film) if r.call_id == held["call_id"]]
    assert (collected.status, collected.job_id, collected.actual_cost) == ("succeeded", held["job_id"], 0)
    assert collected.usage["gpu_seconds"] >= 7.5                  # the held prompt's own run, from its stamps
    clips = [r for r in comfy_rows(example_film) if r.stage == "video"]
    assert {r.shot for r in clips if r.status == "succeeded"} == {"1A", "1C"}
    jobs = queued_once(fakes)
    assert len(jobs) == len(clips) == 2                           # one prompt per clip, the held one not again
    assert not [r for r in rows(example_film) if r.status in ("reserved", "submitted", "unknown")]
