"""Continuity faults made after drawing (issue 58): a clean panel edited the way a model's mistake
looks, not drawn again from a wrong state — so the judge is measured on seams, leftovers and a
relit figure, not only on the painter's own coherent world.

From the clean panel and its layout (providers/local_blocking.py: each prop's and figure's
pixels, the set under the light):
- prop_moved:      the prop's pixels cut out (the set filled in behind) and pasted at another side;
- prop_removed:    the prop's pixels filled with the set behind it;
- prop_recoloured: the prop's pixels turned 100–260° in hue;
- mirrored:        one placed character's pixels cut out and pasted mirrored across the frame
                   (the other side, facing the other way);
- light_flipped:   the whole frame relit: the ledger's light divided out, its mirror multiplied in
                   (or warm and cool swapped, for a light with no side);
- change_missed:   the thing the shot's action changed put back as it was (a prop's sprite in its
                   old state, place and colour; a character at their old side; the old light).
Each edited region gets the painter's grain again. None when the panel has nothing that kind can
edit (the benchmark then takes the painter's drawn fault, as before).

It must never be imported by slate: it is the benchmark's corpus, not a provider.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from PIL import Image

from slate.providers.base import PanelRequest, ReferenceImages
from slate.providers.local_blocking import Blocking, block
from slate.providers.local_draw import NOISE_SIGMA, PROP_TOP, PROP_X, hue_rotate, light_gain, prop_sprite

_OTHER = {"left": "right", "right": "left"}


def edited_fault(clean: Image.Image, request: PanelRequest, refs: ReferenceImages, kind: str,
                 rng: np.random.Generator) -> Image.Image | None:
    """`clean` (the painter's panel of `request`) with one continuity fault of `kind` edited in."""
    held: Mapping[str, Any] = request.continuity or {}
    lay = block(request, refs)
    img = np.asarray(clean.convert("RGB"), dtype=np.float64).copy()
    bare = _bare_set(lay, held)
    touched = np.zeros(img.shape[:2], dtype=bool)
    props = [p for p in lay.props if p.mask.any()]
    if kind in ("prop_moved", "prop_removed", "prop_recoloured"):
        if not props:
            return None
        prop = props[int(rng.integers(0, len(props)))]
        if kind == "prop_recoloured":
            turned = np.asarray(hue_rotate(clean, float(rng.uniform(100, 260))).convert("RGB"), dtype=np.float64)
            img[prop.mask] = turned[prop.mask]
            return _finish(img, prop.mask, rng)
        patch, box = _cut(img, prop.mask, bare, touched)
        if kind == "prop_moved":
            sides = [s for s in PROP_X if s != prop.fields.get("side")]
            side = sides[int(rng.integers(0, len(sides)))]
            x = round(PROP_X[side] * img.shape[1] - (box[2] - box[0]) / 2)
            _paste(img, patch, x, box[1], touched)
        return _finish(img, touched, rng)
    if kind == "mirrored":
        placed = held.get("blocking") or {}
        figs = [f for f in lay.figures if f.body.any() and (placed.get(f.character_id) or {}).get("side") in _OTHER]
        if not figs:
            return None
        fig = figs[int(rng.integers(0, len(figs)))]
        _mirror(img, fig.body, bare, touched)
        return _finish(img, touched, rng)
    if kind == "light_flipped":
        light = dict(held.get("light") or {})
        if light.get("key") in _OTHER:
            other = {**light, "key": _OTHER[str(light["key"])]}
        elif light.get("temperature") in ("warm", "cool"):
            other = {**light, "temperature": "cool" if light["temperature"] == "warm" else "warm"}
        else:
            return None
        return _finish(_relit(img, light, other), np.zeros(img.shape[:2], dtype=bool), rng)
    if kind == "change_missed":
        was: Mapping[str, Mapping[str, Any]] = held.get("was") or {}
        for name in sorted(was):
            if name == "light":
                return _finish(_relit(img, dict(held.get("light") or {}), {**(held.get("light") or {}), **was[name]}),
                               touched, rng)
            prop = next((p for p in props if p.name == name), None)
            if prop is not None:
                _, box = _cut(img, prop.mask, bare, touched)
                fields = {**prop.fields, **was[name]}
                sprite = prop_sprite(name, fields, img.shape[1], img.shape[0])
                side = str(fields.get("side", prop.fields.get("side")))
                x = round(PROP_X.get(side, 0.5) * img.shape[1] - sprite.width / 2)
                _paste(img, np.asarray(sprite.convert("RGB"), dtype=np.float64), x, round(PROP_TOP * img.shape[0]),
                       touched)
                return _finish(img, touched, rng)
            fig = next((f for f in lay.figures if f.character_id == name and f.body.any()), None)
            if fig is not None and (was[name].get("side") in _OTHER):
                _mirror(img, fig.body, bare, touched)
                return _finish(img, touched, rng)
        return None
    raise ValueError(f"unknown continuity fault kind {kind!r}")


def _bare_set(lay: Blocking, held: Mapping[str, Any]) -> np.ndarray:
    """The set as the panel shows it with nobody and nothing in front: the plate under the light."""
    unlit = np.asarray((lay.unlit or lay.expected).convert("RGB"), dtype=np.float64)
    gain = light_gain(held.get("light"), unlit.shape[1])
    return unlit if gain is None or lay.unlit is None else unlit * gain[None, :, :]


def _cut(img: np.ndarray, mask: np.ndarray, bare: np.ndarray, touched: np.ndarray
         ) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The bounding box of `mask` taken out of `img` (returned), the set filled in behind it."""
    ys, xs = np.nonzero(mask)
    box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    patch = img[box[1]:box[3], box[0]:box[2]].copy()
    img[mask] = bare[mask]
    touched |= mask
    return patch, box


def _paste(img: np.ndarray, patch: np.ndarray, x: int, y: int, touched: np.ndarray) -> None:
    h, w = img.shape[:2]
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(w, x + patch.shape[1]), min(h, y + patch.shape[0])
    if x1 > x0 and y1 > y0:
        img[y0:y1, x0:x1] = patch[y0 - y:y1 - y, x0 - x:x1 - x]
        touched[y0:y1, x0:x1] = True


def _mirror(img: np.ndarray, body: np.ndarray, bare: np.ndarray, touched: np.ndarray) -> None:
    """The figure's pixels moved to the mirror place across the frame, flipped (facing the other way)."""
    figure = img.copy()
    img[body] = bare[body]
    flipped = body[:, ::-1]
    img[flipped] = figure[:, ::-1][flipped]
    touched |= body | flipped


def _relit(img: np.ndarray, light: Mapping[str, Any], other: Mapping[str, Any]) -> np.ndarray:
    w = img.shape[1]
    own, new = light_gain(light, w), light_gain(other, w)
    ones = np.ones((w, 3))
    return img / (own if own is not None else ones)[None] * (new if new is not None else ones)[None]


def _finish(img: np.ndarray, touched: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """The edit with the painter's grain over what it filled in (a fill of the clean set has none)."""
    if touched.any():
        img[touched] += rng.normal(0, NOISE_SIGMA, (int(touched.sum()), 3))
    return Image.fromarray(np.clip(img.round(), 0, 255).astype(np.uint8), "RGB")
