"""Judge trials (issue 60): a judge measured on panels with known answers, through the governor.

Against the local judge, `slate judge-trial`'s tally is benchmarks/judge_trials.py's on the same
cases (the same seeds). Against the fake chat-completions endpoint given an answer key that fails
every faulty panel but the wrong plates (a judge blind to location), the trial prints that kind's
catch rate as the fake's, every verdict a ledger row; a film whose floor it misses is refused by
the preflight; a trial over its cap sends nothing.
"""
from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path

import pytest

from benchmarks.judge_trials import run_trials
from slate.governor.ledger import Ledger
from slate.manifests.settings import project_settings
from slate.providers.local_draw import CONTINUITY_FAULT_KINDS, FAULT_KINDS
from slate.providers.registry import build
from slate.providers.spec import IMAGE
from slate.providers.storage_local import LocalStorage
from slate.tasks.review import judge_trial as trial
from slate.tasks.run.preflight import preflight

VLM = "vlm:Qwen/Qwen2.5-VL-7B-Instruct"


def test_the_trials_faults_are_the_painters_and_each_case_is_drawn_as_the_benchmark_draws_it(example_film):
    """The trial builds the painter through the registry with its fault settings; the benchmark
    tells the painter the fault: the same bytes, case by case."""
    from slate.providers.local import FaultMode, LocalImage
    assert set(trial.TRIAL_FAULTS) <= set(FAULT_KINDS + CONTINUITY_FAULT_KINDS) and set(FAULT_KINDS) <= set(trial.TRIAL_FAULTS)
    storage = LocalStorage(example_film)
    told = LocalImage(storage, FaultMode())
    settings = project_settings(example_film)
    for case in trial.cases(trial.trial_requests(example_film), range(1), range(len(trial.TRIAL_FAULTS))):
        local = settings.model_copy(update={"providers": {"local": trial.painter_settings(case.kind)}})
        drawn = build(IMAGE, trial.PAINTER, storage, local).generate_panel(case.request)
        assert drawn == told.generate_panel(case.request, force_fault=None if case.kind == "clean" else case.kind), \
            case.kind


def test_against_the_local_judge_the_trial_is_the_benchmarks_figures_on_the_same_seed(example_film, local_calls):
    got = trial.run_trial(example_film, "local", 6, Decimal("1"), say=lambda _: None)   # one of each fault
    bench = run_trials(example_film, 6, 6)
    assert got.kinds["clean"].cases == bench.clean and got.kinds["clean"].failed == bench.clean_failed
    assert {k: [t.failed, t.cases] for k, t in got.kinds.items() if k != "clean"} == bench.by_kind
    assert trial.kept(example_film, "local:local-pixels-v1") == got   # kept for `slate check`


def _answer_key(film: Path, n: int, missed: str) -> dict[str, str]:
    """What the fake judge answers, by the sha256 of each trial panel: fail every fault but `missed`."""
    storage = LocalStorage(film)
    settings = project_settings(film)
    key = {}
    for case in trial.cases(trial.trial_requests(film), range(n), range(n)):
        local = settings.model_copy(update={"providers": {"local": trial.painter_settings(case.kind)}})
        png = build(IMAGE, trial.PAINTER, storage, local).generate_panel(case.request)
        key[hashlib.sha256(png).hexdigest()] = "pass" if case.kind in ("clean", missed) else "fail"
    return key


def test_a_judge_blind_to_one_fault_kind_is_measured_so_and_a_film_with_a_floor_refuses_it(example_film, fakes):
    n = 2 * len(trial.TRIAL_FAULTS)   # two of each fault kind
    fakes.keys({"vlm": {"answers": _answer_key(example_film, n, missed="wrong_plate")}})
    said: list[str] = []
    got = trial.run_trial(example_film, VLM, n, Decimal("1"), say=said.append)
    assert (got.kinds["wrong_plate"].cases, got.kinds["wrong_plate"].failed) == (2, 0)
    assert all(got.kinds[k].failed == got.kinds[k].cases == 2 for k in trial.TRIAL_FAULTS if k != "wrong_plate")
    assert got.kinds["clean"].failed == 0 and got.catch == 10 / 12 and got.worst == ("wrong_plate", 0.0)
    table = "\n".join(got.table())
    assert "wrong_plate       2        0    0.0%" in table
    chats = [r for r in fakes.requests("vlm") if r["path"].endswith("/chat/completions")]
    rows = [r for r in Ledger.for_project(example_film).rows() if r.stage == "judge_trial"]
    assert len(chats) == len(rows) == 2 * n and {r.status for r in rows} == {"succeeded"}

    again = trial.run_trial(example_film, VLM, n, Decimal("1"), say=lambda _: None)
    assert again.kinds == got.kinds
    assert len([r for r in fakes.requests("vlm") if r["path"].endswith("/chat/completions")]) == 2 * n  # paid once

    assert "not measured" in trial.measured_line(example_film, "vlm:qwen2.5vl:7b")
    assert "faults caught 83%" in trial.measured_line(example_film, VLM)
    with open(example_film / "slate.toml", "a") as f:
        f.write(f'\njudge = "{VLM}"\n[judge_trial]\nmin_catch = 0.9\n')
    problems = [str(p) for p in preflight(example_film, keys=False).problems]
    [floor] = [p for p in problems if "judge_trial" in p]
    assert "caught 83.3%" in floor and "wrong_plate 0.0%" in floor and "min_catch 90%" in floor


def test_a_trial_over_its_cap_sends_nothing(example_film, fakes):
    priced = example_film / "rates.toml"
    with open(priced, "a") as f:
        f.write(f'\n[models."{VLM}"]\nkind = "judge"\nper_million_input = "5"\nper_million_output = "5"\n'
                f'source = "the test"\nconfidence = "D"\n')
    with pytest.raises(trial.TrialRefused, match="over the cap"):
        trial.run_trial(example_film, VLM, 20, Decimal("0.05"), say=lambda _: None)
    assert fakes.requests("vlm") == []
