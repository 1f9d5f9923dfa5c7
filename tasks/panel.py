"""Panel take: one paid image generation of a shot's start or end panel.

Its result is a `cas://` URI, cached by the panel request (prompt of locked blocks, reference
URIs, framing, size, the take's seed) plus provider, model and profile: a re-run of a finished
shot pays nothing. It must never call the provider except through the governor.
"""
from __future__ import annotations

from prefect import task

from governor.chokepoint import CallContext, CallSpec, Units
from providers.base import CharacterRef, PanelRequest
from tasks.cache import ContentKey
from tasks.context import RunSpec, emit, studio

PANEL_VERSION = "panel-take-v1"


def panel_from_dict(request: dict) -> PanelRequest:
    return PanelRequest(**{**request, "characters": tuple(
        c if isinstance(c, CharacterRef) else CharacterRef(**c) for c in request["characters"])})


@task(name="panel-take", cache_policy=ContentKey(stage=PANEL_VERSION), result_serializer="json",
      task_run_name="panel {shot} {moment} take {take}")
def panel_take(run: RunSpec, shot: str, moment: str, take: int, request: dict, provider: str, model: str,
               profile: str) -> str:
    st = studio(run)
    req = panel_from_dict(request)
    emit(shot=shot, stage="panel", take=take, moment=moment, status="drawing")
    spec = CallSpec(
        context=CallContext(run.run_id, run.film, run.scene, shot, "panel", take, provider, model, profile),
        units=Units("image", images=1, resolution=f"{req.height}p"),
        fingerprint=req.fingerprint(), prompt=req.prompt,
        references=tuple([req.plate_uri, *(c.turnaround_uri for c in req.characters)]
                         + ([req.override_uri] if req.override_uri else [])),
        parameters={"width": req.width, "height": req.height, "seed": req.seed, "moment": moment})
    png = st.governor.sync_call(spec, lambda call_id: st.images.generate_panel(req, client_ref=call_id),
                                recover=getattr(st.images, "recover", None))
    return st.storage.put_bytes(png, "png")
