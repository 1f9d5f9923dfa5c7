"""Fresh Prefect homes for the tests, each starting from one migrated database.

A Prefect server on a new home first migrates its SQLite database: about a hundred alembic
steps, 5.6 s of CPU of the 10.4 s a start took on a two-core machine, paid again by every test
that gives a `slate run`, a matrix or a stack a home of its own (two dozen a session). The
migration is Prefect's, the same every time for one Prefect version; what the tests hold is
what happens after it. So the session migrates once — by starting slate's own embedded server
on an empty home, as a first `slate run` does — keeps that database (and the memo of the block
types it registered) as a template, and `fresh_home` copies it into each new home. Every server
the tests start still runs its own migration check, on a database already at the head.

One test keeps starting on an empty home, where the migration itself is the subject
(tests/e2e/test_server.py: runs started together on a new Prefect home).

The template lives under one folder per `pytest` run, named by `SLATE_TEST_PREFECT_TEMPLATE`
(set by tests/conftest.py before the workers start, removed at the end), and is built by the
first worker that asks, under a file lock. It must never be a user's home, and never hold a
flow run: it is copied before any run is made.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import sqlite3
from pathlib import Path

ENV = "SLATE_TEST_PREFECT_TEMPLATE"
DATABASE = "prefect.db"
MEMO = "memo_store.toml"   # Prefect's memo of the block types registered in that database


def template_root() -> Path:
    """The run's template folder: pytest's (tests/conftest.py), or — a benchmark that uses the
    tests' helpers — one of this process's own, removed when it exits."""
    root = os.environ.get(ENV)
    if not root:
        import atexit
        import tempfile
        root = os.environ[ENV] = tempfile.mkdtemp(prefix="slate-prefect-template-")
        atexit.register(shutil.rmtree, root, ignore_errors=True)
    return Path(root)


def _template() -> Path:
    """The migrated template's folder, built the first time any worker asks."""
    root = template_root()
    ready = root / "template"
    if (ready / DATABASE).is_file():
        return ready
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (ready / DATABASE).is_file():
            _build(root, ready)
    return ready


def _build(root: Path, ready: Path) -> None:
    """Start slate's embedded server on an empty home until it answers, stop it, and keep its
    database (one file, through SQLite's backup: the server's last writes may sit in its WAL)."""
    from slate.server import EmbeddedServer
    home = root / "first-home"
    server = EmbeddedServer(home).start()
    try:
        server.wait(adopt=False)
    finally:
        server.stop()
    staging = root / "template.part"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    source = sqlite3.connect(home / DATABASE)
    target = sqlite3.connect(staging / DATABASE)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
    if (home / MEMO).is_file():
        shutil.copy2(home / MEMO, staging / MEMO)
    os.replace(staging, ready)


def fresh_home(home: Path) -> Path:
    """`home`, made, holding a copy of the migrated database (unless it holds one already)."""
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    if not (home / DATABASE).exists():
        ready = _template()
        shutil.copyfile(ready / DATABASE, home / DATABASE)
        if (ready / MEMO).is_file():
            shutil.copyfile(ready / MEMO, home / MEMO)
    return home


def slate_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a `slate` process of the tests: this one's, with no Prefect server or
    profile of its own (it starts its embedded server), on `home` made fresh from the template."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API", "PREFECT_PROFILE"))}
    env.update(PREFECT_HOME=str(fresh_home(home)), PREFECT_SERVER_ANALYTICS_ENABLED="false", **extra)
    return env
