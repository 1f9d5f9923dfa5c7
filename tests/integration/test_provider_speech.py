"""Speech as a paid call: Gemini's speech models and ElevenLabs against their fakes over real HTTP
(tests/fakes/gemini.py, tests/fakes/elevenlabs.py), each line through a real governor priced by the
real rate card.

What is sent is read back where it landed (the fake's book of requests and of lines it spoke); what
the governor makes of each answer is read back from the ledger: one row per line, stage `speech`,
its cost the rate card's price of what the provider reports, no key anywhere in it. Moderation,
rate limits and a lost answer go as for every provider (tests/integration/test_provider_gemini.py,
test_lost_answers.py).
"""
from __future__ import annotations

import io
import wave
from decimal import Decimal
from pathlib import Path

import pytest

from slate.governor.chokepoint import (Answer, CallContext, CallSpec, Governor, RunHalted, Usage, add_listener)
from slate.governor.estimate import line_usage
from slate.governor.ledger import Cap, Ledger
from slate.governor.ratecard import RateCard
from slate.providers import elevenlabs, gemini
from slate.providers.base import SpeechRequest
from slate.providers.errors import BadOutput, BadRequest, OutOfCredit, RefusedByModeration
from slate.providers.storage_local import LocalStorage
from tests.fakes import gemini as fake_gemini
from tests.fakes.control import fake_key, files_holding
from tests.fakes.core import FAKE_CHARS_PER_SECOND

FILM = "night-diner"
FLASH_TTS = "gemini-2.5-flash-preview-tts"
MULTILINGUAL = "eleven_multilingual_v2"
GEORGE = "JBFqnCBsd6RMkjVDRZzb"
LINE = "Black coffee, and whatever pie is left."    # 39 characters


@pytest.fixture
def root(tmp_path, fakes) -> Path:
    return tmp_path / "film"


def gov(root: Path, run_id: str = "run-1") -> Governor:
    card = RateCard.load()
    return Governor(run_id=run_id, film=FILM, root=root, ledger=Ledger.for_project(root),
                    estimate=lambda units, model: card.price(model, units), storage=LocalStorage(root),
                    caps=[Cap("run", Decimal(10)), Cap("film", Decimal(100))], poll_interval=0.02, busy_poll=0.05,
                    retry_wait_cap=2.0, failure_charge=card.failure_charge)


def voice(fakes, provider: str, model: str):
    module = {"gemini": gemini, "elevenlabs": elevenlabs}[provider]
    return module.speech(model, base_url=fakes.url(provider))


def say(g: Governor, speaker, request: SpeechRequest):
    """A line through the governor, as tasks/shot/speech.py asks it: one request, asked again once when lost
    (tasks/shot/speech.py also looks a lost ElevenLabs line up in its history first: test_speech_take)."""
    spec = CallSpec(CallContext(g.run_id, FILM, "scene-01", "1A", "speech", 1, speaker.name, speaker.model, "draft"),
                    line_usage(request.text), request.fingerprint(), prompt=request.text,
                    parameters={"voice": request.voice})
    return g.sync_call(spec, lambda ref: (lambda line: Answer(line.wav, "wav", usage=line.usage))(
        speaker.speak(request, client_ref=ref)), repeatable=True)


def rows(root: Path):
    return Ledger.for_project(root).rows(film=FILM)


def spoken(fakes, provider: str) -> list[dict]:
    return [j for j in fakes.jobs(provider) if j["op"] == "speak"]


def wav_of(storage: LocalStorage, uri: str) -> tuple[int, int, int, int]:
    with wave.open(io.BytesIO(storage.get_bytes(uri)), "rb") as w:
        return w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()


def fault(provider: str, kind: str, **kw) -> dict:
    return {"provider": provider, "op": "speak", "kind": kind, **kw}


# -- 1. the contract: what goes out, what comes back ---------------------------------------------

