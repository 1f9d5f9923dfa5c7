"""Budget caps under real concurrency: 8 OS processes racing reservations on one film.

Each process opens the ledger at the same instant (so the migrations race too), then
tries 25 reservations of $0.04-$3.00 against a $10 film cap, settling, releasing or
holding what it gets. Afterwards committed + reserved must not exceed the cap by a
single micro-dollar, and every attempt must be accounted for as admitted or refused,
both in the workers' counts and in the ledger's rows.

Run with ``pytest -s`` to see the figures.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import secrets
import time
from contextlib import contextmanager
from decimal import ROUND_DOWN, Decimal

import pytest
import sqlalchemy as sa

from governor.ledger import BudgetRefused, CallRequest, Cap, Ledger
from governor.money import fmt_usd

D = Decimal
PROCESSES = 8
ATTEMPTS = 25
CAP = D("10.00")
FILM = "film-race"

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@contextmanager
def pg_database():
    """A fresh, uniquely named Postgres database, dropped afterwards; skip if no server."""
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with admin.connect() as c:
            c.execute(sa.text("SELECT 1"))
    except Exception as e:  # noqa: BLE001
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


def _worker(url: str, seed: int, barrier, results) -> None:
    """One process: open the ledger with the others, then race ATTEMPTS reservations."""
    try:
        rng = random.Random(seed)
        barrier.wait(60)
        ledger = Ledger(url)  # all processes migrate at once: must not double-apply
        barrier.wait(60)
        admitted = refused = 0
        for i in range(ATTEMPTS):
            est = D(rng.randint(4, 300)) / 100
            request = CallRequest(
                run_id=f"run-{seed}",
                film=FILM,
                scene="sc01",
                shot=f"sh{i:03d}",
                stage="video",
                take=1,
                provider="local",
                model="kling",
                profile="final",
                fingerprint=f"fp-{seed}-{i}",
                prompt="race",
                reference_hashes=(),
                parameters={},
                estimate=est,
            )
            try:
                r = ledger.reserve(cap_scopes=[Cap("film", CAP)], request=request)
            except BudgetRefused:
                refused += 1
                continue
            admitted += 1
            x = rng.random()
            if x < 0.3:
                ledger.release(r.call_id)  # frees room for others
            elif x < 0.7:
                ledger.mark_submitted(r.call_id, f"job-{seed}-{i}")
                actual = (est * rng.randint(0, 100) / 100).quantize(D("0.01"), rounding=ROUND_DOWN)
                ledger.settle(r.call_id, actual_cost=actual, artifact_uri=None)
            elif x < 0.8:
                ledger.mark_unknown(r.call_id, "worker lost track")
            # else: stays reserved
        ledger.close()
        results.put(("ok", seed, admitted, refused))
    except BaseException as e:  # report, don't hang the parent
        results.put(("error", seed, repr(e), 0))


def _race(url: str, label: str) -> None:
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES)
    results = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(url, seed, barrier, results)) for seed in range(PROCESSES)]
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    got = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)
    wall = time.perf_counter() - t0
    errors = [g for g in got if g[0] != "ok"]
    assert not errors, errors

    admitted = sum(g[2] for g in got)
    refused = sum(g[3] for g in got)
    attempts = PROCESSES * ATTEMPTS

    ledger = Ledger(url)
    t = ledger.totals(film=FILM)
    rows = ledger.rows(film=FILM)
    with ledger.engine.connect() as c:
        versions = [r[0] for r in c.execute(sa.text("SELECT version FROM schema_migrations ORDER BY version"))]
    ledger.close()
    overshoot = max(D(0), t.total - CAP)
    print(
        f"\n[{label}] {PROCESSES} processes x {ATTEMPTS} = {attempts} attempts against a {fmt_usd(CAP)} film cap: "
        f"admitted {admitted}, refused {refused}; committed {fmt_usd(t.committed)} + reserved "
        f"{fmt_usd(t.reserved)} = {fmt_usd(t.total)}; overshoot {fmt_usd(overshoot)}; wall {wall:.2f}s"
    )

    assert versions == [1, 2]
    assert admitted + refused == attempts
    assert overshoot == 0 and t.total <= CAP
    # The ledger agrees with the workers: one row per attempt, refusals logged as rows.
    assert len(rows) == attempts
    assert sum(r.status == "refused" for r in rows) == refused
    assert sum(r.status != "refused" for r in rows) == admitted
    assert refused > 0, "the cap never bit; the test proves nothing"


def test_concurrent_reservations_sqlite(tmp_path):
    _race(f"sqlite:///{tmp_path / 'ledger.db'}", "sqlite")


@pytest.mark.postgres
def test_concurrent_reservations_postgres():
    with pg_database() as url:
        _race(url, "postgres")
