"""Who is in a clip: each character found in the frames by the colours only they wear.

A turnaround shows a character in a few flat colours (hair, skin, outfit, legs); a scene's
wardrobe may recolour the outfit. `Cast.of` keeps, for each character, the colours that cover a
share of their figure and that nobody else of the cast wears and the location's plate does not
show (within SEPARATION Lab units) — their *signature*. In a frame, a character's presence is
the share of the frame in their signature colours (within MATCH, lightness counted half: a
grade moves lightness more than hue) over the share a figure of theirs would cover if it stood
FIGURE_HEIGHT of the frame tall: 1.0 is a whole such figure, 0 nobody; a closer framing reads
above 1, a figure half hidden or half out of frame about half.

A character every colour of whom the set shows (in the diner every colour Gabe and Jenny wear
is on the stools, the floor, the lamps or on the other) is a *foreground member*: looked for
only where the frame is not the plate. The plate's window is found in each frame
(media.grade.frame_window's move search, widened to the crop a close framing makes of a plate),
a frame pixel more than FIGURE_DISTANCE Lab units from it is figure, and their signature there
is the colours of theirs that the others named wear little of (at most SHARED of a figure: one
character's red hair does not take away another's red dress). Someone dressed in the set's
colours is then told by where they stand in front of it, not by a colour the set lacks.

Each frame's exposure is levelled to the start's before its bounded grade is taken off (a clip
graded dark on purpose is not "nobody in frame"), and `presence_scores` also holds each named
character's own colours across the clip (`clip_identity`: hair or clothes repainted partway)
and to their turnaround's hue (`clip_likeness`, issue 36). MATCH accepts a colour turned 20°
of hue at low chroma, and a figure whose coat and skin are there whole reads present whatever
its hair does: so each signature colour of TURN_CHROMA or more is also read in a *ring* about
where its wearer stands — the pixels of its lightness and chroma at any hue within TURN_RING,
counted by how far they are turned — and a ring that peaks TURN degrees or more away is that
colour turned ("jenny's hair (#f6d860) is not their turnaround's: hue +20°"). A colour hidden or
out of frame leaves its ring nearly empty (under TURN_EVIDENCE of what it would cover beside
the others found) and says nothing; a foreground member's ring is read off the figure only.

It reads pictures only, at the caller's scale (media.dailies' low-resolution frames), and
never decides: thresholds are the caller's. A character with no signature colour even so
(dressed like someone else of the shot), or with no plate to stand them against, cannot be
told apart by colour; `Cast.unseen` names them, and the caller must not claim to have checked
them. It never imports anything of ours.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .grade import lab
from .palette import colour_counts

FIGURE_HEIGHT = 0.40   # of the frame's height: the smallest a named character is expected to stand
MIN_SHARE = 0.04       # of a figure's pixels: a colour covering less (eyes, shoes' edges) is not counted on
SEPARATION = 20.0      # Lab units (lightness half-weighted) from the colours of the others named: twice
                       # MATCH, so a graded and encoded colour of one is never read as another's
PLATE_SEPARATION = 13.0  # from the plate's colours (which the frame's grade is fitted on, so held tighter)
PLATE_SHARE = 0.003    # a plate colour covering less than this of the frame does not take a signature away
MIN_CHROMA = 12.0      # Lab chroma: a grey, a white or a black (a highlight clipped by a grade) says nothing of who
MIN_PATCH = 6          # frame pixels: a smaller patch of a signature colour is not counted
MATCH = 10.0           # Lab units (lightness half-weighted) a frame pixel may be from a signature colour,
                       # once the frame's tones are levelled to the start's (histograms matched per channel:
                       # a grade, a gamma, clipped highlights; no pixel-to-pixel pairing, so a camera
                       # move or a chained start that frames things otherwise does not matter)
FIGURE_DISTANCE = 20.0  # Lab units (lightness half-weighted) a frame pixel is from the plate's window
                        # to be figure, not set: past a grade's and a codec's error on a softened plate
SHARED = 0.25          # of another named figure's pixels: a colour they wear more of than this is theirs
PLATE_EVERY = 4        # frames: the plate's window is refined every 4th frame (a move is slow between)


_WEIGHTS = np.array([0.5, 1.0, 1.0])   # lightness half-weighted (_dist)
# scipy.ndimage.label's default 4-neighbourhood within a frame, none across frames of a stack.
_WITHIN_A_FRAME = np.zeros((3, 3, 3), dtype=bool)
_WITHIN_A_FRAME[1] = [[False, True, False], [True, True, True], [False, True, False]]


def _dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Lab distance with lightness half-weighted, between (..., 3) and (K, 3): (..., K)."""
    d = a[..., None, :] - b
    d = d * np.array([0.5, 1.0, 1.0], dtype=np.float32)
    return np.sqrt((d * d).sum(-1))


