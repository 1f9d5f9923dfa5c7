"""The paid call, step by step, against a real SQLite ledger and the real local video provider.

No Prefect here: the governor is plain code. Each test leaves the ledger as a crashed run would
and checks what the next call does: release, re-attach, or halt on an unknown outcome.
"""
from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import pytest

from governor.chokepoint import CallContext, CallSpec, Governor, RunHalted, UnknownOutcome, Units
from governor.killswitch import clear_stop, request_stop
from governor.ledger import Cap, Ledger
from providers.base import ClipRequest
from providers.errors import ProviderTimeout, RefusedByModeration
from providers.local import LocalImage, LocalVideo
from providers.storage_local import LocalStorage
from benchmarks.judge_trials import panel_requests

PRICE = Decimal("0.35")


def gov(root: Path, run_id: str = "run-1", run_cap: str = "10", film_cap: str = "100") -> Governor:
    return Governor(run_id=run_id, film="night-diner", root=root, ledger=Ledger.for_project(root),
                    estimate=lambda units: PRICE if units.kind == "video" else Decimal("0.04"),
                    caps=[Cap("run", Decimal(run_cap)), Cap("film", Decimal(film_cap))], poll_interval=0.02)


def spec(stage="video", take=1, fingerprint="fp-1", shot="1A") -> CallSpec:
    ctx = CallContext("run-1", "night-diner", "scene-01", shot, stage, take, "local", "local-ffmpeg-v1", "draft")
    units = Units("video", seconds=2, resolution="480p") if stage == "video" else Units("image", images=1)
    return CallSpec(ctx, units, fingerprint)


@pytest.fixture
def studio(example_film):
    storage = LocalStorage(example_film)
    start = storage.put_bytes(LocalImage(storage).generate_panel(panel_requests(example_film)[0]), "png")
    req = ClipRequest(prompt="p", start_uri=start, end_uri=None, seconds=1.0, width=160, height=96, fps=12,
                      resolution="480p", movement="static", camera_fixed=False, seed=1)
    return example_film, storage, LocalVideo(storage), req


def run_job(g: Governor, video: LocalVideo, req: ClipRequest, dest: Path, s: CallSpec = None):
    return g.job_call(s or spec(fingerprint=req.fingerprint()), submit=lambda ref: video.submit(req, client_ref=ref),
                      poll=video.poll, download=video.download, dest=dest, find=video.find_job, cancel=video.cancel)


def test_a_clean_job_is_reserved_submitted_settled(studio, tmp_path):
    root, storage, video, req = studio
    g = gov(root)
    out = run_job(g, video, req, tmp_path / "clip.mp4")
    assert out.is_file() and not list(tmp_path.glob(".*part*"))
    [row] = g.ledger.rows(film="night-diner")
    assert (row.status, row.actual_cost, row.job_id is not None) == ("succeeded", PRICE, True)
    assert len(video.submissions()) == 1


def test_a_reserved_intent_was_never_sent_and_is_released(studio, tmp_path):
    root, storage, video, req = studio
    g = gov(root)
    s = spec(fingerprint=req.fingerprint())
    g._reserve(s)  # the crashed run wrote its intent and died before submitting
    run_job(gov(root, "run-2"), video, req, tmp_path / "clip.mp4")
    statuses = sorted(r.status for r in g.ledger.rows(film="night-diner"))
    assert statuses == ["released", "succeeded"]
    assert len(video.submissions()) == 1
    assert g.ledger.totals(film="night-diner").committed == PRICE


def test_a_submitted_job_with_its_id_is_reattached_not_resubmitted(studio, tmp_path):
    root, storage, video, req = studio
    g = gov(root)
    call_id, _ = g._reserve(spec(fingerprint=req.fingerprint()))
    g.ledger.mark_submitted(call_id, video.submit(req, client_ref=call_id))  # died while polling
    run_job(gov(root, "run-2"), video, req, tmp_path / "clip.mp4")
    assert len(video.submissions()) == 1
    assert [r.status for r in g.ledger.rows(film="night-diner")] == ["succeeded"]


def test_a_submit_whose_job_id_was_lost_is_found_by_call_id(studio, tmp_path):
    root, storage, video, req = studio
    g = gov(root)
    call_id, _ = g._reserve(spec(fingerprint=req.fingerprint()))
    g.ledger.mark_submitted(call_id, None)
    video.submit(req, client_ref=call_id)  # the POST went through; the process died before saving the id
    run_job(gov(root, "run-2"), video, req, tmp_path / "clip.mp4")
    assert len(video.submissions()) == 1
    assert g.ledger.find(call_id).status == "succeeded"


def test_without_a_lookup_a_lost_job_id_is_an_unknown_outcome_never_resubmitted(studio, tmp_path):
    root, storage, video, req = studio
    g = gov(root)
    call_id, _ = g._reserve(spec(fingerprint=req.fingerprint()))
    g.ledger.mark_submitted(call_id, None)
    g2 = gov(root, "run-2")
    with pytest.raises(UnknownOutcome, match="slate reconcile"):
        g2.job_call(spec(fingerprint=req.fingerprint()), submit=lambda ref: video.submit(req, client_ref=ref),
                    poll=video.poll, download=video.download, dest=tmp_path / "c.mp4", find=None)
    assert video.submissions() == []
    row = g.ledger.find(call_id)
    assert row.status == "unknown"
    assert g.ledger.totals(film="night-diner").committed == PRICE  # unknown counts as spent
    # reconcile: the film-maker says it never ran; a new take may now be paid for
    g.ledger.fail(call_id, error_class="Reconciled", message="never ran")
    run_job(gov(root, "run-3"), video, req, tmp_path / "c.mp4")
    assert len(video.submissions()) == 1


