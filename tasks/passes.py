"""What the passes over a finished clip cost, by shot: its face swaps and its upscale (issue 41).

The estimate's "passes $" column, the scene's expected bill before its first paid call, and the
amount a person approves read this one sum: each face a shot asks to swap (tasks/faceswap.py, one
job per face, priced at the shot's seconds), and where the run upscales its approved takes
(tasks/upscale.py `upscale_costs`: final and hero runs with an upscale model), its upscale.

A pass's paid job is made as every job is (tasks/jobs.py). The pricing here never calls a
provider or reads the ledger.
"""
from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING

from slate.governor.chokepoint import Usage
from slate.tasks.upscale import upscale_costs

if TYPE_CHECKING:
    from slate.governor.ratecard import Pricing
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
    listed = list(plans)
    out = dict(upscale_costs(listed, profile, upscale, pricing))
    for shot, cost in swap_costs(listed, faceswap, pricing).items():
        out[shot] = out.get(shot, Decimal(0)) + cost
    return out
