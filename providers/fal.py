"""fal.ai's queue as slate's video, panel and lip-sync provider (PROVIDERS.md §2).

Every fal model is reached through one queue. A POST of the model's own input (no wrapper) to
`{base}/{model_id}` answers with a request id and three URLs, which use only the model's
owner/app: for fal-ai/bytedance/seedance/v1/pro/image-to-video they sit under
`fal-ai/bytedance/requests/{id}`. They are followed exactly as returned and kept, with the
seconds asked, in the job id the ledger stores; they are never rebuilt from the model id.

    submit    POST {base}/{model_id}   → {request_id, response_url, status_url, cancel_url}
    poll      GET status_url           → 202 IN_QUEUE / IN_PROGRESS, 200 COMPLETED; then
              GET response_url         → the output, or the model's own error (422 …)
    download  GET response_url → video.url → download.fetch (fal.media, fal.run) → checked_video
    cancel    PUT cancel_url           a queued request is removed; a running one is sent a
                                       cancellation signal its app may honour [D]

The key is read from FAL_KEY (or its Secret block) at each call, sent as `Authorization: Key …`
only to the queue's own origin — never to a file host, nor to a URL the queue hands back on
another origin — and dropped with that call's client. fal cannot find a request by our call id
or by what was asked, so `find_job` says so: a submit whose answer was lost is an unknown
outcome, and the person attaches the request id from fal's dashboard (`slate reconcile --job`).
A bare request id is followed at the URLs fal builds from the model's owner/app
(`{base}/{owner}/{app}/requests/{id}`, PROVIDERS.md §2 [V client.py, D]) — the one place a
queue URL is made here rather than read from an answer.

Panels are jobs the governor follows too (`submit_panel`, `poll`, `download_panel`): the request
id is in the ledger before the first poll, so a panel is never lost, nor paid for twice.

Lip-sync (issue 38) is a job on the same queue, at the same paths, as a clip (`FalLipSync`). Not
in PROVIDERS.md; read off fal's model pages (fal.ai/models/<id>/llms.txt and /api) [D] unless tagged:

    fal-ai/sync-lipsync/v2   sync.so's lipsync-2. Input: video_url*, audio_url* (URLs), model
                             "lipsync-2" (default) | "lipsync-2-pro" ("roughly 1.67 times as much"),
                             sync_mode cut_off (default) | loop | bounce | silence | remap. Output:
                             {"video": File{url, content_type, file_name, file_size}} [D; the File
                             fields as fal's generated schemas give them, S]. $3 per minute of video.
    fal-ai/latentsync        ByteDance's LatentSync. Input: video_url*, audio_url*, guidance_scale
                             (1–2, default 1), seed (none: random), loop_mode pingpong | loop (when
                             the audio is longer). Output: {"video": File} [S: fal's generated
                             schemas; the page's own output section was not read]. $0.20 up to 40 s,
                             then $0.005 per second of output video.

Sent: the clip (video/mp4) and the shot's speech (audio/wav) inline as data: URLs, as the video
path sends its frames — fal says "some models also accept data URIs" [D fal-cdn], which ones and up
to what size is [?]: at most INLINE_BYTES each, else refused before sending. Every documented
default that changes what is made or paid is said (LIPSYNC_MODELS). sync_mode "cut_off" ends the
answer at the shorter input [D sync.so/docs/developer-guides/sync-mode]; slate's speech is the
shot's length, so the answer is the clip's. The speaker's face is not sent: neither model takes one.
Errors are the queue's (above): a model that fails ("no face" and the like) answers its result
with a 422 whose `detail` words are [?]; a 403 "User is locked" is out of credit. The answer's
sound (the models mux the speech in [S]) is dropped: `download` writes the picture alone, stream-
copied by ffmpeg, and holds it to the clip sent (size, frames within one) — else BadOutput, billed.
How long a job takes, and how a part second is billed, are [?].

It must never retry a POST (the governor decides from the error tree), rebuild a queue URL,
send the key anywhere but the queue's origin, or put the key in a job id, a message or a file.
"""
from __future__ import annotations

import base64
import io
import json
import logging
import math
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from PIL import Image, ImageOps

from slate.providers import clip_references, http
from slate.media import MediaError, probe, run as run_ffmpeg, scratch_beside
from slate.media.commands import frame_count
from slate.providers.base import (ClipRequest, at_resolution, DoctorFinding, JobStatus, LipSyncer, LipSyncRequest,
                                  PanelJobs, PanelRequest, Storage, VideoGenerator)
from slate.providers.download import MAX_IMAGE_BYTES, checked_image, checked_video, clip_limit, fetch
from slate.providers.errors import (AuthenticationFailed, BadOutput, BadRequest, JobFailed, ProviderError,
                                    ProviderTimeout, RefusedByModeration, poll_wait)
