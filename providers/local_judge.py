"""The local judge: scores panels and keyframes from the pixels alone, for free.

Panel gate criteria, each a Score with a reason:
- location:  share of the frame that matches the expected framing of the location plate;
- identity:  for each expected character, how much of its face-and-hair colours (the head band
             of its turnaround, never its clothes) is on screen, against the amount expected
             at this framing: a missing or recoloured character scores near 0;
- wardrobe:  how much of the scene's wardrobe colour (or the turnaround outfit) is on screen;
- artefacts: share of the frame that is neither the plate nor any character's colours.
Keyframe gate: the first frame against the start panel (SSIM), the last against the end panel
in start+end mode, the middle frame's colour distribution against the panel, and noise.

Art it did not paint — references or panels without the geometry the local provider draws
by (see providers/local_judge_inputs.py) — gets `Verdict.unjudgeable` with the reason: not
passed, and marked "cannot judge" so the take loop can hand it to a person instead of retrying.

It must never call a model or the network, never see the request's fault flag (it judges
what is on screen, as a paid judge would), and never raise on an input it cannot read.
"""
from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

from manifests.turnaround import HEAD_BAND, TORSO_BAND
from media.commands import DOLLY_ZOOM
from media import colour_distance, colour_stats, load_rgb, sharpness_noise, ssim
from providers.base import PanelRequest, ReferenceImages, Score, Verdict, fingerprint
from providers.local_draw import (FIGURE_HEIGHT, PANEL_VIEWS, band_rows, dominant_colour, dress,
                                  frame_plate, hex_rgb, view_cell)
from providers.local_judge_inputs import (Unjudgeable, read_panel, read_plate, read_still,
                                          read_turnaround)

BACKGROUND_TOL = 24   # grain is ±6 at most; a different plate differs by far more
COLOUR_TOL = 20
THRESHOLDS = {
    "location": 0.35,      # even three characters in a close shot leave half the plate visible
    "identity": 0.35,
    "wardrobe": 0.25,
    "artefacts": 0.97,     # 1 - share of unexplained pixels
    "first_frame": 0.85,   # clean clips measured >= 0.91 (a dolly out); corrupted <= 0.81
    "last_frame": 0.85,
    "continuity": 0.50,    # clean measured >= 0.71, off-model <= 0.11 (1 - colour distance)
    "noise": 0.5,          # panel noise / frame noise, capped at 1
}


@lru_cache(maxsize=64)
def _figure_palette(sheet_path: str, character_id: str, wardrobe_colour: str | None):
    """Per view: the figure's identity colours (head band) with their pixel counts and the
    figure height; plus every colour the dressed figure uses. Raises Unjudgeable (never
    cached) for a sheet the judge cannot read."""
    sheet = read_turnaround(Path(sheet_path), character_id)
    views, palette = {}, set()
    for view in PANEL_VIEWS:
        fig = np.array(dress(view_cell(sheet, view), wardrobe_colour))
        h = fig.shape[0]
        head = fig[band_rows(h, HEAD_BAND)]
        px = head[head[..., 3] > 0][:, :3]
        colours, counts = np.unique(px, axis=0, return_counts=True)
        keep = counts >= 0.10 * counts.sum()
        if not keep.any():
            # Drawn turnarounds have a few flat colours; a painted or photographed head has
            # hundreds, none of them a share the judge could count on screen.
            raise Unjudgeable(f"turnaround of '{character_id}', {view} view: no colour covers 10% of the head "
                              f"({len(colours)} colours): not flat-coloured like a drawn turnaround")
        views[view] = (h, [(tuple(map(int, c)), int(n)) for c, n in zip(colours[keep], counts[keep])],
                       dominant_colour(fig, band_rows(h, TORSO_BAND)),
                       int((fig[band_rows(h, TORSO_BAND)][..., 3] > 0).sum()))
        opaque = fig[fig[..., 3] > 0][:, :3]
        cs, ns = np.unique(opaque, axis=0, return_counts=True)
        palette.update(tuple(map(int, c)) for c, n in zip(cs, ns) if n >= 0.002 * len(opaque))
    return views, frozenset(palette)


