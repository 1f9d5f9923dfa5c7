"""Small text and marks a model adds: captions, signatures, logos, a watermark in a corner.

For: the judges that hold a take to the picture it should show. An image or video model now and
then writes a caption, a signature or its own name ("KLING AI") into a corner. Such a mark is
half a percent to a percent of the frame, drawn in strokes a pixel or three wide: too little of
the frame for a judge's largest-patch check (its letters are separate specks once softened),
too fine for its per-pixel tolerance along the expected picture's edges (a caption over a
checked floor hides in it). So marks are looked for on their own:

- both pictures are reduced (area-averaged, not blurred) to the judge's working size and the
  expected one graded to the take's luma (a gain and a gamma, media/grade.py);
- a thin stroke is where a pixel stands out from its 3x3 neighbourhood, bright or dark: the
  picture less its grey opening, or its grey closing less it (a top-hat); a step edge, a blur or
  a grade has none of it, a letter's stroke all of it;
- strokes the take has beyond what the expected picture has within a pixel (a camera move found
  to a pixel, thin lines of the set) by at least STROKE_LEVEL levels are new strokes;
- new strokes within GAP pixels of one another are one mark (the letters of a word); the mark
  with the most stroke pixels is reported: its share of the frame in strokes, its box's share,
  and where it is (a corner, an edge, the middle), for a reason a person reads.

Thresholds measured on benchmarks/gate_corpus.py's clean panels and keyframes (exposure,
gamma, JPEG q15-35, blur, noise; a camera move found by search) against its corner text; see
each constant. It takes about 15 ms a picture (numpy and scipy's separable filters).

Never: decide pass/fail (the caller holds `share` to its threshold), loop over pixels in
Python, or import anything of ours outside media.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from .grade import tone_match_gray

STROKE_SIZE = 3       # working pixels: a stroke is narrower than this (a letter's at half size: 1-2 px)
STROKE_LEVEL = 25.0   # luma levels a new stroke stands out by. Beyond the expected picture's, clean takes
                      # (JPEG q15 ringing, grain σ6, a clip's codec) read under 20 at 99.99% of pixels
                      # (a few specks up to 63); a caption's 60th strongest pixel at least 62, typically 135
SAMPLING = 2.0        # a line a pixel wide at full size reads half to all of its contrast at half size,
                      # by where it falls between two working pixels (a move found to a fraction of one)
SET_LINE = 5          # working pixels: the expected picture's lines narrower than this may read as strokes in
                      # a take (a band 2.5 px wide at half size is 2 or 3 by its phase)
GAP = 2               # working pixels: strokes this close are one mark (the letters of a word)
MIN_BOX = 0.001       # of the frame: a cluster of new strokes in a smaller box is a speck, not a mark. Clean
                      # keyframes' strongest clusters (a codec's block at a figure's foot) lie in 0.02-0.08%;
                      # corner text of 0.5-1% of the frame reads 0.5% or more
#: a mark's stroke pixels as a share of the frame from which it fails a gate (the callers' threshold
#: 0.5 of 1 - share / (2 * MARK_STROKES)). benchmarks/gate_corpus.py seed 7, 40 panels each: clean
#: takes' largest cluster at most 0.012%, corner text of 0.5-1% of the frame at least 0.14%.
MARK_STROKES = 0.0004


@dataclass(frozen=True)
class Marks:
    """The strongest mark found: `share` of the frame in its new strokes, its box (x0, y0, x1,
    y1 as fractions of the frame) and that box's share, where it is, and how many clusters of new
    strokes there were (specks included)."""
    share: float
    box: tuple[float, float, float, float] | None
    box_share: float
    region: str
    count: int

    def value(self) -> float:
        """1 - share / (2 * MARK_STROKES), in [0, 1]: at MARK_STROKES it is 0.5."""
        return float(max(0.0, min(1.0, 1.0 - self.share / (2 * MARK_STROKES))))

    def describe(self, what: str = "the frame") -> str:
        if self.box is None:
            return f"no text-like marks in {what} that the shot does not have"
        return (f"text-like marks {self.region}, {self.box_share:.1%} of {what} "
                f"({self.share:.2%} of it in thin strokes the shot does not have)")


def _luma(a: np.ndarray) -> np.ndarray:
    return a[..., 0] * 0.299 + a[..., 1] * 0.587 + a[..., 2] * 0.114


def _reduced(img: Image.Image | np.ndarray, size: tuple[int, int],
             box: tuple[float, float, float, float] | None = None) -> np.ndarray:
    """Luma (float32) of `img` (or of its `box`) area-averaged to `size`: nothing blurred."""
    im = img if isinstance(img, Image.Image) else Image.fromarray(np.asarray(img, dtype=np.uint8))
    im = im.convert("RGB")
    if im.size != size or box is not None:
        im = im.resize(size, Image.Resampling.BOX, box=box)
    return _luma(np.asarray(im, dtype=np.float32))


def strokes(luma: np.ndarray, size: int = STROKE_SIZE) -> np.ndarray:
    """How far each pixel stands out from its `size` neighbourhood, brighter or darker (the
    larger of the white and black top-hats)."""
    from scipy.ndimage import grey_closing, grey_opening
    k = (size, size)
    return np.maximum(luma - grey_opening(luma, size=k), grey_closing(luma, size=k) - luma)


def region_name(box: tuple[float, float, float, float]) -> str:
    """Where a box's centre lies, by thirds of the frame: "in the bottom-right corner", "along
    the top edge", "in the middle of the frame"."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    col = ("left", "centre", "right")[min(2, int(cx * 3))]
    row = ("top", "middle", "bottom")[min(2, int(cy * 3))]
    if row == "middle" and col == "centre":
        return "in the middle of the frame"
    if row == "middle":
        return f"along the {col} edge"
    if col == "centre":
        return f"along the {row} edge"
    return f"in the {row}-{col} corner"


def text_marks(expected: Image.Image | np.ndarray, take: Image.Image | np.ndarray, size: tuple[int, int],
               box: tuple[float, float, float, float] | None = None) -> Marks:
    """The marks `take` has that `expected` (or the `box` of it a camera move shows) does not,
    both compared at `size` (width, height)."""
    from scipy.ndimage import binary_dilation, find_objects, label, maximum_filter
    seen = _reduced(take, size)
    wanted = tone_match_gray(_reduced(expected, size, box), seen)
    # Beyond the expected picture's own strokes anywhere within a pixel: a move found to a pixel
    # moves a thin line of the set by one.
    new = strokes(seen) - SAMPLING * maximum_filter(strokes(wanted, SET_LINE), size=3)
    hits = new > STROKE_LEVEL
    if not hits.any():
        return Marks(0.0, None, 0.0, "", 0)
    joined, n = label(binary_dilation(hits, iterations=GAP))
    joined[~hits] = 0
    per = np.bincount(joined.ravel(), minlength=n + 1)
    h, w = hits.shape
    area = float(hits.size)
    best = None
    for k, (rows, cols) in enumerate(find_objects(joined), start=1):
        if rows is None:
            continue
        box_share = (rows.stop - rows.start) * (cols.stop - cols.start) / area
        # A speck, however strong, is no mark: a codec's block or a pixel of grain at an edge.
        if box_share >= MIN_BOX and (best is None or per[k] > best[0]):
            best = (int(per[k]), (cols.start / w, rows.start / h, cols.stop / w, rows.stop / h), box_share)
    if best is None:
        return Marks(0.0, None, 0.0, "", 0)
    count, frac, box_share = best
    return Marks(count / area, frac, box_share, region_name(frac), n)
