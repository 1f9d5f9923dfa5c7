"""A film's subtitles from its scenes' (tasks/subtitles.subtitle_film): each scene's cues moved by
the length of the scenes before it, none past its own scene's end, written beside the film's cut
as .srt and .vtt and carried in it as a mov_text stream with the picture untouched."""
from __future__ import annotations

import subprocess

from slate.media.ffmpeg import ffmpeg_exe
from slate.media.subtitles import SubtitleCue, extract_srt, read_srt, srt, subtitle_streams
from slate.tasks.edit.subtitles import subtitle_film


def _cut(path, seconds: float) -> None:
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc=size=160x90:rate=24:d={seconds}",
                    "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-shortest",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", str(path)], check=True)


def test_the_films_cues_follow_its_scenes(tmp_path):
    one, three = tmp_path / "scene-01.srt", tmp_path / "scene-03.srt"
    one.write_text(srt([SubtitleCue(250, 1200, ("Almost there.",)),
                        SubtitleCue(1500, 2600, ("GABE: Coffee, black.",))]))        # runs past its 2.5 s
    three.write_text(srt([SubtitleCue(100, 900, ("Night fell.",))]))
    film = tmp_path / "night-diner-draft.mp4"
    _cut(film, 2.5 + 1.0 + 1.5)
    before = film.read_bytes()

    made = subtitle_film([(one, 2.5), (None, 1.0), (three, 1.5)], film)      # scene-02 has no line

    assert set(made) == {".srt", ".vtt"} and made[".srt"] == film.with_suffix(".srt")
    cues = read_srt(made[".srt"].read_text())
    assert [(c.start_ms, c.end_ms, c.text) for c in cues] == [
        (250, 1200, "Almost there."), (1500, 2500, "GABE: Coffee, black."),       # cut at its scene's end
        (3600, 4400, "Night fell.")]                                              # after 2.5 + 1.0 s
    assert made[".vtt"].read_text().startswith("WEBVTT") and "00:00:03.600 --> 00:00:04.400" in made[".vtt"].read_text()
    [stream] = subtitle_streams(film)
    assert stream.codec == "mov_text" and film.read_bytes() != before
    back = read_srt(extract_srt(film, tmp_path / "back.srt").read_text())
    assert [(c.start_ms, c.text) for c in back] == [(c.start_ms, c.text) for c in cues]


def test_a_film_whose_scenes_have_no_line_is_left_as_it_was(tmp_path):
    film = tmp_path / "night-diner-draft.mp4"
    _cut(film, 1.0)
    before = film.read_bytes()
    assert subtitle_film([(None, 1.0)], film) == {}
    assert film.read_bytes() == before and not film.with_suffix(".srt").exists()
