"""The continuity ledger (issue 58 items 1 and 2): a scene declares its world once, each shot only
what changes, and `slate check` finds what contradicts it before any money.

A held scene of five shots (the example's 1C and 1D, a single of Gabe, a single of Jenny, and a
two-shot again) is written with four faults — the mug moved from the counter to the table with no
change saying so, Jenny swapped to the other side of frame with no camera move across the line,
Gabe and Jenny both facing frame right across the cut between their singles, the key light flipped
from left to right — and `slate check` (the command, its exit code and its words) reports each of
the four with both shots named; the same scene with each change declared passes.
"""
from __future__ import annotations

import copy

import pytest
import yaml
from typer.testing import CliRunner

from slate.cli import app
from slate.manifests import load_film
from slate.manifests.continuity_ledger import continuity_problems, ledger_of, said

WORLD = {"props": {"mug": {"state": "full", "at": "counter", "side": "right"}},
         "blocking": {"gabe": {"side": "left", "facing": "right"}, "jenny": {"side": "right", "facing": "left"}},
         "line": ["gabe", "jenny"], "light": {"time": "night", "key": "left", "temperature": "warm"}}


def _held_scene(root, faults: bool) -> None:
    path = root / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    by = {s["id"]: s for s in doc["shots"]}
    shots = []
    for sid, template, cast in (("1C", "1C", ["gabe", "jenny"]), ("1D", "1D", ["gabe", "jenny"]),
                                ("1E", "1D", ["gabe"]), ("1F", "1F", ["jenny"]), ("1G", "1D", ["gabe", "jenny"])):
        shot = copy.deepcopy(by[template])
        shot.update(id=sid, characters=cast, chain=False)
        for key in ("dialogue", "face_swap", "enters", "end_action"):
            shot.pop(key, None)
        shot["frame_mode"] = "start"
        shots.append(shot)
    c, d, e, f, g = shots
    d["continuity"] = {"props": {"mug": {"at": "table"}}, "blocking": {"jenny": {"side": "left"}}}
    e["continuity"] = {"blocking": {"gabe": {"facing": "right"}}}
    f["continuity"] = {"blocking": {"jenny": {"facing": "right" if faults else "left"}}}
    g["continuity"] = {"light": {"key": "right"}}
    if not faults:
        d["continuity"].update(changes={"mug": {"at": "table"}}, crosses_line=True)
        g["continuity"]["changes"] = {"light": {"key": "right"}}
    doc.update(shots=shots, continuity=WORLD)
    doc.pop("finishing", None)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def test_check_reports_each_of_the_four_faults_naming_both_shots(example_film):
    _held_scene(example_film, faults=True)
    found = {p.field: p for p in continuity_problems(load_film(example_film))}
    assert set(found) == {"continuity.props.mug.at", "continuity.blocking.jenny.side",
                          "continuity.blocking.jenny.facing", "continuity.light.key"}, found
    moved, swapped, eyes, light = (found[k] for k in ("continuity.props.mug.at", "continuity.blocking.jenny.side",
                                                      "continuity.blocking.jenny.facing", "continuity.light.key"))
    assert moved.shot == "1D" and "after 1C" in moved.message and "the mug, at the table" in moved.message \
        and "at the counter" in moved.message and "changes" in moved.message
    assert swapped.shot == "1D" and "frame right in 1C" in swapped.message and "frame left in 1D" in swapped.message \
        and "crosses_line: true" in swapped.message
    assert eyes.shot == "1F" and "gabe faces frame right in 1E" in eyes.message \
        and "jenny faces frame right in 1F" in eyes.message and "face frame left" in eyes.message
    assert light.shot == "1G" and "left in 1F" in light.message and "right in 1G" in light.message
    assert all(p.file == "scenes/scene-01.yaml" for p in found.values())
    # the command a person runs: refused, each one said with its file, shot and field
    out = CliRunner().invoke(app, ["check", str(example_film)])
    assert out.exit_code != 0
    for p in found.values():
        assert f"shot {p.shot}: {p.field}" in out.output, (p, out.output[-3000:])


def test_the_same_scene_with_each_change_declared_passes(example_film):
    _held_scene(example_film, faults=False)
    assert continuity_problems(load_film(example_film)) == []
    out = CliRunner().invoke(app, ["check", str(example_film)])
    assert "continuity" not in out.output, out.output[-3000:]


def test_the_state_at_each_shot_is_derived_from_the_scene_and_the_changes_before_it(example_film):
    _held_scene(example_film, faults=False)
    scene = load_film(example_film).scene("scene-01")
    states = {s.shot: s for s in ledger_of(scene)}
    assert states["1C"].start_props["mug"] == {"state": "full", "at": "counter", "side": "right"}
    assert states["1D"].start_props["mug"]["at"] == "counter" and states["1D"].end_props["mug"]["at"] == "table"
    assert states["1G"].start_props["mug"] == {"state": "full", "at": "table", "side": "right"}   # carried on
    assert states["1G"].start_light["key"] == "left" and states["1G"].end_light["key"] == "right"
    assert states["1E"].start_blocking["jenny"]["side"] == "left"      # where 1D (across the line) left her
    assert said("mug", states["1G"].start_props["mug"]) == "the mug, full, at the table, frame right"


