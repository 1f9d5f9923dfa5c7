"""fal's queue adapter (providers/fal.py) against the fake queue (tests/fakes/fal.py) over real HTTP.

Three layers, each counted where its effects land — the requests the fake received, the jobs it
would bill, the governor's ledger rows, the files a run wrote:

  * the contract: paths, the auth header, the JSON fields and their types, the returned URLs
    followed as given (a URL rebuilt from the model id would 404), the job id's size;
  * faults through a real Governor: what each error becomes in the ledger, and that nothing is
    paid for twice;
  * a `slate run` of the example film on fal's video (panels and judge local), end to end.

Only what PROVIDERS.md marks known is asserted as fact; FLUX Kontext's inputs are not in the
notes, so its tests assert only the envelope, the prompt and the image.
"""
from __future__ import annotations

import base64
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from PIL import Image

from slate.governor.chokepoint import (CallContext, CallSpec, Governor, JobEnded, JobRefused, RunHalted, UnknownOutcome,
                                       Usage)
from slate.governor.ledger import Cap, Ledger
from slate.governor.ratecard import RateCard
from slate.providers import fal
from slate.providers.base import ClipRequest
from slate.providers.errors import (AuthenticationFailed, BadOutput, BadRequest, OutOfCredit, RefusedByModeration)
from slate.providers.keys import MissingKey, provider_key
from slate.providers.storage_local import LocalStorage
from tests.fakes.control import fake_key

SEEDANCE_PRO = "fal-ai/bytedance/seedance/v1/pro/image-to-video"
SEEDANCE_LITE = "fal-ai/bytedance/seedance/v1/lite/image-to-video"
SEEDANCE_2 = "bytedance/seedance-2.0/image-to-video"
KLING_STD = "fal-ai/kling-video/v2.1/standard/image-to-video"
KONTEXT = "fal-ai/flux-pro/kontext"
ESTIMATE = Decimal("0.10")
FILM = "night-diner"


# -- the bench: an example film with two approved panels in storage --------------------------------

@pytest.fixture
def bench(painted, fakes):
    return painted.root, painted.storage, painted.drawn[0], painted.drawn[1], painted.requests


def clip(start: str, end: str | None = None, seconds: float = 2.5, resolution: str = "480p",
         seed: int = 7) -> ClipRequest:
    return ClipRequest(prompt="slow dolly-in on the diner counter", start_uri=start, end_uri=end, seconds=seconds,
                       width=854, height=480, fps=24, resolution=resolution, movement="dolly_in",
                       camera_fixed=False, seed=seed)


def video(fakes, storage, model: str = SEEDANCE_PRO) -> fal.FalVideo:
    return fal.video(model, storage=storage, base_url=fakes.url("fal"))


def posts(fakes) -> list[dict]:
    return [r for r in fakes.requests("fal") if r["method"] == "POST"]


def decoded(url: str) -> bytes:
    assert url.startswith("data:image/png;base64,")
    return base64.b64decode(url.split(",", 1)[1])


def finish(v: fal.FalVideo, job_id: str, dest: Path, polls: int = 20):
    for _ in range(polls):
        status = v.poll(job_id)
        if status.state not in ("queued", "running"):
            break
    return status, (v.download(job_id, dest) if status.state == "succeeded" else None)


# -- 1. the contract --------------------------------------------------------------------------------

def test_a_submit_is_the_model_input_itself_with_the_key_in_fals_header(bench, fakes, tmp_path):
    root, storage, start, _end, _ = bench
    v = video(fakes, storage)
    req = clip(start, seconds=2.5)
    job_id = v.submit(req, client_ref="call-1")
    [sent] = fakes.requests("fal")
    assert (sent["method"], sent["path"]) == ("POST", "/fal/" + SEEDANCE_PRO)
    assert sent["headers"]["authorization"] == "Key " + fake_key("fal")
    body = sent["body"]
    assert set(body) == {"prompt", "image_url", "resolution", "duration", "camera_fixed", "seed"}  # no wrapper
    assert body["prompt"] == req.prompt
    assert decoded(body["image_url"]) == storage.get_bytes(start)
    assert body["resolution"] == "480p"
    assert body["duration"] == "3"                                  # a string, 2.5 s rounded up
    assert body["camera_fixed"] is False and body["seed"] == 7
    assert "end_image_url" not in body                              # start-only mode
    status, path = finish(v, job_id, tmp_path / "clip.mp4")
    assert status.state == "succeeded" and path.stat().st_size > 0
    assert fake_key("fal") not in job_id


