"""A pass over a shot's finished clip — its lip-sync, its face swap, its upscale, a declared pass — run through the one take loop.

Each pass (flows/shot/scene_lipsync.py; the passes declared in tasks/shot/clip_passes.py — the face swap in
tasks/shot/faceswap.py, the upscale in tasks/shot/upscale.py — run by `pass_of`) takes a clip that passed
its gates and makes it again, paid and gated once more. Each is a `Stage` of the one take loop
(tasks/shot/take_loop.py): how to make take N, how to judge it. The loop decides, the same for every
pass and for the clip itself: a failed or unusable job is a failed take (retaken with the next
seed while the take policy allows, no-progress included, then escalated); a stuck job is
escalated; a moderation refusal is escalated (a pass has one model); a cap or the STOP halts.
However a pass ends, the shot's outcome says it the same way: the clip it made; escalated (said
on the run at the pass's gate, the shot out of the cut, never raised, so the other shots' passes
go on); or halted. A clip that was to be passed over is never cut in as it was.

It must never decide whether a pass passed (each pass's gate does) nor map a failure itself (the
loop does).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from prefect import task
from prefect.cache_policies import NO_CACHE

from slate.flows.shot.shot import ClipOutcome, Finals
from slate.tasks.shot.clip_passes import PassDef, pass_named
from slate.tasks.shot.plan import ShotPlan
from slate.tasks.run.run import Run, emit
from slate.tasks.shot.take_loop import Approved, Escalated, Halted, Stage, Takes, take_loop, teller

R = TypeVar("R")


def pass_over(run: Run, plan: ShotPlan, clip: ClipOutcome, stage: Stage[R], model: str, *, what: str,
              keep: Callable[[Approved[R]], dict[str, Any]]) -> ClipOutcome:
    """`clip` passed over by `stage` on `model` through the take loop, landed on the shot (the
    module's docstring); `what` names the pass in an escalation ("the face swap of jenny"); `keep`
    says what an approved take adds to the shot's outcome besides its clip (its readings)."""
    done = take_loop(stage, run.takes, run.crew.governor, shot=plan.shot, models=[model], what=what,
                     tell=teller(run, plan.shot))
    return landed(run, plan, clip, done, stage, keep)


def landed(run: Run, plan: ShotPlan, clip: ClipOutcome, done: Takes[R], stage: Stage[R],
           keep: Callable[[Approved[R]], dict[str, Any]]) -> ClipOutcome:
    """The shot's outcome after a pass's takes: its clip, or none in the cut and why."""
    end = done.end
    if isinstance(end, Approved):
        return clip.model_copy(update={"clip_uri": end.uri, **keep(end)})
    if isinstance(end, Halted):
        emit(run, scene=run.scene, shot=plan.shot, stage=stage.name, status="halted", reasons=[end.why])
        return clip.model_copy(update={"clip_uri": None, "halted": end.why})
    # Escalated (a pass is never held: the amount approved held its shot before its clip was made).
    why = end.why if isinstance(end, Escalated) else f"held: {end.why}"
    said = f"scene {run.scene}, shot {plan.shot}: {why}"
    emit(run, scene=run.scene, shot=plan.shot, stage=stage.gate, status="escalated", reasons=[said])
    return clip.model_copy(update={"clip_uri": None, "escalated": said})


# -- a declared pass over the clip, run on one shot (tasks/shot/clip_passes.py) ---------------------------

def pass_of(run: Run, plan: ShotPlan, clip: ClipOutcome, finals: Finals | None, definition: PassDef) -> ClipOutcome:
    """A shot's clip passed over by a declared pass, where it applies (flows/shot/lane.py runs each at
    its place): the clip it made, or none in the cut and why. Returned as it is when the shot has
    no clip in the cut, when the pass does not take it, or when the run has no model for a pass it
    may go without; a shot that needs a pass the run has no model for escalates (`slate check`
    refuses such a run first: said, never passed over blind); a shot the pass waits for (the
    upscale: a person's approval) is said as skipped."""
    if not clip.clip_uri:
        return clip
    applies = definition.applies(plan, run.profile)
    model = run.lineup.pass_model(definition.name)
    if model is None:
        if not (applies and definition.required):
            return clip
        reason = (f"scene {run.scene}, shot {plan.shot}: asks for a {definition.title} and the run has no "
                  f"{definition.title} model")
        emit(run, scene=run.scene, shot=plan.shot, stage=definition.name, status="escalated", reasons=[reason])
        return clip.model_copy(update={"clip_uri": None, "escalated": reason})
    # Where the run names its model and the pass does not run on the shot now, the pass may say why
    # (the upscale of a draft, or before a person approved): so the model is not thought forgotten.
    waiting = definition.waits(run, plan, clip, finals if applies else None) if definition.waits is not None else None
    if waiting is not None:
        emit(run, scene=run.scene, shot=plan.shot, stage=definition.name, status="skipped", reasons=[waiting])
    if not applies or waiting is not None:
        return clip
    return pass_shot.with_options(name=f"{definition.name}-shot")(run, plan, clip, definition.name)


@task(name="pass-shot", cache_policy=NO_CACHE, task_run_name="{name} {plan.shot}")
def pass_shot(run: Run, plan: ShotPlan, clip: ClipOutcome, name: str) -> ClipOutcome:
    """One shot through a declared pass (`name`): its clip passed over and gated, or escalated or
    halted (said on the run, never raised: the other shots go on). Not cached itself: the pass's
    paid takes and its gate are. The task is named after the pass ("faceswap-shot")."""
    definition = pass_named(name)
    model = run.lineup.pass_model(name)
    assert clip.clip_uri is not None and model is not None
    stage = definition.stage(run, plan, clip.clip_uri, clip.seconds)
    return pass_over(run, plan, clip, stage, model, what=definition.said(plan, model), keep=definition.kept)
