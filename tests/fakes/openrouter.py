"""A fake OpenRouter videos API, under /openrouter/api/v1, speaking ../shared/PROVIDERS.md §4.

    POST /videos                      202 {"id", "polling_url", "status": "pending"}   (a job: billed)
    GET  /videos/{id}                 {"id", "status", "unsigned_urls", "urls", "generation_id",
                                       "error", "usage": {"cost", "is_byok"}}
    GET  /videos/{id}/content?index=0 the mp4 (a real H.264 clip made from the first frame)
    GET  /key, /auth/key              {"data": {…}} from state.keys["openrouter"] (uncapped by default)

Every route wants `Authorization: Bearer <key>` with a key shaped like control.fake_key's
("sk-or-v1-" + "fake<tag>" three times); anything else is a 401 in the error envelope
{"error": {"code", "message"}}. A submit is checked as the notes describe it (model slug,
whole-second duration 4–15, resolution, frame_images of image_url objects with data: URLs) and a
request the fake cannot read is a 400. A job completes on its first poll unless a fault says
otherwise; it reports `usage.cost` from the prices the notes give ([S]: Seedance 2.0 $7 per 1M
video tokens of w·h·24·s/1024, fast $0.040/s, mini $0.013/s), which the rate card also holds.

Faults (queued with control.FakeProviders.faults, taken per operation: op "submit", "poll",
"download" or "key", `model` to aim at one model):

    status       reply fault.status with fault.body (default: the error envelope with the notes'
                 words where they give them: 403 "Key limit exceeded (total limit). …"; the 402
                 text is invented, the notes do not know it) and fault.headers (Retry-After…)
    drop_before  close the connection before the job is created            (submit)
    drop_after   create the job, then close the connection: the id is lost  (submit)
    moderation   the job ends `failed` with a moderation error               (submit, poll)
    job_failed   the job ends `failed` with a generic error                  (submit, poll)
                 (for both, fault.body, a string or an object, is the job's `error` when given)
    busy         polls answer pending, then in_progress, for fault.times polls    (poll)
    stuck        the job never finishes: in_progress on every poll              (submit)
                 (no cancel is documented, so the fake has none to offer)
    expired      the content answers 404 and the job reports `expired` from then on  (download)
    redirect     the content answers 302 to the file on "localhost" (another host than
                 the API's, like a CDN)                                     (download)

How OpenRouter words a moderation failure, an expired output and a 402 is not in the notes:
the words here are the fake's own, and no test may take them for OpenRouter's.
Test code only.
"""
from __future__ import annotations

from decimal import Decimal

from tests.fakes.control import PREFIX
from tests.fakes.core import SIZES, Drop, Reply, Request, Router, State, decode_image, fault_reply, make_video, \
    reference_picture

P = PREFIX["openrouter"]
PROVIDER = "openrouter"
MODELS = ("bytedance/seedance-1-5-pro", "bytedance/seedance-2.0", "bytedance/seedance-2.0-fast",
          "bytedance/seedance-2.0-mini", "bytedance/seedance-2.5")
KEY_PREFIX = "sk-or-v1-"
WORDS = {
    401: "No auth credentials found",
    402: "Insufficient credits (fake's words: the real text is unknown)",
    403: "Key limit exceeded (total limit). Manage it using https://openrouter.ai/settings/keys",
    429: "Rate limit exceeded",
}
MODERATION = "The request was flagged by the content moderation of the upstream provider (fake's words)"
PER_SECOND = {"bytedance/seedance-2.0-fast": Decimal("0.040"), "bytedance/seedance-2.0-mini": Decimal("0.013")}


