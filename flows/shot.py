"""The per-shot take loops: panel take → panel gate, and video take → keyframe gate.

Each loop is a task that calls the stage tasks (visible as nested task runs) and asks the take
policy after every verdict. A shot that cannot pass is escalated: its loop returns a state
named "Escalated" with the reason, and the scene goes on without it. These loops hold no
state of their own: every take they ask for is cached, so a re-run walks the same takes for
free and resumes at the first one that was never finished.

They must never animate a panel that failed its gate, nor hand stitch a clip that failed.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from contextlib import contextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, TypeVar

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from prefect.states import Completed
from pydantic import BaseModel

from slate.governor.chokepoint import CallSpec, Governor, JobRefused, JobStuck, RunHalted, ShotHalted, Usage
from slate.governor.money import fmt_usd
from slate.governor.policy import TakePolicy, TakeResult
from slate.providers.base import ClipRequest
from slate.providers.errors import BadOutput, RefusedByModeration
from slate.providers.registry import board_painter
from slate.tasks.run import Run, emit, in_project
from slate.tasks.drift import drift_check, due
from slate.tasks.gate_inputs import DriftInput, Judging, KeyframeInput, PanelInput
from slate.tasks.verdicts import DriftReading, GateScore, GateVerdict
from slate.tasks.easel import at_the_easel
from slate.tasks.gate import panel_gate
from slate.tasks.keyframes import keyframe_gate
from slate.tasks.lipsync import LineSync
from slate.tasks.upscale import UpscaleVerdict
from slate.tasks.panel import panel_take
from slate.tasks.recipe import panel_edit
from slate.tasks.plan import Moment, ShotPlan
from slate.tasks.circle import ShotWords, TakeWord, clip_key, panel_key, with_note
from slate.tasks.take_inputs import ClipTake, Maker, PanelEdit, PanelTake
from slate.tasks.video import video_take


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
    key: str = ""                   # what a person's word on its start panel is said about (tasks/circle.py)
    word: str = ""                  # the word that steered it ("circled panel take 1 (ana)")
    cleared: str = ""               # a word no longer about this shot: cleared, and why


class Finals(BaseModel):
    """What a person approved for the scene's final video (final and hero profiles): the amount
    in all (USD), each approved shot's first take as it was estimated (with its upscale, where
    the run upscales: flows/scene_upscale.py — so no retake spends it), and the shots whose
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
    lip_sync: list[LineSync] = []  # its on-camera lines' sync readings (flows/scene_lipsync.py)
    upscale: UpscaleVerdict | None = None  # its clip is the approved take upscaled, as the check read it (flows/scene_upscale.py)
    key: str = ""                   # what a person's word on its clip is said about (tasks/circle.py)
    word: str = ""                  # the word that steered it ("NG take 2 (ana): the door swings open")
    cleared: str = ""               # a word no longer about this clip: cleared, and why


#: A shot's loop outcome: its panels', or its clip's.
Outcome = TypeVar("Outcome", PanelOutcome, ClipOutcome)

if TYPE_CHECKING:
    from typing import TypeAlias

    from prefect.futures import PrefectFuture

    #: A shot loop's future (or a rejected shot's): it lands as the loop's outcome, a loop that
    #: ended Escalated or Halted having returned its state (flows/outcome.py `landed`).
    Landing: TypeAlias = PrefectFuture[Outcome] | PrefectFuture[Outcome | State[Outcome]]


def _policy(run: Run) -> TakePolicy:
    return TakePolicy(run.settings.max_takes, run.settings.no_progress_takes)


@contextmanager
def _own_steps(governor: Governor, shot: str) -> Iterator[None]:
    """Marks a halt of the run that this shot's own step caused (its call refused by a cap, its
    fallback held for a person) with the shot, so every other shot stopped by it says whose it
    was instead of repeating that shot's reason as its own.

    A provider that refuses the whole run (a key out of credit or refused: an error that `halts`)
    halts the governor and comes up as the provider's error; for the shot it is the halt, as a
    cap's refusal is: the shot ends halted (its table row says so, not "rendering take 1"), never
    escalated as though the shot itself were at fault."""
    before = governor.halted
    try:
        yield
    except RunHalted as exc:
        if before is None and exc.by_shot is None:
            exc.by_shot = shot
        raise
    except Exception as exc:
        halted = governor.halted
        if halted is None or not getattr(exc, "halts", False):
            raise
        if before is None and halted.by_shot is None:
            halted.by_shot = shot
        raise halted from exc


