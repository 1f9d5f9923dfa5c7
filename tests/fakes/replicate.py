"""The fake Replicate: its predictions API as ../shared/PROVIDERS.md §1 describes it, over real HTTP.

Under /replicate/v1:

    POST /models/{owner}/{name}/predictions   {"input": {...}}  → 201 + prediction ("starting")
    GET  /predictions/{id}                                      → the prediction
    GET  /predictions[?cursor=…]                                → {"next", "previous", "results"}: the
                                                                  predictions made, newest first, 100 a page
    POST /predictions/{id}/cancel                               → the prediction, "canceled"

The list is Replicate's "List predictions" (its OpenAPI text: "a paginated list of predictions
that you've created … 100 records per page … sorted with the most recent prediction first", each
with its `input`): not in PROVIDERS.md. How the real list echoes an image sent as a data URL is
not known [?]: this fake cuts long strings short there, as on every prediction it shows.

A request without `Authorization: Bearer r8_…` gets the documented 401 body. Inputs are checked
against each model's documented fields (an unknown field, a duration or resolution the model
does not take, an image that does not decode → 422 "Input validation failed" with
`invalid_fields`): stricter than Replicate may be, so that an adapter's mistake shows here.
A prediction ends on its first poll (unless a fault keeps it busy): a video model's output is
a real H.264 clip animated from the start frame (to the last frame when one is sent), one URL
string; an image model's a PNG made from the images sent — a list of URLs for Seedream, one
URL for FLUX Kontext. Every creation is booked with `state.create` (what tests count). A lip-sync model's (sync/lipsync-2,
issue 38) takes the clip and the speech as data URLs and answers one URL: the clip sent, each face
found in it given a mouth that moves with the speech, with a tone muxed in as its sound
(fakes/fal.py `synced_video`).

Faults (core.Fault with provider "replicate"), taken where each operation happens:

  op "submit"  kind "status"       reply fault.status with fault.body/headers, no prediction made
               kind "drop_before"  close the connection before any prediction is made
               kind "drop_after"   make the prediction, then close the connection (the answer is lost)
               kind "moderation"   the prediction ends failed with the E005 words
               kind "job_failed"   the prediction ends failed with fault.data["error"] (E1000 words by default)
               kind "sized"        a video model's clip is fault.data["size"] ([852, 480]) whatever the
                                   resolution asked (`times` predictions)
               kind "stuck"        the prediction never finishes: every GET finds it processing until it
                                   is cancelled (then `canceled`, as Replicate answers a cancel [D])
  op "poll"    kind "status"       that GET answers fault.status (the prediction goes on); a 429
                                   without a body has the documented one ("… resets in ~30s") [D]
               kind "drop_before"  that GET's connection is closed
               kind "busy"         that GET finds it still processing (`times` polls in all)
               kind "hang"         that GET answers only after fault.data["seconds"] (a stuck server),
                                   and finds it still processing
  op "download" kind "expired"     taken as the prediction succeeds: its output URL answers 404
               kind "truncated"   … every fetch of its output says its whole length and sends
                                  fault.data["share"] (half) of it, then closes
               kind "redirect"    … every fetch of its output answers 302 to fault.data["to"]
               kind "padded"      … its output is the clip then zeros, fault.data["bytes"] in all
                                  (200 MB), with a Content-Length saying so (none: "sized" false)
  op "cancel"  kind "status"       that cancel answers fault.status (booked with that status)

Every cancel that reaches a prediction is booked (`State.book_cancel`): what a test counts.
  op "list"    kind "status"       that list answers fault.status

A fault may fall on every Nth request (`every`) or on every request for a while (`for_seconds`):
core.State.take.

Test code only.
"""
from __future__ import annotations

import threading
import time

from tests.fakes.control import PREFIX as PREFIXES
from tests.fakes.fal import media, synced_video
from tests.fakes.core import (SIZES, Drop, Reply, Request, Router, State, decode_image, fault_reply, make_image,
                              make_video, reference_picture)

NAME = "replicate"
PREFIX = PREFIXES[NAME]
MODERATION = "The input or output was flagged as sensitive. Please try again with different inputs. (E005)"
UNKNOWN_ERROR = "An unexpected error occurred (E1000)"
UNAUTHENTICATED = {"title": "Unauthenticated", "detail": "You did not pass a valid authentication token",
                   "status": 401}
THROTTLED = {"detail": "Request was throttled. Your rate limit resets in ~30s."}  # [D] (no Retry-After: [?])
PAGE = 100


def _int_in(allowed):
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and v in allowed


def _one_of(*allowed):
    return lambda v: v in allowed


def _image(v) -> bool:
    try:
        decode_image(v)
        return isinstance(v, str)
    except Exception:  # noqa: BLE001 — whatever it is, it is not an image we can read
        return False


