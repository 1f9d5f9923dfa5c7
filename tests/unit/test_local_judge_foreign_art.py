"""The local judge on art it did not paint: "cannot judge", with a reason, and never a raise.

Each case swaps one input of a clean, passing judgement of the example film (a turnaround, the
plate, the panel, a keyframe) for foreign art made here with numpy/PIL: a sheet laid out
another way, a photograph-like image, a flat fill, a transparent sheet, grayscale and palette
images, a 1x1 image, a 4000x4 strip, a plate of another shape, a panel of another size. Before
the judge read its inputs, some of these raised (`min() arg is an empty sequence`, "turnaround
view is empty") and the rest were "judged" and failed as if the art were off-model.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmarks.judge_trials import panel_requests
from slate.manifests.turnaround import CELL_H, CELL_W, EXAMPLE_CAST, draw_view
from slate.providers.base import ReferenceImages
from slate.providers.local import LocalImage
from slate.providers.local_judge import LocalJudge
from slate.providers.storage_local import LocalStorage

SHEET = (4 * CELL_W, CELL_H)


def photo_like(width: int, height: int, seed: int = 1) -> np.ndarray:
    """Smooth gradients plus sensor noise: what a photograph looks like to a pixel counter."""
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x / max(1, width - 1) * 200, y / max(1, height - 1) * 180,
                     (x + y) / max(1, width + height - 2) * 160 + 40], axis=-1)
    noise = np.random.default_rng(seed).normal(0, 9, base.shape)
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def sheet_in_grid(character: str) -> Image.Image:
    """The same four views drawn another way: a 2x2 grid instead of a row."""
    sheet = Image.new("RGBA", (2 * CELL_W, 2 * CELL_H), (0, 0, 0, 0))
    for i, view in enumerate(("front", "three_quarter", "side", "back")):
        sheet.paste(draw_view(EXAMPLE_CAST[character], view), ((i % 2) * CELL_W, (i // 2) * CELL_H))
    return sheet


def painted_sheet() -> Image.Image:
    """Figures on a clear sheet, but painted: every pixel of the head a slightly different colour."""
    rgba = np.zeros((CELL_H, SHEET[0], 4), dtype=np.uint8)
    for i in range(4):
        x0 = i * CELL_W + 60
        rgba[60:340, x0:x0 + 72, :3] = photo_like(72, 280, seed=i)
        rgba[60:340, x0:x0 + 72, 3] = 255
    return Image.fromarray(rgba, "RGBA")


@pytest.fixture
def scene(example_film, tmp_path):
    """A clean panel of the example film with its references: the judgement foreign art spoils."""
    storage = LocalStorage(example_film)
    request = panel_requests(example_film)[4]  # diner, medium, static: gabe and jenny in wardrobe
    panel = tmp_path / "panel.png"
    panel.write_bytes(LocalImage(storage).generate_panel(request))
    refs = ReferenceImages(plate=storage.open_local(request.plate_uri),
                           turnarounds={c.id: storage.open_local(c.turnaround_uri) for c in request.characters})
    return request, panel, refs, tmp_path


def save(img, path: Path) -> Path:
    (img if isinstance(img, Image.Image) else Image.fromarray(img)).save(path)
    return path


def turnaround(maker):
    """A case that replaces gabe's turnaround with what `maker(tmp, real_sheet_path)` saves."""
    def apply(request, panel, refs, tmp):
        foreign = save(maker(refs.turnarounds["gabe"]), tmp / "foreign_turnaround.png")
        return request, panel, replace(refs, turnarounds={**refs.turnarounds, "gabe": foreign})
    return apply


def plate(maker):
    def apply(request, panel, refs, tmp):
        return request, panel, replace(refs, plate=save(maker(), tmp / "foreign_plate.png"))
    return apply


def panel_as(maker):
    def apply(request, panel, refs, tmp):
        return request, save(maker(panel), tmp / "foreign_panel.png"), refs
    return apply