def test_gemini_is_sent_the_line_its_delivery_and_a_prebuilt_voice(fakes):
    speaker = voice(fakes, "gemini", FLASH_TTS)
    line = speaker.speak(SpeechRequest(LINE, "Kore", {"language_code": "en-US"}, ("quiet", "slow"), seed=7))
    [call] = fakes.requests("gemini")
    assert call["path"] == f"/gemini/v1beta/models/{FLASH_TTS}:generateContent"
    assert call["headers"]["x-goog-api-key"] == fake_key("gemini")
    assert call["body"]["contents"] == [{"role": "user", "parts": [{"text": f"In a quiet, slow voice, say: {LINE}"}]}]
    config = call["body"]["generationConfig"]
    assert config["responseModalities"] == ["AUDIO"] and config["seed"] == 7
    # google-genai 2.34 spells the speech config's fields in snake_case (the API takes either).
    assert config["speechConfig"] == {"language_code": "en-US",
                                      "voice_config": {"prebuilt_voice_config": {"voice_name": "Kore"}}}
    # Raw 24 kHz PCM kept as a 16-bit mono WAV, measured from its samples.
    assert (line.seconds, line.characters) == (pytest.approx(len(call["body"]["contents"][0]["parts"][0]["text"])
                                                             / FAKE_CHARS_PER_SECOND + 0.1, abs=1e-3),
                                               len(f"In a quiet, slow voice, say: {LINE}"))
    with wave.open(io.BytesIO(line.wav), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 24000)
    reported = fake_gemini.speech_usage(f"In a quiet, slow voice, say: {LINE}", line.seconds)
    assert line.usage == {"kind": "speech", "characters": line.characters, "seconds": line.seconds,
                          "input_tokens": reported["promptTokenCount"], "output_tokens": reported["candidatesTokenCount"]}


def test_elevenlabs_is_sent_the_text_the_model_and_the_voice_settings(fakes):
    speaker = voice(fakes, "elevenlabs", MULTILINGUAL)
    line = speaker.speak(SpeechRequest(LINE, GEORGE, {"stability": 0.4, "similarity_boost": 0.8}, ("whispered",),
                                       seed=2 ** 32 + 5))
    [call] = fakes.requests("elevenlabs")
    assert call["method"] == "POST" and call["path"] == f"/elevenlabs/v1/text-to-speech/{GEORGE}"
    assert call["query"] == {"output_format": ["pcm_24000"]}
    assert call["headers"]["xi-api-key"] == fake_key("elevenlabs") and "authorization" not in call["headers"]
    # Delivery words are not sent (the declared models take none); the seed is folded into its range.
    assert call["body"] == {"text": LINE, "model_id": MULTILINGUAL,
                            "voice_settings": {"stability": 0.4, "similarity_boost": 0.8}, "seed": 5}
    assert line.characters == len(LINE) and line.seconds == pytest.approx(len(LINE) / FAKE_CHARS_PER_SECOND + 0.1,
                                                                        abs=1e-3)
    with wave.open(io.BytesIO(line.wav), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 24000)
    assert line.usage == {"kind": "speech", "characters": len(LINE), "seconds": line.seconds}


@pytest.mark.parametrize("provider,model,request_,words", [
    ("gemini", FLASH_TTS, SpeechRequest(LINE, "Kora"), "no voice 'Kora'"),
    ("gemini", FLASH_TTS, SpeechRequest(LINE, "Kore", {"stability": 0.5}), "no setting 'stability'"),
    ("elevenlabs", MULTILINGUAL, SpeechRequest(LINE, GEORGE, {"pitch": 40}), "no setting 'pitch'"),
])
def test_what_a_voice_cannot_take_is_refused_before_anything_is_sent(fakes, provider, model, request_, words):
    with pytest.raises(BadRequest, match=words):
        voice(fakes, provider, model).speak(request_)
    assert fakes.requests(provider) == []


def test_an_elevenlabs_voice_id_the_account_lacks_is_a_bad_request_and_the_doctor_reads_the_quota(fakes, root):
    with pytest.raises(BadRequest, match="voice_not_found"):
        voice(fakes, "elevenlabs", MULTILINGUAL).speak(SpeechRequest(LINE, "NoSuchVoice0000"))
    assert spoken(fakes, "elevenlabs") == []
    fakes.keys({"elevenlabs": {"character_count": 99_000, "character_limit": 100_000}})
    lines = elevenlabs.doctor(base_url=fakes.url("elevenlabs"))
    assert [(f.check, f.ok) for f in lines] == [("key", True), ("key valid", True), ("credit", True)]
    assert "1,000 of 100,000 characters left" in lines[-1].text
    assert fake_key("elevenlabs") not in " ".join(f.text for f in lines)


# -- 2. through the governor: one row, priced by the card, no key ----------------------------------

