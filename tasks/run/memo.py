"""Bounded memos: what a process may remember across runs, and how much of it.

A run's live services belong to the run (tasks/soundstage.py) and go with it. A few readings
are worth keeping for the life of a process because they depend on content alone — a
reference's decode verdict, slate's measures of a turnaround, the local judge's reading of a
sheet, by the bytes' sha256 — and a worker meets the same references run after run. Those
are kept here, each memo with a name and a size: past its size the entry used least recently
is forgotten (and made again when next asked for, at the cost the memo was saving).

It must never hold anything keyed by a run, a live client or an open file, and never grow
past its size.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable, Generic, Hashable, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

__all__ = ["BoundedMemo"]


class BoundedMemo(Generic[K, V]):
    """At most `size` entries by key, the least recently used forgotten first; thread-safe."""

    def __init__(self, name: str, size: int):
        if size < 1:
            raise ValueError(f"memo {name!r}: its size must be at least 1, not {size}")
        self.name = name
        self.size = size
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            if key not in self._entries:
                return None
            self._entries.move_to_end(key)
            return self._entries[key]

    def put(self, key: K, value: V) -> V:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return value

    def get_or_make(self, key: K, make: Callable[[], V]) -> V:
        """The entry at `key`, made by `make()` if it is not there (outside the lock: two
        threads asking at once may both make it; the last one made is kept)."""
        found = self.get(key)
        return found if found is not None else self.put(key, make())

    def values(self) -> list[V]:
        """What the memo holds now, least recently used first (a copy: safe to walk)."""
        with self._lock:
            return list(self._entries.values())

    def forget(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __repr__(self) -> str:
        return f"BoundedMemo({self.name!r}, {len(self)}/{self.size})"
