"""The ledger's commands: `log` (every paid call), `reconcile` (calls whose outcome is unknown)
and `stop` (the kill switch, in the STOP file and in the ledger).

It must never resolve a call a person did not name, never mark a call that has a job lost, and
never print a key.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from slate.commands.shared import Directory, console, err, load_or_exit, project_or_exit, say_error, shown
from slate.providers.storage_local import LocalStorage


def log(directory: Directory,
        jsonl: bool = typer.Option(False, "--jsonl", help="one JSON object a line (a generations log)"),
        run_id: Optional[str] = typer.Option(None, "--run", help="only this run's calls")):
    """The ledger: every paid call attempt, with its cost and outcome."""
    from dataclasses import asdict

    from slate.governor.ledger import Ledger
    from slate.governor.money import fmt_usd
    film = load_or_exit(directory)
    ledger = Ledger.for_project(directory.resolve())
    rows = ledger.rows(film=film.film.id, run_id=run_id)
    # A person's approvals: their own table (schema v6), shown beside the calls, never counted as one.
    approved = ledger.approvals(film=film.film.id, run_id=run_id)
    if jsonl:
        for row in rows:
            print(json.dumps(asdict(row), default=str, sort_keys=True))
        for a in approved:
            print(json.dumps({"approval": asdict(a)}, default=str, sort_keys=True))
        return
    table = Table(title=f"ledger of {film.film.id}: {len(rows)} call(s)")
    for col in ("when", "run", "shot", "stage", "take", "provider:model", "status", "estimate", "actual", "job"):
        table.add_column(col)
    for r in rows:
        table.add_row(r.created_at.strftime("%m-%d %H:%M:%S"), r.run_id[:8], r.shot, r.stage, str(r.take),
                      f"{r.provider}:{r.model}", r.status, fmt_usd(r.estimate),
                      "" if r.actual_cost is None else fmt_usd(r.actual_cost), (r.job_id or "")[:14])
    console.print(table)
    for a in approved:
        console.print(f"approved {a.created_at.strftime('%m-%d %H:%M:%S')} {a.run_id[:8]} {a.shot} {a.stage} "
                      f"by {a.by}: {a.message}", markup=False)
    totals = ledger.totals(film=film.film.id)
    console.print(f"committed {fmt_usd(totals.committed)}, reserved {fmt_usd(totals.reserved)}")


def stop(directory: Directory, clear: bool = typer.Option(False, "--clear", help="remove the STOP file"),
         hard: bool = typer.Option(False, "--hard", help="also cancel jobs already submitted, at the provider")):
    """The kill switch: nothing new is submitted while the project's STOP file exists, or while
    the ledger holds a stop for the film (every worker sharing SLATE_LEDGER_URL reads it)."""
    from slate.governor.killswitch import clear_stop, request_stop
    project_or_exit(directory)   # a STOP file outside any project would stop nothing
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
    from slate.governor.killswitch import EVERY_FILM, clear_shared_stop, request_shared_stop
    from slate.governor.ledger import Ledger, LedgerUnavailable
    from slate.providers.storage import film_id
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
    from slate.providers.registry import UnknownProvider, provider
    try:
        return provider(name).lost_job_hint or "the job the provider made for it"
    except UnknownProvider:
        return "the job the provider made for it"


def _makes_jobs(row, storage: LocalStorage) -> bool:
    """Whether this call's stage, at its provider, is a job one can attach (a clip; a panel of a
    provider whose panels are jobs — Replicate, fal), rather than one request and its answer.
    `storage`: the film's, which the provider is built with (it is only asked what it offers)."""
    if row.stage == "video":
        return True
    if row.stage != "panel" or row.provider == "local":
        return False
    from slate.providers.registry import build
    from slate.providers.spec import IMAGE
    try:
        return hasattr(build(IMAGE, f"{row.provider}:{row.model}", storage), "submit_panel")
    except Exception:  # noqa: BLE001 — an unknown provider or model: nothing to attach to
        return False


