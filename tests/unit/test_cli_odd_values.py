"""Every command of `slate`, every argument and option it takes, given odd values: never a traceback.

The commands are walked from the app itself (slate/cli.py, the bible's group too), so a command
or an option added later is in the table with nothing edited here. Each argument and each option
that takes a value is given each of ODD in turn (the rest of the command line well formed: the
example film, a character and a location of its bible); each switch is given once. What is
asserted of every case: no exception but an exit escaped the app (a SlateError is said as one
`error:` line by slate/cli.py, anything else is a bug with its traceback), the exit code is 0, 1
or 2, no "Traceback" was printed, and a refusal said something on stderr.

In process (typer's CliRunner), on a copy of the example film a test: no server is started and
nothing renders. Four commands would start something if a value were taken, so each is given a
guard that refuses it after its values were read and checked as far as the command checks them
before starting (GUARDS says which and why); they are exercised all the same, never skipped.

The companion test below holds, for the values the walk found or the issue named (issue 35), that
the refusal names the value and the flag: `--cap 1e400`, a hash that is none, a path where an id
or a profile goes, a blank or over-long path, a stale approval marker.
"""
from __future__ import annotations

import json
import os
import socket
import traceback
from pathlib import Path

import pytest
import typer
from typer.core import TyperArgument, TyperOption
from typer.testing import CliRunner

from slate.cli import app
from tests.fast_share import split

runner = CliRunner()

#: The odd values: out of range and not finite money, negative, blank, a glob, a path out of the
#: project, an option's name as a value, a 10,000-character string, a folder that is not there,
#: a file where a folder goes (the last two made per case: MISSING, A_FILE).
MISSING, A_FILE = "<a folder that does not exist>", "<a file, not a folder>"
ODD = ("1e400", "nan", "-1", "", "**", "../../etc/passwd", "--help", "x" * 10_000, MISSING, A_FILE)

#: The commands that would start something (a run, a server, a Prefect client) were a value taken,
#: and the guard each is given: it refuses the command after every value was parsed and checked as
#: the command checks it before starting, so no odd value can start one.
GUARDS = {
    # `slate run` starts nothing before its preflight, which says every problem in one pass: a
    # malformed ledger address is one, so every option is checked as a real run checks it, and
    # the run is refused before an embedded Prefect server starts.
    "run": "SLATE_LEDGER_URL=not-a-url",
    # `slate mcp` serves stdio once its session is made: a --max-profile that is no profile refuses
    # the session after the film and slate.toml were read and --cap and --price-as parsed (the
    # rate card's pricing of --price-as comes after it, and is `slate estimate --price-as`'s too).
    # --max-profile itself is given the odd values with no guard: none of them is a profile.
    "mcp": "--max-profile nope",
    # `slate up` starts servers once the film loaded: a zombie window under 90 s is refused
    # first. --zombie-window itself is given the odd values with no guard: typer or its bound
    # refuses each.
    "up": "--zombie-window 1",
    # `slate approve` asks the Prefect API the waiting run's marker names: a marker left by a dead
    # run (its API's port closed) is said and cleared after every option was read.
    "approve": "a stale .slate/approval.json",
}

#: What the other arguments are given while one is odd. `slate conform`'s timeline is one that is
#: not there: refused before anything is read against it, so `--render` can start no run.
ARGUMENTS = {"character": "gabe", "location": "diner", "asset": "character:gabe", "edited": "edited.otio",
             "shot": "1D", "thing": "mug", "fields": "side=right"}
#: Options a command requires, given while another is odd.
REQUIRED = {"bible approve": ["--version", "1"]}


def _commands(group, path=()):
    for name, command in sorted(getattr(group, "commands", {}).items()):
        if getattr(command, "commands", None) is not None:
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name), command


