"""A ladder run on the example (issue 60): the run's first judge is a model behind an OpenAI-compatible
endpoint (the fake chat-completions server), the second the local judge. The first is unsure of two
shots' panels (its answers to them are not the rubric, twice: "cannot judge"); the run asks the second
judge exactly for those two, and the ledger holds both answers. Wiring: the option reaches the
lineup, the crew, the gates' keys and the ledger through a real `slate run`.
"""
from __future__ import annotations

from typer.testing import CliRunner

from slate.cli import app
from slate.governor.ledger import Ledger
from slate.manifests import load_film
from slate.tasks.shot.plan import plan_from_project
from tests.scene_cuts import keep_shots, without_finishing

FIRST = "vlm:Qwen/Qwen2.5-VL-7B-Instruct"   # slate's $0 row: a server on this machine


def test_the_second_judge_is_asked_exactly_for_the_two_shots_the_first_cannot_judge(example_film, fakes):
    without_finishing(example_film)
    shots = [s["id"] for s in keep_shots(example_film, ("1A", "1B", "1C"))]
    plans = {p.shot: p for p in plan_from_project(load_film(example_film), "scene-01", "draft", 24)}
    unsure = ("1A", "1C")
    for shot in unsure:   # both of the first judge's answers about these panels are prose
        fakes.faults({"provider": "vlm", "op": "chat", "kind": "malformed", "times": 2,
                      "contains": plans[shot].panel_request("start", 1).prompt})
    out = CliRunner().invoke(app, ["run", str(example_film), "--judge", FIRST, "--second-judge", "local"])
    assert out.exit_code == 0 and "state: Completed" in out.output, out.output[-3000:]
    rows = [r for r in Ledger.for_project(example_film).rows(film="night-diner") if r.stage == "panel_gate"]
    assert {r.shot for r in rows if r.provider == "vlm"} == set(shots)   # every panel (1B has two)
    assert sorted(r.shot for r in rows if r.provider == "local") == sorted(unsure)
    assert {r.status for r in rows} == {"succeeded"}
    asked = [r for r in fakes.requests("vlm") if r["path"].endswith("/chat/completions")]
    assert asked, "the first judge was asked"