def _a_job_id(job: str) -> bool:
    """A job id as providers write them: a Replicate prediction id, a fal request id (a UUID), a
    Gemini operation's name (models/…/operations/…)."""
    import re
    return (0 < len(job) <= 512 and re.fullmatch(r"[A-Za-z0-9._:/-]+", job) is not None
            and ".." not in job.split("/") and not job.startswith("/"))


def reconcile(directory: Directory, call: Optional[str] = typer.Option(None, help="the call id to resolve"),
              job: Optional[str] = typer.Option(None, help="attach this provider job id (the job exists): "
                                                           "a clip's, or a Replicate or fal panel's"),
              failed: bool = typer.Option(False, "--failed", help="mark the call failed (it never ran): $0"),
              lost: bool = typer.Option(False, "--lost", help="it ran and its answer is lost: counted as spent "
                                                              "(its estimate); the next run asks again")):
    """Resolve paid calls whose outcome is unknown: attach the provider's job (the next run
    polls, downloads and gates it like a fresh take), or mark them failed or lost. Without
    --call, lists every open call — what a person must resolve, apart from what the next run
    settles by itself and what a live run is making now."""
    from slate.governor.chokepoint import ANSWER_LOST
    from slate.governor.leases import describe_owner, open_calls
    from slate.governor.ledger import Ledger, LedgerStateError, UnknownCall
    from slate.governor.money import fmt_usd
    film = load_or_exit(directory)
    ledger = Ledger.for_project(directory.resolve())
    storage = LocalStorage(directory)
    if call is None:
        found = open_calls(ledger, film.film.id)
        person = found.by_hand
        for r in found.in_flight:
            console.print(f"{r.call_id}  {r.status}  shot {r.shot} {r.stage} take {r.take}  {r.provider}:{r.model}  "
                          f"job {r.job_id or '(being sent)'}: in flight, made now by {describe_owner(r.owner)}",
                          highlight=False, markup=False)
        for r in found.by_itself:
            if r.status == "reserved":
                console.print(f"{r.call_id}  reserved  shot {r.shot} {r.stage} take {r.take}  {r.provider}:{r.model}: "
                              f"never sent, its run gone; the next run frees it ($0)", highlight=False, markup=False)
                continue
            console.print(f"{r.call_id}  {r.status}  shot {r.shot} {r.stage} take {r.take}  {r.provider}:{r.model}  "
                          f"job {r.job_id}: the next run re-attaches to it by itself "
                          f"({r.error_message or 'no run is following it now'}; --failed if the provider "
                          f"has no such job)", highlight=False, markup=False)
        if not person:
            console.print("nothing to reconcile" + (" by hand" if found.any else ""))
            return
        for r in person:
            console.print(f"{r.call_id}  {r.status}  shot {r.shot} {r.stage} take {r.take}  {r.provider}:{r.model}  "
                          f"{fmt_usd(r.estimate)}  sent {r.submitted_at or r.created_at:%Y-%m-%d %H:%M:%S} UTC  "
                          f"{r.error_message or ''}", highlight=False, markup=False)
            if _makes_jobs(r, storage):
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
    if job and not _a_job_id(job.strip()):
        # The next run asks the provider for it by this id, in its URL: never a path or a pattern.
        say_error(f"--job: {shown(job)} is not a provider's job id (letters, digits and - _ . : / as the provider "
                  "shows it; no spaces, no .. and no * ? [ ])")
        raise typer.Exit(2)
    try:
        row = ledger.find(call)
    except UnknownCall as exc:
        say_error(exc)
        raise typer.Exit(2)
    what = f"shot {row.shot} {row.stage} take {row.take} ({row.provider}:{row.model})"
    try:
        if job:
            if not _makes_jobs(row, storage):
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
        say_error(f"{call}: {exc}")
        raise typer.Exit(1)
