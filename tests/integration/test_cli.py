"""The command line on real project folders: init, check (good and bad), status, and run."""
from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

from slate.cli import app

runner = CliRunner()


def test_init_example_then_check_passes(tmp_path):
    result = runner.invoke(app, ["init", "--example", str(tmp_path / "film")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["check", str(tmp_path / "film")])
    assert result.exit_code == 0, result.output
    assert "9 shot(s)" in result.output and "5 characters" in result.output


def test_init_refuses_a_folder_with_work_in_it(tmp_path):
    (tmp_path / "film").mkdir()
    (tmp_path / "film" / "notes.txt").write_text("mine")
    result = runner.invoke(app, ["init", "--example", str(tmp_path / "film")])
    assert result.exit_code == 2
    assert (tmp_path / "film" / "notes.txt").read_text() == "mine"


def test_check_prints_every_problem_and_fails(example_film):
    path = example_film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["shots"][2]["characters"][1] = "jeny"
    doc["shots"][3]["duration"] = 30
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    result = runner.invoke(app, ["check", str(example_film)])
    assert result.exit_code == 1
    assert ("scenes/scene-01.yaml: shot 1C: characters[1]: unknown character 'jeny' "
            "(bible has: gabe, jenny, leo, mia, nina)") in result.output
    assert "shot 1D: duration" in result.output


def test_check_refuses_a_chain_into_someone_new_unless_they_enter(example_film):
    """1F chains from 1E's last frame, where Leo is not: every take would fail the keyframe gate
    ("leo is named for the shot but in none of its frames"), so `slate check` says so now, naming
    both shots, Leo and the two fixes. Marked `enters: [leo]`, the same film checks ok."""
    path = example_film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    assert doc["shots"][5]["id"] == "1F" and doc["shots"][5]["chain"]
    doc["shots"][5]["characters"] = ["jenny", "leo"]
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    result = runner.invoke(app, ["check", str(example_film)])
    assert result.exit_code == 1, result.output
    assert ("scenes/scene-01.yaml: shot 1F: chain: chains from shot 1E's last frame, where leo is not (shot 1E "
            "names gabe, jenny): every take would fail the keyframe gate. Start the shot from its own panel "
            "(chain: false), or write the entrance into the action and mark it: enters: [leo]") in result.output

    doc["shots"][5].update(enters=["leo"], action="Jenny turns her head toward the door as Leo walks in beside her.")
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    result = runner.invoke(app, ["check", str(example_film)])
    assert result.exit_code == 0, result.output


def test_check_names_a_missing_approved_reference(example_film):
    (example_film / "characters" / "mia" / "mia_turnaround_APPROVED.png").rename(
        example_film / "characters" / "mia" / "mia_turnaround_draft.png")
    result = runner.invoke(app, ["check", str(example_film)])
    assert result.exit_code == 1
    assert "character 'mia': no approved reference at characters/mia/mia_turnaround_APPROVED.png" in result.output
    assert "storage has approved characters: gabe, jenny, leo, nina" in result.output


def test_empty_project_check_names_what_to_add(tmp_path):
    assert runner.invoke(app, ["init", str(tmp_path / "mine")]).exit_code == 0
    result = runner.invoke(app, ["check", str(tmp_path / "mine")])
    assert result.exit_code == 1
    assert "characters/lead/lead_turnaround_APPROVED.png" in result.output


