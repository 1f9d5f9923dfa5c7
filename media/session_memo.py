"""The test suite's session memo: what a pure function of files made, kept by those files' bytes.

`make test` renders the example film in some hundred tests, and most of them make the same
clips from the same panels (providers/local.py keeps those renders here) and then read them
the same way: the local judge's verdict on a panel, a clip's keyframes or a cut, and slate's own
whole-clip checks (tasks/gates/keyframes.py own_scores) are each a pure function of the files they are
given and a few plain arguments. A session memo keeps such an answer under a key made of every
one of those (the arguments' repr, then each file's bytes), so the same reading is made once a
session, not once a test — the answer byte for byte what the function would give, since nothing
else goes in.

Only the test suite names a folder (`SLATE_LOCAL_RENDER_MEMO`, tests/conftest.py, a fresh one per
session): a film's own runs never set it and always read their files. It must never key an answer
by anything but everything the answer depends on, never keep a failure (an exception is raised,
not remembered), and never hand over a half-written entry (each is written whole, then renamed).
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

#: The folder of the session's memo; unset outside the test suite.
MEMO = "SLATE_LOCAL_RENDER_MEMO"

T = TypeVar("T")

__all__ = ["MEMO", "memo_path", "kept"]


def memo_path(arguments: tuple[Any, ...], files: Iterable[Path | None], prefix: str = "",
              suffix: str = ".mp4") -> Path | None:
    """Where the memo keeps what was made with `arguments` from `files` (their bytes, a missing
    file as none), or None when no memo is set."""
    memo = os.environ.get(MEMO)
    if not memo:
        return None
    key = hashlib.sha256(repr(arguments).encode())
    for file in files:
        # A file that is not there keys as absent: what reads it says so, and is not kept.
        key.update(b"\0" + (Path(file).read_bytes() if file is not None and Path(file).is_file() else b""))
    Path(memo).mkdir(parents=True, exist_ok=True)
    return Path(memo) / f"{prefix}{key.hexdigest()}{suffix}"


def kept(name: str, arguments: tuple[Any, ...], files: Iterable[Path | None], make: Callable[[], T],
         to_json: Callable[[T], Any], from_json: Callable[[Any], T]) -> T:
    """`make()`, or what it made for the same `arguments` and `files` earlier in the session
    (kept as JSON: `to_json` and `from_json` must be each other's inverse). No memo set: `make()`."""
    path = memo_path((name, *arguments), files, prefix=f"{name}-", suffix=".json")
    if path is None:
        return make()
    if path.is_file():
        return from_json(json.loads(path.read_text()))
    made = make()
    # Whole or absent: the suite's workers share the folder and may make the same entry at once
    # (both write the same bytes; the last rename wins).
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
    with os.fdopen(fd, "w") as f:
        json.dump(to_json(made), f, sort_keys=True, default=_plain)
    os.replace(tmp, path)
    return made


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python number or bool it holds (what a JSON result becomes anyway)."""
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not kept in a session memo")
