"""Replicate, against its fake over real HTTP (tests/fakes/replicate.py): what is sent, what each
fault does to the money (counted in ledger rows and in the fake's own book of predictions), and
a `slate run` end to end. No test here reaches the internet.

What is asserted of the wire is only what ../shared/PROVIDERS.md marks known; the two panel
models are not in it, so their tests hold only the envelope, the prompt and the references.
"""
from __future__ import annotations

import base64
import io
import json
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import yaml
from PIL import Image

from slate.governor.chokepoint import (Answer, CallContext, CallSpec, Governor, JobEnded, JobRefused, JobStuck,
                                       RunHalted, UnknownOutcome, Usage)
from slate.governor.ledger import Cap, Ledger
from slate.governor.ratecard import RateCard
from slate.providers import replicate
from slate.providers.base import ClipRequest
from slate.providers.errors import (AuthenticationFailed, BadOutput, BadRequest, OutOfCredit, RateLimited,
                                    RefusedByModeration)
from slate.providers.local import LocalImage
from slate.providers.storage_local import LocalStorage
from tests.fakes.control import fake_key
from tests.fakes.replicate import MODERATION

FILM = "night-diner"
LITE = "bytedance/seedance-1-lite"
ESTIMATE = Decimal("0.10")
THROTTLED = {"detail": "Request was throttled. Your rate limit resets in ~30s.", "status": 429}  # [D]


# -- helpers -------------------------------------------------------------------------------------
@pytest.fixture
def bench(painted, fakes):
    return SimpleNamespace(root=painted.root, storage=painted.storage, panels=painted.requests,
                           start=painted.drawn[0], end=painted.drawn[2], fakes=fakes,
                           url=fakes.url("replicate"))


def clip(st, *, seconds=2.5, end=False, resolution="480p") -> ClipRequest:
    width, height = {"480p": (854, 480), "720p": (1280, 720)}[resolution]
    return ClipRequest(prompt="Nina crosses the wet street to the diner door.", start_uri=st.start,
                       end_uri=st.end if end else None, seconds=seconds, width=width, height=height, fps=24,
                       resolution=resolution, movement="static", camera_fixed=True, seed=7)


def video(st, model=LITE) -> replicate.ReplicateVideo:
    return replicate.video(model, storage=st.storage, base_url=st.url)


def image(st, model="bytedance/seedream-4") -> replicate.ReplicateImage:
    made = replicate.image(model, storage=st.storage, base_url=st.url)
    made.poll_interval = 0.01
    return made


def gov(root: Path, run_id: str = "run-1") -> Governor:
    return Governor(run_id=run_id, film=FILM, root=root, ledger=Ledger.for_project(root),
                    estimate=lambda units, model: ESTIMATE, storage=LocalStorage(root),
                    caps=[Cap("run", Decimal("10")), Cap("film", Decimal("100"))],
                    poll_interval=0.01, busy_poll=0.05, retry_wait_cap=0.2, failure_charge=RateCard.load().failure_charge)


def spec(g: Governor, stage: str, model: str, fingerprint: str, units: Usage) -> CallSpec:
    return CallSpec(CallContext(g.run_id, FILM, "scene-01", "1A", stage, 1, "replicate", model, "draft"),
                    units, fingerprint)


def clip_call(g: Governor, v: replicate.ReplicateVideo, req: ClipRequest):
    s = spec(g, "video", v.model, req.fingerprint(), Usage("video", seconds=req.seconds, resolution=req.resolution))
    return g.job_call(s, submit=lambda ref: v.submit(req, client_ref=ref), poll=v.poll, download=v.download,
                      suffix="mp4", deadline=60, poll_interval=0.01, find=v.find_job, cancel=v.cancel)


def panel_call(g: Governor, img: replicate.ReplicateImage, req):
    s = spec(g, "panel", img.model, req.fingerprint(), Usage("image", images=1))
    return g.sync_call(s, lambda ref: Answer(img.generate_panel(req, client_ref=ref), "png"))


def rows(root: Path):
    return Ledger.for_project(root).rows(film=FILM)


def creates(fakes) -> list[dict]:
    return [r for r in fakes.requests("replicate") if r["method"] == "POST" and r["path"].endswith("/predictions")]


