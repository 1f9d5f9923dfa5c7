"""Continuity gate: across a cut between shots that share a place or people, the last frame of
shot N against the first frame of shot N+1 — same people, same clothes, same place.

The local judge reads the cut from the pixels (providers/local_judge.py): the shared people
and place on the far side held to the shot's blocking, with the two frames' colours
(media.continuity) as a warning beside them, or alone where no layout holds the cut; it is free
and calls nothing, so it is asked directly. For any other judge slate measures the colours
itself; a vision judge is asked too (a paid call through the governor, cached by the two
frames' content), with the continuity rubric, and the colours then only warn beside its scores.
Either frame with no content (media/content.py: a flat, black, washed-out or noise-drowned
picture) fails the cut before any judge, local or paid, is shown it.
The verdict, held to the gate policy's "continuity" stage, is recorded as the later shot's
continuity score; a failure escalates the later shot with the reason. It must
never change a clip: it only says whether the cut holds.
"""
from __future__ import annotations

import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Protocol, TypeGuard

from prefect import task

from slate.governor.chokepoint import CallSpec, Usage
from slate.governor.gates import GatePolicy, judge_kind
from slate.media import extract_frame
from slate.media.continuity import palette_continuity
from slate.governor.estimate import IMAGE_TOKENS, VERDICT_TOKENS
from slate.manifests import Scene
from slate.providers.base import JUDGEABLE, Judge, PanelRequest, ReferenceImages, Verdict, fingerprint
from slate.tasks.run.cache import ContentKey
from slate.tasks.run.run import Run
from slate.tasks.gates.gate import ask_judge, blank_pictures, reference_images
from slate.tasks.gates.judge_reading import layout_unreadable
from slate.tasks.gates.gate_inputs import ContinuityInput
from slate.tasks.gates.verdicts import ContinuityVerdict, ScoreFields
from slate.tasks.run.versions import CONTINUITY_VERSION  # bumped there


class CutJudge(Protocol):
    """A vision judge that reads a cut (providers/base.py `Judge`: `judge_continuity`)."""

    def judge_continuity(self, last_frame: Path, first_frame: Path, previous: PanelRequest, request: PanelRequest,
                         refs: ReferenceImages, *, client_ref: str | None = None) -> Verdict: ...


class LayingOutJudge(Protocol):
    """The local judge's reading of a cut: the far side held to the shot's blocking when its clip
    started from its own panel (`laid_out`)."""

    def judge_continuity(self, last_frame: Path, first_frame: Path, previous: PanelRequest, request: PanelRequest,
                         refs: ReferenceImages, *, laid_out: bool = True,
                         client_ref: str | None = None) -> Verdict: ...


def judges_cuts(judge: Judge) -> TypeGuard[CutJudge]:
    return hasattr(judge, "judge_continuity")


def lays_out_cuts(judge: Judge, provider: str) -> TypeGuard[LayingOutJudge]:
    """The run's judge is the local one, which reads a cut from the pixels."""
    return hasattr(judge, "judge_continuity") and judge_kind(provider) == "local"


@task(name="continuity", cache_policy=ContentKey(stage=CONTINUITY_VERSION), result_serializer="json",
      task_run_name="continuity {given.previous} → {given.shot}")
