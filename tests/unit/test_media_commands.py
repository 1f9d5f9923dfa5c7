"""media.commands argument lists and media.probe.parse_probe on captured ffmpeg text."""

from fractions import Fraction

import pytest

from slate.media import commands as c
from slate.media.probe import parse_probe

# Captured once from this ffmpeg build (n9.0.2): stderr of count_frames_args() on a
# 2 s 160x96 12 fps H.264 + AAC mp4 (header, stream mapping, output, final progress line).
CAPTURED = (
    "Input #0, mov,mp4,m4a,3gp,3g2,mj2, from '/tmp/t.mp4':\n  Metadata:\n    major_brand     : isom\n"
    "    minor_version   : 512\n    compatible_brands: isomiso2avc1mp41\n    encoder         : Lavf63.1.102\n"
    "  Duration: 00:00:02.00, start: 0.000000, bitrate: 101 kb/s\n"
    "  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive), 160x96 "
    "[SAR 1:1 DAR 5:3], 21 kb/s, 12 fps, 12 tbr, 12288 tbn (default)\n    Metadata:\n"
    "      handler_name    : VideoHandler\n      encoder         : Lavc63.1.102 libx264\n"
    "  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, mono, fltp, 69 kb/s (default)\n"
    "    Metadata:\n      handler_name    : SoundHandler\nStream mapping:\n"
    "  Stream #0:0 -> #0:0 (h264 (native) -> wrapped_avframe (native))\nOutput #0, null, to 'pipe:':\n"
    "  Metadata:\n    major_brand     : isom\n    minor_version   : 512\n"
    "    compatible_brands: isomiso2avc1mp41\n    encoder         : Lavf63.1.102\n"
    "  Stream #0:0(und): Video: wrapped_avframe, yuv420p(progressive), 160x96 [SAR 1:1 DAR 5:3], "
    "q=2-31, 200 kb/s, 12 fps, 12 tbn (default)\n    Metadata:\n"
    "      encoder         : Lavc63.1.102 wrapped_avframe\n      handler_name    : VideoHandler\n"
    "[out#0/null @ 0x556ed21ea740] video:10KiB audio:0KiB subtitle:0KiB other streams:0KiB "
    "global headers:0KiB muxing overhead: unknown\n"
    "frame=   12 fps=0.0 q=-0.0 size=N/A time=00:00:01.00 bitrate=N/A speed= 300x\r"
    "frame=   24 fps=0.0 q=-0.0 Lsize=N/A time=00:00:02.00 bitrate=N/A speed= 350x elapsed=0:00:00.00    \n"
)


def _after(args, flag):
    return args[args.index(flag) + 1]