def flat(img: Image.Image) -> Image.Image:
    """An image over mid-grey, as a model would see a transparent sheet."""
    rgba = img.convert("RGBA")
    out = Image.new("RGB", rgba.size, (128, 128, 128))
    out.paste(rgba, mask=rgba.getchannel("A"))
    return out


def pixels(data_url: str) -> np.ndarray:
    head, b64 = data_url.split(",", 1)
    assert head in ("data:image/png;base64", "data:image/jpeg;base64"), head
    return np.asarray(flat(Image.open(io.BytesIO(base64.b64decode(b64)))), dtype=np.int16)


def same_picture(sent: np.ndarray, stored: bytes, box=None) -> bool:
    """The image sent shows the stored one (exactly as PNG, within JPEG's loss otherwise); with
    `box`, the part of a sheet at that box shows it, scaled to fit."""
    ref = Image.open(io.BytesIO(stored)).convert("RGBA")
    if box is not None:
        left, top, right, bottom = box
        ref = ref.resize((right - left, bottom - top), Image.LANCZOS)
        sent = sent[top:bottom, left:right]
    want = np.asarray(flat(ref), dtype=np.int16)
    return sent.shape == want.shape and float(np.abs(sent - want).mean()) < 4.0


# -- 1. the contract: what goes out ----------------------------------------------------------------
#: model → (start input, the seconds for a 2.5 s shot, resolution asked → sent, other inputs)
CLIP_CONTRACT = {
    "bytedance/seedance-1-pro": ("image", 3, ("480p", "480p"), {"fps": 24, "camera_fixed": True, "seed": 7}),
    "bytedance/seedance-1-lite": ("image", 3, ("480p", "480p"), {"fps": 24, "camera_fixed": True, "seed": 7}),
    "bytedance/seedance-1-pro-fast": ("image", 3, ("480p", "480p"), {"fps": 24, "camera_fixed": True, "seed": 7}),
    # 720p: its documented default; generate_audio always said (its default is true, and paid for)
    "bytedance/seedance-2.0": ("image", 3, ("720p", "720p"), {"seed": 7, "generate_audio": False}),
    "kwaivgi/kling-v2.5-turbo-pro": ("start_image", 5, ("480p", None), {}),
    "google/veo-3.1-fast": ("image", 4, ("480p", "720p"), {"generate_audio": False}),   # Veo makes no 480p
}


@pytest.mark.parametrize("model", list(CLIP_CONTRACT))
def test_a_clip_is_asked_as_each_model_takes_it(bench, model):
    start_field, duration, (asked, sent_resolution), extra = CLIP_CONTRACT[model]
    v = video(bench, model)
    req = clip(bench, resolution=asked)
    job_id = v.submit(req, client_ref="call-1")
    [post] = creates(bench.fakes)
    assert post["path"] == f"/replicate/v1/models/{model}/predictions"
    assert post["headers"]["authorization"] == f"Bearer {fake_key('replicate')}"
    assert "prefer" not in post["headers"]          # never a blocking create
    assert set(post["body"]) == {"input"}
    sent = post["body"]["input"]
    expected = {"prompt", start_field, "duration", *extra} | ({"resolution"} if sent_resolution else set())
    assert set(sent) == expected
    assert sent["prompt"] == req.prompt
    assert type(sent["duration"]) is int and sent["duration"] == duration
    assert sent.get("resolution") == sent_resolution
    for name, value in extra.items():
        assert type(sent[name]) is type(value) and sent[name] == value
    assert same_picture(pixels(sent[start_field]), bench.storage.get_bytes(req.start_uri))
    assert job_id == bench.fakes.jobs("replicate")[0]["id"]


def test_a_clip_comes_back_polled_and_downloaded(bench, tmp_path):
    v = video(bench)
    job_id = v.submit(clip(bench), client_ref="call-1")
    status = v.poll(job_id)
    assert status.state == "succeeded" and status.cost is None   # Replicate reports no cost: the rate card prices
    got = v.download(job_id, tmp_path / "clip.mp4")
    assert got.stat().st_size > 0
    gets = [r for r in bench.fakes.requests("replicate") if r["method"] == "GET"]
    assert gets and all(r["headers"]["authorization"].startswith("Bearer r8_") for r in gets)


