"""Reading a turnaround sheet, and a plate, the way the reference gate needs: slate's own
measures, from the pixels alone, for any art on a plain ground.

A turnaround shows one character from several sides: figures standing apart on a plain (or
transparent) ground. `read_sheet` finds the ground (the alpha channel, else the colour of the
sheet's border), the views (runs of columns holding a figure, split by empty columns) and, in
each view, its figure (the largest connected shape). `sheet_scores` turns that into six
measures, each a value from 0 to 1 with a reason a person can act on:

- ``views``          the sheet shows at least two views (the contract's four, on a contract-size sheet);
- ``one_figure``     each view holds one figure: the share of its shapes that is one body
                     (a second person pasted beside a view pulls it down), and nothing the size
                     of a person stands apart between the views;
- ``heights_agree``  the views' figures stand the same height (the smallest over the tallest);
- ``outfit_agrees``  the views wear the same clothes: for the torso and the legs bands, how much
                     of each view's coarse colour histogram the other views share, on average;
- ``head_agrees``    the views have the same head: the head band's colours shared by the least
                     alike pair of views (a back view shows hair where the front shows a face, so
                     this is lower than the outfit's even on a clean sheet);
- ``own_colours``    no view wears, in quantity, colours no other view shows (a person pasted
                     into a view, one view recoloured).

A sheet whose ground slate cannot find (a photograph, a textured backdrop) gets one score,
``layout`` 0, saying so: slate cannot measure it, and the gate policy decides whether that
blocks (it does for the local judge, which reads sheets by this geometry; a vision judge
decides for itself). `plate_scores` says whether a plate has any picture in it at all.

Its limit: a figure is told from the ground by colour, so a part drawn within about ten levels of
the ground (grey jeans on a grey sheet, white hair on white paper at low JPEG quality) is lost
to the ground, and the sheet reads as views of different heights. A vision judge reads such a
sheet; under it these measures only warn (governor/gates.toml).

It must never decide (no thresholds here: governor/gates.toml holds them) and never raise on
an image it can read: what it cannot measure is a score with a reason.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage


GROUND_TOL = (8, 40)     # the ground's tolerance (max channel): three times its border's own noise, within these
GROUND_SHARE = 0.85      # of the border ring within the widest tolerance of its median: the ground is plain
MIN_VIEW_SHARE = 0.15    # a run of columns with less than this of the largest view's pixels is no view
MIN_GAP = 3              # columns of ground that part two views
BINS = 6                 # per channel, for colour histograms: shading and compression land in one bin
SOFTEN = 0.6             # bins (a gaussian's sigma) a colour is spread over before histograms are compared
FOREIGN_SHARE = 0.005    # a colour bin the other views show less than this of is not theirs


@dataclass(frozen=True)
class Layout:
    """What a turnaround sheet is drawn as: its views' names, one cell's size, and the head,
    torso and legs bands as fractions of a figure's height. The film's manifests own this
    contract (manifests/turnaround.py); the caller passes it in, so media imports none of ours."""

    views: tuple[str, ...]
    cell: tuple[int, int]                # width, height of one view's cell
    head: tuple[float, float]
    torso: tuple[float, float]
    legs: tuple[float, float]


@dataclass(frozen=True)
class View:
    """One view of the sheet: its columns, its figure's box and the share of its shapes that
    figure is, and its torso and legs colour histograms."""

    x0: int
    x1: int
    box: tuple[int, int, int, int]  # the figure's x0, y0, x1, y1 (exclusive)
    share: float                    # the figure's pixels over all the view's shape pixels
    bands: tuple[np.ndarray, ...]   # normalised colour histograms: torso, legs, head, whole figure
    bins: np.ndarray                # the figure's box: each pixel's colour bin, -1 off the figure

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]


@dataclass(frozen=True)
class Sheet:
    views: tuple[View, ...]
    ground: str            # "transparent" | "plain #rrggbb" | why none was found
    contract: bool         # the size the example's turnarounds are drawn at (four views)
    stray: int = 0         # pixels of the largest shape standing apart from every view (a label, a person)


def _ground(img: Image.Image) -> tuple[np.ndarray | None, np.ndarray, str]:
    """(mask of figure pixels or None, RGB pixels, a description of the ground)."""
    rgba = np.asarray(img.convert("RGBA"))
    rgb = rgba[..., :3].astype(np.int16)
    alpha = rgba[..., 3]
    if (alpha < 128).mean() >= 0.2:
        return alpha >= 128, rgb, "transparent"
    ring = np.concatenate([rgb[:2].reshape(-1, 3), rgb[-2:].reshape(-1, 3),
                           rgb[:, :2].reshape(-1, 3), rgb[:, -2:].reshape(-1, 3)])
    colour = np.median(ring, axis=0)
    off = np.abs(ring - colour).max(axis=1)
    plain = (off <= GROUND_TOL[1]).mean()
    if plain < GROUND_SHARE:
        return None, rgb, (f"no plain ground: only {plain:.0%} of the sheet's border is one colour "
                           f"(a photograph or a backdrop, not figures on a plain sheet)")
    # As tight as the ground's own noise allows: a white costume on a white sheet is a figure.
    tol = float(np.clip(3 * np.percentile(off[off <= GROUND_TOL[1]], 90), *GROUND_TOL))
    mask = np.abs(rgb - colour).max(axis=-1) > tol
    hexed = "#%02x%02x%02x" % tuple(int(c) for c in colour)
    return mask, rgb, f"plain {hexed}"


def _runs(columns: np.ndarray) -> list[tuple[int, int]]:
    """Runs of True, joined across gaps narrower than MIN_GAP."""
    runs: list[tuple[int, int]] = []
    start: int | None = None
    last = -MIN_GAP - 1
    for x in map(int, np.flatnonzero(columns)):
        if start is None:
            start = x
        elif x - last > MIN_GAP:
            runs.append((start, last + 1))
            start = x
        last = x
    if start is not None:
        runs.append((start, last + 1))
    return runs


def _bin(pixels: np.ndarray) -> np.ndarray:
    q = np.clip(pixels // (256 // BINS + 1), 0, BINS - 1)
    return (q[..., 0] * BINS + q[..., 1]) * BINS + q[..., 2]


def _hist(pixels: np.ndarray) -> np.ndarray:
    if len(pixels) == 0:
        return np.zeros(BINS ** 3)
    h = np.bincount(_bin(pixels), minlength=BINS ** 3).astype(float)
    return h / h.sum()


def _bands(mask: np.ndarray, rgb: np.ndarray, box: tuple[int, int, int, int], layout: Layout) -> tuple[np.ndarray, ...]:
    x0, y0, x1, y1 = box
    h = y1 - y0
    out = []
    for lo, hi in (layout.torso, layout.legs, layout.head, (0.0, 1.0)):
        r0, r1 = y0 + int(round(lo * h)), y0 + int(round(hi * h))
        m = mask[r0:r1, x0:x1]
        out.append(_hist(rgb[r0:r1, x0:x1][m]))
    return tuple(out)


def read_sheet(img: Image.Image, layout: Layout) -> Sheet:
    """The sheet's views and figures (empty when no plain ground was found)."""
    contract = img.size == (len(layout.views) * layout.cell[0], layout.cell[1])
    mask, rgb, ground = _ground(img)
    if mask is None:
        return Sheet((), ground, contract)
    # A pixel or two of compression noise is not a shape: open it away before counting shapes.
    mask = ndimage.binary_opening(mask, structure=np.ones((3, 3), bool))
    runs = _runs(mask.any(axis=0))
    sizes = [int(mask[:, a:b].sum()) for a, b in runs]
    biggest = max(sizes, default=0)
    views, stray = [], 0
    for (a, b), size in zip(runs, sizes):
        if size < MIN_VIEW_SHARE * biggest:
            stray = max(stray, size)
            continue
        labels, n = ndimage.label(mask[:, a:b], structure=np.ones((3, 3), bool))
        areas = np.bincount(labels.ravel())[1:]
        main = int(np.argmax(areas)) + 1
        ys, xs = np.nonzero(labels == main)
        box = (a + int(xs.min()), int(ys.min()), a + int(xs.max()) + 1, int(ys.max()) + 1)
        figure = np.zeros_like(mask)
        figure[:, a:b] = labels == main
        x0, y0, x1, y1 = box
        bins = np.where(figure[y0:y1, x0:x1], _bin(rgb[y0:y1, x0:x1]), -1)
        views.append(View(a, b, box, float(areas[main - 1] / areas.sum()), _bands(figure, rgb, box, layout), bins))
    return Sheet(tuple(views), ground, contract, stray)