def _media(v, kind: str) -> bool:
    try:
        media(v, kind)
        return True
    except Exception:  # noqa: BLE001 — not a clip (or a WAV) we can read
        return False


def _text(v) -> bool:
    return isinstance(v, str) and bool(v.strip())


def _seed(v) -> bool:
    return v is None or (isinstance(v, int) and not isinstance(v, bool))


def _bool(v) -> bool:
    return isinstance(v, bool)


#: What a model makes when `generate_audio` is not sent: Seedance 2.0's default is true (§1);
#: Veo 3.1 fast's is not in the notes, so the fake makes none (slate always sends the field).
AUDIO_DEFAULT = {"bytedance/seedance-2.0": True}


def _images(most: int):
    return lambda v: isinstance(v, list) and 1 <= len(v) <= most and all(map(_image, v))


def _not_together(model: str, inputs: dict) -> list[tuple[str, str]]:
    """The notes' rules across fields of a reference-taking model (PROVIDERS.md §1)."""
    if "reference_images" not in inputs:
        return []
    found = [("input.reference_images", f"reference_images cannot be used with {k}")
             for k in ("image", "last_frame_image") if k in inputs]
    if model == "bytedance/seedance-1-lite" and inputs.get("resolution") == "1080p":
        found.append(("input.reference_images", "reference_images cannot be used with 1080p"))
    return found


SEEDANCE_1 = {"prompt": _text, "image": _image, "last_frame_image": _image, "duration": _int_in(range(2, 13)),
              "resolution": _one_of("480p", "720p", "1080p"), "fps": _one_of(24),
              "camera_fixed": lambda v: isinstance(v, bool), "seed": _seed}
#: model → its input fields and what each may be; "kind" and "required" say how to answer.
MODELS = {
    "bytedance/seedance-1-pro": dict(kind="video", required=("prompt",), fields=SEEDANCE_1),
    "bytedance/seedance-1-lite": dict(kind="video", required=("prompt",),
                                      fields={**SEEDANCE_1, "reference_images": _images(4)}),
    "bytedance/seedance-1-pro-fast": dict(kind="video", required=("prompt",),
                                          fields={k: v for k, v in SEEDANCE_1.items() if k != "last_frame_image"}),
    "bytedance/seedance-2.0": dict(kind="video", required=("prompt",), fields={
        "prompt": _text, "image": _image, "last_frame_image": _image, "duration": _int_in(range(-1, 16)),
        "resolution": _one_of("480p", "720p", "1080p"), "seed": _seed, "reference_images": _images(9),
        "generate_audio": _bool}),
    "kwaivgi/kling-v2.5-turbo-pro": dict(kind="video", required=("prompt",), fields={
        "prompt": _text, "start_image": _image, "duration": _int_in((5, 10))}),
    "google/veo-3.1-fast": dict(kind="video", required=("prompt",), fields={
        "prompt": _text, "image": _image, "last_frame": _image, "duration": _int_in((4, 6, 8)),
        "resolution": _one_of("720p", "1080p"), "seed": _seed, "generate_audio": _bool}),
    "bytedance/seedream-4": dict(kind="image", required=("prompt",), fields={
        "prompt": _text, "image_input": lambda v: isinstance(v, list) and 1 <= len(v) <= 10 and all(map(_image, v)),
        "size": _one_of("1K", "2K", "4K"), "aspect_ratio": lambda v: isinstance(v, str),
        "sequential_image_generation": _one_of("disabled"), "max_images": _int_in((1,))}),
    # Lip-sync (issue 38): its version page's schema — video (.mp4), audio (.wav), sync_mode, temperature 0–1.
    "sync/lipsync-2": dict(kind="lipsync", required=("video", "audio"), fields={
        "video": lambda v: _media(v, "video"), "audio": lambda v: _media(v, "audio"),
        "sync_mode": _one_of("loop", "bounce", "cut_off", "silence", "remap"),
        "temperature": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1}),
    "black-forest-labs/flux-kontext-pro": dict(kind="image", required=("prompt",), fields={
        "prompt": _text, "input_image": _image, "aspect_ratio": lambda v: isinstance(v, str),
        "output_format": _one_of("png", "jpg"), "seed": _seed}),
}


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())


def _refused(req: Request) -> Reply | None:
    auth = req.headers.get("authorization", "")
    if not auth.startswith("Bearer r8_") or len(auth) < len("Bearer r8_") + 8:
        return Reply(401, UNAUTHENTICATED)
    return None


