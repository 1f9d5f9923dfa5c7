"""Putting a scene's wardrobe on a drawn figure, and the colour readings that takes.

For: the local painter (a panel's figures wear the scene's wardrobe), the local judge (it holds
a take to the figure as dressed) and the presence gate (it looks for each character as dressed
in the scene). One copy, so the three read the same pixels.

A drawn figure's outfit is its torso band's dominant colour (the band is the turnaround
contract's, manifests/turnaround.py, passed in by the caller); dressing recolours that colour,
wherever the outfit continues, to the wardrobe's. Face, hair and build stay as locked.

Never: decide anything about the colours, or import anything of ours but media.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from slate.media.palette import colour_counts


def band_rows(height: int, band: tuple[float, float]) -> slice:
    """The rows of a figure `height` tall that a band (fractions of its height) covers."""
    return slice(int(round(band[0] * height)), int(round(band[1] * height)))


def dominant_colour(rgba: np.ndarray, rows: slice) -> tuple[int, int, int] | None:
    """The most common opaque colour in some rows of a figure."""
    part = rgba[rows]
    px = part[part[..., 3] > 0][:, :3]
    if len(px) == 0:
        return None
    colours, counts = colour_counts(px)
    r, g, b = (int(c) for c in colours[counts.argmax()])
    return r, g, b


def hex_rgb(value: str) -> tuple[int, int, int]:
    """An "#rrggbb" colour (the "#" optional) as an RGB triple."""
    value = value.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def dress(figure: Image.Image, wardrobe_colour: str | None, torso_band: tuple[float, float]) -> Image.Image:
    """Put the scene's wardrobe on a figure: its outfit colour (the dominant colour of its
    `torso_band`) becomes the wardrobe colour. Face, hair and build stay as locked in the turnaround."""
    if not wardrobe_colour:
        return figure
    arr = np.array(figure.convert("RGBA"))
    rows = band_rows(arr.shape[0], torso_band)
    outfit = dominant_colour(arr, rows)
    if outfit is None:
        return figure
    target = np.array(hex_rgb(wardrobe_colour), dtype=np.uint8)
    # The outfit continues into the arms and below the torso band; recolour it wherever it is.
    match = (np.abs(arr[..., :3].astype(int) - outfit).max(axis=2) <= 12) & (arr[..., 3] > 0)
    arr[match, :3] = target
    return Image.fromarray(arr, "RGBA")
