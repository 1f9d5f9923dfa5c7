"""Where a film runs: `up` and `down` (its Prefect server, worker and deployments, or with
`--studio` a studio: slate/stack.py and slate/studio.py), `studio-setup` (the compose file's
one-shot) and `push` (the film to its bucket, for workers that only have the bucket).

It must never stop a process it did not start (by recorded ids only), and never print a key.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

from slate.commands.shared import Directory, console, err, load_or_exit, say, say_error, storage_or_exit


def up(directory: Directory,
       zombie_window: Optional[int] = typer.Option(None, "--zombie-window",
                                                   help="seconds without a heartbeat before a run is marked Crashed "
                                                        "(default 90, also the least: three heartbeats)"),
       studio: bool = typer.Option(False, "--studio", "--stack",
                                   help="a studio natively: S3 server, Prefect on Postgres, the ledger on Postgres, "
                                        "N workers with their own folders (what docker-compose.yml starts; --stack "
                                        "is its older spelling)"),
       workers: int = typer.Option(2, "--workers", min=1, max=16, help="with --studio: how many workers"),
       limit: int = typer.Option(4, "--limit", min=2, max=64,
                                 help="with --studio: runs at once per worker (a film run holds one)")):
    """Start, in the background, this film's Prefect server and UI, a process work pool and a worker,
    with the film's deployments (scene, film, nightly-dailies, approvals-warden) and automations.
    With --studio: the studio's services instead (slate/studio.py)."""
    from slate import studio as studio_stack
    from slate.deployments.automations import HEARTBEAT_SECONDS, MIN_ZOMBIE_WINDOW
    from slate.stack import up as stack_up
    load_or_exit(directory)
    if zombie_window is not None and zombie_window < MIN_ZOMBIE_WINDOW:
        # Runs beat every 30 s, a paused one too; on a busy machine beats arrive late, and 40 s
        # and 60 s windows each marked a run waiting for approval Crashed (both seen in CI).
        err.print(f"--zombie-window: at least {MIN_ZOMBIE_WINDOW} seconds (runs send a heartbeat every "
                  f"{HEARTBEAT_SECONDS} s, and a late one must not crash a live run)")
        raise typer.Exit(2)
    try:
        if studio:
            studio_stack.up(directory, workers=workers, limit=limit, say=say)
        elif studio_stack.read(directory) is not None:
            err.print(f"a studio (`slate up --studio`) is recorded for {directory}: `slate down {directory}` first",
                      markup=False, highlight=False)
            raise typer.Exit(1)
        else:
            stack_up(directory, zombie_window=zombie_window, say=say)
    except RuntimeError as exc:
        err.print(str(exc), markup=False, highlight=False)
        raise typer.Exit(1)


def down(directory: Directory):
    """Stop exactly what `slate up` (or `slate up --studio`) started for this film (by its recorded
    process ids); a studio's databases are dropped."""
    from slate import studio as studio_stack
    from slate.stack import down as stack_down
    if studio_stack.read(directory) is not None:
        studio_stack.down(directory, say=say)
    else:
        stack_down(directory, say=say)


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


def push(directory: Directory):
    """Upload the film's manifests and references to its bucket ([storage] in slate.toml), so a
    worker with only the bucket can run it (`slate run WORKDIR --from-bucket URL`). Content
    already in the bucket is not sent again."""
    from slate.providers.storage import film_url, open_bucket, push_film
    from slate.providers.storage_errors import StorageError
    storage = storage_or_exit(directory)
    if storage.backend != "s3":
        err.print(f"{directory / 'slate.toml'}: storage: push needs a bucket: [storage] backend = \"s3\" and "
                  "bucket = \"...\" (endpoint_url for R2, MinIO, SeaweedFS)", markup=False)
        raise typer.Exit(2)
    film = load_or_exit(directory)   # a film with a bad manifest is not pushed: a worker would only refuse it
    store = open_bucket(directory, storage, film=film.film.id)
    try:
        done = push_film(directory, store)
    except StorageError as exc:
        say_error(f"push: {exc}")
        raise typer.Exit(1)
    console.print(f"pushed {film.film.id} to {film_url(store)}: {len(done.sent)} uploaded, "
                  f"{len(done.unchanged)} unchanged", highlight=False)
    console.print(f"run it anywhere: slate run WORKDIR --from-bucket {film_url(store)}", highlight=False)