def test_the_end_frame_is_sent_only_in_start_end_mode(bench, fakes):
    root, storage, start, end, _ = bench
    video(fakes, storage).submit(clip(start, end, seconds=3.0), client_ref="call-1")
    [sent] = posts(fakes)
    assert decoded(sent["body"]["end_image_url"]) == storage.get_bytes(end)
    assert decoded(sent["body"]["image_url"]) == storage.get_bytes(start)
    assert sent["body"]["duration"] == "3"


def test_the_returned_urls_are_followed_never_rebuilt(bench, fakes, tmp_path):
    root, storage, start, _end, _ = bench
    v = video(fakes, storage)
    job_id = v.submit(clip(start), client_ref="call-1")
    finish(v, job_id, tmp_path / "clip.mp4")
    [job] = fakes.jobs("fal")
    owner_app = f"/fal/fal-ai/bytedance/requests/{job['id']}"       # owner/app only, as fal answers
    gets = [r["path"] for r in fakes.requests("fal") if r["method"] == "GET"]
    assert gets and set(gets) == {owner_app + "/status", owner_app}
    assert all(r["headers"]["authorization"] == "Key " + fake_key("fal")
               for r in fakes.requests("fal") if r["path"].startswith(owner_app))
    # the fake is strict, as fal is: the URL a client would rebuild from the model id is nothing
    rebuilt = fakes.http.get(f"/fal/{SEEDANCE_PRO}/requests/{job['id']}/status",
                             headers={"Authorization": "Key " + fake_key("fal")})
    assert rebuilt.status_code == 404


def test_the_key_goes_to_the_queue_only_never_to_the_file_host(bench, fakes, tmp_path):
    root, storage, start, _end, _ = bench
    v = video(fakes, storage)
    job_id = v.submit(clip(start), client_ref="c")
    finish(v, job_id, tmp_path / "clip.mp4")
    [file_get] = [r for r in fakes.requests() if r["path"].startswith("/files/")]
    assert "authorization" not in file_get["headers"]
    # a job id whose URLs point anywhere but the queue's origin is not followed with the key
    kept = fal.Job.decode(job_id)
    elsewhere = fal.Job(kept.request_id, kept.response_url.replace("127.0.0.1", "localhost"),
                        kept.status_url.replace("127.0.0.1", "localhost"), kept.cancel_url, kept.seconds)
    before = len(fakes.requests())
    with pytest.raises(BadRequest, match="the key is not sent there"):
        v.poll(elsewhere.encode())
    assert len(fakes.requests()) == before


@pytest.mark.parametrize("model, seconds, sent", [
    (SEEDANCE_LITE, 2.0, "2"), (SEEDANCE_LITE, 2.01, "3"), (SEEDANCE_LITE, 1.5, "2"), (SEEDANCE_LITE, 12.0, "12"),
    (SEEDANCE_PRO, 3.5, "4"),
    (KLING_STD, 2.5, "5"), (KLING_STD, 5.0, "5"), (KLING_STD, 5.5, "10"), (KLING_STD, 10.0, "10"),
])
def test_duration_is_what_each_model_takes(bench, fakes, model, seconds, sent):
    root, storage, start, _end, _ = bench
    video(fakes, storage, model).submit(clip(start, seconds=seconds), client_ref="c")
    [post] = posts(fakes)
    assert post["path"] == "/fal/" + model and post["body"]["duration"] == sent
    if model == KLING_STD:  # Kling takes prompt, image_url and duration; no resolution, no end frame
        assert set(post["body"]) == {"prompt", "image_url", "duration"}


def test_seedance_2_gets_its_own_fields_and_its_4_to_15_seconds(bench, fakes):
    root, storage, start, end, _ = bench
    video(fakes, storage, SEEDANCE_2).submit(clip(start, end, seconds=2.5, resolution="720p"), client_ref="c")
    [post] = posts(fakes)
    body = post["body"]
    assert set(body) == {"prompt", "image_url", "end_image_url", "resolution", "duration", "generate_audio"}
    assert body["generate_audio"] is False   # sound not asked: said so, never left to a default
    assert int(body["duration"]) == 4 and body["resolution"] == "720p"  # its type is not in the notes [?]