@pytest.mark.parametrize("provider,model,voice_name", [("gemini", FLASH_TTS, "Puck"),
                                                       ("elevenlabs", MULTILINGUAL, GEORGE)])
def test_a_line_is_one_ledger_row_priced_by_the_rate_card_with_no_key(fakes, root, provider, model, voice_name):
    speaker = voice(fakes, provider, model)
    request = SpeechRequest(LINE, voice_name, seed=3)
    got = say(gov(root), speaker, request)
    [row] = rows(root)
    assert (row.stage, row.status, row.provider, row.model, row.artifact_uri) == \
        ("speech", "succeeded", provider, model, got.uri)
    card = RateCard.load()
    assert row.estimate == card.price(f"{provider}:{model}", line_usage(LINE))    # priced before it was sent
    storage = LocalStorage(root)
    channels, width, rate, frames = wav_of(storage, got.uri)
    seconds = frames / rate
    if provider == "gemini":    # settled at the tokens the answer reports
        sent = spoken(fakes, "gemini")
        usage = fake_gemini.speech_usage(LINE, seconds)
        expected = card.price(f"gemini:{model}", Usage("speech", characters=len(LINE), seconds=seconds,
                                                       input_tokens=usage["promptTokenCount"],
                                                       output_tokens=usage["candidatesTokenCount"]))
        assert len(sent) == 1
    else:                       # settled at the characters it billed: 39 × $0.10 / 1,000
        expected = Decimal("0.0039")
        assert len(spoken(fakes, "elevenlabs")) == 1
    assert row.actual_cost == expected and expected > 0
    assert (channels, width) == (1, 2)
    again = say(gov(root, "run-2"), speaker, request)      # the same line again: found, not paid for
    assert again.reused and again.uri == got.uri and len(rows(root)) == 1
    assert len(spoken(fakes, provider)) == 1
    assert files_holding(fake_key(provider), root) == []   # the key is in no file of the film, ledger included


# -- 3. moderation, rate limits, an empty purse, a lost answer --------------------------------------

@pytest.mark.parametrize("provider,model,voice_name,kind,cost", [
    # A blocked prompt reports its usage: its 10 text tokens (39 characters / 4) × $0.50/M, no audio.
    ("gemini", FLASH_TTS, "Puck", "moderation", Decimal("0.000005")),
    ("elevenlabs", MULTILINGUAL, GEORGE, "moderation", Decimal("0.0039")),   # [?]: counted at the estimate
])
def test_a_refused_line_is_failed_with_its_reason_and_never_asked_again(fakes, root, provider, model, voice_name,
                                                                        kind, cost):
    fakes.faults(fault(provider, kind))
    speaker = voice(fakes, provider, model)
    request = SpeechRequest(LINE, voice_name)
    with pytest.raises(RefusedByModeration):
        say(gov(root), speaker, request)
    [row] = rows(root)
    assert (row.stage, row.status, row.error_class, row.actual_cost) == ("speech", "failed", "RefusedByModeration", cost)
    with pytest.raises(RefusedByModeration, match="refused earlier"):
        say(gov(root, "run-2"), speaker, request)             # never sent again unchanged
    assert len(fakes.requests(provider)) == 1 and len(rows(root)) == 1


def test_a_gemini_line_that_came_back_without_audio_is_a_billed_bad_output(fakes, root):
    fakes.faults(fault("gemini", "no_audio"))
    with pytest.raises(BadOutput, match="no audio came back"):
        say(gov(root), voice(fakes, "gemini", FLASH_TTS), SpeechRequest(LINE, "Puck"))
    [row] = rows(root)
    assert (row.status, row.error_class) == ("failed", "BadOutput") and row.actual_cost == row.estimate > 0


