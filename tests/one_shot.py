"""One stage of one shot, in-process: the rule tests' harness (no scene rendered).

`on_one_shot(root, shot, told, body)` opens a real run of the example film's scene-01 (its real
governor and ledger, the film's storage) inside a Prefect flow on the session's test server, and
calls `body(run, plan, made)` where `made` is what the shot's later stages start from: its start
panel drawn by the local painter and its clip rendered from it by ffmpeg, the clip at the shot's
planned size. What `body` returns is returned. A stage's rule (its take loop, its gate, its
outcome) is tested here in seconds; a whole scene is rendered only to test wiring.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Made:
    panel_uri: str
    clip: Any          # a ClipOutcome: the shot's clip, approved, as its later stages are given it


#: Each (shot, fps)'s start panel and clip, as drawn and rendered for the example at draft: (PNG, MP4) bytes.
_DRAWN: dict[tuple[str, int], tuple[bytes, bytes]] = {}


def speech_wav(seconds: float) -> bytes:
    """A spoken-like WAV: bursts of a tone, 16-bit mono at 22.05 kHz."""
    from slate.providers.audio import pcm16_wav
    rate = 22050
    t = np.arange(int(seconds * rate)) / rate
    x = 0.4 * np.sin(2 * np.pi * 180 * t) * (np.sin(2 * np.pi * 3 * t) > 0)
    return pcm16_wav((x * 32767).astype("<i2").tobytes(), rate)


def on_one_shot(root: Path, shot: str, told: dict[str, Any], body: Callable[[Any, Any, Made], Any],
                fps: int = 12) -> Any:
    """`body(run, plan, made)` inside a flow, on a run of `root`'s scene-01 told `told` (the
    module's docstring), the shot planned at `fps` (the video model's: the local provider's 12,
    Seedance's 24). Raises if the flow did not complete."""
    from prefect import flow

    from slate.flows.run.call_sheet import top_run_id
    from slate.flows.shot.shot import ClipOutcome
    from slate.manifests import load_film
    from slate.manifests.settings import project_settings
    from slate.media.render import render_clip
    from slate.providers.local import LocalImage
    from slate.tasks.run.cache import result_storage
    from slate.tasks.shot.plan import plan_from_project
    from slate.tasks.run.run import open_run
    from tests.runs import a_run

    plan = {p.shot: p for p in plan_from_project(load_film(root), "scene-01", "draft", fps)}[shot]

    @flow(result_storage=result_storage(root, project_settings(root).storage))
    def one_stage() -> Any:
        with open_run(a_run(root, top_run_id(), **told)) as run:
            st = run.crew
            if (shot, fps) not in _DRAWN:   # the example's pictures are the same every time: drawn once a session
                panel = LocalImage(st.storage).generate_panel(plan.panel_request("start", 1))
                out = root / f"clip-{shot}.mp4"
                render_clip(st.storage.open_local(st.storage.put_bytes(panel, "png")), out, width=plan.width,
                            height=plan.height, fps=plan.fps, seconds=plan.duration, movement="static")
                _DRAWN[(shot, fps)] = (panel, out.read_bytes())
            panel_bytes, clip_bytes = _DRAWN[(shot, fps)]
            panel_uri = st.storage.put_bytes(panel_bytes, "png")
            clip = ClipOutcome(shot=shot, seconds=plan.duration, clip_uri=st.storage.put_bytes(clip_bytes, "mp4"))
            return body(run, plan, Made(panel_uri, clip))

    state = one_stage(return_state=True)
    assert state.is_completed(), f"shot {shot}: the stage raised: {state.message}"
    got = state.result()
    return getattr(got, "data", got)     # a value a task returned as its state
