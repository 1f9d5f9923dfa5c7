"""How the local painter draws the bible: a turnaround sheet or a location plate from the
bible's locked description, and the one-view fix and one-thing edit of a version.

The local painter is a real, offline image model for rehearsals: it reads the description's
words (colour words beside "hair", "skin", the first two garments, "tall", "slim", "bun"…)
and draws the manifests' turnaround contract (manifests/turnaround.py: four views on a
transparent ground) so that the reference gate and the local judge read it as they read any
sheet. A fix redraws one view only — from the sheet's own front (or back) view, narrowed as
the contract's views are — and leaves every other pixel as it was; a plate edit that removes a
thing repaints that thing's region with the plate's ground and nothing else.

Everything here is a pure function of its arguments: the same words give the same pixels.
It must never read storage, call a model or touch the network.
"""
from __future__ import annotations

import hashlib
import io
import re

import numpy as np
from PIL import Image, ImageDraw

from slate.manifests.turnaround import BIBLE_PLATE_SIZE, CELL_H, CELL_W, RGB, VIEWS, FigureSpec, HairStyle, draw_turnaround

# Colour words a description uses, longest first so "pale blue" wins over "blue".
COLOURS: dict[str, tuple[int, int, int]] = {
    "platinum-blonde": (246, 216, 96), "jet-black": (22, 18, 20), "pale blue": (128, 176, 228),
    "steel-blue": (70, 110, 150), "dark blue": (42, 58, 100), "dark green": (30, 80, 50),
    "dark navy": (20, 26, 60), "dark maroon": (100, 24, 36), "mustard-yellow": (206, 160, 40),
    "deep brown": (92, 56, 36), "warm tan": (206, 152, 112), "very pale": (252, 230, 222),
    "very fair": (250, 222, 200), "fair": (236, 178, 150), "teal": (18, 164, 172), "red": (196, 48, 26),
    "green": (46, 112, 58), "blue": (60, 90, 170), "purple": (116, 54, 152), "orange": (226, 96, 30),
    "yellow": (230, 200, 40), "mustard": (206, 160, 40), "brown": (96, 68, 42), "black": (28, 28, 34),
    "white": (236, 232, 224), "grey": (124, 124, 130), "gray": (124, 124, 130), "blonde": (246, 216, 96),
    "tan": (206, 152, 112), "pink": (230, 140, 170), "maroon": (100, 24, 36), "navy": (20, 26, 60),
    "chrome": (190, 196, 204), "brick": (150, 70, 50), "concrete": (150, 150, 146), "asphalt": (40, 40, 44),
    "gold": (212, 170, 60), "silver": (190, 190, 196), "cream": (240, 230, 200), "beige": (214, 196, 160),
}
_BY_LENGTH = sorted(COLOURS, key=len, reverse=True)
_GARMENTS = ("shirt", "hoodie", "jacket", "uniform", "sweater", "coat", "dress", "top", "t-shirt", "blouse",
             "jeans", "trousers", "tights", "skirt", "pants", "shorts", "leggings")
_LEGWEAR = ("jeans", "trousers", "tights", "skirt", "pants", "shorts", "leggings")
_UNKNOWN_PART = "the description names no colour for it"


def _seeded(*parts: object) -> np.random.Generator:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


def colour_in(text: str) -> tuple[int, int, int] | None:
    """The first colour word in `text` (the longest spelling where two overlap)."""
    low = text.lower()
    best = None
    for word in _BY_LENGTH:
        m = re.search(rf"(?<![a-z]){re.escape(word)}(?![a-z])", low)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), COLOURS[word])
    return best[1] if best else None


def _phrases(description: str) -> list[str]:
    return [p.strip() for p in re.split(r"[;,.\n]", description) if p.strip()]


