"""Ledger schema v5: who asked for a call (`paid_calls.caller`), on both backends.

A ledger made by v4 is upgraded with its rows kept, their caller NULL (a person's); a request
that does not say is a person's; the governor writes its caller ($SLATE_CALLER, as `slate mcp`
sets it for an agent's run) on every row it writes; one caller's spending is summed apart, and
capped: an agent session's cap over every run of its caller, the agents' daily cap over every
agent's rows of the day.
"""
from __future__ import annotations

import dataclasses
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from slate.governor.ledger.migrations import LATEST_VERSION

from slate.governor.chokepoint import AGENTS_DAILY_CAP, CALLER, SESSION_CAP, CallContext, CallSpec, Governor, Usage
from slate.governor.ledger import BudgetRefused, CallRequest, Cap, Ledger, migrations, paid_calls
from slate.governor.ledger.book import day_start
from slate.governor.ledger.schema import request_values
from slate.governor.ledger.engine import make_engine
from slate.providers.storage_local import LocalStorage
from tests.postgres_db import pg_database, url  # noqa: F401 — url: the ledger on each backend




def _request(fingerprint: str, **kw) -> CallRequest:
    return CallRequest(run_id="r1", film="night-diner", scene="scene-01", shot="1A", stage="panel", take=1,
                       provider="local", model="local-compositor-v1", profile="draft", fingerprint=fingerprint,
                       prompt="p", reference_hashes=(), parameters={}, estimate=Decimal("0.25"), **kw)


def test_v4_ledger_upgraded_rows_kept_as_a_persons(url):
    engine = make_engine(url)
    assert migrations.migrate(engine, target=4) == [1, 2, 3, 4]
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO paid_calls (call_id, run_id, film, scene, shot, stage, take, provider, model, profile, "
            "fingerprint, prompt, reference_hashes, parameters, estimate, status, created_at) VALUES ('c-old', "
            "'r0', 'night-diner', 'scene-01', '1A', 'panel', 1, 'local', 'm', 'draft', 'f0', 'p', '[]', '{}', "
            "'0.100000', 'succeeded', '2026-01-01T00:00:00+00:00')"))
    engine.dispose()
    with Ledger(url) as ledger:   # opening upgrades to the latest (v5 added the caller)
        with ledger.engine.connect() as conn:
            assert [r[0] for r in conn.execute(sa.text("SELECT version FROM schema_migrations ORDER BY version"))
                    ] == list(range(1, LATEST_VERSION + 1))
        (old,) = ledger.rows(film="night-diner")
        assert old.call_id == "c-old" and old.caller is None
        ledger.reserve(cap_scopes=[], request=_request("f1"))
        ledger.reserve(cap_scopes=[], request=_request("f2", caller="agent:abc"))
        callers = [r.caller for r in ledger.rows(film="night-diner")]
        assert callers == [None, None, "agent:abc"]
        assert ledger.totals(film="night-diner", caller="agent:abc").total == Decimal("0.25")
        assert ledger.totals(film="night-diner").total == Decimal("0.60")


@pytest.mark.parametrize("caller", [None, "agent:s1"])
def test_the_governor_names_its_caller_on_every_row(tmp_path: Path, monkeypatch, caller):
    root = tmp_path
    if caller:
        monkeypatch.setenv(CALLER, caller)
    else:
        monkeypatch.delenv(CALLER, raising=False)
    gov = Governor(run_id="r1", film="night-diner", root=root, ledger=Ledger.for_project(root),
                   estimate=lambda u, _model: Decimal("0.35"), caps=[Cap("run", Decimal(5)), Cap("film", Decimal(50))],
                   storage=LocalStorage(root))
    spec = CallSpec(CallContext("r1", "night-diner", "scene-01", "1C", "video", 1, "local", "local-ffmpeg-v1",
                                "draft"), Usage("video", 3, "480p"), uuid.uuid4().hex)
    gov.ledger.claim(request=gov._request(spec), cap_scopes=gov.caps, owner=gov.owner, lease_seconds=60)
    gov.note(spec, "Decision", "a $0 note beside the calls")
    rows = gov.ledger.rows(film="night-diner")
    assert len(rows) == 2 and {r.caller for r in rows} == {caller}
    gov.ledger.close()


