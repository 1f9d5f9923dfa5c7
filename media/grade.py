"""Grading one picture to another before comparing them: exposure, scale, and a perceptual difference.

For: judges that hold a take to what it should look like. A take's exposure, gamma, codec and
softness change every pixel a little and must not count as a difference; a different face,
outfit or place must. So the expected picture is first graded to the take (per channel a
gain and a gamma, bounded, fitted to band medians with each band one vote, so a recoloured
figure — however much of the frame it fills — cannot pull it), both are
softened to one common scale (a slight blur, JPEG blocks and grain vanish below it), and the
difference is taken in CIE Lab (scikit-image), where a distance means the same to the eye
whether the colour is dark or light. `frame_window` finds the part of a panel a clip's frame
shows when the camera moved (zoomed or panned by an amount nobody reproduces exactly).

Never: decide pass/fail (thresholds belong to the caller), loop over pixels in Python, or
import anything of ours.
"""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

TONE_BINS = 32        # tone-curve knots per channel (8 levels each)
TONE_SAMPLE = 25_000  # pixels the curve is fitted on
MIN_BIN_PIXELS = 12   # fewer pixels than this in a bin: it casts no vote in the fit
# The grade a take may differ by, per channel (benchmarks/gate_corpus.py's PHOTOMETRIC set:
# exposure x0.7-1.3, gamma 0.7-1.45, JPEG q15-35 after x0.75-0.9): bounded a little wider.
GAIN = (0.6, 1.5)
GAMMA = (0.6, 1.6)
DARK_KNOT = 6.0       # levels: a band median darker than this is grain about black
CLIPPED_KNOT = 250.0  # levels: a take value above this may be clipped white


def soften(img: np.ndarray | Image.Image, size: tuple[int, int], radius: float = 1.0) -> np.ndarray:
    """(H, W, 3) float32 at `size`, area-averaged then blurred: the common scale of comparison."""
    im = img if isinstance(img, Image.Image) else Image.fromarray(np.asarray(img, dtype=np.uint8))
    im = im.convert("RGB")
    if im.size != size:
        im = im.resize(size, Image.Resampling.BOX if im.width >= size[0] else Image.Resampling.BILINEAR)
    if radius > 0:
        im = im.filter(ImageFilter.GaussianBlur(radius))
    return np.asarray(im, dtype=np.float32)


