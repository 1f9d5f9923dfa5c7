"""Subtitles (media/subtitles.py): SRT and WebVTT text exact for a small case (wrapping, time
shared by length, escaping, overlaps, minimum duration, speaker names), timing through trims and
a dissolve by the finishing pass's own arithmetic, files written whole at 0644, and real ffmpeg
on a tiny MP4 the test makes: a mov_text stream muxed with picture and sound copied and read
back as the same cues, and burned-in text changing the pixels where it is drawn."""
from __future__ import annotations

import os

import numpy as np
import pytest

from slate.media import extract_frame, load_rgb, run
from slate.media.finish import FinishPlan, FinishShot
from slate.media.mp4 import read_track
from slate.media.subtitles import (CutShot, ShotLine, TimedLine, burn_in, cues, cut_length, cut_shots,
                                   extract_srt, filters, mux_subtitles, place_lines, read_srt, shot_starts, srt,
                                   subtitle_streams, vtt, write_srt, write_vtt)

NIGHT = "The diner was empty that night, except for the cook and a girl who never took off her coat."
LINES = [TimedLine("Narrator", NIGHT, 0.0, 6.0, off_screen=True),
         TimedLine("Joe", "Fish & <i>chips</i>?", 5.5, 6.0),
         TimedLine("Mara", "{\\an8}Bye -->", 10.0, 10.2)]


def test_srt_wraps_splits_by_length_names_the_off_screen_speaker_and_injects_no_markup():
    """The narrator's 101 characters (with NARRATOR: ) become two cues of two balanced lines of at
    most 42, the 6 s shared by their lengths (51 and 47 characters: 3.122 s); the second ends where
    Joe's starts; Joe's and Mara's short lines are held 5/6 s; their tags and ASS override are
    written so no reader takes them for markup; only the off-screen speaker is named."""
    assert srt(cues(LINES)) == (
        "1\n00:00:00,000 --> 00:00:03,122\nNARRATOR: The diner was\nempty that night, except for\n\n"
        "2\n00:00:03,122 --> 00:00:05,500\nthe cook and a girl who\nnever took off her coat.\n\n"
        "3\n00:00:05,500 --> 00:00:06,333\nFish & \u2039i\u203achips\u2039/i\u203a?\n\n"
        "4\n00:00:10,000 --> 00:00:10,833\n\uff5b\\an8}Bye ->\n")
    for cue in cues(LINES):
        assert len(cue.lines) <= 2 and all(len(line) <= 42 for line in cue.lines)


def test_vtt_has_its_header_dot_stamps_escapes_and_voice_spans():
    assert vtt(cues(LINES, label_in_text=False)) == (
        "WEBVTT\n\n"
        "00:00:00.000 --> 00:00:03.068\n<v Narrator>The diner was empty that\nnight, except for the\n\n"
        "00:00:03.068 --> 00:00:05.500\n<v Narrator>cook and a girl who\nnever took off her coat.\n\n"
        "00:00:05.500 --> 00:00:06.333\nFish &amp; &lt;i&gt;chips&lt;/i&gt;?\n\n"
        "00:00:10.000 --> 00:00:10.833\n{\\an8}Bye --&gt;\n")
    named = vtt(cues([TimedLine("Dr <Who> & co", "Hello.", 0, 1)], speakers="always", label_in_text=False))
    assert named.endswith("<v Dr &lt;Who&gt; &amp; co>Hello.\n")
    assert "<v" not in vtt(cues(LINES, speakers="never", label_in_text=False))


def test_cues_are_in_time_order_never_overlap_and_lines_starting_together_follow_each_other():
    made = cues([TimedLine("B", "Later.", 3.0, 4.0), TimedLine("A", "One.", 1.0, 3.0),
                 TimedLine("C", "Two.", 1.0, 3.0), TimedLine("D", "Long ago.", 3723.4564, 3725.0)])
    assert [(c.start_ms, c.end_ms, c.text) for c in made] == [
        (1000, 1833, "One."), (1833, 3000, "Two."), (3000, 4000, "Later."), (3723456, 3725000, "Long ago.")]
    assert "01:02:03,456 --> 01:02:05,000" in srt(made)
    assert all(a.end_ms <= b.start_ms for a, b in zip(made, made[1:]))
    # A line split in two cues whose second starts after another line: in time order, the
    # first cue ending where the other line starts.
    split = cues([TimedLine("N", NIGHT, 0.0, 6.0), TimedLine("B", "Meanwhile.", 1.0, 2.0)])
    assert [(c.start_ms, c.end_ms, c.lines[0]) for c in split] == [
        (0, 1000, "The diner was empty that"), (1000, 2000, "Meanwhile."), (3068, 6000, "cook and a girl who")]
    # The minimum is never stretched past the cut's end.
    assert cues([TimedLine("A", "Hi.", 1.8, 1.9)], until=2.0)[0].end_ms == 2000


