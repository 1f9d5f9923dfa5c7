"""The one home of the ledger's columns: ``CallRow`` declares them, everything else is made from it.

Each field of ``CallRow`` is a column of ``paid_calls``, with its SQL type, the schema version
that added it, and whether the caller supplies it when asking for a call. From that one list:

  * ``paid_calls``    the live SQLAlchemy table the ledger builds statements with;
  * ``CallRequest``   what a caller asks for (the fields marked ``request``): written out as a class
                      so a type checker can read it, and held to those fields when this module loads;
  * ``columns_added_in(v)``  what migration step ``v`` creates or adds (governor/ledger/migrations.py);
  * ``request_values`` the values an INSERT writes.

What it must never do: change a column that a shipped migration step created (the DDL of
versions 1 and 2 is pinned by tests/data/ledger_schema_v2.json); a new column is a new field
with a new ``since`` and a new migration step. And the request key (``request_key``) is
computed one way forever: rows written years apart must find each other.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.types import TypeEngine

from ..money import usd
from .values import Money, UTCTimestamp

__all__ = ["CallRow", "CallRequest", "paid_calls", "STATUSES", "OPEN_STATUSES", "LIVE_STATUSES",
           "columns_added_in", "request_key", "request_values", "row_from_mapping", "canonical_dumps",
           "approvals", "ApprovalRow", "approval_from_mapping"]

STATUSES = ("reserved", "submitted", "succeeded", "failed", "refused", "unknown", "released")
#: Rows that may still cost money and must be followed up after a crash.
OPEN_STATUSES = ("reserved", "submitted", "unknown")
#: Rows an owner is working on right now (a lease says whether that owner is alive).
LIVE_STATUSES = ("reserved", "submitted")


def column(sql: Callable[[], TypeEngine[Any]], *, since: int, nullable: bool = False, request: bool = False,
           json_text: bool = False, primary: bool = False) -> Any:
    """A ``CallRow`` field that is a column: SQL type factory, version that added it, and roles.
    (``Any``, as ``dataclasses.field`` itself is typed: the field stands for a value of any column type.)"""
    return field(metadata={"sql": sql, "since": since, "nullable": nullable, "request": request,
                           "json": json_text, "primary": primary})


def _s(n: int) -> Callable[[], TypeEngine[str]]:
    return lambda: sa.String(n)


@dataclass(frozen=True)
class CallRow:
    """One row of ``paid_calls`` as Python values (Decimal money, aware UTC datetimes)."""

    id: int = column(lambda: sa.Integer(), since=1, primary=True)
    call_id: str = column(_s(64), since=1)
    run_id: str = column(_s(200), since=1, request=True)
    film: str = column(_s(200), since=1, request=True)
    scene: str = column(_s(200), since=1, request=True)
    shot: str = column(_s(200), since=1, request=True)
    stage: str = column(_s(100), since=1, request=True)
    take: int = column(lambda: sa.Integer(), since=1, request=True)
    provider: str = column(_s(100), since=1, request=True)
    model: str = column(_s(200), since=1, request=True)
    profile: str = column(_s(200), since=1, request=True)
    fingerprint: str = column(_s(200), since=1, request=True)
    prompt: str = column(lambda: sa.Text(), since=1, request=True)
    reference_hashes: tuple[str, ...] = column(lambda: sa.Text(), since=1, request=True, json_text=True)
    parameters: dict[str, Any] = column(lambda: sa.Text(), since=1, request=True, json_text=True)
    estimate: Decimal = column(Money, since=1, request=True)
    actual_cost: Decimal | None = column(Money, since=1, nullable=True)
    status: str = column(_s(16), since=1)
    job_id: str | None = column(_s(500), since=1, nullable=True)
    artifact_uri: str | None = column(lambda: sa.Text(), since=1, nullable=True)
    created_at: datetime = column(UTCTimestamp, since=1)
    submitted_at: datetime | None = column(UTCTimestamp, since=1, nullable=True)
    finished_at: datetime | None = column(UTCTimestamp, since=1, nullable=True)
    error_class: str | None = column(_s(200), since=1, nullable=True)
    error_message: str | None = column(lambda: sa.Text(), since=1, nullable=True)
    # v3: which request this is (film, scene, shot, stage, take, provider, model, fingerprint
    # hashed), who is working on it and until when their lease runs.
    request_key: str | None = column(_s(64), since=3, nullable=True)
    owner: str | None = column(_s(400), since=3, nullable=True)
    lease_until: datetime | None = column(UTCTimestamp, since=3, nullable=True)
    # v5: who asked for the call: NULL (or "person") for a person's run, "agent:<session id>" for
    # a run an agent started through `slate mcp` (slate/agent/). A request column with a default:
    # a caller that does not say is a person.
    caller: str | None = column(_s(200), since=5, nullable=True, request=True)
    # v7: what the provider reported the call used, as governor Usage fields (JSON; NULL when it
    # reported nothing): a self-hosted job's GPU seconds (issue 41), a judge's tokens — the
    # measure its cost was settled by, kept even when the cost is $0.
    usage: dict[str, Any] | None = column(lambda: sa.Text(), since=7, nullable=True, json_text=True)


COLUMNS = tuple(fields(CallRow))


def columns_added_in(version: int) -> list[sa.Column[Any]]:
    """Fresh Column objects of the fields a migration step adds (or, for v1, creates)."""
    return [sa.Column(f.name, f.metadata["sql"](), primary_key=f.metadata["primary"],
                      autoincrement=True if f.metadata["primary"] else "auto",
                      nullable=f.metadata["nullable"] and not f.metadata["primary"])
            for f in COLUMNS if f.metadata["since"] == version]


# The live table: used to build statements, never to create tables (migrations do that).
_metadata = sa.MetaData()
paid_calls = sa.Table("paid_calls", _metadata,
                      *[sa.Column(f.name, f.metadata["sql"](), primary_key=f.metadata["primary"],
                                  nullable=f.metadata["nullable"] and not f.metadata["primary"])
                        for f in COLUMNS])


@dataclass(frozen=True)
class CallRequest:
    """Everything known about a paid call before it is made."""

    # The ``request`` columns of CallRow, in its order and with its types (held to them below).
    # Only the columns from v5 on have a default (None): every older request column must be given.
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
    caller: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "estimate", usd(self.estimate))
        if self.estimate < 0:
            raise ValueError(f"estimate must be >= 0, got {self.estimate}")
        object.__setattr__(self, "reference_hashes", tuple(self.reference_hashes))

    @property
    def request_key(self) -> str:
        return request_key(self)


def _request_fields_follow_call_row() -> None:
    """CallRow is the one home of the columns: CallRequest must be exactly its ``request`` fields
    (names, order, types; a default of None from v5 on, none before). Checked at import, so a
    column added to one and not the other stops slate at once rather than writing rows without it."""
    want = [(f.name, f.type, "None" if f.metadata["since"] >= 5 else "required")
            for f in COLUMNS if f.metadata["request"]]
    have = [(f.name, f.type, "required" if f.default is MISSING else repr(f.default)) for f in fields(CallRequest)]
    if have != want:
        raise TypeError(f"CallRequest's fields {have} are not CallRow's request columns {want}")


_request_fields_follow_call_row()


class RequestIdentity(Protocol):
    """What names a request across runs: a CallRequest, a CallRow, or a row read by a migration."""

    @property
    def film(self) -> str: ...
    @property
    def scene(self) -> str: ...
    @property
    def shot(self) -> str: ...
    @property
    def stage(self) -> str: ...
    @property
    def take(self) -> int: ...
    @property
    def provider(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def fingerprint(self) -> str: ...


def request_key(r: RequestIdentity) -> str:
    """The identity of a request across runs: same film, scene, shot, stage, take, provider,
    model and fingerprint is the same paid call. Fixed forever (see the module docstring)."""
    parts = [r.film, r.scene, r.shot, r.stage, int(r.take), r.provider, r.model, r.fingerprint]
    return hashlib.sha256(json.dumps(parts, separators=(",", ":")).encode()).hexdigest()


def _json_default(o: object) -> str | list[Any]:
    if isinstance(o, Decimal):
        return str(o)
    if isinstance(o, (set, frozenset)):
        return sorted(o)
    if isinstance(o, tuple):
        return list(o)
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"parameter value of type {type(o).__name__} is not JSON-serialisable")


def canonical_dumps(v: object) -> str:
    # Canonical (sorted keys, no spaces): equal parameters give equal text.
    return json.dumps(v, sort_keys=True, separators=(",", ":"), default=_json_default, ensure_ascii=False)


def request_values(request: CallRequest) -> dict[str, str | int | Decimal | None]:
    """The INSERT values of a request's columns (JSON columns as canonical text)."""
    out: dict[str, str | int | Decimal | None] = {}
    for f in COLUMNS:
        if f.metadata["request"]:
            value = getattr(request, f.name)
            out[f.name] = canonical_dumps(list(value) if f.name == "reference_hashes" else value) \
                if f.metadata["json"] else value
    out["request_key"] = request_key(request)
    return out


