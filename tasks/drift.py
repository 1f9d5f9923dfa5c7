"""Drift check: every Nth shot of a scene (and of a chain), its last frame against the references
it must still match.

A chain starts each shot from the previous shot's last frame, so small errors compound; a scene
drifts too, shot after shot, as a video model slowly repaints people. Every `drift_every`-th shot
the last keyframe is measured against:
  * the shot's approved panel — the image the panel gate held to the bible (same composition,
    so SSIM from scikit-image is taken on aligned pictures) — and its colour statistics;
  * the master references themselves: the location plate (colour statistics, levelled for
    exposure) and, with CLIP weights, the plate and every character's turnaround (embeddings);
    CLIP also compares the frame with the panel.
The drift figure is the worst of 1 − SSIM, the colour distance to the panel and 1 − CLIP
similarity to the panel; past the threshold the next chained shot re-anchors on its own
approved panel. Free (pixels and a local model) and cached by content. It must never decide
anything but whether to re-anchor.
"""
from __future__ import annotations

import threading

from prefect import task

from media import colour_distance, colour_stats, load_rgb, ssim
from media import clip as clip_models
from tasks.cache import ContentKey
from tasks.context import RunSpec, studio

DRIFT_VERSION = "drift-v2"
_EMBEDDERS: dict[tuple[str, str], tuple] = {}
_LOCK = threading.Lock()


def embedder(model: str, weights: str):
    with _LOCK:
        if (model, weights) not in _EMBEDDERS:
            _EMBEDDERS[(model, weights)] = clip_models.load(model, weights)
        made, why = _EMBEDDERS[(model, weights)]
    clip_models.say_once(why)
    return made


def _levelled(img):
    import numpy as np
    a = load_rgb(img).astype(np.float32)
    return np.clip(a * (128.0 / max(1.0, float(a.mean()))), 0, 255).astype(np.uint8)


@task(name="drift-check", cache_policy=ContentKey(stage=DRIFT_VERSION), result_serializer="json",
      task_run_name="drift check {shot}")
def drift_check(run: RunSpec, shot: str, last_frame_uri: str, panel_uri: str, threshold: float, plate_uri: str = "",
                turnaround_uris: list[str] = [], clip_model: str = "", clip_weights: str = "") -> dict:  # noqa: B006
    st = studio(run)
    frame = load_rgb(st.storage.open_local(last_frame_uri))
    panel = load_rgb(st.storage.open_local(panel_uri))
    to_panel = colour_distance(colour_stats(frame), colour_stats(panel))
    structure = ssim(frame, panel)
    to_plate = None
    if plate_uri:
        to_plate = colour_distance(colour_stats(_levelled(frame)), colour_stats(_levelled(st.storage.open_local(plate_uri))))
    seen = {"shot": shot, "ssim": round(structure, 4), "colour_distance": round(to_panel, 4),
            "colour_to_plate": None if to_plate is None else round(to_plate, 4), "threshold": threshold}
    worst = max(1.0 - structure, to_panel)
    model = embedder(clip_model, clip_weights) if clip_model else None
    if model is not None:
        panel_sim = model.similarity(frame, panel)
        seen["clip"] = {"model": model.name, "panel": round(panel_sim, 4)}
        if plate_uri:
            seen["clip"]["plate"] = round(model.similarity(frame, st.storage.open_local(plate_uri)), 4)
        for uri in turnaround_uris:
            seen["clip"].setdefault("turnarounds", []).append(round(model.similarity(frame, st.storage.open_local(uri)), 4))
        worst = max(worst, 1.0 - panel_sim)
    else:
        seen["clip"] = None
    return {**seen, "drift": round(worst, 4), "reanchor": worst > threshold}


def due(plan, every: int) -> bool:
    """Every `every`-th shot of the scene, and every `every`-th shot of a chain."""
    return (plan.index + 1) % every == 0 or (plan.chain_position > 0 and plan.chain_position % every == 0)