def test_a_frame_over_a_megabyte_is_sent_as_a_jpeg_data_url(bench):
    """Replicate recommends data URLs only under 1 MB [D]: a 720p panel with grain is over it."""
    from dataclasses import replace
    big = bench.storage.put_bytes(LocalImage(bench.storage).generate_panel(
        replace(bench.panels[0], width=1280, height=720)), "png")
    assert len(bench.storage.get_bytes(big)) > replicate.DATA_URL_BYTES
    video(bench).submit(replace(clip(bench, resolution="720p"), start_uri=big), client_ref="call-1")
    sent = creates(bench.fakes)[0]["body"]["input"]["image"]
    assert sent.startswith("data:image/jpeg;base64,") and len(sent) < 1.4 * replicate.DATA_URL_BYTES
    assert same_picture(pixels(sent), bench.storage.get_bytes(big))


@pytest.mark.parametrize("model, last", [("bytedance/seedance-1-pro", "last_frame_image"),
                                         ("bytedance/seedance-1-lite", "last_frame_image"),
                                         ("google/veo-3.1-fast", "last_frame")])
def test_the_last_frame_is_sent_only_in_start_end_mode(bench, model, last):
    v = video(bench, model)
    v.submit(clip(bench), client_ref="call-1")
    v.submit(clip(bench, end=True), client_ref="call-2")
    start_only, start_end = (p["body"]["input"] for p in creates(bench.fakes))
    assert last not in start_only
    assert same_picture(pixels(start_end[last]), bench.storage.get_bytes(bench.end))


@pytest.mark.parametrize("model", ["bytedance/seedance-1-pro-fast", "kwaivgi/kling-v2.5-turbo-pro"])
def test_a_start_end_clip_on_a_model_without_a_last_frame_is_refused_before_sending(bench, model):
    with pytest.raises(BadRequest, match="takes no last frame"):
        video(bench, model).submit(clip(bench, end=True), client_ref="call-1")
    assert creates(bench.fakes) == [] and bench.fakes.jobs("replicate") == []


@pytest.mark.parametrize("model, seconds, duration", [
    (LITE, 2.0, 2), (LITE, 2.01, 3), (LITE, 11.5, 12),
    ("kwaivgi/kling-v2.5-turbo-pro", 2.0, 5), ("kwaivgi/kling-v2.5-turbo-pro", 5.5, 10),
    ("google/veo-3.1-fast", 4.0, 4), ("google/veo-3.1-fast", 4.2, 6), ("google/veo-3.1-fast", 7.5, 8)])
def test_the_duration_is_rounded_up_to_what_the_model_takes(bench, model, seconds, duration):
    video(bench, model).submit(clip(bench, seconds=seconds), client_ref="call-1")
    assert creates(bench.fakes)[0]["body"]["input"]["duration"] == duration


@pytest.mark.parametrize("model, seconds", [("kwaivgi/kling-v2.5-turbo-pro", 10.5), ("google/veo-3.1-fast", 8.5)])
def test_a_clip_longer_than_the_model_makes_is_refused_before_sending(bench, model, seconds):
    with pytest.raises(BadRequest, match="longer than the model makes"):
        video(bench, model).submit(clip(bench, seconds=seconds), client_ref="call-1")
    assert creates(bench.fakes) == []


def test_a_seedream_panel_sends_the_prompt_and_every_reference(bench):
    req = bench.panels[2]  # a shot with characters
    assert req.characters
    png = image(bench).generate_panel(req, client_ref="call-1")
    assert Image.open(io.BytesIO(png)).size == (req.width, req.height)
    [post] = creates(bench.fakes)
    assert post["path"] == "/replicate/v1/models/bytedance/seedream-4/predictions"
    assert set(post["body"]) == {"input"} and req.prompt in post["body"]["input"]["prompt"]
    sent = post["body"]["input"]["image_input"]
    refs = [req.plate_uri] + [c.turnaround_uri for c in req.characters]
    assert len(sent) == len(refs)
    for url, uri in zip(sent, refs):
        assert same_picture(pixels(url), bench.storage.get_bytes(uri)), uri