def test_still_clip_static_args():
    a = c.still_clip_args("in.png", "out.mp4", width=160, height=96, fps=24, seconds=3, movement="static")
    assert a[:5] == ["-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    assert a[a.index("-loop"):a.index("-loop") + 6] == ["-loop", "1", "-framerate", "24", "-i", "in.png"]
    assert a[a.index("-loop") - 2:a.index("-loop")] == ["-protocol_whitelist", "file"]
    assert _after(a, "-frames:v") == "72"
    assert _after(a, "-c:v") == "libx264" and _after(a, "-pix_fmt") == "yuv420p"
    assert _after(a, "-movflags") == "+faststart" and "-an" in a
    assert _after(a, "-preset") == "veryfast" and _after(a, "-crf") == "23" and _after(a, "-r") == "24"
    assert _after(a, "-vf") == ("scale=160:96:force_original_aspect_ratio=increase,crop=160:96,"
                                "setsar=1,format=yuv420p")
    assert a[-1] == "out.mp4"


def test_still_clip_moves_start_at_panel_framing():
    """A move is the panel framed once, looped a frame at a time and warped: its window's four
    corners placed in real numbers (below a pixel), at zoom 1 and no offset on frame 0."""
    for mv in ("dolly_in", "pan_left", "pan_right", "tilt_up", "tilt_down"):
        vf = _after(c.still_clip_args("i.png", "o.mp4", width=854, height=480, fps=12, seconds=2,
                                      movement=mv), "-vf")
        assert vf.startswith("trim=end_frame=1,scale=854:480:force_original_aspect_ratio=increase,crop=854:480")
        assert "loop=loop=23:size=1:start=0,setpts=N/(12)/TB" in vf
        assert "perspective=" in vf and ":sense=source:eval=frame:interpolation=linear" in vf
        assert "W/(1+" in vf and "zoompan" not in vf
    vf = _after(c.still_clip_args("i.png", "o.mp4", width=854, height=480, fps=12, seconds=2,
                                  movement="dolly_out"), "-vf")
    assert "W/(1.15-0.15*" in vf
    pan_right = _after(c.still_clip_args("i.png", "o.mp4", width=160, height=96, fps=12, seconds=1,
                                         movement="pan_right"), "-vf")
    assert "x0='(W-W/(1+" in pan_right and "y0='((H-H/(1+" in pan_right


def test_still_clip_start_end_crossfades_to_exact_end():
    a = c.still_clip_args("s.png", "o.mp4", width=160, height=96, fps=Fraction(30000, 1001), seconds=2,
                          movement="static", end_png="e.png")
    assert a.count("-protocol_whitelist") == 2 and a.count("-loop") == 2
    assert _after(a, "-framerate") == "30000/1001" and _after(a, "-frames:v") == "60"
    g = _after(a, "-filter_complex")
    # fade spans frames-1 = 59 frame intervals: 59 * 1001/30000 s, so the last frame is pure end
    assert "[a][b]xfade=transition=fade:duration=1.968633:offset=0[v]" in g
    assert g.count("settb=AVTB") == 2
    assert _after(a, "-map") == "[v]"


def test_still_clip_rejects_bad_input():
    with pytest.raises(ValueError):
        c.still_clip_args("i", "o", width=161, height=96, fps=12, seconds=1, movement="static")
    with pytest.raises(ValueError):
        c.still_clip_args("i", "o", width=160, height=96, fps=12, seconds=1, movement="spin")


def test_concat_offsets_and_frames():
    a = c.concat_args([("a.mp4", 2.0), ("b.mp4", 3.0), ("c.mp4", 1.5)], "o.mp4",
                      transitions=[("dissolve", 0.5), ("cut", 0)], fps=24, width=854, height=480)
    g = _after(a, "-filter_complex")
    assert "[v0][v1]xfade=transition=fade:duration=0.5:offset=1.5[x1]" in g
    assert "[x1][v2]concat=n=2:v=1:a=0[x2]" in g
    assert g.count("scale=854:480,setsar=1,fps=24,format=yuv420p,settb=AVTB") == 3
    assert _after(a, "-frames:v") == str(round((2 + 3 + 1.5 - 0.5) * 24))
    assert [a[i + 1] for i, x in enumerate(a) if x == "-i"] == ["a.mp4", "b.mp4", "c.mp4"]
    # cut first, then dissolve: offset is the running length (2+3) minus d
    g2 = _after(c.concat_args([("a", 2.0), ("b", 3.0), ("c", 1.5)], "o", transitions=[("cut", 0), ("dissolve", 1)],
                              fps=24, width=160, height=96), "-filter_complex")
    assert "xfade=transition=fade:duration=1:offset=4[x2]" in g2
    with pytest.raises(ValueError):
        c.concat_args([("a", 1.0), ("b", 1.0)], "o", transitions=[], fps=24, width=160, height=96)
    with pytest.raises(ValueError):
        c.concat_args([("a", 1.0), ("b", 1.0)], "o", transitions=[("dissolve", 2)], fps=24, width=160, height=96)


def test_one_dissolve_rule_for_the_stitch_and_the_preflight():
    """dissolve_misfits is the rule; concat_args refuses exactly what it names."""
    seconds = [2.5, 3.0, 3.5, 2.5]
    example = [("cut", 0), ("dissolve", 0.75), ("cut", 0)]          # the example film's 0.75 s dissolve
    assert c.dissolve_misfits(seconds, example) == []
    c.concat_args([(f"{i}.mp4", s) for i, s in enumerate(seconds)], "o", transitions=example, fps=24, width=160,
                  height=96)
    cases = {
        "leaves": ([2.0, 3.0], [("dissolve", 2.0)], 0, "shorter than the shot it leaves (1A, 2s)"),
        "enters": ([3.0, 2.0], [("dissolve", 2.0)], 0, "shorter than the shot it enters (1B, 2s)"),
        "both ways": ([3.0, 3.0, 3.0], [("dissolve", 1.5), ("dissolve", 1.5)], 1,
                      "1B (3s) is shorter than its two dissolves together (1.5s in + 1.5s out)"),
        "zero": ([3.0, 3.0], [("dissolve", 0)], 0, "longer than 0s"),
    }
    for name, (secs, transitions, index, why) in cases.items():
        [(i, message)] = c.dissolve_misfits(secs, transitions, labels=[f"1{chr(65 + k)}" for k in range(len(secs))])
        assert i == index and why in message, (name, message)
        with pytest.raises(ValueError, match="does not fit"):
            c.concat_args([(f"{k}.mp4", s) for k, s in enumerate(secs)], "o", transitions=transitions, fps=24,
                          width=160, height=96)


def test_frame_and_probe_args():
    assert c.frame_at_args("v.mp4", "f.png", seconds=1.25)[5:7] == ["-ss", "1.25"]
    last = c.last_frame_args("v.mp4", "l.png")
    assert _after(last, "-sseof") == "-1" and _after(last, "-update") == "1"
    for a in (c.probe_args("v.mp4"), c.count_frames_args("v.mp4")):
        assert _after(a, "-protocol_whitelist") == "file" and a[-3:] == ["-f", "null", "-"]
        assert "-loglevel" not in a  # stderr is parsed


def test_parse_probe_captured():
    p = parse_probe(CAPTURED, CAPTURED)
    assert (p.width, p.height, p.codec, p.pix_fmt) == (160, 96, "h264", "yuv420p")
    assert p.fps == Fraction(12) and p.frames == 24 and p.duration == 2.0
    assert p.container_duration == 2.0 and p.has_audio is True


def test_parse_probe_ntsc_no_audio():
    header = ("  Duration: 00:01:02.50, start: 0.000000, bitrate: 900 kb/s\n"
              "  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(tv, bt709, progressive), "
              "854x480 [SAR 1:1 DAR 427:240], 800 kb/s, 29.97 fps, 29.97 tbr, 30k tbn (default)\n")
    p = parse_probe(header, "frame= 1873 fps=0.0 q=-0.0 Lsize=N/A time=00:01:02.49\n")
    assert p.fps == Fraction(30000, 1001) and p.frames == 1873 and not p.has_audio
    assert p.pix_fmt == "yuv420p" and (p.width, p.height) == (854, 480)
    assert abs(p.duration - 1873 * 1001 / 30000) < 1e-9 and p.container_duration == 62.5
    with pytest.raises(ValueError):
        parse_probe("garbage", "")
