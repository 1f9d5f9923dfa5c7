"""ElevenLabs: lines of dialogue spoken by its text-to-speech API, billed per character, and cues
made to a brief by its music API (issue 59), billed by the minute of music.

ElevenLabs offers slate speech and music (its PROVIDER, at the end). The speech wire, as
../shared/PROVIDERS.md "Speech" §S2 has it:

    speak    POST {base}/v1/text-to-speech/{voice_id}?output_format=pcm_24000
             xi-api-key header; JSON {"text", "model_id", "voice_settings"?, "seed"?}
             200: the line as raw 16-bit little-endian mono PCM at 24 kHz (kept as a WAV);
             headers `x-character-count` (what the line was billed) and `request-id`
    doctor   GET  {base}/v1/user/subscription → {"character_count", "character_limit", …} (free)
    find     GET  {base}/v1/history?voice_id=&model_id=&date_after_unix=&sort_direction=asc&page_size=
             → {"history": [{"history_item_id", "voice_id", "model_id", "text", "date_unix", …}],
                "has_more", "last_history_item_id"} (the account's generation history: free)
             GET  {base}/v1/history/{history_item_id}/audio → the line's audio (audio/mpeg in the
             API reference; whether a line asked as PCM comes back as PCM or MP3 is [?]: either is
             decoded to 16-bit mono PCM at 24 kHz here)

An error answer is {"detail": {"status" (legacy) or "code", "message", …}}, read by `error_for`:

    401 quota_exceeded                       OutOfCredit           the run halts
    401 otherwise (invalid_api_key)          AuthenticationFailed  the run halts
    429 (concurrent or rate limit, busy)     RateLimited           waited out, asked again
    400 bad_prompt / Terms of Service words  RefusedByModeration   never asked again unchanged [?]
    400, 404, 422 otherwise                  BadRequest            (voice_not_found, too long, …)
    5xx                                      TransientServerError  an unknown outcome

A line's delivery words are not sent: the declared models take no delivery field (the audio tags of
eleven_v3 are not in the notes [?]), so delivery is the voice's settings' to give. No request id of
ours reaches ElevenLabs, but every line it speaks goes into the account's generation history: a line
whose answer was lost (a dropped connection, a run stopped while it waited) is looked up there
before it is asked again (`find_line`) — the item of the same voice, model and text made after the
call was sent and within its deadline, the earliest. Only where the history holds none (it was
never spoken, the account keeps no history [?], or the lookup fails) does the governor ask again
once, the lost one counted as spent. A line spoken before the call was sent is never taken for it.

The music wire (docs/music.md, from the API reference and the official SDK):

    compose  POST {base}/v1/music?output_format=mp3_44100_128
             xi-api-key header; JSON {"prompt", "music_length_ms" (3,000-600,000), "model_id":
             "music_v1", "force_instrumental": true}
             200: the cue as audio (MP3, the documented default), a `song-id` header
             (decoded here to 16-bit mono PCM at 48 kHz and kept as a WAV)

A prompt takes no seed (a seed only goes with a composition plan), so a retake is simply asked
again: what comes back differs each time. A song cannot be fetched again (the history API says
music "cannot currently be retrieved" [?]), so a cue whose answer was lost is never asked again
blindly: the governor leaves the call open for `slate reconcile`, its cost counted as spent.

It must never retry a paid POST, keep a key on an object, or send the key to any host but the API's.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from slate.providers import audio, http
from slate.providers.base import (DoctorFinding, MadeCue, MusicGenerator, MusicRequest, SpeechGenerator, SpeechRequest,
                                  SpokenLine, Storage)
from slate.providers.errors import (AuthenticationFailed, BadOutput, BadRequest, OutOfCredit, ProviderError,
                                    RefusedByModeration)
from slate.providers.keys import MissingKey, provider_key
from slate.providers.spec import MusicLimits, Offer, ProviderSpec, reached_at

if TYPE_CHECKING:
    from pydantic import BaseModel

NAME = "elevenlabs"
#: The output asked: raw PCM at 24 kHz, which every plan may ask (44.1 kHz PCM needs the Pro tier).
OUTPUT_FORMAT, PCM_RATE = "pcm_24000", 24000
#: A voice's settings the API takes (voice_settings); anything else is refused before sending.
VOICE_SETTINGS = ("stability", "similarity_boost", "style", "use_speaker_boost", "speed")
#: Seeds it takes: 0 to 4294967295; a take's seed is folded into that range.
SEEDS = 2 ** 32
#: Seconds a line may take: one synchronous generation of a few seconds of audio.
TIMEOUT = httpx.Timeout(connect=10.0, read=120.0, write=30.0, pool=10.0)
#: How far before the call was sent a history item may be stamped and still be its answer: the
#: history stamps whole seconds, and its clock may be a little behind ours [?]. Kept short — an
#: earlier take of the same line (same voice, model, text) is made, stored and judged before the
#: next take is sent, and must never be taken for it.
CLOCK_SLACK = timedelta(seconds=1)
#: How long after the call was sent its line may have been made (a generation is seconds; the
#: longest a one-answer call is waited for is well under this).
FIND_WITHIN = timedelta(minutes=15)
#: The moderation words of its refusals (the music endpoint's `bad_prompt`; whether the
#: text-to-speech endpoint refuses so is not documented [?]).
_REFUSED = ("bad_prompt", "violated our terms of service")


def _detail(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    detail = body.get("detail") if isinstance(body, dict) else None
    return detail if isinstance(detail, dict) else {}


def error_for(response: httpx.Response) -> ProviderError:
    """An error answer of the API in the error tree: the HTTP rules every provider follows, and
    what its `detail` says that the status does not (a spent quota is a 401 here)."""
    detail = _detail(response)
    code = str(detail.get("code") or detail.get("status") or "")
    words = http.body_text(response)
    if response.status_code == 401 and code == "quota_exceeded":
        return OutOfCredit(f"out of characters: {words} — top up, or enable usage-based billing, then run the same "
                           f"command again", provider=NAME, status=401)
    if 400 <= response.status_code < 500 and response.status_code != 429 and \
            (code in _REFUSED or any(w in words.lower() for w in _REFUSED)):
        return RefusedByModeration(f"refused by moderation: {words}", provider=NAME, status=response.status_code)
    return http.error_for(NAME, response)


def _client(base_url: str) -> httpx.Client:
    """A client for one request: the key read now, and dropped with the client."""
    return http.client(NAME, base_url, {"xi-api-key": provider_key(NAME).reveal()}, timeout=TIMEOUT)


class ElevenLabsSpeech:
    """A line spoken by an ElevenLabs model in a voice of the account (its voice id)."""

    name = NAME

    def __init__(self, model: str, *, base_url: str):
        self.model, self.base_url = model, base_url
        self.variant: dict[str, Any] = {}

    def body(self, request: SpeechRequest) -> dict[str, Any]:
        """What is sent for `request`; BadRequest (nothing sent) for a setting the API does not take."""
        unknown = sorted(set(request.settings) - set(VOICE_SETTINGS))
        if unknown:
            raise BadRequest(f"an ElevenLabs voice takes no setting {unknown[0]!r} (it takes "
                             f"{', '.join(VOICE_SETTINGS)}): not sent", provider=NAME)
        if not request.voice.strip():
            raise BadRequest("a line with no voice id: not sent", provider=NAME)
        body: dict[str, Any] = {"text": request.text, "model_id": self.model}
        if request.settings:
            body["voice_settings"] = dict(request.settings)
        if request.seed is not None:
            body["seed"] = int(request.seed) % SEEDS
        return body

    def speak(self, request: SpeechRequest, *, client_ref: str | None = None) -> SpokenLine:
        body = self.body(request)
        path = f"/v1/text-to-speech/{quote(request.voice, safe='')}?output_format={OUTPUT_FORMAT}"
        with _client(self.base_url) as client:
            response = http.send(NAME, client, "POST", path, json=body, translate=error_for)
        pcm = response.content
        if response.headers.get("content-type", "").startswith("application/json") or len(pcm) % 2:
            # It ran (and billed the characters); what came back is no 16-bit audio.
            raise BadOutput(f"the answer is not {OUTPUT_FORMAT} audio ({len(pcm)} bytes of "
                            f"{response.headers.get('content-type') or 'no type'})", provider=NAME)
        return audio.spoken_line(NAME, audio.pcm16_wav(pcm, PCM_RATE), _billed(response, request.text))


    def find_line(self, request: SpeechRequest, since: datetime) -> SpokenLine | None:
        """The line `request` asked for, made by a call sent at `since` whose answer never came
        back, from the account's generation history (the first such line stamped from `since`,
        less CLOCK_SLACK, on); None when it holds none. A lookup is free; it never speaks. Raises a
        ProviderError when the history cannot be read."""
        earliest = int((since - CLOCK_SLACK).timestamp())
        params = {"voice_id": request.voice, "model_id": self.model, "sort_direction": "asc", "page_size": "100",
                  "date_after_unix": str(earliest)}
        latest = (since + FIND_WITHIN).timestamp()
        with _client(self.base_url) as client:
            listed = http.send(NAME, client, "GET", "/v1/history", params=params, translate=error_for).json()
            items = listed.get("history") if isinstance(listed, dict) else None
            same = sorted((i for i in items or [] if isinstance(i, dict) and i.get("text") == request.text
                           and i.get("voice_id") == request.voice and i.get("model_id") == self.model
                           and isinstance(i.get("date_unix"), (int, float))
                           and earliest <= i["date_unix"] <= latest
                           and i.get("history_item_id")), key=lambda i: i["date_unix"])
            if not same:
                return None
            item = str(same[0]["history_item_id"])
            answer = http.send(NAME, client, "GET", f"/v1/history/{quote(item, safe='')}/audio", translate=error_for)
        try:
            pcm = audio.decoded_pcm16(answer.content, PCM_RATE)
        except ValueError as exc:
            raise BadOutput(f"history item {item}'s audio could not be read ({exc})", provider=NAME) from None
        return audio.spoken_line(NAME, audio.pcm16_wav(pcm, PCM_RATE), len(request.text))


class ElevenLabsMusic:
    """A cue made by an ElevenLabs music model from the brief's words (the module docstring)."""

    name = NAME
    #: what a cue is asked as, and kept as once decoded
    OUTPUT_FORMAT, RATE = "mp3_44100_128", 48000

    def __init__(self, model: str, *, base_url: str):
        self.model, self.base_url = model, base_url
        self.variant: dict[str, Any] = {}

    def body(self, request: MusicRequest) -> dict[str, Any]:
        """What is sent for `request`: its prompt and length (the brief's words carry the tempo,
        key, instruments and hits); BadRequest (nothing sent) for one the API cannot take."""
        limits = MUSIC_LIMITS[self.model]
        why = limits.refusal(request.seconds, request.tempo)
        if why is not None:
            raise BadRequest(f"{self.model} {why}: not sent", provider=NAME)
        if not request.prompt.strip() or len(request.prompt) > MUSIC_PROMPT_CHARACTERS:
            raise BadRequest(f"a music prompt is 1-{MUSIC_PROMPT_CHARACTERS:,} characters (got "
                             f"{len(request.prompt):,}): not sent", provider=NAME)
        return {"prompt": request.prompt, "music_length_ms": int(round(request.seconds * 1000)),
                "model_id": self.model, "force_instrumental": True}

    def compose(self, request: MusicRequest, *, client_ref: str | None = None) -> MadeCue:
        body = self.body(request)
        with _client(self.base_url) as client:
            response = http.send(NAME, client, "POST", f"/v1/music?output_format={self.OUTPUT_FORMAT}", json=body,
                                 translate=error_for)
        if response.headers.get("content-type", "").startswith("application/json") or not response.content:
            # It ran (and billed the minutes); what came back is no audio.
            raise BadOutput(f"the answer is not audio ({len(response.content)} bytes of "
                            f"{response.headers.get('content-type') or 'no type'})", provider=NAME)
        try:
            pcm = audio.decoded_pcm16(response.content, self.RATE)
        except ValueError as exc:
            raise BadOutput(f"the cue could not be read as audio ({exc})", provider=NAME) from None
        wav = audio.pcm16_wav(pcm, self.RATE)
        # Billed by the length asked (`music_length_ms`); an MP3's own padding is not music.
        return MadeCue(wav, audio.wav_seconds(NAME, wav, "the cue"), usage={"kind": "music", "seconds": request.seconds})


