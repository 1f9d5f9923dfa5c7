"""The can keys of films made before the passes were declared (issue 55 item 5): unchanged.

A pass over a clip (tasks/clip_passes.py: the face swap, the upscale) keys a scene by its own part,
built from its declaration — no pass named by hand in tasks/can.py. That must not re-key any scene
a film already has in the can: these are the example film's scene-01 keys, computed as the reel
computes them (tasks/reel.py `scene_keys`, the scene flow's own), pinned at the values the code
gave before the declarations existed.

How the pins were obtained: on main at 75b5e5c (before this branch's first change), this file
copied into a checkout of that commit and run with PRINT = True
(`python -m pytest -q -p no:cacheprovider tests/unit/test_pass_keys_pinned.py -s`); the code
under test printed the same five keys. The keys hold the film's references and voice samples by
content, so `_steady_media` first rewrites every picture and sound with the standard library
alone: the first pins held the local painter's and eSpeak NG's own bytes, and a fresh `make dev`
on 2026-11-28 (here Pillow 13.0.0, espeakng-loader 0.2.4) moved all five with no line of slate changed. Re-pin only from the
commit above, never from the code under test.
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
    "draft": "df4414a7fc27c284f044e053bcf4676a768c6b96dac9f7cba36a39177d628ad0",
    "draft, swap and upscale models": "e6be3afaf9294f666672b41740d00b9fd3c1d926d2e377cb99c0f65e58f7b631",
    "final": "e97dc0d2a160e0f017ab7e84f95d63eae11979cda6a158e2f2f9163e9b7660d2",
    "final, swap and upscale models": "b74c536ddcdcbbf1229455a43c93db24e884fb4a37d3193adc56883fafac84b8",
    "final, upscale model only": "3cdc9729cb2dfc43e8fc7dfaec9c6b9a7748684671d798ccd1d41236b74bb11b",
}


def _key(root: Path, settings: Settings) -> str:
    film = load_film(root)
    [(key, _)] = scene_keys(root, film, settings, ["scene-01"],
                            TakePolicy(settings.max_takes, settings.no_progress_takes)).values()
    return key


def _steady_media(root: Path) -> None:
    """Every picture and sound of the film rewritten by the standard library alone, at the size and
    length it had: stored-block zlib and PCM frames are the same bytes under any Pillow, zlib or
    eSpeak NG, so the keys below are this code's, not this environment's."""
    import hashlib
    import struct
    import wave
    import zlib

    from PIL import Image
    for path in sorted(root.rglob("*.png")):
        with Image.open(path) as im:
            width, height = im.size
        shade = hashlib.sha256(path.relative_to(root).as_posix().encode()).digest()[:3]
        rows = b"".join(b"\0" + shade * width for _ in range(height))

        def chunk(kind: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                         + chunk(b"IDAT", zlib.compress(rows, 0)) + chunk(b"IEND", b""))
    for path in sorted(root.rglob("*.wav")):
        with wave.open(str(path)) as w:
            params = w.getparams()
        if path.parent.parent.name == "characters":   # a voice sample: eSpeak NG's length is its own
            params = params._replace(nframes=16000)
        seed = hashlib.sha256(path.relative_to(root).as_posix().encode()).digest()
        frames = bytes(seed[i % len(seed)] & 0x0F for i in range(params.nframes * params.nchannels * params.sampwidth))
        with wave.open(str(path), "wb") as w:
            w.setparams(params)
            w.writeframes(frames)


def _keys(root: Path) -> dict[str, str]:
    _steady_media(root)
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
