"""What a face swap may change in a clip, measured: the swapped faces, and nothing else (issue 41).

A face swap (tasks/shot/faceswap.py) hands a clip that passed its keyframe gate to a model that
replaces one character's face with their approved one. What comes back is held to the clip it was
made from, frame by frame (the same frames, decoded at the same times):

  * `swap_length` — the same number of frames, frame rate and size: a swap that drops or adds
    frames has changed the shot's timing, which the cut was planned on;
  * `swap_identity` — each swapped character's face (where their head may be, the largest patch
    of pixels near their approved skin colour, in the clip or in the swap) is nearer their approved
    face's skin than it was, by GAIN; or it was on model already (ON_MODEL) and still is;
  * `swap_others` — no character changed but for the swapped faces: the pixels inside any
    character's figure box outside those faces (another's, and the swapped one's hair and clothes)
    hold, within a codec's error, in all but ELSEWHERE of them;
  * `swap_location` — the set did not change: the same, for every pixel in nobody's box;
  * `swap_motion` — the clip moves as it moved: its frame-to-frame change, summed, within MOTION
    of the clip's own (a face pasted still over a moving head, or frames reordered, is not the take).

Where each character stands (their figure box in each frame) is the caller's to say
(tasks/shot/faceswap.py reads it with media.presence from the clip as it was). Distances are CIE Lab
ΔE with lightness counted whole (unlike media.presence, which halves it against a grade): a swap
does not regrade, and skin is told from the set's dark reds by its lightness.

It reads pictures only and never decides what happens to a shot: the caller gates on the scores.
It never imports anything of ours but media.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import binary_dilation, label

from .grade import lab

SKIN_NEAR = 35.0    # Lab units a pixel is from an approved skin colour to be that face: a face drifted
                    # 28 units is still it; the diner's dark reds (58) and yellow hair (44) are not
CHANGED = 18.0      # Lab units a pixel moves between the clip and the swap to have changed: H.264 at the
                    # pipeline's quality moves a clean re-encode's pixels under 8 (edges of flat colour ~14)
ELSEWHERE = 0.004   # of the pixels looked at (another's figure, or the set): more changed fails
ON_MODEL = 8.0      # Lab units from the approved skin: a face this near is the approved one
GAIN = 3.0          # Lab units nearer the approved face: what a swap must win where the face was off model
HOLD = 1.5          # Lab units further an on-model face may read after the swap (the codec's share)
MOTION = 0.25       # of the clip's own frame-to-frame change: the swap's may differ by this share
HEAD = 0.30         # of a figure box's height, from its top: where the head is (turnaround HEAD_BAND 0.22,
                    # and a box found by the colours of the clothes and hair may start a little low)
WIDEN = 0.30        # of a figure box's width, on each side: a face turned in profile reaches past it
ABOVE = 0.60        # of a figure box's height, above it: a box found by the clothes alone starts under the
                    # head (a turnaround's head is 22% of the figure, the clothes' box about 40–75% of it)

Box = tuple[int, int, int, int]     # (top, left, bottom, right) in frame pixels, bottom/right exclusive


@dataclass(frozen=True)
class Footage:
    """A clip as the swap gate reads it: its frames (N, H, W, 3 uint8, decoded at the same times
    for the clip and the swap), and as probed: frame count, frame rate, width and height."""
    frames: np.ndarray
    count: int
    fps: float
    width: int
    height: int


def _dist(pixels: np.ndarray, colour: np.ndarray) -> np.ndarray:
    d = pixels - colour
    return np.sqrt((d * d).sum(axis=-1))


def whole_box(box: Box, shape: tuple[int, int]) -> Box:
    """A figure box with the head it may leave out above it (presence finds a figure by the colours
    only they wear: often the clothes, not the hair and skin another shares)."""
    top, left, bottom, right = box
    return (max(0, top - int(round(ABOVE * (bottom - top)))), left, bottom, right)


def head_box(box: Box, shape: tuple[int, int]) -> Box:
    """Where a figure's head may be: from above the box found to HEAD of it down, widened."""
    top, left, bottom, right = box
    h, w = bottom - top, right - left
    wide = int(round(WIDEN * w))
    return (max(0, top - int(round(ABOVE * h))), max(0, left - wide),
            min(shape[0], top + max(2, int(round(HEAD * h)))), min(shape[1], right + wide))


def _face(near: np.ndarray) -> np.ndarray:
    """The largest connected patch of skin-like pixels (`near`): the face, not a lamp or a hand."""
    labels, count = label(near)
    if count <= 1:
        return near
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    return labels == int(np.argmax(sizes))


def box_mask(box: Box | None, shape: tuple[int, int]) -> np.ndarray:
    out = np.zeros(shape, dtype=bool)
    if box is not None:
        out[box[0]:box[2], box[1]:box[3]] = True
    return out