from slate.providers.keys import MissingKey, provider_key
from slate.providers.spec import Offer, ProviderSpec, TakesReferences, job_deadline, reached_at

if TYPE_CHECKING:
    from pydantic import BaseModel

NAME = "fal"
#: Where fal serves outputs from (its CDN); the key is never sent there.
OUTPUT_HOSTS = ("fal.media", "fal.run")
#: The ledger's job_id column.
JOB_ID_LIMIT = 500
#: A request id as fal hands them out (a UUID): what a person may paste from the dashboard.
REQUEST_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

log = logging.getLogger("slate.providers.fal")


# -- what each model takes ----------------------------------------------------------------------
@dataclass(frozen=True)
class VideoInputs:
    """The input fields one fal image-to-video model takes (PROVIDERS.md §2 table)."""

    end_frame: bool                         # takes end_image_url (start+end mode)
    resolution: bool                        # takes resolution "480p" | "720p" | "1080p"
    camera_and_seed: bool                   # takes camera_fixed and seed
    min_seconds: int = 0                    # a shorter shot is made at this length and trimmed
    max_seconds: int = 0
    lengths: tuple[int, ...] = ()           # only these lengths exist: the next one up is asked


SEEDANCE_V1 = VideoInputs(end_frame=True, resolution=True, camera_and_seed=True, min_seconds=2, max_seconds=12)
# Seedance 2.0's duration is "auto or 4–15" [D]; whether it is a string or an integer is not in
# the notes [?]: it is sent as a string, like v1's.
SEEDANCE_2 = VideoInputs(end_frame=True, resolution=True, camera_and_seed=False, min_seconds=4, max_seconds=15)
KLING_21 = VideoInputs(end_frame=False, resolution=False, camera_and_seed=False, lengths=(5, 10))

VIDEO_MODELS: dict[str, VideoInputs] = {
    "fal-ai/bytedance/seedance/v1/lite/image-to-video": SEEDANCE_V1,
    "fal-ai/bytedance/seedance/v1/pro/image-to-video": SEEDANCE_V1,
    "bytedance/seedance-2.0/image-to-video": SEEDANCE_2,
    "fal-ai/kling-video/v2.1/standard/image-to-video": KLING_21,
    "fal-ai/kling-video/v2.1/pro/image-to-video": KLING_21,
    "fal-ai/kling-video/v2.1/master/image-to-video": KLING_21,
    # Its reference endpoint: the same inputs, with reference images instead of a start frame.
    "fal-ai/bytedance/seedance/v1/lite/reference-to-video": SEEDANCE_V1,
}
#: The video models that take reference images (PROVIDERS.md §2): whether the reference endpoint
#: also takes image_url is not in the notes, so a start frame never goes with them.
VIDEO_REFERENCES = {
    "fal-ai/bytedance/seedance/v1/lite/reference-to-video": TakesReferences("reference_image_urls", 4, naming="order"),
}
#: How its video models make sound (PROVIDERS.md §2): Seedance 2.0 takes `generate_audio`; v1
#: and Kling 2.1 list no such input. (v1.5 pro's with/without-audio prices are in the notes, but
#: slate does not offer it and its audio input is not: it is not declared.)
VIDEO_AUDIO = {"bytedance/seedance-2.0/image-to-video": "field"}
IMAGE_MODELS = ("fal-ai/flux-pro/kontext",)
#: How long one request of each model is expected to take, its queue included, in seconds (the
#: spec's `job_seconds`; a film corrects one in slate.toml's `[job_seconds]`). fal documents no
#: figure [?]: PROVIDERS.md's Seedance example reports `inference_time` 38 s for a 5 s clip; these
#: allow for 1080p, longer clips and a queue. A request is waited for three times its figure
#: (spec.STUCK_AFTER), then cancelled.
JOB_SECONDS = {
    "fal-ai/bytedance/seedance/v1/lite/image-to-video": 90.0,
    "fal-ai/bytedance/seedance/v1/pro/image-to-video": 150.0,
    "bytedance/seedance-2.0/image-to-video": 180.0,
    "fal-ai/kling-video/v2.1/standard/image-to-video": 180.0,
    "fal-ai/kling-video/v2.1/pro/image-to-video": 240.0,
    "fal-ai/kling-video/v2.1/master/image-to-video": 300.0,
    "fal-ai/bytedance/seedance/v1/lite/reference-to-video": 90.0,
    "fal-ai/flux-pro/kontext": 60.0,
    # Lip-sync (issue 38): no figure on either model page [?]; LatentSync is said to take about
    # 45 s a clip [S: eachlabs' page]; sync's lipsync-2 works on 2 s windows, so longer for longer shots.
    "fal-ai/sync-lipsync/v2": 240.0,
    "fal-ai/latentsync": 180.0,
}

