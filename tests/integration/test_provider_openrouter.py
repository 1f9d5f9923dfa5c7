"""OpenRouter's videos API, against the fake (tests/fakes/openrouter.py) over real HTTP.

Three layers: what goes on the wire (read back from the fake's own record of requests); every
fault the fake can inject, through a real Governor with a real ledger and storage, counted where
it lands (ledger rows, jobs the fake would bill); and a `slate run --provider openrouter` of the
example film, trimmed to three shots, under the Prefect test harness. Only what ../shared/
PROVIDERS.md marks known is asserted as OpenRouter's behaviour; the fake's own words (a
moderation message, an expired output) are matched as the fake's, never as OpenRouter's.
"""
from __future__ import annotations

import base64
import io
import time
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from PIL import Image

from slate.governor.chokepoint import (CallContext, CallSpec, Governor, JobEnded, JobRefused, RunHalted,
                                       UnknownOutcome, Usage)
from slate.governor.killswitch import request_stop
from slate.governor.ledger import Cap, Ledger
from slate.governor.ratecard import RateCard
from slate.media import probe
from slate.providers import openrouter
from slate.providers.base import ClipRequest
from slate.providers.errors import AuthenticationFailed, BadOutput, OutOfCredit, RefusedByModeration
from slate.providers.keys import MissingKey
from slate.providers.storage_local import LocalStorage
from tests.fakes.control import fake_key
from tests.fakes.openrouter import MODERATION, cost_of

MINI = "bytedance/seedance-2.0-mini"
ESTIMATE = Decimal("0.10")
API = "/openrouter/api/v1"


