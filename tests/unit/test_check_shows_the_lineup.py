"""`slate check` shows the whole lineup and refuses a model it has no key for (issue 56, item 4).

It said `ok` for a hosted lip-sync model with no key (the run then refused at $0), and never named
the models the film's lines are spoken with. Here: the real command line on the example, the
provider keys taken out of the environment and no Prefect server configured (a key may live in a
Secret block on one: that is `slate doctor`'s and the run's to read).
"""
from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

from slate.cli import app
from slate.governor.ledger import Ledger

KEYS = ("REPLICATE_API_TOKEN", "FAL_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "OPENROUTER_API_KEY",
        "ELEVENLABS_API_KEY")


@pytest.fixture
def keyless(monkeypatch, tmp_path):
    for name in (*KEYS, "PREFECT_API_URL", "PREFECT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PREFECT_PROFILES_PATH", str(tmp_path / "no-profiles.toml"))   # no server configured


def _check(root, *flags):
    return CliRunner().invoke(app, ["check", str(root), *flags])


def test_a_hosted_lip_sync_with_no_key_is_refused_naming_the_flag_and_the_variable(example_film, keyless,
                                                                                   monkeypatch):
    out = _check(example_film, "--lipsync-model", "replicate")
    assert out.exit_code == 1, out.output
    [line] = [x for x in out.output.splitlines() if x.startswith("error:")]
    assert "command line: --lipsync-model:" in line and "REPLICATE_API_TOKEN" in line, line
    assert "refuse at $0" in line
    with Ledger.for_project(example_film) as ledger:
        assert ledger.rows() == []
    monkeypatch.setenv("REPLICATE_API_TOKEN", "r8_" + "x" * 30)
    out = _check(example_film, "--lipsync-model", "replicate")
    assert out.exit_code == 0, out.output
    assert "lip-sync replicate:sync/lipsync-2 (told to this run)" in out.output
    assert "r8_xxx" not in out.output   # a key is never shown


def test_the_models_line_names_every_model_the_run_uses_speech_included(example_film, keyless):
    out = _check(example_film, "--profile", "final", "--upscale-model", "comfyui:upscale-esrgan")
    assert out.exit_code == 0, out.output
    [models] = [x for x in out.output.splitlines() if x.startswith("models: ")]
    for words in ("panels local:", "video local:", "judge local:", "lip-sync local:local-lipsync-v1",
                  "upscale comfyui:upscale-esrgan (told to this run)", "speech local:local-espeak-v1 (bible.yaml: jenny, gabe)"):
        assert words in models, (words, models)


def test_a_voice_on_a_keyless_vendor_is_refused_on_its_bible_field(example_film, keyless):
    path = example_film / "bible.yaml"
    bible = yaml.safe_load(path.read_text())
    [i] = [n for n, c in enumerate(bible["characters"]) if c["id"] == "jenny"]
    bible["characters"][i]["voice"].update(provider="elevenlabs", voice="21m00Tcm4TlvDq8ikWAM")
    path.write_text(yaml.safe_dump(bible, sort_keys=False))
    out = _check(example_film)
    assert out.exit_code == 1, out.output
    assert any(f"bible.yaml: characters[{i}].voice.provider:" in x and "ELEVENLABS_API_KEY" in x
               for x in out.output.splitlines()), out.output
