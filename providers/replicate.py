"""Replicate: storyboard panels, image-to-video clips and lip-sync through its predictions API.

Every model here is an official model, run as (../shared/PROVIDERS.md §1):

    POST {base}/models/{owner}/{name}/predictions  {"input": {...}}   → 201, the prediction
    GET  {base}/predictions/{id}                                        → its status and output
    GET  {base}/predictions[?cursor=…]                                  → the predictions made, newest first
    POST {base}/predictions/{id}/cancel

with `Authorization: Bearer <key>`. A prediction goes starting → processing → succeeded,
failed, canceled or aborted (never started: not billed). Moderation is not an HTTP error: the
prediction ends `failed` with "(E005)" in its `error`. Outputs are URLs on replicate.delivery,
deleted about an hour after they are made.

A clip and a panel are both jobs the governor follows (`submit`/`submit_panel`, `poll`,
`download`/`download_panel`, `cancel`: a job past its deadline is cancelled, and one that had
started is billed for the time it ran [D]): the prediction's id is in the ledger before its first poll, so a run
that dies, or a poll refused by a 429, never loses it, and `slate reconcile --job` attaches a
prediction to either stage. (`generate_panel` does the same in one call, for callers outside the
governor.) The API keeps nothing of ours on a prediction, but it lists the predictions made
(GET /predictions, newest first, each with its `input`: Replicate's OpenAPI "List predictions",
not in PROVIDERS.md): a create whose answer was lost is found there by what was asked (`find_job`)
— the model, every input that is not an image (prompt, seed, duration…), made after our intent.
How the list echoes an input image sent as a data URL is unknown [?], so images are not compared;
two predictions that both match are not guessed between (the call stays unknown). Inputs are
deleted after about an hour [D]: past that, a lost create cannot be found.

Tags in comments are PROVIDERS.md's: [V] checked, [D] docs, [S] secondary, [?] unconfirmed.
The two panel models are not in PROVIDERS.md: their inputs were read off Replicate's published
input schemas and are all [?].

Lip-sync (issue 38): sync/lipsync-2 (sync.so's lipsync-2), one prediction like a clip's
(`ReplicateLipSync`). Its version page's input schema [D replicate.com/sync/lipsync-2/versions/…/api]:
video (an .mp4), audio (a .wav), sync_mode (default "loop"; the values are sync.so's — loop,
bounce, cut_off, silence, remap — [?] on Replicate), temperature (0–1, default 0.5); output one
URL string. Sent inline as data URLs (Replicate recommends them only under 1 MB [D]; its file
uploads are not implemented: a file past LIPSYNC_INLINE_BYTES is refused before sending), with
sync_mode "cut_off" and temperature 0.5 said. Whether it runs at /models/sync/lipsync-2 (an
official model) is [?], and so are its price (the rate card's row is a placeholder) and how long it
takes. Its answer carries the speech as sound: the picture alone is kept (fal.video_only). A lost
create is found in the list by its settings only (the media are data URLs): two alike are not
guessed between.

It must never send `Prefer: wait`, send a creating POST twice (the governor decides what is
asked again, from the error tree), keep the key beyond one call, or send it anywhere but the
API: never to the CDN, never in a URL, a message or a file.
"""
from __future__ import annotations

import base64
import io
import logging
import math
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import httpx
from PIL import Image

from slate.media import scratch_beside
from slate.providers import clip_references, download, http
from slate.providers.base import (ClipRequest, at_resolution, DoctorFinding, JobStatus, LipSyncer, LipSyncRequest,
                                  PanelJobs, PanelRequest, Storage, VideoGenerator)
from slate.providers.errors import (BadOutput, BadRequest, JobFailed, ProviderError, ProviderTimeout,
                                    RefusedByModeration, TransientServerError, poll_wait)
from slate.providers.keys import MissingKey, provider_key, redact
# A lip-synced answer's picture is taken out as fal's is, and its inputs go inline the same way:
# one copy of each step for both vendors.
from slate.providers.fal import media_url, video_only
from slate.providers.spec import Offer, ProviderSpec, TakesReferences, job_deadline, reached_at

if TYPE_CHECKING:
    from pydantic import BaseModel

NAME = "replicate"
CDN_HOSTS = ("replicate.delivery",)   # where outputs live [D]; loopback only for fakes (download.py)
TERMINAL = ("succeeded", "failed", "canceled", "aborted")
MODERATION_CODE = "(E005)"            # "flagged as sensitive … (E005)" [S]
START_TIMEOUT_CODE = "(E6716)"        # timed out before it started [D]: never ran, as an aborted one (not billed)
DATA_URL_BYTES = 1_000_000            # Replicate recommends data URLs only under 1 MB [D, not in PROVIDERS.md]
JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,200}")  # an id goes into a URL path: nothing else is let through
RESOLUTIONS = ("480p", "720p", "1080p")
#: How far back the list is read for a lost create: inputs are kept about an hour [D], and the
#: list is newest first, so a few pages cover what one film run makes in that time.
LOOKUP_PAGES = 5
#: A prediction made this long before our intent was written is not ours (clocks differ a little).
CLOCK_SLACK = timedelta(seconds=120)

log = logging.getLogger("slate.providers.replicate")


