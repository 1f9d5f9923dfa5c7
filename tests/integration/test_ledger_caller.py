"""Ledger schema v5: who asked for a call (`paid_calls.caller`), on both backends.

A ledger made by v4 is upgraded with its rows kept, their caller NULL (a person's); a request
that does not say is a person's; the governor writes its caller ($SLATE_CALLER, as `slate mcp`
sets it for an agent's run) on every row it writes; one caller's spending is summed apart.
"""
from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from slate.governor.chokepoint import CALLER, CallContext, CallSpec, Governor, Usage
from slate.governor.ledger import CallRequest, Cap, Ledger, migrations
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
                    ] == [1, 2, 3, 4, 5, 6]
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
