"""OpenRouter: Seedance 2.0 clips through OpenRouter's asynchronous videos API.

OpenRouter offers slate video only (its PROVIDER, at the end): no panels, no judge.
The wire, as ../shared/PROVIDERS.md §4 has it:

    submit    POST {base}/videos                         202 {"id", "polling_url", "status": "pending"}
    poll      GET  {base}/videos/{id}                    status pending | in_progress | completed |
                                                         failed | cancelled | expired, usage{cost, is_byok}
    download  GET  {base}/videos/{id}/content?index=0    mp4 bytes (authenticated)
    key       GET  {base}/key  (legacy /auth/key)        {"data": {"limit", "limit_remaining", …}}

No cancel and no lookup of a job by our own reference are documented, so `cancel` and `find_job`
say so (NotImplementedError): a job once submitted runs to its end, and a submit whose answer
was lost is an unknown outcome for `slate reconcile`.

The key is read from OPENROUTER_API_KEY (or its Secret block) at the moment of each request and
goes only into the Authorization header of requests to the API host. Every request goes through
providers.http.send, which turns statuses and transport failures into the error tree; this
module adds only what a 2xx body can say (a job that failed, was refused or expired).

It must never retry a paid POST, keep a key on an object, or send the key to any host but the
API's (a redirect of the content endpoint to a CDN goes without it: download.fetch's auth_host).
"""
from __future__ import annotations

import base64
import math
import re
from decimal import Decimal, InvalidOperation
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import httpx

from slate.providers import clip_references, download, http
from slate.providers.base import ClipRequest, DoctorFinding, JobState, JobStatus, Storage, VideoGenerator
from slate.providers.errors import (AuthenticationFailed, BadOutput, BadRequest, OutOfCredit, ProviderError,
                                    RefusedByModeration, TransientServerError)
from slate.providers.keys import MissingKey, provider_key
from slate.providers.spec import Offer, ProviderSpec, TakesReferences, reached_at

if TYPE_CHECKING:
    from pydantic import BaseModel

NAME = "openrouter"

#: Seedance 2.0 through OpenRouter takes whole seconds from 4 to 15 (the rate card's bounds).
MIN_SECONDS, MAX_SECONDS = 4, 15
MAX_JOB_ID = 500  # the ledger's job_id column

#: Moderation as ByteDance words it ("…SensitiveContentDetected", "may be related to sensitive
#: information") on top of the shared words. How OpenRouter relays it in a failed job's `error`
#: is not in the notes: unverified.
_REFUSAL_WORDS = re.compile(r"sensitive|flagged|nsfw", re.IGNORECASE)

#: poll status → our job state; `expired` is a job whose output is gone: a failure.
_STATES: dict[str, JobState] = {"pending": "queued", "in_progress": "running", "completed": "succeeded",
           "failed": "failed", "cancelled": "canceled", "expired": "failed"}


def duration_for(seconds: float) -> int:
    """The duration to ask for: whole seconds, rounded up, at least the model's minimum."""
    return max(MIN_SECONDS, math.ceil(seconds - 1e-9))


def data_url(data: bytes) -> str:
    # Whether frame_images take data: URLs is not in the notes (unverified); the API documents
    # image_url objects, which elsewhere on OpenRouter accept data URLs.
    mime = "image/jpeg" if data[:3] == b"\xff\xd8\xff" else "image/webp" if data[8:12] == b"WEBP" else "image/png"
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _client(base_url: str) -> httpx.Client:
    """A client for one request or one poll: the key read now, and dropped with the client."""
    return http.client(NAME, base_url, {"Authorization": f"Bearer {provider_key(NAME).reveal()}"})


def _words(error: Any) -> str:
    """A failed job's `error`: a string or an {code, message} object (its shape is unverified)."""
    if isinstance(error, dict):
        return str(error.get("message") or error.get("code") or error)[:600]
    return str(error)[:600] if error else ""


def _cost(body: dict[str, Any]) -> str | None:
    """OpenRouter's own figure for the job, as a decimal string. With a key of the user's own
    at the upstream (BYOK) the upstream bills them apart, so `usage.cost` is not the whole
    price (unverified for videos): then the rate card's estimate stands instead."""
    usage = body.get("usage") or {}
    if usage.get("is_byok") or usage.get("cost") is None:
        return None
    try:
        return str(Decimal(str(usage["cost"])))
    except InvalidOperation:
        return None