def test_a_human_composite_is_sent_first_to_be_polished(bench):
    from dataclasses import replace
    composite = bench.storage.put_bytes(bench.storage.get_bytes(bench.start), "png")
    req = replace(bench.panels[2], override_uri=composite)
    image(bench).generate_panel(req, client_ref="call-1")
    sent = creates(bench.fakes)[0]["body"]["input"]["image_input"]
    assert len(sent) == 2 + len(req.characters)
    assert same_picture(pixels(sent[0]), bench.storage.get_bytes(composite))
    assert same_picture(pixels(sent[1]), bench.storage.get_bytes(req.plate_uri))


def test_a_kontext_panel_sends_every_reference_on_one_sheet(bench):
    req = bench.panels[2]
    png = image(bench, "black-forest-labs/flux-kontext-pro").generate_panel(req, client_ref="call-1")
    assert Image.open(io.BytesIO(png)).size == (req.width, req.height)   # its output is one URL string
    [post] = creates(bench.fakes)
    assert post["path"] == "/replicate/v1/models/black-forest-labs/flux-kontext-pro/predictions"
    sent = post["body"]["input"]
    assert set(post["body"]) == {"input"} and req.prompt in sent["prompt"]
    refs = [bench.storage.get_bytes(u) for u in [req.plate_uri] + [c.turnaround_uri for c in req.characters]]
    sheet = pixels(sent["input_image"])
    sizes = [Image.open(io.BytesIO(r)).size for r in refs]
    size, boxes = replicate.sheet_layout(sizes[0], sizes[1:])
    assert sheet.shape[:2] == (size[1], size[0])
    for ref, box in zip(refs, boxes):
        assert same_picture(sheet, ref, box)


def test_a_prediction_reads_as_a_job(bench):
    """Statuses as PROVIDERS.md lists them; aborted never started and is not billed [D]."""
    assert replicate.job_status({"status": "starting"}).state == "queued"
    assert replicate.job_status({"status": "processing"}).state == "running"
    aborted = replicate.job_status({"status": "aborted"})
    assert (aborted.state, aborted.cost) == ("canceled", "0")
    flagged = replicate.job_status({"status": "failed", "error": MODERATION})
    assert flagged.refused and "(E005)" in flagged.error
    oom = replicate.job_status({"status": "failed", "error": "Out of memory (E1001)"})
    assert oom.state == "failed" and not oom.refused and "E1001" in oom.error


def test_a_job_is_found_by_what_was_asked_never_by_a_guess(bench):
    """Replicate keeps no id of ours: a prediction is found in its list by what was asked, made
    after our intent — and a request nobody made, or asked before it, finds nothing."""
    from datetime import datetime, timedelta, timezone
    v, req = video(bench), clip(bench)
    before = datetime.now(timezone.utc)
    job_id = v.submit(req, client_ref="call-1")
    fresh = video(bench)   # another process: only the request says what was asked
    assert fresh.find_job("call-1", before, request=req) == job_id
    assert fresh.find_job("call-2", before, request=clip(bench, seconds=5.0)) is None      # not asked
    assert fresh.find_job("call-1", before + timedelta(minutes=5), request=req) is None     # made earlier
    with pytest.raises(NotImplementedError, match="not known here"):
        fresh.find_job("call-1", before)
    assert not hasattr(image(bench), "recover")


def test_the_key_goes_to_the_api_only_and_is_read_when_used(bench, monkeypatch):
    v = video(bench)   # made without a key: it is read at the moment of use
    monkeypatch.setenv("REPLICATE_API_TOKEN", fake_key("replicate", "other"))
    job_id = v.submit(clip(bench), client_ref="call-1")
    v.poll(job_id)
    v.download(job_id, bench.root / "clip.mp4")
    seen = bench.fakes.requests()
    key = fake_key("replicate", "other")
    assert [r["headers"]["authorization"] for r in seen if r["path"].startswith("/replicate/")] == [f"Bearer {key}"] * 3
    files = [r for r in seen if r["path"].startswith("/files/")]
    assert files and all("authorization" not in r["headers"] for r in files)   # never to the CDN
    assert all(key not in r["path"] and key not in json.dumps(r["query"]) for r in seen)
    assert v.key_id == replicate.provider_key("replicate").id


