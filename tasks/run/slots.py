"""Video slots: at most N video jobs in flight per provider key, across every worker.

A Prefect global concurrency limit named `video-<provider>-<key id>` is created on demand the
first time a provider key is used (with the configured number of slots; edit it on the UI's
Concurrency page afterwards) and every video job holds one slot from submit to download.
`strict=True`: if the limit cannot be found the job does not run unthrottled — Prefect's
default would only log a warning (PREFECT.md §4).

A slot held by a process that was killed stays counted in the server's database; a real
server's lease service frees it when its lease expires, but the embedded server `slate run`
starts has no such service, and a rerun after a crash would wait on that slot forever. So in
embedded mode (the CLI sets SLATE_EMBEDDED_PREFECT=1) the limit's taken slots are reset the
first time this process uses it — but only when no other embedded slate run is alive on the
same Prefect home: each one holds a shared lock on `$PREFECT_HOME/slate-embedded.lock` for as
long as it lives, and the reset needs that lock alone (two `slate run` at once share the home's
database, and one must not free the other's slot). Every wait for a slot has a time limit, and
ends at once when the process is told to stop (SIGTERM, its parent gone): a RunHalted. A job
that leaves its slot — finished, failed, or cancelled past its deadline — gives it to the next.

A slot is handed on inside the process. Asking the server for a slot that another job of the
same process has just released cost a 62-shot film 1.3 s per shot (benchmarks/scale.py): the
waiters sleep the server's Retry-After between refusals, and the embedded server (SQLite) often
answers the request with a retryable 503 that Prefect's client retries after 2 s. So a keeper
thread holds each server slot this process gets and hands it from one video job of the process
to the next waiting one directly; it gives the slot back to the server when no job of the
process waits, or after HANDOFFS jobs in a row when other workers share the server (their jobs
wait there, and must get their turn). The server's count is what bounds the key's jobs either
way: one server slot serves one job at a time.

It must never name a limit after a key itself: the key id is a short hash or a label. It must
never take a server slot in a task run's concurrency context (that run's end gives it back).
"""
from __future__ import annotations

import contextvars
import fcntl
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate, GlobalConcurrencyLimitUpdate
from prefect.concurrency.context import ConcurrencyContext
from prefect.concurrency.sync import concurrency
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

from slate.governor.chokepoint import RunHalted
from slate.governor.killswitch import process_stop

# The limits this process has made sure of, by name (one per provider key, never a run): process-
# wide on purpose — the first use in a process may reset a killed run's slots (see above), so
# forgetting one could free a slot this process holds. Bounded by the keys the machine is given.
_ENSURED: set[str] = set()
_LOCK = threading.Lock()
SLOT_WAIT_SECONDS = 6 * 3600  # a night's batch may queue long; forever is a hang
HANDOFFS = 8                  # jobs in a row on one kept slot before others on the server get a turn
SETTLE_SECONDS = 60           # a job waits this long at most for its slot to be handed on or given back
#: A server slot's lease: renewed at three quarters of it while its keeper lives, so a keeper that
#: dies (SIGKILL, out of memory, a closed laptop) stops renewing and its slot is given back this
#: long after at most, plus the reclaim's round (slate/server.py LeaseReclaim). Prefect's shortest.
LEASE_SECONDS = 60
#: A job that waits this long for its slot says so, and again every NOTICE_AGAIN seconds.
NOTICE_SECONDS = 20.0
NOTICE_AGAIN = 300.0
STOP_CHECK_SECONDS = 0.5      # how often a job waiting for a slot looks whether its process was told to stop


def embedded() -> bool:
    return os.environ.get("SLATE_EMBEDDED_PREFECT") == "1"


_PRESENCE: int | None = None


def _alone_on_this_home() -> bool:
    """Announce this embedded run (a shared lock held for the process's life) and say whether it
    is the only one on this Prefect home (the lock can be made exclusive)."""
    global _PRESENCE
    from prefect.settings import PREFECT_HOME
    if _PRESENCE is None:
        home = Path(PREFECT_HOME.value())
        home.mkdir(parents=True, exist_ok=True)
        _PRESENCE = os.open(home / "slate-embedded.lock", os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(_PRESENCE, fcntl.LOCK_SH)
    try:
        fcntl.flock(_PRESENCE, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    fcntl.flock(_PRESENCE, fcntl.LOCK_SH)
    return True


def slot_name(provider: str, key_id: str) -> str:
    return f"video-{provider}-{key_id}".lower()


def ensure_limit(name: str, slots: int) -> None:
    with _LOCK:
        if name in _ENSURED:
            return
        with get_client(sync_client=True) as client:
            alone = _alone_on_this_home() if embedded() else False  # announces this run first
            try:
                limit = client.read_global_concurrency_limit_by_name(name)
                if alone and limit.active_slots:
                    # Left by a killed run of this machine: no other run uses this server's database.
                    client.update_global_concurrency_limit(name, GlobalConcurrencyLimitUpdate(active_slots=0))
            except ObjectNotFound:
                try:
                    client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=slots))
                except ObjectAlreadyExists:  # another worker made it first: theirs stands
                    pass
        _ENSURED.add(name)


