"""The passes over the clip, declared (tasks/clip_passes.py): slate's own two, a plugin's, and what a declaration may not do."""
from __future__ import annotations

import sys
from dataclasses import replace

import pytest

from slate.providers.base import CAPABILITIES, CLIP_PASSES, PASSES, Capability
from slate.tasks import clip_passes
from slate.tasks.clip_passes import FACESWAP_PASS, UPSCALE_PASS, PassDef, declare_pass, passes, passes_at, withdraw_pass

PLUGIN = '''
from slate.governor.chokepoint import Usage
from slate.providers.base import Capability
from slate.tasks.clip_passes import PassDef, declare_pass

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
        declare_pass(PassDef(capability=Capability("music"), title="music", stage=FACESWAP_PASS.stage,
                             applies=FACESWAP_PASS.applies, usage=FACESWAP_PASS.usage, versions=(), gate="x"))
    assert "music" not in CAPABILITIES
