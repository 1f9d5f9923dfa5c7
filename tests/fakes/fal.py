"""fal.ai's queue, faked over real HTTP under /fal, in the shapes of PROVIDERS.md §2.

    POST /fal/{model_id}                          the model's input, no wrapper → 200
         {request_id, response_url, status_url, cancel_url, queue_position}
    GET  /fal/{owner}/{app}/requests/{id}/status  202 {"status": "IN_QUEUE" | "IN_PROGRESS", …}
                                                  200 {"status": "COMPLETED", "logs": null, "metrics": {…}}
    GET  /fal/{owner}/{app}/requests/{id}         the output ({"video": {"url", …}, "seed"} for video,
                                                  {"images": [{"url", …}], "seed"} for Kontext [?]),
                                                  or the model's own error (422 {"detail": [{loc, msg, type}]})
    PUT  /fal/{owner}/{app}/requests/{id}/cancel  202 {"status": "CANCELLATION_REQUESTED"}: a queued
                                                  request is removed, a running one is sent the
                                                  signal and its app stops [D: fal.ai/docs/inference-
                                                  api/queue/cancel]; 400 {"status": "ALREADY_COMPLETED"}
                                                  once done (the status codes are [?])

The URLs handed out use only the model's owner/app, as fal's do, so a URL rebuilt from the full
model id answers 404. Every route wants `Authorization: Key <key>` (401 without). Inputs are
checked as the notes document them (Seedance v1's duration a string "2".."12", Kling's "5" or
"10", resolution one of 480p/720p/1080p); a wrong one is fal's 422 validation shape. Images may
come as data: URLs (what slate sends); outputs are real media, served at {base}/files/….

Faults (tests/fakes/core.py `Fault`), taken per operation — op is submit | status | result |
cancel, and a fault may name the model it is for:

    status       any op: answer fault.status with fault.body / fault.headers (429 with a wait,
                 401, 402, 403 "User is locked. Reason: Exhausted balance", 422, 500, 503, 504 …)
    drop_before  any op: drop the connection before doing anything (no job is created)
    drop_after   submit: create the job, then drop the connection (the answer is lost)
    moderation   submit: 422 content_policy_violation, no job; result: the job ran and its
                 result is that 422 (fal's documented moderation outcome)
    job_failed   result: the job ran and its result is the model's own 422 error
    busy         status: the job stays IN_QUEUE, then IN_PROGRESS, for `times` polls
    stuck        submit: the job never completes — IN_PROGRESS on every poll until it is cancelled
    ignored      cancel: the running job's app ignores the signal (202, and it runs on)
    expired      result: the job succeeds but its output URL answers 404

Lip-sync models (issue 38: fal-ai/sync-lipsync/v2, fal-ai/latentsync) take `video_url` (an MP4)
and `audio_url` (a WAV) as data: URLs, and the documented optional fields only; their result is
{"video": {"url", "content_type", "file_name", "file_size"}}: the clip sent, each face found in it
given a mouth that moves with the speech, with a tone muxed in as its sound (`synced_video`), as a
model that answers with the speech does.

A job's outcome is fixed at its first result GET (so a poll and the download see the same).
Every cancel that reaches a job is booked (`State.book_cancel`): what a test counts.
Test code only.
"""
from __future__ import annotations

import base64
import re
import tempfile
import uuid
from pathlib import Path

from tests.fakes.core import (FAKE_TONE_HZ, SIZES, Drop, Reply, Request, Router, State, decode_image, fault_reply,
                              make_image, make_video, reference_picture)

PROVIDER = "fal"
PREFIX = "/fal"

