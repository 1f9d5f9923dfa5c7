"""Upscale take: an approved take made UPSCALE times its size by an upscale model — a paid job through the governor — and the upscale check of what came back.

An upscale model (providers/base.py ClipPass, kind "upscale": a ComfyUI `upscale-…` workflow, or a
hosted upscaler) takes a take a person approved for the final video and gives it back larger. It
is a job like a clip's: the governor prices it from the rate card before anything is sent (kind
"upscale", by the clip's seconds), holds it to the caps, records the job id before it polls,
re-attaches to it after a crash, keeps the clip in content-addressed storage, and writes its
ledger row with stage `upscale`.

Its key is what changes the picture: the take's content (its URI is content-addressed), the size
asked, the frame rate, the seed, the model and its variant (a workflow's fingerprint). A re-run
with the same take is found in the ledger and costs nothing; a retaken clip is upscaled again.

The upscale check (`upscale_check`) holds what came back to the take (media/upscale.py
`judge_upscale`): the size asked, the take's frame rate, its frame count within one, its
length, and — scaled back down to the take's size — the take itself. Cached by the same content;
each judgement is written into the ledger beside the call as a $0 row of stage `upscale_check`
(its reading in the row's parameters), where the reports and an agent read every other gate.

Only runs whose finals a person approves upscale (`upscales`: the final and hero profiles): a
draft is never upscaled, whatever model its lineup names.

It must never call an upscale model except through the governor, never let the model judge its
own output, and never hold a key.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from prefect import task
from pydantic import BaseModel, ConfigDict

from slate.governor.chokepoint import Usage
from slate.manifests.profiles import PROFILES
from slate.providers.base import ClipPassRequest
from slate.providers.spec import UPSCALE as UPSCALE_MODEL  # the capability (UPSCALE here is the factor)
from slate.tasks.run.cache import ContentKey
from slate.tasks.gates.gate_inputs import StageInput
from slate.tasks.gates.reading import note_reading
from slate.tasks.shot.jobs import job_spec, paid_job
from slate.tasks.shot.clip_passes import UPSCALE_FACTOR, UPSCALE_PASS
from slate.tasks.shot.plan import ShotPlan
from slate.tasks.run.run import Run, emit, in_project
from slate.tasks.shot.take_inputs import Maker
from slate.tasks.shot.take_loop import Judged
from slate.tasks.run.versions import UPSCALE_CHECK_VERSION, UPSCALE_VERSION

if TYPE_CHECKING:
    from slate.governor.ratecard import Pricing

STAGE = UPSCALE_PASS.name             # "upscale": its paid calls' ledger stage
CHECK_STAGE = UPSCALE_PASS.gate       # "upscale_check": its check's
#: How much larger an approved take is made, each way: a 720p final is delivered at 1440p, a
#: hero's 1080p critical shot at 2160p. An upscale workflow scales its model's own factor to the
#: size asked (the example's ESRGAN workflow: ImageScale to the slots' width and height). A
#: change here changes every upscale: bump UPSCALE_VERSION (a scene's can key holds the version).
UPSCALE = UPSCALE_FACTOR


class Planned(Protocol):
    """What pricing an upscale reads of a shot's plan (tasks/shot/plan.py ShotPlan)."""

    @property
    def shot(self) -> str: ...
    @property
    def duration(self) -> float: ...


def upscales(profile: str, model_key: str | None) -> bool:
    """Whether a run at `profile` upscales its takes: it names an upscale model (`model_key`,
    the lineup's; None: none), and a person approves its finals (final, hero) — never a draft."""
    return model_key is not None and PROFILES[profile].needs_approval


def upscaled_size(width: int, height: int) -> tuple[int, int]:
    """The size a take of `width` x `height` is upscaled to."""
    return width * UPSCALE, height * UPSCALE


def upscale_costs(plans: Iterable[Planned], profile: str, model_key: str | None,
                  pricing: Pricing) -> dict[str, Decimal]:
    """By shot of `plans`: what upscaling its clip once costs with `model_key` ("provider:model";
    None: no upscale), priced by the rate card at the shot's seconds — none where the run does
    not upscale (`upscales`). The estimate's "upscale $", and part of what a person approves."""
    if not upscales(profile, model_key):
        return {}
    assert model_key is not None
    return {p.shot: pricing.estimate(Usage("upscale", seconds=p.duration), model_key) for p in plans}


