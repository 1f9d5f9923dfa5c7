"""Every stage's version string, in one place the can and the reel can read without Prefect.

A stage's cache key starts with its version (tasks/cache.py); a scene's and a film's key holds
them all (tasks/can.py, tasks/reel.py). Bump a stage's string when its output for the same
inputs would change: every take, scene and film made by the old one is then made again.

It must never import Prefect or a stage module: the reel reads it before Prefect starts.
"""
from __future__ import annotations

REFERENCE_VERSION = "reference-gate-v2"  # v2: the content check (a blank sheet or plate)
PANEL_VERSION = "panel-take-v2"
GATE_VERSION = "panel-gate-v4"  # v4: the content check; a bounded grade; each figure's colours
VIDEO_VERSION = "video-take-v2"
KEYFRAME_VERSION = "keyframe-gate-v4"  # v4: the content check of each keyframe; a bounded grade
CONTINUITY_VERSION = "continuity-v3"  # v3: the content check of both frames; colours per figure
DRIFT_VERSION = "drift-v6"  # v5: SSIM and hue against the panel the frame descends from; v6: a blank frame
STITCH_VERSION = "stitch-v1"
