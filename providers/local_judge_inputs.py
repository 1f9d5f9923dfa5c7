"""What the local judge can read, and why it cannot read the rest.

The local judge measures pixels by the geometry the local provider draws with: turnaround
sheets laid out by manifests/turnaround.py (four views in CELL_W x CELL_H cells, one opaque
figure per cell on a transparent sheet, head and torso bands), a plate framed at the panel's
shape, a panel of the size that was asked. Art made another way — a sheet with another
layout, a photograph, a flat fill, a palette image with no alpha, a panel of another size —
has none of that geometry, and any number computed from it would be a guess. Each reader
here either returns the image or raises `Unjudgeable` with a reason a person can act on.

It must never judge (no thresholds, no scores) and never let any other exception out of a
reader: an unreadable input is a reason, not a crash.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from slate.manifests.turnaround import CELL_H, CELL_W, HEAD_BAND, TORSO_BAND, VIEWS
from slate.errors import SlateError
from slate.media.wardrobe import band_rows
from slate.providers.local_draw import PANEL_VIEWS

ASPECT_TOL = 0.02       # 1280x720 plates frame 854x480 panels (0.08% apart); a 4:3 plate is 25%
MIN_FIGURE_ROWS = 20    # below this the head band is a row or two: no colours to count
MIN_FRAME_SIDE = 8      # SSIM needs one 8x8 window


class Unjudgeable(SlateError):
    """An input the local judge cannot read; the message says what was wrong with it."""


def open_image(path: Path, what: str) -> Image.Image:
    """The image at `path`, loaded; any failure to read it is a reason, not a crash."""
    try:
        with Image.open(path) as im:
            im.load()
            return im.copy()
    except Exception as exc:  # noqa: BLE001 - missing file, not an image, truncated, decompression bomb
        raise Unjudgeable(f"{what} could not be read as an image ({type(exc).__name__}: {exc})") from None


def _aspect(size: tuple[int, int]) -> float:
    return size[0] / size[1]


def _shape(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]} ({_aspect(size):.2f}:1)"


def check_size(img: Image.Image, what: str, width: int, height: int) -> None:
    if img.size != (width, height):
        raise Unjudgeable(f"{what} is {img.width}x{img.height}, but {width}x{height} was asked for")


def check_shape(img: Image.Image, what: str, like: tuple[int, int], like_what: str) -> None:
    """Same aspect ratio as `like`: the judge compares the two after resizing one to the other,
    which would distort (and so fail) whatever a model fitted by cropping or extending."""
    if min(img.size) < 1 or abs(_aspect(img.size) / _aspect(like) - 1) > ASPECT_TOL:
        raise Unjudgeable(f"{what} is {_shape(img.size)}, a different shape from {like_what} "
                          f"{_shape(like)}: the judge cannot tell how one was fitted to the other")


def read_panel(path: Path, what: str, width: int, height: int) -> Image.Image:
    img = open_image(path, what)
    check_size(img, what, width, height)
    return img


def read_plate(path: Path, location_id: str, panel_size: tuple[int, int]) -> Image.Image:
    what = f"plate '{location_id}'"
    img = open_image(path, what)
    check_shape(img, what, panel_size, "the panel")
    return img


def read_still(path: Path, what: str, size: tuple[int, int]) -> Image.Image:
    """A keyframe or a panel a clip is held to, at `size`. Its size may differ (a chain starts
    from the previous shot's last frame, which a hero shot renders larger); its shape may not."""
    img = open_image(path, what)
    if min(img.size) < MIN_FRAME_SIDE:
        raise Unjudgeable(f"{what} is {img.width}x{img.height}, too small to compare "
                          f"(at least {MIN_FRAME_SIDE}x{MIN_FRAME_SIDE})")
    check_shape(img, what, size, "the clip asked for")
    return img if img.size == size else img.resize(size, Image.Resampling.BILINEAR)


def _has_alpha(img: Image.Image) -> bool:
    return img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info


def read_turnaround(path: Path, character_id: str) -> Image.Image:
    """The sheet as RGBA, if it follows the turnaround contract in every view a panel shows."""
    what = f"turnaround of '{character_id}'"
    sheet = open_image(path, what)
    expected = (len(VIEWS) * CELL_W, CELL_H)
    if sheet.size != expected:
        raise Unjudgeable(
            f"{what} is {sheet.width}x{sheet.height}; the local judge reads sheets of {len(VIEWS)} views "
            f"({', '.join(VIEWS)}) in {CELL_W}x{CELL_H} cells, {expected[0]}x{expected[1]} in all")
    if not _has_alpha(sheet):
        raise Unjudgeable(f"{what} is mode {sheet.mode} with no alpha channel: the judge finds each figure "
                          "by the transparent sheet around it")
    sheet = sheet.convert("RGBA")
    alpha = np.asarray(sheet.getchannel("A"))
    for i, view in enumerate(VIEWS):
        if view not in PANEL_VIEWS:
            continue  # a panel never shows the back, so the judge never reads it
        _check_cell(alpha[:, i * CELL_W:(i + 1) * CELL_W], f"{what}, {view} view")
    return sheet


def _check_cell(alpha: np.ndarray, what: str) -> None:
    opaque = alpha > 0
    if not opaque.any():
        raise Unjudgeable(f"{what} is empty: fully transparent, no figure drawn")
    edge = np.concatenate([opaque[0], opaque[-1], opaque[:, 0], opaque[:, -1]])
    if edge.any():
        # A figure drawn on a clear sheet stands inside its cell; opaque edges mean a photo, a
        # fill, or a figure cut by another layout, and the bands would measure the wrong rows.
        raise Unjudgeable(f"{what} is opaque at the cell's edge ({opaque.mean():.0%} of the cell opaque): "
                          "not one figure on a transparent sheet")
    rows = np.flatnonzero(opaque.any(axis=1))
    height = int(rows[-1] - rows[0] + 1)
    if height < MIN_FIGURE_ROWS:
        raise Unjudgeable(f"{what} has a figure {height} px tall, too small to find a head and torso in "
                          f"(at least {MIN_FIGURE_ROWS} px)")
    figure = opaque[rows[0]:rows[-1] + 1]
    for band, name in ((HEAD_BAND, "head"), (TORSO_BAND, "torso")):
        if not figure[band_rows(height, band)].any():
            raise Unjudgeable(f"{what} has nothing opaque in its {name} band "
                              f"({band[0]:.0%}–{band[1]:.0%} of the figure's height)")
