"""Polling a provider that misbehaves: 429s and 5xx while a job is followed never hang a call.

Each test follows a real job at a fake provider (tests/fakes, over real HTTP) through a real
Governor, with faults queued the way a separately written fake chose them: a 429 on every third
GET (with `Retry-After`, or only Replicate's documented body "resets in ~30s"), 5xx while polling,
429 on every poll for a while — shorter than the call's deadline (it completes) and longer (it
ends unknown, its job id kept, and the next run collects the same job). Counted where it lands:
the ledger's rows, the jobs the fake made, the GETs it received, the log lines said at INFO.
"""
from __future__ import annotations

import logging
import time
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest

from slate.governor.chokepoint import CallContext, CallSpec, Governor, JobStuck, UnknownOutcome, Usage
from slate.governor.ledger import Cap, Ledger
from slate.providers import fal, gemini, openrouter, replicate
from slate.providers.base import ClipRequest
from slate.providers.storage_local import LocalStorage

FILM = "night-diner"
ESTIMATE = Decimal("0.10")
MODELS = {"replicate": "bytedance/seedance-1-lite", "fal": "fal-ai/bytedance/seedance/v1/lite/image-to-video",
          "openrouter": "bytedance/seedance-2.0-mini", "gemini": "veo-3.1-fast-generate-preview"}
#: the fake's op names: where a job is polled, and where its output is fetched from (a GET too)
POLL_OPS = {"replicate": ("poll",), "fal": ("status", "result"), "openrouter": ("poll", "download"),
            "gemini": ("poll", "download")}


@pytest.fixture
def bench(painted, fakes):
    return SimpleNamespace(root=painted.root, storage=painted.storage, start=painted.drawn[0], fakes=fakes)


def clip(st, seconds: float = 4.0) -> ClipRequest:
    return ClipRequest(prompt="Nina crosses the wet street to the diner door.", start_uri=st.start, end_uri=None,
                       seconds=seconds, width=1280, height=720, fps=24, resolution="720p", movement="static",
                       camera_fixed=True, seed=7)


def videos(st, provider: str):
    module = {"replicate": replicate, "fal": fal, "openrouter": openrouter, "gemini": gemini}[provider]
    return module.video(MODELS[provider], storage=st.storage, base_url=st.fakes.url(provider))


def gov(root: Path, run_id: str = "run-1", **kw) -> Governor:
    kw = {"poll_interval": 0.02, "busy_poll": 0.05, "busy_wait": 5.0, "retry_wait_cap": 1.0, **kw}
    return Governor(run_id=run_id, film=FILM, root=root, ledger=Ledger.for_project(root),
                    estimate=lambda units, model: ESTIMATE, storage=LocalStorage(root),
                    caps=[Cap("run", Decimal("10")), Cap("film", Decimal("100"))], **kw)


def follow(g: Governor, v, req: ClipRequest, *, deadline: float = 30.0, interval: float = 0.02):
    spec = CallSpec(CallContext(g.run_id, FILM, "scene-01", "1A", "video", 1, v.name, v.model, "draft"),
                    Usage("video", seconds=req.seconds, resolution=req.resolution), req.fingerprint())
    return g.job_call(spec, submit=lambda ref: v.submit(req, client_ref=ref), poll=v.poll, download=v.download,
                      suffix="mp4", deadline=deadline, poll_interval=interval, find=v.find_job, cancel=v.cancel)


def rows(root: Path):
    return Ledger.for_project(root).rows(film=FILM)


def gets(fakes, provider: str) -> list[dict]:
    return [r for r in fakes.requests(provider) if r["method"] == "GET" and "/files/" not in r["path"]]


