"""The gate corpus: clean panels and clips from the local provider, and faults made by editing them.

Every fault here is an edit of the painter's clean output made after drawing — a head pasted
over from another cast member, a torso recoloured, the plate behind the figures replaced or
shifted, a figure painted out or one added, a reframing, blotches and stripes — the way a real
model goes wrong, and never the painter's own fault code (providers/local_draw.py FAULT_KINDS),
which the judge was first measured on. Clean cases carry the changes a gate must let through:
exposure, gamma, strong JPEG, a slight blur, a little noise.

The corpus builder knows where the painter put each figure (the same layout rule it draws by),
so it can edit one figure's head or torso; the judge is never told which edit was made.
It must never write into the film's storage or the repository: everything is in memory or in
a temp dir the caller owns.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from slate.manifests.turnaround import HEAD_BAND, TORSO_BAND
from slate.media.palette import colour_counts
from slate.media.wardrobe import band_rows
from slate.providers.local_draw import FIGURE_HEIGHT, PANEL_VIEWS, add_grain, dress, frame_plate, place_figures, view_cell

PHOTOMETRIC = ("none", "brighter", "darker", "gamma", "jpeg", "blur", "noise", "jpeg_darker")
FRAMINGS = ("wide", "medium", "close")


@dataclass
class Figure:
    """One painted figure: who, where (bounding box), and its pixels' masks in the frame."""
    character_id: str
    box: tuple[int, int, int, int]   # x0, y0, x1, y1 (clipped to the frame)
    mask: np.ndarray                 # HxW bool: every pixel of this figure left visible
    head: np.ndarray                 # HxW bool: its head band
    torso: np.ndarray                # HxW bool: its torso band
    image: Image.Image               # the scaled RGBA figure as pasted
    at: tuple[int, int]              # where it was pasted (may be off-frame)


class Props:
    """The example film's references, read once; the clean panels the local provider draws."""

    def __init__(self, storage, painter, cast: dict[str, str], plates: list[str]):
        self.storage, self.painter, self.cast = storage, painter, cast  # cast: id -> turnaround uri
        self.plates = plates                                             # every location's plate uri
        self._plates: dict[str, Image.Image] = {}
        self._figs: dict[tuple, Image.Image] = {}

    def plate(self, uri: str) -> Image.Image:
        if uri not in self._plates:
            self._plates[uri] = Image.open(self.storage.open_local(uri)).convert("RGB")
        return self._plates[uri]

    def figure(self, character_id: str, view: str, colour: str | None) -> Image.Image:
        key = (character_id, view, colour)
        if key not in self._figs:
            sheet = Image.open(self.storage.open_local(self.cast[character_id]))
            self._figs[key] = dress(view_cell(sheet, view), colour)
        return self._figs[key]

    def layout(self, req) -> list[Figure]:
        """Where the painter put each figure of this request, with the masks of what is visible."""
        sizes = {(c.id, v): self.figure(c.id, v, c.wardrobe_colour).size for c in req.characters for v in PANEL_VIEWS}
        colours = {c.id: c.wardrobe_colour for c in req.characters}
        owner = np.full((req.height, req.width), -1, dtype=np.int16)
        figs = []
        for i, p in enumerate(place_figures([c.id for c in req.characters], sizes, framing=req.framing,
                                            width=req.width, height=req.height, seed=req.seed, moment=req.moment)):
            fig = self.figure(p.character_id, p.view, colours[p.character_id])
            scaled = fig.resize((max(1, round(fig.width * p.scale)), max(1, round(fig.height * p.scale))),
                                Image.NEAREST)
            alpha = np.asarray(scaled.getchannel("A")) > 0
            full = _place(alpha, p.x, p.y, req.height, req.width)
            owner[full] = i
            figs.append((p, scaled, full))
        out = []
        for i, (p, scaled, full) in enumerate(figs):
            mask = owner == i
            hh = scaled.height
            rows_head = _place_rows(band_rows(hh, HEAD_BAND), p.y, req.height)
            rows_torso = _place_rows(band_rows(hh, TORSO_BAND), p.y, req.height)
            head = np.zeros_like(mask)
            head[rows_head] = mask[rows_head]
            torso = np.zeros_like(mask)
            torso[rows_torso] = mask[rows_torso]
            x0, y0 = max(0, p.x), max(0, p.y)
            x1, y1 = min(req.width, p.x + scaled.width), min(req.height, p.y + scaled.height)
            out.append(Figure(p.character_id, (x0, y0, x1, y1), mask, head, torso, scaled, (p.x, p.y)))
        return out

    def backdrop(self, req, seed: int, plate: Image.Image | None = None, shift=(0.0, 0.0)) -> np.ndarray:
        """The framed plate as the painter lays it (with grain): what is behind the figures."""
        plate = plate or self.plate(req.plate_uri)
        if shift != (0.0, 0.0):
            pw, ph = plate.size
            dx, dy = int(shift[0] * pw), int(shift[1] * ph)
            moved = Image.new("RGB", plate.size)
            moved.paste(plate, (dx, dy))
            # Fill what the shift uncovered with the plate's mirrored edge, as a camera moved over.
            mirror = plate.transpose(Image.FLIP_LEFT_RIGHT if dx else Image.FLIP_TOP_BOTTOM)
            moved.paste(mirror, (dx - pw if dx > 0 else dx + pw, 0) if dx else (0, dy - ph if dy > 0 else dy + ph))
            plate = moved
        framed = frame_plate(plate, req.framing, req.angle, req.width, req.height)
        return np.asarray(add_grain(framed, seed), dtype=np.uint8)


def _place(alpha: np.ndarray, x: int, y: int, h: int, w: int) -> np.ndarray:
    full = np.zeros((h, w), dtype=bool)
    ah, aw = alpha.shape
    fx0, fy0 = max(0, x), max(0, y)
    fx1, fy1 = min(w, x + aw), min(h, y + ah)
    if fx1 > fx0 and fy1 > fy0:
        full[fy0:fy1, fx0:fx1] = alpha[fy0 - y:fy1 - y, fx0 - x:fx1 - x]
    return full


def _place_rows(rows: slice, y: int, h: int) -> slice:
    return slice(min(h, max(0, rows.start + y)), min(h, max(0, rows.stop + y)))


def paste(canvas: np.ndarray, rgba: Image.Image, x: int, y: int) -> None:
    """Paste an RGBA figure's opaque pixels into an RGB array, clipped to the frame."""
    arr = np.asarray(rgba)
    h, w = canvas.shape[:2]
    ah, aw = arr.shape[:2]
    fx0, fy0, fx1, fy1 = max(0, x), max(0, y), min(w, x + aw), min(h, y + ah)
    if fx1 <= fx0 or fy1 <= fy0:
        return
    part = arr[fy0 - y:fy1 - y, fx0 - x:fx1 - x]
    opaque = part[..., 3] > 0
    canvas[fy0:fy1, fx0:fx1][opaque] = part[..., :3][opaque]


