"""A continuity deviation the director keeps (issue 58, tasks/gates/deviations.py): checked as `slate
check` checks a hand-written change before it is written, kept as a $0 row of the ledger's
approvals, and laid over the film so the ledger follows the picture from the end of the shot it
was seen in — the shots after it are asked and judged by the new state, the shot's own start
panel is not asked again (a request unchanged: its take is not paid for twice)."""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

from slate.cli import app
from slate.governor.ledger import Ledger
from slate.manifests import load_film
from slate.manifests.continuity_ledger import continuity_at, continuity_problems, ledger_lines
from slate.providers.base import fingerprint
from slate.tasks.gates.deviations import (DEVIATION_STAGE, BadDeviation, Deviation, accept_deviation, as_accepted,
                                    deviation_of, deviations_of, read_fields)
from slate.tasks.shot.plan import plan_from_project

SCENE = "scene-01"
BLUE = "#2255aa"
runner = CliRunner()


def _shot(film, shot_id):
    scene = film.scene(SCENE)
    return scene, next(s for s in scene.shots if s.id == shot_id)


def test_the_ledger_follows_the_picture_from_the_end_of_the_shot(example_film):
    film = load_film(example_film)
    kept = as_accepted(film, [deviation_of(film, SCENE, "1C", "mug", read_fields([f"colour={BLUE}"]), by="ana")])
    for shot_id in ("1B", "1C"):   # before it and its own start: as declared
        assert continuity_at(*_shot(kept, shot_id), "start") == continuity_at(*_shot(film, shot_id), "start")
    end = continuity_at(*_shot(kept, "1C"), "end")
    assert end["props"]["mug"]["colour"] == BLUE and end["was"]["mug"].get("colour") != BLUE
    for shot_id in ("1D", "1E"):   # after it: the picture's colour, since 1C
        start = continuity_at(*_shot(kept, shot_id), "start")
        assert start["props"]["mug"]["colour"] == BLUE and start["since"]["mug"] in ("1C", "1D"), start
    assert continuity_problems(kept) == []
    assert any("accepted: mug" in line for line in ledger_lines(*_shot(kept, "1C")))
    # No deviation: the film as loaded, the very object.
    assert as_accepted(film, []) is film


def test_accepting_asks_again_only_for_the_shots_after_it(example_film):
    """The shot the deviation was seen in keeps its start panel's request (its take stays the
    picture, nothing re-paid); the next shot's panel is asked with the new state."""
    film = load_film(example_film)
    kept = as_accepted(film, [Deviation(SCENE, "1C", "mug", {"colour": BLUE})])
    before = {p.shot: p for p in plan_from_project(film, SCENE, "draft", 24)}
    after = {p.shot: p for p in plan_from_project(kept, SCENE, "draft", 24)}
    key = lambda p: fingerprint(p.panel_request("start", 1).as_dict())  # noqa: E731
    assert key(after["1C"]) == key(before["1C"]) and key(after["1A"]) == key(before["1A"])
    assert key(after["1D"]) != key(before["1D"])
    assert BLUE in str(after["1D"].panel_request("start", 1).continuity)


@pytest.mark.parametrize("shot, thing, fields, said", [
    ("9Z", "mug", ["side=right"], "scenes/"),                                     # no such shot: the scene's file
    ("1C", "teapot", ["side=right"], "the ledger holds no 'teapot' at 1C"),
    ("1C", "mug", ["side=up"], "continuity.accepted.mug.side"),
    ("1C", "gabe", ["state=empty"], "gabe is a character"),
    ("1C", "light", ["side=left"], "the light changes only"),
])
def test_a_deviation_no_check_would_pass_is_refused_by_name(example_film, shot, thing, fields, said):
    film = load_film(example_film)
    with pytest.raises(BadDeviation) as exc:
        deviation_of(film, SCENE, shot, thing, read_fields(fields))
    assert said in str(exc.value)
    with pytest.raises(BadDeviation, match="FIELD=VALUE"):
        read_fields(["side"])