#: A prediction as the API answers it (JSON, read where it is used); `input` echoes what was sent.
Prediction = dict[str, Any]
#: What a prediction is sent: the model's own input fields.
Inputs = dict[str, object]


# -- the three calls of the API ---------------------------------------------------------------
class Predictions:
    """One short-lived client per call: the key is read when the call is made and dropped after."""

    def __init__(self, base_url: str):
        self.http = http.client(NAME, base_url, {"Authorization": f"Bearer {provider_key(NAME).reveal()}"})

    def __enter__(self) -> "Predictions":
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def create(self, model: str, inputs: Inputs) -> Prediction:
        owner, _, name = model.partition("/")
        # No `Prefer: wait`: a blocking create that times out reads as "did it run?" — we poll.
        response = http.send(NAME, self.http, "POST", f"/models/{quote(owner)}/{quote(name)}/predictions",
                             json={"input": inputs})
        prediction = _json(response)
        if not JOB_ID.fullmatch(str(prediction.get("id", ""))):
            # Accepted, but we cannot tell which prediction it made: whether it runs is unknown.
            raise TransientServerError("the prediction was accepted without a usable id", provider=NAME,
                                       status=response.status_code)
        return prediction

    def get(self, prediction_id: str) -> Prediction:
        return _json(http.send(NAME, self.http, "GET", f"/predictions/{_safe_id(prediction_id)}"))

    def recent(self, pages: int = LOOKUP_PAGES) -> Iterator[Prediction]:
        """The predictions made with this key, newest first (a page of up to 100 at a time)."""
        url = "/predictions"
        for _ in range(pages):
            page = _json(http.send(NAME, self.http, "GET", url))
            yield from (p for p in page.get("results") or [] if isinstance(p, dict))
            following = page.get("next")
            if not isinstance(following, str) or not following:
                return
            # The next page of the same API: its path and cursor, never another host.
            parts = urlsplit(following)
            base = urlsplit(str(self.http.base_url))
            if parts.netloc and parts.netloc != base.netloc:
                return
            url = parts.path.removeprefix(base.path.rstrip("/")) + (f"?{parts.query}" if parts.query else "")

    def cancel(self, prediction_id: str) -> Prediction:
        return _json(http.send(NAME, self.http, "POST", f"/predictions/{_safe_id(prediction_id)}/cancel"))


def _json(response: httpx.Response) -> Prediction:
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise TransientServerError("the answer was not a prediction (no JSON object)", provider=NAME,
                                   status=response.status_code)
    return data


def _safe_id(prediction_id: str) -> str:
    if not JOB_ID.fullmatch(prediction_id or ""):
        raise BadRequest(f"not a Replicate prediction id: {prediction_id[:40]!r}", provider=NAME)
    return prediction_id


def words(prediction: Prediction) -> str:
    """The provider's own public words about a prediction's end (never a key)."""
    return redact(str(prediction.get("error") or "")[:600])


def job_status(prediction: Prediction) -> JobStatus:
    """A prediction as the governor reads a job. Replicate reports no cost and no units, so the
    rate card prices what was asked."""
    state = prediction.get("status")
    if state == "starting":
        return JobStatus("queued")
    if state == "processing":
        return JobStatus("running")
    if state == "succeeded":
        return JobStatus("succeeded", progress=1.0)
    if state == "failed":
        said = words(prediction) or "the prediction failed"
        # One that never started is not billed, like an aborted one [D]; any other failed run is
        # billed as the rate card's [failed_runs] says (the governor decides: no figure here).
        return JobStatus("failed", error=said, refused=MODERATION_CODE in said,
                         cost="0" if START_TIMEOUT_CODE in said else None)
    if state == "canceled":
        return JobStatus("canceled", error="the prediction was canceled")
    if state == "aborted":
        # Ended before it started: not billed [D]. Said as a cost of 0 so the row is $0.
        return JobStatus("canceled", error="the prediction was aborted before it started (not billed)", cost="0")
    # An unknown word: not an end we know, so the job is still going as far as we can tell.
    return JobStatus("running")


def output_url(prediction: Prediction) -> str | None:
    """The output's URL: one string, or the first of a list (image models answer with lists)."""
    out = prediction.get("output")
    if isinstance(out, list):
        out = out[0] if out else None
    return out if isinstance(out, str) and out else None


_ISO = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?")


def _created(prediction: Prediction) -> datetime | None:
    """A prediction's `created_at` (nanosecond fractions and a Z, as Replicate writes it [V])."""
    m = _ISO.match(str(prediction.get("created_at") or ""))
    if m is None:
        return None
    zone = m.group(3) or "Z"
    return datetime.fromisoformat(f"{m.group(1)}.{(m.group(2) or '0')[:6].ljust(6, '0')}"
                                  f"{'+00:00' if zone == 'Z' else zone}")


