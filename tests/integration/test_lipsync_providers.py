"""The hosted lip-sync models (issue 38) against the fake fal queue and the fake Replicate, over real HTTP.

fal's fal-ai/sync-lipsync/v2 and fal-ai/latentsync (providers/fal.py FalLipSync) and Replicate's
sync/lipsync-2 (providers/replicate.py ReplicateLipSync), each as a LipSyncer: a job submitted with
the clip and the speech inline, polled, downloaded — the answer's picture alone, the size and frame
count of the clip sent, though the fakes answer (as the models do) with a sound track — cancelled,
looked up after a lost answer where the API can look, and its errors read through the error tree
and a real Governor. What each test asserts is what it counts where it lands: the requests the fake
received, the jobs it would bill, the ledger's rows, the file written.

The fakes (tests/fakes/fal.py, tests/fakes/replicate.py) take the documented inputs only, so a
stray field is a 422 here; the facts and what is unverified are in the two modules' docstrings.
"""
from __future__ import annotations

import base64
import io
import wave
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from PIL import Image

from slate.governor.chokepoint import CallContext, CallSpec, Governor, JobEnded, JobRefused, Usage
from slate.governor.ledger import Cap, Ledger
from slate.governor.ratecard import RateCard
from slate.manifests.settings import check_settings
from slate.media import probe, render_clip
from slate.providers import fal, registry, replicate
from slate.providers.base import FaceCue, LipSyncer, LipSyncRequest
from slate.providers.spec import LIPSYNC
from slate.providers.errors import BadOutput, BadRequest, OutOfCredit, TransientServerError
from slate.providers.storage_local import LocalStorage
from tests.fakes.control import fake_key

SYNC = "fal-ai/sync-lipsync/v2"
LATENTSYNC = "fal-ai/latentsync"
REPLICATE_SYNC = "sync/lipsync-2"
FILM = "night-diner"
ESTIMATE = Decimal("0.15")
W, H, FPS, SECONDS = 256, 144, 24, 2.0
FRAMES = int(FPS * SECONDS)


# -- the bench: a clip and a shot's speech in the film's storage -----------------------------------

