"""What the local judge holds a panel to of the continuity ledger (issue 58): each prop where the
ledger puts it, in its colour and state; each character at their side of the frame, in the view
the painter draws their facing in (local_draw.FACING_VIEW); the key light's side and the light's
temperature.

The local painter draws the ledger's state (providers/local_draw.py: props in front at their
side, figures at theirs, the set lit from the key's side and tinted
warm or cool), and the blocking (providers/local_blocking.py) rebuilds it, so these read regions
the judge already compares:
- props:    per prop, the share of its pixels that match as laid out (a prop moved, removed,
            recoloured or in another state differs there); the reason says where else it stands
            when it is found at another side;
- blocking: per character the ledger places, the share of the figure where it should stand;
- light:    the set's brightness across the frame against the plate before the light (its slope
            by a fit that also takes the take's own exposure and gamma), and its warmth (red
            against blue, after the same gamma): 1 where it matches the ledger's, 0.5 where
            flat, 0 where the other way.
A ledger that says nothing of a thing adds no score for it; a film with no ledger none at all.

It must never see the request's fault flag, call a model or read a file: it reads arrays the
judge has made.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from slate.providers.base import Score
from slate.providers.local_blocking import Blocking, Prop
from slate.providers.local_draw import LIGHT_SLOPE, LIGHT_TINT, PROP_X, prop_sprite

#: How far a take's mean colour may sit from a prop's drawn colours (RGB units, per channel) for
#: the prop to be "found" at a side it was not asked at (used for the reason, never to pass).
FOUND = 28.0


def prop_found_at(prop: Prop, take: np.ndarray, width: int, height: int) -> str | None:
    """The other side of the frame where `take` (full size, (H, W, 3)) shows this prop, if any."""
    sprite = np.asarray(prop_sprite(prop.name, prop.fields, width, height).convert("RGB"), dtype=np.float32)
    ys, _ = np.nonzero(prop.mask)
    if not len(ys):
        return None
    top = int(ys.min())
    ph, pw = sprite.shape[:2]
    for side, share in PROP_X.items():
        if side == prop.fields.get("side"):
            continue
        x = round(share * width - pw / 2)
        patch = take[top:top + ph, max(0, x):x + pw].astype(np.float32)
        if patch.shape[:2] != sprite.shape[:2]:
            continue
        if float(np.abs(patch - sprite).mean()) < FOUND:
            return side
    return None


def light_reading(take: np.ndarray, unlit: np.ndarray, background: np.ndarray) -> tuple[float, float] | None:
    """(slope, warmth) of the take's set against the plate before the light, on `background`
    pixels (all at one working size): slope is d log(brightness) / d x (x from -1 at frame left to
    1 at frame right), net of the take's own gamma; warmth is log(red / blue) beyond the plate's,
    after the same gamma. None when too little of the set shows to read it."""
    ys, xs = np.nonzero(background)
    if len(ys) < 200:
        return None
    x = xs / max(1, background.shape[1] - 1) * 2.0 - 1.0
    t = np.log(take[ys, xs].astype(np.float64) + 4.0)
    u = np.log(unlit[ys, xs].astype(np.float64) + 4.0)
    tl, ul = t.mean(axis=1), u.mean(axis=1)
    design = np.stack([np.ones_like(x), x, ul], axis=1)
    (_, slope, gamma), *_ = np.linalg.lstsq(design, tl, rcond=None)
    warmth = float(np.mean((t[:, 0] - t[:, 2]) - gamma * (u[:, 0] - u[:, 2])))
    return float(slope), warmth


def ledger_scores(blocking: Blocking, take_full: np.ndarray, read: Callable[[np.ndarray], tuple[float, int]],
                  take_small: np.ndarray, unlit_small: np.ndarray, back_small: np.ndarray,
                  held: Mapping[str, Any], score: Callable[[str, float, str], Score],
                  temperature: bool = True, light_read: bool = True) -> list[Score]:
    """The panel's scores against the ledger's state `held` (the request's `continuity`).
    `read` is the judge's reading of a (full-size) region — the share of it that matches as laid
    out, and how many working pixels it covers — and `score` its Score by rule, so these read
    regions and hold thresholds exactly as its others do. `temperature`: whether the light's
    warmth is read too — not in a clip's frames, which a video model grades as a whole (a hosted
    model's clip read 0.11 cooler than its panel, all over): there only the key's side, which a
    grade does not move. `light_read` False: no light score at all (the caller reads it its own way)."""
    out = []
    h, w = take_full.shape[:2]
    since: Mapping[str, str] = held.get("since") or {}

    def kept(name: str) -> str:
        """Where the ledger has the thing from: ", since 1C" (the shot that set it), ", as the scene
        opens", or nothing (a request that does not say)."""
        by = since.get(name)
        return "" if not by else (", as the scene opens" if by == "the scene" else f", since {by}")
    for prop in blocking.props:
        v, _ = read(prop.mask)
        state = f", {prop.fields['state']}" if prop.fields.get("state") else ""
        reason = (f"{prop.name}: {v:.0%} of it as the ledger has it (frame {prop.fields.get('side')}{state}"
                  f"{kept(prop.name)})")
        if not score("props", v, reason).passed:
            moved = prop_found_at(prop, take_full, w, h)
            reason += f"; it stands frame {moved} instead" if moved else "; not there, or in another colour or state"
        out.append(score("props", v, reason))
    # Props the ledger has out of the scene: nothing of theirs to read (an extra thing on screen is
    # the artefact check's), so no score.
    placed = held.get("blocking") or {}
    for fig in blocking.figures:
        place: Mapping[str, Any] = placed.get(fig.character_id) or {}
        if not place:
            continue
        v, pixels = read(fig.body)
        if not pixels:
            continue
        said = ", ".join(f"{k} {v_}" for k, v_ in place.items())
        out.append(score("blocking", v, f"{fig.character_id}: {v:.0%} of the figure where the ledger puts it "
                                        f"({said}{kept(fig.character_id)})"))
    light = (held.get("light") or {}) if light_read else {}
    key = {"left": -1.0, "right": 1.0}.get(str(light.get("key")), 0.0)
    tint = {"warm": 1.0, "cool": -1.0}.get(str(light.get("temperature")), 0.0) if temperature else 0.0
    if key or tint:
        reading = light_reading(take_small, unlit_small, back_small)
        if reading is not None:
            slope, warmth = reading
            parts = []
            if key:
                v = 0.5 + 0.5 * slope / (LIGHT_SLOPE * key)
                seen = "left" if slope < 0 else "right"
                parts.append((v, f"the set is brighter frame {seen} (slope {slope:+.3f}); the ledger's key light is "
                                 f"from frame {light['key']}"))
            if tint:
                v = 0.5 + 0.5 * warmth / (2 * LIGHT_TINT * tint)
                seen = "warm" if warmth > 0 else "cool"
                parts.append((v, f"the light reads {seen} (red/blue {warmth:+.3f}); the ledger's is "
                                 f"{light['temperature']}"))
            v, reason = min(parts)
            out.append(score("light", v, reason + kept("light")))
    return out
