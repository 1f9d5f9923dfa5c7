"""`slate approve`: a person's answer to a run waiting for approval, as the UI's form gives it.

The run waiting names itself in `.slate/approval.json` (flows/review/approval.py), with the Prefect API
that holds it. A marker a dead run left behind — its API no longer answers, or the run has ended
there, or the file does not read — is said in one line and removed: nobody waits for that answer.

It must never approve for a run that is not waiting (the run's own marker names it), never remove
the marker of a run that lives, and never print a key.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from slate.commands.shared import Directory, console, err, on_stack, say_error, shown, usd_or_exit


def approve(directory: Directory,
            run_id: Optional[str] = typer.Option(None, "--run", help="the waiting run's id (default: the one waiting "
                                                                       "in this project)"),
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
    import httpx
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from slate.flows.review.approval import APPROVAL_FILE, NoRunWaiting, local_user, resume_when_paused, still_waiting
    if run_id is not None and not _a_run_id(run_id):
        say_error(f"--run: {shown(run_id)} is not a run's id (the UUID the waiting line and the Prefect UI show)")
        raise typer.Exit(2)
    marker = directory / ".slate" / APPROVAL_FILE
    record = _marker(marker)
    flow_run_id = run_id or record.get("flow_run_id")
    if not flow_run_id:
        say_error(f"no run of {directory} is waiting for approval ({marker} is not there); give --run ID")
        raise typer.Exit(1)
    if shots and reject:
        say_error("give --shots or --reject, not both")
        raise typer.Exit(2)
    allowed = usd_or_exit(allowance, "--allowance") if allowance is not None else None
    if allowed is not None and allowed < 0:
        say_error(f"--allowance: a retake allowance is $0 or more, not {shown(allowance)}")
        raise typer.Exit(2)
    answer = {"approve": "no shot" if reject else "only the shots ticked" if shots else "all shots",
              "shots": [s.strip() for s in (shots or "").split(",") if s.strip()], "notes": notes,
              "retake_allowance": f"{allowed:.2f}" if allowed is not None else "0", "approved_by": by or local_user()}
    unknown = [s for s in answer["shots"] if record.get("shots") and s not in record["shots"]]
    if unknown:
        say_error(f"--shots: unknown shot(s) {', '.join(map(shown, unknown))}: the run waits for "
                  f"{', '.join(record['shots'])}")
        raise typer.Exit(2)
    with on_stack(directory):
        api = record.get("api_url") or PREFECT_API_URL.value()
        with temporary_settings({PREFECT_API_URL: api} if api else {}):
            try:
                if api:   # else Prefect's own default server is asked, as before
                    _answering(api, flow_run_id)
                    still_waiting(flow_run_id)
                resume_when_paused(flow_run_id, answer)
            except NoRunWaiting as gone:
                # The marker of a run that will never read the answer (read again: a new run may
                # have written its own since).
                stale = _marker(marker).get("flow_run_id") == flow_run_id
                if stale:
                    marker.unlink(missing_ok=True)
                say_error(f"no run of {directory} is waiting for approval: {gone}"
                          + (f"; {marker} was left by it, and is removed" if stale else ""))
                raise typer.Exit(1)
            except httpx.HTTPError as exc:   # the server is there but did not take the answer
                say_error(f"the Prefect server at {api or 'the default address'} did not take the answer for run "
                          f"{flow_run_id}: {type(exc).__name__}: {exc}")
                raise typer.Exit(1)
    what = "no shot" if reject else f"shots {', '.join(answer['shots'])}" if shots else "every shot"
    console.print(f"approved {what} of run {flow_run_id}" + (f" ({notes})" if notes else ""))


def _a_run_id(value: str) -> bool:
    from uuid import UUID
    try:
        UUID(value)
    except ValueError:
        return False
    return True


def _marker(marker: Path) -> dict:
    """What `.slate/approval.json` says; a file that does not read as a waiting run's marker (cut
    short by a killed run, edited) is said, removed, and is no run waiting."""
    if not marker.is_file():
        return {}
    try:
        record = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = None
    if isinstance(record, dict) and _a_run_id(str(record.get("flow_run_id", ""))):
        return record
    marker.unlink(missing_ok=True)
    err.print(f"warning: {marker} does not name a waiting run (a killed run's, cut short?): removed",
              markup=False, highlight=False)
    return {}


def _answering(api: str, flow_run_id: str) -> None:
    """NoRunWaiting when nothing listens where the run's Prefect API was: the run's own embedded
    server ends with it, so nobody is left to read an answer (a ConnectError traceback, before).
    A server slow to answer is not taken for a dead one: its run may live."""
    import httpx

    from slate.flows.review.approval import NoRunWaiting
    try:
        httpx.get(f"{api}/health", timeout=10.0)
    except httpx.ConnectError:
        raise NoRunWaiting(f"run {flow_run_id} was on the Prefect server at {api}, where nothing answers now "
                           "(the run has ended or was killed)") from None
    except httpx.HTTPError:
        pass   # slow or odd, but there: the answer is tried, and what it meets is said
