"""Recorded, ordered schema migrations for the ledger database.

What it is for: the ledger's schema changes only here. Each step has a version
number and a name; ``migrate`` applies the steps the database has not seen yet, in
order, and records each one in ``schema_migrations(version, name, applied_at)`` in
the same transaction as the change itself, so a crash leaves the database either
before or after a step, never half-way (DDL is transactional on SQLite and Postgres).

What it must never do:
  * change a step that has shipped. A database that already ran version N keeps what
    version N did; a fix is a new step N+1. (The columns come from their one home,
    governor/ledger/schema.py, filtered by the version that added them; the DDL of the
    shipped steps is pinned by a test.)
  * apply a step twice. Concurrent opens (eight workers starting at once) serialize on
    a lock taken *before* reading ``schema_migrations``: SQLite ``BEGIN IMMEDIATE``
    (the engine from ``engine.make_engine`` begins every write transaction that way),
    Postgres ``pg_advisory_xact_lock``. The loser of the race waits, then reads the
    versions the winner recorded and applies nothing.
  * run old code against a newer schema: a database whose version is above the
    latest step known here is refused, because the old code would not know the rules
    the new schema encodes.
"""

from __future__ import annotations

import json
import types
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from slate.errors import SlateError

from .schema import LIVE_STATUSES, STATUSES, approvals, columns_added_in, kill_switch, request_key
from .values import UTCTimestamp

__all__ = ["Migration", "MIGRATIONS", "LATEST_VERSION", "migrate", "applied_versions", "SchemaTooNew"]

# Key for pg_advisory_xact_lock(int4, int4): an arbitrary constant namespace ("slat")
# so the ledger's locks cannot collide with other users of advisory locks on the same
# server (Prefect shares the Postgres in the team setup).
PG_LOCK_NAMESPACE = 0x736C6174
_PG_MIGRATION_KEY = 0  # objid used for the migration lock inside the namespace

class SchemaTooNew(SlateError, RuntimeError):
    """The database was migrated by a newer slate than this one."""


def _v1_create_paid_calls(conn: Connection) -> None:
    # The columns of version 1, from their one home (schema.CallRow, since=1). Their DDL is
    # pinned by tests/data/ledger_schema_v2.json: editing a v1 column there fails that test.
    md = sa.MetaData()
    t = sa.Table(
        "paid_calls",
        md,
        *columns_added_in(1),
        # call_id is the idempotency handle: two rows with one handle would be two
        # charges the pipeline believes are one.
        sa.UniqueConstraint("call_id", name="uq_paid_calls_call_id"),
        # A typo'd status would silently drop out of every budget sum.
        sa.CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in STATUSES) + ")", name="ck_paid_calls_status"
        ),
        sa.CheckConstraint("take >= 0", name="ck_paid_calls_take"),
    )
    t.create(conn)
    # Budget sums filter by film; re-attachment after a crash looks up by fingerprint.
    sa.Index("ix_paid_calls_film", t.c.film).create(conn)
    sa.Index("ix_paid_calls_fingerprint", t.c.fingerprint).create(conn)


def _v2_status_indexes(conn: Connection) -> None:
    # The reserve transaction sums only the rows that count (status in ...) of one
    # film or one run while holding the write lock; these keep that lock short as the
    # ledger grows to thousands of takes per film.
    md = sa.MetaData()
    t = sa.Table(
        "paid_calls",
        md,
        sa.Column("film", sa.String(200)),
        sa.Column("run_id", sa.String(200)),
        sa.Column("status", sa.String(16)),
    )
    sa.Index("ix_paid_calls_film_status", t.c.film, t.c.status).create(conn)
    sa.Index("ix_paid_calls_run_status", t.c.run_id, t.c.status).create(conn)


