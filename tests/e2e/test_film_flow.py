"""The film flow and its deployments.

Unit: the deployments are built without a server (four, named, the nightly one on a 01:00
cron at the draft profile, ending with the dailies form, and the dailies form's own; a fifth, the
bible's approval, once the folder holds a film) and deployments/prefect.yaml names the same five
with entrypoints that exist. End to end: a two-scene example film (two short shots each) renders under the test
harness into one 480p H.264 mp4 as long as its two scenes together.
"""
from __future__ import annotations

from slate.manifests.options import RunOptions
import importlib
from pathlib import Path

import pytest
import yaml

from tests.scene_cuts import two_short_scenes, without_finishing

REPO = Path(__file__).resolve().parents[2]
NAMES = ["scene", "film", "nightly-dailies", "bible", "dailies"]
ENTRYPOINTS = {"scene": "slate.flows.scene:scene_flow", "film": "slate.flows.film:film_flow",
               "nightly-dailies": "slate.flows.film:film_flow", "bible": "slate.flows.bible:bible_flow",
               "dailies": "slate.flows.dailies:dailies_flow"}
FLOWS = {"scene": "scene", "film": "film", "nightly-dailies": "film", "bible": "bible", "dailies": "dailies"}
UNFILMED = [n for n in NAMES if n != "bible"]   # a folder with no film yet has no bible to approve


def _entrypoint_flow(entrypoint: str):
    module_name, _, name = entrypoint.partition(":")
    assert module_name.startswith("slate."), module_name       # the installed name, never a file path
    module = importlib.import_module(module_name)
    return getattr(module, name)


def test_build_deployments_names_schedule_and_parameters(tmp_path):
    from slate.deployments.serve import build_deployments

    deployments = build_deployments(str(tmp_path), timezone="Europe/Berlin")
    assert [d.name for d in deployments] == UNFILMED
    by_name = {d.name: d for d in deployments}
    assert {n: d.entrypoint for n, d in by_name.items()} == {n: ENTRYPOINTS[n] for n in UNFILMED}
    assert by_name["scene"].flow_name == "scene"
    assert by_name["film"].flow_name == by_name["nightly-dailies"].flow_name == "film"
    for d in deployments:
        assert d.parameters["project"] == str(tmp_path.resolve())
    assert by_name["scene"].schedules == [] and by_name["film"].schedules == []

    nightly = by_name["nightly-dailies"]
    assert nightly.parameters["options"] == {"profile": "draft"}
    assert nightly.parameters["dailies"] is True and "dailies" not in by_name["film"].parameters   # issue 40
    [schedule] = nightly.schedules
    assert schedule.schedule.cron == "0 1 * * *"
    assert schedule.schedule.timezone == "Europe/Berlin"
    assert schedule.slug == "nightly-dailies"
    assert build_deployments(str(tmp_path))[2].schedules[0].schedule.timezone == "UTC"


def test_a_served_film_has_its_bible_approval_deployment(example_film):
    from slate.deployments.serve import build_deployments

    by_name = {d.name: d for d in build_deployments(str(example_film))}
    assert list(by_name) == NAMES
    bible = by_name["bible"]
    assert bible.entrypoint == ENTRYPOINTS["bible"] and bible.flow_name == "bible"
    assert bible.parameters == {"project": str(example_film.resolve()), "asset": "gabe", "version": 1}   # the first character


def test_prefect_yaml_names_the_same_deployments():
    doc = yaml.safe_load((REPO / "deployments" / "prefect.yaml").read_text())
    deployments = {d["name"]: d for d in doc["deployments"]}
    assert list(deployments) == NAMES
    for name, d in deployments.items():
        assert d["entrypoint"] == ENTRYPOINTS[name]
        assert _entrypoint_flow(d["entrypoint"]).name == FLOWS[name]
        assert d["work_pool"]["name"] == "slate"
        assert d["parameters"]["project"] == "example-film"
    nightly = deployments["nightly-dailies"]
    assert nightly["parameters"]["options"] == {"profile": "draft"} and nightly["parameters"]["dailies"] is True
    [schedule] = nightly["schedules"]
    assert (schedule["cron"], schedule["slug"]) == ("0 1 * * *", "nightly-dailies")
    [step] = doc["pull"]
    assert "prefect.deployments.steps.set_working_directory" in step