@pytest.mark.parametrize("model, seconds", [(SEEDANCE_PRO, 12.5), (KLING_STD, 10.5), (SEEDANCE_2, 15.2)])
def test_a_shot_longer_than_the_model_makes_is_refused_before_sending(bench, fakes, model, seconds):
    root, storage, start, _end, _ = bench
    with pytest.raises(BadRequest, match="at most|longer"):
        video(fakes, storage, model).submit(clip(start, seconds=seconds), client_ref="c")
    assert fakes.requests("fal") == []


def test_kling_refuses_a_start_end_shot_rather_than_drop_its_end_frame(bench, fakes):
    root, storage, start, end, _ = bench
    with pytest.raises(BadRequest, match="no end frame"):
        video(fakes, storage, KLING_STD).submit(clip(start, end), client_ref="c")
    assert fakes.requests("fal") == []


def test_the_job_id_keeps_the_three_urls_within_the_ledgers_500_characters(bench, fakes):
    root, storage, start, _end, _ = bench
    longest = max((m for m in fal.VIDEO_MODELS if m not in fal.VIDEO_REFERENCES), key=len)  # takes a frame
    job_id = video(fakes, storage, longest).submit(clip(start), client_ref="c")
    [job] = fakes.jobs("fal")
    kept = fal.Job.decode(job_id)
    owner_app = "/".join(longest.split("/")[:2])
    assert kept.request_id == job["id"]
    assert kept.status_url == f"{fakes.url('fal')}/{owner_app}/requests/{job['id']}/status"
    assert kept.cancel_url == f"{fakes.url('fal')}/{owner_app}/requests/{job['id']}/cancel"
    assert kept.response_url == f"{fakes.url('fal')}/{owner_app}/requests/{job['id']}"
    assert len(job_id) <= fal.JOB_ID_LIMIT
    # and at fal's own host, with the longest owner/app the catalogue has
    rid = "80e732af-660e-45cd-bd63-580e4f2a94cc"
    for model in fal.VIDEO_MODELS:
        base = f"https://queue.fal.run/{'/'.join(model.split('/')[:2])}/requests/{rid}"
        real = fal.Job(rid, base, base + "/status", base + "/cancel", 12.0).encode()
        assert len(real) <= fal.JOB_ID_LIMIT and fal.Job.decode(real).status_url == base + "/status"


def test_a_bare_request_id_is_followed_at_the_owner_app_urls_fal_documents(bench, fakes):
    """A person attaches the request id fal's dashboard shows: it is followed at
    {base}/{owner}/{app}/requests/{id} (PROVIDERS.md §2), never at a URL of the full model id."""
    root, storage, start, _end, _ = bench
    v = video(fakes, storage)
    stored = fal.Job.decode(v.submit(clip(start), client_ref="c"))
    assert v.poll(stored.request_id).state == "succeeded"
    v.download(stored.request_id, root / "clip.mp4")
    paths = {r["path"] for r in fakes.requests("fal") if r["method"] == "GET"}
    assert paths == {f"/fal/fal-ai/bytedance/requests/{stored.request_id}/status",
                     f"/fal/fal-ai/bytedance/requests/{stored.request_id}"}
    with pytest.raises(BadRequest, match="cannot be followed"):
        v.poll("not a request id")


def test_the_key_is_read_at_each_call_never_held(bench, fakes, monkeypatch):
    root, storage, start, _end, _ = bench
    monkeypatch.delenv("FAL_KEY")
    v = video(fakes, storage)                          # built without a key: nothing is read yet
    with pytest.raises(MissingKey, match="FAL_KEY"):
        v.submit(clip(start), client_ref="c")
    assert fakes.requests("fal") == []
    monkeypatch.setenv("FAL_KEY", fake_key("fal", "other"))
    assert v.key_id == provider_key("fal").id
    v.submit(clip(start), client_ref="c")
    assert posts(fakes)[0]["headers"]["authorization"] == "Key " + fake_key("fal", "other")
    assert fake_key("fal", "other") not in repr(vars(v)) + repr(vars(v.queue))


def test_find_job_says_fal_cannot_look_a_request_up(bench, fakes):
    root, storage, *_ = bench
    with pytest.raises(NotImplementedError):
        video(fakes, storage).find_job("call-1")