def swap_score(name: str, value: float, threshold: float, reason: str) -> dict:
    value = float(max(0.0, min(1.0, value)))
    return {"name": name, "value": round(value, 4), "threshold": threshold, "passed": value >= threshold,
            "reason": reason, "role": "block"}


def swap_scores(before: Footage, after: Footage, *, skins: dict[str, np.ndarray],
                figures: dict[str, list[Box | None]]) -> list[dict]:
    """The swap gate's scores (the module's docstring). `skins`: each swapped character's approved
    skin colour (RGB); `figures`: every character of the shot's figure box in each frame of
    `before.frames` (None where they are not found), the swapped ones among them."""
    same = (after.count == before.count or abs(after.count - before.count) <= 1) \
        and abs(after.fps - before.fps) < 0.01 and (after.width, after.height) == (before.width, before.height)
    said = (f"{after.count} frames at {after.fps:g} fps, {after.width}x{after.height}; the clip was {before.count} "
            f"at {before.fps:g}, {before.width}x{before.height}")
    if not same or after.frames.shape != before.frames.shape:
        return [swap_score("swap_length", 0.0, 0.5, f"the swap is not the clip's length and frame: {said}")]
    scores = [swap_score("swap_length", 1.0, 0.5, f"{after.count} frames at {after.fps:g} fps, as the clip")]
    a_lab, b_lab = lab(before.frames), lab(after.frames)
    shape = before.frames.shape[1:3]
    n = len(before.frames)
    changed = _dist(a_lab, b_lab) > CHANGED                          # (N, H, W)
    zones = np.zeros(changed.shape, dtype=bool)                      # the swapped faces, frame by frame
    identity: list[tuple[float, str]] = []
    for cid, skin in skins.items():
        skin_lab = lab(np.asarray(skin, dtype=np.float32)[None])[0]
        near_b, near_a = _dist(a_lab, skin_lab), _dist(b_lab, skin_lab)
        d_before: list[np.ndarray] = []
        d_after: list[np.ndarray] = []
        for i in range(n):
            box = (figures.get(cid) or [None] * n)[i]
            if box is None:
                continue
            head = box_mask(head_box(box, shape), shape)
            face = _face(head & ((near_b[i] < SKIN_NEAR) | (near_a[i] < SKIN_NEAR)))
            if not face.any():
                continue
            zones[i] |= binary_dilation(face, iterations=2) & head
            d_before.append(near_b[i][face])
            d_after.append(near_a[i][face])
        if not d_before:
            identity.append((0.0, f"{cid}'s face was not found in the clip or the swap (no pixel of their head near "
                                  f"their approved skin colour)"))
            continue
        was, now = float(np.median(np.concatenate(d_before))), float(np.median(np.concatenate(d_after)))
        if now <= was - GAIN:
            identity.append((1.0, f"{cid}'s face is nearer their approved face: ΔE {was:.1f} before, {now:.1f} after"))
        elif now <= ON_MODEL and now <= was + HOLD:
            identity.append((1.0, f"{cid}'s face was their approved face and still is: ΔE {was:.1f} before, "
                                  f"{now:.1f} after"))
        else:
            identity.append((0.0, f"{cid}'s face is no nearer their approved face: ΔE {was:.1f} before, {now:.1f} "
                                  f"after (it must fall by {GAIN:g}, or stay under {ON_MODEL:g})"))
    worst = min(identity, key=lambda x: x[0])
    scores.append(swap_score("swap_identity", worst[0], 0.5, "; ".join(r for _, r in identity) if worst[0] >= 0.5
                         else worst[1]))
    scores += elsewhere_scores(before, after, changed, zones, figures, set(skins))
    return scores



