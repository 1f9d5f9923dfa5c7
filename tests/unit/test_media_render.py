"""Real ffmpeg: render, probe, frames, stitch, atomic writes, errors (tiny sizes, fast)."""

import re
import numpy as np
import pytest
from PIL import Image, ImageDraw

from slate import media
from slate.media import MediaError, keyframes, render_clip, ssim, stitch

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


@pytest.mark.parametrize("movement", ["pan_left", "dolly_in", "tilt_down"])
def test_a_move_out_and_back_starts_and_ends_on_the_panel_and_never_holds_a_frame(tmp_path, movement):
    """A take's first frame is the panel (an NG'd take starts where the take it replaces did) and a
    drift out and back ends on it (a chained shot starts there), each step of the way the one the
    easing asks for: ffmpeg's perspective filter counts frames from 1, and read as counted from 0,
    every move began a step in (1.8 px here) and held its last frame twice."""
    from slate.media.upscale import frames_of
    w, h = 320, 180
    panel = Image.new("RGB", (w, h), (20, 20, 20))
    ImageDraw.Draw(panel).rectangle([200, 120, 239, 159], fill=(240, 240, 240))
    panel.save(tmp_path / "panel.png")
    render_clip(tmp_path / "panel.png", tmp_path / "take.mp4", width=w, height=h, fps=FPS, seconds=2,
                movement=movement, back=True)

    def centre(img: np.ndarray) -> np.ndarray:
        """Where the square is, below a pixel: the centroid of its light."""
        light = np.clip(img.astype(np.float32).mean(axis=-1) - 60, 0, None)
        ys, xs = np.mgrid[0:img.shape[0], 0:img.shape[1]]
        return np.array([(xs * light).sum(), (ys * light).sum()]) / light.sum()

    frames = frames_of(tmp_path / "take.mp4", width=w, height=h)
    assert len(frames) == 24
    at = [centre(f) for f in frames]
    panel_at = centre(np.asarray(panel))
    assert np.abs(at[0] - panel_at).max() < 0.2, (at[0], panel_at)       # the first frame: the panel
    assert np.abs(at[-1] - panel_at).max() < 0.2, (at[-1], panel_at)     # back where it started
    first, last = np.abs(at[1] - at[0]).max(), np.abs(at[-1] - at[-2]).max()
    assert first > 0.5 and last > 0.5, (first, last)                     # it moves from the first frame to the last
    assert abs(first - last) < 0.3, (first, last)                        # out and back alike


def test_start_end_clip_ends_on_end_panel(tmp_path, panels):
    start, end = panels
    out = tmp_path / "se.mp4"
    p = render_clip(start, out, width=W, height=H, fps=FPS, seconds=1.5, movement="pan_right", end_png=end)
    assert p.frames == 18
    first = media.extract_frame(out, 0, tmp_path / "f.png")
    last = media.extract_last_frame(out, tmp_path / "l.png")
    assert ssim(start, first) > 0.9 and ssim(end, last) > 0.9
    assert ssim(end, first) < 0.5 and ssim(start, last) < 0.5



def test_the_last_frame_is_the_clips_last_decoded_frame_byte_for_byte(tmp_path, panels):
    """The extracted last frame feeds the next shot's cache key: it must be the very frame a full
    decode ends on, encoded as every frame of the clip is, whatever way it is extracted."""
    import subprocess

    from slate.media.ffmpeg import ffmpeg_exe

    start, end = panels
    out = tmp_path / "c.mp4"
    render_clip(start, out, width=W, height=H, fps=FPS, seconds=1.5, movement="pan_right", end_png=end)
    every = tmp_path / "every"
    every.mkdir()
    subprocess.run([ffmpeg_exe(), "-nostdin", "-v", "error", "-i", str(out), "-map", "0:v:0",
                    "-fps_mode", "passthrough", str(every / "%03d.png")], check=True)
    frames = sorted(every.iterdir())
    assert len(frames) == 18
    last = media.extract_last_frame(out, tmp_path / "l.png")
    assert last.read_bytes() == frames[-1].read_bytes()
    assert last.read_bytes() != frames[-2].read_bytes()

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
    assert "-xerror" in err.cmd and "ffmpeg exited" in str(err) and err.stderr.strip()[-50:] in err.detail()
    assert list(tmp_path.iterdir()) == [bad]