def test_a_cancel_before_the_run_starts_ends_the_job_unbilled(bench, fakes):
    root, storage, start, _end, _ = bench
    v = video(fakes, storage)
    job_id = v.submit(clip(start), client_ref="c")
    v.cancel(job_id)
    status = v.poll(job_id)
    assert status.state == "failed" and "cancel" in status.error and not status.refused
    [put] = [r for r in fakes.requests("fal") if r["method"] == "PUT"]
    assert put["path"].endswith("/cancel") and "/fal-ai/bytedance/requests/" in put["path"]


def test_a_cancel_after_the_run_started_signals_its_app_which_may_stop_it_or_run_on(bench, fakes, tmp_path):
    """fal sends a running request's app a cancellation signal, and the app decides [D: fal.ai/docs/
    inference-api/queue/cancel] (this test once held a 400 "too late" after the start, a guess the
    docs do not bear out): an app that stops ends the job; one that ignores the signal runs on and
    finishes. Neither cancel raises; the next poll says which."""
    root, storage, start, _end, _ = bench
    fakes.faults({"provider": "fal", "op": "status", "kind": "busy", "times": 2})
    v = video(fakes, storage)
    job_id = v.submit(clip(start), client_ref="c")
    assert v.poll(job_id).state == "queued"
    v.cancel(job_id)                                   # its app stops
    assert v.poll(job_id).state == "failed"
    fakes.faults({"provider": "fal", "op": "status", "kind": "busy", "times": 2},
                 {"provider": "fal", "op": "cancel", "kind": "ignored"})
    other = v.submit(clip(start, seconds=3.0), client_ref="d")
    assert v.poll(other).state == "queued"
    v.cancel(other)                                    # its app ignores the signal: paid for
    assert v.poll(other).state == "running"
    status, path = finish(v, other, tmp_path / "clip.mp4")
    assert status.state == "succeeded" and path.is_file()
    assert [c["outcome"] for c in fakes.cancels("fal")] == ["canceled", "signal ignored: runs on"]


def test_a_panel_is_one_queued_kontext_request_answered_at_the_panel_size(bench, fakes):
    root, storage, _start, _end, drawn = bench
    request = drawn[0]
    png = fal.image(KONTEXT, storage=storage, base_url=fakes.url("fal")).generate_panel(request, client_ref="c")
    with Image.open(io.BytesIO(png)) as img:
        assert (img.format, img.size) == ("PNG", (request.width, request.height))
    [post] = posts(fakes)
    assert post["path"] == "/fal/" + KONTEXT
    assert post["headers"]["authorization"] == "Key " + fake_key("fal")
    assert post["body"]["prompt"] == request.prompt
    assert decoded(post["body"]["image_url"]) == storage.get_bytes(request.plate_uri)
    assert "input" not in post["body"]                                 # the input itself, no wrapper
    assert len(fakes.jobs("fal")) == 1


def test_a_panel_with_a_human_composite_sends_the_composite(bench, fakes):
    from dataclasses import replace
    root, storage, start, _end, drawn = bench
    request = replace(drawn[0], override_uri=start)
    fal.image(KONTEXT, storage=storage, base_url=fakes.url("fal")).generate_panel(request)
    [post] = posts(fakes)
    assert decoded(post["body"]["image_url"]) == storage.get_bytes(start)


def test_doctor_names_the_variable_and_pays_nothing(fakes, monkeypatch):
    found = fal.doctor(base_url=fakes.url("fal"))
    by = {f.check: f for f in found}
    assert by["key"].ok and provider_key("fal").id in by["key"].text
    assert not by["key valid"].ok and not by["key valid"].blocking and "paid call" in by["key valid"].text
    assert not any(fake_key("fal") in f.text for f in found)
    monkeypatch.delenv("FAL_KEY")
    [missing] = fal.doctor(base_url=fakes.url("fal"))
    assert (missing.check, missing.ok, missing.blocking) == ("key", False, True) and "FAL_KEY" in missing.text
    assert fakes.requests("fal") == []


# -- 2. faults, through a real Governor --------------------------------------------------------------

def gov(root: Path, run_id: str = "run-1") -> Governor:
    return Governor(run_id=run_id, film=FILM, root=root, ledger=Ledger.for_project(root),
                    estimate=lambda units, model: ESTIMATE,
                    caps=[Cap("run", Decimal("10")), Cap("film", Decimal("100"))], storage=LocalStorage(root),
                    poll_interval=0.02, busy_poll=0.05, failure_charge=RateCard.load().failure_charge)


