"""Schema v3 of the ledger: one request, one open row, one owner — and migrations that keep their word.

Claims, take-overs and lease renewals on SQLite and on the Postgres at 127.0.0.1:5432; the DDL of
the shipped steps (v1, v2) against what they created when they shipped; the upgrade of a v2
ledger holding the damage of the old take-over bug; database URLs with passwords never shown.
"""
from __future__ import annotations

import json
import multiprocessing as mp
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from slate.governor.ledger import (BudgetRefused, CallRequest, Cap, Ledger, LedgerStateError, LedgerUnavailable,
                                   make_engine, mask_url, migrations, request_key)
from tests.postgres_db import pg_database, url  # noqa: F401 — url: the ledger on each backend

D = Decimal
PINNED = json.loads((Path(__file__).parents[1] / "data" / "ledger_schema_v2.json").read_text())




@pytest.fixture
def ledger(url):
    led = Ledger(url)
    yield led
    led.close()


def req(estimate="0.35", *, run_id="run-a", take=1, fingerprint="fp", stage="video") -> CallRequest:
    return CallRequest(run_id=run_id, film="night-diner", scene="scene-01", shot="1A", stage=stage, take=take,
                       provider="local", model="local-ffmpeg-v1", profile="draft", fingerprint=fingerprint,
                       prompt="p", reference_hashes=(), parameters={}, estimate=D(estimate))


CAPS = [Cap("run", D(10)), Cap("film", D(100))]


# -- the shipped steps --------------------------------------------------------------------------

def schema_of(engine) -> object:
    with engine.connect() as c:
        if engine.dialect.name == "sqlite":
            return sorted(r[0] for r in c.exec_driver_sql(
                "select sql from sqlite_master where sql is not null and name not like 'sqlite_%'"))
        cols = [list(map(str, r)) for r in c.exec_driver_sql(
            "select column_name,data_type,is_nullable,coalesce(character_maximum_length,0),"
            "coalesce(numeric_precision,0),coalesce(numeric_scale,0) from information_schema.columns "
            "where table_name='paid_calls' order by ordinal_position")]
        idx = sorted(r[0] for r in c.exec_driver_sql("select indexdef from pg_indexes where tablename='paid_calls'"))
        cons = sorted(r[0] for r in c.exec_driver_sql(
            "select pg_get_constraintdef(oid) from pg_constraint where conrelid='paid_calls'::regclass"))
        return {"columns": cols, "indexes": idx, "constraints": cons}


def test_shipped_steps_build_what_they_built_when_they_shipped(url):
    """Versions 1 and 2 built from the columns' one home give the DDL they gave at release."""
    engine = make_engine(url)
    try:
        assert migrations.migrate(engine, target=2) == [1, 2]
        got = schema_of(engine)
    finally:
        engine.dispose()
    assert got == PINNED["sqlite" if url.startswith("sqlite") else "postgres"]


def test_upgrading_a_v2_ledger_backfills_keys_and_leaves_one_open_row_per_request(url):
    engine = make_engine(url)
    migrations.migrate(engine, target=2)
    t = sa.Table("paid_calls", sa.MetaData(), autoload_with=engine)
    base = dict(run_id="r", film="night-diner", scene="scene-01", shot="1A", stage="video", take=1,
                provider="local", model="m", profile="draft", fingerprint="fp", prompt="p",
                reference_hashes="[]", parameters="{}", estimate="0.35" if url.startswith("sqlite") else D("0.35"),
                created_at="2026-01-01T00:00:00+00:00" if url.startswith("sqlite") else sa.func.now())
    with engine.begin() as c:  # two runs of the old code both sent the same request
        c.execute(t.insert().values(call_id="old", status="submitted", job_id="j1", **base))
        c.execute(t.insert().values(call_id="new", status="submitted", job_id="j2", **base))
        c.execute(t.insert().values(call_id="done", status="succeeded", **{**base, "take": 2}))
    engine.dispose()
    led = Ledger(url)
    rows = {r.call_id: r for r in led.rows(film="night-diner")}
    key = request_key(req(fingerprint="fp"))  # same film/scene/shot/stage/take/provider... but model differs
    assert rows["old"].request_key == rows["new"].request_key != key
    assert (rows["old"].status, rows["new"].status) == ("unknown", "submitted")
    assert "reconcile" in rows["old"].error_message
    assert rows["done"].request_key not in (None, rows["new"].request_key)
    # the open row is now the only one its request may have
    with pytest.raises(sa.exc.IntegrityError):
        with led.engine.begin() as c:
            c.execute(sa.text("UPDATE paid_calls SET status='submitted' WHERE call_id='old'"))
    led.close()


