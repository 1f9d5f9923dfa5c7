"""Ledger schema v6: a person's approval is a row of `approvals`, never a paid call — on both backends.

Counted where it lands: the rows of each table, read with SQL. An approval adds one row to
`approvals` and none to `paid_calls`; the totals and the call count stay what they were. A v5
ledger that holds approvals written the old way ($0 released rows by provider "person", or the
bible's "bible_approve") is upgraded with them moved, nothing else touched; a bible promotion's
claim still collides after the move.
"""
from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from slate.governor.chokepoint import Governor
from slate.governor.ledger import Cap, CallRequest, Ledger, migrations
from slate.governor.ledger.engine import make_engine
from slate.providers.storage_local import LocalStorage
from tests.postgres_db import pg_database, url  # noqa: F401 — url: the ledger on each backend


def _count(ledger: Ledger, table: str) -> int:
    with ledger.engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()


def _request(fingerprint: str, **kw) -> CallRequest:
    base = dict(run_id="r1", film="night-diner", scene="scene-01", shot="1A", stage="panel", take=1,
                provider="local", model="local-compositor-v1", profile="draft", fingerprint=fingerprint,
                prompt="p", reference_hashes=(), parameters={}, estimate=Decimal("0.25"))
    return CallRequest(**{**base, **kw})


def test_an_approval_is_an_approvals_row_and_no_paid_call(url, tmp_path):
    with Ledger(url) as ledger:
        gov = Governor(run_id="r1", film="night-diner", root=tmp_path, ledger=ledger,
                       estimate=lambda u, _m: Decimal("0.25"), caps=[Cap("run", Decimal(5)), Cap("film", Decimal(50))],
                       storage=LocalStorage(tmp_path))
        call = ledger.reserve(cap_scopes=gov.caps, request=_request("f1"))
        ledger.settle(call.call_id, actual_cost=Decimal("0.25"), artifact_uri=None)
        before = ledger.totals(film="night-diner"), _count(ledger, "paid_calls")
        gov.approve(scene="scene-01", stage="approval", take=1, by="Ana", fingerprint="fp1",
                    message="approved 1A — by Ana")
        assert _count(ledger, "approvals") == 1
        assert _count(ledger, "paid_calls") == before[1] == 1          # no paid call written for it
        assert ledger.totals(film="night-diner") == before[0]          # and no money
        [a] = ledger.approvals(film="night-diner", run_id="r1", stage="approval")
        assert (a.by, a.scene, a.shot, a.take, a.message) == ("Ana", "scene-01", "*", 1, "approved 1A — by Ana")
        # A named approval is a claim: the same id again is refused by the database.
        ledger.approve(run_id="b", film="night-diner", scene="bible", shot="location:diner", stage="bible_approve",
                       take=1, by="Ana", fingerprint="g1", message="m", approval_id="claim-1")
        with pytest.raises(sa.exc.IntegrityError):
            ledger.approve(run_id="c", film="night-diner", scene="bible", shot="location:diner",
                           stage="bible_approve", take=1, by="Ben", fingerprint="g1", message="m", approval_id="claim-1")
        assert [x.by for x in ledger.approvals(stage="bible_approve")] == ["Ana"]


def test_a_v5_ledgers_approvals_move_out_of_paid_calls(url):
    engine = make_engine(url)
    assert migrations.migrate(engine, target=5) == [1, 2, 3, 4, 5]
    # Today's ledger code reads every column of today's schema back after it writes: the columns
    # later steps add stand in while the old rows are written, and are dropped again, so the
    # upgrade below starts from v5 as it was.
    later = [c for v in range(6, migrations.LATEST_VERSION + 1) for c in migrations.columns_added_in(v)]
    with engine.begin() as conn:
        for col in later:
            conn.exec_driver_sql(f"ALTER TABLE paid_calls ADD COLUMN {col.name} {col.type.compile(dialect=conn.dialect)}")
    engine.dispose()
    old = Ledger.__new__(Ledger)  # write the old way, on the v5 schema: $0 notes of `paid_calls`
    old.engine = make_engine(url)
    old.dialect = old.engine.dialect.name
    person = _request("fp-scene", run_id="r1", shot="*", stage="approval", take=1, provider="person", model="Ana",
                      prompt="", estimate=Decimal(0))
    old.note(person, error_class="Approval", message="approved 1A — by Ana")
    bible = _request("fp-bible", run_id="bible-approve-1", scene="bible", shot="location:diner",
                     stage="bible_approve", provider="slate", model="approval", profile="-", estimate=Decimal(0),
                     parameters={"version": 2, "by": "Ben", "sha256": "s2", "replaced": "s1", "generation": 1})
    old.note(bible, error_class="approved", message="location 'diner' version 2 approved by Ben", call_id="claim-9")
    paid = old.reserve(cap_scopes=[], request=_request("fp-panel"))
    old.settle(paid.call_id, actual_cost=Decimal("0.25"), artifact_uri=None)
    old.note(_request("fp-switch", estimate=Decimal(0)), error_class="FallbackSwitch", message="a switch")
    with old.engine.begin() as conn:
        for col in later:
            conn.exec_driver_sql(f"ALTER TABLE paid_calls DROP COLUMN {col.name}")
    old.engine.dispose()

    with Ledger(url) as ledger:   # opening upgrades to v6
        with ledger.engine.connect() as conn:
            versions = [r[0] for r in conn.execute(sa.text("SELECT version FROM schema_migrations ORDER BY version"))]
        assert versions == [1, 2, 3, 4, 5, 6, 7]
        assert _count(ledger, "approvals") == 2 and _count(ledger, "paid_calls") == 2
        assert sorted(r.stage for r in ledger.rows()) == ["panel", "panel"]   # the call and the switch's note stay
        assert ledger.totals(film="night-diner").committed == Decimal("0.25")
        scene, promoted = ledger.approvals()
        assert (scene.stage, scene.by, scene.take, scene.fingerprint, scene.message) == \
            ("approval", "Ana", 1, "fp-scene", "approved 1A — by Ana")
        assert (promoted.stage, promoted.by, promoted.approval_id, promoted.shot) == \
            ("bible_approve", "Ben", "claim-9", "location:diner")
        assert promoted.parameters == {"version": 2, "by": "Ben", "sha256": "s2", "replaced": "s1", "generation": 1}
        with pytest.raises(sa.exc.IntegrityError):   # the moved claim still holds its generation
            ledger.approve(run_id="x", film="night-diner", scene="bible", shot="location:diner", stage="bible_approve",
                           take=1, by="Cy", fingerprint="g", message="m", approval_id="claim-9")
