"""The `slate` command line: init, check, run, approve, status, up and down.

Thin: it parses arguments, calls manifests, flows and governor, and shows what they return.
It must never print a key, and never start a paid run before the preflight (tasks/preflight.py)
found nothing wrong.
"""
from __future__ import annotations

import json
import os
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

# The embedded Prefect server starts in a subprocess; on a loaded 2-core machine its default
# 20 s start-up allowance is not enough (seen: a timeout under a parallel test run).
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # no network here, and no need


from providers.keys import install_log_redaction  # noqa: E402

install_log_redaction()  # a key read by a provider never reaches a log line


def _on_stack(directory: Path):
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

    from deployments.automations import HEARTBEAT_SECONDS
    return temporary_settings({PREFECT_API_URL: stack.api_url, PREFECT_FLOWS_HEARTBEAT_FREQUENCY: HEARTBEAT_SECONDS})


def _start_embedded():
    """With no Prefect server configured (env or profile), `slate run` starts an embedded one
    (slate/server.py) and is its only client; tasks/slots.py may then reset slots a killed run
    left taken. Returns the starting server (wait for it before the first flow), or None."""
    from prefect.settings import PREFECT_API_URL
    if PREFECT_API_URL.value():
        return None
    os.environ["SLATE_EMBEDDED_PREFECT"] = "1"
    from slate import server as embedded
    return embedded.start()

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="slate: a durable, budget-governed pipeline from storyboard to footage.")
# Off a terminal (a log file, CI) rich would fold tables to 80 columns; ledgers need room.
# Markup and highlighting are off on both consoles: nearly every line carries a path, a URL or
# a manifest's text, and rich read "[storage]" or "[/PREFIX]" in them as tags (a crash, or words
# swallowed). Emphasis is asked for explicitly, with style= or a Text.
console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200, markup=False, highlight=False)
err = Console(stderr=True, soft_wrap=True, markup=False, highlight=False)


@app.command()
def init(directory: Path, example: bool = typer.Option(False, "--example", help="write the example film")):
    """Create a film project (with --example: the offline example film, 5 characters, 9 shots)."""
    from manifests import write_example_film
    from manifests.example import write_empty_film
    try:
        root = write_example_film(directory) if example else write_empty_film(directory)
    except ValueError as exc:
        err.print(str(exc), style="red")
        raise typer.Exit(2)
    console.print(Text.assemble("film project written to ", (str(root), "bold")))


def _load(directory: Path):
    from manifests import ManifestError, load_film
    try:
        return load_film(directory)
    except ManifestError as exc:
        for problem in exc.problems:
            err.print(str(problem), markup=False, highlight=False)
        err.print(f"{len(exc.problems)} problem(s) in {directory}", style="red")
        raise typer.Exit(1)


def _preflight(directory: Path, **options):
    """Run the preflight; on any problem print one line each (no markup: a manifest's text is
    not rich markup) and exit 1. Returns the Preflight when clean."""
    from tasks.preflight import preflight
    checked = preflight(directory, **options)
    for warning in checked.warnings:
        err.print(f"warning: {warning}", markup=False, highlight=False)
    if checked.problems:
        for problem in checked.problems:
            err.print(str(problem), markup=False, highlight=False)
        err.print(f"{len(checked.problems)} problem(s) in {directory}", style="red", markup=False, highlight=False)
        raise typer.Exit(1)
    return checked


def _judge_option():
    return typer.Option(None, "--judge", help="judge of the gates: provider or provider:model (default: local with "
                                              "local panels, else gemini)")


def _cannot_judge_option():
    return typer.Option(None, "--cannot-judge", help="block | warn: what a gate does with a take its judge cannot "
                                                     "judge (art it cannot read). warn rehearses the plumbing offline: "
                                                     "such takes go on, shown UNJUDGED on the contact sheet, the "
                                                     "validation table and the summary (default: slate.toml, block)")


def _panel_option():
    return typer.Option(None, "--panel-model", help="panel model: provider or provider:model, e.g. "
                                                    "gemini:gemini-2.5-flash-image")


def _video_option():
    return typer.Option(None, "--video-model", help="video model(s), comma-separated: the first is used, the rest are "
                                                    "fallbacks when a take is refused, e.g. replicate:bytedance/seedance-1-lite")


@app.command()
def check(directory: Path, scene: Optional[str] = typer.Option(None, help="scene id (default: every scene)"),
          profile: Optional[str] = typer.Option(None, help="draft | final | hero"),
          provider: Optional[str] = typer.Option(None, help="provider name (default from slate.toml)"),
          price_as: Optional[str] = typer.Option(None, "--price-as", help="check prices as this model"),
          judge: Optional[str] = _judge_option(), panel_model: Optional[str] = _panel_option(),
          video_model: Optional[str] = _video_option(), cannot_judge: Optional[str] = _cannot_judge_option()):
    """Validate everything a run needs before it spends: settings, manifests, references (and
    whether the run's judge can read them), the stitch's dissolves, providers and prices. Prints
    every problem in one pass; exits 1 on any."""
    checked = _preflight(directory, scene=scene, profile=profile, provider=provider, price_as=price_as,
                         judge=judge, panel_model=panel_model, video_model=video_model, cannot_judge=cannot_judge)
    film = checked.film
    shots = sum(len(s.shots) for _, s in film.scenes)
    console.print(Text.assemble(("ok", "green"), f": {film.film.id}, {len(film.scenes)} scene(s), {shots} shot(s), "
                                f"{len(film.bible.characters)} characters, {len(film.bible.locations)} locations; "
                                f"{checked.settings.profile} profile, {_lineup_text(checked.settings)}"))


def _lineup_text(settings) -> str:
    from providers.registry import lineup
    chosen = lineup(settings)
    videos = " then ".join(str(v) for v in chosen.videos)
    priced = f" (video priced as {settings.price_as})" if settings.price_as else ""
    return f"panels {chosen.panel}, video {videos}{priced}, judge {chosen.judge}"


