"""Google's Gemini API through google-genai 2.x: panels (Gemini image models), clips (Veo 3.1),
the judge (Gemini 2.5 Flash with the rubric as structured output) and lines of dialogue (Gemini's
speech models, in their prebuilt voices: generateContent answering raw 16-bit PCM, kept as a WAV).

Every call builds its own SDK client with the key read at that moment (GEMINI_API_KEY or
GOOGLE_API_KEY, providers/keys.py; the SDK sends it as `x-goog-api-key`), makes one request and
drops the client, so no object here holds a key between calls. What can go wrong inside the SDK
is translated at this module's edge into providers/errors.py, the same way providers/http.py
translates plain HTTP:

    errors.APIError (any non-200)         → http.error_for on its response: 429 RateLimited with the
                                            RetryInfo retryDelay, 401/403 AuthenticationFailed,
                                            402 or a 403 with credit words OutOfCredit, 5xx
                                            TransientServerError, 504 ProviderTimeout, 400 BadRequest
    connect failed / connect timeout      → ProviderUnreachable  (nothing was sent)
    read or write timeout                 → ProviderTimeout      (the request may have been taken)
    connection dropped mid-answer         → TransientServerError (the request may have been taken)
    HTTP 200 that says "blocked"          → RefusedByModeration  (promptFeedback.blockReason, a
                                            safety finishReason, a Veo answer RAI-filtered)
    HTTP 200 with nothing usable          → BadOutput            (ran and billed: NO_IMAGE, a judge
                                            answer that is not the rubric's JSON, a line with no audio)

Veo makes no 480p: a draft clip is asked at 720p (and the rate card prices a 480p draft at
Veo's 720p price). Durations are 4, 6 or 8 seconds: a shot is asked at the next one up and the
stitch trims it.

It must never keep a key on an object or put one in a message, retry a paid request (the SDK's
retries stay at their default of one attempt: whether to send again is the governor's decision),
or send the key to any host but the API's.
"""
from __future__ import annotations

import importlib
import logging
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel

from slate.providers import audio, clip_references, download, http, rubric
from slate.providers.base import (ClipRequest, at_resolution, DoctorFinding, ImageGenerator, JobStatus, PanelRequest, ReferenceImages,
                                  SpeechGenerator, SpeechRequest, SpokenLine, Storage, Verdict, VideoGenerator,
                                  VisionJudge)
from slate.providers.errors import (AuthenticationFailed, BadOutput, BadRequest, ProviderError, ProviderTimeout,
                                    ProviderUnreachable, RefusedByModeration, TransientServerError)
from slate.providers.keys import MissingKey, provider_key, redact
from slate.providers.spec import Offer, ProviderSpec, TakesReferences, reached_at


