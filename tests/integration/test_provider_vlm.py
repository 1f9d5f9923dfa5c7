"""A vision judge through an OpenAI-compatible endpoint (providers/vlm.py, issue 60) against the fake
chat-completions server over real HTTP (tests/fakes/vlm.py). Verdicts go through tasks/gates/gate.py's
`ask_judge` and a real governor priced by the rate card with the film's own row, so what lands is
counted where it lands: the fake's book of requests and of completions it made (billed), and the
ledger's rows and their usage column.
"""
from __future__ import annotations

import base64
import json
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest

from benchmarks.judge_trials import panel_requests
from slate.governor.chokepoint import CallContext, CallSpec, Governor, UnknownOutcome, Usage
from slate.governor.ledger import Cap, Ledger
from slate.governor.ratecard import RateCard
from slate.providers import rubric, vlm
from slate.providers.base import ReferenceImages, Verdict
from slate.providers.errors import RefusedByModeration
from slate.providers.storage_local import LocalStorage
from slate.tasks.gates.gate import ask_judge
from tests.fakes import vlm as fake
from tests.fakes.control import fake_key

MODEL = "Qwen/Qwen2.5-VL-7B-Instruct"   # a slash and capitals, as the server lists it
FILM = "night-diner"


@pytest.fixture(autouse=True)
def _fresh_endpoints():
    vlm._PLAIN.clear()   # what this process learnt of an endpoint's structured outputs
    yield
    vlm._PLAIN.clear()


@pytest.fixture
def film(example_film, fakes) -> Path:
    return example_film


def priced(film: Path, per_million: str) -> None:
    """The film's own rate-card row for the model (slate ships none for an endpoint it cannot know)."""
    with open(film / "rates.toml", "a") as f:
        f.write(f'\n[models."vlm:{MODEL}"]\nkind = "judge"\nper_million_input = "{per_million}"\n'
                f'per_million_output = "{per_million}"\nsource = "the test"\nconfidence = "D"\n')


def question(film: Path):
    storage = LocalStorage(film)
    request = next(r for r in panel_requests(film) if len(r.characters) == 2)
    refs = ReferenceImages(plate=storage.open_local(request.plate_uri),
                           turnarounds={c.id: storage.open_local(c.turnaround_uri) for c in request.characters})
    panel = storage.open_local(request.plate_uri)   # any picture: the fake reads that it is one
    return panel, request, refs


def crew(film: Path, fakes) -> SimpleNamespace:
    rates = film / "rates.toml"
    if f"vlm:{MODEL}" not in (rates.read_text() if rates.is_file() else ""):
        priced(film, "1.00")
    card = RateCard.load(film)
    storage = LocalStorage(film)
    governor = Governor(run_id="run-1", film=FILM, root=film, ledger=Ledger.for_project(film),
                        estimate=lambda units, model: card.price(model, units), storage=storage,
                        caps=[Cap("run", Decimal(10)), Cap("film", Decimal(100))], poll_interval=0.02,
                        busy_poll=0.05, retry_wait_cap=2.0, failure_charge=card.failure_charge)
    return SimpleNamespace(judge=vlm.judge(MODEL, base_url=fakes.url("vlm")), governor=governor, storage=storage)


def judged(film: Path, fakes, take: int = 1) -> dict:
    st = crew(film, fakes)
    panel, request, refs = question(film)
    spec = CallSpec(context=CallContext("run-1", FILM, "scene-01", "1D", "panel_gate", take, "vlm", MODEL, "draft"),
                    units=Usage("judge", input_tokens=2000, output_tokens=400), fingerprint=f"panel-{take}",
                    prompt="judge panel 1D start")
    return ask_judge(st, spec, lambda call_id: st.judge.judge_panel(panel, request, refs, client_ref=call_id))


def chats(fakes) -> list[dict]:
    return [r for r in fakes.requests("vlm") if r["path"] == "/vlm/v1/chat/completions"]


def made(fakes) -> list[dict]:
    return [j for j in fakes.jobs("vlm") if j["op"] == "chat"]


def rows(film: Path):
    return list(Ledger.for_project(film).rows(film=FILM))