def test_media_error_says_ffmpegs_cause_not_its_command_line(tmp_path):
    """A file that is not a video read "ffmpeg exited with code 183: …/ffmpeg-linux-x86_64-v9.0.2
    -nostdin -hide_banner -stats -protocol_whitelist file -i /…": the command cut mid-path. It is
    said as the line of ffmpeg's stderr that names the cause, on one line; the command is kept."""
    f = tmp_path / "x.mp4"
    f.write_bytes(np.random.default_rng(0).integers(0, 255, 4000, dtype=np.uint8).tobytes())
    with pytest.raises(MediaError) as ei:
        media.probe(f)
    said = str(ei.value)
    assert re.fullmatch(r"ffmpeg exited with code \d+: moov atom not found", said), said
    assert media.ffmpeg_exe() not in said and "\n" not in said
    assert ei.value.cmd[0] == media.ffmpeg_exe() and "moov atom not found" in ei.value.detail()


def test_probe_rejects_non_video(tmp_path):
    f = tmp_path / "x.mp4"
    f.write_bytes(np.random.default_rng(0).integers(0, 255, 4000, dtype=np.uint8).tobytes())
    with pytest.raises(MediaError):
        media.probe(f)
    with pytest.raises(MediaError):
        media.probe(tmp_path / "missing.mp4")


def test_mismatches_names_what_is_wrong():
    from fractions import Fraction
    from slate.media import Probe, mismatches
    p = Probe(duration=8.25, container_duration=8.25, width=854, height=480, fps=Fraction(24), codec="h264",
              pix_fmt="yuv420p", frames=198, has_audio=False)
    assert mismatches(p, seconds=8.25, width=854, height=480, fps=24) == []
    assert mismatches(p, seconds=9.0, width=1280, height=720, fps=24, codec="hevc") == [
        "lasts 8.250s, expected 9.000s", "is 854x480, expected 1280x720", "is h264, expected hevc"]


def test_a_cut_shorter_than_asked_is_one_cut_mismatch_and_leaves_nothing(tmp_path, panels):
    """media/cut.py: what a stitch asked (its clips' seconds, less dissolves) against what was
    made; a mismatch names the cut and both values, is a SlateError, survives a pickle (a task's
    exception is stored), and no file is left where the cut would be."""
    import pickle

    from slate.errors import SlateError
    from slate.media.cut import CutMismatch, Stitching, make_cut
    start, _ = panels
    a = str(tmp_path / "a.mp4")
    render_clip(start, a, width=W, height=H, fps=FPS, seconds=1, movement="static")
    made = make_cut("stitched scene s1", Stitching([(a, 1.0), (a, 1.0)], [("cut", 0.0)], fps=FPS, width=W, height=H),
                    tmp_path / "ok.mp4")
    assert made.duration == 2.0
    said = Stitching([(a, 1.0), (a, 2.0)], [("dissolve", 0.5)], fps=FPS, width=W, height=H)   # the clip is 1 s
    assert said.total == 2.5
    with pytest.raises(CutMismatch) as raised:
        make_cut("stitched scene s1", said, tmp_path / "bad.mp4")
    assert isinstance(raised.value, SlateError)
    assert str(raised.value).startswith("stitched scene s1 lasts 1.500s, expected 2.500s"), str(raised.value)
    assert str(pickle.loads(pickle.dumps(raised.value))) == str(raised.value)
    assert not (tmp_path / "bad.mp4").exists()


def _frame_hashes(path):
    # One md5 per decoded frame: equal lists mean the same pictures, bit for bit.
    out = media.run(["-nostdin", "-hide_banner", "-loglevel", "error", "-protocol_whitelist", "file",
                     "-i", str(path), "-map", "0:v:0", "-f", "framemd5", "-"]).stdout
    return [line.rsplit(",", 1)[-1].strip() for line in out.splitlines() if line and not line.startswith("#")]


