"""A run's services belong to the run (tasks/run/run.py).

Two runs of two films in one process, at once, share no live object (crew, governor, ledger
engine, storage, judge) and each one's paid calls land in its own ledger only; a task on the
run's thread pool is handed its run's crew; once a run ends its crew is closed and the run is no
longer open. A process
that runs 20 scene runs in a row keeps a flat count of ledger engines and open files — counted
where they are: live SQLAlchemy engines (the garbage collector's objects) and /proc/self/fd.
"""
from __future__ import annotations

import gc
import os
import threading

import pytest

from slate.governor.ledger import Ledger
from tests.scene_cuts import keep_shots, without_finishing

OURS = ("slate",)  # every module of slate is slate.<folder> (issue 22: its own namespace)


def _second_film(example_master, tmp_path):
    import shutil
    dest = tmp_path / "second"
    shutil.copytree(example_master, dest, ignore=shutil.ignore_patterns(".slate", "renders"))
    return dest


@pytest.mark.e2e
@pytest.mark.usefixtures("local_calls")
def test_two_runs_at_once_share_nothing_and_each_pays_into_its_own_ledger(example_film, example_master, tmp_path,
                                                                       prefect_harness):
    from prefect import flow, task
    from prefect.cache_policies import NO_CACHE

    from slate.flows.scene import scene_flow
    from slate.flows.run.call_sheet import top_run_id
    from slate.tasks.run.run import Run, open_run, open_runs
    from tests.runs import a_run

    other = _second_film(example_master, tmp_path)
    # Different settings: the second film's ledger is a database of its own, named by its slate.toml.
    ledger_b = tmp_path / "elsewhere" / "ledger-b.db"
    ledger_b.parent.mkdir()
    toml = other / "slate.toml"
    # First in the file: a top-level key written after a [table] would belong to that table.
    toml.write_text(f'ledger_url = "sqlite:///{ledger_b}"\n' + (toml.read_text() if toml.exists() else ""))
    for root in (example_film, other):
        keep_shots(root, ("1A",))
        without_finishing(root)

    # The real scene flows, both open at once (each holds its soundstage while the other runs).
    states = {}
    threads = [threading.Thread(target=lambda r=r: states.__setitem__(r, scene_flow(project=str(r),
                                                                                    return_state=True)))
               for r in (example_film, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run_a, run_b = (states[r].result().run_id for r in (example_film, other))
    assert states[example_film].is_completed() and states[other].is_completed()
    assert run_a != run_b
    with Ledger.for_project(example_film) as a, Ledger(f"sqlite:///{ledger_b}") as b:
        assert a.url != b.url
        rows_a, rows_b = a.rows(film="night-diner"), b.rows(film="night-diner")
    assert rows_a and rows_b
    assert {r.run_id for r in rows_a} == {run_a}      # each run's calls in its own ledger only
    assert {r.run_id for r in rows_b} == {run_b}
    assert open_runs() == []                           # both runs closed with their flows

    # Their live objects: gathered by two flows open at once, and by a task on each one's threads.
    met = threading.Barrier(2, timeout=60)
    seen: dict[str, dict] = {}

    @task(cache_policy=NO_CACHE)
    def on_a_task_thread(run: Run):
        return run.crew

    @flow
    def live_side(root: str, name: str):
        with open_run(a_run(root, top_run_id())) as run:
            st = run.crew
            met.wait()  # both runs are open now
            seen[name] = {"crew": st, "governor": st.governor, "engine": st.governor.ledger.engine,
                          "storage": st.storage, "judge": st.judge, "run": run,
                          "on the task's thread": on_a_task_thread.submit(run).result(),
                          "open": set(open_runs())}
            met.wait()  # neither ends before both have looked

    threads = [threading.Thread(target=live_side, args=(str(r), n)) for r, n in ((example_film, "a"), (other, "b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    a, b = seen["a"], seen["b"]
    assert a["on the task's thread"] is a["crew"] and b["on the task's thread"] is b["crew"]
    assert a["open"] == b["open"] == {a["run"].run_id, b["run"].run_id}
    for name in ("crew", "governor", "engine", "storage", "judge", "run"):
        assert a[name] is not b[name], name
    assert str(a["engine"].url) != str(b["engine"].url)
    assert a["crew"].closed and b["crew"].closed and open_runs() == []


def _ledger_engines(root) -> int:
    import sqlalchemy
    gc.collect()
    where = str(root)
    return sum(1 for o in gc.get_objects()
               if isinstance(o, sqlalchemy.engine.Engine) and where in str(o.url.database or ""))


def _open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


def _module_containers() -> dict[str, int]:
    """The size of every dict, set, list and bounded memo held at the top of one of slate's
    modules, by module and name: a registry that outlives a run grows here run after run."""
    import sys

    from slate.tasks.run.memo import BoundedMemo
    sizes = {}
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] not in OURS or module is None:
            continue
        for attr, value in list(vars(module).items()):
            if isinstance(value, (dict, set, list, BoundedMemo)) and not attr.startswith("__"):
                sizes[f"{name}.{attr}"] = len(value)
    return sizes


@pytest.mark.e2e
@pytest.mark.usefixtures("local_calls")
def test_fifteen_scene_runs_in_a_row_keep_engines_and_open_files_flat(example_film, prefect_harness, monkeypatch):
    """Warm after five runs, then ten more: a run that leaves one engine or one file open
    behind it shows as 10 against the bounds of 1 and 8 (fifty runs held the same bounds at
    3.3 times the cost). The bounded keepers are held to a bound these runs pass (the flows'
    kept outcomes to 4, from 64), so fifteen runs fill them and a keeper that forgot its bound
    grows here — and the test no longer depends on earlier tests in its process having filled them."""
    from slate.flows.run import outcome
    from slate.flows.scene import scene_flow

    monkeypatch.setattr(outcome, "KEEP", 4)

    keep_shots(example_film, ("1A",))
    without_finishing(example_film)
    runs_in_a_row = 15
    counts = []
    for n in range(runs_in_a_row):
        state = scene_flow(project=str(example_film), return_state=True)
        assert state.is_completed(), (n, state.name, state.message)
        counts.append((_ledger_engines(example_film), _open_files()))
        if n == 4:
            warm_sizes = _module_containers()
    grew = {k: (warm_sizes.get(k), v) for k, v in _module_containers().items() if v > warm_sizes.get(k, 0)}
    with Ledger.for_project(example_film) as ledger:
        runs = {r.run_id for r in ledger.rows(film="night-diner")}
    assert len(runs) >= 1  # the first run paid; the others were served from the can
    warm_engines, warm_files = counts[4]
    grown = [(n, e - warm_engines, f - warm_files) for n, (e, f) in enumerate(counts[5:], start=5)]
    print(f"\nledger engines, open files after runs 5, 10, {runs_in_a_row}: {counts[4]}, {counts[9]}, {counts[-1]}")
    assert max(e for _, e, _ in grown) <= 1, grown
    assert max(f for _, _, f in grown) <= 8, grown
    assert grew == {}, grew  # no module-level registry kept anything of runs 6 to 15
    assert len(outcome._KEPT) == 4, len(outcome._KEPT)   # full, and held to its bound


def test_a_memo_keeps_at_most_its_size_forgetting_the_least_recently_used():
    from slate.tasks.run.memo import BoundedMemo

    memo = BoundedMemo("test readings", 3)
    for key in "abc":
        memo.put(key, key.upper())
    assert memo.get("a") == "A"          # a is now the most recently used
    memo.put("d", "D")                   # b, the least recently used, goes
    assert len(memo) == 3 and memo.get("b") is None
    assert [memo.get(k) for k in "acd"] == ["A", "C", "D"]
    made = []
    assert memo.get_or_make("e", lambda: made.append("e") or "E") == "E"
    assert memo.get_or_make("e", lambda: made.append("again") or "X") == "E" and made == ["e"]
    assert len(memo) == 3


def test_a_run_that_was_never_opened_has_no_crew_and_an_opened_one_closes_its_own(example_film):
    """No crew is made on the side: a Run outside the body that opened it has no services, and
    the run's services are closed when that body ends (its ledger engine disposed)."""
    from slate.tasks.run.run import RunNotOpen, open_run, open_runs
    from tests.runs import a_run

    run = a_run(example_film, "outside")
    with pytest.raises(RunNotOpen, match="is not open"):
        run.crew
    with open_run(run) as opened:
        st = opened.crew
        assert opened.at_scene("scene-02").crew is st         # a film's scenes work on its crew
        assert st.governor.ledger.rows(run_id="outside") == []
        engine = st.governor.ledger.engine
        assert engine.pool.checkedin() == 1                  # the ledger's connection, pooled while it lives
        assert open_runs() == ["outside"]                    # a Cancel of this run finds its governor
    assert engine.pool.checkedin() == 0 and st.closed          # closed with the body: its engine disposed
    assert open_runs() == []
    with pytest.raises(RunNotOpen):
        opened.crew