#: FLUX Kontext's aspect ratios. Not in PROVIDERS.md [?]: the nearest one to the panel's is asked,
#: and the answer is conformed to the panel's exact size either way.
KONTEXT_RATIOS = ("21:9", "16:9", "4:3", "3:2", "1:1", "2:3", "3:4", "9:16", "9:21")


def duration(model: str, seconds: float) -> int:
    """The whole seconds `model` is asked for, for a shot of `seconds`: rounded up (as the rate
    card bills it), raised to the model's shortest clip, or the next length it offers."""
    rules = VIDEO_MODELS[model]
    wanted = math.ceil(Decimal(str(seconds)))  # Decimal: 2.0000000001 from a float is not 3
    if rules.lengths:
        for length in rules.lengths:
            if wanted <= length:
                return length
        raise BadRequest(f"{model} makes clips of {' or '.join(map(str, rules.lengths))} s; "
                         f"a {seconds:g} s shot is longer", provider=NAME)
    if wanted > rules.max_seconds:
        raise BadRequest(f"{model} makes clips of at most {rules.max_seconds} s; a {seconds:g} s shot is longer",
                         provider=NAME)
    return max(wanted, rules.min_seconds)


def data_url(image: bytes) -> str:
    """An image as a data: URL. fal documents file URLs; that its queue takes data: URLs for
    image_url / end_image_url is NOT in the notes (unverified) — the fake accepts them."""
    mime = "image/jpeg" if image[:3] == b"\xff\xd8\xff" else "image/webp" if image[8:12] == b"WEBP" else "image/png"
    return f"data:{mime};base64,{base64.b64encode(image).decode('ascii')}"


def video_input(model: str, request: ClipRequest, start: bytes | None, end: bytes | None,
                read: Callable[[str], bytes] | None = None) -> dict[str, object]:
    """The body of a submit: the model's input itself, as PROVIDERS.md §2 lists it. `read(uri)`
    fetches a reference shot's images."""
    rules = VIDEO_MODELS[model]
    if end is not None and not rules.end_frame:
        # Sending only the start frame would make a different shot than the one approved.
        raise BadRequest(f"{model} takes no end frame: a start+end shot needs a Seedance model", provider=NAME)
    refs = clip_references.for_model(NAME, model, request, VIDEO_REFERENCES.get(model))
    if not refs and model in VIDEO_REFERENCES:
        raise BadRequest(f"{model} animates references, not a frame: a reference shot only", provider=NAME)
    body: dict[str, object] = {"prompt": clip_references.named_prompt(request.prompt, refs, "order")}
    if start is not None:
        body["image_url"] = data_url(start)
    if refs:
        if read is None:
            raise TypeError("a reference shot's images are fetched by `read`, and none was given")
        body[VIDEO_REFERENCES[model].field] = [data_url(clip_references.picture(r, read)) for r in refs]
    if end is not None:
        body["end_image_url"] = data_url(end)
    if rules.resolution:
        body["resolution"] = request.resolution
    body["duration"] = str(duration(model, request.seconds))   # a string on v1 and Kling [D]
    if rules.camera_and_seed:
        body["camera_fixed"] = bool(request.camera_fixed)
        body["seed"] = int(request.seed)
    if VIDEO_AUDIO.get(model) == "field":
        body["generate_audio"] = bool(request.audio)   # always said: sound is paid for
    return body


def nearest_ratio(width: int, height: int) -> str:
    def distance(ratio: str) -> float:
        w, h = ratio.split(":")
        return abs(math.log((width / height) / (int(w) / int(h))))
    return min(KONTEXT_RATIOS, key=distance)


def panel_input(request: PanelRequest, source: bytes) -> dict[str, object]:
    """FLUX Kontext's input. Not in PROVIDERS.md: every field but prompt and image_url is [?]."""
    return {"prompt": request.prompt, "image_url": data_url(source),
            "aspect_ratio": nearest_ratio(request.width, request.height),   # [?]
            "seed": int(request.seed),                                      # [?]
            "output_format": "png"}                                         # [?]