def test_stitch_copies_what_does_not_change(tmp_path, panels):
    """Cuts between clips of one encoder are joined without re-encoding: every frame of the
    stitched file is bit-identical to its clip's; a dissolve re-encodes only the clips it joins;
    a clip of another size is re-encoded on its own; the result lasts what was asked either way."""
    start, end = panels
    a = render_clip(start, tmp_path / "a.mp4", width=W, height=H, fps=FPS, seconds=1, movement="static")
    b = render_clip(end, tmp_path / "b.mp4", width=W, height=H, fps=FPS, seconds=1, movement="tilt_up")
    c = render_clip(start, tmp_path / "c.mp4", width=W, height=H, fps=FPS, seconds=2, movement="dolly_out")
    d = render_clip(end, tmp_path / "d.mp4", width=W + 16, height=H, fps=FPS, seconds=1, movement="static")
    path = {n: str(tmp_path / f"{n}.mp4") for n in "abcd"}
    cuts = stitch([(path["a"], 1), (path["b"], 1), (path["c"], 2)], tmp_path / "cuts.mp4",
                  transitions=[("cut", 0), ("cut", 0)], fps=FPS, width=W, height=H)
    assert cuts.frames == 48 and (cuts.width, cuts.height) == (W, H)
    assert _frame_hashes(tmp_path / "cuts.mp4") == (
        _frame_hashes(path["a"]) + _frame_hashes(path["b"]) + _frame_hashes(path["c"]))
    mixed = stitch([(path["a"], 1), (path["b"], 1), (path["c"], 2), (path["d"], 1)], tmp_path / "mixed.mp4",
                   transitions=[("cut", 0), ("dissolve", 0.5), ("cut", 0)], fps=FPS, width=W, height=H)
    assert mixed.frames == 12 + 12 + 24 + 12 - 6 and (mixed.width, mixed.height) == (W, H)
    hashes = _frame_hashes(tmp_path / "mixed.mp4")
    assert hashes[:12] == _frame_hashes(path["a"])        # copied
    assert hashes[12:24] != _frame_hashes(path["b"])      # re-encoded into the dissolve
    assert not [x for x in tmp_path.iterdir() if x.name.startswith(".")]
    assert a.frames + b.frames + c.frames + d.frames == 60


def test_one_clip_that_already_is_the_cut_is_its_own_bytes(tmp_path, panels):
    """A film of one scene: the stitch of one clip that fits (size, rate, length, no sound) is the
    clip's bytes, not a second generation of its pictures; one of another size is re-encoded."""
    start, _ = panels
    render_clip(start, tmp_path / "a.mp4", width=W, height=H, fps=FPS, seconds=1, movement="dolly_out")
    render_clip(start, tmp_path / "w.mp4", width=W + 16, height=H, fps=FPS, seconds=1, movement="static")
    one = stitch([(str(tmp_path / "a.mp4"), 1)], tmp_path / "one.mp4", transitions=[], fps=FPS, width=W, height=H)
    assert (tmp_path / "one.mp4").read_bytes() == (tmp_path / "a.mp4").read_bytes()
    assert one.frames == 12 and (one.width, one.height) == (W, H)
    wide = stitch([(str(tmp_path / "w.mp4"), 1)], tmp_path / "wide.mp4", transitions=[], fps=FPS, width=W, height=H)
    assert (wide.width, wide.height) == (W, H) and wide.frames == 12
    assert not [x for x in tmp_path.iterdir() if x.name.startswith(".")]


