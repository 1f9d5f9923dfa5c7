"""The embedded Prefect server's start is waited for while it makes progress, and a start that
fails is one line naming the log (issue 35: on a busy two-core machine a fresh server took
80-162 s and 5 of 12 first runs died at a fixed 120 s, with a traceback and an empty log tail).

Real processes under uvicorn, with stand-in app factories (tests/slow_servers.py) so the test
decides how long a start takes; the stall bound is shortened to make it a few seconds."""
from __future__ import annotations

from pathlib import Path

import pytest

from slate import server as embedded
from slate.errors import SlateError

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e   # real server processes, seconds each: not in make test-fast


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.setattr(embedded, "START_STALL", 3.0)
    return tmp_path / "prefect-home"


def test_a_server_that_keeps_working_is_waited_for_past_the_stall_bound(home, monkeypatch):
    monkeypatch.setattr(embedded, "FACTORY", "tests.slow_servers:busy_then_healthy")
    monkeypatch.setenv("SLATE_TEST_SERVER_BUSY_SECONDS", "6")   # past the 3 s stall bound
    monkeypatch.setattr(embedded, "SAY_EVERY", 1.0)
    said: list[str] = []
    server = embedded.EmbeddedServer(home).start()
    try:
        server.wait(adopt=False, say=said.append)
        assert server.healthy()
    finally:
        server.stop()
    # said as it went, never silence (issue 56: a resumed run printed nothing for 25 minutes)
    assert len(said) >= 3 and all("starting this run's Prefect server" in line for line in said), said
    assert "still working" in said[-1] and str(home / embedded.LOG_NAME) in said[-1], said


def test_a_server_that_stalls_is_given_up_in_one_line_naming_its_log(home, monkeypatch):
    monkeypatch.setattr(embedded, "FACTORY", "tests.slow_servers:stalled")
    server = embedded.EmbeddedServer(home).start()
    with pytest.raises(SlateError) as refused:
        server.wait(adopt=False)
    said = str(refused.value)
    assert "made no progress" in said and str(home / embedded.LOG_NAME) in said and "\n" not in said
    assert server.proc is None   # stopped, not left behind


def test_the_bound_a_person_sets_is_held_and_a_bad_one_is_named(home, monkeypatch):
    monkeypatch.setattr(embedded, "FACTORY", "tests.slow_servers:busy_then_healthy")
    monkeypatch.setenv("SLATE_TEST_SERVER_BUSY_SECONDS", "30")
    monkeypatch.setenv(embedded.START_LIMIT_ENV, "4")
    server = embedded.EmbeddedServer(home).start()
    with pytest.raises(SlateError, match=f"did not answer within 4 s \\(set {embedded.START_LIMIT_ENV}"):
        server.wait(adopt=False)
    monkeypatch.setenv(embedded.START_LIMIT_ENV, "soon")
    with pytest.raises(SlateError, match=f"{embedded.START_LIMIT_ENV}='soon'"):
        embedded.EmbeddedServer(home).start().wait(adopt=False)
