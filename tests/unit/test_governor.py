"""The paid call, state by state, against a real ledger, real storage and the real local providers.

No Prefect here: the governor is plain code. Each test leaves the ledger as a crashed, a
finished or a still-running run would, and checks what the next call does — counted where the
effects land: ledger rows, the local provider's own book of submissions, files in storage.
"""
from __future__ import annotations

import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest

from benchmarks.judge_trials import panel_requests
from slate.governor.chokepoint import (Answer, CallBusy, CallContext, CallSpec, Governor, JobStuck, PaidCallsRefused,
                                       RunHalted, UnknownOutcome, Usage, add_listener)
from slate.governor.killswitch import clear_stop, request_stop
from slate.governor.leases import Owner, keeper, lease_state
from slate.governor.ledger import Cap, Ledger
from slate.providers.base import ClipRequest, JobStatus
from slate.providers.errors import BadRequest, ProviderTimeout, RefusedByModeration
from slate.providers.local import LocalImage, LocalVideo
from slate.providers.storage_local import LocalStorage

PRICE = Decimal("0.35")
pytestmark = pytest.mark.usefixtures("local_calls")


def gov(root: Path, run_id: str = "run-1", run_cap: str = "10", film_cap: str = "100", **kw) -> Governor:
    return Governor(run_id=run_id, film="night-diner", root=root, ledger=Ledger.for_project(root),
                    estimate=lambda units, _model: PRICE if units.kind == "video" else Decimal("0.04"),
                    caps=[Cap("run", Decimal(run_cap)), Cap("film", Decimal(film_cap))], storage=LocalStorage(root),
                    poll_interval=0.02, busy_poll=0.05, **kw)


def spec(stage="video", take=1, fingerprint="fp-1", shot="1A") -> CallSpec:
    ctx = CallContext("run-1", "night-diner", "scene-01", shot, stage, take, "local", "local-ffmpeg-v1", "draft")
    units = Usage("video", seconds=2, resolution="480p") if stage == "video" else Usage("image", images=1)
    return CallSpec(ctx, units, fingerprint)


@pytest.fixture
def studio(example_film):
    storage = LocalStorage(example_film)
    start = storage.put_bytes(LocalImage(storage).generate_panel(panel_requests(example_film)[0]), "png")
    req = ClipRequest(prompt="p", start_uri=start, end_uri=None, seconds=1.0, width=160, height=96, fps=12,
                      resolution="480p", movement="static", camera_fixed=False, seed=1)
    return example_film, storage, LocalVideo(storage), req


def run_job(g: Governor, video: LocalVideo, req: ClipRequest, s: CallSpec = None, **kw):
    return g.job_call(s or spec(fingerprint=req.fingerprint()), submit=lambda ref: video.submit(req, client_ref=ref),
                      poll=kw.pop("poll", video.poll), download=video.download, suffix="mp4",
                      deadline=kw.pop("deadline", 60), find=kw.pop("find", video.find_job), cancel=video.cancel, **kw)


def rows(g: Governor):
    return g.ledger.rows(film="night-diner")


class Crash(BaseException):
    """What a SIGKILL at a named point looks like to the code after it: nothing more runs."""


def crash_at(point: str):
    def listener(name, _spec, _details):
        if name == point:
            raise Crash(point)
    return add_listener(listener)


# -- a clean call, and a succeeded call never paid again ------------------------------------------

def test_a_clean_job_is_claimed_submitted_stored_and_settled(studio):
    root, storage, video, req = studio
    g = gov(root)
    got = run_job(g, video, req)
    [row] = rows(g)
    assert (row.status, row.actual_cost, row.artifact_uri) == ("succeeded", PRICE, got.uri)
    assert row.job_id and row.owner.startswith("run-1@") and row.lease_until is None
    assert storage.exists(got.uri) and not got.reused
    assert len(video.submissions()) == 1
    assert not list((root / ".slate" / "downloads").glob("*part*"))


def test_a_succeeded_call_is_returned_from_storage_whatever_happened_to_the_cache(studio):
    root, storage, video, req = studio
    first = run_job(gov(root), video, req)
    again = run_job(gov(root, "run-2"), video, req)  # a new run that missed its task cache
    assert (again.uri, again.call_id, again.reused) == (first.uri, first.call_id, True)
    assert len(rows(gov(root))) == 1 and len(video.submissions()) == 1


