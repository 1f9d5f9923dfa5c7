"""The easel: how many shots' panels the local painter paints (and the judge reads) at once in
this process.

The local painter and judge work on this machine's cores. A scene starts every shot's panels
at once (so a paid image model works on all of them together); with the local painter, 62
panel loops of four scenes then shared two cores, and the first shot's panel passed its gate
only once most of the others were painted, while the film's first video job — the start of
its critical path — waited for it (benchmarks/scale.py). So a loop whose painter is local
takes one of the easels (one per core, or SLATE_LOCAL_EASELS) before it paints and keeps it
until its panels are judged; loops take the easels in the order they came, which is the
scenes' shot order. A painter on the network waits on its provider, not on the cores: its
loops are never held here.

It must never hold an easel while it waits for anything but its own work: every loop that
holds one finishes on its own, so a waiting loop always gets one.
"""
from __future__ import annotations

import os
import threading
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Iterator

# The easels of this process by their number: process-wide on purpose (the cores are the
# process's, shared by every run in it), and one entry unless SLATE_LOCAL_EASELS changes.
_LOCK = threading.Lock()
_EASELS: dict[int, threading.BoundedSemaphore] = {}


def easels() -> int:
    """One per core this process may use, unless SLATE_LOCAL_EASELS says otherwise."""
    told = os.environ.get("SLATE_LOCAL_EASELS", "").strip()
    if told.isdigit() and int(told) > 0:
        return int(told)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # no affinity on this platform
        return max(1, os.cpu_count() or 1)


@contextmanager
def _at(n: int) -> Iterator[None]:
    with _LOCK:
        place = _EASELS.setdefault(n, threading.BoundedSemaphore(n))
    with place:
        yield


def at_the_easel(painter: str) -> AbstractContextManager[None]:
    """Hold one easel for a panel loop whose painter ("provider:model") is the local one."""
    return _at(easels()) if painter.partition(":")[0] == "local" else nullcontext()
