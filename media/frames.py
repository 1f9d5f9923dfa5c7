"""Still frames out of a video, as PNG files.

For: pulling the first / a given / the last frame for gates and contact sheets.
Never: modify the video, guess the last frame from the container duration, or import
anything of ours.
"""

from __future__ import annotations

from pathlib import Path

from .commands import frame_at_args, last_frame_args
from .ffmpeg import MediaError, run
from .probe import Probe, probe


def _ensure(out: Path, args: list[str]) -> Path:
    # ffmpeg exits 0 without writing anything when a seek lands past the end.
    if not out.is_file():
        raise MediaError(f"ffmpeg wrote no frame to {out}", args, "")
    return out


def extract_frame(video, seconds: float, out_png) -> Path:
    """PNG of the frame shown at `seconds`."""
    out = Path(out_png)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    args = frame_at_args(video, out, seconds=seconds)
    run(args)
    return _ensure(out, args)


def extract_last_frame(video, out_png) -> Path:
    """PNG of the final decoded frame."""
    out = Path(out_png)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    args = last_frame_args(video, out)
    run(args)
    return _ensure(out, args)


def keyframes(video, out_dir, info: Probe | None = None) -> dict[str, Path]:
    """first.png / middle.png / last.png in out_dir; middle is the frame at duration/2. `info`:
    the video's probe when the caller has it (a probe is a whole decode)."""
    d = Path(out_dir)
    info = info or probe(video)
    return {
        "first": extract_frame(video, 0.0, d / "first.png"),
        "middle": extract_frame(video, info.duration / 2, d / "middle.png"),
        "last": extract_last_frame(video, d / "last.png"),
    }
