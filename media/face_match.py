"""The swap gate's reading of the swapped face, frame by frame and by its features (issue 56 item 6).

A face swap (tasks/shot/faceswap.py) hands back a clip that must be the clip it was made from with
one character's face made their approved one. media/faceswap.py measured one median skin colour
over all frames, from the largest patch of skin-like pixels in a head-sized window; on wide shots
and profiles that patch was the counter's white trim or a lamp (not the face), an unchanged
on-model face read "ΔE 33 before, 33 after" and failed, and a seam, a half-clip swap or a
mirrored face passed. Here, in each sampled frame of each swapped character:

  * the face is found where their head is (the figure box presence found, the nearest frame's box
    where presence lost them that frame; up to the frame's top where that box holds no face; where
    neither does, the box presence found them in within the swap, taken only if what is there had
    the colour their face had in the clip where it was found): of
    the patches of skin-like pixels (near their approved skin, in the clip or in the swap, and
    nearer it than their hair) in the head window that are about as wide as tall and a face's
    size (for the figure's box, or against the hair they touch), the one their hair crowns most
    (hair-coloured pixels just above it) — a face is drawn under its hair; a lamp, a trim, a
    sleeve's edge or a hand on a counter of the hair's colour is not;
  * `swap_identity` — the face in this frame is nearer the approved skin than it was by GAIN, or
    was on model (ON_MODEL) and still is: a clip handed back unchanged with an on-model face passes
    in every frame; a swap that mended only some frames (half the clip) fails, naming the frames;
  * `swap_features` — the swap recoloured the face and nothing of its make-up: every pixel of the
    head window that changed must have been face in the clip (its own skin colour there) and be
    the approved skin in the swap; a pixel on the face's edge may change as a blend does (no more
    than the face's own change, and a codec's error). Anything else that changed there — a seam
    of the pasted patch, a grey square about it, the hair or eye a mirrored face moves, a rim of
    the old face left standing — is a stray; more than STRAY of the face's own pixels, in more
    than FRAME_SLACK of the frames, fails.

The rest (length, others, the set, motion) is media/faceswap.py's, held to the zone the face
allows here. It reads pictures only and never decides what happens to a shot; it never imports
anything of ours but media, and it must never find a face by anything but the pictures and the
figure boxes it is given (no knowledge of how a clip was made).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import binary_dilation, binary_erosion, binary_opening, label

from .faceswap import (CHANGED, GAIN, HOLD, Box, Footage, elsewhere_scores, head_box, swap_score)
from .grade import lab

SKIN_NEAR = 12.0     # Lab units from the approved skin for a pixel to be face-like (and nearer it than the hair),
                     # in the clip or the swap: an on-model face through H.264 reads within 6; a face off model
                     # in both is read where the nearest frame's was (and there it fails)
HAIR_NEAR = 22.0     # Lab units from the hair colour for a pixel to be hair: the rendered hair reads within 10
                     # through H.264; the nearest set colour to a hair of the example cast is 30 away
OWN = 14.0           # Lab units from the face's own median colour (in the clip) for a pixel to be that face:
                     # a flat face through H.264 reads within 8, its edge pixels are blends
BLEND = 8.0          # Lab units: what an edge pixel may change beyond the face's own change (a codec's share)
STRAY = 0.06         # of a face's pixels: stray changes in its head window above this spoil the frame
FRAME_SLACK = 0.25   # of the frames the face was found in: more failing fails the clip (a dissolve's middle frames
                     # blend the face with what is behind it: 1E's read off in 3 of 16); a swap of part of the clip
                     # leaves 40% or more
OVERSIZE = 1.6      # times the lower quartile of a character's box widths (heights): a box this much larger is
                     # not their figure's alone (1C: Jenny's box took in the stools' red in 9 of 17 frames)
DOWN = 0.45          # of a figure box's height, from its top: how far down the head window reaches (presence's box
                     # may start above the head, at a lamp of the figure's colours)
ON_FRAME = 14.0      # Lab units: a face left as it was that reads this near its approved skin in a frame is on
                     # model there (the six rendered shots' unchanged faces read at most 13.7 in a sampled frame:
                     # a dissolve's middle frames blend the face with what is behind it)
ON_CLIP = 11.0       # Lab units: the median over a clip's frames of a face left as it was, to be on model (the
                     # rendered shots' unchanged faces: at most 9.4; the corpus's faces left off model: 16 or more)
RIM_REACH = 5        # scan pixels from what the swap recoloured a rim of the old face is looked for: a 2-3 px rim of an
                     # 854-px clip is 1.5-2.3 px of the 640-px scan, and the codec blurs the paste's edge, so its pixels
                     # read up to 5 px from the nearest recoloured one (at 3 px 7 of 53 rims were caught, at 5 12, at
                     # 8 14 with 2 of 5 clean swaps beside a curtain of their old colour failed)
RIM_THICK = 2        # a band of the old colour that survives an opening of this many pixels is thick: not a rim
RIM = 16.0           # Lab units the face was off model in the clip for a rim of it left as it was to be looked for
MIN_FACE = 0.03      # of a figure box's width squared: a patch this large is the face's size (the rendered faces
                     # cover 0.15–0.5 of it; a face off model leaves specks of the approved colour) — or:
FACE_OF_HAIR = 0.15  # of the hair it touches: a patch this large is too. Either will do. The rendered faces cover
                     # 0.51–1.2 of their hair (a profile 0.55, a wide shot's 1.2); the specks of the approved colour a
                     # face off model leaves 0.03 at most. Neither alone: presence's box of a figure in red before the
                     # red wall spans the frame (1F, 1H: its face is 0.01 of it squared), and white hair before a
                     # window's white frame is one patch with it (1H's Leo: his face is 0.1 of that "hair")
CROWN = 3            # rows: hair this near above a patch's pixel crowns it
SQUARE = 0.35        # a face's height to its width, or its width to its height, at the least (a profile's is 0.7)
RGB_SAME = 6         # RGB levels: a pixel no channel of which moved more is unchanged (Lab not computed)


@dataclass(frozen=True)
class FaceColours:
    """A character's approved face as the gate reads it: skin and hair colours (RGB)."""
    skin: np.ndarray
    hair: np.ndarray


