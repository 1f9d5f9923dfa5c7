"""The ledger's value types: exact money and UTC time as column types, caps, totals, errors.

What it is for: the small, plain types every other part of the ledger and its callers share.
What it must never do: hold a float amount of money (``Money`` refuses one in both
directions), accept a naive datetime, or know about a database connection.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeEngine

from slate.errors import SlateError

from ..money import fmt_usd, usd

__all__ = ["Money", "UTCTimestamp", "Cap", "CapScope", "CAP_SCOPES", "AGENT_CALLER", "Totals", "BudgetRefused",
           "LedgerStateError", "UnknownCall", "LedgerUnavailable", "LedgerUrlInvalid"]

#: What a cap sums: one run's rows; every row of the film; the film's rows of one agent session
#: (its caller, whichever process or run wrote them); or the film's rows of every agent since
#: midnight UTC today.
CapScope = Literal["run", "film", "session", "agents_day"]
CAP_SCOPES: tuple[CapScope, ...] = ("run", "film", "session", "agents_day")
#: How the caller column names an agent (`slate mcp`'s sessions): "agent:<session>".
AGENT_CALLER = "agent:"


class Money(sa.types.TypeDecorator[Decimal]):
    """Decimal dollars, exact on both backends (NUMERIC(18,6) / TEXT on SQLite)."""

    impl = sa.Numeric(18, 6, asdecimal=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Decimal] | TypeEngine[str]:
        if dialect.name == "sqlite":
            # SQLite has no exact decimal type: NUMERIC affinity would turn '0.1' into a REAL.
            return dialect.type_descriptor(sa.String(40))
        return dialect.type_descriptor(sa.Numeric(18, 6, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Decimal | str | None:
        if value is None:
            return None
        d = usd(value)  # rejects float
        return str(d) if dialect.name == "sqlite" else d

    def process_result_value(self, value: Decimal | str | float | None, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, float):  # would mean someone wrote REAL into the column
            raise TypeError(f"ledger money column holds a float {value!r}; refusing to guess")
        return usd(value if isinstance(value, Decimal) else str(value))


class UTCTimestamp(sa.types.TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes (timestamptz / ISO-8601 text on SQLite)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[datetime] | TypeEngine[str]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(40))
        return dialect.type_descriptor(sa.DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | str | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the ledger; use UTC-aware datetimes")
        value = value.astimezone(timezone.utc)
        # Fixed width (microseconds always printed) so text order is time order on SQLite.
        return value.isoformat(timespec="microseconds") if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | str | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.astimezone(timezone.utc)


@dataclass(frozen=True)
class Cap:
    """A spending limit. ``run``: rows with the same run_id; ``film``: all rows of the film;
    ``session``: the film's rows whose caller is ``caller`` (an agent session, over every process
    that used its name); ``agents_day``: the film's rows of every agent caller written today (UTC)."""

    scope: CapScope
    limit: Decimal
    caller: str | None = None

    def __post_init__(self) -> None:
        if self.scope not in CAP_SCOPES:
            raise ValueError(f"cap scope must be one of {', '.join(CAP_SCOPES)}, not {self.scope!r}")
        if (self.scope == "session") != bool(self.caller):
            raise ValueError("a session cap names its caller, and only a session cap does")
        object.__setattr__(self, "limit", usd(self.limit))
        if self.limit < 0:
            raise ValueError(f"cap limit must be >= 0, got {self.limit}")

    @property
    def label(self) -> str:
        """The cap as a person reads it: "per-run cap", "agent session cap (agent:nightly)"."""
        if self.scope == "session":
            return f"agent session cap ({self.caller})"
        if self.scope == "agents_day":
            return "agents' daily cap on this film"
        return f"per-{self.scope} cap"


@dataclass(frozen=True)
class Totals:
    committed: Decimal
    reserved: Decimal

    @property
    def total(self) -> Decimal:
        return self.committed + self.reserved


class BudgetRefused(SlateError):
    """A reservation would take committed + reserved + next call past a cap."""

    def __init__(self, cap: Cap, spent: Decimal, reserved: Decimal, next_call: Decimal, call_id: str | None = None):
        self.cap = cap
        self.spent = spent
        self.reserved = reserved
        self.next_call = next_call
        #: call_id of the ``refused`` row reserve() wrote for the log.
        self.call_id = call_id
        super().__init__(
            f"{cap.label} {fmt_usd(cap.limit)} would be exceeded "
            f"(spent {fmt_usd(spent)}, reserved {fmt_usd(reserved)}, next call {fmt_usd(next_call)}): halted"
        )

    # Keep it picklable across Prefect/multiprocessing boundaries.
    def __reduce__(self) -> tuple[type[BudgetRefused], tuple[Cap, Decimal, Decimal, Decimal, str | None]]:
        return (type(self), (self.cap, self.spent, self.reserved, self.next_call, self.call_id))


class LedgerStateError(SlateError, ValueError):
    """An illegal state transition (e.g. settling a released call)."""


class UnknownCall(SlateError, LookupError):
    """No row with that call_id."""


class LedgerUnavailable(SlateError, RuntimeError):
    """The ledger's database cannot be opened. The message names it with any password masked."""


class LedgerUrlInvalid(LedgerUnavailable, ValueError):
    """The ledger's URL is not one slate can open (its form: scheme, driver, port); a ValueError
    as the engine's own refusal was, so callers that caught that still do."""
