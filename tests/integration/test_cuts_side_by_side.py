"""Two cuts into the same clip, judged at the same moment.

When the shot between two others fails its cut, the scene's cuts judge the later shot's clip
twice: once from the failed shot (submitted as soon as both clips landed) and once from the
shot kept before it. Both read the clip's first frame; neither may take the other's working
file away (CI's run of stop 48 died on exactly that: FileNotFoundError in the scratch folder).
"""
from __future__ import annotations

import pytest


@pytest.mark.usefixtures("local_calls")
def test_two_cuts_into_one_clip_judged_at_once_both_answer(example_film, prefect_harness):
    from prefect import flow

    from slate.flows.run.call_sheet import top_run_id
    from slate.manifests import load_film
    from slate.manifests.settings import project_settings
    from slate.media.render import render_clip
    from slate.providers.local import LocalImage
    from slate.tasks.run.cache import result_storage
    from slate.tasks.gates.continuity import continuity_check
    from slate.tasks.gates.gate_inputs import ContinuityInput, Judging
    from slate.tasks.shot.plan import plan_from_project
    from slate.tasks.run.run import open_run
    from slate.tasks.gates.verdicts import ContinuityVerdict
    from tests.runs import a_run

    root = example_film
    plans = {p.shot: p for p in plan_from_project(load_film(root), "scene-01", "draft", 12)}
    req = plans["1A"].panel_request("start", 1)

    @flow(result_storage=result_storage(root, project_settings(root).storage))
    def judge_side_by_side(rounds: int) -> list[ContinuityVerdict]:
        with open_run(a_run(root, top_run_id())) as run:
            st = run.crew
            panel = st.storage.put_bytes(LocalImage(st.storage).generate_panel(req), "png")
            out = root / "clip.mp4"
            render_clip(st.storage.open_local(panel), out, width=req.width, height=req.height, fps=12,
                        seconds=1.0, movement="static")
            clip = st.storage.put_file(out, "mp4")
            futures = []
            for r in range(rounds):
                # Each pair has its own key (its previous shot differs), so neither is read back
                # from the cache: both extract the clip's first frame, side by side.
                for previous in (f"P{r}", f"Q{r}"):
                    given = ContinuityInput(previous=previous, shot="1A", last_frame_uri=panel, clip_uri=clip,
                                            previous_request=req, request=req, laid_out=False,
                                            judging=Judging.of(st, run.profile))
                    futures.append(continuity_check.submit(run, given))
            return [f.result() for f in futures]

    state = judge_side_by_side(4, return_state=True)
    assert state.is_completed(), state.message
    verdicts = state.result()
    assert len(verdicts) == 8
    assert sorted(v.previous for v in verdicts) == sorted(f"{x}{r}" for r in range(4) for x in "PQ")
    assert all(v.first_frame for v in verdicts)
    # The scratch holds no first frame left behind by either.
    assert not [p for p in (root / ".slate" / "scratch").rglob("*.png")]