@pytest.mark.e2e
def test_two_scene_film_renders_into_one_mp4(example_film, prefect_harness, local_calls):
    from slate.flows.film import FilmResult, film_flow
    from slate.manifests import load_film
    from slate.media import probe

    # Two scenes of two shots (1A, 1B): the smallest film; no finishing (the stitch of scenes is the subject).
    two_short_scenes(example_film)
    without_finishing(example_film)
    loaded = load_film(example_film)
    assert [s.id for _, s in loaded.scenes] == ["scene-01", "scene-02"]

    state = film_flow(project=str(example_film), return_state=True)
    result = state.result()
    assert state.is_completed() and state.name == "Completed", (state.name, state.message)
    assert isinstance(result, FilmResult)
    assert [s.scene for s in result.scenes] == ["scene-01", "scene-02"]

    out = example_film / "renders" / "night-diner-draft.mp4"
    assert out.is_file() and Path(result.output) == out
    assert not [p for p in out.parent.iterdir() if ".part" in p.name]
    p = probe(out)
    assert p.codec == "h264"
    assert (p.width, p.height) == (854, 480)
    expected = sum(s.total_seconds() for _, s in loaded.scenes)
    assert abs(p.duration - expected) <= 2 / 24 + 1e-6, (p.duration, expected)
    assert abs(p.duration - sum(s.duration for s in result.scenes)) <= 2 / 24 + 1e-6
    # Read from the server: the two scene runs are sub-flows of this film run (the run their
    # caps count), and they were launched at once — each scene's second unit (the film's task
    # that runs it) started before the other ended; one scene after another starts the second
    # only when the first has ended. The units' times are the film process's own clock. The
    # scene runs' `created` is not compared: it is the server's, and a busy SQLite server
    # answered one create 14 s late ("database is locked", the client's retries), in CI.
    film_run = state.state_details.flow_run_id
    scenes = _scene_runs_under(film_run)
    assert sorted(r.parameters["scene"] for r in scenes) == ["scene-01", "scene-02"]
    units = _finished_task_runs(film_run, "second-unit", 2)
    assert max(u.start_time for u in units) < min(u.end_time for u in units), \
        [(u.name, u.start_time, u.end_time) for u in units]


def _scene_runs_under(film_run_id):
    """The flow runs of the scene flow whose parent task run belongs to the film run."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["scene"])))
        return [r for r in runs if r.parent_task_run_id is not None
                and client.read_task_run(r.parent_task_run_id).flow_run_id == film_run_id]


def _finished_task_runs(flow_run_id, name: str, count: int, within: float = 30.0):
    """The film run's task runs called `name`, once `count` of them have ended on the server
    (a task run's states reach the server as events, a moment after the flow has returned)."""
    import time

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, TaskRunFilter, TaskRunFilterName

    deadline = time.monotonic() + within
    with get_client(sync_client=True) as client:
        while True:
            runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
                                         task_run_filter=TaskRunFilter(name=TaskRunFilterName(like_=name)))
            ended = [r for r in runs if r.name.startswith(name) and r.start_time and r.end_time]
            if len(ended) >= count or time.monotonic() > deadline:
                assert len(ended) == count, [(r.name, r.start_time, r.end_time) for r in runs]
                return ended
            time.sleep(0.2)


def _fake_scenes(monkeypatch, outcomes: dict):
    """Stand in for the scene flow: each scene ends in the state `outcomes[scene]` builds."""
    from prefect import flow

    import slate.flows.film

    ran = []

    @flow(name="scene")
    def fake_scene(project: str, scene: str | None = None, options: RunOptions | None = None):
        ran.append(scene)
        return outcomes[scene]()

    monkeypatch.setattr(slate.flows.film, "scene_flow", fake_scene)
    return ran


def _scene_result(scene: str, output: str | None, duration: float | None, escalated: bool = False):
    from slate.flows.run.scene_result import SceneResult, ShotReport

    shots = [ShotReport(shot="1A", panel_takes=1, video_takes=1, status="escalated" if escalated else "approved")]
    return SceneResult(film="night-diner", scene=scene, profile="draft", run_id="test", output=output,
                       contact_sheet="", duration=duration, width=854, height=480, provider_calls=0, shots=shots)


def test_a_halted_scene_stops_the_film(example_film, prefect_harness, monkeypatch):
    from slate.flows.run.scene_result import ended

    two_short_scenes(example_film)
    ran = _fake_scenes(monkeypatch, {
        "scene-01": lambda: ended("Halted", "budget cap reached", _scene_result("scene-01", None, None)),
        "scene-02": lambda: pytest.fail("scene-02 must not run after a halted scene"),
    })
    from slate.flows.film import film_flow

    # One scene at a time: scene-02 would start only after scene-01 ended, and must not.
    state = film_flow(project=str(example_film), options=RunOptions(max_parallel_scenes=1), return_state=True)
    assert ran == ["scene-01"]
    assert state.is_failed() and state.name == "Halted" and state.message == "budget cap reached"
    from slate.flows.film import FilmEnded, film_result
    assert isinstance(state.result(raise_on_failure=False), FilmEnded)  # an exception: Prefect can raise it
    result = film_result(state)
    assert result.output is None and [s.scene for s in result.scenes] == ["scene-01"]
    assert not (example_film / "renders" / "night-diner-draft.mp4").exists()


def test_escalated_and_empty_scenes_end_the_film_escalated(example_film, prefect_harness, monkeypatch):
    from prefect.states import Completed

    from slate.media import probe, render_clip

    two_short_scenes(example_film)
    clip = example_film / "clip.mp4"
    plate = next((example_film / "locations").rglob("*_APPROVED.png"))
    render_clip(plate, clip, width=854, height=480, fps=24, seconds=1.0, movement="static")
    ran = _fake_scenes(monkeypatch, {
        "scene-01": lambda: Completed(data=_scene_result("scene-01", str(clip), 1.0, escalated=True),
                                      name="Escalated", message="1 shot(s) escalated: 1A"),
        "scene-02": lambda: Completed(data=_scene_result("scene-02", None, None)),
    })
    from slate.flows.film import film_flow

    state = film_flow(project=str(example_film), return_state=True)
    assert sorted(ran) == ["scene-01", "scene-02"]
    assert state.is_completed() and state.name == "Escalated"
    assert "scene-02" in state.message and "scene-01" in state.message
    result = state.result()
    assert abs(probe(result.output).duration - 1.0) <= 1 / 24 + 1e-6