def test_a_rate_limit_says_how_long_to_wait(bench):
    bench.fakes.faults({"provider": "replicate", "op": "submit", "kind": "status", "status": 429, "body": THROTTLED})
    with pytest.raises(RateLimited) as got:
        video(bench).submit(clip(bench), client_ref="call-1")
    assert got.value.retry_after == 30.0 and "throttled" in str(got.value)


# -- 2. faults, through a real governor ---------------------------------------------------------------
def test_rate_limited_then_sent_again_makes_one_job(bench):
    bench.fakes.faults({"provider": "replicate", "op": "submit", "kind": "status", "status": 429, "body": THROTTLED})
    got = clip_call(gov(bench.root), video(bench), clip(bench))
    assert bench.storage.exists(got.uri)
    assert len(bench.fakes.jobs("replicate")) == 1 and len(creates(bench.fakes)) == 2
    first, second = rows(bench.root)
    assert (first.status, first.error_class, first.actual_cost) == ("failed", "RateLimited", Decimal(0))
    assert (second.status, second.actual_cost) == ("succeeded", ESTIMATE)


def test_a_dropped_answer_after_the_job_was_made_is_found_and_never_sent_again(bench):
    bench.fakes.faults({"provider": "replicate", "op": "submit", "kind": "drop_after"})
    req = clip(bench)
    got = clip_call(gov(bench.root), video(bench), req)   # looked up in the list at once, followed
    assert bench.storage.exists(got.uri)
    [row] = rows(bench.root)
    assert row.status == "succeeded" and row.job_id == bench.fakes.jobs("replicate")[0]["id"]
    assert len(bench.fakes.jobs("replicate")) == 1 and len(creates(bench.fakes)) == 1


def test_a_connection_dropped_before_an_answer_is_unknown_too(bench):
    bench.fakes.faults({"provider": "replicate", "op": "submit", "kind": "drop_before"})
    with pytest.raises(UnknownOutcome):   # from here nobody can tell whether it was taken
        clip_call(gov(bench.root), video(bench), clip(bench))
    assert [r.status for r in rows(bench.root)] == ["unknown"]


def test_a_clip_refused_by_moderation_is_failed_with_the_providers_words_and_not_retried(bench):
    bench.fakes.faults({"provider": "replicate", "op": "submit", "kind": "moderation"})
    with pytest.raises(JobRefused, match=r"\(E005\)"):
        clip_call(gov(bench.root), video(bench), clip(bench))
    [row] = rows(bench.root)
    # The prediction ran, then was flagged: billed for its compute, as the rate card says.
    assert (row.status, row.error_class, row.actual_cost) == ("failed", "RefusedByModeration", ESTIMATE)
    assert "flagged as sensitive" in row.error_message
    assert len(bench.fakes.jobs("replicate")) == 1 and len(creates(bench.fakes)) == 1


def test_a_panel_refused_by_moderation_is_failed_with_the_providers_words(bench):
    bench.fakes.faults({"provider": "replicate", "op": "submit", "kind": "moderation"})
    with pytest.raises(RefusedByModeration, match=r"\(E005\)"):
        panel_call(gov(bench.root), image(bench), bench.panels[0])
    [row] = rows(bench.root)
    assert (row.status, row.error_class) == ("failed", "RefusedByModeration")
    assert "flagged as sensitive" in row.error_message and len(creates(bench.fakes)) == 1


def test_a_failed_prediction_is_a_failed_job_with_its_words(bench):
    bench.fakes.faults({"provider": "replicate", "op": "submit", "kind": "job_failed",
                         "data": {"error": "Prediction timed out before it started (E6716)"}})
    with pytest.raises(JobEnded, match="E6716"):
        clip_call(gov(bench.root), video(bench), clip(bench))
    [row] = rows(bench.root)
    # It never started (E6716, a start timeout): not billed, like an aborted prediction.
    assert (row.status, row.error_class, row.actual_cost) == ("failed", "JobFailed", Decimal(0))


def test_a_prediction_that_ran_and_failed_is_settled_at_its_compute_not_at_nothing(bench):
    """Two failed rows were settled at $0.00 although Replicate had run them: a prediction that
    ran and failed is billed for its compute (rate card [failed_runs.replicate])."""
    bench.fakes.faults({"provider": "replicate", "op": "submit", "kind": "job_failed"})
    with pytest.raises(JobEnded, match="E1000"):
        clip_call(gov(bench.root), video(bench), clip(bench))
    [row] = rows(bench.root)
    assert (row.status, row.error_class, row.actual_cost) == ("failed", "JobFailed", ESTIMATE)


