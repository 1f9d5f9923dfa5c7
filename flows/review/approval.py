"""Approval before finals: a person says which shots may be animated at final or hero resolution.

In the final and hero profiles, once every panel of a scene has passed its gate and before any
final video is submitted, the scene run waits for a person with a form (a Prefect RunInput)
that lists each shot with its panel, its gate scores by name with the judge's reasons and what
its clip will cost, the total and the caps — a list, not a wide table, so it reads inside the
UI's narrow dialog. The shots are shown in the description of the form's *Shots* field, beside the
control that picks them: the UI's dialog shrinks the form's own text into a box of its own that
scrolls (some 340 px, or none at all when the form is long), so only the amount and the caps are
said there. The person approves every shot, some shots, or none, with notes, and may
give a retake allowance.

What is approved is an amount: the approved clips' estimate plus the allowance. A retake that
would take the scene's final video past it (governor/allowance.py) waits for a person again,
with the same form: what was spent, why the clip failed, what the retake costs. Approving a
shot there adds its retake to the amount; a declined retake escalates the shot.

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
import re
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args
from uuid import UUID

from PIL import Image
from prefect import get_run_logger
from prefect.exceptions import FlowPauseTimeout
from prefect.flow_runs import pause_flow_run, suspend_flow_run
from prefect.input import RunInput
from prefect.runtime import flow_run
from pydantic import BaseModel, Field, create_model

from slate.errors import SlateError

if TYPE_CHECKING:
    from prefect.client.orchestration import SyncPrefectClient

ApproveChoice = Literal["all shots", "only the shots ticked", "no shot"]
APPROVE_CHOICES: tuple[str, ...] = get_args(ApproveChoice)
APPROVAL_FILE = "approval.json"
EXPIRED = "Approval expired"


class ShotToApprove(BaseModel):
    shot: str
    panel_uri: str
    scores: list[str] = []  # each gate score by name against its threshold, with the judge's reason
    video_cost: str         # what its final clip (or, asked again, its retake) is estimated to cost (fmt_usd)
    detail: str = ""        # e.g. "2.5 s at 720p", or why a retake is asked for
    lines: list[str] = []   # its lines of dialogue, each with who says it and its estimate (spoken after the clip)
    upscale: str = ""       # how its clip is upscaled once approved, and what that costs (part of the amount)


class Decision(BaseModel):
    """What the person decided: the shots approved, those rejected, the retake allowance (USD),
    who, when, why; `approved_usd` is the amount approved in all once the scene adds it up."""

    approved: list[str]
    rejected: list[str]
    by: str
    at: str
    notes: str = ""
    allowance: str = "0"
    approved_usd: str = ""

    def summary(self) -> str:
        from slate.governor.money import fmt_usd
        return (f"approved {', '.join(self.approved) or 'no shot'}"
                + (f"; rejected {', '.join(self.rejected)}" if self.rejected else "")
                + f" — by {self.by or 'someone'} at {self.at}" + (f"; notes: {self.notes}" if self.notes else "")
                + (f"; {fmt_usd(Decimal(self.approved_usd))} approved in all" if self.approved_usd else "")
                + (f" (retake allowance {fmt_usd(Decimal(self.allowance))})" if Decimal(self.allowance) else ""))


class ApprovalExpired(SlateError):
    """Nobody answered the approval form in time: nothing was spent on finals."""


class NoRunWaiting(SlateError):
    """No live run waits for the answer: the run named is not on the Prefect server asked, or it
    has ended (`slate approve` after the run it meant to answer died)."""


def form_for(shots: list[str], sections: str = "", summary: str = "") -> type[RunInput]:
    """The form's class: its shot list is this scene's shots, so the UI offers them as boxes,
    each ticked; `sections` (`shot_sections`), each shot's panel, scores and cost, go in that
    field's description, right above it; `summary` (the form's own text: the amount and the caps)
    is said again under Approve, since the UI's dialog shrinks the form's own text to nothing under
    a long form."""
    ids = tuple(shots) or ("none",)
    picks = "the shots to approve, with 'only the shots ticked'"
    return create_model(
        "FinalsApproval", __base__=RunInput,
        approve=(ApproveChoice, Field("all shots", title="Approve",
                                      description="which shots may be rendered at final resolution"
                                      + (f"\n\n{field_markdown(_unheaded(summary))}" if summary else ""))),
        # The scene's shots are known only now: a Literal made at run time, which pydantic takes and
        # the type checker cannot read.
        shots=(list[Literal[ids]],  # type: ignore[valid-type]
               Field(list(shots), title="Shots",
                     description=f"{picks}\n\n{sections}" if sections else picks)),
        retake_allowance=(str, Field("0", title="Retake allowance (USD)", pattern=r"^\d{1,6}(\.\d{1,2})?$",
                                     description="what retakes of clips that fail their keyframe gate may spend "
                                                 "beyond the clips approved, without asking you again, e.g. 1.50 "
                                                 "(0: ask before any retake)")),
        notes=(str, Field("", title="Notes", description="why — kept in the ledger with the decision")),
        approved_by=(str, Field("", title="Your name", description="who decided — kept in the ledger")),
    )


def thumbnail_data_url(path: Path, width: int = 240) -> str:
    """A small JPEG of a panel as a data URL, so the form shows it without any server."""
    with Image.open(path) as opened:
        img = opened.convert("RGB")
        img.thumbnail((width, width))
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


#: Where a panel is read from: the film's storage's `open_local` (a content URI -> a file here).
LocalFile = Callable[[str], Path]


def _shot_section(s: ShotToApprove, local_file: LocalFile) -> str:
    """One shot: a heading with its cost, its panel, its scores a line each (nothing wide)."""
    scores = "\n".join(f"- {line}" for line in s.scores) or "- (no score recorded)"
    said = ("\n\nLines (spoken once its clip passes, under the caps; not part of the amount):\n"
            + "\n".join(f"- {line}" for line in s.lines)) if s.lines else ""
    upscaled = f"\n\nUpscale (part of the amount): {s.upscale}" if s.upscale else ""
    return (f"#### {s.shot} — {s.video_cost}" + (f" ({s.detail})" if s.detail else "") + "\n\n"
            f"![{s.shot}]({thumbnail_data_url(local_file(s.panel_uri))})\n\n{scores}{upscaled}{said}")


def shot_sections(shots: list[ShotToApprove], local_file: LocalFile) -> str:
    """Each shot as the form shows it beside its Shots field: heading and cost, panel, scores."""
    return field_markdown("\n\n".join(_shot_section(s, local_file) for s in shots))


def _unheaded(text: str) -> str:
    """The form's text without its heading (the dialog shows that above the fields already)."""
    return "\n".join(line for line in text.splitlines() if not line.startswith("#")).strip()