COMMANDS = dict(_commands(typer.main.get_command(app)))
#: (command, its argument or option): one test each, the odd values (or the switch) inside it.
CASES = [(" ".join(path), param.name) for path, command in COMMANDS.items() for param in command.params
         if param.name != "help"]
NO_PARAMETERS = [" ".join(path) for path, command in COMMANDS.items()
                 if not [p for p in command.params if p.name != "help"]]
CASE_IDS = [f"{c} {n}" for c, n in CASES]
#: A seeded third of the cases is walked here, by `make test-fast`; the rest by
#: tests/e2e/test_cli_odd_values_rest.py, which `make test` adds (tests/fast_share.py).
FAST, REST = split(CASES, CASE_IDS)


def _switch(param) -> bool:
    return isinstance(param, TyperOption) and bool(param.is_flag)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_table_covers_every_command_and_its_size_is_said():
    """Every command is walked (or, having no parameter, run once), the guarded ones among them."""
    walked = {name for name, _ in CASES} | set(NO_PARAMETERS)
    assert walked == {" ".join(path) for path in COMMANDS}
    assert set(GUARDS) <= walked
    assert {"run", "check", "estimate", "mcp", "approve", "status", "log", "bible approve", "export"} <= walked
    values = sum(1 if _switch(_param(c, p)) else len(ODD) for c, p in CASES) + len(NO_PARAMETERS)
    assert values > 900, values   # commands × values: what the walk runs
    # The fast loop's share and the rest are the table, each case once, and neither is empty.
    assert sorted(FAST + REST) == sorted(CASES) and len(FAST) + len(REST) == len(CASES)
    assert len(CASES) // 5 < len(FAST) < len(CASES) // 2, (len(FAST), len(CASES))


def _param(command: str, name: str):
    return next(p for p in COMMANDS[tuple(command.split())].params if p.name == name)


@pytest.fixture
def place(example_film, tmp_path, monkeypatch):
    """The film, a working folder deep enough that ../../etc/passwd stays in tmp_path, and an
    environment with no Prefect server, no ledger address and no studio's variables."""
    work = tmp_path / "a" / "b" / "c"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    for name in ("PREFECT_API_URL", "SLATE_LEDGER_URL", "SLATE_EMBEDDED_PREFECT", "SLATE_POOL", "SLATE_BUCKET",
                 "SLATE_FILM_URL"):
        monkeypatch.delenv(name, raising=False)
    return example_film


def _export_record(film: Path) -> None:
    """A scene's timeline record, as a scene run writes it, so `slate export` reads its options
    past "no cut yet" (tasks/edit/export.py)."""
    from slate.tasks.edit import export
    shot: export.TimelineShot = {"shot": "1A", "status": "approved", "reason": "", "media": str(film / "1A.mp4"),
                                 "seconds": 2.5, "trim_in": 0.0, "trim_out": 0.0, "transition": ["cut", 0.0],
                                 "take": 1, "scores": {}, "warnings": []}
    record = export.timeline_record(film="night-diner", scene="scene-01", profile="draft", fps=24, width=854,
                                    height=480, output=str(film / "renders" / "scene-01-draft.mp4"), shots=[shot],
                                    cues=[], finished=None)
    export.write_record(export.record_path(film, "scene-01", "draft"), record)


def _stale_marker(film: Path) -> Path:
    marker = film / ".slate" / "approval.json"
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"flow_run_id": "7f0d1f38-5a0e-4d43-9a36-1a8c36f6f1f1", "scene": "scene-01",
                                  "profile": "final", "api_url": f"http://127.0.0.1:{_closed_port()}/api",
                                  "shots": ["1A", "1B"]}))
    return marker