class Progress:
    """A live table of shots: what each is doing, take by take (a scene column once two scenes
    run: their shot ids may repeat)."""

    def __init__(self):
        self.rows: dict[tuple[str, str], dict] = {}
        self.started = time.time()

    def __call__(self, event: dict) -> None:
        scene = event.get("scene") or ""
        if event.get("event") == "plan":
            for s in event["shots"]:
                self.rows.setdefault((scene, s), {"panel": "waiting", "video": "waiting"})
            return
        shot = event.get("shot")
        if not shot:
            return
        row = self.rows.setdefault((scene, shot), {"panel": "waiting", "video": "waiting"})
        stage = "panel" if event.get("stage", "").startswith("panel") else "video"
        take = f" take {event['take']}" if event.get("take") else ""
        moment = f" {event['moment']}" if event.get("moment") and stage == "panel" else ""
        row[stage] = f"{event.get('status')}{moment}{take}"

    def table(self) -> Table:
        t = Table(title=f"slate run — {time.time() - self.started:.0f}s", expand=False)
        scenes = len({scene for scene, _ in self.rows}) > 1
        if scenes:
            t.add_column("scene")
        t.add_column("shot")
        t.add_column("panel")
        t.add_column("video")
        colour = {"approved": "green", "passed": "green", "failed": "yellow", "escalated": "red"}
        for (scene, shot), row in list(self.rows.items()):
            cells = []
            for key in ("panel", "video"):
                word = row[key].split(" ")[0]
                cells.append(Text(row[key], style=colour.get(word, "white")))
            t.add_row(*([scene] if scenes else []), shot, *cells)
        return t


@app.command()
def run(directory: Path,
        scene: Optional[list[str]] = typer.Option(None, "--scene", help="only this scene (repeatable; default: every "
                                                                          "scene of the film)"),
        profile: Optional[str] = typer.Option(None, help="draft | final | hero"),
        provider: Optional[str] = typer.Option(None, help="provider name (default from slate.toml)"),
        cap: Optional[str] = typer.Option(None, help="per-run cap in USD for this run only, e.g. 5.00"),
        price_as: Optional[str] = typer.Option(None, "--price-as",
                                               help="rehearse: price every video call as this model, "
                                                    "e.g. replicate:bytedance/seedance-1-pro"),
        judge: Optional[str] = _judge_option(), panel_model: Optional[str] = _panel_option(),
        video_model: Optional[str] = _video_option(), cannot_judge: Optional[str] = _cannot_judge_option(),
        approve_fallback: Optional[list[str]] = typer.Option(
            None, "--approve-fallback", help="allow this fallback video model whatever its cost impact "
                                             "(the command a halted run names)"),
        verbose: bool = typer.Option(False, "--verbose", help="show Prefect's own log lines as well"),
        from_bucket: Optional[str] = typer.Option(
            None, "--from-bucket", help="a film pushed with `slate push`: s3://BUCKET[/PREFIX]/films/FILM_ID; it is "
                                        "pulled into DIRECTORY (checked by hash) and run there, renders go back to "
                                        "the bucket"),
        max_parallel_scenes: Optional[int] = typer.Option(
            None, "--max-parallel-scenes", min=1, max=64,
            help="scenes rendered at once (default: max_parallel_scenes in slate.toml, 4)")):
    """Render the film (or the scenes named): every shot through its gates, each scene stitched,
    the scenes cut together into one mp4."""
    started = time.time()
    store = _pull_from_bucket(directory, from_bucket) if from_bucket else None
    cap_usd = _usd_option(cap, "--cap")
    models = dict(judge=judge, panel_model=panel_model, video_model=video_model, cannot_judge=cannot_judge)
    # Every problem is printed here, before any run starts; the flow checks again, the same way.
    for one in scene or [None]:
        checked = _preflight(directory, scene=one, whole_film=one is None, profile=profile, provider=provider,
                             price_as=price_as, cap=cap_usd, **models)
    options = dict(profile=profile, provider=provider, price_as=price_as, approve_fallback=approve_fallback or None,
                   **models)
    reel = None if store is not None else _reel(directory, checked.film, scene, options, started)
    if reel is not None and _from_the_reel(reel, verbose):
        return
    if store is None and _on_studio(directory, scene, options, cap_usd, max_parallel_scenes, started):
        return
    with _on_stack(directory):
        _run(directory, scene, profile, provider, cap_usd, price_as, approve_fallback, verbose, models, store, reel,
             max_parallel_scenes)


def _on_studio(directory: Path, scene, options: dict, cap_usd, max_parallel_scenes, started: float) -> bool:
    """With a `slate up --stack` studio running for this film: the film pushed again (what
    changed), a run of its `film` deployment — its scenes on any worker — and its end; False
    when no studio runs (the film renders here)."""
    from slate import studio as studio_stack
    one = studio_stack.running(directory.resolve())
    if one is None:
        return False
    pushed = studio_stack.push(directory.resolve(), one)
    parameters = {k: v for k, v in dict(scenes=list(scene or []), cap=str(cap_usd or ""),
                                        max_parallel_scenes=max_parallel_scenes or 0, **options).items()
                  if v not in (None, [], "", 0)}
    run_id = studio_stack.start_film_run(one, **parameters)
    console.print(f"film run {run_id} on the studio ({len(pushed.sent)} file(s) pushed): UI "
                  f"{one.ui_url}/runs/flow-run/{run_id}", highlight=False)
    run = studio_stack.wait_for_run(one, run_id, on_wait=lambda waiting: _say(
        f"{waiting.name}: waiting for a person to approve its final video — open {one.ui_url}/runs/flow-run/"
        f"{waiting.id} in the Prefect UI and press Resume"))
    console.print(Text.assemble("state: ", (run.state.name, "bold"), f"  ({time.time() - started:.1f}s)"
                                + (f"  {run.state.message}" if run.state.message else "")))
    if not run.state.is_completed():
        raise typer.Exit(1)
    return True


class _Reel:
    """What the reel (tasks/reel.py) is asked about: this project, its film, these options."""

    def __init__(self, directory: Path, film, scenes: list[str], options: dict, started: float):
        self.directory, self.film, self.scenes, self.options = directory, film, scenes, options
        self.started = started


def _reel(directory: Path, film, scene, options: dict, started: float):
    """The reel's question for this run, or None where it cannot answer: a `slate up` stack or
    another Prefect server holds the budget block its keys depend on (tasks/reel.py)."""
    from slate import studio as studio_stack
    from slate.stack import running
    from tasks.reel import server_configured
    if server_configured() or running(directory) is not None or studio_stack.running(directory.resolve()):
        return None
    known = [s.id for _, s in film.scenes]
    return _Reel(directory, film, [s for s in known if not scene or s in scene], options, started)


def _reel_settings(reel: _Reel):
    from manifests.settings import project_settings
    return project_settings(reel.directory, **reel.options)


