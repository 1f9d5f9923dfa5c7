"""The per-shot take loops: panel take → panel gate, and video take → keyframe gate.

Each loop is a task that calls the stage tasks (visible as nested task runs) and asks the take
policy after every verdict. A shot that cannot pass is escalated: its loop returns a state
named "Escalated" with the reason, and the scene goes on without it. These loops hold no
state of their own: every take they ask for is cached, so a re-run walks the same takes for
free and resumes at the first one that was never finished.

They must never animate a panel that failed its gate, nor hand stitch a clip that failed.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, TypeVar

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from prefect.states import Completed
from pydantic import BaseModel

from slate.governor.chokepoint import CallSpec, JobStuck, RunHalted, ShotHalted, Usage
from slate.governor.money import fmt_usd
from slate.governor.policy import TakeResult
from slate.providers.base import ClipRequest
from slate.providers.errors import RefusedByModeration
from slate.providers.registry import board_painter
from slate.providers.spec import VIDEO
from slate.tasks.run.run import Run, emit, in_project
from slate.tasks.gates.drift import drift_check, due
from slate.tasks.gates.gate_inputs import DriftInput, Judging, KeyframeInput, PanelInput
from slate.tasks.gates.verdicts import DriftReading, GateScore, GateVerdict
from slate.tasks.shot.easel import at_the_easel
from slate.tasks.gates.gate import panel_gate
from slate.tasks.gates.keyframes import keyframe_gate
from slate.tasks.shot.lipsync import LineSync
from slate.tasks.shot.upscale import UpscaleVerdict
from slate.tasks.shot.panel import panel_take
from slate.tasks.shot.recipe import panel_edit
from slate.tasks.shot.plan import Moment, ShotPlan
from slate.tasks.review.circle import ShotWords, TakeWord, clip_key, panel_key, with_note
from slate.tasks.shot.take_inputs import ClipTake, Maker, PanelEdit, PanelTake
from slate.tasks.shot.take_loop import (Escalated, Halted, Held, Judged, Steer, TakeMade, Takes, halted_reason, own_steps,
                                   take_loop, teller)
from slate.tasks.shot.video import video_take


class Take(BaseModel):
    stage: str
    moment: str
    take: int
    uri: str
    passed: bool
    quality: float
    reasons: list[str]                 # the blocking scores below their thresholds, with the judge's reasons
    warnings: list[str] = []           # "warn" scores below their thresholds: reported, not blocking
    scores: list[GateScore] = []       # every score as held to the policy (name, value, threshold, role, reason)
    keyframes: dict[str, str] = {}     # a clip take's first/middle/last frames (storage URIs)
    unjudged: list[str] = []           # a rehearsal let it through: what the judge could not read

    @classmethod
    def judged(cls, stage: str, moment: str, take: int, uri: str, verdict: GateVerdict,
               keyframes: dict[str, str] | None = None) -> "Take":
        """A take as its gate's verdict left it (a clip's or a cut's with its `keyframes`)."""
        # Each score's own figures only: the extras a measure reports stay in the stored verdict.
        return cls(stage=stage, moment=moment, take=take, uri=uri, passed=verdict.passed,
                   quality=verdict.quality, reasons=verdict.failing, warnings=verdict.warnings,
                   unjudged=list(verdict.unjudged),
                   scores=[GateScore(name=s.name, value=s.value, threshold=s.threshold, role=s.role,
                                     passed=s.passed, reason=s.reason) for s in verdict.scores],
                   keyframes=keyframes or {})


class PanelOutcome(BaseModel):
    shot: str
    approved: dict[str, str] = {}   # moment -> panel URI that passed the gate (a reference shot: its board)
    board: bool = False             # a reference shot: no panel was made; "start" is its references laid out
    takes: list[Take] = []
    escalated: str | None = None
    halted: str | None = None       # the run stopped spending, or this shot's call is unknown
    key: str = ""                   # what a person's word on its start panel is said about (tasks/review/circle.py)
    word: str = ""                  # the word that steered it ("circled panel take 1 (ana)")
    cleared: str = ""               # a word no longer about this shot: cleared, and why