def _dist(pixels: np.ndarray, colour: np.ndarray) -> np.ndarray:
    d = pixels - colour
    return np.sqrt((d * d).sum(axis=-1))


def _boxes_filled(boxes: list[Box | None], n: int) -> list[Box | None]:
    """Each frame's box, or the nearest frame's where presence did not find them that frame or
    found a box far wider or taller than their smaller boxes (OVERSIZE: their colours matched
    on a stool or a booth too, and a head window over half the set finds a lamp for a face)."""
    boxes = list(boxes[:n])
    sized = [b for b in boxes if b is not None]
    if sized:
        wide = float(np.percentile([b[3] - b[1] for b in sized], 25))
        tall = float(np.percentile([b[2] - b[0] for b in sized], 25))
        boxes = [None if b is None or b[3] - b[1] > OVERSIZE * wide or b[2] - b[0] > OVERSIZE * tall else b
                 for b in boxes]
    have = [i for i, b in enumerate(boxes) if b is not None]
    if not have:
        return [None] * n
    return [boxes[i] if i < len(boxes) and boxes[i] is not None else boxes[min(have, key=lambda j: abs(j - i))]
            for i in range(n)]


def least(box: Box) -> int:
    """The fewest pixels a face of a figure this wide covers: MIN_FACE of the box's width squared
    (a turnaround's face is about 0.4 of its figure's width across, and as tall)."""
    return max(12, int(MIN_FACE * (box[3] - box[1]) ** 2))


def _window(box: Box, shape: tuple[int, int]) -> Box:
    """Where a figure's head may be: media/faceswap.py's head window, reaching DOWN of the box."""
    top, left, bottom, right = head_box(box, shape)
    return (top, left, max(bottom, min(shape[0], box[0] + int(round(DOWN * (box[2] - box[0]))))), right)


