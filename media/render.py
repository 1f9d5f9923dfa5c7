"""Render clips and stitch sequences, atomically.

For: the two writes the pipeline makes (one clip from stills, one film from clips):
render to a temporary file beside the target, os.replace() it into place, probe it.
Never: leave a half-written file at the target path or a temp file behind, or import
anything of ours.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from .commands import concat_args, still_clip_args
from .probe import Probe, probe
from .ffmpeg import run


def _temp_beside(target: Path) -> Path:
    # Same directory => same filesystem => os.replace is atomic. Hidden + unique name so
    # concurrent renders and directory listings never see it as a finished clip.
    return target.with_name(f".{target.stem}.{uuid.uuid4().hex[:12]}.part{target.suffix or '.mp4'}")


def _atomic(target, build) -> Probe:
    out = Path(target)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_beside(out)
    try:
        run(build(tmp))
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return probe(out)


def render_clip(start_png, out_mp4, *, width: int, height: int, fps, seconds: float,
                movement: str, end_png=None) -> Probe:
    """Render a still (or start+end pair) into an H.264 clip; return its probe."""
    return _atomic(out_mp4, lambda tmp: still_clip_args(
        start_png, tmp, width=width, height=height, fps=fps, seconds=seconds,
        movement=movement, end_png=end_png))


def stitch(clips: list[tuple[str, float]], out_mp4, *, transitions: list[tuple[str, float]],
           fps, width: int, height: int) -> Probe:
    """Join (path, seconds) clips with cuts/dissolves into one H.264 file; return its probe."""
    return _atomic(out_mp4, lambda tmp: concat_args(
        clips, tmp, transitions=transitions, fps=fps, width=width, height=height))