def _raise_enveloped(response: httpx.Response) -> None:
    """A 2xx answer that is only the error envelope {"error": {"code", "message"}} (the notes say
    the key-limit error may arrive in a stream's data line): translated by its code, as the same
    status would be."""
    try:
        body = response.json()
    except ValueError:
        return
    # A job's own answer (it has an id) carries the job's `error`, which is not an envelope.
    error = body.get("error") if isinstance(body, dict) and "id" not in body else None
    if isinstance(error, dict) and isinstance(error.get("code"), int) and error["code"] >= 400:
        raise http.error_for(NAME, httpx.Response(error["code"], json=body, request=response.request))


class OpenRouterVideo:
    """One Seedance model on OpenRouter, as a VideoGenerator."""

    name = NAME
    poll_interval = 5.0

    def __init__(self, model: str, *, storage: Storage, base_url: str):
        self.model = model
        # Past three times this (spec.STUCK_AFTER) a job is stuck: it cannot be cancelled here,
        # so its job id is kept and the next run collects it.
        self.expected_seconds = JOB_SECONDS[model]
        self.variant: dict[str, Any] = {}
        self.storage = storage
        self.base_url = base_url.rstrip("/")
        # Asked seconds by job id, for the length check of a download in this process; a job
        # re-attached after a crash is held to the shortest clip ever asked for instead.
        self._asked: dict[str, float] = {}
        self._frames: dict[str, tuple[int, int]] = {}   # job id → width, height asked: the download's bound

    @property
    def key_id(self) -> str:
        return provider_key(NAME).id

    def body(self, request: ClipRequest) -> dict[str, object]:
        """The JSON of a submit: start frame always, last frame only in start+end mode."""
        if request.seconds > MAX_SECONDS:
            raise BadRequest(f"{self.model} makes at most {MAX_SECONDS} s; {request.seconds:g} s was asked",
                             provider=NAME)
        refs = clip_references.for_model(NAME, self.model, request, VIDEO_REFERENCES.get(self.model))
        frames = [("first_frame", request.start_uri)] if request.start_uri else []
        if request.end_uri:
            frames.append(("last_frame", request.end_uri))
        body: dict[str, object] = {"model": self.model, "duration": duration_for(request.seconds),
                "prompt": clip_references.named_prompt(request.prompt, refs, VIDEO_REFERENCES[self.model].naming)
                if refs else request.prompt,
                "resolution": request.resolution, "seed": request.seed}
        if VIDEO_AUDIO.get(self.model) == "field":
            body["generate_audio"] = bool(request.audio)   # always said: sound is paid for
        if frames:
            body["frame_images"] = [{"type": "image_url", "image_url": {"url": data_url(self.storage.get_bytes(uri))},
                                     "frame_type": kind} for kind, uri in frames]
        if refs:
            body["input_references"] = [{"type": "image_url", "image_url": {"url": data_url(
                clip_references.picture(r, self.storage.get_bytes))}} for r in refs]
        return body

    def submit(self, request: ClipRequest, *, client_ref: str) -> str:
        # client_ref goes nowhere: OpenRouter keeps no caller reference it could be found by.
        body = self.body(request)
        with _client(self.base_url) as c:
            try:
                response = http.send(NAME, c, "POST", "/videos", json=body)
            except AuthenticationFailed as exc:
                # OpenRouter's chat API answers 403 for input its moderation flagged; whether the
                # videos API does is unverified. Such a 403 is a refusal, not a bad key.
                words = str(exc.args[0]).removeprefix("forbidden: ").removesuffix(" — check the key (slate doctor)")
                if exc.status == 403 and (http.MODERATION_WORDS.search(words) or _REFUSAL_WORDS.search(words)):
                    raise RefusedByModeration(f"refused by moderation: {words}", provider=NAME, status=403) from None
                raise
        _raise_enveloped(response)
        try:
            job_id = response.json().get("id")
        except (ValueError, AttributeError):
            job_id = None
        if not isinstance(job_id, str) or not job_id or len(job_id) > MAX_JOB_ID:
            # Accepted, but with no job we can follow: the job may exist all the same.
            raise TransientServerError(f"HTTP {response.status_code} without a usable job id", provider=NAME)
        self._asked[job_id] = request.seconds
        self._frames[job_id] = (request.width, request.height)
        return job_id

    def _job_path(self, job_id: str) -> str:
        return f"/videos/{quote(job_id, safe='')}"

    def poll(self, job_id: str) -> JobStatus:
        with _client(self.base_url) as c:
            response = http.send(NAME, c, "GET", self._job_path(job_id))
        _raise_enveloped(response)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            # A GET changes nothing: the governor keeps polling through this, as through a 5xx.
            raise TransientServerError("a poll answered with something that is not a job", provider=NAME)
        status = str(body.get("status", ""))
        # A status the notes do not list: still running, as far as we can tell (the deadline bounds it).
        state = _STATES.get(status, "running")
        cost = _cost(body)
        if status == "expired":
            return JobStatus("failed", error=f"job {job_id} expired at OpenRouter: its output is gone", cost=cost)
        if state == "failed":
            words = _words(body.get("error")) or "the job failed"
            refused = bool(http.MODERATION_WORDS.search(words) or _REFUSAL_WORDS.search(words))
            return JobStatus("failed", error=words, cost=cost, refused=refused)
        if state == "succeeded":
            return JobStatus("succeeded", progress=1.0, cost=cost)
        return JobStatus(state, cost=cost if state == "canceled" else None)

    def download(self, job_id: str, dest: Path) -> Path:
        url = f"{self.base_url}{self._job_path(job_id)}/content?index=0"
        api_host = urlsplit(self.base_url).hostname or ""
        try:
            limit, what = download.clip_limit(self._asked.get(job_id, 0.0), *self._frames.get(job_id, (None, None)))
            download.fetch(NAME, url, dest, allowed_hosts=(api_host,), max_bytes=limit, what=what,
                           auth_headers={"Authorization": f"Bearer {provider_key(NAME).reveal()}"},
                           auth_host=api_host)
        except BadRequest as exc:
            if exc.status not in (404, 410):
                raise
            # The job ran and was billed, and its output is gone: a failure at what it cost,
            # never a reason to make the job again behind the film-maker's back.
            raise BadOutput(f"the output of job {job_id} is no longer at OpenRouter (HTTP {exc.status}: "
                            f"expired); it was paid for and cannot be fetched", provider=NAME,
                            charged=self._charged(job_id)) from None
        return download.checked_video(NAME, dest, seconds=self._asked.get(job_id, MIN_SECONDS))

    def _charged(self, job_id: str) -> Decimal | None:
        """What OpenRouter says a job cost, if a poll still tells (else the governor's estimate)."""
        try:
            cost = self.poll(job_id).cost
        except ProviderError:
            return None
        return Decimal(cost) if cost is not None else None

    def cancel(self, job_id: str) -> None:
        raise NotImplementedError("OpenRouter documents no way to cancel a video job: it runs to its end "
                                  "and is billed")

    def find_job(self, client_ref: str, since: datetime | None = None, *,
                 request: ClipRequest | None = None) -> str | None:
        raise NotImplementedError("OpenRouter cannot find a video job by our call id (it keeps no caller "
                                  "reference)")