def _invalid(model: str, inputs) -> Reply | None:
    if not isinstance(inputs, dict):
        return _unprocessable([("input", "input must be an object")])
    spec = MODELS[model]
    problems = [(f"input.{k}", f"{k} is required") for k in spec["required"] if k not in inputs]
    for k, v in inputs.items():
        check = spec["fields"].get(k)
        if check is None:
            problems.append((f"input.{k}", f"{k} is not an input of {model}"))
        elif not check(v):
            problems.append((f"input.{k}", f"{k}: {str(v)[:60]!r} is not a valid value"))
    problems += _not_together(model, inputs)
    return _unprocessable(problems) if problems else None


def _unprocessable(problems) -> Reply:
    detail = "".join(f"- {field}: {text}\n" for field, text in problems)
    return Reply(422, {"detail": detail, "status": 422, "title": "Input validation failed",
                       "invalid_fields": [{"type": "invalid", "field": f, "description": t} for f, t in problems]})


def _short(value):
    """The echoed input with images (data URLs) cut short, without megabytes on every poll; text,
    however long, echoed whole. How Replicate echoes a data URL is not known [?]."""
    if isinstance(value, str) and value.startswith("data:") and len(value) > 120:
        return value[:60] + "…"
    if isinstance(value, list):
        return [_short(v) for v in value]
    return value


def prediction(st: State, job: dict) -> dict:
    done = job["status"] in ("succeeded", "failed", "canceled", "aborted")
    body = {"id": job["id"], "model": job["model"], "version": "hidden",
            "input": {k: _short(v) for k, v in job["input"].items()}, "logs": "", "output": job.get("output"),
            "error": job.get("error"), "status": job["status"], "data_removed": False,
            "created_at": job["created_at"], "started_at": job.get("started_at"),
            "completed_at": job.get("completed_at"),
            "urls": {"get": f"{st.base}{PREFIX}/predictions/{job['id']}",
                     "cancel": f"{st.base}{PREFIX}/predictions/{job['id']}/cancel"}}
    if done:
        body["metrics"] = {"predict_time": 1.5, "total_time": 1.7}
    return body


def _finish(st: State, job: dict) -> None:
    """End a prediction as it was set to: failed with its words, or succeeded with real media."""
    with job["lock"]:
        if job["status"] not in ("starting", "processing"):
            return
        job["started_at"] = job.get("started_at") or _now()
        if job["ending"]:
            job.update(status="failed", error=job["ending"], completed_at=_now())
            return
        inputs = job["input"]
        if MODELS[job["model"]]["kind"] == "lipsync":
            url = output = st.put_file(synced_video(media(inputs["video"], "video"), media(inputs["audio"], "audio")),
                                       "mp4", "video/mp4")
        elif MODELS[job["model"]]["kind"] == "video":
            end_ref = inputs.get("last_frame_image") or inputs.get("last_frame")
            width, height = job.get("size") or SIZES.get(inputs.get("resolution", "720p"), SIZES["720p"])
            if "reference_images" in inputs:
                start = reference_picture([decode_image(r) for r in inputs["reference_images"]], width, height,
                                          prompt=inputs.get("prompt") or "")
            else:
                start = decode_image(inputs.get("image") or inputs["start_image"])
            # A model that takes generate_audio answers with sound when it is true (or its default is);
            # every other model makes none (an unknown field never got this far: a 422 above).
            audio = inputs.get("generate_audio", AUDIO_DEFAULT.get(job["model"], False))
            data = make_video(start, decode_image(end_ref) if end_ref else None, float(inputs["duration"]),
                              width, height, audio=audio)
            url = st.put_file(data, "mp4", "video/mp4")
            output = url
        else:
            refs = inputs.get("image_input") or [inputs["input_image"]]
            width, height = _image_size(inputs)
            url = st.put_file(make_image([decode_image(r) for r in refs], width, height, prompt=inputs.get("prompt") or ""),
                              "png", "image/png")
            output = [url] if job["model"] == "bytedance/seedream-4" else url
        expired = st.take(NAME, "download", job["model"])
        if expired is not None and expired.kind == "expired":
            with st.lock:  # made, handed out, and gone before anyone fetched it
                st.files.pop(url.rsplit("/", 1)[-1], None)
        elif expired is not None and expired.kind in ("truncated", "redirect", "padded"):
            with st.lock:  # every fetch of its output misbehaves so (server.py, /files)
                st.file_faults[url.rsplit("/", 1)[-1]] = expired
        job.update(status="succeeded", output=output, completed_at=_now())


def _image_size(inputs: dict) -> tuple[int, int]:
    a, b = (int(x) for x in str(inputs.get("aspect_ratio", "1:1")).split(":")) \
        if ":" in str(inputs.get("aspect_ratio", "")) else (1, 1)
    long_side = {"1K": 1024, "2K": 2048, "4K": 4096}.get(inputs.get("size"), 1024)
    return (long_side, round(long_side * b / a)) if a >= b else (round(long_side * a / b), long_side)


