"""What a person watching a film render sees move: each scene's progress bar in the Prefect UI,
and the live table of `slate run`.

The scenes of a film run at once in one process, and their shot ids may repeat; each scene's
bar must move with its own shots only. The bars are read back from the Prefect server."""
from __future__ import annotations

import ast
from pathlib import Path
from types import SimpleNamespace

import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

from slate.flows.review import reports
from slate.commands.report import LiveTable
from slate.tasks.run.run import emit, listen
from slate.tasks.run.events import ReferenceJudged, SceneFinishing, ScenePlanned, ShotMoved, WaitingForPerson, event_of

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _bar(key: str) -> float:
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
    assert found, f"no artifact {key}"
    return float(found[0].data)


def _scene(film: str, scene: str):
    return SimpleNamespace(film=film, scene=scene, profile="draft")


def test_each_scenes_bar_moves_with_its_own_shots_only():
    """Two scenes at once, the same shot ids in both: 1 of scene 1's 2 shots done is 50, and
    scene 2's bar, none of whose 4 shots is done, stays at 0 (listening to every scene, both
    bars read 25). A scene that finishes is at 100, one that stops early keeps its figure."""

    @flow
    def two_scenes():
        one = reports.start_progress(_scene("bars", "scene-01"))
        two = reports.start_progress(_scene("bars", "scene-02"))
        emit(None, event="plan", scene="scene-01", shots=["1A", "1B"])
        emit(None, event="plan", scene="scene-02", shots=["1A", "1B", "1C", "1D"])
        emit(None, scene="scene-01", shot="1A", stage="video", status="rendering")
        emit(None, scene="scene-01", shot="1A", stage="video", status="approved")
        one.stop()
        two.stop()
        middle = (_bar("bars-scene-01-draft-progress"), _bar("bars-scene-02-draft-progress"))
        one.finish()
        return middle

    assert two_scenes() == (50.0, 0.0)
    assert _bar("bars-scene-01-draft-progress") == 100.0
    assert _bar("bars-scene-02-draft-progress") == 0.0


def test_a_burst_of_finished_shots_lands_as_its_last_figure():
    """Shots finishing faster than the bar is sent (one send per PUSH_SECONDS at most, off the
    shots' threads): the bar ends at the scene's true figure, never past 100."""

    @flow
    def burst():
        bar = reports.start_progress(_scene("burst", "scene-01"))
        shots = [f"1{chr(65 + i)}" for i in range(10)]
        emit(None, event="plan", scene="scene-01", shots=shots)
        for shot in shots[:7] + shots[:3]:  # three shots escalated, then approved again: counted once
            emit(None, scene="scene-01", shot=shot, stage="video", status="approved")
        bar.stop()

    burst()
    assert _bar("burst-scene-01-draft-progress") == 70.0


def test_the_live_table_keeps_scenes_apart():
    """The same shot id in two scenes is two rows, under a scene column."""
    table = LiveTable()
    table(ScenePlanned("scene-01", ("1A", "1B")))
    table(ScenePlanned("scene-02", ("1A",)))
    table(ShotMoved("scene-02", "1A", "video", "approved", take=1))
    assert table.rows[("scene-02", "1A")]["video"] == "approved take 1"
    assert table.rows[("scene-01", "1A")]["video"] == "waiting"
    rendered = table.table()
    assert [c.header for c in rendered.columns] == ["scene", "shot", "panel", "video"]
    assert rendered.row_count == 3


def test_the_live_table_names_the_lane_stage_that_moved():
    """Issue 56: a lip-sync skipped was shown as "1C video skipped"; each stage after the clip is
    named in the video column (a pass by its declared title), the clip's own are not."""
    table = LiveTable()
    table(ScenePlanned("scene-01", ("1C",)))
    table(ShotMoved("scene-01", "1C", "keyframe_gate", "passed", take=1))
    assert table.rows[("scene-01", "1C")]["video"] == "passed take 1"
    table(ShotMoved("scene-01", "1C", "lipsync", "skipped"))
    assert table.rows[("scene-01", "1C")]["video"] == "lip-sync skipped"
    table(ShotMoved("scene-01", "1C", "upscale", "skipped"))
    assert table.rows[("scene-01", "1C")]["video"] == "upscale skipped"
    table(ShotMoved("scene-01", "1C", "faceswap_gate", "failed", take=2))
    assert table.rows[("scene-01", "1C")]["video"] == "face swap check failed take 2"


