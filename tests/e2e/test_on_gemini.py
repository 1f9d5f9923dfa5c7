"""`slate run` against the fake Gemini API (tests/fakes/gemini.py) over real HTTP: every shot rendered, priced from the rate card."""

from __future__ import annotations

import json
import pytest
import yaml
from slate.governor.chokepoint import Usage
from slate.governor.ratecard import RateCard
from slate.providers.storage_local import LocalStorage
from tests.fakes.control import fake_key, files_holding
from tests.scene_cuts import fit_music, without_finishing

from tests.integration.test_provider_gemini import JUDGE, PAINTER, VEO, jobs, rows, sent


@pytest.mark.e2e
def test_slate_run_with_gemini_renders_every_shot_priced_from_the_rate_card(example_film, prefect_harness, fakes):
    from typer.testing import CliRunner

    from slate.governor.ratecard import RateCard
    from slate.cli import app

    # 1A, 1B: a start frame and start+end frames; no finishing (the calls and their prices are the subject).
    without_finishing(example_film)
    path = example_film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["shots"] = doc["shots"][:2]   # 1A (start frame), 1B (start and end frames)
    fit_music(doc)
    doc["shots"][-1]["transition_out"] = {"kind": "cut", "duration": 0}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))

    result = CliRunner().invoke(app, ["run", str(example_film), "--provider", "gemini"])
    assert result.exit_code == 0, result.output
    assert "state: Completed" in result.output and "escalated" not in result.output

    ledger = rows(example_film)
    card = RateCard.load(example_film)
    assert {r.shot for r in ledger if r.stage == "video" and r.status == "succeeded"} == {"1A", "1B"}
    assert all(r.status == "succeeded" for r in ledger), [(r.stage, r.status, r.error_message) for r in ledger]
    for r in ledger:
        if r.stage == "video":
            units = Usage("video", seconds=r.parameters["seconds"], resolution=r.parameters["resolution"])
        elif r.stage == "panel":
            units = Usage("image", images=1)
        else:
            verdict = json.loads(LocalStorage(example_film).get_bytes(r.artifact_uri))
            units = Usage(**verdict["usage"])
        assert r.actual_cost == card.price(f"{r.provider}:{r.model}", units), (r.stage, r.shot)
    assert {(r.stage, r.model) for r in ledger} >= {("panel", PAINTER), ("video", VEO), ("panel_gate", JUDGE),
                                                    ("keyframe_gate", JUDGE)}
    video_jobs = jobs(fakes)
    assert len(video_jobs) == 2 and len({j["fingerprint"] for j in video_jobs}) == 2
    [end_frame_shot] = [r for r in sent(fakes, ":predictLongRunning") if "lastFrame" in r["body"]["instances"][0]]
    assert end_frame_shot["body"]["parameters"]["durationSeconds"] == 4

    secret = fake_key("gemini").encode()
    assert secret.decode() not in result.output
    assert not any(secret.decode() in repr(r) for r in ledger)
    assert files_holding(secret, example_film / ".slate", example_film / "renders") == []
