"""The media layer at an NTSC rate (issue 39): a film's 23.976 reaches ffmpeg as 24000/1001 and
counts frames at it, and a made file is held to exactly that rate — 24, or 2997/125 (the
decimal taken as written), is named a mismatch. Whole rates are spelt as they always were."""
from __future__ import annotations

from fractions import Fraction

import pytest

from slate.media import Probe, mismatches
from slate.media.commands import concat_args, exact_rate, fmt_rate, frame_count, still_clip_args
from slate.media.finish import Finished, FinishPlan, FinishShot, deliverable_problems
from slate.media.motion import format_score


def _after(args: list[str], flag: str) -> str:
    return args[args.index(flag) + 1]


@pytest.mark.parametrize("kept, spelt", [(23.976, "24000/1001"), (29.97, "30000/1001"), (59.94, "60000/1001"),
                                         (24, "24"), (30, "30"), (Fraction(30000, 1001), "30000/1001"),
                                         (12.5, "25/2")])
def test_a_rate_as_slate_keeps_it_reaches_ffmpeg_exact(kept, spelt):
    assert fmt_rate(kept) == spelt
    assert exact_rate(kept) == Fraction(spelt)


def test_frames_are_counted_at_the_exact_rate():
    # A minute at 24000/1001 is 1438.56 frames; at the decimal 23.976 it would be the same to the
    # frame, at 24 it is 1440: the count is the exact rate's, whatever the film wrote.
    assert frame_count(60, 23.976) == frame_count(60, Fraction(24000, 1001)) == 1439
    assert frame_count(600, 29.97) == round(600 * Fraction(30000, 1001)) == 17982
    assert frame_count(3.5, 24) == 84


def test_a_clip_and_a_stitch_are_asked_at_the_exact_rate():
    clip = still_clip_args("s.png", "o.mp4", width=160, height=96, fps=23.976, seconds=2.5, movement="dolly_in")
    assert _after(clip, "-r") == "24000/1001" and _after(clip, "-framerate") == "24000/1001"
    assert _after(clip, "-frames:v") == "60"
    assert "setpts=N/(24000/1001)/TB" in _after(clip, "-vf")   # each looped frame timed at the exact rate
    cut = concat_args([("a.mp4", 2.5), ("b.mp4", 3.5)], "o.mp4", transitions=[("dissolve", 0.5)], fps=29.97,
                      width=160, height=96)
    assert _after(cut, "-r") == "30000/1001" and "fps=30000/1001" in _after(cut, "-filter_complex")
    assert _after(cut, "-frames:v") == str(round(5.5 * Fraction(30000, 1001)))


def _probe(fps: Fraction, frames: int) -> Probe:
    return Probe(duration=float(frames / fps), container_duration=-1.0, width=160, height=96, fps=fps,
                 codec="h264", pix_fmt="yuv420p", frames=frames, has_audio=True)


def test_a_stitch_is_held_to_the_exact_rate():
    seconds = 6.0
    assert mismatches(_probe(Fraction(24000, 1001), 144), seconds=seconds, width=160, height=96, fps=23.976) == []
    assert mismatches(_probe(Fraction(2997, 125), 144), seconds=seconds, width=160, height=96, fps=23.976) == [
        "runs at 2997/125 fps, expected 24000/1001"]
    assert mismatches(_probe(Fraction(24), 144), seconds=seconds, width=160, height=96, fps=23.976) == [
        "runs at 24 fps, expected 24000/1001"]
    assert mismatches(_probe(Fraction(24), 144), seconds=seconds, width=160, height=96, fps=24) == []


def test_a_deliverable_is_held_to_the_exact_rate():
    plan = FinishPlan(shots=[FinishShot(path="a.mp4", seconds=6.0, has_audio=True)], width=160, height=96,
                      fps=23.976)
    ok = Finished(_probe(Fraction(24000, 1001), 144), None, 6.0)
    assert deliverable_problems(ok, plan) == []
    off = Finished(_probe(Fraction(2997, 125), 144), None, 6.0)
    assert deliverable_problems(off, plan) == ["runs at 2997/125 fps, the edit 24000/1001"]


def test_a_model_clip_at_the_timebase_passes_the_clip_gate_and_another_rate_does_not():
    # A hosted model asked 23.976 that can make only 24 (its timebase) is within the gate's
    # tolerance; the stitch conforms it. 25 is another rate.
    asked = dict(width=160, height=96, fps=23.976, seconds=2.0)
    assert format_score(_probe(Fraction(24), 48), **asked)["passed"]
    assert format_score(_probe(Fraction(24000, 1001), 48), **asked)["passed"]
    assert not format_score(_probe(Fraction(25), 50), **asked)["passed"]