def test_a_verdict_is_asked_with_the_rubric_schema_and_the_pictures_as_data_urls(film, fakes):
    panel, request, refs = question(film)
    verdict = vlm.judge(MODEL, base_url=fakes.url("vlm")).judge_panel(panel, request, refs)
    [call] = chats(fakes)
    body = call["body"]
    assert body["model"] == MODEL and body["temperature"] == 0
    assert "authorization" not in call["headers"]   # no key set: a local server needs none
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    assert set(fmt["json_schema"]["schema"]["properties"]) == set(rubric.panel_rubric(request).model_fields)
    text, *images = body["messages"][1]["content"]
    assert text == {"type": "text", "text": rubric.panel_instructions(request)}
    order = [panel, refs.plate, *(refs.turnarounds[c.id] for c in request.characters)]
    assert [base64.b64decode(p["image_url"]["url"].split(",", 1)[1]) for p in images] == [p.read_bytes() for p in order]
    assert all(p["image_url"]["url"].startswith("data:image/png;base64,") for p in images)
    assert verdict.passed and verdict.judge == "vlm"
    prompt = fake.IMAGE_TOKENS * len(images) + len(text["text"]) // 4
    assert verdict.usage is not None and verdict.usage["input_tokens"] == prompt
    assert verdict.usage["gpu_seconds"] >= 0   # a server on this machine: its seconds are kept


def test_a_key_when_set_is_sent_as_a_bearer_and_never_in_the_url(film, fakes, monkeypatch):
    monkeypatch.setenv("VLM_API_KEY", fake_key("vlm"))
    panel, request, refs = question(film)
    vlm.judge(MODEL, base_url=fakes.url("vlm")).judge_panel(panel, request, refs)
    [call] = chats(fakes)
    assert call["headers"]["authorization"] == f"Bearer {fake_key('vlm')}"
    assert fake_key("vlm") not in json.dumps(call["query"]) + call["path"]


def test_an_endpoint_without_structured_outputs_is_told_the_schema_in_words_and_its_fenced_answer_read(film, fakes):
    fakes.keys({"vlm": {"schema": False}})
    fakes.faults({"provider": "vlm", "op": "chat", "kind": "fenced", "times": 2})
    panel, request, refs = question(film)
    judge = vlm.judge(MODEL, base_url=fakes.url("vlm"))
    first = judge.judge_panel(panel, request, refs)
    second = judge.judge_panel(panel, request, refs)
    asked = chats(fakes)
    assert len(asked) == 3   # the 400 that named response_format (nothing ran), then each verdict once
    assert "response_format" in asked[0]["body"] and all("response_format" not in a["body"] for a in asked[1:])
    assert fake.SCHEMA_SAID in asked[1]["body"]["messages"][0]["content"]
    assert first.passed and second.passed and len(made(fakes)) == 2


