"""A run's final state whose answer was lost: Prefect's client sends the same request again, the
server rejects the copy as a duplicate and answers with its own copy of the state — without the
data the run returned. A scene that had finished clean then ended its film Failed with
MissingResult (tests/e2e/test_film_can.py, once, on a loaded machine). flows/run/outcome.py hands back
what the run's body returned.

The fault is made where it happens: the first answer to each flow run's set-state request that
ends it is dropped after the server applied it (httpx raises ReadError, as on a reset
connection), and Prefect's own client retries; the server is the session's real harness.
"""
from __future__ import annotations

import json

import httpx
import pytest

from tests.scene_cuts import two_short_scenes, without_finishing


@pytest.fixture
def lost_final_answers(monkeypatch):
    """Drop the first answer to every request that sets a flow run's final state; the flow runs
    whose answers were dropped, by id."""
    real = httpx.Client.send
    dropped: list[str] = []

    def send(self, request, *args, **kwargs):
        response = real(self, request, *args, **kwargs)
        path = request.url.path
        if request.method == "POST" and "/flow_runs/" in path and path.endswith("/set_state"):
            state = json.loads(request.content)["state"]
            run_id = path.split("/flow_runs/")[1].split("/")[0]
            if state["type"] in ("COMPLETED", "FAILED") and run_id not in dropped and response.status_code < 300:
                dropped.append(run_id)
                response.close()
                raise httpx.ReadError("the answer was lost", request=request)
        return response

    monkeypatch.setattr(httpx.Client, "send", send)
    return dropped


@pytest.mark.e2e
def test_a_film_whose_runs_final_answers_were_lost_still_hands_back_what_it_made(example_film, prefect_harness,
                                                                                   local_calls, lost_final_answers):
    from prefect.client.orchestration import get_client

    from slate.flows.film import FilmResult, film_flow, film_result

    two_short_scenes(example_film)
    without_finishing(example_film)
    state = film_flow(project=str(example_film), return_state=True)
    # Every run's end was answered twice: the film, its two scenes and their shooting rounds.
    with get_client(sync_client=True) as client:
        names = sorted(client.read_flow_run(run_id).name for run_id in lost_final_answers)
    assert names == ["film-default", "scene-01-draft", "scene-02-draft", "shoot-scene-01", "shoot-scene-02"], names
    assert state.data is None   # the server's copy: what the engine handed back carries nothing
    assert state.is_completed() and state.name == "Completed", (state.name, state.message)
    result = film_result(state)
    assert isinstance(result, FilmResult), result
    assert [s.scene for s in result.scenes] == ["scene-01", "scene-02"]
    assert all(s.output for s in result.scenes)
    out = example_film / "renders" / "night-diner-draft.mp4"
    assert result.output == str(out) and out.is_file()