# -- the job id: the queue's own URLs, kept as returned -------------------------------------------
@dataclass(frozen=True)
class Job:
    """One queued request. Its id for the ledger is compact JSON of the three URLs the queue
    returned (the status and cancel URLs kept relative to the result URL when they extend it,
    which they do on fal) and the seconds asked (what checked_video holds the clip to)."""

    request_id: str
    response_url: str
    status_url: str
    cancel_url: str
    seconds: float = 0.0

    def encode(self) -> str:
        def short(url: str) -> str:
            return url[len(self.response_url):] if url.startswith(self.response_url + "/") else url
        return json.dumps({"id": self.request_id, "r": self.response_url, "s": short(self.status_url),
                           "c": short(self.cancel_url), "t": self.seconds}, separators=(",", ":"))

    @classmethod
    def decode(cls, job_id: str) -> "Job":
        try:
            d = json.loads(job_id)
            r = str(d["r"])
            def full(url: str) -> str:
                return r + url if url.startswith("/") else url
            return cls(str(d["id"]), r, full(str(d["s"])), full(str(d["c"])), float(d.get("t") or 0))
        except (ValueError, KeyError, TypeError):
            raise BadRequest("a fal job id is the JSON slate stored at submit (request id and the queue's "
                             "status, result and cancel URLs); a bare request id cannot be followed without "
                             "rebuilding its URLs", provider=NAME) from None


# -- the queue ------------------------------------------------------------------------------------
class Queue:
    """fal's queue at one base URL: the key read for each call and sent to this origin only."""

    def __init__(self, base_url: str):
        self.base_url = base_url.rstrip("/")
        self.origin = _origin(self.base_url)

    def client(self) -> httpx.Client:
        key = provider_key(NAME)  # at the moment of use; the client (and the header) dies with the call
        return http.client(NAME, self.base_url, {"Authorization": f"Key {key.reveal()}"})

    def own(self, url: str) -> str:
        """`url` if it is on the queue's origin (the only place the key may go), else refused."""
        if _origin(url) != self.origin:
            raise BadRequest(f"the queue's URL {http.where(url)} is not on {http.where(self.base_url)}: "
                             f"the key is not sent there", provider=NAME)
        return url

    def submit(self, model: str, body: dict[str, object], *, seconds: float = 0.0) -> Job:
        """One POST, never repeated here. What comes back must name the job, else the outcome is
        unknown: the job may exist, and slate cannot follow it."""
        with self.client() as c:
            response = http.send(NAME, c, "POST", f"/{model}", json=body)
        try:
            d = response.json()
            job = Job(str(d["request_id"]), str(d["response_url"]), str(d["status_url"]), str(d["cancel_url"]),
                      float(seconds))
        except (ValueError, KeyError, TypeError):
            raise ProviderError("fal accepted the request but its answer names no request id and URLs: the job "
                                "may exist and cannot be followed", provider=NAME, status=response.status_code) from None
        try:
            for url in (job.response_url, job.status_url, job.cancel_url):
                self.own(url)
        except BadRequest as exc:
            raise ProviderError(f"{exc.args[0]}; request {job.request_id} may run and cannot be followed",
                                provider=NAME) from None
        if len(job.encode()) > JOB_ID_LIMIT:
            raise ProviderError(f"request {job.request_id}'s URLs are too long to keep as a job id "
                                f"({len(job.encode())} > {JOB_ID_LIMIT}); it may run and cannot be followed",
                                provider=NAME)
        return job

    def status(self, c: httpx.Client, job: Job) -> JobStatus | None:
        """The job's state while it is queued or running; None once it is COMPLETED."""
        response = http.send(NAME, c, "GET", self.own(job.status_url))
        try:
            state = response.json().get("status")
        except (ValueError, AttributeError):
            state = None
        if state == "IN_QUEUE":
            return JobStatus("queued")
        if state == "COMPLETED":
            return None
        # IN_PROGRESS, a 202 without a body, or a word the notes do not list: still going. The
        # governor's deadline ends a job that never says COMPLETED (as an unknown outcome).
        return JobStatus("running")

    def result(self, c: httpx.Client, job: Job) -> dict[str, Any]:
        response = http.send(NAME, c, "GET", self.own(job.response_url))
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise BadOutput(f"request {job.request_id}'s result is not a JSON object", provider=NAME)
        return data

    def cancel(self, job: Job) -> None:
        """PUT cancel_url [V]: a queued request is removed and never runs; a running one is sent a
        cancellation signal, which its model's app decides how to honour [D fal.ai/docs/inference-api/
        queue/cancel]. A request already done answers ALREADY_COMPLETED (with which status code is
        [?]): no error here, its next poll says how it ended. Any other refusal is the error tree's."""
        with self.client() as c:
            try:
                http.send(NAME, c, "PUT", self.own(job.cancel_url))
            except BadRequest as exc:
                if "ALREADY_COMPLETED" not in exc.args[0]:
                    raise

    def job(self, model: str, job_id: str, seconds: float = 0.0) -> Job:
        """The job a ledger's job id names: the JSON slate stored at submit, or a bare request id
        (a person's, from the dashboard), followed at the owner/app URLs fal documents for it."""
        if REQUEST_ID.fullmatch(job_id.strip()):
            rid = job_id.strip()
            owner_app = "/".join(model.split("/")[:2])
            root = f"{self.base_url}/{owner_app}/requests/{rid}"
            return Job(rid, root, f"{root}/status", f"{root}/cancel", seconds)
        return Job.decode(job_id)