def test_a_lost_artifact_is_fetched_again_from_the_provider_for_free(studio):
    root, storage, video, req = studio
    first = run_job(gov(root), video, req)
    storage.open_local(first.uri).unlink()  # someone cleaned .slate/artifacts
    again = run_job(gov(root, "run-2"), video, req)
    assert again.reused and storage.exists(again.uri)
    assert len(rows(gov(root))) == 1 and len(video.submissions()) == 1


def test_kill_after_the_storage_write_settles_without_a_provider_call(studio):
    root, storage, video, req = studio
    remove = crash_at("video:stored")
    try:
        with pytest.raises(Crash):
            run_job(gov(root), video, req)
    finally:
        remove()
    [row] = rows(gov(root))
    assert row.status == "submitted" and storage.exists(row.artifact_uri)
    got = run_job(gov(root, "run-2"), video, req)
    assert got.uri == row.artifact_uri
    assert [r.status for r in rows(gov(root))] == ["succeeded"] and len(video.submissions()) == 1


def test_kill_after_settle_pays_nothing_more(studio):
    root, storage, video, req = studio
    remove = crash_at("video:settled")
    try:
        with pytest.raises(Crash):
            run_job(gov(root), video, req)  # settled; the task's cache was never written
    finally:
        remove()
    got = run_job(gov(root, "run-2"), video, req)
    assert got.reused and [r.status for r in rows(gov(root))] == ["succeeded"]
    assert len(video.submissions()) == 1


# -- crashes before the answer came back ------------------------------------------------------------

def test_a_reserved_intent_of_a_dead_owner_is_released_and_sent_once(studio):
    root, storage, video, req = studio
    remove = crash_at("video:after_intent")
    try:
        with pytest.raises(Crash):
            run_job(gov(root), video, req)
    finally:
        remove()
    run_job(gov(root, "run-2"), video, req)
    assert sorted(r.status for r in rows(gov(root))) == ["released", "succeeded"]
    assert len(video.submissions()) == 1
    assert gov(root).ledger.totals(film="night-diner").committed == PRICE


@pytest.mark.parametrize("point", ["video:after_submit", "video:polling", "video:downloading", "video:downloaded",
                                   "video:recorded"])
def test_a_submitted_job_is_reattached_not_resubmitted(studio, point):
    root, storage, video, req = studio
    remove = crash_at(point)
    try:
        with pytest.raises(Crash):
            run_job(gov(root), video, req)
    finally:
        remove()
    seen = []
    remove = add_listener(lambda name, _s, _d: seen.append(name))
    try:
        run_job(gov(root, "run-2"), video, req)
    finally:
        remove()
    assert "video:reattach" in seen and "video:after_submit" not in seen
    assert [r.status for r in rows(gov(root))] == ["succeeded"]
    assert len(video.submissions()) == 1


def test_without_a_lookup_a_lost_job_id_is_an_unknown_outcome_never_resubmitted(studio):
    root, storage, video, req = studio
    remove = crash_at("video:after_submit")
    try:
        with pytest.raises(Crash):
            run_job(gov(root), video, req)
    finally:
        remove()
    with pytest.raises(UnknownOutcome, match="slate reconcile"):
        run_job(gov(root, "run-2"), video, req, find=None)
    assert len(video.submissions()) == 1
    [row] = rows(gov(root))
    assert row.status == "unknown"
    assert gov(root).ledger.totals(film="night-diner").committed == PRICE  # unknown counts as spent
    # reconcile: the film-maker says it never ran; a new take may now be paid for
    gov(root).ledger.fail(row.call_id, error_class="Reconciled", message="never ran")
    run_job(gov(root, "run-3"), video, req, find=None)
    assert len(video.submissions()) == 2


