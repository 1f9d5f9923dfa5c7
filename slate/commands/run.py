"""`slate run`: the film (or the scenes named) rendered by the one route that fits.

The routes, in order: a film pulled from a bucket (`--from-bucket`) runs here and sends its
renders back; an unchanged film is served from the reel (tasks/run/reel.py) with no Prefect run; a
`slate up --studio` studio of the film gets a run of its `film` deployment; else the film runs
in this process, on the `slate up` server when one is up or on an embedded one.

Every problem is printed before any route starts (one preflight: tasks/run/preflight.py); the film
flow is handed that check and does not repeat it.

It must never start a paid run before the preflight found nothing wrong, and never print a key.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Optional

import typer
from rich.live import Live
from rich.text import Text

from slate.manifests.options import RunOptions
from slate.commands.options import run_options
from slate.commands.report import (LiveTable, ProgressLines, quiet_prefect_console, report_run, say_waiting,
                                   say_warning)
from slate.commands.shared import Directory, console, err, on_stack, preflight_or_exit, say, say_error, storage_or_exit


@run_options()   # every option a flag tells (manifests/options.py): a new one is here with nothing else edited
def run(directory: Directory, options: RunOptions,
        verbose: bool = typer.Option(False, "--verbose", help="show Prefect's own log lines as well"),
        from_bucket: Optional[str] = typer.Option(
            None, "--from-bucket", help="a film pushed with `slate push`: s3://BUCKET[/PREFIX]/films/FILM_ID; it is "
                                        "pulled into DIRECTORY (checked by hash) and run there, renders go back to "
                                        "the bucket")):
    """Render the film (or the scenes named): every shot through its gates, each scene stitched,
    the scenes cut together into one mp4."""
    from slate.tasks.run.preflight import handed_on
    started = time.time()
    store = _pull_from_bucket(directory, from_bucket) if from_bucket else None
    # Every problem is printed here, before any run starts; the film flow is handed this check.
    checked = preflight_or_exit(directory, options)
    reel = None if store is not None else _reel(directory, checked.film, options, started)
    if reel is not None and _from_the_reel(reel, verbose):
        return
    if store is None and _on_studio(directory, options, started):
        return
    with on_stack(directory), handed_on(checked):
        _run(directory, options, verbose, store, reel)


def _start_embedded():
    """With no Prefect server configured (env or profile), `slate run` starts an embedded one
    (slate/server.py) and is its only client; tasks/run/slots.py may then reset slots a killed run
    left taken. Returns the starting server (wait for it before the first flow), or None."""
    from prefect.settings import PREFECT_API_URL
    if PREFECT_API_URL.value():
        return None
    os.environ["SLATE_EMBEDDED_PREFECT"] = "1"
    from slate import server as embedded
    return embedded.start()


def _no_heartbeats(embedded: bool) -> AbstractContextManager[Any]:
    """On this run's own embedded server, flows send no heartbeats. Heartbeats are read only by a
    stack's or studio's zombie automation (deployments/automations.py), which an embedded server
    has not; and every flow that beats ends by waiting for its heartbeat thread's next one-second
    nap (Prefect's flow engine): three flows a scene, 1.5 s of the example's 30 spent waiting."""
    if not embedded:
        return nullcontext()
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    return temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})


def _on_studio(directory: Path, options: RunOptions, started: float) -> bool:
    """With a `slate up --studio` studio running for this film: the film pushed again (what
    changed), a run of its `film` deployment — its scenes on any worker — and its end; False
    when no studio runs (the film renders here)."""
    from slate import studio as studio_stack
    one = studio_stack.running(directory.resolve())
    if one is None:
        return False
    pushed = studio_stack.push(directory.resolve(), one)
    # What was typed, and only that: the deployment's project (the film's bucket address) stands.
    run_id = studio_stack.start_film_run(one, options=options)
    console.print(f"film run {run_id} on the studio ({len(pushed.sent)} file(s) pushed): UI "
                  f"{one.ui_url}/runs/flow-run/{run_id}", highlight=False)
    run = studio_stack.wait_for_run(one, run_id, on_wait=lambda waiting: say(
        f"{waiting.name}: waiting for a person to approve its final video — open {one.ui_url}/runs/flow-run/"
        f"{waiting.id} in the Prefect UI and press Resume"))
    console.print(Text.assemble("state: ", (run.state.name, "bold"), f"  ({time.time() - started:.1f}s)"
                                + (f"  {run.state.message}" if run.state.message else "")))
    if not run.state.is_completed():
        raise typer.Exit(1)
    return True


class _Reel:
    """What the reel (tasks/run/reel.py) is asked about: this project, its film, these options."""

    def __init__(self, directory: Path, film, scenes: list[str], options: RunOptions, started: float):
        self.directory, self.film, self.scenes, self.options = directory, film, scenes, options
        self.started = started


def _reel(directory: Path, film, options: RunOptions, started: float):
    """The reel's question for this run, or None where it cannot answer: a `slate up` stack or
    another Prefect server holds the budget block its keys depend on (tasks/run/reel.py)."""
    from slate import studio as studio_stack
    from slate.stack import running
    from slate.tasks.run.reel import server_configured
    if server_configured() or running(directory) is not None or studio_stack.running(directory.resolve()):
        return None
    known = [s.id for _, s in film.scenes]
    return _Reel(directory, film, [s for s in known if not options.scenes or s in options.scenes], options, started)


def _reel_settings(reel: _Reel):
    """The film's settings with what this run was told over them, but its cap: a cap changes
    what may be spent, never what was made (the reel keys on what was made)."""
    from slate.manifests.settings import project_settings
    from slate.tasks.run.preflight import settings_overrides
    told = {k: v for k, v in settings_overrides(reel.options).items() if k != "run_cap_usd"}
    return project_settings(reel.directory, **told)


def _from_the_reel(reel: _Reel, verbose: bool) -> bool:
    """Print the film's summary and True when it is served from the reel: nothing was run."""
    from types import SimpleNamespace

    from slate.tasks.run.reel import recognise
    served = recognise(reel.directory, reel.film, _reel_settings(reel), reel.scenes)
    if isinstance(served, str):
        if verbose:
            console.print(f"the reel: {served}; running the film", highlight=False, markup=False)
        return False
    # The reel keeps each scene as data: its shots and deliverables (a mezzanine, a poster, the
    # subtitles beside the cut) are read back as the report reads a run's own.
    scenes = [SimpleNamespace(**{**sc, "shots": [SimpleNamespace(**s) for s in sc["shots"]],
                                 "deliverables": [SimpleNamespace(**d) for d in sc.get("deliverables") or []]})
              for sc in served.scenes]
    # The film's subtitles, as its run printed them: beside its cut, where that run wrote them.
    beside = [Path(served.output).with_suffix(s) for s in (".srt", ".vtt")] if served.output else []
    result = SimpleNamespace(film=served.film, output=served.output, duration=served.duration, scenes=scenes,
                             subtitles=[str(p) for p in beside if p.is_file()])
    # A film whose escalations the can kept ends as its run did: Escalated, naming them.
    escalated = [f"{sc.scene} ({len(shots)} shot(s) escalated: {', '.join(s.shot for s in shots)})"
                 for sc in scenes if (shots := [s for s in sc.shots if s.status == "escalated"])]
    state = SimpleNamespace(name="Escalated", message=f"escalated: {'; '.join(escalated)}") if escalated else \
        SimpleNamespace(name="Completed", message="")
    report_run(result, state, time.time() - reel.started)
    console.print("unchanged since its last run: every scene and the film's cut served from the can, nothing ran",
                  highlight=False)
    return True


def _finished(state_name: str | None, result) -> bool:
    """A film run whose end the same inputs always come to: Completed, or Escalated with every
    scene's escalations a gate's verdict the can keeps (tasks/run/can.py `cannable`) — never a
    scene left out, stopped or unjudged."""
    from slate.tasks.run.can import cannable
    return state_name == "Completed" or (
        state_name == "Escalated" and all(cannable(s.model_dump(mode="json")) for s in result.scenes))


def _write_reel(reel: _Reel, result) -> None:
    """After a run that finished (`_finished`): the reel written down for the next run (tasks/run/reel.py).
    The take policy is the run's, resolved as the run resolved it (governor/budget.py), while
    the embedded server that holds the film's budget block is still up."""
    from slate.governor.budget import SlateBudget, block_name
    from slate.tasks.run.reel import write_reel
    from slate.tasks.run.run_plan import plan_run
    try:
        block = SlateBudget.load(block_name(reel.film.film.id))
        if not isinstance(block, SlateBudget):   # Prefect answers a coroutine only inside an event loop
            raise TypeError("the budget block was not read: called inside an event loop")
        limits = plan_run(reel.film, reel.options, block, priced=False).limits
        write_reel(reel.directory, reel.film, _reel_settings(reel), reel.scenes, limits.takes(), result.output,
                   float(result.duration))
    except Exception as exc:  # noqa: BLE001 — without a reel the next run goes through Prefect, no harm
        err.print(f"warning: the reel was not written ({type(exc).__name__}: {exc})", markup=False, highlight=False)


def _run(directory, options: RunOptions, verbose: bool, store, reel=None) -> None:
    server = _start_embedded()  # it starts while slate's flows import
    from prefect.states import State

    from slate.flows.film import film_flow, film_result
    from slate.tasks.run.run import listen
    if not verbose:
        quiet_prefect_console()
    progress = LiveTable()
    stop = listen(progress)
    stop_saying = listen(say_waiting)
    stop_warning = listen(say_warning)
    # No terminal: the table would draw nothing until the end; a line per move instead.
    stop_lines = listen(ProgressLines()) if not console.is_terminal else (lambda: None)
    if server is not None:
        # A client call while it is starting would find the server not yet answering; a slow start
        # is said as it goes, never silence.
        server.wait(say=lambda line: err.print(line, markup=False, highlight=False))
    started = time.time()
    try:
        with Live(progress.table(), console=console, refresh_per_second=4, transient=False) as live:
            stop_refresh = listen(lambda _e: live.update(progress.table()))
            with _no_heartbeats(server is not None):
                state = film_flow(project=str(directory.resolve()), options=options, return_state=True)
            stop_refresh()
            if not isinstance(state, State):   # a flow answers an awaitable only inside an event loop
                raise TypeError("the film flow was called inside an event loop")
            live.update(progress.table())
        console.line()  # the summary starts below the table, never on its last line
    finally:
        stop()
        stop_saying()
        stop_warning()
        stop_lines()
    elapsed = time.time() - started
    result = film_result(state)
    run_id = str(state.state_details.flow_run_id or "") or None
    if result is None:  # refused before anything was made, or a bug (its message says which)
        report_run(None, state, elapsed, directory, run_id)
        err.print(Text.assemble((f"{state.name}:", "red"), f" {state.message}"))
        raise typer.Exit(1)
    report_run(result, state, elapsed, directory, run_id)
    if reel is not None and result.output and _finished(state.name, result):
        _write_reel(reel, result)
    if store is not None:
        from slate.providers.storage import publish_renders
        sent = publish_renders(directory, store)
        console.print(f"renders in the bucket: {len(sent.sent)} uploaded, {len(sent.unchanged)} unchanged "
                      f"(s3://{store.bucket}/{store.film_prefix}renders/)", highlight=False)
    if state.is_failed():
        raise typer.Exit(1)


def _pull_from_bucket(directory: Path, url: str):
    """Pull a pushed film into `directory` (a worker's working folder) and return its store."""
    from slate.providers.storage import parse_film_url, pull_film
    from slate.providers.storage_errors import StorageError
    from slate.providers.storage_s3 import S3Storage
    where = parse_film_url(url)
    if where is None:
        err.print(f"--from-bucket: {url!r} is not s3://BUCKET[/PREFIX]/films/FILM_ID", markup=False)
        raise typer.Exit(2)
    directory.mkdir(parents=True, exist_ok=True)
    # The endpoint and the identity come from the environment (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, ...):
    # the film's own slate.toml is not here yet.
    store = S3Storage(directory, bucket=where.bucket, prefix=where.prefix, film=where.film)
    try:
        pulled = pull_film(store, directory)
    except (StorageError, FileNotFoundError, ValueError) as exc:
        say_error(f"--from-bucket: {exc}")
        raise typer.Exit(1)
    storage = storage_or_exit(directory)
    if storage.backend != "s3" or storage.bucket != where.bucket or storage.prefix.strip("/") != where.prefix:
        err.print(f"{directory / 'slate.toml'}: [storage] must name the bucket the film was pulled from "
                  f"(backend = \"s3\", bucket = \"{where.bucket}\", prefix = \"{where.prefix}\")", markup=False)
        raise typer.Exit(1)
    console.print(f"pulled {where.film} from {url}: {len(pulled.sent)} downloaded, {len(pulled.unchanged)} "
                  "unchanged (each checked by sha256)", highlight=False)
    from slate.providers.storage import open_storage
    return open_storage(directory, storage, film=where.film)
