"""How the local provider draws a panel: plate framing, figure placement, wardrobe, faults.

Kept apart from the provider class so the local judge can rebuild the *expected* background
and figure sizes from the same rules it was drawn by. Everything here is a pure function of
its arguments and a seed: the same request always gives the same pixels.

It must never read storage, call a model or touch the network.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from PIL import Image

from slate.manifests.turnaround import CELL_H, CELL_W, TORSO_BAND, VIEWS
from slate.media import wardrobe

# How much of the frame height a standing figure takes, by framing. A close shot crops the legs.
FIGURE_HEIGHT = {"wide": 0.55, "medium": 0.78, "close": 1.25}
# Fraction of the plate a framing shows (a closer framing crops in on the plate's centre).
PLATE_CROP = {"wide": 1.0, "medium": 0.85, "close": 0.7}
# Where the crop window sits vertically: a high angle looks down (window up), low looks up.
ANGLE_Y = {"eye": 0.5, "high": 0.15, "low": 0.85}
PANEL_VIEWS = VIEWS[:3]  # front, three-quarter, side: a panel never shows a character's back
NOISE_SIGMA = 2.0        # a generated image is never clean; the judge must tolerate this much

FAULT_KINDS = ("recolour", "wrong_plate", "missing", "corrupted")
# Faults of clips only, never drawn by default (fault_kinds names them): `hair_drift` turns the
# hair of the first character a clip's references name HAIR_DRIFT degrees from the clip's start
# frame on, so a chain (each shot starting from the last one's last frame) turns it shot after shot.
CLIP_FAULT_KINDS = ("hair_drift",)
HAIR_DRIFT = 5.0   # degrees of HSV hue a clip turns the hair by
# Faults of a lip-synced clip only (issue 38, providers/local_lipsync.py), never drawn by default:
# the mouth leading or lagging the line, never moving, or following another line.
LIP_FAULT_KINDS = ("lip_offset", "lip_still", "lip_other_line")


def rng_for(*parts: object) -> np.random.Generator:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


def frame_plate(plate: Image.Image, framing: str, angle: str, width: int, height: int) -> Image.Image:
    """The part of the location plate a shot's camera sees, at the panel's size."""
    plate = plate.convert("RGB")
    pw, ph = plate.size
    frac = PLATE_CROP.get(framing, 0.85)
    cw, ch = pw * frac, ph * frac
    x0 = (pw - cw) / 2
    y0 = (ph - ch) * ANGLE_Y.get(angle, 0.5)
    return plate.resize((width, height), Image.Resampling.BILINEAR, box=(x0, y0, x0 + cw, y0 + ch))


def view_cell(sheet: Image.Image, view: str) -> Image.Image:
    """One view of a turnaround sheet, cropped to the figure's bounding box."""
    i = VIEWS.index(view)
    cell = sheet.convert("RGBA").crop((i * CELL_W, 0, (i + 1) * CELL_W, CELL_H))
    box = cell.getchannel("A").getbbox()
    if box is None:
        raise ValueError(f"turnaround view {view!r} is empty")
    return cell.crop(box)


def dress(figure: Image.Image, wardrobe_colour: str | None) -> Image.Image:
    """Put the scene's wardrobe on a figure (media.wardrobe), by the turnaround contract's torso band."""
    return wardrobe.dress(figure, wardrobe_colour, TORSO_BAND)