def halted_reason(exc: Exception, shot: str) -> str:
    """Why a shot stopped: its own step's reason, or the run's halt and who caused it."""
    if isinstance(exc, RunHalted) and (by := exc.by_shot) != shot:
        cause = f"shot {by} halted the run" if by else "the run stopped spending"
        return f"stopped before it finished: {cause} ({exc})"
    return str(exc)


def _finish(run: Run, outcome: Outcome, stage: str) -> Outcome | State[Outcome]:
    if outcome.halted:
        emit(run, scene=run.scene, shot=outcome.shot, stage=stage, status="halted", reasons=[outcome.halted])
        return Completed(data=outcome, name="Halted", message=f"shot {outcome.shot}: {outcome.halted}")
    if outcome.escalated:
        emit(run, scene=run.scene, shot=outcome.shot, stage=stage, status="escalated", reasons=[outcome.escalated])
        return Completed(data=outcome, name="Escalated", message=f"shot {outcome.shot}: {outcome.escalated}")
    return outcome


def _stopped(run: Run, shot: str, stage: str, exc: Exception) -> None:
    """A loop ended by an error of any other kind (the scene reports it: flows/cuts.py
    `unfinished`): the shot's row says so too, never the take it was making when it stopped."""
    emit(run, scene=run.scene, shot=shot, stage=stage, status="stopped by an error",
         reasons=[f"{type(exc).__name__}: {exc}"])


