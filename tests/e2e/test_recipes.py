"""One edit at a time: a shot's recipe is two paid edit calls, each from the previous step's
picture, judged at the end and cached by content; a plate's recipe is a version per edit; the
lint warns about an instruction that asks for several changes; a blank step is refused."""
from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

from slate.governor.ledger import Ledger
from slate.cli import app
from slate.providers.prompts import several_changes
from tests.scene_cuts import keep_shots

runner = CliRunner()


def slate(*args, code: int = 0) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == code, f"slate {' '.join(map(str, args))}: {result.output}"
    return result.output


def set_recipe(root, shot: str, steps: list[str]) -> None:
    path = root / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    next(s for s in doc["shots"] if s["id"] == shot)["recipe"] = steps
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def test_several_changes_in_one_instruction_are_found():
    assert several_changes("make the candies smaller and keep the colours") == ["make", "keep"]
    assert several_changes("Remove the stools, then add a plant") == ["remove", "add"]
    assert several_changes("empty the bag") == []
    assert several_changes("fill the bag with small candies and sprinkles") == []


@pytest.mark.e2e
@pytest.mark.usefixtures("local_calls", "prefect_harness")
def test_a_two_step_recipe_is_two_edit_rows_each_from_the_last(example_film):
    root = example_film
    keep_shots(root, ("1A",))
    set_recipe(root, "1A", ["empty the bag", "fill the bag with small candies and keep the colours"])
    out = slate("check", root)
    assert "recipe[1]" in out and "asks for 2 changes at once (fill, keep)" in out, out
    slate("run", root)
    rows = Ledger.for_project(root).rows()
    edits = [r for r in rows if r.stage == "panel_edit"]
    assert [(r.shot, r.parameters["step"], r.status) for r in edits] == [("1A", 1, "succeeded"), ("1A", 2, "succeeded")]
    panel = next(r for r in rows if r.stage == "panel")
    assert edits[0].reference_hashes == (panel.artifact_uri,)        # step 1 edits the drawn panel
    assert edits[1].reference_hashes == (edits[0].artifact_uri,)     # step 2 starts from step 1's output
    assert edits[1].prompt == "fill the bag with small candies and keep the colours"
    gate = next(r for r in rows if r.stage == "panel_gate")
    assert gate.reference_hashes[0] == edits[1].artifact_uri         # the gate judged what the last step made
    slate("run", root)
    assert len(Ledger.for_project(root).rows()) == len(rows)         # cached by content: nothing paid again


def test_a_blank_recipe_step_is_refused_naming_it(example_film, local_calls):
    set_recipe(example_film, "1A", ["empty the bag", "  "])
    out = slate("check", example_film, code=1)
    assert "1A" in out and "recipe[1]" in out and "must not be empty" in out, out
    assert Ledger.for_project(example_film).rows() == []


def test_a_plate_recipe_is_one_version_per_edit(example_film, local_calls):
    path = example_film / "bible.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["locations"][0]["recipe"] = ["remove the red stools", "remove the dark green booths"]
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    slate("bible", "plate", example_film, "diner")
    out = slate("bible", "plate", example_film, "diner", "--recipe", "--from", "1")
    assert "v2 from v1 (edit: remove the red stools)" in out and "v3 from v2 (edit: remove the dark green booths)" in out
    rows = [r for r in Ledger.for_project(example_film).rows() if r.stage == "reference"]
    assert [r.parameters["instruction"] for r in rows] == [None, "remove the red stools", "remove the dark green booths"]
