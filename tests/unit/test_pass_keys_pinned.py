"""The can keys of films made before the passes were declared (issue 55 item 5): unchanged.

A pass over a clip (tasks/clip_passes.py: the face swap, the upscale) keys a scene by its own part,
built from its declaration — no pass named by hand in tasks/can.py. That must not re-key any scene
a film already has in the can: these are the example film's scene-01 keys, computed as the reel
computes them (tasks/reel.py `scene_keys`, the scene flow's own), pinned at the values the code
gave before the declarations existed.

How the pins were obtained: on main at 75b5e5c (before this branch's first change), in this
repository's development environment (`make dev`), this file's `_keys` printed by running
`python -m pytest -q -p no:cacheprovider tests/unit/test_pass_keys_pinned.py -s` with PRINT = True
in a checkout of that commit (twice: the same five keys both times). The keys hold the example's references by content (the local painter's PNGs and
the local voices' samples), so they are this environment's: a different Pillow, zlib or eSpeak NG
draws other bytes and every pin moves together — then re-pin from the commit above, never from
the code under test.
"""
from __future__ import annotations

from pathlib import Path

from slate.governor.policy import TakePolicy
from slate.manifests import load_film
from slate.manifests.settings import Settings, project_settings
from slate.tasks.reel import scene_keys

SWAP, UP = "comfyui:faceswap-reactor", "comfyui:upscale-esrgan"
PRINT = False

#: case -> scene-01's key at 75b5e5c (see the module's docstring)
PINNED = {
    "draft": "e29c86e05592bb0072e4d015d121ced8af50d20f1bd1e18339583608ff2ab601",
    "draft, swap and upscale models": "65dadafa6e92e45a749c1c9005bd12a06c527f8262cf92dad89dfee7be0e37a2",
    "final": "2cbd3012c28344b1e5f490b190ce416e9ed53f130f2c6d0b36eb45b2a7a4c99f",
    "final, swap and upscale models": "55394d40b3e20fe45e6cdcf281ab606d7196f3e06e2f0221b032b37cf6a3479e",
    "final, upscale model only": "41af49739d4c3bc8de7edaa0ae8f4ceac0ce1a21b3f2d22108ab1f9b56a940c4",
}


def _key(root: Path, settings: Settings) -> str:
    film = load_film(root)
    [(key, _)] = scene_keys(root, film, settings, ["scene-01"],
                            TakePolicy(settings.max_takes, settings.no_progress_takes)).values()
    return key


def _keys(root: Path) -> dict[str, str]:
    scene = root / "scenes" / "scene-01.yaml"
    # 1D asks for a face swap of both its characters (the example asks for none)
    scene.write_text(scene.read_text().replace("- id: 1D\n  characters:\n  - gabe\n  - jenny\n",
                                               "- id: 1D\n  face_swap: [gabe, jenny]\n  characters:\n  - gabe\n  - jenny\n"))
    base = project_settings(root)
    draft, final = (base.model_copy(update={"profile": p}) for p in ("draft", "final"))
    both = {"faceswap_model": SWAP, "upscale_model": UP}
    return {"draft": _key(root, draft),
            "draft, swap and upscale models": _key(root, draft.model_copy(update=both)),
            "final": _key(root, final),
            "final, swap and upscale models": _key(root, final.model_copy(update=both)),
            "final, upscale model only": _key(root, final.model_copy(update={"upscale_model": UP}))}


def test_the_example_keeps_its_scene_keys_with_a_face_swap_and_an_upscale(example_film, monkeypatch):
    monkeypatch.delenv("SLATE_FPS", raising=False)
    got = _keys(example_film)
    if PRINT:
        print("\nPINNED = {\n" + "".join(f"    {k!r}: {v!r},\n" for k, v in got.items()) + "}")
    assert got == PINNED
    # the cases differ where a pass keys them: a draft keys its swap (a shot asks) and never its upscale
    assert len(set(got.values())) == 5
