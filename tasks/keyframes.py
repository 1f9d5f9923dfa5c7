"""Keyframe gate: the first, middle and last frames of a clip judged against its panels.

The first frame must be the start image, the last the end panel in start+end mode, and the
middle must still look like the shot (colours, no decoder garbage). Keyframes are kept in
storage: the last one starts the next shot of a chain. It must never pass a clip whose
verdict failed, and never call the judge except through the governor.
"""
from __future__ import annotations

from pathlib import Path

from prefect import task

from governor.chokepoint import CallContext, CallSpec, Units
from governor.gates import GatePolicy, failing, judge_kind
from media import keyframes
from media.motion import motion_scores
from providers.base import fingerprint
from tasks.cache import ContentKey
from tasks.context import RunSpec, emit, studio
from tasks.gate import IMAGE_TOKENS, VERDICT_TOKENS, ask_judge, reference_images
from tasks.panel import panel_from_dict
from tasks.versions import KEYFRAME_VERSION  # bumped there


@task(name="keyframe-gate", cache_policy=ContentKey(stage=KEYFRAME_VERSION), result_serializer="json",
      task_run_name="keyframe gate {shot} take {take}")
def keyframe_gate(run: RunSpec, shot: str, take: int, clip_uri: str, start_uri: str, end_uri: str | None,
                  request: dict, judge: str, model: str, variant: dict, profile: str, policy: str,
                  seconds: float, fps: int, expect_motion: bool) -> dict:
    """The judge's verdict on a clip's keyframes, with slate's own motion sanity (not frozen
    where the shot moves, no black frame, the frames asked), held to the gate policy."""
    st = studio(run)
    req = panel_from_dict(request)
    scratch = st.scratch(f"keyframes-{clip_uri[6:18]}")
    frames = keyframes(st.storage.open_local(clip_uri), scratch)
    frame_uris = {name: st.storage.put_file(path, "png") for name, path in frames.items()}
    local = {name: st.storage.open_local(uri) for name, uri in frame_uris.items()}
    spec = CallSpec(
        context=CallContext(run.run_id, run.film, run.scene, shot, "keyframe_gate", take, judge, model, profile),
        units=Units("judge", input_tokens=5 * IMAGE_TOKENS + 400, output_tokens=VERDICT_TOKENS),
        fingerprint=fingerprint({"clip": clip_uri, "start": start_uri, "end": end_uri, "judge": model,
                                 "variant": variant}),
        prompt=f"judge keyframes {shot}", references=tuple(frame_uris.values()))
    raw = ask_judge(st, spec, lambda call_id: st.judge.judge_keyframes(
        local, st.storage.open_local(start_uri), st.storage.open_local(end_uri) if end_uri else None,
        req, reference_images(st, req), client_ref=call_id))
    raw = {**raw, "scores": [*raw.get("scores", []), *own_scores(
        st.storage.open_local(clip_uri), local, seconds=seconds, fps=fps, expect_motion=expect_motion)]}
    for path in frames.values():
        path.unlink(missing_ok=True)
    verdict = GatePolicy.load(run.root, run.cannot_judge).apply(raw, "keyframe", judge_kind(judge), profile)
    emit(scene=run.scene, shot=shot, stage="keyframe_gate", take=take, status="passed" if verdict["passed"] else "failed",
         reasons=failing(verdict))
    return {**verdict, "keyframes": frame_uris}


def own_scores(clip: Path, frames: dict[str, Path], *, seconds: float, fps: float, expect_motion: bool) -> list[dict]:
    """slate's own checks of a clip, whatever the judge: a pure function of the files, so
    benchmarks/gates.py measures exactly what the gate does."""
    return motion_scores(clip, frames, seconds=seconds, fps=fps, expect_motion=expect_motion)