class UpscaleTake(StageInput):
    """Take `take` of a shot's upscale: `request` made by `maker`'s upscale model."""

    shot: str
    take: int
    request: ClipPassRequest
    maker: Maker


class UpscaleCheck(StageInput):
    """What the upscale check reads of take `take`: the approved take (`take_uri`), what the
    upscale model made of it (`clip_uri`), and the size it was asked to make (storage URIs)."""

    shot: str
    take: int
    take_uri: str
    clip_uri: str
    width: int
    height: int
    maker: Maker


class UpscaleVerdict(BaseModel):
    """The upscale check's reading of one upscaled clip (media/upscale.py UpscaleReading): its
    size, rate, frames and seconds against the take's, the frame offset it was compared at, the
    PSNR (dB) scaled back down — over the frames compared and the worst one's — and the worst
    square's difference (levels); the verdict (passed | failed), the reason a person reads, and
    the upscale take it read."""

    model_config = ConfigDict(frozen=True)

    take: int
    width: int
    height: int
    fps: str
    frames: int
    seconds: float
    take_frames: int
    offset: int
    psnr: float | None
    worst_psnr: float | None
    worst_block: float | None
    verdict: str
    reason: str

    @property
    def passed(self) -> bool:
        return self.verdict == "passed"


@task(name="upscale-check", cache_policy=ContentKey(stage=UPSCALE_CHECK_VERSION), result_serializer="json",
      task_run_name="upscale check {given.shot} take {given.take}")
def upscale_check(run: Run, given: UpscaleCheck) -> UpscaleVerdict:
    """The upscaled clip held to its take, written into the ledger (the module's docstring)."""
    from slate.media.upscale import judge_upscale
    st = run.crew
    r = judge_upscale(st.storage.open_local(given.take_uri), st.storage.open_local(given.clip_uri),
                      width=given.width, height=given.height)
    verdict = UpscaleVerdict(take=given.take, width=r.width, height=r.height, fps=r.fps, frames=r.frames,
                             seconds=r.seconds, take_frames=r.take_frames, offset=r.offset, psnr=r.psnr,
                             worst_psnr=r.worst_psnr, worst_block=r.worst_block, verdict=r.verdict, reason=r.reason)
    note_reading(run, shot=given.shot, stage=CHECK_STAGE, take=given.take, maker=given.maker, given=given,
                 units=Usage("upscale"), references=(given.take_uri, given.clip_uri),
                 readings={"reading": verdict.model_dump(mode="json")},
                 word="UpscaleCheckPassed" if verdict.passed else "UpscaleCheckFailed", reason=verdict.reason)
    return verdict


@task(name="upscale-take", cache_policy=ContentKey(stage=UPSCALE_VERSION), result_serializer="json",
      task_run_name="upscale {given.shot} take {given.take}")
def upscale_take(run: Run, given: UpscaleTake) -> str:
    """The upscaled clip's URI (see the module docstring): priced by the clip's seconds, keyed by
    what it is made from."""
    maker, req = given.maker, given.request
    emit(run, scene=run.scene, shot=given.shot, stage=STAGE, take=given.take, status="upscaling")
    spec = job_spec(run, STAGE, given.shot, given.take, maker, req, Usage("upscale", seconds=req.seconds),
                    references=(req.clip_uri,),
                    parameters={"seconds": req.seconds, "fps": req.fps, "width": req.width, "height": req.height,
                                "seed": req.seed})
    return paid_job(run, UPSCALE_MODEL, maker, spec, req)


# -- the upscale as a stage of the take loop, and as a pass over the clip --------------------------

@dataclass
class UpscaleStage:
    """The upscale as a stage of the take loop (tasks/shot/take_loop.py): take N sends the approved take
    with seed N, asking UPSCALE times its own size; the upscale check holds what came back to it."""

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
    def of(cls, run: Run, plan: ShotPlan, clip_uri: str, seconds: float) -> "UpscaleStage":
        from slate.tasks.shot.clip_passes import clip_size
        model = run.lineup.pass_model(STAGE)
        assert model is not None
        maker = Maker.named(model, run.crew.service(UPSCALE_MODEL, model), run.profile)
        return cls(run, plan, clip_uri, seconds, upscaled_size(*clip_size(run.crew.storage, clip_uri)), maker)

    def make(self, take: int, model: str) -> str:
        given = UpscaleTake(shot=self.plan.shot, take=take, maker=self.maker, request=ClipPassRequest(
            kind=STAGE, clip_uri=self.clip_uri, width=self.size[0], height=self.size[1], fps=self.plan.fps,
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

