"""`slate estimate`, `slate log`, `slate stop` and `slate reconcile` on a real project folder and ledger."""
from __future__ import annotations

import json
import uuid
from decimal import Decimal

from typer.testing import CliRunner

from slate.governor.chokepoint import CallContext, CallSpec, Governor, Usage
from slate.governor.killswitch import read_stop, stop_path
from slate.governor.ledger import Cap, Ledger
from slate.providers.storage_local import LocalStorage
from slate.cli import app

runner = CliRunner()


def test_estimate_prices_every_shot_and_checks_the_cap(example_film):
    out = runner.invoke(app, ["estimate", str(example_film), "--price-as", "replicate:bytedance/seedance-1-pro"])
    assert out.exit_code == 0, out.output
    assert "expected total: $0.92 — fits the per-run cap $25.00" in out.output
    bad = runner.invoke(app, ["estimate", str(example_film), "--price-as", "replicate:nobody/nothing"])
    assert bad.exit_code == 2 and "rate card:" in bad.output


def _intent(root, *, with_job: bool):
    """A video call left as a crashed run leaves it: submitted, with or without its job id."""
    gov = Governor(run_id="r1", film="night-diner", root=root, ledger=Ledger.for_project(root),
                   estimate=lambda u, _model: Decimal("0.35"), caps=[Cap("run", Decimal(5)), Cap("film", Decimal(50))],
                   storage=LocalStorage(root))
    spec = CallSpec(CallContext("r1", "night-diner", "scene-01", "1C", "video", 1, "local", "local-ffmpeg-v1",
                                "draft"), Usage("video", 3, "480p"), uuid.uuid4().hex)
    claim = gov.ledger.claim(request=gov._request(spec), cap_scopes=gov.caps, owner=gov.owner, lease_seconds=60)
    gov.ledger.mark_submitted(claim.row.call_id, "job-7" if with_job else None)
    return gov.ledger, claim.row.call_id


def test_log_shows_rows_and_exports_jsonl(example_film):
    ledger, call_id = _intent(example_film, with_job=True)
    ledger.settle(call_id, actual_cost=Decimal("0.35"), artifact_uri="cas://" + "a" * 64 + ".mp4")
    table = runner.invoke(app, ["log", str(example_film)])
    assert table.exit_code == 0 and "committed $0.35" in table.output
    lines = runner.invoke(app, ["log", str(example_film), "--jsonl"]).output.strip().splitlines()
    [row] = [json.loads(line) for line in lines]
    assert (row["shot"], row["stage"], row["status"], row["actual_cost"]) == ("1C", "video", "succeeded", "0.350000")


def test_stop_and_clear(example_film):
    assert runner.invoke(app, ["stop", str(example_film)]).exit_code == 0
    assert read_stop(example_film).hard is False
    assert runner.invoke(app, ["stop", "--hard", str(example_film)]).exit_code == 0
    assert read_stop(example_film).hard is True
    assert "STOP file removed" in runner.invoke(app, ["stop", "--clear", str(example_film)]).output
    assert not stop_path(example_film).exists()


def test_reconcile_lists_unknown_calls_then_attaches_or_fails_them(example_film):
    ledger, call_id = _intent(example_film, with_job=False)
    listing = runner.invoke(app, ["reconcile", str(example_film)])
    assert listing.exit_code == 1 and call_id in listing.output and "shot 1C video take 1" in listing.output
    attached = runner.invoke(app, ["reconcile", str(example_film), "--call", call_id, "--job", "job-42"])
    assert attached.exit_code == 0, attached.output
    assert (ledger.find(call_id).status, ledger.find(call_id).job_id) == ("submitted", "job-42")
    _, other = _intent(example_film, with_job=False)
    ledger.mark_unknown(other, "lost")
    assert runner.invoke(app, ["reconcile", str(example_film), "--call", other, "--failed"]).exit_code == 0
    assert ledger.find(other).status == "failed"
    # The attached job is still open until the next run collects it: listed, for the next run.
    left = runner.invoke(app, ["reconcile", str(example_film)])
    assert left.exit_code == 0 and left.output.strip().endswith("nothing to reconcile by hand"), left.output
    assert "job job-42: the next run re-attaches to it by itself" in left.output
    ledger.settle(call_id, actual_cost=Decimal("0.35"), artifact_uri="cas://" + "a" * 64 + ".mp4")
    assert runner.invoke(app, ["reconcile", str(example_film)]).output.strip() == "nothing to reconcile"


def test_status_and_reconcile_agree_on_what_needs_a_person(example_film):
    """`slate status` counted a call whose job id is kept (the next run re-attaches to it) as one
    to reconcile, while `slate reconcile` said there was nothing to do by hand: one rule now."""
    ledger, kept = _intent(example_film, with_job=True)
    ledger.mark_unknown(kept, "no result within its deadline; the job id is kept")
    status = runner.invoke(app, ["status", str(example_film)])
    assert status.exit_code == 0, status.output
    assert "to reconcile" not in status.output and "1 job(s) the next run collects" in status.output
    assert runner.invoke(app, ["reconcile", str(example_film)]).output.strip().endswith("nothing to reconcile by hand")
    _, lost = _intent(example_film, with_job=False)
    status = runner.invoke(app, ["status", str(example_film)])
    assert "1 call(s) to reconcile" in status.output and "1 job(s) the next run collects" in status.output
    listing = runner.invoke(app, ["reconcile", str(example_film)])
    assert listing.exit_code == 1 and lost in listing.output


def test_reconcile_and_status_list_every_open_job_submitted_ones_included(example_film):
    """A run stopped with a clip submitted (its job id kept): `slate reconcile` listed only a
    panel whose answer was lost, never the submitted video — which was open, and could still
    bill. Every open call is listed now: one a live run is making (in flight), one whose run is
    gone (the next run re-attaches to its job), and one a person must resolve."""
    from slate.governor.leases import keeper
    ledger, live = _intent(example_film, with_job=True)           # its owner, this process, holds it
    _, gone = _intent(example_film, with_job=True)                # its owner stopped following it
    _, lost = _intent(example_film, with_job=False)
    ledger.mark_unknown(lost, "the answer was lost")
    row = ledger.find(live)
    keeper.hold(ledger, live, row.owner, 60)
    try:
        listing = runner.invoke(app, ["reconcile", str(example_film)])
        status = runner.invoke(app, ["status", str(example_film)])
    finally:
        keeper.drop(live)
    assert listing.exit_code == 1, listing.output                 # one is a person's to resolve
    lines = {call: next((line for line in listing.output.splitlines() if line.startswith(call)), "")
             for call in (live, gone, lost)}
    assert "submitted" in lines[live] and "job job-7: in flight, made now by run r1" in lines[live], listing.output
    assert "job job-7: the next run re-attaches to it by itself" in lines[gone], listing.output
    assert "unknown" in lines[lost], listing.output
    assert status.exit_code == 0, status.output
    assert "1 call(s) to reconcile" in status.output and "1 job(s) the next run collects" in status.output
    assert "1 call(s) in flight" in status.output, status.output
    opened = [line for line in status.output.splitlines() if line.strip().startswith("open:")]
    assert len(opened) == 3 and any(live[:12] in line and line.endswith("in flight") for line in opened), opened
