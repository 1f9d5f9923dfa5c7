"""An escalated shot takes a human composite, and only its chain is paid again."""

from __future__ import annotations

import dataclasses
import re
import pytest
import yaml
from typer.testing import CliRunner
from slate.governor.chokepoint import Usage
from slate.governor.ledger import Ledger
from slate.governor.ratecard import RateCard
from slate.manifests import load_film
from slate.providers.local import LocalImage
from slate.providers.storage_local import LocalStorage
from slate.cli import app
from slate.governor.gates import against
from slate.tasks.review.escalations import ESCALATED, latest, record
from slate.tasks.shot.plan import plan_from_project
from tests.scene_cuts import fit_music, without_finishing


runner = CliRunner()


PRICE_AS = "replicate:bytedance/seedance-1-pro"


PAID = ("succeeded", "failed", "submitted", "unknown")


def _validation_row(shot: str) -> dict:
    """The shot's row of the scene's validation table, as the Prefect server holds the artifact."""
    import json

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(
            key=ArtifactFilterKey(any_=["night-diner-scene-01-draft-validation"])))
    data = max(found, key=lambda a: a.created).data
    table = json.loads(data) if isinstance(data, str) else data
    return next(row for row in table if row["shot"] == shot)


def _clean_panel(root, shot: str) -> bytes:
    """The panel a clean run draws for this shot (what a person would paint over)."""
    plan = next(p for p in plan_from_project(load_film(root), "scene-01", "draft", 24) if p.shot == shot)
    request = dataclasses.replace(plan.panel_request("start", 1), override_uri=None)
    return LocalImage(LocalStorage(root)).generate_panel(request)


@pytest.mark.e2e
@pytest.mark.usefixtures("local_calls", "prefect_harness")
def test_an_escalated_shot_takes_a_composite_and_only_its_chain_is_paid_again(example_film):
    # 1C (must come all from the cache), 1D (escalated) and 1E (chained to it); no finishing.
    without_finishing(example_film)
    path = example_film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["shots"] = [s for s in doc["shots"] if s["id"] in ("1C", "1D", "1E")]  # 1E is chained to 1D
    fit_music(doc)
    assert doc["shots"][2]["chain"]
    # A first composite for 1D that went wrong: the street, for a shot in the diner.
    (example_film / "overrides").mkdir()
    (example_film / "overrides" / "first-try-1D.png").write_bytes(
        (example_film / "locations" / "street" / "street_plate_APPROVED.png").read_bytes())
    doc["shots"][1]["panel_override"] = "overrides/first-try-1D.png"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))

    first = runner.invoke(app, ["run", str(example_film), "--price-as", PRICE_AS])
    assert "state: Escalated" in first.output and "escalated scene-01/1D" in first.output, first.output[-3000:]
    ledger = Ledger.for_project(example_film)
    [record] = [r for r in ledger.rows(film="night-diner") if r.error_class == ESCALATED]
    assert record.shot == "1D" and record.status == "released" and record.actual_cost == 0
    best = record.parameters["best_take"]
    assert best["stage"] == "panel" and best["uri"].startswith("cas://")
    assert [s["name"] for s in best["scores"] if not s["passed"]] == ["location"]
    assert f"panel start take {best['take']}" in _validation_row("1D")["best take"]

    shown = runner.invoke(app, ["escalations", str(example_film)])
    assert shown.exit_code == 0, shown.output
    out = shown.output
    print(out)
    assert "scene scene-01: 1 escalated shot(s)" in out and "shot 1D:" in out, out
    location = next(s for s in best["scores"] if s["name"] == "location")
    assert (f"failing: location {against(location['value'], location['threshold'])} — "
            f"{location['reason']}") in out, out
    assert f"best take: panel start take {best['take']}" in out
    assert str(LocalStorage(example_film).open_local(best["uri"])) in out  # the image to look at
    composite = re.search(r"put the corrected panel at (\S+)", out).group(1)
    line = re.search(r"^\s+(panel_override: \S+)\s*$", out, re.M).group(1)
    assert composite == str((example_film / "overrides" / "scene-01-1D.png").resolve())
    assert "in place of its panel_override: overrides/first-try-1D.png" in out

    # The person paints the composite where it was asked for and adds the printed line.
    with open(composite, "wb") as f:
        f.write(_clean_panel(example_film, "1D"))
    key = line.split(": ", 1)[1]
    doc["shots"][1]["panel_override"] = key
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    before = {r.call_id for r in ledger.rows(film="night-diner")}

    second = runner.invoke(app, ["run", str(example_film), "--price-as", PRICE_AS])
    assert "state: Completed" in second.output, second.output[-3000:]
    new = [r for r in ledger.rows(film="night-diner") if r.call_id not in before]
    paid = [r for r in new if r.status in PAID]
    assert {r.shot for r in paid} == {"1D", "1E"}, [(r.shot, r.stage) for r in paid]  # 1C: all from the cache
    assert sorted(r.shot for r in paid if r.stage == "video") == ["1D", "1E"]
    assert [(r.shot, r.take) for r in paid if r.stage == "panel"] == [("1D", 1)]  # 1E's panels are cached
    assert [r.status for r in paid if r.stage == "panel_gate"] == ["succeeded"]  # the composite was judged
    card, seconds = RateCard.load(example_film), {s["id"]: s["duration"] for s in doc["shots"]}
    clips = sum(card.price(PRICE_AS, Usage("video", seconds=seconds[s], resolution="480p")) for s in ("1D", "1E"))
    assert sum((r.actual_cost for r in paid), type(clips)(0)) == clips
    assert latest(ledger, "night-diner", ["scene-01"]) == {"scene-01": []}
    after = runner.invoke(app, ["escalations", str(example_film), "--scene", "scene-01"])
    assert "scene scene-01: no escalated shot in its latest run" in after.output, after.output