# 401 and 402 are Replicate's documented bodies [S]; no 403 body of Replicate's is known, so the two
# 403s hold the error tree's reading of a key limit and of a plain refusal.
@pytest.mark.parametrize("status, body, cls", [
    (402, {"title": "Insufficient credit", "detail": "You have insufficient credit to run this model. Go to "
           "https://replicate.com/account/billing#billing to purchase credit."}, OutOfCredit),
    (402, {"title": "Billing required", "detail": "You need to set up billing", "status": 402}, OutOfCredit),
    (401, {"title": "Unauthenticated", "detail": "You did not pass a valid authentication token", "status": 401},
     AuthenticationFailed),
    (403, {"title": "Forbidden", "detail": "Key limit exceeded (total limit)", "status": 403}, OutOfCredit),
    (403, {"title": "Forbidden", "detail": "You do not have permission", "status": 403}, AuthenticationFailed)])
def test_a_refused_key_or_account_fails_at_nothing_and_halts_the_run(bench, status, body, cls):
    bench.fakes.faults({"provider": "replicate", "op": "submit", "kind": "status", "status": status, "body": body})
    g = gov(bench.root)
    with pytest.raises(cls):
        clip_call(g, video(bench), clip(bench))
    [row] = rows(bench.root)
    assert (row.status, row.error_class, row.actual_cost) == ("failed", cls.__name__, Decimal(0))
    with pytest.raises(RunHalted):
        clip_call(g, video(bench), clip(bench, seconds=3.0))
    assert bench.fakes.jobs("replicate") == [] and len(creates(bench.fakes)) == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_server_error_on_submit_is_an_unknown_outcome(bench, status):
    bench.fakes.faults({"provider": "replicate", "op": "submit", "kind": "status", "status": status})
    with pytest.raises(UnknownOutcome):
        clip_call(gov(bench.root), video(bench), clip(bench))
    assert [r.status for r in rows(bench.root)] == ["unknown"] and len(creates(bench.fakes)) == 1


def test_busy_polls_then_success(bench):
    bench.fakes.faults({"provider": "replicate", "op": "poll", "kind": "busy", "times": 4})
    got = clip_call(gov(bench.root), video(bench), clip(bench))
    polls = [r for r in bench.fakes.requests("replicate") if r["method"] == "GET"]
    assert len(polls) >= 5 and bench.storage.exists(got.uri)
    assert [r.status for r in rows(bench.root)] == ["succeeded"] and len(bench.fakes.jobs("replicate")) == 1


@pytest.mark.parametrize("fault", [{"kind": "status", "status": 503}, {"kind": "status", "status": 504},
                                   {"kind": "drop_before"}, {"kind": "status", "status": 429, "body": THROTTLED}])
def test_a_failed_poll_is_polled_again(bench, fault):
    bench.fakes.faults({"provider": "replicate", "op": "poll", **fault})
    clip_call(gov(bench.root), video(bench), clip(bench))
    assert [r.status for r in rows(bench.root)] == ["succeeded"] and len(bench.fakes.jobs("replicate")) == 1


def test_an_expired_output_is_a_clear_error_and_not_a_second_job(bench):
    bench.fakes.faults({"provider": "replicate", "op": "download", "kind": "expired"})
    with pytest.raises(BadOutput, match="gone from the CDN"):
        clip_call(gov(bench.root), video(bench), clip(bench))
    [row] = rows(bench.root)
    # It ran and was billed: failed at its estimate, with the reason.
    assert (row.status, row.error_class, row.actual_cost) == ("failed", "BadOutput", ESTIMATE)
    assert "deletes outputs" in row.error_message
    assert len(bench.fakes.jobs("replicate")) == 1 and len(creates(bench.fakes)) == 1


