"""Reservation race: 8 processes reserving random $0.04–$3.00 calls against one $10 film cap.

Prints admitted, refused, committed + reserved and the overshoot past the cap (the bar is $0.00)
with the wall time. SQLite always; Postgres too when a URL is given:

    .venv/bin/python -m benchmarks.reservations [postgresql+psycopg://postgres@127.0.0.1:5432/DB]

The test (tests/test_ledger_concurrency.py) runs the same race on both and asserts the figures.
It must never point at a database it did not make: the Postgres database is the caller's.
"""
from __future__ import annotations

import multiprocessing as mp
import random
import sys
import tempfile
import time
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

import sqlalchemy as sa

from governor.ledger import BudgetRefused, CallRequest, Cap, Ledger
from governor.money import fmt_usd

D = Decimal
PROCESSES = 8
ATTEMPTS = 25
CAP = D("10.00")
FILM = "film-race"

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


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


def race(url: str, label: str) -> dict:
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
    if errors:
        raise RuntimeError(f"worker failed: {errors}")

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
    stats = dict(label=label, attempts=attempts, admitted=admitted, refused=refused, committed=t.committed,
                 reserved=t.reserved, total=t.total, overshoot=overshoot, wall=wall, versions=versions,
                 rows=len(rows), refused_rows=sum(r.status == "refused" for r in rows),
                 admitted_rows=sum(r.status != "refused" for r in rows))
    print(
        f"\n[{label}] {PROCESSES} processes x {ATTEMPTS} = {attempts} attempts against a {fmt_usd(CAP)} film cap: "
        f"admitted {admitted}, refused {refused}; committed {fmt_usd(t.committed)} + reserved "
        f"{fmt_usd(t.reserved)} = {fmt_usd(t.total)}; overshoot {fmt_usd(overshoot)}; wall {wall:.2f}s"
    )

    return stats


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        race(f"sqlite:///{Path(tmp) / 'ledger.db'}", "sqlite")
    if len(sys.argv) > 1:
        race(sys.argv[1], "postgres")


if __name__ == "__main__":
    main()