def _knots(e: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per band of expected values (TONE_BINS of them): the median expected and take value, for
    each band with at least MIN_BIN_PIXELS pixels."""
    if len(e) > TONE_SAMPLE:
        # A regular sample fits the same curve: medians of thousands of pixels per band.
        step = len(e) // TONE_SAMPLE
        e, t = e[::step], t[::step]
    idx = np.clip((e // (256 / TONE_BINS)).astype(np.int64), 0, TONE_BINS - 1)
    order = np.argsort(idx, kind="stable")
    idx_s, t_s, e_s = idx[order], t[order], e[order]
    starts = np.searchsorted(idx_s, np.arange(TONE_BINS))
    ends = np.searchsorted(idx_s, np.arange(TONE_BINS), side="right")
    kx, ky = [], []
    for b in range(TONE_BINS):
        if ends[b] - starts[b] >= MIN_BIN_PIXELS:
            kx.append(float(np.median(e_s[starts[b]:ends[b]])))
            ky.append(float(np.median(t_s[starts[b]:ends[b]])))
    return np.asarray(kx), np.asarray(ky)


def grade_fit(kx: np.ndarray, ky: np.ndarray) -> tuple[float, float]:
    """The gain and gamma (take = 255 * gain * (expected / 255) ** gamma) that best carry the
    knots, bounded to GAIN and GAMMA. Fitted in log space, each band one vote (a colour that fills
    the frame — a close-up's hair — is one band, not most of the fit), outliers down-weighted
    (a recoloured region moves its band off the line; the line does not follow it). Knots at
    the ends (near black, or clipped white) say little of the curve and are left out."""
    keep = (kx >= DARK_KNOT) & (ky >= DARK_KNOT) & (ky <= CLIPPED_KNOT)
    if keep.sum() < 2:
        return 1.0, 1.0
    x, y = np.log(kx[keep] / 255.0), np.log(ky[keep] / 255.0)
    w = np.ones_like(x)
    a, g = 0.0, 1.0
    for _ in range(4):
        sw = w.sum()
        mx, my = (w * x).sum() / sw, (w * y).sum() / sw
        vx = (w * (x - mx) ** 2).sum()
        g = float((w * (x - mx) * (y - my)).sum() / vx) if vx > 1e-9 else 1.0
        g = float(np.clip(g, *GAMMA))
        a = float(np.clip(my - g * mx, np.log(GAIN[0]), np.log(GAIN[1])))
        r = y - (a + g * x)
        scale = 1.4826 * float(np.median(np.abs(r))) + 0.02
        w = 1.0 / (1.0 + (r / (2.0 * scale)) ** 2)
    return float(np.exp(a)), g


def tone_match(expected: np.ndarray, take: np.ndarray, weight: np.ndarray | None = None) -> np.ndarray:
    """The expected picture graded to the take: per channel, a gain and a gamma (grade_fit),
    each within bounds. A brightness, gamma or white-balance change is such a curve, so it is
    undone; a recoloured figure is not (a free curve per channel, fitted before issue 20, bent
    itself to a close-up's recoloured hair and turned a flat take into a perfect match)."""
    out = np.empty_like(expected)
    sel = None if weight is None else weight.reshape(-1)
    for c in range(3):
        e = expected[..., c].reshape(-1)
        t = take[..., c].reshape(-1)
        if sel is not None:
            e, t = e[sel], t[sel]
        gain, gamma = grade_fit(*_knots(e, t))
        out[..., c] = 255.0 * gain * (np.clip(expected[..., c], 0, 255) / 255.0) ** gamma
    return np.clip(out, 0, 255)


def tone_match_gray(expected: np.ndarray, take: np.ndarray) -> np.ndarray:
    """One channel (a luma) of the expected picture graded to the take's: a gain and a gamma
    (grade_fit), as tone_match does per colour channel, at a third of its cost."""
    gain, gamma = grade_fit(*_knots(expected.reshape(-1), take.reshape(-1)))
    return np.clip(255.0 * gain * (np.clip(expected, 0, 255) / 255.0) ** gamma, 0, 255)


# sRGB (D65) to CIE XYZ, each row divided by the D65 white: the constants scikit-image's rgb2lab
# uses (illuminant D65, 2° observer), so the readings are its own to within 1e-4 L*.
_XYZ_OVER_WHITE = (np.array([[0.412453, 0.357580, 0.180423],
                             [0.212671, 0.715160, 0.072169],
                             [0.019334, 0.119193, 0.950227]]) / np.array([0.95047, 1.0, 1.08883])[:, None]
                   ).T.astype(np.float32)


def _linear(x: np.ndarray) -> np.ndarray:
    """sRGB values on 0..1 made linear (float32)."""
    return np.where(x > 0.04045, ((x + np.float32(0.055)) * np.float32(1 / 1.055)) ** np.float32(2.4),
                    x * np.float32(1 / 12.92))


#: Every 8-bit value made linear, once: a decoded frame is looked up, not raised to a power (the
#: power was a third of `lab`'s time, and a gate converts frames many times a clip).
_LINEAR_U8 = _linear(np.arange(256, dtype=np.float32) * np.float32(1 / 255)).astype(np.float32)


def lab(rgb: np.ndarray) -> np.ndarray:
    """CIE Lab of RGB values on 0..255 (any float or integer array, last axis the channels), in
    float32. scikit-image's rgb2lab, in single precision and without its checks: every gate
    converts frames many times a clip (within 1e-4 L* of it: tests/unit/test_media_metrics.py).
    Two things make it some twice as fast as the plain formula: 8-bit frames are made linear by a
    table of their 256 values, and the cube root is float32's power of a third (numpy's `cbrt`
    takes twice as long; XYZ is never negative here, so the two agree)."""
    a = np.asarray(rgb)
    if a.dtype == np.uint8:
        linear = _LINEAR_U8[a]
    else:
        linear = _linear(np.clip(a.astype(np.float32, copy=False), 0, 255) * np.float32(1 / 255))
    xyz = linear @ _XYZ_OVER_WHITE
    np.maximum(xyz, 0, out=xyz)   # a rounding's -1e-9 has no real cube root to give
    f = xyz ** np.float32(1 / 3)
    small = xyz <= 0.008856
    if small.any():
        f[small] = xyz[small] * np.float32(7.787) + np.float32(16 / 116)
    out = np.empty_like(f)
    out[..., 0] = 116 * f[..., 1] - 16
    out[..., 1] = 500 * (f[..., 0] - f[..., 1])
    out[..., 2] = 200 * (f[..., 1] - f[..., 2])
    return out


def graded_lab(expected: np.ndarray, take: np.ndarray, weight: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """The expected picture graded to the take, and the take, both in CIE Lab."""
    return lab(tone_match(expected, take, weight)), lab(take)


def region_delta(graded: np.ndarray, take: np.ndarray, region: np.ndarray) -> float:
    """CIE76 distance between the median Lab colour of `region` in the graded expected picture
    and in the take (both from `graded_lab`): how far a region's colour moved as a whole — a
    repainted hair or outfit — whatever share of its pixels crossed a per-pixel threshold."""
    if not region.any():
        return 0.0
    return float(np.linalg.norm(np.median(graded[region], axis=0) - np.median(take[region], axis=0)))


def delta_e(expected: np.ndarray, take: np.ndarray, weight: np.ndarray | None = None,
            graded: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel CIE76 distance between the take and the expected picture graded to it (both
    already softened to the same size), and the expected picture's local contrast there (the
    Lab range over each pixel's 3x3 neighbourhood): at an edge, a blur or a codec moves a pixel
    by part of that range, so a caller can tolerate more there than on a flat patch. `graded`:
    `graded_lab` of the two, when the caller has it already."""
    from scipy.ndimage import maximum_filter, minimum_filter
    levelled, seen = graded or graded_lab(expected, take, weight)
    distance = np.linalg.norm(levelled - seen, axis=-1)
    spread = np.stack([maximum_filter(levelled[..., c], 3) - minimum_filter(levelled[..., c], 3)
                       for c in range(3)], -1)
    return distance, np.linalg.norm(spread, axis=-1)


def _gray(a: np.ndarray) -> np.ndarray:
    return a[..., 0] * 0.299 + a[..., 1] * 0.587 + a[..., 2] * 0.114


def _ncc(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    d = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / d) if d > 0 else 0.0


ZOOMS = np.round(np.arange(1.0, 1.2701, 0.03), 3)   # a dolly's or a pan's crop: 1.00 … 1.27
# A plate as a shot frames it: a close framing crops it as far as 1.88 (the local painter's close-up
# of a plate is a crop of about half its width), and a move adds its own crop on top.
PLATE_ZOOMS = np.round(np.arange(1.0, 1.8801, 0.04), 3)
PLACES = np.linspace(0.0, 1.0, 5)                    # where the window sits in the slack
SEARCH = (48, 27)     # the size a move is searched at


def _coarse(width: int, height: int, zooms: np.ndarray = ZOOMS) -> np.ndarray:
    """Every crop window (x0, y0, x1, y1) a camera move could show of a width x height panel."""
    out = []
    for z in zooms:
        cw, ch = width / z, height / z
        places = PLACES if z > 1 else (0.5,)
        for u in places:
            for v in places:
                out.append((u * (width - cw), v * (height - ch), u * (width - cw) + cw, v * (height - ch) + ch))
    return np.asarray(out)


def _around(box, width: int, height: int, dz: float, dp: float) -> np.ndarray:
    """Windows near `box`: zoom within ±2 steps of `dz`, centre within ±2 steps of `dp` of the
    frame (a finer search around the best so far)."""
    x0, y0, x1, y1 = box
    z0 = width / (x1 - x0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    zooms = z0 + dz * np.arange(-2, 3)
    zooms = zooms[zooms >= 1.0 - 1e-9]
    # Every (zoom, dx, dy) at once, in that order: the windows a loop over the three would list.
    cw = (width / zooms)[:, None, None]
    ch = (height / zooms)[:, None, None]
    dx = (dp * np.arange(-2, 3) * width)[None, :, None]
    dy = (dp * np.arange(-2, 3) * height)[None, None, :]
    nx = np.minimum(np.maximum(cx + dx - cw / 2, 0.0), width - cw)
    ny = np.minimum(np.maximum(cy + dy - ch / 2, 0.0), height - ch)
    nx, ny, cw, ch = np.broadcast_arrays(nx, ny, cw, ch)
    return np.stack([nx, ny, nx + cw, ny + ch], -1).reshape(-1, 4)


# Coarse to fine: a position error of a pixel or two on striped walls is a visible difference.
REFINE = ((0.01, 0.015), (0.004, 0.005), (0.0015, 0.0015))


def _sample(gray: np.ndarray, boxes: np.ndarray, scale: float, size: tuple[int, int]) -> np.ndarray:
    """Bilinear samples of `gray` (a panel reduced by `scale`) on a size grid in each window:
    (n_windows, h*w). All windows at once: numpy, no per-window resize."""
    sw, sh = size
    gh, gw = gray.shape
    fx = (np.arange(sw) + 0.5) / sw
    fy = (np.arange(sh) + 0.5) / sh
    xs = (boxes[:, 0:1] + fx[None, :] * (boxes[:, 2:3] - boxes[:, 0:1])) * scale - 0.5
    ys = (boxes[:, 1:2] + fy[None, :] * (boxes[:, 3:4] - boxes[:, 1:2])) * scale - 0.5
    xs = np.clip(xs, 0, gw - 1.001).astype(np.float32)
    ys = np.clip(ys, 0, gh - 1.001).astype(np.float32)
    x0, y0 = xs.astype(np.int64), ys.astype(np.int64)
    ax, ay = xs - x0, ys - y0
    AX, AY = ax[:, None, :], ay[:, :, None]
    # One flat index per sample and four takes of the raveled picture: the same four neighbours
    # as gray[y, x] pairs, at half the cost of numpy's two-axis fancy indexing.
    flat = gray.ravel()
    at = y0[:, :, None] * gw + x0[:, None, :]
    top = flat.take(at) * (1 - AX) + flat.take(at + 1) * AX
    bottom = flat.take(at + gw) * (1 - AX) + flat.take(at + gw + 1) * AX
    return (top * (1 - AY) + bottom * AY).reshape(len(boxes), -1)


def _ncc_many(crops: np.ndarray, target: np.ndarray) -> np.ndarray:
    c = crops - crops.mean(axis=1, keepdims=True)
    t = (target - target.mean()).ravel()
    den = np.sqrt((c * c).sum(axis=1) * (t * t).sum())
    return np.where(den > 0, c @ t / np.maximum(den, 1e-9), 0.0)


def frame_window(panel: Image.Image, frame: np.ndarray, size: tuple[int, int], mix: Image.Image | None = None,
                 zooms: np.ndarray = ZOOMS, near: tuple | None = None):
    """The crop of `panel` that best explains `frame`, by normalised correlation of luma at a
    small size, coarse then fine: (score, window, that crop softened at `size`). With `mix`,
    each crop is first blended half and half with it (the middle of a cross-fade to an end panel).
    `zooms`: the crops the coarse search tries; `near`: a window found for a frame before this
    one (of the same clip), refined from instead of searching every crop again."""
    sw, sh = SEARCH if panel.width >= panel.height else SEARCH[::-1]
    panel = panel.convert("RGB")
    scale = 3 * sw / panel.width
    small = _gray(soften(panel, (3 * sw, round(panel.height * scale)), 1.0)).astype(np.float32)
    target = _gray(soften(frame, (sw, sh), 0.5))
    other = None if mix is None else _gray(soften(mix, (sw, sh), 0.0)).ravel()
    best = (-2.0, near)
    # From a window found before: one wider step first (four frames of a dolly move it ~0.02).
    for stage in ((None,) if near is None else ((0.02, 0.03),)) + REFINE:
        boxes = _coarse(panel.width, panel.height, zooms) if stage is None else _around(best[1], panel.width,
                                                                                        panel.height, *stage)
        crops = _sample(small, boxes, scale, (sw, sh))
        if other is not None:
            crops = 0.5 * crops + 0.5 * other
        scores = _ncc_many(crops, target)
        i = int(scores.argmax())
        if scores[i] > best[0]:
            best = (float(scores[i]), tuple(float(v) for v in boxes[i]))
    crop = soften(panel.resize(size, Image.Resampling.BILINEAR, box=best[1]), size)
    if mix is not None:
        crop = 0.5 * crop + 0.5 * soften(mix, size)
    return best[0], best[1], crop