def find_face(b_lab: np.ndarray, a_lab: np.ndarray, skin: np.ndarray, hair: np.ndarray,
              least: int = 12) -> np.ndarray | None:
    """The face in one frame's head window (`b_lab`, `a_lab`: the window of the clip and of the
    swap, in Lab): of the skin-like patches (in either) of `least` pixels or FACE_OF_HAIR of the
    hair they touch, the one hair crowns most (hair just above it), as a mask of the window; None
    when no such patch is crowned by hair."""
    sb, sa = _dist(b_lab, skin), _dist(a_lab, skin)
    hb, ha = _dist(b_lab, hair), _dist(a_lab, hair)
    like = ((sb < SKIN_NEAR) & (sb < hb)) | ((sa < SKIN_NEAR) & (sa < ha))
    hairy = (hb < HAIR_NEAR) | (ha < HAIR_NEAR)
    labels, count = label(like)
    if not count:
        return None
    edge = binary_dilation(hairy, iterations=2) & like
    touching = np.bincount(labels[edge], minlength=count + 1)
    touching[0] = 0
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    touching[sizes < 12] = 0
    if int(touching.max()) < 2:
        return None
    # Hair crowns a face: hair-coloured pixels within CROWN rows above it. Hands at a white counter
    # touch white hair's colour too, from beside or below (1H's Leo).
    above = np.zeros_like(hairy)
    for k in range(1, CROWN + 1):
        above[k:] |= hairy[:-k]
    crowned = np.bincount(labels[above & like], minlength=count + 1)
    # A face is about as wide as tall (a sleeve's edge beside a window's bar is not). A candidate
    # smaller than the figure's face would be must also be as large as FACE_OF_HAIR of the hair it
    # touches (the whole of each hair patch beside it): a face is about as large as its
    # hair, a speck is not.
    tufts, _ = label(hairy)
    tuft_sizes = np.bincount(tufts.ravel())
    tuft_sizes[0] = 0
    for c in np.flatnonzero(touching >= 2):
        ys, xs = np.nonzero(labels == c)
        tall, wide = int(ys.max() - ys.min() + 1), int(xs.max() - xs.min() + 1)
        if min(tall, wide) < SQUARE * max(tall, wide):
            touching[c] = 0
        elif sizes[c] < least:
            beside = binary_dilation(labels == c, iterations=2) & hairy
            if sizes[c] < FACE_OF_HAIR * int(tuft_sizes[np.unique(tufts[beside])].sum()):
                touching[c] = 0
    # Of those, the one its hair crowns most; none crowned is no face (a drifted face's hands are
    # skin-like and touch a counter of the hair's colour: read as the face, they pass it on model).
    crowned[touching < 2] = 0
    if int(crowned.max()) < 2:
        return None
    best = int(np.argmax(crowned))
    seed = labels == best
    # The whole face: the patch grown over the pixels of its own colour in the clip (a face off model
    # in the clip is near the approved skin only in its codec's tail: read there alone it would seem on model).
    own = np.median(b_lab[seed], axis=0)
    ys, xs = np.nonzero(seed)
    my, mx = (ys.max() - ys.min()) // 4 + 1, (xs.max() - xs.min()) // 4 + 1
    near = np.zeros_like(seed)
    near[max(0, ys.min() - my):ys.max() + my + 1, max(0, xs.min() - mx):xs.max() + mx + 1] = True
    grown, _ = label(seed | ((_dist(b_lab, own) < OWN) & near))
    keep = np.unique(grown[seed])
    return np.isin(grown, keep[keep > 0])