# -- claims -------------------------------------------------------------------------------------

def test_claim_admits_once_then_finds_the_open_row_then_the_result(ledger):
    first = ledger.claim(request=req(), cap_scopes=CAPS, owner="run-a@h/1", lease_seconds=60)
    assert first.kind == "claimed" and first.row.status == "reserved" and first.row.owner == "run-a@h/1"
    assert first.row.lease_until > first.now
    second = ledger.claim(request=req(run_id="run-b"), cap_scopes=CAPS, owner="run-b@h/2", lease_seconds=60)
    assert (second.kind, second.row.call_id) == ("open", first.row.call_id)
    ledger.mark_submitted(first.row.call_id, "job-1")
    ledger.record_artifact(first.row.call_id, "cas://" + "a" * 64 + ".mp4")
    ledger.settle(first.row.call_id, actual_cost=D("0.35"), artifact_uri="cas://" + "a" * 64 + ".mp4")
    third = ledger.claim(request=req(run_id="run-b"), cap_scopes=CAPS, owner="run-b@h/2", lease_seconds=60)
    assert (third.kind, third.row.call_id) == ("done", first.row.call_id)
    # the artifact is gone: the caller skips that row and a new call is admitted
    fourth = ledger.claim(request=req(run_id="run-b"), cap_scopes=CAPS, owner="run-b@h/2", lease_seconds=60,
                          skip={first.row.call_id})
    assert fourth.kind == "claimed" and fourth.row.run_id == "run-b"
    assert len(ledger.rows(film="night-diner")) == 2


def test_an_unknown_row_blocks_unless_the_caller_may_ask_again(ledger):
    c = ledger.claim(request=req(stage="panel_gate"), cap_scopes=CAPS, owner="o", lease_seconds=60)
    ledger.mark_unknown(c.row.call_id, "lost")
    again = ledger.claim(request=req(stage="panel_gate"), cap_scopes=CAPS, owner="o", lease_seconds=60)
    assert (again.kind, again.row.status) == ("open", "unknown")
    asked = ledger.claim(request=req(stage="panel_gate"), cap_scopes=CAPS, owner="o", lease_seconds=60,
                         take_unknown=True)
    assert asked.kind == "claimed" and asked.row.call_id != c.row.call_id


def test_a_claim_past_the_cap_is_refused_and_logged(ledger):
    with pytest.raises(BudgetRefused, match="per-run cap"):
        ledger.claim(request=req("11"), cap_scopes=CAPS, owner="o", lease_seconds=60)
    [row] = ledger.rows(film="night-diner")
    assert row.status == "refused" and row.request_key == request_key(req())


def _claim_in_process(url, run, barrier, out):
    led = Ledger(url)
    barrier.wait(60)
    c = led.claim(request=req(run_id=run), cap_scopes=CAPS, owner=f"{run}@host/1", lease_seconds=60)
    out.put((run, c.kind, c.row.call_id))
    led.close()


def test_many_processes_claiming_one_request_admit_exactly_one(url):
    Ledger(url).close()  # migrated before the race
    ctx = mp.get_context("spawn")
    n = 8
    barrier, out = ctx.Barrier(n), ctx.Queue()
    procs = [ctx.Process(target=_claim_in_process, args=(url, f"run-{i}", barrier, out)) for i in range(n)]
    for p in procs:
        p.start()
    got = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)
    kinds = sorted(k for _, k, _ in got)
    assert kinds == ["claimed"] + ["open"] * (n - 1), got
    assert len({call_id for *_, call_id in got}) == 1
    led = Ledger(url)
    assert len(led.rows(film="night-diner")) == 1
    led.close()