@pytest.mark.parametrize("provider", list(MODELS))
def test_a_429_on_every_third_get_never_hangs_a_clip(bench, provider, caplog):
    """Replicate answering 429 now and then (`Retry-After: 2`, here 0.2) hung a run: the job
    stayed `submitted`, nothing was printed. Every GET of the job may meet it — its polls and
    the fetch of its output — and each is waited out and asked again."""
    fakes = bench.fakes
    busy_op = {"fal": "status"}.get(provider, "poll")
    fakes.faults(*[{"provider": provider, "op": op, "kind": "status", "status": 429, "every": 3, "times": 20,
                    "headers": {"Retry-After": "0.2"}} for op in POLL_OPS[provider]],
                 {"provider": provider, "op": busy_op, "kind": "busy", "times": 3})
    caplog.set_level(logging.INFO, logger="slate")
    started = time.monotonic()
    got = follow(gov(bench.root), videos(bench, provider), clip(bench))
    took = time.monotonic() - started
    assert bench.storage.exists(got.uri)
    [row] = rows(bench.root)
    assert row.status == "succeeded" and row.job_id   # at the estimate, or OpenRouter's own figure
    assert len([j for j in fakes.jobs(provider) if j["model"] == MODELS[provider]]) == 1
    waits = [r for r in caplog.records if r.levelno == logging.INFO and "rate limited" in r.getMessage()]
    assert waits and all(row.job_id in r.getMessage() or row.job_id[:40] in r.getMessage() for r in waits), \
        [r.getMessage() for r in caplog.records]
    # Never hung: a wait past this is a run stuck on a 429, not a slow machine (alone: 3-6 s;
    # 22-32 s on two cores at a load average of 25).
    assert took < 90, took


def test_a_429_for_a_while_is_waited_out_as_the_provider_asks(bench, caplog):
    """Every poll answers 429 with `Retry-After: 0.5` for 2.5 s: the call waits as asked (a
    handful of GETs, not one every poll interval), says each wait at INFO with the job id, and
    completes — one prediction."""
    fakes = bench.fakes
    fakes.faults({"provider": "replicate", "op": "poll", "kind": "status", "status": 429, "for_seconds": 2.5,
                  "headers": {"Retry-After": "0.5"}})
    caplog.set_level(logging.INFO, logger="slate")
    got = follow(gov(bench.root), videos(bench, "replicate"), clip(bench), interval=0.01)
    assert bench.storage.exists(got.uri)
    [row] = rows(bench.root)
    assert row.status == "succeeded"
    polled = gets(fakes, "replicate")
    assert len(polled) <= 2.5 / 0.5 + 3, len(polled)   # not ~250 at the 0.01 s poll interval
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO and row.job_id in r.getMessage()]
    assert len(said) >= 3 and all("0.5" in s for s in said), said


def test_the_documented_429_body_without_retry_after_is_honoured_too(bench, caplog):
    """Replicate documents `{"detail": "… Your rate limit resets in ~30s."}` and no Retry-After:
    the wait asked there (30 s) is honoured up to the governor's longest wait (here 0.4 s)."""
    fakes = bench.fakes
    fakes.faults({"provider": "replicate", "op": "poll", "kind": "status", "status": 429, "for_seconds": 1.5})
    caplog.set_level(logging.INFO, logger="slate")
    follow(gov(bench.root, retry_wait_cap=0.4), videos(bench, "replicate"), clip(bench), interval=0.01)
    polled = gets(fakes, "replicate")
    assert len(polled) <= 1.5 / 0.4 + 3, len(polled)
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO and "rate limited" in r.getMessage()]
    assert said and all("30" in s for s in said), said


@pytest.mark.parametrize("provider", list(MODELS))
def test_5xx_while_polling_is_asked_again(bench, provider):
    fakes = bench.fakes
    op = POLL_OPS[provider][0]
    fakes.faults({"provider": provider, "op": op, "kind": "status", "status": 503, "times": 3},
                 {"provider": provider, "op": op, "kind": "status", "status": 500, "times": 1})
    got = follow(gov(bench.root), videos(bench, provider), clip(bench))
    assert bench.storage.exists(got.uri)
    assert [r.status for r in rows(bench.root)] == ["succeeded"]
    assert len([j for j in fakes.jobs(provider) if j["model"] == MODELS[provider]]) == 1


