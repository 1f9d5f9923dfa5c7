"""A film at an NTSC rate (issue 39), made whole by the local provider: film.yaml's `fps: 23.976`
reaches every clip, the stitch, the finishing pass and the timeline record, and the delivered cut
runs at exactly 24000/1001 — read from its boxes, where 2997/125 (the decimal taken as written)
and 24000/1001 differ, not from ffmpeg's header, which prints both as "23.98 fps" — with the frames
that rate gives its seconds."""
from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest
import yaml

from slate.flows.scene import scene_flow
from slate.media import probe
from slate.media.mp4 import read_track
from slate.media.subtitles import read_srt
from tests.scene_cuts import keep_shots

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("local_calls")]

NTSC_FILM = Fraction(24000, 1001)


def test_a_film_at_23_976_is_made_and_delivered_at_24000_1001(example_film, prefect_harness):
    keep_shots(example_film, ("1A", "1C"))        # 2.5 s, then 3.5 s with Jenny's line at 0.5 s
    film = yaml.safe_load((example_film / "film.yaml").read_text())
    film["fps"] = 23.976
    (example_film / "film.yaml").write_text(yaml.safe_dump(film, sort_keys=False))

    done = scene_flow(project=str(example_film), return_state=True).result()
    assert [s.status for s in done.shots] == ["approved", "approved"], done.shots

    record = json.loads((example_film / ".slate" / "timelines" / "scene-01-draft.json").read_text())
    assert record["fps"] == 23.976                          # the rate as the film keeps it
    for shot in record["shots"]:                            # each clip the local provider rendered
        assert read_track(shot["media"]).fps == NTSC_FILM, shot["media"]
    cut = read_track(done.output)
    assert cut.fps == NTSC_FILM, (cut.timescale, cut.frame_ticks)
    seconds = 2.5 + 3.5
    assert probe(done.output).frames == round(seconds * NTSC_FILM) == 144
    assert done.duration == pytest.approx(144 / NTSC_FILM, abs=1e-6)

    # The line's subtitle is timed in the cut's seconds: 0.5 s into 1C, which starts at 2.5 s.
    [srt] = [d for d in done.deliverables if d.file.endswith(".srt")]
    [cue] = read_srt(Path(done.output).with_name(srt.file).read_text())
    assert cue.start_ms == 3000, cue
