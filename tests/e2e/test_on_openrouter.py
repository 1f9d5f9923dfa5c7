"""`slate run` against OpenRouter's fake videos API (tests/fakes/openrouter.py) over real HTTP: a run completes, priced from the card, the key kept out."""

from __future__ import annotations

import base64
from decimal import Decimal
import pytest
import yaml
from slate.governor.chokepoint import Usage
from slate.governor.ratecard import RateCard
from tests.fakes.control import fake_key, files_holding
from tests.scene_cuts import fit_music, without_finishing

from tests.integration.test_provider_openrouter import MINI, posts, rows


@pytest.mark.e2e
def test_slate_run_with_openrouter_completes_prices_from_the_card_and_keeps_the_key_out(example_film, fakes,
                                                                                     prefect_harness):
    from typer.testing import CliRunner

    from slate.governor.ratecard import RateCard
    from slate.cli import app
    from slate.tasks.run.run import listen
    from slate.tasks.run.events import ShotMoved

    # 1A, 1B, 1C: start, start+end, start; no finishing (the calls, prices and key are the subject).
    without_finishing(example_film)
    path = example_film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["shots"] = doc["shots"][:3]  # 1A start frame, 1B start+end, 1C start frame
    fit_music(doc)
    doc["shots"][-1].update(transition_out={"kind": "cut", "duration": 0}, duration=4.5)  # asked as 5 s
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    events: list = []
    stop = listen(events.append)
    try:
        result = CliRunner().invoke(app, ["run", str(example_film), "--provider", "openrouter"])
    finally:
        stop()
    assert result.exit_code == 0, result.output
    assert "state: Completed" in result.output
    approved = {e.shot for e in events if isinstance(e, ShotMoved) and e.stage == "video" and e.status == "approved"}
    assert approved == {"1A", "1B", "1C"}
    assert not [e for e in events if getattr(e, "status", None) in ("escalated", "halted")]

    card = RateCard.load(example_film)
    ledger = rows(example_film)
    videos = [r for r in ledger if r.stage == "video" and r.status == "succeeded"]
    assert {r.shot for r in videos} == {"1A", "1B", "1C"} and all(r.model == MINI for r in videos)
    for r in ledger:
        units = (Usage("video", seconds=r.parameters["seconds"], resolution=r.parameters["resolution"])
                 if r.stage == "video" else None)
        if units is not None:
            assert r.actual_cost == card.price(f"{r.provider}:{r.model}", units), r
        else:
            assert r.provider == "local" and r.actual_cost == Decimal(0)
    jobs = fakes.jobs("openrouter")
    assert len(jobs) == len(videos) == 3 and len({j["fingerprint"] for j in jobs}) == 3
    asked = sorted((len(r["body"]["frame_images"]), r["body"]["duration"]) for r in posts(fakes))
    assert asked == [(1, 4), (1, 5), (2, 4)]  # 1A 2.5 s, 1C 4.5 s; 1B start+end, 3 s

    key = fake_key("openrouter")
    forms = [key.encode(), base64.b64encode(key.encode()).rstrip(b"=")]
    assert key not in result.output
    assert not [r.call_id for r in ledger if key in repr(r)]
    assert files_holding(forms, example_film / ".slate", example_film / "renders") == []
