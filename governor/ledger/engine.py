"""The ledger's database engine: locking that makes admission atomic, and URLs that never leak.

What it is for: one place that knows how each backend is made to serialise a reservation
(SQLite ``BEGIN IMMEDIATE``, Postgres ``pg_advisory_xact_lock`` under READ COMMITTED), what
time it is according to the database (leases are compared against the database's clock,
not a worker's), and how a database URL is shown to a person (password masked).

What it must never do: print, log or raise a URL with its password in it, or let pysqlite
begin transactions on its own (its deferred BEGIN would take the write lock only at the
INSERT, after the sums were read).
"""
from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import ConnectionPoolEntry

from .migrations import PG_LOCK_NAMESPACE

__all__ = ["make_engine", "normalise_url", "mask_url", "mask_secrets_in", "db_now", "write", "read", "url_problem",
           "reach_problem"]

# scheme://user:password@host  →  scheme://user:***@host ; also ?password=… in a query string.
_USERINFO = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^:/@\s'\"]*):(?P<secret>[^@\s'\"]*)@")
_QUERY_SECRET = re.compile(r"(?P<head>[?&](?:password|passwd|pwd|token|key|secret)=)[^&\s'\"]*", re.IGNORECASE)


def mask_url(url: str) -> str:
    """The URL with any password (userinfo or ``password=`` query parameter) replaced by ***."""
    return mask_secrets_in(str(url))


def mask_secrets_in(text: str) -> str:
    """Any text with the passwords of the URLs inside it masked (error messages, log lines)."""
    text = _USERINFO.sub(lambda m: f"{m.group('head')}:***@", text)
    return _QUERY_SECRET.sub(lambda m: f"{m.group('head')}***", text)


def normalise_url(url: str) -> str:
    # A bare postgresql:// would pick psycopg2, which slate does not depend on.
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def url_problem(url: str) -> str | None:
    """What is wrong with a ledger URL, in a person's words (its password masked), or None.

    Only its form is read — scheme, driver, port, a SQLite file's folder — nothing connects: a
    malformed port used to reach the run as `ValueError: invalid literal for int() with base 10`."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError
    shown = mask_url(url)
    try:
        parsed = make_url(normalise_url(url))
    except ArgumentError:
        return f"{shown!r} is not a database URL (sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB)"
    except ValueError:
        return f"{shown!r} has a port that is not a number"
    backend, _, driver = parsed.drivername.partition("+")
    if backend not in ("sqlite", "postgresql"):
        return f"{shown!r}: the ledger runs on sqlite or postgresql, not {backend}"
    if parsed.port is not None and not 0 < parsed.port < 65536:
        return f"{shown!r}: port {parsed.port} is out of range (1-65535)"
    if backend == "postgresql":
        if not parsed.host:
            return f"{shown!r} names no host"
        if driver not in ("", "psycopg"):
            return f"{shown!r}: slate speaks to Postgres through psycopg (postgresql+psycopg://), not {driver}"
        try:
            import psycopg  # noqa: F401
        except ImportError:
            return f"{shown!r}: the Postgres driver is not installed (pip install 'slate[postgres]')"
        return None
    path = parsed.database
    if path and path != ":memory:":
        import os.path
        from pathlib import Path
        folder = Path(path).expanduser().parent
        if not os.path.isdir(folder):   # never raises (a name too long is "not a folder" too)
            return f"{shown!r}: the folder {str(folder)!r} of the SQLite file does not exist"
    return None


#: How long `reach_problem` waits for the ledger's database to answer: a check, not a run.
REACH_TIMEOUT_S = 2


def reach_problem(url: str, timeout: float = REACH_TIMEOUT_S) -> str | None:
    """Whether the ledger's database answers, in a person's words (its password masked), or None.

    For a URL whose form `url_problem` passed: Postgres is connected to once, waiting at most
    `timeout` seconds, and asked `SELECT 1` (a closed port, a missing database, a refused login
    are each said); an existing SQLite file is opened read-only and its schema read (a file that
    is not a database is said). Nothing is written, no table is made: the run's own open does
    that. What `slate check` and every run's preflight ask before anything is spent."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool
    shown = mask_url(url)
    parsed = make_url(normalise_url(url))
    if parsed.drivername.startswith("postgresql"):
        engine = sa.create_engine(parsed, poolclass=NullPool,
                                  connect_args={"connect_timeout": max(1, int(timeout))})
        try:
            with engine.connect() as pg:
                pg.exec_driver_sql("SELECT 1")
        except Exception as exc:  # noqa: BLE001 — whatever the driver says is the reason, said in one line
            return f"{shown!r}: cannot connect to it: {_driver_reason(exc)}"
        finally:
            engine.dispose()
        return None
    path = parsed.database
    if not path or path == ":memory:":
        return None
    import os.path
    file = os.path.expanduser(path)
    if not os.path.exists(file):
        folder = os.path.dirname(file) or "."
        if not os.access(folder, os.W_OK):
            return f"{shown!r}: the folder {folder!r} of the SQLite file is not writable"
        return None   # the run's first open makes it
    try:
        lite = sqlite3.connect(f"file:{file}?mode=ro", uri=True, timeout=timeout)
        try:
            lite.execute("PRAGMA schema_version").fetchone()
        finally:
            lite.close()
    except sqlite3.Error as exc:
        return f"{shown!r}: the SQLite file cannot be read as a database: {exc}"
    return None