def _origin(url: str) -> tuple[str, str, int | None]:
    u = httpx.URL(url)
    return u.scheme, u.host, u.port


def ended(c: httpx.Client, queue: Queue, job: Job) -> JobStatus:
    """How a COMPLETED request ended: its result, or the model's own error status and words."""
    try:
        queue.result(c, job)
    except RefusedByModeration as exc:
        return JobStatus("failed", error=exc.args[0], refused=True)
    except BadRequest as exc:
        if exc.status in (404, 410):
            # The result is gone (kept 1 h, 6 min when large): the job ran and is billed, so it
            # is not "failed at $0". download() says what happened, and the governor charges it.
            return JobStatus("succeeded", progress=1.0)
        return JobStatus("failed", error=exc.args[0])
    except BadOutput:
        return JobStatus("succeeded", progress=1.0)  # download() raises it again, billed
    return JobStatus("succeeded", progress=1.0)


def kept_result(queue: Queue, job: Job) -> dict[str, Any]:
    """A finished request's result for its download; one that is gone is a billed, unusable output."""
    with queue.client() as c:
        try:
            return queue.result(c, job)
        except BadRequest as exc:
            if exc.status not in (404, 410):
                raise
            raise BadOutput(f"request {job.request_id}'s result is gone (HTTP {exc.status}): fal keeps "
                            f"results for a limited time; the job ran and is billed", provider=NAME) from None


def fetch_output(url: str, dest: Path, *, max_bytes: int, what: str, bounds: str = "") -> Path:
    """An output from fal's file host; a file that is gone is a billed, unusable output.
    `bounds` names what `max_bytes` bounds ("a 4 s clip at 1280x720")."""
    try:
        return fetch(NAME, url, dest, allowed_hosts=OUTPUT_HOSTS, max_bytes=max_bytes, what=bounds)  # no key: a CDN
    except (BadRequest, AuthenticationFailed) as exc:
        if exc.status in (403, 404, 410):
            raise BadOutput(f"the {what} at {http.where(url)} is gone (HTTP {exc.status}): fal keeps outputs "
                            f"for a limited time; the job ran and is billed", provider=NAME) from None
        raise


def output_url(result: dict[str, Any], *path: str | int) -> str:
    value: Any = result   # the answer's JSON, walked along `path`
    try:
        for step in path:
            value = value[step]
    except (KeyError, IndexError, TypeError):
        value = None
    if not isinstance(value, str) or not value:
        raise BadOutput(f"the result has no {'.'.join(map(str, path))}", provider=NAME)
    return value


# -- video ----------------------------------------------------------------------------------------
class QueuedJobs:
    """What every job on fal's queue does alike, whatever it makes (a clip, a panel, a lip-sync):
    polled, cancelled, and never found again by our call id (the queue keeps none of ours)."""

    model: str
    queue: Queue

    def poll(self, job_id: str) -> JobStatus:
        job = self.queue.job(self.model, job_id)
        with self.queue.client() as c:
            running = self.queue.status(c, job)
            return running if running is not None else ended(c, self.queue, job)

    def cancel(self, job_id: str) -> None:
        self.queue.cancel(self.queue.job(self.model, job_id))

    def find_job(self, client_ref: str, since: datetime | None = None, *, request: object = None) -> str | None:
        raise NotImplementedError("fal's queue cannot find a request by our call id or by what was asked: attach "
                                  "its request id from fal's dashboard (slate reconcile --job)")


