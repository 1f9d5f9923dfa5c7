"""One `slate up` stack for the session: a real Prefect server, UI and worker on free ports.

`stack` copies the example film (scene-01 cut to two shots, 1A and 1C, and a one-shot scene-02
for the browser test; a nightly timezone; a
local provider slow enough that a video job is really in flight; video slots to spare, since
a killed run's slot stays leased for minutes), runs the real `slate up` in a subprocess, and
after the last test of its group ("stack") `slate down` — then checks by process id that nothing
it started lives. Down after the group, not at the session's end: an idle stack's server and
worker go on polling (measured in benchmarks/RESULTS.md), and the group runs first, on one worker,
so the stack used to idle there for the rest of the suite.

Helpers read what happened where it lands: the server's flow runs through its API, the ledger,
and the local providers' own books.
"""
from __future__ import annotations

from tests.scene_cuts import fit_music

import os
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from slate.governor.ledger import Ledger
from slate.providers.local import LocalVideo
from slate.providers.storage_local import LocalStorage
from slate.stack import alive, descendants, read
from tests.prefect_homes import fresh_home

FILM_ID = "night-diner"


def quiet_timezone(now=None) -> str:
    """A named zone whose 01:00 is hours away from now, so the scheduler's nightly never starts
    during the session. With America/New_York fixed, a CI run begun at 06:00 UTC met its own
    nightly: it rendered scene-01 draft beside the killed-worker test's run, whose clips then
    came from the nightly's cache, and the test waited 300 s for a video job that never came."""
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo
    now = now or datetime.now(timezone.utc)
    zones = ("America/New_York", "Asia/Tokyo", "Europe/Berlin", "America/Los_Angeles", "Asia/Kolkata",
             "Australia/Sydney", "America/Sao_Paulo")

    def hours_from_one(zone: str) -> float:   # on the 24-hour circle, either way
        local = now.astimezone(ZoneInfo(zone))
        ahead = (local.hour + local.minute / 60 - 1) % 24
        return min(ahead, 24 - ahead)
    return max(zones, key=hours_from_one)


TIMEZONE = quiet_timezone()
ZOMBIE_WINDOW = 90  # seconds: the shortest slate up takes (three heartbeats of 30 s)
ENV = {
    "SLATE_PAID_CALLS_ALLOWED": "local",          # the worker's runs may pay the local provider
    "PREFECT_WORKER_QUERY_SECONDS": "2",          # a run starts within seconds, not 15
    "PREFECT_WORKER_PREFETCH_SECONDS": "5",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
}


def slate(*args: str, env: dict | None = None, timeout: float = 240) -> subprocess.CompletedProcess:
    """The real command line, in its own process (as a person types it)."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    full.update(ENV)
    full.update(env or {})
    return subprocess.run([sys.executable, "-m", "slate.cli", *args], capture_output=True, text=True,
                          env=full, timeout=timeout)


def trim_film(root: Path) -> None:
    path = root / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["shots"] = [s for s in doc["shots"] if s["id"] in ("1A", "1C")]
    fit_music(doc)
    doc["shots"][-1]["transition_out"] = {"kind": "cut", "duration": 0}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    # scene-02, one shot: the browser test's own, so what it renders never comes back from the
    # cache in the API tests (and the reverse), whatever order they run in.
    doc["id"] = "scene-02"
    doc["shots"] = [dict(doc["shots"][-1], id="2C")]
    fit_music(doc)
    (root / "scenes" / "scene-02.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    film = yaml.safe_load((root / "film.yaml").read_text())
    film["scenes"] = ["scenes/scene-01.yaml", "scenes/scene-02.yaml"]
    (root / "film.yaml").write_text(yaml.safe_dump(film, sort_keys=False))
    (root / "slate.toml").write_text(f'timezone = "{TIMEZONE}"\nlocal_latency = 4\nvideo_slots = 3\n')


GROUP = "stack"   # the xdist group of every test that asks for the stack (tests/conftest.py GROUP_ORDER)
#: the running stack's `down`, while it is up: pytest_runtest_teardown calls it after the group's last test
_UP: dict[str, object] = {}


def _group(item) -> str | None:
    marker = item.get_closest_marker("xdist_group") if item is not None else None
    return marker.args[0] if marker and marker.args else None


def pytest_runtest_teardown(item, nextitem):
    """After the last test of the stack's group, `slate down`: the group is one unit of work on one
    worker, its tests one after another (tests/conftest.py sorts them together), so a test that
    is not of the group next means none of it is left."""
    if "down" in _UP and _group(item) == GROUP and _group(nextitem) != GROUP:
        _UP.pop("down")()   # type: ignore[operator]


@pytest.fixture(scope="session")
def stack(example_master, tmp_path_factory):
    """The film copy and its running stack (stack.json's record), up until its group's last test
    (pytest_runtest_teardown, above) or the session's end, whichever comes first."""
    film = tmp_path_factory.mktemp("stack") / "film"
    shutil.copytree(example_master, film, ignore=shutil.ignore_patterns(".slate", "renders"))
    trim_film(film)
    fresh_home(film / ".slate" / "stack" / "home")   # where `slate up` keeps its server's database
    started = time.time()
    out = slate("up", str(film), "--zombie-window", str(ZOMBIE_WINDOW))
    up_seconds = time.time() - started
    record = read(film)
    downed = []

    def down() -> None:
        """`slate down`, once; then nothing the stack started may be alive (by process id)."""
        if downed:
            return
        downed.append(time.time())
        pids = list((read(film) or record).pids.values()) if (read(film) or record) else []
        family = [p for pid in pids for p in descendants(pid)] + pids
        slate("down", str(film), timeout=60)
        deadline = time.time() + 15
        while any(alive(p) for p in family) and time.time() < deadline:
            time.sleep(0.2)
        left = [p for p in family if alive(p)]
        assert not left, f"slate down left processes alive: {left}"

    try:
        assert out.returncode == 0, out.stdout + out.stderr
        assert record is not None and set(record.pids) == {"server", "worker"}, out.stdout
        print(f"\nslate up: ready in {up_seconds:.1f}s (its own figure {record.ready_seconds}s); {out.stdout}")
        _UP["down"] = down
        yield film
    finally:
        _UP.pop("down", None)
        down()


@contextmanager
def api(film: Path):
    """A sync Prefect client of the stack's server."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings
    with temporary_settings({PREFECT_API_URL: read(film).api_url}), get_client(sync_client=True) as client:
        yield client


def wait_for(what, check, timeout: float, every: float = 0.5):
    """Poll `check` until it returns something truthy; fail naming `what` at the deadline."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = check()
        if got:
            return got
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def ledger_rows(film: Path):
    ledger = Ledger.for_project(film)
    try:
        return ledger.rows(film=FILM_ID)
    finally:
        ledger.close()


def reached_provider(rows) -> list:
    return [r for r in rows if r.status in ("submitted", "succeeded", "failed", "unknown")]


def paid_twice(rows) -> list:
    """Requests with more than one ledger row that reached the provider."""
    from collections import Counter
    counts = Counter(r.request_key for r in reached_provider(rows))
    return [k for k, n in counts.items() if n > 1]


def clips_asked(film: Path) -> list[str]:
    """The video jobs the local provider was given, from its own book (request fingerprints)."""
    return [e["fingerprint"] for e in LocalVideo(LocalStorage(film)).submissions()]