def test_a_lost_answer_is_recovered_a_lost_verdict_is_asked_again_once_and_written(example_film):
    root = example_film
    kept: dict[str, Answer] = {}
    asked = []

    def panel(call_id):
        kept[call_id] = Answer(b"the panel", "png")  # the provider keeps it by our call id
        raise Crash("answered")

    with pytest.raises(Crash):
        gov(root).sync_call(spec(stage="panel", fingerprint="p"), panel, recover=kept.get)
    with pytest.raises(Crash):
        gov(root).sync_call(spec(stage="panel_gate", fingerprint="v"), lambda _: (_ for _ in ()).throw(Crash()),
                            repeatable=True)
    again = gov(root, "run-2")
    got = again.sync_call(spec(stage="panel", fingerprint="p"), lambda _: asked.append("panel") or Answer(b"x", "png"),
                          recover=kept.get)
    assert LocalStorage(root).get_bytes(got.uri) == b"the panel"
    verdict = again.sync_call(spec(stage="panel_gate", fingerprint="v"),
                              lambda _: asked.append("verdict") or Answer(b'{"passed": true}', "json"), repeatable=True)
    assert LocalStorage(root).get_bytes(verdict.uri) == b'{"passed": true}'
    assert asked == ["verdict"]  # the panel was not paid for twice
    statuses = sorted(r.fingerprint + ":" + r.status for r in rows(again))
    assert statuses == ["p:succeeded", "v:failed", "v:released", "v:succeeded"]
    lost, note, asked_again = sorted((r for r in rows(again) if r.fingerprint == "v"), key=lambda r: r.status)
    # the lost verdict stays counted as spent, closed (nothing left to reconcile), and said
    assert (lost.error_class, lost.actual_cost) == ("AnswerLost", lost.estimate) and lost.actual_cost > 0
    assert asked_again.parameters["asked_again_for"] == lost.call_id
    assert note.error_class == "AskedAgain" and lost.call_id in note.error_message and note.actual_cost == 0
    assert again.ledger.open_intents(film="night-diner") == []


# -- errors, decided by the error tree --------------------------------------------------------------

def test_errors_are_decided_by_the_tree_and_anything_else_is_unknown(example_film):
    g = gov(example_film)

    def raising(exc):
        def send(_):
            raise exc
        return send

    class SDKReadTimeout(Exception):  # an SDK's own exception, nobody translated it
        pass

    with pytest.raises(UnknownOutcome, match="ProviderTimeout"):
        g.sync_call(spec(stage="panel", fingerprint="timeout"), raising(ProviderTimeout("no answer", provider="x")))
    with pytest.raises(UnknownOutcome, match="SDKReadTimeout"):
        g.sync_call(spec(stage="panel", fingerprint="sdk"), raising(SDKReadTimeout("read timed out")))
    with pytest.raises(RefusedByModeration):
        g.sync_call(spec(stage="panel", fingerprint="flagged"),
                    raising(RefusedByModeration("flagged (E005)", provider="x", charged=Decimal("0.01"))))
    with pytest.raises(BadRequest):
        g.sync_call(spec(stage="panel", fingerprint="bad"), raising(BadRequest("size", provider="x")))
    by = {r.fingerprint: r for r in rows(g)}
    assert (by["timeout"].status, by["sdk"].status) == ("unknown", "unknown")
    assert (by["flagged"].status, by["flagged"].actual_cost) == ("failed", Decimal("0.01"))
    assert (by["bad"].status, by["bad"].actual_cost) == ("failed", Decimal("0"))
    # unknown ones count as spent, and are never silently sent again
    assert g.ledger.totals(film="night-diner").committed == Decimal("0.04") * 2 + Decimal("0.01")
    sent = []
    with pytest.raises(UnknownOutcome):
        gov(example_film, "run-2").sync_call(spec(stage="panel", fingerprint="sdk"),
                                             lambda _: sent.append(1) or Answer(b"png", "png"))
    assert sent == []
    # a request refused before it ran may be asked again
    assert gov(example_film, "run-2").sync_call(spec(stage="panel", fingerprint="bad"),
                                                lambda _: Answer(b"png", "png")).uri


def test_a_request_refused_by_moderation_is_never_sent_again(example_film):
    sent = []

    def flagged(_):
        sent.append(1)
        raise RefusedByModeration("flagged (E005)", provider="x")

    with pytest.raises(RefusedByModeration):
        gov(example_film).sync_call(spec(stage="panel", fingerprint="f"), flagged)
    with pytest.raises(RefusedByModeration, match=r"refused earlier \(call [0-9a-f]+\): .*E005"):
        gov(example_film, "run-2").sync_call(spec(stage="panel", fingerprint="f"), flagged)  # a new run
    assert sent == [1] and [r.status for r in rows(gov(example_film))] == ["failed"]
    # a changed request (another take) may be sent
    assert gov(example_film, "run-2").sync_call(spec(stage="panel", take=2, fingerprint="f"),
                                                lambda _: Answer(b"png", "png")).uri