def envelope(code: int, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def key_ok(headers: dict) -> bool:
    auth = headers.get("authorization", "")
    if not auth.startswith("Bearer " + KEY_PREFIX):
        return False
    rest = auth[len("Bearer " + KEY_PREFIX):]
    third = len(rest) // 3
    return rest.startswith("fake") and len(rest) == 3 * third and rest == rest[:third] * 3


def status_reply(fault) -> Reply:
    if fault.body is not None:
        return fault_reply(fault)
    return Reply(fault.status, envelope(fault.status, WORDS.get(fault.status, f"injected {fault.status}")),
                 fault.headers)


def cost_of(model: str, seconds: int, resolution: str) -> str:
    """What the fake bills for a clip, in dollars, to the micro-dollar."""
    if model in PER_SECOND:
        cost = PER_SECOND[model] * seconds
    else:
        w, h = SIZES[resolution]
        cost = Decimal(w * h * 24 * seconds) / 1024 * Decimal(7) / Decimal(1_000_000)
    return str(cost.quantize(Decimal("0.000001")))


def problems(body) -> list[str]:
    if not isinstance(body, dict):
        return ["the body is not a JSON object"]
    found = []
    if body.get("model") not in MODELS:
        found.append(f"model: unknown video model {body.get('model')!r}")
    if not isinstance(body.get("prompt"), str) or not body["prompt"]:
        found.append("prompt: a non-empty string is required")
    d = body.get("duration")
    if not isinstance(d, int) or isinstance(d, bool) or not 4 <= d <= 15:
        found.append(f"duration: an integer from 4 to 15, not {d!r}")
    if body.get("resolution") not in SIZES:
        found.append(f"resolution: one of {', '.join(SIZES)}")
    if "generate_audio" in body and not isinstance(body["generate_audio"], bool):
        found.append("generate_audio: a boolean")   # a request field of the videos API (PROVIDERS.md §4)
    refs = body.get("input_references")
    if refs is not None:
        # input_references (PROVIDERS.md §4); with frame_images too is not in the notes: refused here.
        if "frame_images" in body:
            found.append("input_references: not taken together with frame_images by this fake")
        if not isinstance(refs, list) or not refs:
            found.append("input_references: a list of image_url objects")
        else:
            for r in refs:
                url = ((r.get("image_url") or {}).get("url", "") if isinstance(r, dict) and
                       r.get("type") == "image_url" else "")
                try:
                    decode_image(url) if url.startswith("data:image/") else None
                except Exception:  # noqa: BLE001
                    url = ""
                if not url.startswith("data:image/"):
                    found.append("input_references: each an image_url with a readable image")
        return found
    frames = body.get("frame_images")
    kinds = [f.get("frame_type") for f in frames] if isinstance(frames, list) and all(
        isinstance(f, dict) for f in frames) else None
    if kinds not in (["first_frame"], ["first_frame", "last_frame"]):
        found.append("frame_images: a first_frame, then optionally a last_frame")
    else:
        for f in frames:
            url = (f.get("image_url") or {}).get("url", "") if f.get("type") == "image_url" else ""
            try:
                decode_image(url) if url.startswith("data:image/") else None
            except Exception:  # noqa: BLE001 — anything unreadable is the client's fault here
                url = ""
            if not url.startswith("data:image/"):
                found.append(f"frame_images[{f.get('frame_type')}]: an image_url with a readable image")
    return found


def register(router: Router) -> None:
    def authed(handler):
        def wrapped(st: State, req: Request) -> Reply:
            if not key_ok(req.headers):
                return Reply(401, envelope(401, WORDS[401]))
            return handler(st, req)
        return wrapped

    def job_of(st: State, req: Request) -> dict | None:
        with st.lock:
            job = st.jobs.get(req.params["id"])
        return job if job and job["provider"] == PROVIDER else None

    @router.route("POST", P + "/videos")
    @authed
    def submit(st: State, req: Request) -> Reply:
        body = req.json
        model = body.get("model") if isinstance(body, dict) else None
        fault = st.take(PROVIDER, "submit", model)
        if fault and fault.kind == "status":
            return status_reply(fault)
        if fault and fault.kind == "drop_before":
            raise Drop()
        wrong = problems(body)
        if wrong:
            return Reply(400, envelope(400, "; ".join(wrong)))
        outcome = {"moderation": "moderation", "job_failed": "failed", "stuck": "stuck"}.get(fault.kind if fault else "")
        job = st.create(PROVIDER, "video", model, body, wanted=body, status="pending", outcome=outcome,
                        words=fault.body if fault else None,
                        cost=cost_of(model, body["duration"], body["resolution"]))
        if fault and fault.kind == "drop_after":
            raise Drop()
        return Reply(202, {"id": job["id"], "polling_url": f"/api/v1/videos/{job['id']}", "status": "pending"})

    @router.route("GET", P + r"/videos/(?P<id>[^/]+)")
    @authed
    def poll(st: State, req: Request) -> Reply:
        job = job_of(st, req)
        if job is None:
            return Reply(404, envelope(404, "Video generation not found"))
        with st.lock:
            job["polls"] += 1
        fault = st.take(PROVIDER, "poll", job["model"])
        if fault and fault.kind == "status":
            return status_reply(fault)
        if fault and fault.kind in ("moderation", "job_failed"):
            job["outcome"] = "moderation" if fault.kind == "moderation" else "failed"
            job["words"] = fault.body
        if fault and fault.kind == "busy":
            job["status"] = "pending" if job["status"] == "pending" and job["polls"] == 1 else "in_progress"
        elif job["outcome"] == "stuck":
            job["status"] = "in_progress"
        elif job.get("expired"):
            job["status"] = "expired"
        elif job["outcome"] == "moderation":
            job.update(status="failed", error=job["words"] or MODERATION)
        elif job["outcome"] == "failed":
            job.update(status="failed", error=job["words"] or "Video generation failed upstream (fake's words)")
        elif job["status"] != "completed":
            finish(st, job)
        return Reply(200, view(st, job))

    @router.route("GET", P + r"/videos/(?P<id>[^/]+)/content")
    @authed
    def content(st: State, req: Request) -> Reply:
        job = job_of(st, req)
        if job is None or job["status"] != "completed" or req.query.get("index", ["0"]) != ["0"]:
            return Reply(404, envelope(404, "No video content for this id and index"))
        fault = st.take(PROVIDER, "download", job["model"])
        if fault and fault.kind == "status":
            return status_reply(fault)
        if fault and fault.kind == "expired":
            job.update(expired=True, status="expired")
            return Reply(404, envelope(404, "Video content has expired (fake's words)"))
        if fault and fault.kind == "redirect":
            return Reply(302, None, {"Location": job["file_url"].replace("127.0.0.1", "localhost")})
        with st.lock:
            data, ctype = st.files[job["file_url"].rsplit("/", 1)[-1]]
        return Reply(200, data, content_type=ctype)

    def key_info(st: State, req: Request) -> Reply:
        fault = st.take(PROVIDER, "key")
        if fault and fault.kind == "status":
            return status_reply(fault)
        with st.lock:
            figures = dict(st.keys.get(PROVIDER, {}))
        data = {"label": "sk-or-v1-fak...ake", "limit": None, "limit_remaining": None, "limit_reset": None,
                "usage": 0, "usage_daily": 0, "usage_weekly": 0, "usage_monthly": 0, "byok_usage": 0,
                "is_free_tier": False, "expires_at": None, "rate_limit": {"requests": 1000, "interval": "1h"}}
        data.update(figures)
        return Reply(200, {"data": data})

    router.add("GET", P + "/key", authed(key_info))
    router.add("GET", P + "/auth/key", authed(key_info))


def finish(st: State, job: dict) -> None:
    """Make the clip (real H.264 from the first frame, cross-fading to the last) and complete."""
    asked = job["wanted"]
    w, h = SIZES[asked["resolution"]]
    frames = {f["frame_type"]: decode_image(f["image_url"]["url"]) for f in asked.get("frame_images") or []}
    if asked.get("input_references"):
        frames["first_frame"] = reference_picture([decode_image(r["image_url"]["url"])
                                                   for r in asked["input_references"]], w, h,
                                                  prompt=asked.get("prompt") or "")
    clip = make_video(frames["first_frame"], frames.get("last_frame"), asked["duration"], w, h,
                      audio=asked.get("generate_audio") is True)
    job.update(status="completed", file_url=st.put_file(clip, "mp4", "video/mp4"), generation_id=f"gen-{job['id']}")


def view(st: State, job: dict) -> dict:
    done = job["status"] == "completed"
    return {"id": job["id"], "status": job["status"],
            "polling_url": f"/api/v1/videos/{job['id']}",
            "generation_id": job.get("generation_id"),
            "unsigned_urls": [job["file_url"]] if done else [],
            "urls": [f"{st.base}{P}/videos/{job['id']}/content?index=0"] if done else [],
            "error": job.get("error"),
            # a failed job is reported at $0 (the fake's choice: what OpenRouter bills for one is unknown)
            "usage": ({"cost": float(job["cost"]) if job["status"] != "failed" else 0, "is_byok": False}
                      if job["status"] in ("completed", "failed", "expired") else None)}