def test_a_panel_past_its_deadline_is_cancelled_and_unknown(bench):
    bench.fakes.faults({"provider": "replicate", "op": "poll", "kind": "busy", "times": 10_000})
    img = image(bench)
    img.poll_deadline = 0.2
    with pytest.raises(UnknownOutcome, match="no result within 0.2 s"):
        panel_call(gov(bench.root), img, bench.panels[0])
    assert [r.status for r in rows(bench.root)] == ["unknown"] and len(bench.fakes.jobs("replicate")) == 1
    [cancel] = [r for r in bench.fakes.requests("replicate") if r["path"].endswith("/cancel")]
    assert cancel["path"] == f"/replicate/v1/predictions/{bench.fakes.jobs('replicate')[0]['id']}/cancel"


def test_a_panel_job_still_running_past_its_deadline_is_cancelled_once(bench):
    """A stuck panel prediction was given up after 300 s without a cancel: past its deadline (here
    0.5 s) the governor cancels it — one POST /predictions/{id}/cancel, booked by the fake — and
    records it failed (JobStuck) at its estimate, nothing left open."""
    bench.fakes.faults({"provider": "replicate", "op": "submit", "kind": "stuck"})
    img, req = image(bench), bench.panels[0]
    g = gov(bench.root)
    s = spec(g, "panel", img.model, req.fingerprint(), Usage("image", images=1))
    with pytest.raises(JobStuck) as stuck:
        g.job_call(s, submit=lambda ref: img.submit_panel(req, client_ref=ref), poll=img.poll,
                   download=lambda job_id, dest: img.download_panel(job_id, dest, req.width, req.height),
                   suffix="png", deadline=0.5, expected=0.2, poll_interval=0.01, cancel=img.cancel)
    [row] = rows(bench.root)
    [job] = bench.fakes.jobs("replicate")
    assert bench.fakes.cancels("replicate") == [{"provider": "replicate", "id": job["id"], "model": img.model,
                                                 "outcome": "canceled"}]
    assert (row.status, row.error_class, row.actual_cost, row.job_id) == ("failed", "JobStuck", ESTIMATE, job["id"])
    assert stuck.value.job_id == job["id"] and "the prediction was canceled" in row.error_message


def test_a_hard_stop_cancels_the_clip_at_the_provider(bench):
    from slate.governor.chokepoint import add_listener
    from slate.governor.killswitch import request_stop
    bench.fakes.faults({"provider": "replicate", "op": "poll", "kind": "busy", "times": 3})
    remove = add_listener(lambda point, _spec, _details: point == "video:after_submit"
                          and request_stop(bench.root, hard=True))
    try:
        with pytest.raises(JobEnded, match="canceled"):
            clip_call(gov(bench.root), video(bench), clip(bench))
    finally:
        remove()
    [cancel] = [r for r in bench.fakes.requests("replicate") if r["path"].endswith("/cancel")]
    [row] = rows(bench.root)
    assert (row.status, row.error_class) == ("failed", "JobCanceled")
    assert cancel["path"].endswith(f"/{row.job_id}/cancel")
    assert len(bench.fakes.jobs("replicate")) == 1


def test_a_panel_through_the_governor_is_paid_once(bench):
    req = bench.panels[0]
    first = panel_call(gov(bench.root), image(bench), req)
    again = panel_call(gov(bench.root, "run-2"), image(bench), req)
    assert again.uri == first.uri and again.reused
    assert len(bench.fakes.jobs("replicate")) == 1
    [row] = rows(bench.root)
    assert (row.status, row.actual_cost) == ("succeeded", ESTIMATE)


def test_doctor_names_the_variable_and_checks_the_key_for_free(bench, monkeypatch, prefect_harness):
    # The harness: with no variable set, the key is looked for in a Prefect Secret block.
    lines = {f.check: f for f in replicate.doctor(base_url=bench.url)}
    assert lines["key"].ok and lines["key valid"].ok and not lines["credit"].blocking
    monkeypatch.setenv("REPLICATE_API_TOKEN", "not-a-replicate-key")
    refused = {f.check: f for f in replicate.doctor(base_url=bench.url)}["key valid"]
    assert not refused.ok and refused.blocking
    monkeypatch.delenv("REPLICATE_API_TOKEN")
    missing = {f.check: f for f in replicate.doctor(base_url=bench.url)}["key"]
    assert not missing.ok and "REPLICATE_API_TOKEN" in missing.text
    assert bench.fakes.jobs("replicate") == []   # nothing paid for


