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

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

from slate.manifests.turnaround import HEAD_BAND, TORSO_BAND
from slate.media.wardrobe import band_rows
from slate.providers.base import PanelRequest, ReferenceImages
from slate.providers.local_draw import PANEL_VIEWS, dress, frame_plate, place_figures, view_cell
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
class Blocking:
    expected: Image.Image          # the panel as laid out, no grain
    figures: list[Figure]
    background: np.ndarray         # (H, W) bool: plate pixels


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
    canvas = _plate(str(refs.plate), request.location_id, request.framing, request.angle, w, h).copy()
    figs, sizes = {}, {}
    for ch in request.characters:
        for view in PANEL_VIEWS:
            fig = _dressed(str(refs.turnarounds[ch.id]), ch.id, view, ch.wardrobe_colour)
            figs[(ch.id, view)] = fig
            sizes[(ch.id, view)] = fig.size
    owner = np.full((h, w), -1, dtype=np.int16)
    placed = []
    for i, p in enumerate(place_figures([c.id for c in request.characters], sizes, framing=request.framing,
                                        width=w, height=h, seed=request.seed, moment=request.moment)):
        fig = figs[(p.character_id, p.view)]
        scaled = fig.resize((max(1, round(fig.width * p.scale)), max(1, round(fig.height * p.scale))),
                            Image.Resampling.NEAREST)
        canvas.paste(scaled, (p.x, p.y), scaled.getchannel("A"))
        alpha = np.asarray(scaled.getchannel("A")) > 0
        full = np.zeros((h, w), dtype=bool)
        x0, y0, x1, y1 = max(0, p.x), max(0, p.y), min(w, p.x + scaled.width), min(h, p.y + scaled.height)
        if x1 > x0 and y1 > y0:
            full[y0:y1, x0:x1] = alpha[y0 - p.y:y1 - p.y, x0 - p.x:x1 - p.x]
        owner[full] = i  # a later figure stands in front
        placed.append((p, scaled.height, int(alpha.sum())))
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
    return Blocking(canvas, figures, owner < 0)
