"""`slate report`: the film's production report, one static HTML page (tasks/review/production_report.py).

Its dailies section (every shot's takes side by side, with their verdicts, the person's word and the
agents' proposals) is read here from the rushes and handed to the page.

It must never print a key, call a provider, or write outside the report's folder.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from slate.commands.shared import Directory, a_path, load_or_exit, say, say_error, storage_or_exit  # noqa: F401


def report(directory: Directory,
           out: Optional[Path] = typer.Option(None, "--out", parser=a_path,
                                              help="the report's folder (default: DIR/renders/report)")):
    """Write the production report: every shot's panels, keyframes, clips, verdicts, prompts,
    references, takes and costs; the bible with its versions; the coverage of references."""
    from slate.providers.registry import storage_for
    from slate.commands.shared import settings_or_exit
    from slate.flows.review.rushes import dailies_by_profile
    from slate.tasks.review.production_report import build
    film = load_or_exit(directory)
    settings = settings_or_exit(directory)
    if out is not None:
        try:   # the folder it names is made now: a file there, or no right to, is said as --out's
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            say_error(f"--out: {out}: {'a file, not a folder' if out.is_file() else exc.strerror or exc}")
            raise typer.Exit(2)
    page = build(directory, film, settings, storage_for(directory), out, dailies=dailies_by_profile(directory, film))
    say(f"report: {page}")