def _face_in(before: np.ndarray, after: np.ndarray, hbox: Box, skin: np.ndarray, hair: np.ndarray,
             least: int) -> tuple[Box, tuple[np.ndarray, np.ndarray], np.ndarray | None]:
    """The face in one frame's head window `hbox` (`before`, `after`: the frame of the clip and of
    the swap): the window it was found in, that window of both in Lab, and the face's mask there.
    A face that reaches the window's edge is larger than the box said (presence found only part of
    the figure, or a sliver of it): the window is widened that way by half, and the face found
    again, up to three times."""
    shape = before.shape[:2]
    for turn in range(3):
        t, l, b, r = hbox
        window = (lab(before[t:b, l:r]), lab(after[t:b, l:r]))
        fc = find_face(window[0], window[1], skin, hair, least)
        if fc is None or turn == 2:
            break
        ys, xs = np.nonzero(fc)
        dh, dw = (b - t) // 2 + 1, (r - l) // 2 + 1
        grow = (max(0, t - dh) if ys.min() == 0 else t, max(0, l - dw) if xs.min() == 0 else l,
                min(shape[0], b + dh) if ys.max() == b - t - 1 else b,
                min(shape[1], r + dw) if xs.max() == r - l - 1 else r)
        if grow == hbox:
            break
        hbox = grow
    return hbox, window, fc