class _OnFirstUse:
    """A module imported at its first attribute read. google-genai takes a third of a second to
    import; the registry reads this module's PROVIDER on every run, Gemini used or not."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr: str) -> object:
        module: ModuleType = importlib.import_module(self._name)
        return getattr(module, attr)


if TYPE_CHECKING:   # the SDK's own types, as the checker reads them; imported at first use when run
    from google import genai
    from google.genai import errors as genai_errors
    from google.genai import types
else:
    genai = _OnFirstUse("google.genai")
    genai_errors = _OnFirstUse("google.genai.errors")
    types = _OnFirstUse("google.genai.types")

NAME = "gemini"
API_HOST = "generativelanguage.googleapis.com"
API_VERSION = "v1beta"

# Seconds each kind of request may take before it is a ProviderTimeout. A panel or a verdict is
# one synchronous generation; a Veo submit carries two base64 frames; a poll is a small GET.
PANEL_SECONDS, JUDGE_SECONDS, SUBMIT_SECONDS, POLL_SECONDS = 180.0, 120.0, 120.0, 30.0

#: The aspect ratios the image models take [V], as width / height.
ASPECT_RATIOS = {"1:1": 1.0, "2:3": 2 / 3, "3:2": 1.5, "3:4": 0.75, "4:3": 4 / 3, "9:16": 9 / 16,
                 "16:9": 16 / 9, "21:9": 21 / 9}
#: Models documented to take image_size (2K/4K are gemini-3-pro-image's; whether
#: gemini-2.5-flash-image takes the field at all is unconfirmed [?], and 1K is the default, so
#: it is not sent to that model: the output is the same).
SIZED_IMAGE_MODELS = {"gemini-3-pro-image-preview"}

#: Why a candidate came back without its image: moderation (refused) or nothing made (billed).
REFUSED_FINISH = {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY",
                  "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION"}

VEO_DURATIONS = (4, 6, 8)
#: Veo has no 480p: a draft asks 720p (billed at 720p: see the rate card's Veo entries).
VEO_RESOLUTIONS = {"480p": "720p", "720p": "720p", "1080p": "1080p"}
#: The shortest shot slate asks for: what a clip is held to when the asked seconds are not known
#: here (a job re-attached in a new process, or attached by `slate reconcile`).
SHORTEST_SHOT = 2.0

log = logging.getLogger("slate.providers.gemini")


# -- the SDK at the edge ---------------------------------------------------------------------------
@contextmanager
def _sdk(base_url: str, seconds: float) -> Iterator[genai.Client]:
    """A client for one call, with the key read now; SDK failures leave as the error tree."""
    http.guard_endpoint(NAME, base_url)
    client = genai.Client(api_key=provider_key(NAME).reveal(), http_options=types.HttpOptions(
        base_url=base_url.rstrip("/"), api_version=API_VERSION, timeout=int(seconds * 1000),
        client_args={"verify": http.tls()}))   # the process's one TLS context, not a CA bundle loaded per call
    where = http.where(base_url)
    try:
        yield client
    except genai_errors.APIError as exc:
        raise _api_error(exc) from None
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise ProviderUnreachable(f"could not connect to {where}: {type(exc).__name__}", provider=NAME) from None
    except httpx.TimeoutException as exc:
        raise ProviderTimeout(f"no answer from {where} in time ({type(exc).__name__})", provider=NAME) from None
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
        raise TransientServerError(f"the connection to {where} dropped ({type(exc).__name__})",
                                   provider=NAME) from None
    finally:
        client.close()


def _api_error(exc: genai_errors.APIError) -> ProviderError:
    """The tree's class of a non-200 answer, from the same rules every provider's HTTP follows."""
    message = redact(str(exc.message or exc.status or "")[:600])
    # Unverified (not in PROVIDERS.md): a bad key is said to come back as 400 API_KEY_INVALID.
    # Halting on it is safe either way; failing every call of the run as a bad request is not.
    if exc.code == 400 and ("API_KEY_INVALID" in str(exc.details) or "API key not valid" in message):
        return _key_refused(message)
    if isinstance(exc.response, httpx.Response):
        return error_for(exc.response)
    return http.error_for(NAME, httpx.Response(exc.code or 500, json=exc.details if isinstance(exc.details, dict)
                                               else {"error": {"message": message}}))


def _key_refused(message: str) -> ProviderError:
    return AuthenticationFailed(f"the key was refused: {message} — check the key (slate doctor)",
                                provider=NAME, status=400)


def error_for(response: httpx.Response) -> ProviderError:
    """An error answer of the Gemini API in the error tree: the HTTP rules every provider
    follows, and a bad key, which this API answers with a 400 API_KEY_INVALID."""
    if response.status_code == 400 and ("API_KEY_INVALID" in response.text[:4000]
                                        or "API key not valid" in response.text[:4000]):
        return _key_refused(http.body_text(response))
    return http.error_for(NAME, response)


def _mime(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    raise BadRequest("an input image is not PNG, JPEG or WebP: not sent", provider=NAME)


def _part(data: bytes) -> types.Part:
    # Sent as inlineData with its own MIME type (what a PIL image becomes [V], without re-encoding).
    return types.Part.from_bytes(data=data, mime_type=_mime(data))


def _words(value: object) -> str:
    return str(getattr(value, "value", value) or "")


def _refused_prompt(r: types.GenerateContentResponse, usage: dict[str, Any] | None = None) -> None:
    """HTTP 200 with promptFeedback.blockReason and no candidates: the prompt was refused [V].
    `usage`: what the answer reports the refused call used (a verdict's tokens), to price it."""
    feedback = r.prompt_feedback
    if feedback is not None and feedback.block_reason:
        said = _words(feedback.block_reason)
        if feedback.block_reason_message:
            said += f": {feedback.block_reason_message}"
        raise RefusedByModeration(f"the prompt was blocked ({redact(said)})", provider=NAME, usage=usage)


def _finish(candidate: types.Candidate) -> str:
    said = _words(candidate.finish_reason)
    return f"{said}: {candidate.finish_message}" if candidate.finish_message else said


def aspect_ratio(width: int, height: int) -> str:
    """The nearest ratio the image models take (854x480 and 1280x720 are both 16:9)."""
    want = math.log(width / height)
    return min(ASPECT_RATIOS, key=lambda name: abs(math.log(ASPECT_RATIOS[name]) - want))


# -- panels ----------------------------------------------------------------------------------------
class GeminiImage:
    """Panels from a Gemini image model: the prompt, the plate, each turnaround (and a composite)."""

    name = NAME

    def __init__(self, model: str, *, storage: Storage, base_url: str):
        self.model, self.storage, self.base_url = model, storage, base_url
        self.variant: dict[str, Any] = {}

    def generate_panel(self, request: PanelRequest, *, client_ref: str | None = None) -> bytes:
        uris = [request.plate_uri, *(c.turnaround_uri for c in request.characters)]
        if request.override_uri:
            uris.append(request.override_uri)
        contents: list[types.PartUnionDict] = [request.prompt, *(_part(self.storage.get_bytes(u)) for u in uris)]
        size = {"image_size": "1K"} if self.model in SIZED_IMAGE_MODELS else {}
        config = types.GenerateContentConfig(response_modalities=["IMAGE"], image_config=types.ImageConfig(
            aspect_ratio=aspect_ratio(request.width, request.height), **size))
        with _sdk(self.base_url, PANEL_SECONDS) as client:
            r = client.models.generate_content(model=self.model, contents=contents, config=config)
        # The image comes at the model's own pixel size for the ratio; the pipeline takes any size
        # of the right shape (the stitch scales, the metrics resize).
        return download.checked_image(NAME, _image_of(r))


def _image_of(r: types.GenerateContentResponse) -> bytes:
    _refused_prompt(r)
    if not r.candidates:
        raise BadOutput("the answer has no candidate and no block reason", provider=NAME)
    candidate = r.candidates[0]
    for part in (candidate.content.parts or []) if candidate.content else []:
        if part.inline_data is not None and part.inline_data.data:
            return part.inline_data.data
    finish = _finish(candidate)
    if _words(candidate.finish_reason) in REFUSED_FINISH:
        raise RefusedByModeration(f"the image was blocked ({redact(finish)})", provider=NAME)
    # NO_IMAGE, IMAGE_OTHER or a text-only answer: the model ran (and billed), nothing to use.
    raise BadOutput(f"no image came back (finish reason {redact(finish) or 'none'})", provider=NAME)


# -- the judge -------------------------------------------------------------------------------------
class GeminiJudge:
    """Panels and keyframes scored by the rubric, answered as structured output."""

    name = NAME

    def __init__(self, model: str, *, storage: Storage | None, base_url: str):
        self.model, self.storage, self.base_url = model, storage, base_url
        self.variant: dict[str, Any] = {}

    def judge_panel(self, panel: Path, request: PanelRequest, refs: ReferenceImages, *,
                    client_ref: str | None = None) -> Verdict:
        return self._ask(rubric.panel_ask(panel, request, refs))

    def judge_keyframes(self, frames: dict[str, Path], start_panel: Path, end_panel: Path | None,
                        request: PanelRequest, refs: ReferenceImages, *, client_ref: str | None = None) -> Verdict:
        return self._ask(rubric.keyframe_ask(frames, start_panel, end_panel, request, refs))

    def judge_continuity(self, last_frame: Path, first_frame: Path, previous: PanelRequest, request: PanelRequest,
                         refs: ReferenceImages, *, client_ref: str | None = None) -> Verdict:
        return self._ask(rubric.continuity_ask(last_frame, first_frame, previous, request, refs))

    def judge_turnaround(self, sheet: Path, character_id: str, description: str, *,
                         client_ref: str | None = None) -> Verdict:
        return self._ask(rubric.turnaround_ask(sheet, character_id, description))

    def _ask(self, ask: rubric.Ask) -> Verdict:
        schema = ask.schema
        config = types.GenerateContentConfig(response_mime_type="application/json", response_schema=schema)
        contents: list[types.PartUnionDict] = [ask.instructions, *(_part(Path(p).read_bytes()) for p in ask.images)]
        with _sdk(self.base_url, JUDGE_SECONDS) as client:
            r = client.models.generate_content(model=self.model, contents=contents, config=config)
        used = _judge_usage(r.usage_metadata)   # reported even when blocked: the refused call is priced by it
        _refused_prompt(r, used)
        if r.candidates and _words(r.candidates[0].finish_reason) in REFUSED_FINISH:
            raise RefusedByModeration(f"the verdict was blocked ({redact(_finish(r.candidates[0]))})", provider=NAME,
                                      usage=used)
        # `parsed` is None (no exception) when the JSON is invalid or off the schema [V].
        if not isinstance(r.parsed, schema):
            raise BadOutput("the judge's answer is not the rubric's JSON", provider=NAME, usage=used)
        return rubric.verdict(r.parsed, NAME, usage=_judge_usage(r.usage_metadata))


def _judge_usage(meta: types.GenerateContentResponseUsageMetadata | None) -> dict[str, Any] | None:
    if meta is None or meta.prompt_token_count is None:
        return None  # nothing reported: the call is settled at its estimate
    # Thinking is billed as output (PROVIDERS.md §3 Pricing).
    output = (meta.candidates_token_count or 0) + (meta.thoughts_token_count or 0)
    return {"kind": "judge", "input_tokens": meta.prompt_token_count, "output_tokens": output}


# -- lines of dialogue ------------------------------------------------------------------------------
#: Seconds a line may take: one synchronous generation of a few seconds of audio.
SPEECH_SECONDS = 120.0
#: The 30 prebuilt voices of the speech models (PROVIDERS.md Speech §S1 [S]).
GEMINI_VOICES = ("Zephyr", "Puck", "Charon", "Kore", "Fenrir", "Leda", "Orus", "Aoede", "Callirrhoe", "Autonoe",
                 "Enceladus", "Iapetus", "Umbriel", "Algieba", "Despina", "Erinome", "Algenib", "Rasalgethi",
                 "Laomedeia", "Achernar", "Alnilam", "Schedar", "Gacrux", "Pulcherrima", "Achird", "Zubenelgenubi",
                 "Vindemiatrix", "Sadachbia", "Sadaltager", "Sulafat")
#: A voice's settings these models take: the language it speaks (speechConfig.languageCode, BCP 47).
SPEECH_SETTINGS = ("language_code",)
#: The rate of the PCM a line comes in when its MIME type does not say (the docs' example: 24 kHz).
PCM_RATE = 24000
_RATE = re.compile(r"rate=(\d+)")


def speech_prompt(request: SpeechRequest) -> str:
    """What the model is sent: the line, with its delivery said as the docs steer style, in words
    before it ("Say cheerfully: …"); the line alone when it has none."""
    if not request.delivery:
        return request.text
    return f"In a {', '.join(request.delivery)} voice, say: {request.text}"


class GeminiSpeech:
    """A line spoken by a Gemini speech model in one of its prebuilt voices."""

    name = NAME

    def __init__(self, model: str, *, base_url: str):
        self.model, self.base_url = model, base_url
        self.variant: dict[str, Any] = {}

    def speak(self, request: SpeechRequest, *, client_ref: str | None = None) -> SpokenLine:
        # What the API would refuse is refused before anything is sent (and paid for).
        if request.voice not in GEMINI_VOICES:
            raise BadRequest(f"{self.model} has no voice {request.voice!r} (its voices: "
                             f"{', '.join(GEMINI_VOICES[:8])}, …): not sent", provider=NAME)
        unknown = sorted(set(request.settings) - set(SPEECH_SETTINGS))
        if unknown:
            raise BadRequest(f"a Gemini voice takes no setting {unknown[0]!r} (it takes "
                             f"{', '.join(SPEECH_SETTINGS)}): not sent", provider=NAME)
        prompt = speech_prompt(request)
        language = request.settings.get("language_code")
        config = types.GenerateContentConfig(
            response_modalities=["AUDIO"], seed=request.seed,
            speech_config=types.SpeechConfig(language_code=str(language) if language else None,
                                              voice_config=types.VoiceConfig(prebuilt_voice_config=types.
                                                                             PrebuiltVoiceConfig(voice_name=request.voice))))
        with _sdk(self.base_url, SPEECH_SECONDS) as client:
            r = client.models.generate_content(model=self.model, contents=prompt, config=config)
        used = _speech_tokens(r.usage_metadata)
        _refused_prompt(r, {"kind": "speech", "characters": len(prompt), **used} if used else None)
        pcm, mime = _audio_of(r)
        if mime.startswith(("audio/wav", "audio/x-wav")):
            wav = pcm
        else:   # raw little-endian 16-bit samples, as the docs' example writes them into a WAV
            rate = _RATE.search(mime)
            wav = audio.pcm16_wav(pcm, int(rate.group(1)) if rate else PCM_RATE)
        return audio.spoken_line(NAME, wav, len(prompt), used)


def _speech_tokens(meta: types.GenerateContentResponseUsageMetadata | None) -> dict[str, int]:
    """The text tokens in and audio tokens out a line reports ({} when it reports none)."""
    if meta is None or meta.prompt_token_count is None:
        return {}
    return {"input_tokens": meta.prompt_token_count, "output_tokens": meta.candidates_token_count or 0}


def _audio_of(r: types.GenerateContentResponse) -> tuple[bytes, str]:
    """The first audio part of the answer (its bytes and MIME type), or why there is none."""
    if not r.candidates:
        raise BadOutput("the answer has no candidate and no block reason", provider=NAME)
    candidate = r.candidates[0]
    for part in (candidate.content.parts or []) if candidate.content else []:
        blob = part.inline_data
        if blob is not None and blob.data and str(blob.mime_type or "").startswith("audio/"):
            return blob.data, str(blob.mime_type)
    finish = _finish(candidate)
    if _words(candidate.finish_reason) in REFUSED_FINISH:
        raise RefusedByModeration(f"the line was blocked ({redact(finish)})", provider=NAME)
    raise BadOutput(f"no audio came back (finish reason {redact(finish) or 'none'})", provider=NAME)


# -- clips -----------------------------------------------------------------------------------------
def veo_duration(seconds: float) -> int:
    """The Veo length a shot is asked at: the next of 4, 6, 8 up (the stitch trims it)."""
    for d in VEO_DURATIONS:
        if seconds <= d:
            return d
    raise BadRequest(f"a {seconds:g} s clip is longer than Veo makes ({', '.join(map(str, VEO_DURATIONS))} s): "
                     f"not sent", provider=NAME)


class Veo:
    """Image-to-video jobs (start frame, or start and end frames) as long-running operations."""

    name = NAME
    poll_interval = 10.0   # the SDK's own example polls every 10 s

    def __init__(self, model: str, *, storage: Storage, base_url: str):
        self.model, self.storage, self.base_url = model, storage, base_url
        self.variant: dict[str, Any] = {}
        self.expected_seconds = VEO_JOB_SECONDS[model]
        host = urlsplit(base_url).hostname or API_HOST
        self._auth_host = host
        self._hosts = tuple(dict.fromkeys((API_HOST, host)))
        self._asked: dict[str, float] = {}   # job id -> the seconds its shot asked for
        self._frames: dict[str, tuple[int, int]] = {}   # job id -> width, height asked: the download's bound

    @property
    def key_id(self) -> str:
        return provider_key(NAME).id

    def clip_sizes(self, request: ClipRequest) -> tuple[tuple[int, int], ...]:
        """Veo makes no 480p: a draft's clip comes at 720p (the keyframe gate takes it)."""
        return at_resolution(request, (VEO_RESOLUTIONS.get(request.resolution, request.resolution),))

    def submit(self, request: ClipRequest, *, client_ref: str) -> str:
        # Everything that could refuse the request is checked before anything is sent.
        if request.resolution not in VEO_RESOLUTIONS:
            raise BadRequest(f"Veo makes no {request.resolution} clip: not sent", provider=NAME)
        duration = veo_duration(request.seconds)
        refs = clip_references.for_model(NAME, self.model, request, VEO_REFERENCES.get(self.model))
        start = self.storage.get_bytes(request.start_uri) if request.start_uri else None
        config = types.GenerateVideosConfig(
            # A reference shot: each image an ASSET to keep (a character, the set, a prop), never
            # with a first or last frame [V].
            reference_images=[types.VideoGenerationReferenceImage(
                image=self._bytes_image(clip_references.picture(r, self.storage.get_bytes)), reference_type="ASSET")
                for r in refs] or None,
            # 9:16 is the only other ratio Veo takes [S]; slate's profiles are all 16:9.
            aspect_ratio="9:16" if request.height > request.width else "16:9",
            resolution=VEO_RESOLUTIONS[request.resolution], duration_seconds=duration, number_of_videos=1,
            # The last-frame input only in start+end mode. No seed, fps or audio: the developer
            # API refuses them client-side [V] (Veo makes its sound whatever: VEO_AUDIO).
            last_frame=self._image(request.end_uri) if request.end_uri else None)
        prompt = clip_references.named_prompt(request.prompt, refs, "typed") if refs else request.prompt
        source = types.GenerateVideosSource(prompt=prompt, image=types.Image(image_bytes=start, mime_type=_mime(start))
                                            if start is not None else None)
        with _sdk(self.base_url, SUBMIT_SECONDS) as client:
            operation = client.models.generate_videos(model=self.model, source=source, config=config)
        if not operation.name:
            # The job may exist, but there is nothing to follow it by: an unknown outcome.
            raise ProviderError("the answer to a Veo submit named no operation", provider=NAME)
        self._asked[operation.name] = request.seconds
        self._frames[operation.name] = (request.width, request.height)
        return operation.name

    def _image(self, uri: str) -> types.Image:
        return self._bytes_image(self.storage.get_bytes(uri))

    @staticmethod
    def _bytes_image(data: bytes) -> types.Image:
        return types.Image(image_bytes=data, mime_type=_mime(data))

    def _operation(self, job_id: str) -> types.GenerateVideosOperation:
        with _sdk(self.base_url, POLL_SECONDS) as client:
            return client.operations.get(types.GenerateVideosOperation.model_validate({"name": job_id}))

    def poll(self, job_id: str) -> JobStatus:
        return _status(self._operation(job_id))

    def download(self, job_id: str, dest: Path) -> Path:
        operation = self._operation(job_id)
        status = _status(operation)
        if status.state != "succeeded":
            raise BadOutput(f"job {job_id} has no clip to download ({status.error or status.state})", provider=NAME)
        uri = _video_uri(operation)
        if uri is None:   # not so when the job succeeded (_status): said as the same billed failure
            raise BadOutput(f"job {job_id} has no clip to download (no video URI)", provider=NAME)
        # The allow-list is the API host (loopback for fakes). Whether the real download answers
        # with a redirect to another host is not in PROVIDERS.md; if it does, fetch refuses that
        # hop (and never sends it the key), and this list is what to widen, with a source.
        try:
            limit, what = download.clip_limit(self._asked.get(job_id, 0.0), *self._frames.get(job_id, (None, None)))
            download.fetch(NAME, uri, dest, allowed_hosts=self._hosts, max_bytes=limit, what=what,
                           auth_headers={"x-goog-api-key": provider_key(NAME).reveal()}, auth_host=self._auth_host)
        except BadRequest as exc:
            if exc.status not in (404, 410):
                raise
            # The job ran and was billed; its file is gone. Said so, and settled as a billed
            # failure, rather than re-attached to a 404 on every run.
            raise BadOutput(f"the clip of job {job_id} is no longer at {NAME} (its file expired): the job was "
                            f"billed; a new take makes a new clip", provider=NAME) from None
        return download.checked_video(NAME, dest, seconds=self._asked.get(job_id, SHORTEST_SHOT))

    def cancel(self, job_id: str) -> None:
        # No cancel is documented for a Veo operation of the Developer API, and google-genai 2.34's
        # `operations` has only `get` [V] (PROVIDERS.md §3, "Cancelling a job"): the job runs to its
        # end and is billed. The governor records that it could not be cancelled and leaves the
        # job for the next run to collect; a hard stop only stops waiting for it.
        raise NotImplementedError("the Gemini API documents no way to cancel a Veo operation: it runs to its end")

    def find_job(self, client_ref: str, since: datetime | None = None, *,
                 request: ClipRequest | None = None) -> str | None:
        raise NotImplementedError("generate_videos takes no request id of ours [V]: a Veo job whose operation "
                                  "name was never recorded cannot be looked up")


def _videos(operation: types.GenerateVideosOperation) -> list[types.GeneratedVideo]:
    response = operation.response or operation.result
    return (response.generated_videos or []) if response else []


def _video_uri(operation: types.GenerateVideosOperation) -> str | None:
    """Where the operation's first clip is, None when it names none."""
    videos = _videos(operation)
    video = videos[0].video if videos else None
    return video.uri if video is not None and video.uri else None


def _status(operation: types.GenerateVideosOperation) -> JobStatus:
    if not operation.done:
        return JobStatus("running")
    if operation.error:
        # The shape of a failed operation is unconfirmed [?]: {"code", "message"} is assumed.
        error = operation.error if isinstance(operation.error, dict) else {"message": str(operation.error)}
        words = redact(str(error.get("message") or error)[:600])
        return JobStatus("failed", error=words, refused=bool(http.MODERATION_WORDS.search(words)))
    response, videos = operation.response or operation.result, _videos(operation)
    if (response and response.rai_media_filtered_count) or not videos:
        reasons = "; ".join((response.rai_media_filtered_reasons or []) if response else [])
        return JobStatus("failed", refused=True,
                         error=redact(reasons or "Veo returned no video (filtered by its safety checks)")[:600])
    if _video_uri(operation) is None:
        return JobStatus("failed", error="Veo answered without a video URI")
    return JobStatus("succeeded", progress=1.0)


# -- what the registry and `slate doctor` call -----------------------------------------------------
def image(model: str, *, storage: Storage, base_url: str | None,
          settings: BaseModel | None = None) -> ImageGenerator:
    return GeminiImage(model, storage=storage, base_url=reached_at(NAME, base_url))


def video(model: str, *, storage: Storage, base_url: str | None,
          settings: BaseModel | None = None) -> VideoGenerator:
    return Veo(model, storage=storage, base_url=reached_at(NAME, base_url))


def judge(model: str, *, storage: Storage | None, base_url: str | None,
          settings: BaseModel | None = None) -> VisionJudge:
    return GeminiJudge(model, storage=storage, base_url=reached_at(NAME, base_url))


def speech(model: str, *, storage: Storage | None = None, base_url: str | None,
           settings: BaseModel | None = None) -> SpeechGenerator:
    return GeminiSpeech(model, base_url=reached_at(NAME, base_url))


def doctor(*, base_url: str | None) -> list[DoctorFinding]:
    try:
        key = provider_key(NAME)
    except MissingKey as exc:
        return [DoctorFinding(NAME, "key", False, str(exc))]
    return [
        DoctorFinding(NAME, "key", True, f"key {key.id} from {key.source}"),
        # PROVIDERS.md documents no free endpoint of the Gemini API, and a paid call to test a
        # key is not what a doctor should spend.
        DoctorFinding(NAME, "key valid", False, "cannot be checked without a paid call: the first call of a run will "
                                          "say (a refused key halts the run)", blocking=False),
        DoctorFinding(NAME, "credit", False, "the Gemini API does not report remaining credit: see the Google Cloud "
                                       "billing page", blocking=False),
    ]


#: Veo 3.1 takes up to three reference images, never with a first or last frame (PROVIDERS.md §3);
#: whether the fast model takes them through the Gemini API is not in the notes (on Replicate it
#: does not), so it is not declared.
VEO_REFERENCES = {"veo-3.1-generate-preview": TakesReferences("referenceImages", 3, with_frame=False, naming="typed")}


#: Veo through the Developer API always makes its sound: its prices are with audio (PROVIDERS.md
#: §3 Pricing) and the SDK raises ValueError client-side for `generate_audio`, so nothing is sent.
VEO_AUDIO = {m: "always" for m in ("veo-3.1-fast-generate-preview", "veo-3.1-generate-preview")}


#: How long one Veo operation is expected to take, in seconds (the spec's `job_seconds`; a film
#: corrects one in slate.toml's `[job_seconds]`). PROVIDERS.md says only that a Veo job takes
#: minutes (the SDK's example polls every 10 s) [?]. An operation is waited for three times its
#: figure (spec.STUCK_AFTER); it cannot be cancelled (`Veo.cancel`), so past that it is left for
#: the next run to collect.
VEO_JOB_SECONDS = {"veo-3.1-fast-generate-preview": 150.0, "veo-3.1-generate-preview": 240.0}


#: Gemini's speech models through the Developer API (PROVIDERS.md Speech §S1): Flash by default,
#: Pro for a hero profile. Their shutdown is announced for 2026-12-18 [S]; the 3.x speech models'
#: request shape differs in the notes [?], so they are not declared yet.
SPEECH_MODELS = ("gemini-2.5-flash-preview-tts", "gemini-2.5-pro-preview-tts")


PROVIDER = ProviderSpec(
    name=NAME,
    offers={"image": Offer(("gemini-2.5-flash-image", "gemini-3-pro-image-preview")),
            "video": Offer(("veo-3.1-fast-generate-preview", "veo-3.1-generate-preview")),
            "judge": Offer(("gemini-2.5-flash",)),
            "speech": Offer(SPEECH_MODELS, {"hero": "gemini-2.5-pro-preview-tts"})},
    base_url="https://generativelanguage.googleapis.com",
    key_vars=("GEMINI_API_KEY", "GOOGLE_API_KEY"),
    image=image, video=video, judge=judge, speech=speech, doctor=doctor,
    translate_error=error_for,
    lost_job_hint="the Veo operation's name (models/…/operations/…)",
    references=VEO_REFERENCES,
    audio=VEO_AUDIO,
    job_seconds=VEO_JOB_SECONDS,
    voices={m: GEMINI_VOICES for m in SPEECH_MODELS},
)
