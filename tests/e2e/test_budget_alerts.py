"""Budget events: a run that crosses 80% and then 100% of its cap says so once each, as Prefect
events a server keeps; a run under 80% says nothing; an emitter that fails never fails a call.

The scene runs on the local provider priced as Kling v2.5 turbo pro (the first clip's price
from the ledger's own row), with a run cap at which the first clip's reservation is 85% of the
cap and the second clip is refused. The events are read back from the server's events API
(`POST /api/events/filter`), where an automation would see them.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import httpx
import pytest

from slate.manifests.options import RunOptions
from slate.flows.scene import scene_flow
from slate.governor.alerts import CAP_REACHED_EVENT, WARNING_EVENT, BudgetAlerts, crossings
from slate.governor.ledger import BudgetRefused, Cap, CallRequest, Ledger
from slate.governor.money import usd
from slate.governor.ratecard import RateCard
from slate.governor.chokepoint import Usage
from slate.manifests import load_film
from tests.scene_cuts import keep_shots, without_finishing

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("local_calls")]
KLING = "replicate:kwaivgi/kling-v2.5-turbo-pro"
FILM = "night-diner"
EVENT_WAIT = 30.0


def two_shots(root):
    """1A and 1C: a first clip that crosses 80% and a second refused at 100%; no finishing."""
    without_finishing(root)
    keep_shots(root)
    return root


def budget_events(since: datetime) -> list[dict]:
    from prefect.settings import PREFECT_API_URL
    body = {"filter": {"occurred": {"since": since.isoformat()},
                       "event": {"prefix": ["slate.budget."]},
                       "resource": {"id_prefix": ["slate.film."]}},
            "limit": 50}
    reply = httpx.post(f"{PREFECT_API_URL.value()}/events/filter", json=body, timeout=10)
    reply.raise_for_status()
    return reply.json()["events"]


def events_of(run_id: str, since: datetime, *, expect: int) -> list[dict]:
    """The budget events of one run (by its related flow run), once `expect` have arrived (or
    the wait ran out: delivery is asynchronous)."""
    deadline = time.time() + EVENT_WAIT
    while True:
        mine = [e for e in budget_events(since)
                if any(r["prefect.resource.id"] == f"prefect.flow-run.{run_id}" for r in e.get("related", []))]
        if len(mine) >= expect and (expect or time.time() > since.timestamp() + 8) or time.time() > deadline:
            return sorted(mine, key=lambda e: e["occurred"])
        time.sleep(0.5)


def test_a_run_crossing_80_then_100_percent_of_its_cap_emits_one_warning_and_one_cap_reached(example_film,
                                                                                               prefect_harness):
    film = two_shots(example_film)
    title = load_film(film).film.title
    card = RateCard.load(film)
    first_shot = load_film(film).scene("scene-01").shots[0]
    first_clip = card.price(KLING, Usage("video", seconds=first_shot.duration, resolution="480p"))
    cap = usd(first_clip / Decimal("0.85"))   # the first clip is 85% of it; the second does not fit
    since = datetime.now(timezone.utc) - timedelta(seconds=1)

    state = scene_flow(project=str(film), options=RunOptions(price_as=KLING, run_cap_usd=cap), return_state=True)
    assert state.name == "Halted", (state.name, state.message)
    run_id = str(state.state_details.flow_run_id)
    videos = [r for r in Ledger.for_project(film).rows(film=FILM) if r.stage == "video"]
    assert [r.status for r in videos] == ["succeeded", "refused"]
    spent = videos[0].estimate                     # reserved at the warning, committed at the refusal
    assert spent == first_clip

    events = events_of(run_id, since, expect=2)
    print(f"\nbudget events of run {run_id}: " + "; ".join(
        f"{e['event']} {e['resource']['slate.spent']}/{e['resource']['slate.cap-usd']}" for e in events))
    assert [e["event"] for e in events] == [WARNING_EVENT, CAP_REACHED_EVENT]
    for e in events:
        r = e["resource"]
        assert r["prefect.resource.id"] == f"slate.film.{FILM}"
        assert r["prefect.resource.name"] == title
        assert r["slate.cap"] == "run"
        assert Decimal(r["slate.spent"]) == spent
        assert Decimal(r["slate.cap-usd"]) == cap
    assert events[0]["payload"]["refused"] is False and events[1]["payload"]["refused"] is True
    assert Decimal(events[0]["payload"]["percent"]) == (spent / cap * 100).quantize(Decimal("0.1"))

    # The same film again with room to spare: the second clip alone is far under 80% of $50.
    since = datetime.now(timezone.utc) - timedelta(seconds=1)
    state = scene_flow(project=str(film), options=RunOptions(price_as=KLING, run_cap_usd=Decimal("50")), return_state=True)
    assert state.is_completed(), (state.name, state.message)
    quiet = events_of(str(state.state_details.flow_run_id), since, expect=0)
    assert quiet == []


def request(estimate: str, run_id: str = "run-1") -> CallRequest:
    return CallRequest(run_id=run_id, film=FILM, scene="scene-01", shot="1A", stage="video", take=1,
                       provider="local", model="local-ffmpeg-v1", profile="draft", fingerprint=f"fp-{estimate}",
                       prompt="", reference_hashes=(), parameters={}, estimate=Decimal(estimate))


def test_crossings_are_per_cap_and_once_per_run_and_a_failing_emitter_breaks_nothing(tmp_path, caplog):
    assert [(c.event, c.scope) for c in crossings({"run": Decimal("7.99"), "film": Decimal("8")},
                                                  [Cap("run", Decimal("10")), Cap("film", Decimal("10"))], None)] \
        == [(WARNING_EVENT, "film")]
    assert crossings({"run": Decimal("0")}, [Cap("run", Decimal("0"))], None) == []  # a zero cap spends nothing
    with Ledger(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        caps = [Cap("run", Decimal("10")), Cap("film", Decimal("100"))]
        sent = []
        alerts = BudgetAlerts(film=FILM, title="Night Diner", run_id="run-1", emit=lambda **kw: sent.append(kw))
        ledger.reserve(cap_scopes=caps, request=request("8.50"))
        alerts.check(ledger, caps)
        alerts.check(ledger, caps)                         # nothing new crossed: nothing sent twice
        assert [(e["event"], e["resource"]["slate.cap"], e["resource"]["slate.spent"]) for e in sent] \
            == [(WARNING_EVENT, "run", "8.500000")]
        assert sent[0]["related"] == []                    # "run-1" is no flow run id
        with pytest.raises(BudgetRefused) as refused:
            ledger.reserve(cap_scopes=caps, request=request("2.00"))
        alerts.check(ledger, caps, refused.value)
        assert [e["event"] for e in sent] == [WARNING_EVENT, CAP_REACHED_EVENT]

        def broken(**kw):
            raise ConnectionError("events endpoint down")
        failing = BudgetAlerts(film=FILM, title="Night Diner", run_id="run-1", emit=broken)
        with caplog.at_level("WARNING", logger="slate.governor"):
            failing.check(ledger, caps)
            failing.check(ledger, caps, refused.value)     # never raises, complains once
        assert [r.getMessage() for r in caplog.records].count(
            "budget events of run run-1 could not be emitted (ConnectionError: events endpoint down); spending "
            "is still capped by the ledger") == 1
