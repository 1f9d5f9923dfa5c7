"""The fake Gemini API (under /gemini): what google-genai 2.x talks to, in PROVIDERS.md §3's shapes.

    POST /gemini/v1beta/models/{model}:generateContent      a panel (responseModalities IMAGE), a
                                                           verdict (responseMimeType application/json)
                                                           or a spoken line (responseModalities AUDIO,
                                                           speechConfig's prebuilt voice): base64 raw
                                                           PCM, audio/L16;codec=pcm;rate=24000
    POST /gemini/v1beta/models/{model}:predictLongRunning   a Veo job → {"name": "models/{m}/operations/{id}"}
    GET  /gemini/v1beta/models/{model}/operations/{id}      {"name"} while running; done with
                                                           response.generateVideoResponse.generatedSamples
    GET  /gemini/v1beta/files/{id}:download?alt=media       the mp4 (ids lowercase alphanumeric: the
                                                           SDK reads them with files/([a-z0-9]+))
    POST /gemini/v1beta/models/{model}/operations/{id}:cancel  google.longrunning's CancelOperation
                                                           shape: {} and the operation ends done with
                                                           error code 1 (CANCELLED). Not documented
                                                           for a Veo operation of the Gemini API [?],
                                                           and google-genai has no call for it [V]:
                                                           slate never sends it, and the book of
                                                           cancels shows one that was sent.

Every request must carry `x-goog-api-key` (else 401). Billable work is booked with `state.create`
under the op it was asked by: "generate" (a panel), "judge" (a verdict), "speak" (a line), "submit"
(a Veo job). A line names one of the 30 prebuilt voices (else 400 INVALID_ARGUMENT); it comes back
as a voiced buzz at the voice's own pitch, as long as its text takes (core.make_speech), with
usageMetadata of text tokens in (a quarter of its characters) and audio tokens out (32 a second).
A panel is made from the images sent (the plate first) at the ratio asked, a verdict answers the
request's responseSchema with core.schema_answer (every score 0.92), a clip is rendered by ffmpeg
from the start frame (to the last frame, when sent) at the duration and resolution asked.

Faults (core.Fault), taken at the op named: generate | judge | speak | submit | poll | download (a
fault with `contains` only by a generateContent request whose prompt holds that text):

    status        reply fault.status with fault.body (default: a Google error body) and headers
    drop_before   drop the connection before anything is created
    drop_after    create the panel, verdict or job, then drop the connection: the answer is lost
    moderation    generate/judge/speak: HTTP 200 {"promptFeedback": {"blockReason": data.reason or
                  PROHIBITED_CONTENT}} and no candidates (nothing made); submit/poll: the job ends
                  RAI-filtered (raiMediaFilteredCount 1, raiMediaFilteredReasons [data.reason…])
    blocked_output  generate: a candidate with finishReason data.finish (IMAGE_SAFETY) and no parts
    no_image      generate: finishReason NO_IMAGE, no parts (the model ran: it is booked)
    no_audio      speak: finishReason OTHER and no parts (the model ran: it is booked)
    blank         generate: a panel of one flat colour, data.colour ([0, 0, 0]): a safety filter's
                  black frame or an empty generation, answered as a success (it is booked)
    judge_fail    judge: every score data.score (0.2): the gate fails
    bad_json      judge: the answer's text is not JSON
    job_failed    submit/poll: the operation ends done with {"error": {"code", "message"}} — a
                  shape PROVIDERS.md marks unconfirmed [?]
    busy          poll: the operation is still running, for fault.times polls
    stuck         submit: the operation never finishes — running on every poll (until cancelled)
    expired       download: the file answers 404

Test code only.
"""
from __future__ import annotations

import base64
import json
import uuid

from tests.fakes.core import Drop, Reply, Request, Router, State, decode_image, flat_png, make_image, \
    make_speech, make_video, reference_picture, schema_answer