def _v3_request_owner_lease(conn: Connection) -> None:
    """Who owns an open call: the request key, the owner and the owner's lease.

    Two live runs of one film used to take over each other's calls (each took the other's
    open row for a crash). From v3 every row names its request (``request_key``), and an
    open row its ``owner`` (run, host, process) and ``lease_until``; at most one row per
    request may be reserved or submitted at a time (a partial unique index), so two runs
    can never both be sending the same request, whatever the code above does.
    """
    for col in columns_added_in(3):
        conn.exec_driver_sql(f"ALTER TABLE paid_calls ADD COLUMN {col.name} {col.type.compile(dialect=conn.dialect)}")
    md = sa.MetaData()
    t = sa.Table("paid_calls", md, sa.Column("id", sa.Integer), sa.Column("film", sa.String(200)),
                 sa.Column("scene", sa.String(200)), sa.Column("shot", sa.String(200)),
                 sa.Column("stage", sa.String(100)), sa.Column("take", sa.Integer),
                 sa.Column("provider", sa.String(100)), sa.Column("model", sa.String(200)),
                 sa.Column("fingerprint", sa.String(200)), sa.Column("status", sa.String(16)),
                 sa.Column("error_message", sa.Text), sa.Column("request_key", sa.String(64)))
    seen_open: set[str] = set()
    # Newest first: of two open rows of one request (left by the old take-over bug), the
    # newest stays open and the older becomes unknown (it counts as spent either way) for
    # `slate reconcile` to settle.
    for r in conn.execute(sa.select(t).order_by(t.c.id.desc())).mappings().all():
        key = request_key(types.SimpleNamespace(**r))
        values = {"request_key": key}
        if r["status"] in LIVE_STATUSES:
            if key in seen_open:
                values.update(status="unknown", error_message=(
                    "found open beside a newer open row of the same request when the ledger was "
                    "upgraded to v3: reconcile it"))
            seen_open.add(key)
        conn.execute(t.update().where(t.c.id == r["id"]).values(**values))
    sa.Index("ix_paid_calls_request_key", t.c.request_key).create(conn)
    live = t.c.status.in_(LIVE_STATUSES)
    sa.Index("uq_paid_calls_open_request", t.c.request_key, unique=True,
             sqlite_where=live, postgresql_where=live).create(conn)


def _v4_kill_switch(conn: Connection) -> None:
    """The kill switch every worker sharing the ledger reads (`slate stop` writes a row)."""
    kill_switch.create(conn)   # with its index (schema.py): who has an open stop, per film


def _v5_caller(conn: Connection) -> None:
    """Who asked for each call: a person's run (NULL) or an agent's session (slate mcp)."""
    for col in columns_added_in(5):
        conn.exec_driver_sql(f"ALTER TABLE paid_calls ADD COLUMN {col.name} {col.type.compile(dialect=conn.dialect)}")


def _v7_usage(conn: Connection) -> None:
    """What the provider reported each call used (a self-hosted job's GPU seconds): its own column,
    written when the call ends; rows written before stay NULL (nothing was kept of it then)."""
    for col in columns_added_in(7):
        conn.exec_driver_sql(f"ALTER TABLE paid_calls ADD COLUMN {col.name} {col.type.compile(dialect=conn.dialect)}")


def _v6_approvals(conn: Connection) -> None:
    """A person's approvals in a table of their own, and the ones written before as $0 rows of
    `paid_calls` (a scene's: stage "approval" by provider "person"; the bible's: stage
    "bible_approve") moved there in the same transaction.

    Why a table and not a `kind` column: an approval has no provider, estimate, status or cost,
    and every budget sum, call count and reconcile reads `paid_calls`; with approvals out of it
    none of them can ever count one, whatever a query forgets to filter. The move is the one
    time rows leave `paid_calls`: these were never calls (released, $0), and each keeps its id
    (`approval_id` = its call_id, so a bible promotion's claim still collides), time, take,
    fingerprint, caller, message and parameters.
    """
    approvals.create(conn)   # with its indexes and the unique approval_id (schema.py)
    md = sa.MetaData()
    t = sa.Table("paid_calls", md, sa.Column("id", sa.Integer), sa.Column("call_id", sa.String(64)),
                 sa.Column("run_id", sa.String(200)), sa.Column("film", sa.String(200)),
                 sa.Column("scene", sa.String(200)), sa.Column("shot", sa.String(200)),
                 sa.Column("stage", sa.String(100)), sa.Column("take", sa.Integer),
                 sa.Column("provider", sa.String(100)), sa.Column("model", sa.String(200)),
                 sa.Column("fingerprint", sa.String(200)), sa.Column("parameters", sa.Text),
                 sa.Column("error_class", sa.String(200)), sa.Column("error_message", sa.Text),
                 sa.Column("caller", sa.String(200)), sa.Column("created_at", UTCTimestamp))
    scene = sa.and_(t.c.stage == "approval", t.c.provider == "person", t.c.error_class == "Approval")
    found = conn.execute(sa.select(t).where(sa.or_(scene, t.c.stage == "bible_approve"))
                         .order_by(t.c.id)).mappings().all()
    for r in found:
        params = json.loads(r["parameters"] or "{}")
        by = r["model"] if r["stage"] == "approval" else str(params.get("by") or "unknown")
        conn.execute(approvals.insert().values(
            approval_id=r["call_id"], run_id=r["run_id"], film=r["film"], scene=r["scene"], shot=r["shot"],
            stage=r["stage"], take=r["take"], decided_by=by, fingerprint=r["fingerprint"],
            message=r["error_message"] or "", parameters=r["parameters"] or "{}", caller=r["caller"],
            created_at=r["created_at"]))
    if found:
        conn.execute(t.delete().where(t.c.id.in_([r["id"] for r in found])))


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    apply: Callable[[Connection], None]


