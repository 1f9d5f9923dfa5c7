"""Issue 39: every export conforms to the delivered cut frame for frame.

A scene is finished for real (media/finish.py: an odd and an odd-shorter dissolve, a cut, a dip to
white, trims, fades from and to black), its timeline exported in all three formats, and each read
back — by OpenTimelineIO, and the EDL also by pycmx, a strict CMX 3600 parser. The edit points
are found in the rendered MP4 itself (runs of unchanging frames are shots; what lies between two
runs is a cut, a dissolve, a dip or a fade) and must be exactly where each format's record times
put them, at 24 fps and at 23.976 (24000/1001).
"""
from __future__ import annotations

import re
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import opentimelineio as otio
import pycmx
import pytest

from slate.manifests.frame_rate import exact, timebase
from slate.media import run
from slate.media.commands import fmt_rate
from slate.media.ffmpeg import ffmpeg_exe
from slate.media.finish import FinishPlan, FinishShot, finish
from slate.tasks.edit.export import build_timeline, reel_list_path, write_timeline

W, H = 64, 36
# Shot, colour, seconds, trims, the transition out: the odd dissolves (15 and 9 frames at 24)
# are the ones each half rounded on its own made a frame long.
LAYOUT = [("A", "red", 2.5, 0.25, 0.0, ("dissolve", 0.625)),
          ("B", "lime", 3.0, 0.0, 0.0, ("cut", 0.0)),
          ("C", "blue", 2.0, 0.0, 0.5, ("dip", 1.0)),
          ("D", "yellow", 2.0, 0.0, 0.0, ("dissolve", 0.375)),
          ("E", "magenta", 2.0, 0.0, 0.0, ("cut", 0.0))]
FADE = 0.5


def _clip(path: Path, colour: str, seconds: float, fps) -> str:
    run(["-nostdin", "-y", "-f", "lavfi", "-i", f"color=c={colour}:s={W}x{H}:r={fmt_rate(fps)}:d={seconds}",
         "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)])
    return str(path)


def _frames_of(path: Path) -> np.ndarray:
    raw = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, H, W, 3).astype(float).mean(axis=(1, 2))


def _edit_in_picture(means: np.ndarray) -> tuple[list[tuple[int, int]], list[int], int]:
    """The edit as the picture shows it: runs of unchanging frames are shots; between two runs,
    a cut (the second starts the frame after the first ends) or a span of changing frames — a
    dissolve, a dip or a fade — from the last frame of one run to the first of the next."""
    still = [i for i in range(1, len(means)) if np.abs(means[i] - means[i - 1]).max() < 3]
    runs: list[list[int]] = []
    for i in still:
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i - 1, i])
    runs = [r for r in runs if r[1] - r[0] >= 3]
    spans, cuts = [], []
    if runs[0][0] > 0:
        spans.append((0, runs[0][0]))                  # a fade from black
    for (_, end), (start, _) in zip(runs, runs[1:]):
        if start == end + 1:
            cuts.append(start)
        else:
            spans.append((end, start))
    if runs[-1][1] < len(means) - 1:
        spans.append((runs[-1][1], len(means)))         # a fade to black
    return spans, cuts, len(means)


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    # A dip read from an EDL is two dissolves meeting at the cut (to black, from black): one span.
    out: list[tuple[int, int]] = []
    for s in sorted(spans):
        if out and out[-1][1] == s[0]:
            out[-1] = (out[-1][0], s[1])
        else:
            out.append(s)
    return out


def _edit_in_timeline(timeline: otio.schema.Timeline, fps) -> tuple[list[tuple[int, int]], list[int], int]:
    """The edit as a format's record times put it: each transition's span around the point it
    sits at, and the cuts — clip starts no transition covers — in frames from the record start."""
    [track] = timeline.video_tracks()
    items = list(track)
    spans, starts = [], []
    for k, item in enumerate(items):
        if isinstance(item, otio.schema.Transition):
            nxt = next((x for x in items[k + 1:] if not isinstance(x, otio.schema.Transition)), None)
            point = track.range_of_child(nxt).start_time if nxt is not None else track.duration()
            at = round(point.to_frames())
            spans.append((at - round(item.in_offset.to_frames()), at + round(item.out_offset.to_frames())))
        else:
            starts.append(round(track.range_of_child(item).start_time.to_frames()))
    spans = _merged(spans)
    cuts = [s for s in starts if s and not any(a <= s <= b for a, b in spans)]
    return spans, cuts, round(track.duration().to_frames())


