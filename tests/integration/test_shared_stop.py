"""The shared kill switch: `slate stop` in one process stops the paid calls of another process
working in another folder, through a row of the Postgres ledger they share.

The stop is written by a real `slate stop` subprocess; the refused call is made by this
process's governor on a different working folder with no STOP file in it. Counted where it
lands: the ledger's rows (a refused call leaves none) and the kill_switch table.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from slate.governor.chokepoint import Answer, CallContext, CallSpec, Governor, RunHalted, Usage
from slate.governor.killswitch import SHARED_CHECK_SECONDS, read_shared_stop, request_shared_stop
from slate.governor.ledger import Cap, Ledger
from slate.governor.ledger.schema import kill_switch
from slate.providers.storage_local import LocalStorage
from tests.postgres_db import pg_database

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("local_calls")]


@pytest.fixture
def pg_url():
    with pg_database() as url:
        yield url


def governor(root: Path, url: str, run_id: str) -> Governor:
    return Governor(run_id=run_id, film="night-diner", root=root, ledger=Ledger(url),
                    estimate=lambda units, _model: Decimal("0.04"),
                    caps=[Cap("run", Decimal(10)), Cap("film", Decimal(100))], storage=LocalStorage(root))


def panel_call(g: Governor, n: int):
    ctx = CallContext(g.run_id, "night-diner", "scene-01", "1A", "panel", n, "local", "local-compositor-v1", "draft")
    return g.sync_call(CallSpec(ctx, Usage("image", images=1), f"fp-{n}"), lambda _ref: Answer(b"png", "png"))


def slate(*args: str, url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SLATE_LEDGER_URL": url}
    return subprocess.run([sys.executable, "-m", "slate.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_a_stop_from_one_worker_refuses_the_next_paid_call_of_another(example_film, tmp_path, pg_url):
    other = tmp_path / "other-worker"
    shutil.copytree(example_film, other)
    worker = governor(other, pg_url, "run-b")
    assert panel_call(worker, 1).uri    # spending, before the stop
    rows_before = len(worker.ledger.rows(film="night-diner"))

    done = slate("stop", str(example_film), url=pg_url)
    assert done.returncode == 0, done.stderr
    assert "in the ledger" in done.stdout
    assert (example_film / "STOP").exists() and not (other / "STOP").exists()
    with worker.ledger.engine.connect() as c:
        [(film, hard, cleared)] = c.execute(sa.select(kill_switch.c.film, kill_switch.c.hard,
                                                      kill_switch.c.cleared_at)).all()
    assert (film, hard, cleared) == ("night-diner", False, None)

    # The next paid call of the other worker, once its ~1 s memory of "no stop" has passed.
    time.sleep(SHARED_CHECK_SECONDS + 0.1)
    with pytest.raises(RunHalted, match="stop requested in the ledger"):
        panel_call(worker, 2)
    assert len(worker.ledger.rows(film="night-diner")) == rows_before  # refused before any row was written
    # A new run in that folder is refused too: the stop is the film's, not the run's.
    with pytest.raises(RunHalted, match="ledger"):
        panel_call(governor(other, pg_url, "run-c"), 3)

    cleared = slate("stop", "--clear", str(example_film), url=pg_url)
    assert cleared.returncode == 0 and "1 stop(s) cleared in the ledger" in cleared.stdout, cleared.stdout
    time.sleep(SHARED_CHECK_SECONDS + 0.1)
    assert panel_call(governor(other, pg_url, "run-d"), 4).uri
    with worker.ledger.engine.connect() as c:
        assert c.execute(sa.select(sa.func.count()).select_from(kill_switch)).scalar() == 1  # stamped, not deleted


def test_the_shared_switch_is_read_at_most_once_a_second_and_only_for_its_film(pg_url):
    reader, writer = Ledger(pg_url), Ledger(pg_url)   # two engines: two workers' connections
    assert read_shared_stop(reader, "night-diner") is None
    request_shared_stop(writer, "night-diner", reason="from the other machine")
    # Within the second, the reader answers from memory without a query; after it, it sees the row.
    assert read_shared_stop(reader, "night-diner") is None
    deadline = time.monotonic() + 3
    while read_shared_stop(reader, "night-diner") is None:
        assert time.monotonic() < deadline, "the stop was never seen"
        time.sleep(0.1)
    assert "from the other machine" in read_shared_stop(reader, "night-diner").reason
    assert read_shared_stop(reader, "another-film", max_age=0) is None
    request_shared_stop(writer, "*", hard=True, reason="every film")
    assert read_shared_stop(reader, "another-film", max_age=0).hard