@dataclass(frozen=True)
class Member:
    """One character: their signature colours (Lab) and the share of a frame they would cover
    standing FIGURE_HEIGHT tall, per unit of aspect (width/height of the frame)."""
    id: str
    colours: np.ndarray                  # (K, 3) Lab
    rgb: np.ndarray                      # (K, 3) the same colours in RGB (what a grade is applied to)
    shares: np.ndarray                   # (K,) each colour's share of the figure's pixels
    share_of_figure: float               # the signature colours' share of the figure's pixels
    figure_aspect: float                 # the figure's opaque pixels over its height squared
    foreground: bool = False             # looked for only where the frame is not the plate
    top: np.ndarray | None = None        # (K,) bool: the colour shows in the figure's top rows (their hair)


@dataclass(frozen=True)
class Looked:
    """What `Cast.looked` saw: per character, their presence per frame (`shares`), each of their
    signature colours' pixels per frame ((N, K) `colours`), and where they stood in the frames
    asked for (`masks`: frame index -> character -> (H, W) bool)."""
    shares: dict[str, np.ndarray]
    colours: dict[str, np.ndarray]
    masks: dict[int, dict[str, np.ndarray]]
    turns: dict[str, np.ndarray] = field(default_factory=dict)  # (N, K, TURN_BINS): hue turn of each
                                                                # colour's ring around the figure (`_ring`)


