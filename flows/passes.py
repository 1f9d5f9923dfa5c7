"""A pass over a shot's finished clip — its lip-sync, its face swap, its upscale — run through the one take loop.

Each pass (flows/scene_lipsync.py, scene_faceswap.py, scene_upscale.py) takes a clip that passed
its gates and makes it again, paid and gated once more. Each is a `Stage` of the one take loop
(tasks/take_loop.py): how to make take N, how to judge it. The loop decides, the same for every
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

from slate.flows.shot import ClipOutcome
from slate.media.probe import probe
from slate.providers.base import Storage
from slate.tasks.plan import ShotPlan
from slate.tasks.run import Run, emit
from slate.tasks.take_loop import Approved, Escalated, Halted, Stage, Takes, take_loop, teller

R = TypeVar("R")


def clip_size(storage: Storage, uri: str) -> tuple[int, int]:
    """The size of the clip a pass is given, as the video model made it: a model's own size
    (852x480 for 854x480) passed the keyframe gate, and a pass is held to the clip it was sent,
    never to the plan's size."""
    got = probe(storage.open_local(uri))
    return got.width, got.height


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
