"""Reservation race: 16 processes reserving against one cap, trial after trial, checked as they go.

Each trial is a fresh film (a fresh cap scope) with a $10.00 film cap; every third trial the
workers also share one run id held to a $6.00 run cap. The processes are spawned once and kept
alive; a barrier starts each trial, and in it every process makes ATTEMPTS reservations of a
random $0.04–$3.00, then releases, settles, marks unknown or keeps what it was admitted.

The bar is that committed + reserved never passes a cap. It is checked where the money lands,
not in counters of our own: after EVERY admission the worker reads committed + reserved back
from the ledger (`Ledger.totals`) and records any reading above a cap, and at the end each
trial is summed again from its rows, which must number one per attempt. Prints, per backend:
processes, trials, attempts, admitted, refused, the largest committed + reserved read after
an admission, the overshoot, the violations and the wall time.

    .venv/bin/python -m benchmarks.reservations [postgresql+psycopg://postgres@127.0.0.1:5432/DB]

SQLite always; Postgres too when a URL is given. tests/e2e/test_ledger_concurrency.py runs the
race on both and asserts the figures. It must never point at a database it did not make: the
Postgres database is the caller's, and every film it writes is named for this race alone.
"""
from __future__ import annotations

import multiprocessing as mp
import random
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

import sqlalchemy as sa

from slate.governor.ledger import BudgetRefused, CallRequest, Cap, Ledger
from slate.governor.money import fmt_usd

D = Decimal
PROCESSES = 16
TRIALS = 32
ATTEMPTS = 4               # per process per trial: 16 x 32 x 4 = 2,048 reservations per backend
FILM_CAP = D("10.00")
RUN_CAP = D("6.00")        # below the film cap, so on those trials it is the run cap that bites
RUN_CAP_EVERY = 3
BARRIER_TIMEOUT = 120
# The accounting rule of governor/ledger.py, restated so the end-of-trial check does not
# trust the ledger's own sum.
_BY_ACTUAL = ("succeeded", "failed")
_BY_ESTIMATE = ("submitted", "unknown", "reserved")


@dataclass(frozen=True)
class Trial:
    index: int
    film: str
    shared_run: str | None  # every worker's calls in one run, held to RUN_CAP

    def run_id(self, worker: int) -> str:
        return self.shared_run or f"{self.film}-w{worker:02d}"

    @property
    def caps(self) -> list[Cap]:
        caps = [Cap("film", FILM_CAP)]
        return caps + [Cap("run", RUN_CAP)] if self.shared_run else caps


def trials(race_id: str, count: int = TRIALS) -> list[Trial]:
    return [Trial(i, f"race-{race_id}-t{i:03d}", f"race-{race_id}-t{i:03d}-run" if i % RUN_CAP_EVERY == 1 else None)
            for i in range(count)]


@dataclass
class TrialTally:
    """One worker's figures for one trial; violations are (scope, amount read) pairs."""

    admitted: int = 0
    refused: int = 0
    readings: int = 0           # ledger read-backs after admissions: one per admission
    max_film: Decimal = D(0)
    max_run: Decimal = D(0)
    violations: list[tuple[str, Decimal]] = field(default_factory=list)


def _request(trial: Trial, worker: int, i: int, estimate: Decimal) -> CallRequest:
    return CallRequest(run_id=trial.run_id(worker), film=trial.film, scene="sc01", shot=f"w{worker:02d}-{i:03d}",
                       stage="video", take=1, provider="local", model="kling", profile="final",
                       fingerprint=f"fp-{trial.film}-{worker}-{i}", prompt="race", reference_hashes=(),
                       parameters={}, estimate=estimate)


def _check_after_admission(ledger: Ledger, trial: Trial, worker: int, tally: TrialTally) -> None:
    """Read committed + reserved back from the ledger, as any other process would see it now."""
    film_total = ledger.totals(film=trial.film).total
    tally.readings += 1
    tally.max_film = max(tally.max_film, film_total)
    if film_total > FILM_CAP:
        tally.violations.append(("film", film_total))
    if trial.shared_run:
        run_total = ledger.totals(film=trial.film, run_id=trial.run_id(worker)).total
        tally.max_run = max(tally.max_run, run_total)
        if run_total > RUN_CAP:
            tally.violations.append(("run", run_total))


