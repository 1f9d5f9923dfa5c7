"""A recipe step: one single image edit of a shot's start panel, one paid call.

Image-edit models do one edit at a time ("empty the bag", then "fill the bag with small
candies"), so a shot may carry an ordered recipe in its manifest; each step is one call through
the governor with its own ledger row (stage `panel_edit`, the step in its parameters), its
output stored by content, and the next step starts from it. The call is cached by content (the
step's instruction, the picture it edits, provider, model, variant and profile): a re-run pays
for no step it already made. The panel gate judges what the last step made.

The prompt lint's rule for one instruction that asks for several changes at once (`make the
candies smaller and keep the colours`: a warning, never a refusal) is providers/prompts.py
`several_changes`, beside the lint's other rules (`slate check` and `slate bible --edit` print it).

It must never call the provider except through the governor.
"""
from __future__ import annotations

from dataclasses import replace

from prefect import task

from slate.governor.chokepoint import Answer, CallSpec, Usage
from slate.providers.base import fingerprint
from slate.tasks.run.cache import ContentKey
from slate.tasks.run.run import Run, emit
from slate.tasks.shot.panel import by_job, draws_by_job
from slate.tasks.shot.take_inputs import PanelEdit
from slate.tasks.run.versions import PANEL_EDIT_VERSION

@task(name="panel-edit", cache_policy=ContentKey(stage=PANEL_EDIT_VERSION), result_serializer="json",
      task_run_name="panel edit {given.shot} take {given.take} step {given.step}")
def panel_edit(run: Run, given: PanelEdit) -> str:
    """Step `step` (1-based) of the shot's recipe, applied to `source_uri`; the edited panel's URI."""
    st = run.crew
    shot, take, step, instruction, source_uri = given.shot, given.take, given.step, given.instruction, given.source_uri
    provider, model, variant, profile = given.maker.provider, given.maker.model, given.maker.variant, given.maker.profile
    base = given.request
    # The panel model edits the picture it is given (the override path: image-to-image).
    req = replace(base, prompt=instruction, override_uri=source_uri)
    emit(run, scene=run.scene, shot=shot, stage="panel", take=take, moment="start", status=f"editing (step {step})")
    spec = CallSpec(
        context=run.call_at(shot, "panel_edit", take, provider, model, profile=profile),
        units=Usage("image", images=1, resolution=f"{req.height}p"),
        fingerprint=fingerprint({"edit": req.fingerprint(), "step": step, "variant": variant}), prompt=instruction,
        references=(source_uri,), parameters={"step": step, "width": req.width, "height": req.height, **variant})
    images = st.images
    if draws_by_job(images):
        return by_job(run, spec, images, req).uri
    return st.governor.sync_call(
        spec, lambda call_id: Answer(images.generate_panel(req, client_ref=call_id), "png"), repeatable=True).uri