def figure_from_words(description: str) -> FigureSpec:
    """A figure drawn from a character's description: what the words say, the rest seeded by them."""
    rng = _seeded("figure", description)
    low = description.lower()

    def pick(*keys: str) -> tuple[int, int, int] | None:
        for phrase in _phrases(description):
            if any(k in phrase.lower() for k in keys):
                found = colour_in(phrase)
                if found:
                    return found
        return None

    def anyc() -> tuple[int, int, int]:
        r, g, b = (int(v) for v in rng.integers(30, 230, 3))
        return r, g, b

    hair = pick("hair") or anyc()
    skin = pick("skin") or (214, 170, 140)
    garments = [p for p in _phrases(description) if any(g in p.lower() for g in _GARMENTS)]
    top = next((colour_in(p) for p in garments if not any(w in p.lower() for w in _LEGWEAR) and colour_in(p)), None)
    legs = next((colour_in(p) for p in garments if any(w in p.lower() for w in _LEGWEAR) and colour_in(p)), None)
    height = 1.0 if "very tall" in low else 0.96 if "tall" in low else 0.72 if re.search(r"\bsmall\b|shortest", low) \
        else 0.84 if "short" in low else 0.86
    build = 1.25 if re.search(r"broad|heavy", low) else 1.18 if "stocky" in low else \
        0.8 if re.search(r"\bthin\b", low) else 0.85 if re.search(r"slight|slim", low) else 1.0
    style: HairStyle = "bun" if "bun" in low else "bob" if "bob" in low else "flat" if "flat-top" in low else \
        "long" if re.search(r"\blong\b[^.\n]*hair|hair[^.\n]*\blong\b", low) else "short"
    return FigureSpec(hair=hair, skin=skin, outfit=top or anyc(), legs=legs or anyc(), height_frac=height,
                      build=build, hair_style=style)


def draw_sheet(description: str) -> Image.Image:
    """A four-view turnaround of the character the words describe."""
    return draw_turnaround(figure_from_words(description))


def _cell(sheet: Image.Image, view: str) -> Image.Image:
    i = VIEWS.index(view)
    return sheet.crop((i * CELL_W, 0, (i + 1) * CELL_W, CELL_H))


# How wide each view's body is against the front's (manifests/turnaround.py draws them so).
_WIDTH = {"front": 1.0, "three_quarter": 0.8, "side": 0.56, "back": 1.0}