def _after_call(ledger: Ledger, rng: random.Random, call_id: str, estimate: Decimal) -> None:
    """What happens to an admitted call, in the proportions a run sees: freed, paid, lost, pending."""
    x = rng.random()
    if x < 0.3:
        ledger.release(call_id)  # frees room for the others
    elif x < 0.7:
        ledger.mark_submitted(call_id, f"job-{call_id}")
        actual = (estimate * rng.randint(0, 100) / 100).quantize(D("0.01"), rounding=ROUND_DOWN)
        ledger.settle(call_id, actual_cost=actual, artifact_uri=None)
    elif x < 0.8:
        ledger.mark_unknown(call_id, "worker lost track")
    # else: stays reserved


def _worker(url: str, race_id: str, worker: int, barrier, results, count: int = TRIALS) -> None:
    """One process for the whole race: open the ledger with the others, then every trial."""
    try:
        rng = random.Random(f"{race_id}-{worker}")
        barrier.wait(BARRIER_TIMEOUT)
        ledger = Ledger(url)  # all processes migrate at once: must not double-apply
        tallies = []
        for trial in trials(race_id, count):
            barrier.wait(BARRIER_TIMEOUT)  # everyone starts the trial together
            tally = TrialTally()
            for i in range(ATTEMPTS):
                estimate = D(rng.randint(4, 300)) / 100
                try:
                    r = ledger.reserve(cap_scopes=trial.caps, request=_request(trial, worker, i, estimate))
                except BudgetRefused:
                    tally.refused += 1
                    continue
                tally.admitted += 1
                _check_after_admission(ledger, trial, worker, tally)
                _after_call(ledger, rng, r.call_id, estimate)
            tallies.append(tally)
        ledger.close()
        results.put(("ok", worker, tallies))
    except BaseException as e:  # report, and break the barrier so no other worker hangs
        barrier.abort()
        results.put(("error", worker, repr(e)))


def counted_from_rows(rows) -> Decimal:
    """committed + reserved summed from the rows themselves (see governor/ledger.py's rule)."""
    total = D(0)
    for r in rows:
        if r.status in _BY_ACTUAL:
            total += r.actual_cost if r.actual_cost is not None else r.estimate
        elif r.status in _BY_ESTIMATE:
            total += r.estimate
    return total


@dataclass
class TrialResult:
    trial: Trial
    attempts: int
    admitted: int
    refused: int
    readings: int
    rows: int
    refused_rows: int
    refused_by: set[str]        # which caps the refusals name ("film", "run")
    max_film: Decimal           # largest film committed + reserved read after an admission
    max_run: Decimal
    end_film: Decimal           # summed from the trial's rows at the end
    end_run: Decimal
    violations: list[tuple[str, Decimal]]

    @property
    def cap_bit(self) -> bool:
        return self.refused_rows > 0


def _trial_result(ledger: Ledger, trial: Trial, tallies: list[TrialTally]) -> TrialResult:
    rows = ledger.rows(film=trial.film)
    violations = [v for t in tallies for v in t.violations]
    end_film = counted_from_rows(rows)
    end_run = counted_from_rows([r for r in rows if r.run_id == trial.shared_run]) if trial.shared_run else D(0)
    if end_film > FILM_CAP:
        violations.append(("film at the end", end_film))
    if end_run > RUN_CAP:
        violations.append(("run at the end", end_run))
    refused = [r for r in rows if r.status == "refused"]
    return TrialResult(
        trial=trial, attempts=PROCESSES * ATTEMPTS, admitted=sum(t.admitted for t in tallies),
        refused=sum(t.refused for t in tallies), readings=sum(t.readings for t in tallies), rows=len(rows), refused_rows=len(refused),
        refused_by={"run" if "per-run cap" in (r.error_message or "") else "film" for r in refused},
        max_film=max(t.max_film for t in tallies), max_run=max(t.max_run for t in tallies),
        end_film=end_film, end_run=end_run, violations=violations)