PROVIDER = "gemini"
P = "/gemini/v1beta"
VEO_DURATIONS = (4, 6, 8)
VEO_SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}
IMAGE_TOKENS = 258        # what an input image is counted as (PROVIDERS.md §3 Pricing, ≤384 px)
IMAGE_OUTPUT_TOKENS = 1290
THOUGHTS = 64
STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 402: "FAILED_PRECONDITION", 403: "PERMISSION_DENIED",
                404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE",
                504: "DEADLINE_EXCEEDED"}
DEFAULT_RAI = ("The video could not be generated because the input image or prompt may violate "
               "the usage guidelines.")


def google_error(status: int, message: str) -> dict:
    return {"error": {"code": status, "message": message, "status": STATUS_NAMES.get(status, "UNKNOWN")}}


def judge_usage(images: int, prompt: str, answer: str) -> dict:
    """What the fake reports a verdict used (tests price it with this too)."""
    prompt_tokens = images * IMAGE_TOKENS + len(prompt) // 4
    out = len(answer) // 4
    return {"promptTokenCount": prompt_tokens, "candidatesTokenCount": out, "thoughtsTokenCount": THOUGHTS,
            "totalTokenCount": prompt_tokens + out + THOUGHTS}


def _keyless(req: Request) -> Reply | None:
    if not req.headers.get("x-goog-api-key"):
        return Reply(401, google_error(401, "Method doesn't allow unregistered callers. Please use an API key."))
    return None


def _early(fault) -> Reply | None:
    """The faults that answer before anything is made."""
    if fault is None:
        return None
    if fault.kind == "status":
        return Reply(fault.status, fault.body if fault.body is not None
                     else google_error(fault.status, f"injected {fault.status}"), fault.headers)
    if fault.kind == "drop_before":
        raise Drop()
    return None


def image_of(data: str):
    """An image sent as bytes: google-genai writes bytes as URL-safe base64 [V: _common.py]."""
    return decode_image(base64.urlsafe_b64decode(data))


def _parts(body: dict) -> tuple[str, list]:
    parts = [p for c in body.get("contents") or [] for p in c.get("parts") or []]
    text = " ".join(p["text"] for p in parts if "text" in p)
    images = [image_of(p["inlineData"]["data"]) for p in parts if "inlineData" in p]
    return text, images


def _pixels(ratio: str) -> tuple[int, int]:
    """A 1K image at the asked ratio (the fake's own sizes: the real ones are not in the notes)."""
    w, h = (int(x) for x in ratio.split(":"))
    return (round(768 * w / h / 16) * 16, 768) if w >= h else (768, round(768 * h / w / 16) * 16)