def fix_view(parent: Image.Image, view: str) -> Image.Image:
    """The parent sheet with `view` redrawn from the sheet's own front (for the front: its back)
    view, narrowed as that view is; every other pixel of the parent is kept as it was."""
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r} (views: {', '.join(VIEWS)})")
    sheet = parent.convert("RGBA")
    if sheet.size != (CELL_W * len(VIEWS), CELL_H):
        sheet = sheet.resize((CELL_W * len(VIEWS), CELL_H), Image.Resampling.NEAREST)
    source = _cell(sheet, "back" if view == "front" else "front")
    box = source.getchannel("A").getbbox()
    cell = Image.new("RGBA", (CELL_W, CELL_H), (0, 0, 0, 0))
    if box is not None:
        figure = source.crop(box)
        w = max(1, round(figure.width * _WIDTH[view]))
        figure = figure.resize((w, figure.height), Image.Resampling.NEAREST)   # nearest: the mask stays exact
        cell.paste(figure, ((CELL_W - w) // 2, box[1]))
    out = sheet.copy()
    out.paste(cell, (VIEWS.index(view) * CELL_W, 0))   # no mask: the whole cell, alpha and all
    return out


def lying_view(sheet: Image.Image, view: str) -> Image.Image:
    """The sheet with one view off-model (its colours turned): what the local fault mode draws."""
    from slate.providers.local_draw import hue_rotate
    out = sheet.convert("RGBA").copy()
    i = VIEWS.index(view)
    box = (i * CELL_W, 0, (i + 1) * CELL_W, CELL_H)
    out.paste(hue_rotate(out.crop(box), 150), box[:2])
    return out


# -- plates -----------------------------------------------------------------------------------------
_GROUND_WORDS = ("wall", "sky", "ceiling", "backdrop")
_FLOOR_WORDS = ("floor", "sidewalk", "road", "ground", "carpet", "asphalt", "grass")


def _plate_things(description: str) -> list[tuple[str, tuple[int, int, int]]]:
    """The description's coloured things that are neither its walls nor its floor."""
    things = []
    for phrase in _phrases(description):
        low = phrase.lower()
        if any(w in low for w in _GROUND_WORDS + _FLOOR_WORDS):
            continue
        # A lamp or a window is a light: drawn bright, so the plate holds figures' contrast.
        colour = (255, 232, 170) if re.search(r"\b(lamps?|windows?|lights?|neon)\b", low) else colour_in(phrase)
        if colour:
            things.append((phrase, colour))
    return things


def _thing_box(description: str, phrase: str, index: int) -> tuple[int, int, int, int]:
    rng = _seeded("thing", description, phrase)
    w, h = BIBLE_PLATE_SIZE
    bw, bh = int(rng.integers(w // 8, w // 4)), int(rng.integers(h // 6, h // 3))
    x0 = int((index * 0.23 + rng.uniform(0, 0.12)) % 0.8 * w)
    y0 = int(h * 0.62 - bh + rng.integers(-h // 10, h // 10))
    return x0, max(0, y0), min(w, x0 + bw), min(h, y0 + bh)


def _named_colour(description: str, words: tuple[str, ...]) -> RGB | None:
    """The colour of the first phrase that names one of `words` and a colour."""
    for phrase in _phrases(description):
        if any(k in phrase.lower() for k in words):
            found = colour_in(phrase)
            if found:
                return found
    return None


def plate_ground(description: str) -> Image.Image:
    """The empty place: the walls (or sky) over the floor, with a little texture."""
    w, h = BIBLE_PLATE_SIZE
    wall = _named_colour(description, _GROUND_WORDS) or (120, 110, 100)
    floor = _named_colour(description, _FLOOR_WORDS) or (70, 66, 60)
    img = Image.new("RGB", BIBLE_PLATE_SIZE, wall)
    d = ImageDraw.Draw(img)
    d.rectangle([0, int(h * 0.62), w, h], fill=floor)
    rng = _seeded("ground", description)
    for x in range(0, w, 32):  # wall stripes or panels: a place, not a flat fill
        shade = tuple(max(0, min(255, c + int(rng.integers(-14, 14)))) for c in wall)
        d.rectangle([x, 0, x + 15, int(h * 0.62) - 1], fill=shade)
    return img


def draw_plate(description: str) -> Image.Image:
    """A location plate from the words: the ground, then each coloured thing the words name."""
    img = plate_ground(description)
    d = ImageDraw.Draw(img)
    for i, (phrase, colour) in enumerate(_plate_things(description)):
        d.rectangle(_thing_box(description, phrase, i), fill=colour)
    return img


_REMOVE = re.compile(r"^\s*(remove|take away|take out|empty|clear|delete)\b", re.I)


def edit_plate(parent: Image.Image, description: str, instruction: str) -> Image.Image:
    """One edit of a plate. A removal ("remove the red stools") repaints the region of each thing
    the instruction names with the plate's ground; any other edit is drawn as a tint of the thing
    it names. Pixels outside the things named are the parent's."""
    out = parent.convert("RGB").resize(BIBLE_PLATE_SIZE, Image.Resampling.NEAREST) if parent.size != BIBLE_PLATE_SIZE \
        else parent.convert("RGB").copy()
    ground = plate_ground(description)
    words = {w for w in re.findall(r"[a-z]+", instruction.lower()) if len(w) > 3}
    for i, (phrase, colour) in enumerate(_plate_things(description)):
        if not words & set(re.findall(r"[a-z]+", phrase.lower())):
            continue
        box = _thing_box(description, phrase, i)
        if _REMOVE.search(instruction):
            out.paste(ground.crop(box), box[:2])
        else:
            tint = colour_in(instruction) or colour
            ImageDraw.Draw(out).rectangle(box, fill=tint)
    return out


def png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
