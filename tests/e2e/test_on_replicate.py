"""`slate run` with Replicate's fake (tests/fakes/replicate.py) over real HTTP: a whole scene rendered, every shot paid once."""

from __future__ import annotations

import json
import pytest
import yaml
from slate.governor.chokepoint import Usage
from slate.governor.ratecard import RateCard
from tests.fakes.control import fake_key, files_holding
from tests.scene_cuts import fit_music, without_finishing

from tests.integration.test_provider_replicate import LITE, rows


# -- 3. end to end ---------------------------------------------------------------------------------
@pytest.mark.e2e
def test_slate_run_with_replicate_renders_every_shot(example_film, prefect_harness, fakes):
    from typer.testing import CliRunner

    from slate.governor.ratecard import RateCard
    from slate.cli import app

    # 1A, 1B, 1C: a start-only shot, a start+end shot, a pan; no finishing (the clips and their money are the subject).
    without_finishing(example_film)
    path = example_film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["shots"] = doc["shots"][:3]   # a start-only shot, a start+end shot, a pan
    fit_music(doc)
    doc["shots"][-1]["transition_out"] = {"kind": "cut", "duration": 0}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    # Panels are drawn locally: the local judge reads only the local provider's drawings, and
    # no judge of Replicate's exists; every clip is Replicate's.
    result = CliRunner().invoke(app, ["run", str(example_film), "--provider", "replicate", "--panel-model", "local"])
    assert result.exit_code == 0, result.output
    assert "state: Completed" in result.output
    for shot in ("1A", "1B", "1C"):   # the progress table: panel and video approved
        [line] = [ln for ln in result.output.splitlines() if f" {shot} " in ln]
        assert line.count("approved") == 2, line
    assert "escalated" not in result.output and "halted" not in result.output

    ledger = rows(example_film)
    videos = [r for r in ledger if r.stage == "video"]
    assert {r.shot for r in videos} == {"1A", "1B", "1C"}
    assert all(r.status == "succeeded" and (r.provider, r.model) == ("replicate", LITE) for r in videos)
    card = RateCard.load(example_film)
    for r in videos:
        units = Usage("video", seconds=r.parameters["seconds"], resolution=r.parameters["resolution"])
        assert r.actual_cost == card.price(f"replicate:{r.model}", units) > 0
    jobs = fakes.jobs("replicate")
    assert len(jobs) == len(videos) == 3
    assert len({j["fingerprint"] for j in jobs}) == len(jobs)   # none asked twice
    gates = [r for r in ledger if r.stage == "keyframe_gate"]
    assert {r.shot for r in gates} == {"1A", "1B", "1C"}
    assert all(r.actual_cost == 0 for r in ledger if r.provider == "local")

    again = CliRunner().invoke(app, ["run", str(example_film), "--provider", "replicate", "--panel-model", "local"])
    assert again.exit_code == 0, again.output
    assert "provider calls made: 0" in again.output and len(fakes.jobs("replicate")) == 3

    key = fake_key("replicate")
    assert key not in result.output + again.output
    assert all(key not in json.dumps([str(v) for v in vars(r).values()]) for r in ledger)
    assert files_holding(key, example_film / ".slate", example_film / "renders") == []
