"""Issue 39's round trip end to end: a rendered scene exported for an editor, two shots swapped and
one trimmed in the timeline, `slate conform --write` reading it back, and the next render cutting
the scene as the editor did without one new provider call (only the finishing pass is made again).
"""
from __future__ import annotations

import copy
import json

import numpy as np
import opentimelineio as otio
import pytest
from PIL import Image
from typer.testing import CliRunner

from slate.cli import app
from slate.flows.scene import scene_flow
from slate.governor.ledger import Ledger
from slate.media import probe
from slate.media.frames import extract_frame
from slate.tasks.edit.export import build_timeline, read_records, record_path, write_timeline
from tests.scene_cuts import keep_shots

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("local_calls")]
FPS = 24


def test_a_scene_recut_by_an_editor_renders_as_edited_without_a_new_call(example_film, prefect_harness, tmp_path):
    keep_shots(example_film, ("1A", "1C"))   # 2.5 s on the street, 3.5 s in the diner, a cut between
    first = scene_flow(project=str(example_film), return_state=True)
    assert first.name == "Completed", first.message
    calls = len(Ledger.for_project(example_film).rows(film="night-diner"))

    timeline = build_timeline(read_records([record_path(example_film, "scene-01", "draft")]))
    edited = copy.deepcopy(timeline)
    video = edited.video_tracks()[0]
    a, c = list(video.find_clips())
    # 1C first, half a second off its tail; then 1A.
    c.source_range = otio.opentime.TimeRange(c.source_range.start_time,
                                             c.source_range.duration - otio.opentime.RationalTime(12, FPS))
    video.remove(a)
    video.append(a)
    path = write_timeline(edited, "otio", tmp_path / "recut.otio")
    done = CliRunner().invoke(app, ["conform", str(example_film), str(path), "--write"])
    assert done.exit_code == 0, done.output
    assert "+  cut:\n+  - 1C\n+  - 1A\n" in done.output, done.output

    again = scene_flow(project=str(example_film), return_state=True)
    assert again.name == "Completed", again.message
    result = again.result()
    assert result.provider_calls == 0
    assert len(Ledger.for_project(example_film).rows(film="night-diner")) == calls
    assert probe(result.output).duration == pytest.approx(3.0 + 2.5, abs=1 / FPS)
    record = json.loads(record_path(example_film, "scene-01", "draft").read_text())
    assert [s["shot"] for s in record["shots"]] == ["1C", "1A"]
    assert record["shots"][0]["trim_out"] == 0.5
    # The picture plays them so: the diner (1C) for its first 3 s, then the street (1A) — each
    # moment of the cut nearer in colour to its own shot's clip than to the other's (the grade
    # shifts colours, never a red diner to a blue night).
    clips = {s["shot"]: s["media"] for s in record["shots"]}
    for at, shot, other in ((1.5, "1C", "1A"), (4.5, "1A", "1C")):
        seen = _colour(result.output, at, tmp_path / f"cut-{at}.png")
        near = _colour(clips[shot], 1.0, tmp_path / f"{shot}.png")
        far = _colour(clips[other], 1.0, tmp_path / f"{other}.png")
        assert np.linalg.norm(seen - near) < np.linalg.norm(seen - far), (at, seen, near, far)
    # Exported again, the cut is the one the editor made: read back, no change.
    path = write_timeline(build_timeline(read_records([record_path(example_film, "scene-01", "draft")])), "otio",
                          tmp_path / "again.otio")
    same = CliRunner().invoke(app, ["conform", str(example_film), str(path)])
    assert same.exit_code == 0 and "no change" in same.output, same.output


def _colour(video, seconds: float, png) -> np.ndarray:
    """A frame's mean colour (RGB)."""
    return np.asarray(Image.open(extract_frame(video, seconds, png)).convert("RGB"), dtype=float).mean(axis=(0, 1))


def test_a_shot_the_edit_leaves_out_is_neither_made_nor_paid_for(example_film, prefect_harness):
    """finishing.cut without 1A (an editor dropped it, `slate conform --write` wrote it): a run at a
    profile where 1A was never made makes no panel, clip or paid row of 1A, and says it is left out."""
    import yaml

    from slate.flows.review.rushes import read_rushes
    from slate.flows.scene import LEFT_OUT
    keep_shots(example_film, ("1A", "1C"))
    path = example_film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    doc.setdefault("finishing", {})["cut"] = ["1C"]
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    out = CliRunner().invoke(app, ["run", str(example_film)])
    assert out.exit_code == 0, out.output[-3000:]
    rows = Ledger.for_project(example_film).rows(film="night-diner")
    assert {r.shot for r in rows if r.stage in ("panel", "video")} == {"1C"}, [(r.shot, r.stage) for r in rows]
    rushes = read_rushes(example_film, "scene-01", "draft")
    assert rushes.shot("1A").status == "rejected" and not rushes.shot("1A").takes
    [c] = [s for s in doc["shots"] if s["id"] == "1C"]
    assert probe(example_film / "renders" / "scene-01-draft.mp4").duration == pytest.approx(c["duration"], abs=0.1)
    assert LEFT_OUT in out.output, out.output[-2000:]
