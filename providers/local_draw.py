"""How the local provider draws a panel: plate framing, figure placement, wardrobe, faults.

Kept apart from the provider class so the local judge can rebuild the *expected* background
and figure sizes from the same rules it was drawn by. Everything here is a pure function of
its arguments and a seed: the same request always gives the same pixels.

It must never read storage, call a model or touch the network.
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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
# Faults of a panel against the continuity ledger (issue 58), never drawn by default: the panel
# drawn from the ledger's state with one thing wrong — a prop at another side of the frame, left
# out or in another colour; a character on the other side, facing the other way; the key light
# from the other side (or the other temperature); a change the shot's action declares not made.
CONTINUITY_FAULT_KINDS = ("prop_moved", "prop_removed", "prop_recoloured", "mirrored", "light_flipped",
                          "change_missed")


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


#: Where a character the continuity ledger places stands (issue 58): the painter keeps its even
#: spacing, with the characters in slots ordered by their sides (left, centre, right); one whose
#: slot is not on their side of frame (a lone character said to stand left) stands at SIDE_X,
#: two on one side SIDE_APART apart. A side is held as a share of the width: left under ON_SIDE,
#: right over 1 - ON_SIDE, centre between them.
SIDE_X = {"left": 0.25, "centre": 0.5, "right": 0.75}
SIDE_APART = 0.14
ON_SIDE = 0.45
SIDE_RANK = {"left": 0, "centre": 1, "right": 2}
#: The view a declared facing is drawn in: the camera sees a face, away a back. Frame left and
#: right keep the view the seed picks: the painter does not turn people yet — its three-quarter
#: view, mirrored for frame left, made the keyframe gate's clip likeness read Jenny's yellow hair
#: as turned 16-18° in the example's chained close-up 1E (three takes of three after an NG of 1D),
#: a latent false alarm of media/presence.py's hue ring to mend first (docs/continuity.md).
FACING_VIEW = {"camera": "front", "away": "back"}


def on_its_side(side: str, share: float) -> bool:
    """Whether a figure centred at `share` of the width stands on `side` of the frame (centre:
    within 0.1 of the middle)."""
    if side == "left":
        return share < ON_SIDE
    if side == "right":
        return share > 1 - ON_SIDE
    return abs(share - 0.5) <= 0.1


def views_needed(blocking: Mapping[str, Mapping[str, Any]] | None) -> tuple[str, ...]:
    """The turnaround views a panel may draw: a panel's three, and the back for someone the
    ledger has facing away."""
    away = any(f.get("facing") == "away" for f in (blocking or {}).values())
    return PANEL_VIEWS + (("back",) if away else ())


def place_figures(ids: list[str], figure_sizes: dict[tuple[str, str], tuple[int, int]], *,
                  framing: str, width: int, height: int, seed: int, moment: str,
                  blocking: Mapping[str, Mapping[str, Any]] | None = None) -> list[Placement]:
    """Where each character stands: evenly spaced across the frame, jittered by the seed.
    The end moment shifts everyone, as the action has moved them. Characters the continuity
    ledger places (`blocking`: id -> side, facing) take the slots in the order of their sides,
    and stand at SIDE_X where their slot is not on their side (the ledger's state at the moment
    says where); a facing the painter draws (FACING_VIEW) picks the view."""
    rng = rng_for("place", seed)
    n = len(ids)
    blocking = blocking or {}
    side_of = {cid: str(blocking.get(cid, {}).get("side") or "") for cid in ids}
    # Slots by side (a character the ledger does not place counts as centre); stable, so a cast
    # already listed left to right keeps the slots it had with no ledger.
    slot = {cid: j for j, cid in enumerate(sorted(ids, key=lambda c: SIDE_RANK.get(side_of[c], 1)))}
    on_side: dict[str, list[str]] = {}
    for cid in ids:
        if side_of[cid]:
            on_side.setdefault(side_of[cid], []).append(cid)
    placements = []
    for cid in ids:
        view = PANEL_VIEWS[int(rng.integers(0, len(PANEL_VIEWS)))]
        jitter = rng.uniform(-0.04, 0.04)
        view = FACING_VIEW.get(str(blocking.get(cid, {}).get("facing") or ""), view)
        fw, fh = figure_sizes[(cid, view)]
        scale = FIGURE_HEIGHT.get(framing, 0.78) * height / fh
        w = max(1, round(fw * scale))
        h = max(1, round(fh * scale))
        j = slot[cid]
        share = (j + 1) / (n + 1) + jitter
        if moment == "end":
            share += 0.06 if j % 2 == 0 else -0.06
        side = side_of[cid]
        if side and not on_its_side(side, share):
            crowd = on_side[side]
            share = SIDE_X[side] + (crowd.index(cid) - (len(crowd) - 1) / 2) * SIDE_APART + jitter / 4
        cx = share * width
        if framing == "close":
            top = int(0.06 * height + rng.uniform(0, 0.02) * height)
        else:
            top = int(0.96 * height - h + rng.uniform(-0.02, 0.0) * height)
        placements.append(Placement(cid, view, scale, int(cx - w / 2), top))
    return placements


def placed_figure(figure: Image.Image, p: Placement) -> Image.Image:
    """A figure scaled as `p` places it. Nearest-neighbour keeps the figure's colours exact and
    its mask hard: no halo of new colours along edges for the judge to mistake for artefacts."""
    w = max(1, round(figure.width * p.scale))
    h = max(1, round(figure.height * p.scale))
    return figure.resize((w, h), Image.Resampling.NEAREST)


def paste_figure(canvas: Image.Image, figure: Image.Image, p: Placement) -> None:
    fig = placed_figure(figure, p)
    canvas.paste(fig, (p.x, p.y), fig.getchannel("A"))


# --- The continuity ledger's props and light, as the local painter draws them (issue 58) ---------
#: A prop's centre by its side of the frame (the frame's edges: clear of the figures' places),
#: its top as a share of the height, its size as shares of the width and height.
PROP_X = {"left": 0.09, "centre": 0.5, "right": 0.91}
PROP_TOP = 0.68
PROP_SIZE = (0.07, 0.13)
#: How full a prop is drawn in a state: the painter's one picture of a state word. Words that name
#: opposite states are drawn far apart (full and empty, open and closed, on and off); any other
#: word gets one of five levels from its letters, so two such words may look alike (1 in 5).
STATE_FILL = {"full": 0.9, "empty": 0.0, "half": 0.5, "half-full": 0.5, "half full": 0.5,
              "closed": 0.9, "open": 0.0, "shut": 0.9, "on": 0.9, "off": 0.0, "lit": 0.9,
              "unlit": 0.0, "out": 0.0, "whole": 0.9, "broken": 0.3, "clean": 0.9, "dirty": 0.3}
#: A key light from one side: the set brighter by LIGHT_SLOPE at that edge, darker at the other;
#: warm and cool lean red and blue by LIGHT_TINT.
LIGHT_SLOPE = 0.08
LIGHT_TINT = 0.04
OUTLINE = (38, 30, 30)


def prop_colour(name: str, colour: str | None) -> tuple[int, int, int]:
    """A prop's colour: the ledger's, or one of its own from its name (saturated, mid-bright)."""
    if colour:
        return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)
    hue = int(hashlib.sha256(name.encode()).hexdigest()[:4], 16) / 0xFFFF
    rgb = Image.fromarray(np.array([[[int(hue * 255), 190, 200]]], dtype=np.uint8), "HSV").convert("RGB")
    return tuple(int(c) for c in np.asarray(rgb)[0, 0])  # type: ignore[return-value]


def state_fill(state: str | None) -> float:
    """How full the painter draws a prop in `state` (1.0: no state said: solid)."""
    if state is None:
        return 1.0
    word = state.strip().lower()
    if word in STATE_FILL:
        return STATE_FILL[word]
    return int(hashlib.sha256(word.encode()).hexdigest()[:4], 16) % 5 / 4


def prop_sprite(name: str, fields: Mapping[str, Any], width: int, height: int) -> Image.Image:
    """A prop as drawn (RGBA): a body of its colour with a dark outline, filled from the bottom as
    far as its state says (the rest its colour washed pale, as an empty glass)."""
    pw, ph = max(6, round(PROP_SIZE[0] * width)), max(6, round(PROP_SIZE[1] * height))
    colour = np.array(prop_colour(name, fields.get("colour")), dtype=float)
    arr = np.zeros((ph, pw, 4), dtype=np.uint8)
    arr[..., 3] = 255
    arr[..., :3] = OUTLINE
    edge = max(2, round(pw * 0.08))
    inner = arr[edge:ph - edge, edge:pw - edge]
    ih = inner.shape[0]
    filled = round(ih * state_fill(fields.get("state")))
    inner[..., :3] = (colour + (255 - colour) * 0.7).astype(np.uint8)
    if filled:
        inner[ih - filled:, :, :3] = colour.astype(np.uint8)
    return Image.fromarray(arr, "RGBA")


def placed_props(props: Mapping[str, Mapping[str, Any]], width: int, height: int
                 ) -> list[tuple[str, Image.Image, int, int]]:
    """Each prop the frame shows where the ledger puts it: (name, sprite, left, top) for every
    prop with a side of frame that is not declared absent, in name order."""
    out = []
    for name in sorted(props):
        fields = props[name]
        if fields.get("present") is False or fields.get("side") not in PROP_X:
            continue
        sprite = prop_sprite(name, fields, width, height)
        x = round(PROP_X[str(fields["side"])] * width - sprite.width / 2)
        out.append((name, sprite, x, round(PROP_TOP * height)))
    return out


def light_gain(light: Mapping[str, Any] | None, width: int) -> np.ndarray | None:
    """Per column and channel, what the ledger's light multiplies the set by ((width, 3)), or None
    for a light that changes nothing the local painter draws (no side key, no temperature)."""
    if not light:
        return None
    x = np.linspace(-1.0, 1.0, width)
    key = {"left": -1.0, "right": 1.0}.get(str(light.get("key")), 0.0)
    tint = {"warm": 1.0, "cool": -1.0}.get(str(light.get("temperature")), 0.0)
    if not key and not tint:
        return None
    gain = (1.0 + LIGHT_SLOPE * key * x)[:, None] * np.ones(3)
    gain[:, 0] *= 1.0 + LIGHT_TINT * tint
    gain[:, 2] *= 1.0 - LIGHT_TINT * tint
    return gain


def light_set(plate: Image.Image, light: Mapping[str, Any] | None) -> Image.Image:
    """The framed set under the ledger's light (figures and props are drawn flat over it)."""
    gain = light_gain(light, plate.width)
    if gain is None:
        return plate
    arr = np.asarray(plate.convert("RGB"), dtype=float) * gain[None, :, :]
    return Image.fromarray(np.clip(arr.round(), 0, 255).astype(np.uint8), "RGB")


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