# --- photometric changes a gate must pass ------------------------------------------------------

def photometric(img: Image.Image, kind: str, rng: np.random.Generator) -> Image.Image:
    a = np.asarray(img.convert("RGB"), dtype=np.float32)
    if kind == "brighter":
        a = a * rng.uniform(1.10, 1.30)
    elif kind == "darker":
        a = a * rng.uniform(0.70, 0.90)
    elif kind == "gamma":
        g = rng.choice([rng.uniform(0.7, 0.85), rng.uniform(1.18, 1.45)])
        a = 255.0 * (a / 255.0) ** g
    elif kind == "noise":
        a = a + rng.normal(0, rng.uniform(3, 6), a.shape)
    elif kind in ("jpeg", "jpeg_darker"):
        if kind == "jpeg_darker":
            a = a * rng.uniform(0.75, 0.9)
        return jpeg(Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)), int(rng.integers(15, 36)))
    elif kind == "blur":
        return img.convert("RGB").filter(ImageFilter.GaussianBlur(float(rng.uniform(0.5, 1.1))))
    return Image.fromarray(np.clip(a, 0, 255).round().astype(np.uint8))


def jpeg(img: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="JPEG", quality=quality)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


# --- faults: edits of a clean panel ------------------------------------------------------------

PANEL_FAULTS = ("identity", "wardrobe", "location", "missing", "extra", "framing", "artifacts")


def hue_shift(px: np.ndarray, degrees: float, value: float = 1.0, floor: int = 0) -> np.ndarray:
    """Rotate the hue of an (N, 3) uint8 array, scaling brightness by `value` (at least `floor`:
    black hair turned by any hue is still black, which is no change at all)."""
    img = Image.fromarray(px.reshape(1, -1, 3).astype(np.uint8), "RGB").convert("HSV")
    hsv = np.asarray(img).astype(np.int32).copy()
    hsv[..., 0] = (hsv[..., 0] + int(degrees / 360 * 255)) % 256
    hsv[..., 2] = np.clip(np.maximum(hsv[..., 2] * value, floor), 0, 255)
    hsv[..., 1] = np.maximum(hsv[..., 1], 90)  # a grey or white has no hue to turn: give it one
    return np.asarray(Image.fromarray(hsv.astype(np.uint8), "HSV").convert("RGB")).reshape(-1, 3)


def fault_panel(props: Props, req, clean: Image.Image, kind: str, rng: np.random.Generator,
                only: set[str] | None = None) -> tuple[Image.Image, str]:
    """An edited copy of a clean panel with one fault of `kind` (on one of `only`'s characters,
    when given); returns it and the edit's name."""
    arr = np.array(clean.convert("RGB"))
    figs = props.layout(req)
    pick = [f for f in figs if not only or f.character_id in only] or figs
    grain_seed = int(rng.integers(0, 2**31))
    back = props.backdrop(req, req.seed)
    others = [c for c in props.cast if c not in {f.character_id for f in figs}]
    if kind in ("identity", "wardrobe", "missing") and not figs:
        kind = "extra"
    if kind == "identity":
        edits = ["head_replace", "hair_recolour"] + (["head_swap", "place_swap"] if len(figs) >= 2 else [])
        edit = edits[int(rng.integers(0, len(edits)))]
        if edit == "place_swap":
            a, b = rng.choice(len(figs), 2, replace=False)
            fa, fb = figs[a], figs[b]
            for f in (fa, fb):
                arr[f.mask] = back[f.mask]
            # Each figure stands where the other stood (feet on the same line, centred alike).
            for src, dst in ((fa, fb), (fb, fa)):
                x = dst.at[0] + dst.image.width // 2 - src.image.width // 2
                y = dst.at[1] + dst.image.height - src.image.height
                paste(arr, src.image, x, y)
        elif edit in ("head_swap", "head_replace"):
            if edit == "head_swap":
                a, b = rng.choice(len(figs), 2, replace=False)
                pairs = [(figs[a], figs[b].image, figs[b].character_id), (figs[b], figs[a].image, figs[a].character_id)]
            else:
                target = pick[int(rng.integers(0, len(pick)))]
                pool = others or [f.character_id for f in figs if f.character_id != target.character_id] \
                    or [c for c in props.cast if c != target.character_id]
                who = pool[int(rng.integers(0, len(pool)))]
                donor = props.figure(who, PANEL_VIEWS[int(rng.integers(0, 3))], None)
                s = target.image.height / donor.height
                donor = donor.resize((max(1, round(donor.width * s)), target.image.height), Image.NEAREST)
                pairs = [(target, donor, who)]
            heads = []
            for target, donor, _ in pairs:
                rows = band_rows(donor.height, HEAD_BAND)
                head = donor.crop((0, rows.start, donor.width, rows.stop))
                # Scale the donor's head to the target's figure height, centre it on the target's head.
                s = target.image.height / donor.height
                head = head.resize((max(1, round(head.width * s)), max(1, round(head.height * s))), Image.NEAREST)
                x = target.at[0] + target.image.width // 2 - head.width // 2
                y = target.at[1] + round(HEAD_BAND[0] * target.image.height)
                heads.append((head, x, y))
                arr[target.head] = back[target.head]
            for head, x, y in heads:
                paste(arr, head, x, y)
        else:  # hair_recolour: a subtle change of hair colour only
            target = pick[int(rng.integers(0, len(pick)))]
            head_px = arr[target.head]
            colours, counts = colour_counts(head_px)
            # The head's two commonest colours are hair and skin; the hair is the one that reaches the top row.
            top = arr[target.box[1]:target.box[1] + 3][target.mask[target.box[1]:target.box[1] + 3]]
            hair = np.median(top, axis=0) if len(top) else colours[counts.argmax()]
            sel = target.head & (np.abs(arr.astype(int) - hair).max(axis=2) <= 14)
            if sel.sum() < 40:  # the hair is hidden (another figure stands in front): change what shows
                sel = target.head
            arr[sel] = hue_shift(arr[sel], float(rng.uniform(45, 120)) * rng.choice([-1, 1]),
                                 float(rng.uniform(0.75, 1.1)), floor=90)
    elif kind == "wardrobe":
        target = pick[int(rng.integers(0, len(pick)))]
        px = arr[target.torso]
        outfit = np.median(px, axis=0)
        sel = target.torso & (np.abs(arr.astype(int) - outfit).max(axis=2) <= 16)
        arr[sel] = hue_shift(arr[sel], float(rng.uniform(60, 180)) * rng.choice([-1, 1]), float(rng.uniform(0.7, 1.2)),
                             floor=90)
        edit = "torso_recolour"
    elif kind == "location":
        edit = "plate_replaced" if rng.random() < 0.5 else "plate_shifted"
        if edit == "plate_replaced":
            other = [u for u in props.plates if u != req.plate_uri]
            new = props.backdrop(req, grain_seed, plate=props.plate(other[int(rng.integers(0, len(other)))])) \
                if other else props.backdrop(req, grain_seed, plate=props.plate(req.plate_uri).transpose(Image.FLIP_LEFT_RIGHT))
        else:
            sx = float(rng.uniform(0.06, 0.15)) * rng.choice([-1, 1])
            new = props.backdrop(req, grain_seed, shift=(sx, 0.0))
        keep = np.zeros(arr.shape[:2], dtype=bool)
        for f in figs:
            keep |= f.mask
        arr = np.where(keep[..., None], arr, new)
    elif kind == "missing":
        target = pick[int(rng.integers(0, len(pick)))]
        arr[target.mask] = back[target.mask]
        edit = "figure_removed"
    elif kind == "extra":
        pool = others or list(props.cast)
        who = pool[int(rng.integers(0, len(pool)))]
        fig = props.figure(who, PANEL_VIEWS[int(rng.integers(0, 3))], None)
        s = FIGURE_HEIGHT.get(req.framing, 0.78) * req.height / fig.height * float(rng.uniform(0.85, 1.05))
        fig = fig.resize((max(1, round(fig.width * s)), max(1, round(fig.height * s))), Image.NEAREST)
        x = int(rng.uniform(0.02, 0.98) * req.width - fig.width / 2)
        y = int(0.06 * req.height) if req.framing == "close" else int(0.96 * req.height - fig.height)
        paste(arr, fig, x, y)
        edit = "figure_added"
    elif kind == "framing":
        if rng.random() < 0.5:
            other = [f for f in FRAMINGS if f != req.framing]
            moved = replace(req, framing=other[int(rng.integers(0, len(other)))])
            return props.painter.draw(moved), "reframed"
        z = float(rng.uniform(1.25, 1.6))
        w, h = req.width / z, req.height / z
        x0 = float(rng.uniform(0, req.width - w))
        y0 = float(rng.uniform(0, req.height - h))
        return clean.resize((req.width, req.height), Image.BILINEAR, box=(x0, y0, x0 + w, y0 + h)), "cropped_in"
    elif kind == "artifacts":
        edit = ("blotches", "stripes", "corruption")[int(rng.integers(0, 3))]
        arr = artifacts(arr, edit, rng)
    else:
        raise ValueError(f"unknown fault kind {kind!r}")
    return Image.fromarray(arr.astype(np.uint8)), edit