@task(name="shoot-panels", cache_policy=NO_CACHE, task_run_name="panels {plan.shot}")
def shoot_panels(run: Run, plan: ShotPlan, words: ShotWords | None = None) -> PanelOutcome | State[PanelOutcome]:
    """A shot's panels, take after take through the panel gate (a reference shot: its board).
    `words`: what a person said at the dailies (tasks/circle.py); its panel word steers the start
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
                with _own_steps(st.governor, plan.shot):
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
            with _own_steps(st.governor, plan.shot):
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
            decision, why = _policy(run).decide(history)
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
    dailies (tasks/circle.py); its clip word steers the clip's takes."""
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
                     outcome: ClipOutcome) -> bool:
    """Whether this video take fits the amount a person approved (always, where nobody had to:
    the draft profile). One that does not is not sent: the shot waits for a person again, or
    — its retake declined — is escalated."""
    if finals is None:
        return True
    st = run.crew
    cost = st.pricing.estimate(Usage("video", seconds=plan.duration, resolution=plan.resolution, audio=plan.audio), model)
    allowance = st.allowance(run.scene, Decimal(finals.approved), {s: Decimal(c) for s, c in finals.first_takes.items()})
    short = allowance.admit(plan.shot, take, cost)
    if short is None:
        return True
    last = outcome.takes[-1] if outcome.takes else None
    why = "; ".join(last.reasons) if last and last.reasons else "its last take failed"
    if plan.shot in finals.declined:
        outcome.declined = True
        outcome.escalated = (f"clip retake {take} not approved{f' by {finals.by}' if finals.by else ''} "
                             f"({fmt_usd(cost)}); last reasons: {why}")
    else:
        outcome.retake_cost = str(cost)
        outcome.held_for_retake = (f"retake {take} ({fmt_usd(cost)} on {model}) would take the final video to "
                                   f"{fmt_usd(short.would_be)}, past the {fmt_usd(short.approved)} approved "
                                   f"({fmt_usd(short.charged)} taken so far); last reasons: {why}")
        emit(run, scene=run.scene, shot=plan.shot, stage="video", take=take, status="awaiting retake approval")
    return False


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
    start_req = plan.panel_request("start", 1)
    # A person's word is about the clip made from this very start: a retaken panel, or a chain
    # whose earlier shot was retaken, starts another clip, and the word is cleared.
    outcome.key = clip_key(plan, start_uri)
    word = _standing(run, plan.shot, spoken, outcome.key, outcome, "the shot or the picture it starts from changed since")
    history: list[TakeResult] = []
    models, current = list(run.lineup.videos), 0
    fell_back = ""   # "after X refused it by moderation, fell back to Y": said in an escalation's reason
    take = 0
    while True:
        take += 1
        st.governor.check_open()
        if not _within_approval(run, plan, finals, take, models[current], outcome):
            return
        videos = st.video_for(models[current])
        clip_req = plan.clip_request(start_uri, end_uri, take, video_model=models[current] if current else None)
        if word is not None and _steer(word, take) is None:
            clip_req = replace(clip_req, prompt=with_note(clip_req.prompt, word))
        try:
            with _own_steps(st.governor, plan.shot):
                clip_uri = in_project(video_take, run, ClipTake(shot=plan.shot, take=take, request=clip_req,
                                                                maker=Maker.of(videos, run.profile)))
        except (JobRefused, RefusedByModeration) as exc:
            # Refused as asked: never sent again unchanged. The next model of the lineup, if any.
            outcome.takes.append(Take(stage="video", moment="clip", take=take, uri="", passed=False, quality=-1.0,
                                      reasons=[f"refused by moderation on {models[current]}: {exc}"]))
            with _own_steps(st.governor, plan.shot):
                following = _fallback(run, plan, models, current, take, exc)
            if following is None:
                outcome.escalated = (f"clip refused by moderation on {models[current]}{fell_back}, no fallback left: "
                                     f"{exc}; reword the shot's action, or give the run another fallback model")
                return
            fell_back += f" (after {models[current]} refused it by moderation, fell back to {models[following]})"
            current = following
            continue
        except JobStuck as exc:
            # Cancelled past its deadline (the key's video slot went free as the take ended): the
            # shot waits for a person — to try again, or to give the model longer — and the other
            # shots go on.
            outcome.takes.append(Take(stage="video", moment="clip", take=take, uri="", passed=False, quality=-1.0,
                                      reasons=[f"stuck: {exc}"]))
            outcome.escalated = f"clip take {take} stuck: {exc}"
            return
        except BadOutput as exc:
            # It ran and was billed, and what came back is unusable (cut short, redirected off the
            # provider's file host, larger than any clip of its length, not a video): a failed
            # take, as a gate's failure is — retaken within the take policy, else escalated.
            cause = f"the clip from {models[current]} was unusable: {exc}"
            outcome.takes.append(Take(stage="video", moment="clip", take=take, uri="", passed=False, quality=-1.0,
                                      reasons=[cause]))
            history.append(TakeResult(take, False, -1.0))
            decision, why = _policy(run).decide(history)
            if decision == "escalate":
                outcome.escalated = f"clip {why}{fell_back}; last reasons: {cause}; run again for a new take"
                return
            emit(run, scene=run.scene, shot=plan.shot, stage="video", take=take, status="failed",
                 reasons=[f"{cause}; take {take + 1} is made"])
            continue
        with _own_steps(st.governor, plan.shot):
            given = KeyframeInput(shot=plan.shot, take=take, clip_uri=clip_uri, start_uri=start_uri, end_uri=end_uri,
                                  request=start_req, seconds=plan.duration, fps=plan.fps, expect_motion=_moves(plan),
                                  cast=cast or {}, board=panels.board, enters=tuple(plan.enters),
                                  sizes=_made_sizes(videos, clip_req), chain_origin_uri=chained_from or "",
                                  judging=Judging.of(st, run.profile))
            verdict = in_project(keyframe_gate, run, given, artifacts=lambda v: list(v.keyframes.values()))
        outcome.takes.append(Take.judged("video", "clip", take, clip_uri, verdict, keyframes=verdict.keyframes))
        steer = _steer(word, take)
        if word is not None and steer == "walk":
            _walked(word, outcome.takes[-1])
            continue
        reasons = outcome.takes[-1].reasons
        history.append(TakeResult(take, verdict.passed, verdict.quality, not verdict.cannot_judge))
        decision, why = _policy(run).decide(history)
        if word is not None and steer == "keep":
            _kept_by_word(word, outcome.takes[-1])
            decision = "accept"
        if decision == "accept":
            outcome.clip_uri = clip_uri
            outcome.last_frame_uri = verdict.keyframes["last"]
            emit(run, scene=run.scene, shot=plan.shot, stage="video", take=take, status="approved")
            break
        if decision == "escalate":
            outcome.escalated = f"clip {why}{fell_back}; last reasons: {'; '.join(reasons)}"
            return
    if due(plan, run.settings.drift_every):
        start = plan.panel_request("start", 1)
        with _own_steps(st.governor, plan.shot):
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
        used += [t for t in clip.takes if t.passed and t.uri == clip.clip_uri]
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
