"""Drift check: every Nth shot of a chain, its last frame against the master reference.

A chain starts each shot from the previous shot's last frame, so small errors compound. Every
`drift_every`-th chained shot compares its last keyframe with its own approved panel (the
panel gate held that panel to the bible): past the threshold, the next chained shot re-anchors
on its own approved panel instead. Free (pixels only) and cached by content. It must never
decide anything but whether to re-anchor.
"""
from __future__ import annotations

from prefect import task

from media import colour_distance, colour_stats, load_rgb, ssim
from tasks.cache import ContentKey
from tasks.context import RunSpec, studio

DRIFT_VERSION = "drift-v1"


@task(name="drift-check", cache_policy=ContentKey(stage=DRIFT_VERSION), result_serializer="json",
      task_run_name="drift check {shot}")
def drift_check(run: RunSpec, shot: str, last_frame_uri: str, master_uri: str, threshold: float) -> dict:
    st = studio(run)
    frame = load_rgb(st.storage.open_local(last_frame_uri))
    master = load_rgb(st.storage.open_local(master_uri))
    distance = colour_distance(colour_stats(frame), colour_stats(master))
    structure = ssim(frame, master)
    drift = max(distance, 1.0 - structure)
    return {"shot": shot, "colour_distance": round(distance, 4), "ssim": round(structure, 4),
            "drift": round(drift, 4), "threshold": threshold, "reanchor": drift > threshold}