@dataclass(frozen=True)
class Cast:
    members: dict[str, Member]
    unseen: dict[str, str] = field(default_factory=dict)   # id -> why presence cannot be told by colour
    plate: np.ndarray | None = None      # RGB, larger than the frames: where foreground members are told
                                         # from the set (the window each frame shows of it is searched)

    @classmethod
    def of(cls, figures: dict[str, np.ndarray], plate: np.ndarray | None, named: set[str],
           backdrop: np.ndarray | None = None) -> Cast:
        """The cast's signatures from each character's figure (an RGBA array, alpha marking the
        figure; dressed as the scene dresses them) and the location's plate (RGB, at the scale of
        the frames it will be looked for in). A character `named` for the shot is told apart from
        the set and from the others named (who may stand beside them); anyone else from the set
        and from everyone named (a stranger may look like another stranger: either is one too many).
        `backdrop`: the plate at a larger scale (RGB); given, a named character whose every colour
        the set shows is a foreground member (the module's docstring)."""
        palettes = {}
        for cid, fig in figures.items():
            px = fig[fig[..., 3] > 0][:, :3]
            colours, counts = colour_counts(px)
            keep = counts >= MIN_SHARE * len(px)
            rows = np.flatnonzero((fig[..., 3] > 0).any(axis=1))
            height = max(1, int(rows[-1] - rows[0] + 1)) if len(rows) else 1
            # Their hair: the colours of the figure's top rows (a twentieth of its height, at least 3).
            head = fig[rows[0]:rows[0] + max(3, height // 20)] if len(rows) else fig[:0]
            crown = head[head[..., 3] > 0][:, :3]
            top = (np.abs(colours[keep][:, None, :].astype(int) - crown[None, :, :].astype(int)).max(-1) == 0).any(-1) \
                if len(crown) else np.zeros(int(keep.sum()), dtype=bool)
            palettes[cid] = (lab(colours[keep].astype(np.float32)[None])[0], counts[keep] / max(1, len(px)),
                             len(px) / height ** 2, colours[keep].astype(np.float32), top)
        plate_lab = None
        if plate is not None:
            plate_lab = lab(np.asarray(plate, dtype=np.float32)).reshape(-1, 3).astype(np.float32)
        members, unseen = {}, {}
        for cid, (colours, shares, aspect, rgb, top) in palettes.items():
            beside = [palettes[o][0] for o in named if o != cid and o in palettes]
            own = np.hypot(colours[:, 1], colours[:, 2]) >= MIN_CHROMA
            if beside:
                own &= _dist(colours, np.concatenate(beside)).min(-1) > SEPARATION
            if plate_lab is not None:
                # The set shows this colour (many near shades of a brick wall count together).
                own &= (_dist(plate_lab, colours) <= PLATE_SEPARATION).mean(axis=0) < PLATE_SHARE
            if not own.any() and backdrop is not None and cid in named:
                # Told where the frame is not the plate: by the colours the others named wear
                # little of (each other's figure's share within SEPARATION of it).
                fore = np.hypot(colours[:, 1], colours[:, 2]) >= MIN_CHROMA
                for o in named:
                    if o == cid or o not in palettes:
                        continue
                    o_colours, o_shares = palettes[o][0], palettes[o][1]
                    near = _dist(colours, o_colours) <= SEPARATION          # (K, K_o)
                    fore &= (near * o_shares[None, :]).sum(-1) <= SHARED
                if fore.any():
                    members[cid] = Member(cid, colours[fore].astype(np.float32), rgb[fore], shares[fore],
                                          float(shares[fore].sum()), aspect, foreground=True, top=top[fore])
                    continue
            if not own.any():
                unseen[cid] = ("every colour they wear is " + ("shown by the set" if not beside else
                               "worn by someone else of the shot or shown by the set"))
                continue
            members[cid] = Member(cid, colours[own].astype(np.float32), rgb[own], shares[own],
                                  float(shares[own].sum()), aspect, top=top[own])
        return cls(members, unseen, None if backdrop is None else np.asarray(backdrop, dtype=np.uint8))

    def presence(self, frames: np.ndarray, start: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Per character, per frame of (N, H, W, 3) RGB: their signature's share of the frame
        over a FIGURE_HEIGHT-tall figure's (see the module's docstring). `start`: the picture the
        clip started from, at the frames' size; each frame's exposure is levelled to it first."""
        return self.looked(frames, start).shares

    def looked(self, frames: np.ndarray, start: np.ndarray | None = None, keep: tuple[int, ...] = ()) -> Looked:
        """`presence`, with each signature colour's pixels per frame (whole-clip identity: a
        colour of someone's that goes partway is their hair or clothes repainted) and, for the
        frames `keep` names, where each character was found (a mask per character)."""
        n, h, w = frames.shape[:3]
        from scipy.ndimage import label
        f = frames.astype(np.float32)
        if start is not None:
            dark = _beyond(f, np.asarray(start, np.float32))
            levelled = _levelled(f, np.asarray(start, np.float32))
            # Frames levelled are read for their quantiles as they now are; frames left as they
            # came are 8-bit, and read off their histograms (the same figures, no sort).
            source, f = (frames if levelled is f else levelled), levelled
            # Each frame brought back to the start's tones (the inverse of its bounded grade), so
            # colours are compared where the signatures were chosen, at the start's exposure.
            # The quantiles of the start and of every frame are taken once, all channels at once.
            theirs = _quantiles(source)                                                   # (Q, N, 3)
            ours = np.quantile(np.asarray(start, np.float32).reshape(-1, 3), GRADE_QUANTILES, axis=0)  # (Q, 3)
            grades = [_fit_grade(ours, theirs[:, i]) for i in range(n)]
            if dark.all():
                # A whole clip graded beyond the bounded grade (a dark grade on purpose) carries
                # one grade: the one its first frame (framed as the start) shows, not each
                # frame's own, which a move's new content bends (nina lost mid-dolly in a x0.57 clip).
                grades = [grades[0]] * n
            f = np.stack([_undo(g, x) for g, x in zip(grades, f)])
        pixels = lab(f).reshape(n, h, w, 3)
        figure = None
        if self.plate is not None and any(m.foreground for m in self.members.values()):
            figure = self.figure(f)
        out: dict[str, np.ndarray] = {}
        colours: dict[str, np.ndarray] = {}
        masks: dict[int, dict[str, np.ndarray]] = {}
        turns: dict[str, np.ndarray] = {}
        polar: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None   # L*, chroma, hue: once, if asked
        # Every pixel of every frame at once, one signature colour at a time (a handful), each
        # Lab channel a contiguous plane: the least squared distance (lightness half-weighted,
        # _dist's measure) against MATCH squared, and which colour it was (the first, on a tie).
        planes = [np.ascontiguousarray(pixels[..., c]) * _WEIGHTS[c] for c in range(3)]
        for cid, m in self.members.items():
            least, which = None, np.zeros((n, h, w), dtype=np.int64)
            for k, colour in enumerate(m.colours.astype(np.float64) * _WEIGHTS):
                d = planes[0] - colour[0]
                squared = d * d
                for c in (1, 2):
                    d = np.subtract(planes[c], colour[c], out=d)
                    squared += d * d
                if least is None:
                    least = squared
                else:
                    closer = squared < least
                    which[closer] = k
                    least = np.minimum(least, squared, out=least)
            assert least is not None
            near = least <= MATCH * MATCH
            if m.foreground:
                assert figure is not None   # a foreground member is only made beside a plate (Cast.of)
                near &= figure
            # A figure's colour is a patch; scattered pixels (edges, grain, a codec's smear
            # between two other colours) are not someone. Patches are found in every frame at
            # once, each frame's on its own (the structure joins no pixel across frames).
            labels, found = label(near, structure=_WITHIN_A_FRAME)
            if found:
                sizes = np.bincount(labels.ravel())
                sizes[0] = 0
                near = sizes[labels] >= MIN_PATCH
            hit = near.reshape(n, -1).mean(1)
            # Each signature colour's pixels per frame, among those found.
            frame_of = np.broadcast_to(np.arange(n)[:, None, None], near.shape)
            per = np.bincount((frame_of * len(m.colours) + which)[near],
                              minlength=n * len(m.colours)).reshape(n, len(m.colours)).astype(float)
            if polar is None:
                polar = (pixels[..., 0], np.hypot(pixels[..., 1], pixels[..., 2]),
                         np.degrees(np.arctan2(pixels[..., 2], pixels[..., 1])))
            # Their ring is read off the pixels no other colour of theirs claims (two near blues
            # of one coat are not each other's turn), and for a foreground member off the figure only.
            free = None if len(m.colours) < 2 else ~((least <= MATCH * MATCH)[..., None] & (
                which[..., None] != np.arange(len(m.colours))))
            turns[cid] = _ring(m, near, polar, free, figure if m.foreground else None)
            for i in keep:
                if 0 <= i < n:
                    masks.setdefault(i, {})[cid] = near[i]
            expected = m.share_of_figure * m.figure_aspect * FIGURE_HEIGHT ** 2 * h / w
            out[cid] = hit / max(1e-6, expected)
            colours[cid] = per
        return Looked(out, colours, masks, turns)

    def figure(self, frames: np.ndarray) -> np.ndarray:
        """(N, H, W) bool: where each frame (levelled to the plate's tones) is not the plate —
        more than FIGURE_DISTANCE from the window of the plate it shows, searched in full on the
        first frame and refined from there every PLATE_EVERY frames (a move is slow between)."""
        from PIL import Image

        from .grade import PLATE_ZOOMS, frame_window, soften
        n, h, w = frames.shape[:3]
        if self.plate is None:
            raise ValueError("a cast without a plate cannot tell a figure from the set")
        plate = Image.fromarray(self.plate)
        out = np.empty((n, h, w), dtype=bool)
        box, crop = None, None
        for i in range(n):
            if box is None or i % PLATE_EVERY == 0:
                _, box, crop = frame_window(plate, frames[i], (w, h), zooms=PLATE_ZOOMS, near=box)
                window = lab(crop)
            seen = lab(soften(frames[i], (w, h), 1.0))
            d = (seen - window) * np.array([0.5, 1.0, 1.0], dtype=np.float32)
            out[i] = np.sqrt((d * d).sum(-1)) > FIGURE_DISTANCE
        return out


TURN_CHROMA = 30.0     # Lab chroma: a signature colour with less is not held to its hue: measured on clean
                       # takes, a C28 skin read 13.6° off under a dark grade (an ab error of 7 units is 14° there)
TURN_RING = 45.0       # degrees of hue either way a colour's turned pixels are looked for in
TURN_BIN = 2.5         # degrees: the ring's histogram bins
TURN_BINS = int(2 * TURN_RING / TURN_BIN)
TURN_REACH = 0.5       # of the box where someone's signature was found, each way: where their ring is read


def _ring(m: Member, near: np.ndarray, polar: tuple[np.ndarray, np.ndarray, np.ndarray],
          free: np.ndarray | None = None, figure: np.ndarray | None = None) -> np.ndarray:
    """(N, K, TURN_BINS): per frame and signature colour of `m` (of TURN_CHROMA or more), the
    pixels about where they stand (the box of `near`, their signature found, widened TURN_REACH
    each way) of that colour's lightness and chroma (within MATCH, lightness half-weighted as
    `_dist`) at any hue within TURN_RING of it, counted by how far their hue is turned from it.
    A colour as the turnaround has it peaks in the middle bins; turned 20 degrees, 20 degrees off.
    `free`: (N, H, W, K) where colour k may be read (not another colour of theirs); `figure`:
    (N, H, W) where the frame is not the plate (a foreground member's colours are the set's too)."""
    n, h, w = near.shape
    k = len(m.colours)
    out = np.zeros((n, k, TURN_BINS))
    rows: np.ndarray = np.asarray(near.any(axis=2))                         # (N, H)
    cols: np.ndarray = np.asarray(near.any(axis=1))                         # (N, W)
    box = np.zeros((n, h, w), dtype=bool)
    for i in np.flatnonzero(rows.any(axis=1)):
        r, x = np.flatnonzero(rows[i]), np.flatnonzero(cols[i])
        dr, dx = int(TURN_REACH * (r[-1] - r[0] + 1)), int(TURN_REACH * (x[-1] - x[0] + 1))
        box[i, max(0, r[0] - dr):r[-1] + dr + 1, max(0, x[0] - dx):x[-1] + dx + 1] = True
    if figure is not None:
        box &= figure
    if not box.any():
        return out
    light, chroma, hue = (p[box] for p in polar)
    frame = np.broadcast_to(np.arange(n)[:, None, None], box.shape)[box]
    for j, colour in enumerate(m.colours):
        c = float(np.hypot(colour[1], colour[2]))
        if c < TURN_CHROMA:
            continue
        mine = np.ones(len(frame), dtype=bool) if free is None else free[..., j][box]
        turn = (hue - np.degrees(np.arctan2(colour[2], colour[1])) + 180.0) % 360.0 - 180.0
        ring = ((0.5 * np.abs(light - colour[0]) <= MATCH) & (np.abs(chroma - c) <= MATCH)
                & (np.abs(turn) < TURN_RING) & mine)
        bins = ((turn[ring] + TURN_RING) // TURN_BIN).astype(np.int64)
        out[:, j] = np.bincount(frame[ring] * TURN_BINS + bins, minlength=n * TURN_BINS).reshape(n, TURN_BINS)
    return out


GAIN = (0.6, 1.6)      # the grade a frame may carry over its start: a gain and a gamma per channel,
GAMMA = (0.6, 1.6)     # bounded, so it follows an exposure or a gamma but cannot turn one colour into another


GRADE_QUANTILES = np.linspace(0.02, 0.99, 40)
LEVEL = 5.0            # the most a frame's exposure is levelled by (either way) before its grade is fitted
LEVEL_QUANTILE = 0.9   # the tones a frame's exposure is levelled on: its bright ones, never clipped by the gain


def _beyond(frames: np.ndarray, start: np.ndarray) -> np.ndarray:
    """(N,) bool: the frames whose exposure lies beyond what the bounded grade follows (the
    ratio of their mean level to the start's outside GAIN)."""
    ratio = max(1.0, float(start.mean())) / np.maximum(1.0, frames.reshape(len(frames), -1).mean(axis=1))
    return (ratio > GAIN[1]) | (ratio < GAIN[0])


def _levelled(frames: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Each frame's exposure brought towards the start's where it lies beyond what the bounded
    grade follows (the ratio of their mean levels outside GAIN): one gain, that of their bright
    tones (LEVEL_QUANTILE: a gain matching the means would clip a frame's highlights when its
    grade also sank the shadows), at most LEVEL either way. A clip graded dark on purpose is then
    looked at near the start's exposure, its grade's gamma left to the bounded fit, not read as
    nobody in frame."""
    n = len(frames)
    flat = frames.reshape(n, -1)
    ratio = max(1.0, float(start.mean())) / np.maximum(1.0, flat.mean(axis=1))
    off = (ratio > GAIN[1]) | (ratio < GAIN[0])
    if not off.any():
        return frames
    bright = np.quantile(flat[off], LEVEL_QUANTILE, axis=1)
    gain = np.clip(max(1.0, float(np.quantile(start, LEVEL_QUANTILE))) / np.maximum(1.0, bright), 1 / LEVEL, LEVEL)
    out = frames.copy()
    out[off] = np.clip(frames[off] * gain[:, None, None, None], 0, 255)
    return out


def _quantiles(frames: np.ndarray) -> np.ndarray:
    """np.quantile(frames, GRADE_QUANTILES, axis=pixels) per frame and channel, (Q, N, 3), read
    off each one's histogram: the frames are 8-bit, so the k-th smallest level is the number of
    levels whose running count is at most k, and no frame is sorted. Linear between the two
    levels around each quantile's position, as numpy's default."""
    if frames.dtype != np.uint8:
        n = frames.shape[0]
        return np.quantile(np.asarray(frames, np.float32).reshape(n, -1, 3), GRADE_QUANTILES, axis=1)
    n = frames.shape[0]
    pixels = frames.reshape(n, -1, 3)
    count = pixels.shape[1]
    groups = (np.arange(n)[:, None] * 3 + np.arange(3)[None, :]) * 256          # (N, 3)
    hist = np.bincount((pixels.astype(np.int64) + groups[:, None, :]).ravel(), minlength=n * 3 * 256)
    running = np.cumsum(hist.reshape(n, 3, 256), axis=-1)                        # (N, 3, 256)
    at = GRADE_QUANTILES * (count - 1)
    lo = np.floor(at).astype(np.int64)
    hi = np.minimum(lo + 1, count - 1)
    # The k-th smallest (from 0) is the first level whose running count passes k.
    low = (running[None, :, :, :] <= lo[:, None, None, None]).sum(-1)          # (Q, N, 3)
    high = (running[None, :, :, :] <= hi[:, None, None, None]).sum(-1)
    t = (at - lo)[:, None, None]
    return (low + (high - low) * t).astype(np.float64)


def _grade(start: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """Per channel (gain, gamma) with frame ~ 255 gain (start/255)^gamma, fitted on the two
    pictures' quantiles (no pixel pairing: a move or another framing does not matter), where
    neither is clipped. Bounded (GAIN, GAMMA): a grade, never a recolour."""
    return _fit_grade(np.quantile(start.reshape(-1, 3), GRADE_QUANTILES, axis=0),
                      np.quantile(frame.reshape(-1, 3), GRADE_QUANTILES, axis=0))


def _fit_grade(start_q: np.ndarray, frame_q: np.ndarray) -> np.ndarray:
    """`_grade` from the two pictures' GRADE_QUANTILES per channel, (Q, 3) each."""
    out = np.empty((3, 2))
    for c in range(3):
        a = start_q[:, c] / 255.0
        b = frame_q[:, c] / 255.0
        # Dark levels are where a codec's few levels of error are a large ratio: fitted above them.
        ok = (a > 0.12) & (b > 0.12) & (a < 0.98) & (b < 0.98)
        if ok.sum() < 3:
            out[c] = (1.0, 1.0)
            continue
        x, y = np.log(a[ok]), np.log(b[ok])
        if np.ptp(x) < 1e-6:
            # A flat channel at the start (one level of it: a plain wall, a fake's flat clip) says
            # nothing of a gamma; a line fitted through one x is numpy's RankWarning, once a frame
            # (1,176 lines in one run), and a made-up slope. Its gain alone is what it tells.
            out[c] = (np.clip(np.exp(float(np.mean(y - x))), *GAIN), 1.0)
            continue
        gamma, log_gain = np.polyfit(x, y, 1)
        out[c] = (np.clip(np.exp(log_gain), *GAIN), np.clip(gamma, *GAMMA))
    return out


def _undo(grade: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """The frame with its grade taken off: back to the start's tones."""
    x = np.clip(frame, 1, 255) / 255.0
    return np.clip(255.0 * (x / grade[:, 0]) ** (1.0 / grade[:, 1]), 0, 255).astype(np.float32)


PRESENT = 0.20   # a named character reads at least this (a quarter of a FIGURE_HEIGHT figure's colours)
EXTRA = 1.0      # someone not named reading this much (a whole FIGURE_HEIGHT figure) is someone in the shot
SEEN_SHARE = 0.8  # of the clip a named character must be seen in (absent a fifth: a fault)
ENTERED = 0.8    # of the clip's length: one who walks in (a shot's `enters`) is looked for after it only,
                 # in SEEN_SHARE of those frames — in by the last fifth, wherever the walk began


def presence_scores(cast: Cast, frames: np.ndarray, times: np.ndarray, seconds: float, start: np.ndarray,
                    named: list[str], travel: bool = False, entering: list[str] | None = None,
                    jump: tuple[int, np.ndarray] | None = None) -> list[dict]:
    """`present` per character named for the shot (seen in at least SEEN_SHARE of the frames), and
    `cast` for anyone else who stands in the clip: blocking, unless they stand in the picture the
    clip started from too (a chain carried them in: a warning naming them). A named character the
    cast cannot tell by colour gets a warning saying so. `travel`: a start+end clip, whose middle
    travels between two pictures (a cross-fade of figures standing in two places, in the local
    painter's clips): a named character is looked for in its first and last fifths only.
    `entering`: named characters who walk in partway (the shot's `enters`): looked for only in
    the frames from ENTERED of the clip on, absent before that or not. `clip_identity` (issue
    36): each named character's own colours held across the clip (not in a travelling clip, nor
    for one who enters); `jump`: (frame index, (H, W) bool) where the picture jumps after that
    frame (media.dailies.sharpest_jump), so whoever stands there and changes is named."""
    view = cast.looked(frames, start, keep=(jump[0], jump[0] + 1) if jump is not None else ())
    seen = view.shares
    identity = [] if travel else _identity(cast, view, times, seconds, [c for c in named if c not in (entering or ())],
                                           jump)
    ends = (times <= 0.2 * seconds) | (times >= 0.8 * seconds)
    if travel:
        frames, times = frames[ends], times[ends]
        seen = {cid: p[ends] for cid, p in seen.items()}
    # The picture the clip started from, looked at once: who it carried in (`cast`), and each
    # named one's colours against their turnaround (`clip_likeness`: a chain's drift comes in
    # through it, and a grade that clips a light colour in the clip cannot hide it there).
    at_start_view = cast.looked(start[None], start)
    at_start = at_start_view.shares
    n = len(frames)
    step = float(times[1] - times[0]) if n > 1 else seconds

    def span(mask: np.ndarray) -> str:
        idx = np.flatnonzero(mask)
        return f"{times[idx[0]]:.2f}–{min(seconds, times[idx[-1]] + step):.2f} s"

    # Where someone who walks in must be: the clip's last part (at least its last frame).
    late = times >= ENTERED * seconds
    if n and not late.any():
        late[-1] = True
    scores = []
    for cid in named:
        if cid not in cast.members:
            why = cast.unseen.get(cid, "no turnaround to read them from")
            scores.append(_score("present", 0.0, SEEN_SHARE, f"{cid}: presence not checked ({why})", "warn"))
            continue
        looked = late if cid in (entering or ()) else np.ones(n, dtype=bool)
        absent = looked & (seen[cid] < PRESENT)   # NaN (cannot tell in that frame) is not absent
        share = 1.0 - float(absent.sum()) / max(1, int(looked.sum()))
        if looked is late:
            part = f"from {ENTERED:.0%} of the clip on"
            if absent[looked].all():
                reason = f"{cid} enters the shot but is in none of its frames {part} ({span(absent)})"
            elif share < SEEN_SHARE:
                reason = f"{cid} enters the shot but is missing from {span(absent)} ({1 - share:.0%} of its frames {part})"
            else:
                reason = f"{cid} enters the shot and is in {share:.0%} of its frames {part}"
        elif absent.all():
            reason = f"{cid} is named for the shot but in none of its frames ({span(absent)})"
        elif share < SEEN_SHARE:
            reason = f"{cid} is named for the shot but missing from {span(absent)} ({1 - share:.0%} of the clip)"
        else:
            reason = f"{cid} is in {share:.0%} of the frames"
        scores.append(_score("present", share, SEEN_SHARE, reason))
    extras = []
    for cid, p in seen.items():
        if cid in named:
            continue
        there = np.nan_to_num(p, nan=0.0) >= EXTRA
        if there.mean() > 1.0 - SEEN_SHARE:
            carried = bool(np.nan_to_num(at_start[cid], nan=0.0)[0] >= EXTRA)
            extras.append((cid, float(there.mean()), span(there), carried))
    blocking = [e for e in extras if not e[3]]
    for cid, share, where, carried in extras:
        if carried:
            scores.append(_score("cast", 1.0 - share, SEEN_SHARE, f"{cid}, not named for the shot, stands in the "
                                 f"picture the clip started from and in {where}", "warn"))
    if blocking:
        cid, share, where, _ = max(blocking, key=lambda e: e[1])
        names = ", ".join(e[0] for e in blocking)
        scores.append(_score("cast", 1.0 - share, SEEN_SHARE, f"{names} not named for the shot but in the clip "
                             f"({cid}: {where})"))
    else:
        scores.append(_score("cast", 1.0, SEEN_SHARE, "nobody in the clip but the shot's own cast"
                             + (" and whom its start carried in" if extras else "")))
    return scores + identity + _likeness(cast, view, named, None if not travel else ends, at_start_view)


def _likeness(cast: Cast, looked: Looked, named: list[str], frames: np.ndarray | None,
              start: Looked | None = None) -> list[dict]:
    """`clip_likeness`: each named character's signature colours at their turnaround's hue,
    over the frames they are in (`frames`: only these, a travelling clip's ends). A colour whose
    ring (`_ring`) peaks TURN degrees or more from the turnaround's is another colour of the same
    lightness and chroma: their hair or clothes turned (a chained start that drifted), which
    MATCH alone accepts at low chroma, and which the others' colours found whole would otherwise
    carry as the same person. It fails naming them and the colour. A colour hidden or out of
    frame is nothing to say (its ring holds too few pixels); so is one of too little chroma.
    `start`: the picture the clip started from, looked at alone and held the same way: a chain's
    drift is carried in through it, and there it is ungraded — a grade brighter than the start
    clips a light colour (jenny's yellow hair) in the clip's frames, where a 20° turn and none
    read alike within a level, but not in the picture the model was given."""
    checked = [cid for cid in named if cid in cast.members]
    if not checked:
        return []
    worst: tuple[float, str] = (1.0, "")
    read = 0
    for cid in checked:
        m = cast.members[cid]
        for view, mask, where in ((looked, frames, ""), (start, None, " in the picture the clip started from")):
            if view is None or cid not in view.turns:
                continue
            there = view.shares[cid] >= PRESENT
            if mask is not None:
                there &= mask
            if not there.any():
                continue
            for k, turn, _ in turned(m, view.colours[cid][there].sum(axis=0), view.turns[cid][there].sum(axis=0)):
                read += 1
                value = 1.0 - 0.5 * abs(turn) / TURN
                if value < worst[0]:
                    colour = "#%02x%02x%02x" % tuple(int(round(c)) for c in m.rgb[k])
                    part = f"hair ({colour})" if m.top is not None and m.top[k] else colour
                    worst = (value, f"{cid}'s {part}{where} is not their turnaround's: hue {turn:+.0f}°")
    value, reason = worst
    if value >= 0.5:
        reason = (f"{', '.join(checked)}: each one's signature colours at their turnaround's hue" if read else
                  f"{', '.join(checked)}: no signature colour to hold to its hue (too little chroma, or not in frame)")
    return [_score("clip_likeness", value, 0.5, reason)]


TURN = 16.0        # degrees: a signature colour found turned this far from the turnaround's is another colour.
                   # The corpus's clean takes read at most 6.7 and a 20° turn graded brighter 13.8, but the
                   # example's clean chained close-up 1E read 12 at 720p and 480p (jenny's hair under the
                   # dolly-in, measured in 2.5° bins): the drift check's 12 (HUE_CUT) was a false alarm here.
TURN_EVIDENCE = 0.3   # of the pixels the colour would cover beside the others found: less says nothing


def turned(m: Member, per: np.ndarray, turns: np.ndarray) -> list[tuple[int, float, float]]:
    """Per signature colour of `m` read in its ring (`_ring`), pooled over the frames given
    (`per`: (K,) pixels found of each colour, `turns`: (K, TURN_BINS)): (colour, hue turn in
    degrees, the ring's peak over the pixels the colour would cover). The turn is where its
    ring peaks (three bins smoothed, their centroid): someone else's colour or the set's at
    another hue in the box is a smaller peak. Not given where the peak is under TURN_EVIDENCE
    of what the colour would cover (hidden, out of frame, or too few pixels to say)."""
    out = []
    total, whole = float(per.sum()), float(m.shares.sum())
    centres = -TURN_RING + TURN_BIN * (np.arange(TURN_BINS) + 0.5)
    for k in range(len(m.colours)):
        hist = turns[k]
        if not hist.any():
            continue
        rest = whole - float(m.shares[k])
        expected = max(float(per[k]), (total - float(per[k])) * float(m.shares[k]) / rest if rest > 0 else 0.0)
        smooth = np.convolve(hist, np.ones(3), mode="same")
        peak = int(np.argmax(smooth))
        if expected <= 0 or smooth[peak] < max(TURN_EVIDENCE * expected, MIN_PATCH):
            continue
        lo, hi = max(0, peak - 1), min(TURN_BINS, peak + 2)
        turn = float((hist[lo:hi] * centres[lo:hi]).sum() / max(1.0, hist[lo:hi].sum()))
        out.append((k, turn, float(smooth[peak]) / expected))
    return out


CHANGED_AT = 0.25     # half the summed change of a character's colour shares across a jump: repainted there


def _identity(cast: Cast, looked: Looked, times: np.ndarray, seconds: float, named: list[str],
              jump: tuple[int, np.ndarray] | None) -> list[dict]:
    """`clip_identity`: every named character's own colours held across the clip. Where the
    picture jumps (media.dailies: some part of it changes in one step) with a named character
    standing there, their signature colours are compared as shares of them (a move or a
    framing scales all of them alike) over the frames just before and just after: shares moving
    by CHANGED_AT is their hair or clothes repainted there, and fails naming them and the span.
    (A colour that only fades out of frame over a pan is no change: measured on clean clips, a
    pan that takes someone's legs out of frame read as their trousers gone.)"""
    n = len(times)
    checked = [cid for cid in named if cid in cast.members]
    if not n or not checked:
        return []
    across = _turned_across(cast, looked, times, seconds, checked)
    if jump is None or jump[0] + 1 >= n:
        value, reason = across
        if value >= 0.5:
            reason = f"{', '.join(checked)}: no step of the clip changes where they stand; {reason}"
        return [_score("clip_identity", value, 0.5, reason)]
    at, where = jump
    worst: tuple[float, str] = (1.0, "")
    for cid in checked:
        per = looked.colours[cid]
        share = per / np.maximum(1.0, per.sum(axis=1))[:, None]
        there = (looked.shares[cid] >= PRESENT) & (per.sum(axis=1) > 0)
        mask = looked.masks.get(at, {}).get(cid)
        if mask is None or not (mask & where).any():
            continue
        before = share[max(0, at - 2):at + 1][there[max(0, at - 2):at + 1]]
        after = share[at + 1:at + 4][there[at + 1:at + 4]]
        if not len(before) or not len(after):
            continue
        moved = 0.5 * float(np.abs(before.mean(axis=0) - after.mean(axis=0)).sum())
        value = 1.0 - moved / (2 * CHANGED_AT)
        if value < worst[0]:
            k = int(np.argmax(np.abs(before.mean(axis=0) - after.mean(axis=0))))
            colour = "#%02x%02x%02x" % tuple(int(c) for c in cast.members[cid].rgb[k])
            worst = (value, f"{cid} changes at {times[at + 1]:.2f} s: their colours (most {colour}, hair or "
                            f"clothes) shift by {moved:.0%} where the picture jumps, "
                            f"{times[at + 1]:.2f}–{seconds:.2f} s")
    value, reason = worst
    if value >= 0.5:
        reason = f"{', '.join(checked)}: each one's own colours hold where the picture jumps at {times[at + 1]:.2f} s"
    if across[0] < value:
        value, reason = across
    elif value >= 0.5:
        reason = f"{reason}; {across[1]}"
    return [_score("clip_identity", value, 0.5, reason)]


MIDWAY_TURN = 12.0    # degrees: a signature colour read this much further round the hue circle in the clip's
                      # last ENDS of its frames than in its first has turned within the clip (issue 56: a
                      # hair turned 30° midway passed 3 of 6). Set from benchmarks/gates.py, seeds 21-24.
ENDS = 0.2            # of the clip: its opening and closing fifths, held to each other


def _turned_across(cast: Cast, looked: Looked, times: np.ndarray, seconds: float,
                   checked: list[str]) -> tuple[float, str]:
    """The worst of the named characters' signature colours (of TURN_CHROMA or more) read in
    their ring (`turned`) over the clip's first ENDS and over its last, as (value, reason): a
    colour whose hue reads MIDWAY_TURN degrees apart between the two has turned within the clip
    (a hair or an outfit turning midway, gradually or at once, whatever the jump check saw). One
    against the other, not against the turnaround: a grade or a framing that reads a colour a
    few degrees off reads it so at both ends. A colour not read at both ends says nothing."""
    first, last = times < ENDS * seconds, times >= (1 - ENDS) * seconds
    worst, read = (1.0, ""), 0
    for cid in checked:
        m = cast.members[cid]
        if cid not in looked.turns:
            continue
        # Every frame of each end, present or not: a colour turned far enough no longer reads as
        # theirs (they read missing), and their ring, about the colours of theirs still found, says why.
        ends = []
        for sel in (first, last):
            ends.append({k: turn for k, turn, _ in turned(m, looked.colours[cid][sel].sum(axis=0),
                                                          looked.turns[cid][sel].sum(axis=0))} if sel.any() else {})
        for k in sorted(ends[0].keys() & ends[1].keys()):
            read += 1
            moved = ends[1][k] - ends[0][k]
            value = 1.0 - 0.5 * abs(moved) / MIDWAY_TURN
            if value < worst[0]:
                colour = "#%02x%02x%02x" % tuple(int(round(c)) for c in m.rgb[k])
                part = f"hair ({colour})" if m.top is not None and m.top[k] else colour
                worst = (value, f"{cid}'s {part} turns {moved:+.0f}° of hue within the clip: its first "
                                f"{ENDS:.0%} (to {ENDS * seconds:.2f} s) against its last (from "
                                f"{(1 - ENDS) * seconds:.2f} s)")
    value, reason = worst
    if value >= 0.5:
        reason = ("each one's signature colours at one hue from the clip's first fifth to its last"
                  + (f" (at most {2 * MIDWAY_TURN * (1 - value):.0f}° apart)" if read else
                     " (none read at both ends)"))
    return value, reason


def _score(name: str, value: float, threshold: float, reason: str, role: str = "block") -> dict:
    value = float(max(0.0, min(1.0, value)))
    return {"name": name, "value": round(value, 4), "threshold": threshold, "passed": value >= threshold,
            "reason": reason, "role": role}