#: Ordered; versions are 1..N without gaps. Append only.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "create paid_calls", _v1_create_paid_calls),
    Migration(2, "index paid_calls on (film, status) and (run_id, status)", _v2_status_indexes),
    Migration(3, "request key, owner and lease; one open row per request", _v3_request_owner_lease),
    Migration(4, "kill_switch: a stop every worker sharing the ledger sees", _v4_kill_switch),
    Migration(5, "paid_calls.caller: a person's run or an agent's session", _v5_caller),
    Migration(6, "approvals: a person's decision in its own table, not a $0 paid call", _v6_approvals),
    Migration(7, "paid_calls.usage: what the provider reported a call used (GPU seconds, tokens)", _v7_usage),
)
LATEST_VERSION = MIGRATIONS[-1].version

_md = sa.MetaData()
schema_migrations = sa.Table(
    "schema_migrations",
    _md,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("applied_at", sa.Text, nullable=False),
)


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        # Transaction-scoped: released by COMMIT/ROLLBACK, so a crashed opener cannot
        # leave it held.
        conn.execute(
            sa.text("SELECT pg_advisory_xact_lock(:ns, :key)"),
            {"ns": PG_LOCK_NAMESPACE, "key": _PG_MIGRATION_KEY},
        )
    # SQLite: the transaction already began with BEGIN IMMEDIATE (engine.make_engine),
    # which holds the database's single write lock until commit.


def applied_versions(conn: Connection) -> list[int]:
    if not sa.inspect(conn).has_table("schema_migrations"):
        return []
    return [r[0] for r in conn.execute(sa.select(schema_migrations.c.version).order_by(schema_migrations.c.version))]


def migrate(engine: Engine, *, target: int | None = None) -> list[int]:
    """Bring the database up to ``target`` (default: latest); return versions applied.

    ``engine`` must come from ``governor.ledger.engine.make_engine`` (its SQLite connections
    begin with BEGIN IMMEDIATE). ``target`` exists for tests that build an old schema.
    """
    target = LATEST_VERSION if target is None else target
    if not 0 <= target <= LATEST_VERSION:
        raise ValueError(f"unknown schema version {target}")
    applied: list[int] = []
    with engine.begin() as conn:
        _lock(conn)
        # Inside the lock: whoever got here first has already committed its steps.
        schema_migrations.create(conn, checkfirst=True)
        have = set(applied_versions(conn))
        newest = max(have, default=0)
        if newest > LATEST_VERSION:
            raise SchemaTooNew(
                f"ledger schema is version {newest}, this slate knows up to {LATEST_VERSION}; upgrade slate"
            )
        for m in MIGRATIONS:
            if m.version > target or m.version in have:
                continue
            m.apply(conn)
            conn.execute(
                schema_migrations.insert().values(
                    version=m.version, name=m.name, applied_at=datetime.now(timezone.utc).isoformat()
                )
            )
            applied.append(m.version)
    return applied
