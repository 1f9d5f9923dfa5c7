"""The kill switch: a `STOP` file in the film project, checked before every paid action.

`slate stop DIR` writes it; `slate stop --clear DIR` removes it. A soft stop lets jobs already
submitted be polled to the end and recorded (they are paid for); `slate stop --hard` also
cancels them at the provider. A file, not a flag in a database, so it works with nothing but
a shell: `touch STOP` at 3 a.m. is enough.

Beside the file there is a stop for *this process only* (`stop_this_process`): set when the
process that started this run is gone (flows/run/lifeline.py) or the run was cancelled, so nothing
new is submitted from a process nobody is watching any more, while other runs of the same
film, in other processes, go on. It is one flag in memory: set once, never cleared by slate
itself (the process is about to end).

Workers on other machines see no STOP file, so `slate stop` also writes a row in the ledger's
`kill_switch` table (the shared switch): every worker sharing `SLATE_LEDGER_URL` reads it
before a paid call. That read is a query, so its answer is kept for `SHARED_CHECK_SECONDS`
(a stop reaches every worker within about a second, and a scene of hundreds of calls does not
query once per call).

It must never delete anything but the STOP file (a shared stop is cleared by stamping its row,
never by deleting it), and never cache the STOP file: it is read every time.
"""
from __future__ import annotations

import json
import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from slate.errors import SlateError

from .ledger import Ledger
from .ledger.schema import kill_switch

STOP_FILE = "STOP"


class StopRequested(SlateError):
    """The STOP file is present: nothing new may be submitted."""


@dataclass(frozen=True)
class Stop:
    hard: bool
    reason: str
    since: float


def stop_path(root: Path) -> Path:
    return Path(root) / STOP_FILE


def read_stop(root: Path) -> Stop | None:
    path = stop_path(root)
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text() or "{}")
    except (ValueError, OSError):
        data = {}  # a hand-made `touch STOP` is a soft stop
    return Stop(hard=bool(data.get("hard")), reason=str(data.get("reason", "STOP file present")),
                since=float(data.get("since", path.stat().st_mtime)))


def request_stop(root: Path, *, hard: bool = False, reason: str = "") -> Path:
    path = stop_path(root)
    tmp = path.with_name(f".{STOP_FILE}.part")
    tmp.write_text(json.dumps({"hard": hard, "reason": reason or ("hard stop" if hard else "stop"),
                               "since": time.time(), "by_pid": os.getpid()}))
    os.replace(tmp, path)
    return path


def clear_stop(root: Path) -> bool:
    path = stop_path(root)
    if path.exists():
        path.unlink()
        return True
    return False


# -- the stop of this process only --------------------------------------------------------------
_PROCESS_STOP: Stop | None = None
_PROCESS_LOCK = threading.Lock()
_STOPPED = threading.Event()   # set with the stop: a wait in this process ends at once
_PARENT: int | None = None   # the process that started this one, when the run is bound to it


def bind_to_parent(pid: int) -> None:
    """Tie this process's paid calls to its parent: once `pid` is no longer our parent (it died and
    we were re-parented), the process stop is on. Read from the kernel at every check, so no
    request is sent after the parent dies, however late a signal or a poll would notice."""
    global _PARENT
    _PARENT = pid


def stop_this_process(reason: str, *, hard: bool = False) -> Stop:
    """From now on this process submits nothing new (the first reason given is kept)."""
    global _PROCESS_STOP
    with _PROCESS_LOCK:
        if _PROCESS_STOP is None:
            _PROCESS_STOP = Stop(hard=hard, reason=reason, since=time.time())
        _STOPPED.set()
        return _PROCESS_STOP


def wait_unless_stopped(seconds: float) -> bool:
    """Wait `seconds`, or less if this process's stop comes on meanwhile; True when it is on. A
    poll's or a retry's wait: a process told to end (SIGTERM, its parent gone) leaves it at once."""
    return _STOPPED.wait(max(0.0, seconds)) or process_stop() is not None


def process_stop() -> Stop | None:
    if _PROCESS_STOP is None and _PARENT is not None and os.getppid() != _PARENT:
        stop_this_process(f"the process that started this run (pid {_PARENT}) is gone")
    return _PROCESS_STOP