@pytest.mark.parametrize("provider,model,voice_name,body,headers,wait", [
    ("gemini", FLASH_TTS, "Puck", {"error": {"code": 429, "message": "You exceeded your current quota.",
                                             "status": "RESOURCE_EXHAUSTED", "details": [
                                                 {"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                                  "retryDelay": "0.2s"}]}}, {}, 0.2),
    ("elevenlabs", MULTILINGUAL, GEORGE, {"detail": {"status": "too_many_concurrent_requests",
                                                     "message": "Too many concurrent requests."}},
     {"Retry-After": "0.3"}, 0.3),
])
def test_a_rate_limited_line_waits_as_asked_and_is_spoken_once(fakes, root, provider, model, voice_name, body,
                                                               headers, wait):
    fakes.faults(fault(provider, "status", status=429, body=body, headers=headers))
    waits: list[float] = []
    remove = add_listener(lambda p, _s, d: waits.append(d["wait"]) if p.endswith(":retrying") else None)
    try:
        say(gov(root), voice(fakes, provider, model), SpeechRequest(LINE, voice_name))
    finally:
        remove()
    assert waits == [wait]
    assert [(r.status, r.error_class, r.actual_cost) for r in rows(root)][0] == ("failed", "RateLimited", 0)
    assert [r.status for r in rows(root)] == ["failed", "succeeded"]
    assert len(spoken(fakes, provider)) == 1 and len(fakes.requests(provider)) == 2


def test_an_empty_elevenlabs_quota_halts_the_run_at_nothing(fakes, root):
    fakes.faults(fault("elevenlabs", "quota"))
    g = gov(root)
    speaker = voice(fakes, "elevenlabs", MULTILINGUAL)
    with pytest.raises(OutOfCredit, match="out of characters"):
        say(g, speaker, SpeechRequest(LINE, GEORGE))
    [row] = rows(root)
    assert (row.status, row.error_class, row.actual_cost) == ("failed", "OutOfCredit", 0)
    with pytest.raises(RunHalted):
        say(g, speaker, SpeechRequest("Another line entirely.", GEORGE))
    assert spoken(fakes, "elevenlabs") == [] and len(fakes.requests("elevenlabs")) == 1


@pytest.mark.parametrize("provider,model,voice_name", [("gemini", FLASH_TTS, "Puck"),
                                                       ("elevenlabs", MULTILINGUAL, GEORGE)])
def test_a_lost_line_is_asked_again_once_and_both_are_written(fakes, root, provider, model, voice_name):
    fakes.faults(fault(provider, "drop_after"))
    got = say(gov(root), voice(fakes, provider, model), SpeechRequest(LINE, voice_name))
    assert LocalStorage(root).exists(got.uri)
    lost, note, kept = sorted(rows(root), key=lambda r: r.status)
    assert (lost.status, lost.error_class, lost.actual_cost) == ("failed", "AnswerLost", lost.estimate)
    assert lost.estimate > 0 and lost.stage == "speech"
    assert kept.status == "succeeded" and kept.parameters["asked_again_for"] == lost.call_id
    assert note.error_class == "AskedAgain" and note.actual_cost == 0 and lost.call_id in note.error_message
    made = spoken(fakes, provider)
    assert len(made) == 2 and len({m["fingerprint"] for m in made}) == 1     # the one ask again, nothing more
    assert Ledger.for_project(root).open_intents(film=FILM) == []


def test_slate_doctor_checks_the_provider_and_the_price_of_every_voice_of_the_film(example_film, fakes):
    """A film whose character speaks with ElevenLabs: `slate doctor` runs ElevenLabs' own free
    checks (the key, what the quota has left) and holds its speech model to the rate card, though
    no panel, clip or judge of the lineup is ElevenLabs'."""
    import yaml
    from typer.testing import CliRunner

    from slate.cli import app
    bible = yaml.safe_load((example_film / "bible.yaml").read_text())
    bible["characters"][0]["voice"] = {"description": "a man in his forties, low and even", "provider": "elevenlabs",
                                       "model": MULTILINGUAL, "voice": GEORGE}
    (example_film / "bible.yaml").write_text(yaml.safe_dump(bible, sort_keys=False))
    # A sample of the new voice approved (its note, as `slate bible approve` writes it): else slate
    # check refuses a sample spoken by the voice the bible named before.
    import json
    who = bible["characters"][0]["id"]
    (example_film / "characters" / who / f"{who}_voice_APPROVED.voice.json").write_text(json.dumps(
        {"provider": "elevenlabs", "model": MULTILINGUAL, "voice": GEORGE, "settings": {}}))
    fakes.keys({"elevenlabs": {"character_count": 10_000, "character_limit": 100_000}})
    result = CliRunner().invoke(app, ["doctor", str(example_film)])
    said = result.output + result.stderr
    assert result.exit_code == 0, said
    assert "90,000 of 100,000 characters left" in said
    assert f"speech model elevenlabs:{MULTILINGUAL} is priced" in said
    assert fake_key("elevenlabs") not in said
    assert spoken(fakes, "elevenlabs") == []          # nothing spoken: the doctor's checks are free