class Finals(BaseModel):
    """What a person approved for the scene's final video (final and hero profiles): the amount
    in all (USD), each approved shot's first take as it was estimated (with its upscale, where
    the run upscales: flows/shot/scene_upscale.py — so no retake spends it), and the shots whose
    retake a person declined."""

    approved: str
    first_takes: dict[str, str] = {}
    declined: list[str] = []
    by: str = ""


#: The scene's characters, whom the keyframe gate looks for in a clip beside the shot's own:
#: {id: {"turnaround_uri": …, "wardrobe_colour": … or None}}.
Cast = dict[str, dict[str, str | None]]


class ClipOutcome(BaseModel):
    shot: str
    clip_uri: str | None = None
    seconds: float = 0.0
    last_frame_uri: str | None = None
    started_from: str = "panel"     # panel | previous last frame | re-anchored panel
    origin_uri: str | None = None   # the approved panel its last frame descends from (the drift check's SSIM)
    takes: list[Take] = []
    escalated: str | None = None
    halted: str | None = None
    drift: DriftReading | None = None
    reanchor: bool = False
    rejected: str | None = None     # not approved for the final video by a person
    held_for_retake: str | None = None  # its next take would pass the amount a person approved: it waits for one
    declined: bool = False          # escalated because a person declined its retake (not a gate's verdict)
    retake_cost: str | None = None      # what that take costs (USD)
    continuity: float | None = None # the cut from the shot before it held this well (lowest blocking score)
    cut: Take | None = None         # the continuity verdict on the cut into this shot, as a take
    lip_sync: list[LineSync] = []  # its on-camera lines' sync readings (flows/shot/scene_lipsync.py)
    upscale: UpscaleVerdict | None = None  # its clip is the approved take upscaled, as the check read it (flows/shot/scene_upscale.py)
    key: str = ""                   # what a person's word on its clip is said about (tasks/review/circle.py)
    word: str = ""                  # the word that steered it ("NG take 2 (ana): the door swings open")
    cleared: str = ""               # a word no longer about this clip: cleared, and why
    # The take of its clip the take loop approved: the lane's passes after it (a face swap, the
    # lip-sync, an upscale) make other files of it, and `clip_uri` is then theirs.
    approved_take: int | None = None
    # Its line failed (the voice gate, the sync gate) and its picture stays in the cut: why
    # (`dialogue_failure = "keep_picture"`); the shot is escalated for its line only.
    dialogue_failed: str | None = None


#: A shot's loop outcome: its panels', or its clip's.
Outcome = TypeVar("Outcome", PanelOutcome, ClipOutcome)

if TYPE_CHECKING:
    from typing import TypeAlias

    from prefect.futures import PrefectFuture

    #: A shot loop's future (or a rejected shot's): it lands as the loop's outcome, a loop that
    #: ended Escalated or Halted having returned its state (flows/run/outcome.py `landed`).
    Landing: TypeAlias = PrefectFuture[Outcome] | PrefectFuture[Outcome | State[Outcome]]


def _finish(run: Run, outcome: Outcome, stage: str) -> Outcome | State[Outcome]:
    if outcome.halted:
        emit(run, scene=run.scene, shot=outcome.shot, stage=stage, status="halted", reasons=[outcome.halted])
        return Completed(data=outcome, name="Halted", message=f"shot {outcome.shot}: {outcome.halted}")
    if outcome.escalated:
        emit(run, scene=run.scene, shot=outcome.shot, stage=stage, status="escalated", reasons=[outcome.escalated])
        return Completed(data=outcome, name="Escalated", message=f"shot {outcome.shot}: {outcome.escalated}")
    return outcome


def _stopped(run: Run, shot: str, stage: str, exc: Exception) -> None:
    """A loop ended by an error of any other kind (the scene reports it: flows/edit/cuts.py
    `unfinished`): the shot's row says so too, never the take it was making when it stopped."""
    emit(run, scene=run.scene, shot=shot, stage=stage, status="stopped by an error",
         reasons=[f"{type(exc).__name__}: {exc}"])


