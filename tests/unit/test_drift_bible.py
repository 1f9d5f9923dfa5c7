"""Issue 36 item 1: the drift check holds each character, the light and the framing to the bible.

On a small made picture — a plain set with one flat-coloured figure (hair, skin, outfit) — the
drift measure (tasks/gates/drift.py `measure`, with the figure's parts read by media.likeness) must
read a hair turned 20 degrees, the light drained to 60% and a framing 22% closer past the
film's 0.35, each naming what moved, and a clean re-encode darkened a little under it.
"""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from slate.media import likeness

W, H = 320, 180
HAIR, SKIN, OUTFIT = (150, 70, 40), (225, 180, 150), (40, 90, 170)


def _figure() -> np.ndarray:
    """An RGBA figure 100 px tall: hair on top, a face, an outfit from 22% to 58% of its height."""
    fig = np.zeros((100, 40, 4), dtype=np.uint8)
    fig[0:8, 5:35] = (*HAIR, 255)
    fig[8:22, 8:32] = (*SKIN, 255)
    fig[22:58, 2:38] = (*OUTFIT, 255)
    fig[58:100, 8:32] = (60, 60, 60, 255)
    return fig


def _panel() -> np.ndarray:
    rng = np.random.default_rng(3)
    x = np.linspace(0, 1, W)[None, :, None]
    y = np.linspace(0, 1, H)[:, None, None]
    a = 90 + 60 * x + 30 * y + np.zeros((H, W, 3))
    a[..., 2] += 20
    a[120:140, :] = (110, 80, 60)   # a counter: structure for the move search
    a[20:60, 230:290] = (200, 190, 120)   # a window
    fig = _figure()
    a[40:140, 140:180][fig[..., 3] > 0] = fig[..., :3][fig[..., 3] > 0]
    return np.clip(a + rng.normal(0, 2, a.shape), 0, 255).astype(np.uint8)


def _jpeg(a: np.ndarray, gain: float = 1.0) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(np.clip(a * gain, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=90)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def _measure(frame: np.ndarray, panel: np.ndarray) -> dict:
    from slate.tasks.gates.drift import measure
    return measure(frame, panel, parts=likeness.parts_of("nina", _figure()))


def test_the_parts_of_a_figure_are_its_hair_skin_and_outfit():
    parts = {p.name: p for p in likeness.parts_of("nina", _figure())}
    assert set(parts) == {"hair", "skin", "outfit"}
    assert np.allclose(parts["outfit"].colour, likeness._lab(np.array(OUTFIT)), atol=0.5)


def test_a_clean_re_encode_a_little_darker_is_not_drift():
    panel = _panel()
    seen = _measure(_jpeg(panel, 0.95), panel)
    assert seen["drift"] < 0.35, seen


@pytest.mark.parametrize("edit, said", [("hair", "nina's hair hue"), ("light", "the light level"),
                                        ("framing", "the framing")])
def test_a_slow_change_past_its_cut_is_drift_naming_what_moved(edit, said):
    panel = _panel()
    frame = panel.copy()
    if edit == "hair":
        hair = (np.abs(frame.astype(int) - HAIR).max(axis=2) <= 12)
        hsv = np.asarray(Image.fromarray(frame).convert("HSV")).astype(int)
        hsv[..., 0] = np.where(hair, (hsv[..., 0] + round(20 / 360 * 256)) % 256, hsv[..., 0])
        frame = np.asarray(Image.fromarray(hsv.astype(np.uint8), "HSV").convert("RGB"))
    elif edit == "light":
        frame = (frame * 0.6).astype(np.uint8)
    else:
        z = 1.22
        cw, ch = W / z, H / z
        frame = np.asarray(Image.fromarray(frame).resize((W, H), Image.Resampling.BILINEAR,
                                                         box=((W - cw) / 2, (H - ch) / 2, (W + cw) / 2, (H + ch) / 2)))
    seen = _measure(_jpeg(frame), panel)
    assert seen["drift"] > 0.35 and seen["reason"].startswith(said), seen
