"""`slate run` from the command line, whole: the outputs and calls it reports, the console's table and summary, a film or the scenes named."""

from __future__ import annotations

import pytest
import yaml
from slate.cli import app

from tests.integration.test_cli import runner
from tests.prefect_homes import slate_env
from tests.scene_cuts import fit_music, without_finishing


@pytest.mark.e2e
def test_run_reports_outputs_and_calls(example_film, prefect_harness, local_calls):
    # 1A, 1B: two shots make a scene to report; no finishing (the report is the subject).
    without_finishing(example_film)
    path = example_film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["shots"] = doc["shots"][:2]
    fit_music(doc)
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
    """Two scenes of one shot (1A): the smallest film; no finishing (which scenes run is the subject)."""
    without_finishing(root)
    path = root / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["shots"] = doc["shots"][:1]
    fit_music(doc)
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
    fit_music(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    env = slate_env(tmp_path / "home", SLATE_PAID_CALLS_ALLOWED="local")
    args = [sys.executable, "-m", "slate.cli", "run", str(example_film), "--cap", "0", "--price-as",
            "replicate:bytedance/seedance-1-pro"]
    quiet = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600)
    loud = subprocess.run(args + ["--verbose"], env=env, capture_output=True, text=True, timeout=600)
    for out in (quiet, loud):
        assert out.returncode == 1 and "state: Halted" in out.stdout, out.stdout[-2000:] + out.stderr[-2000:]
        assert "\nstate: Halted" in out.stdout and "┘state" not in out.stdout
    assert "| ERROR   |" not in quiet.stdout + quiet.stderr
    # Not a terminal: the run said each move as it happened, one line each, the halt with its reason.
    moves = [line for line in quiet.stdout.splitlines() if "scene-01/1A " in line and line.startswith("[")]
    assert moves and any("halted" in line for line in moves), quiet.stdout[-2000:]
    assert "| ERROR   |" in loud.stdout + loud.stderr
    # On its own embedded server a run's flows send no heartbeats (only a stack's zombie automation
    # reads them; a flow that beats waits for its heartbeat thread at its end): its server saw
    # the flows run, and no heartbeat.
    import sqlite3
    with sqlite3.connect(tmp_path / "home" / "prefect.db") as db:
        seen = dict(db.execute("SELECT event, count(*) FROM events WHERE event LIKE 'prefect.flow-run.%' "
                               "GROUP BY event").fetchall())
    assert seen.get("prefect.flow-run.Running", 0) >= 2 and "prefect.flow-run.heartbeat" not in seen, seen
