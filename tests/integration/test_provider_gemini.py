"""The Gemini provider against the fake Gemini API over real HTTP (tests/fakes/gemini.py).

What is sent is read back where it landed (the fake's book of requests and jobs); what the
governor makes of each answer is read back from the ledger. No test reaches the internet: the
base URL is the fake's, and under the suite anything else is refused.
"""
from __future__ import annotations

import base64
import io
import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from PIL import Image

from benchmarks.judge_trials import panel_requests
from slate.governor.chokepoint import (Answer, CallContext, CallSpec, Governor, JobEnded, JobRefused, RunHalted,
                                       UnknownOutcome, Usage, add_listener)
from slate.governor.ledger import Cap, Ledger
from slate.governor.ratecard import RateCard
from slate.providers import gemini, rubric
from slate.providers.base import ClipRequest, ReferenceImages
from slate.providers.errors import (AuthenticationFailed, BadOutput, BadRequest, OutOfCredit, RefusedByModeration)
from slate.providers.storage_local import LocalStorage
from tests.fakes import gemini as fake
from tests.fakes.control import fake_key
from tests.fakes.core import schema_answer

VEO = "veo-3.1-fast-generate-preview"
PAINTER = "gemini-2.5-flash-image"
JUDGE = "gemini-2.5-flash"
PRICE = Decimal("0.10")


