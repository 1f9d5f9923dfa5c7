"""The cut's moving preview (media/preview.py): an animated WebP of the cut, made once per content."""
from __future__ import annotations

import io
import shutil

from PIL import Image

from slate import media
from slate.media import preview


def _clip(path, source: str) -> None:
    """Two seconds at 160x90 of one of ffmpeg's sources (`testsrc`, `color=c=blue`)."""
    options = "s=160x90:r=24:d=2"
    media.run(["-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
               f"{source}:{options}" if "=" in source else f"{source}={options}",
               "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)])


def test_a_preview_is_an_animated_webp_made_once_per_content(tmp_path, monkeypatch):
    """Two frames a second of the cut; a second file with the same bytes (a one-scene film's cut is
    its scene's) gets the same preview with no ffmpeg started; other content gets its own."""
    started = []
    real = preview.run
    monkeypatch.setattr(preview, "run", lambda args, *a, **k: started.append(args) or real(args, *a, **k))
    _clip(tmp_path / "scene.mp4", "testsrc")   # a picture that moves: every frame its own
    first = preview.animated_preview(tmp_path / "scene.mp4")
    with Image.open(io.BytesIO(first)) as img:
        assert img.format == "WEBP" and img.n_frames == 4 and img.size[0] == preview.WIDTH
    assert len(started) == 1
    shutil.copyfile(tmp_path / "scene.mp4", tmp_path / "film.mp4")
    assert preview.animated_preview(tmp_path / "film.mp4") == first
    assert len(started) == 1   # the film's cut is the scene's: not made again
    _clip(tmp_path / "other.mp4", "color=c=blue")
    other = preview.animated_preview(tmp_path / "other.mp4")
    assert len(started) == 2 and other != first
    with Image.open(io.BytesIO(other)) as img:
        assert img.convert("RGB").getpixel((10, 10))[2] > 200
