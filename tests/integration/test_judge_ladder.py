"""A ladder of judges (issue 60): the second judge (the paid one) is asked only where the first fails a
take or cannot judge it, and the ledger holds both answers.

The first judge is a model behind the fake chat-completions endpoint, unsure of two of the example's
shots (its answers to them are not the rubric, twice: "cannot judge"); the second is the local judge.
Each panel goes through tasks/gates/gate.py `ask_ladder` with a real governor and ledger, so what is asked
of whom is counted where it lands: the ledger's rows by provider and shot, and the fake's book.
"""
from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

from slate.governor.chokepoint import CallContext, CallSpec, Governor, Usage
from slate.governor.ledger import Cap, Ledger
from slate.governor.ratecard import RateCard
from slate.providers import vlm
from slate.providers.registry import build
from slate.providers.spec import IMAGE, JUDGE
from slate.providers.storage_local import LocalStorage
from slate.tasks.gates.gate import ask_ladder, reference_images
from slate.tasks.review.judge_trial import trial_requests

FIRST = "Qwen/Qwen2.5-VL-7B-Instruct"
FILM = "night-diner"


def test_the_second_judge_is_asked_exactly_where_the_first_cannot_judge_or_fails(example_film, fakes, monkeypatch):
    monkeypatch.setenv("SLATE_PAID_CALLS_ALLOWED", "local,vlm")
    storage = LocalStorage(example_film)
    card = RateCard.load(example_film)
    governor = Governor(run_id="run-1", film=FILM, root=example_film, ledger=Ledger.for_project(example_film),
                        estimate=lambda units, model: card.price(model, units), storage=storage,
                        caps=[Cap("run", Decimal(10)), Cap("film", Decimal(100))], poll_interval=0.02,
                        busy_poll=0.05, retry_wait_cap=2.0, failure_charge=card.failure_charge)
    st = SimpleNamespace(judge=vlm.judge(FIRST, base_url=fakes.url("vlm")), second_judge=build(JUDGE, "local"),
                         governor=governor, storage=storage)
    painter = build(IMAGE, "local:local-compositor-v1", storage)
    starts = [r for r in trial_requests(example_film) if r.moment == "start"]   # one panel of each shot
    requests = starts[:4]
    assert len({r.prompt for r in requests}) == 4 and not any(a.prompt in b.prompt for a in requests for b in requests
                                                              if a is not b)
    unsure = requests[1:3]
    for request in unsure:   # the first judge's answers to these two are never the rubric
        fakes.faults({"provider": "vlm", "op": "chat", "kind": "malformed", "times": 2, "contains": request.prompt})
    fakes.faults({"provider": "vlm", "op": "chat", "kind": "judge_fail", "contains": requests[3].prompt})
    verdicts = []
    for i, request in enumerate(requests):
        uri = storage.put_bytes(painter.generate_panel(request), "png")
        spec = CallSpec(context=CallContext("run-1", FILM, "scene-01", f"S{i}", "panel_gate", 1, "vlm", FIRST, "draft"),
                        units=Usage("judge", input_tokens=4000, output_tokens=300), fingerprint=f"panel-{i}",
                        prompt=f"judge panel S{i}")
        verdicts.append(ask_ladder(st, spec, lambda judge, call_id, r=request, u=uri: judge.judge_panel(
            storage.open_local(u), r, reference_images(st, r), client_ref=call_id)))

    rows = Ledger.for_project(example_film).rows(film=FILM)
    assert sorted(r.shot for r in rows if r.provider == "vlm") == ["S0", "S1", "S2", "S3"]
    # asked of the second: the two it could not judge, and the one it failed — never the one it passed
    assert sorted(r.shot for r in rows if r.provider == "local") == ["S1", "S2", "S3"]
    assert verdicts[0]["judge"] == "vlm" and verdicts[0]["passed"] and "first" not in verdicts[0]
    for v in verdicts[1:3]:
        assert v["judge"] == "local" and v["first"]["cannot_judge"] is True and v["passed"] is True
    assert verdicts[3]["judge"] == "local" and verdicts[3]["first"]["passed"] is False
    local_rows = {r.shot: r for r in rows if r.provider == "local"}
    assert all(r.stage == "panel_gate" and r.status == "succeeded" for r in local_rows.values())


def test_the_estimate_prices_the_second_judge_at_the_share_the_first_judges_trial_says(example_film, local_calls):
    from dataclasses import replace

    from slate.governor.estimate import JUDGE_TOKENS, _judge
    from slate.governor.ratecard import Pricing
    from slate.tasks.review.judge_trial import ladder_share, run_trial
    with open(example_film / "rates.toml", "a") as f:
        f.write(f'\n[models."vlm:{FIRST}"]\nkind = "judge"\nper_million_input = "2"\nper_million_output = "2"\n'
                f'source = "the test"\nconfidence = "D"\n')
    card = RateCard.load(example_film)
    pricing = Pricing.for_lineup(card, "local:local-compositor-v1", ["local:local-ffmpeg-v1"], "local:local-pixels-v1")
    second = card.price(f"vlm:{FIRST}", Usage("judge", input_tokens=JUDGE_TOKENS[0], output_tokens=JUDGE_TOKENS[1]))
    assert ladder_share(example_film, "local:local-pixels-v1") == 1          # unmeasured: every verdict
    assert _judge(replace(pricing, ladder=(f"vlm:{FIRST}", Decimal(1))), JUDGE_TOKENS) == second
    run_trial(example_film, "local", 4, Decimal(1), say=lambda _: None)      # 4 faults caught of 8 panels
    share = ladder_share(example_film, "local:local-pixels-v1")
    assert share == Decimal("0.5")
    assert _judge(replace(pricing, ladder=(f"vlm:{FIRST}", share)), JUDGE_TOKENS) == share * second
    assert _judge(pricing, JUDGE_TOKENS) == 0


def test_a_ladder_keys_the_gates_verdict_but_not_the_first_judges_question():
    """The gate's task is keyed by its Judging (with the ladder: another verdict may stand); the first
    judge's paid call by the judge's own variant (without it): turning a ladder on asks it nothing again."""
    from slate.tasks.run.clapper import content_key
    from slate.tasks.gates.gate_inputs import Judging
    one = Judging(judge="vlm", model=FIRST, variant={}, profile="draft", policy="p")
    ladder = Judging(judge="vlm", model=FIRST, variant={"ladder": "gemini:gemini-2.5-flash"}, profile="draft",
                     policy="p")
    assert content_key("gate", {"judging": one}) != content_key("gate", {"judging": ladder})
    assert ladder.judge_variant == one.judge_variant == {}
