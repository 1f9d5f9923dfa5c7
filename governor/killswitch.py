"""The kill switch: a `STOP` file in the film project, checked before every paid action.

`slate stop DIR` writes it; `slate stop --clear DIR` removes it. A soft stop lets jobs already
submitted be polled to the end and recorded (they are paid for); `slate stop --hard` also
cancels them at the provider. A file, not a flag in a database, so it works with nothing but
a shell: `touch STOP` at 3 a.m. is enough.

It must never delete anything but the STOP file, and never be cached: it is read every time.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

STOP_FILE = "STOP"


class StopRequested(Exception):
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


def check_stop(root: Path) -> None:
    stop = read_stop(root)
    if stop is not None:
        kind = "hard stop" if stop.hard else "stop"
        raise StopRequested(f"{kind} requested ({stop_path(root)} exists: {stop.reason}); "
                            f"nothing new is submitted — `slate stop --clear` to go on")
