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
# Words that name a haircut, never a garment: "flat-top" holds "top", and was read as one (a
# green flannel shirt drawn red, the hair's colour). Longest first so "pixie cut" wins over "cut".
HAIRSTYLES = ("flat-top", "flat top", "crew cut", "buzz cut", "pixie cut", "bowl cut", "ponytail", "pony tail",
              "pigtails", "top knot", "topknot", "bob", "bun", "braids", "braid", "mohawk", "quiff", "pompadour",
              "mullet", "undercut", "afro", "dreadlocks", "cornrows", "fringe", "bangs")
_HAIR = re.compile(r"(?<![a-z])(?:hair|" + "|".join(re.escape(h) for h in HAIRSTYLES) + r")(?![a-z])")
_UNKNOWN_PART = "the description names no colour for it"


def _seeded(*parts: object) -> np.random.Generator:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


def colour_word(text: str) -> str | None:
    """The first colour word in `text` (the longest spelling where two overlap)."""
    low = text.lower()
    best: tuple[int, str] | None = None
    for word in _BY_LENGTH:
        m = re.search(rf"(?<![a-z]){re.escape(word)}(?![a-z])", low)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), word)
    return best[1] if best else None


def colour_in(text: str) -> tuple[int, int, int] | None:
    """The colour of the first colour word in `text`."""
    word = colour_word(text)
    return COLOURS[word] if word else None


def _phrases(description: str) -> list[str]:
    return [p.strip() for p in re.split(r"[;,.\n]", description) if p.strip()]


def _garment(phrase: str, words: tuple[str, ...]) -> bool:
    """Whether the phrase names one of `words` as a garment: a whole word, once its haircut words
    are taken out ("a flat-top" is hair; "a tank top" is a garment)."""
    low = phrase.lower()
    for style in HAIRSTYLES:
        low = re.sub(rf"(?<![a-z]){re.escape(style)}(?![a-z])", " ", low)
    return any(re.search(rf"(?<![a-z-]){re.escape(g)}(?![a-z])", low) for g in words)


def _garment_colour(phrase: str) -> str | None:
    """The colour word a garment phrase names: after its last hair word when it names the hair
    too ("red crew cut and a green shirt" is green)."""
    hair = [m.end() for m in _HAIR.finditer(phrase.lower())]
    return colour_word(phrase[hair[-1]:] if hair else phrase)


def described_outfit(description: str) -> tuple[str | None, str | None]:
    """The colour words the description names for the outfit's top and its legwear (None: unnamed)."""
    garments = [p for p in _phrases(description) if _garment(p, _GARMENTS)]
    top = next((c for p in garments if not _garment(p, _LEGWEAR) and (c := _garment_colour(p))), None)
    legs = next((c for p in garments if _garment(p, _LEGWEAR) and (c := _garment_colour(p))), None)
    return top, legs


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

    # The hair's colour is in the phrase that names the hair or its cut ("platinum-blonde bob").
    hair = pick("hair", *HAIRSTYLES) or anyc()
    skin = pick("skin") or (214, 170, 140)
    top, legs = (COLOURS[w] if w else None for w in described_outfit(description))
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


_LIGHT = re.compile(r"\b(lamps?|windows?|lights?|neon)\b")
_GROUND = re.compile(r"\b(" + "|".join(_GROUND_WORDS + _FLOOR_WORDS) + r")s?\b")
# One phrase may hold several things ("a steel-blue counter with chrome trim and red stools"):
# each is drawn, and so can be edited, on its own.
_THING_SPLIT = re.compile(r"\s+(?:and|with)\s+")


def _plate_things(description: str) -> list[tuple[str, tuple[int, int, int]]]:
    """The description's coloured things that are neither its walls nor its floor."""
    things = []
    for phrase in _phrases(description):
        low = phrase.lower()
        ground, light = _GROUND.search(low), _LIGHT.search(low)
        # A wall or a floor, unless a light comes first ("pendant lamps hanging from the ceiling").
        if ground and not (light and light.start() < ground.start()):
            continue
        for part in _THING_SPLIT.split(phrase):
            # A lamp or a window is a light: drawn bright, so the plate holds figures' contrast.
            colour = (255, 232, 170) if _LIGHT.search(part.lower()) else colour_in(part)
            if colour:
                things.append((part, colour))
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


def _box_fill(d: ImageDraw.ImageDraw, box: tuple[int, int, int, int], colour: RGB) -> None:
    # A box is half-open, as a crop is: ImageDraw's rectangle includes its far corner, and a
    # removal (which pastes the crop) left a one-pixel outline of the box along two edges.
    x0, y0, x1, y1 = box
    if x1 > x0 and y1 > y0:
        d.rectangle((x0, y0, x1 - 1, y1 - 1), fill=colour)


def draw_plate(description: str, *, leave_out: frozenset[int] = frozenset()) -> Image.Image:
    """A location plate from the words: the ground, then each coloured thing the words name
    (but the things numbered in `leave_out`)."""
    img = plate_ground(description)
    d = ImageDraw.Draw(img)
    for i, (phrase, colour) in enumerate(_plate_things(description)):
        if i not in leave_out:
            _box_fill(d, _thing_box(description, phrase, i), colour)
    return img


_REMOVE = re.compile(r"^\s*(remove|take away|take out|empty|clear|delete)\b", re.I)
_NOT_A_THING = {"remove", "take", "away", "delete", "clear", "empty", "make", "turn", "paint", "change", "colour",
                "color", "recolour", "recolor", "the", "a", "an", "all", "of", "from", "into", "them", "it", "its"}
_COLOUR_WORDS = {w for c in COLOURS for w in re.findall(r"[a-z]+", c)}


def _nouns(text: str) -> set[str]:
    """The words of `text` that can name a thing (no verbs, articles or colours), singular."""
    return {w[:-1] if w.endswith("s") and len(w) > 3 else w for w in re.findall(r"[a-z]+", text.lower())
            if w not in _NOT_A_THING and w not in _COLOUR_WORDS and len(w) > 2}


def named_things(description: str, instruction: str) -> list[tuple[int, str, tuple[int, int, int, int], RGB]]:
    """The plate's things an edit names (by a word of the thing other than its colour): each as
    (its number, its words, its box on the plate, its colour) — where the local painter drew it."""
    asked = _nouns(instruction)
    return [(i, phrase, _thing_box(description, phrase, i), colour)
            for i, (phrase, colour) in enumerate(_plate_things(description)) if asked & _nouns(phrase)]


def edit_plate(parent: Image.Image, description: str, instruction: str) -> Image.Image:
    """One edit of a plate. A removal ("remove the red stools") repaints the box of each thing
    the instruction names with what the plate shows without it (its ground, and any other thing
    there); any other edit is drawn as a tint of the thing it names. Pixels outside the boxes of
    the things named are the parent's."""
    out = parent.convert("RGB").resize(BIBLE_PLATE_SIZE, Image.Resampling.NEAREST) if parent.size != BIBLE_PLATE_SIZE \
        else parent.convert("RGB").copy()
    named = named_things(description, instruction)
    if _REMOVE.search(instruction):
        without = draw_plate(description, leave_out=frozenset(i for i, _, _, _ in named))
        for _, _, box, _ in named:
            out.paste(without.crop(box), box[:2])
        return out
    for _, _, box, colour in named:
        _box_fill(ImageDraw.Draw(out), box, colour_in(instruction) or colour)
    return out
def png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