def field_markdown(text: str) -> str:
    """Markdown for a field's description in the Prefect UI, which joins a description's single
    line breaks into one line (a list written a line an item read as one run-on paragraph): each
    line its own paragraph."""
    return re.sub(r"(?<!\n)\n(?!\n)", "\n\n", text)


def description(scene: str, profile: str, shots: list[ShotToApprove], total: str, caps: str,
                left: str, contact_sheet_key: str, music: str = "") -> str:
    """The approval form's own text: the total and the caps (each shot is in `shot_sections`);
    `music`: the scene's cues made to a brief, with their cost, when it has any (in the total)."""
    cues = f" and its music ({music})" if music else ""
    return (f"### Approve the {profile} video of scene {scene}\n\n"
            f"Every panel passed its gate. Nothing is rendered at {profile} resolution until you answer.\n\n"
            f"**Total estimate: {total}** for {len(shots)} clip(s){cues}. Caps: {caps}; they still allow "
            f"**{left}**.\n\n"
            f"What you approve is an amount: the clips you approve, plus the retake allowance below. A retake "
            f"that would go past it waits for you again.\n\n"
            f"Each shot's panel, scores and cost are with the **Shots** field below; all of them are also on the "
            f"contact sheet: this run's **Artifacts** tab, `{contact_sheet_key}`.")


def retake_description(scene: str, profile: str, shots: list[ShotToApprove], approved: str,
                       taken: str, caps: str, left: str, contact_sheet_key: str) -> str:
    """The same form, asked again: retakes that would pass the amount approved (each clip is in
    `shot_sections`)."""
    return (f"### Approve the {profile} video of scene {scene}: retakes past the amount approved\n\n"
            f"You approved **{approved}** for this scene's {profile} video; **{taken}** of it is taken (the clips "
            f"made and under way). The clips below failed their keyframe gate, and another take would go past "
            f"it. Approving a shot adds its retake to the amount; a shot not approved is escalated, the rest of "
            f"the scene goes on. Caps: {caps}; they still allow **{left}**.\n\n"
            f"Each clip's last frame, scores and retake cost are with the **Shots** field below; the contact sheet "
            f"(this run's **Artifacts** tab, `{contact_sheet_key}`) shows each take.")