def _agent(fingerprint: str, run_id: str, caller: str | None) -> CallRequest:
    return dataclasses.replace(_request(fingerprint), run_id=run_id, caller=caller)


def test_a_session_cap_sums_every_run_of_its_caller(url):
    """An agent session's cap holds the film's rows of its caller whatever run (or process) wrote
    them: a restarted `slate mcp --session nightly` continues the count; another session's rows and
    a person's are not its own."""
    with Ledger(url) as ledger:
        nightly = Cap("session", Decimal("0.60"), caller="agent:nightly")
        ledger.reserve(cap_scopes=[nightly], request=_agent("f1", "run-of-server-1", "agent:nightly"))
        ledger.reserve(cap_scopes=[], request=_agent("f2", "a-persons-run", None))
        ledger.reserve(cap_scopes=[], request=_agent("f3", "another-session", "agent:other"))
        ledger.reserve(cap_scopes=[nightly], request=_agent("f4", "run-of-server-2", "agent:nightly"))
        with pytest.raises(BudgetRefused) as refused:
            ledger.reserve(cap_scopes=[nightly], request=_agent("f5", "run-of-server-3", "agent:nightly"))
        assert str(refused.value).startswith("agent session cap (agent:nightly) $0.60 would be exceeded "
                                             "(spent $0.00, reserved $0.50, next call $0.25)")
        assert ledger.cap_totals(nightly, film="night-diner").total == Decimal("0.50")


def test_the_agents_daily_cap_sums_every_agent_today(url):
    """The agents' daily cap holds every agent caller's rows of the film written since midnight UTC:
    not a person's, not yesterday's."""
    with Ledger(url) as ledger:
        with ledger.engine.begin() as conn:   # an agent's row of yesterday
            conn.execute(paid_calls.insert().values(
                **request_values(_agent("f0", "r0", "agent:a")), call_id="c-yesterday", status="succeeded",
                actual_cost=Decimal("0.25"), created_at=day_start() - timedelta(hours=1)))
        daily = Cap("agents_day", Decimal("0.60"))
        ledger.reserve(cap_scopes=[daily], request=_agent("f1", "r1", "agent:a"))
        ledger.reserve(cap_scopes=[daily], request=_agent("f2", "r2", "agent:b"))
        ledger.reserve(cap_scopes=[], request=_agent("f3", "r3", None))
        with pytest.raises(BudgetRefused, match=r"^agents' daily cap on this film \$0.60 would be exceeded"):
            ledger.reserve(cap_scopes=[daily], request=_agent("f4", "r4", "agent:c"))
        assert ledger.cap_totals(daily, film="night-diner").total == Decimal("0.50")


@pytest.mark.parametrize("caller", [None, "agent:nightly"])
def test_the_governor_holds_an_agents_caps_from_its_environment(tmp_path: Path, monkeypatch, caller):
    """`slate mcp` sets the session's caps in its runs' environment; the governor of an agent's run
    holds them, a person's run never does."""
    monkeypatch.setenv(SESSION_CAP, "0.50")
    monkeypatch.setenv(AGENTS_DAILY_CAP, "3")
    if caller:
        monkeypatch.setenv(CALLER, caller)
    else:
        monkeypatch.delenv(CALLER, raising=False)
    gov = Governor(run_id="r1", film="night-diner", root=tmp_path, ledger=Ledger.for_project(tmp_path),
                   estimate=lambda u, _model: Decimal("0.35"), caps=[Cap("run", Decimal(5)), Cap("film", Decimal(50))],
                   storage=LocalStorage(tmp_path))
    try:
        agents = [c for c in gov.caps if c.scope in ("session", "agents_day")]
        if caller is None:
            assert agents == []
            return
        assert agents == [Cap("session", Decimal("0.50"), caller=caller), Cap("agents_day", Decimal(3))]
        gov.ledger.reserve(cap_scopes=gov.caps, request=_agent("f1", "an-earlier-run", caller))
        assert gov.remaining() == Decimal("0.25")   # the session's $0.50, less what its earlier run spent
    finally:
        gov.ledger.close()