def _near(px: np.ndarray, colour, tol=COLOUR_TOL) -> np.ndarray:
    """Which pixels (an (..., 3) array) are within `tol` of a colour on every channel."""
    return np.abs(px - np.array(colour, dtype=np.int16)).max(axis=-1) <= tol


def _near_any(px: np.ndarray, palette, tol=COLOUR_TOL) -> np.ndarray:
    out = np.zeros(px.shape[:-1], dtype=bool)
    for colour in palette:
        out |= _near(px, colour, tol)
    return out


def _score(name: str, value: float, reason: str) -> Score:
    value = float(max(0.0, min(1.0, value)))
    return Score(name, round(value, 4), THRESHOLDS[name], value >= THRESHOLDS[name], reason)


class LocalJudge:
    name = "local"
    model = "local-pixels-v1"
    variant: dict = {}

    def __init__(self, book: Path | None = None):
        # The judge's own book of what it was asked (a vendor's usage page): crash tests count
        # duplicate verdicts in it, not in our own counters.
        self.book = book

    def _note(self, client_ref: str | None, kind: str, *images: Path) -> None:
        if client_ref is None or self.book is None:
            return
        self.book.parent.mkdir(parents=True, exist_ok=True)
        subject = fingerprint([kind, *sorted(Path(p).name for p in images if p is not None)])
        with open(self.book, "a") as f:
            f.write(json.dumps({"client_ref": client_ref, "kind": kind, "subject": subject}) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def judgements(self) -> list[dict]:
        if self.book is None or not self.book.is_file():
            return []
        return [json.loads(line) for line in self.book.read_text().splitlines() if line.strip()]

    def judge_panel(self, panel: Path, request: PanelRequest, refs: ReferenceImages, *,
                    client_ref: str | None = None) -> Verdict:
        self._note(client_ref, "panel", panel)
        return self._answer(lambda: self._judge_panel(panel, request, refs))

    def judge_keyframes(self, frames: dict[str, Path], start_panel: Path, end_panel: Path | None,
                        request: PanelRequest, refs: ReferenceImages, *, client_ref: str | None = None) -> Verdict:
        self._note(client_ref, "keyframes", *frames.values(), start_panel, end_panel)
        return self._answer(lambda: self._judge_keyframes(frames, start_panel, end_panel, request))

    def _answer(self, judge) -> Verdict:
        try:
            return judge()
        except Unjudgeable as exc:
            return Verdict.unjudgeable(self.name, str(exc))
        except Exception as exc:  # noqa: BLE001
            # An input the checks above did not foresee. A raise here used to surface as an
            # escalated shot with no reason; "cannot judge" with the error reaches a person.
            return Verdict.unjudgeable(self.name, f"the local judge failed on these inputs "
                                                  f"({type(exc).__name__}: {exc})")

    def _judge_panel(self, panel: Path, request: PanelRequest, refs: ReferenceImages) -> Verdict:
        img = load_rgb(read_panel(panel, "the panel", request.width, request.height)).astype(np.int16)
        h, w, _ = img.shape
        if request.override_uri:
            # A human composite has no known layout: hold it to the location's look (colour
            # distribution against the plate), as a reviewer glancing at it would.
            plate = read_plate(refs.plate, request.location_id, (w, h)).convert("RGB").resize((w, h))
            dist = colour_distance(colour_stats(img.astype(np.uint8)), colour_stats(plate))
            return Verdict((_score("location", 1.0 - dist,
                                   f"colour distance {dist:.2f} from plate '{request.location_id}'"),), self.name)
        expected = np.asarray(frame_plate(read_plate(refs.plate, request.location_id, (w, h)),
                                          request.framing, request.angle, w, h), dtype=np.int16)
        background = np.abs(img - expected).max(axis=2) <= BACKGROUND_TOL
        # Everything after this looks only at the pixels that are not the plate: the figures
        # (and whatever went wrong). Working on that list, not the frame, keeps a verdict fast.
        fg = img[~background]
        scores = [_score("location", background.mean(),
                         f"{background.mean():.0%} of the frame matches plate '{request.location_id}'")]
        explained = np.zeros(len(fg), dtype=bool)
        for ch in request.characters:
            if ch.id not in refs.turnarounds:
                raise Unjudgeable(f"no turnaround of '{ch.id}' among the references")
            views, palette = _figure_palette(str(refs.turnarounds[ch.id]), ch.id, ch.wardrobe_colour)
            # Identity: the least-present identity colour, against the smallest amount any view
            # would show at this framing (so a side view is not taken for a missing face).
            ratios = []
            for view, (fig_h, colours, _, _) in views.items():
                scale = FIGURE_HEIGHT.get(request.framing, 0.78) * h / fig_h
                ratios.append(min(_near(fg, c).sum() / max(1.0, n * scale * scale) for c, n in colours))
            ident = max(ratios)
            scores.append(_score("identity", ident, f"{ch.id}: {ident:.0%} of the expected face and hair on screen"))
            fig_h, _, outfit, torso_px = views["front"]
            colour = hex_rgb(ch.wardrobe_colour) if ch.wardrobe_colour else outfit
            scale = FIGURE_HEIGHT.get(request.framing, 0.78) * h / fig_h
            worn = _near(fg, colour).sum() / max(1.0, 0.5 * torso_px * scale * scale)
            label = ch.wardrobe or "turnaround outfit"
            scores.append(_score("wardrobe", worn, f"{ch.id}: {worn:.0%} of the expected '{label}' colour"))
            explained |= _near_any(fg, palette)
        unexplained = (len(fg) - explained.sum()) / (h * w)
        scores.append(_score("artefacts", 1.0 - unexplained,
                             f"{unexplained:.1%} of the frame is neither the plate nor a character"))
        return Verdict(tuple(scores), self.name)

    def _judge_keyframes(self, frames: dict[str, Path], start_panel: Path, end_panel: Path | None,
                         request: PanelRequest) -> Verdict:
        size = (request.width, request.height)
        needed = ("first", "middle", "last") if end_panel is not None else ("first", "middle")
        missing = [name for name in needed if name not in frames]
        if missing:
            raise Unjudgeable(f"no {' or '.join(missing)} frame among the clip's keyframes")
        start = load_rgb(read_still(start_panel, "the start panel", size))
        clip = {name: load_rgb(read_still(frames[name], f"the clip's {name} frame", size)) for name in needed}
        first = clip["first"]
        opening = start_framing(start, request.movement)
        s_first = ssim(first, opening)
        scores = [_score("first_frame", s_first, f"first frame SSIM {s_first:.2f} against the start panel")]
        expected_middle = start
        if end_panel is not None:
            end = load_rgb(read_still(end_panel, "the end panel", size))
            s_last = ssim(clip["last"], end)
            scores.append(_score("last_frame", s_last, f"last frame SSIM {s_last:.2f} against the end panel"))
            # Half-way through a start+end clip the picture is between its two panels.
            expected_middle = ((start.astype(np.uint16) + end) // 2).astype(np.uint8)
        middle = clip["middle"]
        dist = colour_distance(colour_stats(middle), colour_stats(expected_middle))
        scores.append(_score("continuity", 1.0 - dist, f"middle frame colour distance {dist:.2f} from the panels"))
        noise_ratio = sharpness_noise(expected_middle) / max(1e-6, sharpness_noise(middle))
        scores.append(_score("noise", min(1.0, noise_ratio * 0.75),
                             f"middle frame is {1 / max(noise_ratio, 1e-6):.1f}x as noisy as the panel"))
        return Verdict(tuple(scores), self.name)


def start_framing(panel: np.ndarray, movement: str) -> np.ndarray:
    """The panel as a move's first frame shows it: a dolly out starts pushed in."""
    if movement != "dolly_out":
        return panel
    h, w, _ = panel.shape
    cw, ch = w / DOLLY_ZOOM, h / DOLLY_ZOOM
    box = ((w - cw) / 2, (h - ch) / 2, (w + cw) / 2, (h + ch) / 2)
    return np.asarray(Image.fromarray(panel).resize((w, h), Image.BILINEAR, box=box))