def continuity_check(run: Run, given: ContinuityInput) -> ContinuityVerdict:
    """The verdict on one cut (`given.laid_out`: the later shot's clip started from its own
    panel, not from `given.last_frame_uri`)."""
    st = run.crew
    previous, shot, last_frame_uri, clip_uri = given.previous, given.shot, given.last_frame_uri, given.clip_uri
    request, previous_request, laid_out = given.request, given.previous_request, given.laid_out
    judge, model, variant, profile = (given.judging.judge, given.judging.model, given.judging.judge_variant,
                                      given.judging.profile)
    scratch = st.scratch(f"continuity-{clip_uri[6:18]}")
    # A file of this check's own: two cuts into one clip are judged at once when the shot
    # between them fails its cut (flows/edit/cuts.py), and must not take each other's frame away.
    first = extract_frame(st.storage.open_local(clip_uri), 0.0, scratch / f"first-{uuid.uuid4().hex[:12]}.png")
    first_uri = st.storage.put_file(first, "png")
    last = st.storage.open_local(last_frame_uri)
    usage = call_id = None
    judge_obj = st.judge
    req, prev_req = request, previous_request
    local = judge_obj if lays_out_cuts(judge_obj, judge) else None
    blank = blank_pictures({"the last frame before the cut": last, "the first frame after the cut": first})
    unread = None if blank else _unread_in_rehearsal(run, local is not None, req, prev_req, laid_out,
                                                     reference_images(st, req))
    scores: list[ScoreFields]
    if blank:
        scores = blank
    elif unread:
        # A rehearsal with art the judge cannot read: the cut is unjudged, not held to the
        # frames' colours alone (which a photograph next to a drawing fails for no reason).
        scores = [{**palette_continuity(last, first), "role": "warn"},
                  {"name": JUDGEABLE, "value": 0.0, "threshold": 1.0, "passed": False, "role": "block",
                   "reason": f"cannot judge: the shot after the cut cannot be laid out ({unread})"}]
    elif local is not None:  # the judge's reading includes the colours
        reading = local.judge_continuity(last, first, prev_req, req, reference_images(st, req), laid_out=laid_out)
        scores = [asdict(s) for s in reading.scores]
    else:
        scores = [palette_continuity(last, first)]
    vision = judge_obj if judges_cuts(judge_obj) and judge_kind(judge) == "vision" else None
    if not blank and vision is not None:
        spec = CallSpec(
            context=run.call_at(shot, "continuity", 1, judge, model, profile=profile),
            units=Usage("judge", input_tokens=4 * IMAGE_TOKENS + 400, output_tokens=VERDICT_TOKENS),
            fingerprint=fingerprint({"last": last_frame_uri, "first": first_uri, "judge": model, "variant": variant}),
            prompt=f"continuity {previous} -> {shot}", references=(last_frame_uri, first_uri))
        seen = ask_judge(st, spec, lambda call_id: vision.judge_continuity(
            last, st.storage.open_local(first_uri), prev_req, req, reference_images(st, req), client_ref=call_id))
        # The colours warn beside a judge shown both frames and the bible: a grade or a strong
        # gamma moves a histogram past its threshold (3 of 30 clean cuts in benchmarks/gates.py).
        scores = seen.get("scores", []) + [{**s, "role": "warn"} for s in scores]
        usage, call_id = seen.get("usage"), seen.get("call_id")
    first.unlink(missing_ok=True)
    verdict = GatePolicy.load(Path(run.root), run.settings.cannot_judge).apply(
        {"judge": judge, "scores": scores, "usage": usage}, "continuity", judge_kind(judge), profile)
    return ContinuityVerdict.held(verdict, previous=previous, shot=shot, first_frame=first_uri, call_id=call_id)


def _unread_in_rehearsal(run: Run, local: bool, req: PanelRequest, prev_req: PanelRequest, laid_out: bool,
                         refs: ReferenceImages) -> str | None:
    """In a rehearsal (`cannot_judge = "warn"`), why the local judge could not lay the cut's far
    side out; None when it could, when it would not try (a composite, a chained start, nothing
    shared), or in a real run."""
    if run.settings.cannot_judge != "warn" or not local or req.override_uri or not laid_out:
        return None
    shared = {c.id for c in req.characters} & {c.id for c in prev_req.characters}
    if not shared and prev_req.location_id != req.location_id:
        return None
    return layout_unreadable(run.crew.judge, req, refs)


def shares_the_scene(scene: Scene, a: str, b: str) -> bool:
    """Two shots a cut must hold together: the same place, or someone in both."""
    sa, sb = scene.shot(a), scene.shot(b)
    return scene.location_of(sa) == scene.location_of(sb) or bool(set(sa.characters) & set(sb.characters))