@task(name="shoot-panels", cache_policy=NO_CACHE, task_run_name="panels {plan.shot}")
def shoot_panels(run: Run, plan: ShotPlan, words: ShotWords | None = None) -> PanelOutcome | State[PanelOutcome]:
    """A shot's panels, take after take through the panel gate (a reference shot: its board).
    `words`: what a person said at the dailies (tasks/review/circle.py); its panel word steers the start
    panel's takes."""
    outcome = PanelOutcome(shot=plan.shot, key=panel_key(plan))
    if plan.by_reference:
        return _reference_board(run, plan, outcome)
    word = _standing(run, plan.shot, words.panel if words else None, outcome.key, outcome,
                     "the shot's manifest changed since")
    try:
        with at_the_easel(run.lineup.panel):  # the local painter: the shots' panels in turn, not all at once
            _panel_takes(run, plan, outcome, word)
    except (RunHalted, ShotHalted) as exc:
        outcome.halted = halted_reason(exc, plan.shot)
    except Exception as exc:
        _stopped(run, plan.shot, "panel", exc)
        raise
    return _finish(run, outcome, "panel")


def _reference_board(run: Run, plan: ShotPlan, outcome: PanelOutcome) -> PanelOutcome:
    """A reference shot makes no panel: its references laid out as the local provider places them
    (free, no model called) stand where a panel would — the picture its keyframe gate, drift check
    and reports hold the clip to. The board is never sent to the video model."""
    st = run.crew
    board = board_painter(st.storage).reference_board(plan.clip_request("", None, 1))
    outcome.approved["start"] = st.storage.put_bytes(board, "png")
    outcome.board = True
    emit(run, scene=run.scene, shot=plan.shot, stage="panel", moment="start", status="references laid out")
    return outcome


def _standing(run: Run, shot: str, word: TakeWord | None, key: str, outcome: PanelOutcome | ClipOutcome,
              why: str) -> TakeWord | None:
    """The word that steers a take loop: a person's word said about this very shot (its key),
    else none — a word about what the shot no longer is is cleared, and the run says so."""
    if word is None:
        return None
    if word.key != key:
        outcome.cleared = f"{word.said()} cleared: {why}"
        emit(run, scene=run.scene, shot=shot, stage="dailies", status="cleared", reasons=[outcome.cleared])
        return None
    outcome.word = word.said()
    return word


def _steer(word: TakeWord | None, take: int) -> str | None:
    """What a person's word makes of a take once it is made: "keep" (the circled take goes in
    the cut, whatever its gate said), "walk" (a take before the circled one, or at or before the
    NG'd one: made again from the cache, never kept, not counted by the take policy), or None
    (the gates and the take policy decide)."""
    if word is None or word.word == "hold":
        return None
    if word.word == "circled":
        return "keep" if take == word.take else ("walk" if take < word.take else None)
    return "walk" if take <= word.take else None


def _kept_by_word(word: TakeWord, taken: Take) -> None:
    """A circled take kept — and, when its gate failed it, said so on the take."""
    if not taken.passed:
        taken.warnings = [*taken.warnings, f"kept over its gate: {word.said()}; the gate said {'; '.join(taken.reasons)}"]


def _walked(word: TakeWord, taken: Take) -> None:
    """A take walked past on the way to a person's word: the NG'd take says why it is not kept."""
    if word.word == "ng" and taken.take == word.take:
        taken.reasons = [*taken.reasons, word.said()]
        taken.passed = False


