"""The budget a run obeys: caps and take policy, one answer each, and where it came from.

The film's limits (its run and film caps, takes per shot, takes without progress) are written in
slate.toml and held in a Prefect Block of type `slate-budget`, one document per film (named by the
film id), so a film-maker can change them in the UI between nightly runs. Two places could
disagree, so `resolve_limits` is the one answer, and it says where each value came from:

  1. what this run was told (`slate run --cap`, the run form, an agent's session cap);
  2. the block, where a person edited it on the Blocks page (its value differs from the
     slate.toml value slate last wrote into it: `written_from`);
  3. slate.toml / SLATE_* / the declared default — and the block follows it: when slate.toml
     changes and nobody edited the block in the UI, the block is written again, so the UI shows
     what the runs obey.

So editing slate.toml always takes effect, unless the block was edited in the UI since; then the
block wins and the run says, by name, which slate.toml value it did not use. A block made before
`written_from` existed has no record: where it differs from slate.toml it is taken as edited.

It must never be consulted for a decision the ledger makes (admission is the ledger's atomic
reservation); this only says what the limits are, and it never writes a told value (one run's
`--cap 0.50` rehearsal) into the block.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from prefect.blocks.core import Block
from prefect.exceptions import ObjectAlreadyExists
from pydantic import Field

from slate.manifests.options import RunOptions

from .ledger import Cap
from .limits import LIMITS, Limits
from .policy import TakePolicy

if TYPE_CHECKING:
    from slate.manifests.settings import Settings


def _default(name: str) -> Any:   # pydantic keeps a field's default as Any
    """A limit's default is RunOptions' (manifests/options.py): written once, there."""
    return RunOptions.model_fields[name].default


class SlateBudget(Block):
    """Caps and take policy for one film."""

    _block_type_name = "slate budget"
    _block_type_slug = "slate-budget"
    _description = "slate: per-run and per-film spending caps (USD) and the per-shot take policy."

    run_cap_usd: Decimal = Field(_default("run_cap_usd"), ge=0, description="A run is halted before spending past this (USD).")
    film_cap_usd: Decimal = Field(_default("film_cap_usd"), ge=0, description="All runs of the film together never pass this (USD).")
    max_takes: int = Field(_default("max_takes"), ge=1, le=20, description="Takes of one stage of a shot before it is escalated.")
    no_progress_takes: int = Field(_default("no_progress_takes"), ge=1, le=20, description="Escalate when the best gate score has not improved over this many takes.")

    written_from: dict[str, str] = Field(default_factory=dict, description="What slate.toml said when slate "
                                         "last wrote this block (a value differing from it was edited here).")

    def caps(self) -> list[Cap]:
        return [Cap("run", self.run_cap_usd), Cap("film", self.film_cap_usd)]

    def takes(self) -> TakePolicy:
        return TakePolicy(self.max_takes, self.no_progress_takes)


def block_name(film_id: str) -> str:
    # Block document names allow lowercase letters, digits and dashes.
    return "".join(c if c.isalnum() else "-" for c in film_id.lower()).strip("-") or "film"


def load_or_create(film_id: str, defaults: SlateBudget, *, within: float = 30.0) -> tuple[SlateBudget, bool]:
    """The film's budget block from the server, or the defaults saved as it (created=True).

    The scenes of a film start at once, on one worker or several, and each asks for the block.
    On a server that has never seen one, two saves at the same moment both fail while the
    block's type is being registered, and a scene that then read the block found none: seen
    as a film stopped at its start by "Unable to find block document". So reading and saving
    are tried again until one of them holds (at most `within` seconds); whoever saved first,
    theirs stands."""
    name = block_name(film_id)
    deadline = time.monotonic() + within
    while True:
        try:
            # Prefect types `load` as "the block, or a coroutine of it" (it dispatches on whether an
            # event loop runs); called from sync code, as here, it is the block.
            return SlateBudget.load(name), False  # type: ignore[return-value]
        except ValueError:  # no such block document yet
            pass
        try:
            defaults.save(name, overwrite=False)
            return defaults, True
        except (ObjectAlreadyExists, ValueError):
            # Another scene saving at the same moment (Prefect 3.8.8 turns the 409 into
            # ValueError "a name that is already in use"): read theirs, once it is there.
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


#: The block's limits, each a field of the block and a run option of the same name.
def film_block(film: Settings) -> SlateBudget:
    """The block as slate writes it from the film's own settings (slate.toml, SLATE_*, defaults),
    recording what it wrote, so a later difference reads as a person's edit."""
    own = {name: getattr(film, name) for name in LIMITS}
    return SlateBudget(**own, written_from={name: _spelt(v) for name, v in own.items()})


def make_block(film_id: str, film: Settings) -> SlateBudget:
    """The film's block on the server, made from its settings if there is none yet (`slate up`,
    the studio's setup, a film's first run)."""
    return load_or_create(film_id, film_block(film))[0]


def _spelt(value: object) -> str:
    return str(value)


def resolve_limits(film_id: str, film: Settings, told: Mapping[str, object], *,
                   origin_of: Callable[[str], tuple[str, str]] | None = None,
                   block: SlateBudget | None = None, save: bool = True) -> Limits:
    """The run's limits (see the module's docstring for the order), from the film's own settings
    `film` (slate.toml, SLATE_*, defaults — never one run's flags), what this run was `told` (by
    option name), and the film's block on the Prefect server (made from `film` the first time;
    `block` given: that one, read elsewhere). `origin_of(name)` names where a film setting came
    from (manifests.settings.setting_origin); `save`: write the block again where it follows
    slate.toml (False: only say)."""
    own = {name: getattr(film, name) for name in LIMITS}
    written = {name: _spelt(v) for name, v in own.items()}
    if block is None:
        block = make_block(film_id, film)
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    unused: list[str] = []
    follow: dict[str, Any] = {}
    where = block_name(film_id)
    for name in LIMITS:
        held = getattr(block, name)
        recorded = block.written_from.get(name)
        edited = _spelt(held) != (recorded if recorded is not None else written[name])
        if told.get(name) is not None:
            values[name], origins[name] = told[name], "told to this run"
        elif edited:
            values[name], origins[name] = held, f"the budget block slate-budget/{where}, edited in the UI"
            if _spelt(held) != written[name]:
                source = origin_of(name) if origin_of else ("slate.toml", name)
                unused.append(f"{source[0]}: {source[1]} = {own[name]} is not used: the budget block "
                              f"slate-budget/{where} was edited in the UI to {held} (edit it there, or set it "
                              f"there to follow slate.toml)")
        else:
            values[name] = own[name]
            if name in _set_in(film):
                source = origin_of(name) if origin_of else ("slate.toml", name)
                origins[name] = f"{source[0]}: {source[1]}"
            else:
                origins[name] = "slate's default"
            if _spelt(held) != written[name] or recorded is None:
                follow[name] = own[name]
    if follow and save:
        # The block follows slate.toml: the UI shows what the runs obey. Several scenes may do
        # this at once with the same values; the last save stands, and it says the same.
        updated = block.model_copy(update={**follow, "written_from": {**block.written_from,
                                                                     **{n: written[n] for n in follow}}})
        try:
            updated.save(where, overwrite=True)
        except Exception:  # noqa: BLE001 — the run obeys slate.toml either way; the UI catches up next run
            pass
    return Limits(**values, origins=origins, unused=unused)


def _set_in(film: Settings) -> set[str]:
    """The fields the film's settings were given (slate.toml, SLATE_*), not left at their default."""
    return set(getattr(film, "model_fields_set", set()))
