"""Panel gate: the judge scores a panel take against the bible before any video is paid for.

A blocking gate: a panel that has not passed is never animated. The verdict is structured
data (scores with reasons), kept in storage as JSON by the governor (so a verdict already paid
for is read back, not asked again) and cached by the panel's content and the judge. Before any
judge is asked, slate checks that the take has content (media/content.py, `blank_pictures`,
shared by every gate): a flat, mostly black or white, washed-out or noise-drowned picture fails
with a `content` score and no judge, local or paid, is shown it. It must never let a failed
verdict through, and never call the judge except through the governor.
"""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Callable, Mapping, Protocol, TypeGuard

import numpy as np
from PIL import Image
from prefect import task

from slate.governor.chokepoint import Answer, CallSpec, Usage
from slate.governor.estimate import IMAGE_TOKENS, VERDICT_TOKENS
from slate.governor.gates import GatePolicy, judge_kind
from slate.media import load_rgb
from slate.media.content import content_score
from slate.providers.base import Judge, PanelRequest, ReferenceImages, Verdict, fingerprint
from slate.tasks.run.cache import ContentKey
from slate.tasks.run.run import Crew, Run, emit
from slate.tasks.gates.gate_inputs import PanelInput
from slate.tasks.gates.verdicts import PanelVerdict, ScoreFields, VerdictFields
from slate.tasks.run.versions import GATE_VERSION  # bumped there

# IMAGE_TOKENS, VERDICT_TOKENS: what a judge model bills per image at about 1K (PROVIDERS.md) and
# for a verdict, the estimate's own figures (governor/estimate.py), so a gate and the estimate agree.


class KeepsVerdicts(Protocol):
    """A judge that keeps its verdicts by our call id (the local judge's receipts): a verdict
    whose answer was lost is looked up instead of asked again."""

    def recover(self, client_ref: str) -> Verdict | None: ...


def keeps_verdicts(judge: Judge) -> TypeGuard[KeepsVerdicts]:
    return hasattr(judge, "recover")


def reference_images(st: Crew, req: PanelRequest) -> ReferenceImages:
    return ReferenceImages(plate=st.storage.open_local(req.plate_uri),
                           turnarounds={c.id: st.storage.open_local(c.turnaround_uri) for c in req.characters})


def verdict_answer(verdict: Verdict) -> Answer:
    """A verdict as the bytes the governor keeps (canonical JSON), with what the judge reported
    it used, so the call is settled at its real price."""
    return Answer(json.dumps(verdict.to_dict(), sort_keys=True, separators=(",", ":")).encode(), "json",
                  usage=verdict.usage)


def read_verdict(st: Crew, uri: str) -> VerdictFields:
    read: VerdictFields = json.loads(st.storage.get_bytes(uri))
    return read


def _kept(verdict: Verdict | None) -> Answer | None:
    return None if verdict is None else verdict_answer(verdict)


def blank_pictures(pictures: Mapping[str, Path | Image.Image | np.ndarray]) -> list[ScoreFields]:
    """slate's content check of each picture a judge would be shown (`pictures`: what it is, as
    a reason names it -> path or image), as failing `content` scores with the figures they rest
    on; empty when every picture has content. Whatever the judge, a gate with any such score asks
    no judge: a blank picture proves nothing compared with the shot, and a paid judge would
    bill for it."""
    return [score for what, picture in pictures.items()
            if not (score := content_score(load_rgb(picture), what))["passed"]]


def unseen(judge: str, blank: list[ScoreFields]) -> VerdictFields:
    """The verdict of a take no judge was shown: slate's failing content scores alone."""
    return {"judge": judge, "scores": blank, "usage": None, "asked": False}


