"""Approval before finals: a person says which shots may be animated at final or hero resolution.

In the final and hero profiles, once every panel of a scene has passed its gate and before any
final video is submitted, the scene run waits for a person with a form (a Prefect RunInput)
that lists each shot with its panel, its gate scores and what its clip will cost, the total and
what the caps still allow. The person approves every shot, some shots, or none, with notes.

  * A scene run of a deployment is *suspended*: its process exits and no worker is held while
    nobody answers; when the form is submitted the run starts again from the top, everything
    before the approval coming from the cache and the ledger.
  * Run from a terminal, or as a scene of a film run (Prefect cannot suspend a sub-flow), it is
    *paused*: the process waits. `.slate/approval.json` says where to resume it, so
    `slate approve DIR` from another terminal can answer.

The decision — who, when, which shots, the notes — is a $0 row of the ledger. Past the film's
`approval_timeout_hours` (24 by default) a waiting run ends "Approval expired" with nothing spent
on finals (a paused run by itself; a suspended one by `expire_approvals`, which `slate up` runs
every few minutes, or by the server's own expiry one hour later).

It must never let a final video be submitted for a shot nobody approved.
"""
from __future__ import annotations

import base64
import getpass
import io
import json
import os
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Literal

from PIL import Image
from prefect import get_run_logger
from prefect.exceptions import FlowPauseTimeout
from prefect.flow_runs import pause_flow_run, suspend_flow_run
from prefect.input import RunInput
from prefect.runtime import flow_run
from pydantic import BaseModel, Field, create_model

APPROVE_CHOICES = ("all shots", "only the shots ticked", "no shot")
APPROVAL_FILE = "approval.json"
EXPIRED = "Approval expired"


class ShotToApprove(BaseModel):
    shot: str
    panel_uri: str
    scores: str           # the gate's scores, short
    video_cost: str       # what its final clip is estimated to cost (fmt_usd)


class Decision(BaseModel):
    """What the person decided: the shots approved, those rejected, who, when, why."""

    approved: list[str]
    rejected: list[str]
    by: str
    at: str
    notes: str = ""

    def summary(self) -> str:
        return (f"approved {', '.join(self.approved) or 'no shot'}"
                + (f"; rejected {', '.join(self.rejected)}" if self.rejected else "")
                + f" — by {self.by or 'someone'} at {self.at}" + (f"; notes: {self.notes}" if self.notes else ""))


class ApprovalExpired(Exception):
    """Nobody answered the approval form in time: nothing was spent on finals."""


def form_for(shots: list[str]) -> type[RunInput]:
    """The form's class: its shot list is this scene's shots, so the UI offers them as boxes."""
    ids = tuple(shots) or ("none",)
    return create_model(
        "FinalsApproval", __base__=RunInput,
        approve=(Literal[APPROVE_CHOICES], Field("all shots", title="Approve",
                                                 description="which shots may be rendered at final resolution")),
        shots=(list[Literal[ids]], Field(default_factory=list, title="Shots",
                                         description="the shots to approve, with 'only the shots ticked'")),
        notes=(str, Field("", title="Notes", description="why — kept in the ledger with the decision")),
        approved_by=(str, Field("", title="Your name", description="who decided — kept in the ledger")),
    )


def thumbnail_data_url(path: Path, width: int = 240) -> str:
    """A small JPEG of a panel as a data URL, so the form shows it without any server."""
    with Image.open(path) as img:
        img = img.convert("RGB")
        img.thumbnail((width, width))
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


def description(scene: str, profile: str, shots: list[ShotToApprove], local_file, total: str, left: str,
                contact_sheet: str) -> str:
    rows = "\n".join(f"| {s.shot} | ![{s.shot}]({thumbnail_data_url(local_file(s.panel_uri))}) | {s.scores} | "
                     f"{s.video_cost} |" for s in shots)
    return (f"### Approve the {profile} video of scene {scene}\n\n"
            f"Every panel passed its gate. Nothing is rendered at {profile} resolution until you answer.\n\n"
            f"| shot | panel | gate scores | clip estimate |\n|---|---|---|---|\n{rows}\n\n"
            f"**Total estimate: {total}** — the caps still allow **{left}**.  \n"
            f"Contact sheet: `{contact_sheet}`")


