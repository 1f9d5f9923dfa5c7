"""Shared fixtures: the example film (made once, copied per test) and one Prefect harness.

The tests are kept by kind, one folder each, and each test is marked with its folder's name:

    unit/         in-process: manifests, media with ffmpeg, the ledger on SQLite; no server
    integration/  real servers the tests start (the fake providers over HTTP, SeaweedFS, the
                  Postgres at 127.0.0.1:5432, a Prefect test server); each test short
    corpus/       the gates held on seeded samples of their statistical corpora (full size: benchmarks/)
    e2e/          whole scenes and films rendered, SIGKILL matrices, the two-worker studio,
                  the `slate up` stack and the browser

`make test-fast` runs the tests of unit/ and integration/ measured short (the loop while writing
code: tests/fast_loop.py); `make test` runs all.

The Prefect server of the in-process flows (`prefect_harness`) costs seconds to start, so there
is one per worker, started only by tests that ask for it; every Prefect home a test makes starts
from one migrated database (tests/prefect_homes.py).

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


def pytest_configure(config):
    """One folder for the run's migrated Prefect template (tests/prefect_homes.py), named in the
    environment before xdist's workers start, so that they all find it."""
    from slate.providers.local import RENDER_MEMO
    from tests.prefect_homes import ENV
    if not hasattr(config, "workerinput") and not os.environ.get(ENV):
        import tempfile
        config._slate_template = tempfile.mkdtemp(prefix="slate-prefect-template-")
        os.environ[ENV] = config._slate_template
    if not hasattr(config, "workerinput") and not os.environ.get(RENDER_MEMO):
        # The local provider's clips, encoded once per session for the same frames and move
        # (providers/local.py RENDER_MEMO); every process of the suite inherits the folder.
        import tempfile
        config._slate_render_memo = tempfile.mkdtemp(prefix="slate-render-memo-")
        os.environ[RENDER_MEMO] = config._slate_render_memo


def pytest_unconfigure(config):
    from tests.prefect_homes import ENV
    made = getattr(config, "_slate_template", None)
    if made:
        shutil.rmtree(made, ignore_errors=True)
        os.environ.pop(ENV, None)
    memo = getattr(config, "_slate_render_memo", None)
    if memo:
        from slate.providers.local import RENDER_MEMO
        shutil.rmtree(memo, ignore_errors=True)
        os.environ.pop(RENDER_MEMO, None)


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


@pytest.fixture
def local_calls(monkeypatch):
    """Paid calls allowed to the local provider and judge only."""
    monkeypatch.setenv("SLATE_PAID_CALLS_ALLOWED", "local")


@pytest.fixture(scope="session")
def example_master(tmp_path_factory) -> Path:
    from slate.manifests import write_example_film
    from slate.tasks.workshop.audition import sample_local_voices
    root = write_example_film(tmp_path_factory.mktemp("example") / "night-diner")
    sample_local_voices(root)   # as `slate init --example` does
    return root


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
def prefect_harness(tmp_path_factory):
    """One Prefect server for this worker's in-process flows: Prefect's own test server (what
    `prefect_test_harness` starts), on a database copied from the migrated template
    (tests/prefect_homes.py) instead of one it migrates each time; this process's settings
    pointed at it — never its environment, which `slate` subprocesses inherit and would follow.
    Stopped by its process id at the end."""
    import prefect.context
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import (PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, PREFECT_MEMO_STORE_PATH,
                                  PREFECT_SERVER_DATABASE_CONNECTION_URL, temporary_settings)

    from slate.server import free_port
    from tests.prefect_homes import DATABASE, MEMO, fresh_home
    home = fresh_home(tmp_path_factory.mktemp("prefect-harness"))
    where = {PREFECT_SERVER_DATABASE_CONNECTION_URL: f"sqlite+aiosqlite:///{home / DATABASE}",
             PREFECT_MEMO_STORE_PATH: home / MEMO}
    with temporary_settings(where):
        from tests.quiet_prefect import quiet_server_class
        server = quiet_server_class()(port=free_port())   # Prefect's, its idle polling slower (tests/quiet_prefect.py)
        before = SubprocessASGIServer._instances.get(None)
        # As Prefect's harness does: code asking for "the" ephemeral server finds this one.
        SubprocessASGIServer._instances[None] = server
        try:
            server.start(timeout=120)
            # No heartbeats from the in-process flows, as on a run's own embedded server
            # (slate/commands/run.py `_no_heartbeats`): nothing here reads them, and each flow's
            # end waited up to a second for its heartbeat thread. A stack's runs beat (on_stack).
            with temporary_settings({PREFECT_API_URL: server.api_url, PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}), \
                    prefect.context._temporary_global_settings_context(prefect.context.get_settings_context()):
                try:
                    yield server
                finally:
                    drain_to_the_server()
        finally:
            server.stop()
            if before is None:
                SubprocessASGIServer._instances.pop(None, None)
            else:
                SubprocessASGIServer._instances[None] = before


def drain_to_the_server() -> None:
    """Send the logs and events this process still holds while its server is up, as Prefect's own
    harness does before it stops its server. Left to the interpreter's exit, the log worker found
    the server gone and retried for about a minute ("Error logging to API … All connection
    attempts failed"; seen on 2 of 6 runs of one scene test: 104 s against 40) — up to a minute at
    the end of a pytest worker."""
    import inspect

    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.utilities.asyncutils import run_coro_as_sync

    async def drain() -> None:
        try:
            sent = APILogWorker.instance().drain()
            if inspect.isawaitable(sent):
                await sent
        except RuntimeError:   # no log was ever sent: the worker never started
            pass
        sent = EventsWorker.drain_all()
        if inspect.isawaitable(sent):
            await sent

    run_coro_as_sync(drain())


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
# tests and the browser test share one server and worker. The fast loop's choice of tests
# (tests/fast_loop.py: `--fast`, `--write-slow-list`).
pytest_plugins = ["tests.stack_harness", "tests.fast_loop"]


@pytest.fixture
def provider_keys(monkeypatch):
    """A made-up key for every provider that takes one, in this process's environment: for a test
    of another check that `slate check` would otherwise stop at "no key for …" (issue 56). Never a
    real key; nothing is sent with it."""
    from slate.providers.registry import provider, provider_names
    for name in provider_names():
        for var in provider(name).key_vars[:1]:
            monkeypatch.setenv(var, f"made-up-{name}-key-0000")
