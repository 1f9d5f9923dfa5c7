"""The budget a run obeys: caps and retry policy, editable on the Prefect UI's Blocks page.

Held in a Prefect Block of type `slate-budget`, one document per film (named by the film id),
created from the settings' defaults the first time a film runs, so the film-maker can raise a
cap or a retry limit in the UI between nightly runs. `slate run --cap USD` overrides the run
cap for one run without touching the block.

It must never be consulted for a decision the ledger makes (admission is the ledger's atomic
reservation); this only says what the limits are.
"""
from __future__ import annotations

import time
from decimal import Decimal

from prefect.blocks.core import Block
from prefect.exceptions import ObjectAlreadyExists
from pydantic import Field

from .ledger import Cap
from .policy import TakePolicy


class SlateBudget(Block):
    """Caps and take policy for one film."""

    _block_type_name = "slate budget"
    _block_type_slug = "slate-budget"
    _description = "slate: per-run and per-film spending caps (USD) and the per-shot take policy."

    run_cap_usd: Decimal = Field(Decimal("25"), ge=0, description="A run is halted before spending past this (USD).")
    film_cap_usd: Decimal = Field(Decimal("250"), ge=0, description="All runs of the film together never pass this (USD).")
    max_takes: int = Field(3, ge=1, le=20, description="Takes of one stage of a shot before it is escalated.")
    no_progress_takes: int = Field(2, ge=1, le=20, description="Escalate when the best gate score has not improved over this many takes.")

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
            return SlateBudget.load(name), False
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
