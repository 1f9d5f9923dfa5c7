"""slate.media: ffmpeg and image work as plain functions.

For: rendering, stitching, probing and measuring media. Never: import anything else of
ours but the error root, slate.errors (stdlib, numpy, PIL, imageio_ffmpeg, and ffmpeg-python's
graph builder in finish.py only) or keep state between calls.
"""

if __name__ != "slate.media":   # the folder is slate/media (a symlink); imported bare, it would be a second copy
    raise ImportError(f"import slate.media, not {__name__}: media/ is slate's media package (slate/media)")

from .commands import (MOVEMENTS, concat_args, count_frames_args, dissolve_misfits, frame_at_args,
                       last_frame_args, probe_args, still_clip_args)
from .contact import ContactEntry, contact_sheet
from .ffmpeg import MediaError, ffmpeg_exe, run
from .frames import extract_frame, extract_last_frame, keyframes
from .metrics import (colour_distance, colour_stats, load_rgb, mean_rgb_distance, sharpness_noise,
                      ssim)
from .preview import animated_preview
from .probe import Probe, has_sound, mismatches, parse_probe, probe
from .render import add_sound_bed, render_clip, scratch_beside, stitch

__all__ = [
    "MOVEMENTS", "ContactEntry", "add_sound_bed", "MediaError", "Probe", "animated_preview", "colour_distance", "colour_stats",
    "concat_args", "contact_sheet", "count_frames_args", "dissolve_misfits", "extract_frame", "extract_last_frame",
    "ffmpeg_exe", "frame_at_args", "keyframes", "last_frame_args", "load_rgb",
    "has_sound", "mean_rgb_distance", "mismatches", "parse_probe", "probe", "probe_args", "render_clip", "run",
    "scratch_beside", "sharpness_noise", "ssim", "still_clip_args", "stitch",
]