def run_job(g: Governor, v: fal.FalVideo, req: ClipRequest):
    ctx = CallContext(g.run_id, FILM, "scene-01", "1A", "video", 1, "fal", v.model, "draft")
    spec = CallSpec(ctx, Usage("video", seconds=req.seconds, resolution=req.resolution), req.fingerprint())
    return g.job_call(spec, submit=lambda ref: v.submit(req, client_ref=ref), poll=v.poll, download=v.download,
                      suffix="mp4", deadline=30, poll_interval=0.02, find=v.find_job, cancel=v.cancel)


def rows(root: Path):
    return Ledger.for_project(root).rows(film=FILM)


def test_a_429_is_waited_out_and_sent_again_one_job_at_fal(bench, fakes):
    root, storage, start, _end, _ = bench
    fakes.faults({"provider": "fal", "op": "submit", "kind": "status", "status": 429,
                  "headers": {"Retry-After": "0"}, "body": {"detail": "Too many requests"}})
    got = run_job(gov(root), video(fakes, storage), clip(start))
    assert storage.exists(got.uri)
    assert [(r.status, r.error_class, r.actual_cost) for r in rows(root)] == [
        ("failed", "RateLimited", Decimal(0)), ("succeeded", None, ESTIMATE)]
    assert len(posts(fakes)) == 2 and len(fakes.jobs("fal")) == 1


def test_a_connection_dropped_after_the_job_was_made_is_unknown_and_never_sent_again(bench, fakes):
    root, storage, start, _end, _ = bench
    fakes.faults({"provider": "fal", "op": "submit", "kind": "drop_after"})
    req = clip(start)
    with pytest.raises(UnknownOutcome, match="reconcile"):
        run_job(gov(root), video(fakes, storage), req)
    [row] = rows(root)
    assert row.status == "unknown" and row.job_id is None
    assert len(fakes.jobs("fal")) == 1
    with pytest.raises(UnknownOutcome, match="cannot find it"):
        run_job(gov(root, "run-2"), video(fakes, storage), req)   # another run asks again
    assert len(fakes.jobs("fal")) == 1 and len(posts(fakes)) == 1
    assert [r.status for r in rows(root)] == ["unknown"]


def test_moderation_at_submit_fails_the_row_in_fals_words_and_is_not_retried(bench, fakes):
    root, storage, start, _end, _ = bench
    fakes.faults({"provider": "fal", "op": "submit", "kind": "moderation"})
    with pytest.raises(RefusedByModeration, match="content_policy_violation"):
        run_job(gov(root), video(fakes, storage), clip(start))
    [row] = rows(root)
    assert (row.status, row.error_class, row.actual_cost) == ("failed", "RefusedByModeration", Decimal(0))
    assert "flagged by a content checker" in row.error_message
    assert len(posts(fakes)) == 1 and fakes.jobs("fal") == []


def test_moderation_of_a_finished_job_is_a_refused_job(bench, fakes):
    root, storage, start, _end, _ = bench
    fakes.faults({"provider": "fal", "op": "result", "kind": "moderation"})
    with pytest.raises(JobRefused, match="content_policy_violation"):
        run_job(gov(root), video(fakes, storage), clip(start))
    [row] = rows(root)
    # fal: a 422 after a runner spent GPU time may be charged (its FAQ): the rate card says compute.
    assert (row.status, row.error_class, row.actual_cost) == ("failed", "RefusedByModeration", ESTIMATE)
    assert len(posts(fakes)) == 1 and len(fakes.jobs("fal")) == 1


def test_a_failed_job_is_failed_with_the_models_words(bench, fakes):
    root, storage, start, _end, _ = bench
    fakes.faults({"provider": "fal", "op": "result", "kind": "job_failed"})
    with pytest.raises(JobEnded, match="could not generate"):
        run_job(gov(root), video(fakes, storage), clip(start))
    [row] = rows(root)
    assert (row.status, row.error_class) == ("failed", "JobFailed")
    assert len(fakes.jobs("fal")) == 1