def test_a_join_by_copy_is_read_back_from_its_boxes_as_ffmpeg_reads_it(tmp_path, panels):
    """The stitch reads a file it joined by copy from its boxes (media/mp4.py), not with a second
    ffmpeg: size, rate, frames, codec and pixel format must equal a full decode's, for 4:2:0,
    4:2:2 and 4:4:4 H.264 (each SPS codes its chroma layout differently); a join whose boxes
    list other than the frames ffmpeg wrote is an error."""
    from slate.media.mp4 import pixel_format, read_track
    from slate.media.probe import probe_copied
    start, end = panels
    for fmt in ("yuv420p", "yuv422p", "yuv444p"):
        clips = []
        for n, panel in enumerate((start, end)):
            out = tmp_path / f"{fmt}-{n}.mp4"
            media.run(["-nostdin", "-loglevel", "error", "-y", "-loop", "1", "-i", str(panel), "-t", "1", "-r",
                       str(FPS), "-c:v", "libx264", "-pix_fmt", fmt, str(out)])
            assert pixel_format(read_track(out).config) == media.probe(out).pix_fmt == fmt
            clips.append((str(out), 1.0))
        joined = stitch(clips, tmp_path / f"{fmt}.mp4", transitions=[("cut", 0)], fps=FPS, width=W, height=H)
        decoded = media.probe(tmp_path / f"{fmt}.mp4")
        assert joined == decoded.__class__(**{**decoded.__dict__, "container_duration": joined.container_duration})
        assert joined.frames == 2 * FPS and joined.pix_fmt == fmt
    with pytest.raises(MediaError, match="ffmpeg wrote 25"):
        probe_copied(tmp_path / "yuv420p.mp4", "frame=   25 fps=0.0 q=-1.0 Lsize=N/A")


def test_stitch_plan_segments():
    from slate.media.commands import stitch_plan
    cut, dis = ("cut", 0), ("dissolve", 0.5)
    assert stitch_plan([True, True, True], [cut, cut]) == [(True, 0, 0), (True, 1, 1), (True, 2, 2)]
    assert stitch_plan([True, True, True, True], [cut, dis, cut]) == [(True, 0, 0), (False, 1, 2), (True, 3, 3)]
    assert stitch_plan([True, False, False, True], [cut, cut, cut]) == [(True, 0, 0), (False, 1, 2), (True, 3, 3)]


def test_whether_a_clip_has_sound_is_read_from_its_boxes_as_ffmpeg_reads_it(tmp_path, panels):
    """A finishing pass asks every clip whether it carries sound (media/probe.has_sound) from its
    boxes, no ffmpeg started: the answer must be a full decode's, for a clip without sound, with
    one sound track, and with a data track beside the picture but no sound; a file the box reader
    cannot open (not an MP4) is asked of ffmpeg."""
    from slate.media.mp4 import sound_tracks
    start, _ = panels
    still = ["-nostdin", "-loglevel", "error", "-y", "-loop", "1", "-i", str(start), "-t", "1", "-r", str(FPS)]
    tone = ["-f", "lavfi", "-i", "sine=frequency=440:duration=1"]
    made = {
        "silent.mp4": [*still, "-c:v", "libx264", "-pix_fmt", "yuv420p"],
        "sound.mp4": [*still, *tone, "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"],
        "subtitled.mp4": [*still, "-f", "lavfi", "-i", "anullsrc", "-map", "0:v", "-c:v", "libx264",
                          "-pix_fmt", "yuv420p", "-t", "1"],
        "sound.mkv": [*still, *tone, "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"],
    }
    for name, args in made.items():
        media.run([*args, str(tmp_path / name)])
    # a data (subtitle) track and no sound: muxed onto the silent clip
    srt = tmp_path / "a.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:00,500\nhi\n")
    media.run(["-nostdin", "-loglevel", "error", "-y", "-i", str(tmp_path / "silent.mp4"), "-i", str(srt),
               "-map", "0:v", "-map", "1", "-c:v", "copy", "-c:s", "mov_text", str(tmp_path / "subtitled.mp4")])
    for name in made:
        path = tmp_path / name
        assert media.has_sound(path) == media.probe(path).has_audio == (name.startswith("sound")), name
    assert sound_tracks(tmp_path / "sound.mp4") == 1 and sound_tracks(tmp_path / "subtitled.mp4") == 0
    assert sound_tracks(tmp_path / "sound.mkv") is None   # not an MP4: ffmpeg answers
