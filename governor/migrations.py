"""Recorded, ordered schema migrations for the ledger database.

What it is for: the ledger's schema changes only here. Each step has a version
number and a name; ``migrate`` applies the steps the database has not seen yet, in
order, and records each one in ``schema_migrations(version, name, applied_at)`` in
the same transaction as the change itself, so a crash leaves the database either
before or after a step, never half-way (DDL is transactional on SQLite and Postgres).

What it must never do:
  * change a step that has shipped. A database that already ran version N keeps what
    version N did; a fix is a new step N+1. (That is why the steps below describe the
    table as it was at that version, instead of importing the live table from
    ``ledger.py``.)
  * apply a step twice. Concurrent opens (eight workers starting at once) serialize on
    a lock taken *before* reading ``schema_migrations``: SQLite ``BEGIN IMMEDIATE``
    (the engine from ``ledger.make_engine`` begins every write transaction that way),
    Postgres ``pg_advisory_xact_lock``. The loser of the race waits, then reads the
    versions the winner recorded and applies nothing.
  * run old code against a newer schema: a database whose version is above the
    latest step known here is refused, because the old code would not know the rules
    the new schema encodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

__all__ = ["Migration", "MIGRATIONS", "LATEST_VERSION", "migrate", "applied_versions", "SchemaTooNew"]

# Key for pg_advisory_xact_lock(int4, int4): an arbitrary constant namespace ("slat")
# so the ledger's locks cannot collide with other users of advisory locks on the same
# server (Prefect shares the Postgres in the team setup).
PG_LOCK_NAMESPACE = 0x736C6174
_PG_MIGRATION_KEY = 0  # objid used for the migration lock inside the namespace

STATUSES = ("reserved", "submitted", "succeeded", "failed", "refused", "unknown", "released")


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer slate than this one."""


def _money() -> sa.types.TypeEngine:
    # Exact on both backends: Postgres NUMERIC(18,6); SQLite has no exact decimal
    # type (NUMERIC affinity turns '0.1' into a REAL), so money is stored as TEXT
    # there and converted by the ledger's Money type.
    return sa.Numeric(18, 6, asdecimal=True).with_variant(sa.String(40), "sqlite")


def _timestamp() -> sa.types.TypeEngine:
    # timestamptz on Postgres; ISO-8601 text with an explicit +00:00 on SQLite
    # (SQLite has no date type and SQLAlchemy's DateTime would drop the zone).
    return sa.DateTime(timezone=True).with_variant(sa.String(40), "sqlite")


def _v1_create_paid_calls(conn: Connection) -> None:
    md = sa.MetaData()
    t = sa.Table(
        "paid_calls",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("call_id", sa.String(64), nullable=False),
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
        sa.Column("estimate", _money(), nullable=False),
        sa.Column("actual_cost", _money(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("job_id", sa.String(500), nullable=True),
        sa.Column("artifact_uri", sa.Text, nullable=True),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("submitted_at", _timestamp(), nullable=True),
        sa.Column("finished_at", _timestamp(), nullable=True),
        sa.Column("error_class", sa.String(200), nullable=True),
        sa.Column("error_message", sa.Text, nullable=True),
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


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    apply: Callable[[Connection], None]


#: Ordered; versions are 1..N without gaps. Append only.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "create paid_calls", _v1_create_paid_calls),
    Migration(2, "index paid_calls on (film, status) and (run_id, status)", _v2_status_indexes),
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
    # SQLite: the transaction already began with BEGIN IMMEDIATE (ledger.make_engine),
    # which holds the database's single write lock until commit.


def applied_versions(conn: Connection) -> list[int]:
    if not sa.inspect(conn).has_table("schema_migrations"):
        return []
    return [r[0] for r in conn.execute(sa.select(schema_migrations.c.version).order_by(schema_migrations.c.version))]


def migrate(engine: Engine, *, target: int | None = None) -> list[int]:
    """Bring the database up to ``target`` (default: latest); return versions applied.

    ``engine`` must come from ``governor.ledger.make_engine`` (its SQLite connections
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
