"""The upscale stage of a scene: each take a person approved made larger, checked, retaken or escalated.

    … speech ─► lip-sync ─► upscale (approved takes, final and hero runs) ─► stitch, finish

Why last before the stitch: an upscale is a paid pass over a finished clip, so it is given the
clip as the cut will show it — past its keyframe gate, lip-synced where its lines are — and a
clip a later stage would change or take out is never paid for twice, nor at all.

Why only after a person's approval: it is the most expensive picture a shot gets and adds nothing
a gate or a person needs to decide, so it is spent only on what a person chose for the final
video. A run upscales when its lineup names an upscale model (`upscale_model`, `--upscale-model`,
`[models.<profile>] upscale`) and its finals were approved (`finals`: the final and hero profiles,
after `approve_finals`); each shot whose clip is in the cut and was among the shots the person
approved goes to the model as one paid job (tasks/shot/upscale.py `upscale_take`), UPSCALE times its
size each way. The upscale check (tasks/shot/upscale.py `upscale_check`) then holds what came back to
the take: the size asked, the same frame rate, frame count (±1) and length, and scaled back down,
the take itself. The upscale is a pass over the clip (tasks/shot/upscale.py `UPSCALE_PASS`, declared in
tasks/shot/clip_passes.py's way; `UpscaleStage` a stage of the one take loop, run by flows/shot/passes.py
`pass_of`, last in a shot's lane): a clip that fails its check, or whose job failed or came back unusable, is
upscaled again with the next seed within the take policy (its cap and its no-progress rule); one
that never passes escalates its shot, naming what the check found. An upscale the caps refuse
halts its shot like any paid call; a job past its deadline escalates it.

Once a scene upscales, every clip in its cut is upscaled (any that is not has been taken out), so
the stitch and the finishing pass are given the upscaled size (`cut_size`, the clips' as made):
the delivered MP4 is UPSCALE times the profile's size.

It must never upscale a draft, a shot a person rejected or whose retake they declined, or a take
nobody approved; never call an upscale model except through `upscale_take`; and never put a clip
the check did not pass into the cut.
"""
from __future__ import annotations


from slate.flows.shot.shot import ClipOutcome, Finals
from slate.tasks.shot.plan import ShotPlan
from slate.tasks.run.run import Run
from slate.tasks.shot.upscale import STAGE, upscales


def upscaling(run: Run, finals: Finals | None) -> bool:
    """Whether this round upscales its cut: an upscale model, and finals a person approved."""
    return finals is not None and upscales(run.profile, run.lineup.pass_model(STAGE))


def cut_size(plans: list[ShotPlan], clips: dict[str, ClipOutcome]) -> tuple[int, int]:
    """The size the scene's cut is made at: its largest shot's, as made — an upscaled clip's
    size where it was upscaled (a round that upscales upscales every clip in its cut), else its
    shot's at the profile."""
    sizes = [(c.upscale.width, c.upscale.height) if (c := clips.get(p.shot)) is not None and c.upscale is not None
             and c.clip_uri else (p.width, p.height) for p in plans]
    return max(w for w, _ in sizes), max(h for _, h in sizes)