def png(colour=(120, 60, 30), size=(854, 480)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def film(example_film, fakes) -> Path:
    return example_film


@pytest.fixture
def storage(film) -> LocalStorage:
    return LocalStorage(film)


def clip(storage, seconds=2.5, resolution="480p", end=False) -> ClipRequest:
    return ClipRequest(prompt="Nina walks toward the diner. Camera: static, locked off.",
                       start_uri=storage.put_bytes(png(), "png"),
                       end_uri=storage.put_bytes(png((10, 90, 200)), "png") if end else None,
                       seconds=seconds, width=854, height=480, fps=24, resolution=resolution, movement="static",
                       camera_fixed=True, seed=7)


def veo(fakes, storage, model=VEO):
    return gemini.video(model, storage=storage, base_url=fakes.url("gemini"))


def sent(fakes, suffix: str, method: str = "POST") -> list[dict]:
    return [r for r in fakes.requests("gemini") if r["method"] == method and r["path"].endswith(suffix)]


def jobs(fakes, op="submit") -> list[dict]:
    return [j for j in fakes.jobs("gemini") if j["op"] == op]


# -- 1. the contract: what goes out ------------------------------------------------------------------

def test_a_panel_sends_the_prompt_the_plate_each_turnaround_and_the_ratio(fakes, film, storage):
    request = next(r for r in panel_requests(film) if len(r.characters) == 2)
    got = gemini.image(PAINTER, storage=storage, base_url=fakes.url("gemini")).generate_panel(request)

    assert Image.open(io.BytesIO(got)).format == "PNG"
    [call] = fakes.requests("gemini")
    assert call["path"] == f"/gemini/v1beta/models/{PAINTER}:generateContent" and not call["query"]
    assert call["headers"]["x-goog-api-key"] == fake_key("gemini") and "authorization" not in call["headers"]
    [content] = call["body"]["contents"]
    text, *images = content["parts"]
    assert text == {"text": request.prompt}
    assert len(images) == 1 + len(request.characters)  # the plate, then one turnaround per character
    refs = [request.plate_uri, *(c.turnaround_uri for c in request.characters)]
    for part, uri in zip(images, refs):
        assert base64.urlsafe_b64decode(part["inlineData"]["data"]) == storage.get_bytes(uri)
    config = call["body"]["generationConfig"]
    assert config["responseModalities"] == ["IMAGE"]
    assert config["imageConfig"] == {"aspectRatio": "16:9"}  # 854x480; 1K is the default, not sent here
    assert len(jobs(fakes, "generate")) == 1


def test_a_composite_to_polish_is_sent_last_and_a_sized_model_asks_1k(fakes, film, storage):
    request = panel_requests(film)[0]
    composite = storage.put_bytes(png((200, 200, 10)), "png")
    painter = gemini.image("gemini-3-pro-image-preview", storage=storage, base_url=fakes.url("gemini"))
    painter.generate_panel(replace(request, override_uri=composite, width=1280, height=720))
    [call] = fakes.requests("gemini")
    parts = call["body"]["contents"][0]["parts"]
    assert base64.urlsafe_b64decode(parts[-1]["inlineData"]["data"]) == storage.get_bytes(composite)
    assert call["body"]["generationConfig"]["imageConfig"] == {"aspectRatio": "16:9", "imageSize": "1K"}


@pytest.mark.parametrize("seconds,resolution,end,duration,asked", [
    (2.5, "480p", False, 4, "720p"),    # Veo makes no 480p: a draft asks 720p
    (5.0, "720p", True, 6, "720p"),
    (6.01, "1080p", False, 8, "1080p"),
    (4.0, "720p", True, 4, "720p"),
])
def test_a_clip_asks_what_veo_makes(fakes, storage, seconds, resolution, end, duration, asked):
    req = clip(storage, seconds, resolution, end)
    job_id = veo(fakes, storage).submit(req, client_ref="call-1")

    [call] = sent(fakes, ":predictLongRunning")
    assert call["path"] == f"/gemini/v1beta/models/{VEO}:predictLongRunning"
    assert call["headers"]["x-goog-api-key"] == fake_key("gemini")
    [instance] = call["body"]["instances"]
    params = call["body"]["parameters"]
    assert params == {"sampleCount": 1, "durationSeconds": duration, "aspectRatio": "16:9", "resolution": asked}
    assert type(params["durationSeconds"]) is int
    assert instance["prompt"] == req.prompt
    assert instance["image"]["mimeType"] == "image/png"
    assert base64.urlsafe_b64decode(instance["image"]["bytesBase64Encoded"]) == storage.get_bytes(req.start_uri)
    if end:
        assert base64.urlsafe_b64decode(instance["lastFrame"]["bytesBase64Encoded"]) == storage.get_bytes(req.end_uri)
    else:
        assert "lastFrame" not in instance
    assert set(instance) <= {"prompt", "image", "lastFrame"}  # no seed, fps or audio: the API refuses them
    assert job_id == f"models/{VEO}/operations/{jobs(fakes)[0]['id']}" and len(job_id) <= 500


@pytest.mark.parametrize("seconds,resolution", [(8.5, "720p"), (3.0, "4k")])
def test_what_veo_cannot_make_is_refused_before_anything_is_sent(fakes, storage, seconds, resolution):
    with pytest.raises(BadRequest, match="not sent"):
        veo(fakes, storage).submit(clip(storage, seconds, resolution), client_ref="call-1")
    assert fakes.requests("gemini") == []


def test_a_job_is_polled_and_its_clip_fetched_at_the_documented_paths(fakes, storage, tmp_path):
    video = veo(fakes, storage)
    job_id = video.submit(clip(storage, 2.5), client_ref="call-1")
    status = video.poll(job_id)
    assert (status.state, status.refused, status.cost) == ("succeeded", False, None)
    got = video.download(job_id, tmp_path / "clip.mp4")
    assert got.stat().st_size > 0

    polls = sent(fakes, job_id.rsplit("/", 1)[-1], "GET")
    assert [p["path"] for p in polls] == [f"/gemini/v1beta/{job_id}"] * 2   # the poll, and the one before fetching
    [fetch] = [r for r in fakes.requests("gemini") if ":download" in r["path"]]
    assert fetch["path"].startswith("/gemini/v1beta/files/") and fetch["query"] == {"alt": ["media"]}
    assert fetch["headers"]["x-goog-api-key"] == fake_key("gemini")  # the API's own host: the key goes
    with pytest.raises(NotImplementedError):
        video.find_job("call-1")  # no request id of ours on generate_videos
    assert video.key_id and video.key_id not in fake_key("gemini")


def test_the_judge_asks_for_the_rubric_as_structured_output_and_reports_its_tokens(fakes, film, storage, tmp_path):
    request = next(r for r in panel_requests(film) if len(r.characters) == 2)
    refs = ReferenceImages(plate=storage.open_local(request.plate_uri),
                           turnarounds={c.id: storage.open_local(c.turnaround_uri)
                                        for c in reversed(request.characters)})  # not the cast's order
    panel = tmp_path / "panel.png"
    panel.write_bytes(png())
    judge = gemini.judge(JUDGE, storage=storage, base_url=fakes.url("gemini"))

    verdict = judge.judge_panel(panel, request, refs)
    [call] = fakes.requests("gemini")
    assert call["path"] == f"/gemini/v1beta/models/{JUDGE}:generateContent"
    config = call["body"]["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    schema = config["responseSchema"]
    asked = rubric.panel_rubric(request)   # the rubric, and one criterion per item of the ledger
    assert schema["type"] == "OBJECT" and set(schema["properties"]) == set(asked.model_fields)
    text, *images = call["body"]["contents"][0]["parts"]
    assert text["text"] == rubric.panel_instructions(request)
    order = [panel, refs.plate, *(refs.turnarounds[c.id] for c in request.characters)]  # the cast's order
    assert [base64.urlsafe_b64decode(p["inlineData"]["data"]) for p in images] == [p.read_bytes() for p in order]
    assert verdict.passed and verdict.judge == "gemini"
    assert [s.name for s in verdict.scores][:len(rubric.PanelRubric.model_fields)] == \
        list(rubric.PanelRubric.model_fields)
    usage = fake.judge_usage(len(images), text["text"], json.dumps(schema_answer(schema, 0.92)))
    assert verdict.usage == {"kind": "judge", "input_tokens": usage["promptTokenCount"],
                             "output_tokens": usage["candidatesTokenCount"] + usage["thoughtsTokenCount"]}


def test_keyframes_are_judged_first_middle_last_then_the_panels_and_references(fakes, film, storage, tmp_path):
    request = next(r for r in panel_requests(film) if len(r.characters) == 1)
    refs = ReferenceImages(plate=storage.open_local(request.plate_uri),
                           turnarounds={c.id: storage.open_local(c.turnaround_uri) for c in request.characters})
    files = {}
    for i, name in enumerate(["first", "middle", "last", "start", "end"]):
        files[name] = tmp_path / f"{name}.png"
        files[name].write_bytes(png((i * 40, 10, 10)))
    judge = gemini.judge(JUDGE, storage=storage, base_url=fakes.url("gemini"))
    frames = {k: files[k] for k in ("first", "middle", "last")}
    with_end = judge.judge_keyframes(frames, files["start"], files["end"], request, refs)
    without_end = judge.judge_keyframes(frames, files["start"], None, request, refs)

    first, second = fakes.requests("gemini")
    assert set(first["body"]["generationConfig"]["responseSchema"]["properties"]) == \
        set(rubric.KeyframeRubric.model_fields)
    text, *images = first["body"]["contents"][0]["parts"]
    assert text["text"] == rubric.keyframe_instructions(request, True)
    expected = [files[k] for k in ("first", "middle", "last", "start", "end")] + [refs.plate] + \
        [refs.turnarounds[c.id] for c in request.characters]
    assert [base64.urlsafe_b64decode(p["inlineData"]["data"]) for p in images] == [p.read_bytes() for p in expected]
    assert len(second["body"]["contents"][0]["parts"]) == len(first["body"]["contents"][0]["parts"]) - 1
    assert with_end.passed and without_end.passed


def test_doctor_names_the_variable_and_says_what_it_cannot_check(fakes, monkeypatch, prefect_harness):
    # With a Prefect server up, the Secret-block fallback of a missing key answers at once.
    lines = gemini.doctor(base_url=fakes.url("gemini"))
    assert [(f.check, f.ok, f.blocking) for f in lines] == [("key", True, True), ("key valid", False, False),
                                                            ("credit", False, False)]
    assert fake_key("gemini") not in " ".join(f.text for f in lines)
    monkeypatch.delenv("GEMINI_API_KEY")
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    [missing] = gemini.doctor(base_url=fakes.url("gemini"))
    assert (missing.check, missing.ok, missing.blocking) == ("key", False, True)
    assert "GEMINI_API_KEY or GOOGLE_API_KEY" in missing.text
    assert fakes.requests("gemini") == []  # the doctor spends nothing


# -- 2. faults, through a real governor ---------------------------------------------------------------

def gov(root: Path, run_id: str = "run-1", **kw) -> Governor:
    return Governor(run_id=run_id, film="night-diner", root=root, ledger=Ledger.for_project(root),
                    estimate=lambda units, model: PRICE, caps=[Cap("run", Decimal(10)), Cap("film", Decimal(100))],
                    storage=LocalStorage(root), poll_interval=0.02, busy_poll=0.05, retry_wait_cap=2.0, **kw, failure_charge=RateCard.load().failure_charge)


def spec(req, stage="video", model=VEO, take=1) -> CallSpec:
    units = Usage("video", seconds=req.seconds, resolution=req.resolution) if stage == "video" \
        else Usage("image", images=1)
    return CallSpec(CallContext("run-1", "night-diner", "scene-01", "1A", stage, take, "gemini", model, "draft"),
                    units, req.fingerprint())


def make_clip(g: Governor, video, req, take=1):
    return g.job_call(spec(req, take=take), submit=lambda ref: video.submit(req, client_ref=ref), poll=video.poll,
                      download=video.download, suffix="mp4", deadline=30, poll_interval=0.02, find=video.find_job,
                      cancel=video.cancel)


def make_panel(g: Governor, painter, req):
    return g.sync_call(spec(req, "panel", PAINTER),
                       lambda ref: Answer(painter.generate_panel(req, client_ref=ref), "png"))


def rows(root: Path):
    return Ledger.for_project(root).rows(film="night-diner")


def fault(op: str, kind: str, **kw) -> dict:
    return {"provider": "gemini", "op": op, "kind": kind, **kw}


def test_a_clean_clip_is_one_job_settled_at_its_price(fakes, film, storage):
    got = make_clip(gov(film), veo(fakes, storage), clip(storage))
    [row] = rows(film)
    assert (row.status, row.actual_cost, row.artifact_uri, row.job_id) == \
        ("succeeded", PRICE, got.uri, f"models/{VEO}/operations/{jobs(fakes)[0]['id']}")
    assert storage.exists(got.uri) and len(jobs(fakes)) == 1


def test_a_rate_limited_submit_waits_the_providers_delay_and_makes_one_job(fakes, film, storage):
    fakes.faults(fault("submit", "status", status=429, body={"error": {
        "code": 429, "message": "You exceeded your current quota, please check your plan and billing details.",
        "status": "RESOURCE_EXHAUSTED", "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                                     "retryDelay": "0.2s"}]}}))
    waits = []
    remove = add_listener(lambda p, _s, d: waits.append(d["wait"]) if p.endswith(":retrying") else None)
    try:
        make_clip(gov(film), veo(fakes, storage), clip(storage))
    finally:
        remove()
    assert waits == [0.2]  # the RetryInfo delay, not a guess
    assert [(r.status, r.actual_cost, r.error_class) for r in rows(film)] == \
        [("failed", 0, "RateLimited"), ("succeeded", PRICE, None)]
    assert len(jobs(fakes)) == 1 and len(sent(fakes, ":predictLongRunning")) == 2


def test_an_answer_lost_after_the_job_was_made_is_unknown_and_never_sent_again(fakes, film, storage):
    """The most important one: the job exists, the answer never came. Sending it again would pay twice.
    (Checked once by making the adapter retry a dropped submit: this test then saw two jobs.)"""
    fakes.faults(fault("submit", "drop_after"))
    req = clip(storage)
    with pytest.raises(UnknownOutcome, match="TransientServerError"):
        make_clip(gov(film), veo(fakes, storage), req)
    [row] = rows(film)
    assert (row.status, row.job_id) == ("unknown", None)
    assert len(jobs(fakes)) == 1

    with pytest.raises(UnknownOutcome, match="cannot find it"):
        make_clip(gov(film, "run-2"), veo(fakes, storage), req)  # a new run asks for the same clip
    assert [r.status for r in rows(film)] == ["unknown"]
    assert len(jobs(fakes)) == 1 and len(sent(fakes, ":predictLongRunning")) == 1


def test_a_connection_dropped_before_an_answer_is_unknown_too(fakes, film, storage):
    fakes.faults(fault("submit", "drop_before"))
    with pytest.raises(UnknownOutcome):
        make_clip(gov(film), veo(fakes, storage), clip(storage))
    assert [r.status for r in rows(film)] == ["unknown"] and len(sent(fakes, ":predictLongRunning")) == 1


def test_a_clip_refused_by_veos_safety_checks_is_failed_with_its_words_and_not_asked_again(fakes, film, storage):
    words = "The input image may violate the usage guidelines: fake reason 17."
    fakes.faults(fault("submit", "moderation", data={"reason": words}))
    with pytest.raises(JobRefused, match="reason 17"):
        make_clip(gov(film), veo(fakes, storage), clip(storage))
    [row] = rows(film)
    assert (row.status, row.error_class, row.actual_cost) == ("failed", "RefusedByModeration", 0)
    assert words in row.error_message
    assert len(jobs(fakes)) == 1 and len(sent(fakes, ":predictLongRunning")) == 1


def test_a_panel_whose_answer_was_lost_is_unknown_not_drawn_again(fakes, film, storage):
    fakes.faults(fault("generate", "drop_after"))
    painter = gemini.image(PAINTER, storage=storage, base_url=fakes.url("gemini"))
    request = panel_requests(film)[0]
    for run in ("run-1", "run-2"):
        with pytest.raises(UnknownOutcome):
            make_panel(gov(film, run), painter, request)
    assert [r.status for r in rows(film)] == ["unknown"] and len(jobs(fakes, "generate")) == 1


def test_a_panel_whose_prompt_is_blocked_is_failed_at_nothing_with_the_reason(fakes, film, storage):
    fakes.faults(fault("generate", "moderation", data={"reason": "PROHIBITED_CONTENT"}))
    painter = gemini.image(PAINTER, storage=storage, base_url=fakes.url("gemini"))
    with pytest.raises(RefusedByModeration, match="PROHIBITED_CONTENT"):
        make_panel(gov(film), painter, panel_requests(film)[0])
    [row] = rows(film)
    assert (row.status, row.error_class, row.actual_cost) == ("failed", "RefusedByModeration", 0)
    assert len(sent(fakes, ":generateContent")) == 1


@pytest.mark.parametrize("kind,data,cls,words", [
    ("blocked_output", {"finish": "IMAGE_SAFETY"}, RefusedByModeration, "IMAGE_SAFETY"),
    ("blocked_output", {"finish": "IMAGE_PROHIBITED_CONTENT"}, RefusedByModeration, "IMAGE_PROHIBITED_CONTENT"),
    ("no_image", {}, BadOutput, "NO_IMAGE"),
])
def test_a_panel_that_came_back_without_its_image_says_why(fakes, film, storage, kind, data, cls, words):
    fakes.faults(fault("generate", kind, data=data))
    painter = gemini.image(PAINTER, storage=storage, base_url=fakes.url("gemini"))
    with pytest.raises(cls, match=words):
        make_panel(gov(film), painter, panel_requests(film)[0])
    [row] = rows(film)
    # A blocked output costs nothing said; an image that ran and was not made is billed (the estimate).
    assert (row.status, row.actual_cost) == ("failed", PRICE if cls is BadOutput else 0)


@pytest.mark.parametrize("status,body,cls", [
    (402, {"error": {"code": 402, "message": "Your prepayment credits are depleted.", "status": "FAILED_PRECONDITION"}},
     OutOfCredit),
    (401, {"error": {"code": 401, "message": "Request had invalid authentication credentials.",
                     "status": "UNAUTHENTICATED"}}, AuthenticationFailed),
    (403, {"error": {"code": 403, "message": "Key limit exceeded for this project (fake words).",
                     "status": "PERMISSION_DENIED"}}, OutOfCredit),
    (403, {"error": {"code": 403, "message": "The caller does not have permission", "status": "PERMISSION_DENIED"}},
     AuthenticationFailed),
])
def test_a_refused_key_or_empty_purse_halts_the_run_at_nothing(fakes, film, storage, status, body, cls):
    fakes.faults(fault("submit", "status", status=status, body=body))
    g = gov(film)
    with pytest.raises(cls) as got:
        make_clip(g, veo(fakes, storage), clip(storage))
    assert got.value.status == status and body["error"]["message"] in str(got.value)
    [row] = rows(film)
    assert (row.status, row.actual_cost, row.error_class) == ("failed", 0, cls.__name__)
    with pytest.raises(RunHalted):
        make_clip(g, veo(fakes, storage), clip(storage, 5.0))  # the governor's next call
    assert jobs(fakes) == [] and len(sent(fakes, ":predictLongRunning")) == 1


@pytest.mark.parametrize("status", [500, 503, 504])
def test_a_server_error_on_submit_is_an_unknown_outcome(fakes, film, storage, status):
    fakes.faults(fault("submit", "status", status=status))
    with pytest.raises(UnknownOutcome):
        make_clip(gov(film), veo(fakes, storage), clip(storage))
    [row] = rows(film)
    assert row.status == "unknown" and row.actual_cost is None
    assert len(sent(fakes, ":predictLongRunning")) == 1


def test_busy_polls_are_waited_out_and_a_failing_poll_is_polled_again(fakes, film, storage):
    fakes.faults(fault("poll", "busy", times=3), fault("poll", "status", status=503))
    got = make_clip(gov(film), veo(fakes, storage), clip(storage))
    assert [r.status for r in rows(film)] == ["succeeded"] and storage.exists(got.uri)
    job_id = rows(film)[0].job_id
    assert len(sent(fakes, job_id.rsplit("/", 1)[-1], "GET")) == 3 + 1 + 1 + 1  # busy, 503, done, before fetching
    assert len(jobs(fakes)) == 1


def test_an_expired_clip_is_a_billed_failure_that_says_so_not_a_second_job(fakes, film, storage):
    fakes.faults(fault("download", "expired"))
    with pytest.raises(BadOutput, match="expired"):
        make_clip(gov(film), veo(fakes, storage), clip(storage))
    [row] = rows(film)
    assert (row.status, row.error_class, row.actual_cost) == ("failed", "BadOutput", PRICE)  # Veo billed the job
    assert len(jobs(fakes)) == 1 and len(sent(fakes, ":predictLongRunning")) == 1


def test_a_failed_operation_is_a_failed_job(fakes, film, storage):
    # The shape of a failed operation is unconfirmed [?]: this checks what the adapter does with
    # the shape it assumes, not that Veo answers so.
    fakes.faults(fault("submit", "job_failed", data={"message": "fake internal failure 42"}))
    with pytest.raises(JobEnded, match="failure 42"):
        make_clip(gov(film), veo(fakes, storage), clip(storage))
    [row] = rows(film)
    assert (row.status, row.error_class) == ("failed", "JobFailed") and len(jobs(fakes)) == 1


def test_a_judge_answer_that_is_not_the_rubric_is_a_billed_bad_output(fakes, film, storage, tmp_path):
    fakes.faults(fault("judge", "bad_json"))
    request = panel_requests(film)[0]
    refs = ReferenceImages(plate=storage.open_local(request.plate_uri))
    (tmp_path / "p.png").write_bytes(png())
    judge = gemini.judge(JUDGE, storage=storage, base_url=fakes.url("gemini"))
    with pytest.raises(BadOutput, match="rubric"):
        judge.judge_panel(tmp_path / "p.png", request, refs)
    fakes.faults(fault("judge", "judge_fail", data={"score": 0.1}))
    failed = judge.judge_panel(tmp_path / "p.png", request, refs)
    assert not failed.passed and all(s.value == 0.1 for s in failed.scores)


# -- 3. end to end: `slate run --provider gemini` ----------------------------------------------------



def test_a_key_saved_as_a_secret_block_on_the_server_is_found_and_never_said(monkeypatch, prefect_harness):
    """The Secret-block fallback (providers/keys.py) against the harness's Prefect server: with no
    variable set, the block `gemini-api-key` is read; with no server configured, none is looked for."""
    from prefect.blocks.system import Secret
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from slate.providers.keys import MissingKey, block_name, provider_key
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    Secret(value="a-key-kept-on-the-server").save(block_name("gemini"), overwrite=True)
    try:
        key = provider_key("gemini")
        assert key.reveal() == "a-key-kept-on-the-server" and key.source == "Secret block gemini-api-key"
        assert "a-key-kept-on-the-server" not in repr(key) and "a-key-kept-on-the-server" not in str(key)
        with temporary_settings({PREFECT_API_URL: None}), pytest.raises(MissingKey, match="GEMINI_API_KEY"):
            provider_key("gemini")
    finally:
        Secret.delete(block_name("gemini"))   # the worker's other tests find no key on this server
