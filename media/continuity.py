"""Continuity across a cut, from pixels: does the next shot open where the last one ended?

The last frame of shot N and the first frame of shot N+1 are compared by their colour
distributions, each normalised to the same mean brightness first (a cut may change the
exposure; it should not change the place, the people's colours or their clothes). Measured on
the example film: consecutive shots in one place differ by at most 0.45 (a different framing
of the same set), a recoloured character or another location by 0.78 and more.

It must never judge who is in the frame: a vision judge does that; this only says whether the
two frames belong to one continuous scene.
"""
from __future__ import annotations

import numpy as np

from .metrics import colour_distance, colour_stats, load_rgb

THRESHOLD = 0.40   # on 1 - distance: clean cuts measured >= 0.55, off-model ones <= 0.22


def _levelled(img) -> np.ndarray:
    a = load_rgb(img).astype(np.float32)
    return np.clip(a * (128.0 / max(1.0, float(a.mean()))), 0, 255).astype(np.uint8)


def palette_continuity(last_frame, first_frame) -> dict:
    """A score (1 = the same colours, 0 = nothing in common) named `palette`, with its reason."""
    distance = colour_distance(colour_stats(_levelled(last_frame)), colour_stats(_levelled(first_frame)))
    value = round(1.0 - distance, 4)
    return {"name": "palette", "value": value, "threshold": THRESHOLD, "passed": value >= THRESHOLD,
            "role": "block", "reason": f"colour distance {distance:.2f} between the last frame and the next "
                                       f"shot's first (levelled for exposure)"}