def overshoot(results: list[TrialResult]) -> Decimal:
    """How far past its cap any reading or end-of-trial sum went ($0 when none did)."""
    over = [r.max_film - FILM_CAP for r in results] + [r.end_film - FILM_CAP for r in results]
    over += [max(r.max_run, r.end_run) - RUN_CAP for r in results if r.trial.shared_run]
    return max([D(0), *over])


def race(url: str, label: str, count: int = TRIALS) -> dict:
    """The race on one backend, `count` trials (the benchmark's TRIALS; the test runs fewer)."""
    race_id = uuid.uuid4().hex[:8]
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES)
    results = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(url, race_id, w, barrier, results, count)) for w in range(PROCESSES)]
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    got = [results.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(30)
    wall = time.perf_counter() - t0
    errors = [g for g in got if g[0] != "ok"]
    if errors:
        # The worker that failed first broke the barrier; the others only report that.
        errors.sort(key=lambda g: "BrokenBarrierError" in g[2])
        raise RuntimeError(f"{len(errors)} of {PROCESSES} workers failed; worker {errors[0][1]}: {errors[0][2]}")
    by_worker = {g[1]: g[2] for g in got}

    ledger = Ledger(url)
    per_trial = [_trial_result(ledger, t, [by_worker[w][t.index] for w in range(PROCESSES)])
                 for t in trials(race_id, count)]
    with ledger.engine.connect() as c:
        versions = [r[0] for r in c.execute(sa.text("SELECT version FROM schema_migrations ORDER BY version"))]
    ledger.close()

    stats = dict(
        label=label, processes=PROCESSES, trials=len(per_trial), attempts=sum(r.attempts for r in per_trial),
        admitted=sum(r.admitted for r in per_trial), refused=sum(r.refused for r in per_trial),
        readings=sum(r.readings for r in per_trial),
        rows=sum(r.rows for r in per_trial), refused_rows=sum(r.refused_rows for r in per_trial),
        max_film=max(r.max_film for r in per_trial),
        max_run=max((r.max_run for r in per_trial if r.trial.shared_run), default=D(0)),
        overshoot=overshoot(per_trial), violations=[(r.trial.index, *v) for r in per_trial for v in r.violations],
        trials_cap_bit=sum(r.cap_bit for r in per_trial), per_trial=per_trial, versions=versions, wall=wall)
    print(summary(stats))
    return stats


def summary(s: dict) -> str:
    run_trials = [r for r in s["per_trial"] if r.trial.shared_run]
    at_end = sum(scope.endswith("at the end") for _, scope, _ in s["violations"])
    lines = [
        f"\n[{s['label']}] {s['processes']} processes, {s['trials']} trials ({len(run_trials)} with a shared "
        f"{fmt_usd(RUN_CAP)} run cap), {s['attempts']} attempts against a {fmt_usd(FILM_CAP)} film cap",
        f"  admitted {s['admitted']}, refused {s['refused']}, {s['readings']} read-backs; ledger rows {s['rows']} "
        f"({s['refused_rows']} refused); the cap bit in {s['trials_cap_bit']}/{s['trials']} trials",
        f"  max committed+reserved read after an admission: film {fmt_usd(s['max_film'])} "
        f"(cap {fmt_usd(FILM_CAP)}), run {fmt_usd(s['max_run'])} (cap {fmt_usd(RUN_CAP)})",
        f"  overshoot {fmt_usd(s['overshoot'])}; violations {len(s['violations'])} ({at_end} in the trials' "
        f"end sums from rows, the rest read after an admission); wall {s['wall']:.1f}s",
    ]
    for trial, scope, amount in s["violations"][:10]:
        lines.append(f"  VIOLATION trial {trial}: {scope} committed+reserved {fmt_usd(amount)}")
    return "\n".join(lines)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        race(f"sqlite:///{Path(tmp) / 'ledger.db'}", "sqlite")
    if len(sys.argv) > 1:
        race(sys.argv[1], "postgres")


if __name__ == "__main__":
    main()
