"""The durable ledger of paid calls and the atomic budget reservation.

What it is for: every paid provider call is one row in ``paid_calls``, written
*before* the call is submitted (an intent), updated with the provider's job id before
any polling, and settled with the actual cost afterwards. The same table is the
budget: ``reserve`` admits a call only if every cap still has room for its estimate.

Its seams (as httpx splits its modules): ``values`` (money and time column types, caps,
totals, errors), ``schema`` (the one home of the columns: the table, CallRow, CallRequest),
``engine`` (locking, the database clock, masked URLs), ``migrations`` (recorded schema
steps) and ``book`` (the Ledger). Everything a caller needs is re-exported here.

What it must never do:
  * admit a call that would take committed + reserved past a cap, however many
    workers (threads, processes, machines) reserve at once;
  * let two owners hold one request's open row: ``claim`` looks for the request's rows
    and admits a new one in the same locked transaction, and a partial unique index
    allows one reserved-or-submitted row per request (schema v3);
  * forget money: a call whose outcome is unknown counts as spent until a person or
    a re-attachment proves otherwise; rows are never deleted (schema v6 moved the approvals
    once written as $0 rows into ``approvals``: they were never calls);
  * count a person's approval as a paid call: approvals have their own table (``approve``,
    ``approvals``), which no budget sum or call count reads;
  * use float for money (see ``governor.money``), or change its own schema outside
    ``governor.ledger.migrations``; or put a database password into any message.

Accounting rule (per film, or per run for a run-scoped cap)
------------------------------------------------------------
    committed = sum(actual_cost of succeeded and failed rows)
              + sum(estimate of submitted rows)   # in flight: the job will be paid
              + sum(estimate of unknown rows)     # unknown outcomes count as spent
    reserved  = sum(estimate of reserved rows)    # admitted, not yet submitted
    released and refused rows count 0.

A call with estimate ``e`` is admitted only if ``committed + reserved + e <= limit``
for EVERY cap in ``cap_scopes``; admission inserts the row (status ``reserved``) in
the same transaction as the sums. A run-scoped cap sums the rows with the same
``run_id``; a film-scoped cap sums every row of the film, across runs; a session cap sums the
film's rows of one agent session's caller, across its runs and processes; the agents' daily cap
sums the film's rows of every agent caller since midnight UTC. The last two sum rows of one
film, so the film's lock already serializes their admissions.

Why a lock, not just "check then insert"
----------------------------------------
Without serialization two workers can both read committed + reserved = $9.00 under a
$10 cap, both see room for a $0.90 call, and both insert: $10.80 admitted. Each
worker's check was correct for the snapshot it read; the overshoot grows with the
number of concurrent workers (LiteLLM's session caps were overshot "by a multiple of
request concurrency" this way). So the sum and the insert happen under one lock:

  * SQLite: every write transaction starts with ``BEGIN IMMEDIATE``, which takes the
    database's single write lock before the sums are read; other writers wait
    (busy_timeout 30 s). WAL mode lets readers continue meanwhile. The pysqlite driver
    is told not to begin transactions itself (``isolation_level=None``) because its
    default deferred BEGIN would only take the lock at the INSERT, after the read.
  * Postgres: ``pg_advisory_xact_lock`` on the film (and the run) is taken first in
    the transaction; the sums then run in READ COMMITTED (forced on the engine), so
    each statement sees everything the previous lock holder committed. Under
    REPEATABLE READ the snapshot would predate the lock and the lock would be useless.

``mark_submitted``/``settle``/``fail``/``release``/``mark_unknown`` do not take the
budget lock: they only move a row between states whose counted amount stays the same
or shrinks (given actual <= estimate), so they cannot make an admission wrong. When a
provider charges more than it estimated, totals may exceed the cap; the next reserve
then sees it and refuses.
"""

from __future__ import annotations

from .book import Claim, Ledger, Reservation
from .engine import make_engine, mask_secrets_in, mask_url, reach_problem, url_problem
from .schema import (LIVE_STATUSES, OPEN_STATUSES, STATUSES, ApprovalRow, CallRequest, CallRow, paid_calls,
                     request_key)
from .values import (AGENT_CALLER, BudgetRefused, Cap, CapScope, LedgerStateError, LedgerUnavailable,
                     LedgerUrlInvalid, Money, Totals, UnknownCall, UTCTimestamp)

__all__ = [
    "Ledger", "Claim", "Reservation", "Cap", "CapScope", "AGENT_CALLER", "CallRequest", "CallRow", "ApprovalRow",
    "Totals", "BudgetRefused", "LedgerStateError", "LedgerUnavailable", "LedgerUrlInvalid", "UnknownCall", "Money",
    "UTCTimestamp", "make_engine", "mask_url", "mask_secrets_in", "url_problem", "reach_problem", "paid_calls",
    "request_key", "STATUSES", "OPEN_STATUSES", "LIVE_STATUSES",
]
