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
approved goes to the model as one paid job (tasks/upscale.py `upscale_take`), UPSCALE times its
size each way. The upscale check (tasks/upscale.py `upscale_check`) then holds what came back to
the take: the size asked, the same frame rate, frame count (±1) and length, and scaled back down,
the take itself. The upscale is a stage of the one take loop (tasks/take_loop.py,
flows/passes.py): a clip that fails its check, or whose job failed or came back unusable, is
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

from dataclasses import dataclass

from prefect import task
from prefect.cache_policies import NO_CACHE

from slate.flows.passes import clip_size, pass_over
from slate.flows.shot import ClipOutcome, Finals
from slate.providers.base import ClipPassRequest
from slate.providers.spec import UPSCALE as UPSCALE_MODEL  # the capability (UPSCALE here is the factor)
from slate.tasks.plan import ShotPlan
from slate.tasks.run import Run, emit, in_project
from slate.tasks.take_inputs import Maker
from slate.tasks.take_loop import Judged
from slate.tasks.upscale import (CHECK_STAGE, STAGE, UPSCALE, UpscaleCheck, UpscaleTake, UpscaleVerdict, upscale_check,
                                 upscale_take, upscaled_size, upscales)




def upscaling(run: Run, finals: Finals | None) -> bool:
    """Whether this round upscales its cut: an upscale model, and finals a person approved."""
    return finals is not None and upscales(run.profile, run.lineup.upscale)


def cut_size(plans: list[ShotPlan], clips: dict[str, ClipOutcome]) -> tuple[int, int]:
    """The size the scene's cut is made at: its largest shot's, as made — an upscaled clip's
    size where it was upscaled (a round that upscales upscales every clip in its cut), else its
    shot's at the profile."""
    sizes = [(c.upscale.width, c.upscale.height) if (c := clips.get(p.shot)) is not None and c.upscale is not None
             and c.clip_uri else (p.width, p.height) for p in plans]
    return max(w for w, _ in sizes), max(h for _, h in sizes)


def upscale_of(run: Run, plan: ShotPlan, clip: ClipOutcome, finals: Finals | None) -> ClipOutcome:
    """An approved take in the cut, upscaled and checked (the module's docstring): its clip as it
    stands after the check — the upscaled one, carrying its reading, or none in the cut and why.
    Unchanged where the round does not upscale. Run last in the shot's lane (flows/lane.py)."""
    if run.lineup.upscale is None or not clip.clip_uri:
        return clip
    if finals is None or not upscaling(run, finals):
        # A draft (or a round nobody approved): said once a shot, so the model is not thought forgotten.
        emit(run, scene=run.scene, shot=plan.shot, stage=STAGE, status="skipped",
             reasons=[f"not upscaled by {run.lineup.upscale}: a {run.profile} run's takes are upscaled only "
                      f"once a person approved them (final and hero profiles)"])
        return clip
    if plan.shot not in finals.first_takes or plan.shot in finals.declined or clip.rejected:
        # Never a take nobody approved: a clip in the cut is one of the approved shots', or
        # something is wrong upstream — left as it is, said, never paid for.
        emit(run, scene=run.scene, shot=plan.shot, stage=STAGE, status="skipped",
             reasons=["not upscaled: not among the shots a person approved"])
        return clip
    return upscale_shot(run, plan, clip)


@task(name="upscale-shot", cache_policy=NO_CACHE, task_run_name="upscale {plan.shot}")
def upscale_shot(run: Run, plan: ShotPlan, clip: ClipOutcome) -> ClipOutcome:
    """One shot through the upscale stage: its clip upscaled and checked, or escalated or halted
    (said on the run, never raised: the other shots' upscales go on). Not cached itself: its paid
    take and its check are (tasks/upscale.py)."""
    assert run.lineup.upscale is not None
    return pass_over(run, plan, clip, UpscaleStage.of(run, plan, clip), run.lineup.upscale,
                     what=f"its {UPSCALE}x upscale on {run.lineup.upscale}", keep=lambda end: {"upscale": end.reading})


@dataclass
class UpscaleStage:
    """The upscale as a stage of the take loop: take N sends the approved take with seed N, asking
    UPSCALE times its own size; the upscale check holds what came back to the take."""

    run: Run
    plan: ShotPlan
    clip_uri: str
    seconds: float
    size: tuple[int, int]     # UPSCALE times the clip's own size, as the video model made it
    maker: Maker
    name: str = STAGE
    gate: str = CHECK_STAGE
    gate_words: str = "the upscale check"

    @classmethod
    def of(cls, run: Run, plan: ShotPlan, clip: ClipOutcome) -> "UpscaleStage":
        st = run.crew
        assert clip.clip_uri is not None and run.lineup.upscale is not None
        maker = Maker.named(run.lineup.upscale, st.service(UPSCALE_MODEL, run.lineup.upscale), run.profile)
        return cls(run, plan, clip.clip_uri, clip.seconds, upscaled_size(*clip_size(st.storage, clip.clip_uri)), maker)

    def make(self, take: int, model: str) -> str:
        given = UpscaleTake(shot=self.plan.shot, take=take, maker=self.maker, request=ClipPassRequest(
            kind="upscale", clip_uri=self.clip_uri, width=self.size[0], height=self.size[1], fps=self.plan.fps,
            seconds=self.seconds, seed=take))
        return in_project(upscale_take, self.run, given, artifacts=lambda uri: [uri])

    def judge(self, take: int, uri: str) -> Judged[UpscaleVerdict]:
        run = self.run
        verdict = in_project(upscale_check, run, UpscaleCheck(
            shot=self.plan.shot, take=take, take_uri=self.clip_uri, clip_uri=uri, width=self.size[0],
            height=self.size[1], maker=self.maker), artifacts=lambda _: [uri])
        emit(run, scene=run.scene, shot=self.plan.shot, stage=CHECK_STAGE, take=take,
             status="passed" if verdict.passed else "failed", reasons=[verdict.reason])
        # Progress: the upscale scaled back down nearer the take (its worst frame's PSNR).
        quality = verdict.worst_psnr if verdict.worst_psnr is not None else -1.0
        return Judged(verdict.passed, quality, (f"upscale take {take}: {verdict.reason}",), reading=verdict)