@pytest.mark.parametrize("status, body, error", [
    (402, {"detail": "Payment required"}, OutOfCredit),
    (401, {"detail": "Invalid API key"}, AuthenticationFailed),
    (403, {"detail": "User is locked. Reason: Exhausted balance"}, OutOfCredit),
])
def test_credit_and_key_refusals_fail_at_zero_and_halt_the_run(bench, fakes, status, body, error):
    root, storage, start, _end, _ = bench
    fakes.faults({"provider": "fal", "op": "submit", "kind": "status", "status": status, "body": body})
    g, v = gov(root), video(fakes, storage)
    with pytest.raises(error) as exc:
        run_job(g, v, clip(start))
    assert type(exc.value) is error and body["detail"] in str(exc.value)
    [row] = rows(root)
    assert (row.status, row.error_class, row.actual_cost) == ("failed", error.__name__, Decimal(0))
    with pytest.raises(RunHalted):
        run_job(g, v, clip(start, seed=8))                  # the governor's next call
    assert len(posts(fakes)) == 1 and fakes.jobs("fal") == []


@pytest.mark.parametrize("status, body, headers", [
    (500, {"detail": "Internal server error"}, {}),
    (503, {"detail": "Runner unavailable", "error_type": "runner_unavailable"}, {"X-Fal-Error-Type": "runner_unavailable"}),
    (504, {"detail": "Request timed out", "error_type": "request_timeout"}, {"X-Fal-Error-Type": "request_timeout"}),
])
def test_a_5xx_on_submit_is_an_unknown_outcome(bench, fakes, status, body, headers):
    root, storage, start, _end, _ = bench
    fakes.faults({"provider": "fal", "op": "submit", "kind": "status", "status": status, "body": body,
                  "headers": headers})
    with pytest.raises(UnknownOutcome):
        run_job(gov(root), video(fakes, storage), clip(start))
    [row] = rows(root)
    assert row.status == "unknown" and body["detail"] in row.error_message
    assert len(posts(fakes)) == 1


def test_busy_polls_are_polled_through_to_success(bench, fakes):
    root, storage, start, _end, _ = bench
    fakes.faults({"provider": "fal", "op": "status", "kind": "busy", "times": 3},
                 {"provider": "fal", "op": "status", "kind": "status", "status": 503,
                  "body": {"detail": "Request timed out", "error_type": "request_timeout"}})
    got = run_job(gov(root), video(fakes, storage), clip(start))
    assert storage.exists(got.uri)
    assert [(r.status, r.actual_cost) for r in rows(root)] == [("succeeded", ESTIMATE)]
    status_gets = [r for r in fakes.requests("fal") if r["path"].endswith("/status")]
    assert len(status_gets) == 5 and len(fakes.jobs("fal")) == 1   # 3 busy, one 503, then COMPLETED


def test_an_expired_output_is_a_billed_bad_output_not_a_second_job(bench, fakes):
    root, storage, start, _end, _ = bench
    fakes.faults({"provider": "fal", "op": "result", "kind": "expired"})
    with pytest.raises(BadOutput, match="is gone .HTTP 404.*billed"):
        run_job(gov(root), video(fakes, storage), clip(start))
    [row] = rows(root)
    assert (row.status, row.error_class, row.actual_cost) == ("failed", "BadOutput", ESTIMATE)
    assert len(posts(fakes)) == 1 and len(fakes.jobs("fal")) == 1


def test_a_panel_through_the_governor_and_a_refused_one(bench, fakes):
    from slate.governor.chokepoint import Answer
    root, storage, _start, _end, drawn = bench
    g, images = gov(root), fal.image(KONTEXT, storage=storage, base_url=fakes.url("fal"))

    def panel(request, shot):
        ctx = CallContext(g.run_id, FILM, "scene-01", shot, "panel", 1, "fal", KONTEXT, "draft")
        spec = CallSpec(ctx, Usage("image", images=1), request.fingerprint())
        return g.sync_call(spec, lambda ref: Answer(images.generate_panel(request, client_ref=ref), "png"))

    got = panel(drawn[0], "1A")
    assert storage.exists(got.uri)
    fakes.faults({"provider": "fal", "op": "result", "kind": "moderation"})
    with pytest.raises(RefusedByModeration):
        panel(drawn[1], "1B")
    assert [(r.status, r.error_class) for r in rows(root)] == [("succeeded", None),
                                                               ("failed", "RefusedByModeration")]
    assert len(fakes.jobs("fal")) == 2


# -- 3. a `slate run` on fal's video, end to end ------------------------------------------------------


