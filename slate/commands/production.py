"""`slate report`: the film's production report, one static HTML page (tasks/production_report.py).

It must never print a key, call a provider, or write outside the report's folder.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from slate.commands.shared import load_or_exit, say, storage_or_exit  # noqa: F401


def report(directory: Path, out: Optional[Path] = typer.Option(None, "--out", help="the report's folder (default: "
                                                                                  "DIR/renders/report)")):
    """Write the production report: every shot's panels, keyframes, clips, verdicts, prompts,
    references, takes and costs; the bible with its versions; the coverage of references."""
    from slate.providers.registry import storage_for
    from slate.commands.shared import settings_or_exit
    from slate.tasks.production_report import build
    film = load_or_exit(directory)
    settings = settings_or_exit(directory)
    page = build(directory, film, settings, storage_for(directory), out)
    say(f"report: {page}")
