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


@pytest.mark.e2e
def test_run_reports_outputs_and_calls(example_film, prefect_harness, local_calls):
    path = example_film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["shots"] = doc["shots"][:2]
    doc["shots"][-1]["transition_out"] = {"kind": "cut", "duration": 0}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    first = runner.invoke(app, ["run", str(example_film)])
    assert first.exit_code == 0, first.output
    assert "scene-01-draft.mp4" in first.output and "scene-01-draft-contact.png" in first.output
    second = runner.invoke(app, ["run", str(example_film)])
    assert second.exit_code == 0, second.output
    assert "provider calls made: 0" in second.output
    status = runner.invoke(app, ["status", str(example_film)])
    assert "scene-01-draft.mp4" in status.output


def _two_scenes(root):
    path = root / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["shots"] = doc["shots"][:1]
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    doc["id"], doc["title"] = "scene-02", "Again"
    doc["shots"][0]["seed"] = 5
    (root / "scenes" / "scene-02.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    film = yaml.safe_load((root / "film.yaml").read_text())
    film["scenes"] = ["scenes/scene-01.yaml", "scenes/scene-02.yaml"]
    (root / "film.yaml").write_text(yaml.safe_dump(film, sort_keys=False))


@pytest.mark.e2e
def test_slate_run_renders_the_film_or_the_scenes_named(example_film, prefect_harness, local_calls):
    _two_scenes(example_film)
    only = runner.invoke(app, ["run", str(example_film), "--scene", "scene-02"])
    assert only.exit_code == 0, only.output
    assert "scene-02-draft.mp4" in only.output and "scene-01-draft.mp4" not in only.output
    assert not (example_film / "renders" / "scene-01-draft.mp4").exists()
    whole = runner.invoke(app, ["run", str(example_film)])
    assert whole.exit_code == 0, whole.output
    assert "scene-01-draft.mp4" in whole.output and "film:          " in whole.output
    assert (example_film / "renders" / "night-diner-draft.mp4").is_file()
    assert "provider calls made: " in whole.output
    bad = runner.invoke(app, ["run", str(example_film), "--scene", "scene-09"])
    assert bad.exit_code == 1 and "unknown scene 'scene-09'" in bad.output


@pytest.mark.e2e
def test_the_console_shows_the_table_and_the_summary_not_prefects_lines(example_film, tmp_path):
    """A halted run (a zero cap on a priced rehearsal) makes Prefect log task errors: quiet
    unless --verbose, and the summary starts on its own line below the table."""
    import os
    import subprocess
    import sys
    path = example_film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["shots"] = doc["shots"][:1]
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env.update(PREFECT_HOME=str(tmp_path / "home"), SLATE_PAID_CALLS_ALLOWED="local")
    args = [sys.executable, "-m", "slate.cli", "run", str(example_film), "--cap", "0", "--price-as",
            "replicate:bytedance/seedance-1-pro"]
    quiet = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600)
    loud = subprocess.run(args + ["--verbose"], env=env, capture_output=True, text=True, timeout=600)
    for out in (quiet, loud):
        assert out.returncode == 1 and "state: Halted" in out.stdout, out.stdout[-2000:] + out.stderr[-2000:]
        assert "\nstate: Halted" in out.stdout and "┘state" not in out.stdout
    assert "| ERROR   |" not in quiet.stdout + quiet.stderr
    assert "| ERROR   |" in loud.stdout + loud.stderr
