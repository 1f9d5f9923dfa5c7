"""A run's limits once resolved: its run and film caps and its take policy, each with where its
value came from (governor/budget.py `resolve_limits` makes them).

Kept apart from the budget block so what only reads limits (a run's crew, the reel's can keys on a
served film) never imports Prefect. It must never read a setting or a block itself.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from .ledger import Cap
from .policy import TakePolicy

LIMITS = ("run_cap_usd", "film_cap_usd", "max_takes", "no_progress_takes")


@dataclass(frozen=True)
class Limits:
    """A run's caps and take policy, resolved: each value and where it came from."""

    run_cap_usd: Decimal
    film_cap_usd: Decimal
    max_takes: int
    no_progress_takes: int
    origins: dict[str, str] = field(default_factory=dict)     # limit -> where its value came from
    unused: list[str] = field(default_factory=list)          # slate.toml values a UI edit overrides, said

    def caps(self) -> list[Cap]:
        return [Cap("run", self.run_cap_usd), Cap("film", self.film_cap_usd)]

    def takes(self) -> TakePolicy:
        return TakePolicy(self.max_takes, self.no_progress_takes)

    def said(self, name: str) -> str:
        """One limit as a person reads it: its value and where it came from."""
        value = getattr(self, name)
        shown = f"${value:.2f}" if isinstance(value, Decimal) else str(value)
        return f"{shown} ({self.origins.get(name, 'default')})"
