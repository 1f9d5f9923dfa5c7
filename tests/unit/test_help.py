"""`--help` of every command and sub-command prints, whole and literally.

rich used to read help texts as markup: `slate run --help` crashed with a MarkupError on
"s3://BUCKET[/PREFIX]/films/FILM_ID", and `slate push --help` swallowed "[storage]". Each help
is run here, through typer's runner and once as a person types it, and must exit 0 with no
traceback and contain every word of the command's docstring and of each option's help.
"""
from __future__ import annotations

import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from slate.cli import app

runner = CliRunner()


def _commands(group, path=()):
    """(path, click command) for the group and everything under it."""
    yield path, group
    for name, command in getattr(group, "commands", {}).items():
        yield from _commands(command, path + (name,))


COMMANDS = list(_commands(typer.main.get_command(app)))


def _words(text: str) -> str:
    return " ".join(text.split())


def test_every_command_is_here():
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"", "run", "push", "check", "init", "status", "approve", "escalations", "up", "down"} <= names, names


@pytest.mark.parametrize("path,command", COMMANDS, ids=[" ".join(p) or "slate" for p, _ in COMMANDS])
def test_help_prints_every_word_literally(path, command):
    result = runner.invoke(app, [*path, "--help"])
    out = _words(result.output)
    assert result.exit_code == 0, (result.output, result.exception)
    assert result.exception is None and "Traceback" not in result.output, result.output
    docstring = (command.help or "").partition("\f")[0]
    assert _words(docstring) in out, (docstring, result.output)
    for param in command.params:
        if getattr(param, "help", None):
            assert _words(param.help) in out, (param.name, param.help, result.output)


@pytest.mark.parametrize("args,literal", [(["run", "--help"], "s3://BUCKET[/PREFIX]/films/FILM_ID"),
                                          (["push", "--help"], "([storage] in slate.toml)")])
def test_the_help_a_person_types(args, literal):
    done = subprocess.run([sys.executable, "-m", "slate.cli", *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "MarkupError" not in done.stderr, done.stderr
    assert literal in _words(done.stdout), done.stdout


def test_paths_and_manifest_text_print_literally(tmp_path):
    """A project whose folder and title hold bracketed words: every line names them as typed."""
    root = tmp_path / "films [storage] [/PREFIX] [bold]"
    made = runner.invoke(app, ["init", "--example", str(root)])
    assert made.exit_code == 0 and str(root) in _words(made.output), made.output
    film = root / "film.yaml"
    film.write_text(film.read_text().replace("title: Night Diner", "title: 'Night [red]Diner[/red] [/x]'"))
    for args in (["check", str(root)], ["status", str(root)], ["escalations", str(root)], ["log", str(root)]):
        result = runner.invoke(app, args)
        assert result.exception is None or isinstance(result.exception, SystemExit), (args, result.output)
        assert "Traceback" not in result.output and "MarkupError" not in result.output, result.output
        assert result.exit_code == 0, (args, result.output)
    status = runner.invoke(app, ["status", str(root)])
    assert "Night [red]Diner[/red] [/x]" in status.output, status.output
    bad = runner.invoke(app, ["check", str(root), "--scene", "scene-[/PREFIX]"])
    assert bad.exit_code == 1 and f"problem(s) in {root}" in _words(bad.stderr), bad.stderr
    assert "unknown scene 'scene-[/PREFIX]'" in bad.stderr, bad.stderr
