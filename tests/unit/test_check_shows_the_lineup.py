"""`slate check` shows the whole lineup and refuses a model it has no key for (issue 56, item 4).

It said `ok` for a hosted lip-sync model with no key (the run then refused at $0), and never named
the models the film's lines are spoken with. Here: the real command line, in its own process as a
person types it, on the example, with the provider keys taken out of its environment and no Prefect
server configured (a key may live in a Secret block on one: that is `slate doctor`'s and the run's
to read). In-process, a test worker that once adopted an embedded server is "configured" for good.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

from slate.governor.ledger import Ledger

KEYS = ("REPLICATE_API_TOKEN", "FAL_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "OPENROUTER_API_KEY",
        "ELEVENLABS_API_KEY")


@pytest.fixture
def keyless(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in KEYS and not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(tmp_path / "prefect-home"), PREFECT_PROFILES_PATH=str(tmp_path / "no-profiles.toml"))
    return env


def _check(root, env, *flags):
    return subprocess.run([sys.executable, "-m", "slate.cli", "check", str(root), *flags], capture_output=True,
                          text=True, env=env, timeout=180)


def test_a_hosted_lip_sync_with_no_key_is_refused_naming_the_flag_and_the_variable(example_film, keyless):
    out = _check(example_film, keyless, "--lipsync-model", "replicate")
    assert out.returncode == 1, out.stdout + out.stderr
    [line] = [x for x in (out.stdout + out.stderr).splitlines() if x.startswith("error:")]
    assert "command line: --lipsync-model:" in line and "REPLICATE_API_TOKEN" in line, line
    assert "refuse at $0" in line
    with Ledger.for_project(example_film) as ledger:
        assert ledger.rows() == []
    out = _check(example_film, {**keyless, "REPLICATE_API_TOKEN": "r8_" + "x" * 30}, "--lipsync-model", "replicate")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "lip-sync replicate:sync/lipsync-2 (told to this run)" in out.stdout
    assert "r8_xxx" not in out.stdout + out.stderr   # a key is never shown


def test_a_judge_on_a_model_server_needs_no_key_and_its_model_is_named_as_the_server_lists_it(example_film, keyless):
    """Issue 60: a local vLLM takes no key, and its model ids have slashes, capitals and colons."""
    out = _check(example_film, keyless, "--judge", "vlm:Qwen/Qwen2.5-VL-7B-Instruct")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "judge vlm:Qwen/Qwen2.5-VL-7B-Instruct (told to this run) $0.00" in out.stdout
    assert "judge vlm:Qwen/Qwen2.5-VL-7B-Instruct: not measured (slate judge-trial" in out.stdout
    out = _check(example_film, keyless, "--judge", "vlm:qwen2.5vl:7b")   # Ollama's id: not priced by slate
    assert out.returncode == 1
    assert "no judge rate for 'vlm:qwen2.5vl:7b'" in out.stdout + out.stderr and "rates.toml" in out.stdout + out.stderr
    assert "VLM_API_KEY" not in out.stdout + out.stderr


def test_the_models_line_names_every_model_the_run_uses_speech_included(example_film, keyless):
    out = _check(example_film, keyless, "--profile", "final", "--upscale-model", "comfyui:upscale-esrgan")
    assert out.returncode == 0, out.stdout + out.stderr
    [models] = [x for x in out.stdout.splitlines() if x.startswith("models: ")]
    for words in ("panels local:", "video local:", "judge local:", "lip-sync local:local-lipsync-v1",
                  "upscale comfyui:upscale-esrgan (told to this run)", "speech local:local-espeak-v1 (bible.yaml: jenny, gabe)"):
        assert words in models, (words, models)


def test_a_voice_on_a_keyless_vendor_is_refused_on_its_bible_field(example_film, keyless):
    path = example_film / "bible.yaml"
    bible = yaml.safe_load(path.read_text())
    [i] = [n for n, c in enumerate(bible["characters"]) if c["id"] == "jenny"]
    bible["characters"][i]["voice"].update(provider="elevenlabs", voice="21m00Tcm4TlvDq8ikWAM")
    path.write_text(yaml.safe_dump(bible, sort_keys=False))
    out = _check(example_film, keyless)
    assert out.returncode == 1, out.stdout + out.stderr
    assert any(f"bible.yaml: characters[{i}].voice.provider:" in x and "ELEVENLABS_API_KEY" in x
               for x in (out.stdout + out.stderr).splitlines()), out.stdout + out.stderr


def test_each_model_is_shown_with_what_it_costs_and_the_parts_make_the_estimate(example_film, keyless):
    """Each model of the lineup with one take of everything it makes, priced from the rate card: the
    lip-sync model its two talking shots' seconds (1D 2.5 s, 1F 2 s), and the parts add up to the
    estimate's one take per shot."""
    import re
    from decimal import Decimal

    from slate.governor.chokepoint import Usage
    from slate.governor.ratecard import RateCard
    sync = "replicate:sync/lipsync-2"
    env = {**keyless, "REPLICATE_API_TOKEN": "r8_" + "x" * 30}
    flags = ("--video-model", "replicate:bytedance/seedance-1-lite", "--lipsync-model", sync)
    out = subprocess.run([sys.executable, "-m", "slate.cli", "estimate", str(example_film), *flags],
                         capture_output=True, text=True, env=env, timeout=180)
    assert out.returncode == 0, out.stdout + out.stderr
    [models] = [x for x in out.stdout.splitlines() if x.startswith("models: ")]
    card = RateCard.load(example_film)
    synced = sum((card.price(sync, Usage("lipsync", seconds=s)) for s in (2.5, 2.0)), Decimal(0))
    assert f"lip-sync {sync} (told to this run) ${synced:.2f}" in models, (synced, models)
    parts = [Decimal(x) for x in re.findall(r"\) \$(\d+\.\d\d)", models)]
    assert len(parts) == 6, models    # panels, video, judge, lip-sync, speech, music (issue 59: the example's cue)
    [low] = re.findall(r"range: \$(\d+\.\d\d) \(one take per shot\)", out.stdout)
    assert sum(parts) == Decimal(low), (parts, low)
