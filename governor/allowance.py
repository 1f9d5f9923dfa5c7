"""What a person approved for a scene's final video, as an amount, and what has been taken from it.

A person approving finals approves the shots and their clips' estimate — an amount. Each video
take of the scene in that run is charged against it before it is sent: the approved shots'
first takes were counted in, so they always fit; a retake (a clip that failed its keyframe
gate, or a fallback model's take) fits only in what is left — the retake allowance the person
gave up front, plus what later approvals added. A retake that does not fit is not sent: the
shot waits for a person again (flows/scene.py asks, with what was spent, why, and what the
retake costs).

One `FinalsAllowance` per (run, scene), kept in the run's `Allowances` (which the run's
soundstage holds, tasks/soundstage.py, and drops when the run ends), seeded from the ledger's
video rows of the run and scene, so a run that resumes (a suspended deployment run starts again from the top, its
takes coming back from the cache) charges each take it already made once, whatever order its
shots now arrive in.

It must never send or refuse a paid call itself (the governor does), never count a take twice,
and never let the amount shrink.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from decimal import Decimal

__all__ = ["Allowances", "FinalsAllowance", "Shortfall"]

#: Ledger states of a video row that was sent (or is being sent): what it charged.
_SENT = ("reserved", "submitted", "succeeded", "failed", "unknown")


@dataclass(frozen=True)
class Shortfall:
    """A take that does not fit the approved amount: what it costs and where that would take it."""

    cost: Decimal
    approved: Decimal
    charged: Decimal      # what the takes already admitted come to

    @property
    def would_be(self) -> Decimal:
        return self.charged + self.cost


@dataclass
class FinalsAllowance:
    approved: Decimal
    charges: dict[tuple[str, int], Decimal] = field(default_factory=dict)   # (shot, take) -> its estimate
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def charged(self) -> Decimal:
        return sum(self.charges.values(), Decimal(0))

    @property
    def left(self) -> Decimal:
        return max(Decimal(0), self.approved - self.charged)

    def approve(self, total: Decimal) -> None:
        """A person approved `total` in all for this scene's final video (never less than before)."""
        with self._lock:
            self.approved = max(self.approved, Decimal(total))

    def admit(self, shot: str, take: int, cost: Decimal) -> Shortfall | None:
        """Charge take `take` of `shot` at `cost`: None when it fits (or was charged before),
        else the Shortfall, and nothing is charged."""
        key = (shot, int(take))
        with self._lock:
            if key in self.charges:
                return None
            if self.charged + cost > self.approved:
                return Shortfall(Decimal(cost), self.approved, self.charged)
            self.charges[key] = Decimal(cost)
            return None


class Allowances:
    """The finals allowances of one run's scenes, by (run id, scene); it lives as long as the run."""

    def __init__(self) -> None:
        self._by_scene: dict[tuple[str, str], FinalsAllowance] = {}
        self._lock = threading.Lock()

    def for_scene(self, run_id: str, scene: str, approved: Decimal, first_takes: dict[str, Decimal],
                  ledger_rows=lambda: ()) -> FinalsAllowance:
        """The scene's allowance in this run: made once (the approved shots' first takes charged,
        and every video take the ledger — `ledger_rows()`, read then — shows this run already
        sent), then only ever raised."""
        with self._lock:
            found = self._by_scene.get((run_id, scene))
            if found is None:
                charges = {(shot, 1): Decimal(cost) for shot, cost in first_takes.items()}
                for row in ledger_rows():
                    if row.run_id == run_id and row.scene == scene and row.stage == "video" and row.status in _SENT:
                        charges.setdefault((row.shot, int(row.take)), Decimal(row.estimate))
                found = self._by_scene[(run_id, scene)] = FinalsAllowance(Decimal(approved), charges)
        found.approve(Decimal(approved))
        return found