def _panel_takes(run: Run, plan: ShotPlan, outcome: PanelOutcome, word: TakeWord | None = None) -> None:
    st = run.crew
    moments: list[Moment] = ["start", "end"] if plan.end else ["start"]
    for moment in moments:
        history: list[TakeResult] = []
        take = 0
        steering = word if moment == "start" else None   # a panel word is on the start panel
        while True:
            take += 1
            st.governor.check_open()  # a halted run schedules no further paid take
            req = plan.panel_request(moment, take)
            if steering is not None and _steer(steering, take) is None:
                req = replace(req, prompt=with_note(req.prompt, steering))
            try:
                with own_steps(st.governor, plan.shot):
                    maker = Maker.of(st.images, run.profile)
                    uri = in_project(panel_take, run, PanelTake(shot=plan.shot, moment=moment, take=take,
                                                                request=req, maker=maker))
                    # The shot's recipe: each single edit one paid call, from the previous step's picture.
                    for step, instruction in enumerate(plan.recipe if moment == "start" else [], 1):
                        uri = in_project(panel_edit, run, PanelEdit(shot=plan.shot, take=take, step=step,
                                                                    instruction=instruction, source_uri=uri,
                                                                    request=req, maker=maker))
            except RefusedByModeration as exc:  # a new take would be refused alike: a person rewrites it
                outcome.escalated = f"{moment} panel refused by moderation: {exc}"
                return
            except JobStuck as exc:  # cancelled past its deadline: a person decides, the other shots go on
                outcome.escalated = f"{moment} panel take {take} stuck: {exc}"
                return
            with own_steps(st.governor, plan.shot):
                given = PanelInput(shot=plan.shot, moment=moment, take=take, panel_uri=uri, request=req,
                                   judging=Judging.of(st, run.profile))
                verdict = in_project(panel_gate, run, given, artifacts=lambda v: [])
            outcome.takes.append(Take.judged("panel", moment, take, uri, verdict))
            steer = _steer(steering, take)
            if steering is not None and steer == "keep":
                _kept_by_word(steering, outcome.takes[-1])
                outcome.approved[moment] = uri
                emit(run, scene=run.scene, shot=plan.shot, stage="panel", moment=moment, take=take, status="approved",
                     reasons=[steering.said()])
                break
            if steering is not None and steer == "walk":
                _walked(steering, outcome.takes[-1])
                continue
            reasons = outcome.takes[-1].reasons
            history.append(TakeResult(take, verdict.passed, verdict.quality, not verdict.cannot_judge))
            decision, why = run.takes.decide(history)
            if decision == "accept":
                outcome.approved[moment] = uri
                emit(run, scene=run.scene, shot=plan.shot, stage="panel", moment=moment, take=take, status="approved")
                break
            if decision == "escalate":
                outcome.escalated = f"{moment} panel {why}; last reasons: {'; '.join(reasons)}"
                return


@task(name="shoot-video", cache_policy=NO_CACHE, task_run_name="video {plan.shot}")
def shoot_video(run: Run, plan: ShotPlan, panels: PanelOutcome, previous: ClipOutcome | None = None,
                finals: Finals | None = None, cast: Cast | None = None,
                words: ShotWords | None = None) -> ClipOutcome | State[ClipOutcome]:
    """`cast`: the scene's characters ({id: {turnaround_uri, wardrobe_colour}}): whom the
    keyframe gate looks for in the clip beside the shot's own. `words`: what a person said at the
    dailies (tasks/review/circle.py); its clip word steers the clip's takes."""
    outcome = ClipOutcome(shot=plan.shot, seconds=plan.duration)
    if panels.halted:
        outcome.halted = panels.halted
    elif panels.escalated:
        outcome.escalated = f"not animated: {panels.escalated}"
    else:
        try:
            _video_takes(run, plan, panels, previous, outcome, finals, cast, words.clip if words else None)
        except (RunHalted, ShotHalted) as exc:
            outcome.halted = halted_reason(exc, plan.shot)
        except Exception as exc:
            _stopped(run, plan.shot, "video", exc)
            raise
    return _finish(run, outcome, "video")


def _moves(plan: ShotPlan) -> bool:
    """Whether the clip must move: its camera moves, or it travels to an end panel."""
    return (plan.movement != "static" and not plan.camera_fixed) or plan.end is not None


