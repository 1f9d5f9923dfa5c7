"""The fake ElevenLabs API (under /elevenlabs), in PROVIDERS.md "Speech" §S2's shapes.

    POST /elevenlabs/v1/text-to-speech/{voice_id}?output_format=pcm_24000
         xi-api-key header; JSON {"text", "model_id", "voice_settings"?, "seed"?}
         200: raw signed 16-bit little-endian mono PCM at the rate asked (core.make_speech: a voiced
         buzz at the voice's own pitch, as long as the text takes), headers `x-character-count`
         (the text's characters) and `request-id`
    GET  /elevenlabs/v1/user/subscription   {"tier", "character_count", "character_limit", …}
         (the figures a test sets with POST /_fake/keys {"elevenlabs": {...}})
    GET  /elevenlabs/v1/history?voice_id=&model_id=&date_after_unix=&date_before_unix=&sort_direction=&page_size=
         {"history": [{"history_item_id", "request_id", "voice_id", "voice_name", "model_id", "text",
         "date_unix" (whole seconds), "character_count_change_from", "character_count_change_to",
         "content_type", "state", "source": "TTS"}], "has_more", "last_history_item_id"}: every line
         it spoke (a line whose answer was dropped after speaking included), filtered as asked
    GET  /elevenlabs/v1/history/{history_item_id}/audio   the line as audio/mpeg (MP3, as the API
         reference says; encoded by ffmpeg), whatever format it was asked in

    POST /elevenlabs/v1/music?output_format=mp3_44100_128
         xi-api-key header; JSON {"prompt", "music_length_ms" (3000-600000), "model_id": "music_v1",
         "force_instrumental"?}; 200: the cue as audio/mpeg, `music_length_ms` long — a click track
         at the tempo the prompt names ("96 BPM") with a loud accent at each time it names
         ("exactly at 2.50s"), so what it makes can pass the music gate — and a `song-id` header.
         Booked with `state.create` under op "compose"; faults taken at op "compose".

Errors are {"detail": {"status", "message"}}: no key or a wrong one → 401 invalid_api_key; a voice id
it does not have → 400 voice_not_found (its status code is [?] in the notes); a model it does not
have, a body without text, an output_format it does not offer → 422/400. Every line it speaks is
booked with `state.create` under op "speak".

Faults (core.Fault), taken at op "speak" (or "key" for the subscription, "history" for both history
calls: `status` only):

    status        reply fault.status with fault.body (default: a detail body) and headers
    drop_before   drop the connection before anything is spoken
    drop_after    speak the line (booked), then drop the connection: the answer is lost
    moderation    400 {"detail": {"status": "bad_prompt", "message": "Your prompt appears to have
                  violated our Terms of Service…"}} — the music endpoint's words; the
                  text-to-speech endpoint's are [?]
    quota         401 {"detail": {"status": "quota_exceeded", "message": …}}
    not_audio     200 with a JSON body (the line was spoken and billed; nothing usable came back)

Test code only.
"""
from __future__ import annotations

import uuid

from tests.fakes.core import Drop, Reply, Request, Router, State, make_speech

PROVIDER = "elevenlabs"
P = "/elevenlabs/v1"
MODELS = ("eleven_multilingual_v2", "eleven_flash_v2_5", "eleven_turbo_v2_5", "eleven_v3")
#: Voice ids of the fake account (premade voices' ids, as the docs' examples use them).
VOICES = {"JBFqnCBsd6RMkjVDRZzb": "George", "21m00Tcm4TlvDq8ikWAM": "Rachel", "pNInz6obpgDQGcFmaJgB": "Adam"}
FORMATS = {"pcm_16000": 16000, "pcm_22050": 22050, "pcm_24000": 24000, "pcm_44100": 44100}
REFUSAL = ("Your prompt appears to have violated our Terms of Service. Please try again with a different prompt.")


def detail(status: str, message: str) -> dict:
    return {"detail": {"status": status, "message": message}}


def _keyless(req: Request) -> Reply | None:
    if not req.headers.get("xi-api-key"):
        return Reply(401, detail("invalid_api_key", "Invalid API key"))
    return None