SEEDANCE_V1 = ("fal-ai/bytedance/seedance/v1/lite/image-to-video", "fal-ai/bytedance/seedance/v1/pro/image-to-video")
SEEDANCE_2 = ("bytedance/seedance-2.0/image-to-video",)
KLING = tuple(f"fal-ai/kling-video/v2.1/{tier}/image-to-video" for tier in ("standard", "pro", "master"))
# The reference endpoint: reference_image_urls 1–4 (PROVIDERS.md §2); whether it takes image_url
# too is not in the notes, so the fake refuses one sent with references (slate never does).
REFERENCE = ("fal-ai/bytedance/seedance/v1/lite/reference-to-video",)
VIDEO_MODELS = SEEDANCE_V1 + SEEDANCE_2 + KLING + REFERENCE
IMAGE_MODELS = ("fal-ai/flux-pro/kontext",)
# Lip-sync (issue 38), each with its documented inputs (fal's model pages): a field not listed is
# refused, so an adapter's stray field shows here.
SYNC_MODES = ("cut_off", "loop", "bounce", "silence", "remap")
LIPSYNC_FIELDS = {
    "fal-ai/sync-lipsync/v2": {"model": lambda v: v in ("lipsync-2", "lipsync-2-pro"),
                               "sync_mode": lambda v: v in SYNC_MODES},
    "fal-ai/latentsync": {"guidance_scale": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)
                          and 1 <= v <= 2,
                          "seed": lambda v: isinstance(v, int) and not isinstance(v, bool),
                          "loop_mode": lambda v: v in ("pingpong", "loop")},
}
LIPSYNC_MODELS = tuple(LIPSYNC_FIELDS)
KONTEXT_SIZES = {"16:9": (1024, 576), "1:1": (768, 768), "9:16": (576, 1024), "4:3": (960, 720)}

MODERATION = {"detail": [{"loc": ["body", "prompt"], "msg": "The content could not be processed because it contained "
                                                           "material flagged by a content checker.",
                          "type": "content_policy_violation",
                          "url": "https://docs.fal.ai/errors/#content_policy_violation", "input": "…"}]}
MODEL_ERROR = {"detail": [{"loc": ["body"], "msg": "The model could not generate a video from these inputs.",
                           "type": "generation_failed", "input": "…"}]}


def _auth(req: Request) -> Reply | None:
    if not re.fullmatch(r"Key \S{6,}", req.headers.get("authorization", "")):
        return Reply(401, {"detail": "Missing or invalid credentials: send 'Authorization: Key <FAL_KEY>'"})
    return None


def _invalid(field: str, msg: str) -> Reply:
    return Reply(422, {"detail": [{"loc": ["body", field], "msg": msg, "type": "value_error"}]})


def _faulted(fault) -> Reply | None:
    """The reply of a fault every op honours the same way (None: the op handles the kind)."""
    if fault is None:
        return None
    if fault.kind == "status":
        return fault_reply(fault)
    if fault.kind == "drop_before":
        raise Drop()
    return None


def media(ref, kind: str) -> bytes:
    """A clip ("video") or a speech file ("audio") sent as a data: URL, as bytes; ValueError when
    it is not one, or not a file of that kind (an MP4's ftyp box, a RIFF/WAVE header)."""
    if not isinstance(ref, str) or not ref.startswith(f"data:{kind}/"):
        raise ValueError(f"not a data: URL of {kind}")
    data = base64.b64decode(ref.split(",", 1)[1], validate=True)
    if (data[4:8] != b"ftyp") if kind == "video" else (data[:4] != b"RIFF" or data[8:12] != b"WAVE"):
        raise ValueError(f"not a {kind} file")
    return data


def synced_video(clip: bytes, speech: bytes | None = None) -> bytes:
    """What a lip-sync model answers, for a fake: the clip sent (same size, rate and frames) with
    every face it finds given a mouth that opens with the speech's loudness, as a model that
    detects faces itself does (the request names none), and a sound track of its length (a tone),
    as a model that muxes the speech in answers. The faces are the painter's (media/lipsync
    `faces_in`, looked for in a few frames across the clip) and the mouths the local painter's
    (providers/local_lipsync `lipsync_clip`), so slate's sync gate can read what came back; a clip
    with no face found, or no speech sent, comes back with its picture untouched."""
    from slate.media import add_sound_bed, probe
    with tempfile.TemporaryDirectory(prefix="fake-lipsync-") as tmp:
        path = Path(tmp) / "synced.mp4"
        path.write_bytes(clip)
        if speech is not None:
            (Path(tmp) / "speech.wav").write_bytes(speech)
            cues = _faces(path)
            if cues:
                from slate.providers.local_lipsync import lipsync_clip
                painted = Path(tmp) / "painted.mp4"
                lipsync_clip(path, Path(tmp) / "speech.wav", painted, faces=cues)
                painted.replace(path)
        add_sound_bed(path, seconds=probe(path).duration, tone_hz=FAKE_TONE_HZ, seed=7)
        return path.read_bytes()


