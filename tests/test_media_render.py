"""Real ffmpeg: render, probe, frames, stitch, atomic writes, errors (tiny sizes, fast)."""

import numpy as np
import pytest
from PIL import Image, ImageDraw

import media
from media import MediaError, keyframes, render_clip, ssim, stitch

W, H, FPS = 160, 96, 12


def _panel(path, bg, fg, vertical=True):
    im = Image.new("RGB", (W, H), bg)
    d = ImageDraw.Draw(im)
    if vertical:
        for i in range(0, W, 32):
            d.rectangle([i, 12, i + 14, H - 12], fill=fg)
        d.ellipse([60, 30, 100, 70], fill=(255, 255, 255))
    else:
        for j in range(0, H, 24):
            d.rectangle([10, j, W - 10, j + 10], fill=fg)
        d.rectangle([20, 40, 50, 90], fill=(0, 0, 0))
    im.save(path)
    return path


@pytest.fixture(scope="module")
def panels(tmp_path_factory):
    d = tmp_path_factory.mktemp("panels")
    return (_panel(d / "start.png", (200, 50, 50), (250, 230, 0)),
            _panel(d / "end.png", (30, 60, 180), (0, 220, 90), vertical=False))


def test_static_and_dolly(tmp_path, panels):
    start, _ = panels
    for mv in ("static", "dolly_in"):
        p = render_clip(start, tmp_path / f"{mv}.mp4", width=W, height=H, fps=FPS, seconds=2, movement=mv)
        assert (p.codec, p.width, p.height, p.pix_fmt) == ("h264", W, H, "yuv420p")
        assert p.frames == 24 and p.duration == 2.0 and not p.has_audio
        k = keyframes(tmp_path / f"{mv}.mp4", tmp_path / mv)
        assert set(k) == {"first", "middle", "last"}
        assert ssim(Image.open(start), k["first"]) > 0.9
        if mv == "dolly_in":  # the move really moved: the last frame is zoomed
            assert ssim(Image.open(start), k["last"]) < ssim(Image.open(start), k["first"])
    assert sorted(x.name for x in tmp_path.iterdir() if x.is_file()) == ["dolly_in.mp4", "static.mp4"]


def test_start_end_clip_ends_on_end_panel(tmp_path, panels):
    start, end = panels
    out = tmp_path / "se.mp4"
    p = render_clip(start, out, width=W, height=H, fps=FPS, seconds=1.5, movement="pan_right", end_png=end)
    assert p.frames == 18
    first = media.extract_frame(out, 0, tmp_path / "f.png")
    last = media.extract_last_frame(out, tmp_path / "l.png")
    assert ssim(start, first) > 0.9 and ssim(end, last) > 0.9
    assert ssim(end, first) < 0.5 and ssim(start, last) < 0.5


def test_stitch_cut_and_dissolve(tmp_path, panels):
    start, end = panels
    a = render_clip(start, tmp_path / "a.mp4", width=W, height=H, fps=FPS, seconds=1, movement="static")
    b = render_clip(end, tmp_path / "b.mp4", width=W, height=H, fps=FPS, seconds=1, movement="tilt_up")
    c = render_clip(start, tmp_path / "c.mp4", width=W, height=H, fps=FPS, seconds=2, movement="dolly_out")
    clips = [(str(tmp_path / n), x.duration) for n, x in (("a.mp4", a), ("b.mp4", b), ("c.mp4", c))]
    p = stitch(clips, tmp_path / "film.mp4", transitions=[("cut", 0), ("dissolve", 0.5)], fps=FPS, width=W, height=H)
    assert abs(p.duration - (1 + 1 + 2 - 0.5)) <= 1 / FPS + 1e-9
    assert (p.codec, p.width, p.height) == ("h264", W, H)
    assert not [x for x in tmp_path.iterdir() if x.name.startswith(".")]  # no temp files left


def test_media_error_on_bad_input_leaves_nothing(tmp_path):
    bad = tmp_path / "not_an_image.png"
    bad.write_text("this is not a png")
    with pytest.raises(MediaError) as ei:
        render_clip(bad, tmp_path / "x.mp4", width=W, height=H, fps=FPS, seconds=1, movement="static")
    err = ei.value
    assert err.stderr.strip() and err.cmd[0] == media.ffmpeg_exe()
    assert "-xerror" in err.cmd and "ffmpeg exited" in str(err) and err.stderr.strip()[-50:] in str(err)
    assert list(tmp_path.iterdir()) == [bad]


def test_probe_rejects_non_video(tmp_path):
    f = tmp_path / "x.mp4"
    f.write_bytes(np.random.default_rng(0).integers(0, 255, 4000, dtype=np.uint8).tobytes())
    with pytest.raises(MediaError):
        media.probe(f)
    with pytest.raises(MediaError):
        media.probe(tmp_path / "missing.mp4")


def test_mismatches_names_what_is_wrong():
    from fractions import Fraction
    from media import Probe, mismatches
    p = Probe(duration=8.25, container_duration=8.25, width=854, height=480, fps=Fraction(24), codec="h264",
              pix_fmt="yuv420p", frames=198, has_audio=False)
    assert mismatches(p, seconds=8.25, width=854, height=480, fps=24) == []
    assert mismatches(p, seconds=9.0, width=1280, height=720, fps=24, codec="hevc") == [
        "lasts 8.250s, expected 9.000s", "is 854x480, expected 1280x720", "is h264, expected hevc"]