def _early(fault) -> Reply | None:
    if fault is None:
        return None
    if fault.kind == "status":
        return Reply(fault.status, fault.body if fault.body is not None
                     else detail("injected", f"injected {fault.status}"), fault.headers)
    if fault.kind == "drop_before":
        raise Drop()
    if fault.kind == "moderation":
        return Reply(400, detail("bad_prompt", REFUSAL))
    if fault.kind == "quota":
        return Reply(401, detail("quota_exceeded", "This request exceeds your quota of 10000. You have 12 credits "
                                                   "remaining, while 60 credits are required for this request."))
    return None


def text_to_speech(st: State, req: Request) -> Reply:
    denied = _keyless(req)
    if denied:
        return denied
    voice = req.params["voice_id"]
    body = req.json or {}
    fmt = (req.query.get("output_format") or ["mp3_44100_128"])[0]
    if fmt not in FORMATS:
        return Reply(400, detail("invalid_output_format", f"this fake answers only {', '.join(FORMATS)}, not {fmt}"))
    if not isinstance(body.get("text"), str) or not body["text"]:
        return Reply(422, {"detail": [{"loc": ["body", "text"], "msg": "field required", "type": "value_error.missing"}]})
    model = body.get("model_id", "eleven_multilingual_v2")
    if model not in MODELS:
        return Reply(400, detail("model_not_found", f"A model with model ID {model} does not exist"))
    if voice not in VOICES:
        return Reply(400, detail("voice_not_found", f"A voice with voice_id {voice} does not exist."))
    fault = st.take(PROVIDER, "speak", model, text=body["text"])
    early = _early(fault)
    if early:
        return early
    st.create(PROVIDER, "speak", model, {"voice": voice, "query": req.query, **body}, voice=voice, text=body["text"],
              rate=FORMATS[fmt])
    if fault is not None and fault.kind == "drop_after":
        raise Drop()
    if fault is not None and fault.kind == "not_audio":
        return Reply(200, {"status": "ok"})
    headers = {"x-character-count": str(len(body["text"])), "request-id": uuid.uuid4().hex}
    return Reply(200, make_speech(body["text"], voice, FORMATS[fmt]), headers, content_type="application/octet-stream")


def subscription(st: State, req: Request) -> Reply:
    denied = _keyless(req)
    if denied:
        return denied
    fault = st.take(PROVIDER, "key")
    early = _early(fault)
    if early:
        return early
    with st.lock:
        figures = dict(st.keys.get(PROVIDER) or {})
    return Reply(200, {"tier": "creator", "character_count": 1200, "character_limit": 100000, **figures})


def _spoken(st: State) -> list[dict]:
    with st.lock:
        return [dict(j) for j in st.jobs.values() if j["provider"] == PROVIDER and j["op"] == "speak"]


def _item(job: dict) -> dict:
    return {"history_item_id": job["id"], "request_id": job["id"], "voice_id": job["voice"],
            "voice_name": VOICES.get(job["voice"], ""), "model_id": job["model"], "text": job["text"],
            "date_unix": int(job["created"]), "character_count_change_from": 0,
            "character_count_change_to": len(job["text"]), "content_type": "audio/mpeg", "state": "created",
            "source": "TTS"}


def history(st: State, req: Request) -> Reply:
    denied = _keyless(req) or _early(st.take(PROVIDER, "history"))
    if denied:
        return denied
    q = {k: v[0] for k, v in req.query.items() if v}
    items = [_item(j) for j in _spoken(st)
             if q.get("voice_id", j["voice"]) == j["voice"] and q.get("model_id", j["model"]) == j["model"]
             and int(q.get("date_after_unix", 0)) <= int(j["created"])
             and ("date_before_unix" not in q or int(j["created"]) < int(q["date_before_unix"]))]
    items.sort(key=lambda i: i["date_unix"], reverse=q.get("sort_direction", "desc") != "asc")
    page = items[:int(q.get("page_size", 100))]
    return Reply(200, {"history": page, "has_more": len(items) > len(page),
                       "last_history_item_id": page[-1]["history_item_id"] if page else None})


