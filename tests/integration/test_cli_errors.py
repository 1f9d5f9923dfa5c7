"""The real `slate` command on bad input: one `error:` line naming the file, shot and field it
knows, exit code 1, and never a traceback; a bug (an exception that is not a SlateError) still
shows its traceback.

Run as a person runs it — a process of its own (`python -m slate.cli`, this checkout first on
the path) — so what is tested is what reaches a terminal, not what a CliRunner catches.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def slate(*args: str | Path, code: str | None = None) -> subprocess.CompletedProcess[str]:
    """`slate ARGS` (or `python -c CODE ARGS`), from this checkout."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])}
    program = ["-c", code] if code is not None else ["-m", "slate.cli"]
    return subprocess.run([sys.executable, *program, *map(str, args)], env=env, capture_output=True, text=True,
                          timeout=180, cwd=REPO)


def error_line(done: subprocess.CompletedProcess[str], *names: str) -> str:
    """The one `error:` line of a refused command, which names each of `names`."""
    everything = done.stdout + done.stderr
    assert "Traceback" not in everything, everything
    assert done.returncode == 1, (done.returncode, everything)
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, everything
    for name in names:
        assert name in errors[0], (name, errors[0])
    return errors[0]


def test_a_bad_field_of_film_yaml_is_one_line_naming_the_file_the_field_and_the_value(example_film):
    film = example_film / "film.yaml"
    film.write_text(film.read_text().replace("fps: 24", "fps: banana"))
    line = error_line(slate("check", example_film), "banana")
    assert line.startswith("error: film.yaml: fps: "), line
    assert error_line(slate("run", example_film)) == line   # refused before anything starts, said alike


def test_a_bad_field_of_a_shot_names_the_scene_file_and_the_shot(example_film):
    scene = example_film / "scenes" / "scene-01.yaml"
    scene.write_text(scene.read_text().replace("duration: 3.5", "duration: long", 1))
    line = error_line(slate("check", example_film), "long")
    assert line.startswith("error: scenes/scene-01.yaml: shot 1C: duration: "), line


def test_a_missing_project_folder_is_named(tmp_path):
    missing = tmp_path / "no-such-film"
    line = error_line(slate("check", missing), str(missing))
    assert line.startswith("error: film.yaml: file: no film manifest in "), line
    # the kill switch writes no STOP file into a folder that is not there (it used to be a traceback)
    assert error_line(slate("stop", missing)) == f"error: {missing}: no such project folder"
    assert not missing.exists()


def test_an_unknown_scene_is_named_with_the_scenes_there_are(example_film):
    for command in ("run", "estimate"):
        line = error_line(slate(command, example_film, "--scene", "scene-99"))
        assert line == "error: command line: --scene: unknown scene 'scene-99' (film has: scene-01)", line


def test_a_bad_cap_names_the_flag_and_what_was_typed(example_film):
    line = error_line(slate("run", example_film, "--cap", "lots"))
    assert line.startswith("error: command line: --cap: ") and "(got 'lots')" in line, line


def test_an_error_raised_deep_in_a_command_is_one_line_too(example_film, tmp_path):
    """A SlateError no command catches — the ledger's database cannot be opened — reaches the
    app's one catch (slate/cli.py) and is said as one line, where it was a traceback."""
    ledger = tmp_path / "no-such-folder" / "ledger.db"
    with (example_film / "slate.toml").open("a") as toml:
        toml.write(f'\nledger_url = "sqlite:///{ledger}"\n')
    said = error_line(slate("log", example_film), "cannot open the ledger", str(ledger))
    assert said.startswith("error: ") and str(ledger) in said, said   # one line, naming the database it could not open


def test_a_malformed_ledger_address_is_one_line_from_status_and_log(example_film):
    """`slate status` and `slate log` read the ledger: a ledger_url that is no database URL was an
    80-line traceback (sqlalchemy's ValueError) where `slate check` gave one line."""
    with (example_film / "slate.toml").open("a") as toml:
        toml.write('\nledger_url = "the studio database"\n')
    for command in ("status", "log"):
        line = error_line(slate(command, example_film), "slate.toml: ledger_url", "'the studio database'",
                          "is not a database URL")
        assert line.startswith("error: cannot open the ledger"), line


def test_check_connects_to_the_ledger_and_names_a_missing_database(example_film):
    """`slate check` read ledger_url's form only: a database that is not there passed, and the run
    failed at its start. Now it connects once, briefly, and says what the server answered."""
    from tests.postgres_db import pg_database
    with pg_database() as url:
        missing = f"{url}_not_made"
        with (example_film / "slate.toml").open("a") as toml:
            toml.write(f'\nledger_url = "{missing}"\n')
        done = slate("check", example_film)
    line = error_line(done, "slate.toml: ledger_url:", repr(missing), "cannot connect to it", "does not exist")
    assert done.stderr.splitlines()[-1].startswith("1 problem(s)"), done.stderr


BUG = """
import sys
from slate.cli import app

@app.command()
def boom():
    raise RuntimeError("a bug, not a refusal")

sys.argv = ["slate", "boom"]
app()
"""


def test_a_bug_still_shows_its_traceback():
    done = slate(code=BUG)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" in done.stderr and "RuntimeError: a bug, not a refusal" in done.stderr, done.stderr
    assert not [line for line in done.stderr.splitlines() if line.startswith("error: ")], done.stderr
