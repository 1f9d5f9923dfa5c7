"""Image measurements: similarity, colour, noise.

For: numbers that gates compare against thresholds (SSIM to a panel, colour drift,
corrupted/noisy frames). Images are PIL images, paths or arrays. SSIM is scikit-image's
`structural_similarity` with Wang et al.'s settings (Gaussian window, sigma 1.5); the old
box-window version stays as `ssim_box` only so benchmarks/metrics.py can show the two agree.
Never: loop over pixels in Python, decide pass/fail (thresholds belong to the caller),
or import anything of ours.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

# SSIM constants for 8-bit data (Wang et al. 2004): K1=0.01, K2=0.03, L=255.
_C1 = (0.01 * 255) ** 2
_C2 = (0.03 * 255) ** 2
BINS = 8  # histogram bins per channel


def load_rgb(path_or_image) -> np.ndarray:
    """(H, W, 3) uint8 RGB from a path, PIL image or array (gray/RGBA converted)."""
    if isinstance(path_or_image, np.ndarray):
        a = path_or_image
        if a.ndim == 2:
            a = np.stack([a] * 3, axis=-1)
        elif a.shape[-1] == 4:
            a = a[..., :3]
        if a.dtype != np.uint8:
            a = np.clip(a, 0, 255).astype(np.uint8)
        return np.ascontiguousarray(a)
    if isinstance(path_or_image, (str, Path)):
        with Image.open(path_or_image) as im:
            return np.asarray(im.convert("RGB"))
    if isinstance(path_or_image, Image.Image):
        return np.asarray(path_or_image.convert("RGB"))
    raise TypeError(f"cannot load an image from {type(path_or_image).__name__}")


def _gray(rgb: np.ndarray) -> np.ndarray:
    # ITU-R BT.601 luma, the same weighting PIL's "L" conversion uses.
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def _window_means(x: np.ndarray) -> np.ndarray:
    """Means of 8x8 windows placed every 4 px (half-overlapping).

    Built from 4x4 block sums (a reshape, no convolution) so an 854x480 SSIM stays well
    under 50 ms; both sides of x must be multiples of 4 and at least 8.
    """
    h, w = x.shape
    b = x.reshape(h // 4, 4, w // 4, 4).sum(axis=(1, 3))
    return (b[:-1, :-1] + b[1:, :-1] + b[:-1, 1:] + b[1:, 1:]) / 64.0


def _whole_mean(x: np.ndarray) -> np.ndarray:
    return np.array([[x.mean()]])


def _ssim_map(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    h, w = (x.shape[0] // 4) * 4, (x.shape[1] // 4) * 4
    if h >= 8 and w >= 8:
        # Dropping up to 3 edge rows/columns changes the mean by a negligible amount.
        x, y, mean = x[:h, :w], y[:h, :w], _window_means
    else:  # tiny image: one window covering all of it
        mean = _whole_mean
    mx, my = mean(x), mean(y)
    vx = mean(x * x) - mx * mx
    vy = mean(y * y) - my * my
    cxy = mean(x * y) - mx * my
    return ((2 * mx * my + _C1) * (2 * cxy + _C2)) / ((mx * mx + my * my + _C1) * (vx + vy + _C2))


def _pair(a, b) -> tuple[np.ndarray, np.ndarray]:
    ra = load_rgb(a)
    rb = load_rgb(b)
    if rb.shape[:2] != ra.shape[:2]:
        rb = np.asarray(Image.fromarray(rb).resize((ra.shape[1], ra.shape[0]), Image.Resampling.BILINEAR))
    return _gray(ra.astype(np.float32)).astype(np.float64), _gray(rb.astype(np.float32)).astype(np.float64)


def ssim(a, b) -> float:
    """Mean grayscale SSIM (scikit-image, Gaussian window sigma 1.5, as Wang et al. 2004);
    b is resized to a's size if needed. 1.0 for identical images, ~0 for unrelated ones."""
    from skimage.metrics import structural_similarity
    ga, gb = _pair(a, b)
    if min(ga.shape) < 7:  # the window must fit
        return ssim_box(a, b)
    return float(structural_similarity(ga, gb, data_range=255.0, gaussian_weights=True, sigma=1.5,
                                       use_sample_covariance=False))


def ssim_box(a, b) -> float:
    """The former hand-written SSIM: 8x8 box windows, stride 4 (kept for comparison)."""
    ga, gb = _pair(a, b)
    return float(_ssim_map(ga, gb).mean())


def colour_stats(img, mask=None) -> dict:
    """Mean RGB, std RGB and a normalised 8x8x8 RGB histogram over the (masked) pixels.

    mask: bool/0-1 array or 'L' image of the same HxW; True/nonzero = include.
    Returns {"mean": (3,) float, "std": (3,) float, "hist": (8,8,8) float summing to 1,
    "count": int}. An empty selection gives zeros and count 0.
    """
    rgb = load_rgb(img)
    px = rgb.reshape(-1, 3)
    if mask is not None:
        m = np.asarray(mask.convert("L") if isinstance(mask, Image.Image) else mask)
        if m.shape != rgb.shape[:2]:
            raise ValueError(f"mask shape {m.shape} != image shape {rgb.shape[:2]}")
        px = px[m.reshape(-1).astype(bool)]
    n = int(px.shape[0])
    if n == 0:
        return {"mean": np.zeros(3), "std": np.zeros(3), "hist": np.zeros((BINS,) * 3), "count": 0}
    q = (px // (256 // BINS)).astype(np.int64)
    idx = (q[:, 0] * BINS + q[:, 1]) * BINS + q[:, 2]
    hist = np.bincount(idx, minlength=BINS ** 3).astype(np.float64) / n
    f = px.astype(np.float64)
    return {"mean": f.mean(axis=0), "std": f.std(axis=0), "hist": hist.reshape((BINS,) * 3), "count": n}


def colour_distance(stats_a: dict, stats_b: dict) -> float:
    """Hellinger (Bhattacharyya-based) distance of the two histograms, in [0, 1].

    0 = identical colour distributions, 1 = no colour bin in common.
    """
    p = np.asarray(stats_a["hist"], dtype=np.float64).ravel()
    q = np.asarray(stats_b["hist"], dtype=np.float64).ravel()
    if p.sum() == 0 or q.sum() == 0:
        return 1.0
    bc = float(np.sqrt(p / p.sum() * q / q.sum()).sum())
    return float(np.sqrt(max(0.0, 1.0 - bc)))


def mean_rgb_distance(a_stats: dict, b_stats: dict) -> float:
    """Euclidean distance of the mean colours in 8-bit RGB units, range [0, ~441.7]."""
    return float(np.linalg.norm(np.asarray(a_stats["mean"], float) - np.asarray(b_stats["mean"], float)))


def sharpness_noise(img) -> float:
    """Mean absolute 4-neighbour Laplacian of luma (8-bit units).

    High for fine detail AND for noise/corruption: compare against the reference panel,
    not an absolute threshold. Flat images give 0.
    """
    g = _gray(load_rgb(img).astype(np.float32))
    if g.shape[0] < 3 or g.shape[1] < 3:
        return 0.0
    lap = g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:] - 4 * g[1:-1, 1:-1]
    return float(np.abs(lap).mean())
