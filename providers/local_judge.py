"""The local judge: scores panels and keyframes from the pixels alone, for free.

A panel is compared with its blocking (providers/local_blocking.py: the plate as framed and each
figure where the request puts it, with masks of its head, torso and body), after grading the
expected picture to the take's exposure and softening both to half size (media/grade.py), in
CIE Lab with a tolerance measured on clean takes (brightness ±30%, gamma, JPEG q15, blur, noise).
Panel gate criteria, each a Score with a reason, each a share of a region that matches:
- location:  the background (what should be plate): another plate, a shifted one, a reframing;
- identity:  per figure, its head (hair and face) — decoupled from clothing: a replaced, swapped
             or recoloured head, and two characters swapping places, fail here;
- wardrobe:  per figure, its torso: a recoloured outfit;
- characters_present: the worst figure's body where it should stand (a missing character), or
             a figure-sized patch where only plate should be (an extra one);
- artefacts: the largest connected patch unlike the layout (blotches, stripes, decoder garbage;
             a codec or blur only leaves specks);
- marks:     text-like marks the layout does not have — a caption, a signature, a model's name in
             a corner — as thin strokes (media/marks.py), the region named (issue 36: a corner
             caption of 1% of the frame is letters too small apart for `artefacts`).
Keyframe gate: each keyframe against its panel seen through the camera move that explains it
best (zoom and position searched, since no model reproduces a move exactly; the middle of a
start+end clip may be the cross-fade): the share that differs, the largest differing patch, and
text-like marks on any of the three (a caption titled in partway, a watermark through the clip).
A clip whose second half is another shot fails on its middle or last frame. The first frame is
also held figure by figure to the start image where the layout puts each (head, torso and their
colours): a clip animated from a panel with another face or hair differs there, not in the whole.
Continuity across a cut: the next shot's first frame, seen through the move that explains it,
against that shot's blocking — for each character the two shots share, its head (identity) and
torso (wardrobe), and the background when the place is the same — beside the colours of the two
frames (media.continuity). The side before the cut is not laid out here: after a camera move
or a chain its layout is not the panel's, and the keyframe gate already held it.

Before any comparison, every picture it is shown is checked for content (media/content.py): a
flat, mostly black or white, washed-out or noise-drowned take fails `content` with what is
wrong, since a picture with nothing in it cannot be held to a layout (the grade would fit it).

Art it did not paint — references or panels without the geometry the local provider draws
by (see providers/local_judge_inputs.py) — gets `Verdict.unjudgeable` with the reason: not
passed, and marked "cannot judge" so the take loop can hand it to a person instead of retrying.

It must never call a model or the network, never see the request's fault flag (it judges
what is on screen, as a paid judge would), and never raise on an input it cannot read.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from slate.manifests.turnaround import BIBLE_PLATE_SIZE, HEAD_BAND, LEGS_BAND, TORSO_BAND
from slate.media import colour_distance, colour_stats, load_rgb, session_memo
from slate.media.content import content_fault
from slate.media.marks import text_marks
from slate.media.continuity import palette_continuity
from slate.providers.base import PanelRequest, ReferenceImages, Score, Verdict, fingerprint
from slate.providers.local_verdicts import verdict_json, verdict_of
from slate.media.wardrobe import band_rows, dominant_colour
from slate.providers.local_draw import PANEL_VIEWS, dress, view_cell
from slate.providers.local_blocking import Blocking, Figure, block
from slate.providers.local_draw import LIGHT_SLOPE
from slate.providers.local_ledger_checks import ledger_scores, light_reading
from slate.providers.local_judge_inputs import (Unjudgeable, open_image, read_panel, read_plate, read_still,
                                                read_turnaround)
from slate.media.grade import delta_e, frame_window, graded_lab, lab, region_delta, soften
from slate.media.palette import colour_counts, pack_colours

WORK_SCALE = 2        # panels are compared at half size: a slight blur, grain and JPEG blocks vanish there
KEY_SCALE = 2         # keyframes at half size too, once the move is found
WORK_WIDTH = 427      # ... and never wider than half the draft's 854: every threshold below was measured
                      # there. Measured at half of 720p or 1080p, codec specks join into patches: the
                      # local provider's own clean final clips failed the artefact check (and a cut the
                      # identity check); tests/e2e/test_example_profiles.py
DELTA_E = 12.0        # CIE76 units: clean takes graded to the layout measured below ~6 inside regions
EDGE_GAIN = 0.5       # share of an edge's contrast a blur or codec may move a pixel by
ERODE = 2             # working pixels trimmed off each region's edge (the softening's reach)
MIN_REGION = 12       # working pixels: a smaller visible head or torso is hidden, not judged
COLOUR_FULL = 50.0    # ΔE of a region's median colour read as 0 (0.82 = ΔE 9)
MIN_COLOUR_PIXELS = 8  # working pixels inside a colour's region needed to read it
COLOUR_SHARE = 0.15   # a colour covering less of a head or torso than this is a detail, not its colour
EMPTY_SHOT_FIGURE = 0.02  # a shot with nobody in it: a blob of 2% of the frame is someone extra
THRESHOLDS = {
    # Measured on benchmarks/gates.py's corpus (clean takes with exposure, gamma, JPEG q15-35,
    # blur and noise; edited faults), see governor/gates.toml [panel.local] for the figures.
    "location": 0.90,
    "identity": 0.85,
    "wardrobe": 0.85,
    "characters_present": 0.85,
    "artefacts": 0.997,    # 1 - the largest differing patch's share of the frame
    "first_frame": 0.95,   # 1 - share of the frame that differs from the panel seen through the move
    "middle_frame": 0.95,
    "last_frame": 0.95,
    "keyframe_artefacts": 0.996,
    # Issue 36: text-like marks (a caption, a signature, a model's watermark): 1 - the strongest
    # mark's share of the frame in thin strokes the shot does not have / (2 * MARK_STROKES), so a
    # mark of MARK_STROKES (0.04% of the frame in strokes) reads 0.5 (media/marks.py has the figures).
    "marks": 0.5,
    "keyframe_marks": 0.5,
    "composite_location": 0.35,  # a human composite's colours against the plate: no layout to hold it to
    # The cut's far side, as the panel gate holds a panel (benchmarks/gates.py, continuity).
    "cut_identity": 0.85,
    "cut_wardrobe": 0.85,
    "cut_location": 0.90,
    "cut_props": 0.85,     # the ledger carried over the cut (issue 58): as the panel gate's
    "cut_blocking": 0.85,
    "cut_light": 0.6,
    "first_props": 0.85,   # ... and in the clip's own first frame, against its start panel
    "first_blocking": 0.85,
    "first_light": 0.6,
    # The clip's first frame, figure by figure, against the start image (as the panel gate).
    "first_identity": 0.85,
    "first_wardrobe": 0.85,
    "content": 1.0,
    # Issue 58, the continuity ledger (providers/local_ledger_checks.py; benchmarks/continuity.py
    # has the figures): the share of a prop's pixels, and of a placed figure's, that match where
    # the ledger puts them; the light 1 as the ledger's, 0.5 flat, 0 the other way.
    "props": 0.85,
    "blocking": 0.85,
    "light": 0.6,
    # Each figure's own colours (hair, skin; the outfit) as a whole, after the bounded grade:
    # 1 - ΔE / COLOUR_FULL of the region's median colour (see COLOUR_FULL for the figures).
    # Measured (seeds 7, 8, 9; 40 panels of each): clean takes lowest 0.87 (ΔE 6.5: a wide
    # shot's small face at JPEG q15); hair lightness ±18 L* highest 0.78 (ΔE 10.9), hair hue
    # ±20° (HSV) and outfit hue ±30° lower (but a hue turned and then clipped white by a
    # brighter exposure, which no grade can tell).
    "identity_colour": 0.82,
    "wardrobe_colour": 0.82,
    # A turnaround's outfit (its front view's top and legwear) against the colour word its locked
    # description names, 1 - ΔE / COLOUR_FULL: the painter's own sheets of the example cast read
    # ΔE < 1; the nearest other colour words of its palette lie ΔE 20+ apart (blue and dark blue
    # 27, green and dark green 24, tan and warm tan 0: one colour), a flannel shirt drawn in its
    # wearer's red hair 90+. 0.6 = ΔE 20: another colour word, never the same one drawn a little off.
    "outfit_named": 0.6,         # media/content.py: 1 has content, 0 does not (its thresholds are its own)
}

#: A window of a picture (left, top, right, bottom): what a camera move shows of it.
Box = tuple[float, float, float, float]
#: One view of a figure as the judge reads its sheet: its height, its head's colours (each with
#: its pixel count), its outfit's colour, and how many pixels its torso covers.
ViewPalette = tuple[int, list[tuple[tuple[int, ...], int]], tuple[int, int, int] | None, int]


@lru_cache(maxsize=64)
def _figure_palette(sheet_path: str, character_id: str, wardrobe_colour: str | None
                    ) -> tuple[dict[str, ViewPalette], frozenset[tuple[int, ...]]]:
    """Per view: the figure's identity colours (head band) with their pixel counts and the
    figure height; plus every colour the dressed figure uses. Raises Unjudgeable (never
    cached) for a sheet the judge cannot read."""
    sheet = read_turnaround(Path(sheet_path), character_id)
    views: dict[str, ViewPalette] = {}
    palette: set[tuple[int, ...]] = set()
    for view in PANEL_VIEWS:
        fig = np.array(dress(view_cell(sheet, view), wardrobe_colour))
        h = fig.shape[0]
        head = fig[band_rows(h, HEAD_BAND)]
        px = head[head[..., 3] > 0][:, :3]
        colours, counts = colour_counts(px)
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
        cs, ns = colour_counts(opaque)
        palette.update(tuple(map(int, c)) for c, n in zip(cs, ns) if n >= 0.002 * len(opaque))
    return views, frozenset(palette)


def _score(name: str, value: float, reason: str, rule: str | None = None) -> Score:
    value = float(max(0.0, min(1.0, value)))
    threshold = THRESHOLDS[rule or name]
    return Score(name, round(value, 4), threshold, value >= threshold, reason)


class LocalJudge:
    name = "local"
    model = "local-pixels-v1"
    variant: dict[str, Any] = {}

    def __init__(self, book: Path | None = None):
        # The judge's own book of what it was asked (a vendor's usage page): crash tests count
        # duplicate verdicts in it, not in our own counters.
        self.book = book

    def _note(self, client_ref: str | None, kind: str, *images: Path | None) -> None:
        if client_ref is None or self.book is None:
            return
        self.book.parent.mkdir(parents=True, exist_ok=True)
        subject = fingerprint([kind, *sorted(Path(p).name for p in images if p is not None)])
        with open(self.book, "a") as f:
            f.write(json.dumps({"client_ref": client_ref, "kind": kind, "subject": subject}) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def judgements(self) -> list[dict[str, Any]]:
        if self.book is None or not self.book.is_file():
            return []
        return [json.loads(line) for line in self.book.read_text().splitlines() if line.strip()]

    # -- what it can read (providers.base.ReadsReferences): asked before a run pays -------------
    def unreadable_turnaround(self, sheet: Path, character_id: str,
                              wardrobe_colours: tuple[str | None, ...] = ()) -> str | None:
        try:
            read_turnaround(sheet, character_id)
            for colour in wardrobe_colours:
                _figure_palette(str(sheet), character_id, colour)   # no colour covering a tenth of a head
        except Unjudgeable as exc:
            return str(exc)
        return None

    def unreadable_plate(self, plate: Path, location_id: str, size: tuple[int, int]) -> str | None:
        try:
            read_plate(plate, location_id, size)
        except Unjudgeable as exc:
            return str(exc)
        return None

    # -- the bible's references: read from the pixels and the words, free (no request, nothing
    # billed), beside slate's own measures of a sheet or plate -----------------------------------
    def turnaround_colours(self, sheet: Path, character_id: str, description: str) -> list[Score]:
        """The sheet's outfit (its front view's top and legwear) against the colours its locked
        description names: one score per colour named; none for a sheet it cannot read (slate's
        own measures say what is wrong with it)."""
        from slate.providers.local_bible import COLOURS, described_outfit
        try:
            img = read_turnaround(sheet, character_id)
        except Unjudgeable:
            return []
        fig = np.asarray(view_cell(img, "front"))
        scores = []
        for part, word, band in zip(("top", "legwear"), described_outfit(description), (TORSO_BAND, LEGS_BAND)):
            seen = dominant_colour(fig, band_rows(fig.shape[0], band)) if word else None
            if word is None or seen is None:
                continue
            d = float(np.linalg.norm(lab(np.array([[seen]], float))[0, 0] - lab(np.array([[COLOURS[word]]], float))[0, 0]))
            scores.append(_score("outfit_named", 1.0 - d / COLOUR_FULL,
                                 f"{character_id}: the outfit's {part} is drawn rgb{tuple(seen)}, ΔE {d:.0f} from the "
                                 f"{word} the description names"))
        return scores

    def locate_edit(self, plate: Path, description: str, instruction: str
                    ) -> tuple[list[tuple[int, int, int, int]], str] | None:
        """Where in a plate the things an edit names are (the local painter's layout of the
        description's things), with their words — when the plate shows each one there (its
        colour over a tenth of its box); None when the edit names nothing it can find."""
        from slate.providers.local_bible import named_things
        try:
            img = np.asarray(open_image(plate, "the parent plate").convert("RGB"), dtype=np.int16)
        except Unjudgeable:
            return None
        if img.shape[1::-1] != BIBLE_PLATE_SIZE:
            return None
        found = []
        for _, words, (x0, y0, x1, y1), colour in named_things(description, instruction):
            box = img[y0:y1, x0:x1]
            if box.size and (np.abs(box - np.array(colour)).max(axis=-1) <= 24).mean() >= 0.1:
                found.append(((x0, y0, x1, y1), words))
        if not found:
            return None
        return [b for b, _ in found], " and ".join(f"the {w}" for _, w in found)

    def judge_panel(self, panel: Path, request: PanelRequest, refs: ReferenceImages, *,
                    client_ref: str | None = None) -> Verdict:
        self._note(client_ref, "panel", panel)
        return self._answer(lambda: self._kept("panel", (request.as_dict(),), [panel], refs,
                                               lambda: self._judge_panel(panel, request, refs)))

    def judge_keyframes(self, frames: dict[str, Path], start_panel: Path, end_panel: Path | None,
                        request: PanelRequest, refs: ReferenceImages, *, client_ref: str | None = None) -> Verdict:
        self._note(client_ref, "keyframes", *frames.values(), start_panel, end_panel)
        return self._answer(lambda: self._kept(
            "keyframes", (tuple(frames), request.as_dict()), [*frames.values(), start_panel, end_panel], refs,
            lambda: self._judge_keyframes(frames, start_panel, end_panel, request, refs)))

    def judge_continuity(self, last_frame: Path, first_frame: Path, previous: PanelRequest, request: PanelRequest,
                         refs: ReferenceImages, *, laid_out: bool = True, client_ref: str | None = None) -> Verdict:
        """The cut from `previous` into `request`. `laid_out`: the next shot's clip started from
        its own panel (not the last frame before the cut); only then is its first frame held to
        the shot's blocking, otherwise the two frames' colours decide."""
        self._note(client_ref, "continuity", last_frame, first_frame)
        return self._answer(lambda: self._kept(
            "continuity", (previous.as_dict(), request.as_dict(), laid_out), [last_frame, first_frame], refs,
            lambda: self._judge_continuity(last_frame, first_frame, previous, request, refs, laid_out)))

    def _kept(self, kind: str, arguments: tuple[Any, ...], files: list[Path | None], refs: ReferenceImages,
              judged: Callable[[], Verdict]) -> Verdict:
        """The verdict `judged()` gives, or the one it gave these files earlier in the test
        session (media/session_memo.py; a film's runs always judge): the judge reads nothing but
        the files and the request, so the same inputs are the same verdict. Its book is written
        either way (`_note`, before this): what crash tests count is every request. A judgement that
        raises (a file it cannot read) is not kept: `_answer` says it each time."""
        turnarounds = sorted(refs.turnarounds.items())
        return session_memo.kept(f"judge-{kind}", (self.model, repr(self.variant), *arguments,
                                                   [c for c, _ in turnarounds]),
                                 [*files, refs.plate, *(p for _, p in turnarounds)], judged, verdict_json, verdict_of)

    def _answer(self, judge: Callable[[], Verdict]) -> Verdict:
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
        take = read_panel(panel, "the panel", request.width, request.height)
        blank = _blank({"the panel": take})
        if blank:
            return blank
        w, h = take.size
        if request.override_uri:
            # A human composite has no known layout: hold it to the location's look (colour
            # distribution against the plate), as a reviewer glancing at it would.
            plate = read_plate(refs.plate, request.location_id, (w, h)).convert("RGB").resize((w, h))
            dist = colour_distance(colour_stats(load_rgb(take)), colour_stats(plate))
            return Verdict((_score("location", 1.0 - dist, f"colour distance {dist:.2f} from plate "
                                   f"'{request.location_id}'", "composite_location"),), self.name)
        for ch in request.characters:
            if ch.id not in refs.turnarounds:
                raise Unjudgeable(f"no turnaround of '{ch.id}' among the references")
            _figure_palette(str(refs.turnarounds[ch.id]), ch.id, ch.wardrobe_colour)  # a sheet it can read
        blocking = block(request, refs)
        size = _working(w, h, WORK_SCALE)
        seen = _Seen(soften(blocking.expected, size), soften(take, size))
        off = seen.off
        scores = []
        back = _shrink(blocking.background, size)
        scores.append(_score("location", _matched(off, back),
                             f"{_matched(off, back):.0%} of the background matches plate '{request.location_id}' "
                             f"as framed {request.framing}, {request.angle}"))
        present, smallest = [], None
        for fig in blocking.figures:
            head, torso, body = (_shrink(m, size) for m in (fig.head, fig.torso, fig.body))
            if head.sum() >= MIN_REGION:
                v = _matched(off, head)
                scores.append(_score("identity", v, f"{fig.character_id}: {v:.0%} of the face and hair as in "
                                                    f"the turnaround ({fig.view} view)"))
                scores += seen.colours(blocking.expected, fig, "identity_colour", size)
            if torso.sum() >= MIN_REGION:
                v = _matched(off, torso)
                label = next((c.wardrobe for c in request.characters if c.id == fig.character_id and c.wardrobe),
                             "turnaround outfit")
                scores.append(_score("wardrobe", v, f"{fig.character_id}: {v:.0%} of the torso wears '{label}'"))
                scores += seen.colours(blocking.expected, fig, "wardrobe_colour", size)
            if body.sum() >= MIN_REGION:
                present.append((fig.character_id, _matched(off, body)))
            area = fig.area * (size[0] / w) ** 2
            smallest = area if smallest is None else min(smallest, area)
        blob = _largest_blob(off & back)
        extra = blob / (smallest or EMPTY_SHOT_FIGURE * size[0] * size[1])
        who, there = min(present, key=lambda p: p[1]) if present else ("", 1.0)
        if 1.0 - extra < there:
            scores.append(_score("characters_present", 1.0 - extra,
                                 f"something figure-sized ({extra:.0%} of a figure) stands where only the plate "
                                 "should be"))
        else:
            scores.append(_score("characters_present", there, f"{who}: {there:.0%} of the figure where it should stand"))
        if request.continuity:
            # Issue 58: the props, the blocking and the light the continuity ledger holds here.
            def read(mask: np.ndarray) -> tuple[float, int]:
                region = _shrink(mask, size)
                return _matched(off, region), int(region.sum())
            scores += ledger_scores(blocking, np.asarray(take.convert("RGB")), read, soften(take, size),
                                    soften(blocking.unlit or blocking.expected, size), back, request.continuity,
                                    _score)
        # Codec and blur leave specks; a blotch, a stripe or decoder garbage is one connected patch.
        patch = _largest_blob(off) / off.size
        scores.append(_score("artefacts", 1.0 - patch, f"the largest patch unlike the shot as laid out is {patch:.2%} "
                                                       f"of the frame ({off.mean():.1%} differs in all)"))
        # Captions, signatures, a model's name: thin strokes the layout does not have (media/marks.py).
        marks = text_marks(blocking.expected, take, size)
        scores.append(_score("marks", marks.value(), marks.describe()))
        return Verdict(tuple(scores), self.name)

    def _judge_keyframes(self, frames: dict[str, Path], start_panel: Path, end_panel: Path | None,
                         request: PanelRequest, refs: ReferenceImages | None = None) -> Verdict:
        size = (request.width, request.height)
        needed = ("first", "middle", "last") if end_panel is not None else ("first", "middle")
        missing = [name for name in needed if name not in frames]
        if missing:
            raise Unjudgeable(f"no {' or '.join(missing)} frame among the clip's keyframes")
        names = [n for n in ("first", "middle", "last") if n in frames]
        start = read_still(start_panel, "the start panel", size).convert("RGB")
        end = read_still(end_panel, "the end panel", size).convert("RGB") if end_panel is not None else None
        clip = {name: load_rgb(read_still(frames[name], f"the clip's {name} frame", size)) for name in names}
        blank = _blank({f"the {name} frame": clip[name] for name in names})
        if blank:
            return blank
        work = _working(size[0], size[1], KEY_SCALE)
        scores, patches, marked = [], [], []
        for name in names:
            frame = clip[name]
            # What the frame should show: the start panel seen through some camera move (zoom,
            # pan, tilt by amounts no model reproduces exactly: searched, not read off the
            # request); in start+end mode the last frame is the end panel through the move, and
            # the middle a half-way cross-fade — or either panel, whichever explains it best.
            options: list[tuple[Image.Image, Image.Image | None]]
            if end is None:
                options = [(start, None)]
            elif name == "first":
                options = [(start, None)]
            elif name == "last":
                options = [(end, None)]
            else:
                options = [(start, None), (end, None), (start, end)]
            (ncc, box, expected), (shown, mix) = max(((frame_window(p, frame, work, mix), (p, mix))
                                                      for p, mix in options), key=lambda f: f[0][0])
            off = _differs(expected, soften(frame, work))
            v = 1.0 - float(off.mean())
            held = "the end panel" if end is not None and name == "last" else \
                "the panels" if end is not None and name == "middle" else "the start panel"
            scores.append(_score(f"{name}_frame", v, f"{name} frame: {1 - v:.1%} differs from {held} "
                                                     f"({_describe(box, size)})"))
            patches.append((_largest_blob(off) / off.size, name))
            # Marks against the panel as the move shows it, unblurred (a cross-fade: half of each).
            held_to = shown.resize(work, Image.Resampling.BOX, box=box)
            if mix is not None:
                held_to = Image.blend(held_to, mix.resize(work, Image.Resampling.BOX), 0.5)
            marked.append((text_marks(held_to, frame, work), name))
            if name == "first" and refs is not None:
                scores += _first_figures(start, frame, box, expected, work, request, refs)
        patch, where = max(patches)
        scores.append(_score("artefacts", 1.0 - patch, f"the largest patch unlike the panels is {patch:.2%} of the "
                                                       f"{where} frame", "keyframe_artefacts"))
        marks, where = max(marked, key=lambda m: m[0].share)
        scores.append(_score("marks", marks.value(), marks.describe(f"the {where} frame"), "keyframe_marks"))
        return Verdict(tuple(scores), self.name)

    def _judge_continuity(self, last_frame: Path, first_frame: Path, previous: PanelRequest, request: PanelRequest,
                          refs: ReferenceImages, laid_out: bool) -> Verdict:
        size = (request.width, request.height)
        last = read_still(last_frame, "the last frame before the cut", size)
        first = read_still(first_frame, "the first frame after the cut", size)
        blank = _blank({"the last frame before the cut": last, "the first frame after the cut": first})
        if blank:
            return blank
        palette = palette_continuity(last, first)
        shared = [c.id for c in request.characters if c.id in {p.id for p in previous.characters}]
        same_place = previous.location_id == request.location_id
        why_not = ("the shot after the cut is a human composite (no layout)" if request.override_uri else
                   "the shot after the cut starts from the last frame before it" if not laid_out else
                   "the shots share no one and no place" if not shared and not same_place else "")
        if not why_not:
            try:
                scores = self._held_to_blocking(first, request, refs, shared, same_place)
            except Unjudgeable as exc:
                scores, why_not = [], f"the shot after the cut cannot be laid out ({exc})"
        # The colours of the two frames: a check on its own where no layout holds the cut, a
        # warning beside one (a strong gamma or grade moves a histogram; it moves no face).
        role = "block" if why_not else "warn"
        scores = [Score("palette", palette["value"], palette["threshold"], palette["passed"],
                        palette["reason"] + (f"; {why_not}" if why_not else ""), role)] + ([] if why_not else scores)
        return Verdict(tuple(scores), self.name)

    def _held_to_blocking(self, first: Image.Image, request: PanelRequest, refs: ReferenceImages,
                          shared: list[str], same_place: bool) -> list[Score]:
        for cid in shared:
            if cid not in refs.turnarounds:
                raise Unjudgeable(f"no turnaround of '{cid}' among the references")
        blocking = block(request, refs)
        w, h = request.width, request.height
        work = _working(w, h, KEY_SCALE)
        frame = load_rgb(first)
        _, box, expected = frame_window(blocking.expected, frame, work)
        seen_cut = _Seen(expected, soften(frame, work))
        off = seen_cut.off
        seen = f"the first frame of the shot after the cut ({_describe(box, (w, h))})"
        scores = []
        if same_place:
            v = _matched(off, _shrink(blocking.background, work, box))
            scores.append(_score("location", v, f"{v:.0%} of the background in {seen} matches plate "
                                                f"'{request.location_id}'", "cut_location"))
        for fig in blocking.figures:
            if fig.character_id not in shared:
                continue
            head, torso = _shrink(fig.head, work, box), _shrink(fig.torso, work, box)
            if head.sum() >= MIN_REGION:
                v = _matched(off, head)
                scores.append(_score("identity", v, f"{fig.character_id}, in both shots: {v:.0%} of the face and "
                                                    f"hair in {seen} as in the turnaround", "cut_identity"))
                scores += seen_cut.colours(blocking.expected, fig, "identity_colour", work, box)
            if torso.sum() >= MIN_REGION:
                v = _matched(off, torso)
                scores.append(_score("wardrobe", v, f"{fig.character_id}, in both shots: {v:.0%} of the torso in "
                                                    f"{seen} wears the same outfit", "cut_wardrobe"))
                scores += seen_cut.colours(blocking.expected, fig, "wardrobe_colour", work, box)
        if request.continuity:
            scores += _carried_over(blocking, frame, box, work, off, request.continuity,
                                    "cut", "in the first frame after the cut")
        return scores


def _carried_over(blocking: Blocking, frame: np.ndarray, box: Box, work: tuple[int, int], off: np.ndarray,
                  held: Mapping[str, Any], rule: str, where: str, start: np.ndarray | None = None) -> list[Score]:
    """The continuity ledger's state at a shot's start, held in a frame of it (issue 58): each
    prop where the shot starts with it, each placed character's side, the light — as the panel
    gate holds the shot's start panel, through the camera move the frame was found at (`box`),
    `off` being where the frame differs from what it should show. A clip that lost the panel at
    its first frame (a prop gone, a figure on the other side, the light flipped) fails by the
    thing's name and the shot the ledger has it from; the rules are `<rule>_props`,
    `<rule>_blocking`, `<rule>_light` (cut: the first frame after a cut; first: the clip's own
    first frame), their thresholds the panel gate's. The light's warmth is left to the panel gate:
    a video model grades its whole clip, and a grade is not a change of light. With `start` (the
    start image as the frame shows it, at `work` size) the light is held to the start image's,
    not to the ledger: a clip made from references or a composite starts from an image the
    painter did not light, and the keyframe gate holds a clip to the image it was made from."""
    w, h = blocking.expected.size

    def read(mask: np.ndarray) -> tuple[float, int]:
        region = _shrink(mask, work, box)
        return _matched(off, region), int(region.sum())

    # The frame back in the layout's own coordinates (for the reason's "it stands frame right
    # instead"): the layout where the move does not show it, the frame where it does.
    left, top, right, bottom = (round(v) for v in box)
    canvas = blocking.expected.convert("RGB")
    if right > left and bottom > top:
        canvas.paste(Image.fromarray(frame.astype(np.uint8)).resize((right - left, bottom - top),
                                                                     Image.Resampling.BILINEAR), (left, top))
    laid = np.asarray(canvas)
    unlit = soften((blocking.unlit or blocking.expected).resize(work, Image.Resampling.BILINEAR, box=box), work)

    def score(name: str, value: float, reason: str) -> Score:
        return _score(name, value, f"{reason}, {where}", f"{rule}_{name}")
    back = _shrink(blocking.background, work, box)
    scores = ledger_scores(blocking, laid, read, soften(frame, work), unlit, back, held, score, temperature=False,
                           light_read=start is None)
    key = str((held.get("light") or {}).get("key"))
    if start is not None and key in ("left", "right"):
        seen, shown = light_reading(soften(frame, work), unlit, back), light_reading(start, unlit, back)
        if seen is not None and shown is not None:
            moved = seen[0] - shown[0]
            v = 1.0 - min(1.0, abs(moved) / (2 * LIGHT_SLOPE))
            scores.append(score("light", v, f"the light falls across the set with a slope of {seen[0]:+.3f} against "
                                            f"{shown[0]:+.3f} in the start image (the ledger's key light is from "
                                            f"frame {key})"))
    return scores


def _first_figures(start: Image.Image, frame: np.ndarray, box: Box, expected: np.ndarray, work: tuple[int, int],
                   request: PanelRequest, refs: ReferenceImages) -> list[Score]:
    """Each figure of the shot in the clip's first frame, held to the start image where the
    shot's layout puts it (head: `first_identity`, torso: `first_wardrobe`, and each one's own
    colours), as the panel gate holds a panel. Why: a head or hair changed in a wide shot is a
    few tenths of a percent of the frame — under what the whole-frame share and the largest
    patch can tell from a codec's specks (a clip animated from a panel with another face passed
    at 0.997) — but most of the figure's own head. Art the layout cannot be read from (a
    model's references) keeps the whole-frame checks only: those still hold the first frame."""
    if any(ch.id not in refs.turnarounds for ch in request.characters):
        return []  # a figure slate has no sheet for cannot be placed: the whole-frame checks hold it
    try:
        blocking = block(request, refs)
    except Unjudgeable:
        return []
    seen = _Seen(expected, soften(frame, work))
    scores = []
    for fig in blocking.figures:
        head, torso = _shrink(fig.head, work, box), _shrink(fig.torso, work, box)
        if head.sum() >= MIN_REGION:
            v = _matched(seen.off, head)
            scores.append(_score("identity", v, f"{fig.character_id}: {v:.0%} of the face and hair in the first "
                                                f"frame as in the start image", "first_identity"))
            scores += seen.colours(start, fig, "identity_colour", work, box)
        if torso.sum() >= MIN_REGION:
            v = _matched(seen.off, torso)
            scores.append(_score("wardrobe", v, f"{fig.character_id}: {v:.0%} of the torso in the first frame as "
                                                f"in the start image", "first_wardrobe"))
            scores += seen.colours(start, fig, "wardrobe_colour", work, box)
    if request.continuity:
        scores += _carried_over(blocking, frame, box, work, seen.off, request.continuity, "first",
                                "in the clip's first frame", start=expected)
    return scores