def hue_rotate(img: Image.Image, degrees: float) -> Image.Image:
    rgba = img.convert("RGBA")
    hsv = np.array(rgba.convert("RGB").convert("HSV"))
    hsv[..., 0] = (hsv[..., 0].astype(int) + int(degrees / 360 * 255)) % 256
    # Also swing brightness so dark hair under a hue turn does not stay "dark hair".
    hsv[..., 2] = np.clip(255 - hsv[..., 2].astype(int) // 2, 0, 255)
    out = Image.fromarray(hsv, "HSV").convert("RGBA")
    out.putalpha(rgba.getchannel("A"))
    return out


@dataclass(frozen=True)
class Placement:
    character_id: str
    view: str
    scale: float
    x: int  # left edge in the panel
    y: int  # top edge in the panel


def place_figures(ids: list[str], figure_sizes: dict[tuple[str, str], tuple[int, int]], *,
                  framing: str, width: int, height: int, seed: int, moment: str) -> list[Placement]:
    """Where each character stands: evenly spaced across the frame, jittered by the seed.
    The end moment shifts everyone, as the action has moved them."""
    rng = rng_for("place", seed)
    n = len(ids)
    placements = []
    for i, cid in enumerate(ids):
        view = PANEL_VIEWS[int(rng.integers(0, len(PANEL_VIEWS)))]
        fw, fh = figure_sizes[(cid, view)]
        scale = FIGURE_HEIGHT.get(framing, 0.78) * height / fh
        w = max(1, round(fw * scale))
        h = max(1, round(fh * scale))
        cx = (i + 1) / (n + 1) * width + rng.uniform(-0.04, 0.04) * width
        if moment == "end":
            cx += (0.06 if i % 2 == 0 else -0.06) * width
        if framing == "close":
            top = int(0.06 * height + rng.uniform(0, 0.02) * height)
        else:
            top = int(0.96 * height - h + rng.uniform(-0.02, 0.0) * height)
        placements.append(Placement(cid, view, scale, int(cx - w / 2), top))
    return placements


def paste_figure(canvas: Image.Image, figure: Image.Image, p: Placement) -> None:
    w = max(1, round(figure.width * p.scale))
    h = max(1, round(figure.height * p.scale))
    # Nearest-neighbour keeps the figure's colours exact and its mask hard: no halo of new
    # colours along edges for the judge to mistake for artefacts.
    fig = figure.resize((w, h), Image.Resampling.NEAREST)
    canvas.paste(fig, (p.x, p.y), fig.getchannel("A"))


def add_grain(img: Image.Image, seed: int) -> Image.Image:
    arr = np.asarray(img.convert("RGB"), dtype=np.int16)
    noise = rng_for("grain", seed).normal(0, NOISE_SIGMA, arr.shape).round().astype(np.int16)
    return Image.fromarray(np.clip(arr + noise, 0, 255).astype(np.uint8), "RGB")


def corrupt(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Decoder garbage: blocks of noise and torn rows, as a broken generation looks."""
    arr = np.array(img.convert("RGB"))
    h, w, _ = arr.shape
    for _ in range(int(rng.integers(5, 10))):
        bw, bh = int(rng.integers(w // 12, w // 5)), int(rng.integers(h // 12, h // 5))
        x, y = int(rng.integers(0, w - bw)), int(rng.integers(0, h - bh))
        arr[y:y + bh, x:x + bw] = rng.integers(0, 256, (bh, bw, 3), dtype=np.uint8)
    for _ in range(int(rng.integers(2, 4))):
        y, bh = int(rng.integers(0, h - h // 10)), int(rng.integers(h // 40, h // 10))
        arr[y:y + bh] = np.roll(arr[y:y + bh], int(rng.integers(w // 10, w // 4)), axis=1)
    return Image.fromarray(arr, "RGB")


def choose_fault(rate: float, fault_seed: int, kinds: tuple[str, ...], *parts: object) -> str | None:
    """Whether this output goes off-model, and how: seeded by the request, so reproducible."""
    if rate <= 0 or not kinds:
        return None
    rng = rng_for("fault", fault_seed, *parts)
    if rng.random() >= rate:
        return None
    return kinds[int(rng.integers(0, len(kinds)))]


def turn_hair(img: Image.Image, figure: Image.Image, degrees: float) -> Image.Image:
    """`img` with the hair of `figure` (an RGBA turnaround view: the colour of its head's top
    rows) turned `degrees` of HSV hue wherever the picture shows it — found by saturation and
    value near the hair's and a hue within 60 degrees of it, so hair already turned by earlier
    shots of a chain is found again. Nothing else changes; `img` itself when it shows no such
    hair (or the hair is grey)."""
    fig = np.asarray(figure.convert("RGBA"))
    rows = np.flatnonzero((fig[..., 3] > 0).any(axis=1))
    if not len(rows):
        return img
    top = fig[rows[0]:rows[0] + max(1, len(rows) // 30)]
    hair = np.median(top[top[..., 3] > 0][:, :3], axis=0).astype(np.uint8)
    want = np.asarray(Image.fromarray(hair.reshape(1, 1, 3), "RGB").convert("HSV")).astype(int)[0, 0]
    hsv = np.asarray(img.convert("RGB").convert("HSV")).astype(int)
    turn = np.abs((hsv[..., 0] - want[0] + 128) % 256 - 128)
    near = (turn <= 43) & (np.abs(hsv[..., 1] - want[1]) <= 40) & (np.abs(hsv[..., 2] - want[2]) <= 40)
    if want[1] < 40 or near.sum() < 0.001 * near.size:   # grey hair has no hue to turn; no hair: nobody's
        return img
    out = hsv.copy()
    out[..., 0] = np.where(near, (hsv[..., 0] + int(round(degrees / 360 * 256))) % 256, hsv[..., 0])
    return Image.fromarray(out.astype(np.uint8), "HSV").convert("RGB")
