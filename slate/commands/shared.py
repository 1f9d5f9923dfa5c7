"""What every command shares: the two consoles, plain lines, and the ways a command stops on a
bad input (a film that does not load, a preflight with problems, an amount that is not one, a
folder that is not there, a path typed blank or longer than a file system takes: `a_path`, the
parser of the `Directory` every command takes and of every path option). An error is said as
`error: <message>` (`say_error`): the app says every SlateError that reaches it so (slate/cli.py),
and a film's problems are said so, one a line.

Markup and highlighting are off on both consoles: nearly every line carries a path, a URL or a
manifest's text, and rich read "[storage]" or "[/PREFIX]" in them as tags (a crash, or words
swallowed). Emphasis is asked for explicitly, with style= or a Text.

It must never print a key, and never decide anything a lower layer decides: it shows.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from slate.errors import SlateError

__all__ = ["console", "err", "say", "say_error", "NotAProject", "project_or_exit", "load_or_exit", "settings_or_exit",
           "preflight_or_exit", "usd_or_exit", "shown", "storage_or_exit", "on_stack", "lineup_text", "a_path",
           "Directory", "budget_block", "plan_or_exit", "say_plan"]

# Off a terminal (a log file, CI) rich would fold tables to 80 columns; ledgers need room.
console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200, markup=False, highlight=False)
err = Console(stderr=True, soft_wrap=True, markup=False, highlight=False)


def say(text: str) -> None:
    """A line of plain text: paths and manifest text are never read as markup. Off a terminal
    (a pipe, a log) it is flushed at once: a person tailing it sees it now."""
    console.print(text, highlight=False, markup=False)
    if not console.is_terminal:
        sys.stdout.flush()


def say_error(error: object) -> None:
    """An error (or a manifest's Problem) as a person reads it, on stderr: `error: <message>`,
    one line. A ManifestError is one such line per problem (each names its file, shot and field);
    another error's message past its first line (ffmpeg's stderr under a MediaError) follows
    indented, as detail."""
    from slate.manifests import ManifestError
    if isinstance(error, ManifestError):
        for problem in error.problems:
            say_error(problem)
        return
    first, *rest = str(error).splitlines() or [""]
    err.print(f"error: {first}", markup=False, highlight=False)
    for line in rest:
        err.print(f"  {line}", markup=False, highlight=False)


#: The longest name of one file or folder, and of a whole path, that Linux and macOS take.
NAME_MAX, PATH_MAX = 255, 4095


def a_path(value: str) -> Path:
    """A path typed on the command line (typer's `parser` of every path argument and option).
    Refused as that argument's bad value, before the command runs: a blank one (it read as the
    current folder: `slate init ""` wrote a film there) and one longer than a file system takes (a
    traceback from wherever the command first touched it)."""
    if not value.strip():
        raise typer.BadParameter("a blank path (give a folder; . is this one)")
    if len(os.fsencode(value)) > PATH_MAX or any(len(os.fsencode(part)) > NAME_MAX for part in Path(value).parts):
        raise typer.BadParameter(f"{shown(value)}: longer than a path may be (a name at most {NAME_MAX} bytes, "
                                 f"the whole at most {PATH_MAX})")
    return Path(value)


#: The film's project folder, as every command takes it.
Directory = Annotated[Path, typer.Argument(parser=a_path, help="the film's project folder")]


class NotAProject(SlateError):
    """The folder a command was given is not there: nothing of a film can be read or written."""

    def __init__(self, directory: Path):
        self.directory = directory
        super().__init__(f"{directory}: no such project folder")


def project_or_exit(directory: Path) -> Path:
    """`directory` when it is a folder; else NotAProject, which the app says as one error line."""
    if not directory.is_dir():
        raise NotAProject(directory)
    return directory


def problems_or_exit(problems, directory: Path | str) -> None:
    """Print every problem, one `error:` line each, then how many, and exit 1 (nothing when
    there is none)."""
    if not problems:
        return
    for problem in problems:
        say_error(problem)
    err.print(f"{len(problems)} problem(s) in {directory}", style="red", markup=False, highlight=False)
    raise typer.Exit(1)


def load_or_exit(directory: Path):
    """The film, or exit 1 naming every problem of its manifests."""
    from slate.manifests import ManifestError, load_film
    try:
        return load_film(directory)
    except ManifestError as exc:
        problems_or_exit(exc.problems, directory)


def settings_or_exit(directory: Path):
    """The project's settings (slate.toml), or exit 1 naming every problem of them."""
    from slate.manifests import ManifestError
    from slate.settings import project_settings
    try:
        return project_settings(directory)
    except ManifestError as exc:
        for problem in exc.problems:
            say_error(problem)
        raise typer.Exit(1)


def preflight_or_exit(directory: Path, options=None, *, keys: bool = True):
    """Run the preflight of a run told `options` (a RunOptions); on any problem print one line
    each and exit 1. Returns the Preflight when clean (its warnings printed). `keys` False: the
    providers' keys are the caller's to check (`slate doctor`)."""
    from slate.tasks.run.preflight import preflight
    checked = preflight(directory, options, keys=keys)
    for warning in checked.warnings:
        err.print(f"warning: {warning}", markup=False, highlight=False)
    problems_or_exit(checked.problems, directory)
    return checked


