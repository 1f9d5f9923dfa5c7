"""The blocking of a local panel: where the request puts the plate and each figure, as masks.

A panel request carries everything the local provider lays a panel out by — the location
plate and the camera's framing and angle, each character's turnaround and wardrobe, the seed
and the moment that place the figures (providers/local_draw.py). From those, this rebuilds
the panel as it should be (`expected`, without grain) and, for each figure, which pixels are
its head (hair and face), its torso (the wardrobe), and the whole figure as left visible by
the figures in front of it; `background` is what should be plate. The judge compares a take
with this picture region by region, so it can say whose head, whose clothes, or where.

It must never look at the take, judge anything, or use the painter's fault code: it only
says where things should be.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

from slate.manifests.turnaround import HEAD_BAND, TORSO_BAND
from slate.media.wardrobe import band_rows
from slate.providers.base import PanelRequest, ReferenceImages
from slate.providers.local_draw import (dress, frame_plate, light_set, place_figures, placed_figure, placed_props,
                                        view_cell, views_needed)
from slate.providers.local_judge_inputs import read_plate, read_turnaround


@dataclass
class Figure:
    character_id: str
    view: str
    head: np.ndarray     # (H, W) bool, full panel size
    torso: np.ndarray
    body: np.ndarray     # every visible pixel of the figure
    area: int            # pixels the whole figure covers when nothing stands in front of it


@dataclass
class Prop:
    name: str
    mask: np.ndarray     # (H, W) bool: the prop's pixels where the ledger puts it
    fields: dict[str, object]


@dataclass
class Blocking:
    expected: Image.Image          # the panel as laid out, no grain
    figures: list[Figure]
    background: np.ndarray         # (H, W) bool: plate pixels
    props: list[Prop] = field(default_factory=list)   # the ledger's props in sight (issue 58)
    unlit: Image.Image | None = None                  # the framed plate before the ledger's light


@lru_cache(maxsize=32)
def _dressed(sheet_path: str, character_id: str, view: str, colour: str | None) -> Image.Image:
    return dress(view_cell(read_turnaround(Path(sheet_path), character_id), view), colour)


@lru_cache(maxsize=16)
def _plate(path: str, location_id: str, framing: str, angle: str, width: int, height: int) -> Image.Image:
    return frame_plate(read_plate(Path(path), location_id, (width, height)), framing, angle, width, height)


def block(request: PanelRequest, refs: ReferenceImages) -> Blocking:
    """The blocking of `request` from its references (raises Unjudgeable for references the
    local judge cannot read)."""
    w, h = request.width, request.height
    held = request.continuity or {}
    unlit = _plate(str(refs.plate), request.location_id, request.framing, request.angle, w, h)
    canvas = light_set(unlit, held.get("light")).copy()
    figs, sizes = {}, {}
    for ch in request.characters:
        for view in views_needed(held.get("blocking")):
            fig = _dressed(str(refs.turnarounds[ch.id]), ch.id, view, ch.wardrobe_colour)
            figs[(ch.id, view)] = fig
            sizes[(ch.id, view)] = fig.size
    owner = np.full((h, w), -1, dtype=np.int16)
    placed = []
    for i, p in enumerate(place_figures([c.id for c in request.characters], sizes, framing=request.framing,
                                        width=w, height=h, seed=request.seed, moment=request.moment,
                                        blocking=held.get("blocking"))):
        scaled = placed_figure(figs[(p.character_id, p.view)], p)
        canvas.paste(scaled, (p.x, p.y), scaled.getchannel("A"))
        owner[_mask(scaled, p.x, p.y, w, h)] = i  # a later figure stands in front
        placed.append((p, scaled.height, int((np.asarray(scaled.getchannel("A")) > 0).sum())))
    props = []
    for name, sprite, x, y in placed_props(held.get("props") or {}, w, h):
        canvas.paste(sprite, (x, y), sprite.getchannel("A"))
        mask = _mask(sprite, x, y, w, h)
        owner[mask] = PROP_OWNER   # in front of every figure: what it hides of them is not theirs
        props.append(Prop(name, mask, dict(held["props"][name])))
    figures = []
    for i, (p, fh, area) in enumerate(placed):
        body = owner == i
        bands = []
        for band in (HEAD_BAND, TORSO_BAND):
            rows = band_rows(fh, band)
            m = np.zeros_like(body)
            lo, hi = min(h, max(0, rows.start + p.y)), min(h, max(0, rows.stop + p.y))
            m[lo:hi] = body[lo:hi]
            bands.append(m)
        figures.append(Figure(p.character_id, p.view, bands[0], bands[1], body, area))
    return Blocking(canvas, figures, owner == -1, props, unlit)


#: The owner mark of a prop's pixels in `block` (figures are 0, 1, ...; plate -1).
PROP_OWNER = -2


def _mask(sprite: Image.Image, x: int, y: int, w: int, h: int) -> np.ndarray:
    """The (h, w) mask of `sprite`'s opaque pixels pasted at (x, y), cut to the frame."""
    alpha = np.asarray(sprite.getchannel("A")) > 0
    full = np.zeros((h, w), dtype=bool)
    x0, y0, x1, y1 = max(0, x), max(0, y), min(w, x + sprite.width), min(h, y + sprite.height)
    if x1 > x0 and y1 > y0:
        full[y0:y1, x0:x1] = alpha[y0 - y:y1 - y, x0 - x:x1 - x]
    return full
