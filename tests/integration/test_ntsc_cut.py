"""A scene at an NTSC rate through the pieces, with real ffmpeg on tiny clips (issue 39): two
shots rendered as the local provider renders them, stitched with a dissolve, finished with a cue,
and the film's join of that scene kept as it is — each at exactly 24000/1001 (or 30000/1001),
read from the MP4's boxes (ffmpeg's header prints 24000/1001 and 2997/125 alike as "23.98 fps"),
with the frames that rate gives the edit's seconds. A file at the decimal rate is refused."""
from __future__ import annotations

from fractions import Fraction

import pytest
from PIL import Image

from slate.media import mismatches, probe, render_clip, run
from slate.media.cut import Stitching, make_cut
from slate.media.finish import FinishCue, FinishPlan, FinishShot
from slate.media.mp4 import read_track

W, H = 64, 36


def _clips(tmp_path, fps) -> list[tuple[str, float]]:
    made = []
    for name, colour, seconds, move in (("a", "#803020", 1.0, "dolly_in"), ("b", "#204080", 1.5, "pan_left")):
        still = tmp_path / f"{name}.png"
        Image.new("RGB", (W * 2, H * 2), colour).save(still)
        render_clip(still, tmp_path / f"{name}.mp4", width=W, height=H, fps=fps, seconds=seconds, movement=move)
        made.append((str(tmp_path / f"{name}.mp4"), seconds))
    return made


@pytest.mark.parametrize("fps, rate", [(23.976, Fraction(24000, 1001)), (29.97, Fraction(30000, 1001))])
def test_a_scene_at_an_ntsc_rate_is_made_stitched_and_finished_at_exactly_it(tmp_path, fps, rate):
    clips = _clips(tmp_path, fps)
    for path, seconds in clips:
        assert read_track(path).fps == rate and probe(path).frames == round(seconds * rate)

    stitched = make_cut("scene", Stitching(clips, [("dissolve", 0.5)], fps=fps, width=W, height=H),
                        tmp_path / "stitched.mp4")
    assert read_track(tmp_path / "stitched.mp4").fps == rate
    assert stitched.frames == round(2.0 * rate)             # 1.0 + 1.5 - 0.5 s

    run(["-nostdin", "-y", "-f", "lavfi", "-i", "sine=f=220:d=3", str(tmp_path / "cue.wav")])
    plan = FinishPlan(shots=[FinishShot(clips[0][0], 1.0), FinishShot(clips[1][0], 1.5)], width=W, height=H,
                      fps=fps, cues=[FinishCue(str(tmp_path / "cue.wav"), "music", 0.0, 3.0)])
    finished = make_cut("scene", plan, tmp_path / "finished.mp4")
    assert read_track(tmp_path / "finished.mp4").fps == rate
    assert finished.probe.frames == probe(tmp_path / "finished.mp4").frames == round(2.5 * rate)

    # The film's join of that one scene: already the deliverable, so kept, not encoded again.
    join = FinishPlan(shots=[FinishShot(str(tmp_path / "finished.mp4"), finished.probe.duration, has_audio=True)],
                      width=W, height=H, fps=fps)
    make_cut("film", join, tmp_path / "film.mp4")
    assert (tmp_path / "film.mp4").read_bytes() == (tmp_path / "finished.mp4").read_bytes()


def test_a_file_at_the_decimal_rate_is_named_not_taken_for_the_ntsc_rate(tmp_path):
    """2997/125 (23.976 taken as a decimal) prints as "23.98 fps" like 24000/1001: the probe reads
    the boxes, and the stitch's check names the rate instead of passing it off as the film's."""
    Image.new("RGB", (W * 2, H * 2), "#808080").save(tmp_path / "still.png")
    made = render_clip(tmp_path / "still.png", tmp_path / "decimal.mp4", width=W, height=H, fps=Fraction(2997, 125),
                       seconds=1.0, movement="static")
    assert made.fps == Fraction(2997, 125)
    assert mismatches(made, seconds=1.0, width=W, height=H, fps=23.976) == ["runs at 2997/125 fps, expected 24000/1001"]
