"""The finishing pass with real ffmpeg on tiny media the tests make: loudness at the target
(measured with ebur128), sound exactly as long as picture shot by shot, model audio kept, the
LUT moving colours where the .cube says, and the .cube reader refusing bad LUTs by line."""
from __future__ import annotations

import re

import numpy as np
import pytest

from slate.media import extract_frame, load_rgb, run
from slate.media.cube import CubeError, parse_cube, read_cube
from slate.media.finish import FinishCue, FinishPlan, FinishShot, deliverable_problems, finish, loudness, read_audio

W, H, FPS = 64, 36, 12


def _clip(path, seconds, *, colour="gray", tone: int | None = None):
    args = ["-nostdin", "-y", "-f", "lavfi", "-i", f"color=c={colour}:s={W}x{H}:r={FPS}:d={seconds}"]
    if tone:
        args += ["-f", "lavfi", "-i", f"sine=f={tone}:d={seconds}:sample_rate=48000", "-c:a", "aac", "-shortest"]
    run(args + ["-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)])
    return str(path)


def _tone(path, seconds, freq=220):
    run(["-nostdin", "-y", "-f", "lavfi", "-i", f"sine=f={freq}:d={seconds}:sample_rate=44100", str(path)])
    return str(path)


def _cube(path, red_gain: float, size: int = 2):
    rows = [f"{r / (size - 1) * red_gain:.6f} {g / (size - 1):.6f} {b / (size - 1):.6f}"
            for b in range(size) for g in range(size) for r in range(size)]
    path.write_text(f"TITLE \"test\"\nLUT_3D_SIZE {size}\n" + "\n".join(rows) + "\n")
    return str(path)


def _silences(path) -> list[tuple[float, float]]:
    done = run(["-nostdin", "-hide_banner", "-nostats", "-i", str(path), "-map", "0:a:0",
                "-af", "silencedetect=noise=-50dB:d=0.2", "-f", "null", "-"])
    starts = [float(x) for x in re.findall(r"silence_start: (-?[\d.]+)", done.stderr)]
    ends = [float(x) for x in re.findall(r"silence_end: ([\d.]+)", done.stderr)]
    return list(zip(starts, ends + [float("inf")] * (len(starts) - len(ends))))


def test_a_scene_is_mixed_to_its_loudness_target_with_every_part(tmp_path):
    """A silent clip, a clip with the model's sound dissolving into it, a dip to white, music
    ducked under a line of dialogue: the cut is the edit's length, its sound as long as its
    picture, and it measures the target within 1 LU, true peak at or under -1 dBTP."""
    a = _clip(tmp_path / "a.mp4", 2.5)
    b = _clip(tmp_path / "b.mp4", 3, tone=300)
    c = _clip(tmp_path / "c.mp4", 2, colour="red")
    music = _tone(tmp_path / "music.wav", 10)
    run(["-nostdin", "-y", "-f", "lavfi", "-i", "anoisesrc=d=1.5:a=0.2", str(tmp_path / "line.wav")])
    plan = FinishPlan(
        shots=[FinishShot(a, 2.5, transition=("dissolve", 0.5), exposure=0.3),
               FinishShot(b, 3, has_audio=True, trim_in=0.5, transition=("dip", 1.0), dip_colour="#ffffff"),
               FinishShot(c, 2, saturation=0.5)],
        width=W, height=H, fps=FPS, target_lufs=-16.0,
        cues=[FinishCue(music, "music", 0.0, 10.0, fade_in=1, fade_out=1, gain_db=-6, ducks=True),
              FinishCue(str(tmp_path / "line.wav"), "dialogue", 1.0, 1.5)],
        fade_in=0.5, fade_out=0.5)
    done = finish(plan, tmp_path / "out.mp4")
    assert plan.total == pytest.approx(2.5 + 2.5 + 2 - 0.5)
    assert deliverable_problems(done, plan) == []
    measured = loudness(tmp_path / "out.mp4")
    assert abs(measured.integrated - (-16.0)) <= 1.0, measured
    assert measured.true_peak <= -1.0 + 0.3, measured   # loudnorm's ceiling, ebur128's reading
    assert abs(done.audio_seconds - done.probe.duration) <= 1 / FPS


def test_silence_lasts_exactly_as_long_as_each_silent_clip_and_model_audio_is_kept(tmp_path):
    """Shot 1 has no sound, shot 2 the model's tone, shot 3 none: the tone is heard from the
    frame shot 2 starts to the frame it ends, and nowhere else (picture and sound never drift)."""
    plan = FinishPlan(shots=[FinishShot(_clip(tmp_path / "a.mp4", 2), 2),
                             FinishShot(_clip(tmp_path / "b.mp4", 3, tone=440), 3, has_audio=True, trim_in=0.5),
                             FinishShot(_clip(tmp_path / "c.mp4", 2), 2)],
                      width=W, height=H, fps=FPS, target_lufs=-23.0)
    done = finish(plan, tmp_path / "out.mp4")
    assert done.loudness is not None and abs(done.loudness.integrated + 23) <= 1.0, done.loudness
    silences = _silences(tmp_path / "out.mp4")
    assert len(silences) == 2, silences
    (s1, e1), (s2, e2) = silences
    frame = 1 / FPS
    assert s1 == pytest.approx(0, abs=frame) and e1 == pytest.approx(2.0, abs=frame), silences
    assert s2 == pytest.approx(4.5, abs=frame), silences
    assert done.audio_seconds == pytest.approx(6.5, abs=frame)


def test_one_line_heard_twice_is_mixed_at_both_places(tmp_path):
    """The same line spoken twice word for word is one take, one WAV: read once and split, it is
    heard where each cue puts it (the graph builder merged two reads of one file, and the scene's
    finish failed: 'multiple outgoing edges … a split filter is probably required')."""
    line = _tone(tmp_path / "line.wav", 1.0, freq=330)
    plan = FinishPlan(shots=[FinishShot(_clip(tmp_path / "a.mp4", 3), 3), FinishShot(_clip(tmp_path / "b.mp4", 3), 3)],
                      width=W, height=H, fps=FPS, target_lufs=-23.0,
                      cues=[FinishCue(line, "dialogue", 0.5, 1.0), FinishCue(line, "dialogue", 4.0, 1.0),
                            FinishCue(line, "dialogue", 9.0, 1.0)])     # past the cut's end: not heard
    done = finish(plan, tmp_path / "out.mp4")
    assert deliverable_problems(done, plan) == []
    heard = [(s, e) for s, e in zip([0.0] + [e for _, e in _silences(tmp_path / "out.mp4")],
                                    [s for s, _ in _silences(tmp_path / "out.mp4")]) if e - s > 0.2]
    assert [round(s, 1) for s, _ in heard] == [0.5, 4.0], _silences(tmp_path / "out.mp4")


def test_a_cut_without_any_sound_source_gets_a_silent_track_of_its_length(tmp_path):
    plan = FinishPlan(shots=[FinishShot(_clip(tmp_path / "a.mp4", 2), 2, transition=("dissolve", 0.5)),
                             FinishShot(_clip(tmp_path / "b.mp4", 2), 2)], width=W, height=H, fps=FPS)
    done = finish(plan, tmp_path / "out.mp4")
    assert done.loudness is None and done.probe.has_audio
    assert done.audio_seconds == pytest.approx(3.5, abs=1 / FPS)
    assert deliverable_problems(done, plan) == []


def test_the_lut_moves_the_frames_colour_as_the_cube_says(tmp_path):
    clip = _clip(tmp_path / "grey.mp4", 2, colour="0x808080")
    cube_path = tmp_path / "warm.cube"
    lut = _cube(cube_path, 0.5)
    plain = finish(FinishPlan(shots=[FinishShot(clip, 2)], width=W, height=H, fps=FPS), tmp_path / "plain.mp4")
    graded = finish(FinishPlan(shots=[FinishShot(clip, 2)], width=W, height=H, fps=FPS, lut=lut),
                    tmp_path / "graded.mp4")
    assert plain.probe.duration == graded.probe.duration
    before = load_rgb(extract_frame(tmp_path / "plain.mp4", 1.0, tmp_path / "a.png")).reshape(-1, 3).mean(0) / 255
    after = load_rgb(extract_frame(tmp_path / "graded.mp4", 1.0, tmp_path / "b.png")).reshape(-1, 3).mean(0) / 255
    expected = np.array(read_cube(cube_path).apply(tuple(before)))
    assert np.abs(after - expected).max() < 0.03, (before, after, expected)
    assert after[0] < before[0] - 0.15   # red halved; green and blue where they were
    assert abs(after[1] - before[1]) < 0.03


@pytest.mark.parametrize("text, line, words", [
    ("LUT_1D_SIZE 2\n0 0 0\n1 1 1\n", 1, "1D LUT"),
    ("LUT_3D_SIZE 1\n", 1, "from 2 to"),
    ("LUT_3D_SIZE 2\n" + "0 0 0\n" * 7, 0, "needs 8 rows"),
    ("LUT_3D_SIZE 2\n" + "0 0 0\n" * 6 + "0 1.5 0\n0 0 0\n", 8, "outside 0..1"),
    ("LUT_3D_SIZE 2\n" + "0 0 0\n" * 7 + "0 x 0\n", 9, "not three numbers"),
    ("0 0 0\n", 1, "before LUT_3D_SIZE"),
    ("hello\n", 1, "unknown keyword"),
])
def test_a_bad_cube_is_refused_naming_its_line(text, line, words):
    with pytest.raises(CubeError) as err:
        parse_cube(text)
    assert err.value.line == line and words in str(err.value), str(err.value)


def test_read_audio_reads_length_and_rate(tmp_path):
    audio = read_audio(_tone(tmp_path / "t.wav", 1.5))
    assert audio.sample_rate == 44100 and audio.seconds == pytest.approx(1.5, abs=0.03)


def test_read_audio_is_kept_by_the_files_bytes_in_the_suites_memo_and_a_failure_never(tmp_path, monkeypatch):
    """Under the suite's session memo a copy of a cue file (another path, the same bytes) is
    answered from the one entry its first decode left; other bytes are decoded; a file that does
    not decode raises each time and leaves nothing. Counted where it lands: the memo's files."""
    import shutil

    from slate.media import MediaError
    from slate.media.session_memo import MEMO
    memo = tmp_path / "memo"
    monkeypatch.setenv(MEMO, str(memo))
    first = read_audio(_tone(tmp_path / "a.wav", 1.5))
    copy = shutil.copyfile(tmp_path / "a.wav", tmp_path / "copy.wav")
    assert read_audio(copy) == first and len(list(memo.glob("audio-*"))) == 1
    other = read_audio(_tone(tmp_path / "b.wav", 0.5))
    assert other.seconds == pytest.approx(0.5, abs=0.03) and len(list(memo.glob("audio-*"))) == 2
    (tmp_path / "bad.wav").write_bytes(b"RIFF not audio")
    for _ in range(2):
        with pytest.raises(MediaError):
            read_audio(tmp_path / "bad.wav")
    assert len(list(memo.glob("audio-*"))) == 2


@pytest.mark.parametrize("kind, codec", [("prores_proxy", "prores"), ("dnxhr_lb", "dnxhd")])
def test_the_editors_mezzanine_and_poster_probe_as_the_cut(tmp_path, kind, codec):
    from slate.media import probe
    from slate.media.finish import poster_args
    # DNxHR's smallest frame is 256x120: the pass scales the tiny clip up to it.
    plan = FinishPlan(shots=[FinishShot(_clip(tmp_path / "a.mp4", 2, tone=440), 2, has_audio=True)],
                      width=256, height=144, fps=FPS)
    done = finish(plan, tmp_path / "cut.mp4", mezzanine=(kind, tmp_path / "cut.mov"))
    mez = probe(tmp_path / "cut.mov")
    assert done.mezzanine == mez and deliverable_problems(done, plan) == []
    assert mez.codec == codec and mez.has_audio and abs(mez.duration - done.probe.duration) <= 1 / FPS
    run(poster_args(tmp_path / "cut.mp4", tmp_path / "poster.png", 1.0))
    assert load_rgb(tmp_path / "poster.png").shape == (144, 256, 3)


def test_a_long_pass_says_how_far_it_is(tmp_path):
    heard: list[float] = []
    plan = FinishPlan(shots=[FinishShot(_clip(tmp_path / "a.mp4", 4, tone=300), 4, has_audio=True)],
                      width=W, height=H, fps=FPS)
    done = finish(plan, tmp_path / "out.mp4", heard.append)
    assert heard and heard == sorted(heard) and heard[-1] == pytest.approx(1.0, abs=0.05), heard
    assert deliverable_problems(done, plan) == []


def test_a_one_scene_films_join_keeps_its_finished_scene_and_encodes_only_what_is_not_the_deliverable(tmp_path):
    """The film's join of one finished scene (one shot with its sound, nothing graded) is that
    file, byte for byte, when it already is the deliverable; a target it misses by more than
    1 LU, or another size, makes the pass run and the cut meets the target."""
    from slate.media.cut import make_cut
    scene = finish(FinishPlan(shots=[FinishShot(_clip(tmp_path / "a.mp4", 2, tone=300), 2, has_audio=True)],
                              width=W, height=H, fps=FPS, target_lufs=-14.0), tmp_path / "scene.mp4")
    assert scene.loudness is not None
    join = FinishPlan(shots=[FinishShot(str(tmp_path / "scene.mp4"), 2, has_audio=True)], width=W, height=H,
                      fps=FPS, target_lufs=-14.0)
    made = make_cut("film", join, tmp_path / "film.mp4")
    assert (tmp_path / "film.mp4").read_bytes() == (tmp_path / "scene.mp4").read_bytes()
    assert deliverable_problems(made, join) == [] and made.probe.frames == 2 * FPS

    louder = FinishPlan(shots=join.shots, width=W, height=H, fps=FPS, target_lufs=-23.0)
    again = make_cut("film", louder, tmp_path / "film-23.mp4")
    assert (tmp_path / "film-23.mp4").read_bytes() != (tmp_path / "scene.mp4").read_bytes()
    assert abs(loudness(tmp_path / "film-23.mp4").integrated + 23.0) <= 1.0 and again.loudness is not None

    wider = FinishPlan(shots=join.shots, width=W * 2, height=H * 2, fps=FPS, target_lufs=-14.0)
    assert make_cut("film", wider, tmp_path / "film-wide.mp4").probe.width == W * 2


def test_a_short_scene_of_one_spoken_line_reaches_its_target_past_its_peaks(tmp_path):
    """A 2.5 s scene whose only sound is one line spoken by the local voice (peaks some 18 dB over
    its loudness): loudnorm alone stopped at its true-peak ceiling, 5 LU short (-19.1 LUFS for
    -14), and the scene failed its check. Raised through a limiter, it measures the target within
    1 LU, true peak at or under -1 dBTP."""
    from slate.providers.registry import offline_line
    line = tmp_path / "line.wav"
    line.write_bytes(offline_line("male_low", {}, "Too hot. Take it back.").wav)
    plan = FinishPlan(shots=[FinishShot(_clip(tmp_path / "a.mp4", 2.5), 2.5)], width=W, height=H, fps=FPS,
                      target_lufs=-14.0, cues=[FinishCue(str(line), "dialogue", 0.25, 1.84)])
    done = finish(plan, tmp_path / "out.mp4")
    assert deliverable_problems(done, plan) == []
    measured = loudness(tmp_path / "out.mp4")
    assert abs(measured.integrated - (-14.0)) <= 1.0, measured
    assert measured.true_peak <= -1.0 + 0.3, measured


def _wav(path) -> tuple[np.ndarray, int]:
    """A stem as ffmpeg reads it (24-bit stereo WAV, its header the extensible one the standard
    library's reader refuses), as mono floats."""
    import subprocess

    from slate.media.ffmpeg import ffmpeg_exe
    head = run(["-nostdin", "-hide_banner", "-i", str(path), "-f", "null", "-"]).stderr
    assert "pcm_s24le" in head and "stereo" in head and "48000 Hz" in head, head
    raw = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-ac", "1", "-f", "f32le", "-"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(raw, dtype="<f4").astype(np.float64), 48000


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x)))) if len(x) else 0.0