def test_a_job_past_its_deadline_is_cancelled_recorded_and_its_shot_told(studio):
    """A job with no result past its deadline is cancelled at the provider, asked once more how
    it ended (canceled), recorded failed at what the card says the provider bills (the local
    provider: nothing), and the call raises JobStuck with the job id and the time waited."""
    root, storage, video, req = studio
    slow = LocalVideo(storage, latency=30)
    started = time.monotonic()
    with pytest.raises(JobStuck) as stuck:
        run_job(gov(root, failure_charge=lambda key, kind: "nothing"), slow, req, poll=slow.poll,
                find=slow.find_job, deadline=0.3, expected=0.1)
    assert time.monotonic() - started < 5
    [row] = rows(gov(root))
    assert (row.status, row.error_class, row.actual_cost) == ("failed", "JobStuck", Decimal(0)) and row.job_id
    assert (root / ".slate" / "local-jobs" / row.job_id / "canceled").exists()   # the cancel, where it lands
    assert stuck.value.job_id == row.job_id and stuck.value.cancelled and 0.3 <= stuck.value.waited < 5
    assert row.job_id in str(stuck.value) and "gave no result in 0 s" in str(stuck.value)
    assert "expected to take 0 s; its deadline is 0 s" in str(stuck.value)


def test_a_stuck_job_the_provider_cannot_cancel_stays_open_with_its_job_id_for_the_next_run(studio):
    root, storage, video, req = studio
    never = lambda job_id: JobStatus("running")  # noqa: E731

    def cannot(job_id):
        raise NotImplementedError("no cancel is documented")

    with pytest.raises(JobStuck, match="could not be cancelled: no cancel is documented") as stuck:
        gov(root).job_call(spec(fingerprint=req.fingerprint()), submit=lambda ref: video.submit(req, client_ref=ref),
                           poll=never, download=video.download, suffix="mp4", deadline=0.2, cancel=cannot)
    [row] = rows(gov(root))
    assert row.status == "unknown" and row.job_id and not stuck.value.cancelled
    assert "may still run and be billed" in row.error_message
    got = run_job(gov(root, "run-2"), video, req)  # the job did finish: the next run collects it
    assert [r.status for r in rows(gov(root))] == ["succeeded"] and storage.exists(got.uri)
    assert len(video.submissions()) == 1


def test_transient_poll_errors_are_polled_through(studio):
    root, storage, video, req = studio
    failures = iter([ProviderTimeout("slow GET", provider="local"), ProviderTimeout("slow GET", provider="local")])

    def flaky(job_id):
        exc = next(failures, None)
        if exc:
            raise exc
        return video.poll(job_id)

    run_job(gov(root), video, req, poll=flaky)
    assert [r.status for r in rows(gov(root))] == ["succeeded"] and len(video.submissions()) == 1


# -- caps and the kill switch -----------------------------------------------------------------------

def test_a_refusal_halts_the_run_and_names_the_cap(studio):
    root, storage, video, req = studio
    g = gov(root, run_cap="0.50")
    run_job(g, video, req)
    other = ClipRequest(**{**req.__dict__, "seed": 2})
    with pytest.raises(RunHalted) as exc:
        run_job(g, video, other)
    assert str(exc.value) == ("per-run cap $0.50 would be exceeded (spent $0.35, reserved $0.00, "
                              "next call $0.35): halted")
    with pytest.raises(RunHalted):  # halted means halted: not even a cheap call is admitted
        g.sync_call(spec(stage="panel", fingerprint="cheap"), lambda _: Answer(b"png", "png"))
    assert len(video.submissions()) == 1
    assert [r.status for r in rows(g)] == ["succeeded", "refused"]


def test_a_zero_cap_admits_nothing_that_costs(studio):
    root, storage, video, req = studio
    with pytest.raises(RunHalted, match=r"per-run cap \$0.00"):
        run_job(gov(root, run_cap="0"), video, req)
    assert video.submissions() == []


