"""Who is making an open paid call, and whether they are still alive.

Every reserved or submitted row of the ledger names its owner — the run, and the process
making the call (host, boot, pid and the process's start time, so a reused pid is not taken
for the old process) — and carries a lease the owner renews while the call is alive. Another
run that meets the row decides from this alone:

  * the owner is this very process: alive only if this process still holds the call (a call
    left by an earlier run in the same interpreter is dead);
  * the owner is another process on this machine: dead the moment that process is gone (a
    SIGKILLed run is resumed at once, not after its lease runs out), else as its lease says;
  * the owner is on another machine: alive until its lease runs out (the database's clock).

`open_calls` sorts a film's open calls (reserved, submitted, unknown) by who settles them — their
live owner, the next run by itself, or a person — for `slate reconcile` and `slate status`.

What it must never do: call a live owner dead. When in doubt it says "live", and the waiting
run waits (bounded) instead of paying twice.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from .ledger import CallRow, Ledger

log = logging.getLogger("slate.governor")

#: How long an owner's claim on an open call lasts without renewal, and how often it renews.
LEASE_SECONDS = 90.0
RENEW_FRACTION = 0.25   # renew when a quarter of the lease has passed: three renewals may fail


@lru_cache(maxsize=1)
def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()[:8]
    except OSError:
        return "noboot"


def _start_ticks(pid: int) -> str | None:
    """A process's start time in clock ticks since boot (None if there is no such process)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    if fields[0] in ("Z", "X"):  # a zombie has finished: nothing runs in it
        return None
    return fields[19]


@dataclass(frozen=True)
class Owner:
    """`<run id>@<host>/<boot>/<pid>/<start>`: the run and the process making a call."""

    run_id: str
    host: str
    boot: str
    pid: int
    start: str

    def __str__(self) -> str:
        return f"{self.run_id}@{self.host}/{self.boot}/{self.pid}/{self.start}"

    @classmethod
    def current(cls, run_id: str) -> "Owner":
        pid = os.getpid()
        return cls(run_id, socket.gethostname(), _boot_id(), pid, _start_ticks(pid) or "0")

    @classmethod
    def parse(cls, text: str) -> "Owner | None":
        run_id, at, rest = text.rpartition("@")
        parts = rest.split("/")
        if not at or len(parts) != 4 or not parts[2].isdigit():
            return None
        return cls(run_id, parts[0], parts[1], int(parts[2]), parts[3])

    def same_machine(self, other: "Owner") -> bool:
        return (self.host, self.boot) == (other.host, other.boot)

    def same_process(self, other: "Owner") -> bool:
        return self.same_machine(other) and (self.pid, self.start) == (other.pid, other.start)

    def describe(self) -> str:
        return f"run {self.run_id} (process {self.pid} on {self.host})"


def process_alive(owner: Owner) -> bool:
    return _start_ticks(owner.pid) == owner.start


class LeaseKeeper:
    """Renews, in one background thread, the leases of the calls this process is making."""

    def __init__(self) -> None:
        self._held: dict[str, tuple[Ledger, str, float, float]] = {}  # call_id -> ledger, owner, lease, renewed
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def hold(self, ledger: Ledger, call_id: str, owner: str, lease_seconds: float) -> None:
        with self._lock:
            self._held[call_id] = (ledger, owner, lease_seconds, time.monotonic())
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="slate-leases", daemon=True)
                self._thread.start()

    def drop(self, call_id: str) -> None:
        with self._lock:
            self._held.pop(call_id, None)

    def holds(self, call_id: str) -> bool:
        with self._lock:
            return call_id in self._held

    def _due(self) -> dict[tuple[int, str, float], tuple[Ledger, list[str]]]:
        now = time.monotonic()
        groups: dict[tuple[int, str, float], tuple[Ledger, list[str]]] = {}
        with self._lock:
            for call_id, (ledger, owner, lease, renewed) in self._held.items():
                if now - renewed >= lease * RENEW_FRACTION:
                    groups.setdefault((id(ledger), owner, lease), (ledger, []))[1].append(call_id)
        return groups

    def _run(self) -> None:
        while True:
            time.sleep(0.25)
            for (_, owner, lease), (ledger, ids) in self._due().items():
                try:
                    kept = ledger.renew(ids, owner=owner, lease_seconds=lease)
                except Exception as exc:  # noqa: BLE001 — a later renewal may succeed; the lease has slack
                    log.warning("could not renew the lease of %d paid call(s): %s", len(ids), exc)
                    continue
                now = time.monotonic()
                with self._lock:
                    for call_id in ids:
                        if call_id not in self._held:
                            continue
                        if call_id in kept:
                            ledger_, owner_, lease_, _ = self._held[call_id]
                            self._held[call_id] = (ledger_, owner_, lease_, now)
                        else:
                            # Settled meanwhile, or (a long stall) taken over by another run.
                            self._held.pop(call_id, None)


#: The one keeper of this process.
keeper = LeaseKeeper()


def lease_state(row: CallRow, now: datetime, me: Owner) -> Literal["live", "dead"]:
    """Whether the owner of an open (reserved or submitted) row is still making the call."""
    if row.owner is None or row.lease_until is None:
        return "dead"  # written before owners existed (schema v2), or released by its owner
    owner = Owner.parse(row.owner)
    if owner is not None and owner.same_process(me):
        return "live" if keeper.holds(row.call_id) else "dead"
    if owner is not None and owner.same_machine(me) and not process_alive(owner):
        return "dead"
    return "live" if row.lease_until > now else "dead"


def describe_owner(text: str | None) -> str:
    owner = Owner.parse(text or "")
    return owner.describe() if owner else f"owner {text!r}"


@dataclass(frozen=True)
class OpenCalls:
    """Every call of a film that may still cost money (reserved, submitted or unknown), by who
    settles it."""

    #: its owner is alive and making it now (a run in progress)
    in_flight: list[CallRow] = field(default_factory=list)
    #: the next run settles it by itself: re-attaches to its kept job id and collects what it
    #: made, or frees a reservation that was never sent ($0)
    by_itself: list[CallRow] = field(default_factory=list)
    #: sent, no job id recorded, its owner gone: a person says what happened (`slate reconcile`)
    by_hand: list[CallRow] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.in_flight or self.by_itself or self.by_hand)


def open_calls(ledger: Ledger, film: str) -> OpenCalls:
    """The film's open calls, each where it belongs (OpenCalls), judged as a run judges an owner."""
    found = OpenCalls()
    rows = ledger.open_intents(film=film)
    if not rows:
        return found
    now, me = ledger.now(), Owner.current("")
    for row in rows:
        if row.status in ("reserved", "submitted") and lease_state(row, now, me) == "live":
            found.in_flight.append(row)
        elif row.job_id or row.status == "reserved":
            found.by_itself.append(row)
        else:
            found.by_hand.append(row)
    return found