def test_a_line_is_refused_without_text_or_with_its_end_before_its_start():
    with pytest.raises(ValueError, match="no text"):
        TimedLine("A", " \n ", 0, 1)
    with pytest.raises(ValueError, match="end after"):
        TimedLine("A", "Hi", 2, 1)


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600)])
def test_files_are_written_whole_and_readable_as_the_umask_allows(tmp_path, umask, mode):
    """Issue 39: readable by whom the film-maker's umask lets read — another account, a web
    server, a shared drive under 022; only the owner under 077, as asked."""
    old = os.umask(umask)
    try:
        s = write_srt(tmp_path / "scene.srt", LINES)
        v = write_vtt(tmp_path / "scene.vtt", LINES)
    finally:
        os.umask(old)
    assert oct(s.stat().st_mode & 0o777) == oct(mode) == oct(v.stat().st_mode & 0o777)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scene.srt", "scene.vtt"]   # nothing .part left
    assert s.read_text() == srt(cues(LINES)) and v.read_text() == vtt(cues(LINES, label_in_text=False))


# --- timing through the edit ------------------------------------------------------------------

RECORD = [  # as tasks/edit/export.py's timeline record keeps them
    {"shot": "s1", "media": "/a.mp4", "seconds": 3.0, "trim_in": 0.0, "trim_out": 0.5, "transition": ["dissolve", 1.0]},
    {"shot": "s2", "media": "/b.mp4", "seconds": 4.0, "trim_in": 1.0, "trim_out": 0.0, "transition": ["cut", 0]},
    {"shot": "s3", "media": None, "seconds": 2.0, "trim_in": 0.0, "trim_out": 0.0, "transition": ["cut", 0]},
    {"shot": "s4", "media": "/d.mp4", "seconds": 2.0, "trim_in": 0.0, "trim_out": 0.0, "transition": ["cut", 0]},
]


def test_lines_follow_the_cut_through_trims_and_a_dissolve():
    """s1 keeps 0–2.5 s and dissolves for 1 s into s2 (kept from 1 s), so s2 starts at 1.5 s and
    s4 at 4.5 s (s3 is not in the cut) — the starts the finishing pass cuts the picture at."""
    shots = cut_shots(RECORD)
    assert [s.shot for s in shots] == ["s1", "s2", "s4"]
    plan = FinishPlan([FinishShot(f"/{s.shot}", s.seconds, trim_in=s.trim_in, trim_out=s.trim_out,
                                  transition=s.transition) for s in shots], 64, 36, 12)
    assert shot_starts(shots) == plan.starts() == [0.0, 1.5, 4.5]
    assert cut_length(shots) == plan.total == 6.5
    lines = [ShotLine("s1", "A", "under the dissolve", 1.8, 0.5),
             ShotLine("s1", "A", "into the trim out", 2.2, 0.7),
             ShotLine("s1", "A", "all trimmed", 2.6, 0.4),
             ShotLine("s2", "B", "into the trim in", 0.5, 1.0),
             ShotLine("s2", "B", "whole", 2.0, 1.0),
             ShotLine("s3", "C", "escalated shot", 0.0, 1.0),
             ShotLine("s4", "D", "last", 0.5, 1.0),
             ShotLine("s2", "B", "a sliver left", 0.0, 1.1)]
    placed = place_lines(lines, shots, start=10.0)
    got = [(p.line.text, p.fate, p.timed and (round(p.timed.start - 10, 6), round(p.timed.end - 10, 6)))
           for p in placed]
    assert got == [("under the dissolve", "kept", (1.8, 2.3)),
                   ("into the trim out", "clipped", (2.2, 2.5)),
                   ("all trimmed", "dropped", None),
                   ("into the trim in", "clipped", (1.5, 2.0)),
                   ("whole", "kept", (2.5, 3.5)),
                   ("escalated shot", "dropped", None),
                   ("last", "kept", (5.0, 6.0)),
                   ("a sliver left", "dropped", None)]
    assert "not in the cut" in placed[5].reason and "trims of shot s1" in placed[2].reason
    assert "keep 2.2s to 2.5s" in placed[1].reason


# --- into the MP4 and back ------------------------------------------------------------------

W, H, FPS, SECONDS = 160, 90, 12, 1.5


