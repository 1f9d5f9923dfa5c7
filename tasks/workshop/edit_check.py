"""Whether an edit happened: a version (or a recipe's step) beside the picture it edits.

Image-edit models often hand back what they were given — the film-makers' own lesson — and the
local painter did too ("remove the pendant lamps": its parent, bit for bit, recorded as a new
version with a passed gate). So an edit is held to two measures, as scores of its gate:

- `edit_changed`: the share of the picture that differs from the parent. Both are compared at a
  quarter of their size (a box filter), where a model's re-encoding, grain and sub-pixel shifts
  vanish and a removed or recoloured thing does not; a working pixel differs when a channel
  (alpha too: a sheet's figures) moved by more than CHANGED_LEVELS. Below CHANGED_SHARE: "the
  edit changed nothing".
- `edit_in_place`: where the judge can locate what the edit names (the local judge finds the
  local painter's things in a plate; a fixed view is its cell), the share of what changed that
  lies in those regions. Below IN_PLACE_SHARE — mostly elsewhere — "changed something else".

It must never change a picture, call a judge or a model, or import Prefect (the workshop runs
it outside any flow).
"""
from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, TypeGuard

import numpy as np
from PIL import Image

from slate.tasks.gates.verdicts import ScoreFields

#: A region of the parent picture (left, top, right, bottom), in its pixels.
Box = tuple[int, int, int, int]

SCALE = 4               # compared at a quarter of the size: re-encoding and grain average out
CHANGED_LEVELS = 24     # of 255: more than JPEG q30 or the painter's grain (σ 2) moves a smoothed pixel
# The local painter's smallest real edits, measured on the example film: removing the diner's red
# stools changes 0.94% of the plate (other things cover most of its box), a thing's box is at least
# 1/48 (2.1%) of a plate, a fixed three-quarter view 3-5% of a sheet. Half the smallest of them:
# an edit that moved less than that did not do what it was asked.
CHANGED_SHARE = 0.005
# "Mostly outside": more of what changed lies outside the named regions than inside them.
IN_PLACE_SHARE = 0.5
REACH = 2               # working pixels a region is widened by (the box filter smears its edge)


class LocatesEdits(Protocol):
    """A judge that finds, in a plate, the things an edit names (the local judge: the local
    painter's layout of the description's things): their boxes and their words."""

    def locate_edit(self, plate: Path, description: str, instruction: str) -> tuple[list[Box], str] | None: ...


def locates_edits(judge: object) -> TypeGuard[LocatesEdits]:
    return hasattr(judge, "locate_edit")


def _working(data: bytes, size: tuple[int, int] | None = None) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as img:
        rgba = img.convert("RGBA")
    if size is not None and rgba.size != size:
        rgba = rgba.resize(size, Image.Resampling.NEAREST)
    w, h = rgba.size
    small = rgba.resize((max(1, w // SCALE), max(1, h // SCALE)), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.int16)


def changed_mask(parent: bytes, edited: bytes) -> np.ndarray:
    """Where, at the working size, the edited picture (at the parent's size) differs from it."""
    with Image.open(io.BytesIO(parent)) as img:
        size = img.size
    a, b = _working(parent), _working(edited, size)
    moved: np.ndarray = np.abs(a - b).max(axis=-1) > CHANGED_LEVELS
    return moved


def edit_scores(parent: bytes, edited: bytes, what: str, regions: Sequence[Box] | None = None,
                named: str = "what the edit names") -> list[ScoreFields]:
    """The edit's scores against its parent (`what`: "version 3", "step 1"); `regions`: where
    the edit was to change, when the judge located it (`named`: what is there)."""
    moved = changed_mask(parent, edited)
    share = float(moved.mean()) if moved.size else 0.0
    said = (f"{share:.2%} of the picture differs from {what}" if share >= CHANGED_SHARE else
            f"the edit changed nothing: {share:.2%} of the picture differs from {what}")
    scores: list[ScoreFields] = [{"name": "edit_changed", "value": round(share, 4), "threshold": CHANGED_SHARE,
                                  "passed": share >= CHANGED_SHARE, "reason": said, "role": "block"}]
    if regions and share >= CHANGED_SHARE:
        h, w = moved.shape
        inside = np.zeros_like(moved)
        for x0, y0, x1, y1 in regions:
            inside[max(0, y0 // SCALE - REACH):min(h, -(-y1 // SCALE) + REACH),
                   max(0, x0 // SCALE - REACH):min(w, -(-x1 // SCALE) + REACH)] = True
        kept = float((moved & inside).sum()) / float(moved.sum())
        said = (f"{kept:.0%} of what changed is where {named} is" if kept >= IN_PLACE_SHARE else
                f"changed something else: only {kept:.0%} of what changed is where {named} is")
        scores.append({"name": "edit_in_place", "value": round(kept, 4), "threshold": IN_PLACE_SHARE,
                       "passed": kept >= IN_PLACE_SHARE, "reason": said, "role": "block"})
    return scores