def _soft(h: np.ndarray) -> np.ndarray:
    # A flat colour near a bin's edge lands on either side of it once compressed: spread each
    # bin into its neighbours so the two halves still meet.
    return ndimage.gaussian_filter(h.reshape(BINS, BINS, BINS), SOFTEN, mode="constant").ravel()


def _intersection(p: np.ndarray, q: np.ndarray) -> float:
    p, q = _soft(p), _soft(q)
    return float(np.minimum(p / max(p.sum(), 1e-12), q / max(q.sum(), 1e-12)).sum())


def sheet_scores(img: Image.Image, layout: Layout) -> list[tuple[str, float, str]]:
    """slate's measures of a turnaround sheet drawn as `layout`: (name, value 0..1, reason)."""
    sheet = read_sheet(img, layout)
    if not sheet.views and not sheet.ground.startswith(("plain", "transparent")):
        return [("layout", 0.0, f"slate cannot find the figures: {sheet.ground}")]
    n = len(sheet.views)
    want = len(layout.views) if sheet.contract else 2
    exact = "" if not sheet.contract else f" (a {img.width}x{img.height} sheet holds {len(layout.views)}: {', '.join(layout.views)})"
    out = [("views", 1.0 if (n == want if sheet.contract else n >= want) else 0.0,
            f"{n} view{'s' * (n != 1)} found on a {sheet.ground} ground{exact}")]
    if n == 0:
        return out
    worst = min(range(n), key=lambda i: sheet.views[i].share)
    share = sheet.views[worst].share
    why = (f"view {worst + 1}: its largest figure is {share:.0%} of what is drawn there"
           + ("" if share >= 0.999 else " (more than one figure, or a figure in pieces)"))
    # A shape standing on its own between the views (a second person, a prop, a label), against
    # the size of a view's figure: a caption is a few percent, a person a fifth or more.
    figure = float(np.median([(v.bins >= 0).sum() for v in sheet.views]))
    apart = 1.0 - sheet.stray / figure if figure else 1.0
    if apart < share:
        share, why = apart, f"a shape {sheet.stray / figure:.0%} the size of a figure stands apart from the views"
    out.append(("one_figure", round(max(share, 0.0), 4), why))
    heights = [v.height for v in sheet.views]
    low, high = int(np.argmin(heights)), int(np.argmax(heights))
    out.append(("heights_agree", round(heights[low] / heights[high], 4),
                f"figures stand {min(heights)}–{max(heights)} px tall (view {low + 1} shortest, view {high + 1} tallest)"))
    if n < 2:
        out.append(("outfit_agrees", 0.0, "one view: nothing to agree with"))
        return out
    # Torso and legs: each view against the others on average (a side view shows less of the
    # outfit, but the same colours). The head: every pair of views, since a back view shares
    # only its hair with a front view, and one view with other hair is the fault to catch.
    outfit = []
    for i, v in enumerate(sheet.views):
        others = [w for j, w in enumerate(sheet.views) if j != i]
        outfit.append(min(float(np.mean([_intersection(v.bands[b], w.bands[b]) for w in others])) for b in (0, 1)))
    odd = int(np.argmin(outfit))
    out.append(("outfit_agrees", round(outfit[odd], 4),
                f"view {odd + 1} shares {outfit[odd]:.0%} of its torso or legs colours with the other views"))
    pairs = [(_intersection(sheet.views[i].bands[2], sheet.views[j].bands[2]), i, j)
             for i in range(n) for j in range(i + 1, n)]
    head, i, j = min(pairs)
    out.append(("head_agrees", round(head, 4),
                f"views {i + 1} and {j + 1} share {head:.0%} of their head colours (hair, face)"))
    # A colour one view wears in quantity and no other view shows at all: a pasted person, a
    # recoloured part, another character's view.
    own = []
    for i, v in enumerate(sheet.views):
        others = np.mean([w.bands[3] for j, w in enumerate(sheet.views) if j != i], axis=0)
        strange = np.isin(v.bins, np.flatnonzero(others < FOREIGN_SHARE))
        # Compression rings edges with odd colours a pixel or two wide; a pasted person or a
        # recoloured part is a solid patch. Only patches count.
        strange = ndimage.binary_opening(strange, structure=np.ones((5, 5), bool))
        own.append(1.0 - float(strange.sum() / max(1, (v.bins >= 0).sum())))
    odd = int(np.argmin(own))
    out.append(("own_colours", round(own[odd], 4),
                f"{1 - own[odd]:.0%} of view {odd + 1} is in colours no other view shows"))
    return out


def plate_scores(img: Image.Image) -> list[tuple[str, float, str]]:
    """Whether a plate has a picture in it: a flat fill (all black, one colour) is not a place."""
    grey = np.asarray(img.convert("L"), dtype=np.float32)
    spread = float(grey.std())
    return [("detail", round(min(1.0, spread / 8.0), 4),
             f"brightness varies by {spread:.1f} levels across the plate" + (" (a flat fill)" if spread < 2 else ""))]
