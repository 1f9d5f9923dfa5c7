"""Which cases of a long table the fast loop walks, and which only `make test` walks.

Some tests are tables walked case by case (every command and option given odd values; every bad
input of the corpus). The whole table is worth walking before anything lands, but at 20-40 s of
CPU it is not what a person waits for while writing code. So each case falls, by a hash of its
id, into the fast loop's share (`tests/unit`, `make test-fast`) or the rest (`tests/e2e`, which
`make test` adds): every case is walked exactly once by `make test`, a seeded third by
`make test-fast`, and a case added later falls where its id sends it, with nothing edited here.

It must never drop a case: `split` returns a partition of what it is given.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

SEED = "issue-33"   # a different seed draws a different third, as stable as this one
SHARE = 1 / 3       # of each table, walked by the fast loop


def in_fast_loop(case_id: str, seed: str = SEED, share: float = SHARE) -> bool:
    digest = hashlib.sha256(f"{seed}:{case_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") < share * 2 ** 32


def split(cases: Sequence[T], ids: Sequence[str], seed: str = SEED, share: float = SHARE) -> tuple[list[T], list[T]]:
    """(the fast loop's cases, the rest), each in the table's order."""
    assert len(cases) == len(ids) and len(set(ids)) == len(ids), "one unique id a case"
    fast = [c for c, i in zip(cases, ids) if in_fast_loop(i, seed, share)]
    rest = [c for c, i in zip(cases, ids) if not in_fast_loop(i, seed, share)]
    return fast, rest