def artifacts(arr: np.ndarray, edit: str, rng: np.random.Generator) -> np.ndarray:
    img = Image.fromarray(arr.astype(np.uint8))
    h, w = arr.shape[:2]
    d = ImageDraw.Draw(img)
    if edit == "blotches":
        for _ in range(int(rng.integers(3, 8))):
            r = rng.uniform(0.02, 0.05) * w
            cx, cy = rng.uniform(0, w), rng.uniform(0, h)
            d.ellipse([cx - r, cy - r * rng.uniform(0.5, 1.0), cx + r, cy + r * rng.uniform(0.5, 1.0)],
                      fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
        return np.asarray(img.filter(ImageFilter.GaussianBlur(1.5))) if rng.random() < 0.5 else np.asarray(img)
    out = np.array(img)
    if edit == "stripes":
        for _ in range(int(rng.integers(2, 6))):
            t = int(rng.integers(4, 14))
            colour = rng.integers(0, 256, 3)
            if rng.random() < 0.5:
                y = int(rng.integers(0, h - t))
                out[y:y + t] = (0.3 * out[y:y + t] + 0.7 * colour).astype(np.uint8)
            else:
                x = int(rng.integers(0, w - t))
                out[:, x:x + t] = (0.3 * out[:, x:x + t] + 0.7 * colour).astype(np.uint8)
        return out
    for _ in range(int(rng.integers(2, 5))):  # corruption: decoder blocks and torn rows
        bw, bh = int(rng.integers(w // 14, w // 7)), int(rng.integers(h // 14, h // 7))
        x, y = int(rng.integers(0, w - bw)), int(rng.integers(0, h - bh))
        block = out[y:y + bh, x:x + bw].astype(np.int32)
        out[y:y + bh, x:x + bw] = np.clip(block[::-1, ::-1] + rng.integers(-90, 90, (1, 1, 3)), 0, 255)
    y, bh = int(rng.integers(0, h - h // 10)), int(rng.integers(h // 40, h // 12))
    out[y:y + bh] = np.roll(out[y:y + bh], int(rng.integers(w // 12, w // 5)), axis=1)
    return out


def drift_step(img: Image.Image, rng: np.random.Generator, drift: bool, degrees: float) -> Image.Image:
    """One shot of a chain: the last frame becomes the next start, re-encoded (generational loss);
    a drifting chain also slowly repaints the picture's colours and softens it."""
    a = np.asarray(img.convert("RGB"), dtype=np.float32)
    a = a * rng.uniform(0.99, 1.01)
    out = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    if drift:
        hsv = np.asarray(out.convert("HSV")).astype(np.int32).copy()
        hsv[..., 0] = (hsv[..., 0] + int(round(degrees / 360 * 255))) % 256
        out = Image.fromarray(hsv.astype(np.uint8), "HSV").convert("RGB").filter(ImageFilter.GaussianBlur(0.6))
    return jpeg(out, int(rng.integers(85, 96)))


def write_png(img: Image.Image, path: Path) -> Path:
    img.save(path, format="PNG", compress_level=1)
    return path


# --- whole clips: faults between the keyframes, and slow losses in a chain (issue 20) -------------
# Each is an edit of a clean clip's decoded frames (or, for a chained clip that lost someone, a
# clip rendered from a start that lacks them, as a chain starting from the previous shot's last
# frame is), re-encoded as a model would hand it over; the judge and slate's own checks are never
# told which.

CLIP_FAULTS = ("drop_character", "add_character", "black_span", "flat_span", "flat_static", "move_stops",
               "warm_cast", "noise60")
DRIFT_FAULTS = ("softening", "fading")


def clip_frames(clip: Path) -> tuple[np.ndarray, float]:
    """Every frame of a clip at its own size, (T, H, W, 3) uint8, and its frame rate."""
    from slate.media.commands import raw_frames_args
    from slate.media.ffmpeg import pipe
    from slate.media.probe import probe
    p = probe(clip)
    raw = pipe(raw_frames_args(clip, width=p.width, height=p.height))
    n = len(raw) // (p.width * p.height * 3)
    return np.frombuffer(raw[:n * p.width * p.height * 3], np.uint8).reshape(n, p.height, p.width, 3), float(p.fps)


def encode_clip(frames: np.ndarray, out: Path, fps: float) -> Path:
    """The frames as an H.264 clip (the encoder a model's clip went through)."""
    from slate.media.commands import raw_clip_args
    from slate.media.ffmpeg import pipe
    pipe(raw_clip_args(out, width=frames.shape[2], height=frames.shape[1], fps=fps),
         np.ascontiguousarray(frames, dtype=np.uint8).tobytes())
    return out


def grade_frames(frames: np.ndarray, op: str, rng: np.random.Generator) -> np.ndarray:
    """A photometric change a gate must let through, over the whole clip: one draw of its
    strength for the clip (a grade), fresh grain and codec per frame."""
    seed = int(rng.integers(0, 2**31))
    out = []
    for f in frames:
        # The same strength on every frame: each frame's rng starts from the clip's seed.
        out.append(np.asarray(photometric(Image.fromarray(f), op, np.random.default_rng(seed)), dtype=np.uint8))
    if op == "noise":  # grain is fresh on every frame
        out = [np.clip(f.astype(np.float32) + rng.normal(0, 4.0, f.shape), 0, 255).astype(np.uint8)
               for f in frames]
    return np.stack(out)


def _span(n: int, rng: np.random.Generator, lo: float, hi: float, avoid: tuple[int, ...]) -> tuple[int, int]:
    """A run of frames `lo`–`hi` of the clip long that misses the frames in `avoid` (the judge's)."""
    for _ in range(200):
        length = max(1, int(round(rng.uniform(lo, hi) * n)))
        first = int(rng.integers(0, n - length + 1))
        if not any(first <= a < first + length for a in avoid):
            return first, length
    length = max(1, int(round(lo * n)))
    return 1, min(length, n // 2 - 1)


def fault_clip(frames: np.ndarray, kind: str, rng: np.random.Generator, extra: Image.Image | None = None,
               framing: str = "medium") -> tuple[np.ndarray, str]:
    """An edited copy of a clean clip's frames with one fault of `kind` (not drop_character,
    which is rendered from its start); returns the frames and the edit's name."""
    out = frames.copy()
    n, h, w, _ = out.shape
    keys = (0, n // 2, n - 1)  # the judge's three frames (first, middle, last)
    if kind == "black_span":
        first, length = _span(n, rng, 0.20, 0.40, keys)
        out[first:first + length] = rng.integers(0, 6)
        return out, f"black {first}-{first + length - 1} of {n}"
    if kind == "flat_span":
        first = int(round(rng.uniform(0.4, 0.6) * n))
        colour = rng.integers(0, 256, 3) if rng.random() < 0.5 else np.full(3, int(rng.integers(90, 170)))
        out[first:] = colour.astype(np.uint8)
        return out, f"flat from {first} of {n}"
    if kind == "flat_static":
        colour = rng.integers(0, 256, 3) if rng.random() < 0.5 else np.full(3, int(rng.integers(0, 256)))
        out[:] = colour.astype(np.uint8)
        return out, "flat " + "#%02x%02x%02x" % tuple(int(c) for c in colour)
    if kind == "move_stops":
        stop = int(round(rng.uniform(0.35, 0.6) * n))
        out[stop:] = out[stop]
        return out, f"stops at {stop} of {n}"
    if kind == "warm_cast":
        f = out.astype(np.float32)
        f[..., 0] *= 1.15
        f[..., 2] *= 0.8
        return np.clip(f, 0, 255).astype(np.uint8), "R x1.15, B x0.8"
    if kind == "noise60":
        return np.clip(out.astype(np.float32) + rng.normal(0, 60, out.shape), 0, 255).astype(np.uint8), "noise 60"
    if kind == "add_character":
        assert extra is not None
        s = FIGURE_HEIGHT.get(framing, 0.78) * h / extra.height * float(rng.uniform(0.85, 1.05))
        fig = extra.resize((max(1, round(extra.width * s)), max(1, round(extra.height * s))), Image.NEAREST)
        x = int(rng.uniform(0.1, 0.9) * w - fig.width / 2)
        y = int(0.06 * h) if framing == "close" else int(0.96 * h - fig.height)
        first = round(float(rng.uniform(0.0, 0.6)) * n)
        for f in out[first:]:
            paste(f, fig, x, y)
        return out, f"someone walks in at {first} of {n}"
    raise ValueError(f"unknown clip fault kind {kind!r}")


def soften_step(img: Image.Image, shot: int) -> Image.Image:
    """The shot-th cut of a softening chain: the picture blurred to sigma 0.5 x shot in all, one
    step more each shot (a blur of sigma s after sigma r is one of sqrt(r^2 + s^2))."""
    step = float(np.sqrt((0.5 * shot) ** 2 - (0.5 * (shot - 1)) ** 2))
    return img.convert("RGB").filter(ImageFilter.GaussianBlur(step))


def fade_step(img: Image.Image, figure: np.ndarray, backdrop: np.ndarray, rate: float) -> Image.Image:
    """One cut of a chain in which a character fades into the plate: `rate` of what is left of
    them goes each shot (their pixels mixed toward what stands behind them)."""
    a = np.asarray(img.convert("RGB"), dtype=np.float32)
    a[figure] = (1 - rate) * a[figure] + rate * backdrop[figure].astype(np.float32)
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))

# --- issue 20: pictures with nothing to judge, and recolours a free grade used to hide ---------
# (Kept in their own block: the clip kinds of issue 20 live in another.)

BLANK_PANELS = ("flat", "washed_out", "noise")
RECOLOUR_PANELS = ("hair_hue", "hair_lightness", "outfit_hue")
CUT_KINDS = ("flat_first", "star_field", "photograph")
FLAT_FILLS = ("black", "white", "mid-grey", "colour")


def flat_fill(size: tuple[int, int], which: str, rng: np.random.Generator) -> Image.Image:
    """A picture of one colour, with the faint grain a decoder or a model leaves (σ0-2)."""
    colour = {"black": (0, 0, 0), "white": (255, 255, 255), "mid-grey": (128, 128, 128)}.get(which)
    if colour is None:
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
    a = np.zeros((size[1], size[0], 3), dtype=np.float32) + np.asarray(colour, dtype=np.float32)
    a += rng.normal(0, float(rng.uniform(0, 2)), a.shape)
    return Image.fromarray(np.clip(a, 0, 255).round().astype(np.uint8))


def blank_panel(clean: Image.Image, kind: str, rng: np.random.Generator) -> tuple[Image.Image, str]:
    """A take with nothing a judge could hold to the shot: a flat fill (black, white, mid-grey
    or one colour), the clean take washed out (contrast x0.2 about its mean) or drowned in
    noise (σ40)."""
    if kind == "flat":
        which = FLAT_FILLS[int(rng.integers(0, len(FLAT_FILLS)))]
        return flat_fill(clean.size, which, rng), which
    a = np.asarray(clean.convert("RGB"), dtype=np.float32)
    if kind == "washed_out":
        a = a.mean() + 0.2 * (a - a.mean())
        return Image.fromarray(np.clip(a, 0, 255).round().astype(np.uint8)), "contrast x0.2"
    if kind == "noise":
        a = a + rng.normal(0, 40.0, a.shape)
        return Image.fromarray(np.clip(a, 0, 255).round().astype(np.uint8)), "noise σ40"
    raise ValueError(f"unknown blank kind {kind!r}")


def _recolour(px: np.ndarray, hue_degrees: float = 0.0, lightness: float = 0.0) -> np.ndarray:
    """(N, 3) uint8 colours with their HSV hue turned `hue_degrees` (saturation and value kept),
    then moved `lightness` L* units in CIE Lab: the dominant colour of a region changed the way
    a model repaints hair or cloth."""
    out = px.reshape(1, -1, 3).astype(np.uint8)
    if hue_degrees:
        hsv = np.asarray(Image.fromarray(out, "RGB").convert("HSV")).astype(np.int32).copy()
        hsv[..., 0] = (hsv[..., 0] + round(hue_degrees / 360 * 256)) % 256
        out = np.asarray(Image.fromarray(hsv.astype(np.uint8), "HSV").convert("RGB"))
    if lightness:
        from skimage.color import lab2rgb, rgb2lab
        lab = rgb2lab(out.astype(np.float64) / 255.0)
        lab[..., 0] = np.clip(lab[..., 0] + lightness, 0, 100)
        out = np.clip(lab2rgb(lab) * 255.0, 0, 255).round()
    return np.asarray(out, dtype=np.uint8).reshape(-1, 3)


def dominant_region(arr: np.ndarray, region: np.ndarray, tolerance: int = 14) -> np.ndarray:
    """The pixels of `region` near its commonest colour (a head's hair, a torso's outfit)."""
    px = arr[region].reshape(-1, 3)
    colours, counts = colour_counts(px)
    main = colours[counts.argmax()].astype(int)
    return region & (np.abs(arr.astype(int) - main).max(axis=2) <= tolerance)


def recolour_panel(props: Props, req, clean: Image.Image, kind: str, rng: np.random.Generator,
                   only: set[str] | None = None) -> tuple[Image.Image, str] | None:
    """One figure's dominant colour changed a little: its hair's hue turned 20 degrees or its
    lightness moved 18 L* units, or its outfit's hue turned 30 degrees (either way; hue in HSV, as
    the issue measured a +20 degree hair hue at ΔE 23 in a close-up). The figure
    chosen is the one whose region shows most (a close-up's hair is what the grade used to hide)
    among those whose colour has a hue to turn. None when the shot has no one to recolour."""
    arr = np.array(clean.convert("RGB"))
    figs = [f for f in props.layout(req) if not only or f.character_id in only]
    if not figs:
        return None
    sign = float(rng.choice([-1, 1]))
    if kind in ("hair_hue", "hair_lightness"):
        # The hair is the colour of the head that reaches its top rows; a hue turn needs a hair
        # with a hue (black or grey hair turned is the same hair: no fault at all).
        found = []
        for f in figs:
            top = arr[f.box[1]:f.box[1] + 3][f.mask[f.box[1]:f.box[1] + 3]]
            if len(top):
                hair = np.median(top, axis=0)
                if kind == "hair_lightness" or _saturation(hair) >= MIN_SATURATION:
                    found.append((int(f.head.sum()), f, hair))
        if not found:
            return None
        _, target, hair = max(found, key=lambda x: x[0])
        sel = target.head & (np.abs(arr.astype(int) - hair).max(axis=2) <= 14)
        if sel.sum() < 20:
            sel = dominant_region(arr, target.head)
        if kind == "hair_hue":
            arr[sel] = _recolour(arr[sel], hue_degrees=20.0 * sign)
            edit = f"{target.character_id} hair hue {20 * sign:+.0f}°"
        else:
            light = float(np.median(_lab_l(arr[sel])))
            step = 18.0 if light < 50 else -18.0   # lighter dark hair, darker light hair: either way visible
            arr[sel] = _recolour(arr[sel], lightness=step)
            edit = f"{target.character_id} hair L* {step:+.0f}"
    elif kind == "outfit_hue":
        dressed = [f for f in figs if f.torso.any() and _saturation(_dominant(arr, f.torso)) >= MIN_SATURATION]
        if not dressed:
            return None
        target = max(dressed, key=lambda f: int(f.torso.sum()))
        sel = dominant_region(arr, target.torso, 16)
        arr[sel] = _recolour(arr[sel], hue_degrees=30.0 * sign)
        edit = f"{target.character_id} outfit hue {30 * sign:+.0f}°"
    else:
        raise ValueError(f"unknown recolour kind {kind!r}")
    return Image.fromarray(arr), edit


MIN_SATURATION = 20   # Lab chroma a colour needs for a hue turn to change it visibly (dark hair has little)


def _saturation(rgb) -> float:
    """The colour's CIE Lab chroma."""
    from skimage.color import rgb2lab
    lab = rgb2lab(np.asarray(rgb, dtype=np.float64).reshape(1, 1, 3) / 255.0)[0, 0]
    return float(np.hypot(lab[1], lab[2]))


def _dominant(arr: np.ndarray, region: np.ndarray) -> np.ndarray:
    colours, counts = colour_counts(arr[region])
    return colours[counts.argmax()]


def _lab_l(px: np.ndarray) -> np.ndarray:
    from skimage.color import rgb2lab
    return rgb2lab(px.reshape(1, -1, 3).astype(np.float64) / 255.0)[..., 0].ravel()


def star_field(size: tuple[int, int], rng: np.random.Generator) -> Image.Image:
    """A near-black night sky: faint gradient, a few hundred stars of varied brightness, a
    little sensor noise — a photograph nothing like the film."""
    w, h = size
    y = np.linspace(0, 1, h)[:, None, None]
    a = np.zeros((h, w, 3), dtype=np.float32) + (4 + 10 * y) * np.asarray([0.6, 0.7, 1.0], dtype=np.float32)
    n = int(rng.integers(150, 600))
    xs, ys = rng.integers(0, w, n), rng.integers(0, h, n)
    a[ys, xs] = rng.uniform(60, 255, (n, 1)) * rng.uniform(0.8, 1.0, (n, 3))
    out = Image.fromarray(np.clip(a + rng.normal(0, 1.5, a.shape), 0, 255).astype(np.uint8))
    return out.filter(ImageFilter.GaussianBlur(0.6))


def photograph(size: tuple[int, int], rng: np.random.Generator) -> Image.Image:
    """A natural-looking, photo-like picture unrelated to the film, made procedurally: a sky
    graded to a horizon, hills of fractal noise in greens and browns, soft shading and sensor
    grain (no drawn figures, no plate)."""
    w, h = size
    sky_top, sky_low = rng.uniform([40, 80, 150], [110, 150, 230]), rng.uniform([160, 180, 200], [230, 230, 250])
    y = np.linspace(0, 1, h)[:, None, None]
    a = sky_top + (sky_low - sky_top) * y
    a = np.broadcast_to(a, (h, w, 3)).astype(np.float32).copy()
    noise = np.zeros((h, w), dtype=np.float32)
    for octave in range(1, 7):   # fractal noise: coarse shapes, finer detail at lower weight
        cells = rng.normal(0, 1, (2 ** octave + 1, 2 ** octave + 2)).astype(np.float32)
        noise += np.asarray(Image.fromarray(cells).resize((w, h), Image.BICUBIC)) / octave
    for layer, base in enumerate((0.45, 0.6, 0.75)):
        ridge = base + 0.08 * np.asarray(Image.fromarray(rng.normal(0, 1, (1, 8)).astype(np.float32))
                                         .resize((w, 1), Image.BICUBIC))[0]
        land = np.linspace(0, 1, h)[:, None] > ridge[None, :]
        tint = rng.uniform([30, 60, 20], [120, 140, 70]) * (1.0 - 0.2 * layer)
        shade = (1.0 + 0.25 * noise)[..., None]
        a = np.where(land[..., None], tint * shade, a)
    a += rng.normal(0, 3.0, a.shape)
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.8))


def cut_picture(props: Props, req, clean: Image.Image, kind: str,
                rng: np.random.Generator) -> tuple[Image.Image, str]:
    """The first frame after a cut that is no frame of the shot: flat, a star-field, a photograph."""
    if kind == "flat_first":
        which = FLAT_FILLS[int(rng.integers(0, len(FLAT_FILLS)))]
        return flat_fill(clean.size, which, rng), which
    if kind == "star_field":
        return star_field(clean.size, rng), "star-field"
    if kind == "photograph":
        return photograph(clean.size, rng), "landscape"
    raise ValueError(f"unknown cut kind {kind!r}")


# --- issue 36: the whole clip, for who and what is in it ---------------------------------------
# Faults the dailies' stride and the judge's three frames let through (each passed the film's own
# gate policy in few-case trials): one character's hair or outfit changing colour partway, a clip
# at another size than the shot's, every frame shown twice, a flash of another shot of the same
# set, a figure jumping to another place just after the middle frame, a pan frozen for its last
# fifth; and a clip darkened on purpose, which must pass. The splices (a change, a jump) are made
# from two clips rendered alike, one from the clean panel and one from its edit, so every frame
# before the splice is the clean clip's and every frame after it the edited one's.

WHOLE_CLIP_FAULTS = ("character_change", "wrong_size", "judder", "flash", "jump", "frozen_tail")
MUST_PASS_CLIPS = ("dark_grade",)    # a grade the film may choose: never a failed take
WRONG_SIZES = ((640, 360), (1280, 720), (960, 540), (720, 480))   # for the example's 854x480 shots


def change_panel(props: Props, req, clean: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, str] | None:
    """One figure's hair or outfit (its dominant colour there) turned 60-150 degrees of hue
    either way: a character whose hair or clothes a model repaints. None when no figure of the
    shot has a hair or an outfit with a hue to turn."""
    arr = np.array(clean.convert("RGB"))
    choices = []
    for f in props.layout(req):
        top = arr[f.box[1]:f.box[1] + 3][f.mask[f.box[1]:f.box[1] + 3]]
        if len(top) and f.head.any() and _saturation(np.median(top, axis=0)) >= MIN_SATURATION:
            choices.append((f, "hair"))
        if f.torso.any() and _saturation(_dominant(arr, f.torso)) >= MIN_SATURATION:
            choices.append((f, "outfit"))
    if not choices:
        return None
    target, part = choices[int(rng.integers(0, len(choices)))]
    if part == "hair":
        top = arr[target.box[1]:target.box[1] + 3][target.mask[target.box[1]:target.box[1] + 3]]
        sel = target.head & (np.abs(arr.astype(int) - np.median(top, axis=0)).max(axis=2) <= 14)
        if sel.sum() < 20:
            sel = dominant_region(arr, target.head)
    else:
        sel = dominant_region(arr, target.torso, 16)
    degrees = float(rng.uniform(60, 150)) * float(rng.choice([-1, 1]))
    arr[sel] = _recolour(arr[sel], hue_degrees=degrees)
    return Image.fromarray(arr), f"{target.character_id} {part} hue {degrees:+.0f}°"


def jump_panel(props: Props, req, clean: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, str] | None:
    """One figure moved sideways by 12-25% of the frame's width (the set behind where it stood
    painted back): the picture a figure jumps to. None when the shot has no one."""
    arr = np.array(clean.convert("RGB"))
    figs = [f for f in props.layout(req) if f.mask.sum() > 0]
    if not figs:
        return None
    target = figs[int(rng.integers(0, len(figs)))]
    back = props.backdrop(req, req.seed)
    arr[target.mask] = back[target.mask]
    dx = int(round(float(rng.uniform(0.12, 0.25)) * req.width))
    centre = (target.box[0] + target.box[2]) / 2
    dx = -dx if centre + dx > 0.95 * req.width else dx   # towards the side it has room on
    paste(arr, target.image, target.at[0] + dx, target.at[1])
    return Image.fromarray(arr), f"{target.character_id} jumps {dx:+d} px"


def splice(frames: np.ndarray, other: np.ndarray, at: int) -> np.ndarray:
    """`frames` up to `at`, `other` (rendered alike from an edited panel) from `at` on."""
    out = frames.copy()
    out[at:] = other[at:len(out)]
    return out


def judder(frames: np.ndarray) -> np.ndarray:
    """Every other frame shown twice: the motion of half the frame rate, at the clip's rate."""
    return frames[(np.arange(len(frames)) // 2) * 2]


def freeze_tail(frames: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """The clip's last fifth (18-25% of its frames) frozen on one frame: a move that stops."""
    n = len(frames)
    stop = n - max(2, int(round(float(rng.uniform(0.18, 0.25)) * n)))
    out = frames.copy()
    out[stop:] = out[stop]
    return out, f"frozen from {stop} of {n}"


def flash(frames: np.ndarray, other: np.ndarray, rng: np.random.Generator, fps: float) -> tuple[np.ndarray, str]:
    """0.25-0.35 s of another clip's frames (another shot of the same set) put into the clip
    anywhere but on the judge's three frames."""
    n = len(frames)
    length = max(2, int(round(float(rng.uniform(0.25, 0.35)) * fps)))
    keys = (0, n // 2, n - 1)
    for _ in range(200):
        first = int(rng.integers(1, n - length))
        if not any(first <= k < first + length for k in keys):
            break
    out = frames.copy()
    src = int(rng.integers(0, max(1, len(other) - length)))
    out[first:first + length] = other[src:src + length][:, :out.shape[1], :out.shape[2]]
    return out, f"{length} frames from {first} of {n}"


def resized(frames: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The frames scaled to (width, height): a clip delivered at another size than asked."""
    return np.stack([np.asarray(Image.fromarray(f).resize(size, Image.BILINEAR)) for f in frames])


def dark_grade(frames: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """The whole clip darkened on purpose: exposure x0.55-0.70 and a gamma of 1.05-1.3 that
    sinks the shadows further (a night grade: mid-grey to 40-60% of itself), the same on every
    frame — past the photometric spread of clean takes (x0.7-0.9), within what the judge's
    bounded grade follows (gain 0.6 and a gamma)."""
    gain, gamma = float(rng.uniform(0.55, 0.70)), float(rng.uniform(1.05, 1.3))
    a = 255.0 * (frames.astype(np.float32) / 255.0) ** gamma * gain
    return np.clip(a, 0, 255).round().astype(np.uint8), f"exposure x{gain:.2f}, gamma {gamma:.2f}"

# --- issue 36: slow drift one shot at a time, against the bible ---------------------------------
# A chain whose one character's hair, skin or outfit turns a few degrees a shot (or lightens or
# darkens a few L*), whose light drains, or whose framing creeps in — losing detail as a crop of
# the frame before does, or not, as a model that re-renders at the new framing does. Each step is
# an edit of the last frame, re-encoded as drift_step re-encodes a clean chain.

BIBLE_DRIFTS = ("hair_drift", "skin_drift", "outfit_drift", "lightness_drift", "light_drain", "framing_creep",
                "framing_rerender")


def part_mask(arr: np.ndarray, fig: Figure, part: str) -> np.ndarray:
    """Where a figure's hair, skin or outfit is in a clean panel (its flat colour, 14 levels)."""
    if part == "outfit":
        return dominant_region(arr, fig.torso, 16)
    top = arr[fig.box[1]:fig.box[1] + 3][fig.mask[fig.box[1]:fig.box[1] + 3]]
    hair = fig.head & (np.abs(arr.astype(int) - np.median(top, axis=0)).max(axis=2) <= 14) if len(top) else \
        np.zeros_like(fig.head)
    if part == "hair":
        return hair
    rest = fig.head & ~hair
    return dominant_region(arr, rest) if rest.sum() >= 20 else np.zeros_like(fig.head)


def drifting_part(props: Props, req, clean: Image.Image, kind: str, rng: np.random.Generator
                  ) -> tuple[np.ndarray, str] | None:
    """The part a bible drift kind turns: (its mask, "who part"), the largest with a hue to turn
    (any part for lightness_drift); None when the shot shows none."""
    arr = np.asarray(clean.convert("RGB"))
    parts = {"hair_drift": ("hair",), "skin_drift": ("skin",), "outfit_drift": ("outfit",),
             "lightness_drift": ("hair", "outfit")}[kind]
    found = []
    for f in props.layout(req):
        for part in parts:
            mask = part_mask(arr, f, part)
            if mask.sum() < 40:
                continue
            colour = np.median(arr[mask], axis=0)
            if kind == "lightness_drift" or _saturation(colour) >= MIN_SATURATION:
                found.append((int(mask.sum()), f.character_id, part, mask))
    if not found:
        return None
    _, who, part, mask = found[int(rng.integers(0, len(found)))]
    return mask, f"{who} {part}"


def part_step(img: Image.Image, mask: np.ndarray, hue: float = 0.0, lightness: float = 0.0) -> Image.Image:
    """One shot of a part's slow drift: its pixels' hue turned `hue` degrees (HSV) or their
    lightness moved `lightness` L* units."""
    arr = np.array(img.convert("RGB"))
    arr[mask] = _recolour(arr[mask], hue_degrees=hue, lightness=lightness)
    return Image.fromarray(arr)


def lab_turn(img: Image.Image, mask: np.ndarray, degrees: float) -> Image.Image:
    """A part's pixels with their CIE Lab hue turned `degrees` (lightness and chroma kept): the
    turn presence measures (media.presence `clip_likeness`), where part_step turns HSV hue."""
    from skimage.color import lab2rgb, rgb2lab
    arr = np.array(img.convert("RGB"))
    lab = rgb2lab(arr[mask][None].astype(np.float64) / 255.0)
    t = np.radians(degrees)
    a, b = lab[..., 1].copy(), lab[..., 2].copy()
    lab[..., 1], lab[..., 2] = a * np.cos(t) - b * np.sin(t), a * np.sin(t) + b * np.cos(t)
    arr[mask] = np.clip(lab2rgb(lab) * 255.0, 0, 255).round().astype(np.uint8)[0]
    return Image.fromarray(arr)


def light_step(img: Image.Image, gain: float) -> Image.Image:
    """One shot of the light draining: every pixel times `gain`."""
    return Image.fromarray(np.clip(np.asarray(img.convert("RGB"), np.float32) * gain, 0, 255).round().astype(np.uint8))


def creep_step(img: Image.Image, zoom: float, centre: tuple[float, float] = (0.5, 0.5)) -> Image.Image:
    """One shot of the framing creeping in by `zoom` about `centre` (fractions of the frame):
    a crop of the frame before, scaled up (detail is lost shot after shot)."""
    w, h = img.size
    cw, ch = w / zoom, h / zoom
    x0, y0 = (w - cw) * centre[0], (h - ch) * centre[1]
    return img.convert("RGB").resize((w, h), Image.Resampling.BILINEAR, box=(x0, y0, x0 + cw, y0 + ch))


def rerender_at(big: Image.Image, size: tuple[int, int], zoom: float, centre: tuple[float, float] = (0.5, 0.5)
                ) -> Image.Image:
    """The shot re-rendered `zoom` times closer about `centre`: a crop of a picture drawn at
    twice the size, brought down to `size` (no detail lost)."""
    w, h = big.size
    cw, ch = w / zoom, h / zoom
    x0, y0 = (w - cw) * centre[0], (h - ch) * centre[1]
    return big.convert("RGB").resize(size, Image.Resampling.BOX, box=(x0, y0, x0 + cw, y0 + ch))
# --- issue 36: small text and marks an image or video model adds -------------------------------
# A caption, a signature, a logo's name or a watermark, drawn with PIL's own default font (no
# font file from anywhere else) in a corner of the frame, its box 0.5-1% of the frame: what a
# model adds to a panel or burns into every frame of a clip ("KLING AI" in a corner).

MARK_KINDS = ("corner_text",)          # a caption in a corner of a panel, or of a clip's middle or last frame
CLIP_MARK_KINDS = ("watermark",)       # a mark burnt into every frame of a clip, fixed while the picture moves
CORNERS = ("top-left", "top-right", "bottom-left", "bottom-right")
MARK_WORDS = ("KLING AI", "Sora", "Veo 3", "Runway Gen-4", "made with AI", "© 2025 studio", "Pika Labs",
              "J. Morel '25", "AI generated", "hailuo", "SAMPLE", "dreamina")
MARK_SHARE = (0.005, 0.01)             # of the frame, the text's box


def text_mark(size: tuple[int, int], rng: np.random.Generator, corner: str | None = None,
              share: float | None = None, backdrop: np.ndarray | None = None
              ) -> tuple[Image.Image, str]:
    """A mark to lay over a picture of `size`: an RGBA layer with one short text in a corner
    (`corner`, else drawn), its box `share` of the frame (else 0.5-1%), a margin of 2-5% of the
    frame from its edges; white or black, whichever stands out from `backdrop` there (a caption
    a model adds is legible), at 70-100% opacity, with a soft shadow half the time. Returns the
    layer and the edit's name ("'KLING AI' bottom-right 0.8%")."""
    from PIL import ImageFont
    w, h = size
    corner = corner or CORNERS[int(rng.integers(0, len(CORNERS)))]
    share = float(share if share is not None else rng.uniform(*MARK_SHARE))
    words = MARK_WORDS[int(rng.integers(0, len(MARK_WORDS)))]
    probe_font = ImageFont.load_default(size=100)
    x0, y0, x1, y1 = probe_font.getbbox(words)
    scale = np.sqrt(share * w * h / max(1, (x1 - x0) * (y1 - y0)))
    font = ImageFont.load_default(size=max(6, int(round(100 * scale))))
    x0, y0, x1, y1 = font.getbbox(words)
    tw, th = x1 - x0, y1 - y0
    mx, my = int(rng.uniform(0.02, 0.05) * w), int(rng.uniform(0.02, 0.05) * h)
    x = mx if "left" in corner else w - mx - tw
    y = my if "top" in corner else h - my - th
    if backdrop is not None:
        patch = np.asarray(backdrop, dtype=np.float32)[max(0, y):y + th, max(0, x):x + tw, :3]
        light = float(patch.mean()) if patch.size else 128.0
    else:
        light = 128.0
    ink = (0, 0, 0) if light > 150 else (255, 255, 255)
    alpha = int(round(255 * rng.uniform(0.7, 1.0)))
    layer = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    if rng.random() < 0.5:   # a soft shadow under the letters, as watermarks often have
        shade = (255 - ink[0],) * 3
        draw.text((x - x0 + 1, y - y0 + 1), words, font=font, fill=(*shade, alpha // 2))
        layer = layer.filter(ImageFilter.GaussianBlur(1.0))
        draw = ImageDraw.Draw(layer)
    draw.text((x - x0, y - y0), words, font=font, fill=(*ink, alpha))
    return layer, f"'{words}' {corner} {tw * th / (w * h):.1%}"


def mark_panel(img: Image.Image, rng: np.random.Generator, corner: str | None = None) -> tuple[Image.Image, str]:
    """A clean picture with a text mark in a corner (text_mark)."""
    base = img.convert("RGB")
    layer, edit = text_mark(base.size, rng, corner, backdrop=np.asarray(base))
    return Image.alpha_composite(base.convert("RGBA"), layer).convert("RGB"), edit


def watermark_frames(frames: np.ndarray, rng: np.random.Generator, corner: str | None = None
                     ) -> tuple[np.ndarray, str]:
    """Every frame of a clip with the same text mark at the same place (a video model's watermark)."""
    n, h, w, _ = frames.shape
    layer, edit = text_mark((w, h), rng, corner, backdrop=frames[0])
    a = np.asarray(layer, dtype=np.float32)
    alpha = a[..., 3:] / 255.0
    out = frames.astype(np.float32) * (1 - alpha) + a[..., :3] * alpha
    return np.clip(out.round(), 0, 255).astype(np.uint8), edit


# --- issue 56: the keyframe gate where it was weak --------------------------------------------
# Found from outside: frames dropped at random places passed 3 of 4 (clip_cadence read 0.67-0.76),
# a stutter was failed only as "a flash of another picture", and a hair colour turning about 30°
# midway through a clip passed 3 of 6. Each kind here is an edit of the clean clips' own frames
# (or of a clip rendered alike from an edited start), graded and re-encoded as the others are.

TAKE_HITCHES = ("dropped_frames", "stutter", "hair_turn_midway")
DROPPED = (3, 6)          # frames missing of the clip's 36 (8-17%), anywhere but its first and last
STUTTERS = (2, 4)         # hitches a stuttering clip has, each a frame held 1-3 more frames
MIDWAY_TURN = 30.0        # degrees of CIE Lab hue a character's hair or outfit turns midway
MIDWAY_BLEND = (0, 6)     # frames the turn takes (0: a cut), from 35-65% of the clip


def dropped_frames(longer: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """`n` frames of a clip rendered `len(longer) - n` frames longer with the same move: that many
    frames dropped at random places (never its first or last frame), so the clip keeps its length
    and jumps ahead of its move where each one went missing — no frame repeated."""
    k = len(longer) - n
    drop = np.sort(rng.choice(np.arange(1, len(longer) - 1), k, replace=False))
    kept = np.delete(np.arange(len(longer)), drop)
    return longer[kept], f"{k} of {len(longer)} dropped ({', '.join(str(int(d)) for d in drop)})"


def stutter(frames: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """A clip that stutters: STUTTERS hitches at random places, each a frame held 1-3 more frames
    and then the picture jumping on to where the move had got to (the frames held stand in for the
    ones that should have been shown: the clip keeps its length and its timeline). Hitches are
    apart by 3 frames at least and miss the clip's first and last two frames."""
    n = len(frames)
    out = frames.copy()
    taken = np.zeros(n, dtype=bool)
    hitches = []
    for _ in range(int(rng.integers(STUTTERS[0], STUTTERS[1] + 1))):
        for _ in range(100):
            held = int(rng.integers(1, 4))
            at = int(rng.integers(2, n - held - 3))
            if not taken[max(0, at - 3):at + held + 4].any():
                break
        else:
            continue
        taken[at:at + held + 1] = True
        out[at + 1:at + 1 + held] = out[at]
        hitches.append((at, held))
    hitches.sort()
    return out, f"{len(hitches)} hitches: " + ", ".join(f"{a} held {h}" for a, h in hitches)


def turn_midway(frames: np.ndarray, turned: np.ndarray, at: int, blend: int) -> np.ndarray:
    """`frames` up to `at`, then `turned` (the same clip rendered from a start whose one part is
    turned), crossing over `blend` frames (0: a cut): a colour that turns midway through the clip."""
    out = frames.copy()
    m = min(len(out), len(turned))
    for j in range(at, m):
        w = 1.0 if blend == 0 else min(1.0, (j - at + 1) / (blend + 1))
        out[j] = np.clip((1 - w) * frames[j].astype(np.float32) + w * turned[j].astype(np.float32) + 0.5,
                         0, 255).astype(np.uint8)
    return out
