"""The ledger itself: rows of paid calls, their transitions, the atomic budget admission.

See governor/ledger/__init__.py for the accounting rule and why admission holds a lock.
What it must never do: admit past a cap, delete a row, let two owners hold one request's
open row, or put a database password into a message.
"""
from __future__ import annotations

import os
import tomllib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..money import usd
from . import migrations
from .engine import db_now, make_engine, mask_secrets_in, mask_url, normalise_url, read, url_problem, write
from .schema import (LIVE_STATUSES, OPEN_STATUSES, ApprovalRow, CallRequest, CallRow, approval_from_mapping,
                     approvals, canonical_dumps, paid_calls, request_key, request_values, row_from_mapping)
from .values import (AGENT_CALLER, BudgetRefused, Cap, LedgerStateError, LedgerUnavailable, LedgerUrlInvalid,
                     Totals, UnknownCall)

__all__ = ["Ledger", "Reservation", "Claim", "REFUSED_BY_MODERATION", "day_start"]

#: The error class of a row refused by moderation: that request is final, never resent unchanged.
REFUSED_BY_MODERATION = "RefusedByModeration"

# Which rows count, and by which column (see "Accounting rule").
_COMMITTED_BY_ACTUAL = ("succeeded", "failed")
_COMMITTED_BY_ESTIMATE = ("submitted", "unknown")
_RESERVED_BY_ESTIMATE = ("reserved",)
_COUNTED = _COMMITTED_BY_ACTUAL + _COMMITTED_BY_ESTIMATE + _RESERVED_BY_ESTIMATE


@dataclass(frozen=True)
class Reservation:
    """An admitted call: its row exists with status ``reserved``."""

    call_id: str
    request: CallRequest
    estimate: Decimal
    created_at: datetime


@dataclass(frozen=True)
class Claim:
    """What ``claim`` found for a request, decided under the ledger's lock.

    ``claimed``: a new reserved row is ours (admitted under every cap);
    ``done``:    a succeeded row with an artifact (not one the caller said to skip);
    ``refused``: a row the provider's moderation refused: the same request is never sent again;
    ``open``:    a reserved/submitted row (someone's, live or dead), or an unknown one.
    ``now`` is the database's clock at that moment, to judge the row's lease against.
    """

    kind: Literal["claimed", "done", "refused", "open"]
    row: CallRow
    now: datetime


def _usage(usage: Mapping[str, Any] | None) -> dict[str, str]:
    """The `usage` column's value of a call's end: canonical JSON, or nothing written (a provider
    that reported nothing leaves the column as it was)."""
    return {"usage": canonical_dumps(dict(usage))} if usage else {}


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def day_start(now: datetime | None = None) -> datetime:
    """Midnight UTC of today: where the agents' daily cap starts counting (rows are stamped in UTC)."""
    return (now or _utcnow()).astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)


def _toml_ledger_url(root: Path) -> str | None:
    path = root / "slate.toml"
    if not path.is_file():
        return None
    try:
        with open(path, "rb") as f:
            value = tomllib.load(f).get("ledger_url")
    except tomllib.TOMLDecodeError:
        return None  # slate check reports the file; the ledger falls back to the project's SQLite
    return str(value) if value else None


def _lock_keys(request: CallRequest) -> list[str]:
    # Always both: a film cap and a run cap on other calls must serialize with us. Sorted
    # so two transactions wanting the same keys take them in the same order (no deadlock).
    return sorted({f"film:{request.film}", f"run:{request.run_id}"})


