"""The sound a video model makes (issue 23, model audio), with real ffmpeg and the real fakes.

- `slate run --model-audio` asks the local video model for its sound (its clips and the cut carry
  it); "off" on the film flow's form over a slate.toml that turns it on asks none, and makes the
  scene again.
- Offline: a scene rendered by the local provider with `model_audio = true` keeps each clip's own
  sound in the finished cut — an audio stream, loud where each shot plays, at the pitch of that
  shot's clip — and its video rows are priced with audio (the rehearsal priced as Veo 3.1 fast).
- Through the Replicate fake: Veo 3.1 fast asked for its sound is sent `generate_audio: true`, the
  clip that comes back has an AAC track, and the ledger row holds the with-audio price ($0.15/s);
  not asked, it is sent `false`, comes back silent and is booked at $0.10/s.
- The request bodies of fal's and OpenRouter's Seedance 2.0 carry the field; their other models not.
- `slate check` warns, naming the scene's shots and the model, when sound is asked of a model that
  makes none, or a model always makes it while it is not asked.
"""
from __future__ import annotations

import types
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from slate.governor.chokepoint import CallContext, CallSpec, Governor, Usage
from slate.governor.ledger import Cap, Ledger
from slate.governor.ratecard import RateCard
from slate.media import probe
from slate.media.ffmpeg import ffmpeg_exe
from slate.providers import fal, openrouter, replicate
from slate.providers.base import ClipRequest
from slate.cli import app
from tests.fakes.core import FAKE_TONE_HZ
from tests.scene_cuts import keep_shots

FILM = "night-diner"
RATE = 16000   # the rate the tests decode sound at: plenty for a tone of a few hundred Hz
VEO = "google/veo-3.1-fast"


# -- helpers ------------------------------------------------------------------------------------
def _pcm(path, start: float, seconds: float) -> np.ndarray:
    """The first audio stream of `path` from `start` for `seconds`, mono float samples in [-1, 1]."""
    done = __import__("subprocess").run(
        [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-ss", f"{start:.3f}", "-t", f"{seconds:.3f}",
         "-i", str(path), "-map", "0:a:0", "-ac", "1", "-ar", str(RATE), "-f", "s16le", "-"],
        capture_output=True, check=True)
    return np.frombuffer(done.stdout, dtype="<i2").astype(np.float64) / 32768.0


def _level_db(samples: np.ndarray) -> float:
    rms = float(np.sqrt(np.mean(samples ** 2))) if samples.size else 0.0
    return 20 * np.log10(max(rms, 1e-9))


def _pitch(samples: np.ndarray) -> float:
    """The strongest frequency of the samples, in Hz."""
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    spectrum[:int(100 * samples.size / RATE)] = 0   # below 100 Hz: the noise bed's rumble, not a tone
    return float(np.argmax(spectrum) * RATE / samples.size)


def _set(root: Path, **values) -> None:
    """Top-level settings added to the project's slate.toml (the example's has no table)."""
    with (root / "slate.toml").open("a") as f:
        for k, v in values.items():
            f.write(f"{k} = {'true' if v is True else 'false' if v is False else repr(v).replace(chr(39), chr(34))}\n")


# -- 2. through the Replicate fake: the field on the wire, the price in the ledger --------------
@pytest.fixture
def panel(painted):
    return types.SimpleNamespace(root=painted.root, storage=painted.storage, start=painted.drawn[0])


def _clip(start: str, audio: bool) -> ClipRequest:
    return ClipRequest(prompt="Nina crosses the wet street to the diner door.", start_uri=start, end_uri=None,
                       seconds=3.0, width=1280, height=720, fps=24, resolution="720p", movement="static",
                       camera_fixed=True, seed=7, audio=audio)


@pytest.mark.parametrize("audio, price", [(True, "0.600000"), (False, "0.400000")])
def test_veo_fast_on_replicate_is_asked_for_its_sound_and_booked_at_that_price(panel, fakes, audio, price):
    card = RateCard.load(panel.root)
    g = Governor(run_id="run-1", film=FILM, root=panel.root, ledger=Ledger.for_project(panel.root),
                 estimate=lambda units, key: card.price(key, units), storage=panel.storage, caps=[Cap("run", Decimal("10")), Cap("film", Decimal("100"))],
                 poll_interval=0.01, busy_poll=0.05, retry_wait_cap=0.2, failure_charge=card.failure_charge)
    v = replicate.video(VEO, storage=panel.storage, base_url=fakes.url("replicate"))
    req = _clip(panel.start, audio)
    # The units as tasks/shot/video.py builds them from the request.
    spec = CallSpec(CallContext("run-1", FILM, "scene-01", "1A", "video", 1, "replicate", VEO, "final"),
                    Usage("video", seconds=req.seconds, resolution=req.resolution, audio=req.audio), req.fingerprint())
    done = g.job_call(spec, submit=lambda ref: v.submit(req, client_ref=ref), poll=v.poll, download=v.download,
                      suffix="mp4", deadline=60, poll_interval=0.01, find=v.find_job, cancel=v.cancel)

    [post] = [r for r in fakes.requests("replicate") if r["method"] == "POST" and r["path"].endswith("/predictions")]
    assert post["body"]["input"]["generate_audio"] is audio      # always said, true or false
    [row] = Ledger.for_project(panel.root).rows(film=FILM)
    assert (row.status, row.actual_cost) == ("succeeded", Decimal(price))   # 4 s × $0.15 or × $0.10
    clip = panel.storage.open_local(done.uri)
    assert probe(clip).has_audio is audio
    if audio:   # the fake model's own sound, not silence
        sound = _pcm(clip, 0.5, 2.0)
        assert _level_db(sound) > -35 and abs(_pitch(sound) - FAKE_TONE_HZ) <= 4