def _from_the_reel(reel: _Reel, verbose: bool) -> bool:
    """Print the film's summary and True when it is served from the reel: nothing was run."""
    from types import SimpleNamespace

    from tasks.reel import recognise
    served = recognise(reel.directory, reel.film, _reel_settings(reel), reel.scenes)
    if isinstance(served, str):
        if verbose:
            console.print(f"the reel: {served}; running the film", highlight=False, markup=False)
        return False
    scenes = [SimpleNamespace(**{**sc, "shots": [SimpleNamespace(**s) for s in sc["shots"]]}) for sc in served.scenes]
    result = SimpleNamespace(film=served.film, output=served.output, duration=served.duration, scenes=scenes)
    _report(result, SimpleNamespace(name="Completed", message=""), time.time() - reel.started)
    console.print("unchanged since its last run: every scene and the film's cut served from the can, nothing ran",
                  highlight=False)
    return True


def _write_reel(reel: _Reel, result) -> None:
    """After a run that finished clean: the reel written down for the next run (tasks/reel.py).
    The take policy is the budget block's, read while the embedded server is still up."""
    from governor.budget import SlateBudget, block_name
    from tasks.reel import TakePolicy, write_reel
    try:
        budget = SlateBudget.load(block_name(reel.film.film.id))
        write_reel(reel.directory, reel.film, _reel_settings(reel), reel.scenes,
                   TakePolicy(budget.max_takes, budget.no_progress_takes), result.output, float(result.duration))
    except Exception as exc:  # noqa: BLE001 — without a reel the next run goes through Prefect, no harm
        err.print(f"warning: the reel was not written ({type(exc).__name__}: {exc})", markup=False, highlight=False)


def _run(directory, scene, profile, provider, cap_usd, price_as, approve_fallback, verbose, models, store,
         reel=None, max_parallel_scenes=None) -> None:
    server = _start_embedded()  # it starts while slate's flows import
    from flows.film import film_flow, film_result
    from tasks.context import listen
    if not verbose:
        _quiet_prefect_console()
    progress = Progress()
    stop = listen(progress)
    stop_saying = listen(_say_waiting)
    if server is not None:
        server.wait()  # a client call while it is starting would find the server not yet answering
    started = time.time()
    try:
        with Live(progress.table(), console=console, refresh_per_second=4, transient=False) as live:
            stop_refresh = listen(lambda _e: live.update(progress.table()))
            state = film_flow(project=str(directory.resolve()), scenes=scene or [], profile=profile, provider=provider,
                              cap=cap_usd, price_as=price_as, approve_fallback=approve_fallback or [],
                              max_parallel_scenes=max_parallel_scenes or 0, return_state=True, **models)
            stop_refresh()
            live.update(progress.table())
        console.line()  # the summary starts below the table, never on its last line
    finally:
        stop()
        stop_saying()
    elapsed = time.time() - started
    result = film_result(state)
    run_id = str(state.state_details.flow_run_id or "") or None
    if result is None:  # refused before anything was made, or a bug (its message says which)
        _report(None, state, elapsed, directory, run_id)
        err.print(Text.assemble((f"{state.name}:", "red"), f" {state.message}"))
        raise typer.Exit(1)
    _report(result, state, elapsed, directory, run_id)
    if reel is not None and state.name == "Completed" and result.output:
        _write_reel(reel, result)
    if store is not None:
        from providers.storage import publish_renders
        sent = publish_renders(directory, store)
        console.print(f"renders in the bucket: {len(sent.sent)} uploaded, {len(sent.unchanged)} unchanged "
                      f"(s3://{store.bucket}/{store.film_prefix}renders/)", highlight=False)
    if state.is_failed():
        raise typer.Exit(1)


def _say_waiting(event: dict) -> None:
    """A run that waits for a person says so, in one line, whether or not this is a terminal:
    what it waits for and how to answer (flows/approval.py writes the line)."""
    if event.get("event") == "waiting" and event.get("line"):
        console.print(event["line"], style="bold")
        if not console.is_terminal:
            sys.stdout.flush()   # a log file or a pipe sees it now, not when the run ends


def _storage_settings(directory: Path):
    """The project's [storage] settings, or exit 1 printing every settings problem."""
    from manifests import ManifestError
    from slate.settings import project_settings
    try:
        return project_settings(directory).storage
    except ManifestError as exc:
        for problem in exc.problems:
            err.print(str(problem), markup=False, highlight=False)
        raise typer.Exit(1)


def _pull_from_bucket(directory: Path, url: str):
    """Pull a pushed film into `directory` (a worker's working folder) and return its store."""
    from providers.storage import parse_film_url, pull_film
    from providers.storage_errors import StorageError
    from providers.storage_s3 import S3Storage
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
        err.print(f"--from-bucket: {exc}", markup=False, highlight=False)
        raise typer.Exit(1)
    storage = _storage_settings(directory)
    if storage.backend != "s3" or storage.bucket != where.bucket or storage.prefix.strip("/") != where.prefix:
        err.print(f"{directory / 'slate.toml'}: [storage] must name the bucket the film was pulled from "
                  f"(backend = \"s3\", bucket = \"{where.bucket}\", prefix = \"{where.prefix}\")", markup=False)
        raise typer.Exit(1)
    console.print(f"pulled {where.film} from {url}: {len(pulled.sent)} downloaded, {len(pulled.unchanged)} "
                  "unchanged (each checked by sha256)", highlight=False)
    from providers.storage import open_storage
    return open_storage(directory, storage, film=where.film)


@app.command()
def push(directory: Path):
    """Upload the film's manifests and references to its bucket ([storage] in slate.toml), so a
    worker with only the bucket can run it (`slate run WORKDIR --from-bucket URL`). Content
    already in the bucket is not sent again."""
    from providers.storage import film_url, open_storage, push_film
    from providers.storage_errors import StorageError
    storage = _storage_settings(directory)
    if storage.backend != "s3":
        err.print(f"{directory / 'slate.toml'}: storage: push needs a bucket: [storage] backend = \"s3\" and "
                  "bucket = \"...\" (endpoint_url for R2, MinIO, SeaweedFS)", markup=False)
        raise typer.Exit(2)
    film = _load(directory)   # a film with a bad manifest is not pushed: a worker would only refuse it
    store = open_storage(directory, storage, film=film.film.id)
    try:
        done = push_film(directory, store)
    except StorageError as exc:
        err.print(f"push: {exc}", markup=False, highlight=False)
        raise typer.Exit(1)
    console.print(f"pushed {film.film.id} to {film_url(store)}: {len(done.sent)} uploaded, "
                  f"{len(done.unchanged)} unchanged", highlight=False)
    console.print(f"run it anywhere: slate run WORKDIR --from-bucket {film_url(store)}", highlight=False)