def usd_or_exit(value: str | None, flag: str):
    """A typed amount of dollars as Decimal (None when not given), or exit 2 naming the flag and
    the value (governor/money.py: not a number, not finite, or more than the ledger holds)."""
    if value is None:
        return None
    from slate.governor.money import usd
    try:
        return usd(value)
    except (ValueError, TypeError) as exc:
        say_error(f"{flag}: {exc}")
        raise typer.Exit(2)


def shown(value: object) -> str:
    """A typed value as an error line names it: its repr when short, else its head and length (a
    10,000-character argument is named, not echoed)."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:40]}… ({len(str(value))} characters)"


def storage_or_exit(directory: Path):
    """The project's [storage] settings; a settings problem is a ManifestError, which the app
    says (slate/cli.py: one `error:` line a problem, exit 1)."""
    from slate.settings import project_settings
    return project_settings(directory).storage


def on_stack(directory: Path):
    """This project's `slate up` server as the Prefect API while the command runs, when it is up;
    else nothing changes (an embedded server, or the one configured, as before).

    On the stack, this process's runs beat as the worker's do (every HEARTBEAT_SECONDS): its
    zombie automation marks a run that stayed silent for its window Crashed, and Prefect's own
    default (a beat every 180 s) let a run waiting 90 s for a person look dead."""
    from contextlib import nullcontext

    from slate.stack import running
    stack = running(directory)
    if stack is None:
        return nullcontext()
    from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    from slate.deployments.automations import HEARTBEAT_SECONDS
    return temporary_settings({PREFECT_API_URL: stack.api_url, PREFECT_FLOWS_HEARTBEAT_FREQUENCY: HEARTBEAT_SECONDS})


def lineup_text(settings) -> str:
    from slate.providers.registry import lineup
    chosen = lineup(settings)
    videos = " then ".join(str(v) for v in chosen.videos)
    # One price_as per capability (panel, judge, video): said after the lineup, not beside the video.
    priced = f"; rehearsal priced as {settings.price_as.replace(',', ', ')}" if settings.price_as else ""
    return f"panels {chosen.panel}, video {videos}, judge {chosen.judge}{priced}"


def budget_block(directory: Path, film_id: str):
    """The film's budget block as a Prefect server holds it (a `slate up` stack of this film, or a
    configured server), and where it was read; (None, why not) without one — then the block stands
    as slate writes it from slate.toml, unless a person edited it in a UI, which a run says."""
    from slate.governor.budget import SlateBudget, block_name
    from slate.tasks.run.run_plan import NO_BLOCK_READ
    from slate.stack import running
    stack = running(directory)
    api = stack.api_url if stack is not None else None
    if api is None:
        from slate.tasks.run.reel import server_configured
        if server_configured():
            from prefect.settings import PREFECT_API_URL
            api = PREFECT_API_URL.value()
    if not api:
        return None, NO_BLOCK_READ
    try:
        from prefect.settings import PREFECT_API_URL, temporary_settings
        with temporary_settings({PREFECT_API_URL: api}):
            loaded = SlateBudget.load(block_name(film_id))
        if not isinstance(loaded, SlateBudget):   # Prefect answers a coroutine only inside an event loop
            raise TypeError("the budget block was not read: called inside an event loop")
    except Exception:  # noqa: BLE001 — no block yet (the first run makes it) or the server is not answering
        return None, NO_BLOCK_READ
    return loaded, f"the budget block slate-budget/{block_name(film_id)} read from {api}"


def plan_or_exit(directory: Path, options=None, *, film=None, settings=None, priced: bool = True):
    """The plan of a run told `options` (tasks/run/run_plan.py `plan_run`: its lineup, its limits with
    the film's budget block read where a server holds it, its estimate), or exit naming what cannot
    be resolved: a setting (1), a model or a price (2), a reference (1)."""
    from slate.governor.ratecard import RateError
    from slate.providers.errors import ReferenceMissing
    from slate.providers.registry import UnknownProvider
    from slate.tasks.run.run_plan import film_rows, plan_run
    film = film if film is not None else load_or_exit(directory)
    block, where = budget_block(directory, film.film.id)
    try:
        return plan_run(film, options, block, settings=settings, block_from=where, priced=priced,
                        rows=film_rows(directory, film.film.id) if priced else None)
    except UnknownProvider as exc:
        say_error(f"{exc.setting}: {exc}")
        raise typer.Exit(2)
    except RateError as exc:
        say_error(f"rate card: {exc}")
        raise typer.Exit(2)
    except ReferenceMissing as exc:
        say_error(exc)
        raise typer.Exit(1)


def say_plan(plan, out=None) -> None:
    """What every command says of the run it would make (RunPlan.lines): its models, its caps and
    take policy with where each came from, and its expected total against its cap."""
    for text in plan.lines():
        (out or console).print(text, markup=False, highlight=False)