def test_the_live_table_shows_a_scenes_finishing_pass():
    """A long finishing pass (issue 23) moves in the table, not only in the run's log."""
    table = LiveTable()
    table(ScenePlanned("scene-01", ("1A",)))
    assert not table.table().caption
    table(SceneFinishing("scene-01", 0.5))
    assert table.table().caption == "finishing scene-01: 50%"


def test_listeners_are_handed_typed_events():
    """`emit(run, **fields)` reaches a listener as one event of tasks/run/events.py, never a dict; fields
    no event has are not sent (and never stop the run that emitted them)."""
    heard: list = []
    stop = listen(heard.append)
    try:
        emit(None, event="plan", scene="scene-01", shots=["1A", "1B"])
        emit(None, scene="scene-01", shot="1A", stage="panel_gate", take=2, moment="start", status="failed",
             reasons=["off the plate"])
        emit(None, scene="scene-01", stage="reference_gate", ref="characters/mara", status="passed", reasons=[])
        emit(None, event="waiting", scene="scene-01", profile="final", line="approve at …", flow_run_id="r1")
        emit(None, event="finishing", scene="scene-01", share=0.25)
        emit(None, scene="scene-01", shot="1A", stage="video", status="approved", colour="red")   # no such field
    finally:
        stop()
    assert heard == [ScenePlanned("scene-01", ("1A", "1B")),
                     ShotMoved("scene-01", "1A", "panel_gate", "failed", take=2, moment="start",
                               reasons=("off the plate",)),
                     ReferenceJudged("scene-01", "characters/mara", "passed"),
                     WaitingForPerson("scene-01", "final", "approve at …", "r1"),
                     SceneFinishing("scene-01", 0.25)]


def test_every_emit_in_slate_names_the_fields_of_a_typed_event():
    """Read off the source: each `emit(None, ...)` call of slate's code is one event of tasks/run/events.py,
    its keywords that event's fields (a new field is added to the event first)."""
    repo = Path(__file__).resolve().parents[2]
    calls = 0
    for folder in ("tasks", "flows", "governor", "slate"):
        for path in sorted((repo / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "emit"):
                    continue
                calls += 1
                names = [k.arg for k in node.keywords]
                assert None not in names, f"{path.name}:{node.lineno}: emit(None, **...) hides its fields"
                fields = {k.arg: (k.value.value if k.arg == "event" and isinstance(k.value, ast.Constant) else "x")
                          for k in node.keywords}
                try:
                    event_of(fields)
                except TypeError as exc:
                    raise AssertionError(f"{path.name}:{node.lineno}: {exc}") from None
    assert calls >= 15


def test_without_a_terminal_each_move_of_a_shot_is_one_line_said_once(capsys):
    """A nightly's log has no live table: it gets a line per move, with the time, the shot, the
    stage, the take and the first reason, and a move the shot already said is not said again."""
    from slate.commands.report import ProgressLines
    lines = ProgressLines()
    for event in [ShotMoved(scene="scene-01", shot="1A", stage="video", status="rendering", take=1),
                  ShotMoved(scene="scene-01", shot="1A", stage="video", status="rendering", take=1),
                  ShotMoved(scene="scene-01", shot="1A", stage="video", status="waiting for a slot", take=1,
                            reasons=("waiting 20 s for a video slot of fal key ab12 (1 of 1 taken)",)),
                  ShotMoved(scene="scene-01", shot="1A", stage="keyframe_gate", status="failed", take=1,
                            reasons=("the face is not Gabe's",)),
                  ShotMoved(scene="scene-01", shot="1A", stage="video", status="rendering", take=2),
                  ScenePlanned(scene="scene-01", shots=("1A",))]:
        lines(event)
    out = [line for line in capsys.readouterr().out.splitlines() if line]
    assert len(out) == 4, out
    assert out[0].endswith("scene-01/1A video rendering take 1")
    assert "waiting for a slot take 1: waiting 20 s for a video slot" in out[1]
    assert out[2].endswith("scene-01/1A keyframe_gate failed take 1: the face is not Gabe's")
    assert out[3].endswith("video rendering take 2") and out[3].startswith("[")