def _quiet_prefect_console() -> None:
    """Prefect's own console lines off (they still reach the server and the UI): the live table
    and the summary are what a person reads here."""
    import logging

    from prefect.logging.handlers import APILogHandler
    for name in ("prefect", "prefect.flow_runs", "prefect.task_runs", "prefect.server", None):
        for handler in logging.getLogger(name).handlers:
            if not isinstance(handler, APILogHandler):
                handler.setLevel(logging.CRITICAL + 1)


def _usd_option(value: Optional[str], flag: str):
    if value is None:
        return None
    from governor.money import usd
    try:
        return usd(value)
    except (ValueError, TypeError) as exc:
        err.print(f"{flag}: not an amount of dollars: {value!r} ({exc})")
        raise typer.Exit(2)


def _report(result, state, elapsed: float, directory: Path | None = None, run_id: str | None = None) -> None:
    """What the run made, scene by scene, then the film; a person reads this in the morning.
    With the run's id, what it spent and how many provider calls it made are read from the
    ledger's rows of that run, whatever state it ended in (a halted scene has no result)."""
    from governor.money import fmt_usd, usd
    spent = sum((usd(s.spent_usd) for s in result.scenes), usd(0)) if result is not None else usd(0)
    calls = sum(s.provider_calls for s in result.scenes) if result is not None else 0
    notes: list[str] = []
    if directory is not None and run_id:
        spent, calls, notes = _run_figures(directory, run_id)
    console.print(Text.assemble("state: ", (state.name, "bold"),
                                f"  ({elapsed:.1f}s)  spent this run: {fmt_usd(spent)}"))
    if state.message and state.name not in ("Completed",):
        console.print(f"  {state.message}", highlight=False, markup=False)
    for sc in result.scenes if result is not None else []:
        for shot in sc.shots:
            if shot.status != "approved":
                console.print(f"  {shot.status} {sc.scene}/{shot.shot}: {shot.reason}", highlight=False, markup=False)
        if sc.output:
            console.print(f"output:        {sc.output}  ({sc.duration:.2f}s, {sc.width}x{sc.height})",
                          highlight=False, markup=False)
        console.print(f"contact sheet: {sc.contact_sheet}", highlight=False, markup=False)
    if result is not None and result.output and len(result.scenes) > 1:
        console.print(f"film:          {result.output}  ({result.duration:.2f}s)", highlight=False, markup=False)
    for note in notes:
        console.print(f"asked again once: {note}", highlight=False, markup=False)
    console.print(f"provider calls made: {calls}")


def _run_figures(directory: Path, run_id: str):
    """(spent, provider calls made, asked-again notes) of one run, from the ledger: its committed
    money, its rows that reached a provider (not refusals nor $0 notes)."""
    from governor.chokepoint import ASKED_AGAIN
    from governor.ledger import Ledger
    from providers.storage import film_id
    with Ledger.for_project(directory.resolve()) as ledger:
        film = film_id(directory)
        rows = ledger.rows(film=film, run_id=run_id)
        spent = ledger.totals(film=film, run_id=run_id).committed
    calls = sum(1 for r in rows if r.status not in ("refused", "released"))
    notes = [r.error_message or "" for r in rows if r.error_class == ASKED_AGAIN]
    return spent, calls, notes


@app.command()
def estimate(directory: Path, scene: Optional[str] = typer.Option(None, help="scene id (default: every scene)"),
             profile: Optional[str] = typer.Option(None, help="draft | final | hero"),
             provider: Optional[str] = typer.Option(None, help="provider name"),
             price_as: Optional[str] = typer.Option(None, "--price-as", help="price video calls as this model"),
             cap: Optional[str] = typer.Option(None, help="the per-run cap to check against (default: settings)"),
             judge: Optional[str] = _judge_option(), panel_model: Optional[str] = _panel_option(),
             video_model: Optional[str] = _video_option()):
    """Expected cost per shot and in total (panels with expected takes, judge calls, videos)."""
    from rich.table import Table as RichTable

    from governor.estimate import estimate_scene
    from governor.money import fmt_usd
    from governor.ratecard import Pricing, RateCard, RateError
    from manifests import ManifestError
    from providers.errors import ReferenceMissing
    from providers.registry import UnknownProvider, lineup
    from slate.settings import project_settings
    from tasks.plan import plan_from_project
    film = _load(directory)
    try:
        settings = project_settings(directory, profile=profile, provider=provider, price_as=price_as, judge=judge,
                                    panel_model=panel_model, video_model=video_model)
    except ManifestError as exc:
        for problem in exc.problems:
            err.print(str(problem), markup=False, highlight=False)
        raise typer.Exit(1)
    cap_usd = _usd_option(cap, "--cap")
    if cap_usd is None:  # not `or`: a cap of $0 is a cap
        cap_usd = settings.run_cap_usd
    try:
        chosen = lineup(settings)
        pricing = Pricing.for_lineup(RateCard.load(directory), str(chosen.panel), [str(v) for v in chosen.videos],
                                     str(chosen.judge), settings.price_as)
    except UnknownProvider as exc:
        err.print(f"{exc.setting}: {exc}", markup=False)
        raise typer.Exit(2)
    except RateError as exc:
        err.print(f"rate card: {exc}", markup=False)
        raise typer.Exit(2)
    grand = 0
    for _, sc in film.scenes:
        if scene and sc.id != scene:
            continue
        try:
            plans = plan_from_project(film, sc.id, settings.profile, settings.fps)
        except ReferenceMissing as exc:
            err.print(f"{film.scene_file(sc.id)}: references: {exc}", markup=False)
            raise typer.Exit(1)
        est = estimate_scene(plans, pricing)
        rows = est.render_table()
        table = RichTable(title=f"{film.film.id} / {sc.id} — {settings.profile}, video priced as {pricing.video_key}")
        for col in rows[0]:
            table.add_column(col, justify="right" if col != "shot" else "left")
        for row in rows[1:]:
            table.add_row(*row)
        console.print(table)
        grand += est.total
    verdict = "fits" if grand <= cap_usd else "does NOT fit"
    console.print(f"expected total: {fmt_usd(grand)} — {verdict} the per-run cap {fmt_usd(cap_usd)}")


