"""Procedural character turnarounds for the example film, drawn with Pillow.

The example film has to render offline with no downloaded art, and the local image provider
and local judge read these sheets by geometry. So the drawing follows a strict contract:

- RGBA, ``4 * CELL_W`` x ``CELL_H``, fully transparent background;
- four cells left to right, ``VIEWS`` = front, three_quarter, side, back;
- one opaque figure per cell, drawn without anti-aliasing so the alpha mask is exact,
  centred horizontally with the feet near the bottom;
- by fraction of the figure's bounding-box height: head and hair in ``HEAD_BAND``, outfit top
  in ``TORSO_BAND``, legs in ``LEGS_BAND``.

This module must never read or write files nor touch the network; it returns images.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from PIL import Image, ImageDraw

__all__ = [
    "CELL_W",
    "CELL_H",
    "VIEWS",
    "View",
    "HEAD_BAND",
    "TORSO_BAND",
    "LEGS_BAND",
    "BIBLE_PLATE_SIZE",
    "FigureSpec",
    "EXAMPLE_CAST",
    "draw_view",
    "draw_turnaround",
]

CELL_W = 192
CELL_H = 384
VIEWS = ("front", "three_quarter", "side", "back")
#: A view of the sheet as a type: VIEWS' names (a tool's schema offers these and no other).
View = Literal["front", "three_quarter", "side", "back"]
HEAD_BAND = (0.0, 0.22)
TORSO_BAND = (0.22, 0.58)
LEGS_BAND = (0.58, 1.0)
#: The size a bible location plate is drawn at: the bible workshop asks every painter for it
#: (tasks/workshop/bible.py) and the local painter draws it — the plate's half of the reference contract.
BIBLE_PLATE_SIZE = (640, 360)

RGB = tuple[int, int, int]
HairStyle = Literal["short", "flat", "long", "bob", "bun"]

_FOOT_MARGIN = 10  # pixels of empty cell under the shoes
_MAX_FIGURE = CELL_H - _FOOT_MARGIN - 30  # a height_frac of 1.0 leaves headroom above
_EYE = (22, 18, 26)
_SHOE = (34, 26, 24)
# Narrower silhouettes away from the front, so a judge can tell the views apart.
_BODY_WIDTH = {"front": 1.0, "three_quarter": 0.8, "side": 0.56, "back": 1.0}


@dataclass(frozen=True)
class FigureSpec:
    hair: RGB
    skin: RGB
    outfit: RGB  # the top: what scene wardrobe recolours
    legs: RGB
    height_frac: float  # 0.7 (small) .. 1.0 (tallest in the cast)
    build: float  # shoulder-width factor, 0.8 (slight) .. 1.25 (broad)
    hair_style: HairStyle


EXAMPLE_CAST: dict[str, FigureSpec] = {
    # Tall, broad trucker: red flat-top, ruddy skin, green flannel, denim.
    "gabe": FigureSpec(hair=(196, 48, 26), skin=(236, 178, 150), outfit=(46, 112, 58), legs=(42, 58, 100),
                       height_frac=1.0, build=1.25, hair_style="flat"),
    # The waitress: platinum-blonde bob, fair skin, pale blue uniform, white tights.
    "jenny": FigureSpec(hair=(246, 216, 96), skin=(250, 222, 200), outfit=(128, 176, 228), legs=(236, 232, 224),
                        height_frac=0.86, build=0.95, hair_style="bob"),
    # The cook: short white hair, deep brown skin, mustard shirt, brown trousers; stocky.
    "leo": FigureSpec(hair=(232, 232, 236), skin=(92, 56, 36), outfit=(206, 160, 40), legs=(96, 68, 42),
                      height_frac=0.84, build=1.18, hair_style="short"),
    # Small, long straight black hair, tan skin, purple hoodie, grey jeans.
    "mia": FigureSpec(hair=(22, 18, 20), skin=(206, 152, 112), outfit=(116, 54, 152), legs=(124, 124, 130),
                      height_frac=0.72, build=0.85, hair_style="long"),
    # Tall and slight stranger: teal hair in a high bun, very pale skin, orange jacket, black jeans.
    "nina": FigureSpec(hair=(18, 164, 172), skin=(252, 230, 222), outfit=(226, 96, 30), legs=(28, 28, 34),
                       height_frac=0.96, build=0.8, hair_style="bun"),
}


def _opaque(c: RGB) -> tuple[int, int, int, int]:
    return (c[0], c[1], c[2], 255)


def draw_view(spec: FigureSpec, view: str) -> Image.Image:
    """One CELL_W x CELL_H RGBA cell with the figure seen from ``view``."""
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r} (views: {', '.join(VIEWS)})")
    img = Image.new("RGBA", (CELL_W, CELL_H), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)  # ImageDraw never anti-aliases, which keeps the mask exact

    h = round(_MAX_FIGURE * spec.height_frac)
    top = CELL_H - _FOOT_MARGIN - h
    cx = CELL_W / 2
    wf = _BODY_WIDTH[view]

    def y(frac: float) -> int:
        return top + round(frac * h)

    def box(x0: float, y0: float, x1: float, y1: float) -> list[int]:
        return [round(x0), round(y0), round(x1), round(y1)]

    skin, hair, outfit, legs = _opaque(spec.skin), _opaque(spec.hair), _opaque(spec.outfit), _opaque(spec.legs)

    # Legs and shoes (LEGS_BAND).
    leg_w = 0.085 * h * spec.build
    gap = 0.018 * h if view != "side" else 0
    if view == "side":
        d.rectangle(box(cx - leg_w * 0.6, y(0.58), cx + leg_w * 0.6, y(0.965) - 1), fill=legs)
        d.rectangle(box(cx - leg_w * 0.6, y(0.965), cx + leg_w * 1.1, y(1.0) - 1), fill=_opaque(_SHOE))
    else:
        span = wf if view != "three_quarter" else 0.85
        for sign in (-1, 1):
            inner = cx + sign * gap * span
            outer = cx + sign * (gap + leg_w) * span
            x0, x1 = sorted((inner, outer))
            d.rectangle(box(x0, y(0.58), x1, y(0.965) - 1), fill=legs)
            d.rectangle(box(x0 - 1, y(0.965), x1 + 1, y(1.0) - 1), fill=_opaque(_SHOE))

    # Torso (TORSO_BAND): shoulders wider than the waist.
    shoulder = 0.15 * h * spec.build * wf
    waist = shoulder * 0.82
    d.polygon(
        [(round(cx - shoulder), y(0.22)), (round(cx + shoulder), y(0.22)),
         (round(cx + waist), y(0.58) - 1), (round(cx - waist), y(0.58) - 1)],
        fill=outfit,
    )
    # Arms: sleeves in the outfit colour, hands in skin, ending inside the torso band.
    arm_w = 0.055 * h
    arm_xs = [cx - arm_w / 2] if view == "side" else [cx - shoulder - arm_w + 1, cx + shoulder - 1]
    for ax in arm_xs:
        d.rectangle(box(ax, y(0.225), ax + arm_w, y(0.52)), fill=outfit)
        d.rectangle(box(ax + 1, y(0.52) + 1, ax + arm_w - 1, y(0.565)), fill=skin)

    # Neck.
    neck = 0.032 * h
    d.rectangle(box(cx - neck, y(0.16), cx + neck, y(0.225)), fill=skin)

    # Head and hair (HEAD_BAND). Hair always reaches the very top of the figure.
    hw = 0.075 * h * (0.9 if view == "side" else 1.0)
    face_shift = {"front": 0.0, "three_quarter": 0.14, "side": 0.32, "back": 0.0}[view] * hw
    head_top, head_bot = y(0.035), y(0.185)
    style = spec.hair_style

    if style in ("long", "bob"):
        # Hair falling past the face, in front of the shoulders (back view: down the back).
        fall = y(0.33) if style == "long" else y(0.2)
        d.rectangle(box(cx - hw * 1.12, y(0.07), cx + hw * 1.12, fall), fill=hair)
    if style == "bun":
        d.ellipse(box(cx - 0.045 * h, y(0.0), cx + 0.045 * h, y(0.075)), fill=hair)
        d.ellipse(box(cx - hw * 1.06, y(0.025), cx + hw * 1.06, y(0.15)), fill=hair)
    elif style == "flat":
        d.rectangle(box(cx - hw * 1.04, y(0.0), cx + hw * 1.04, y(0.09)), fill=hair)
        d.ellipse(box(cx - hw * 1.06, y(0.02), cx + hw * 1.06, y(0.16)), fill=hair)
    else:
        d.ellipse(box(cx - hw * 1.1, y(0.0), cx + hw * 1.1, y(0.15)), fill=hair)

    if view == "back":
        # No face: the back of the head is all hair.
        d.ellipse(box(cx - hw, head_top, cx + hw, head_bot), fill=hair)
        if style in ("long", "bob"):
            fall = y(0.33) if style == "long" else y(0.2)
            d.rectangle(box(cx - hw, y(0.1), cx + hw, fall), fill=hair)
        return img

    face_top = y(0.06) if style != "flat" else y(0.07)
    d.ellipse(box(cx - hw + face_shift, face_top, cx + hw + face_shift, head_bot), fill=skin)
    if view == "side":
        # Hair covers the back half of the head in profile.
        d.pieslice(box(cx - hw * 1.05, head_top, cx + hw * 0.7, head_bot), 90, 270, fill=hair)

    eye = max(2, round(0.012 * h))
    eye_y = y(0.11)
    fx = cx + face_shift
    if view == "front":
        eyes = [fx - hw * 0.4, fx + hw * 0.4]
    elif view == "three_quarter":
        eyes = [fx - hw * 0.2, fx + hw * 0.5]
    else:
        eyes = [fx + hw * 0.45]
    for ex in eyes:
        d.rectangle(box(ex - eye / 2, eye_y, ex + eye / 2, eye_y + eye), fill=_opaque(_EYE))
    if view == "front":
        mouth_y = y(0.155)
        d.rectangle(box(fx - hw * 0.25, mouth_y, fx + hw * 0.25, mouth_y + 1), fill=_opaque(_EYE))
    return img


def draw_turnaround(spec: FigureSpec) -> Image.Image:
    """The four-view sheet: front, three_quarter, side, back, left to right."""
    sheet = Image.new("RGBA", (CELL_W * len(VIEWS), CELL_H), (0, 0, 0, 0))
    for i, view in enumerate(VIEWS):
        # paste without a mask copies alpha too; cells never overlap, so nothing is blended.
        sheet.paste(draw_view(spec, view), (i * CELL_W, 0))
    return sheet
