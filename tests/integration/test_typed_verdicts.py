"""The gate tasks return typed results (tasks/gates/verdicts.py), fresh and from the cache.

A stage task's result goes through Prefect's JSON result serializer into the project's result
store and is read back from there by the next run with the same inputs: that read-back must be
the model itself (not the dict the JSON holds), and it must come from the cache — counted
where it lands: the second run's gate and drift task runs are in Prefect's "Cached" state,
and the ledger holds one panel_gate row after two runs.
"""
from __future__ import annotations

import pytest

from slate.governor.ledger import Ledger


@pytest.mark.usefixtures("local_calls")
def test_a_gate_read_back_from_the_cache_is_the_typed_verdict_and_pays_nothing_again(example_film,
                                                                                    prefect_harness):
    from prefect import flow

    from slate.flows.run.call_sheet import top_run_id
    from slate.manifests import load_film
    from slate.manifests.settings import project_settings
    from slate.providers.local import LocalImage
    from slate.tasks.run.cache import result_storage
    from slate.tasks.run.run import in_project, open_run
    from slate.tasks.gates.drift import drift_check
    from slate.tasks.gates.gate_inputs import DriftInput, Judging, PanelInput
    from slate.tasks.gates.gate import panel_gate
    from slate.tasks.shot.plan import plan_from_project
    from tests.runs import a_run
    from slate.tasks.gates.verdicts import DriftReading, GateScore, PanelVerdict

    root = example_film
    plan = {p.shot: p for p in plan_from_project(load_film(root), "scene-01", "draft", 12)}["1A"]
    req = plan.panel_request("start", 1)

    @flow(result_storage=result_storage(root, project_settings(root).storage))
    def judge_once():
        with open_run(a_run(root, top_run_id())) as run:
            st = run.crew
            uri = st.storage.put_bytes(LocalImage(st.storage).generate_panel(req), "png")
            given = PanelInput(shot="1A", moment="start", take=1, panel_uri=uri, request=req,
                               judging=Judging.of(st, run.profile))
            verdict = in_project(panel_gate, run, given, artifacts=lambda v: [])
            reading = in_project(drift_check, run, DriftInput(shot="1A", last_frame_uri=uri, panel_uri=uri, threshold=0.35),
                                 artifacts=lambda d: [])
            return verdict, reading

    def cached_runs(state, expect: int = 0) -> list[str]:
        """The flow's task runs that ended Cached, as the server has them. A task run's last state
        reaches the server as an event after the flow returns: on a loaded machine the second
        task's was read before it landed (['panel'] for ['drift', 'panel']), so the server is
        asked again, for a few seconds, until `expect` have landed."""
        import time

        from prefect.client.orchestration import get_client
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
        for _ in range(40):
            with get_client(sync_client=True) as client:
                runs = client.read_task_runs(
                    flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id])))
            ended = [r for r in runs if r.state and r.state.is_final()]
            if len(ended) >= expect:
                break
            time.sleep(0.25)
        return sorted(r.name.split(" ")[0] for r in runs if r.state and r.state.name == "Cached")

    first = judge_once(return_state=True)
    fresh, fresh_reading = first.result()
    assert cached_runs(first, expect=2) == []
    with Ledger.for_project(root) as ledger:
        gates = [r for r in ledger.rows(film="night-diner") if r.stage == "panel_gate"]
    assert len(gates) == 1
    second = judge_once(return_state=True)
    cached, cached_reading = second.result()
    assert cached_runs(second, expect=2) == ["drift", "panel"]   # both read back from the result store
    with Ledger.for_project(root) as ledger:
        again = [r for r in ledger.rows(film="night-diner") if r.stage == "panel_gate"]
    assert [r.call_id for r in again] == [r.call_id for r in gates]  # no new row: the cache answered

    for verdict in (fresh, cached):
        assert type(verdict) is PanelVerdict
        assert verdict.scores and all(isinstance(s, GateScore) for s in verdict.scores)
        assert verdict.call_id == gates[0].call_id       # the judge's call, named in the verdict
        assert verdict.policy["stage"] == "panel"
    assert cached == fresh
    for reading in (fresh_reading, cached_reading):
        assert type(reading) is DriftReading
        assert reading.shot == "1A" and reading.reanchor is False
    assert cached_reading == fresh_reading