def video(model: str, *, storage: Storage, base_url: str | None,
          settings: BaseModel | None = None) -> VideoGenerator:
    return OpenRouterVideo(model, storage=storage, base_url=reached_at(NAME, base_url))


# -- the key: what `slate doctor` and the run's start ask -----------------------------------------
def _key_info(base_url: str) -> dict[str, Any]:
    """GET /key (free: it runs no model), or its legacy path where the new one is not served."""
    with _client(base_url) as c:
        try:
            response = http.send(NAME, c, "GET", "/key")
        except BadRequest as exc:
            if exc.status != 404:
                raise
            response = http.send(NAME, c, "GET", "/auth/key")
    _raise_enveloped(response)
    try:
        data = response.json().get("data")
    except (ValueError, AttributeError):
        data = None
    if not isinstance(data, dict):
        raise TransientServerError("the key endpoint answered without its data", provider=NAME)
    return data


def _money(value: object) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise TransientServerError(f"the key endpoint gave a figure that is not a number: {str(value)[:40]!r}",
                                   provider=NAME) from None


def key_limit(*, base_url: str | None) -> Decimal | None:
    """What the key may still spend (its limit_remaining, exact), or None when it is uncapped."""
    return _money(_key_info(reached_at(NAME, base_url)).get("limit_remaining"))