def not_an_image(request, panel, refs, tmp):
    junk = tmp / "gabe_turnaround.png"
    junk.write_bytes(b"this is a turnaround, honest")
    return request, panel, replace(refs, turnarounds={**refs.turnarounds, "gabe": junk})


# (case id, how the judgement is spoiled, words the reason must contain)
PANEL_CASES = [
    ("turnaround-2x2-grid", turnaround(lambda _: sheet_in_grid("gabe")), ["turnaround of 'gabe'", "384x768", "768x384"]),
    ("turnaround-photograph", turnaround(lambda _: Image.fromarray(photo_like(*SHEET)).convert("RGBA")),
     ["turnaround of 'gabe'", "opaque at the cell's edge"]),
    ("turnaround-painted-figures", turnaround(lambda _: painted_sheet()), ["turnaround of 'gabe'", "no colour covers"]),
    ("turnaround-flat-colour", turnaround(lambda _: Image.new("RGB", SHEET, (120, 90, 60))),
     ["turnaround of 'gabe'", "mode RGB", "no alpha"]),
    ("turnaround-flat-colour-rgba", turnaround(lambda _: Image.new("RGBA", SHEET, (120, 90, 60, 255))),
     ["turnaround of 'gabe'", "opaque at the cell's edge"]),
    ("turnaround-fully-transparent", turnaround(lambda _: Image.new("RGBA", SHEET, (0, 0, 0, 0))),
     ["turnaround of 'gabe'", "front view", "fully transparent"]),
    ("turnaround-grayscale", turnaround(lambda real: Image.open(real).convert("L")), ["mode L", "no alpha"]),
    ("turnaround-palette", turnaround(lambda real: Image.open(real).convert("RGB").convert("P", palette=Image.ADAPTIVE)),
     ["mode P", "no alpha"]),
    ("turnaround-1x1", turnaround(lambda _: Image.new("RGBA", (1, 1), (200, 40, 20, 255))), ["is 1x1", "768x384"]),
    ("turnaround-4000x4-strip", turnaround(lambda _: Image.fromarray(photo_like(4000, 4))), ["is 4000x4"]),
    ("turnaround-not-an-image", not_an_image, ["turnaround of 'gabe'", "could not be read as an image"]),
    ("plate-square", plate(lambda: Image.fromarray(photo_like(720, 720))), ["plate 'diner'", "720x720", "shape"]),
    ("plate-1x1", plate(lambda: Image.new("RGB", (1, 1), (90, 90, 90))), ["plate 'diner'", "1x1", "shape"]),
    ("plate-4000x4-strip", plate(lambda: Image.fromarray(photo_like(4000, 4))), ["plate 'diner'", "4000x4", "shape"]),
    ("panel-640x360", panel_as(lambda p: Image.open(p).resize((640, 360))), ["the panel is 640x360", "854x480 was asked"]),
    ("panel-1x1", panel_as(lambda p: Image.new("RGB", (1, 1))), ["the panel is 1x1", "854x480 was asked"]),
    ("panel-photograph-of-another-size", panel_as(lambda p: photo_like(1024, 768)), ["the panel is 1024x768"]),
]


def assert_cannot_judge(verdict, words):
    assert not verdict.passed
    assert verdict.cannot_judge, verdict.to_dict()
    assert verdict.to_dict()["cannot_judge"] is True
    (reason,) = verdict.reasons()
    assert reason.startswith("judgeable: cannot judge: "), reason
    for word in words:
        assert word in reason, (word, reason)


def test_clean_example_panel_is_judged_and_passes(scene):
    request, panel, refs, _ = scene
    verdict = LocalJudge().judge_panel(panel, request, refs)
    assert verdict.passed, verdict.reasons()
    assert not verdict.cannot_judge and verdict.to_dict()["cannot_judge"] is False


def test_off_model_panel_is_judged_and_fails_not_cannot_judge(scene, example_film):
    """The distinction the flag exists for: a wrong plate is off-model, not unreadable."""
    request, _, refs, tmp = scene
    faulty = tmp / "faulty.png"
    faulty.write_bytes(LocalImage(LocalStorage(example_film)).generate_panel(request, force_fault="wrong_plate"))
    verdict = LocalJudge().judge_panel(faulty, request, refs)
    assert not verdict.passed and not verdict.cannot_judge
    assert any(r.startswith("location:") for r in verdict.reasons())