# -- ownership ----------------------------------------------------------------------------------

def test_take_over_is_a_compare_and_set_on_owner_and_lease(ledger):
    c = ledger.claim(request=req(), cap_scopes=CAPS, owner="dead@h/1", lease_seconds=0.01)
    ledger.mark_submitted(c.row.call_id, "job-1")
    seen = ledger.find(c.row.call_id)
    # The owner renews between our look and our take-over: it is alive, we lose.
    time.sleep(0.02)
    assert ledger.renew([c.row.call_id], owner="dead@h/1", lease_seconds=60) == {c.row.call_id}
    assert not ledger.take_over(seen, owner="me@h/2", lease_seconds=60)
    seen = ledger.find(c.row.call_id)
    assert ledger.take_over(seen, owner="me@h/2", lease_seconds=60)
    assert not ledger.take_over(seen, owner="third@h/3", lease_seconds=60)  # already taken
    row = ledger.find(c.row.call_id)
    assert (row.owner, row.status, row.job_id) == ("me@h/2", "submitted", "job-1")
    assert row.lease_until - c.now > timedelta(seconds=30)  # the new owner holds a fresh lease
    # the old owner no longer holds it
    assert ledger.renew([c.row.call_id], owner="dead@h/1", lease_seconds=60) == set()


def test_an_unknown_row_with_a_job_is_taken_back_to_submitted(ledger):
    c = ledger.claim(request=req(), cap_scopes=CAPS, owner="o", lease_seconds=60)
    ledger.mark_submitted(c.row.call_id, "job-9")
    ledger.mark_unknown(c.row.call_id, "no result before the deadline")
    row = ledger.find(c.row.call_id)
    assert row.lease_until is None
    assert ledger.take_over(row, owner="next", lease_seconds=60, status="submitted")
    assert ledger.find(c.row.call_id).status == "submitted"


def test_record_artifact_only_while_submitted(ledger):
    c = ledger.claim(request=req(), cap_scopes=CAPS, owner="o", lease_seconds=60)
    with pytest.raises(LedgerStateError):
        ledger.record_artifact(c.row.call_id, "cas://x")
    ledger.mark_submitted(c.row.call_id, None)
    ledger.record_artifact(c.row.call_id, "cas://x")
    ledger.record_artifact(c.row.call_id, "cas://x")  # a repeat is a no-op
    assert ledger.find(c.row.call_id).artifact_uri == "cas://x"


# -- secrets ------------------------------------------------------------------------------------

CANARY = "pw-" + "c4n4ry" * 3


def test_a_ledger_url_with_a_password_is_never_shown(tmp_path):
    assert mask_url(f"postgresql://postgres:{CANARY}@db:5432/x") == "postgresql://postgres:***@db:5432/x"
    assert CANARY not in mask_url(f"postgresql://h/x?user=u&password={CANARY}")
    with pytest.raises(ValueError) as bad:
        Ledger(f"mysql://root:{CANARY}@127.0.0.1/ledger")
    assert CANARY not in str(bad.value) and "mysql://root:***@127.0.0.1/ledger" in str(bad.value)
    with pytest.raises(LedgerUnavailable) as down:  # nothing listens on port 1
        Ledger(f"postgresql+psycopg://postgres:{CANARY}@127.0.0.1:1/ledger")
    shown = str(down.value) + repr(down.value) + str(down.value.__cause__) + str(down.value.__context__)
    assert CANARY not in shown and "postgres:***@127.0.0.1:1" in shown
    assert down.value.__suppress_context__  # the driver's own error (which may quote it) is not printed


def test_repr_of_an_open_ledger_masks_its_password():
    with pg_database() as url:
        led = Ledger(url.replace("postgres@", f"postgres:{CANARY}@"))  # trust auth accepts any password
        try:
            assert CANARY not in repr(led) and ":***@" in repr(led)
        finally:
            led.close()
