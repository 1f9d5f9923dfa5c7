"""A pass over a shot's finished clip — its lip-sync, its face swap, its upscale — as it lands on the shot.

Each pass (flows/scene_lipsync.py, scene_faceswap.py, scene_upscale.py) takes a clip that passed
its gates and makes it again, paid and gated once more. However a pass ends, the shot's outcome
says it the same way: the clip it made; or escalated (the pass could not be made cleanly: said on
the run, the shot out of the cut, never raised, so the other shots' passes go on); or halted (a
cap or a stop refused its paid call). A clip that was to be passed over is never cut in as it was.

It must never decide whether a pass passed: each pass's gate does.
"""
from __future__ import annotations

from collections.abc import Callable

from slate.errors import SlateError
from slate.flows.shot import ClipOutcome, halted_reason
from slate.governor.chokepoint import RunHalted, ShotHalted
from slate.tasks.plan import ShotPlan
from slate.tasks.run import Run, emit


class PassEscalated(SlateError):
    """A pass over a shot's clip that could not be made cleanly: the shot is escalated with this message."""


def pass_landed(run: Run, plan: ShotPlan, clip: ClipOutcome, make: Callable[[], ClipOutcome], *,
                gate_stage: str, stage: str | None = None) -> ClipOutcome:
    """The shot's outcome after a pass (the module's docstring): what `make` made, or the clip
    escalated (said at `gate_stage`) or halted (said at `stage`, when given) with none in the cut."""
    try:
        return make()
    except PassEscalated as exc:
        emit(run, scene=run.scene, shot=plan.shot, stage=gate_stage, status="escalated", reasons=[str(exc)])
        return clip.model_copy(update={"clip_uri": None, "escalated": str(exc)})
    except (RunHalted, ShotHalted) as exc:
        why = halted_reason(exc, plan.shot)
        if stage is not None:
            emit(run, scene=run.scene, shot=plan.shot, stage=stage, status="halted", reasons=[why])
        return clip.model_copy(update={"clip_uri": None, "halted": why})