class Ledger:
    """The paid-call ledger. Safe to use from many processes on one database.

    Do not share an instance across ``fork``; open one per process.
    """

    def __init__(self, url: str, *, where: str = ""):
        """`where`: where the URL was read (SLATE_LEDGER_URL, slate.toml's ledger_url), said with
        any reason the ledger cannot be opened."""
        self.url = normalise_url(url)
        said = f" ({where})" if where else ""
        try:
            self.engine = make_engine(self.url)
        except (ValueError, ImportError, sa.exc.ArgumentError) as exc:
            # A malformed URL is one line naming it, as `slate check` says it (tasks/run/preflight.py),
            # not a traceback from `slate status` or `slate log`.
            why = url_problem(self.url) or mask_secrets_in(str(exc)).splitlines()[0]
            raise LedgerUrlInvalid(f"cannot open the ledger{said}: {why}") from None
        self.dialect = self.engine.dialect.name
        try:
            migrations.migrate(self.engine)
        except migrations.SchemaTooNew:
            self.engine.dispose()
            raise
        except Exception as exc:
            self.engine.dispose()  # don't leak pooled connections from a refused open
            # `from None`: the driver's own exception (and its traceback) may carry the URL.
            raise LedgerUnavailable(f"cannot open the ledger at {mask_url(self.url)}{said}: "
                                    f"{mask_secrets_in(str(exc)).splitlines()[0]}") from None

    @classmethod
    def for_project(cls, root: Path, url: str | None = None) -> "Ledger":
        """The project's ledger: ``url`` if given, else ``SLATE_LEDGER_URL``, else the
        project's slate.toml ``ledger_url``, else SQLite at ``root/.slate/ledger.db``.

        Resolved here, at the moment of use, so a URL with a password in it is never a
        flow or task parameter (those are stored and shown in the Prefect UI)."""
        where = ""
        if url is None:
            url, where = os.environ.get("SLATE_LEDGER_URL") or None, "SLATE_LEDGER_URL"
        if url is None:
            url, where = _toml_ledger_url(Path(root)), "slate.toml: ledger_url"
        if url is None:
            d = Path(root) / ".slate"
            d.mkdir(parents=True, exist_ok=True)
            url, where = f"sqlite:///{(d / 'ledger.db').resolve()}", ""
        return cls(url, where=where)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Ledger({mask_url(self.url)!r})"

    # -- sums

    @staticmethod
    def _sum(conn: Connection, *, film: str | None, run_id: str | None, scene: str | None = None,
             caller: str | None = None, agents_since: datetime | None = None) -> Totals:
        q = sa.select(paid_calls.c.status, paid_calls.c.estimate, paid_calls.c.actual_cost).where(
            paid_calls.c.status.in_(_COUNTED))
        if film is not None:
            q = q.where(paid_calls.c.film == film)
        if run_id is not None:
            q = q.where(paid_calls.c.run_id == run_id)
        if scene is not None:
            q = q.where(paid_calls.c.scene == scene)
        if caller is not None:   # one agent session's spending, across its runs (slate/agent/)
            q = q.where(paid_calls.c.caller == caller)
        if agents_since is not None:   # every agent's spending since then (the agents' daily cap)
            q = q.where(paid_calls.c.caller.startswith(AGENT_CALLER, autoescape=True),
                        paid_calls.c.created_at >= agents_since)
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

    @classmethod
    def _within(cls, conn: Connection, cap: Cap, *, film: str, run_id: str | None) -> Totals:
        """What a cap's scope has committed and reserved (see `Cap`)."""
        if cap.scope == "run":
            return cls._sum(conn, film=None, run_id=run_id)
        if cap.scope == "session":
            return cls._sum(conn, film=film, run_id=None, caller=cap.caller)
        if cap.scope == "agents_day":
            return cls._sum(conn, film=film, run_id=None, agents_since=day_start())
        return cls._sum(conn, film=film, run_id=None)

    def cap_totals(self, cap: Cap, *, film: str, run_id: str | None = None) -> Totals:
        """Committed and reserved in `cap`'s scope, as an admission under it would sum them."""
        with read(self.engine) as conn:
            return self._within(conn, cap, film=film, run_id=run_id)

    # -- the budget

    def _admit(self, conn: Connection, request: CallRequest, cap_scopes: Sequence[Cap], *, owner: str | None,
               lease_until: datetime | None) -> tuple[str, datetime, BudgetRefused | None]:
        """Check every cap and insert the reserved row, inside the caller's locked transaction.
        On refusal a ``refused`` row (cost 0) is inserted for the log and the refusal returned:
        the caller raises it after its transaction has committed that row."""
        now = _utcnow()
        call_id = uuid.uuid4().hex
        for cap in cap_scopes:
            t = self._within(conn, cap, film=request.film, run_id=request.run_id)
            if t.committed + t.reserved + request.estimate > cap.limit:
                refusal = BudgetRefused(cap, t.committed, t.reserved, request.estimate, call_id)
                conn.execute(paid_calls.insert().values(
                    **request_values(request), call_id=call_id, status="refused", created_at=now,
                    actual_cost=Decimal(0), finished_at=now, error_class="BudgetRefused",
                    error_message=str(refusal)))
                return call_id, now, refusal
        conn.execute(paid_calls.insert().values(**request_values(request), call_id=call_id, status="reserved",
                                                created_at=now, owner=owner, lease_until=lease_until))
        return call_id, now, None

    def reserve(self, *, cap_scopes: Sequence[Cap], request: CallRequest, owner: str | None = None,
                lease_seconds: float | None = None) -> Reservation:
        """Atomically check every cap and insert a ``reserved`` row, or refuse.

        On refusal a ``refused`` row (cost 0) is written for the log in the same
        transaction and ``BudgetRefused`` names the first cap (in ``cap_scopes``
        order) that had no room. It does not look for other rows of the same request:
        ``claim`` does.
        """
        self._check_request(request)
        with write(self.engine, _lock_keys(request)) as conn:
            lease = self._lease_end(conn, lease_seconds)
            call_id, now, refusal = self._admit(conn, request, cap_scopes, owner=owner, lease_until=lease)
        if refusal is not None:
            raise refusal  # only after the refused row committed
        return Reservation(call_id=call_id, request=request, estimate=request.estimate, created_at=now)

    def claim(self, *, request: CallRequest, cap_scopes: Sequence[Cap], owner: str, lease_seconds: float,
              skip: frozenset[str] | set[str] = frozenset(), take_unknown: bool = False) -> Claim:
        """Find this request's row, or admit a new one: one decision under the ledger's lock.

        In this order: a ``succeeded`` row with an artifact (not in ``skip``) → ``done``; a
        ``reserved``/``submitted`` row → ``open`` (its owner's lease decides what the caller
        does); an ``unknown`` row → ``open`` unless ``take_unknown``; else the caps are checked
        and a reserved row owned by ``owner`` with a lease of ``lease_seconds`` is inserted →
        ``claimed``, or BudgetRefused. Two runs claiming one request at once therefore never
        both get ``claimed`` (and a partial unique index on open rows would refuse it anyway).
        """
        self._check_request(request)
        key = request_key(request)
        with write(self.engine, _lock_keys(request)) as conn:
            now = db_now(conn)
            rows = [row_from_mapping(m) for m in conn.execute(
                sa.select(paid_calls).where(paid_calls.c.request_key == key).order_by(paid_calls.c.id.desc())
            ).mappings()]
            for row in rows:
                if row.status == "succeeded" and row.artifact_uri and row.call_id not in skip:
                    return Claim("done", row, now)
            for row in rows:
                if row.status == "failed" and row.error_class == REFUSED_BY_MODERATION:
                    return Claim("refused", row, now)
            for row in rows:
                if row.status in LIVE_STATUSES or (row.status == "unknown" and not take_unknown):
                    return Claim("open", row, now)
            call_id, _, refusal = self._admit(conn, request, cap_scopes, owner=owner,
                                              lease_until=now + timedelta(seconds=lease_seconds))
            if refusal is None:
                row = row_from_mapping(conn.execute(
                    sa.select(paid_calls).where(paid_calls.c.call_id == call_id)).mappings().one())
        if refusal is not None:
            raise refusal  # only after the refused row committed
        return Claim("claimed", row, now)

    def record_refusal(self, request: CallRequest, message: str, *, error_class: str = "Refused") -> CallRow:
        """Log a call that was refused before reaching the ledger (kill switch, approval...)."""
        self._check_request(request)
        now = _utcnow()
        call_id = uuid.uuid4().hex
        with write(self.engine) as conn:
            conn.execute(paid_calls.insert().values(
                **request_values(request), call_id=call_id, status="refused", created_at=now,
                actual_cost=Decimal(0), finished_at=now, error_class=error_class, error_message=message))
        return self.find(call_id)

    def note(self, request: CallRequest, *, error_class: str, message: str, call_id: str | None = None) -> CallRow:
        """A decision worth keeping beside the paid calls that cost nothing itself (a switch to a
        fallback model, say): a `released` row at $0 — it never counts toward a cap. A given
        `call_id` makes the note a claim: a second note with it is refused by the unique
        constraint (IntegrityError), which is how two racing promotions of one reference are told apart."""
        self._check_request(request)
        now = _utcnow()
        call_id = call_id or uuid.uuid4().hex
        with write(self.engine) as conn:
            conn.execute(paid_calls.insert().values(
                **request_values(request), call_id=call_id, status="released", created_at=now,
                actual_cost=Decimal(0), finished_at=now, error_class=error_class, error_message=message))
        return self.find(call_id)

    # -- a person's approvals (their own table, schema v6: never a paid call, never in a sum)

    def approve(self, *, run_id: str, film: str, scene: str, shot: str, stage: str, take: int, by: str,
                fingerprint: str, message: str, parameters: Mapping[str, Any] | None = None,
                caller: str | None = None, approval_id: str | None = None) -> ApprovalRow:
        """Write a person's decision. A given `approval_id` makes it a claim: a second approval
        with it is refused by the unique constraint (IntegrityError), which is how two racing
        promotions of one reference are told apart."""
        approval_id = approval_id or uuid.uuid4().hex
        with write(self.engine) as conn:
            conn.execute(approvals.insert().values(
                approval_id=approval_id, run_id=run_id, film=film, scene=scene, shot=shot, stage=stage,
                take=int(take), decided_by=by, fingerprint=fingerprint, message=message,
                parameters=canonical_dumps(dict(parameters or {})), caller=caller, created_at=_utcnow()))
        with read(self.engine) as conn:
            return approval_from_mapping(conn.execute(
                sa.select(approvals).where(approvals.c.approval_id == approval_id)).mappings().one())

    def approvals(self, *, film: str | None = None, run_id: str | None = None,
                  stage: str | None = None) -> list[ApprovalRow]:
        """The approvals written, oldest first."""
        q = sa.select(approvals).order_by(approvals.c.id)
        for column, value in ((approvals.c.film, film), (approvals.c.run_id, run_id), (approvals.c.stage, stage)):
            if value is not None:
                q = q.where(column == value)
        with read(self.engine) as conn:
            return [approval_from_mapping(r) for r in conn.execute(q).mappings()]

    @staticmethod
    def _check_request(request: object) -> None:   # a guard for callers no type checker saw
        if not isinstance(request, CallRequest):
            raise TypeError("the ledger needs a CallRequest")

    @staticmethod
    def _lease_end(conn: Connection, lease_seconds: float | None) -> datetime | None:
        return None if lease_seconds is None else db_now(conn) + timedelta(seconds=lease_seconds)

    # -- ownership

    def take_over(self, row: CallRow, *, owner: str, lease_seconds: float, status: str | None = None) -> bool:
        """Become the owner of an open row whose owner is gone: a compare-and-set on the owner,
        lease and status seen in ``row``. False if any of them changed meanwhile (the owner
        renewed its lease: it is alive; or someone else took over first)."""
        with write(self.engine) as conn:
            lease = db_now(conn) + timedelta(seconds=lease_seconds)
            q = paid_calls.update().where(paid_calls.c.call_id == row.call_id,
                                          paid_calls.c.status == row.status)
            q = q.where(paid_calls.c.owner.is_(None) if row.owner is None else paid_calls.c.owner == row.owner)
            q = q.where(paid_calls.c.lease_until.is_(None) if row.lease_until is None
                        else paid_calls.c.lease_until == row.lease_until)
            values: dict[str, str | datetime] = dict(owner=owner, lease_until=lease)
            if status is not None:
                values["status"] = status
            return conn.execute(q.values(**values)).rowcount == 1

    def renew(self, call_ids: Sequence[str], *, owner: str, lease_seconds: float) -> set[str]:
        """Extend the leases of the open rows ``owner`` still holds; return which ones it holds."""
        if not call_ids:
            return set()
        with write(self.engine) as conn:
            lease = db_now(conn) + timedelta(seconds=lease_seconds)
            mine = (paid_calls.c.call_id.in_(call_ids), paid_calls.c.owner == owner,
                    paid_calls.c.status.in_(LIVE_STATUSES))
            conn.execute(paid_calls.update().where(*mine).values(lease_until=lease))
            return {r[0] for r in conn.execute(sa.select(paid_calls.c.call_id).where(*mine))}

    # -- state transitions

    def _transition(self, call_id: str, allowed_from: tuple[str, ...], values: Mapping[str, object], *,
                    same_ok: Callable[[CallRow], bool] | None = None) -> None:
        """UPDATE the row if its status is in ``allowed_from``; else explain why not.

        ``same_ok(row)`` returning True makes a repeat of an already-applied transition a
        no-op (e.g. a retried settle with the same cost after a crash).
        """
        with write(self.engine) as conn:
            res = conn.execute(paid_calls.update()
                               .where(paid_calls.c.call_id == call_id, paid_calls.c.status.in_(allowed_from))
                               .values(**values))
            if res.rowcount == 1:
                return
            r = conn.execute(sa.select(paid_calls).where(paid_calls.c.call_id == call_id)).mappings().first()
        if r is None:
            raise UnknownCall(f"no paid call {call_id!r} in the ledger")
        row = row_from_mapping(r)
        if same_ok is not None and same_ok(row):
            return
        raise LedgerStateError(f"paid call {call_id} is {row.status}; cannot become "
                               f"{values.get('status', row.status)} (allowed from: {', '.join(allowed_from)})")

    def mark_submitted(self, call_id: str, job_id: str | None) -> None:
        """reserved -> submitted (the request may leave now), or, with a job id, the provider's
        job id saved before any polling. Repeating it is a no-op; a saved job id is never
        overwritten by another."""
        with write(self.engine) as conn:
            res = conn.execute(paid_calls.update()
                               .where(paid_calls.c.call_id == call_id, paid_calls.c.status == "reserved")
                               .values(status="submitted", job_id=job_id, submitted_at=_utcnow()))
            if res.rowcount == 1:
                return
            if job_id is not None:
                res = conn.execute(paid_calls.update()
                                   .where(paid_calls.c.call_id == call_id, paid_calls.c.status == "submitted",
                                          paid_calls.c.job_id.is_(None))
                                   .values(job_id=job_id))
                if res.rowcount == 1:
                    return
            r = conn.execute(sa.select(paid_calls).where(paid_calls.c.call_id == call_id)).mappings().first()
        if r is None:
            raise UnknownCall(f"no paid call {call_id!r} in the ledger")
        row = row_from_mapping(r)
        if row.status == "submitted" and (job_id is None or row.job_id == job_id):
            return
        raise LedgerStateError(f"paid call {call_id} is {row.status} (job {row.job_id!r}); "
                               f"cannot mark it submitted with job {job_id!r}")

    def attach_job(self, call_id: str, job_id: str) -> None:
        """submitted (no job id yet) or unknown -> submitted with the provider's job id: a
        crashed submit re-attached, or a reconcile by hand. Never overwrites a saved job id."""
        self._transition(call_id, ("unknown",), dict(status="submitted", job_id=job_id),
                         same_ok=lambda r: r.status == "submitted" and r.job_id in (None, job_id))
        if self.find(call_id).job_id is None:
            self.mark_submitted(call_id, job_id)

    def record_artifact(self, call_id: str, artifact_uri: str) -> None:
        """submitted, answer in hand: the URI its bytes will have in storage, written before they
        are stored, so a run killed between the storage write and the settle finds them."""
        self._transition(call_id, ("submitted",), dict(artifact_uri=artifact_uri),
                         same_ok=lambda r: r.artifact_uri == artifact_uri)

    def settle(self, call_id: str, *, actual_cost: Decimal, artifact_uri: str | None,
               usage: Mapping[str, Any] | None = None) -> None:
        """-> succeeded with the actual cost (from reserved, submitted or unknown); `usage`: what the
        provider reported the call used (Usage fields), kept beside the cost it was priced into."""
        cost = usd(actual_cost)
        if cost < 0:
            raise ValueError("actual_cost must be >= 0")
        self._transition(
            call_id, ("reserved", "submitted", "unknown"),
            dict(status="succeeded", actual_cost=cost, artifact_uri=artifact_uri, finished_at=_utcnow(),
                 lease_until=None, **_usage(usage)),
            same_ok=lambda r: r.status == "succeeded" and r.actual_cost == cost and r.artifact_uri == artifact_uri)

    def replace_artifact(self, call_id: str, artifact_uri: str) -> None:
        """A succeeded call whose artifact was lost and fetched again from the provider (free)."""
        self._transition(call_id, ("succeeded",), dict(artifact_uri=artifact_uri))

    def fail(self, call_id: str, *, error_class: str, message: str, charged: Decimal = Decimal(0),
             usage: Mapping[str, Any] | None = None) -> None:
        """-> failed; ``charged`` is what the provider billed for the failure (often 0); `usage`
        what it reported the failed call used (a job's GPU seconds before it ran out of memory)."""
        cost = usd(charged)
        if cost < 0:
            raise ValueError("charged must be >= 0")
        self._transition(
            call_id, ("reserved", "submitted", "unknown"),
            dict(status="failed", actual_cost=cost, error_class=error_class, error_message=mask_secrets_in(message),
                 finished_at=_utcnow(), lease_until=None, **_usage(usage)),
            same_ok=lambda r: r.status == "failed" and r.actual_cost == cost)

    def release(self, call_id: str) -> None:
        """reserved -> released: never submitted, costs 0, frees the reservation."""
        self._transition(call_id, ("reserved",),
                         dict(status="released", actual_cost=Decimal(0), finished_at=_utcnow(), lease_until=None),
                         same_ok=lambda r: r.status == "released")

    def mark_unknown(self, call_id: str, message: str) -> None:
        """reserved/submitted -> unknown: the outcome cannot be known; counts as spent. Nobody
        owns an unknown row: the next run looks it up again, or `slate reconcile` decides."""
        self._transition(call_id, ("reserved", "submitted", "unknown"),
                         dict(status="unknown", error_message=mask_secrets_in(message), lease_until=None))

    # -- reads

    def find(self, call_id: str) -> CallRow:
        with read(self.engine) as conn:
            r = conn.execute(sa.select(paid_calls).where(paid_calls.c.call_id == call_id)).mappings().first()
        if r is None:
            raise UnknownCall(f"no paid call {call_id!r} in the ledger")
        return row_from_mapping(r)

    def rows(self, *, film: str | None = None, run_id: str | None = None) -> list[CallRow]:
        q = sa.select(paid_calls).order_by(paid_calls.c.id)
        if film is not None:
            q = q.where(paid_calls.c.film == film)
        if run_id is not None:
            q = q.where(paid_calls.c.run_id == run_id)
        with read(self.engine) as conn:
            return [row_from_mapping(r) for r in conn.execute(q).mappings()]

    def rows_of_request(self, key: str) -> list[CallRow]:
        """Every row of one request (its `request_key`: same film, scene, shot, stage, take,
        provider, model and fingerprint), oldest first."""
        with read(self.engine) as conn:
            return [row_from_mapping(r) for r in conn.execute(
                sa.select(paid_calls).where(paid_calls.c.request_key == key).order_by(paid_calls.c.id)).mappings()]

    def rows_with_job(self, job_id: str) -> list[CallRow]:
        """The rows that name this provider job id."""
        with read(self.engine) as conn:
            return [row_from_mapping(r) for r in conn.execute(
                sa.select(paid_calls).where(paid_calls.c.job_id == job_id).order_by(paid_calls.c.id)).mappings()]

    def open_intents(self, *, film: str, fingerprint: str | None = None) -> list[CallRow]:
        """Rows that may still cost money: reserved, submitted or unknown (oldest first)."""
        q = (sa.select(paid_calls).where(paid_calls.c.film == film, paid_calls.c.status.in_(OPEN_STATUSES))
             .order_by(paid_calls.c.id))
        if fingerprint is not None:
            q = q.where(paid_calls.c.fingerprint == fingerprint)
        with read(self.engine) as conn:
            return [row_from_mapping(r) for r in conn.execute(q).mappings()]

    def now(self) -> datetime:
        """The database's clock: what owners' leases are judged against (governor/leases.py)."""
        with read(self.engine) as conn:
            return db_now(conn)

    def totals(self, *, film: str, run_id: str | None = None, scene: str | None = None,
               caller: str | None = None) -> Totals:
        """Committed and reserved for the film (or for the film's rows of one run, one scene, or
        one caller: an agent's session)."""
        with read(self.engine) as conn:
            return self._sum(conn, film=film, run_id=run_id, scene=scene, caller=caller)