def _billed(response: httpx.Response, text: str) -> int:
    """The characters the line was billed: the answer's own count, else the text's length."""
    told = response.headers.get("x-character-count", "").strip()
    return int(told) if told.isdigit() else len(text)


# -- what the registry and `slate doctor` call -----------------------------------------------------
def speech(model: str, *, storage: Storage | None = None, base_url: str | None,
           settings: BaseModel | None = None) -> SpeechGenerator:
    return ElevenLabsSpeech(model, base_url=reached_at(NAME, base_url))


def music(model: str, *, storage: Storage | None = None, base_url: str | None,
          settings: BaseModel | None = None) -> MusicGenerator:
    return ElevenLabsMusic(model, base_url=reached_at(NAME, base_url))


def doctor(*, base_url: str | None) -> list[DoctorFinding]:
    try:
        key = provider_key(NAME)
    except MissingKey as exc:
        return [DoctorFinding(NAME, "key", False, str(exc))]
    found = [DoctorFinding(NAME, "key", True, f"key {key.id} from {key.source}")]
    try:
        with _client(reached_at(NAME, base_url)) as client:
            data = http.send(NAME, client, "GET", "/v1/user/subscription", translate=error_for).json()
    except AuthenticationFailed as exc:
        return found + [DoctorFinding(NAME, "key valid", False, str(exc))]
    except OutOfCredit as exc:
        return found + [DoctorFinding(NAME, "credit", False, str(exc))]
    except (ProviderError, ValueError) as exc:
        return found + [DoctorFinding(NAME, "key valid", False, f"could not be checked: {exc}", blocking=False)]
    found.append(DoctorFinding(NAME, "key valid", True, f"key {key.id} is valid (GET /v1/user/subscription)"))
    used, limit = data.get("character_count"), data.get("character_limit")
    if isinstance(used, int) and isinstance(limit, int):
        left = max(0, limit - used)
        found.append(DoctorFinding(NAME, "credit", left > 0, f"{left:,} of {limit:,} characters left this period"
                                   + ("" if left > 0 else ": top up, or enable usage-based billing"), blocking=False))
    return found


#: ElevenLabs' text-to-speech models slate declares: Multilingual v2 (the finer voice, 1 credit a
#: character) by default and for finals, Flash v2.5 (half the price) for drafts.
SPEECH_MODELS = ("eleven_multilingual_v2", "eleven_flash_v2_5")

#: Its music model, and what it makes from a prompt: 3 s to 10 min (the API reference; older docs
#: said 10 s to 5 min [?]); a tempo it takes only as words, held by the music gate.
MUSIC_MODELS = ("music_v1",)
MUSIC_LIMITS = {"music_v1": MusicLimits(min_seconds=3.0, max_seconds=600.0, tempo=None)}
#: The longest prompt it takes.
MUSIC_PROMPT_CHARACTERS = 4100

PROVIDER = ProviderSpec(
    name=NAME,
    offers={"speech": Offer(SPEECH_MODELS, {"draft": "eleven_flash_v2_5"}), "music": Offer(MUSIC_MODELS)},
    base_url="https://api.elevenlabs.io",
    key_vars=("ELEVENLABS_API_KEY",),
    speech=speech, music=music, music_limits=MUSIC_LIMITS, doctor=doctor,
    translate_error=error_for,
    lost_job_hint="the line in ElevenLabs' generation history (speech history), made at that time",
)
