"""`slate mcp DIR`: an MCP server for one film, for an AI agent working beside a person.

The person who starts it sets the levers: the session's name (`--session`: its cap is kept in the
ledger under that name, so every server started with it counts against one cap), the session's
cap (`--cap`, never above the film's run cap), a cap on what every agent spends on the film today
(`--daily-cap`), the highest profile the agent may run (`--max-profile`, draft by default) and,
for a rehearsal with the local provider at real prices, `--price-as`. Over stdio by default (an MCP
client starts it as a subprocess); `--http PORT` serves streamable HTTP on 127.0.0.1 only.

It must never print anything on stdout but the MCP protocol (stdio is the channel), never start
with a cap above the film's run cap, and never print a key.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from slate.commands.options import run_options
from slate.commands.shared import Directory, err, say_error
from slate.manifests.options import RunOptions


@run_options("run_cap_usd", "price_as", help={
    "run_cap_usd": "this agent session's cap in USD, over every run it starts (default and most: the film's "
                   "run cap)",
    "price_as": "rehearse: price the session's runs as this video model (provider:model) while the local "
                "provider renders"})
def mcp(directory: Directory, options: RunOptions,
        max_profile: str = typer.Option("draft", "--max-profile",
                                        help="the highest profile the agent may run: draft, final or hero"),
        http: Optional[int] = typer.Option(None, "--http", min=1, max=65535,
                                           help="serve streamable HTTP on 127.0.0.1:PORT instead of stdio"),
        session_name: Optional[str] = typer.Option(
            None, "--session", metavar="NAME",
            help="the session's name: its cap counts the spending of every slate mcp started with this name on "
                 "this film (a restart continues the count); without it, the cap counts this process only"),
        daily_cap: Optional[str] = typer.Option(
            None, "--daily-cap", metavar="USD",
            help="the most every agent together may spend on this film today (UTC), counted from the ledger")):
    """Serve this film to an AI agent over MCP: scene context, check, estimate, run, status,
    stop, escalations, report — within a session cap, and with no tool to approve, promote,
    raise a cap, clear a STOP or reconcile."""
    from slate.governor.money import fmt_usd
    from slate.manifests import ManifestError
    from slate.agent.server import build
    from slate.agent.session import Refused, Session
    from slate.commands.shared import problems_or_exit
    told = options.told()
    try:
        session = Session(directory, cap=told.get("run_cap_usd"), max_profile=max_profile,
                          price_as=told.get("price_as"), name=session_name, daily_cap=daily_cap)
    except ManifestError as exc:
        problems_or_exit(exc.problems, directory)
        return
    except Refused as exc:
        say_error(exc)
        raise typer.Exit(2)
    _priced_or_exit(session)
    spent, left, _ = session.money()
    err.print(f"slate mcp: film {session.film.film.id}, session {session.caller}, cap {fmt_usd(session.cap)} "
              + (f"(every slate mcp --session {session.id}: {fmt_usd(spent)} spent, {fmt_usd(left)} left)"
                 if session.named else "(this process only: no --session)")
              + (f", agents' daily cap {fmt_usd(session.daily_cap)}" if session.daily_cap is not None else "")
              + f", profiles {', '.join(session.allowed_profiles())}"
              + (f", priced as {session.price_as}" if session.price_as else "")
              + (f", http://127.0.0.1:{http}/mcp" if http else ", stdio"), markup=False, highlight=False)
    server = build(session)
    try:
        if http:
            server.run("streamable-http", host="127.0.0.1", port=http)
        else:
            server.run("stdio")
    finally:
        session.close()   # the runs it started stop spending when it ends (their lifeline too)


def _priced_or_exit(session) -> None:
    """A --price-as (or a lineup) the rate card cannot price is said now, not at the first run."""
    from slate.governor.estimate import lineup_pricing
    from slate.governor.ratecard import RateError
    from slate.manifests import ManifestError
    from slate.providers.registry import UnknownProvider, lineup
    from slate.settings import project_settings
    try:
        settings = project_settings(session.root, price_as=session.price_as)
        lineup_pricing(session.root, lineup(settings), settings.price_as)
    except (UnknownProvider, RateError, ManifestError, ValueError) as exc:
        say_error(f"--price-as: {exc}")
        raise typer.Exit(2)
