"""What the passes over a finished clip cost, by shot: its face swaps and its upscale (issue 41).

The estimate's "passes $" column, the scene's expected bill before its first paid call, and the
amount a person approves read this one sum: each face a shot asks to swap (tasks/faceswap.py, one
job per face, priced at the shot's seconds), and where the run upscales its approved takes
(tasks/upscale.py `upscale_costs`: final and hero runs with an upscale model), its upscale.

`pass_job` is the one way a pass's paid job is made: the pass model of the lineup, its
expected time and deadline, and the governor's job call (submitted, followed, found again after a
crash, cancelled at its deadline). The pricing here never calls a provider or reads the ledger.
"""
from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING

from slate.governor.chokepoint import CallSpec, Usage
from slate.providers.base import ClipPassRequest
from slate.providers.keys import MissingKey

if TYPE_CHECKING:
    from slate.governor.ratecard import Pricing
    from slate.tasks.run import Run
    from slate.tasks.upscale import Planned


def swap_costs(plans: Iterable[Planned], model_key: str | None, pricing: Pricing) -> dict[str, Decimal]:
    """By shot of `plans` that asks for a face swap (its plan's `face_swap`): one swap per face,
    priced by the rate card at the shot's seconds; nothing when the run has no face-swap model."""
    if model_key is None:
        return {}
    return {p.shot: pricing.estimate(Usage("faceswap", seconds=p.duration), model_key) * len(faces)
            for p in plans if (faces := getattr(p, "face_swap", None) or [])}


def pass_costs(plans: Iterable[Planned], profile: str, faceswap: str | None, upscale: str | None,
               pricing: Pricing) -> dict[str, Decimal]:
    """By shot: its face swaps and its upscale, each once (the module's docstring)."""
    from slate.tasks.upscale import upscale_costs   # here: tasks/upscale.py makes its jobs with pass_job
    listed = list(plans)
    out = dict(upscale_costs(listed, profile, upscale, pricing))
    for shot, cost in swap_costs(listed, faceswap, pricing).items():
        out[shot] = out.get(shot, Decimal(0)) + cost
    return out


def pass_job(run: Run, spec: CallSpec, model: str, request: ClipPassRequest) -> str:
    """One pass over a clip (`request`, of its kind) made by `model` ("provider:model") as the
    paid job `spec` says: the URI of the clip it made."""
    st = run.crew
    try:
        passer = st.pass_for(model, request.kind)
        expected, deadline = st.job_times(model, passer)
    except MissingKey as exc:   # the key went away mid-run: nothing more can be paid for here
        raise st.governor.halt(f"{exc}; then run the same command again") from None
    delivery = st.governor.job_call(spec, submit=lambda ref: passer.submit(request, client_ref=ref),
                                    poll=passer.poll, download=passer.download, suffix="mp4", deadline=deadline,
                                    expected=expected, poll_interval=passer.poll_interval,
                                    find=lambda ref, since: passer.find_job(ref, since, request=request),
                                    cancel=passer.cancel)
    return delivery.uri
