"""Counting a picture's flat colours: each distinct RGB colour of some pixels and how many there are.

For: the local painter, judge and the presence gate, which read drawn figures by their flat
colours (a turnaround's hair, skin and outfit are a few exact colours) many times per shot.

Each colour is packed into one integer (r << 16 | g << 8 | b) and counted with a 1-D unique:
the same colours, counts and order as `np.unique(px, axis=0, return_counts=True)` (rows in
lexicographic order are packed integers in numeric order), several times faster — a unique over
rows sorts a structured view of them, and the gates made it a sixth of a scene run's CPU.

Never: decide anything about the colours (shares and thresholds are the caller's), loop over
pixels in Python, or import anything of ours.
"""
from __future__ import annotations

import numpy as np


def pack_colours(rgb: np.ndarray) -> np.ndarray:
    """Each 8-bit RGB colour of `rgb` (any shape ending in 3 channels) as one integer,
    r << 16 | g << 8 | b, in an array of the same shape without its last axis."""
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8:  # packing holds only 8 bits a channel: a wider colour would alias
        raise TypeError(f"colours are packed from 8-bit channels, got {rgb.dtype}")
    wide = rgb.astype(np.uint32)
    return (wide[..., 0] << 16) | (wide[..., 1] << 8) | wide[..., 2]


def colour_counts(px: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct colours of `px` (any shape ending in 3 channels of 0-255) as uint8 rows in
    lexicographic order, and each one's pixel count."""
    values, counts = np.unique(pack_colours(px).ravel(), return_counts=True)
    colours = np.stack([(values >> 16) & 0xFF, (values >> 8) & 0xFF, values & 0xFF], axis=1).astype(np.uint8)
    return colours, counts
