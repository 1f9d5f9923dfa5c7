"""Previews: a moving one of a cut (an animated WebP a web page shows as an image, no player
needed), and a still one of a picture (a small JPEG).

For: the run's page in the Prefect UI, where an artifact is text, a table, a link or an image
(a file on the worker's disk is none of these). A 25 s scene at 2 frames a second, 320 pixels
wide, is about a hundred kilobytes. And what an agent is handed of a panel or a contact sheet
(slate/agent/server.py): a picture of a few hundred kilobytes at most, not the 3 MB PNG.

Never: change the video or the picture, or keep anything on disk (the frames live in a temporary
folder). A preview is remembered in memory by the file's content (`_MADE`): a one-scene film's cut
is its scene's cut byte for byte, and its page showed the same preview made twice (a second of the
example's run).
"""
from __future__ import annotations

import hashlib
import io
import tempfile
import threading
from pathlib import Path

from PIL import Image

from .commands import preview_frames_args
from .ffmpeg import run

FPS = 2.0
WIDTH = 320
MAX_FRAMES = 240   # two minutes at FPS: a preview, not the film
QUALITY = 50
_KEEP = 8   # previews remembered (each about a hundred kilobytes)
_MADE: dict[tuple[str, float, int, int], bytes] = {}
_MADE_LOCK = threading.Lock()


def animated_preview(video, *, fps: float = FPS, width: int = WIDTH, max_frames: int = MAX_FRAMES) -> bytes:
    """The video as an animated WebP (looping, `fps` frames a second); the same bytes for the same
    file content without making it again."""
    with open(video, "rb") as f:
        key = (hashlib.file_digest(f, "sha256").hexdigest(), float(fps), int(width), int(max_frames))
    with _MADE_LOCK:
        made = _MADE.get(key)
    if made is None:
        made = _animated(video, fps=fps, width=width, max_frames=max_frames)
        with _MADE_LOCK:
            _MADE[key] = made
            while len(_MADE) > _KEEP:
                _MADE.pop(next(iter(_MADE)))
    return made


def _animated(video, *, fps: float, width: int, max_frames: int) -> bytes:
    with tempfile.TemporaryDirectory(prefix="slate-preview-") as tmp:
        run(preview_frames_args(video, Path(tmp) / "f%05d.png", fps=fps, width=width, max_frames=max_frames))
        frames = [Image.open(p).convert("RGB") for p in sorted(Path(tmp).glob("f*.png"))]
        if not frames:
            raise ValueError(f"{video}: no frame to preview")
        buf = io.BytesIO()
        frames[0].save(buf, format="WEBP", save_all=True, append_images=frames[1:], duration=int(1000 / fps),
                       loop=0, quality=QUALITY)
        return buf.getvalue()


def still_preview(picture: bytes | Path, *, side: int = 512, max_bytes: int = 200_000) -> bytes:
    """A picture (its bytes, or its file) as a JPEG whose longer side is `side` at most and whose
    size is `max_bytes` at most: the quality, then the size, is lowered until it fits."""
    source = io.BytesIO(picture) if isinstance(picture, bytes) else picture
    with Image.open(source) as opened:
        img = opened.convert("RGB")
    img.thumbnail((side, side), Image.Resampling.LANCZOS)
    while True:
        for quality in (80, 65, 50):
            buf = io.BytesIO()
            img.save(buf, format="JPEG", quality=quality, optimize=True)
            if buf.tell() <= max_bytes:
                return buf.getvalue()
        if max(img.size) <= 64:
            return buf.getvalue()
        img = img.resize((max(1, img.width * 3 // 4), max(1, img.height * 3 // 4)), Image.Resampling.LANCZOS)