def ask_ladder(st: Crew, spec: CallSpec, ask: Callable[[Judge, str], Verdict]) -> VerdictFields:
    """The run's judge's verdict — or, where it failed the take or could not judge it and the run
    has a second judge (a ladder, issue 60), the second's: asked under a ledger row of its own
    (its provider and model, keyed by the first's request), the first's answer kept beside it as
    `first`. `ask(judge, call_id)` asks a judge. A first judge that passes the take is the verdict:
    the second, the paid one, is never asked."""
    first = ask_judge(st, spec, lambda call_id: ask(st.judge, call_id))
    second = getattr(st, "second_judge", None)
    if second is None or (first["passed"] and not first.get("cannot_judge")):
        return first
    again = replace(spec, context=replace(spec.context, provider=second.name, model=second.model),
                    fingerprint=fingerprint({"after": spec.fingerprint, "judge": second.model,
                                             "variant": dict(second.variant or {})}))
    seen = ask_judge(st, again, lambda call_id: ask(second, call_id), judge=second)
    return {**seen, "first": {"judge": first["judge"], "passed": first["passed"],
                              "cannot_judge": bool(first.get("cannot_judge")), "call_id": first.get("call_id")}}


def ask_judge(st: Crew, spec: CallSpec, ask: Callable[[str], Verdict], *, judge: Judge | None = None) -> VerdictFields:
    """One verdict through the governor, as the raw verdict dict (with the paid call's
    `call_id`, for the typed verdict). `ask(call_id)` asks the judge.
    A judge that keeps its verdicts by call id (`recover`) is looked up when an answer was lost;
    a verdict that cannot be looked up is asked again, once, the lost one counted as spent (a
    verdict is no artifact anyone paid to keep, and the same input gets the same judgement) —
    unless the judge says a lost verdict is not asked again (`asks_again_when_lost = False`: a
    priced endpoint that keeps nothing, issue 60), when the shot halts as of unknown outcome and
    nothing is paid twice. A $0 verdict is asked again whatever the judge says: it costs nothing."""
    judge = st.judge if judge is None else judge
    keeper = judge if keeps_verdicts(judge) else None
    delivery = st.governor.sync_call(
        spec, lambda call_id: verdict_answer(ask(call_id)),
        recover=(lambda call_id: _kept(keeper.recover(call_id))) if keeper is not None else None,
        repeatable=getattr(judge, "asks_again_when_lost", True))
    return {**read_verdict(st, delivery.uri), "call_id": delivery.call_id}


@task(name="panel-gate", cache_policy=ContentKey(stage=GATE_VERSION), result_serializer="json",
      task_run_name="panel gate {given.shot} {given.moment} take {given.take}")
def panel_gate(run: Run, given: PanelInput) -> PanelVerdict:
    """The judge's verdict on one panel take, held to the gate policy (`given.judging.policy`:
    its fingerprint, so a changed threshold is a different gate)."""
    st = run.crew
    shot, moment, take, panel_uri = given.shot, given.moment, given.take, given.panel_uri
    judge, model, variant, profile = (given.judging.judge, given.judging.model, given.judging.judge_variant,
                                      given.judging.profile)
    req = given.request
    images = 2 + len(req.characters)
    spec = CallSpec(
        context=run.call_at(shot, "panel_gate", take, judge, model, profile=profile),
        units=Usage("judge", input_tokens=images * IMAGE_TOKENS + 400, output_tokens=VERDICT_TOKENS),
        fingerprint=fingerprint({"panel": panel_uri, "request": req.fingerprint(), "judge": model,
                                 "variant": variant}),
        prompt=f"judge panel {shot} {moment}", references=(panel_uri,))
    blank = blank_pictures({"the panel": st.storage.open_local(panel_uri)})
    seen = unseen(judge, blank) if blank else ask_ladder(st, spec, lambda asked, call_id: asked.judge_panel(
        st.storage.open_local(panel_uri), req, reference_images(st, req), client_ref=call_id))
    # held to the policy of the judge whose verdict it is (a ladder's second judge is another kind)
    verdict = PanelVerdict.held(GatePolicy.load(Path(run.root), run.settings.cannot_judge).apply(
        seen, "panel", judge_kind(str(seen.get("judge") or judge)), profile))
    emit(run, scene=run.scene, shot=shot, stage="panel_gate", take=take, moment=moment,
         status="passed" if verdict.passed else "failed", reasons=verdict.failing)
    return verdict