def elsewhere_scores(before: Footage, after: Footage, changed: np.ndarray, zones: np.ndarray,
                     figures: dict[str, list[Box | None]], swapped: set[str]) -> list[dict]:
    """Everything a swap must leave as it was, outside the faces' `zones`: another character's
    figure (`swap_others`; a swapped character's own hair and clothes are held as another's are: a
    face swap swaps a face), the set (`swap_location`), and the clip's motion (`swap_motion`)."""
    n, shape = len(before.frames), before.frames.shape[1:3]
    outside = ~zones
    others = np.zeros(changed.shape, dtype=bool)
    for cid, boxes in figures.items():
        for i, box in enumerate(boxes[:n]):
            if box is not None:
                others[i] |= box_mask(whole_box(box, shape), shape)
    out = []
    for name, zone, what in (("swap_others", others & outside, "another character"),
                             ("swap_location", ~others & outside, "the set")):
        looked = int(zone.sum())
        hit = changed & zone
        moved = int(hit.sum())
        share = moved / looked if looked else 0.0
        where = ""
        if moved:
            frames_hit = np.flatnonzero(hit.any(axis=(1, 2)))
            ys, xs = np.nonzero(hit[frames_hit[0]])
            where = (f", first in frame sample {frames_hit[0]} about ({xs.mean() / shape[1]:.0%} across, "
                     f"{ys.mean() / shape[0]:.0%} down)")
        if name == "swap_others":
            whose = whose_figure(hit, figures, n, shape)
            what = (f"{whose}'s figure beyond the swapped face" if whose in swapped else f"another character ({whose})") \
                if whose else "a character beyond the swapped face"
        reason = (f"{what} changed: {share:.2%} of its pixels{where}" if share > ELSEWHERE else
                  f"{what} held ({share:.2%} of its pixels moved, a codec's share)" if looked else
                  f"no {what} to hold")
        out.append(swap_score(name, 1.0 - share / (2 * ELSEWHERE), 0.5, reason))
    # Motion: the clip's frame-to-frame change against the swap's.
    if n > 1:
        mb = float(np.abs(np.diff(before.frames.astype(np.int16), axis=0)).mean())
        ma = float(np.abs(np.diff(after.frames.astype(np.int16), axis=0)).mean())
        drift = abs(ma - mb) / max(mb, 0.5)
        out.append(swap_score("swap_motion", 1.0 - drift / (2 * MOTION), 0.5,
                              f"the swap moves {'as the clip moved' if drift <= MOTION else 'otherwise than the clip'}"
                              f": frame-to-frame change {ma:.2f} against {mb:.2f}"))
    return out

def whose_figure(moved: np.ndarray, figures: dict[str, list[Box | None]], n: int, shape: tuple[int, int]) -> str:
    """The character whose figure holds the most changed pixels."""
    counts = {}
    for cid, boxes in figures.items():
        counts[cid] = sum(int((moved[i] & box_mask(whole_box(box, shape), shape)).sum())
                          for i, box in enumerate(boxes[:n]) if box)
    best = max(counts.items(), key=lambda kv: kv[1], default=("", 0))
    return best[0] if best[1] else ""


def face_of(figure: np.ndarray, band: float = 0.22, scale: int = 4,
            ground: tuple[int, int, int] = (128, 128, 128)) -> np.ndarray:
    """A character's approved face as a face swap is given it: the head of their turnaround's
    front view (`figure`, RGBA: the top `band` of its opaque rows, the turnaround's HEAD_BAND),
    on a plain `ground`, `scale` times larger (nearest: the flat colours stay flat) — RGB uint8."""
    rows = np.flatnonzero((figure[..., 3] > 0).any(axis=1))
    cols = np.flatnonzero((figure[..., 3] > 0).any(axis=0))
    if not len(rows):
        raise ValueError("the figure has no opaque pixel")
    top = int(rows[0])
    bottom = top + max(2, int(round(band * (rows[-1] - rows[0] + 1))))
    head = figure[top:bottom, cols[0]:cols[-1] + 1]
    pad = max(2, head.shape[1] // 4)
    out = np.empty((head.shape[0] + 2 * pad, head.shape[1] + 2 * pad, 3), dtype=np.uint8)
    out[:] = ground
    alpha = head[..., 3:4] > 0
    out[pad:pad + head.shape[0], pad:pad + head.shape[1]] = np.where(alpha, head[..., :3], out[pad:-pad, pad:-pad])
    return np.repeat(np.repeat(out, scale, axis=0), scale, axis=1)


def skin_of(figure: np.ndarray, band: float = 0.22) -> np.ndarray:
    """The skin colour (RGB) of a figure's head (`figure` RGBA): of the head's opaque colours, the
    commonest one that is not the hair (the commonest of the top sixth of its rows) and covers a
    tenth of it."""
    from .palette import colour_counts
    rows = np.flatnonzero((figure[..., 3] > 0).any(axis=1))
    if not len(rows):
        raise ValueError("the figure has no opaque pixel")
    height = int(rows[-1] - rows[0] + 1)
    head = figure[rows[0]:rows[0] + max(2, int(round(band * height)))]
    px = head[head[..., 3] > 0][:, :3]
    crown = head[:max(1, head.shape[0] // 6)]
    crown_px = crown[crown[..., 3] > 0][:, :3]
    colours, counts = colour_counts(px)
    hair = None
    if len(crown_px):
        c_colours, c_counts = colour_counts(crown_px)
        hair = c_colours[int(np.argmax(c_counts))].astype(np.float32)
    best = None
    for k in np.argsort(-counts):
        colour = colours[k].astype(np.float32)
        if counts[k] < 0.10 * len(px):
            break
        if hair is not None and _dist(lab(colour[None])[0], lab(hair[None])[0]) < 20.0:
            continue
        best = colour
        break
    if best is None:
        raise ValueError("the figure's head shows no skin colour apart from its hair")
    return best
