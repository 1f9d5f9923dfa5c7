"""The gate policy (judges measure, the policy decides) and slate's own motion sanity of clips."""
from __future__ import annotations

import numpy as np
import pytest
import yaml
from PIL import Image
from typer.testing import CliRunner

from slate.governor.gates import GatePolicy, GatePolicyError, failing, warned
from slate.media import keyframes, render_clip
from slate.media.motion import motion_scores
from slate.cli import app


def verdict(**values):
    return {"judge": "gemini", "passed": True, "scores": [
        {"name": k, "value": v, "threshold": 0.5, "passed": v >= 0.5, "reason": f"{k} seen", "role": "block"}
        for k, v in values.items()]}


def test_the_policy_sets_thresholds_and_roles_and_decides(tmp_path):
    policy = GatePolicy.load(tmp_path)
    held = policy.apply(verdict(identity=0.72, props=0.1, location=0.9), "panel", "vision", "draft")
    assert held["passed"] and warned(held) == ["props 0.10 < 0.50: props seen"]  # props only warns
    assert {s["name"]: s["threshold"] for s in held["scores"]}["identity"] == 0.70
    final = policy.apply(verdict(identity=0.72), "panel", "vision", "final")  # final asks 0.75
    assert not final["passed"] and failing(final) == ["identity 0.72 < 0.75: identity seen"]
    assert final["policy"] == {"stage": "panel", "judge": "vision", "profile": "final",
                               "fingerprint": policy.fingerprint}
    unknown = policy.apply(verdict(sharpness=0.4), "panel", "vision", "draft")  # no rule: the judge's own
    assert not unknown["passed"]
    cannot = policy.apply({"scores": [{"name": "judgeable", "value": 0.0, "threshold": 1.0, "passed": False,
                                       "reason": "cannot judge: x", "role": "warn"}]}, "panel", "local", "draft")
    assert not cannot["passed"]  # cannot judge always blocks


def test_a_films_gates_toml_is_laid_over_and_changes_the_fingerprint(tmp_path):
    before = GatePolicy.load(tmp_path).fingerprint
    (tmp_path / "gates.toml").write_text('[panel.vision]\nidentity = { threshold = 0.9 }\n[stages.panel]\nenabled = false\n')
    policy = GatePolicy.load(tmp_path)
    assert policy.fingerprint != before
    off = policy.apply(verdict(identity=0.1), "panel", "vision", "draft")
    assert off["passed"] and warned(off)  # a gate turned off only reports


@pytest.mark.parametrize("text,words", [
    ("[panle.vision]\nidentity = { threshold = 0.9 }\n", "unknown stage [panle]"),
    ("[panel.vision]\nidentity = { threshold = 1.5 }\n", "identity.threshold must be a number from 0 to 1"),
    ("[panel.vision]\nidentity = { threshold = 0.5, role = 'maybe' }\n", "role must be 'block' or 'warn'"),
    ("[panel.human]\nidentity = { threshold = 0.5 }\n", "unknown judge kind"),
])
def test_a_bad_gates_toml_is_refused_by_check_with_a_line(example_film, text, words):
    (example_film / "gates.toml").write_text(text)
    with pytest.raises(GatePolicyError, match=words.replace("[", r"\[").replace("]", r"\]")):
        GatePolicy.load(example_film)
    out = CliRunner().invoke(app, ["check", str(example_film)])
    assert out.exit_code == 1 and "gates.toml: file: " in out.output and words in out.output


def _clip(tmp_path, name, colour, seconds=1.0, move="dolly_in", fps=12):
    still = tmp_path / f"{name}.png"
    Image.fromarray(np.full((96, 160, 3), colour, np.uint8) if colour is not None else
                    np.random.default_rng(1).integers(0, 255, (96, 160, 3), dtype=np.uint8)).save(still)
    clip = tmp_path / f"{name}.mp4"
    render_clip(still, clip, width=160, height=96, fps=fps, seconds=seconds, movement=move)
    return clip, keyframes(clip, tmp_path / f"{name}-frames")


def test_motion_sanity_catches_frozen_black_and_short_clips(tmp_path):
    moving, frames = _clip(tmp_path, "moving", None)
    ok = {s["name"]: s for s in motion_scores(moving, frames, seconds=1.0, fps=12, expect_motion=True)}
    assert ok["motion"]["passed"] and ok["frames"]["passed"], ok
    still, still_frames = _clip(tmp_path, "still", None, move="static")
    frozen = {s["name"]: s for s in motion_scores(still, still_frames, seconds=1.0, fps=12, expect_motion=True)}
    assert not frozen["motion"]["passed"] and "frozen" in frozen["motion"]["reason"]
    calm = {s["name"]: s for s in motion_scores(still, still_frames, seconds=1.0, fps=12, expect_motion=False)}
    assert calm["motion"]["passed"]  # a locked-off shot may be still
    black, black_frames = _clip(tmp_path, "black", (0, 0, 0))
    dark = {s["name"]: s for s in motion_scores(black, black_frames, seconds=1.0, fps=12, expect_motion=False)}
    assert not dark["motion"]["passed"] and "black" in dark["motion"]["reason"]
    short = {s["name"]: s for s in motion_scores(moving, frames, seconds=3.0, fps=12, expect_motion=True)}
    assert not short["frames"]["passed"] and "36 asked" in short["frames"]["reason"]