def _faces(clip: Path) -> tuple:
    """A FaceCue, the whole clip long, for each face found in the clip's first, middle or last
    frame (one a place: a face found again near where one was is the same face)."""
    from slate.media.lipsync import decode, faces_in
    from slate.providers.base import FaceCue
    frames, fps = decode(clip)
    n, (h, w) = len(frames), frames.shape[1:3]
    found: list = []
    for i in sorted({0, n // 2, n - 1}):
        for f in faces_in(frames[i]):
            if all(abs(f.x - g.x) > 2 * g.hw or abs(f.y - g.y) > 2 * g.hw for g in found):
                found.append(f)
    return tuple(FaceCue(f"face-{k}", f.x / w, f.y / h, 0.0, n / fps) for k, f in enumerate(found))


def _check_lipsync(model: str, body: dict) -> Reply | None:
    """A lip-sync model's 422 for a missing or undecodable clip or speech, or a field it lacks."""
    for field, kind in (("video_url", "video"), ("audio_url", "audio")):
        if field not in body:
            return _invalid(field, "field required")
        try:
            media(body[field], kind)
        except Exception:  # noqa: BLE001 — whatever it is, it is not that file
            return Reply(422, {"detail": [{"loc": ["body", field], "msg": f"could not load the {kind}",
                                           "type": "file_download_error"}]})
    for field, value in body.items():
        check = LIPSYNC_FIELDS[model].get(field)
        if field not in ("video_url", "audio_url") and (check is None or not check(value)):
            return _invalid(field, f"not a valid input of {model}: {str(value)[:40]!r}")
    return None


def _check_input(model: str, body) -> Reply | None:
    """fal's 422 for an input the notes say the model does not take."""
    if not isinstance(body, dict):
        return _invalid("body", "the body must be the model's input object")
    if model in LIPSYNC_MODELS:
        return _check_lipsync(model, body)
    if not isinstance(body.get("prompt"), str) or not body["prompt"]:
        return _invalid("prompt", "field required")
    for field in ("image_url", "end_image_url"):
        if field in body:
            try:
                decode_image(body[field])
            except Exception:  # noqa: BLE001 — anything that is not an image
                return Reply(422, {"detail": [{"loc": ["body", field], "msg": "could not load the image",
                                               "type": "image_load_error"}]})
    if model in REFERENCE:
        refs = body.get("reference_image_urls")
        if not isinstance(refs, list) or not 1 <= len(refs) <= 4:
            return _invalid("reference_image_urls", "1 to 4 image URLs")
        if "image_url" in body or "end_image_url" in body:
            return _invalid("image_url", "not taken with reference_image_urls")
        try:
            [decode_image(r) for r in refs]
        except Exception:  # noqa: BLE001
            return _invalid("reference_image_urls", "could not load the image")
    elif "image_url" not in body:
        return _invalid("image_url", "field required")
    if model in IMAGE_MODELS:
        return None
    if "resolution" in body and body["resolution"] not in SIZES:
        return _invalid("resolution", "must be one of 480p, 720p, 1080p")
    d = body.get("duration")
    if model in SEEDANCE_V1 + REFERENCE and d is not None and d not in [str(n) for n in range(2, 13)]:
        return _invalid("duration", "must be one of '2' … '12' (a string)")
    if model in KLING and d is not None and d not in ("5", "10"):
        return _invalid("duration", "must be '5' or '10'")
    if model in SEEDANCE_2 and d is not None and str(d) != "auto" and str(d) not in [str(n) for n in range(4, 16)]:
        return _invalid("duration", "must be auto or 4 … 15")
    if model in SEEDANCE_V1 and not isinstance(body.get("camera_fixed", False), bool):
        return _invalid("camera_fixed", "must be a boolean")
    if "seed" in body and not isinstance(body["seed"], int):
        return _invalid("seed", "must be an integer")
    if "generate_audio" in body and (model not in SEEDANCE_2 or not isinstance(body["generate_audio"], bool)):
        # Only Seedance 2.0 lists generate_audio (PROVIDERS.md §2): v1 and Kling are refused it.
        return _invalid("generate_audio", f"not an input of {model}" if model not in SEEDANCE_2
                        else "must be a boolean")
    return None


def submit(st: State, req: Request) -> Reply:
    model = req.params["model"]
    if (denied := _auth(req)) is not None:
        return denied
    if model not in VIDEO_MODELS + IMAGE_MODELS + LIPSYNC_MODELS:
        return Reply(404, {"detail": f"Application {model!r} not found"})
    fault = st.take(PROVIDER, "submit", model)
    if (reply := _faulted(fault)) is not None:
        return reply
    if fault is not None and fault.kind == "moderation":
        return Reply(422, fault.body or MODERATION, {"X-Fal-Retryable": "false"})
    body = req.json
    if (invalid := _check_input(model, body)) is not None:
        return invalid
    request_id = str(uuid.uuid4())
    owner_app = "/".join(model.split("/")[:2])
    root = f"{st.base}{PREFIX}/{owner_app}/requests/{request_id}"
    st.create(PROVIDER, "submit", model, body, id=request_id, owner_app=owner_app, input=body, state="IN_QUEUE",
              stuck=fault is not None and fault.kind == "stuck")
    if fault is not None and fault.kind == "drop_after":
        raise Drop()
    return Reply(200, {"request_id": request_id, "response_url": root, "status_url": f"{root}/status",
                       "cancel_url": f"{root}/cancel", "queue_position": 0})


def _job(st: State, req: Request) -> dict | None:
    """The job at this URL — only at its owner/app URL, as fal serves it."""
    with st.lock:
        job = st.jobs.get(req.params["rid"])
    if job is None or job.get("provider") != PROVIDER or job["owner_app"] != f"{req.params['owner']}/{req.params['app']}":
        return None
    return job


def status(st: State, req: Request) -> Reply:
    if (denied := _auth(req)) is not None:
        return denied
    job = _job(st, req)
    if job is None:
        return Reply(404, {"detail": "Request not found"})
    with st.lock:
        job["polls"] += 1
    if job["state"] == "COMPLETED":  # the end does not change (a canceled one included)
        return Reply(200, {"status": "COMPLETED", "logs": None, "metrics": {"inference_time": 1.5}})
    fault = st.take(PROVIDER, "status", job["model"])
    if (reply := _faulted(fault)) is not None:
        return reply
    if job.get("stuck"):
        job["state"] = "IN_PROGRESS"
        return Reply(202, {"status": "IN_PROGRESS", "logs": []})
    if fault is not None and fault.kind == "busy":
        queued = job["state"] == "IN_QUEUE"
        job["state"] = "IN_PROGRESS"
        return Reply(202, {"status": "IN_QUEUE", "queue_position": 0, "response_url": _root(st, job)}
                     if queued else {"status": "IN_PROGRESS", "logs": []})
    job["state"] = "COMPLETED"
    return Reply(200, {"status": "COMPLETED", "logs": None, "metrics": {"inference_time": 1.5}})


def _root(st: State, job: dict) -> str:
    return f"{st.base}{PREFIX}/{job['owner_app']}/requests/{job['id']}"


def _outcome(st: State, job: dict, fault) -> tuple[int, dict]:
    """What the model made (or its own error), decided once per job."""
    kind = fault.kind if fault is not None else None
    if job.get("canceled"):
        return 400, {"detail": "Request was cancelled"}   # how fal words a cancelled request's result is [?]
    if kind == "moderation":
        return 422, fault.body or MODERATION
    if kind == "job_failed":
        return 422, fault.body or MODEL_ERROR
    body = job["input"]
    if job["model"] in LIPSYNC_MODELS:
        data = synced_video(media(body["video_url"], "video"), media(body["audio_url"], "audio"))
        url = (f"{st.base}/files/{uuid.uuid4().hex[:16]}.mp4" if kind == "expired"
               else st.put_file(data, "mp4", "video/mp4"))
        return 200, {"video": {"url": url, "content_type": "video/mp4", "file_name": "output.mp4",
                               "file_size": len(data)}}
    if job["model"] in REFERENCE:
        start = reference_picture([decode_image(r) for r in body["reference_image_urls"]],
                                  *SIZES.get(body.get("resolution"), SIZES["720p"]), prompt=body.get("prompt") or "")
    else:
        start = decode_image(body["image_url"])
    if job["model"] in IMAGE_MODELS:
        width, height = KONTEXT_SIZES.get(body.get("aspect_ratio"), (1024, 576))
        seed = body.get("seed") if isinstance(body.get("seed"), int) else 0
        data, suffix, ctype = make_image([start], width, height, seed), "png", "image/png"
    else:
        end = decode_image(body["end_image_url"]) if body.get("end_image_url") else None
        seconds = float(body.get("duration") or 5) if str(body.get("duration")) != "auto" else 5.0
        width, height = SIZES.get(body.get("resolution"), SIZES["720p"])
        # Seedance 2.0 makes sound when asked (its default when not sent is not in the notes: none here).
        audio = job["model"] in SEEDANCE_2 and body.get("generate_audio") is True
        data, suffix, ctype = make_video(start, end, seconds, width, height, audio=audio), "mp4", "video/mp4"
    url = (f"{st.base}/files/{uuid.uuid4().hex[:16]}.{suffix}" if kind == "expired"  # never put: 404
           else st.put_file(data, suffix, ctype))
    if job["model"] in IMAGE_MODELS:
        return 200, {"images": [{"url": url, "width": width, "height": height, "content_type": ctype}],
                     "seed": body.get("seed", 0)}
    return 200, {"video": {"url": url, "content_type": ctype, "file_name": f"output.{suffix}",
                           "file_size": len(data)}, "seed": 746406749}


def result(st: State, req: Request) -> Reply:
    if (denied := _auth(req)) is not None:
        return denied
    job = _job(st, req)
    if job is None:
        return Reply(404, {"detail": "Request not found"})
    fault = st.take(PROVIDER, "result", job["model"])
    if (reply := _faulted(fault)) is not None:
        return reply
    if job["state"] != "COMPLETED":
        return Reply(400, {"detail": "Request is still in progress"})
    with st.lock:
        if "outcome" not in job:
            job["outcome"] = _outcome(st, job, fault)
        code, body = job["outcome"]
    return Reply(code, body, {"X-Fal-Retryable": "false"} if code == 422 else {})


def cancel(st: State, req: Request) -> Reply:
    if (denied := _auth(req)) is not None:
        return denied
    job = _job(st, req)
    if job is None:
        return Reply(404, {"detail": "Request not found"})
    fault = st.take(PROVIDER, "cancel", job["model"])
    if fault is not None and fault.kind in ("status", "drop_before"):
        st.book_cancel(job, f"fault {fault.kind}")
    if (reply := _faulted(fault)) is not None:
        return reply
    with st.lock:
        state = job["state"]
        if state == "IN_QUEUE" or (state == "IN_PROGRESS" and not (fault is not None and fault.kind == "ignored")):
            job.update(state="COMPLETED", canceled=True, stuck=False)
    if state == "COMPLETED":
        st.book_cancel(job, "already completed")
        return Reply(400, {"status": "ALREADY_COMPLETED", "detail": "the request has already completed"})
    st.book_cancel(job, "canceled" if job.get("canceled") else "signal ignored: runs on")
    return Reply(202, {"status": "CANCELLATION_REQUESTED"})


def register(router: Router) -> None:
    segment = r"[A-Za-z0-9][A-Za-z0-9._\-]*"
    request = PREFIX + rf"/(?P<owner>{segment})/(?P<app>{segment})/requests/(?P<rid>[0-9a-f\-]{{36}})"
    router.add("GET", request + "/status", status)
    router.add("PUT", request + "/cancel", cancel)
    router.add("GET", request, result)
    router.add("POST", PREFIX + rf"/(?P<model>{segment}(?:/{segment})+)", submit)