def _fallback(run: Run, plan: ShotPlan, models: list[str], current: int, take: int, exc: Exception) -> int | None:
    """After a refusal, the next video model of the lineup — if its cost impact allows.

    The impact is what the shot's clip costs on the fallback minus on the refusing model. Past
    `fallback_gate_share` of what the caps still allow, the run stops for a person (the message
    says the command that approves it) unless that model was approved for this run; a smaller
    switch goes ahead. Either way the decision is a $0 row of the ledger."""
    if current + 1 >= len(models):
        return None
    st = run.crew
    refusing, fallback = models[current], models[current + 1]
    units = Usage("video", seconds=plan.duration, resolution=plan.resolution, audio=plan.audio)
    impact = st.pricing.estimate(units, fallback) - st.pricing.estimate(units, refusing)
    left = st.governor.remaining()
    share = Decimal(run.settings.fallback_gate_share)
    provider, _, model = fallback.partition(":")
    spec = CallSpec(run.call_at(plan.shot, "video", take, provider, model), units, f"fallback {refusing} -> {fallback}")
    why = (f"shot {plan.shot}: {refusing} refused the clip ({exc}); {fallback} would change the remaining cost "
           f"by {fmt_usd(impact)} ({fmt_usd(left)} left under the caps, gate {share:.0%})")
    if impact > share * left and fallback not in run.settings.approve_fallback:
        st.governor.note(spec, "FallbackHeld", why)
        raise st.governor.halt(f"{why}: a person decides — run again with --approve-fallback {fallback} to allow "
                               f"it, or change the shot")
    st.governor.note(spec, "FallbackSwitch", why + ": switched")
    # Said as it happens (a nightly's log, the live table), not only in the ledger.
    emit(run, scene=run.scene, shot=plan.shot, stage="video", take=take, status=f"fallback to {fallback}",
         reasons=[f"{refusing} refused the clip by moderation ({exc}); take {take + 1} is made on {fallback}"])
    return current + 1


def _within_approval(run: Run, plan: ShotPlan, finals: Finals | None, take: int, model: str,
                     outcome: ClipOutcome, last: list[str]) -> Held | Escalated | None:
    """Whether this video take fits the amount a person approved (always, where nobody had to:
    the draft profile): None. One that does not is not sent: the shot waits for a person again
    (`Held`), or — its retake declined — is escalated. `last`: the reasons of the take before."""
    if finals is None:
        return None
    st = run.crew
    cost = st.pricing.estimate(Usage("video", seconds=plan.duration, resolution=plan.resolution, audio=plan.audio), model)
    allowance = st.allowance(run.scene, Decimal(finals.approved), {s: Decimal(c) for s, c in finals.first_takes.items()})
    short = allowance.admit(plan.shot, take, cost)
    if short is None:
        return None
    why = "; ".join(last) if last else "its last take failed"
    if plan.shot in finals.declined:
        outcome.declined = True
        return Escalated(f"clip retake {take} not approved{f' by {finals.by}' if finals.by else ''} "
                         f"({fmt_usd(cost)}); last reasons: {why}")
    outcome.retake_cost = str(cost)
    emit(run, scene=run.scene, shot=plan.shot, stage="video", take=take, status="awaiting retake approval")
    return Held(f"retake {take} ({fmt_usd(cost)} on {model}) would take the final video to "
                f"{fmt_usd(short.would_be)}, past the {fmt_usd(short.approved)} approved "
                f"({fmt_usd(short.charged)} taken so far); last reasons: {why}")