def test_429s_past_the_deadline_end_unknown_with_the_job_kept_and_the_next_run_collects_it(bench):
    """429 on every poll for longer than the call's deadline: the call ends *unknown* within its
    deadline (plus at most one wait), its job id kept; once the provider answers again, the next
    run re-attaches to that very job and pays nothing twice."""
    fakes = bench.fakes
    fakes.faults({"provider": "replicate", "op": "poll", "kind": "status", "status": 429, "for_seconds": 4.0,
                  "headers": {"Retry-After": "0.3"}})
    started = time.monotonic()
    with pytest.raises(UnknownOutcome) as lost:
        follow(gov(bench.root), videos(bench, "replicate"), clip(bench), deadline=1.5)
    assert time.monotonic() - started < 1.5 + 0.3 + 2.0
    [row] = rows(bench.root)
    assert row.status == "unknown" and row.job_id and row.job_id in str(lost.value)
    time.sleep(max(0.0, 4.2 - (time.monotonic() - started)))
    got = follow(gov(bench.root, "run-2"), videos(bench, "replicate"), clip(bench))
    assert bench.storage.exists(got.uri)
    [row] = rows(bench.root)
    assert row.status == "succeeded" and len(fakes.jobs("replicate")) == 1


#: Where a stuck job's cancel lands: one request booked by the provider's fake (Replicate: POST
#: /predictions/{id}/cancel; fal: PUT .../requests/{id}/cancel), or none where no cancel is
#: documented (a Veo operation of the Gemini API, an OpenRouter video job): the job stays open.
CANCELS = {"replicate": 1, "fal": 1, "gemini": 0, "openrouter": 0}


@pytest.mark.parametrize("provider", list(MODELS))
def test_a_job_still_running_past_its_deadline_is_cancelled_once_where_it_can_be(bench, provider, caplog):
    """A job that never finishes, at each provider: past its deadline the call ends within a few
    seconds (JobStuck, naming the job and the time waited). Where the provider documents a cancel,
    exactly one cancel request reaches the job (the fake's book) and the row is failed (JobStuck)
    at the estimate — a cancelled job that had started is billed its compute — leaving nothing
    open; where it does not, no cancel is sent and the row stays unknown with its job id, for the
    next run to collect."""
    fakes = bench.fakes
    fakes.faults({"provider": provider, "op": "submit", "kind": "stuck"})
    caplog.set_level(logging.WARNING, logger="slate.governor")
    started = time.monotonic()
    with pytest.raises(JobStuck) as stuck:
        follow(gov(bench.root), videos(bench, provider), clip(bench), deadline=1.5)
    took = time.monotonic() - started
    assert 1.5 <= took < 1.5 + 5, took
    [row] = rows(bench.root)
    [job] = [j for j in fakes.jobs(provider) if j["model"] == MODELS[provider]]
    cancels = fakes.cancels(provider)
    assert len(cancels) == CANCELS[provider], cancels
    assert all(c["id"] == job["id"] and c["outcome"] == "canceled" for c in cancels), cancels
    assert stuck.value.job_id == row.job_id and stuck.value.cancelled == bool(CANCELS[provider])
    assert f"gave no result in {stuck.value.waited:.0f} s" in str(stuck.value) and row.job_id in str(stuck.value)
    if CANCELS[provider]:
        assert (row.status, row.error_class, row.actual_cost) == ("failed", "JobStuck", ESTIMATE)
        assert Ledger.for_project(bench.root).open_intents(film=FILM) == []
    else:
        assert row.status == "unknown" and "could not be cancelled" in row.error_message
    assert any(": stuck: " in r.getMessage() and row.job_id in r.getMessage() for r in caplog.records)   # said


