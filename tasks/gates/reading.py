"""A pass's own check written down: the upscale check, the swap gate and the sync gate each read
what their pass made (slate's own measures, no judge asked, nothing paid) and write their reading
into the ledger as one $0 decision row beside the pass's paid calls.

The row is one shape for every such check: the shot, the check's stage and the take, the maker
whose output was read, the fingerprint of everything the check was given (its typed input), the
files it read, its readings, and a word (`…Passed`/`…Failed`) with the reason a person reads.

It must never call a provider, and never decide: the take loop decides from the reading.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from slate.governor.chokepoint import CallSpec, Usage
from slate.providers.base import fingerprint

if TYPE_CHECKING:
    from slate.tasks.run.run import Run
    from slate.tasks.shot.take_inputs import Maker


def note_reading(run: Run, *, shot: str, stage: str, take: int, maker: Maker, given: Any, units: Usage,
                 references: Iterable[str], readings: Mapping[str, Any], word: str, reason: str) -> None:
    """Write check `stage`'s reading of take `take` of `shot` (made by `maker`) into the ledger:
    keyed by its whole input `given` (a pydantic model), `readings` as its parameters, `word` as
    the row's kind and `reason` as its message."""
    run.crew.governor.note(CallSpec(
        context=run.call_at(shot, stage, take, maker.provider, maker.model, profile=maker.profile),
        units=units, fingerprint=fingerprint(given.model_dump(mode="json")), references=tuple(references),
        parameters=dict(readings)), word, reason)
