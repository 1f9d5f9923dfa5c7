"""The per-shot take loops: panel take → panel gate, and video take → keyframe gate.

Each loop is a task that calls the stage tasks (visible as nested task runs) and asks the take
policy after every verdict. A shot that cannot pass is escalated: its loop returns a state
named "Escalated" with the reason, and the scene goes on without it. These loops hold no
state of their own: every take they ask for is cached, so a re-run walks the same takes for
free and resumes at the first one that was never finished.

They must never animate a panel that failed its gate, nor hand stitch a clip that failed.
"""
from __future__ import annotations

from dataclasses import asdict

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.states import Completed
from pydantic import BaseModel

from governor.chokepoint import RunHalted, ShotHalted
from governor.policy import TakePolicy, TakeResult
from tasks.context import RunSpec, emit, in_project, studio
from tasks.drift import drift_check
from tasks.gate import panel_gate
from tasks.keyframes import keyframe_gate
from tasks.panel import panel_take
from tasks.plan import ShotPlan
from tasks.video import video_take


class Take(BaseModel):
    stage: str
    moment: str
    take: int
    uri: str
    passed: bool
    quality: float
    reasons: list[str]


class PanelOutcome(BaseModel):
    shot: str
    approved: dict[str, str] = {}   # moment -> panel URI that passed the gate
    takes: list[Take] = []
    escalated: str | None = None
    halted: str | None = None       # the run stopped spending, or this shot's call is unknown


class ClipOutcome(BaseModel):
    shot: str
    clip_uri: str | None = None
    seconds: float = 0.0
    last_frame_uri: str | None = None
    started_from: str = "panel"     # panel | previous last frame | re-anchored panel
    takes: list[Take] = []
    escalated: str | None = None
    halted: str | None = None
    drift: dict | None = None
    reanchor: bool = False


def _policy(run: RunSpec) -> TakePolicy:
    return TakePolicy(max_takes=run.max_takes, patience=run.no_progress_takes)


def _finish(outcome, stage: str):
    if outcome.halted:
        emit(shot=outcome.shot, stage=stage, status="halted", reasons=[outcome.halted])
        return Completed(data=outcome, name="Halted", message=f"shot {outcome.shot}: {outcome.halted}")
    if outcome.escalated:
        emit(shot=outcome.shot, stage=stage, status="escalated", reasons=[outcome.escalated])
        return Completed(data=outcome, name="Escalated", message=f"shot {outcome.shot}: {outcome.escalated}")
    return outcome


@task(name="shoot-panels", cache_policy=NO_CACHE, task_run_name="panels {plan.shot}")
def shoot_panels(run: RunSpec, plan: ShotPlan):
    outcome = PanelOutcome(shot=plan.shot)
    try:
        _panel_takes(run, plan, outcome)
    except (RunHalted, ShotHalted) as exc:
        outcome.halted = str(exc)
    return _finish(outcome, "panel")


def _panel_takes(run: RunSpec, plan: ShotPlan, outcome: PanelOutcome) -> None:
    st = studio(run)
    moments = ["start"] + (["end"] if plan.end else [])
    for moment in moments:
        history: list[TakeResult] = []
        take = 0
        while True:
            take += 1
            st.governor.check_open()  # a halted run schedules no further paid take
            req = plan.panel_request(moment, take)
            uri = in_project(panel_take, run, plan.shot, moment, take, asdict(req), st.images.name, st.images.model,
                             st.images.variant, run.profile)
            verdict = in_project(panel_gate, run, plan.shot, moment, take, uri, asdict(req), st.judge.name,
                                 st.judge.model, st.judge.variant, run.profile, artifacts=lambda v: [])
            reasons = [f"{s['name']}: {s['reason']}" for s in verdict["scores"] if not s["passed"]]
            outcome.takes.append(Take(stage="panel", moment=moment, take=take, uri=uri,
                                      passed=verdict["passed"], quality=verdict["quality"], reasons=reasons))
            history.append(TakeResult(take, verdict["passed"], verdict["quality"], not verdict.get("cannot_judge")))
            decision, why = _policy(run).decide(history)
            if decision == "accept":
                outcome.approved[moment] = uri
                emit(shot=plan.shot, stage="panel", moment=moment, take=take, status="approved")
                break
            if decision == "escalate":
                outcome.escalated = f"{moment} panel {why}; last reasons: {'; '.join(reasons)}"
                return


@task(name="shoot-video", cache_policy=NO_CACHE, task_run_name="video {plan.shot}")
def shoot_video(run: RunSpec, plan: ShotPlan, panels: PanelOutcome, previous: ClipOutcome | None = None):
    outcome = ClipOutcome(shot=plan.shot, seconds=plan.duration)
    if panels.halted:
        outcome.halted = panels.halted
    elif panels.escalated:
        outcome.escalated = f"not animated: {panels.escalated}"
    else:
        try:
            _video_takes(run, plan, panels, previous, outcome)
        except (RunHalted, ShotHalted) as exc:
            outcome.halted = str(exc)
    return _finish(outcome, "video")


def _video_takes(run: RunSpec, plan: ShotPlan, panels: PanelOutcome, previous: ClipOutcome | None,
                 outcome: ClipOutcome) -> None:
    st = studio(run)
    start_uri = panels.approved["start"]
    if plan.chain:
        if previous is not None and previous.last_frame_uri and not previous.reanchor:
            start_uri, outcome.started_from = previous.last_frame_uri, "previous last frame"
        else:
            why = "drift past the threshold" if previous is not None and previous.reanchor else "previous shot missing"
            outcome.started_from = f"re-anchored panel ({why})"
    end_uri = panels.approved.get("end")
    start_req = asdict(plan.panel_request("start", 1))
    history: list[TakeResult] = []
    take = 0
    while True:
        take += 1
        st.governor.check_open()
        clip_req = plan.clip_request(start_uri, end_uri, take)
        clip_uri = in_project(video_take, run, plan.shot, take, asdict(clip_req), st.videos.name, st.videos.model,
                              st.videos.variant, run.profile)
        verdict = in_project(keyframe_gate, run, plan.shot, take, clip_uri, start_uri, end_uri, start_req,
                             st.judge.name, st.judge.model, st.judge.variant, run.profile,
                             artifacts=lambda v: list(v["keyframes"].values()))
        reasons = [f"{s['name']}: {s['reason']}" for s in verdict["scores"] if not s["passed"]]
        outcome.takes.append(Take(stage="video", moment="clip", take=take, uri=clip_uri, passed=verdict["passed"],
                                  quality=verdict["quality"], reasons=reasons))
        history.append(TakeResult(take, verdict["passed"], verdict["quality"], not verdict.get("cannot_judge")))
        decision, why = _policy(run).decide(history)
        if decision == "accept":
            outcome.clip_uri = clip_uri
            outcome.last_frame_uri = verdict["keyframes"]["last"]
            emit(shot=plan.shot, stage="video", take=take, status="approved")
            break
        if decision == "escalate":
            outcome.escalated = f"clip {why}; last reasons: {'; '.join(reasons)}"
            return
    if plan.chain_position > 0 and plan.chain_position % run.drift_every == 0:
        outcome.drift = in_project(drift_check, run, plan.shot, outcome.last_frame_uri, panels.approved["start"],
                                   run.drift_threshold, artifacts=lambda d: [])
        outcome.reanchor = bool(outcome.drift["reanchor"])
