"""`slate approve`: a person's answer to a run waiting for approval, as the UI's form gives it.

It must never approve for a run that is not waiting (the run's own marker names it), and never
print a key.
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
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from slate.flows.approval import APPROVAL_FILE, local_user, resume_when_paused
    marker = directory / ".slate" / APPROVAL_FILE
    record = json.loads(marker.read_text()) if marker.is_file() else {}
    flow_run_id = run_id or record.get("flow_run_id")
    if not flow_run_id:
        err.print(f"no run of {directory} is waiting for approval ({marker} is not there); give --run ID")
        raise typer.Exit(1)
    if shots and reject:
        err.print("give --shots or --reject, not both")
        raise typer.Exit(2)
    allowed = usd_or_exit(allowance, "--allowance") if allowance is not None else None
    if allowed is not None and allowed < 0:
        err.print(f"--allowance: a retake allowance is $0 or more, not {allowance}")
        raise typer.Exit(2)
    answer = {"approve": "no shot" if reject else "only the shots ticked" if shots else "all shots",
              "shots": [s.strip() for s in (shots or "").split(",") if s.strip()], "notes": notes,
              "retake_allowance": f"{allowed:.2f}" if allowed is not None else "0", "approved_by": by or local_user()}
    unknown = [s for s in answer["shots"] if record.get("shots") and s not in record["shots"]]
    if unknown:
        err.print(f"unknown shot(s) {', '.join(unknown)}: the run waits for {', '.join(record['shots'])}")
        raise typer.Exit(2)
    with on_stack(directory):
        api = record.get("api_url") or PREFECT_API_URL.value()
        with temporary_settings({PREFECT_API_URL: api} if api else {}):
            resume_when_paused(flow_run_id, answer)
    what = "no shot" if reject else f"shots {', '.join(answer['shots'])}" if shots else "every shot"
    console.print(f"approved {what} of run {flow_run_id}" + (f" ({notes})" if notes else ""))
