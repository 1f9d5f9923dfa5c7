"""`slate check` on a corpus of bad inputs (tests/bad_inputs.py): each is refused, for its reason.

For every case: exit code 1, at least one problem line, each said `error: ...` (slate/cli.py),
every line names a file of the project (or the SLATE_* variable or command-line flag the value
came from), the line the case expects is there (file, shot and field, and a fragment of the
message), and no traceback anywhere.
The clean example film passes. In process (typer's CliRunner): the whole corpus takes seconds.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.bad_inputs import Case, cases
from tests.fast_share import split
from slate.cli import app

CORPUS = list(cases())
#: A seeded third of the corpus is checked here, by `make test-fast`; the rest by
#: tests/e2e/test_bad_input_corpus_rest.py, which `make test` adds (tests/fast_share.py).
FAST, REST = split(CORPUS, [c.name for c in CORPUS])
runner = CliRunner()
SOURCES = ("environment", "command line")


def _named_files(root: Path) -> set[str]:
    """Every path in the project (links and folders too), and the manifests that may be absent."""
    found = {"film.yaml", "bible.yaml", "slate.toml", "rates.toml"}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            found.add((Path(folder) / name).relative_to(root).as_posix())
    return found


def _check(root: Path, case: Case):
    result = runner.invoke(app, ["check", str(root), *case.args], env=case.env or None)
    return result, result.stderr.splitlines()


def test_the_corpus_is_large_and_names_are_unique():
    names = [c.name for c in CORPUS]
    assert len(names) > 100
    assert len(set(names)) == len(names)
    assert sorted(c.name for c in FAST + REST) == sorted(names)          # each case once
    assert len(CORPUS) // 5 < len(FAST) < len(CORPUS) // 2, (len(FAST), len(CORPUS))


@pytest.mark.parametrize("case", FAST, ids=[c.name for c in FAST])
def test_slate_check_refuses_each_bad_input_for_its_reason(case: Case, example_film: Path):
    lines = refused_for_its_reason(case, example_film)
    assert lines and all(line.startswith(case.prefix) and case.expect in line for line in lines), lines


def refused_for_its_reason(case: Case, example_film: Path) -> list[str]:
    """`slate check` on the film with `case` applied: refused, every line naming its file, the
    case's line there; the lines that say the case's reason."""
    case.mutate(example_film)
    result, lines = _check(example_film, case)
    everything = result.output + result.stderr
    assert "Traceback" not in everything, everything
    assert result.exit_code == 1, (result.exit_code, everything, result.exception)
    assert lines and lines[-1].endswith(f"problem(s) in {example_film}"), everything
    problems = lines[:-1]
    assert problems, everything
    assert lines[-1].startswith(f"{len(problems)} problem(s)"), everything
    assert all(line.startswith("error: ") for line in problems), everything
    problems = [line.removeprefix("error: ") for line in problems]
    named = _named_files(example_film)
    for line in problems:
        source = line.split(": ", 1)[0]
        assert source in SOURCES or source in named, f"line names no file of the project: {line!r}"
    wanted = [line for line in problems if line.startswith(case.prefix) and case.expect in line]
    assert wanted, f"expected a line starting {case.prefix!r} containing {case.expect!r}; got:\n" + "\n".join(problems)
    return wanted


def test_the_clean_example_passes(example_film: Path):
    result = runner.invoke(app, ["check", str(example_film)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: night-diner, 1 scene(s), 9 shot(s)")


@pytest.mark.parametrize("args", [("--profile", "hero"), ("--profile", "final"),
                                  ("--price-as", "replicate:bytedance/seedance-1-pro"),
                                  ("--profile", "hero", "--price-as", "replicate:bytedance/seedance-1-pro"),
                                  ("--scene", "scene-01")])
def test_the_clean_example_passes_with_options(example_film: Path, args):
    result = runner.invoke(app, ["check", str(example_film), *args])
    assert result.exit_code == 0, result.output


def test_a_zero_cap_is_a_cap_not_a_mistake(example_film: Path):
    (example_film / "slate.toml").write_text("run_cap_usd = 0\nfilm_cap_usd = \"0\"\n")
    assert runner.invoke(app, ["check", str(example_film)], env={"SLATE_RUN_CAP_USD": "0"}).exit_code == 0


def test_a_slate_table_is_read_like_top_level_keys(example_film: Path):
    from slate.manifests.settings import project_settings
    (example_film / "slate.toml").write_text("[slate]\nmax_takes = 5\nrun_cap_usd = \"7.50\"\n")
    assert runner.invoke(app, ["check", str(example_film)]).exit_code == 0
    settings = project_settings(example_film)
    assert (settings.max_takes, str(settings.run_cap_usd)) == (5, "7.50")


def test_every_problem_is_found_in_one_pass(example_film: Path):
    """Mistakes of every kind at once: a manifest's (a camera value, an unknown character), a
    setting's, the ledger's URL, a dissolve, unreadable references. Each used to hide the ones
    after it (a wrong camera value hid five more): one `slate check` now names them all."""
    from tests.bad_inputs import (BIBLE, MIA, SCENE, STREET, TOML, append, dissolves, edit, photo_like, redrawn)
    for step in (edit(SCENE, lambda d: d["shots"][2]["camera"].__setitem__("movement", "zoom")),
                 edit(SCENE, lambda d: d["shots"][6]["characters"].__setitem__(0, "jeny")),
                 dissolves((4, 2.0)),
                 append(TOML, "fps = 240\nledger_url = \"postgresql+psycopg://u:pw@h:port/db\"\n"),
                 redrawn(MIA, lambda im: (im.convert("RGB"), "JPEG")),
                 redrawn(STREET, lambda im: (photo_like((4000, 100)), "PNG"))):
        step(example_film)
    result = runner.invoke(app, ["check", str(example_film)])
    out = result.stderr
    assert result.exit_code == 1, result.output
    for line in (f"{SCENE}: shot 1C: camera.movement: Input should be",
                 f"{SCENE}: shot 1G: characters[0]: unknown character 'jeny'",
                 f"{SCENE}: shot 1E: transition_out.duration: a 2s dissolve must be shorter than the shot it enters",
                 f"{TOML}: fps: must be a whole number of frames a second (1 to 120)",
                 f"{TOML}: ledger_url: 'postgresql+psycopg://u:***@h:port/db' has a port that is not a number",
                 f"{BIBLE}: characters[3].turnaround: {MIA}: the local judge cannot read it",
                 f"{BIBLE}: locations[1].plate: {STREET}: the local judge cannot read it"):
        assert line in out, f"missing {line!r} in:\n{out}"
    assert "pw" not in out
    assert out.splitlines()[-1].startswith("7 problem(s)"), out