def _argv(command: str, odd, value: str | None, film: Path, fresh: Path) -> list[str]:
    """The command line with `odd` (a parameter) given `value` (None: the switch), the rest well formed."""
    args: list[str] = [*command.split()]
    params = COMMANDS[tuple(command.split())].params
    for param in params:
        if isinstance(param, TyperArgument):
            if param is odd:
                args.append(value)   # type: ignore[arg-type]
            elif param.name == "directory":
                args.append(str(fresh if command == "init" else film))
            else:
                args.append(ARGUMENTS[param.name])
    if isinstance(odd, TyperOption):
        args += [odd.opts[0]] + ([] if value is None else [value])
    required = REQUIRED.get(command, [])
    if required and not (isinstance(odd, TyperOption) and required[0] in odd.opts):
        args += required
    guard = GUARDS.get(command, "")
    if guard.startswith("--") and not (isinstance(odd, TyperOption) and guard.split()[0] in odd.opts):
        args += guard.split()
    return args


def _invoke(args: list[str], env: dict[str, str] | None = None):
    done = runner.invoke(app, args, env=env, catch_exceptions=True)
    said = (done.stdout or "") + (done.stderr or "")
    shown = " ".join(a if len(a) < 60 else f"{a[:20]}…({len(a)})" for a in args)
    if done.exception is not None and not isinstance(done.exception, SystemExit):
        trace = "".join(traceback.format_exception(done.exception))
        pytest.fail(f"slate {shown}: {type(done.exception).__name__} escaped the app:\n{trace}")
    assert "Traceback" not in said, f"slate {shown}:\n{said}"
    assert done.exit_code in (0, 1, 2), f"slate {shown}: exit {done.exit_code}\n{said}"
    if done.exit_code:
        assert (done.stderr or "").strip(), f"slate {shown}: exit {done.exit_code} and nothing said on stderr"
    return done


@pytest.mark.parametrize("command, name", FAST, ids=[f"{c} {n}" for c, n in FAST])
def test_odd_values_never_end_in_a_traceback(command, name, place, tmp_path):
    codes = walk(command, name, place, tmp_path)
    # every value given (one for a switch), each ending in an exit slate says, never a crash
    assert len(codes) == (1 if _switch(_param(command, name)) else len(ODD)) and set(codes) <= {0, 1, 2}, codes


def walk(command: str, name: str, film: Path, tmp_path: Path) -> list[int]:
    """One argument or option of one command, given each odd value (or, a switch, given once); the
    exit code of each invocation, in order."""
    odd = _param(command, name)
    if command == "export":
        _export_record(film)
    env = {"SLATE_LEDGER_URL": "not-a-url"} if command == "run" else None
    codes: list[int] = []
    for n, value in enumerate([None] if _switch(odd) else ODD):
        if value == MISSING:
            value = str(tmp_path / f"no-such-folder-{n}")
        elif value == A_FILE:
            file = tmp_path / f"a-file-{n}.txt"
            file.write_text("not a folder\n")
            value = str(file)
        if command == "approve":
            _stale_marker(film)
        done = _invoke(_argv(command, odd, value, film, tmp_path / f"new-film-{n}"), env)
        codes.append(done.exit_code)
        if command in GUARDS and not (value == "--help" and isinstance(odd, TyperArgument)):
            # The guard (or the value itself) refused it: nothing started. (`--help` where the
            # folder goes is typer's help, exit 0.)
            assert done.exit_code != 0, (command, name, value, done.stdout, done.stderr)
        if command == "run":
            assert "SLATE_EMBEDDED_PREFECT" not in os.environ, "a run started its embedded Prefect server"
        if command == "mcp":
            assert "slate mcp: film" not in (done.stderr or ""), "the MCP server started"
    return codes


@pytest.mark.parametrize("command", NO_PARAMETERS)
def test_a_command_without_parameters_runs_once(command, place, monkeypatch):
    # `slate studio-setup` reads the environment only: with none of its variables it says which.
    for name in ("PREFECT_API_URL", "SLATE_POOL", "SLATE_BUCKET", "SLATE_LEDGER_URL"):
        monkeypatch.delenv(name, raising=False)
    done = _invoke(command.split())
    assert done.exit_code == 0 or "SLATE_POOL" in (done.stderr or "") + (done.stdout or ""), (done.exit_code,
                                                                                              done.stderr)