def _driver_reason(exc: BaseException) -> str:
    """The driver's reason, without SQLAlchemy's wrapping (its class name, the SQL, a link), on one line."""
    reason = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in mask_secrets_in(str(reason)).splitlines() if line.strip()]
    return "; ".join(lines[:2]) or type(reason).__name__


def make_engine(url: str) -> Engine:
    """An engine whose transactions have the locking the ledger relies on.

    SQLite: pysqlite's own transaction handling is switched off and every transaction
    begins ``BEGIN IMMEDIATE`` (write lock up front) unless the connection asks for
    ``slate_begin="DEFERRED"`` (read-only look-ups, which WAL lets run beside a writer).
    Postgres: READ COMMITTED, whatever the server default.
    """
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30, "isolation_level": None})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see "begin")
            cur = dbapi_conn.cursor()
            try:
                cur.execute("PRAGMA busy_timeout = 30000")  # wait for the write lock, don't fail
                # WAL: readers don't block the writer and vice versa; persistent per file.
                _journal_mode_wal(cur)
                # FULL: a committed reservation or settlement survives power loss.
                cur.execute("PRAGMA synchronous = FULL")
                cur.execute("PRAGMA foreign_keys = ON")
            finally:
                cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            mode = conn.get_execution_options().get("slate_begin", "IMMEDIATE")
            if mode not in ("IMMEDIATE", "DEFERRED", "EXCLUSIVE"):
                raise ValueError(f"bad slate_begin {mode!r}")
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine
    if url.startswith("postgresql"):
        return sa.create_engine(url, isolation_level="READ COMMITTED", pool_pre_ping=True)
    raise ValueError(f"unsupported ledger URL {mask_url(url)!r}: use sqlite:///... or postgresql+psycopg://...")


#: How long a connection waits to switch a new ledger file to WAL while others hold it.
WAL_SWITCH_WAIT_S = 60.0


def _journal_mode_wal(cur: sqlite3.Cursor) -> None:
    """``PRAGMA journal_mode = WAL``, waiting its turn like every other statement.

    Why a loop: switching a file that is still in rollback mode needs its exclusive lock, and
    SQLite does not call the busy handler for it when another connection holds the reserved
    lock (that would deadlock) — it answers "database is locked" at once. Sixteen workers
    opening a new ledger together met exactly that (tests/integration/test_ledger.py holds it). Retrying
    after a pause is safe: the failed attempt releases its shared lock, so the holder finishes.
    """
    deadline = time.monotonic() + WAL_SWITCH_WAIT_S
    pause = 0.005
    while True:
        try:
            cur.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.25)


def db_now(conn: Connection) -> datetime:
    """The database's clock (the wall clock, not the transaction's start), as aware UTC.

    Leases are written and compared in this clock, so two workers whose clocks disagree
    still agree on whether a lease has run out. SQLite lives on this machine: its clock is ours.
    """
    if conn.dialect.name == "postgresql":
        now: datetime = conn.execute(sa.text("SELECT clock_timestamp()")).scalar_one()   # psycopg: an aware datetime
        return now.astimezone(timezone.utc)
    return datetime.now(timezone.utc)


@contextmanager
def write(engine: Engine, lock_keys: list[str] | tuple[str, ...] = ()) -> Iterator[Connection]:
    """A write transaction holding the ledger's lock for ``lock_keys`` (film and run scopes)."""
    with engine.connect() as conn:
        with conn.begin():  # SQLite: BEGIN IMMEDIATE (see make_engine)
            if conn.dialect.name == "postgresql":
                for key in lock_keys:
                    conn.execute(
                        sa.text("SELECT pg_advisory_xact_lock(:ns, hashtext(:key))"),
                        {"ns": PG_LOCK_NAMESPACE, "key": key},
                    )
            yield conn


@contextmanager
def read(engine: Engine) -> Iterator[Connection]:
    with engine.connect().execution_options(slate_begin="DEFERRED") as conn:
        with conn.begin():
            yield conn