def test_the_field_goes_only_to_the_models_that_take_it(panel):
    """fal's Seedance 2.0 and OpenRouter's take `generate_audio`; fal's Kling and v1, and
    OpenRouter's mini (nothing in the notes of its sound), are never sent it."""
    png = panel.storage.get_bytes(panel.start)
    for audio in (True, False):
        req = _clip(panel.start, audio)
        assert fal.video_input("bytedance/seedance-2.0/image-to-video", req, png, None)["generate_audio"] is audio
        for other in ("fal-ai/kling-video/v2.1/pro/image-to-video", "fal-ai/bytedance/seedance/v1/pro/image-to-video"):
            assert "generate_audio" not in fal.video_input(other, req, png, None)
        for model, takes in (("bytedance/seedance-2.0", True), ("bytedance/seedance-2.0-mini", False)):
            body = openrouter.video(model, storage=panel.storage, base_url="http://127.0.0.1:9").body(req)
            assert body.get("generate_audio", "absent") == (audio if takes else "absent")
        assert "generate_audio" not in replicate.clip_inputs("bytedance/seedance-1-pro", req, png, None)


# -- 3. `slate check`: asked of a model that makes none -----------------------------------------
def _check(root: Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["check", str(root)])
    return result.exit_code, result.output


def test_check_warns_naming_the_shots_and_the_model_that_makes_no_sound(example_film, provider_keys):
    kling = "fal:fal-ai/kling-video/v2.1/pro/image-to-video"
    keep_shots(example_film, ("1A", "1C"))
    _set(example_film, model_audio=True, video_model=kling)
    code, out = _check(example_film)
    assert code == 0, out   # a warning: nothing is paid for sound the model does not make
    said = " ".join(out.split())
    assert f"scenes/scene-01.yaml: model_audio: shots 1A, 1C: video model {kling} makes no sound" in said, out

    # The same lineup with a model that takes generate_audio: nothing to say.
    text = (example_film / "slate.toml").read_text().replace(kling, "fal:bytedance/seedance-2.0/image-to-video")
    (example_film / "slate.toml").write_text(text)
    code, out = _check(example_film)
    assert "model_audio" not in out, out


def test_check_says_gemini_veo_makes_its_sound_unasked(example_film):
    keep_shots(example_film, ("1A",))
    _set(example_film, video_model="gemini:veo-3.1-fast-generate-preview")
    code, out = _check(example_film)
    said = " ".join(out.split())
    assert ("shot 1A: video model gemini:veo-3.1-fast-generate-preview always makes its sound" in said
            and "with-audio price" in said), out


# -- 4. the setting, and the rate card's with-audio entry --------------------------------------
def test_model_audio_is_off_unless_the_film_maker_turns_it_on(tmp_path):
    from slate.manifests.settings import model_audio, project_settings
    assert not any(model_audio(project_settings(tmp_path), p) for p in ("draft", "final", "hero"))
    (tmp_path / "slate.toml").write_text("[models.final]\naudio = true\n")
    settings = project_settings(tmp_path)
    assert [model_audio(settings, p) for p in ("draft", "final", "hero")] == [False, True, False]
    (tmp_path / "slate.toml").write_text("model_audio = false\n[models.final]\naudio = true\n")
    assert not model_audio(project_settings(tmp_path), "final")   # the setting for every profile wins


def test_a_with_audio_entry_holds_only_money(tmp_path):
    from slate.governor.ratecard import RateCardError
    (tmp_path / "rates.toml").write_text(
        '[models."replicate:google/veo-3.1-fast"]\nkind = "video"\nper_second = "0.10"\n'
        'with_audio = { per_second = "0.15", durations = [4] }\nsource = "test"\nconfidence = "S"\n')
    with pytest.raises(RateCardError, match="with_audio must be a table of the money of one scheme"):
        RateCard.load(tmp_path)


def test_a_spec_declares_sound_only_for_its_own_video_models_and_known_ways():
    from slate.providers.spec import Offer, ProviderSpec, SpecError
    def made(*_, **__):   # a factory that is never called
        return None
    ok = ProviderSpec("studio", {"video": Offer(("m1", "m2"))}, video=made, audio={"m1": "field", "m2": "always"})
    assert [ok.audio_of(m) for m in ("m1", "m2", "m3")] == ["field", "always", "none"]
    with pytest.raises(SpecError, match="audio declared for 'm9'"):
        ProviderSpec("studio", {"video": Offer(("m1",))}, video=made, audio={"m9": "field"})
    with pytest.raises(SpecError, match="audio of 'm1': one of field, always"):
        ProviderSpec("studio", {"video": Offer(("m1",))}, video=made, audio={"m1": "sometimes"})
