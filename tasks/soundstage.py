"""The soundstage: one flow run's live services, built when first needed, struck when the run ends.

A scene or film flow opens its soundstage (`on_stage`) for the length of its body. Everything a
run builds for itself lives there and nowhere else:

  - its crews (tasks/context.py `Crew`, one per RunSpec: storage, providers, judge, gates,
    pricing),
  - its governors (one per run id: the chokepoint, holding the ledger's database engine),
  - its scenes' finals allowances (governor/allowance.py),
  - its event listeners (a scene's progress bar).

It is reached through a context variable. Prefect copies the caller's context into the threads
it runs tasks on (ThreadPoolTaskRunner.submit) and a sub-flow runs in its caller's context, so
every task and sub-flow of the run finds the same soundstage; a deployment run is a process of
its own and opens its own. A sub-flow of the same root run (a film's scenes in this process)
works on its film's soundstage: they share one governor, so halting the film halts them all.
When the flow that opened it ends, the soundstage is struck: every governor's ledger engine
disposed, every storage or provider that has a `close` closed, its listeners and allowances
dropped.

While it is open a soundstage is listed under its run id: `halt_run` (a Cancel hook, or a film
stopping its scenes) finds the run's governor there, and a thread that did not inherit the
context still finds its run's soundstage. Struck, it is gone from the list. A task called
outside any flow (a test, a script) gets a stray soundstage for its context: strays are struck
by `strike_strays` (the test suite does it after each test), and at most MAX_STRAYS stay open,
the oldest struck first.

It must never outlive its run, hold a key, or let one run find another run's services.
"""
from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Callable, Iterator

from slate.governor.allowance import Allowances
from slate.governor.chokepoint import Governor, RunHalted

log = logging.getLogger("slate.soundstage")

#: Strays (soundstages of tasks called outside any flow) kept open at once; the oldest is struck.
MAX_STRAYS = 8

__all__ = ["Soundstage", "on_stage", "current", "stage_for", "halt_run", "strike_strays", "open_runs", "MAX_STRAYS"]


class Soundstage:
    """The live services of one run (its root flow run: a film run and its scenes, or one scene)."""

    def __init__(self, run_id: str, *, stray: bool = False):
        self.run_id = run_id
        self.stray = stray
        self.struck = False
        self.allowances = Allowances()
        self._crews: dict[str, object] = {}
        self._governors: dict[str, Governor] = {}
        self._listeners: list[Callable[[object], None]] = []
        self._lock = threading.RLock()

    def crew(self, key: str, build: Callable[[], object]) -> object:
        """The crew at `key` (a RunSpec's JSON), built once on this soundstage."""
        with self._lock:
            found = self._crews.get(key)
            if found is None:
                found = self._crews[key] = build()
            return found

    def governor(self, run_id: str, build: Callable[[], Governor]) -> Governor:
        """The governor of `run_id` on this soundstage (every scene of a film run shares it)."""
        with self._lock:
            found = self._governors.get(run_id)
            if found is None:
                found = self._governors[run_id] = build()
            return found

    def governors(self) -> list[Governor]:
        with self._lock:
            return list(self._governors.values())

    # -- events: who listens to this run (a scene's progress bar) ---------------------------
    def listen(self, fn: Callable[[object], None]) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(fn)

        def stop() -> None:
            with self._lock:
                if fn in self._listeners:
                    self._listeners.remove(fn)
        return stop

    def listeners(self) -> list[Callable[[object], None]]:
        with self._lock:
            return list(self._listeners)

    # -- the end of the run ------------------------------------------------------------------
    def halt(self, run_id: str, reason: str) -> bool:
        """Stop `run_id`'s spending on this soundstage (False: it has no governor here)."""
        with self._lock:
            gov = self._governors.get(run_id)
        if gov is None:
            return False
        gov._halt(RunHalted(f"stop requested: {reason}", kind="stop"))
        return True

    def strike(self) -> None:
        """Close everything the run opened; once (a second strike does nothing)."""
        with self._lock:
            if self.struck:
                return
            self.struck = True
            crews, self._crews = list(self._crews.values()), {}
            governors, self._governors = list(self._governors.values()), {}
            self._listeners = []
        for thing in [*crews, *(g.ledger for g in governors)]:
            try:
                thing.close()
            except Exception as exc:  # noqa: BLE001 — one service that will not close must not keep the rest open
                log.warning("run %s: %s did not close: %s", self.run_id, type(thing).__name__, exc)

    def __repr__(self) -> str:
        return f"Soundstage({self.run_id!r}{', stray' if self.stray else ''}{', struck' if self.struck else ''})"


_CURRENT: ContextVar[Soundstage | None] = ContextVar("slate_soundstage", default=None)
# The soundstages open now, by run id: an entry lives exactly as long as its run's flow body.
_OPEN: dict[str, Soundstage] = {}
_STRAYS: list[Soundstage] = []
_LOCK = threading.Lock()


@contextmanager
def on_stage(run_id: str) -> Iterator[Soundstage]:
    """The run's soundstage for the length of a flow's body: opened and struck here, or — a
    sub-flow of a run already open in this process — that run's, left open for its owner."""
    with _LOCK:
        stage = _OPEN.get(run_id)
        owner = stage is None
        if owner:
            stage = _OPEN[run_id] = Soundstage(run_id)
    token = _CURRENT.set(stage)
    try:
        yield stage
    finally:
        _CURRENT.reset(token)
        if owner:
            with _LOCK:
                if _OPEN.get(run_id) is stage:
                    del _OPEN[run_id]
            stage.strike()


def current() -> Soundstage | None:
    """The soundstage of the run this code runs for, or None outside any."""
    stage = _CURRENT.get()
    return None if stage is None or stage.struck else stage


def stage_for(run_id: str) -> Soundstage:
    """The soundstage `run_id`'s services live on: the context's, else the run's open one (a
    thread that did not inherit the context), else a stray for this context."""
    stage = current()
    if stage is not None:
        return stage
    with _LOCK:
        stage = _OPEN.get(run_id)
        if stage is not None:
            return stage
        stage = Soundstage(run_id, stray=True)
        _STRAYS.append(stage)
        oldest = _STRAYS.pop(0) if len(_STRAYS) > MAX_STRAYS else None
    _CURRENT.set(stage)  # the rest of this context (a test's body, a script) finds it again
    if oldest is not None:
        oldest.strike()
    return stage


def strike_strays() -> int:
    """Strike every stray soundstage; how many there were."""
    with _LOCK:
        strays, _STRAYS[:] = list(_STRAYS), []
    for stage in strays:
        stage.strike()
    return len(strays)


def open_runs() -> list[str]:
    """The run ids whose soundstages are open now (strays not counted)."""
    with _LOCK:
        return list(_OPEN)


def halt_run(run_id: str, reason: str) -> bool:
    """Stop one run's spending in this process (a Cancel): its next paid call is refused as a
    stop; calls already sent go on as on `slate stop`. False if the run has no governor here."""
    with _LOCK:
        stage = _OPEN.get(run_id)
    return stage is not None and stage.halt(run_id, reason)