def test_a_malformed_answer_is_asked_again_once_then_cannot_judge_never_a_pass(film, fakes):
    priced(film, "1.00")
    fakes.faults({"provider": "vlm", "op": "chat", "kind": "malformed", "times": 2})
    verdict = judged(film, fakes)
    assert len(chats(fakes)) == 2 and len(made(fakes)) == 2   # asked again once, in the same conversation
    again = chats(fakes)[1]["body"]["messages"]
    assert again[2]["role"] == "assistant" and "cannot be used" in again[3]["content"]
    assert verdict["passed"] is False and verdict["cannot_judge"] is True
    [row] = rows(film)
    assert row.status == "succeeded" and row.usage["asks"] == 2
    prompts = []
    for call in chats(fakes):
        _, text, images = fake._problems(call["body"])
        prompts.append(fake.IMAGE_TOKENS * images + len(text) // 4)
    assert row.usage["input_tokens"] == sum(prompts)   # both asks are paid, and the row says so
    assert row.actual_cost == Decimal(row.usage["input_tokens"] + row.usage["output_tokens"]) / 1_000_000


def test_an_answer_off_the_schema_is_asked_again_and_the_second_answer_is_the_verdict(film, fakes):
    fakes.faults({"provider": "vlm", "op": "chat", "kind": "missing"})
    verdict = judged(film, fakes)
    assert len(chats(fakes)) == 2 and verdict["passed"] is True and not verdict.get("cannot_judge")
    fakes.reset()
    fakes.faults({"provider": "vlm", "op": "chat", "kind": "judge_fail", "data": {"low": ["identity"]}})
    failed = judged(film, fakes, take=2)
    assert len(chats(fakes)) == 1 and failed["passed"] is False and not failed["cannot_judge"]
    assert [s["name"] for s in failed["scores"] if not s["passed"]] == ["identity"]


def test_a_429_is_waited_out_and_the_verdict_paid_once(film, fakes):
    fakes.faults({"provider": "vlm", "op": "chat", "kind": "status", "status": 429,
                  "body": {"error": {"message": "Rate limit reached", "type": "rate_limit", "code": 429}},
                  "headers": {"Retry-After": "1"}})
    verdict = judged(film, fakes)
    assert verdict["passed"] is True
    assert len(chats(fakes)) == 2 and len(made(fakes)) == 1
    refused, paid = rows(film)   # the 429 ran nothing: a row charged $0, then the verdict's
    assert (refused.status, refused.actual_cost, paid.status) == ("failed", Decimal(0), "succeeded")


def test_a_lost_answer_of_a_priced_endpoint_is_not_asked_again(film, fakes):
    priced(film, "1.00")
    fakes.faults({"provider": "vlm", "op": "chat", "kind": "drop_after"})
    with pytest.raises(UnknownOutcome):
        judged(film, fakes)
    with pytest.raises(UnknownOutcome):   # the next run: the call is still of unknown outcome
        judged(film, fakes)
    assert len(made(fakes)) == 1          # made (and billed) once, never asked for again
    [row] = rows(film)
    assert row.status == "unknown"


def test_a_lost_answer_of_a_free_endpoint_is_asked_again(film, fakes):
    priced(film, "0")
    fakes.faults({"provider": "vlm", "op": "chat", "kind": "drop_after"})
    verdict = judged(film, fakes)
    assert verdict["passed"] is True and len(made(fakes)) == 2


def test_a_refusal_is_a_moderation_refusal_with_its_tokens(film, fakes):
    fakes.faults({"provider": "vlm", "op": "chat", "kind": "refusal"})
    panel, request, refs = question(film)
    with pytest.raises(RefusedByModeration, match="refused") as caught:
        vlm.judge(MODEL, base_url=fakes.url("vlm")).judge_panel(panel, request, refs)
    assert caught.value.usage is not None and caught.value.usage["input_tokens"] > 0


def test_doctor_says_reachable_and_holds_each_judge_model_to_the_servers_list(fakes):
    fakes.keys({"vlm": {"models": [MODEL, "text-only-7b"], "modalities": {"text-only-7b": ["text"]}}})
    said = vlm.doctor(base_url=fakes.url("vlm"))
    assert [(f.check, f.ok) for f in said] == [("key", True), ("reachable", True)]
    assert "no key set" in said[0].text and "2 model(s)" in said[1].text
    storage = LocalStorage(Path("/nonexistent"))
    models = vlm.film_doctor(base_url=fakes.url("vlm"), storage=storage,
                             models={"judge": (MODEL, "text-only-7b", "qwen2.5-vl-7b-instruct")})
    assert [f.ok for f in models] == [True, False, False]
    assert "not images" in models[1].text and MODEL in models[2].text   # the near name is offered
    gone = vlm.doctor(base_url="http://127.0.0.1:9/v1")
    assert gone[-1].ok is False and gone[-1].check == "reachable"


def test_a_verdict_read_strictly_prose_or_two_objects_are_not_an_answer():
    schema = rubric.TurnaroundRubric
    good = {k: {"score": 0.9, "reason": "ok"} for k in schema.model_fields}
    assert vlm.strict_parse(json.dumps(good), schema)[0] is not None
    assert vlm.strict_parse(f"```json\n{json.dumps(good)}\n```", schema)[0] is not None
    assert vlm.strict_parse(f"Here it is: {json.dumps(good)}", schema)[0] is None
    assert vlm.strict_parse(json.dumps(good) + json.dumps(good), schema)[0] is None
    off = dict(good, **{next(iter(good)): {"score": 1.5, "reason": "too sure"}})
    parsed, why = vlm.strict_parse(json.dumps(off), schema)
    assert parsed is None and "less than or equal to 1" in why
    assert Verdict.unjudgeable("vlm", why).cannot_judge