def history_audio(st: State, req: Request) -> Reply:
    denied = _keyless(req) or _early(st.take(PROVIDER, "history"))
    if denied:
        return denied
    job = next((j for j in _spoken(st) if j["id"] == req.params["item_id"]), None)
    if job is None:
        return Reply(404, detail("history_item_not_found", f"History item {req.params['item_id']} not found"))
    return Reply(200, _mp3(make_speech(job["text"], job["voice"], job["rate"]), job["rate"]), content_type="audio/mpeg")


def _mp3(pcm: bytes, rate: int) -> bytes:
    """The line as an MP3, as the history serves its audio (the fake's own ffmpeg, the product's)."""
    import subprocess

    import imageio_ffmpeg
    return subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "s16le", "-ar", str(rate), "-ac", "1",
                           "-i", "pipe:0", "-c:a", "libmp3lame", "-b:a", "64k", "-f", "mp3", "pipe:1"],
                          input=pcm, capture_output=True, check=True).stdout


MUSIC_MODELS = ("music_v1",)


def _click_track(prompt: str, seconds: float, rate: int = 44100) -> bytes:
    """A cue as the prompt asks it: a click on each beat of the tempo it names, an accent (four
    times as loud, longer) at each time it names after "exactly at"; 16-bit mono PCM."""
    import re

    import numpy as np
    bpm = float((re.search(r"(\d+(?:\.\d+)?) BPM", prompt) or [0, 100])[1])
    accents = [float(t) for t in re.findall(r"(\d+\.\d+)s", prompt.split("exactly at", 1)[1])] \
        if "exactly at" in prompt else []
    n = int(round(seconds * rate))
    out = np.zeros(n)
    t = np.arange(int(0.05 * rate)) / rate
    click = np.sin(2 * np.pi * 880 * t) * np.exp(-t * 60) * 0.15
    t2 = np.arange(int(0.3 * rate)) / rate
    accent = np.sin(2 * np.pi * 110 * t2) * np.exp(-t2 * 8) * 0.6
    beat = 60.0 / bpm
    for start, sound in [(i * beat, click) for i in range(int(seconds / beat) + 1)] + [(a, accent) for a in accents]:
        i = int(round(start * rate))
        if i < n:
            out[i:i + len(sound)] += sound[:n - i]
    return (np.clip(out, -1, 1) * 32767).astype("<i2").tobytes()


def compose(st: State, req: Request) -> Reply:
    denied = _keyless(req)
    if denied:
        return denied
    body = req.json or {}
    model = body.get("model_id", "music_v1")
    length = body.get("music_length_ms")
    if not isinstance(body.get("prompt"), str) or not body["prompt"]:
        return Reply(422, {"detail": [{"loc": ["body", "prompt"], "msg": "field required", "type": "value_error.missing"}]})
    if not isinstance(length, int) or not 3000 <= length <= 600000:
        return Reply(422, {"detail": [{"loc": ["body", "music_length_ms"], "msg": "ensure this value is between "
                                       "3000 and 600000", "type": "value_error"}]})
    if model not in MUSIC_MODELS:
        return Reply(400, detail("model_not_found", f"A model with model ID {model} does not exist"))
    fault = st.take(PROVIDER, "compose", model, text=body["prompt"])
    early = _early(fault)
    if early:
        return early
    job = st.create(PROVIDER, "compose", model, {"query": req.query, **body}, prompt=body["prompt"])
    if fault is not None and fault.kind == "drop_after":
        raise Drop()
    if fault is not None and fault.kind == "not_audio":
        return Reply(200, {"status": "ok"})
    return Reply(200, _mp3(_click_track(body["prompt"], length / 1000), 44100), {"song-id": job["id"]},
                 content_type="audio/mpeg")


def register(router: Router) -> None:
    router.add("POST", P + r"/music", compose)
    router.add("POST", P + r"/text-to-speech/(?P<voice_id>[A-Za-z0-9]+)", text_to_speech)
    router.add("GET", P + r"/user/subscription", subscription)
    router.add("GET", P + r"/history/(?P<item_id>[A-Za-z0-9]+)/audio", history_audio)
    router.add("GET", P + r"/history", history)