def generate_content(st: State, req: Request) -> Reply:
    denied = _keyless(req)
    if denied:
        return denied
    model, body = req.params["model"], req.json or {}
    config = body.get("generationConfig") or {}
    op = "judge" if config.get("responseMimeType") == "application/json" else \
        "speak" if config.get("responseModalities") == ["AUDIO"] else "generate"
    if op == "speak":
        return _speak(st, model, body, config)
    fault = st.take(PROVIDER, op, model, text=_parts(body)[0])
    early = _early(fault)
    if early:
        return early
    kind = fault.kind if fault else None
    if kind == "moderation":
        return _blocked_prompt(fault, 10)
    record = st.create(PROVIDER, op, model, body)
    if kind == "drop_after":
        raise Drop()
    text, images = _parts(body)
    if op == "judge":
        return _verdict(config, text, images, fault)
    if kind in ("blocked_output", "no_image"):
        finish = fault.data.get("finish", "IMAGE_SAFETY") if kind == "blocked_output" else "NO_IMAGE"
        return Reply(200, {"candidates": [{"content": {"role": "model"}, "finishReason": finish, "index": 0}],
                           "modelVersion": model, "responseId": record["id"]})
    width, height = _pixels((config.get("imageConfig") or {}).get("aspectRatio", "1:1"))
    png = make_image(images, width, height, seed=len(st.created), prompt=text)
    if kind == "blank":  # a safety filter's black frame, an empty generation: one flat colour, billed
        png = flat_png(width, height, tuple(fault.data.get("colour", (0, 0, 0))))
    return Reply(200, {
        "candidates": [{"content": {"role": "model", "parts": [{"inlineData": {
            "mimeType": "image/png", "data": base64.b64encode(png).decode()}}]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": IMAGE_TOKENS * len(images) + len(text) // 4,
                          "candidatesTokenCount": IMAGE_OUTPUT_TOKENS},
        "modelVersion": model, "responseId": record["id"]})


#: The prebuilt voices of the speech models (PROVIDERS.md Speech §S1).
VOICES = ("Zephyr", "Puck", "Charon", "Kore", "Fenrir", "Leda", "Orus", "Aoede", "Callirrhoe", "Autonoe", "Enceladus",
          "Iapetus", "Umbriel", "Algieba", "Despina", "Erinome", "Algenib", "Rasalgethi", "Laomedeia", "Achernar",
          "Alnilam", "Schedar", "Gacrux", "Pulcherrima", "Achird", "Zubenelgenubi", "Vindemiatrix", "Sadachbia",
          "Sadaltager", "Sulafat")
SPEECH_RATE = 24000
AUDIO_TOKENS_PER_SECOND = 32


def speech_usage(text: str, seconds: float) -> dict:
    """What the fake reports a line used (tests price it with this too)."""
    prompt, audio = -(-len(text) // 4), round(seconds * AUDIO_TOKENS_PER_SECOND)
    return {"promptTokenCount": prompt, "candidatesTokenCount": audio, "totalTokenCount": prompt + audio,
            "candidatesTokensDetails": [{"modality": "AUDIO", "tokenCount": audio}]}


def _field(obj, camel: str):
    """A JSON field read by its lowerCamelCase name or its snake_case one (proto3 JSON takes both)."""
    if not isinstance(obj, dict):
        return None
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)
    return obj.get(camel, obj.get(snake))


def _blocked_prompt(fault, tokens: int) -> Reply:
    """Gemini's answer to a prompt its moderation blocked: no candidate, the reason, the tokens read."""
    return Reply(200, {"promptFeedback": {"blockReason": fault.data.get("reason", "PROHIBITED_CONTENT")},
                       "usageMetadata": {"promptTokenCount": tokens, "totalTokenCount": tokens}})


def _speak(st: State, model: str, body: dict, config: dict) -> Reply:
    """A line of speech in a prebuilt voice, as raw PCM in base64."""
    text = _parts(body)[0]
    # google-genai 2.34 writes the speech config's inner fields in snake_case [V]; the API reads a
    # field by either spelling, as every proto3 JSON parser does: so does the fake.
    voice = _field(_field(_field(_field(config, "speechConfig"), "voiceConfig"), "prebuiltVoiceConfig"), "voiceName")
    if voice not in VOICES:
        return Reply(400, google_error(400, f"Voice name {voice!r} is not supported."))
    fault = st.take(PROVIDER, "speak", model, text=text)
    early = _early(fault)
    if early:
        return early
    kind = fault.kind if fault else None
    if kind == "moderation":
        return _blocked_prompt(fault, -(-len(text) // 4))
    record = st.create(PROVIDER, "speak", model, body)
    if kind == "drop_after":
        raise Drop()
    if kind in ("blocked_output", "no_audio"):
        finish = fault.data.get("finish", "PROHIBITED_CONTENT") if kind == "blocked_output" else "OTHER"
        return Reply(200, {"candidates": [{"content": {"role": "model"}, "finishReason": finish, "index": 0}],
                           "modelVersion": model, "responseId": record["id"]})
    pcm = make_speech(text, voice, SPEECH_RATE)
    seconds = len(pcm) / 2 / SPEECH_RATE
    return Reply(200, {
        "candidates": [{"content": {"role": "model", "parts": [{"inlineData": {
            "mimeType": f"audio/L16;codec=pcm;rate={SPEECH_RATE}", "data": base64.b64encode(pcm).decode()}}]},
            "finishReason": "STOP", "index": 0}],
        "usageMetadata": speech_usage(text, seconds), "modelVersion": model, "responseId": record["id"]})


def _verdict(config: dict, text: str, images: list, fault) -> Reply:
    kind = fault.kind if fault else None
    score = fault.data.get("score", 0.2) if kind == "judge_fail" else 0.92
    answer = "{not json" if kind == "bad_json" else json.dumps(schema_answer(config.get("responseSchema") or {}, score))
    return Reply(200, {"candidates": [{"content": {"role": "model", "parts": [{"text": answer}]},
                                       "finishReason": "STOP", "index": 0}],
                       "usageMetadata": judge_usage(len(images), text, answer)})


def predict_long_running(st: State, req: Request) -> Reply:
    denied = _keyless(req)
    if denied:
        return denied
    model, body = req.params["model"], req.json or {}
    instance = (body.get("instances") or [{}])[0]
    params = body.get("parameters") or {}
    # Refused as the real API would refuse what Veo does not make (PROVIDERS.md: 4|6|8 s, 720p|1080p).
    if params.get("durationSeconds") not in VEO_DURATIONS or params.get("resolution") not in VEO_SIZES:
        return Reply(400, google_error(400, f"durationSeconds {params.get('durationSeconds')!r} or resolution "
                                            f"{params.get('resolution')!r} is not supported"))
    if "generateAudio" in params:
        # The SDK raises ValueError client-side for generate_audio on the Developer API (PROVIDERS.md
        # §3): a request that carries it did not come through the SDK as slate uses it.
        return Reply(400, google_error(400, "generateAudio is not supported by the Gemini API"))
    refs = instance.get("referenceImages")
    if refs is not None:
        # Up to three ASSET/STYLE references, never with a first or last frame (PROVIDERS.md §3).
        if "image" in instance or "lastFrame" in instance:
            return Reply(400, google_error(400, "referenceImages cannot be combined with image or lastFrame"))
        if not (1 <= len(refs) <= 3) or any(r.get("referenceType") not in ("ASSET", "STYLE") or
                                            "bytesBase64Encoded" not in (r.get("image") or {}) for r in refs):
            return Reply(400, google_error(400, "referenceImages: 1-3 images, each with a referenceType"))
    elif "image" not in instance:
        return Reply(400, google_error(400, "an image is required"))
    fault = st.take(PROVIDER, "submit", model)
    early = _early(fault)
    if early:
        return early
    op_id = uuid.uuid4().hex[:20]
    name = f"models/{model}/operations/{op_id}"
    st.create(PROVIDER, "submit", model, body, id=op_id, name=name, seconds=params["durationSeconds"],
              resolution=params["resolution"], start=(instance.get("image") or {}).get("bytesBase64Encoded"),
              refs=[r["image"]["bytesBase64Encoded"] for r in refs or []], prompt=instance.get("prompt") or "",
              end=(instance.get("lastFrame") or {}).get("bytesBase64Encoded"),
              fate=fault.kind if fault and fault.kind in ("moderation", "job_failed", "stuck") else None,
              fate_data=fault.data if fault else {}, uri=None)
    if fault and fault.kind == "drop_after":
        raise Drop()
    return Reply(200, {"name": name})


def _operation(st: State, req: Request) -> dict | Reply:
    """The operation the request names, or the answer Google gives when there is none (or no key)."""
    denied = _keyless(req)
    if denied:
        return denied
    with st.lock:
        job = st.jobs.get(req.params["op_id"])
    if job is None or job["name"] != req.params["name"]:
        return Reply(404, google_error(404, f"Operation {req.params['name']} not found"))
    return job


def get_operation(st: State, req: Request) -> Reply:
    job = _operation(st, req)
    if isinstance(job, Reply):
        return job
    fault = st.take(PROVIDER, "poll", job["model"])
    early = _early(fault)
    if early:
        return early
    with st.lock:
        job["polls"] += 1
        if fault and fault.kind in ("moderation", "job_failed"):
            job["fate"], job["fate_data"] = fault.kind, fault.data
    if (fault and fault.kind == "busy") or job["fate"] == "stuck":
        return Reply(200, {"name": job["name"]})
    if job["fate"] == "cancelled":
        return Reply(200, {"name": job["name"], "done": True, "error": {"code": 1, "message": "Operation cancelled."}})
    if job["fate"] == "moderation":
        reasons = job["fate_data"].get("reasons") or [job["fate_data"].get("reason", DEFAULT_RAI)]
        return Reply(200, {"name": job["name"], "done": True, "response": {
            "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse",
            "generateVideoResponse": {"raiMediaFilteredCount": 1, "raiMediaFilteredReasons": reasons}}})
    if job["fate"] == "job_failed":
        return Reply(200, {"name": job["name"], "done": True, "error": {
            "code": 13, "message": job["fate_data"].get("message", "Video generation failed: internal error.")}})
    return Reply(200, {"name": job["name"], "done": True, "response": {
        "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse",
        "generateVideoResponse": {"generatedSamples": [{"video": {"uri": _rendered(st, job)}}]}}})


def _rendered(st: State, job: dict) -> str:
    """The clip's download URI, rendering it the first time the job is seen done."""
    with st.lock:
        if job["uri"]:
            return job["uri"]
    width, height = VEO_SIZES[job["resolution"]]
    end = image_of(job["end"]) if job["end"] else None
    refs = [image_of(r) for r in job.get("refs") or []]
    start = reference_picture(refs, width, height, prompt=job.get("prompt") or "") if refs else image_of(job["start"])
    clip = make_video(start, end, float(job["seconds"]), width, height, audio=True)   # Veo always makes its sound
    file_id = st.put_file(clip, "mp4", "video/mp4").rsplit("/", 1)[-1].split(".")[0]
    with st.lock:
        job["uri"] = job["uri"] or f"{st.base}{P}/files/{file_id}:download?alt=media"
        return job["uri"]


def download_file(st: State, req: Request) -> Reply:
    denied = _keyless(req)
    if denied:
        return denied
    fault = st.take(PROVIDER, "download")
    early = _early(fault)
    if early:
        return early
    with st.lock:
        found = st.files.get(f"{req.params['file_id']}.mp4")
    if found is None or (fault and fault.kind == "expired"):
        return Reply(404, google_error(404, f"File {req.params['file_id']} not found."))
    return Reply(200, found[0], content_type=found[1])


def cancel_operation(st: State, req: Request) -> Reply:
    job = _operation(st, req)
    if isinstance(job, Reply):
        return job
    with st.lock:
        running = job["fate"] in (None, "stuck") and not job["uri"]
        if running:
            job["fate"] = "cancelled"
    st.book_cancel(job, "canceled" if running else "already done")
    return Reply(200, {})


def register(router: Router) -> None:
    router.add("POST", P + r"/models/(?P<model>[^/:]+):generateContent", generate_content)
    router.add("POST", P + r"/models/(?P<model>[^/:]+):predictLongRunning", predict_long_running)
    router.add("GET", P + r"/(?P<name>models/[^/:]+/operations/(?P<op_id>[a-z0-9]+))", get_operation)
    router.add("GET", P + r"/files/(?P<file_id>[a-z0-9]+):download", download_file)
    router.add("POST", P + r"/(?P<name>models/[^/:]+/operations/(?P<op_id>[a-z0-9]+)):cancel", cancel_operation)