def test_the_stems_are_the_mix_split_by_kind_at_its_gain(tmp_path):
    """Issue 59: a delivery's stems — the clips' own sound with the effects, the music (ducked
    under the line, as the mix hears it), the line — are WAVs as long as the cut, each holding its
    own kind and nothing of the others, at the mix's gain: laid together they measure as the mix."""
    a = _clip(tmp_path / "a.mp4", 3, tone=300)
    music = _tone(tmp_path / "music.wav", 10)
    run(["-nostdin", "-y", "-f", "lavfi", "-i", "anoisesrc=d=1.0:a=0.3", str(tmp_path / "line.wav")])
    plan = FinishPlan(shots=[FinishShot(a, 3, has_audio=True)], width=W, height=H, fps=FPS, target_lufs=-16.0,
                      cues=[FinishCue(music, "music", 0.0, 10.0, gain_db=-6, ducks=True),
                            FinishCue(str(tmp_path / "line.wav"), "dialogue", 1.5, 1.0)])
    stems = {k: tmp_path / f"out-{k}.wav" for k in ("dialogue", "music", "effects")}
    done = finish(plan, tmp_path / "out.mp4", stems=stems)
    read = {k: _wav(p) for k, p in stems.items()}
    assert all(abs(len(x) / rate - 3.0) <= 1 / FPS for x, rate in read.values())
    (line, rate), (score, _), (effects, _) = read["dialogue"], read["music"], read["effects"]
    before, during = slice(0, int(1.4 * rate)), slice(int(1.6 * rate), int(2.4 * rate))
    assert _rms(line[before]) < 1e-4 < _rms(line[during])               # the line, where it is heard
    assert _rms(score[before]) > 0.01 and _rms(score[during]) < 0.5 * _rms(score[before])   # ducked under it
    spectrum = np.abs(np.fft.rfft(effects[before]))
    assert abs(np.argmax(spectrum) * rate / (2 * (len(spectrum) - 1)) - 300) < 5   # the clip's own 300 Hz
    together = tmp_path / "together.wav"
    run(["-nostdin", "-y", *[arg for p in stems.values() for arg in ("-i", str(p))], "-filter_complex",
         "amix=inputs=3:normalize=0", str(together)])
    assert abs(loudness(together).integrated - done.loudness.integrated) <= 1.0


def test_a_mix_without_a_line_has_a_silent_dialogue_stem(tmp_path):
    a = _clip(tmp_path / "a.mp4", 2, tone=300)
    plan = FinishPlan(shots=[FinishShot(a, 2, has_audio=True)], width=W, height=H, fps=FPS,
                      cues=[FinishCue(_tone(tmp_path / "music.wav", 4), "music", 0.5, 4.0)])
    stems = {k: tmp_path / f"out-{k}.wav" for k in ("dialogue", "music", "effects")}
    finish(plan, tmp_path / "out.mp4", stems=stems)
    line, _ = _wav(stems["dialogue"])
    music, rate = _wav(stems["music"])
    assert _rms(line) == 0.0 and _rms(music[:int(0.4 * rate)]) < 1e-4 < _rms(music[int(0.6 * rate):])