def _faulted(fault) -> Reply:
    """A `status` fault's reply; a 429 with no body of its own has Replicate's documented one."""
    if fault.status == 429 and fault.body is None:
        return Reply(429, THROTTLED, fault.headers)
    return fault_reply(fault)


def _job(st: State, req: Request) -> dict | Reply:
    with st.lock:
        job = st.jobs.get(req.params["id"])
    if job is None or job["provider"] != NAME:
        return Reply(404, {"title": "Not found", "detail": "The requested resource could not be found.",
                           "status": 404})
    return job


def register(router: Router) -> None:
    @router.route("POST", PREFIX + r"/models/(?P<owner>[\w.-]+)/(?P<name>[\w.-]+)/predictions")
    def create(st: State, req: Request) -> Reply:
        refused = _refused(req)
        if refused:
            return refused
        model = f"{req.params['owner']}/{req.params['name']}"
        if model not in MODELS:
            return Reply(404, {"title": "Not found", "detail": f"model {model} not found", "status": 404})
        fault = st.take(NAME, "submit", model)
        if fault is not None and fault.kind == "status":
            return _faulted(fault)
        if fault is not None and fault.kind == "drop_before":
            raise Drop()
        body = req.json
        if not isinstance(body, dict) or set(body) - {"input", "webhook", "webhook_events_filter"}:
            return _unprocessable([("body", "the body is {\"input\": {...}}")])
        invalid = _invalid(model, body.get("input"))
        if invalid:
            return invalid
        ending = None
        if fault is not None and fault.kind == "moderation":
            ending = MODERATION
        elif fault is not None and fault.kind == "job_failed":
            ending = fault.data.get("error", UNKNOWN_ERROR)
        # "sized": the model answers at its own size for the resolution asked (852x480 for 480p, as
        # a video model whose sizes are multiples of its own block does), not the plan's.
        size = tuple(fault.data["size"]) if fault is not None and fault.kind == "sized" else None
        job = st.create(NAME, "submit", model, body, input=body["input"], status="starting", ending=ending, size=size,
                        created_at=_now(), lock=threading.Lock(), stuck=fault is not None and fault.kind == "stuck")
        if fault is not None and fault.kind == "drop_after":
            raise Drop()
        return Reply(201, prediction(st, job))

    @router.route("GET", PREFIX + r"/predictions/(?P<id>[\w-]+)")
    def get(st: State, req: Request) -> Reply:
        refused = _refused(req)
        if refused:
            return refused
        job = _job(st, req)
        if isinstance(job, Reply):
            return job
        fault = st.take(NAME, "poll", job["model"])
        if fault is not None and fault.kind == "status":
            return _faulted(fault)
        if fault is not None and fault.kind == "drop_before":
            raise Drop()
        if fault is not None and fault.kind == "hang":
            time.sleep(float(fault.data.get("seconds", 5)))
        with st.lock:
            job["polls"] += 1
        if (fault is not None and fault.kind in ("busy", "hang")) or job["stuck"]:
            with job["lock"]:
                if job["status"] == "starting":
                    job.update(status="processing", started_at=_now())
        else:
            _finish(st, job)
        return Reply(200, prediction(st, job))

    @router.route("GET", PREFIX + r"/predictions")
    def listing(st: State, req: Request) -> Reply:
        refused = _refused(req)
        if refused:
            return refused
        fault = st.take(NAME, "list")
        if fault is not None and fault.kind == "status":
            return _faulted(fault)
        with st.lock:
            made = [j for j in st.jobs.values() if j["provider"] == NAME]
        made.sort(key=lambda j: j["created"], reverse=True)
        try:
            start = int((req.query.get("cursor") or ["0"])[0])
        except ValueError:
            return Reply(400, {"title": "Bad request", "detail": "invalid cursor", "status": 400})
        page = made[start:start + PAGE]
        more = start + PAGE < len(made)
        return Reply(200, {"next": f"{st.base}{PREFIX}/predictions?cursor={start + PAGE}" if more else None,
                           "previous": None, "results": [prediction(st, j) for j in page]})

    @router.route("POST", PREFIX + r"/predictions/(?P<id>[\w-]+)/cancel")
    def cancel(st: State, req: Request) -> Reply:
        refused = _refused(req)
        if refused:
            return refused
        job = _job(st, req)
        if isinstance(job, Reply):
            return job
        fault = st.take(NAME, "cancel", job["model"])
        if fault is not None and fault.kind == "status":
            st.book_cancel(job, f"HTTP {fault.status}")
            return _faulted(fault)
        with job["lock"]:
            running = job["status"] in ("starting", "processing")
            if running:
                job.update(status="canceled", completed_at=_now())
        st.book_cancel(job, "canceled" if running else f"already {job['status']}")
        return Reply(200, prediction(st, job))