@pytest.mark.parametrize("spoil,words", [c[1:] for c in PANEL_CASES], ids=[c[0] for c in PANEL_CASES])
def test_panel_judge_on_foreign_art_cannot_judge(scene, spoil, words):
    request, panel, refs = spoil(*scene)
    verdict = LocalJudge().judge_panel(panel, request, refs)  # a raise fails the test here
    assert_cannot_judge(verdict, words)


def test_override_panel_with_a_plate_it_cannot_read(scene):
    request, panel, refs, tmp = scene
    refs = replace(refs, plate=save(Image.new("RGBA", (0x10, 0x1000)), tmp / "plate.png"))
    verdict = LocalJudge().judge_panel(panel, replace(request, override_uri="cas://composite"), refs)
    assert_cannot_judge(verdict, ["plate 'diner'", "16x4096", "shape"])


def test_missing_turnaround_reference(scene):
    request, panel, refs, _ = scene
    verdict = LocalJudge().judge_panel(panel, request, replace(refs, turnarounds={}))
    assert_cannot_judge(verdict, ["no turnaround of 'gabe'"])


# Keyframes: the clean panel stands in for every frame of a static shot (a perfect clip).
def keyframes_of(panel: Path) -> dict[str, Path]:
    return {"first": panel, "middle": panel, "last": panel}


def test_clean_keyframes_are_judged_and_pass(scene):
    request, panel, refs, _ = scene
    verdict = LocalJudge().judge_keyframes(keyframes_of(panel), panel, panel, request, refs)
    assert verdict.passed and not verdict.cannot_judge, verdict.reasons()


KEYFRAME_CASES = [
    ("start-panel-square-photo", lambda p, t: (keyframes_of(p), save(photo_like(600, 600), t / "s.png"), p),
     ["the start panel", "600x600", "shape"]),
    ("end-panel-1x1", lambda p, t: (keyframes_of(p), p, save(Image.new("RGB", (1, 1)), t / "e.png")),
     ["the end panel", "1x1", "too small"]),
    ("middle-frame-strip", lambda p, t: ({**keyframes_of(p), "middle": save(photo_like(4000, 4), t / "m.png")}, p, p),
     ["middle frame", "4000x4"]),
    ("first-frame-transparent-portrait",
     lambda p, t: ({**keyframes_of(p), "first": save(Image.new("RGBA", (480, 854)), t / "f.png")}, p, p),
     ["first frame", "480x854", "shape"]),
    ("last-frame-missing", lambda p, t: ({"first": p, "middle": p}, p, p), ["no last frame"]),
    ("frame-not-an-image", lambda p, t: ({**keyframes_of(p), "first": t / "nothing-here.png"}, p, p),
     ["first frame could not be read"]),
]


@pytest.mark.parametrize("spoil,words", [c[1:] for c in KEYFRAME_CASES], ids=[c[0] for c in KEYFRAME_CASES])
def test_keyframe_judge_on_foreign_art_cannot_judge(scene, spoil, words):
    request, panel, refs, tmp = scene
    frames, start, end = spoil(panel, tmp)
    verdict = LocalJudge().judge_keyframes(frames, start, end, request, refs)
    assert_cannot_judge(verdict, words)


def test_photograph_panel_at_the_asked_size_is_judged_not_refused(scene):
    """Where the line is drawn: a panel of the asked size is read as a panel, and a photograph
    there shows none of the plate, as a wrong-plate generation does: judged, and failed."""
    request, _, refs, tmp = scene
    photo = save(photo_like(request.width, request.height), tmp / "photo.png")
    verdict = LocalJudge().judge_panel(photo, request, refs)
    assert not verdict.passed and not verdict.cannot_judge
    assert any(r.startswith("location:") for r in verdict.reasons()), verdict.reasons()