class FalVideo(QueuedJobs):
    """An image-to-video model on fal's queue."""

    name = NAME
    poll_interval = 5.0      # Seedance and Kling take tens of seconds to minutes

    def __init__(self, model: str, *, storage: Storage, base_url: str):
        if model not in VIDEO_MODELS:
            raise ValueError(f"fal offers no video model {model!r} (known: {', '.join(VIDEO_MODELS)})")
        self.model = model
        self.expected_seconds = JOB_SECONDS[model]
        self.variant: dict[str, Any] = {}
        self.storage = storage
        self.queue = Queue(base_url)
        self._frames: dict[str, tuple[int, int]] = {}   # job id → width, height asked: the download's bound

    @property
    def key_id(self) -> str:
        return provider_key(NAME).id

    def clip_sizes(self, request: ClipRequest) -> tuple[tuple[int, int], ...]:
        """A model that takes no resolution (Kling) makes its own: 720p or 1080p."""
        return () if VIDEO_MODELS[self.model].resolution else at_resolution(request, ("720p", "1080p"))

    def submit(self, request: ClipRequest, *, client_ref: str) -> str:
        # client_ref has nowhere to go: fal's queue keeps no id of ours (hence find_job below).
        start = self.storage.get_bytes(request.start_uri) if request.start_uri else None
        end = self.storage.get_bytes(request.end_uri) if request.end_uri else None
        body = video_input(self.model, request, start, end, self.storage.get_bytes)
        job_id = self.queue.submit(self.model, body, seconds=request.seconds).encode()
        self._frames[job_id] = (request.width, request.height)
        return job_id

    def download(self, job_id: str, dest: Path) -> Path:
        job = self.queue.job(self.model, job_id)
        result = kept_result(self.queue, job)
        # A bare request id (attached by a person) does not carry the seconds asked: the clip is
        # held to the shortest the model makes.
        seconds = job.seconds or VIDEO_MODELS[self.model].min_seconds or 2.0
        limit, bounds = clip_limit(seconds, *self._frames.get(job_id, (None, None)))
        fetch_output(output_url(result, "video", "url"), dest, max_bytes=limit, what="clip", bounds=bounds)
        return checked_video(NAME, dest, seconds=seconds)


# -- panels ---------------------------------------------------------------------------------------
class FalImage(QueuedJobs):
    """FLUX Kontext on fal's queue: it edits one image by the prompt.

    The image it edits is the human composite when there is one, else the location plate; the
    characters reach it as the locked words of the prompt. Kontext takes one image, so the
    turnarounds are not sent (a multi-image model would take them; none is in the notes).
    A panel is a job the governor follows (`submit_panel`, `poll`, `download_panel`), or one
    call outside it (`generate_panel`)."""

    name = NAME
    poll_interval = 1.0

    def __init__(self, model: str, *, storage: Storage, base_url: str):
        if model not in IMAGE_MODELS:
            raise ValueError(f"fal offers no image model {model!r} (known: {', '.join(IMAGE_MODELS)})")
        self.model = model
        self.expected_seconds = JOB_SECONDS[model]
        # `generate_panel`'s own wait (outside the governor, which takes its deadline from the run).
        self.poll_deadline = job_deadline(self.expected_seconds)
        self.variant: dict[str, Any] = {}
        self.storage = storage
        self.queue = Queue(base_url)

    def _input(self, request: PanelRequest) -> dict[str, object]:
        return panel_input(request, self.storage.get_bytes(request.override_uri or request.plate_uri))

    def submit_panel(self, request: PanelRequest, *, client_ref: str) -> str:
        return self.queue.submit(self.model, self._input(request)).encode()

    def download_panel(self, job_id: str, dest: Path, width: int, height: int) -> Path:
        job = self.queue.job(self.model, job_id)
        with self.queue.client() as c:
            result = self._result(c, job)
        dest.write_bytes(self._picture(result, width, height))
        return dest


    def generate_panel(self, request: PanelRequest, *, client_ref: str | None = None) -> bytes:
        job = self.queue.submit(self.model, self._input(request))
        return self._picture(self._wait(job), request.width, request.height)

    def _picture(self, result: dict[str, Any], width: int, height: int) -> bytes:
        with tempfile.TemporaryDirectory(prefix="slate-fal-") as tmp:
            path = fetch_output(output_url(result, "images", 0, "url"), Path(tmp) / "panel",
                                max_bytes=MAX_IMAGE_BYTES, what="panel")
            png = checked_image(NAME, path.read_bytes())
        return conform(png, width, height)

    def _wait(self, job: Job) -> dict[str, Any]:
        """Poll to the end within the deadline (GETs only), then the result or the model's error."""
        deadline = time.monotonic() + self.poll_deadline
        while True:
            wait = self.poll_interval
            try:
                with self.queue.client() as c:
                    if self.queue.status(c, job) is None:
                        return self._result(c, job)
            except ProviderError as exc:
                asked = poll_wait(exc, self.poll_interval, self.poll_deadline)
                if asked is None:
                    raise
                wait = asked
                log.info("fal: request %s: %s while polling; asking again in %.3g s", job.request_id, exc, wait)
            if time.monotonic() > deadline:
                raise ProviderTimeout(f"request {job.request_id} gave no panel within {self.poll_deadline:.0f} s",
                                      provider=NAME)
            time.sleep(min(wait, max(0.0, deadline - time.monotonic())))

    def _result(self, c: httpx.Client, job: Job) -> dict[str, Any]:
        try:
            return self.queue.result(c, job)
        except RefusedByModeration:
            raise
        except BadRequest as exc:
            if exc.status in (404, 410):
                raise BadOutput(f"request {job.request_id}'s result is gone (HTTP {exc.status})",
                                provider=NAME) from None
            raise JobFailed(f"the panel failed: {exc.args[0]}", provider=NAME, status=exc.status) from None