@pytest.mark.parametrize("world,shot,field,words", [
    ({"blocking": {"ghost": {"side": "left"}}}, {}, "continuity", "'ghost' is no character"),
    ({}, {"changes": {"mugg": {"state": "empty"}}}, "continuity.changes.mugg", "a misspelt prop"),
    ({}, {"changes": {"gabe": {"state": "tired"}}}, "continuity.changes.gabe", "a character"),
    ({}, {"changes": {"mug": {"temperature": "cool"}}}, "continuity.changes.mug", "the light's"),
])
def test_names_nobody_declared_are_said(example_film, world, shot, field, words):
    _held_scene(example_film, faults=False)
    path = example_film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["continuity"] = {**WORLD, **world, "blocking": {**WORLD["blocking"], **world.get("blocking", {})}}
    doc["shots"][2]["continuity"] = {**doc["shots"][2]["continuity"], **shot}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    found = [p for p in continuity_problems(load_film(example_film)) if p.field == field]
    assert found and words in found[0].message, continuity_problems(load_film(example_film))


def test_a_chained_shot_must_start_where_the_one_before_ended(example_film):
    _held_scene(example_film, faults=False)
    path = example_film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["shots"][1]["chain"] = True          # 1D now starts on 1C's last frame: no change at its start
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    found = {p.field: p for p in continuity_problems(load_film(example_film))}
    assert "continuity.props.mug.at" in found and "1D is chained" in found["continuity.props.mug.at"].message


def _without_ledger(root) -> None:
    """The example as a film written before the ledger: no `continuity:` anywhere."""
    path = root / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    doc.pop("continuity")
    for shot in doc["shots"]:
        shot.pop("continuity", None)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def test_a_film_with_no_continuity_has_no_ledger_and_no_problem(example_film):
    _without_ledger(example_film)
    film = load_film(example_film)
    assert continuity_problems(film) == []
    assert all(s.start_props == {} and s.start_light == {} for s in ledger_of(film.scene("scene-01")))


def test_the_example_keeps_its_ledger_a_mug_poured_slid_and_lifted_across_a_conversation(example_film):
    """Item 6: the example declares a prop that changes on screen, a conversation across its cuts
    and a light that holds, and passes its own check; each shot's prompt says the mug as it is then."""
    from slate.tasks.shot.plan import plan_from_project
    film = load_film(example_film)
    assert continuity_problems(film) == []
    states = {s.shot: s for s in ledger_of(film.scene("scene-01"))}
    assert said("mug", states["1C"].start_props["mug"]) == "the mug, empty, at the counter, frame left"
    assert states["1C"].end_props["mug"]["state"] == "full" and states["1D"].end_props["mug"]["side"] == "right"
    assert said("mug", states["1F"].start_props["mug"]) == "the mug, full, in Jenny's hands, frame right"
    assert {s.start_light["key"] for s in states.values()} == {"left"}
    plans = {p.shot: p for p in plan_from_project(film, "scene-01", "draft", 12)}
    assert "the mug, full, at the counter, frame left" in plans["1D"].panel_request("start", 1).prompt
    assert "Frame left, facing frame right" in plans["1D"].panel_request("start", 1).prompt     # Gabe
    assert "key light from frame left" in plans["1I"].panel_request("start", 1).prompt


def test_a_bad_value_is_refused_by_the_loader_naming_its_field(example_film):
    path = example_film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["continuity"] = {"blocking": {"gabe": {"side": "upstage"}}}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    out = CliRunner().invoke(app, ["check", str(example_film)])
    assert out.exit_code != 0 and "continuity" in out.output and "side" in out.output, out.output[-2000:]


def test_the_prompts_carry_the_state_in_physical_words(example_film):
    """Item 3: each prop's place and state, each character's side and facing, the light — the
    start's in a start panel and a clip (a changed prop with its state by the end), the end's in an
    end panel; never "as before". A film with no ledger keeps its prompts word for word."""
    from slate.tasks.shot.plan import panel_prompt
    _without_ledger(example_film)
    before = panel_prompt(load_film(example_film), "scene-01", "1D", "start")
    assert "frame" not in before and "Light:" not in before          # a film that declares no ledger
    _held_scene(example_film, faults=False)
    film = load_film(example_film)
    start = panel_prompt(film, "scene-01", "1D", "start")
    assert "Props: the mug, full, at the counter, frame right." in start, start
    assert "Frame right, facing frame left." in start and "Frame left, facing frame right." in start, start
    assert "Light: night, key light from frame left, warm light." in start
    later = panel_prompt(film, "scene-01", "1G", "start")
    assert "the mug, full, at the table, frame right" in later and "as before" not in later
    from slate.tasks.shot.plan import moment_blocks
    clip = moment_blocks(film, "scene-01", "1D", "clip")
    assert clip.props == ("the mug, full, at the counter, frame right (by the end of the shot: full, at the table, "
                          "frame right)",), clip.props