@app.command()
def log(directory: Path, jsonl: bool = typer.Option(False, "--jsonl", help="one JSON object a line (a generations log)"),
        run_id: Optional[str] = typer.Option(None, "--run", help="only this run's calls")):
    """The ledger: every paid call attempt, with its cost and outcome."""
    from dataclasses import asdict

    from governor.ledger import Ledger
    from governor.money import fmt_usd
    film = _load(directory)
    ledger = Ledger.for_project(directory.resolve())
    rows = ledger.rows(film=film.film.id, run_id=run_id)
    if jsonl:
        for row in rows:
            print(json.dumps(asdict(row), default=str, sort_keys=True))
        return
    table = Table(title=f"ledger of {film.film.id}: {len(rows)} call(s)")
    for col in ("when", "run", "shot", "stage", "take", "provider:model", "status", "estimate", "actual", "job"):
        table.add_column(col)
    for r in rows:
        table.add_row(r.created_at.strftime("%m-%d %H:%M:%S"), r.run_id[:8], r.shot, r.stage, str(r.take),
                      f"{r.provider}:{r.model}", r.status, fmt_usd(r.estimate),
                      "" if r.actual_cost is None else fmt_usd(r.actual_cost), (r.job_id or "")[:14])
    console.print(table)
    totals = ledger.totals(film=film.film.id)
    console.print(f"committed {fmt_usd(totals.committed)}, reserved {fmt_usd(totals.reserved)}")


@app.command()
def doctor(directory: Path, scene: Optional[str] = typer.Option(None, help="scene id (default: every scene)"),
           profile: Optional[str] = typer.Option(None, help="draft | final | hero"),
           provider: Optional[str] = typer.Option(None, help="provider name (default from slate.toml)"),
           judge: Optional[str] = _judge_option(), panel_model: Optional[str] = _panel_option(),
           video_model: Optional[str] = _video_option()):
    """Can this film spend with its providers now: keys present and valid, credit left (held to
    the estimate where the provider says), models priced, video slots. Exits 1 on a blocking line."""
    from governor.estimate import estimate_scene
    from governor.ratecard import Pricing, RateCard
    from providers.registry import lineup
    from tasks.doctor import blocking, doctor as run_doctor, line
    from tasks.plan import plan_from_project
    checked = _preflight(directory, scene=scene, profile=profile, provider=provider, judge=judge,
                         panel_model=panel_model, video_model=video_model)
    settings, film = checked.settings, checked.film
    chosen = lineup(settings)
    pricing = Pricing.for_lineup(RateCard.load(directory), str(chosen.panel), [str(v) for v in chosen.videos],
                                 str(chosen.judge), settings.price_as)
    total = sum((estimate_scene(plan_from_project(film, sc, settings.profile, settings.fps,
                                                  panel_model=str(chosen.panel), video_model=str(chosen.video)),
                                pricing).total for sc in checked.scenes), Decimal(0))
    findings = run_doctor(directory.resolve(), settings, estimate=total)
    for f in findings:
        (console if f.ok or not f.blocking else err).print(line(f), markup=False, highlight=False)
    stops = blocking(findings)
    if stops:
        err.print(f"{len(stops)} blocking problem(s): a run would be refused before spending", style="red")
        raise typer.Exit(1)
    console.print(f"ready: {_lineup_text(settings)}", markup=False, highlight=False)


@app.command()
def approve(directory: Path, run_id: Optional[str] = typer.Option(None, "--run", help="the waiting run's id (default: "
                                                                                 "the one waiting in this project)"),
            shots: Optional[str] = typer.Option(None, "--shots", help="approve only these shots, e.g. 1A,1C"),
            reject: bool = typer.Option(False, "--reject", help="approve no shot: nothing is rendered at final size"),
            notes: str = typer.Option("", "--notes", help="why, kept in the ledger"),
            allowance: Optional[str] = typer.Option(None, "--allowance",
                                                    help="retake allowance in USD: what retakes of clips that fail "
                                                         "their keyframe gate may spend beyond the clips approved "
                                                         "without asking again (default 0: ask before any retake)"),
            by: Optional[str] = typer.Option(None, "--by", help="who decides (default: this machine's user)")):
    """Answer a run waiting for approval of its final video (or of retakes past the amount
    approved), as the form in the UI does."""
    from prefect.flow_runs import resume_flow_run
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.approval import APPROVAL_FILE, local_user
    marker = directory / ".slate" / APPROVAL_FILE
    record = json.loads(marker.read_text()) if marker.is_file() else {}
    flow_run_id = run_id or record.get("flow_run_id")
    if not flow_run_id:
        err.print(f"no run of {directory} is waiting for approval ({marker} is not there); give --run ID")
        raise typer.Exit(1)
    if shots and reject:
        err.print("give --shots or --reject, not both")
        raise typer.Exit(2)
    allowed = _usd_option(allowance, "--allowance") if allowance is not None else None
    if allowed is not None and allowed < 0:
        err.print(f"--allowance: a retake allowance is $0 or more, not {allowance}")
        raise typer.Exit(2)
    answer = {"approve": "no shot" if reject else "only the shots ticked" if shots else "all shots",
              "shots": [s.strip() for s in (shots or "").split(",") if s.strip()], "notes": notes,
              "retake_allowance": f"{allowed:.2f}" if allowed is not None else "0", "approved_by": by or local_user()}
    unknown = [s for s in answer["shots"] if record.get("shots") and s not in record["shots"]]
    if unknown:
        err.print(f"unknown shot(s) {', '.join(unknown)}: the run waits for {', '.join(record['shots'])}")
        raise typer.Exit(2)
    with _on_stack(directory):
        api = record.get("api_url") or PREFECT_API_URL.value()
        with temporary_settings({PREFECT_API_URL: api} if api else {}):
            resume_flow_run(flow_run_id, run_input=answer)
    what = "no shot" if reject else f"shots {', '.join(answer['shots'])}" if shots else "every shot"
    console.print(f"approved {what} of run {flow_run_id}" + (f" ({notes})" if notes else ""))