def decide(answer, shots: list[str]) -> Decision:
    data = answer.model_dump() if hasattr(answer, "model_dump") else dict(answer)
    choice = data.get("approve", "all shots")
    ticked = [s for s in data.get("shots", []) if s in shots]
    approved = shots if choice == "all shots" else ticked if choice == "only the shots ticked" else []
    return Decision(approved=list(approved), rejected=[s for s in shots if s not in approved],
                    by=str(data.get("approved_by") or ""), notes=str(data.get("notes") or ""),
                    at=datetime.now(timezone.utc).isoformat(timespec="seconds"))


def can_suspend() -> bool:
    """A top-level run of a deployment may be suspended; anything else is paused (Prefect
    refuses to suspend a sub-flow, or a run without a deployment)."""
    from prefect.context import FlowRunContext
    ctx = FlowRunContext.get()
    run = ctx.flow_run if ctx else None
    return bool(run and run.deployment_id and not run.parent_task_run_id)


def wait_for_person(root: Path, scene: str, profile: str, form: type[RunInput], text: str, initial_shots: list[str],
                    timeout_hours: float):
    """Suspend or pause this run until the form is answered; the answer, or ApprovalExpired."""
    log = get_run_logger()
    seconds = int(timeout_hours * 3600)
    ready = form.with_initial_data(description=text, approve="all shots", shots=list(initial_shots))
    marker = Path(root) / ".slate" / APPROVAL_FILE
    deadline = datetime.now(timezone.utc) + timedelta(seconds=seconds)
    marker.parent.mkdir(parents=True, exist_ok=True)
    from prefect.settings import PREFECT_API_URL
    record = {"flow_run_id": str(flow_run.get_id()), "scene": scene, "profile": profile,
              "api_url": PREFECT_API_URL.value(), "deadline": deadline.isoformat(timespec="seconds"),
              "shots": list(initial_shots)}
    marker.write_text(json.dumps(record, indent=2))
    try:
        if can_suspend():
            log.info("scene %s: waiting for approval of its %s video (suspended: no worker is held)", scene, profile)
            # The server fails the run an hour after our deadline, should nothing else expire it.
            return suspend_flow_run(wait_for_input=ready, timeout=seconds + 3600, key=f"approve-{scene}-{profile}")
        log.info("scene %s: waiting for approval of its %s video: answer the form in the UI, or run "
                 "`slate approve %s`", scene, profile, root)
        try:
            return pause_flow_run(wait_for_input=ready, timeout=seconds, poll_interval=2,
                                  key=f"approve-{scene}-{profile}")
        except FlowPauseTimeout:
            # The run is still Paused, and the server turns any end proposed from an expired
            # pause into a generic failure: take it back to Running to end it under our name.
            from prefect.client.orchestration import get_client
            from prefect.states import Running
            with get_client(sync_client=True) as client:
                client.set_flow_run_state(flow_run.get_id(), Running(), force=True)
            raise ApprovalExpired(f"nobody approved the {profile} video of scene {scene} within "
                                  f"{timeout_hours:g} h: nothing was rendered at {profile} resolution") from None
    finally:
        # Gone once answered or expired (a suspended run comes back here on resume).
        if marker.is_file() and json.loads(marker.read_text()).get("flow_run_id") == record["flow_run_id"]:
            marker.unlink(missing_ok=True)


def expired_since(record: dict) -> bool:
    return datetime.fromisoformat(record["deadline"]) < datetime.now(timezone.utc)


def expire_approvals(client, now: datetime | None = None) -> list[str]:
    """Suspended scene runs past their approval deadline end "Approval expired" (slate up runs
    this every few minutes). Returns the ids it ended."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateName
    from prefect.states import Failed
    now = now or datetime.now(timezone.utc)
    ended = []
    waiting = client.read_flow_runs(flow_run_filter=FlowRunFilter(
        state=FlowRunFilterState(name=FlowRunFilterStateName(any_=["Suspended", "Paused"]))))
    for run in waiting:
        timeout = run.state.state_details.pause_timeout if run.state else None
        # our deadline is the server's minus the hour of slack we gave it
        if timeout is not None and timeout - timedelta(hours=1) < now and run.state.state_details.pause_key \
                and str(run.state.state_details.pause_key).startswith("approve-"):
            client.set_flow_run_state(run.id, Failed(name=EXPIRED, message="nobody approved the final video in "
                                                                         "time: nothing was rendered at final "
                                                                         "resolution"), force=True)
            ended.append(str(run.id))
    return ended


def local_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001
        return os.environ.get("USER", "")


def wait_seconds_until(deadline: str) -> float:
    return max(0.0, datetime.fromisoformat(deadline).timestamp() - time.time())