def conform(png: bytes, width: int, height: int) -> bytes:
    """The panel at the size the shot asked (Kontext answers at its own size for the ratio)."""
    with Image.open(io.BytesIO(png)) as img:
        if img.size == (width, height):
            return png
        fitted = ImageOps.fit(img.convert("RGB"), (width, height), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    fitted.save(buf, format="PNG")
    return buf.getvalue()


# -- lip-sync (issue 38) -------------------------------------------------------------------------
#: What each lip-sync model is always sent besides the clip and the speech: the documented default,
#: said, so a change of fal's default never changes what is made or paid. sync's `model` picks
#: lipsync-2 (lipsync-2-pro costs about 1.67 times as much [D]); `sync_mode` "cut_off" ends the
#: answer at the shorter of clip and speech, never past the clip [D sync.so/docs/developer-guides/
#: sync-mode]. LatentSync's `loop_mode` applies only when the speech is longer than the clip, which
#: slate's never is: it is not sent.
LIPSYNC_MODELS: dict[str, dict[str, object]] = {
    "fal-ai/sync-lipsync/v2": {"model": "lipsync-2", "sync_mode": "cut_off"},
    "fal-ai/latentsync": {"guidance_scale": 1.0},
}
#: The lip-sync models that take a seed (LatentSync's `seed`, "None: random" [D]); sync's takes none.
LIPSYNC_SEEDED = ("fal-ai/latentsync",)
#: The most a clip or a speech file may weigh to go inline as a data: URL. fal documents file URLs
#: and says "some models also accept data URIs" [D fal.ai/docs/…/fal-cdn], with no size limit [?];
#: its CDN upload is another origin (the key would go there), so it is not used. A file past this
#: is refused before anything is sent ($0).
INLINE_BYTES = 10 * 1024 * 1024


def media_url(data: bytes, mime: str, what: str, provider: str = NAME, limit: int | None = None) -> str:
    """A clip or a speech file as a data: URL, or BadRequest (nothing sent) past `limit` (fal's
    INLINE_BYTES when not given)."""
    limit = INLINE_BYTES if limit is None else limit
    if len(data) > limit:
        raise BadRequest(f"the {what} is {len(data) / 1e6:.1f} MB; slate sends at most {limit / 1e6:.0f} MB "
                         f"inline, and uploads are not implemented", provider=provider)
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def lipsync_input(model: str, request: LipSyncRequest, clip: bytes, speech: bytes) -> dict[str, object]:
    """The body of a lip-sync submit: the model's input itself. Faces are not sent: neither model
    takes a face to follow (each finds the speaker itself)."""
    body: dict[str, object] = {"video_url": media_url(clip, "video/mp4", "clip"),
                               "audio_url": media_url(speech, "audio/wav", "speech"),
                               **LIPSYNC_MODELS[model]}
    if model in LIPSYNC_SEEDED and request.seed is not None:
        body["seed"] = int(request.seed)
    return body


def video_only_args(src: Path, dest: Path) -> list[str]:
    """ffmpeg's arguments for `src`'s first video stream alone at `dest`, copied (not re-encoded):
    the lip-synced picture without the speech a model muxes in (the cut mixes the lines itself).
    Built as media/commands.py builds its own: inputs confined to files."""
    return ["-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-protocol_whitelist", "file",
            "-i", str(src), "-map", "0:v:0", "-c:v", "copy", "-an", "-movflags", "+faststart", str(dest)]


def video_only(src: Path, dest: Path, request: LipSyncRequest | None, provider: str) -> Path:
    """`src` (a checked download) as a video-only MP4 at `dest`, held to the clip that was sent: its
    size, and its frame count within a frame (a model's own rounding at the end). A request not
    known here (a job collected after a crash) is held only to being a video. A mismatch is a
    billed, unusable output (BadOutput)."""
    tmp = scratch_beside(dest, ".mp4")
    try:
        try:
            run_ffmpeg(video_only_args(src, tmp))
            got = probe(tmp)
        except MediaError as exc:
            raise BadOutput(f"the lip-synced clip's picture could not be copied out ({exc.cause[:200]})",
                            provider=provider) from None
        if request is not None:
            frames = frame_count(request.seconds, request.fps)   # at the exact rate: 23.976 is 24000/1001
            if (got.width, got.height) != (request.width, request.height) or abs(got.frames - frames) > 1:
                raise BadOutput(f"the lip-synced clip is {got.width}x{got.height}, {got.frames} frames; the clip "
                                f"sent was {request.width}x{request.height}, {frames} frames", provider=provider)
        tmp.replace(dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


class FalLipSync(QueuedJobs):
    """A lip-sync model on fal's queue (issue 38): the clip and the shot's speech in, the clip with
    the speaker's mouth moving out — submitted, polled, downloaded and cancelled as a clip is."""

    name = NAME
    poll_interval = 5.0

    def __init__(self, model: str, *, storage: Storage, base_url: str):
        if model not in LIPSYNC_MODELS:
            raise ValueError(f"fal offers no lip-sync model {model!r} (known: {', '.join(LIPSYNC_MODELS)})")
        self.model = model
        self.expected_seconds = JOB_SECONDS[model]
        self.variant: dict[str, Any] = {}
        self.storage = storage
        self.queue = Queue(base_url)
        self._asked: dict[str, LipSyncRequest] = {}   # job id → what was sent: the download's measure

    def submit(self, request: LipSyncRequest, *, client_ref: str) -> str:
        # client_ref has nowhere to go, as for a clip (find_job below).
        body = lipsync_input(self.model, request, self.storage.get_bytes(request.clip_uri),
                             self.storage.get_bytes(request.speech_uri))
        job_id = self.queue.submit(self.model, body, seconds=request.seconds).encode()
        self._asked[job_id] = request
        return job_id

    def download(self, job_id: str, dest: Path) -> Path:
        """The answer's picture alone at `dest` (output `video.url` [D]; its sound is dropped)."""
        job = self.queue.job(self.model, job_id)
        result = kept_result(self.queue, job)
        request = self._asked.get(job_id)
        limit, bounds = clip_limit(job.seconds, *((request.width, request.height) if request else (None, None)))
        fetched = scratch_beside(dest, ".fetched.mp4")
        try:
            fetch_output(output_url(result, "video", "url"), fetched, max_bytes=limit, what="lip-synced clip",
                         bounds=bounds)
            checked_video(NAME, fetched, seconds=job.seconds)
            return video_only(fetched, dest, request, NAME)
        finally:
            fetched.unlink(missing_ok=True)



# -- what the registry calls ----------------------------------------------------------------------
def video(model: str, *, storage: Storage, base_url: str | None,
          settings: BaseModel | None = None) -> VideoGenerator:
    return FalVideo(model, storage=storage, base_url=reached_at(NAME, base_url))


def image(model: str, *, storage: Storage, base_url: str | None, settings: BaseModel | None = None) -> PanelJobs:
    return FalImage(model, storage=storage, base_url=reached_at(NAME, base_url))


def lipsync(model: str, *, storage: Storage, base_url: str | None, settings: BaseModel | None = None) -> LipSyncer:
    return FalLipSync(model, storage=storage, base_url=reached_at(NAME, base_url))


def doctor(*, base_url: str | None) -> list[DoctorFinding]:
    """`slate doctor`'s lines for fal. Nothing here costs money, so nothing here calls fal: the
    queue documents no free endpoint that checks a key or tells the balance."""
    try:
        key = provider_key(NAME)
    except MissingKey as exc:
        return [DoctorFinding(NAME, "key", False, str(exc))]
    return [
        DoctorFinding(NAME, "key", True, f"key {key.id} from {key.source}, for the queue at "
                                         f"{http.where(reached_at(NAME, base_url))}"),
        DoctorFinding(NAME, "key valid", False, "not checked: fal documents no free endpoint that checks a key; the first "
                                          "paid call does (a 401 halts the run at $0)", blocking=False),
        DoctorFinding(NAME, "credit", False, "not reported: fal's queue API tells no balance; an exhausted balance "
                                       "(403 'User is locked') halts the run at $0", blocking=False),
    ]


PROVIDER = ProviderSpec(
    name=NAME,
    offers={"image": Offer(IMAGE_MODELS),
            "video": Offer(tuple(VIDEO_MODELS), {"draft": "fal-ai/bytedance/seedance/v1/lite/image-to-video",
                                                 "final": "fal-ai/bytedance/seedance/v1/pro/image-to-video",
                                                 "hero": "fal-ai/bytedance/seedance/v1/pro/image-to-video"}),
            "lipsync": Offer(tuple(LIPSYNC_MODELS), {"draft": "fal-ai/latentsync", "final": "fal-ai/sync-lipsync/v2",
                                                    "hero": "fal-ai/sync-lipsync/v2"})},
    base_url="https://queue.fal.run",
    key_vars=("FAL_KEY",),
    image=image, video=video, lipsync=lipsync, doctor=doctor,
    translate_error=partial(http.error_for, NAME),
    lost_job_hint="its request id in fal's dashboard (Requests), made at that time with that model",
    references=VIDEO_REFERENCES,
    audio=VIDEO_AUDIO,
    job_seconds=JOB_SECONDS,
)
