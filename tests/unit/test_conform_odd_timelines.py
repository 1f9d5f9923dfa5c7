"""`slate conform` on timelines no editor should hand it (issue 56, item 3): one line naming the
clip and its record time, never a traceback, nothing written, nothing spent.

Each case edits the example's exported scene-01 as a broken tool might write it (a clip at rate
0 or a negative rate, a start that is NaN, a length that is infinite or negative, a dissolve whose
offset is NaN, an effect slate does not render, a file that is no timeline), writes it with
OpenTimelineIO's own adapter and runs the real command line.
"""
from __future__ import annotations

import math

import opentimelineio as otio
import pytest

from tests.unit.test_conform import FPS, SCENE, _after, _clips, _conform, _no_money, _timeline, cut  # noqa: F401

RT, TR = otio.opentime.RationalTime, otio.opentime.TimeRange


def _start(name, value, rate):
    def edit(tl):
        c = _clips(tl)[name]
        c.source_range = TR(RT(value, rate), c.source_range.duration)
    return edit


def _length(name, value):
    def edit(tl):
        c = _clips(tl)[name]
        c.source_range = TR(c.source_range.start_time, RT(value, FPS))
    return edit


def _dissolve_nan(tl):
    video = tl.video_tracks()[0]
    _after(video, _clips(tl)["1B"]).in_offset = RT(math.nan, FPS)


def _speed(tl):
    _clips(tl)["1C"].effects.append(otio.schema.LinearTimeWarp(time_scalar=2.0))


CASES = {
    "a clip at rate 0": (_start("1C", 0, 0), "1C"),
    "a clip at a negative rate": (_start("1C", 10, -24), "1C"),
    "a start that is NaN": (_start("1D", math.nan, FPS), "1D"),
    "an infinite start": (_start("1D", math.inf, FPS), "1D"),
    "an infinite length": (_length("1B", math.inf), "1B"),
    "a negative length": (_length("1B", -12), "1B"),
    "a dissolve offset that is NaN": (_dissolve_nan, "1B"),
    "a speed change": (_speed, "1C"),
    "a clip far beyond its media": (_start("1D", 100_000, FPS), "1D"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_an_odd_timeline_is_refused_in_a_line_naming_the_clip(cut, tmp_path, case):  # noqa: F811
    edit, shot = CASES[case]
    before = (cut / SCENE).read_text()
    timeline = _timeline(cut)
    edit(timeline)
    path = tmp_path / "cut.otio"
    otio.adapters.write_to_file(timeline, str(path))
    out = _conform(cut, path, "--write")
    said = out.output + (out.stderr if out.stderr_bytes is not None else "")
    assert out.exit_code == 1, said
    assert not isinstance(out.exception, Exception) or isinstance(out.exception, SystemExit), repr(out.exception)
    assert "Traceback" not in said
    errors = [line for line in said.splitlines() if line.startswith("error:") or "refused" in line]
    assert errors and any(shot in line for line in errors), said
    assert any(":" in line and any(ch.isdigit() for ch in line) for line in errors), said   # a record time
    assert (cut / SCENE).read_text() == before
    _no_money(cut)


def test_a_file_that_is_no_timeline_is_one_line(cut, tmp_path):  # noqa: F811
    for name, body in (("cut.otio", '{"OTIO_SCHEMA": "Timeline.1", "tracks": 7}'), ("cut.xml", "<xmeml><nope"),
                       ("cut.edl", "\x00\x01\x02 not an edl")):
        path = tmp_path / name
        path.write_text(body)
        out = _conform(cut, path)
        assert out.exit_code in (1, 2) and "Traceback" not in out.output, out.output
        assert not isinstance(out.exception, Exception) or isinstance(out.exception, SystemExit), repr(out.exception)