class _Turn:
    """One job's wait for a slot: granted (or failed with the keeper's error), then given back."""

    def __init__(self) -> None:
        self.granted = threading.Event()
        self.returned = threading.Event()
        self.settled = threading.Event()   # handed on to the next job, or given back to the server
        self.error: BaseException | None = None


class _Keeper:
    """This process's hold on one limit: at most `slots` keeper threads, each holding one server
    slot and serving this process's waiting jobs one after another."""

    def __init__(self, name: str, slots: int):
        self.name, self.slots = name, slots
        self.lock = threading.Lock()
        self.waiting: deque[_Turn] = deque()
        self.keepers = 0   # keeper threads alive
        self.serving = 0   # of them, those a job holds now
        self.leaving = 0   # of them, those giving their slot back to the server

    def take(self, timeout: float, on_wait: Callable[[float], None] | None = None) -> _Turn:
        turn = _Turn()
        with self.lock:
            self.waiting.append(turn)
            self._staff()
        try:
            if not self._granted(turn, timeout, on_wait):
                with self.lock:
                    if turn in self.waiting:  # still queued: leave; a keeper may be granting it right now
                        self.waiting.remove(turn)
                        stop = process_stop()
                        if stop is not None:
                            raise RunHalted(f"stop requested: {stop.reason}; no video slot of '{self.name}' "
                                            f"was taken", kind="stop")
                        raise TimeoutError(f"no slot of '{self.name}' within {timeout:.0f} s")
                turn.granted.wait()
        except BaseException:
            # Cancelled or timed out while waiting. A turn a keeper already took is given straight
            # back, or that keeper would hold its slot for a job that never comes.
            with self.lock:
                if turn in self.waiting:
                    self.waiting.remove(turn)
                    raise
            turn.returned.set()
            raise
        if turn.error is not None:
            raise turn.error
        return turn

    @staticmethod
    def _granted(turn: _Turn, timeout: float, on_wait: Callable[[float], None] | None = None) -> bool:
        """Wait for the turn, at most `timeout`, and no longer once this process is told to stop
        (SIGTERM, its parent gone): a run ending must not wait hours for a slot. A job that waits
        says so (on_wait, with the seconds waited) after NOTICE_SECONDS, then every NOTICE_AGAIN."""
        start = time.monotonic()
        deadline = start + timeout
        notice = start + NOTICE_SECONDS
        while not turn.granted.wait(max(0.0, min(STOP_CHECK_SECONDS, deadline - time.monotonic()))):
            now = time.monotonic()
            if process_stop() is not None or now >= deadline:
                return False
            if on_wait is not None and now >= notice:
                notice = now + NOTICE_AGAIN
                try:
                    on_wait(now - start)
                except Exception:  # noqa: BLE001 — a display that fails must never lose the slot's wait
                    pass
        return True

    def _staff(self) -> None:
        # Called with the lock held: more keepers while jobs wait that the free keepers (those
        # asking the server for their slot, about to take the next job) cannot serve. A keeper
        # a job holds is no room for another job: counted as room, a two-slot key ran one job
        # at a time whenever its jobs came one by one.
        while self.keepers < self.slots and len(self.waiting) > self.keepers - self.serving - self.leaving:
            self.keepers += 1
            # The job's context goes with it: the Prefect server it talks to is a setting there.
            threading.Thread(target=contextvars.copy_context().run, args=(self._keep,),
                             name=f"slot-keeper {self.name}", daemon=True).start()

    def _next(self, served: int, finished: bool) -> _Turn | None:
        """The next job for a keeper (it finished one when `finished`), or None: it leaves."""
        with self.lock:
            if finished:
                self.serving -= 1
            if not self.waiting or (served >= HANDOFFS and not embedded()):
                self.leaving += 1
                return None
            self.serving += 1
            return self.waiting.popleft()

    def _keep(self) -> None:
        holding = None  # the turn the slot is with; settled once it is handed on or given back
        role = "free"   # what this keeper counts as (`_staff`): free, serving a job, or leaving
        try:
            # The keeper's own concurrency context. The thread starts in a copy of the first
            # job's context, and Prefect records every lease taken there on that task run, to
            # give back when the task run ends — it did, while the keeper served the next jobs:
            # the server counted the slot free, another worker took it, and two video jobs of a
            # one-slot key were in flight at once (seen on the studio). A lease the keeper fails
            # to give back is given back when this context closes, with the keeper.
            with ConcurrencyContext(), \
                    concurrency(self.name, occupy=1, strict=True, timeout_seconds=SLOT_WAIT_SECONDS,
                                lease_duration=LEASE_SECONDS):
                served, turn = 0, self._next(0, finished=False)
                role = "serving" if turn is not None else "leaving"
                while turn is not None:
                    holding = turn
                    turn.granted.set()
                    turn.returned.wait()
                    served += 1
                    following = self._next(served, finished=True)
                    role = "serving" if following is not None else "leaving"
                    if following is not None:
                        turn.settled.set()
                    turn = following
        except BaseException as exc:  # noqa: BLE001 — the waiting job raises it, as if it had asked itself
            with self.lock:
                turn = self.waiting.popleft() if self.waiting else None
            if turn is not None:
                turn.error = exc
                turn.granted.set()
        finally:
            if holding is not None:
                holding.settled.set()
            with self.lock:
                if role == "serving":
                    self.serving -= 1
                elif role == "leaving":
                    self.leaving -= 1
                self.keepers -= 1
                self._staff()  # jobs that came while this keeper gave its slot back