def decide(answer: BaseModel | Mapping[str, Any], shots: list[str]) -> Decision:
    data = answer.model_dump() if isinstance(answer, BaseModel) else dict(answer)
    choice = data.get("approve", "all shots")
    ticked = [s for s in data.get("shots", []) if s in shots]
    approved = shots if choice == "all shots" else ticked if choice == "only the shots ticked" else []
    try:
        allowance = max(Decimal(0), Decimal(str(data.get("retake_allowance") or "0")))
    except (InvalidOperation, ValueError):
        allowance = Decimal(0)  # the form's pattern refuses it first; `slate approve` checks its flag
    return Decision(approved=list(approved), rejected=[s for s in shots if s not in approved],
                    by=str(data.get("approved_by") or ""), notes=str(data.get("notes") or ""),
                    allowance=str(allowance), at=datetime.now(timezone.utc).isoformat(timespec="seconds"))


def wait_for_a_person(ready: Any, seconds: int, key: str, suspending: bool) -> Any | None:
    """Wait for a person's answer to a form (`ready`: a RunInput with its initial data) — the
    finals approval's and the dailies' one wait: suspended when the run can be (a deployment's
    top-level run: no worker held; the server fails it an hour after our deadline, should nothing
    else expire it), paused in this process otherwise. None when a paused wait expired: the run is
    taken back to Running first, for the server turns any end proposed from an expired pause into
    a generic failure, and the caller ends it under its own name."""
    if suspending:
        return suspend_flow_run(wait_for_input=ready, timeout=seconds + 3600, key=key)
    try:
        return pause_flow_run(wait_for_input=ready, timeout=seconds, poll_interval=2, key=key)
    except FlowPauseTimeout:
        from prefect.client.orchestration import get_client
        from prefect.states import Running
        with get_client(sync_client=True) as client:
            client.set_flow_run_state(str(flow_run.get_id()), Running(), force=True)
        return None


def can_suspend() -> bool:
    """A top-level run of a deployment may be suspended; anything else is paused (Prefect
    refuses to suspend a sub-flow, or a run without a deployment)."""
    from prefect.context import FlowRunContext
    ctx = FlowRunContext.get()
    run = ctx.flow_run if ctx else None
    return bool(run and run.deployment_id and not run.parent_task_run_id)


def waiting_line(root: Path, scene: str, profile: str, what: str, suspended: bool) -> str:
    """The one line that says what a waiting run waits for and how to answer it."""
    how = ("open the run in the Prefect UI and press Resume (suspended: no worker is held)" if suspended else
           f"open the run in the Prefect UI and press Resume, or run: slate approve {root}")
    return f"scene {scene}: waiting for a person to approve {what} of its {profile} video — {how}"