def colours_of(figure: np.ndarray, band: float = 0.22) -> FaceColours:
    """A figure's (RGBA, a turnaround's front view) face colours: its skin (media/faceswap.py
    `skin_of`) and its hair, the commonest colour of the top sixth of its head."""
    from .faceswap import skin_of
    from .palette import colour_counts
    rows = np.flatnonzero((figure[..., 3] > 0).any(axis=1))
    height = int(rows[-1] - rows[0] + 1)
    head = figure[rows[0]:rows[0] + max(2, int(round(band * height)))]
    crown = head[:max(1, head.shape[0] // 6)]
    px = crown[crown[..., 3] > 0][:, :3]
    colours, counts = colour_counts(px)
    return FaceColours(np.asarray(skin_of(figure, band), np.float32), colours[int(np.argmax(counts))].astype(np.float32))


def face_scores(before: Footage, after: Footage, *, faces: dict[str, FaceColours],
                figures: dict[str, list[Box | None]], in_swap: dict[str, list[Box | None]] | None = None) -> list[dict]:
    """The swap gate's scores (the module's docstring, and media/faceswap.py's for the rest).
    `faces`: each swapped character's approved colours; `figures`: every character of the shot's
    figure box in each frame of `before.frames` (None where not found); `in_swap`: a swapped
    character's boxes found in `after.frames`, looked in where the clip's box holds no face (a face
    off model in the clip can leave presence a sliver of its figure there)."""
    same = (after.count == before.count or abs(after.count - before.count) <= 1) \
        and abs(after.fps - before.fps) < 0.01 and (after.width, after.height) == (before.width, before.height)
    said = (f"{after.count} frames at {after.fps:g} fps, {after.width}x{after.height}; the clip was {before.count} "
            f"at {before.fps:g}, {before.width}x{before.height}")
    if not same or after.frames.shape != before.frames.shape:
        return [swap_score("swap_length", 0.0, 0.5, f"the swap is not the clip's length and frame: {said}")]
    scores = [swap_score("swap_length", 1.0, 0.5, f"{after.count} frames at {after.fps:g} fps, as the clip")]
    fb, fa = before.frames, after.frames
    n, shape = len(fb), fb.shape[1:3]
    # What changed: Lab only where some channel moved past RGB_SAME (most of a swap's frame did not).
    moved = (np.abs(fb.astype(np.int16) - fa.astype(np.int16)).max(axis=-1) > RGB_SAME)
    changed = np.zeros(moved.shape, dtype=bool)
    if moved.any():
        changed[moved] = _dist(lab(fb[moved]), lab(fa[moved])) > CHANGED
    zones = np.zeros(changed.shape, dtype=bool)
    identity: list[tuple[float, str]] = []
    features: list[tuple[float, str]] = []
    for cid, colours in faces.items():
        skin = lab(np.asarray(colours.skin, dtype=np.float32)[None])[0]
        hair = lab(np.asarray(colours.hair, dtype=np.float32)[None])[0]
        boxes = _boxes_filled(figures.get(cid) or [], n)
        swap_boxes = _boxes_filled((in_swap or {}).get(cid) or [], n)
        found, off, spoiled, mended = 0, [], [], []
        kept_off: list[tuple[int, float]] = []
        was_all, now_all, stray_worst = [], [], (0.0, -1)
        # First where the face is in each frame presence found them in; a frame it is not found in
        # (a swap that left it off model there) is read where the nearest frame's face was.
        windows: dict[int, tuple[Box, np.ndarray, np.ndarray]] = {}
        seen: dict[int, np.ndarray] = {}
        for i in range(n):
            box = boxes[i]
            if box is None:
                continue
            hbox = _window(box, shape)
            if hbox[2] <= hbox[0] or hbox[3] <= hbox[1]:
                continue
            hbox, window, fc = _face_in(fb[i], fa[i], hbox, skin, hair, least(box))
            if fc is None and hbox[0] > 0:
                # Presence may have found only part of the figure (a dress before a wall of its colour:
                # its box starts at the waist; a face off model leaves it a sliver of the figure): the
                # head is then looked for up to the frame's top, widened as the figure's window is.
                hbox, window, fc = _face_in(fb[i], fa[i], (0,) + hbox[1:], skin, hair, least(box))
            windows[i] = (hbox,) + window
            if fc is not None:
                seen[i] = fc
        # Where the clip's box held no face, the swap's own figure of them (their face on model there)
        # is looked in, and what is found there taken only if it was their face in the clip too: the
        # colour the clip's boxes found their face in, in the nearest frame (a swap that made another
        # character's face theirs makes presence find *them* there).
        lost = [i for i in windows if i not in seen] if seen and swap_boxes else []
        for i in lost:
            other = swap_boxes[i]
            if other is None or other == boxes[i]:
                continue
            hbox = _window(other, shape)
            if hbox[2] <= hbox[0] or hbox[3] <= hbox[1]:
                continue
            hbox, window, fc = _face_in(fb[i], fa[i], hbox, skin, hair, least(other))
            if fc is None:
                continue
            j = min(seen, key=lambda k: abs(k - i))
            theirs = np.median(windows[j][1][seen[j]], axis=0)
            if float(_dist(np.median(window[0][fc], axis=0)[None], theirs)[0]) < OWN:
                windows[i], seen[i] = (hbox,) + window, fc
        for i, (hbox, b_lab, a_lab) in sorted(windows.items()):
            if not seen:
                break
            t, l, b, r = hbox
            fc = seen.get(i)
            if fc is None:
                # Not near the approved skin in either: looked for in the colour the nearest frame's face had in the clip.
                j = min(seen, key=lambda k: abs(k - i))
                box = boxes[i]
                assert box is not None   # a window is only made where presence gave a box
                fc = find_face(b_lab, a_lab, np.median(windows[j][1][seen[j]], axis=0), hair, least(box))
                if fc is None:
                    continue
            found += 1
            d_b, d_a = _dist(b_lab[fc], skin), _dist(a_lab[fc], skin)
            was, now = float(np.median(d_b)), float(np.median(d_a))
            was_all.append(was)
            now_all.append(now)
            if now <= was - GAIN:
                mended.append(i)
            elif now > was + HOLD:
                off.append(i)                    # the swap took it further from the approved face
            elif now > ON_CLIP:
                kept_off.append((i, now))        # left as it was, and perhaps off model in this frame
            # Its make-up: what changed in the head window must be this face recoloured to the approved skin.
            own = np.median(b_lab[fc], axis=0)
            was_face = _dist(b_lab, own) < OWN
            is_skin = _dist(a_lab, skin) < OWN
            ch = changed[i, t:b, l:r]
            recoloured = ch & was_face & is_skin & fc
            grown = binary_dilation(fc, iterations=1)
            step = float(_dist(own[None], skin)[0])
            blend = ch & grown & ~recoloured & (_dist(b_lab, a_lab) <= step + BLEND)
            stray = ch & ~recoloured & ~blend
            # A rim of the face left as it was beside a mended inside: its pixels still the clip's colour,
            # in a thin band (RIM_THICK) near what the swap mended (RIM_REACH). A stretch of the set
            # that the clip's face colour happened to match, taken into the face where it touched it
            # (1H's Leo drifted to the curtain's red), is as the clip had it too, but thick: not a rim.
            if now <= ON_FRAME and step > RIM:
                old = (_dist(a_lab, own) < OWN / 2) & (_dist(a_lab, skin) > OWN)
                thick = binary_opening(old, iterations=RIM_THICK)
                stray |= fc & old & ~thick & binary_dilation(recoloured, iterations=RIM_REACH)
            share = float(stray.sum()) / max(1, int(fc.sum()))
            if share > STRAY:
                spoiled.append(i)
            if share > stray_worst[0]:
                stray_worst = (share, i)
            zones[i, t:b, l:r] |= (recoloured | blend | (grown & ~ch))
        if not found:
            where = "where presence found them" if any(b is not None for b in boxes) else "(presence found them nowhere)"
            identity.append((0.0, f"{cid}'s face is no nearer their approved face: it was not found in the clip or "
                                  f"the swap (no patch within {SKIN_NEAR:g} ΔE of their approved skin, framed by their "
                                  f"hair, {where})"))
            features.append((0.0, f"{cid}'s face was not found, so its features were not read"))
            continue
        slack = int(FRAME_SLACK * found)
        was_m, now_m = float(np.median(was_all)), float(np.median(now_all))
        # A face left as it was is off model where it reads past ON_CLIP, if the swap mended it in
        # other frames (a swap of part of the clip: a face drifted 16 read 13.6–15 in its unswapped
        # frames, under ON_FRAME in half of them), or past ON_FRAME if the clip's face as a whole reads
        # past ON_CLIP (a face left off model); an on-model face whose dissolve frames read off is not.
        if mended:
            off = sorted(off + [i for i, _ in kept_off])
        elif now_m > ON_CLIP:
            off = sorted(off + [i for i, now in kept_off if now > ON_FRAME])
        if len(off) > slack:
            identity.append((0.0, f"{cid}'s face is no nearer their approved face in {len(off)} of {found} frames "
                                  f"(frame samples {', '.join(map(str, off[:6]))}{'…' if len(off) > 6 else ''}): "
                                  f"ΔE {was_m:.1f} before, {now_m:.1f} after (it must fall by {GAIN:g}, or stay under "
                                  f"{ON_CLIP if mended else ON_FRAME:g}, in each frame)"))
        elif mended:
            identity.append((1.0, f"{cid}'s face is nearer their approved face: ΔE {was_m:.1f} before, {now_m:.1f} "
                                  f"after ({len(mended)} of {found} frames mended, the rest on model)"))
        else:
            identity.append((1.0, f"{cid}'s face was their approved face and still is: ΔE {was_m:.1f} before, "
                                  f"{now_m:.1f} after, in {found - len(off)} of {found} frames"))
        if len(spoiled) > slack:
            features.append((0.0, f"{cid}'s face changed beyond a recolour in {len(spoiled)} of {found} frames "
                                  f"(a seam, a patch about it, features moved or mirrored, or a rim left): at worst "
                                  f"{stray_worst[0]:.0%} of the face's pixels in frame sample {stray_worst[1]}"))
        else:
            features.append((1.0, f"{cid}'s face was recoloured and nothing of it moved (stray changes at most "
                                  f"{stray_worst[0]:.0%} of the face)"))
    for name, got in (("swap_identity", identity), ("swap_features", features)):
        worst = min(got, key=lambda x: x[0])
        scores.append(swap_score(name, worst[0], 0.5, "; ".join(r for _, r in got) if worst[0] >= 0.5 else worst[1]))
    scores += elsewhere_scores(before, after, changed, zones, figures, set(faces))
    return scores

