"""`slate run` on fal's fake queue (tests/fakes/fal.py) over real HTTP: a whole scene rendered, each clip paid once."""

from __future__ import annotations

import json
import pytest
import yaml
from slate.governor.chokepoint import Usage
from slate.governor.ratecard import RateCard
from tests.fakes.control import fake_key, files_holding
from tests.scene_cuts import fit_music, without_finishing

from tests.integration.test_provider_fal import SEEDANCE_LITE, rows


def units_of(row) -> Usage:
    """What the rate card prices a ledger row by (the governor's Usage, read back from the row)."""
    p = row.parameters
    if row.stage == "video":
        return Usage("video", seconds=p["seconds"], resolution=p["resolution"])
    if row.stage == "panel":
        return Usage("image", images=1, resolution=f"{p['height']}p")
    return Usage("judge")


@pytest.mark.e2e
def test_slate_run_renders_the_scene_on_fal_paying_each_clip_once(example_film, prefect_harness, fakes):
    from typer.testing import CliRunner

    from slate.governor.ratecard import RateCard
    from slate.manifests import load_film
    from slate.cli import app
    from slate.tasks.run.run import listen
    from slate.tasks.run.events import ShotMoved

    # 1A, 1B, 1C: a start-only shot, a start+end shot, a pan; no finishing (the clips and their money are the subject).
    without_finishing(example_film)
    path = example_film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["shots"] = doc["shots"][:3]                 # 1A start only, 1B start+end, 1C a pan
    fit_music(doc)
    doc["shots"][-1]["transition_out"] = {"kind": "cut", "duration": 0}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    shots = [s.id for s in load_film(example_film).scene("scene-01").shots]

    approved: set[str] = set()
    stop = listen(lambda e: approved.add(e.shot) if isinstance(e, ShotMoved) and e.stage == "video"
                  and e.status == "approved" else None)
    try:
        # Panels and the judge stay local: the local judge reads only the local compositor's art.
        result = CliRunner().invoke(app, ["run", str(example_film), "--provider", "fal", "--panel-model", "local"])
    finally:
        stop()
    assert result.exit_code == 0, result.output
    assert "state: Completed" in result.output and "escalated" not in result.output
    assert approved == set(shots)

    card = RateCard.load(example_film)
    ledger_rows = rows(example_film)
    clips = [r for r in ledger_rows if r.stage == "video"]
    assert {(r.provider, r.model) for r in clips} == {("fal", SEEDANCE_LITE)}  # draft's default on fal
    assert all(r.status == "succeeded" for r in ledger_rows)
    for r in ledger_rows:
        assert r.actual_cost == card.price(f"{r.provider}:{r.model}", units_of(r)), r
    assert sorted(r.shot for r in clips) == sorted(shots)

    jobs = fakes.jobs("fal")
    assert len(jobs) == len(shots) == len(clips)
    assert len({j["fingerprint"] for j in jobs}) == len(jobs)     # none created twice
    assert {json.loads(r.job_id)["id"] for r in clips} == {j["id"] for j in jobs}

    secret = fake_key("fal")
    assert secret not in result.output
    assert not any(secret in repr(r) for r in ledger_rows)
    assert (example_film / "renders").is_dir() and any((example_film / ".slate").rglob("*"))
    assert files_holding(secret, example_film / ".slate", example_film / "renders") == []