@app.command()
def stop(directory: Path, clear: bool = typer.Option(False, "--clear", help="remove the STOP file"),
         hard: bool = typer.Option(False, "--hard", help="also cancel jobs already submitted, at the provider")):
    """The kill switch: nothing new is submitted while the project's STOP file exists, or while
    the ledger holds a stop for the film (every worker sharing SLATE_LEDGER_URL reads it)."""
    from governor.killswitch import clear_stop, request_stop
    if clear:
        console.print("STOP file removed" if clear_stop(directory) else "no STOP file")
        n = _shared_stop(directory, clear=True)
        if n:
            console.print(f"{n} stop(s) cleared in the ledger")
        return
    path = request_stop(directory, hard=hard, reason="slate stop --hard" if hard else "slate stop")
    console.print(f"{'hard ' if hard else ''}stop requested: {path}"
                  + ("" if hard else " (jobs already submitted are polled to the end and recorded)"))
    if _shared_stop(directory, hard=hard) is not None:
        console.print("and in the ledger: every worker sharing it stops within a second")


def _shared_stop(directory: Path, *, clear: bool = False, hard: bool = False):
    """The ledger half of `slate stop`: after the STOP file, so an unreachable ledger never
    keeps the local switch from working. A film whose id cannot be read stops every film."""
    from governor.killswitch import EVERY_FILM, clear_shared_stop, request_shared_stop
    from governor.ledger import Ledger, LedgerUnavailable
    from providers.storage import film_id
    try:
        film = film_id(directory)
    except (ValueError, OSError):
        film = EVERY_FILM
    try:
        with Ledger.for_project(directory.resolve()) as ledger:
            if clear:
                return clear_shared_stop(ledger, film)
            request_shared_stop(ledger, film, hard=hard, reason="slate stop --hard" if hard else "slate stop")
            return 1
    except LedgerUnavailable as exc:
        err.print(f"the ledger could not be reached ({exc}): only the STOP file is set", markup=False)
        return None


def _where_jobs_are(name: str) -> str:
    """Where a person finds the job a provider made for a call whose answer was lost (its spec says)."""
    from providers.registry import UnknownProvider, provider
    try:
        return provider(name).lost_job_hint or "the job the provider made for it"
    except UnknownProvider:
        return "the job the provider made for it"


def _makes_jobs(row) -> bool:
    """Whether this call's stage, at its provider, is a job one can attach (a clip; a panel of a
    provider whose panels are jobs — Replicate, fal), rather than one request and its answer."""
    if row.stage == "video":
        return True
    if row.stage != "panel" or row.provider == "local":
        return False
    from providers.registry import BASE_URLS, _vendor
    try:
        return hasattr(_vendor(row.provider).image(row.model, storage=None, base_url=BASE_URLS[row.provider]),
                       "submit_panel")
    except Exception:  # noqa: BLE001 — an unknown provider or model: nothing to attach to
        return False


@app.command()
def reconcile(directory: Path, call: Optional[str] = typer.Option(None, help="the call id to resolve"),
              job: Optional[str] = typer.Option(None, help="attach this provider job id (the job exists): "
                                                           "a clip's, or a Replicate or fal panel's"),
              failed: bool = typer.Option(False, "--failed", help="mark the call failed (it never ran): $0"),
              lost: bool = typer.Option(False, "--lost", help="it ran and its answer is lost: counted as spent "
                                                              "(its estimate); the next run asks again")):
    """Resolve paid calls whose outcome is unknown: attach the provider's job (the next run
    polls, downloads and gates it like a fresh take), or mark them failed or lost. Without
    --call, lists what a person must resolve, apart from what the next run settles by itself."""
    from governor.chokepoint import ANSWER_LOST
    from governor.ledger import Ledger, LedgerStateError, UnknownCall
    from governor.money import fmt_usd
    film = _load(directory)
    ledger = Ledger.for_project(directory.resolve())
    if call is None:
        person, by_itself = ledger.to_reconcile(film=film.film.id)
        for r in by_itself:
            console.print(f"{r.call_id}  shot {r.shot} {r.stage} take {r.take}  {r.provider}:{r.model}  job "
                          f"{r.job_id}: the next run re-attaches to it by itself ({r.error_message or 'in flight'}; "
                          f"--failed if the provider has no such job)", highlight=False, markup=False)
        if not person:
            console.print("nothing to reconcile" + (" by hand" if by_itself else ""))
            return
        for r in person:
            console.print(f"{r.call_id}  {r.status}  shot {r.shot} {r.stage} take {r.take}  {r.provider}:{r.model}  "
                          f"{fmt_usd(r.estimate)}  sent {r.submitted_at or r.created_at:%Y-%m-%d %H:%M:%S} UTC  "
                          f"{r.error_message or ''}", highlight=False, markup=False)
            if _makes_jobs(r):
                where = _where_jobs_are(r.provider)
                console.print(f"    find {where}; then --call {r.call_id} --job JOB_ID, or --failed if none was made",
                              highlight=False, markup=False)
            else:
                console.print("    one request, one answer: --lost (counted as spent, the next run asks again) or "
                              "--failed (it never ran)", highlight=False, markup=False)
        console.print("resolve each with: slate reconcile DIR --call ID --job JOB_ID | --failed | --lost",
                      highlight=False, markup=False)
        raise typer.Exit(1)
    if sum(map(bool, (job, failed, lost))) != 1:
        err.print("give exactly one of --job JOB_ID, --failed or --lost")
        raise typer.Exit(2)
    try:
        row = ledger.find(call)
    except UnknownCall as exc:
        err.print(str(exc), markup=False, highlight=False)
        raise typer.Exit(2)
    what = f"shot {row.shot} {row.stage} take {row.take} ({row.provider}:{row.model})"
    try:
        if job:
            if not _makes_jobs(row):
                err.print(f"{call}: {what} is one request and one answer, with no job to attach: use --lost (it ran, "
                          f"its answer is lost) or --failed (it never ran)", markup=False, highlight=False)
                raise typer.Exit(2)
            ledger.attach_job(call, job.strip())
            console.print(f"{call}: job {job.strip()} attached to {what}; the next run polls it, downloads what it "
                          f"made and holds it to the {row.stage}'s gate like a fresh take, instead of paying again",
                          highlight=False, markup=False)
        elif lost:
            if row.job_id:
                err.print(f"{call}: {what} has a job ({row.job_id}): the next run re-attaches to it; nothing is lost",
                          markup=False, highlight=False)
                raise typer.Exit(2)
            ledger.fail(call, error_class=ANSWER_LOST, charged=row.estimate,
                        message=f"marked lost by slate reconcile: it ran and its answer is lost; counted as spent at "
                                f"its estimate {fmt_usd(row.estimate)}")
            console.print(f"{call}: {what} marked lost, counted as spent ({fmt_usd(row.estimate)}); the next run asks "
                          f"again", highlight=False, markup=False)
        else:
            ledger.fail(call, error_class="Reconciled", message="marked failed by slate reconcile")
            console.print(f"{call}: marked failed; the next run may make a new take", highlight=False, markup=False)
    except LedgerStateError as exc:
        err.print(f"{call}: {exc}", markup=False, highlight=False)
        raise typer.Exit(1)