def test_a_refusal_halts_the_run_and_names_the_cap(studio, tmp_path):
    root, storage, video, req = studio
    g = gov(root, run_cap="0.50")
    run_job(g, video, req, tmp_path / "a.mp4")
    other = ClipRequest(**{**req.__dict__, "seed": 2})
    with pytest.raises(RunHalted) as exc:
        run_job(g, video, other, tmp_path / "b.mp4")
    assert str(exc.value) == ("per-run cap $0.50 would be exceeded (spent $0.35, reserved $0.00, "
                              "next call $0.35): halted")
    # Halted means halted: not even a cheap call is admitted afterwards.
    with pytest.raises(RunHalted):
        g.sync_call(spec(stage="panel", fingerprint="cheap"), lambda _: b"png")
    assert len(video.submissions()) == 1
    assert [r.status for r in g.ledger.rows(film="night-diner")] == ["succeeded", "refused"]


def test_the_stop_file_refuses_new_calls_and_a_soft_stop_lets_a_job_finish(studio, tmp_path):
    root, storage, video, req = studio
    g = gov(root)
    slow = LocalVideo(storage, latency=0.6)
    call = {}

    def submit(ref):
        call["job"] = slow.submit(req, client_ref=ref)
        request_stop(root)  # STOP appears while the job is in flight
        return call["job"]

    out = g.job_call(spec(fingerprint=req.fingerprint()), submit=submit, poll=slow.poll, download=slow.download,
                     dest=tmp_path / "clip.mp4", find=slow.find_job, cancel=slow.cancel)
    assert out.is_file()  # polled to the end and recorded: it is paid for
    assert g.ledger.rows(film="night-diner")[0].status == "succeeded"
    with pytest.raises(RunHalted, match="stop"):
        g.sync_call(spec(stage="panel", fingerprint="next"), lambda _: b"png")
    clear_stop(root)
    with pytest.raises(RunHalted):  # the run stays halted; a new run may go on
        g.sync_call(spec(stage="panel", fingerprint="next"), lambda _: b"png")
    assert gov(root, "run-2").sync_call(spec(stage="panel", fingerprint="next"), lambda _: b"png") == b"png"


def test_a_hard_stop_cancels_the_job_at_the_provider(studio, tmp_path):
    root, storage, video, req = studio
    g = gov(root)
    slow = LocalVideo(storage, latency=30)

    def submit(ref):
        job = slow.submit(req, client_ref=ref)
        request_stop(root, hard=True)
        return job

    started = time.time()
    with pytest.raises(Exception, match="canceled"):
        g.job_call(spec(fingerprint=req.fingerprint()), submit=submit, poll=slow.poll, download=slow.download,
                   dest=tmp_path / "clip.mp4", find=slow.find_job, cancel=slow.cancel)
    assert time.time() - started < 10
    row = g.ledger.rows(film="night-diner")[0]
    assert row.status == "failed" and row.error_class == "JobCanceled"


def test_an_ambiguous_error_is_unknown_a_refusal_by_moderation_is_failed(example_film):
    g = gov(example_film)

    def timeout():
        raise ProviderTimeout("no answer in 60 s", provider="x")

    def flagged():
        raise RefusedByModeration("flagged (E005)", provider="x")

    with pytest.raises(ProviderTimeout):
        g.sync_call(spec(stage="panel", fingerprint="a"), lambda _: timeout())
    with pytest.raises(RefusedByModeration):
        g.sync_call(spec(stage="panel", fingerprint="b"), lambda _: flagged())
    rows = {r.fingerprint: r for r in g.ledger.rows(film="night-diner")}
    assert rows["a"].status == "unknown" and rows["b"].status == "failed"
    assert g.ledger.totals(film="night-diner").committed == Decimal("0.04")  # the unknown one counts
    # The unknown panel call is never silently sent again.
    with pytest.raises(UnknownOutcome):
        gov(example_film, "run-2").sync_call(spec(stage="panel", fingerprint="a"), lambda _: b"png")


def test_a_lost_answer_is_recovered_a_lost_verdict_is_asked_again(example_film):
    g = gov(example_film)
    panel, verdict = spec(stage="panel", fingerprint="p"), spec(stage="panel_gate", fingerprint="v")
    for s in (panel, verdict):  # both sent; the run died before either answer came back
        call_id, _ = g._reserve(s)
        g.ledger.mark_submitted(call_id, None)
    kept = {}
    rows = {r.fingerprint: r.call_id for r in g.ledger.rows(film="night-diner")}
    kept[rows["p"]] = b"the panel"
    again = gov(example_film, "run-2")
    asked = []
    assert again.sync_call(panel, lambda _: asked.append("panel") or b"new", recover=kept.get) == b"the panel"
    assert again.sync_call(verdict, lambda _: asked.append("verdict") or "pass", repeatable=True) == "pass"
    assert asked == ["verdict"]  # the panel was not paid for twice
    statuses = {r.fingerprint + r.status for r in g.ledger.rows(film="night-diner")}
    assert statuses == {"psucceeded", "vunknown", "vsucceeded"}  # the lost verdict stays counted
