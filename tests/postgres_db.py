"""A throwaway Postgres database for the tests that need the real server on 127.0.0.1:5432.

Each use creates a uniquely named database and drops it afterwards (WITH FORCE, so a test
that leaked a connection cannot keep it alive). Skips, naming the error, if the server is not
reachable — the only reason a Postgres test may skip.
"""
from __future__ import annotations

import os
import secrets
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@contextmanager
def pg_database():
    """A fresh, uniquely named Postgres database, dropped afterwards; skip if no server."""
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with admin.connect() as c:
            c.execute(sa.text("SELECT 1"))
    except Exception as e:  # noqa: BLE001 - any failure to connect means "not reachable"
        admin.dispose()
        pytest.skip(f"Postgres not reachable on 127.0.0.1:5432: {e}")
    name = f"slate_test_{os.getpid()}_{secrets.token_hex(4)}"
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()




@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request, tmp_path):
    """A ledger URL on each backend: a SQLite file in the test's folder, then a throwaway
    Postgres database. A test file gets it by importing it (`from tests.postgres_db import url`)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
    else:
        with pg_database() as u:
            yield u