@dataclass
class VideoStage:
    """The clip as a stage of the take loop: take N animates the approved panel (or the chain's
    last frame) on a model of the lineup with seed N, a person's NG note in its prompt; the
    keyframe gate judges it, its verdict carried as the shot's `Take`."""

    run: Run
    plan: ShotPlan
    panels: PanelOutcome
    start_uri: str
    end_uri: str | None
    chained_from: str | None
    cast: Cast
    word: TakeWord | None
    first_model: str
    name: str = "video"
    gate: str = "keyframe_gate"
    gate_words: str = "the gate"
    sizes: tuple[tuple[int, int], ...] = ()   # the sizes the model makes instead of the shot's (its last take's)

    def make(self, take: int, model: str) -> str:
        st, plan = self.run.crew, self.plan
        videos = st.service(VIDEO, model)
        clip_req = plan.clip_request(self.start_uri, self.end_uri, take,
                                     video_model=model if model != self.first_model else None)
        if self.word is not None and _steer(self.word, take) is None:
            clip_req = replace(clip_req, prompt=with_note(clip_req.prompt, self.word))
        self.sizes = _made_sizes(videos, clip_req)
        return in_project(video_take, self.run, ClipTake(shot=plan.shot, take=take, request=clip_req,
                                                         maker=Maker.of(videos, self.run.profile)))

    def judge(self, take: int, uri: str) -> Judged[Take]:
        st, plan = self.run.crew, self.plan
        given = KeyframeInput(shot=plan.shot, take=take, clip_uri=uri, start_uri=self.start_uri, end_uri=self.end_uri,
                              request=plan.panel_request("start", 1), seconds=plan.duration, fps=plan.fps,
                              expect_motion=_moves(plan), cast=self.cast, board=self.panels.board,
                              enters=tuple(plan.enters), sizes=self.sizes, chain_origin_uri=self.chained_from or "",
                              judging=Judging.of(st, self.run.profile))
        verdict = in_project(keyframe_gate, self.run, given, artifacts=lambda v: list(v.keyframes.values()))
        taken = Take.judged("video", "clip", take, uri, verdict, keyframes=verdict.keyframes)
        return Judged(verdict.passed, verdict.quality, tuple(taken.reasons), not verdict.cannot_judge, reading=taken)


def _recorded(done: Takes[Take]) -> list[Take]:
    """The shot's takes as the loop made them: each judged take as its gate left it, each that
    came to nothing (refused, stuck, unusable) with its cause."""
    return [t.judged.reading if t.judged.reading is not None else
            Take(stage="video", moment="clip", take=t.take, uri="", passed=False, quality=-1.0,
                 reasons=list(t.judged.reasons)) for t in done.takes]


def _video_takes(run: Run, plan: ShotPlan, panels: PanelOutcome, previous: ClipOutcome | None,
                 outcome: ClipOutcome, finals: Finals | None = None, cast: Cast | None = None,
                 spoken: TakeWord | None = None) -> None:
    st = run.crew
    start_uri = panels.approved["start"]
    if plan.chain and previous is not None and previous.held_for_retake:
        # Its first frame is that shot's last: nothing is paid for until a person has answered.
        outcome.held_for_retake = f"waits for shot {previous.shot}, before it in its chain, whose retake waits " \
                                  f"for a person"
        return
    if plan.chain:
        if previous is not None and previous.last_frame_uri and not previous.reanchor:
            start_uri, outcome.started_from = previous.last_frame_uri, "previous last frame"
        else:
            why = "previous shot missing"
            if previous is not None and previous.reanchor:
                said = previous.drift.reason if previous.drift is not None else None
                why = f"drift past the threshold at shot {previous.shot}" + (f": {said}" if said else "")
            outcome.started_from = f"re-anchored panel ({why})"
    end_uri = panels.approved.get("end")
    # What the last frame descends from: the end panel it is held to, else the start panel —
    # or, for a shot chained from the one before, whatever that one's frames came from.
    chained_from = previous.origin_uri if previous is not None and outcome.started_from == "previous last frame" \
        else None
    outcome.origin_uri = end_uri or chained_from or panels.approved["start"]
    # A person's word is about the clip made from this very start: a retaken panel, or a chain
    # whose earlier shot was retaken, starts another clip, and the word is cleared.
    outcome.key = clip_key(plan, start_uri)
    word = _standing(run, plan.shot, spoken, outcome.key, outcome, "the shot or the picture it starts from changed since")
    models = list(run.lineup.videos)
    stage = VideoStage(run, plan, panels, start_uri, end_uri, chained_from, cast or {}, word, models[0])

    def before(take: int, model: str, takes: list[TakeMade[Take]]) -> Held | Escalated | None:
        last = _recorded(Takes(Escalated(""), takes[-1:]))
        return _within_approval(run, plan, finals, take, model, outcome, last[0].reasons if last else [])

    def steer(take: int, judged: Judged[Take]) -> Steer:
        said = _steer(word, take) if word is not None else None
        if word is not None and judged.reading is not None:
            if said == "walk":
                _walked(word, judged.reading)      # the NG'd take says why it is not kept
            elif said == "keep":
                _kept_by_word(word, judged.reading)
        return "walk" if said == "walk" else "keep" if said == "keep" else None

    done = take_loop(stage, run.takes, st.governor, shot=plan.shot, models=models, what="clip",
                     tell=teller(run, plan.shot), before=before,
                     fallback=lambda current, take, exc: _fallback(run, plan, models, current, take, exc),
                     steer=steer, retake_words="run again for a new take")
    outcome.takes = _recorded(done)
    end = done.end
    if isinstance(end, Halted):
        outcome.halted = end.why
        return
    if isinstance(end, Held):
        outcome.held_for_retake = end.why
        return
    if isinstance(end, Escalated):
        outcome.escalated = end.why
        return
    assert end.reading is not None
    outcome.clip_uri = end.uri
    outcome.approved_take = end.take
    outcome.last_frame_uri = end.reading.keyframes["last"]
    emit(run, scene=run.scene, shot=plan.shot, stage="video", take=end.take, status="approved")
    if due(plan, run.settings.drift_every):
        start = plan.panel_request("start", 1)
        with own_steps(st.governor, plan.shot):
            measured = DriftInput(shot=plan.shot, last_frame_uri=outcome.last_frame_uri,
                                  panel_uri=panels.approved["start"], threshold=run.settings.drift_threshold,
                                  plate_uri=start.plate_uri, turnaround_uris=[c.turnaround_uri for c in start.characters],
                                  clip_model=run.settings.clip_model, clip_weights=run.settings.clip_weights,
                                  origin_uri=outcome.origin_uri or "",
                                  characters=[{"id": c.id, "turnaround_uri": c.turnaround_uri,
                                               "wardrobe_colour": c.wardrobe_colour} for c in start.characters])
            drift: DriftReading = in_project(drift_check, run, measured, artifacts=lambda d: [])
            outcome.drift = drift
        outcome.reanchor = drift.reanchor
        emit(run, scene=run.scene, shot=plan.shot, stage="video", status="drift checked", drift=drift.drift)


