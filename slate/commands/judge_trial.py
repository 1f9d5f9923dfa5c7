"""`slate judge-trial`: a judge measured on panels with known answers before a film trusts it (issue 60).

    slate judge-trial DIR [--judge provider:model] [--n 20] [--cap 1.00]

Draws N clean panels and N faulty ones (the local painter's faults, spread over its kinds) from the
film's own shots, asks the judge about each as the panel gate would (through the governor: a paid
judge's verdicts are ledger rows under the cap, and a trial run again pays nothing for a verdict it
has), and prints per kind the share the judge failed, its "cannot judge" answers, and the seconds
and money per judgement. The figures are kept per judge (tasks/review/judge_trial.py); `slate check` shows
them, and a film's `[judge_trial]` floor refuses a run under them.

It must never send a verdict past the cap, or print a key.
"""
from __future__ import annotations

from typing import Optional

import typer

from slate.commands.shared import Directory, load_or_exit, say, say_error, shown, usd_or_exit

__all__ = ["judge_trial"]


def judge_trial(directory: Directory,
                judge: Optional[str] = typer.Option(None, "--judge", help="the judge to measure: provider or "
                                                                          "provider:model (default: the film's)"),
                n: int = typer.Option(20, "--n", min=1, max=1000, help="clean panels, and faulty ones, to judge"),
                cap: Optional[str] = typer.Option("1.00", "--cap", help="the most the trial may spend, in US dollars"),
                profile: str = typer.Option("draft", "--profile", help="the profile whose shots are drawn")):
    """Measure a judge: the share of faulty panels it fails and of clean ones it fails, per fault kind,
    with its "cannot judge" answers and what each judgement costs. Priced and capped before a call."""
    from slate.errors import SlateError
    from slate.manifests.settings import project_settings
    from slate.providers.registry import lineup
    from slate.tasks.review.judge_trial import TrialRefused, run_trial
    from slate.manifests.profiles import PROFILES
    load_or_exit(directory)
    if profile not in PROFILES:
        say_error(f"--profile: {shown(profile)} is not a profile (one of {', '.join(PROFILES)})")
        raise typer.Exit(2)
    limit = usd_or_exit(cap, "--cap")
    try:
        chosen = str(lineup(project_settings(directory).model_copy(update={"judge": judge} if judge else {})).judge)
        result = run_trial(directory, chosen, n, limit, profile=profile, say=say)
    except TrialRefused as exc:
        say_error(str(exc))
        raise typer.Exit(1) from None
    except (SlateError, ValueError) as exc:
        say_error(f"judge trial: {exc}")
        raise typer.Exit(1) from None
    for line in result.table():
        say(line)