def png(colour: tuple[int, int, int], size=(854, 480)) -> bytes:
    img = Image.new("RGB", size, colour)
    img.paste((255, 255, 255), (size[0] // 3, size[1] // 3, size[0] // 2, size[1] // 2))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def bench(example_film, fakes):
    storage = LocalStorage(example_film)
    start = storage.put_bytes(png((200, 120, 60)), "png")
    end = storage.put_bytes(png((60, 120, 200)), "png")
    return example_film, storage, start, end


def clip(start: str, end: str | None = None, seconds: float = 2.5, resolution: str = "480p") -> ClipRequest:
    return ClipRequest(prompt="Nina walks toward the diner's lit window.", start_uri=start, end_uri=end,
                       seconds=seconds, width=854, height=480, fps=24, resolution=resolution, movement="static",
                       camera_fixed=False, seed=7)


def adapter(storage, fakes, model: str = MINI) -> openrouter.OpenRouterVideo:
    return openrouter.video(model, storage=storage, base_url=fakes.url("openrouter"))


def posts(fakes) -> list[dict]:
    return [r for r in fakes.requests("openrouter") if r["method"] == "POST"]


# -- 1. the contract: what goes on the wire ----------------------------------------------------------

def test_a_start_frame_clip_is_asked_as_the_notes_describe(bench, fakes):
    root, storage, start, _ = bench
    job = adapter(storage, fakes).submit(clip(start), client_ref="call-1")
    [sent] = fakes.requests("openrouter")
    assert (sent["method"], sent["path"]) == ("POST", f"{API}/videos")
    assert sent["headers"]["authorization"] == f"Bearer {fake_key('openrouter')}"
    body = sent["body"]
    assert set(body) == {"model", "prompt", "duration", "resolution", "seed", "frame_images"}
    assert (body["model"], body["resolution"], body["seed"]) == (MINI, "480p", 7)
    assert type(body["duration"]) is int and body["duration"] == 4  # 2.5 s asked, 4 s the least it makes
    assert isinstance(body["prompt"], str) and body["prompt"].startswith("Nina")
    [frame] = body["frame_images"]
    assert frame["type"] == "image_url" and frame["frame_type"] == "first_frame"
    url = frame["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    assert base64.b64decode(url.split(",", 1)[1]) == storage.get_bytes(start)
    assert "call-1" not in str(body)  # our call id has nowhere to go at OpenRouter
    assert [j["id"] for j in fakes.jobs("openrouter")] == [job]


def test_start_and_end_sends_the_last_frame_in_whole_seconds(bench, fakes):
    root, storage, start, end = bench
    adapter(storage, fakes, "bytedance/seedance-2.0").submit(clip(start, end, seconds=6.2, resolution="720p"),
                                                             client_ref="call-2")
    body = posts(fakes)[0]["body"]
    assert [f["frame_type"] for f in body["frame_images"]] == ["first_frame", "last_frame"]
    last = body["frame_images"][1]["image_url"]["url"]
    assert base64.b64decode(last.split(",", 1)[1]) == storage.get_bytes(end)
    assert (body["duration"], body["resolution"], body["model"]) == (7, "720p", "bytedance/seedance-2.0")


@pytest.mark.parametrize("seconds,sent", [(2.0, 4), (3.5, 4), (4.0, 4), (4.01, 5), (7.5, 8), (12.0, 12)])
def test_duration_is_whole_seconds_rounded_up_from_the_models_minimum(seconds, sent):
    assert openrouter.duration_for(seconds) == sent


def test_polls_and_download_send_the_key_to_the_api_host_only(bench, fakes, tmp_path):
    root, storage, start, _ = bench
    video = adapter(storage, fakes)
    job = video.submit(clip(start), client_ref="call-3")
    status = video.poll(job)
    assert status.state == "succeeded" and isinstance(status.cost, str)
    assert Decimal(status.cost) == Decimal(cost_of(MINI, 4, "480p")) == Decimal("0.052")  # the fake's usage.cost
    fakes.faults({"provider": "openrouter", "op": "download", "kind": "redirect"})
    got = video.download(job, tmp_path / "clip.mp4")
    p = probe(got)
    assert p.codec == "h264" and p.duration >= 2.5 and (p.width, p.height) == (854, 480)
    seen = fakes.requests()
    mine = [r for r in seen if r["path"].startswith(API)]
    assert [(r["method"], r["path"]) for r in mine] == [
        ("POST", f"{API}/videos"), ("GET", f"{API}/videos/{job}"), ("GET", f"{API}/videos/{job}/content")]
    assert mine[-1]["query"] == {"index": ["0"]}
    assert all(r["headers"]["authorization"] == f"Bearer {fake_key('openrouter')}" for r in mine)
    [cdn] = [r for r in seen if r["path"].startswith("/files/")]
    assert cdn["headers"]["host"].startswith("localhost") and "authorization" not in cdn["headers"]


def test_the_key_is_read_when_used_never_at_construction_or_kept(bench, fakes, monkeypatch):
    root, storage, start, _ = bench
    monkeypatch.delenv("OPENROUTER_API_KEY")
    video = adapter(storage, fakes)  # no key yet: building the provider needs none
    with pytest.raises(MissingKey, match="OPENROUTER_API_KEY"):
        video.submit(clip(start), client_ref="call-4")
    assert fakes.requests("openrouter") == []
    monkeypatch.setenv("OPENROUTER_API_KEY", fake_key("openrouter"))
    job = video.submit(clip(start), client_ref="call-4")
    assert video.key_id == openrouter.provider_key("openrouter").id
    assert fake_key("openrouter") not in repr(vars(video)) + job


def test_no_cancel_and_no_lookup_are_documented(bench, fakes):
    _, storage, _, _ = bench
    video = adapter(storage, fakes)
    with pytest.raises(NotImplementedError, match="cancel"):
        video.cancel("job-1")
    with pytest.raises(NotImplementedError, match="call id"):
        video.find_job("call-1")
    assert fakes.requests("openrouter") == []


def test_the_key_check_reads_the_limit_and_refuses_a_wrong_key(fakes, monkeypatch):
    base = fakes.url("openrouter")
    assert openrouter.key_limit(base_url=base) is None  # uncapped: limit_remaining null
    lines = {f.check: f for f in openrouter.doctor(base_url=base)}
    assert lines["key"].ok and lines["key valid"].ok and lines["credit"].ok and not lines["credit"].blocking
    fakes.keys({"openrouter": {"limit": 100, "limit_remaining": 74.5, "usage": 25.5}})
    assert openrouter.key_limit(base_url=base) == Decimal("74.5")
    lines = {f.check: f for f in openrouter.doctor(base_url=base)}
    assert lines["credit"].ok and "$74.5 left of its $100 limit" in lines["credit"].text
    assert all(fake_key("openrouter") not in f.text for f in lines.values())
    fakes.keys({"openrouter": {"limit": 10, "limit_remaining": 0}})
    lines = {f.check: f for f in openrouter.doctor(base_url=base)}
    assert not lines["credit"].ok and lines["credit"].blocking
    assert [r["path"] for r in fakes.requests("openrouter")] == [f"{API}/key"] * 5

    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-v1-not-a-key-the-fake-knows")
    with pytest.raises(AuthenticationFailed):
        openrouter.key_limit(base_url=base)
    lines = {f.check: f for f in openrouter.doctor(base_url=base)}
    assert lines["key"].ok and not lines["key valid"].ok and lines["key valid"].blocking
    assert "credit" not in lines

    monkeypatch.delenv("OPENROUTER_API_KEY")
    [missing] = openrouter.doctor(base_url=base)
    assert missing.check == "key" and not missing.ok and "OPENROUTER_API_KEY" in missing.text


def test_slate_doctor_holds_the_estimate_to_what_the_key_has_left(example_film, fakes):
    from typer.testing import CliRunner

    from slate.cli import app
    fakes.keys({"openrouter": {"limit": 1, "limit_remaining": 0.05}})  # 9 clips at $0.052 or more will not fit
    short = CliRunner().invoke(app, ["doctor", str(example_film), "--provider", "openrouter"])
    assert short.exit_code == 1, short.output
    assert "$0.05 left of its limit" in short.output and fake_key("openrouter") not in short.output
    fakes.keys({"openrouter": {"limit": None, "limit_remaining": None}})
    fine = CliRunner().invoke(app, ["doctor", str(example_film), "--provider", "openrouter"])
    assert fine.exit_code == 0, fine.output
    assert {r["path"] for r in fakes.requests("openrouter")} == {f"{API}/key"}  # nothing paid for


# -- 2. faults, through a real governor ------------------------------------------------------------

def gov(root: Path, run_id: str = "run-1") -> Governor:
    return Governor(run_id=run_id, film="night-diner", root=root, ledger=Ledger.for_project(root),
                    estimate=lambda units, model: ESTIMATE, storage=LocalStorage(root),
                    caps=[Cap("run", Decimal("10")), Cap("film", Decimal("100"))], poll_interval=0.02, busy_poll=0.05, failure_charge=RateCard.load().failure_charge)


def paid(g: Governor, video, req: ClipRequest, shot: str = "1A"):
    ctx = CallContext(g.run_id, "night-diner", "scene-01", shot, "video", 1, "openrouter", video.model, "draft")
    spec = CallSpec(ctx, Usage("video", seconds=req.seconds, resolution=req.resolution), req.fingerprint())
    return g.job_call(spec, submit=lambda ref: video.submit(req, client_ref=ref), poll=video.poll,
                      download=video.download, suffix="mp4", deadline=60, poll_interval=0.02,
                      find=video.find_job, cancel=video.cancel)


def rows(root: Path):
    return Ledger.for_project(root).rows(film="night-diner")


def fault(op: str, kind: str, **kw) -> dict:
    return {"provider": "openrouter", "op": op, "kind": kind, **kw}


def test_a_rate_limit_is_waited_out_and_the_job_made_once(bench, fakes):
    root, storage, start, _ = bench
    fakes.faults(fault("submit", "status", status=429, headers={"Retry-After": "1"}))
    started = time.monotonic()
    got = paid(gov(root), adapter(storage, fakes), clip(start))
    assert time.monotonic() - started >= 1.0  # the wait OpenRouter asked for
    refused, done = rows(root)
    assert (refused.status, refused.error_class, refused.actual_cost) == ("failed", "RateLimited", Decimal(0))
    assert (done.status, done.artifact_uri) == ("succeeded", got.uri)
    assert done.actual_cost == Decimal("0.052") != ESTIMATE  # settled at OpenRouter's own figure
    assert len(posts(fakes)) == 2 and len(fakes.jobs("openrouter")) == 1
    assert storage.exists(got.uri)


def test_an_answer_lost_after_the_job_was_made_is_unknown_and_never_sent_again(bench, fakes):
    root, storage, start, _ = bench
    req = clip(start)
    fakes.faults(fault("submit", "drop_after"))
    with pytest.raises(UnknownOutcome, match="counts as spent"):
        paid(gov(root), adapter(storage, fakes), req)
    [row] = rows(root)
    assert row.status == "unknown" and row.job_id is None
    assert len(fakes.jobs("openrouter")) == 1
    with pytest.raises(UnknownOutcome):  # another run asks for the same clip: looked up, not resent
        paid(gov(root, "run-2"), adapter(storage, fakes), req)
    assert [r.status for r in rows(root)] == ["unknown"]
    assert len(fakes.jobs("openrouter")) == 1 and len(posts(fakes)) == 1


def test_a_connection_dropped_before_the_job_is_still_unknown(bench, fakes):
    root, storage, start, _ = bench
    fakes.faults(fault("submit", "drop_before"))
    with pytest.raises(UnknownOutcome):  # from here nobody can tell it from a lost answer
        paid(gov(root), adapter(storage, fakes), clip(start))
    assert [r.status for r in rows(root)] == ["unknown"] and fakes.jobs("openrouter") == []


def test_a_moderation_refusal_is_recorded_in_the_providers_words_and_not_retried(bench, fakes):
    root, storage, start, _ = bench
    fakes.faults(fault("submit", "moderation"))
    with pytest.raises(JobRefused, match="flagged"):
        paid(gov(root), adapter(storage, fakes), clip(start))
    [row] = rows(root)
    assert (row.status, row.error_class) == ("failed", "RefusedByModeration")
    assert row.error_message == MODERATION and row.actual_cost == Decimal(0)  # the fake reports $0
    assert len(posts(fakes)) == 1 and len(fakes.jobs("openrouter")) == 1


def test_a_refusal_is_read_from_an_error_object_as_well_as_a_string(bench, fakes):
    # The shape of a failed job's `error` is not in the notes: both are read.
    root, storage, start, _ = bench
    video = adapter(storage, fakes)
    fakes.faults(fault("poll", "moderation", body={"code": 400, "message": "Output video flagged as sensitive"}))
    status = video.poll(video.submit(clip(start), client_ref="call-5"))
    assert (status.state, status.refused, status.error) == ("failed", True, "Output video flagged as sensitive")


def test_a_403_that_speaks_of_moderation_is_a_refusal_not_a_bad_key(bench, fakes):
    # Our reading, should the videos API answer as OpenRouter's chat API does for flagged input
    # (not in the notes): the words below are the test's own, not OpenRouter's.
    root, storage, start, _ = bench
    fakes.faults(fault("submit", "status", status=403,
                       body={"error": {"code": 403, "message": "input flagged by moderation"}}))
    g = gov(root)
    with pytest.raises(RefusedByModeration, match="input flagged by moderation"):
        paid(g, adapter(storage, fakes), clip(start))
    [row] = rows(root)
    assert (row.status, row.error_class, row.actual_cost) == ("failed", "RefusedByModeration", Decimal(0))
    assert g.halted is None and "check the key" not in row.error_message


def test_a_failed_job_is_failed_not_refused(bench, fakes):
    root, storage, start, _ = bench
    fakes.faults(fault("poll", "job_failed"))
    with pytest.raises(JobEnded) as got:
        paid(gov(root), adapter(storage, fakes), clip(start))
    assert not isinstance(got.value, JobRefused)
    [row] = rows(root)
    assert (row.status, row.error_class) == ("failed", "JobFailed") and len(fakes.jobs("openrouter")) == 1


@pytest.mark.parametrize("status,cls", [(402, OutOfCredit), (401, AuthenticationFailed), (403, OutOfCredit)])
def test_credit_and_key_refusals_fail_at_nothing_and_halt_the_run(bench, fakes, status, cls):
    root, storage, start, end = bench
    fakes.faults(fault("submit", "status", status=status))  # 403: "Key limit exceeded (total limit)…"
    g, video = gov(root), adapter(storage, fakes)
    with pytest.raises(cls):
        paid(g, video, clip(start))
    [row] = rows(root)
    assert (row.status, row.error_class, row.actual_cost) == ("failed", cls.__name__, Decimal(0))
    with pytest.raises(RunHalted, match="provider refused the run"):
        paid(g, video, clip(start, end), shot="1B")
    assert len(posts(fakes)) == 1 and fakes.jobs("openrouter") == []


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_server_error_on_submit_is_an_unknown_outcome(bench, fakes, status):
    root, storage, start, _ = bench
    fakes.faults(fault("submit", "status", status=status))
    with pytest.raises(UnknownOutcome):
        paid(gov(root), adapter(storage, fakes), clip(start))
    [row] = rows(root)
    assert row.status == "unknown" and len(posts(fakes)) == 1


def test_busy_and_failing_polls_are_polled_through(bench, fakes):
    root, storage, start, _ = bench
    fakes.faults(fault("poll", "busy", times=3), fault("poll", "status", status=503))
    got = paid(gov(root), adapter(storage, fakes), clip(start))
    [row] = rows(root)
    assert row.status == "succeeded" and row.artifact_uri == got.uri and row.actual_cost == Decimal("0.052")
    polls = [r for r in fakes.requests("openrouter") if r["method"] == "GET" and not r["path"].endswith("/content")]
    assert len(polls) == 5 and len(fakes.jobs("openrouter")) == 1


def test_an_expired_output_is_a_clear_failure_at_its_cost_not_a_second_job(bench, fakes):
    root, storage, start, _ = bench
    fakes.faults(fault("download", "expired"))
    with pytest.raises(BadOutput, match="no longer at OpenRouter"):
        paid(gov(root), adapter(storage, fakes), clip(start))
    [row] = rows(root)
    assert (row.status, row.error_class) == ("failed", "BadOutput") and "expired" in row.error_message
    assert row.actual_cost == Decimal("0.052")  # what OpenRouter reports the job cost
    assert len(posts(fakes)) == 1 and len(fakes.jobs("openrouter")) == 1
    assert not list((root / ".slate" / "downloads").glob("*part*"))


def test_a_hard_stop_lets_a_job_that_cannot_be_cancelled_finish_and_be_recorded(bench, fakes):
    root, storage, start, end = bench
    video = adapter(storage, fakes)
    fakes.faults(fault("poll", "busy", times=2))
    g = gov(root)
    submit = video.submit

    def submit_then_stop(req, *, client_ref):
        job = submit(req, client_ref=client_ref)
        request_stop(root, hard=True)
        return job

    video.submit = submit_then_stop
    got = paid(g, video, clip(start))
    [row] = rows(root)
    assert row.status == "succeeded" and storage.exists(got.uri)  # paid for, so kept
    with pytest.raises(RunHalted, match="stop"):
        paid(g, video, clip(start, end), shot="1B")
    assert len(fakes.jobs("openrouter")) == 1


# -- 3. end to end: slate run --provider openrouter ---------------------------------------------------