def speech_wav(seconds: float, rate: int = 24000) -> bytes:
    """A WAV as the pipeline sends one: 16-bit PCM mono, the shot's length (a quiet buzz)."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(int(800 * ((i // 40) % 2 * 2 - 1)).to_bytes(2, "little", signed=True)
                               for i in range(int(seconds * rate))))
    return buf.getvalue()


@pytest.fixture
def bench(fakes, tmp_path):
    root = tmp_path / "film"
    root.mkdir()
    storage = LocalStorage(root)
    Image.new("RGB", (W, H), (150, 90, 60)).save(tmp_path / "panel.png")
    render_clip(tmp_path / "panel.png", tmp_path / "clip.mp4", width=W, height=H, fps=FPS, seconds=SECONDS,
                movement="dolly_in")
    clip_uri = storage.put_file(tmp_path / "clip.mp4", ".mp4")
    speech_uri = storage.put_bytes(speech_wav(SECONDS), ".wav")
    return root, storage, request(clip_uri, speech_uri)


def request(clip_uri: str, speech_uri: str, width: int = W, seed: int | None = 11) -> LipSyncRequest:
    return LipSyncRequest(clip_uri=clip_uri, speech_uri=speech_uri,
                          faces=(FaceCue("mara", 0.5, 0.4, 0.2, 1.8),), width=width, height=H, fps=FPS,
                          seconds=SECONDS, seed=seed)


def fal_syncer(fakes, storage, model: str = SYNC) -> fal.FalLipSync:
    return fal.lipsync(model, storage=storage, base_url=fakes.url("fal"))


def replicate_syncer(fakes, storage) -> replicate.ReplicateLipSync:
    return replicate.lipsync(REPLICATE_SYNC, storage=storage, base_url=fakes.url("replicate"))


def posts(fakes, provider: str) -> list[dict]:
    return [r for r in fakes.requests(provider) if r["method"] == "POST"]


def inline(url: str, mime: str) -> bytes:
    assert url.startswith(f"data:{mime};base64,")
    return base64.b64decode(url.split(",", 1)[1])


def finish(syncer, job_id: str, dest: Path, polls: int = 20):
    for _ in range(polls):
        status = syncer.poll(job_id)
        if status.state not in ("queued", "running"):
            break
    return status, (syncer.download(job_id, dest) if status.state == "succeeded" else None)


def served(fakes, dest: Path) -> Path:
    """The one file the fake served (the model's own answer, before slate took its picture out),
    fetched again to `dest`."""
    [path] = [r["path"] for r in fakes.requests() if r["path"].startswith("/files/")]
    dest.write_bytes(httpx.get(fakes.base + path).content)
    return dest


def video_only_of_the_clip(path: Path) -> None:
    got = probe(path)
    assert not got.has_audio
    assert (got.width, got.height, got.frames, got.fps) == (W, H, FRAMES, FPS)


# -- 1. a job, start to end, on each model --------------------------------------------------------

@pytest.mark.parametrize("model, fixed", [
    (SYNC, {"model": "lipsync-2", "sync_mode": "cut_off"}),
    (LATENTSYNC, {"guidance_scale": 1.0, "seed": 11}),
])
def test_a_fal_lipsync_is_the_model_input_itself_and_its_answer_is_the_clip_without_sound(
        bench, fakes, tmp_path, model, fixed):
    root, storage, req = bench
    syncer = fal_syncer(fakes, storage, model)
    job_id = syncer.submit(req, client_ref="call-1")
    [sent] = posts(fakes, "fal")
    assert sent["path"] == "/fal/" + model
    assert sent["headers"]["authorization"] == "Key " + fake_key("fal")
    body = sent["body"]
    assert set(body) == {"video_url", "audio_url", *fixed}                   # no wrapper, no faces
    assert inline(body["video_url"], "video/mp4") == storage.get_bytes(req.clip_uri)
    assert inline(body["audio_url"], "audio/wav") == storage.get_bytes(req.speech_uri)
    assert {k: body[k] for k in fixed} == fixed
    status, path = finish(syncer, job_id, tmp_path / "synced.mp4")
    assert status.state == "succeeded" and path == tmp_path / "synced.mp4"
    assert [p.name for p in tmp_path.iterdir() if ".part" in p.name] == []   # no scratch left behind
    assert probe(served(fakes, tmp_path / "answer.mp4")).has_audio        # the model's answer had sound
    video_only_of_the_clip(path)                                          # the file written has none


def test_a_replicate_lipsync_is_one_prediction_and_its_answer_is_the_clip_without_sound(bench, fakes, tmp_path):
    root, storage, req = bench
    syncer = replicate_syncer(fakes, storage)
    job_id = syncer.submit(req, client_ref="call-1")
    [sent] = posts(fakes, "replicate")
    assert sent["path"] == "/replicate/v1/models/sync/lipsync-2/predictions"
    assert sent["headers"]["authorization"] == "Bearer " + fake_key("replicate")
    inputs = sent["body"]["input"]
    assert set(sent["body"]) == {"input"}
    assert set(inputs) == {"video", "audio", "sync_mode", "temperature"}  # no seed: it takes none
    assert inline(inputs["video"], "video/mp4") == storage.get_bytes(req.clip_uri)
    assert inline(inputs["audio"], "audio/wav") == storage.get_bytes(req.speech_uri)
    assert (inputs["sync_mode"], inputs["temperature"]) == ("cut_off", 0.5)   # said, never its default "loop"
    status, path = finish(syncer, job_id, tmp_path / "synced.mp4")
    assert status.state == "succeeded"
    assert probe(served(fakes, tmp_path / "answer.mp4")).has_audio
    video_only_of_the_clip(path)
    assert len(fakes.jobs("replicate")) == 1


def test_an_answer_that_is_not_the_clip_sent_is_a_billed_bad_output(bench, fakes, tmp_path):
    """The answer is held to the clip sent: here the request says 320 wide, the clip (and so the
    model's answer) is 256 — what a model that rescaled would send back. Nothing is written."""
    root, storage, req = bench
    wider = request(req.clip_uri, req.speech_uri, width=320)
    for syncer in (fal_syncer(fakes, storage), replicate_syncer(fakes, storage)):
        job_id = syncer.submit(wider, client_ref="call-1")
        with pytest.raises(BadOutput, match="256x144, 48 frames; the clip sent was 320x144"):
            finish(syncer, job_id, tmp_path / f"{syncer.name}.mp4")
        assert not (tmp_path / f"{syncer.name}.mp4").exists()


def test_a_clip_too_big_to_send_inline_is_refused_before_anything_is_sent(bench, fakes, monkeypatch):
    root, storage, req = bench
    monkeypatch.setattr(fal, "INLINE_BYTES", 1000)
    monkeypatch.setattr(replicate, "LIPSYNC_INLINE_BYTES", 1000)
    for syncer in (fal_syncer(fakes, storage), replicate_syncer(fakes, storage)):
        with pytest.raises(BadRequest, match="the clip is .* MB; slate sends at most"):
            syncer.submit(req, client_ref="call-1")
    assert fakes.requests() == []


# -- 2. cancel, and a lost answer ---------------------------------------------------------------------

def test_a_cancelled_fal_lipsync_ends_unbilled(bench, fakes):
    root, storage, req = bench
    fakes.faults({"provider": "fal", "op": "status", "kind": "busy", "times": 2})
    syncer = fal_syncer(fakes, storage)
    job_id = syncer.submit(req, client_ref="c")
    assert syncer.poll(job_id).state == "queued"
    syncer.cancel(job_id)
    status = syncer.poll(job_id)
    assert status.state == "failed" and "cancel" in status.error
    [put] = [r for r in fakes.requests("fal") if r["method"] == "PUT"]
    assert put["path"].startswith("/fal/fal-ai/sync-lipsync/requests/") and put["path"].endswith("/cancel")
    assert [c["outcome"] for c in fakes.cancels("fal")] == ["canceled"]


def test_a_cancelled_replicate_lipsync_ends_canceled(bench, fakes):
    root, storage, req = bench
    fakes.faults({"provider": "replicate", "op": "submit", "kind": "stuck"})
    syncer = replicate_syncer(fakes, storage)
    job_id = syncer.submit(req, client_ref="c")
    assert syncer.poll(job_id).state == "running"
    syncer.cancel(job_id)
    assert syncer.poll(job_id).state == "canceled"
    assert [(c["id"], c["outcome"]) for c in fakes.cancels("replicate")] == [(job_id, "canceled")]


def test_fal_cannot_look_a_lost_lipsync_up(bench, fakes):
    root, storage, req = bench
    with pytest.raises(NotImplementedError, match="dashboard"):
        fal_syncer(fakes, storage).find_job("call-1", request=req)


def test_a_replicate_lipsync_whose_answer_was_lost_is_found_by_what_was_asked(bench, fakes, tmp_path):
    root, storage, req = bench
    fakes.faults({"provider": "replicate", "op": "submit", "kind": "drop_after"})
    syncer = replicate_syncer(fakes, storage)
    with pytest.raises(TransientServerError):
        syncer.submit(req, client_ref="call-1")
    [made] = fakes.jobs("replicate")
    assert syncer.find_job("call-1") == made["id"]                          # this process: what it sent
    after_a_crash = replicate_syncer(fakes, storage)                        # another: by the request
    assert after_a_crash.find_job("call-1", request=req) == made["id"]
    status, path = finish(after_a_crash, made["id"], tmp_path / "synced.mp4")
    video_only_of_the_clip(path)
    assert len(fakes.jobs("replicate")) == 1 and len(posts(fakes, "replicate")) == 1


# -- 3. errors, through a real Governor ----------------------------------------------------------------

def gov(root: Path) -> Governor:
    return Governor(run_id="run-1", film=FILM, root=root, ledger=Ledger.for_project(root),
                    estimate=lambda units, model: ESTIMATE,
                    caps=[Cap("run", Decimal("10")), Cap("film", Decimal("100"))], storage=LocalStorage(root),
                    poll_interval=0.02, busy_poll=0.05, failure_charge=RateCard.load().failure_charge)


def run_job(g: Governor, syncer: LipSyncer, req: LipSyncRequest):
    ctx = CallContext(g.run_id, FILM, "scene-01", "1A", "lipsync", 1, syncer.name, syncer.model, "draft")
    spec = CallSpec(ctx, Usage("lipsync", seconds=req.seconds), req.fingerprint())
    return g.job_call(spec, submit=lambda ref: syncer.submit(req, client_ref=ref), poll=syncer.poll,
                      download=syncer.download, suffix="mp4", deadline=30, poll_interval=0.02,
                      find=lambda ref, since: syncer.find_job(ref, since, request=req), cancel=syncer.cancel)


def rows(root: Path):
    return Ledger.for_project(root).rows(film=FILM)


def test_through_the_governor_a_lipsync_is_one_paid_row_and_a_video_only_artifact(bench, fakes):
    root, storage, req = bench
    for syncer in (fal_syncer(fakes, storage, LATENTSYNC), replicate_syncer(fakes, storage)):
        got = run_job(gov(root), syncer, req)
        video_only_of_the_clip(storage.open_local(got.uri))
    assert [(r.provider, r.status, r.actual_cost) for r in rows(root)] == [
        ("fal", "succeeded", ESTIMATE), ("replicate", "succeeded", ESTIMATE)]


def test_a_locked_fal_account_fails_at_zero_and_halts(bench, fakes):
    root, storage, req = bench
    fakes.faults({"provider": "fal", "op": "submit", "kind": "status", "status": 403,
                  "body": {"detail": "User is locked. Reason: Exhausted balance"}})
    with pytest.raises(OutOfCredit):
        run_job(gov(root), fal_syncer(fakes, storage), req)
    [row] = rows(root)
    assert (row.status, row.error_class, row.actual_cost) == ("failed", "OutOfCredit", Decimal(0))
    assert fakes.jobs("fal") == []


def test_a_fal_lipsync_the_model_failed_is_failed_in_its_words(bench, fakes):
    root, storage, req = bench
    fakes.faults({"provider": "fal", "op": "result", "kind": "job_failed", "body": {"detail": [
        {"loc": ["body", "video_url"], "msg": "No face was detected in the video.", "type": "face_not_found"}]}})
    with pytest.raises(JobEnded, match="No face was detected"):
        run_job(gov(root), fal_syncer(fakes, storage), req)
    [row] = rows(root)
    assert (row.status, row.error_class) == ("failed", "JobFailed")
    assert len(fakes.jobs("fal")) == 1


def test_a_replicate_lipsync_moderation_refused_is_a_refused_job(bench, fakes):
    root, storage, req = bench
    fakes.faults({"provider": "replicate", "op": "submit", "kind": "moderation"})
    with pytest.raises(JobRefused, match="E005"):
        run_job(gov(root), replicate_syncer(fakes, storage), req)
    [row] = rows(root)
    assert (row.status, row.error_class) == ("failed", "RefusedByModeration")


# -- 4. the registry and the rate card -----------------------------------------------------------------

@pytest.mark.parametrize("ref, kind", [(f"fal:{SYNC}", fal.FalLipSync), (f"fal:{LATENTSYNC}", fal.FalLipSync),
                                       (f"replicate:{REPLICATE_SYNC}", replicate.ReplicateLipSync)])
def test_the_registry_builds_each_hosted_lipsync_model_at_its_base_url(bench, fakes, ref, kind):
    root, storage, req = bench
    settings, problems = check_settings(root)        # the film's settings: the fakes' URLs, from the environment
    assert problems == []
    built = registry.build(LIPSYNC, ref, storage, settings)
    provider, model = ref.split(":", 1)
    assert isinstance(built, kind) and isinstance(built, LipSyncer)
    assert (built.name, built.model) == (provider, model)
    assert built.expected_seconds == registry.specs()[provider].job_seconds[model]
    assert (built.queue.base_url if provider == "fal" else built.base_url) == fakes.url(provider)


@pytest.mark.parametrize("key, seconds, price", [
    (f"fal:{SYNC}", 2.5, "0.15"),          # $3 a minute, 3 s billed
    (f"fal:{LATENTSYNC}", 2.5, "0.2"),     # $0.2 up to 40 s
    (f"fal:{LATENTSYNC}", 50, "0.25"),     # then $0.005 a second
    (f"replicate:{REPLICATE_SYNC}", 2.5, "0.24"),
])
def test_the_rate_card_prices_a_lipsync_by_the_clips_seconds(key, seconds, price):
    assert RateCard.load().price(key, Usage("lipsync", seconds=seconds)) == Decimal(price)
