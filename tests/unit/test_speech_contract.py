"""Speech in the provider contract (providers/base.py SpeechGenerator, providers/spec.py, the
registry), held on the local voice — the real eSpeak NG one, offline — and on what a spec may say.

A line comes back as a 16-bit mono WAV measured from its samples (providers/audio.py), whatever
shape the provider answered in; what is not such a WAV is a billed BadOutput, never kept.
"""
from __future__ import annotations

import io
import wave

import numpy as np
import pytest

from slate.media.voiceprint import signature, voice_distance
from slate.providers import registry
from slate.providers.audio import pcm16_wav, spoken_line, wav_seconds
from slate.providers.base import KeepsSpeech, SpeechGenerator, SpeechRequest
from slate.providers.errors import BadOutput, BadRequest, NotReceived
from slate.providers.local import LocalSettings
from slate.providers.local_speech import LOCAL_VOICES, local_voice, read_wav, speak
from slate.providers.spec import Offer, ProviderSpec, SPEECH, SpecError
from slate.providers.storage_local import LocalStorage

LINE = "The last bus left an hour ago, so we walk."


def samples(wav: bytes) -> np.ndarray:
    with wave.open(io.BytesIO(wav), "rb") as src:
        return np.frombuffer(src.readframes(src.getnframes()), dtype="<i2")


def test_the_local_voice_speaks_a_request_through_the_registry(tmp_path):
    voice = registry.build(SPEECH, "local", LocalStorage(tmp_path))
    assert isinstance(voice, SpeechGenerator) and isinstance(voice, KeepsSpeech)
    assert (voice.name, voice.model) == ("local", "local-espeak-v1")
    line = voice.speak(SpeechRequest(LINE, "female_low"))
    heard = samples(line.wav)
    # The same samples eSpeak makes for that voice, measured from the file itself.
    assert np.array_equal(heard, speak(LINE, LOCAL_VOICES["female_low"]).samples)
    assert line.seconds == pytest.approx(len(heard) / 22050) and 1.5 < line.seconds < 5
    assert line.characters == len(LINE)
    assert line.usage == {"kind": "speech", "characters": len(LINE), "seconds": line.seconds}


def test_settings_and_delivery_reach_the_voice_and_a_setting_it_lacks_is_named():
    voice = registry.build(SPEECH, "local")
    base = voice.speak(SpeechRequest(LINE, "male_low"))
    fast = voice.speak(SpeechRequest(LINE, "male_low", delivery=("fast",)))
    higher = voice.speak(SpeechRequest(LINE, "male_low", settings={"pitch": 70}))
    assert fast.seconds < 0.95 * base.seconds                      # said faster: shorter
    low, high = signature(samples(base.wav), 22050), signature(samples(higher.wav), 22050)
    assert low is not None and high is not None and high.f0 > 1.2 * low.f0
    assert local_voice("en+f3", {"rate": 200}).rate == 200         # any eSpeak voice, by its name
    with pytest.raises(BadRequest, match="no setting 'stability'"):
        voice.speak(SpeechRequest(LINE, "male_low", settings={"stability": 0.5}))
    with pytest.raises(BadRequest, match="no variant 'nobody'"):
        voice.speak(SpeechRequest(LINE, "en+nobody"))


def local_voice_with(settings: LocalSettings) -> SpeechGenerator:
    """The local voice as the registry builds it for a film whose settings say `settings`."""
    build = registry.provider("local").speech
    assert build is not None
    return build("local-espeak-v1", storage=None, base_url=None, settings=settings)


def test_the_fault_mode_gives_wrong_lines_to_a_seeded_share():
    clean = registry.build(SPEECH, "local")
    wrong = local_voice_with(LocalSettings(fault_rate=1.0, fault_seed=2, fault_kinds="wrong_voice"))
    assert wrong.variant == {"fault_rate": 1.0, "fault_seed": 2, "fault_kinds": ["wrong_voice"]}
    request = SpeechRequest(LINE, "female_high", seed=4)
    clean_sig = signature(samples(clean.speak(request).wav), 22050)
    wrong_sig = signature(samples(wrong.speak(request).wav), 22050)
    assert clean_sig is not None and wrong_sig is not None
    assert voice_distance(clean_sig, wrong_sig) > 3.2              # another voice of the cast, as the gate sees it
    # A picture's fault leaves a line as spoken.
    pictures = local_voice_with(LocalSettings(fault_rate=1.0, fault_kinds="recolour"))
    assert pictures.speak(request).wav == clean.speak(request).wav


