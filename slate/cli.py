"""The `slate` command line: the app, assembled from the command modules under slate/commands/.

    project.py  init, check, estimate, doctor       run.py     run (and its routes)
    approve.py  approve                             ledger.py  log, reconcile, stop
    status.py   status, escalations                 stack.py   up, down, studio-setup, push

Each command is a thin call into manifests, tasks, flows and governor; the run options they
take are declared once (manifests/options.py). This module only sets what must be set before
Prefect is imported and puts the commands on the app.

It must never print a key, and never start a paid run before the preflight (tasks/preflight.py)
found nothing wrong.
"""
from __future__ import annotations

import os

import typer

# The embedded Prefect server starts in a subprocess; on a loaded 2-core machine its default
# 20 s start-up allowance is not enough (seen: a timeout under a parallel test run).
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # no network here, and no need


from slate.providers.keys import install_log_redaction  # noqa: E402

install_log_redaction()  # a key read by a provider never reaches a log line

from slate.commands import approve, ledger, project, run, stack, status  # noqa: E402
from slate.commands import mcp  # noqa: E402
from slate.commands.shared import console, err  # noqa: E402,F401

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
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


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
