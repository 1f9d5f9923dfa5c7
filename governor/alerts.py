"""Budget events: a Prefect event when a run's spending crosses 80% and 100% of a cap.

The governor calls `BudgetAlerts.check` after every reservation, every settled call and every
refusal by a cap. When committed + reserved spend of a cap's scope (this run, or the whole
film) reaches 80% of the cap it emits `slate.budget.warning`; when it reaches the cap, or a
call is refused by it, `slate.budget.cap-reached` — each once per cap per run. The resource is
the film, `slate.film.<film id>`, so an automation can match every film by that prefix (the
one `slate up` creates pauses the work pool on cap-reached); the flow run is a related resource.

Events report; they never decide. Admission stays the ledger's atomic reservation, which has
already refused the call that would pass the cap before any event goes out.

It must never raise into a paid call or hold one up: a failed emission is logged once and the
call goes on. It must never put a key, a prompt or a URL into an event.
"""
from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import yaml

from slate.manifests.load import FILM_FILENAMES

from .ledger import BudgetRefused, Cap, CapScope, Ledger

if TYPE_CHECKING:
    from prefect.events import Event

log = logging.getLogger("slate.governor")

WARNING_EVENT = "slate.budget.warning"
CAP_REACHED_EVENT = "slate.budget.cap-reached"
WARNING_SHARE = Decimal("0.8")
RESOURCE_PREFIX = "slate.film."


@dataclass(frozen=True)
class Crossing:
    """One cap passing one mark: what the event says."""

    event: str
    scope: CapScope
    spent: Decimal       # committed + reserved in the cap's scope
    cap: Decimal
    refused: bool = False


def film_title(root: Path, film_id: str) -> str:
    """The film's title from its film.yaml (read lightly: the run has already validated it)."""
    for name in FILM_FILENAMES:
        path = Path(root) / name
        if path.is_file():
            try:
                doc = yaml.safe_load(path.read_text()) or {}
                return str(doc.get("title") or film_id)
            except (OSError, yaml.YAMLError, AttributeError):
                break
    return film_id


def crossings(spent_by_scope: Mapping[CapScope, Decimal], caps: Sequence[Cap],
              refused: BudgetRefused | None) -> list[Crossing]:
    """The marks each cap has reached, given what its scope has spent (pure: tests call it)."""
    out = []
    for cap in caps:
        spent = spent_by_scope[cap.scope]
        was_refused = refused is not None and refused.cap.scope == cap.scope
        if cap.limit > 0 and spent >= cap.limit * WARNING_SHARE:
            out.append(Crossing(WARNING_EVENT, cap.scope, spent, cap.limit))
        if was_refused or (cap.limit > 0 and spent >= cap.limit):
            out.append(Crossing(CAP_REACHED_EVENT, cap.scope, spent, cap.limit, refused=was_refused))
    return out


#: A budget event's payload: amounts as decimal text, a share, whether a cap refused a call.
Payload = dict[str, str | bool | None]


class Emit(Protocol):
    """How a budget event leaves the process: Prefect's `emit_event`, or a test's recorder."""

    def __call__(self, *, event: str, resource: dict[str, str], related: list[dict[str, str]],
                 payload: Payload) -> object: ...


def _prefect_emit(*, event: str, resource: dict[str, str], related: list[dict[str, str]],
                  payload: Payload) -> Event | None:
    """Emit through Prefect, from inside a flow or task run only: that run's server is up. Outside
    one (a script driving the governor), Prefect would start an embedded server just for this."""
    from prefect.context import FlowRunContext, TaskRunContext
    if FlowRunContext.get() is None and TaskRunContext.get() is None:
        return None
    from prefect.events import emit_event
    return emit_event(event=event, resource=resource, related=related, payload=payload)


@dataclass
class BudgetAlerts:
    """The budget events of one run in this process."""

    film: str
    title: str
    run_id: str
    emit: Emit = _prefect_emit
    sent: set[tuple[CapScope, str]] = field(default_factory=set)   # (cap scope, event) already emitted
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _failed_once: bool = False

    def check(self, ledger: Ledger, caps: Sequence[Cap], refused: BudgetRefused | None = None) -> None:
        """Emit what this run has newly crossed. Never raises."""
        # An agent's session and daily caps are the agent's own levers, said to it by `slate mcp`:
        # no event for them (a film's cap-reached pauses the work pool for everyone's runs).
        caps = [c for c in caps if c.scope in ("run", "film")]
        if refused is not None and refused.cap.scope not in ("run", "film"):
            refused = None
        try:
            if refused is None and len(self.sent) >= 2 * len(caps):
                return  # every mark already reported: no need to sum the ledger again
            spent: dict[CapScope, Decimal] = {}
            for scope in {c.scope for c in caps}:
                spent[scope] = ledger.totals(film=self.film, run_id=self.run_id if scope == "run" else None).total
            new: list[Crossing] = []
            with self._lock:
                for crossing in crossings(spent, caps, refused):
                    if (crossing.scope, crossing.event) not in self.sent:
                        self.sent.add((crossing.scope, crossing.event))
                        new.append(crossing)
            for crossing in new:
                self._emit(crossing)
        except Exception as exc:  # noqa: BLE001 — an event is never worth a paid call
            self._complain(exc)

    def _emit(self, crossing: Crossing) -> None:
        resource = {"prefect.resource.id": f"{RESOURCE_PREFIX}{self.film}",
                    "prefect.resource.name": self.title,
                    "slate.cap": crossing.scope,
                    "slate.spent": str(crossing.spent),
                    "slate.cap-usd": str(crossing.cap)}
        related: list[dict[str, str]] = []
        if _is_flow_run_id(self.run_id):
            related.append({"prefect.resource.id": f"prefect.flow-run.{self.run_id}",
                            "prefect.resource.role": "flow-run"})
        share = (crossing.spent / crossing.cap * 100).quantize(Decimal("0.1")) if crossing.cap > 0 else None
        payload: Payload = {"film": self.film, "run_id": self.run_id, "cap": crossing.scope,
                            "spent_usd": str(crossing.spent), "cap_usd": str(crossing.cap),
                            "percent": None if share is None else str(share), "refused": crossing.refused}
        self.emit(event=crossing.event, resource=resource, related=related, payload=payload)
        log.info("%s: %s cap of film %s at %s of %s", crossing.event, crossing.scope, self.film,
                 crossing.spent, crossing.cap)

    def _complain(self, exc: Exception) -> None:
        if not self._failed_once:
            self._failed_once = True
            log.warning("budget events of run %s could not be emitted (%s: %s); spending is still capped "
                        "by the ledger", self.run_id, type(exc).__name__, exc)


def _is_flow_run_id(text: str) -> bool:
    try:
        uuid.UUID(text)
        return True
    except ValueError:
        return False