def unjudged(panels: PanelOutcome, clip: ClipOutcome | None = None) -> list[str]:
    """What the judge could not read in the takes this shot uses (its approved panels, its
    clip, the cut into it): a rehearsal (`cannot_judge = "warn"`) let them through unjudged."""
    used = [t for t in panels.takes if t.passed and t.uri in panels.approved.values()]
    if clip is not None:
        used += [t for t in clip.takes if t.passed and (t.take == clip.approved_take if clip.approved_take is not None
                                                        else t.uri == clip.clip_uri)]
        used += [clip.cut] if clip.cut is not None and clip.cut.passed else []
    seen: list[str] = []
    for t in used:
        seen += [f"{t.stage} {t.moment} take {t.take}: {why}" for why in t.unjudged if why not in seen]
    return seen


def best_take(panels: PanelOutcome, clip: ClipOutcome | None = None) -> Take | None:
    """The take a person should look at for an escalated shot: the best-scoring take of the
    stage that gave up (the panel moment that escalated, the clip takes, or the cut that did
    not hold), with its scores and the judge's reasons. None for a shot that was not escalated."""
    if panels.escalated:
        if not panels.takes:
            return None
        moment = panels.takes[-1].moment  # the moment that escalated is the last one tried
        return max((t for t in panels.takes if t.moment == moment), key=lambda t: t.quality)
    if clip is None or not clip.escalated:
        return None
    if clip.cut is not None and not clip.cut.passed:
        return clip.cut
    judged = [t for t in clip.takes if t.uri]
    if judged:
        return max(judged, key=lambda t: t.quality)
    return clip.takes[-1] if clip.takes else None  # every take refused: the refusal is the reason


def _made_sizes(videos: object, request: ClipRequest) -> tuple[tuple[int, int], ...]:
    """The sizes the video model makes instead of the shot's (its `clip_sizes`, where it says):
    the keyframe gate holds a clip to the shot's size or one of these (media/motion.py)."""
    said = getattr(videos, "clip_sizes", None)
    return tuple((int(w), int(h)) for w, h in said(request)) if callable(said) else ()