def row_from_mapping(m: RowMapping) -> CallRow:
    d = dict(m)
    d["reference_hashes"] = tuple(json.loads(d["reference_hashes"]))
    d["parameters"] = json.loads(d["parameters"])
    d["usage"] = json.loads(d["usage"]) if d.get("usage") else None
    return CallRow(**d)


# -- the shared kill switch (schema v4) ---------------------------------------------------------
# One row per `slate stop`: every worker that shares the ledger sees it, whatever folder it runs
# in (governor/killswitch.py). A stop is cleared by stamping `cleared_at`, never by deleting the
# row, so the ledger keeps who stopped what and when.
_stop_metadata = sa.MetaData()
kill_switch = sa.Table(
    "kill_switch", _stop_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("film", sa.String(200), nullable=False),        # a film id, or "*" for every film
    sa.Column("hard", sa.Boolean, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("requested_by", sa.String(200), nullable=False),  # host and process
    sa.Column("requested_at", sa.Float, nullable=False),        # epoch seconds
    sa.Column("cleared_at", sa.Float, nullable=True),
    sa.Index("ix_kill_switch_open", "film", "cleared_at"),
)


# -- a person's approvals (schema v6) -------------------------------------------------------------
# An approval is a person's decision, not a call: it has no provider, no estimate, no status and no
# cost, so it has a table of its own instead of a $0 row of `paid_calls` (where it once was, as
# provider "person" or "slate"). No budget sum, call count or reconcile reads this table, so an
# approval can never count as a paid call, whatever a query on `paid_calls` forgets to filter.
# `approval_id` is unique: a caller that names it makes the approval a claim (two people promoting
# the same bible generation at once: the second insert is refused).
_approval_metadata = sa.MetaData()
approvals = sa.Table(
    "approvals", _approval_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("approval_id", sa.String(64), nullable=False),
    sa.Column("run_id", sa.String(200), nullable=False),
    sa.Column("film", sa.String(200), nullable=False),
    sa.Column("scene", sa.String(200), nullable=False),
    sa.Column("shot", sa.String(200), nullable=False),     # "*": the whole scene; "kind:id": a bible asset
    sa.Column("stage", sa.String(100), nullable=False),    # "approval" (a scene's finals) | "bible_approve"
    sa.Column("take", sa.Integer, nullable=False),         # the round (a scene) or the generation (the bible)
    sa.Column("decided_by", sa.String(200), nullable=False),
    sa.Column("fingerprint", sa.String(200), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("parameters", sa.Text, nullable=False),      # canonical JSON
    sa.Column("caller", sa.String(200), nullable=True),    # as paid_calls.caller: NULL for a person's run
    sa.Column("created_at", UTCTimestamp, nullable=False),
    sa.UniqueConstraint("approval_id", name="uq_approvals_approval_id"),
    sa.Index("ix_approvals_film", "film"),
    sa.Index("ix_approvals_run_id", "run_id"),
)


@dataclass(frozen=True)
class ApprovalRow:
    """One row of ``approvals`` as Python values (``by``: who decided)."""

    id: int
    approval_id: str
    run_id: str
    film: str
    scene: str
    shot: str
    stage: str
    take: int
    by: str
    fingerprint: str
    message: str
    parameters: dict[str, Any]
    caller: str | None
    created_at: datetime


def approval_from_mapping(m: RowMapping) -> ApprovalRow:
    d = dict(m)
    d["by"] = d.pop("decided_by")
    d["parameters"] = json.loads(d["parameters"] or "{}")
    return ApprovalRow(**d)
