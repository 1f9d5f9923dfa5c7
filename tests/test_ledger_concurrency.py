"""≥8 processes reserving concurrently against one cap never exceed it, on SQLite and Postgres.

The race itself is benchmarks/reservations.py (it prints the figures); here its numbers are
held to the bar: overshoot $0.00, one ledger row per attempt, and the cap must have bitten.
"""
from __future__ import annotations

from benchmarks.reservations import CAP, race

from postgres_db import pg_database  # noqa: E402


def check(s: dict) -> None:
    assert s["versions"] == [1, 2, 3]
    assert s["admitted"] + s["refused"] == s["attempts"]
    assert s["overshoot"] == 0 and s["total"] <= CAP
    # The ledger agrees with the workers: one row per attempt, refusals logged as rows.
    assert s["rows"] == s["attempts"]
    assert s["refused_rows"] == s["refused"] and s["admitted_rows"] == s["admitted"]
    assert s["refused"] > 0, "the cap never bit; the test proves nothing"


def test_concurrent_reservations_sqlite(tmp_path):
    check(race(f"sqlite:///{tmp_path / 'ledger.db'}", "sqlite"))


def test_concurrent_reservations_postgres():
    with pg_database() as url:
        check(race(url, "postgres"))