# -- the refusals name what was given ------------------------------------------------------------

def _refused(args: list[str], *names: str, code: int | None = None) -> str:
    """The one `error:` line of a refused command, naming each of `names`."""
    done = _invoke(args)
    assert done.exit_code != 0, (args, done.stdout, done.stderr)
    if code is not None:
        assert done.exit_code == code, (done.exit_code, done.stderr)
    lines = [line for line in (done.stderr or "").splitlines() if line.lower().startswith("error")]
    assert lines, done.stderr
    line = next((line for line in lines if all(n in line for n in names)), None)
    assert line is not None, (names, done.stderr)
    return line


@pytest.mark.parametrize("command", ["run", "estimate", "mcp"])
@pytest.mark.parametrize("cap", ["1e400", "nan", "inf", "-1", "1e13"])
def test_a_cap_that_is_no_amount_is_refused_naming_it(command, cap, place):
    """`--cap 1e400` ended in a decimal.InvalidOperation traceback (or, on `slate run`, a run that
    started and failed): now the flag and the value, before anything starts."""
    line = _refused([command, str(place), "--cap", cap], "--cap", repr(cap), code=1)
    assert line.startswith("error: command line: --cap: "), line
    assert "SLATE_EMBEDDED_PREFECT" not in os.environ


def test_an_allowance_that_is_no_amount_is_refused_naming_it(place):
    _stale_marker(place)
    line = _refused(["approve", str(place), "--allowance", "1e400"], "--allowance", "'1e400'", code=2)
    assert "out of range" in line, line


@pytest.mark.parametrize("args, names", [
    (["bible", "approve", "{film}", "gabe", "--version", "1", "--expect", "notahash"], ["--expect", "'notahash'"]),
    (["export", "{film}", "--profile", "../../etc/passwd"], ["--profile", "'../../etc/passwd'"]),
    (["export", "{film}", "--profile", "**"], ["--profile", "'**'"]),
    (["approve", "{film}", "--run", "**"], ["--run", "'**'"]),
    (["reconcile", "{film}", "--call", "c", "--job", "../../etc/passwd"], ["--job", "'../../etc/passwd'"]),
    (["report", "{film}", "--out", "{file}"], ["--out", "{file}", "a file"]),
    (["init", ""], ["directory", "blank"]),
    (["status", "x" * 10_000], ["directory", "10000 characters"]),
])
def test_a_value_where_an_id_a_hash_or_a_folder_goes_is_refused_naming_it(args, names, place, tmp_path):
    file = tmp_path / "a-file.txt"
    file.write_text("not a folder\n")
    fill = {"{film}": str(place), "{file}": str(file)}
    _refused([fill.get(a, a) for a in args], *[fill.get(n, n) for n in names])
    assert not (Path.cwd() / "film.yaml").exists()   # `slate init ""` wrote a film into the current folder


def test_approve_after_its_run_died_says_so_and_clears_the_marker(place):
    """A marker a dead run left (its Prefect API's port closed) was a ConnectError traceback: now
    one line saying no run waits, and the marker is gone, so the next `slate approve` says plainly
    that nothing waits."""
    marker = _stale_marker(place)
    line = _refused(["approve", str(place)], "no run of", "is waiting for approval", "7f0d1f38", code=1)
    assert "nothing answers" in line and str(marker) in line, line
    assert not marker.exists()
    _refused(["approve", str(place)], "no run of", "is not there", code=1)


def test_approve_with_a_marker_cut_short_says_so(place):
    marker = place / ".slate" / "approval.json"
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text('{"flow_run_id": "7f0d')
    done = _invoke(["approve", str(place)])
    assert done.exit_code == 1 and "does not name a waiting run" in done.stderr, done.stderr
    assert not marker.exists()