@app.command()
def status(directory: Path):
    """What has been rendered and escalated, from the project's renders and run records."""
    from governor.ledger import Ledger
    from governor.money import fmt_usd
    film = _load(directory)
    renders = directory / "renders"
    ledger = Ledger.for_project(directory.resolve())
    totals = ledger.totals(film=film.film.id)
    by_hand, by_itself = ledger.to_reconcile(film=film.film.id)
    console.print(f"film {film.film.id}: {film.film.title} — spent {fmt_usd(totals.committed)}"
                  + (f", {len(by_hand)} call(s) to reconcile (slate reconcile {directory})" if by_hand else "")
                  + (f", {len(by_itself)} job(s) the next run collects" if by_itself else ""),
                  highlight=False, markup=False)
    for _, scene in film.scenes:
        console.print(f"  scene {scene.id}: {len(scene.shots)} shots, {scene.total_seconds():.1f}s; "
                      f"renders: {_written(renders, scene.id) or 'none yet'}")
    cuts = _written(renders, film.film.id)
    if cuts:
        console.print(f"  film {film.film.id}: {cuts}")
    from slate.stack import running
    stack = running(directory)
    if stack is not None:
        console.print(f"stack up: UI {stack.ui_url}, work pool {stack.pool} (slate down {directory} stops it)",
                      highlight=False)
        _stack_runs(stack)


def _written(renders: Path, stem: str) -> str:
    """What runs wrote under renders/ for a scene or the film: cuts (partial ones said so) and
    contact sheets, each with the profile it was made at."""
    if not renders.is_dir():
        return ""
    said = []
    for path in sorted(renders.glob(f"{stem}-*")):
        name = path.name
        if name.startswith(".") or not path.is_file():
            continue
        if name.endswith("-contact.png"):
            said.append(f"{name} (contact sheet)")
        elif ".partial-" in name and name.endswith(".mp4"):
            said.append(f"{name} (partial cut)")
        elif name.endswith(".mp4"):
            said.append(name)
    return ", ".join(said)


def _stack_runs(stack) -> None:
    """The stack's latest scene and film runs, and the next nightly, as its server has them."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (FlowFilter, FlowFilterName, FlowRunFilter, FlowRunFilterState,
                                                FlowRunFilterStateType)
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort
    from prefect.settings import PREFECT_API_URL, temporary_settings
    films_and_scenes = FlowFilter(name=FlowFilterName(any_=["scene", "film"]))
    with temporary_settings({PREFECT_API_URL: stack.api_url}), get_client(sync_client=True) as client:
        started = client.read_flow_runs(
            flow_filter=films_and_scenes, sort=FlowRunSort.EXPECTED_START_TIME_DESC, limit=6,
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(
                not_any_=[StateType.SCHEDULED]))))
        upcoming = client.read_flow_runs(
            flow_filter=films_and_scenes, sort=FlowRunSort.EXPECTED_START_TIME_ASC, limit=1,
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(
                any_=[StateType.SCHEDULED]))))
    for r in started:
        console.print(f"  run {r.name}: {r.state.name if r.state else '?'}", highlight=False)
    for r in upcoming:
        console.print(f"  next: {r.name} at {r.expected_start_time.isoformat(timespec='minutes')}", highlight=False)


@app.command()
def up(directory: Path,
       zombie_window: Optional[int] = typer.Option(None, "--zombie-window",
                                                   help="seconds without a heartbeat before a run is marked Crashed "
                                                        "(default 90; more than 30)"),
       studio: bool = typer.Option(False, "--stack", help="a studio natively: S3 server, Prefect on Postgres, the "
                                                          "ledger on Postgres, N workers with their own folders "
                                                          "(what docker-compose.yml starts)"),
       workers: int = typer.Option(2, "--workers", min=1, max=16, help="with --stack: how many workers"),
       limit: int = typer.Option(4, "--limit", min=2, max=64,
                                 help="with --stack: runs at once per worker (a film run holds one)")):
    """Start, in the background, this film's Prefect server and UI, a process work pool and a worker,
    with the film's deployments (scene, film, nightly-dailies, approvals-warden) and automations.
    With --stack: the studio's services instead (slate/studio.py)."""
    from slate import studio as studio_stack
    from slate.stack import up as stack_up
    _load(directory)
    if zombie_window is not None and zombie_window <= 30:
        err.print("--zombie-window: more than 30 seconds (runs send a heartbeat every 30 s)")
        raise typer.Exit(2)
    try:
        if studio:
            studio_stack.up(directory, workers=workers, limit=limit, say=_say)
        elif studio_stack.read(directory) is not None:
            err.print(f"a studio (`slate up --stack`) is recorded for {directory}: `slate down {directory}` first",
                      markup=False, highlight=False)
            raise typer.Exit(1)
        else:
            stack_up(directory, zombie_window=zombie_window, say=_say)
    except RuntimeError as exc:
        err.print(str(exc), markup=False, highlight=False)
        raise typer.Exit(1)


def _say(text: str) -> None:
    """A line of plain text: paths and manifest text are never read as markup. Off a terminal
    (a pipe, a log) it is flushed at once: a person tailing it sees it now."""
    console.print(text, highlight=False, markup=False)
    if not console.is_terminal:
        sys.stdout.flush()


@app.command()
def down(directory: Path):
    """Stop exactly what `slate up` (or `slate up --stack`) started for this film (by its recorded
    process ids); a studio's databases are dropped."""
    from slate import studio as studio_stack
    from slate.stack import down as stack_down
    if studio_stack.read(directory) is not None:
        studio_stack.down(directory, say=_say)
    else:
        stack_down(directory, say=_say)


