"""The durable ledger of paid calls and the atomic budget reservation.

What it is for: every paid provider call is one row in ``paid_calls``, written
*before* the call is submitted (an intent), updated with the provider's job id before
any polling, and settled with the actual cost afterwards. The same table is the
budget: ``reserve`` admits a call only if every cap still has room for its estimate.

What it must never do:
  * admit a call that would take committed + reserved past a cap, however many
    workers (threads, processes, machines) reserve at once;
  * forget money: a call whose outcome is unknown counts as spent until a person or
    a re-attachment proves otherwise; rows are never deleted;
  * use float for money (see ``governor.money``), or change its own schema outside
    ``governor.migrations``.

Accounting rule (per film, or per run for a run-scoped cap)
------------------------------------------------------------
    committed = sum(actual_cost of succeeded and failed rows)
              + sum(estimate of submitted rows)   # in flight: the job will be paid
              + sum(estimate of unknown rows)     # unknown outcomes count as spent
    reserved  = sum(estimate of reserved rows)    # admitted, not yet submitted
    released and refused rows count 0.

A call with estimate ``e`` is admitted only if ``committed + reserved + e <= limit``
for EVERY cap in ``cap_scopes``; admission inserts the row (status ``reserved``) in
the same transaction as the sums. A run-scoped cap sums the rows with the same
``run_id``; a film-scoped cap sums every row of the film, across runs.

Why a lock, not just "check then insert"
----------------------------------------
Without serialization two workers can both read committed + reserved = $9.00 under a
$10 cap, both see room for a $0.90 call, and both insert: $10.80 admitted. Each
worker's check was correct for the snapshot it read; the overshoot grows with the
number of concurrent workers (LiteLLM's session caps were overshot "by a multiple of
request concurrency" this way). So the sum and the insert happen under one lock:

  * SQLite: every write transaction starts with ``BEGIN IMMEDIATE``, which takes the
    database's single write lock before the sums are read; other writers wait
    (busy_timeout 30 s). WAL mode lets readers continue meanwhile. The pysqlite driver
    is told not to begin transactions itself (``isolation_level=None``) because its
    default deferred BEGIN would only take the lock at the INSERT, after the read.
  * Postgres: ``pg_advisory_xact_lock`` on the film (and the run) is taken first in
    the transaction; the sums then run in READ COMMITTED (forced on the engine), so
    each statement sees everything the previous lock holder committed. Under
    REPEATABLE READ the snapshot would predate the lock and the lock would be useless.

``mark_submitted``/``settle``/``fail``/``release``/``mark_unknown`` do not take the
budget lock: they only move a row between states whose counted amount stays the same
or shrinks (given actual <= estimate), so they cannot make an admission wrong. When a
provider charges more than it estimated, totals may exceed the cap; the next reserve
then sees it and refuses.
"""

from __future__ import annotations

import json
import os
import tomllib
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from . import migrations
from .money import fmt_usd, usd

__all__ = [
    "Ledger",
    "Cap",
    "CallRequest",
    "Reservation",
    "CallRow",
    "Totals",
    "BudgetRefused",
    "LedgerStateError",
    "UnknownCall",
    "make_engine",
    "paid_calls",
    "STATUSES",
    "OPEN_STATUSES",
]

STATUSES = migrations.STATUSES
#: Intents that may still cost money and must be re-attached or resolved after a crash.
OPEN_STATUSES = ("reserved", "submitted", "unknown")
# Which rows count, and by which column (see "Accounting rule").
_COMMITTED_BY_ACTUAL = ("succeeded", "failed")
_COMMITTED_BY_ESTIMATE = ("submitted", "unknown")
_RESERVED_BY_ESTIMATE = ("reserved",)
_COUNTED = _COMMITTED_BY_ACTUAL + _COMMITTED_BY_ESTIMATE + _RESERVED_BY_ESTIMATE


# --------------------------------------------------------------------------- types


