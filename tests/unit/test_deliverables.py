"""Issue 39, "deliverables a post house accepts", with real ffmpeg on tiny media the tests make:
every deliverable tagged BT.709 in TV range with its colours where the source had them; the
mezzanine the pass's own frames (not a re-encode of the web cut) with a timecode track; a film's
scenes joined without a second encode where nothing changes, picture and sound in step."""
from __future__ import annotations

import re

import numpy as np
import pytest

from slate.media import probe, run
from slate.media.colour import BT709, Colour, read_colour
from slate.media.cut import make_cut
from slate.media.ffmpeg import pipe
from slate.media.mp4 import read_track
from slate.media.finish import FinishPlan, FinishShot, deliverable_problems, finish, finish_args
from slate.media.probe import streams

W, H, FPS = 256, 144, 12   # DNxHR's smallest frame is 256x120


def _clip(path, seconds, *, source="testsrc2", tone: int | None = 300):
    """A clip as a provider leaves it: H.264 with no colour tags (swscale's BT.601 from RGB)."""
    args = ["-nostdin", "-y", "-f", "lavfi", "-i", f"{source}{':' if '=' in source else '='}s={W}x{H}:r={FPS}:d={seconds}"]
    if tone:
        args += ["-f", "lavfi", "-i", f"sine=f={tone}:d={seconds}:sample_rate=48000", "-c:a", "aac", "-shortest"]
    run(args + ["-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)])
    return str(path)


def _rgb(path) -> np.ndarray:
    """Every frame decoded to RGB as a player would: by the matrix and range the file declares."""
    raw = pipe(["-nostdin", "-hide_banner", "-loglevel", "error", "-protocol_whitelist", "file", "-i", str(path),
                "-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
    return np.frombuffer(raw, np.uint8).reshape(-1, H, W, 3).astype(np.float64)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255 ** 2 / np.mean((a - b) ** 2)))


def _frames(path) -> list[tuple[int, str]]:
    """Each decoded picture's presentation time (in frames) and md5."""
    done = run(["-nostdin", "-hide_banner", "-loglevel", "error", "-protocol_whitelist", "file", "-i", str(path),
                "-map", "0:v:0", "-f", "framemd5", "-"])
    rows = [line.split(",") for line in done.stdout.splitlines() if line and not line.startswith("#")]
    return [(int(r[2]), r[5].strip()) for r in rows]


@pytest.mark.parametrize("field, colour", [
    ("yuv420p(tv, bt709, progressive)", BT709),
    ("yuv422p10le(tv, bt709/unknown/unknown, progressive)", Colour("unknown", "unknown", "bt709", "tv")),
    ("yuv420p(pc, smpte170m/bt470bg/smpte170m)", Colour("bt470bg", "smpte170m", "smpte170m", "pc")),
    ("yuv420p(progressive)", None),
    ("yuv420p", None),
])
def test_colour_tags_are_read_as_ffmpeg_prints_them(field, colour):
    assert read_colour(field) == colour


def test_every_deliverable_is_tagged_bt709_tv_range_and_keeps_the_sources_colours(tmp_path):
    """The cut and the mezzanine say BT.709, TV range; decoded as they say, a saturated patch is
    the colour its clip decodes to — a clip that declares nothing (swscale's BT.601) and one
    tagged BT.709 alike, side by side in one cut (a tag without converting shifts it some 12 levels)."""
    untagged = _clip(tmp_path / "red.mp4", 1, source="color=c=0xc03020")
    assert streams(untagged).colour is None
    tagged = tmp_path / "red-709.mp4"
    finish(FinishPlan(shots=[FinishShot(untagged, 1, has_audio=True)], width=W, height=H, fps=FPS), tagged)
    assert streams(tagged).colour == BT709
    plan = FinishPlan(shots=[FinishShot(untagged, 1, has_audio=True), FinishShot(str(tagged), 1, has_audio=True)],
                      width=W, height=H, fps=FPS)
    done = finish(plan, tmp_path / "cut.mp4", mezzanine=("prores_proxy", tmp_path / "cut.mov"))
    assert deliverable_problems(done, plan) == []
    source = _rgb(untagged)[:, 40:100, 60:200].mean(axis=(0, 1, 2))
    for made in (tmp_path / "cut.mp4", tmp_path / "cut.mov"):
        assert streams(made).colour == BT709, made
        frames = _rgb(made)
        for half in (frames[2:FPS - 2], frames[FPS + 2:-2]):   # each shot's, clear of the cut
            shown = half[:, 40:100, 60:200].mean(axis=(0, 1, 2))
            assert np.abs(shown - source).max() <= 4.0, (made.name, source, shown)


def test_the_mezzanine_is_the_passes_own_frames_with_a_timecode_track(tmp_path):
    """The mezzanine comes out of the pass beside the web cut, not out of the web cut: the one
    ffmpeg run reads the clips and writes both; against a lossless render of the same graph the
    mezzanine is closer than one made from the web cut (the issue's third generation); it has
    the cut's frames, and a timecode track that starts at 01:00:00:00 (where the timelines start their record)."""
    clip = _clip(tmp_path / "a.mp4", 2, source="gradients")   # smooth: DNxHR LB keeps it, H.264 at crf 20 less
    plan = FinishPlan(shots=[FinishShot(clip, 2, has_audio=True, exposure=0.3)], width=W, height=H, fps=FPS)
    args = finish_args(plan, tmp_path / "cut.mp4", None, ("dnxhr_lb", tmp_path / "cut.mov"))
    inputs = [args[i + 1] for i, a in enumerate(args) if a == "-i"]
    assert clip in inputs and str(tmp_path / "cut.mp4") not in inputs and str(tmp_path / "cut.mov") in args
    done = finish(plan, tmp_path / "cut.mp4", mezzanine=("dnxhr_lb", tmp_path / "cut.mov"))
    assert deliverable_problems(done, plan) == []
    assert done.mezzanine is not None and done.mezzanine.frames == done.probe.frames == 2 * FPS
    header = run(["-nostdin", "-hide_banner", "-i", str(tmp_path / "cut.mov"), "-f", "null", "-frames:v", "1", "-"]).stderr
    assert "tmcd" in header and re.search(r"timecode\s*: 01:00:00:00", header), header

    lossless = finish_args(plan, tmp_path / "lossless.mkv", None)
    lossless[lossless.index("-crf") + 1] = "0"   # the same graph, H.264's lossless mode
    run(lossless)
    run(["-nostdin", "-y", "-i", str(tmp_path / "cut.mp4"), "-c:v", "dnxhd", "-profile:v", "dnxhr_lb",
         "-pix_fmt", "yuv422p", "-an", str(tmp_path / "from-web-cut.mov")])   # how it was made before
    truth = _rgb(tmp_path / "lossless.mkv")
    own, second_hand = _psnr(_rgb(tmp_path / "cut.mov"), truth), _psnr(_rgb(tmp_path / "from-web-cut.mov"), truth)
    print(f"mezzanine against the lossless pass: {own:.1f} dB; one made from the web cut: {second_hand:.1f} dB")
    # 4.4-5.4 dB apart alone; 1.45 dB (44.0 against 42.6) once in a fresh clone's loaded make test on
    # 2026-11-28 — the pass's noise is drawn anew each render: a margin of 1 dB still tells the two apart.
    assert own > second_hand + 1.0, (own, second_hand)


def _scene(tmp_path, name, seconds, tone):
    """A finished scene as the film's join receives it: graded, mixed, tagged."""
    plan = FinishPlan(shots=[FinishShot(_clip(tmp_path / f"{name}-clip.mp4", seconds, tone=tone), seconds,
                                        has_audio=bool(tone), exposure=0.2)], width=W, height=H, fps=FPS)
    finish(plan, tmp_path / f"{name}.mp4")
    return str(tmp_path / f"{name}.mp4")


def _silences(path) -> list[tuple[float, float]]:
    done = run(["-nostdin", "-hide_banner", "-nostats", "-i", str(path), "-map", "0:a:0",
                "-af", "silencedetect=noise=-50dB:d=0.2", "-f", "null", "-"])
    return list(zip(map(float, re.findall(r"silence_start: (-?[\d.]+)", done.stderr)),
                    map(float, re.findall(r"silence_end: ([\d.]+)", done.stderr))))


def test_agreeing_scenes_join_by_stream_copy_with_picture_and_sound_in_step(tmp_path, monkeypatch):
    """Three finished scenes (tone, silence, tone) join without the pass: every decoded picture is
    the scenes' own and lasts one frame; the silence starts and ends on the scenes' cuts to the
    millisecond (AAC copied across a join put it 21 ms late each time), though the first scene's
    sound runs 60 ms past its picture; the film cut is tagged."""
    first = _scene(tmp_path, "s1", 2, 300)
    longer = str(tmp_path / "s1-longer.mp4")   # its sound 60 ms past its last frame (as a provider's may run)
    run(["-nostdin", "-y", "-i", first, "-map", "0:v", "-map", "0:a", "-c:v", "copy", "-af", "apad=pad_dur=0.06",
         "-c:a", "aac", longer])
    scenes = [(longer, 2.0), (_scene(tmp_path, "s2", 1.5, None), 1.5), (_scene(tmp_path, "s3", 2, 500), 2.0)]
    join = FinishPlan(shots=[FinishShot(path, secs, has_audio=True) for path, secs in scenes], width=W, height=H,
                      fps=FPS)

    def no_pass(*_a, **_k):
        raise AssertionError("the pass ran: agreeing scenes must be joined by copy")
    monkeypatch.setattr("slate.media.cut.finish", no_pass)
    made = make_cut("film", join, tmp_path / "film.mp4")
    assert made.probe.frames == 66 and deliverable_problems(made, join) == []
    pictures = _frames(tmp_path / "film.mp4")
    assert [t for t, _ in pictures] == list(range(66))   # none held or dropped
    track = read_track(tmp_path / "film.mp4")
    assert track is not None and track.frame_ticks * FPS == track.timescale   # every frame lasts one frame
    header = run(["-nostdin", "-hide_banner", "-i", str(tmp_path / "film.mp4"), "-f", "null", "-frames:v", "1", "-"])
    video = re.search(r"Video: .*", header.stderr)
    assert video and ", start " not in video.group(0), video   # the picture starts with the sound, not 21 ms after
    assert [md5 for _, md5 in pictures] == [md5 for path, _ in scenes for _, md5 in _frames(path)]
    (start, end), = _silences(tmp_path / "film.mp4")
    assert start == pytest.approx(2.0, abs=0.002) and end == pytest.approx(3.5, abs=0.002), (start, end)
    assert streams(tmp_path / "film.mp4").colour == BT709


@pytest.mark.parametrize("differs, copy_options", [
    # the same H.264 stream, its container's colour tags another's (SMPTE 170M, full range)
    ("colour tags", ["-color_primaries", "smpte170m", "-color_trc", "smpte170m", "-colorspace", "smpte170m",
                     "-color_range", "pc"]),
    # the same container tags, the stream's own parameter set another's (a decoder set up for the
    # first scene would read the second's pictures wrong)
    ("codec configuration", ["-bsf:v", "h264_metadata=colour_primaries=4:transfer_characteristics=4:"
                                       "matrix_coefficients=4"]),
])
def test_scenes_that_disagree_go_through_the_pass(tmp_path, monkeypatch, differs, copy_options):
    """A scene whose streams are not the first one's in one respect only is not joined by copy:
    the pass makes the film cut, converted and tagged like every deliverable."""
    first, other = _scene(tmp_path, "s1", 2, 300), _scene(tmp_path, "s2", 1.5, 500)
    changed = str(tmp_path / "s2-changed.mp4")
    run(["-nostdin", "-y", "-i", other, "-c", "copy", *copy_options, changed])
    assert (streams(changed).colour == BT709) == (differs != "colour tags")
    from slate.media import finish as passes
    ran: list[str] = []
    monkeypatch.setattr("slate.media.cut.finish", lambda *a, **k: ran.append(differs) or passes.finish(*a, **k))
    join = FinishPlan(shots=[FinishShot(first, 2, has_audio=True), FinishShot(changed, 1.5, has_audio=True)],
                      width=W, height=H, fps=FPS)
    made = make_cut("film", join, tmp_path / "film.mp4")
    assert ran == [differs] and deliverable_problems(made, join) == [] and made.probe.frames == 42
    assert streams(tmp_path / "film.mp4").colour == BT709


def test_the_poster_is_a_settled_frame_of_a_shot_never_a_dip_or_a_fade(tmp_path):
    """Three shots, a fade from black, a 1 s dip to white centred on the first cut (at 3.0 s: the
    third of the running time the poster was taken at before), a dissolve into the third shot,
    a fade to black: the poster's moment lies outside all of them, in the middle of the longest
    settled stretch (the second shot's 3.5..5.5 s), and its pixels are that shot's blue, not the
    dip's white."""
    from slate.media import extract_frame, load_rgb
    from slate.media.poster import settled_moment
    shots = [_clip(tmp_path / f"{c}.mp4", s, source=f"color=c={c}", tone=None)
             for c, s in (("gray", 3), ("blue", 3), ("green", 3.5))]
    plan = FinishPlan(shots=[FinishShot(shots[0], 3, transition=("dip", 1.0), dip_colour="#ffffff"),
                             FinishShot(shots[1], 3, transition=("dissolve", 0.5)), FinishShot(shots[2], 3.5)],
                      width=W, height=H, fps=FPS, fade_in=1.0, fade_out=1.2)
    assert plan.total == pytest.approx(9.0)
    finish(plan, tmp_path / "cut.mp4")
    third = load_rgb(extract_frame(tmp_path / "cut.mp4", plan.total / 3, tmp_path / "third.png")).mean((0, 1))
    assert third.min() > 240, third   # where the poster used to be taken: the dip at its whitest

    moment = settled_moment(plan)
    fade_in, dip, dissolve, fade_out = (0.0, 1.0), (2.5, 3.5), (5.5, 6.0), (7.8, 9.0)
    assert all(not a <= moment <= b for a, b in (fade_in, dip, dissolve, fade_out)), moment
    assert moment == pytest.approx(4.5)
    poster = load_rgb(extract_frame(tmp_path / "cut.mp4", moment, tmp_path / "poster.png")).mean((0, 1))
    assert poster[2] > 200 and poster[0] < 30 and poster[1] < 30, poster   # the blue shot, settled


def test_silent_scenes_join_by_copy_too(tmp_path, monkeypatch):
    """Scenes with no sound source (the pass gave each a silent track) have no loudness to hold:
    they join by copy like any agreeing scenes, silent, with no loudness (as the pass makes it)."""
    scenes = [(_scene(tmp_path, "s1", 2, None), 2.0), (_scene(tmp_path, "s2", 1.5, None), 1.5)]
    monkeypatch.setattr("slate.media.cut.finish", lambda *a, **k: pytest.fail("the pass ran for silent scenes"))
    join = FinishPlan(shots=[FinishShot(path, secs, has_audio=True) for path, secs in scenes], width=W, height=H,
                      fps=FPS)
    made = make_cut("film", join, tmp_path / "film.mp4")
    assert made.loudness is None and made.probe.frames == 42 and deliverable_problems(made, join) == []
    assert made.audio_seconds == pytest.approx(3.5, abs=1 / FPS)

