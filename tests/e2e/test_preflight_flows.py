"""Inputs that used to fail only inside a run (after paying for what came before) are now
refused by the run's first step: the scene flow (and the film flow) end Failed/"Refused",
listing the problems one a line, with nothing in the ledger and nothing in renders/ touched.

Under the session's Prefect test harness; SLATE_PAID_CALLS_ALLOWED=local lets the local
provider's calls through the paid-call guard, so a refusal here is the preflight's, not the guard's.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.bad_inputs import MIA, dissolves, remove, second_scene, shot, toml
from slate.flows.film import film_flow
from slate.manifests.options import RunOptions
from slate.flows.scene import scene_flow
from slate.governor.ledger import Ledger

pytestmark = pytest.mark.e2e

REFUSED = [
    pytest.param(dissolves((5, 2.0)), {},
                 "scenes/scene-01.yaml: shot 1F: transition_out.duration: a 2s dissolve must be shorter than the shot "
                 "it leaves (1F, 2s)", id="dissolve-found-at-the-stitch"),
    pytest.param(toml("run_cap_usd = -5\n"), {}, "slate.toml: run_cap_usd: Input should be greater than or equal to 0",
                 id="negative-cap-in-slate-toml"),
    pytest.param(lambda root: None, {"profile": "hero", "price_as": "fal:bytedance/seedance-2.0/image-to-video"},
                 "scenes/scene-01.yaml: shot 1F: critical: fal:bytedance/seedance-2.0/image-to-video has no price for "
                 "resolution '1080p'", id="critical-shot-unpriced-at-1080p"),
    pytest.param(remove(MIA), {}, "bible.yaml: characters[3].turnaround: character 'mia': no approved reference",
                 id="missing-turnaround"),
    # 1F chains from 1E's last frame, where Leo is not: once paid three takes to find out (issue 35)
    pytest.param(shot(5, "characters", ["jenny", "leo"]), {},
                 "scenes/scene-01.yaml: shot 1F: chain: chains from shot 1E's last frame, where leo is not",
                 id="chain-into-someone-new"),
]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _earlier_render(root: Path) -> Path:
    done = root / "renders" / "scene-01-draft.mp4"
    done.parent.mkdir(exist_ok=True)
    done.write_bytes(b"an mp4 made by an earlier run, which a refused run must not touch")
    return done


@pytest.mark.parametrize(("mutate", "options", "line"), REFUSED)
def test_the_scene_flow_refuses_before_spending(example_film, prefect_harness, monkeypatch, mutate, options, line):
    monkeypatch.setenv("SLATE_PAID_CALLS_ALLOWED", "local")
    mutate(example_film)
    done = _earlier_render(example_film)
    before = _digest(done)

    state = scene_flow(project=str(example_film), options=RunOptions(**options), return_state=True)

    assert state.is_failed() and state.name == "Refused", (state.name, state.message)
    assert any(x.startswith(line) for x in state.message.splitlines()), state.message
    assert "Traceback" not in state.message
    assert not (example_film / ".slate").exists()        # no artifact, lock, scratch or ledger was made
    assert _digest(done) == before
    assert Ledger.for_project(example_film).rows(film="night-diner") == []


def test_the_film_flow_refuses_a_later_scene_before_the_first_runs(example_film, prefect_harness, monkeypatch):
    """scene-02's dissolve cannot fit: the film is refused whole, scene-01 is never shot."""
    monkeypatch.setenv("SLATE_PAID_CALLS_ALLOWED", "local")
    second_scene(lambda d: d["shots"][4].__setitem__("transition_out", {"kind": "dissolve", "duration": 2.0})
                 or d.__setitem__("id", "scene-02"))(example_film)
    done = _earlier_render(example_film)
    before = _digest(done)

    state = film_flow(project=str(example_film), return_state=True)

    assert state.is_failed() and state.name == "Refused", (state.name, state.message)
    assert ("scenes/scene-02.yaml: shot 1E: transition_out.duration: a 2s dissolve must be shorter than the shot "
            "it enters (1F, 2s)") in state.message.splitlines()
    assert not (example_film / ".slate").exists()
    assert _digest(done) == before
    assert Ledger.for_project(example_film).rows(film="night-diner") == []
