"""Whether a picture has anything in it: the content check every gate makes before a judge sees a take.

For: refusing, cheaply and for every judge, a picture with too little detail, contrast or colour
to hold a shot's figures — a flat fill (a safety filter's black frame, a failed decode, an empty
generation), a picture mostly black or mostly white, one washed out to a haze, one drowned in
noise. Comparing such a picture with what it should show proves nothing (a tone curve fitted to
a flat take turns anything into it), and showing it to a paid judge spends money on nothing.

`content_figures(img)` measures, on the picture reduced to WORK_WIDTH px wide (area-averaged:
a frame of any size reads alike, and it takes a few milliseconds):
  flat     share of pixels within FLAT_LEVELS of the picture's median colour on every channel;
  dark     share of pixels whose luma is at most DARK_LEVEL;
  bright   share of pixels whose luma is at least BRIGHT_LEVEL;
  contrast luma range (99th less 1st percentile) of the picture smoothed past its grain;
  noise    the grain's standard deviation (luma levels), read robustly from a second-difference
           filter (Immerkaer's kernel, median of its magnitude: edges are a minority of pixels);
  structure the smoothed picture's luma standard deviation (what the figures are drawn with);
  snr      structure / noise;
  colour   the median colour (R, G, B) and its name;
  share    with a mask (a turnaround's figures), the share of the picture it covers.
`content_fault(img)` holds those figures to the thresholds below and says what is wrong, or
None. The thresholds were measured on benchmarks/gate_corpus.py's clean panels with every
photometric change (see each constant); the callers (every gate) turn a fault into a failing
"content" score before any judge is asked.

Never: decide anything beyond "has content" (who or where is the judge's business), loop over
pixels in Python, or import anything of ours.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

__all__ = ["CONTENT_THRESHOLDS", "WORK_WIDTH", "content_fault", "content_figures", "content_score"]

WORK_WIDTH = 320      # px: every picture is measured at this width (smaller ones as they are)

# Thresholds, measured with `python -m benchmarks.content_figures --n 30` (seed 7) on
# benchmarks/gate_corpus.py's clean panels (every shot of the example film, each with the 8
# photometric changes: exposure ±10-30%, gamma 0.7-1.45, JPEG q15-35, blur, noise σ3-6: 240
# pictures) against 30 of each blank kind; the lowest/highest figures are written beside each.
FLAT_LEVELS = 4       # levels (0-255) either side of the median colour that count as "the same"
FLAT_SHARE = 0.80     # clean at most 0.19; flat fills (black, white, grey, a colour; grain σ0-2) 1.00
DARK_LEVEL = 24       # luma at or below: black to the eye
DARK_SHARE = 0.85     # clean at most 0.53 (gamma 1.45); a near-black star-field 0.997
BRIGHT_LEVEL = 235    # luma at or above: blown out to white
BRIGHT_SHARE = 0.85   # clean at most 0.14 (brighter x1.3)
MIN_CONTRAST = 64.0   # luma levels: clean at least 111 (darker x0.7); washed out (x0.2) at most 41
MIN_SNR = 12.0        # clean at least 24.8 (noise σ6); noise σ40 at most 6.1: twice off either side

MIN_SHARE = 0.005     # with a mask: less of the picture than this is no figure at all (a blank sheet: 0)
RULES = ("flat", "dark", "bright", "contrast", "noise")

CONTENT_THRESHOLDS = {"share": MIN_SHARE, "flat": FLAT_SHARE, "dark": DARK_SHARE, "bright": BRIGHT_SHARE,
                      "contrast": MIN_CONTRAST, "snr": MIN_SNR}

_NAMES = {(0, 0, 0): "black", (255, 255, 255): "white", (128, 128, 128): "mid-grey", (255, 0, 0): "red",
          (0, 255, 0): "green", (0, 0, 255): "blue", (255, 255, 0): "yellow", (0, 255, 255): "cyan",
          (255, 0, 255): "magenta", (64, 64, 64): "dark grey", (192, 192, 192): "light grey"}


def _rgb(img, mask=None) -> tuple[np.ndarray, np.ndarray | None]:
    """The picture at the working width as float RGB, and `mask` (HxW, True = counts) with it."""
    if isinstance(img, Image.Image):
        im = img.convert("RGB")
    else:
        a = np.asarray(img)
        if a.ndim == 2:
            a = np.stack([a] * 3, axis=-1)
        im = Image.fromarray(np.clip(a[..., :3], 0, 255).astype(np.uint8), "RGB")
    m = None if mask is None else Image.fromarray(np.asarray(mask, dtype=bool).astype(np.uint8) * 255)
    if im.width > WORK_WIDTH:
        size = (WORK_WIDTH, max(1, round(im.height * WORK_WIDTH / im.width)))
        im = im.resize(size, Image.Resampling.BOX)
        m = None if m is None else m.resize(size, Image.Resampling.BOX)
    # A working pixel counts when it was wholly inside the mask (its edge mixes in the ground).
    return np.asarray(im, dtype=np.float32), None if m is None else np.asarray(m) >= 250


def _smooth(a: np.ndarray, passes: int = 2) -> np.ndarray:
    """A 3x3 box blur applied `passes` times (edge-padded): grain averaged away, shapes kept."""
    for _ in range(passes):
        p = np.pad(a, 1, mode="edge")
        a = np.asarray(sum(p[dy:dy + a.shape[0], dx:dx + a.shape[1]] for dy in range(3) for dx in range(3))) / 9.0
    return a


def colour_name(rgb) -> str:
    """The nearest plain name of a colour, for a reason a person reads ("black", "mid-grey")."""
    rgb = np.asarray(rgb, dtype=np.float32)
    name, ref = min(_NAMES.items(), key=lambda kv: float(np.abs(rgb - np.asarray(kv[0])).max()))
    if float(np.abs(rgb - np.asarray(name)).max()) <= 24:
        return ref
    return "rgb({:.0f}, {:.0f}, {:.0f})".format(*rgb)


def content_figures(img, mask=None) -> dict:
    """The measures a content check rests on (see the module docstring), as plain floats.
    `mask` (HxW bool, the picture's size): measure only there — a turnaround's figures, not its
    empty ground; an empty mask reads as a flat picture."""
    a, m = _rgb(img, mask)
    luma = a[..., 0] * 0.299 + a[..., 1] * 0.587 + a[..., 2] * 0.114
    smooth = _smooth(luma)
    noise = 0.0
    if min(luma.shape) >= 3:
        # Immerkaer's noise kernel: zero on any plane, 6σ standard deviation on independent grain;
        # the median of its magnitude is 0.6745 of that, and edges do not move a median much.
        d = (luma[:-2, :-2] + luma[:-2, 2:] + luma[2:, :-2] + luma[2:, 2:]
             - 2 * (luma[:-2, 1:-1] + luma[2:, 1:-1] + luma[1:-1, :-2] + luma[1:-1, 2:]) + 4 * luma[1:-1, 1:-1])
        inner = np.abs(d) if m is None else np.abs(d)[m[1:-1, 1:-1]]
        noise = float(np.median(inner)) / (0.6745 * 6.0) if inner.size else 0.0
    share = 1.0
    if m is not None:
        share = float(m.mean())
        if not m.any():
            return {"share": 0.0, "flat": 1.0, "dark": 0.0, "bright": 0.0, "contrast": 0.0, "noise": 0.0,
                    "structure": 0.0, "snr": 0.0, "colour": [0.0, 0.0, 0.0], "colour_name": "nothing"}
        a, luma, smooth = a[m], luma[m], smooth[m]
    px = a.reshape(-1, 3)
    median = np.median(px, axis=0)
    flat = float((np.abs(px - median).max(axis=-1) <= FLAT_LEVELS).mean())
    lo, hi = np.percentile(smooth, [1, 99])
    structure = float(smooth.std())
    return {"share": round(share, 4), "flat": round(flat, 4), "dark": round(float((luma <= DARK_LEVEL).mean()), 4),
            "bright": round(float((luma >= BRIGHT_LEVEL).mean()), 4), "contrast": round(float(hi - lo), 2),
            "noise": round(noise, 2), "structure": round(structure, 2),
            "snr": round(structure / max(noise, 0.5), 2),
            "colour": [round(float(v), 1) for v in median], "colour_name": colour_name(median)}


def content_fault(img, figures: dict | None = None, mask=None, rules: tuple[str, ...] = RULES) -> str | None:
    """What is wrong with the picture's content, or None when it can hold a shot's figures.
    `figures`: already measured by `content_figures` (a caller that reports them too). `rules`:
    the checks that apply (a drawn turnaround's figures are flat-coloured, and may be dressed
    all in black or white, by design: its caller asks only "empty" and "noise")."""
    f = figures or content_figures(img, mask)
    if f["share"] < MIN_SHARE:
        return f"empty: {f['share']:.1%} of the picture is anything but its ground (at least {MIN_SHARE:.1%})"
    if "flat" in rules and f["flat"] >= FLAT_SHARE:
        return (f"flat: {f['flat']:.0%} of the picture within {FLAT_LEVELS} levels of {f['colour_name']} "
                f"(at most {FLAT_SHARE:.0%} may be)")
    if "dark" in rules and f["dark"] >= DARK_SHARE:
        return f"mostly black: {f['dark']:.0%} of the picture at luma {DARK_LEVEL} or darker (at most {DARK_SHARE:.0%})"
    if "bright" in rules and f["bright"] >= BRIGHT_SHARE:
        return (f"mostly white: {f['bright']:.0%} of the picture at luma {BRIGHT_LEVEL} or brighter "
                f"(at most {BRIGHT_SHARE:.0%})")
    if "contrast" in rules and f["contrast"] < MIN_CONTRAST:
        return (f"washed out: its brightness spans {f['contrast']:.0f} levels from darkest to lightest "
                f"(at least {MIN_CONTRAST:.0f} to hold figures)")
    if "noise" in rules and f["snr"] < MIN_SNR:
        return _noisy(f)
    return None


def _noisy(f: dict) -> str:
    return (f"drowned in noise: grain of {f['noise']:.0f} levels against a picture varying by "
            f"{f['structure']:.0f} (signal to noise {f['snr']:.1f}, at least {MIN_SNR:.1f})")


def content_score(img, what: str = "the picture", mask=None, rules: tuple[str, ...] = RULES) -> dict:
    """The check as a gate's score dict: `content`, 1.0 (has content) or 0.0 with the fault, and
    the figures it rests on; blocks whatever the judge (threshold 1.0)."""
    figures = content_figures(img, mask)
    fault = content_fault(img, figures, rules=rules)
    reason = f"{what}: {fault}" if fault else f"{what} has content (contrast {figures['contrast']:.0f}, " \
                                                f"signal to noise {figures['snr']:.1f})"
    return {"name": "content", "value": 0.0 if fault else 1.0, "threshold": 1.0, "passed": fault is None,
            "reason": reason, "role": "block", "figures": figures}