def test_the_stop_file_refuses_new_calls_and_a_soft_stop_lets_a_job_finish(studio):
    root, storage, video, req = studio
    g = gov(root)
    slow = LocalVideo(storage, latency=0.6)

    def submit(ref):
        job = slow.submit(req, client_ref=ref)
        request_stop(root)  # STOP appears while the job is in flight
        return job

    got = g.job_call(spec(fingerprint=req.fingerprint()), submit=submit, poll=slow.poll, download=slow.download,
                     suffix="mp4", deadline=60, find=slow.find_job, cancel=slow.cancel)
    assert storage.exists(got.uri)  # polled to the end and recorded: it is paid for
    assert rows(g)[0].status == "succeeded"
    with pytest.raises(RunHalted, match="stop"):
        g.sync_call(spec(stage="panel", fingerprint="next"), lambda _: Answer(b"png", "png"))
    clear_stop(root)
    with pytest.raises(RunHalted):  # the run stays halted; a new run may go on
        g.sync_call(spec(stage="panel", fingerprint="next"), lambda _: Answer(b"png", "png"))
    assert gov(root, "run-2").sync_call(spec(stage="panel", fingerprint="next"), lambda _: Answer(b"png", "png")).uri


def test_a_hard_stop_cancels_the_job_at_the_provider(studio):
    root, storage, video, req = studio
    slow = LocalVideo(storage, latency=30)

    def submit(ref):
        job = slow.submit(req, client_ref=ref)
        request_stop(root, hard=True)
        return job

    started = time.time()
    with pytest.raises(Exception, match="canceled"):
        gov(root).job_call(spec(fingerprint=req.fingerprint()), submit=submit, poll=slow.poll,
                           download=slow.download, suffix="mp4", deadline=60, find=slow.find_job, cancel=slow.cancel)
    assert time.time() - started < 10
    row = rows(gov(root))[0]
    assert row.status == "failed" and row.error_class == "JobCanceled"


# -- two live runs --------------------------------------------------------------------------------

def test_two_live_runs_asking_for_one_video_pay_once(studio):
    root, storage, video, req = studio
    slow = LocalVideo(storage, latency=1.5)
    results, errors = {}, []

    def run(name):
        try:
            results[name] = run_job(gov(root, name), slow, req)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    first = threading.Thread(target=run, args=("nightly",))
    first.start()
    time.sleep(0.4)  # the nightly run has the job in flight
    second = threading.Thread(target=run, args=("manual",))
    second.start()
    first.join(60)
    second.join(60)
    assert not errors, errors
    assert results["nightly"].uri == results["manual"].uri and results["manual"].reused
    assert len(slow.submissions()) == 1
    assert [(r.run_id, r.status) for r in rows(gov(root))] == [("nightly", "succeeded")]


def test_two_live_runs_asking_for_one_verdict_pay_once(example_film):
    asking = threading.Event()
    answer = threading.Event()
    calls = []

    def judge(_):
        calls.append(1)
        asking.set()
        answer.wait(10)
        return Answer(b'{"passed": true}', "json")

    got = {}
    a = threading.Thread(target=lambda: got.setdefault("a", gov(example_film, "a").sync_call(
        spec(stage="panel_gate", fingerprint="v"), judge, repeatable=True)))
    a.start()
    asking.wait(10)
    b = threading.Thread(target=lambda: got.setdefault("b", gov(example_film, "b").sync_call(
        spec(stage="panel_gate", fingerprint="v"), judge, repeatable=True)))
    b.start()
    time.sleep(0.3)
    assert [r.status for r in rows(gov(example_film))] == ["submitted"]  # b is waiting, not releasing it
    answer.set()
    a.join(10)
    b.join(10)
    assert len(calls) == 1 and got["a"].uri == got["b"].uri
    assert [r.status for r in rows(gov(example_film))] == ["succeeded"]


def test_past_the_wait_bound_the_shot_halts_naming_the_other_run(example_film):
    release = threading.Event()

    def slow(_):
        release.wait(10)
        return Answer(b"png", "png")

    a = threading.Thread(target=lambda: gov(example_film, "nightly-run").sync_call(
        spec(stage="panel", fingerprint="p"), slow))
    a.start()
    time.sleep(0.3)
    with pytest.raises(CallBusy, match=r"being made by run nightly-run \(process \d+") as busy:
        gov(example_film, "manual-run", busy_wait=0.3).sync_call(spec(stage="panel", fingerprint="p"), slow)
    assert "not paid for twice" in str(busy.value)
    release.set()
    a.join(10)
    assert [(r.run_id, r.status) for r in rows(gov(example_film))] == [("nightly-run", "succeeded")]