def wait_for_person(root: Path, scene: str, profile: str, form: type[RunInput], text: str, initial_shots: list[str],
                    timeout_hours: float, key: str | None = None, what: str = "the shots") -> RunInput:
    """Suspend or pause this run until the form is answered; the answer, or ApprovalExpired.
    `key` tells this wait from the run's others (each round of retakes is its own); `what` is
    what the person is asked to approve, for the line that says the run waits."""
    from slate.tasks.run.run import emit
    log = get_run_logger()
    key = key or f"approve-{scene}-{profile}"
    seconds = int(timeout_hours * 3600)
    # The form's defaults are its class's (all shots, each ticked): Prefect's `with_initial_data`
    # redeclares every field it is given a value for without its title and description, and the
    # UI then showed the shots as a bare list ("Add item") with none of their panels.
    ready = form.with_initial_data(description=text)
    marker = Path(root) / ".slate" / APPROVAL_FILE
    deadline = datetime.now(timezone.utc) + timedelta(seconds=seconds)
    marker.parent.mkdir(parents=True, exist_ok=True)
    from prefect.settings import PREFECT_API_URL
    this_run = str(flow_run.get_id())
    record = {"flow_run_id": this_run, "scene": scene, "profile": profile,
              "api_url": PREFECT_API_URL.value(), "deadline": deadline.isoformat(timespec="seconds"),
              "shots": list(initial_shots)}
    # Written beside and renamed: `slate approve`, the agent and a waiting test read it while
    # this run may be writing it, and an empty file read half made is no answer.
    from slate.media.render import scratch_beside
    part = scratch_beside(marker, ".json")
    part.write_text(json.dumps(record, indent=2))
    os.replace(part, marker)
    try:
        suspending = can_suspend()
        if not answered_before(key):   # a resumed run meets its answered waits again, and goes on
            line = waiting_line(root, scene, profile, what, suspending)
            log.info("%s", line)
            # Whoever watches this process (`slate run`'s screen, a terminal or not) says so too.
            emit(None, event="waiting", scene=scene, profile=profile, line=line, flow_run_id=this_run)
        answer: RunInput | None = wait_for_a_person(ready, seconds, key, suspending)
        if answer is None:
            raise ApprovalExpired(f"nobody approved the {profile} video of scene {scene} within "
                                  f"{timeout_hours:g} h: nothing was rendered at {profile} resolution")
        return answer
    finally:
        # Gone once answered or expired (a suspended run comes back here on resume).
        if marker.is_file() and json.loads(marker.read_text()).get("flow_run_id") == this_run:
            marker.unlink(missing_ok=True)


def still_waiting(flow_run_id: str) -> None:
    """NoRunWaiting unless the run `flow_run_id` is on the Prefect server this process is set to
    and has not ended (it may not be Paused yet: `resume_when_paused` waits for that)."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound
    try:
        with get_client(sync_client=True) as client:
            run = client.read_flow_run(UUID(flow_run_id))
    except ObjectNotFound:
        raise NoRunWaiting(f"no run {flow_run_id} on this Prefect server") from None
    if run.state is not None and run.state.is_final():
        raise NoRunWaiting(f"run {flow_run_id} has ended ({run.state.name}): it waits for nobody")


def resume_when_paused(flow_run_id: str, run_input: dict[str, Any], wait: float = 60.0) -> None:
    """Answer a waiting run (prefect's resume_flow_run). The approval file is written just before
    the run pauses (it must name the run while it waits), so an answer given the moment the file
    appears can meet a run not yet Paused: it is tried again until the run is, for `wait` seconds.
    Prefect also sets a run Paused or Suspended *before* it stores the form's schema, and refuses
    an answer in between ("Run input schema not found"): that is tried again the same way."""
    import time

    from prefect.exceptions import NotPausedError
    from prefect.flow_runs import resume_flow_run
    deadline = time.monotonic() + wait
    while True:
        try:
            resume_flow_run(UUID(flow_run_id), run_input=run_input)
            return
        except (NotPausedError, RuntimeError) as refused:
            not_yet = isinstance(refused, NotPausedError) or "schema not found" in str(refused)
            if not not_yet or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def answered_before(key: str) -> bool:
    """This run passed the wait `key` before (a suspended run starts again from the top once
    resumed, and Prefect hands its stored answer back at once)."""
    from prefect.client.orchestration import get_client
    try:
        with get_client(sync_client=True) as client:
            run = client.read_flow_run(UUID(flow_run.get_id()))
        return key in (run.empirical_policy.pause_keys or set())
    except Exception:  # noqa: BLE001 — only the waiting line depends on it
        return False


def expired_since(record: dict[str, Any]) -> bool:
    return datetime.fromisoformat(record["deadline"]) < datetime.now(timezone.utc)


def expire_approvals(client: SyncPrefectClient, now: datetime | None = None) -> list[str]:
    """Suspended scene runs past their approval deadline end "Approval expired" (slate up runs
    this every few minutes). Returns the ids it ended."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateName
    from prefect.states import Failed
    now = now or datetime.now(timezone.utc)
    ended = []
    waiting = client.read_flow_runs(flow_run_filter=FlowRunFilter(
        state=FlowRunFilterState(name=FlowRunFilterStateName(any_=["Suspended", "Paused"]))))
    for run in waiting:
        state = run.state
        timeout = state.state_details.pause_timeout if state else None
        # our deadline is the server's minus the hour of slack we gave it
        if state is not None and timeout is not None and timeout - timedelta(hours=1) < now \
                and state.state_details.pause_key and str(state.state_details.pause_key).startswith("approve-"):
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
