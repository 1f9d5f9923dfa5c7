"""The budget-halt scene: a rehearsal priced at about $3.50 against a $0.50 cap.

The example scene runs on the local provider, priced as Kling v2.5 turbo pro on Replicate
($0.07/s, billed in 5 s blocks: $0.35 a clip, $3.15 for the nine clips, $3.47 expected with
retakes). With a $0.50 per-run cap the second clip is refused; the run ends "Halted" with the
refusal as its message, having spent $0.35. Raised to $5, the next run resumes: the finished
clip is cached, the other eight are paid once, and the film's total equals a clean run's.
"""
from __future__ import annotations

from decimal import Decimal

import pytest

from flows.scene import scene_flow
from governor.budget import SlateBudget
from governor.ledger import Ledger
from providers.local import LocalVideo
from providers.storage_local import LocalStorage

pytestmark = pytest.mark.e2e
KLING = "replicate:kwaivgi/kling-v2.5-turbo-pro"


def test_a_capped_rehearsal_halts_before_the_cap_and_resumes_when_raised(example_film, prefect_harness, capsys):
    from typer.testing import CliRunner
    from slate.cli import app
    estimate = CliRunner().invoke(app, ["estimate", str(example_film), "--price-as", KLING, "--cap", "0.50"])
    assert "expected total: $3.47 — does NOT fit the per-run cap $0.50" in estimate.output, estimate.output

    state = scene_flow(project=str(example_film), price_as=KLING, cap=Decimal("0.50"), return_state=True)
    halted = state.result(raise_on_failure=False)
    ledger = Ledger.for_project(example_film)
    rows = ledger.rows(film="night-diner")
    videos = [r for r in rows if r.stage == "video"]
    print(f"\nbudget halt: estimate $3.47 expected ($3.15 one take); cap $0.50; "
          f"spent ${ledger.totals(film='night-diner').committed}; {state.message}")
    assert state.name == "Halted" and state.is_failed()
    assert state.message == ("per-run cap $0.50 would be exceeded (spent $0.35, reserved $0.00, "
                             "next call $0.35): halted")
    assert [r.status for r in videos] == ["succeeded", "refused"]
    assert ledger.totals(film="night-diner").committed == Decimal("0.35") <= Decimal("0.50")
    assert halted.halted == state.message
    assert sum(s.status == "approved" for s in halted.shots) <= 1
    assert len(LocalVideo(LocalStorage(example_film)).submissions()) == 1

    resumed = scene_flow(project=str(example_film), price_as=KLING, cap=Decimal("5"), return_state=True)
    result = resumed.result()
    assert resumed.name == "Completed"
    assert [s.status for s in result.shots] == ["approved"] * 9
    assert ledger.totals(film="night-diner").committed == Decimal("3.15")  # = a clean run's spend
    assert Decimal(result.spent_usd) == Decimal("2.80")  # the first clip was not paid twice
    fingerprints = [s["fingerprint"] for s in LocalVideo(LocalStorage(example_film)).submissions()]
    assert len(fingerprints) == len(set(fingerprints)) == 9


def test_the_budget_block_is_where_caps_live(example_film, prefect_harness):
    """The run's caps come from the film's slate-budget block (editable on the Blocks page)."""
    scene_doc = example_film / "scenes" / "scene-01.yaml"
    import yaml
    doc = yaml.safe_load(scene_doc.read_text())
    doc["shots"] = doc["shots"][:1]
    scene_doc.write_text(yaml.safe_dump(doc, sort_keys=False))
    block = None
    try:
        scene_flow(project=str(example_film), return_state=True)  # creates the block from settings
        block = SlateBudget.load("night-diner")
        assert (block.run_cap_usd, block.film_cap_usd, block.max_takes) == (Decimal("25"), Decimal("250"), 3)
        block.film_cap_usd = Decimal("0.20")  # what an edit on the Blocks page does
        block.save("night-diner", overwrite=True)
        (example_film / "renders").exists()
        doc["shots"][0]["seed"] = 99  # a new take: not cached
        scene_doc.write_text(yaml.safe_dump(doc, sort_keys=False))
        state = scene_flow(project=str(example_film), price_as=KLING, return_state=True)
        assert state.name == "Halted"
        assert state.message.startswith("per-film cap $0.20 would be exceeded")
    finally:
        if block is not None:
            block.film_cap_usd = Decimal("250")
            block.save("night-diner", overwrite=True)