def holders(name: str) -> tuple[int, int] | None:
    """How many of a limit's slots the server counts taken, and of how many; None when it cannot say."""
    try:
        with get_client(sync_client=True) as client:
            limit = client.read_global_concurrency_limit_by_name(name)
        return int(limit.active_slots), int(limit.limit)
    except Exception:  # noqa: BLE001 — said while waiting: never a reason to stop waiting
        return None


def wait_words(taken: tuple[int, int] | None, ours: int) -> str:
    """Who holds the slots a job waits for, and what happens next, in words: `taken` the server's
    count (taken, of how many; None: it could not be read), `ours` the slots this process's own
    jobs hold now (this run's earlier clips, or another run in the same process). A lapsed lease is
    named only where neither a free slot nor this process explains the wait."""
    if taken is None:
        return (f"the server did not say who holds them; a slot of a run that died is given back within "
                f"{LEASE_SECONDS + 15} s")
    used, limit = taken
    if used < limit:
        return (f"{used} of {limit} taken: a slot is free and the server has not granted it yet; this job takes it "
                f"as soon as it does")
    if ours >= used:
        return (f"{used} of {limit} taken, by this run's own earlier clip{'s' if ours > 1 else ''}: this job is next "
                f"when one ends")
    others = used - ours
    return (f"{used} of {limit} taken, {others} by another run{'s' if others > 1 else ''} (a live one keeps its "
            f"slot while its clip renders; one that died gives it back within {LEASE_SECONDS + 15} s)")


# One keeper per limit (a provider key, never a run), for the process's life: process-wide on
# purpose, since slots are handed on between the jobs of every run in the process; bounded by
# the keys the machine is given.
_KEEPERS: dict[str, _Keeper] = {}


@contextmanager
def video_slot(provider: str, key_id: str, slots: int,
               say: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold one of the key's video slots for the block. `say` hears, while the job waits, what it
    waits for and who holds the slots."""
    name = slot_name(provider, key_id)
    ensure_limit(name, slots)
    with _LOCK:
        keeper = _KEEPERS.setdefault(name, _Keeper(name, slots))

    def waiting(seconds: float) -> None:
        if say is not None:
            with keeper.lock:
                ours = keeper.serving
            say(f"waiting {seconds:.0f} s for a video slot of {provider} key {key_id} "
                f"({wait_words(holders(name), ours)})")
    turn = keeper.take(SLOT_WAIT_SECONDS, waiting)
    try:
        yield
    finally:
        turn.returned.set()
        # As before keepers: the job's task ends after its slot is settled, so a run that ends
        # (or a process that exits) leaves no slot taken on the server.
        turn.settled.wait(SETTLE_SECONDS)