class Money(sa.types.TypeDecorator):
    """Decimal dollars, exact on both backends (NUMERIC(18,6) / TEXT on SQLite)."""

    impl = sa.Numeric(18, 6, asdecimal=True)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(40))
        return dialect.type_descriptor(sa.Numeric(18, 6, asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        d = usd(value)  # rejects float
        return str(d) if dialect.name == "sqlite" else d

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, float):  # would mean someone wrote REAL into the column
            raise TypeError(f"ledger money column holds a float {value!r}; refusing to guess")
        return usd(value if isinstance(value, Decimal) else str(value))


class UTCTimestamp(sa.types.TypeDecorator):
    """Timezone-aware UTC datetimes (timestamptz / ISO-8601 text on SQLite)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(40))
        return dialect.type_descriptor(sa.DateTime(timezone=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the ledger; use UTC-aware datetimes")
        value = value.astimezone(timezone.utc)
        return value.isoformat() if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.astimezone(timezone.utc)


# The live table. Its DDL is owned by governor.migrations; this object is only used
# to build statements, never to create tables (no metadata.create_all anywhere).
_metadata = sa.MetaData()
paid_calls = sa.Table(
    "paid_calls",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("call_id", sa.String(64), nullable=False, unique=True),
    sa.Column("run_id", sa.String(200), nullable=False),
    sa.Column("film", sa.String(200), nullable=False),
    sa.Column("scene", sa.String(200), nullable=False),
    sa.Column("shot", sa.String(200), nullable=False),
    sa.Column("stage", sa.String(100), nullable=False),
    sa.Column("take", sa.Integer, nullable=False),
    sa.Column("provider", sa.String(100), nullable=False),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("profile", sa.String(200), nullable=False),
    sa.Column("fingerprint", sa.String(200), nullable=False),
    sa.Column("prompt", sa.Text, nullable=False),
    sa.Column("reference_hashes", sa.Text, nullable=False),
    sa.Column("parameters", sa.Text, nullable=False),
    sa.Column("estimate", Money, nullable=False),
    sa.Column("actual_cost", Money, nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("job_id", sa.String(500), nullable=True),
    sa.Column("artifact_uri", sa.Text, nullable=True),
    sa.Column("created_at", UTCTimestamp, nullable=False),
    sa.Column("submitted_at", UTCTimestamp, nullable=True),
    sa.Column("finished_at", UTCTimestamp, nullable=True),
    sa.Column("error_class", sa.String(200), nullable=True),
    sa.Column("error_message", sa.Text, nullable=True),
)


@dataclass(frozen=True)
class Cap:
    """A spending limit. ``run``: rows with the same run_id; ``film``: all rows of the film."""

    scope: Literal["run", "film"]
    limit: Decimal

    def __post_init__(self) -> None:
        if self.scope not in ("run", "film"):
            raise ValueError(f"cap scope must be 'run' or 'film', not {self.scope!r}")
        object.__setattr__(self, "limit", usd(self.limit))
        if self.limit < 0:
            raise ValueError(f"cap limit must be >= 0, got {self.limit}")


@dataclass(frozen=True)
class CallRequest:
    """Everything known about a paid call before it is made."""

    run_id: str
    film: str
    scene: str
    shot: str
    stage: str
    take: int
    provider: str
    model: str
    profile: str
    fingerprint: str
    prompt: str
    reference_hashes: tuple[str, ...]
    parameters: dict[str, Any]
    estimate: Decimal

    def __post_init__(self) -> None:
        object.__setattr__(self, "estimate", usd(self.estimate))
        if self.estimate < 0:
            raise ValueError(f"estimate must be >= 0, got {self.estimate}")
        object.__setattr__(self, "reference_hashes", tuple(self.reference_hashes))


@dataclass(frozen=True)
class Reservation:
    """An admitted call: its row exists with status ``reserved``."""

    call_id: str
    request: CallRequest
    estimate: Decimal
    created_at: datetime


@dataclass(frozen=True)
class CallRow:
    """One row of ``paid_calls`` as Python values (Decimal money, aware UTC datetimes)."""

    id: int
    call_id: str
    run_id: str
    film: str
    scene: str
    shot: str
    stage: str
    take: int
    provider: str
    model: str
    profile: str
    fingerprint: str
    prompt: str
    reference_hashes: tuple[str, ...]
    parameters: dict[str, Any]
    estimate: Decimal
    actual_cost: Decimal | None
    status: str
    job_id: str | None
    artifact_uri: str | None
    created_at: datetime
    submitted_at: datetime | None
    finished_at: datetime | None
    error_class: str | None
    error_message: str | None


@dataclass(frozen=True)
class Totals:
    committed: Decimal
    reserved: Decimal

    @property
    def total(self) -> Decimal:
        return self.committed + self.reserved


class BudgetRefused(Exception):
    """A reservation would take committed + reserved + next call past a cap."""

    def __init__(self, cap: Cap, spent: Decimal, reserved: Decimal, next_call: Decimal, call_id: str | None = None):
        self.cap = cap
        self.spent = spent
        self.reserved = reserved
        self.next_call = next_call
        #: call_id of the ``refused`` row reserve() wrote for the log.
        self.call_id = call_id
        super().__init__(
            f"per-{cap.scope} cap {fmt_usd(cap.limit)} would be exceeded "
            f"(spent {fmt_usd(spent)}, reserved {fmt_usd(reserved)}, next call {fmt_usd(next_call)}): halted"
        )

    def __reduce__(self):  # keep it picklable across Prefect/multiprocessing boundaries
        return (type(self), (self.cap, self.spent, self.reserved, self.next_call, self.call_id))


class LedgerStateError(ValueError):
    """An illegal state transition (e.g. settling a released call)."""


class UnknownCall(LookupError):
    """No row with that call_id."""


# --------------------------------------------------------------------------- engine


def _normalise_url(url: str) -> str:
    # A bare postgresql:// would pick psycopg2, which slate does not depend on.
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_engine(url: str) -> Engine:
    """An engine whose transactions have the locking the ledger relies on.

    SQLite: pysqlite's own transaction handling is switched off and every
    transaction begins ``BEGIN IMMEDIATE`` (write lock up front) unless the connection
    asks for ``slate_begin="DEFERRED"`` (read-only look-ups, which WAL lets run beside
    a writer). Postgres: READ COMMITTED, whatever the server default.
    """
    url = _normalise_url(url)
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30, "isolation_level": None})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see "begin")
            cur = dbapi_conn.cursor()
            try:
                cur.execute("PRAGMA busy_timeout = 30000")  # wait for the write lock, don't fail
                # WAL: readers don't block the writer and vice versa; persistent per file.
                cur.execute("PRAGMA journal_mode = WAL")
                # FULL: a committed reservation or settlement survives power loss.
                cur.execute("PRAGMA synchronous = FULL")
                cur.execute("PRAGMA foreign_keys = ON")
            finally:
                cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):
            mode = conn.get_execution_options().get("slate_begin", "IMMEDIATE")
            if mode not in ("IMMEDIATE", "DEFERRED", "EXCLUSIVE"):
                raise ValueError(f"bad slate_begin {mode!r}")
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine
    if url.startswith("postgresql"):
        return sa.create_engine(url, isolation_level="READ COMMITTED", pool_pre_ping=True)
    raise ValueError(f"unsupported ledger URL {url!r}: use sqlite:///... or postgresql+psycopg://...")


# --------------------------------------------------------------------------- helpers


def _toml_ledger_url(root: Path) -> str | None:
    path = root / "slate.toml"
    if not path.is_file():
        return None
    with open(path, "rb") as f:
        value = tomllib.load(f).get("ledger_url")
    return str(value) if value else None


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _json_default(o: Any) -> Any:
    if isinstance(o, Decimal):
        return str(o)
    if isinstance(o, (tuple, set, frozenset)):
        return sorted(o) if isinstance(o, (set, frozenset)) else list(o)
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"parameter value of type {type(o).__name__} is not JSON-serialisable")


def _dumps(v: Any) -> str:
    # Canonical (sorted keys, no spaces): equal parameters give equal text.
    return json.dumps(v, sort_keys=True, separators=(",", ":"), default=_json_default, ensure_ascii=False)


def _row(r: Mapping[str, Any]) -> CallRow:
    d = dict(r)
    d["reference_hashes"] = tuple(json.loads(d["reference_hashes"]))
    d["parameters"] = json.loads(d["parameters"])
    return CallRow(**d)


def _lock_keys(request: CallRequest) -> list[str]:
    # Always both: a film cap and a run cap on other calls must serialize with us.
    # Sorted so two transactions wanting the same keys take them in the same order
    # (no deadlock).
    return sorted({f"film:{request.film}", f"run:{request.run_id}"})


# --------------------------------------------------------------------------- ledger


class Ledger:
    """The paid-call ledger. Safe to use from many processes on one database.

    Do not share an instance across ``fork``; open one per process.
    """

    def __init__(self, url: str):
        self.url = _normalise_url(url)
        self.engine = make_engine(self.url)
        self.dialect = self.engine.dialect.name
        try:
            migrations.migrate(self.engine)
        except BaseException:
            self.engine.dispose()  # don't leak pooled connections from a refused open
            raise

    @classmethod
    def for_project(cls, root: Path, url: str | None = None) -> "Ledger":
        """The project's ledger: ``url`` if given, else ``SLATE_LEDGER_URL``, else the
        project's slate.toml ``ledger_url``, else SQLite at ``root/.slate/ledger.db``.

        Resolved here, at the moment of use, so a URL with a password in it is never a
        flow or task parameter (those are stored and shown in the Prefect UI)."""
        if url is None:
            url = os.environ.get("SLATE_LEDGER_URL") or _toml_ledger_url(Path(root))
        if url is None:
            d = Path(root) / ".slate"
            d.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{(d / 'ledger.db').resolve()}"
        return cls(url)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Ledger({self.engine.url.render_as_string(hide_password=True)!r})"

    # -- transactions

    @contextmanager
    def _write(self, lock_keys: list[str] = ()) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            with conn.begin():  # SQLite: BEGIN IMMEDIATE (see make_engine)
                if self.dialect == "postgresql":
                    for key in lock_keys:
                        conn.execute(
                            sa.text("SELECT pg_advisory_xact_lock(:ns, hashtext(:key))"),
                            {"ns": migrations.PG_LOCK_NAMESPACE, "key": key},
                        )
                yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect().execution_options(slate_begin="DEFERRED") as conn:
            with conn.begin():
                yield conn

    # -- sums

    @staticmethod
    def _sum(conn: Connection, *, film: str | None, run_id: str | None) -> Totals:
        q = sa.select(paid_calls.c.status, paid_calls.c.estimate, paid_calls.c.actual_cost).where(
            paid_calls.c.status.in_(_COUNTED)
        )
        if film is not None:
            q = q.where(paid_calls.c.film == film)
        if run_id is not None:
            q = q.where(paid_calls.c.run_id == run_id)
        committed = Decimal("0.000000")
        reserved = Decimal("0.000000")
        # Summed in Python, not SQL: SQLite's SUM over TEXT money would go through
        # float. Same code on both backends keeps the two ledgers identical.
        for status, estimate, actual in conn.execute(q):
            if status in _COMMITTED_BY_ACTUAL:
                committed += actual if actual is not None else estimate
            elif status in _COMMITTED_BY_ESTIMATE:
                committed += estimate
            else:
                reserved += estimate
        return Totals(committed=committed, reserved=reserved)

    # -- the budget

    def reserve(self, *, cap_scopes: list[Cap], request: CallRequest) -> Reservation:
        """Atomically check every cap and insert a ``reserved`` row, or refuse.

        On refusal a ``refused`` row (cost 0) is written for the log in the same
        transaction and ``BudgetRefused`` names the first cap (in ``cap_scopes``
        order) that had no room.
        """
        if not isinstance(request, CallRequest):
            raise TypeError("reserve() needs a CallRequest")
        now = _utcnow()
        call_id = uuid.uuid4().hex
        refusal: BudgetRefused | None = None
        with self._write(_lock_keys(request)) as conn:
            for cap in cap_scopes:
                t = (
                    self._sum(conn, film=request.film, run_id=None)
                    if cap.scope == "film"
                    else self._sum(conn, film=None, run_id=request.run_id)
                )
                if t.committed + t.reserved + request.estimate > cap.limit:
                    refusal = BudgetRefused(cap, t.committed, t.reserved, request.estimate, call_id)
                    break
            if refusal is None:
                conn.execute(paid_calls.insert().values(**self._insert_values(request, call_id, "reserved", now)))
            else:
                conn.execute(
                    paid_calls.insert().values(
                        **self._insert_values(request, call_id, "refused", now),
                        actual_cost=Decimal(0),
                        finished_at=now,
                        error_class="BudgetRefused",
                        error_message=str(refusal),
                    )
                )
        if refusal is not None:
            raise refusal  # only after the refused row committed
        return Reservation(call_id=call_id, request=request, estimate=request.estimate, created_at=now)

    def record_refusal(self, request: CallRequest, message: str, *, error_class: str = "Refused") -> CallRow:
        """Log a call that was refused before reaching the ledger (kill switch, approval...)."""
        now = _utcnow()
        call_id = uuid.uuid4().hex
        with self._write() as conn:
            conn.execute(
                paid_calls.insert().values(
                    **self._insert_values(request, call_id, "refused", now),
                    actual_cost=Decimal(0),
                    finished_at=now,
                    error_class=error_class,
                    error_message=message,
                )
            )
        return self.find(call_id)

    @staticmethod
    def _insert_values(request: CallRequest, call_id: str, status: str, now: datetime) -> dict[str, Any]:
        return dict(
            call_id=call_id,
            run_id=request.run_id,
            film=request.film,
            scene=request.scene,
            shot=request.shot,
            stage=request.stage,
            take=request.take,
            provider=request.provider,
            model=request.model,
            profile=request.profile,
            fingerprint=request.fingerprint,
            prompt=request.prompt,
            reference_hashes=_dumps(list(request.reference_hashes)),
            parameters=_dumps(request.parameters),
            estimate=request.estimate,
            status=status,
            created_at=now,
        )

    # -- state transitions

    def _transition(self, call_id: str, allowed_from: tuple[str, ...], values: dict[str, Any], *, same_ok=None) -> None:
        """UPDATE the row if its status is in ``allowed_from``; else explain why not.

        ``same_ok(row)`` returning True makes a repeat of an already-applied
        transition a no-op (e.g. a retried settle with the same cost after a crash).
        """
        with self._write() as conn:
            res = conn.execute(
                paid_calls.update()
                .where(paid_calls.c.call_id == call_id, paid_calls.c.status.in_(allowed_from))
                .values(**values)
            )
            if res.rowcount == 1:
                return
            r = conn.execute(sa.select(paid_calls).where(paid_calls.c.call_id == call_id)).mappings().first()
        if r is None:
            raise UnknownCall(f"no paid call {call_id!r} in the ledger")
        row = _row(r)
        if same_ok is not None and same_ok(row):
            return
        raise LedgerStateError(
            f"paid call {call_id} is {row.status}; cannot become {values.get('status', row.status)}"
            f" (allowed from: {', '.join(allowed_from)})"
        )

    def mark_submitted(self, call_id: str, job_id: str | None) -> None:
        """reserved -> submitted, saving the provider job id before any polling.

        Repeating it is a no-op; on a submitted row without a job id it fills the id
        in (some providers return the id only after the POST is accepted).
        """
        with self._write() as conn:
            res = conn.execute(
                paid_calls.update()
                .where(paid_calls.c.call_id == call_id, paid_calls.c.status == "reserved")
                .values(status="submitted", job_id=job_id, submitted_at=_utcnow())
            )
            if res.rowcount == 1:
                return
            if job_id is not None:
                res = conn.execute(
                    paid_calls.update()
                    .where(
                        paid_calls.c.call_id == call_id,
                        paid_calls.c.status == "submitted",
                        paid_calls.c.job_id.is_(None),
                    )
                    .values(job_id=job_id)
                )
                if res.rowcount == 1:
                    return
            r = conn.execute(sa.select(paid_calls).where(paid_calls.c.call_id == call_id)).mappings().first()
        if r is None:
            raise UnknownCall(f"no paid call {call_id!r} in the ledger")
        row = _row(r)
        if row.status == "submitted" and (job_id is None or row.job_id == job_id):
            return
        raise LedgerStateError(
            f"paid call {call_id} is {row.status} (job {row.job_id!r}); cannot mark it submitted with job {job_id!r}"
        )

    def attach_job(self, call_id: str, job_id: str) -> None:
        """submitted (no job id yet) or unknown -> submitted with the provider's job id: a
        crashed submit re-attached, or a reconcile by hand. Never overwrites a saved job id."""
        self._transition(
            call_id,
            ("unknown",),
            dict(status="submitted", job_id=job_id),
            same_ok=lambda r: r.status == "submitted" and r.job_id in (None, job_id),
        )
        if self.find(call_id).job_id is None:
            self.mark_submitted(call_id, job_id)

    def settle(self, call_id: str, *, actual_cost: Decimal, artifact_uri: str | None) -> None:
        """-> succeeded with the actual cost (from reserved, submitted or unknown)."""
        cost = usd(actual_cost)
        if cost < 0:
            raise ValueError("actual_cost must be >= 0")
        self._transition(
            call_id,
            ("reserved", "submitted", "unknown"),
            dict(status="succeeded", actual_cost=cost, artifact_uri=artifact_uri, finished_at=_utcnow()),
            same_ok=lambda r: r.status == "succeeded" and r.actual_cost == cost and r.artifact_uri == artifact_uri,
        )

    def fail(self, call_id: str, *, error_class: str, message: str, charged: Decimal = Decimal(0)) -> None:
        """-> failed; ``charged`` is what the provider billed for the failure (often 0)."""
        cost = usd(charged)
        if cost < 0:
            raise ValueError("charged must be >= 0")
        self._transition(
            call_id,
            ("reserved", "submitted", "unknown"),
            dict(status="failed", actual_cost=cost, error_class=error_class, error_message=message, finished_at=_utcnow()),
            same_ok=lambda r: r.status == "failed" and r.actual_cost == cost,
        )

    def release(self, call_id: str) -> None:
        """reserved -> released: never submitted, costs 0, frees the reservation."""
        self._transition(
            call_id,
            ("reserved",),
            dict(status="released", actual_cost=Decimal(0), finished_at=_utcnow()),
            same_ok=lambda r: r.status == "released",
        )

    def mark_unknown(self, call_id: str, message: str) -> None:
        """reserved/submitted -> unknown: the outcome cannot be known; counts as spent."""
        self._transition(
            call_id,
            ("reserved", "submitted", "unknown"),
            dict(status="unknown", error_message=message),
        )

    # -- reads

    def find(self, call_id: str) -> CallRow:
        with self._read() as conn:
            r = conn.execute(sa.select(paid_calls).where(paid_calls.c.call_id == call_id)).mappings().first()
        if r is None:
            raise UnknownCall(f"no paid call {call_id!r} in the ledger")
        return _row(r)

    def rows(self, *, film: str | None = None, run_id: str | None = None) -> list[CallRow]:
        q = sa.select(paid_calls).order_by(paid_calls.c.id)
        if film is not None:
            q = q.where(paid_calls.c.film == film)
        if run_id is not None:
            q = q.where(paid_calls.c.run_id == run_id)
        with self._read() as conn:
            return [_row(r) for r in conn.execute(q).mappings()]

    def open_intents(self, *, film: str, fingerprint: str | None = None) -> list[CallRow]:
        """Rows that may still cost money: reserved, submitted or unknown (oldest first)."""
        q = (
            sa.select(paid_calls)
            .where(paid_calls.c.film == film, paid_calls.c.status.in_(OPEN_STATUSES))
            .order_by(paid_calls.c.id)
        )
        if fingerprint is not None:
            q = q.where(paid_calls.c.fingerprint == fingerprint)
        with self._read() as conn:
            return [_row(r) for r in conn.execute(q).mappings()]

    def totals(self, *, film: str, run_id: str | None = None) -> Totals:
        """Committed and reserved for the film (or for the film's rows of one run)."""
        with self._read() as conn:
            return self._sum(conn, film=film, run_id=run_id)
