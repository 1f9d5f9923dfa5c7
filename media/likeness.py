"""Each character held to their bible by colour: hair, skin and outfit, as their turnaround dressed
in the scene's wardrobe shows them, read in a frame where the picture it descends from shows them.

For: the drift check (tasks/gates/drift.py: a chain slowly repainting one character's hair, skin or
clothes shot after shot, which a measure of the whole picture averages away) and the keyframe
gate of a chained clip (tasks/gates/keyframes.py: a start frame that has already drifted is no
reference to hold the clip to).

`Part`s are read from a figure (RGBA, dressed): its hair (the commonest colour of the head's top
rows), its skin (the head's next commonest colour) and its outfit (the torso band's commonest
colour). In a frame a part is looked for where `reference` — the approved picture the frame
descends from, aligned to it (the crop the camera move ends on), at the frame's exposure —
shows a colour within REF_MATCH of the part's (the panel gate held that picture to the bible,
so there the part is where its colour is). The frame's mean colour there, against the
reference's (the bible's colour as that approved picture draws it: its grain and grade are not
drift), is how far the part moved: its hue turn (degrees of Lab hue, counted only for a colour with a
hue: chroma MIN_CHROMA or more; a colour wheel's (HSV) 23 degrees read 8 on a yellow, 22 on a
red-brown) and its lightness (L*). Pixel-aligned on purpose, as the drift
check's SSIM is: a figure that walked away is SSIM's to see.

It reads pictures only and never decides: the cuts are the caller's. It never imports anything of
ours but media.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import binary_erosion

from .grade import lab, soften
from .palette import colour_counts

HEAD = (0.0, 0.22)      # of the figure's height: the head and hair (manifests/turnaround.py HEAD_BAND)
TORSO = (0.22, 0.58)    # the outfit's top (TORSO_BAND); passed in by callers that know the sheet's own
HAIR_ROWS = 1 / 6       # of the head's rows: the top, where the hair is (a face never reaches it)
REF_MATCH = 10.0        # Lab units (lightness half-weighted) a reference pixel is from a part's colour to be it
MIN_CHROMA = 20.0       # Lab chroma below which a colour's hue is not judged: black hair and a grey coat have
                        # none, and a pale face's (chroma 16) turns 24° in 20 clean re-encodes beside yellow hair
MIN_PIXELS = 12         # reference pixels at the compared size: fewer is too little of the part to read
MIN_SHARE = 0.10        # of the head's pixels: a smaller colour (eyes, a mouth) is not the skin
WIDTH = 320             # px: the size parts are read at (a wide shot's hair is a few dozen pixels here)


@dataclass(frozen=True)
class Part:
    """One colour a character wears: whose, which part, and the bible's colour (Lab)."""
    character: str
    name: str                # "hair" | "skin" | "outfit"
    colour: np.ndarray       # (3,) Lab


@dataclass(frozen=True)
class Reading:
    """How far one part moved in a frame from the bible: hue turn (degrees; None without a hue to
    turn), lightness (L* units) and the reference pixels it was read on."""
    part: Part
    hue: float | None
    lightness: float
    pixels: int


def parts_of(character: str, figure: np.ndarray, torso: tuple[float, float] = TORSO,
             head: tuple[float, float] = HEAD) -> list[Part]:
    """A figure's hair, skin and outfit colours (RGBA figure, alpha marking it)."""
    opaque = figure[..., 3] > 0
    rows = np.flatnonzero(opaque.any(axis=1))
    if not len(rows):
        return []
    top, height = int(rows[0]), int(rows[-1] - rows[0] + 1)

    def band(lo: float, hi: float) -> np.ndarray:
        part = figure[top + int(round(lo * height)):top + max(int(round(lo * height)) + 1, int(round(hi * height)))]
        return part[part[..., 3] > 0][:, :3]

    out = []
    head_px = band(*head)
    hair_px = band(head[0], head[0] + (head[1] - head[0]) * HAIR_ROWS)
    hair = None
    if len(hair_px):
        colours, counts = colour_counts(hair_px)
        hair = colours[counts.argmax()]
        out.append(Part(character, "hair", _lab(hair)))
    if len(head_px):
        colours, counts = colour_counts(head_px)
        order = np.argsort(-counts)
        for i in order:
            if counts[i] < MIN_SHARE * counts.sum():
                break
            if hair is not None and np.array_equal(colours[i], hair):
                continue
            out.append(Part(character, "skin", _lab(colours[i])))
            break
    torso_px = band(*torso)
    if len(torso_px):
        colours, counts = colour_counts(torso_px)
        out.append(Part(character, "outfit", _lab(colours[counts.argmax()])))
    return out


