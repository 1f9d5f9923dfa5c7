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
KEYFRAME_VERSION = "keyframe-gate-v6"  # v4: each keyframe's content, a bounded grade; v5: the whole clip; who is in it; v6: who stands before the plate
CONTINUITY_VERSION = "continuity-v3"  # v3: the content check of both frames; colours per figure
DRIFT_VERSION = "drift-v8"  # v6: a blank frame; v7: sharpness and each character's presence beside SSIM and colour; v8: foreground members
STITCH_VERSION = "stitch-v1"
PANEL_EDIT_VERSION = "panel-edit-v1"  # issue 24: one step of a shot's recipe of single edits
FINISH_VERSION = "finish-v1"  # issue 23: the finishing pass (mix, grade, loudness, deliverables)
