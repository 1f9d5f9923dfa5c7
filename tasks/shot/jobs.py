"""One paid job: how a clip, a lip-sync, a face swap and an upscale are asked of their model.

Every stage whose model answers with a job (providers.base.Jobs: a video, lip-sync or pass model)
describes its call one way, `job_spec` — the ledger's who-and-why (the shot, the stage, the take,
the maker's provider, model and profile), the units the rate card prices, the fingerprint of what
is asked with the maker's variant, the files it is made from and its parameters with the variant
over them — and makes it one way, `paid_job`: the model's client from the run's crew, its expected
time and deadline, and the governor's job call (submitted, followed, found again after a crash,
cancelled at its deadline). What differs between stages is only what they say: their request, its
units, its references and its parameters.

It must never submit a job itself (only the governor does), nor hold a key.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from slate.governor.chokepoint import CallSpec, Usage
from slate.providers.base import Jobs, fingerprint
from slate.providers.keys import MissingKey
from slate.providers.spec import Capability

if TYPE_CHECKING:
    from slate.tasks.run.run import Run
    from slate.tasks.shot.take_inputs import Maker

Req = TypeVar("Req")


class _Asked(Protocol):
    def fingerprint(self) -> str: ...


def job_spec(run: Run, stage: str, shot: str, take: int, maker: Maker, request: _Asked, units: Usage, *,
             references: Iterable[str | None], parameters: Mapping[str, Any], prompt: str = "") -> CallSpec:
    """The paid call of take `take` of `shot`'s `stage`, `request` made by `maker`: priced by
    `units`, keyed by the request and the maker's variant, its files (`references`, the empty ones
    left out) and `parameters` written beside it, the variant over them."""
    return CallSpec(
        context=run.call_at(shot, stage, take, maker.provider, maker.model, profile=maker.profile),
        units=units, fingerprint=fingerprint({"request": request.fingerprint(), "variant": maker.variant}),
        prompt=prompt, references=tuple(u for u in references if u), parameters={**parameters, **maker.variant})


def paid_job(run: Run, capability: Capability[Jobs[Req]], maker: Maker, spec: CallSpec, request: Req, *,
             held: Callable[[Jobs[Req]], AbstractContextManager[object]] | None = None) -> str:
    """`request` made by `maker`'s model for `capability` as the paid job `spec` says, through the
    governor: the URI of what it made. `held(jobs)`: what the job is made within (a video key's
    slot), entered before it is submitted and left when it ends. A key gone mid-run halts the run:
    nothing more can be paid for."""
    st = run.crew
    model = f"{maker.provider}:{maker.model}"
    try:
        jobs = st.service(capability, model)
        expected, deadline = st.job_times(model, jobs)
        within = held(jobs) if held is not None else nullcontext()
    except MissingKey as exc:
        raise st.governor.halt(f"{exc}; then run the same command again") from None
    with within:
        return st.governor.job(spec, jobs, request, deadline=deadline, expected=expected).uri
