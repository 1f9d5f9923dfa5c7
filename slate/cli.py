"""The `slate` command line: init, check, run, status.

Thin: it parses arguments, calls manifests, flows and governor, and shows what they return.
It must never print a key, and never start a paid run on manifests that did not load cleanly.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

# The embedded Prefect server starts in a subprocess; on a loaded 2-core machine its default
# 20 s start-up allowance is not enough (seen: a timeout under a parallel test run).
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # no network here, and no need

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="slate: a durable, budget-governed pipeline from storyboard to footage.")
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


@app.command()
def init(directory: Path, example: bool = typer.Option(False, "--example", help="write the example film")):
    """Create a film project (with --example: the offline example film, 5 characters, 9 shots)."""
    from manifests import write_example_film
    from manifests.example import write_empty_film
    try:
        root = write_example_film(directory) if example else write_empty_film(directory)
    except ValueError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2)
    console.print(f"film project written to [bold]{root}[/bold]")


def _load(directory: Path):
    from manifests import ManifestError, load_film
    try:
        return load_film(directory)
    except ManifestError as exc:
        for problem in exc.problems:
            err.print(str(problem), markup=False, highlight=False)
        err.print(f"[red]{len(exc.problems)} problem(s) in {directory}[/red]")
        raise typer.Exit(1)


@app.command()
def check(directory: Path):
    """Validate manifests and references; print every error; exit non-zero on any."""
    from providers.errors import ReferenceMissing
    from tasks.context import RunSpec
    from tasks.references import lock_scene_references
    film = _load(directory)
    bad = 0
    for _, scene in film.scenes:
        run = RunSpec(root=str(directory.resolve()), run_id="check", film=film.film.id, scene=scene.id, profile="draft")
        try:
            lock_scene_references(run, film, scene.id)
        except ReferenceMissing as exc:
            for line in str(exc).split("; "):
                err.print(f"{film.scene_file(scene.id)}: references: {line}", markup=False, highlight=False)
                bad += 1
    if bad:
        raise typer.Exit(1)
    shots = sum(len(s.shots) for _, s in film.scenes)
    console.print(f"[green]ok[/green]: {film.film.id}, {len(film.scenes)} scene(s), {shots} shot(s), "
                  f"{len(film.bible.characters)} characters, {len(film.bible.locations)} locations")


class Progress:
    """A live table of shots: what each is doing, take by take."""

    def __init__(self):
        self.rows: dict[str, dict] = {}
        self.started = time.time()

    def __call__(self, event: dict) -> None:
        if event.get("event") == "plan":
            for s in event["shots"]:
                self.rows.setdefault(s, {"panel": "waiting", "video": "waiting"})
            return
        shot = event.get("shot")
        if not shot:
            return
        row = self.rows.setdefault(shot, {"panel": "waiting", "video": "waiting"})
        stage = "panel" if event.get("stage", "").startswith("panel") else "video"
        take = f" take {event['take']}" if event.get("take") else ""
        moment = f" {event['moment']}" if event.get("moment") and stage == "panel" else ""
        row[stage] = f"{event.get('status')}{moment}{take}"

    def table(self) -> Table:
        t = Table(title=f"slate run — {time.time() - self.started:.0f}s", expand=False)
        t.add_column("shot")
        t.add_column("panel")
        t.add_column("video")
        colour = {"approved": "green", "passed": "green", "failed": "yellow", "escalated": "red"}
        for shot, row in self.rows.items():
            cells = []
            for key in ("panel", "video"):
                word = row[key].split(" ")[0]
                cells.append(f"[{colour.get(word, 'white')}]{row[key]}[/]")
            t.add_row(shot, *cells)
        return t


@app.command()
def run(directory: Path, scene: Optional[str] = typer.Option(None, help="scene id (default: the first)"),
        profile: Optional[str] = typer.Option(None, help="draft | final | hero"),
        provider: Optional[str] = typer.Option(None, help="provider name (default from slate.toml)")):
    """Render a scene: every shot through its gates, stitched into one mp4."""
    film = _load(directory)
    from flows.scene import scene_flow
    from tasks.context import listen
    progress = Progress()
    stop = listen(progress)
    started = time.time()
    try:
        with Live(progress.table(), console=console, refresh_per_second=4, transient=False) as live:
            stop_refresh = listen(lambda _e: live.update(progress.table()))
            state = scene_flow(project=str(directory.resolve()), scene=scene, profile=profile, provider=provider,
                               return_state=True)
            stop_refresh()
            live.update(progress.table())
    finally:
        stop()
    elapsed = time.time() - started
    try:
        result = state.result(raise_on_failure=False)
    except Exception as exc:  # noqa: BLE001
        result = exc
    if isinstance(result, BaseException):
        err.print(f"[red]run failed ({state.name}):[/red] {result}", markup=True)
        raise typer.Exit(1)
    _report(result, state, elapsed)
    if state.is_failed():
        raise typer.Exit(1)


def _report(result, state, elapsed: float) -> None:
    for shot in result.escalated:
        err.print(f"[red]escalated[/red] {shot.shot}: {shot.reason}", highlight=False)
    console.print(f"state: [bold]{state.name}[/bold]  ({elapsed:.1f}s)")
    if result.output:
        console.print(f"output:        {result.output}  ({result.duration:.2f}s, {result.width}x{result.height})")
    console.print(f"contact sheet: {result.contact_sheet}")
    console.print(f"provider calls made: {result.provider_calls}")


@app.command()
def status(directory: Path):
    """What has been rendered and escalated, from the project's renders and run records."""
    film = _load(directory)
    renders = directory / "renders"
    console.print(f"film {film.film.id}: {film.film.title}")
    for _, scene in film.scenes:
        outs = sorted(renders.glob(f"{scene.id}-*.mp4")) if renders.is_dir() else []
        console.print(f"  scene {scene.id}: {len(scene.shots)} shots, {scene.total_seconds():.1f}s; "
                      f"renders: {', '.join(p.name for p in outs) or 'none yet'}")


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