def test_an_owner_is_alive_by_its_process_here_and_by_its_lease_elsewhere(example_film):
    g = gov(example_film)
    me = Owner.current("run-x")
    c = g.ledger.claim(request=g._request(spec(stage="panel", fingerprint="p")), cap_scopes=[],
                       owner=str(me), lease_seconds=60)
    row = c.row
    assert lease_state(row, c.now, me) == "dead"  # this process does not hold it: left by an earlier run
    keeper.hold(g.ledger, row.call_id, str(me), 60)
    try:
        assert lease_state(row, c.now, me) == "live"
    finally:
        keeper.drop(row.call_id)
    gone = Owner(me.run_id, me.host, me.boot, 2 ** 22 + 7, "1")  # no such process on this machine
    assert lease_state(type(row)(**{**row.__dict__, "owner": str(gone)}), c.now, me) == "dead"
    far = Owner("run-y", "render-node-7", "abcd1234", 4242, "99")  # another machine: only its lease tells
    elsewhere = type(row)(**{**row.__dict__, "owner": str(far)})
    assert lease_state(elsewhere, c.now, me) == "live"
    assert lease_state(elsewhere, row.lease_until, me) == "dead"


def test_leases_are_renewed_while_a_call_is_alive(example_film):
    g = gov(example_film, lease_seconds=0.4)
    release = threading.Event()

    def slow(_):
        release.wait(10)
        return Answer(b"png", "png")

    t = threading.Thread(target=lambda: g.sync_call(spec(stage="panel", fingerprint="p"), slow))
    t.start()
    # The call's row is written by its thread: on a loaded machine (a fresh clone's test-fast, three
    # workers on two cores) not yet 0.2 s after the start. Waited for, then a renewal waited for.
    from tests.stack_harness import wait_for
    first = wait_for("the call's row", lambda: rows(g) and rows(g)[0].lease_until, 10, every=0.05)
    time.sleep(1.0)  # two and a half leases later
    later = wait_for("a renewal", lambda: (r := rows(g)[0]).lease_until > first and r, 10, every=0.05)
    assert later.status == "submitted" and later.lease_until > first
    release.set()
    t.join(10)


# -- the test suite's own switch ------------------------------------------------------------------

def test_paid_calls_are_refused_unless_a_test_names_the_provider(example_film, monkeypatch):
    monkeypatch.setenv("SLATE_PAID_CALLS_ALLOWED", "")
    with pytest.raises(PaidCallsRefused, match="'local'"):
        gov(example_film).sync_call(spec(stage="panel", fingerprint="p"), lambda _: Answer(b"png", "png"))
    monkeypatch.setenv("SLATE_PAID_CALLS_ALLOWED", "fake-replicate")
    with pytest.raises(PaidCallsRefused):
        gov(example_film).sync_call(spec(stage="panel", fingerprint="p"), lambda _: Answer(b"png", "png"))
    assert rows(gov(example_film)) == []


def test_a_free_calls_lost_answer_is_asked_again_by_the_next_run_without_a_person(example_film):
    """Issue 35: a $0 judge call a killed run had sent kept the next run from finishing until a
    person answered `slate reconcile`. A call that costs nothing is asked again by the next run,
    every time its answer is lost: nothing is spent twice, and nothing is left open."""
    root = example_film
    free = dict(estimate=lambda units, _model: Decimal(0))
    asked = []
    for run in ("run-1", "run-2"):   # sent, then the run dies before the answer is written
        with pytest.raises(Crash):
            Governor(run_id=run, film="night-diner", root=root, ledger=Ledger.for_project(root), **free,
                     caps=[Cap("run", Decimal(10))], storage=LocalStorage(root), poll_interval=0.02,
                     busy_poll=0.05).sync_call(spec(stage="panel_gate", fingerprint="v"),
                                               lambda _: (_ for _ in ()).throw(Crash()))
    again = Governor(run_id="run-3", film="night-diner", root=root, ledger=Ledger.for_project(root), **free,
                     caps=[Cap("run", Decimal(10))], storage=LocalStorage(root), poll_interval=0.02, busy_poll=0.05)
    verdict = again.sync_call(spec(stage="panel_gate", fingerprint="v"),
                              lambda _: asked.append("verdict") or Answer(b'{"passed": true}', "json"))
    assert LocalStorage(root).get_bytes(verdict.uri) == b'{"passed": true}' and asked == ["verdict"]
    assert again.ledger.open_intents(film="night-diner") == []
    assert sum((r.actual_cost or Decimal(0)) for r in rows(again)) == 0
