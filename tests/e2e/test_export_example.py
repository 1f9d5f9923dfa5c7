"""Issue 39's done-when on the example itself: its export conforms to its delivered cut frame for
frame with an odd dissolve, in every format (the synthetic scenes of
tests/integration/test_export_conform.py hold every kind of edit; this holds the real run's)."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import opentimelineio as otio
import pytest

from slate.manifests.frame_rate import exact
from slate.media.ffmpeg import ffmpeg_exe
from tests.integration.test_export_conform import _edit_in_pycmx, _edit_in_timeline


def _hard_cuts(path: Path, fps) -> list[int]:
    """The frames the picture cuts on, by ffmpeg's own scene measure (a hard cut scores far over
    any camera move or dissolve step of the example: 0.22 and 0.36 against 0.03 at most)."""
    done = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostats", "-i", str(path), "-vf",
                           "select='gt(scene,0.1)',showinfo", "-f", "null", "-"], capture_output=True, text=True)
    return [round(float(t) * float(exact(fps))) for t in re.findall(r"pts_time:([\d.]+)", done.stderr)]


@pytest.mark.usefixtures("prefect_harness", "local_calls")
def test_the_example_with_an_odd_dissolve_conforms_in_every_format(example_film, tmp_path):
    """Issue 39's done-when on the example itself: 1B dissolves into 1C over 15 frames (odd), 1A|1B
    and 1C|1D are hard cuts. ffmpeg's scene measure finds the hard cuts in the delivered MP4; each
    export, read back (the EDL by OpenTimelineIO and by pycmx), puts 1B and 1D on those frames —
    the later one is where a dissolve rounded a frame long put every later cut a frame early."""
    import yaml
    from typer.testing import CliRunner

    from slate.cli import app
    from tests.scene_cuts import keep_shots
    keep_shots(example_film, ("1A", "1B", "1C", "1D"))
    path = example_film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["shots"][1]["transition_out"] = {"kind": "dissolve", "duration": 0.625}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    out = CliRunner().invoke(app, ["run", str(example_film)])
    assert out.exit_code == 0, out.output[-3000:]
    cuts = _hard_cuts(example_film / "renders" / "scene-01-draft.mp4", 24)
    assert len(cuts) == 2, cuts
    for fmt, suffix in (("otio", ".otio"), ("fcp7", ".xml"), ("edl", ".edl")):
        target = tmp_path / f"cut{suffix}"
        said = CliRunner().invoke(app, ["export", str(example_film), "--format", fmt, "--out", str(target)])
        assert said.exit_code == 0, said.output
        back = otio.adapters.read_from_file(str(target), **({"rate": 24} if fmt == "edl" else {}))
        spans, hard, _ = _edit_in_timeline(back, 24)
        assert hard == cuts, (fmt, hard, cuts, spans)
        # The dissolve: 15 frames, ending where 1B's 72 frames from its cut end.
        assert (cuts[0] + 72 - 15, cuts[0] + 72) in spans, (fmt, spans)
        if fmt == "edl":
            spans, hard, _ = _edit_in_pycmx(target, 24)
            assert hard == cuts and (cuts[0] + 72 - 15, cuts[0] + 72) in spans, ("pycmx", hard, cuts, spans)
        else:
            _lines_where_the_subtitles_are(back, example_film / "renders" / "scene-01-draft.srt")


def _lines_where_the_subtitles_are(timeline, srt: Path) -> None:
    """Issue 57: each spoken line's clip starts within a frame of its subtitle (the cut's own
    time for it), on whichever dialogue track holds it; in the .otio and the FCP 7 XML alike."""
    subtitles = [(int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000, text.strip())
                 for h, m, s, ms, text in re.findall(r"(\d\d):(\d\d):(\d\d),(\d{3}) --> .*\n(.+)", srt.read_text())]
    assert len(subtitles) == 2, subtitles      # 1C's and 1D's lines
    spoken = {}
    for track in timeline.audio_tracks():
        for clip in track.find_clips():
            if "-line-" in clip.name:
                spoken[clip.name.split(": ", 1)[1]] = round(track.range_of_child(clip).start_time.to_seconds() * 24)
    for at, text in subtitles:
        assert abs(spoken[text] - round(at * 24)) <= 1, (text, spoken, subtitles)