def _lab(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(lab(np.asarray(rgb, dtype=np.float32).reshape(1, 1, 3))[0, 0], dtype=np.float32)


def _dist(pixels: np.ndarray, colour: np.ndarray) -> np.ndarray:
    d = (pixels - colour) * np.array([0.5, 1.0, 1.0], dtype=np.float32)
    return np.sqrt((d * d).sum(-1))


def size_of(frame: np.ndarray) -> tuple[int, int]:
    """The (width, height) parts are read at for a frame of this shape."""
    h, w = frame.shape[:2]
    return WIDTH, max(8, round(WIDTH * h / w))


def read(frame: np.ndarray, reference: np.ndarray, parts: list[Part], within: np.ndarray | None = None
         ) -> list[Reading]:
    """Each part as the frame shows it where `reference` (aligned, same size, same exposure)
    shows it; a part the reference shows in fewer than MIN_PIXELS pixels is left out. `within`:
    where the reference shows people, not the set (at `size_of` the frame; media.presence's
    Cast.figure), so a black-haired figure is not read on the set's shadows."""
    size = size_of(frame)
    now, then = lab(soften(frame, size, 0.5)), lab(soften(reference, size, 0.5))
    out = []
    for part in parts:
        where = _dist(then, part.colour) <= REF_MATCH
        if within is not None and (where & within).sum() >= MIN_PIXELS:
            where &= within
        inner = binary_erosion(where)   # a part's edge takes its neighbours' colours as a chain re-encodes
        where = inner if inner.sum() >= MIN_PIXELS else where
        n = int(where.sum())
        if n < MIN_PIXELS:
            continue
        seen, was = now[where].mean(axis=0), then[where].mean(axis=0)
        hue = None
        if float(np.hypot(part.colour[1], part.colour[2])) >= MIN_CHROMA:
            turn = np.arctan2(seen[2], seen[1]) - np.arctan2(was[2], was[1])
            hue = float(np.degrees(np.angle(np.exp(1j * turn))))
        out.append(Reading(part, hue, float(seen[0] - was[0]), n))
    return out


ALIGNED = 0.6   # normalised correlation a frame's window in its reference must reach to be read against it


def aligned(frame: np.ndarray, reference: np.ndarray, parts: list[Part] | None = None) -> tuple[np.ndarray, float]:
    """The crop of `reference` that best explains `frame` (media.grade's move search), at the
    frame's size and graded to it (media.grade.tone_match: a bounded gain and gamma per channel,
    so an exposure, a gamma or a white balance is not read as a part moving, and a recolour is
    not undone; fitted off the pixels that show `parts`), and how well it matches (normalised correlation: below ALIGNED the frame shows
    something else and parts cannot be read)."""
    from PIL import Image

    from .grade import frame_window, tone_match
    still = Image.fromarray(reference)
    ncc, box, _ = frame_window(still, frame, (8, 8))
    h, w = frame.shape[:2]
    size = (WIDTH, max(8, round(WIDTH * h / w)))
    crop = np.asarray(still.resize(size, Image.Resampling.BILINEAR, box=box), dtype=np.float32)
    small = np.asarray(Image.fromarray(frame).resize(size, Image.Resampling.BOX), dtype=np.float32)
    # The grade is fitted off the people's own colours: a close-up's turned hair is most of its
    # brightest pixels, and a grade fitted on them would turn the reference's hair to match.
    theirs = np.zeros(crop.shape[:2], dtype=bool)
    if parts:
        seen = lab(crop)
        for part in parts:
            theirs |= _dist(seen, part.colour) <= 2 * REF_MATCH
    keep = ~theirs if (~theirs).mean() > 0.3 else None
    return tone_match(crop, small, keep).astype(np.uint8), float(ncc)


def describe(r: Reading, what: str) -> str:
    """"nina's hair hue +28°" or "nina's outfit lightness -12 L*" (`what`: "hue" or "lightness")."""
    if what == "hue":
        return f"{r.part.character}'s {r.part.name} hue {r.hue:+.0f}°"
    return f"{r.part.character}'s {r.part.name} lightness {r.lightness:+.0f} L*"