def test_the_watchdog_says_when_a_call_makes_no_progress_for_longer_than_its_deadline(bench, caplog):
    """A poll that hangs (the server answers only after 3 s) on a job whose deadline is 1 s: the
    run's watchdog says so — at WARNING, naming the call — while the GET still hangs, before the
    call ends: the job, still processing past its deadline, is cancelled (JobStuck)."""
    from slate.governor.watchdog import watchdog
    stalls: list[tuple[float, str]] = []
    stop = watchdog.on_stall(lambda call_id, what, silent: stalls.append((time.monotonic(), call_id)))
    bench.fakes.faults({"provider": "replicate", "op": "poll", "kind": "hang", "data": {"seconds": 3}})
    caplog.set_level(logging.WARNING, logger="slate.governor")
    try:
        with pytest.raises(JobStuck):
            follow(gov(bench.root), videos(bench, "replicate"), clip(bench), deadline=1.0)
        ended = time.monotonic()
    finally:
        stop()
    [row] = rows(bench.root)
    assert (row.status, row.error_class) == ("failed", "JobStuck") and row.job_id
    said = [t for t, call_id in stalls if call_id == row.call_id]
    assert said and said[0] < ended - 1.0, (said, ended)   # said while the GET hung, not after
    assert any(row.call_id in r.getMessage() and "no progress" in r.getMessage() and row.job_id in r.getMessage()
               for r in caplog.records if r.levelno == logging.WARNING)


def test_the_watchdog_watches_a_one_answer_call_too(bench, caplog):
    from slate.governor.chokepoint import Answer
    from slate.governor.watchdog import watchdog
    stalls: list[str] = []
    stop = watchdog.on_stall(lambda call_id, what, silent: stalls.append(what))
    g = gov(bench.root)
    spec = CallSpec(CallContext(g.run_id, FILM, "scene-01", "1B", "panel_gate", 1, "gemini", "gemini-2.5-flash",
                                "draft"), Usage("judge", input_tokens=100, output_tokens=10), "fp-slow-verdict")
    try:
        g.sync_call(spec, lambda ref: time.sleep(1.2) or Answer(b"{}", "json"), deadline=0.3)
    finally:
        stop()
    assert any("shot 1B panel_gate take 1" in w for w in stalls), stalls
    quiet: list[str] = []
    stop = watchdog.on_stall(lambda call_id, what, silent: quiet.append(what))
    try:   # a call that answers within its deadline is never said
        g.sync_call(CallSpec(spec.context, spec.units, "fp-quick"), lambda ref: Answer(b"{}", "json"), deadline=0.5)
        time.sleep(0.8)
    finally:
        stop()
    assert quiet == []


def test_each_wait_is_on_the_runs_page_in_the_prefect_server(bench, prefect_harness):
    """The waits are said at INFO by slate's own logger; inside a flow run they reach the run's
    logs on the server (flows/run/logs.py), where a person watching the UI reads them, not only the
    process's console. Read back from the server's API."""
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    from slate.flows.run.logs import slate_lines_on_the_run

    fakes = bench.fakes
    fakes.faults({"provider": "replicate", "op": "poll", "kind": "status", "status": 429, "every": 2, "times": 4,
                  "headers": {"Retry-After": "0.2"}},
                 {"provider": "replicate", "op": "poll", "kind": "busy", "times": 4})

    @flow(name="poll-with-waits")
    def polled():
        slate_lines_on_the_run()
        follow(gov(bench.root), videos(bench, "replicate"), clip(bench))

    state = polled(return_state=True)
    assert state.is_completed(), state
    [row] = rows(bench.root)
    deadline = time.monotonic() + 30
    lines: list[str] = []
    while time.monotonic() < deadline:   # the server receives logs in batches
        with get_client(sync_client=True) as client:
            logs = client.read_logs(log_filter=LogFilter(
                flow_run_id=LogFilterFlowRunId(any_=[state.state_details.flow_run_id])))
        lines = [entry.message for entry in logs if entry.name.startswith("slate")]
        if any("rate limited" in line and row.job_id in line for line in lines):
            break
        time.sleep(0.5)
    assert any("rate limited" in line and row.job_id in line for line in lines), lines