def _edit_in_pycmx(path: Path, fps) -> tuple[list[tuple[int, int]], list[int], int]:
    """The EDL's edit as pycmx reads it: timecodes at the rate's timebase from 01:00:00:00."""
    base, _ = timebase(fps)

    def frames(tc: str) -> int:
        h, m, s, f = (int(x) for x in re.split("[:;]", tc))
        return ((h - 1) * 3600 + m * 60 + s) * base + f

    with open(path) as f:
        edl = pycmx.parse_cmx3600(f)
    assert edl.format == "3600" and edl.title
    spans, starts, end = [], [], 0
    for event in edl.events:
        for edit in event.edits:
            rec_in, rec_out = frames(edit.record_in), frames(edit.record_out)
            end = max(end, rec_out)
            if edit.transition.dissolve:
                assert edit.transition.effect_duration == rec_out - rec_in or not edit.black, edit
                spans.append((rec_in, rec_in + edit.transition.effect_duration))
            elif rec_out > rec_in:
                starts.append(rec_in)
    spans = _merged(spans)
    cuts = [s for s in starts if s and not any(a <= s <= b for a, b in spans)]
    return spans, cuts, end


@pytest.mark.parametrize("written_fps", [24, 23.976])
def test_every_export_puts_every_edit_where_the_cut_has_it(tmp_path, written_fps):
    fps = exact(written_fps)
    shots, plan_shots = [], []
    for name, colour, seconds, trim_in, trim_out, transition in LAYOUT:
        path = _clip(tmp_path / f"{name}.mp4", colour, seconds, fps)
        plan_shots.append(FinishShot(path, seconds, trim_in=trim_in, trim_out=trim_out, transition=transition,
                                     dip_colour="#ffffff"))
        shots.append({"shot": name, "status": "approved", "media": path, "seconds": seconds, "trim_in": trim_in,
                      "trim_out": trim_out, "transition": list(transition), "take": 1, "scores": {}, "warnings": [],
                      **({"dip_colour": "#ffffff"} if transition[0] == "dip" else {})})
    plan = FinishPlan(shots=plan_shots, width=W, height=H, fps=fps, fade_in=FADE, fade_out=FADE)
    finish(plan, tmp_path / "cut.mp4")
    picture = _edit_in_picture(_frames_of(tmp_path / "cut.mp4"))
    spans, cuts, total = picture
    assert len(spans) == 5 and len(cuts) == 1, picture   # fade in, dissolve, dip, dissolve, fade out; B|C
    record = {"version": 1, "film": "night-diner", "scene": "scene-01", "profile": "draft", "fps": written_fps,
              "width": W, "height": H, "output": str(tmp_path / "cut.mp4"), "shots": shots, "cues": [],
              "finish": {"lut": None, "fade_in": FADE, "fade_out": FADE}}
    timeline = build_timeline([record])
    read = {}
    for fmt, suffix in (("otio", ".otio"), ("fcp7", ".xml"), ("edl", ".edl")):
        path = write_timeline(timeline, fmt, tmp_path / f"cut{suffix}")
        back = otio.adapters.read_from_file(str(path), **({"rate": float(fps)} if fmt == "edl" else {}))
        read[fmt] = _edit_in_timeline(back, fps)
        if fmt == "edl":
            # OpenTimelineIO's reader refuses a transition at a track's start: the opening fade
            # is the first event's comment (tasks/edit/edl.py).
            opening = re.search(r"FADE IN FROM BLACK (\d+) FRAMES", path.read_text())
            assert opening, path.read_text()
            read[fmt] = (_merged([(0, int(opening.group(1))), *read[fmt][0]]), read[fmt][1], read[fmt][2])
            read["pycmx"] = _edit_in_pycmx(path, fps)
            read["pycmx"] = (_merged([(0, int(opening.group(1))), *read["pycmx"][0]]), *read["pycmx"][1:])
            assert reel_list_path(path).is_file()
    for fmt, edit in read.items():
        # The fades, the dissolves and the dip where the picture has them; the cut on its frame;
        # as long as the cut.
        assert edit[0] == spans, (fmt, edit, picture)
        assert edit[1] == cuts, (fmt, edit, picture)
        assert edit[2] == total, (fmt, edit, picture)
    # The record starts at 01:00:00:00 at the rate's timebase, NTSC counted as such.
    base, ntsc = timebase(written_fps)
    assert round(timeline.global_start_time.value) == 3600 * base
    assert Fraction(timeline.global_start_time.rate).limit_denominator(1001) == fps
    xml = (tmp_path / "cut.xml").read_text()
    assert f"<timebase>{base}</timebase>" in xml and f"<ntsc>{'TRUE' if ntsc else 'FALSE'}</ntsc>" in xml