_OTHER_SIDE = {"left": "right", "right": "left"}


def misheld(continuity: Mapping[str, Any], kind: str, rng: np.random.Generator) -> dict[str, Any] | None:
    """The ledger's state at a panel with one thing held wrong by `kind` (CONTINUITY_FAULT_KINDS),
    or None when the state has nothing that kind can get wrong (no prop drawn, nobody placed, no
    side or temperature to the light, no change declared)."""
    props = {n: dict(f) for n, f in (continuity.get("props") or {}).items()}
    blocking = {c: dict(f) for c, f in (continuity.get("blocking") or {}).items()}
    light = dict(continuity.get("light") or {})
    out = {**continuity, "props": props, "blocking": blocking, "light": light}
    drawn = sorted(n for n, f in props.items() if f.get("present") is not False and f.get("side") in PROP_X)
    if kind in ("prop_moved", "prop_removed", "prop_recoloured"):
        if not drawn:
            return None
        name = drawn[int(rng.integers(0, len(drawn)))]
        if kind == "prop_moved":
            others = [side for side in PROP_X if side != props[name]["side"]]
            props[name]["side"] = others[int(rng.integers(0, len(others)))]
        elif kind == "prop_removed":
            props[name]["present"] = False
        else:
            r, g, b = prop_colour(name, props[name].get("colour"))
            hsv = np.asarray(Image.fromarray(np.array([[[r, g, b]]], dtype=np.uint8)).convert("HSV")).astype(int)
            hsv[..., 0] = (hsv[..., 0] + int(rng.uniform(100, 260) / 360 * 255)) % 256
            turned = np.asarray(Image.fromarray(hsv.astype(np.uint8), "HSV").convert("RGB"))[0, 0]
            props[name]["colour"] = "#" + "".join(f"{int(c):02x}" for c in turned)
        return out
    if kind == "mirrored":
        placed = sorted(c for c, f in blocking.items() if f.get("side"))
        if not placed:
            return None
        who = placed[int(rng.integers(0, len(placed)))]
        side = str(blocking[who]["side"])
        blocking[who]["side"] = _OTHER_SIDE.get(side) or ("left", "right")[int(rng.integers(0, 2))]
        if blocking[who].get("facing") in _OTHER_SIDE:
            blocking[who]["facing"] = _OTHER_SIDE[str(blocking[who]["facing"])]
        return out
    if kind == "light_flipped":
        if light.get("key") in _OTHER_SIDE:
            light["key"] = _OTHER_SIDE[str(light["key"])]
        elif light.get("temperature") in ("warm", "cool"):
            light["temperature"] = "cool" if light["temperature"] == "warm" else "warm"
        else:
            return None
        return out
    if kind == "change_missed":
        was = continuity.get("was") or {}
        if not was:
            return None
        name = sorted(was)[int(rng.integers(0, len(was)))]
        if name == "light":
            out["light"] = {**light, **was[name]}
        elif name in props:
            props[name] = {**props[name], **was[name]}
        elif name in blocking:
            blocking[name] = {**blocking[name], **was[name]}
        else:
            return None
        return out
    raise ValueError(f"unknown continuity fault kind {kind!r} (known: {', '.join(CONTINUITY_FAULT_KINDS)})")
