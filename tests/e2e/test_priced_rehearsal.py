"""Every stage priced in a rehearsal: `--price-as` once per capability re-prices panels, judge calls
and video; `slate estimate` prices all three and gives a range (one take per shot .. the takes the
film's shots needed, or its take policy) and the cost per delivered second. The example film runs on
the local provider, priced as a real lineup, under a real Prefect test server."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from slate.manifests.options import RunOptions
from slate.governor.ledger import Ledger
from slate.cli import app
from tests.scene_cuts import keep_shots, without_finishing

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("local_calls", "prefect_harness")]
runner = CliRunner()
PANELS, JUDGE, VIDEO = "gemini:gemini-2.5-flash-image", "gemini:gemini-2.5-flash", "replicate:bytedance/seedance-1-pro"
FULL = ["--price-as", PANELS, "--price-as", JUDGE, "--price-as", VIDEO]


def money(text: str, label: str) -> Decimal:
    found = re.search(re.escape(label) + r"\s*\$([0-9.,]+)", text)
    assert found, text
    return Decimal(found.group(1).replace(",", ""))


def estimate(root, *args) -> str:
    out = runner.invoke(app, ["estimate", str(root), *args])
    assert out.exit_code == 0, out.output
    return out.output


def own_budget(root, film_id: str) -> str:
    """The copy under its own film id: a film's budget block (on the session's Prefect server) is
    made from the first run's settings, so a low cap typed here must not become another test's."""
    path = root / "film.yaml"
    path.write_text(path.read_text().replace("id: night-diner", f"id: {film_id}", 1))
    return film_id


def spent(root, film="night-diner") -> dict[str, Decimal]:
    """What the ledger committed, by stage."""
    by: dict[str, Decimal] = {}
    for r in Ledger.for_project(root).rows(film=film):
        if r.actual_cost is not None:
            by[r.stage] = by.get(r.stage, Decimal(0)) + Decimal(r.actual_cost)
    return by


def test_a_rehearsal_priced_as_a_full_lineup_books_every_stage_and_halts_at_a_cap_below_its_bill(example_film):
    keep_shots(example_film, ("1A", "1B", "1C"))
    without_finishing(example_film)
    film = own_budget(example_film, "night-diner-capped")
    video_only = money(estimate(example_film, "--price-as", VIDEO), "range:")
    full = estimate(example_film, *FULL)
    low = money(full, "range:")
    assert "one take of everything: panels $" in full and f"judge priced as {JUDGE}" in full.replace("\n", " ")
    assert money(full, "panels") > 0 and money(full, "judge") > 0 and money(full, "video") > 0
    assert low > video_only   # panels and judge calls now cost something
    cap = ((video_only + low) / 2).quantize(Decimal("0.01"))
    out = runner.invoke(app, ["run", str(example_film), *FULL, "--cap", str(cap)])
    assert "halted" in out.output.lower() or "Halted" in out.output, out.output[-3000:]
    by = spent(example_film, film)
    assert by.get("panel", 0) > 0 and by.get("video", 0) > 0, by
    assert by.get("panel_gate", 0) + by.get("keyframe_gate", 0) + by.get("reference_gate", 0) > 0, by
    assert sum(by.values()) <= cap, (by, cap)


def test_the_estimate_range_holds_a_rehearsal_with_seeded_faults(example_film):
    keep_shots(example_film, ("1A", "1B", "1C", "1D"))
    without_finishing(example_film)
    (example_film / "slate.toml").write_text('local_fault_rate = 0.5\nlocal_fault_seed = 3\n')
    before = estimate(example_film, *FULL)
    low, high = money(before, "range:"), money(before, "..")
    # The cap given: a cap typed in an earlier in-process run of this session must not carry over.
    out = runner.invoke(app, ["run", str(example_film), *FULL, "--cap", "25"])
    assert "state:" in out.output, out.output[-3000:]
    actual = sum(spent(example_film).values())
    retakes = [r for r in Ledger.for_project(example_film).rows(film="night-diner") if r.take > 1]
    assert retakes, "the seeded faults made no retake: the test would not test the range"
    assert low <= actual <= high, (low, actual, high, out.output[-2500:])
    # Once the film has a ledger, the top of the range counts what its shots needed.
    after = estimate(example_film, *FULL)
    assert "the takes this film's shots needed so far" in after
    assert money(after, "..") >= actual
    print(f"\nrange {low}..{high}, rehearsal spent {actual}; after: {after.splitlines()[-3:]}")


def test_the_cost_and_wrap_reports_hold_the_spend_per_delivered_second_to_the_estimate(example_film):
    from slate.flows.review.reports import against_estimate, wrap_report
    from slate.flows.scene import scene_flow
    from slate.flows.run.scene_result import scene_result
    keep_shots(example_film, ("1A", "1C", "1D"))
    without_finishing(example_film)
    (example_film / "slate.toml").write_text('local_fault_rate = 0.5\nlocal_fault_seed = 3\n')
    state = scene_flow(project=str(example_film), options=RunOptions(price_as=",".join((PANELS, JUDGE, VIDEO)), run_cap_usd="25"), return_state=True)
    result = scene_result(state)
    ledger = Ledger.for_project(example_film)
    rows = [r for r in ledger.rows(film="night-diner", run_id=result.run_id) if r.scene == "scene-01"]
    assert set(result.estimate) == {"low", "expected", "high", "planned_seconds"}
    assert Decimal(result.estimate["low"]) < Decimal(result.spent_usd) <= Decimal(result.estimate["high"])
    said = against_estimate(rows, result)
    spent, seconds = Decimal(result.spent_usd), Decimal(str(result.duration))
    assert f"Cost per delivered second: **${(spent / seconds).quantize(Decimal('0.01'))}/s**" in said, said
    assert "Estimated before the run: $" in said and "retakes: " in said, said
    wrap = wrap_report("night-diner", "draft", result.run_id, ledger, [result])
    assert "| scene-01 | $" in wrap and "| **film** |" in wrap and "Why they differ: retakes: " in wrap, wrap
    print("\n" + said + "\n" + wrap)