@app.command("studio-setup")
def studio_setup():
    """The one-shot of docker-compose.yml: the bucket, the ledger's tables, the work pool and, with
    SLATE_FILM_URL (a pushed film's address), the film's deployments by that address, its
    automations and budget block — from the environment (PREFECT_API_URL, SLATE_POOL,
    SLATE_BUCKET, SLATE_LEDGER_URL, AWS_*). Safe to run again (after each `slate push`)."""
    from slate import studio as studio_stack
    names = [n for n in studio_stack.service("setup").env if n != "SLATE_FILM_URL"]   # that one is optional
    missing = [n for n in names if not os.environ.get(n)]
    if missing:
        err.print(f"studio-setup: set {', '.join(missing)}", markup=False)
        raise typer.Exit(2)
    s3_env = {n: os.environ[n] for n in studio_stack.S3_CLIENT}
    made, _ = studio_stack.setup(os.environ["PREFECT_API_URL"], os.environ["SLATE_POOL"], os.environ["SLATE_BUCKET"],
                                 os.environ["SLATE_LEDGER_URL"], s3_env, os.environ.get("SLATE_FILM_URL") or None)
    console.print(f"studio ready: bucket {os.environ['SLATE_BUCKET']}, work pool {os.environ['SLATE_POOL']}"
                  + (f", deployments {', '.join(made)} of {os.environ['SLATE_FILM_URL']}" if made else
                     " (no film yet: `slate push FILM`, then run this again with SLATE_FILM_URL set)"),
                  highlight=False)


@app.command()
def escalations(directory: Path, scene: Optional[str] = typer.Option(None, "--scene", help="only this scene"),
                warn_words: Optional[str] = typer.Option(
                    None, "--warn-words", help="comma-separated words to be warned of in every prompt from now on "
                                               "(kept in the film's prompt_rules.toml): the words a refusal offers")):
    """Every escalated shot of the latest run of each scene: its best take, the failing scores
    with the judge's reasons, where a human composite goes and the manifest line that uses it.
    A shot a provider refused shows the provider's words, the prompt and references sent, and
    the words to be warned of next time."""
    from governor.ledger import Ledger
    from providers.registry import storage_for
    from tasks import escalations as records
    if warn_words is not None:
        _warn_words(directory, warn_words)
        return
    film = _load(directory)
    ids = [sc.id for _, sc in film.scenes]
    if scene is not None and scene not in ids:
        err.print(f"--scene: unknown scene {scene!r} (the film has: {', '.join(ids)})", markup=False)
        raise typer.Exit(2)
    storage = storage_for(directory.resolve())
    max_takes = _max_takes(directory, film.film.id)
    found = records.latest(Ledger.for_project(directory.resolve()), film.film.id, [scene] if scene else ids)
    for scene_id, shots in found.items():
        if not shots:
            console.print(f"scene {scene_id}: no escalated shot in its latest run", highlight=False)
            continue
        console.print(f"scene {scene_id}: {len(shots)} escalated shot(s) in run {shots[0].run_id[:8]} "
                      f"({shots[0].when:%Y-%m-%d %H:%M} UTC)", highlight=False)
        scene_file = film.scene_file(scene_id)
        for esc in shots:
            _print_escalation(directory, film, scene_id, scene_file, esc, storage, max_takes)
            _print_refusals(directory, film, scene_id, esc, storage)


def _warn_words(directory: Path, words: str) -> None:
    """`--warn-words`: the words kept in the film's own prompt_rules.toml as a warn rule."""
    from providers.prompts import RulesError, warn_of
    try:
        path, kept = warn_of(directory, [w for w in words.split(",") if w.strip()])
    except RulesError as exc:
        err.print(str(exc), markup=False, highlight=False)
        raise typer.Exit(2)
    console.print(f"{path}: every prompt with {', '.join(kept)} is warned of from now on (slate check, and before "
                  f"each paid call)", highlight=False, markup=False)


def _print_refusals(directory: Path, film, scene_id: str, esc, storage) -> None:
    """What a provider's moderation refused for this shot, in its own words, with the prompt and
    the references that were sent, and the words to be warned of next time."""
    from governor.ledger import Ledger
    from providers.prompts import refused_rule_words
    from tasks.escalations import refusals
    with Ledger.for_project(directory.resolve()) as ledger:
        refused = refusals(ledger, film.film.id, scene_id, esc.shot)
    if not refused:
        return
    warned = set(refused_rule_words(directory))
    offered: list[str] = []
    for r in refused:
        _say(f"    refused by {r.provider}:{r.model} ({r.stage} take {r.take}, call {r.call_id}): {r.words}")
        _say(f"      prompt sent: {r.prompt}")
        for uri in r.references:
            try:
                where = str(storage.open_local(uri))
            except (OSError, ValueError):
                where = uri  # gone from local storage: the URI still names it
            _say(f"      reference sent: {where}")
        offered += [w for w in r.offered if w not in warned and w not in offered]
    if offered:
        _say(f"    words only the refused prompt had (no accepted prompt of the film used them): {', '.join(offered)}")
        _say(f"    to be warned of the ones that tripped it, from now on: slate escalations {directory} "
             f"--warn-words {','.join(offered)}   (edit the list first)")


def _max_takes(directory: Path, film_id: str) -> int:
    """The takes a shot gets by the project's settings (the film's slate-budget block, edited on a
    server, may give more: the advice names both)."""
    from slate.settings import project_settings
    try:
        fallback = project_settings(directory).max_takes
    except Exception:  # noqa: BLE001 — a bad slate.toml is `slate check`'s to report
        fallback = 3
    return fallback


def _print_escalation(directory: Path, film, scene_id: str, scene_file: str, esc, storage, max_takes: int) -> None:
    from governor.gates import against
    from tasks.escalations import advice
    _say(f"\n  shot {esc.shot}: {esc.reason}")
    best = esc.best_take
    if best:
        where = best.get("uri") or ""
        try:
            where = str(storage.open_local(where)) if where else "(no image: the take was refused)"
        except (OSError, ValueError):
            pass  # gone from local storage: the URI still names it
        _say(f"    best take: {best['stage']} {best['moment']} take {best['take']} "
             f"(quality {best['quality']:+.2f}): {where}")
        failing = [s for s in best.get("scores", []) if not s.get("passed") and s.get("role", "block") == "block"]
        warned = [s for s in best.get("scores", []) if not s.get("passed") and s.get("role") == "warn"]
        for label, scores in (("failing", failing), ("warning", warned)):
            for s in scores:
                _say(f"    {label}: {s['name']} {against(s['value'], s['threshold'])} — {s.get('reason', '')}")
        if not failing and best.get("reasons"):
            for reason in best["reasons"]:
                _say(f"    failing: {reason}")
    try:
        current = film.scene(scene_id).shot(esc.shot).panel_override
    except (KeyError, ValueError):
        current = None  # the shot is gone from the manifest since that run
    for line in advice(esc, project=str(directory.resolve()), scene_file=scene_file, current_override=current,
                       max_takes=max_takes):
        _say(f"    {line}")


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
