"""The passes over the clip, declared (tasks/shot/clip_passes.py): slate's own two, a plugin's, and what a declaration may not do."""
from __future__ import annotations

import dataclasses
import sys
from dataclasses import replace

import pytest

from slate.providers.base import CAPABILITIES, CLIP_PASSES, PASSES, Capability
from slate.tasks.shot import clip_passes
from slate.tasks.shot.clip_passes import FACESWAP_PASS, UPSCALE_PASS, PassDef, declare_pass, passes, passes_at, withdraw_pass

PLUGIN = '''
from slate.governor.chokepoint import Usage
from slate.providers.base import Capability
from slate.tasks.shot.clip_passes import PassDef, declare_pass

STAMP = declare_pass(PassDef(
    capability=Capability("stamp", timed=True, passes=True, clip=True), title="date stamp",
    stage=lambda run, plan, uri, seconds: None, gate="stamp_check",
    applies=lambda plan, profile: True, usage=lambda plan: [Usage("stamp", seconds=plan.duration)],
    versions=("stamp-v1",)))
'''


def test_slate_declares_the_face_swap_after_the_clip_and_the_upscale_after_the_lip_sync():
    assert [p.name for p in passes()][:2] == ["faceswap", "upscale"]
    assert FACESWAP_PASS in passes_at("clip") and UPSCALE_PASS in passes_at("lipsync")
    assert FACESWAP_PASS.required and not UPSCALE_PASS.required
    assert (FACESWAP_PASS.gate, UPSCALE_PASS.gate) == ("faceswap_gate", "upscale_check")


def test_a_plugin_declares_its_pass_under_the_entry_point_group(tmp_path, monkeypatch):
    site = tmp_path / "site"
    (site / "stamp_pass").mkdir(parents=True)
    (site / "stamp_pass" / "__init__.py").write_text(PLUGIN)
    info = site / "stamp_pass-0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: stamp-pass\nVersion: 0\n")
    (info / "entry_points.txt").write_text(f"[{clip_passes.ENTRY_POINTS}]\nstamp = stamp_pass\n")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr(clip_passes, "_LOADED", False)
    try:
        assert [p.name for p in passes()][-1] == "stamp"
        assert "stamp" in CAPABILITIES and "stamp" in PASSES and "stamp" in CLIP_PASSES
    finally:
        withdraw_pass("stamp")
        sys.modules.pop("stamp_pass", None)
    assert "stamp" not in CAPABILITIES and "stamp" not in [p.name for p in passes()]


def test_a_declaration_is_one_and_never_takes_another_passes_name():
    assert declare_pass(FACESWAP_PASS) is FACESWAP_PASS       # the same again: one declaration
    with pytest.raises(ValueError, match="already declared"):
        declare_pass(replace(FACESWAP_PASS, title="another swap"))
    with pytest.raises(ValueError, match="slate's own"):
        withdraw_pass("upscale")
    with pytest.raises(ValueError, match="only a pass over the clip"):
        declare_pass(PassDef(capability=Capability("reverb"), title="reverb", stage=FACESWAP_PASS.stage,
                             applies=FACESWAP_PASS.applies, usage=FACESWAP_PASS.usage, versions=(), gate="x"))
    assert "reverb" not in CAPABILITIES


def _asks_for_a_swap(root):
    scene = root / "scenes" / "scene-01.yaml"
    scene.write_text(scene.read_text().replace("- id: 1D\n  characters:\n  - gabe\n  - jenny\n",
                                               "- id: 1D\n  face_swap: [jenny]\n  characters:\n  - gabe\n  - jenny\n"))


def test_a_pass_a_shot_asks_for_by_name_is_checked_kept_and_judged_from_its_declaration(example_film):
    """What once named the face swap by hand (the lineup kept only where a shot asks, `slate check`'s
    refusal of a shot that asks in a run with no model, the agent's list of slate's own gates) reads
    the declarations: a toy pass asked for by the same field gets all three with nothing else edited."""
    from slate.agent.context import own_gates
    from slate.manifests import load_film
    from slate.manifests.settings import project_settings
    from slate.providers.registry import lineup
    from slate.tasks.shot.clip_passes import as_used
    from slate.tasks.run.preflight import pass_problems
    toy = declare_pass(replace(FACESWAP_PASS, capability=Capability("reface", timed=True, passes=True, clip=True),
                               title="refacing", gate="reface_gate", judged_by=("a toy's gate", "marks")))
    try:
        settings = project_settings(example_film)
        swapping = lineup(settings.model_copy(update={"faceswap_model": "comfyui:faceswap-reactor"}))
        # the toy's model as the lineup would hold it (no provider here offers a refacing)
        told = dataclasses.replace(swapping, passes={**swapping.passes, "reface": swapping.passes["faceswap"]})
        film = load_film(example_film)
        # no shot asks: neither model is kept, nothing is refused
        assert set(as_used(told, film, ["scene-01"]).passes) <= {"upscale"}
        assert pass_problems(film, ["scene-01"], lineup(settings)) == []
        _asks_for_a_swap(example_film)
        film = load_film(example_film)
        assert {"faceswap", "reface"} <= set(as_used(told, film, ["scene-01"]).passes)
        refused = pass_problems(film, ["scene-01"], lineup(settings))
        assert [(p.shot, p.field) for p in refused] == [("1D", "face_swap")] * 2, refused
        assert "faceswap_model (--faceswap-model" in refused[0].message and "of jenny" in refused[0].message
        assert "--pass-model reface=" in refused[1].message, refused[1].message
        assert pass_problems(film, ["scene-01"], told) == []
        assert own_gates()["reface_gate"] == ("a toy's gate", "marks")
        assert own_gates()["faceswap_gate"][1] == "scores" and own_gates()["upscale_check"][1] == "reading"
    finally:
        withdraw_pass(toy.name)
    assert "reface_gate" not in own_gates()