def _working(w: int, h: int, scale: int) -> tuple[int, int]:
    """The size a picture of w×h is compared at: 1/scale of it, at most WORK_WIDTH wide (the
    aspect kept), at least 8 pixels a side."""
    width = min(w // scale, WORK_WIDTH)
    return max(8, width), max(8, round(h * width / w))


def _blank(pictures: Mapping[str, Image.Image | np.ndarray]) -> Verdict | None:
    """A failing verdict naming each picture with no content, or None when all have some."""
    faults = [(what, fault) for what, picture in pictures.items() if (fault := content_fault(load_rgb(picture)))]
    if not faults:
        return None
    return Verdict(tuple(_score("content", 0.0, f"{what}: {fault}") for what, fault in faults), LocalJudge.name)


def _differs(expected: np.ndarray, take: np.ndarray, graded: tuple[np.ndarray, np.ndarray] | None = None
             ) -> np.ndarray:
    """Where the take differs from what was expected by more than a grade, a codec or a blur
    explains: DELTA_E on flat patches, more along the expected picture's edges."""
    distance, edges = delta_e(expected, take, graded=graded)
    return distance > DELTA_E + EDGE_GAIN * edges


class _Seen:
    """A take beside what was expected, both softened to the working size, graded once: where
    they differ pixel by pixel (`off`), and each figure's own colours compared as a whole."""

    def __init__(self, expected: np.ndarray, take: np.ndarray):
        self.graded = graded_lab(expected, take)
        self.off = _differs(expected, take, self.graded)
        self._full: np.ndarray | None = None   # the full-size expected picture as an array, made once

    def colours(self, expected_full: Image.Image, fig: Figure, rule: str, size: tuple[int, int],
                box: Box | None = None) -> list[Score]:
        """One score for the figure's head (hair and skin: `identity_colour`) or torso (the
        outfit: `wardrobe_colour`): the worst of its own colours — each one that covers
        COLOUR_SHARE of the region in the expected picture — by how far its median moved (ΔE)."""
        region = fig.head if rule == "identity_colour" else fig.torso
        if self._full is None:
            self._full = np.asarray(expected_full.convert("RGB"))
        parts = _colour_parts(self._full, region, rule == "identity_colour")
        worst = None
        for name, mask in parts:
            small = _inside(mask, size, box)
            if small.sum() < MIN_COLOUR_PIXELS:
                continue  # too little of it shows, away from its edges, to read its colour
            d = region_delta(*self.graded, small)
            if worst is None or d > worst[0]:
                worst = (d, name)
        if worst is None:
            return []
        d, name = worst
        what = "hair and skin" if rule == "identity_colour" else "outfit"
        return [_score(rule, 1.0 - d / COLOUR_FULL, f"{fig.character_id}: {name} colour ΔE {d:.1f} from the "
                                                    f"turnaround's (the worst of the {what} colours)")]


def _colour_parts(expected: np.ndarray, region: np.ndarray, head: bool) -> list[tuple[str, np.ndarray]]:
    """The region's own colours in the expected picture (drawn flat: exact colours), each that
    covers COLOUR_SHARE of it, as (name, full-size mask); on a head the colour commonest in its
    top rows is the hair, the others skin. Colours are packed into one integer (media/palette.py)."""
    ys, xs = np.nonzero(region)
    if not len(ys):
        return []
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    packed = pack_colours(expected[y0:y1, x0:x1])
    inside = region[y0:y1, x0:x1]
    colours, counts = np.unique(packed[inside], return_counts=True)
    keep = colours[counts >= COLOUR_SHARE * counts.sum()]
    hair = None
    if head:
        rows = np.flatnonzero(inside.any(axis=1))
        top = inside.copy()
        top[rows[0] + max(1, len(rows) // 6):] = False
        tc, tn = np.unique(packed[top], return_counts=True)
        hair = tc[tn.argmax()]
    out = []
    for c in keep:
        mask = np.zeros_like(region)
        mask[y0:y1, x0:x1] = inside & (packed == c)
        out.append((("hair" if c == hair else "skin") if head else "outfit", mask))
    return out


def _describe(box: Box, size: tuple[int, int]) -> str:
    zoom = size[0] / max(1e-6, box[2] - box[0])
    return "as framed" if zoom < 1.005 else f"seen {zoom:.2f}x closer, at {box[0]:.0f},{box[1]:.0f}"


def _shrink(mask: np.ndarray, size: tuple[int, int], box: Box | None = None) -> np.ndarray:
    """A full-size mask at the working size (of the `box` a camera move shows, when given), kept
    only where wholly inside and then eroded past the softening's reach, so edges (where a
    slight blur or a codec smears) are not counted."""
    from scipy.ndimage import binary_erosion
    scaled = Image.fromarray(mask.astype(np.uint8) * 255).resize(size, Image.Resampling.BOX, box=box)
    small = np.asarray(scaled) >= 250
    inner: np.ndarray = binary_erosion(small, iterations=ERODE)
    return inner if inner.sum() >= MIN_REGION else small


def _inside(mask: np.ndarray, size: tuple[int, int], box: Box | None = None) -> np.ndarray:
    """A full-size mask at the working size, only where wholly inside it and one pixel further
    in (never the unshrunk fallback of `_shrink`: a colour read across its edge is blurred with
    its neighbour's)."""
    from scipy.ndimage import binary_erosion
    scaled = Image.fromarray(mask.astype(np.uint8) * 255).resize(size, Image.Resampling.BOX, box=box)
    small = np.asarray(scaled) >= 250
    inner: np.ndarray = binary_erosion(small, iterations=1)
    return inner


def _matched(off: np.ndarray, region: np.ndarray) -> float:
    n = int(region.sum())
    return 1.0 if n == 0 else 1.0 - float(off[region].sum()) / n


def _largest_blob(mask: np.ndarray) -> int:
    from scipy.ndimage import label
    labels, n = label(mask)
    return int(np.bincount(labels.ravel())[1:].max()) if n else 0