def test_a_line_received_is_booked_and_kept_by_our_call_id(tmp_path):
    storage = LocalStorage(tmp_path)
    voice = registry.build(SPEECH, "local", storage)
    request = SpeechRequest(LINE, "child", delivery=("slow",))
    line = voice.speak(request, client_ref="call-1")
    book = tmp_path / ".slate" / "local-jobs" / "speech"
    assert (book / "call-1.wav").read_bytes() == line.wav          # kept by our call id as it was answered
    assert voice.recover("call-1").wav == line.wav                 # the answer a dead run never got
    (book / "call-2.request.json").write_text((book / "call-1.request.json").read_text())
    assert not (book / "call-2.wav").exists()
    assert voice.recover("call-2").wav == line.wav                 # received, never finished: spoken now
    assert (book / "call-2.wav").read_bytes() == line.wav
    assert [s["client_ref"] for s in voice.submissions()] == ["call-1"]
    with pytest.raises(NotReceived):
        voice.recover("never-sent")


def test_a_wav_is_held_to_16_bit_mono_and_measured_from_its_samples():
    pcm = (np.sin(np.arange(24000) / 10) * 8000).astype("<i2").tobytes()
    wav = pcm16_wav(pcm, 24000)
    assert wav_seconds("toy", wav) == 1.0 and np.array_equal(samples(wav), np.frombuffer(pcm, "<i2"))
    line = spoken_line("toy", wav, 12, {"input_tokens": 3, "output_tokens": 32})
    assert line.usage == {"kind": "speech", "characters": 12, "seconds": 1.0, "input_tokens": 3, "output_tokens": 32}
    stereo = io.BytesIO()
    with wave.open(stereo, "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(24000)
        out.writeframes(pcm)
    for bad, words in ((stereo.getvalue(), "2 channel"), (pcm16_wav(b"", 24000), "no samples"),
                       (b"RIFF....not a wave", "not a WAV"), (pcm16_wav(pcm, 4000), "outside")):
        with pytest.raises(BadOutput, match=words):
            wav_seconds("toy", bad)


def test_every_speech_model_resolves_for_a_voice_and_named_voices_are_checked():
    assert registry.speech_model("local", None, "draft").model == "local-espeak-v1"
    assert str(registry.speech_model("gemini", None, "hero")) == "gemini:gemini-2.5-pro-preview-tts"
    assert str(registry.speech_model("elevenlabs", None, "draft")) == "elevenlabs:eleven_flash_v2_5"
    assert str(registry.speech_model("elevenlabs", None, "final")) == "elevenlabs:eleven_multilingual_v2"
    with pytest.raises(registry.UnknownProvider, match="replicate offers no speech model"):
        registry.speech_model("replicate", None, "draft")
    assert registry.unknown_voice("gemini:gemini-2.5-flash-preview-tts", "Kore") is None
    said = registry.unknown_voice("gemini:gemini-2.5-flash-preview-tts", "Kora")
    assert said is not None and "did you mean Kore?" in said
    assert registry.unknown_voice("elevenlabs:eleven_multilingual_v2", "JBFqnCBsd6RMkjVDRZzb") is None   # any id


def test_a_spec_that_offers_speech_needs_a_speech_factory_and_its_voices_a_model():
    def factory(*a, **k):
        raise AssertionError("not built")
    with pytest.raises(SpecError, match="offers speech models but no speech factory"):
        ProviderSpec(name="toy", offers={"speech": Offer(("v1",))})
    with pytest.raises(SpecError, match="voices declared for 'v2'"):
        ProviderSpec(name="toy", offers={"speech": Offer(("v1",))}, speech=factory, voices={"v2": ("Ann",)})
    with pytest.raises(SpecError, match="non-empty list"):
        ProviderSpec(name="toy", offers={"speech": Offer(("v1",))}, speech=factory, voices={"v1": ()})
    spec = ProviderSpec(name="toy", offers={"speech": Offer(("v1",))}, speech=factory, voices={"v1": ("Ann",)})
    assert spec.voices_of("v1") == ("Ann",) and spec.catalogue() == {"speech": {"models": ("v1",), "default": {}}}


def test_read_wav_reads_what_the_local_voice_keeps(tmp_path):
    line = registry.build(SPEECH, "local").speak(SpeechRequest("Hello there.", "narrator"))
    (tmp_path / "line.wav").write_bytes(line.wav)
    assert np.array_equal(read_wav(tmp_path / "line.wav").samples, samples(line.wav))