@pytest.fixture(scope="module")
def tiny_mp4(tmp_path_factory):
    path = tmp_path_factory.mktemp("subs") / "tiny.mp4"
    run(["-nostdin", "-y", "-f", "lavfi", "-i", f"testsrc=s={W}x{H}:r={FPS}:d={SECONDS}",
         "-f", "lavfi", "-i", f"sine=f=440:d={SECONDS}:sample_rate=48000",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path)])
    return path


SHORT = [TimedLine("Mara", "Fish & <chips>, now!", 0.1, 0.7, off_screen=True), TimedLine("Joe", "Hi there.", 0.8, 1.4)]


@pytest.mark.parametrize("fmt", ["srt", "vtt"])
def test_a_mov_text_stream_is_muxed_with_picture_and_sound_copied_and_reads_back_the_same(tiny_mp4, tmp_path, fmt):
    subs = (write_srt if fmt == "srt" else write_vtt)(tmp_path / f"cut.{fmt}", SHORT)
    out = mux_subtitles(tiny_mp4, subs, tmp_path / "cut.mp4", language="fra")
    streams = subtitle_streams(out)
    # Not shown unasked (issue 57: ffmpeg's MP4 muxer marked the only subtitle stream default).
    assert [(s.codec, s.language, s.default) for s in streams] == [("mov_text", "fra", False)]
    assert subtitle_streams(tiny_mp4) == []
    shown = mux_subtitles(tiny_mp4, subs, tmp_path / "shown.mp4", language="fra", default=True)
    assert [s.default for s in subtitle_streams(shown)] == [True]
    before, after = read_track(tiny_mp4), read_track(out)
    assert before is not None and after is not None
    assert (after.config, after.frames) == (before.config, before.frames)   # the same coded picture
    assert after.other_tracks == before.other_tracks + 1                     # its sound and the subtitles
    back = read_srt(extract_srt(out, tmp_path / "back.srt").read_text())
    # The timing and the text come back; a VTT's voice span does not survive ffmpeg's WebVTT
    # reader (the module's docstring: mux the SRT to keep an off-screen speaker's name).
    expected = read_srt(subs.read_text()) if fmt == "srt" else cues(SHORT, label_in_text=False)
    assert [(c.start_ms, c.end_ms, c.lines) for c in back] == [(c.start_ms, c.end_ms, c.lines) for c in expected]
    assert back[0].text == ("MARA: Fish & \u2039chips\u203a, now!" if fmt == "srt" else "Fish & <chips>, now!")


def test_a_bad_language_or_format_is_refused(tiny_mp4, tmp_path):
    subs = write_srt(tmp_path / "a.srt", SHORT)
    with pytest.raises(ValueError, match="ISO 639-2"):
        mux_subtitles(tiny_mp4, subs, tmp_path / "o.mp4", language="english")
    with pytest.raises(ValueError, match=".srt or .vtt"):
        mux_subtitles(tiny_mp4, tmp_path / "a.ass", tmp_path / "o.mp4")


def _changed(a_png, b_png) -> tuple[int, int]:
    """Pixels changed by more than re-encoding does (a mean of 48 of 255 over R, G, B), in the
    bottom third (where subtitles sit) and the top third of the frame."""
    a, b = load_rgb(a_png).astype(float), load_rgb(b_png).astype(float)
    moved = np.abs(a - b).mean(axis=2) > 48
    return int(moved[2 * H // 3:].sum()), int(moved[:H // 3].sum())


@pytest.mark.parametrize("method", ["subtitles", "drawtext"])
def test_burned_in_text_changes_the_pixels_where_it_is_drawn_and_only_while_it_is_on(tiny_mp4, tmp_path, method):
    assert method in filters()   # imageio-ffmpeg's build has libass and freetype
    subs = write_srt(tmp_path / "b.srt", [TimedLine("Joe", "WWWW MMMM WWWW", 0.0, 0.6)])
    out = burn_in(tiny_mp4, subs, tmp_path / "burned.mp4", method=method)
    track = read_track(out)
    assert track is not None and track.frames == read_track(tiny_mp4).frames and track.other_tracks == 1
    on = [extract_frame(p, 0.3, tmp_path / f"{k}-on.png") for k, p in (("a", tiny_mp4), ("b", out))]
    off = [extract_frame(p, 1.1, tmp_path / f"{k}-off.png") for k, p in (("a", tiny_mp4), ("b", out))]
    bottom_on, top_on = _changed(*on)
    bottom_off, top_off = _changed(*off)
    assert bottom_on > 100 and max(top_on, bottom_off, top_off) < 10, (bottom_on, top_on, bottom_off, top_off)