def doctor(*, base_url: str | None) -> list[DoctorFinding]:
    try:
        key = provider_key(NAME)
    except MissingKey as exc:
        return [DoctorFinding(NAME, "key", False, str(exc))]
    found = [DoctorFinding(NAME, "key", True, f"key {key.id} from {key.source}")]
    try:
        data = _key_info(reached_at(NAME, base_url))
    except AuthenticationFailed as exc:
        return found + [DoctorFinding(NAME, "key valid", False, str(exc))]
    except OutOfCredit as exc:
        return found + [DoctorFinding(NAME, "credit", False, str(exc))]
    except ProviderError as exc:
        return found + [DoctorFinding(NAME, "key valid", False, f"could not be checked: {exc}", blocking=False)]
    # The label is a masked form of the key itself: not shown.
    found.append(DoctorFinding(NAME, "key valid", True, f"key {key.id} is valid (GET /key)"))
    limit, remaining = _money(data.get("limit")), _money(data.get("limit_remaining"))
    if remaining is None:
        found.append(DoctorFinding(NAME, "credit", True, "the key has no spending limit; the account's credit is not "
                                                   "checked", blocking=False))
    else:
        of = f" of its ${limit} limit" if limit is not None else ""
        found.append(DoctorFinding(NAME, "credit", remaining > 0, f"${remaining} left{of}"
                             + ("" if remaining > 0 else ": raise the key's limit on openrouter.ai")))
    return found


#: The Seedance 2.0 family, as OpenRouter names it: video only (no panels, no judge).
VIDEO_MODELS = ("bytedance/seedance-2.0", "bytedance/seedance-2.0-fast", "bytedance/seedance-2.0-mini")
#: How long one video job of each model is expected to take, in seconds (the spec's `job_seconds`;
#: a film corrects one in slate.toml's `[job_seconds]`). OpenRouter documents no figure [?]: as
#: Seedance 2.0 elsewhere (providers/replicate.py, providers/fal.py).
JOB_SECONDS = {"bytedance/seedance-2.0": 180.0, "bytedance/seedance-2.0-fast": 120.0,
               "bytedance/seedance-2.0-mini": 120.0}
#: `input_references` (PROVIDERS.md §4). How many, and whether they may go with frame_images, are
#: not in the notes: no count is assumed and a frame never goes with them. Seedance 2.0 names its
#: references [Image1]… (§1); mini's behaviour is not in the notes, so it is not declared.
VIDEO_REFERENCES = {m: TakesReferences("input_references", None, naming="tags")
                    for m in ("bytedance/seedance-2.0", "bytedance/seedance-2.0-fast")}

#: `generate_audio` is a request field of the videos API (PROVIDERS.md §4), sent to the Seedance
#: 2.0 models that make sound elsewhere (§1, §2); whether mini makes any is not in the notes, so it
#: is not declared (never sent the field, and `slate check` warns when sound is asked of it).
VIDEO_AUDIO = {m: "field" for m in ("bytedance/seedance-2.0", "bytedance/seedance-2.0-fast")}

PROVIDER = ProviderSpec(
    name=NAME,
    offers={"video": Offer(VIDEO_MODELS, {"draft": "bytedance/seedance-2.0-mini", "final": "bytedance/seedance-2.0",
                                          "hero": "bytedance/seedance-2.0"})},
    base_url="https://openrouter.ai/api/v1",
    key_vars=("OPENROUTER_API_KEY",),
    video=video, doctor=doctor, key_limit=key_limit,
    translate_error=partial(http.error_for, NAME),
    lost_job_hint="its video job id in OpenRouter's activity, made at that time",
    references=VIDEO_REFERENCES,
    audio=VIDEO_AUDIO,
    job_seconds=JOB_SECONDS,
)
