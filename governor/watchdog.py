"""The watchdog: it notices a paid call that makes no progress, and says so.

The governor tells it when a call of this process starts being made (`watch`, with the call's
deadline: its provider's polling deadline for a job, the longest answer it waits for otherwise),
each time the call moves (`progress`: a poll answered or refused, an answer in, a download
begun) and when it is over (`forget`). One thread per process looks at the calls a few times per
deadline: a call silent for longer than its deadline — no poll, no answer — is said once at
WARNING on the `slate.governor` logger (a person's terminal shows it), and to whoever listens
(`on_stall`), then again each further deadline it stays silent.

The polling loop ends a job past its deadline by itself; the watchdog is for what that loop
cannot see: the loop itself stuck (a request that never returns, a thread waiting on a lock, a
run waiting on its own call).

It must never end, cancel or decide anything: it only says what it sees. It holds no key and
no URL, only the words the governor gave it.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable

log = logging.getLogger("slate.governor")

#: The fastest and slowest the thread looks (a share of the shortest deadline watched).
LOOK_AT_LEAST = 0.05
LOOK_AT_MOST = 5.0


@dataclass
class _Watched:
    what: str            # "shot 1A video take 1 (replicate:… job abc)": words for a person
    deadline: float      # seconds of silence that are too many
    last: float          # monotonic time of the last progress
    said: float | None = None


class Watchdog:
    def __init__(self) -> None:
        self._calls: dict[str, _Watched] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()   # a new call is watched: look again at the new pace
        self._listeners: list[Callable[[str, str, float], None]] = []

    def watch(self, call_id: str, what: str, deadline: float) -> None:
        with self._lock:
            self._calls[call_id] = _Watched(what, max(0.01, float(deadline)), time.monotonic())
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="slate-watchdog", daemon=True)
                self._thread.start()
        self._wake.set()

    def describe(self, call_id: str, what: str) -> None:
        """New words for a watched call (its job id became known)."""
        with self._lock:
            if call_id in self._calls:
                self._calls[call_id].what = what

    def progress(self, call_id: str) -> None:
        with self._lock:
            watched = self._calls.get(call_id)
            if watched is not None:
                watched.last, watched.said = time.monotonic(), None

    def forget(self, call_id: str) -> None:
        with self._lock:
            self._calls.pop(call_id, None)

    def watching(self, call_id: str) -> bool:
        with self._lock:
            return call_id in self._calls

    def on_stall(self, fn: Callable[[str, str, float], None]) -> Callable[[], None]:
        """Call `fn(call_id, what, silent_seconds)` for every stall said; returns how to stop."""
        self._listeners.append(fn)
        return lambda: self._listeners.remove(fn)

    def _stalled(self) -> list[tuple[str, str, float]]:
        now = time.monotonic()
        out: list[tuple[str, str, float]] = []
        with self._lock:
            for call_id, w in self._calls.items():
                silent = now - w.last
                if silent > w.deadline and (w.said is None or now - w.said > w.deadline):
                    w.said = now
                    out.append((call_id, w.what, silent))
        return out

    def _pause(self) -> float:
        with self._lock:
            shortest = min((w.deadline for w in self._calls.values()), default=LOOK_AT_MOST * 4)
        return min(LOOK_AT_MOST, max(LOOK_AT_LEAST, shortest / 4))

    def _run(self) -> None:
        while True:
            self._wake.wait(self._pause())
            self._wake.clear()
            for call_id, what, silent in self._stalled():
                log.warning("paid call %s (%s) has made no progress for %.0f s — no poll answered, no answer "
                            "came — longer than its deadline: it may be stuck; its job id, if any, is in the "
                            "ledger (slate log), and a stopped run leaves it for the next run", call_id, what,
                            silent)
                for fn in list(self._listeners):
                    try:
                        fn(call_id, what, silent)
                    except Exception:  # noqa: BLE001 — a listener must never stop the watchdog
                        pass


#: The one watchdog of this process.
watchdog = Watchdog()