def clear_process_stop() -> None:
    """For tests that set the process stop in their own process."""
    global _PROCESS_STOP, _PARENT
    with _PROCESS_LOCK:
        _PROCESS_STOP = None
        _PARENT = None
        _STOPPED.clear()


def current_stop(root: Path) -> Stop | None:
    """What stops this process's paid calls now: its own stop, else the project's STOP file."""
    return process_stop() or read_stop(root)


def check_stop(root: Path) -> None:
    own = process_stop()
    if own is not None:
        raise StopRequested(f"this process was told to stop ({own.reason}); nothing new is submitted from it — "
                            f"run the scene again to go on")
    stop = read_stop(root)
    if stop is not None:
        kind = "hard stop" if stop.hard else "stop"
        raise StopRequested(f"{kind} requested ({stop_path(root)} exists: {stop.reason}); "
                            f"nothing new is submitted — `slate stop --clear` to go on")


# -- the shared switch: a row in the ledger every worker reads ---------------------------------
SHARED_CHECK_SECONDS = 1.0
EVERY_FILM = "*"
# (ledger object, film) -> (when read, what was read); per ledger object, so a worker's own
# `request_shared_stop` is seen at once by itself and within SHARED_CHECK_SECONDS by the others.
_seen: dict[tuple[int, str], tuple[float, Stop | None]] = {}
_seen_lock = threading.Lock()


def request_shared_stop(ledger: Ledger, film: str, *, hard: bool = False, reason: str = "") -> None:
    """Stop every worker spending for `film` (or every film, with "*") through this ledger."""
    with ledger.engine.begin() as conn:
        conn.execute(kill_switch.insert().values(
            film=film, hard=hard, reason=reason or ("hard stop" if hard else "stop"),
            requested_by=f"{socket.gethostname()}:{os.getpid()}", requested_at=time.time()))
    _forget(ledger)


def clear_shared_stop(ledger: Ledger, film: str) -> int:
    """Clear the film's shared stops (and, for "*", every film's); returns how many."""
    where: sa.ColumnElement[bool] = kill_switch.c.cleared_at.is_(None)
    if film != EVERY_FILM:
        where = where & kill_switch.c.film.in_([film, EVERY_FILM])
    with ledger.engine.begin() as conn:
        n = conn.execute(kill_switch.update().where(where).values(cleared_at=time.time())).rowcount
    _forget(ledger)
    return n


def read_shared_stop(ledger: Ledger, film: str, *, max_age: float = SHARED_CHECK_SECONDS) -> Stop | None:
    """The newest uncleared stop of this film (or of every film), as at most `max_age` ago."""
    key = (id(ledger), film)
    now = time.monotonic()
    with _seen_lock:
        hit = _seen.get(key)
        if hit is not None and now - hit[0] < max_age:
            return hit[1]
    q = (sa.select(kill_switch.c.hard, kill_switch.c.reason, kill_switch.c.requested_at,
                   kill_switch.c.requested_by)
         .where(kill_switch.c.cleared_at.is_(None), kill_switch.c.film.in_([film, EVERY_FILM]))
         .order_by(kill_switch.c.id.desc()).limit(1))
    with ledger.engine.connect() as conn:
        row = conn.execute(q).first()
    stop = None if row is None else Stop(hard=bool(row.hard), since=float(row.requested_at),
                                         reason=f"{row.reason} (ledger, by {row.requested_by})")
    with _seen_lock:
        _seen[key] = (now, stop)
    return stop


def check_shared_stop(ledger: Ledger, film: str) -> None:
    stop = read_shared_stop(ledger, film)
    if stop is not None:
        kind = "hard stop" if stop.hard else "stop"
        raise StopRequested(f"{kind} requested in the ledger for every worker ({stop.reason}); nothing new is "
                            "submitted — `slate stop --clear` to go on")


def _forget(ledger: Ledger) -> None:
    with _seen_lock:
        for key in [k for k in _seen if k[0] == id(ledger)]:
            del _seen[key]