def _is_image(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("data:")


def same_input(sent: Inputs, listed: object) -> bool:
    """Whether a listed prediction's input is what we sent: every input that is not an image
    equal (images are not compared: how the list echoes a data URL is unknown [?]), and the
    same image inputs present."""
    if not isinstance(listed, dict):
        return False
    for key, value in sent.items():
        if key not in listed:
            return False
        if _is_image(value) or (isinstance(value, list) and value and all(map(_is_image, value))):
            continue
        if listed[key] != value:
            return False
    return True


def find_prediction(api: Predictions, model: str, inputs: Inputs, since: datetime | None) -> str | None:
    """The one prediction of `model` made with `inputs` after `since` (our intent), or None —
    none, or more than one (never a guess between two)."""
    found = []
    for prediction in api.recent():
        made = _created(prediction)
        if since is not None and made is not None and made < since - CLOCK_SLACK:
            break   # newest first: everything further is older than our intent
        if prediction.get("model") not in (model, None) or not same_input(inputs, prediction.get("input")):
            continue
        pid = str(prediction.get("id") or "")
        if JOB_ID.fullmatch(pid):
            found.append(pid)
    return found[0] if len(found) == 1 else None


# -- images as the API takes them --------------------------------------------------------------
def _mime(data: bytes) -> str:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    raise BadRequest("a reference image is not PNG, JPEG or WebP", provider=NAME)


def data_url(data: bytes) -> str:
    """An image as a data URL ("images are URIs or data URLs" [S]). Past the 1 MB Replicate
    recommends for data URLs [D], it is sent as a JPEG (grain makes our PNGs large)."""
    mime = _mime(data)
    if len(data) > DATA_URL_BYTES:
        with Image.open(io.BytesIO(data)) as img:
            flat = Image.new("RGB", img.size, (128, 128, 128))
            rgba = img.convert("RGBA")
            flat.paste(rgba, mask=rgba.getchannel("A"))
        buf = io.BytesIO()
        flat.save(buf, format="JPEG", quality=92)
        data, mime = buf.getvalue(), "image/jpeg"
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def sheet_layout(main: tuple[int, int], others: list[tuple[int, int]], width: int = 1536) -> tuple[
        tuple[int, int], list[tuple[int, int, int, int]]]:
    """Where each image of a reference sheet goes: the main image across the top at `width`,
    the others side by side in one row below it, each fitted into an equal cell.
    Returns the sheet's size and one box (left, top, right, bottom) per image, main first."""
    top_h = round(width * main[1] / main[0])
    boxes = [(0, 0, width, top_h)]
    if not others:
        return (width, top_h), boxes
    cell_w, row_h = width // len(others), top_h // 2
    for i, (w, h) in enumerate(others):
        scale = min(cell_w / w, row_h / h)
        bw, bh = max(1, int(w * scale)), max(1, int(h * scale))
        left = i * cell_w + (cell_w - bw) // 2
        boxes.append((left, top_h + (row_h - bh) // 2, left + bw, top_h + (row_h - bh) // 2 + bh))
    return (width, top_h + row_h), boxes


def reference_sheet(images: list[bytes]) -> bytes:
    """One PNG holding every reference, for a model that takes a single input image."""
    opened = [Image.open(io.BytesIO(b)).convert("RGBA") for b in images]
    size, boxes = sheet_layout(opened[0].size, [im.size for im in opened[1:]])
    sheet = Image.new("RGB", size, (128, 128, 128))
    for im, (left, top, right, bottom) in zip(opened, boxes):
        fitted = im.resize((right - left, bottom - top), Image.Resampling.LANCZOS)
        sheet.paste(fitted, (left, top), mask=fitted.getchannel("A"))
    buf = io.BytesIO()
    sheet.save(buf, format="PNG")
    return buf.getvalue()


def nearest_ratio(width: int, height: int, ratios: tuple[str, ...]) -> str:
    def gap(r: str) -> float:
        a, b = (int(x) for x in r.split(":"))
        return abs(math.log((a / b) / (width / height)))
    return min(ratios, key=gap)


def fit(png: bytes, width: int, height: int) -> bytes:
    """The panel at exactly the asked size: scaled to cover it, centred, cropped. The models
    take an aspect ratio and a size class, not pixels, and every later stage works at the
    shot's size."""
    with Image.open(io.BytesIO(png)) as img:
        if img.size == (width, height):
            return png
        scale = max(width / img.width, height / img.height)
        w, h = math.ceil(img.width * scale), math.ceil(img.height * scale)
        left, top = (w - width) // 2, (h - height) // 2
        out = img.convert("RGB").resize((w, h), Image.Resampling.LANCZOS).crop((left, top, left + width, top + height))
    buf = io.BytesIO()
    out.save(buf, format="PNG")
    return buf.getvalue()


# -- panels -------------------------------------------------------------------------------------
SEEDREAM_RATIOS = ("1:1", "4:3", "3:4", "16:9", "9:16", "3:2", "2:3", "21:9")                     # [?]
KONTEXT_RATIOS = ("1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3", "4:5", "5:4", "21:9", "9:21")  # [?]
SEEDREAM_MAX_IMAGES = 10                                                                           # [?]
PANEL_MODELS = ("bytedance/seedream-4", "black-forest-labs/flux-kontext-pro")

#: How long one prediction of each model is expected to take, queue included, in seconds (the
#: spec's `job_seconds`; a film corrects one in slate.toml's `[job_seconds]`). Replicate documents
#: no figure [?]: PROVIDERS.md's Seedance example ran 41 s (`predict_time`) of 44 s in all, a
#: 5 s clip; these allow for 1080p, longer clips and a queue. A job is waited for three times
#: its figure (spec.STUCK_AFTER), then cancelled.
JOB_SECONDS = {
    "bytedance/seedance-1-pro": 150.0, "bytedance/seedance-1-lite": 90.0, "bytedance/seedance-1-pro-fast": 90.0,
    "bytedance/seedance-2.0": 180.0, "kwaivgi/kling-v2.5-turbo-pro": 180.0, "google/veo-3.1-fast": 180.0,
    "bytedance/seedream-4": 60.0, "black-forest-labs/flux-kontext-pro": 60.0,
    "sync/lipsync-2": 240.0,   # lip-sync (issue 38): no figure documented [?]; as on fal
}


def _panel_prompt(request: PanelRequest) -> str:
    """The locked prompt, then which reference is which: a multi-image model is told the order."""
    names = (["a composite to polish: keep its composition"] if request.override_uri else []) + [
        "the location plate"] + [f"{c.id}'s turnaround sheet" for c in request.characters]
    order = "; ".join(f"{i}) {n}" for i, n in enumerate(names, 1))
    return f"{request.prompt}\n\nReference images, in order: {order}."


def panel_inputs(model: str, request: PanelRequest, references: list[bytes]) -> Inputs:
    """What each panel model is sent. All field names and values [?] (see module docstring)."""
    prompt = _panel_prompt(request)
    if model == "bytedance/seedream-4":
        if len(references) > SEEDREAM_MAX_IMAGES:
            raise BadRequest(f"{len(references)} reference images: seedream-4 takes at most {SEEDREAM_MAX_IMAGES}",
                             provider=NAME)
        long_side = max(request.width, request.height)
        return {"prompt": prompt,
                "image_input": [data_url(r) for r in references],
                "size": "1K" if long_side <= 1024 else "2K" if long_side <= 2048 else "4K",
                "aspect_ratio": nearest_ratio(request.width, request.height, SEEDREAM_RATIOS),
                "sequential_image_generation": "disabled", "max_images": 1}  # one picture, one charge
    if model == "black-forest-labs/flux-kontext-pro":
        # One input image only [?]: the references travel as one sheet, the main one on top.
        return {"prompt": prompt, "input_image": data_url(reference_sheet(references)),
                "aspect_ratio": nearest_ratio(request.width, request.height, KONTEXT_RATIOS),
                "output_format": "png", "seed": int(request.seed)}
    raise ValueError(f"replicate offers no panel model {model!r}")


class ReplicateImage:
    """Panels: a prediction the governor follows like a clip (`submit_panel`, `poll`,
    `download_panel`), or all at once in `generate_panel`."""

    name = NAME
    variant: dict[str, Any] = {}
    poll_interval = 2.0      # seconds between polls while a panel is drawn

    def __init__(self, model: str, *, storage: Storage, base_url: str):
        if model not in PANEL_MODELS:
            raise ValueError(f"replicate offers no panel model {model!r} (known: {', '.join(PANEL_MODELS)})")
        self.model, self.storage, self.base_url = model, storage, base_url
        self.variant = {}
        self.expected_seconds = JOB_SECONDS[model]
        # `generate_panel`'s own wait (outside the governor, which takes its deadline from the run).
        self.poll_deadline = job_deadline(self.expected_seconds)
        self._sent: dict[str, Inputs] = {}   # our call id → the inputs sent (a lost answer is looked up by them)

    def references(self, request: PanelRequest) -> list[bytes]:
        uris = ([request.override_uri] if request.override_uri else []) + [request.plate_uri] + [
            c.turnaround_uri for c in request.characters]
        return [self.storage.get_bytes(u) for u in uris]

    def submit_panel(self, request: PanelRequest, *, client_ref: str) -> str:
        inputs = panel_inputs(self.model, request, self.references(request))
        self._sent[client_ref] = inputs
        with Predictions(self.base_url) as api:
            job_id: str = api.create(self.model, inputs)["id"]
        return job_id

    def poll(self, job_id: str) -> JobStatus:
        with Predictions(self.base_url) as api:
            return job_status(api.get(job_id))

    def download_panel(self, job_id: str, dest: Path, width: int, height: int) -> Path:
        """The finished prediction's picture, checked and fitted to the panel's size, at `dest`."""
        with Predictions(self.base_url) as api:
            prediction = api.get(job_id)
        dest.write_bytes(fit(self._fetch(prediction), width, height))
        return dest

    def cancel(self, job_id: str) -> None:
        cancel(self.base_url, job_id)

    def find_job(self, client_ref: str, since: datetime | None = None, *,
                 request: PanelRequest | None = None) -> str | None:
        """The prediction a lost create made, found in the list by what was asked."""
        inputs = panel_inputs(self.model, request, self.references(request)) if request is not None \
            else self._sent.get(client_ref)
        if inputs is None:
            raise NotImplementedError("a lost Replicate create is found by what was asked, and the request is "
                                      "not known here")
        with Predictions(self.base_url) as api:
            return find_prediction(api, self.model, inputs, since)

    def generate_panel(self, request: PanelRequest, *, client_ref: str | None = None) -> bytes:
        """Submit, poll to the end and fetch in one call (outside the governor: benchmarks)."""
        inputs = panel_inputs(self.model, request, self.references(request))
        with Predictions(self.base_url) as api:
            prediction = api.create(self.model, inputs)
            prediction = self._await(api, prediction)
        status = prediction.get("status")
        if status == "failed":
            said = words(prediction) or "the prediction failed"
            raise (RefusedByModeration if MODERATION_CODE in said else JobFailed)(said, provider=NAME)
        if status != "succeeded":
            raise JobFailed(job_status(prediction).error or f"the prediction ended {status}", provider=NAME)
        return fit(self._fetch(prediction), request.width, request.height)

    def _await(self, api: Predictions, prediction: Prediction) -> Prediction:
        """Poll a created prediction to its end. From here on it exists and may be billed, so
        nothing may read as "never ran": a lost track is an unknown outcome."""
        pid = prediction["id"]
        deadline = time.monotonic() + self.poll_deadline
        while prediction.get("status") not in TERMINAL:
            if time.monotonic() > deadline:
                _cancel_quietly(api, pid)  # nobody will wait for it: stop what it may still cost
                raise ProviderTimeout(f"prediction {pid} had no result within {self.poll_deadline:g} s; "
                                      f"asked to cancel it", provider=NAME)
            wait = self.poll_interval
            try:
                prediction = api.get(pid)
            except ProviderError as exc:
                asked = poll_wait(exc, self.poll_interval, self.poll_deadline)
                if asked is None:
                    raise ProviderError(f"prediction {pid} was created, then polling it failed: {exc}",
                                        provider=NAME) from None
                wait = asked
                log.info("replicate: prediction %s: %s while polling; asking again in %.3g s", pid, exc, wait)
            time.sleep(min(wait, max(0.0, deadline - time.monotonic())))
        return prediction

    def _fetch(self, prediction: Prediction) -> bytes:
        url = output_url(prediction)
        if url is None:
            raise BadOutput(f"prediction {prediction.get('id')} succeeded without an output", provider=NAME)
        with tempfile.TemporaryDirectory(prefix="replicate-panel-") as tmp:
            path = Path(tmp) / "panel"
            _fetch_output(prediction, url, path, download.MAX_IMAGE_BYTES)
            return download.checked_image(NAME, path.read_bytes())


def cancel(base_url: str, prediction_id: str) -> None:
    """POST /predictions/{id}/cancel (PROVIDERS.md §1): answered 200 with the prediction, which
    says `canceled` — or an end it reached first. A refusal (an id it does not know, a 5xx) is the
    error tree's, for the governor to record."""
    with Predictions(base_url) as api:
        answer = api.cancel(prediction_id)
    log.info("replicate: asked to cancel prediction %s; it is %s", prediction_id, answer.get("status") or "?")


def _cancel_quietly(api: Predictions, prediction_id: str) -> None:
    try:
        api.cancel(prediction_id)
    except ProviderError as exc:
        log.warning("replicate: could not cancel prediction %s: %s", prediction_id, exc)


def _fetch_output(prediction: Prediction, url: str, dest: Path, max_bytes: int, what: str = "") -> Path:
    """Download an output from the CDN, without the key. A refusal from the CDN (404 and the
    like) means the output is gone: the prediction ran and was billed, so it is BadOutput."""
    try:
        return download.fetch(NAME, url, dest, allowed_hosts=CDN_HOSTS, max_bytes=max_bytes, what=what)
    except ProviderError as exc:
        if exc.outcome != "not_run":
            raise
        raise BadOutput(f"the output of prediction {prediction.get('id')} is gone from the CDN (Replicate deletes "
                        f"outputs about an hour after they are made): {exc}", provider=NAME) from None


# -- clips --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClipModel:
    """How one video model takes a clip request (PROVIDERS.md §1)."""

    start: str                        # the start frame's input
    end: str | None                   # the last frame's input, None when the model has none
    durations: tuple[int, ...]        # the whole seconds it takes
    resolutions: tuple[str, ...] | None  # what `resolution` may be; None: no such input
    seedance_1: bool = False          # takes fps (24) and camera_fixed
    seed: bool = True


SEEDANCE_SECONDS = tuple(range(2, 13))    # int 2–12 [S]
CLIP_MODELS = {
    "bytedance/seedance-1-pro": ClipModel("image", "last_frame_image", SEEDANCE_SECONDS, RESOLUTIONS, True),
    "bytedance/seedance-1-lite": ClipModel("image", "last_frame_image", SEEDANCE_SECONDS, RESOLUTIONS, True),
    "bytedance/seedance-1-pro-fast": ClipModel("image", None, SEEDANCE_SECONDS, RESOLUTIONS, True),
    # −1..15 [D]; which resolutions besides the default 720p is [?] (the rate card prices only 720p).
    "bytedance/seedance-2.0": ClipModel("image", "last_frame_image", tuple(range(1, 16)), RESOLUTIONS),
    "kwaivgi/kling-v2.5-turbo-pro": ClipModel("start_image", None, (5, 10), None, seed=False),  # [S]
    "google/veo-3.1-fast": ClipModel("image", "last_frame", (4, 6, 8), ("720p", "1080p"), seed=False),  # [S]
}


#: The video models that take reference images (PROVIDERS.md §1), as the spec declares them.
CLIP_REFERENCES = {
    "bytedance/seedance-1-lite": TakesReferences("reference_images", 4, with_frame=False, naming="order",
                                                 resolutions=("480p", "720p")),   # 1–4, not with 1080p [S]
    "bytedance/seedance-2.0": TakesReferences("reference_images", 9, with_frame=False, naming="tags"),  # [D]
}


#: How its video models make sound (PROVIDERS.md §1): Seedance 2.0 and Veo 3.1 fast take
#: `generate_audio`; Seedance 1.x and Kling list no such input, so they make none.
CLIP_AUDIO = {"bytedance/seedance-2.0": "field", "google/veo-3.1-fast": "field"}


def clip_duration(spec: ClipModel, seconds: float) -> int:
    """The shortest duration the model takes that is at least what was asked (rounded up)."""
    wanted = math.ceil(round(seconds, 6))
    for d in spec.durations:
        if d >= wanted:
            return d
    raise BadRequest(f"a {seconds:g} s clip is longer than the model makes "
                     f"(at most {spec.durations[-1]} s)", provider=NAME)


def clip_resolution(resolutions: tuple[str, ...], asked: str) -> str:
    """The asked resolution, or the next one up of the model's `resolutions` (Veo has no 480p)."""
    if asked not in RESOLUTIONS:
        raise BadRequest(f"unknown resolution {asked!r}", provider=NAME)
    for r in RESOLUTIONS[RESOLUTIONS.index(asked):]:
        if r in resolutions:
            return r
    raise BadRequest(f"the model makes no {asked} or higher", provider=NAME)


def clip_inputs(model: str, request: ClipRequest, start: bytes | None, end: bytes | None,
                read: Callable[[str], bytes] | None = None) -> Inputs:
    """The prediction's input. `read(uri) -> bytes` fetches a reference shot's images."""
    spec = CLIP_MODELS[model]
    if end is not None and spec.end is None:
        raise BadRequest(f"{model} takes no last frame: a start+end shot needs another model", provider=NAME)
    refs = clip_references.for_model(NAME, model, request, CLIP_REFERENCES.get(model))
    prompt = clip_references.named_prompt(request.prompt, refs, CLIP_REFERENCES[model].naming) if refs \
        else request.prompt
    inputs: Inputs = {"prompt": prompt}
    if start is not None:
        inputs[spec.start] = data_url(start)
    if refs:
        if read is None:
            raise TypeError("a reference shot's images are fetched by `read`, and none was given")
        inputs[CLIP_REFERENCES[model].field] = [data_url(clip_references.picture(r, read)) for r in refs]
    if end is not None and spec.end is not None:   # a model without one refused the end frame above
        inputs[spec.end] = data_url(end)   # only in start+end mode: an end frame changes the clip
    inputs["duration"] = clip_duration(spec, request.seconds)
    if spec.resolutions is not None:
        inputs["resolution"] = clip_resolution(spec.resolutions, request.resolution)
    if spec.seedance_1:
        # The enum is [24] [S]: a whole rate, so a 23.976 film is sent its timebase (24) and the
        # stitch conforms the clip to 24000/1001 (a 0.1% change, within the clip gate's tolerance).
        inputs["fps"] = 24
        inputs["camera_fixed"] = bool(request.camera_fixed)
    if spec.seed:
        inputs["seed"] = int(request.seed)
    if CLIP_AUDIO.get(model) == "field":
        # Always said, true or false: Seedance 2.0 makes sound by default, and it is paid for.
        inputs["generate_audio"] = bool(request.audio)
    return inputs


def _finished(base_url: str, job_id: str) -> tuple[Prediction, str]:
    """A finished prediction and the URL of its output: BadOutput when it has none to fetch (none
    given, or its data already removed), for a clip and a lip-sync alike."""
    with Predictions(base_url) as api:
        prediction = api.get(job_id)
    url = output_url(prediction)
    if url is None or prediction.get("data_removed"):
        raise BadOutput(f"prediction {job_id} has no output to fetch (status {prediction.get('status')}, "
                        f"data removed: {bool(prediction.get('data_removed'))})", provider=NAME)
    return prediction, url


class ReplicateVideo:
    """Image-to-video jobs the governor submits, polls and downloads."""

    name = NAME
    poll_interval = 5.0       # seconds: GETs are limited to 3000/min [D], clips take minutes

    def __init__(self, model: str, *, storage: Storage, base_url: str):
        if model not in CLIP_MODELS:
            raise ValueError(f"replicate offers no video model {model!r} (known: {', '.join(CLIP_MODELS)})")
        self.model, self.storage, self.base_url = model, storage, base_url
        self.variant: dict[str, Any] = {}
        self.expected_seconds = JOB_SECONDS[model]   # its deadline (three times it) is well inside the hour outputs are kept
        self._asked: dict[str, float] = {}   # job id → seconds asked, for the download check
        self._frames: dict[str, tuple[int, int]] = {}   # job id → width, height asked: the download's bound
        self._sent: dict[str, Inputs] = {}   # our call id → the inputs sent (a lost answer is looked up by them)

    @property
    def key_id(self) -> str:
        return provider_key(NAME).id

    def clip_sizes(self, request: ClipRequest) -> tuple[tuple[int, int], ...]:
        """The resolution the model is asked instead of the shot's (the next one up it makes), or,
        for a model that takes no resolution, the sizes it makes on its own (720p, 1080p)."""
        spec = CLIP_MODELS[self.model]
        if spec.resolutions is None:
            return at_resolution(request, ("720p", "1080p"))
        return at_resolution(request, (clip_resolution(spec.resolutions, request.resolution),))

    def submit(self, request: ClipRequest, *, client_ref: str) -> str:
        start = self.storage.get_bytes(request.start_uri) if request.start_uri else None
        end = self.storage.get_bytes(request.end_uri) if request.end_uri else None
        inputs = clip_inputs(self.model, request, start, end, self.storage.get_bytes)
        self._sent[client_ref] = inputs
        with Predictions(self.base_url) as api:
            prediction = api.create(self.model, inputs)
        job_id: str = prediction["id"]
        self._asked[job_id] = request.seconds
        self._frames[job_id] = (request.width, request.height)
        return job_id

    def poll(self, job_id: str) -> JobStatus:
        with Predictions(self.base_url) as api:
            return job_status(api.get(job_id))

    def download(self, job_id: str, dest: Path) -> Path:
        prediction, url = _finished(self.base_url, job_id)
        seconds = self._seconds(job_id, prediction)
        limit, what = download.clip_limit(seconds, *self._frames.get(job_id, (None, None)))
        _fetch_output(prediction, url, dest, limit, what)
        return download.checked_video(NAME, dest, seconds=seconds)

    def _seconds(self, job_id: str, prediction: Prediction) -> float:
        """What the clip must last: the seconds asked, or after a crash (a job this process did
        not submit) the duration the prediction echoes back as its input."""
        if job_id in self._asked:
            return self._asked[job_id]
        try:
            return float((prediction.get("input") or {}).get("duration") or 0)
        except (TypeError, ValueError):
            return 0.0

    def cancel(self, job_id: str) -> None:
        cancel(self.base_url, job_id)

    def find_job(self, client_ref: str, since: datetime | None = None, *,
                 request: ClipRequest | None = None) -> str | None:
        """The prediction a lost create made, found in the list by what was asked (Replicate
        keeps no id of ours on a prediction)."""
        inputs: Inputs | None
        if request is not None:
            start = self.storage.get_bytes(request.start_uri) if request.start_uri else None
            end = self.storage.get_bytes(request.end_uri) if request.end_uri else None
            inputs = clip_inputs(self.model, request, start, end, self.storage.get_bytes)
        else:
            inputs = self._sent.get(client_ref)
        if inputs is None:
            raise NotImplementedError("a lost Replicate create is found by what was asked, and the request is "
                                      "not known here")
        with Predictions(self.base_url) as api:
            found = find_prediction(api, self.model, inputs, since)
        if found is not None and request is not None:
            self._asked[found] = request.seconds
            self._frames[found] = (request.width, request.height)
        return found


# -- lip-sync (issue 38) ---------------------------------------------------------------------------
#: What each lip-sync model is sent besides the clip (`video`, an .mp4) and the speech (`audio`, a
#: .wav), its version page's input schema [D replicate.com/sync/lipsync-2/…/api]: the documented
#: values said, never left to a default — `sync_mode` (its default here is "loop" [D]) "cut_off",
#: which ends at the shorter input, never past the clip [D sync.so/docs/developer-guides/sync-mode;
#: that Replicate's enum holds the same values is [?]], and `temperature` (how expressive, 0–1) its
#: documented 0.5. The output is one URL string [D].
LIPSYNC_MODELS: dict[str, Inputs] = {"sync/lipsync-2": {"sync_mode": "cut_off", "temperature": 0.5}}
#: The most a clip or speech file may weigh inline. Replicate recommends data URLs only under 1 MB
#: [D replicate.com/docs/topics/predictions/input-files]; its file uploads (up to 100 MB) are not
#: implemented here [?], so a file past this is refused before anything is sent ($0).
LIPSYNC_INLINE_BYTES = 10 * 1024 * 1024


def lipsync_inputs(model: str, clip: bytes, speech: bytes) -> Inputs:
    """The prediction's input for a lip-sync: no faces (the model finds the speaker itself), no seed
    (it takes none)."""
    return {"video": media_url(clip, "video/mp4", "clip", NAME, limit=LIPSYNC_INLINE_BYTES),
            "audio": media_url(speech, "audio/wav", "speech", NAME, limit=LIPSYNC_INLINE_BYTES),
            **LIPSYNC_MODELS[model]}


class ReplicateLipSync:
    """A lip-sync prediction the governor submits, polls, downloads and cancels as it does a clip."""

    name = NAME
    poll_interval = 5.0

    def __init__(self, model: str, *, storage: Storage, base_url: str):
        if model not in LIPSYNC_MODELS:
            raise ValueError(f"replicate offers no lip-sync model {model!r} (known: {', '.join(LIPSYNC_MODELS)})")
        self.model, self.storage, self.base_url = model, storage, base_url
        self.variant: dict[str, Any] = {}
        self.expected_seconds = JOB_SECONDS[model]
        self._asked: dict[str, LipSyncRequest] = {}   # job id → what was sent: the download's measure
        self._sent: dict[str, Inputs] = {}            # our call id → the inputs sent (find_job)

    def _inputs(self, request: LipSyncRequest) -> Inputs:
        return lipsync_inputs(self.model, self.storage.get_bytes(request.clip_uri),
                              self.storage.get_bytes(request.speech_uri))

    def submit(self, request: LipSyncRequest, *, client_ref: str) -> str:
        inputs = self._inputs(request)
        self._sent[client_ref] = inputs
        with Predictions(self.base_url) as api:
            job_id: str = api.create(self.model, inputs)["id"]
        self._asked[job_id] = request
        return job_id

    def poll(self, job_id: str) -> JobStatus:
        with Predictions(self.base_url) as api:
            return job_status(api.get(job_id))

    def download(self, job_id: str, dest: Path) -> Path:
        """The answer's picture alone at `dest` (its sound, the speech, is dropped)."""
        prediction, url = _finished(self.base_url, job_id)
        request = self._asked.get(job_id)
        seconds = request.seconds if request else 0.0
        limit, what = download.clip_limit(seconds, *((request.width, request.height) if request else (None, None)))
        fetched = scratch_beside(dest, ".fetched.mp4")
        try:
            _fetch_output(prediction, url, fetched, limit, what)
            download.checked_video(NAME, fetched, seconds=seconds)
            return video_only(fetched, dest, request, NAME)
        finally:
            fetched.unlink(missing_ok=True)

    def cancel(self, job_id: str) -> None:
        cancel(self.base_url, job_id)

    def find_job(self, client_ref: str, since: datetime | None = None, *,
                 request: LipSyncRequest | None = None) -> str | None:
        """The prediction a lost create made, found in the list by its settings (the clip and the
        speech are data URLs, not compared: `same_input`); two that match are not guessed between."""
        inputs = self._inputs(request) if request is not None else self._sent.get(client_ref)
        if inputs is None:
            raise NotImplementedError("a lost Replicate create is found by what was asked, and the request is "
                                      "not known here")
        with Predictions(self.base_url) as api:
            found = find_prediction(api, self.model, inputs, since)
        if found is not None and request is not None:
            self._asked[found] = request
        return found


# -- what the registry builds ---------------------------------------------------------------------
def image(model: str, *, storage: Storage, base_url: str | None, settings: BaseModel | None = None) -> PanelJobs:
    return ReplicateImage(model, storage=storage, base_url=reached_at(NAME, base_url))


def video(model: str, *, storage: Storage, base_url: str | None,
          settings: BaseModel | None = None) -> VideoGenerator:
    return ReplicateVideo(model, storage=storage, base_url=reached_at(NAME, base_url))


def lipsync(model: str, *, storage: Storage, base_url: str | None, settings: BaseModel | None = None) -> LipSyncer:
    return ReplicateLipSync(model, storage=storage, base_url=reached_at(NAME, base_url))


PROBE_ID = "slatedoctorkeycheck"   # no such prediction: a free GET that only a bad key is refused


def doctor(*, base_url: str | None) -> list[DoctorFinding]:
    """`slate doctor`'s lines for Replicate: the key, whether the API takes it, credit."""
    credit = DoctorFinding(NAME, "credit", True, "Replicate's API does not report remaining credit: see the account's "
                                          "billing page", blocking=False)
    try:
        key = provider_key(NAME)
    except MissingKey as exc:
        return [DoctorFinding(NAME, "key", False, str(exc)), credit]
    found = [DoctorFinding(NAME, "key", True, f"key {key.id} from {key.source}")]
    try:
        with Predictions(reached_at(NAME, base_url)) as api:
            api.get(PROBE_ID)
        found.append(DoctorFinding(NAME, "key valid", True, "the API accepted the key"))
    except BadRequest as exc:
        # A key the API accepts gets "not found" for a prediction that does not exist; a 404's
        # exact body is [?], so only its status is read.
        ok = exc.status == 404
        found.append(DoctorFinding(NAME, "key valid", ok, "the API accepted the key" if ok else
                             f"could not tell: {exc}", blocking=False))
    except ProviderError as exc:
        if exc.halts:   # 401/402/403: the key (or its account) is refused
            found.append(DoctorFinding(NAME, "key valid", False, f"the key was refused: {exc}"))
        else:           # no answer, a 5xx, a 429: nothing learnt about the key
            found.append(DoctorFinding(NAME, "key valid", False, f"could not check: {exc}", blocking=False))
    return found + [credit]



PROVIDER = ProviderSpec(
    name=NAME,
    offers={"image": Offer(PANEL_MODELS),
            "video": Offer(tuple(CLIP_MODELS), {"draft": "bytedance/seedance-1-lite", "final": "bytedance/seedance-1-pro",
                                                "hero": "bytedance/seedance-1-pro"}),
            "lipsync": Offer(tuple(LIPSYNC_MODELS))},
    base_url="https://api.replicate.com/v1",
    key_vars=("REPLICATE_API_TOKEN",),
    image=image, video=video, lipsync=lipsync, doctor=doctor,
    translate_error=partial(http.error_for, NAME),
    lost_job_hint="its prediction in Replicate's dashboard (Predictions), made at that time with that model",
    references=CLIP_REFERENCES,
    audio=CLIP_AUDIO,
    job_seconds=JOB_SECONDS,
)
