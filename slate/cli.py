"""The `slate` command line: the app, assembled from the command modules under slate/commands/.

    project.py  init, check, estimate, doctor       run.py     run (and its routes)
    approve.py  approve                             ledger.py  log, reconcile, stop
    status.py   status, escalations                 stack.py   up, down, studio-setup, push
    dailies.py  dailies

Each command is a thin call into manifests, tasks, flows and governor; the run options they
take are declared once (manifests/options.py). This module only sets what must be set before
Prefect is imported, puts the commands on the app, and is the one place errors are caught: a
SlateError (slate/errors.py) that reaches the app is said as `error: <message>` on stderr and
the command exits 1, never with a traceback; any other exception is a bug and keeps its traceback.

It must never print a key, and never start a paid run before the preflight (tasks/run/preflight.py)
found nothing wrong.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperGroup

# The embedded Prefect server starts in a subprocess; on a loaded 2-core machine its default
# 20 s start-up allowance is not enough (seen: a timeout under a parallel test run).
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # no network here, and no need


from slate.providers.keys import install_log_redaction  # noqa: E402

install_log_redaction()  # a key read by a provider never reaches a log line

from slate.commands import approve, ledger, project, run, stack, status  # noqa: E402
from slate.commands import mcp  # noqa: E402
from slate.commands.shared import console, err, say_error  # noqa: E402,F401
from slate.errors import SlateError  # noqa: E402


class SlateGroup(TyperGroup):
    """The app's command group, around every command (the bible's too): a SlateError is said as
    one `error:` line (a ManifestError, one a problem) and the command exits 1. Caught where the
    group's main runs, so `slate` and an in-process CliRunner say it alike."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, windows_expand_args: bool = True, **extra: Any) -> Any:
        try:
            return super().main(args, prog_name, complete_var, standalone_mode, windows_expand_args, **extra)
        except SlateError as exc:
            say_error(exc)
            if standalone_mode:
                sys.exit(1)
            return 1   # as click hands back an exit's code when it is not standalone


app = typer.Typer(cls=SlateGroup, add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="slate: a durable, budget-governed pipeline from storyboard to footage.")

for command in (project.init, project.check, run.run, stack.push, project.estimate, ledger.log, project.doctor,
                approve.approve, ledger.stop, ledger.reconcile, status.status, stack.up, stack.down):
    app.command()(command)
app.command("studio-setup")(stack.studio_setup)
app.command()(status.escalations)
app.command()(mcp.mcp)   # slate mcp: an agent's session (slate/agent/)

from slate.commands import bible  # noqa: E402 — the bible workshop (issue 24)
app.add_typer(bible.app, name="bible")
from slate.commands import production  # noqa: E402 — the production report (issue 24)
app.command("report")(production.report)
from slate.commands import export  # noqa: E402 — issue 23: the editor's hand-off
app.command()(export.export)
from slate.commands import conform  # noqa: E402 — issue 39: an edited timeline read back
app.command()(conform.conform)
from slate.commands import dailies  # noqa: E402 — issue 40: a person's word on a take
app.command()(dailies.dailies)
from slate.commands import continuity  # noqa: E402 — issue 58: a continuity deviation the director keeps
app.command()(continuity.continuity)
from slate.commands import judge_trial  # noqa: E402 — issue 60: a judge measured before it is trusted
app.command("judge-trial")(judge_trial.judge_trial)


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
