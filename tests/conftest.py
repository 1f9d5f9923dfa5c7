"""Shared fixtures: the example film (made once, copied per test) and one Prefect harness.

The tests are kept by kind, one folder each, and each test is marked with its folder's name:

    unit/         in-process: manifests, media with ffmpeg, the ledger on SQLite; no server
    integration/  real servers the tests start (the fake providers over HTTP, SeaweedFS, the
                  Postgres at 127.0.0.1:5432, a Prefect test server); each test short
    corpus/       the gates held on seeded samples of their statistical corpora (full size: benchmarks/)
    e2e/          whole scenes and films rendered, SIGKILL matrices, the two-worker studio,
                  the `slate up` stack and the browser

`make test-fast` runs unit/ and integration/ (the loop while writing code); `make test` runs all.

The harness costs 9–12 s to start (PREFECT.md), so there is one per test session, started
only by tests that ask for it, and stopped by Prefect's own context manager.

Paid calls are switched off for the whole suite (`SLATE_PAID_CALLS_ALLOWED` empty: the
governor refuses every provider); a test that needs them asks by name with a fixture
(`local_calls` for the local provider and judge), so no test reaches a real provider by accident.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # no network here, and no need
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ["SLATE_PAID_CALLS_ALLOWED"] = ""  # no provider may be paid unless a test names it


#: xdist groups in the order `make test` hands them out: the two-worker studio first (ten minutes,
#: much of it waiting on workers and the zombie window, which the other worker fills with work),
#: the crash matrix on the other worker, then the `slate up` stack.
GROUP_ORDER = ("two-workers", "crash", "stack")


def _rank(item) -> tuple[int, bool]:
    group = item.get_closest_marker("xdist_group")
    name = group.args[0] if group and group.args else None
    return (GROUP_ORDER.index(name) if name in GROUP_ORDER else len(GROUP_ORDER),
            item.get_closest_marker("e2e") is None)


KINDS = ("unit", "integration", "corpus", "e2e")


def _kind(item) -> str | None:
    parts = item.path.relative_to(Path(__file__).parent).parts
    return parts[0] if len(parts) > 1 and parts[0] in KINDS else None


def pytest_collection_modifyitems(config, items):
    """The long groups first (GROUP_ORDER), then end-to-end tests, the rest in their order (a
    stable sort).

    `make test` hands xdist's two workers one work unit at a time in collection order
    (`--no-loadscope-reorder`; a group is one unit): a minutes-long test or group handed out
    last would run alone at the end while the other worker sits idle. First, the short tests
    fill in behind them. xdist's own order (largest unit first) put the crash matrix and then the
    two-worker module on the same worker, one after the other: twenty minutes, the last six of
    them mostly waiting, with the other worker done."""
    for item in items:
        if kind := _kind(item):
            item.add_marker(kind)
    items.sort(key=_rank)


@pytest.fixture(autouse=True)
def _strays_struck():
    """A test's stray soundstages (tasks called outside a flow, tasks/soundstage.py) are struck
    with the test: their ledger engines disposed, as a run's are when it ends."""
    yield
    soundstage = sys.modules.get("slate.tasks.soundstage")  # a test that never imported it made none
    if soundstage is not None:
        soundstage.strike_strays()


@pytest.fixture
def local_calls(monkeypatch):
    """Paid calls allowed to the local provider and judge only."""
    monkeypatch.setenv("SLATE_PAID_CALLS_ALLOWED", "local")


@pytest.fixture(scope="session")
def example_master(tmp_path_factory) -> Path:
    from slate.manifests import write_example_film
    return write_example_film(tmp_path_factory.mktemp("example") / "night-diner")


@pytest.fixture
def example_film(example_master, tmp_path) -> Path:
    """A fresh copy of the example film for one test (never the session master)."""
    dest = tmp_path / "film"
    shutil.copytree(example_master, dest, ignore=shutil.ignore_patterns(".slate", "renders"))
    return dest


@pytest.fixture(scope="session")
def painted_master(example_master, tmp_path_factory):
    """The example film with its panel requests resolved (the references in its storage) and the
    local painter's panels for the first three requests stored beside them: drawn once a session."""
    from types import SimpleNamespace

    from benchmarks.judge_trials import panel_requests
    from slate.providers.local import LocalImage
    from slate.providers.storage_local import LocalStorage
    root = tmp_path_factory.mktemp("painted") / "film"
    shutil.copytree(example_master, root, ignore=shutil.ignore_patterns(".slate", "renders"))
    storage = LocalStorage(root)
    requests = tuple(panel_requests(root))
    painter = LocalImage(storage)
    drawn = tuple(storage.put_bytes(painter.generate_panel(r), "png") for r in requests[:3])
    return SimpleNamespace(root=root, requests=requests, drawn=drawn)


@pytest.fixture
def painted(painted_master, tmp_path):
    """A fresh copy of `painted_master` for one test: its folder (`root`), storage, the panel
    requests and the three drawn panels' URIs. A provider test needs real panels to send; drawing
    them (and resolving the requests) cost each test about 0.4 s of CPU, the same every time."""
    from types import SimpleNamespace

    from slate.providers.storage_local import LocalStorage
    root = tmp_path / "film"
    shutil.copytree(painted_master.root, root)
    return SimpleNamespace(root=root, storage=LocalStorage(root), requests=list(painted_master.requests),
                           drawn=list(painted_master.drawn))


@pytest.fixture(scope="session")
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness
    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def fake_server():
    """The fake providers' server (tests/fakes/server.py): one process for the session, on
    127.0.0.1, stopped by its process id at the end."""
    from tests.fakes.control import FakeProviders
    fakes = FakeProviders.start()
    try:
        yield fakes
    finally:
        fakes.stop()


@pytest.fixture
def fakes(fake_server, monkeypatch):
    """The fake providers, reset, with this process pointed at them: base URLs, fake keys,
    loopback downloads, and paid calls allowed to the fakes (and the local provider) only."""
    fake_server.reset()
    for name, value in fake_server.env().items():
        monkeypatch.setenv(name, value)
    return fake_server


# The session's `slate up` stack (tests/stack_harness.py): a plugin of the whole suite, so the UI
# tests and the browser test share one server and worker.
pytest_plugins = ["tests.stack_harness"]