def test_a_graded_copy_looks_like_the_delivered_shot_and_is_made_once(tmp_path):
    """`slate export --media graded`: each graded shot's copy is its whole clip with the pass's own
    grade (the scene's LUT, the shot's exposure and saturation), so the editor's timeline looks like
    the delivered cut; a second export finds it and renders nothing."""
    from slate.tasks.edit.graded import FOLDER, graded_media
    size = 2
    rows = [f"{min(1.0, r / (size - 1) * 1.4):.6f} {g / (size - 1) * 0.8:.6f} {b / (size - 1):.6f}"
            for b in range(size) for g in range(size) for r in range(size)]
    lut = tmp_path / "film.cube"
    lut.write_text(f"LUT_3D_SIZE {size}\n" + "\n".join(rows) + "\n")
    clip = _clip(tmp_path / "A.mp4", "gray", 1.0, 24)
    shot = {"shot": "1A", "status": "approved", "media": clip, "seconds": 1.0, "trim_in": 0.0, "trim_out": 0.0,
            "transition": ["cut", 0.0], "take": 2, "scores": {}, "warnings": [],
            "grade": {"exposure": 0.4, "saturation": 0.5}}
    plain = {**shot, "shot": "1B", "grade": {}}
    record = {"version": 1, "film": "f", "scene": "scene-01", "profile": "draft", "fps": 24, "width": W, "height": H,
              "output": "", "shots": [shot], "cues": [], "finish": {"lut": str(lut), "fade_in": 0.0, "fade_out": 0.0}}
    made, notes = graded_media([record], tmp_path)
    assert notes == [] and set(made) == {("scene-01", "1A")}
    copy = Path(made[("scene-01", "1A")])
    assert copy.parent == tmp_path / FOLDER and copy.is_file()
    finish(FinishPlan(shots=[FinishShot(clip, 1.0, exposure=0.4, saturation=0.5)], width=W, height=H, fps=24,
                      lut=str(lut)), tmp_path / "delivered.mp4")
    graded, delivered, source = (_frames_of(p) for p in (copy, tmp_path / "delivered.mp4", Path(clip)))
    assert len(graded) == len(source) == 24
    assert np.abs(graded[12] - delivered[12]).max() < 3, (graded[12], delivered[12])
    assert np.abs(graded[12] - source[12]).max() > 10, (graded[12], source[12])   # the grade is in it
    before = copy.stat().st_mtime_ns
    again, _ = graded_media([record], tmp_path)
    assert again == made and copy.stat().st_mtime_ns == before
    # A shot with nothing to grade but the scene's LUT is graded too; with no LUT either, it is its own copy.
    record["shots"] = [plain]
    assert set(graded_media([record], tmp_path)[0]) == {("scene-01", "1B")}
    record["finish"] = {"lut": None, "fade_in": 0.0, "fade_out": 0.0}
    assert graded_media([record], tmp_path)[0] == {}

