"""media/marks.py: text-like marks a take has and the picture it should show does not (issue 36).

Made pictures, no film: a set of flat blocks, thin lines and a checked floor with grain, as
the local painter draws; the take is that picture brighter and through a strong JPEG (what a
gate must let through), or with a short text in PIL's own default font in a corner (what a
model adds: a caption, a signature, its name).
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from slate.media.marks import MARK_STROKES, region_name, text_marks

SIZE = (854, 480)
WORK = (427, 240)


def _scene() -> Image.Image:
    rng = np.random.default_rng(36)
    a = np.zeros((SIZE[1], SIZE[0], 3), np.float32) + (70, 40, 45)
    a[40:200, 60:300] = (20, 25, 60)                      # a window
    a[40:200, 178:181] = (200, 200, 200)                 # its mullion, a thin line
    a[40:43, 60:300] = (200, 200, 200)                   # and its top
    stars = rng.integers(0, [160, 240], (40, 2))
    a[40 + stars[:, 0], 60 + stars[:, 1]] = (230, 230, 200)
    a[150:330, 500:560] = (170, 120, 40)                 # a figure's block
    yy, xx = np.mgrid[330:480, 0:854]
    a[330:480] = np.where((((yy // 20) + (xx // 20)) % 2)[..., None] == 0, 235.0, 25.0)   # a checked floor
    a += rng.normal(0, 3, a.shape)
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def _take(img: Image.Image, gain: float = 1.2, quality: int = 20) -> Image.Image:
    a = np.clip(np.asarray(img, np.float32) * gain, 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def _written(img: Image.Image, words: str, size: int, at: tuple[int, int], ink: tuple[int, int, int]) -> Image.Image:
    out = img.copy()
    ImageDraw.Draw(out).text(at, words, font=ImageFont.load_default(size=size), fill=ink)
    return out


def test_a_brighter_strongly_compressed_take_has_no_marks():
    scene = _scene()
    seen = text_marks(scene, _take(scene), WORK)
    assert seen.value() == 1.0 and seen.box is None, seen


def test_a_corner_caption_is_found_and_its_corner_named():
    """'KLING AI' of about 0.7% of the frame in the top-right corner, white over the wall; a
    signature of about 0.5% in the bottom-left, grey over the checked floor (where a per-pixel
    tolerance along the floor's edges hid it)."""
    scene = _scene()
    font = ImageFont.load_default(size=26)
    x0, y0, x1, y1 = font.getbbox("KLING AI")
    assert 0.004 < (x1 - x0) * (y1 - y0) / (SIZE[0] * SIZE[1]) < 0.01
    caption = _take(_written(scene, "KLING AI", 26, (SIZE[0] - 20 - (x1 - x0), 14), (255, 255, 255)))
    seen = text_marks(scene, caption, WORK)
    print(seen)
    assert seen.share > MARK_STROKES and seen.value() < 0.5, seen
    assert seen.region == "in the top-right corner" and 0.003 < seen.box_share < 0.015, seen
    assert "in the top-right corner" in seen.describe()
    signature = _take(_written(scene, "J. Morel '25", 20, (24, SIZE[1] - 40), (150, 150, 150)))
    seen = text_marks(scene, signature, WORK)
    print(seen)
    assert seen.value() < 0.5 and seen.region == "in the bottom-left corner", seen


def test_marks_on_a_frame_seen_through_a_camera_move_are_held_to_that_window():
    """A keyframe is the panel seen through a move (here 1.1x closer, off centre): held to that
    window of the panel, the clean frame has no marks; the same frame with a caption has one."""
    scene = _scene()
    box = (30.0, 12.0, 30.0 + SIZE[0] / 1.1, 12.0 + SIZE[1] / 1.1)
    frame = _take(scene.resize(SIZE, Image.Resampling.BILINEAR, box=box), gain=0.85, quality=35)
    held = scene.resize(WORK, Image.Resampling.BOX, box=box)
    assert text_marks(held, frame, WORK).value() == 1.0
    marked = _written(frame, "made with AI", 22, (SIZE[0] - 190, SIZE[1] - 36), (255, 255, 255))
    seen = text_marks(held, marked, WORK)
    assert seen.value() < 0.5 and seen.region == "in the bottom-right corner", seen


def test_regions_are_named_by_thirds():
    assert region_name((0.02, 0.9, 0.2, 0.96)) == "in the bottom-left corner"
    assert region_name((0.4, 0.02, 0.6, 0.08)) == "along the top edge"
    assert region_name((0.8, 0.4, 0.97, 0.5)) == "along the right edge"
    assert region_name((0.4, 0.4, 0.6, 0.5)) == "in the middle of the frame"
