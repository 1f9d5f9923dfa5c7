"""Panel take: one paid image generation of a shot's start or end panel.

Its result is a `cas://` URI, cached by the panel request (prompt of locked blocks, reference
URIs, framing, size, the take's seed) plus provider, model, the provider's variant (settings
that change what it draws) and profile: a re-run of a finished shot pays nothing. The governor
stores the panel before it settles the call, so even without this cache a succeeded call is
never paid again. A provider whose panels are jobs (Replicate, fal: `submit_panel`) is followed
like a clip — its job id in the ledger before the first poll, re-attached after a crash, and
attachable by `slate reconcile --job`; one that answers in one request (Gemini, the local
painter) is a one-answer call, looked up by the call id where the provider keeps answers.
It must never call the provider except through the governor.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Protocol, TypeGuard

from prefect import task

from slate.governor.chokepoint import Answer, CallArtifact, CallSpec, Usage
from slate.providers.base import ImageGenerator, JobStatus, PanelJobs, PanelRequest, fingerprint
from slate.tasks.run.cache import ContentKey
from slate.tasks.run.run import Run, emit
from slate.tasks.run.lint import check_before_paying
from slate.tasks.shot.take_inputs import PanelTake
from slate.tasks.run.versions import PANEL_VERSION  # bumped there


def draws_by_job(images: ImageGenerator) -> TypeGuard[PanelJobs]:
    """Whether the image model's panels are jobs (it offers `submit_panel`)."""
    return hasattr(images, "submit_panel")


class KeepsPanels(Protocol):
    """An image model that keeps its answers by our call id (`recover`: the local painter)."""

    def recover(self, client_ref: str) -> bytes | None: ...


def keeps_panels(images: ImageGenerator) -> TypeGuard[KeepsPanels]:
    return hasattr(images, "recover")


def _png(data: bytes | None) -> Answer | None:
    return None if data is None else Answer(data, "png")


@task(name="panel-take", cache_policy=ContentKey(stage=PANEL_VERSION), result_serializer="json",
      task_run_name="panel {given.shot} {given.moment} take {given.take}")
def panel_take(run: Run, given: PanelTake) -> str:
    st = run.crew
    shot, moment, take = given.shot, given.moment, given.take
    provider, model, variant, profile = given.maker.provider, given.maker.model, given.maker.variant, given.maker.profile
    req = given.request
    check_before_paying(run.root, req.prompt, f"{provider}:{model}", "panel", shot=shot,
                        with_references=bool(req.characters))
    emit(run, scene=run.scene, shot=shot, stage="panel", take=take, moment=moment, status="drawing")
    spec = CallSpec(
        context=run.call_at(shot, "panel", take, provider, model, profile=profile),
        units=Usage("image", images=1, resolution=f"{req.height}p"),
        fingerprint=fingerprint({"request": req.fingerprint(), "variant": variant}), prompt=req.prompt,
        references=tuple([req.plate_uri, *(c.turnaround_uri for c in req.characters)]
                         + ([req.override_uri] if req.override_uri else [])),
        parameters={"width": req.width, "height": req.height, "seed": req.seed, "moment": moment, **variant})
    images = st.images
    if draws_by_job(images):
        return by_job(run, spec, images, req).uri
    keeper = images if keeps_panels(images) else None
    # A panel whose answer was lost and cannot be looked up is asked again, once (written down).
    delivery = st.governor.sync_call(
        spec, lambda call_id: Answer(images.generate_panel(req, client_ref=call_id), "png"),
        recover=(lambda call_id: _png(keeper.recover(call_id))) if keeper is not None else None, repeatable=True)
    return delivery.uri


def by_job(run: Run, spec: CallSpec, images: PanelJobs, req: PanelRequest) -> CallArtifact:
    """A panel drawn as a job: its job id in the ledger before the first poll, re-attached after
    a crash (the panel take, a recipe's step, a bible version drawn by a panel model)."""
    c = spec.context
    expected, deadline = run.crew.job_times(f"{c.provider}:{c.model}", images)
    return run.crew.governor.job_call(
        spec, submit=lambda ref: images.submit_panel(req, client_ref=ref), poll=images.poll,
        download=lambda job_id, dest: images.download_panel(job_id, dest, req.width, req.height), suffix="png",
        deadline=deadline, expected=expected, poll_interval=images.poll_interval,
        find=lambda ref, since: images.find_job(ref, since, request=req), cancel=images.cancel)
