"""What the budget events cost a paid call: the time `BudgetAlerts.check` adds to each one.

The governor calls it after every reservation and settlement. Below 80% of every cap it sums
the run's and the film's spend from the ledger; once every mark is reported it returns at
once. This prints, for a SQLite ledger holding ROWS earlier calls of the film: the median and
95th percentile of one check below the marks (two sums) and of one check after both marks are
reported. Emission itself is Prefect's `emit_event`, which queues the event to a background
worker; it is not timed here (with no API URL it would start an embedded server).

    .venv/bin/python -m benchmarks.budget_alerts

It must never emit an event: its alerts are given an emitter that drops them.
"""
from __future__ import annotations

import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROWS = 500
TRIALS = 200


def _request(i: int, estimate: str, run_id: str):
    from slate.governor.ledger import CallRequest
    return CallRequest(run_id=run_id, film="bench", scene="s", shot=f"{i}", stage="video", take=1, provider="local",
                       model="m", profile="draft", fingerprint=f"fp-{i}", prompt="", reference_hashes=(), parameters={},
                       estimate=Decimal(estimate))


def _times(fn, n: int) -> tuple[float, float]:
    spent = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        spent.append((time.perf_counter() - t) * 1000)
    spent.sort()
    return statistics.median(spent), spent[int(len(spent) * 0.95) - 1]


def main() -> None:
    from slate.governor.alerts import BudgetAlerts
    from slate.governor.ledger import Cap, Ledger
    with tempfile.TemporaryDirectory() as tmp:
        ledger = Ledger(f"sqlite:///{Path(tmp) / 'ledger.db'}")
        caps = [Cap("run", Decimal("1000")), Cap("film", Decimal("10000"))]
        for i in range(ROWS):
            ledger.reserve(cap_scopes=caps, request=_request(i, "0.35", "run-bench"))
        quiet = BudgetAlerts(film="bench", title="Bench", run_id="run-bench", emit=lambda **kw: None)
        below = _times(lambda: quiet.check(ledger, caps), TRIALS)
        quiet.sent = {(c.scope, e) for c in caps for e in ("slate.budget.warning", "slate.budget.cap-reached")}
        reported = _times(lambda: quiet.check(ledger, caps), TRIALS)
        ledger.close()
    print(f"budget alerts, SQLite ledger with {ROWS} rows, {TRIALS} trials each (ms, median / p95):")
    print(f"  check below the marks (run and film sums): {below[0]:.2f} / {below[1]:.2f}")
    print(f"  check after both marks reported:           {reported[0]:.4f} / {reported[1]:.4f}")


if __name__ == "__main__":
    main()