def test_a_deviation_is_a_row_of_the_approvals_and_nothing_paid(example_film):
    film = load_film(example_film)
    with Ledger.for_project(example_film) as ledger:
        accept_deviation(ledger, film, deviation_of(film, SCENE, "1C", "mug", {"colour": BLUE}, note="reads", by="ana"))
        accept_deviation(ledger, film, deviation_of(film, SCENE, "1C", "mug", {"side": "left"}, by="ben"))
        rows = ledger.approvals(film=film.film.id, stage=DEVIATION_STAGE)
        assert [(r.shot, r.by, r.message) for r in rows] == [("1C", "ana", "reads"), ("1C", "ben", "")]
        assert list(ledger.rows(film=film.film.id)) == []          # no call, no cost
        kept = as_accepted(film, deviations_of(ledger, film.film.id))
    # Later over earlier, field by field: both the colour and the side hold after 1C.
    mug = continuity_at(*_shot(kept, "1D"), "start")["props"]["mug"]
    assert mug["colour"] == BLUE and mug["side"] == "left"


def test_slate_continuity_accepts_lists_and_check_reads_it(example_film):
    done = runner.invoke(app, ["continuity", str(example_film), "1C", "mug", f"colour={BLUE}", "--by", "ana",
                               "--note", "the blue reads better"])
    assert done.exit_code == 0, done.output
    assert "accepted: 1C: mug colour #2255aa, accepted by ana" in done.output
    listed = runner.invoke(app, ["continuity", str(example_film)])
    assert listed.exit_code == 0 and "scene-01 1C: mug colour #2255aa" in listed.output, listed.output
    refused = runner.invoke(app, ["continuity", str(example_film), "1C", "teapot", "side=left", "--by", "ana"])
    assert refused.exit_code == 2 and "teapot" in refused.output
    with Ledger.for_project(example_film) as ledger:
        assert len(ledger.approvals(stage=DEVIATION_STAGE)) == 1   # the refused one wrote nothing


def test_a_deviation_changes_the_scenes_can_key_so_an_unchanged_scene_is_not_served(example_film):
    """The can (tasks/run/can.py) keys a scene on its plans as the run makes them — with the accepted
    deviations — or a run after `slate continuity` would serve the old cut and make nothing."""
    from slate.governor.policy import TakePolicy
    from slate.settings import project_settings
    from slate.tasks.run.reel import scene_keys
    film, settings = load_film(example_film), project_settings(example_film)

    def key() -> str:
        [(k, _)] = scene_keys(example_film, film, settings, [SCENE],
                              TakePolicy(settings.max_takes, settings.no_progress_takes)).values()
        return k
    before = key()
    assert key() == before
    with Ledger.for_project(example_film) as ledger:
        accept_deviation(ledger, film, deviation_of(film, SCENE, "1D", "mug", {"colour": BLUE}, by="ana"))
    assert key() != before


def test_the_report_shows_each_shots_ledger_and_the_deviations_kept(example_film):
    from slate.manifests.settings import project_settings
    from slate.providers.storage_local import LocalStorage
    from slate.tasks.review.production_report import build
    film = load_film(example_film)
    with Ledger.for_project(example_film) as ledger:
        accept_deviation(ledger, film, deviation_of(film, SCENE, "1D", "mug", {"colour": BLUE}, note="bluer", by="ana"))
    html = build(example_film, film, project_settings(example_film), LocalStorage(example_film)).read_text()
    shot = html[html.index('id="shot-scene-01-1D"'):html.index('id="shot-scene-01-1E"')]
    assert "continuity ledger" in shot and "starts: the mug, full" in shot
    assert "deviation kept" in shot and "1D: mug colour #2255aa, accepted by ana (bluer)" in shot
    after = html[html.index('id="shot-scene-01-1E"'):html.index('id="shot-scene-01-1F"')]
    assert "coloured #2255aa" in after     # the shot after it, held to the picture's state
