"""What a scene run made, and the state it ends in: the shot and reference reports, the scene's
result, its end states, and the word a deployment run leaves for the film run that started it.

It must never make, judge or pay for anything: it reads what the run's stages returned and what
the ledger holds, and says so.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, TypeVar

from prefect import get_run_logger
from prefect.client.schemas.objects import State
from prefect.runtime import flow_run
from prefect.states import Completed, Failed
from pydantic import BaseModel

from slate.flows.run.outcome import outcome
from slate.flows.shot.shot import ClipOutcome, PanelOutcome, best_take, unjudged
from slate.governor.gates import against
from slate.governor.ledger import Ledger
from slate.manifests.settings import project_settings
from slate.tasks.run.cache import result_storage
from slate.tasks.run.run import Run
from slate.tasks.shot.plan import ShotPlan
from slate.tasks.gates.verdicts import ReferenceVerdict
from slate.tasks.shot.lipsync import LineSync
from slate.tasks.shot.upscale import UpscaleVerdict
from slate.tasks.run.can import read_record, write_record
from slate.flows.review.rushes import record_rushes
from slate.errors import SlateError


class ShotReport(BaseModel):
    shot: str
    panel_takes: int
    video_takes: int
    status: str          # approved | unjudged (a rehearsal's, unread by the judge) | escalated | halted | rejected
    reason: str = ""
    started_from: str = ""
    drift: float | None = None
    reanchored: bool = False
    continuity: float | None = None   # the cut from the shot before: the lowest blocking score
    # As plain JSON, the way the ledger's escalations and `slate status` read them:
    drift_detail: dict[str, Any] | None = None  # every figure of the drift check: SSIM, colour, CLIP
    best_take: dict[str, Any] | None = None     # an escalated shot's best take (a Take): its scores, the judge's reasons
    # An escalation a gate decided on takes the cache keeps (not a loop that stopped, nor a person's
    # "no"): the same inputs come to it again, so an unchanged re-run is served it from the can.
    settled: bool = False
    # Its on-camera lines' sync (issue 38, flows/shot/scene_lipsync.py): per line its speaker, take,
    # offset (ms, positive when the picture lags the sound), confidence, verdict and reason.
    lip_sync: list[LineSync] = []
    # Escalated for its line only (issue 57, `dialogue_failure = "keep_picture"`): its picture is in
    # the cut, not lip-synced (or without its lines); never put in the can (tasks/run/can.py `cannable`).
    picture_kept: bool = False
    # Its approved take upscaled (issue 41, flows/shot/scene_upscale.py): the upscale check's reading
    # of the clip in the cut — its size, rate, frames, and scaled back down, how close to the take.
    upscale: UpscaleVerdict | None = None



class ReferenceReport(BaseModel):
    """A turnaround's or plate's verdict at the reference gate."""

    key: str
    passed: bool
    scores: str                      # each score against its threshold, lowest margin first
    warnings: list[str] = []
    unjudged: list[str] = []         # a rehearsal let it through: what slate could not read in it

    @classmethod
    def of(cls, verdict: ReferenceVerdict) -> "ReferenceReport":
        ranked = sorted(verdict.scores, key=lambda s: s.value - s.threshold)
        return cls(key=verdict.key, passed=verdict.passed, warnings=verdict.warnings,
                   unjudged=list(verdict.unjudged),
                   scores=", ".join(f"{s.name} {against(s.value, s.threshold, '/')}" for s in ranked))



class Deliverable(BaseModel):
    """A deliverable beside the cut (a profile's editor's mezzanine or poster frame, issue 23): its
    file in renders/ and its content in storage, where the can restores it from."""

    kind: str                        # mezzanine | poster | subtitles (issue 37: a scene's .srt and .vtt) | burned subtitles
    file: str                        # its name in renders/
    uri: str


class SceneResult(BaseModel):
    film: str
    scene: str
    profile: str
    run_id: str
    output: str | None
    contact_sheet: str
    duration: float | None
    width: int
    height: int
    provider_calls: int
    shots: list[ShotReport]
    halted: str | None = None        # why the run stopped spending (a cap or the STOP file)
    spent_usd: str = "0"             # what this run committed in the ledger
    approval: str = ""               # the person's decision before the finals, when one was asked
    references: list[ReferenceReport] = []  # every turnaround and plate at the reference gate
    cut: str | None = None           # the cut's content URI: how a film run on another worker finds it
    #: the scene's estimate made before its first paid call (USD strings): low, expected, high, and
    #: the seconds of picture planned — what the cost and wrap reports hold the spend to
    estimate: dict[str, str] = {}
    deliverables: list[Deliverable] = []   # the profile's mezzanine and poster, in renders/ beside the cut

    @property
    def escalated(self) -> list[ShotReport]:
        return [s for s in self.shots if s.status == "escalated"]



def escalated_message(result: SceneResult) -> str:
    """An Escalated scene's message: how many shots, which."""
    escalated = result.escalated
    return f"{len(escalated)} shot(s) escalated: " + ", ".join(s.shot for s in escalated)


def served_end(result: SceneResult, said: str) -> tuple[str, str]:
    """The name and message of a scene served from the can (tasks/run/can.py), `said` saying by whom
    and since when: Completed, or Escalated naming the escalations it was written down with."""
    if result.escalated:
        return "Escalated", f"{escalated_message(result)} ({said})"
    return "Completed", said


class SceneRound(BaseModel):
    """What one round of the shoot-scene sub-flow returns, always this type (a failure is a
    Failed state instead). `stage` says where the round stopped:

      * "panels" — every panel judged, for a person to approve the finals (panels_only);
      * "retakes" — clips whose next takes would pass the amount a person approved are held,
        for the person to be asked again; not stitched yet;
      * "concluded" — the scene's result (`result`), whatever its end (the state's name says
        Completed, Escalated, Rejected or Unjudged).

    The shots' panels, clips and contact sheet ride along for the person asked."""

    stage: Literal["panels", "retakes", "concluded"]
    plans: list[ShotPlan] = []
    panels: dict[str, PanelOutcome] = {}
    clips: dict[str, ClipOutcome] = {}
    contact_sheet: str = ""
    result: SceneResult | None = None


class SceneEnded(SlateError):
    """A scene run that stopped before it finished (Halted, Stopped, Failed): its message is
    why, and `result` what was made so far. A Failed state's data must be an exception — a
    SceneResult there made Prefect log a TypeError instead of the reason."""

    def __init__(self, message: str, result: SceneResult | None = None):
        super().__init__(message)
        self.result = result

    def __reduce__(self) -> tuple[type[SceneEnded], tuple[str, SceneResult | None]]:
        return (type(self), (str(self), self.result))


R = TypeVar("R")


def scene_result(state: State[State[SceneResult]]) -> SceneResult | None:
    """What a scene run made, whether it finished or not."""
    data = outcome(state, raise_on_failure=False)
    if isinstance(data, SceneEnded):
        return data.result
    return data if isinstance(data, SceneResult) else None



def halted_message(shots: list[Any]) -> str:
    """The halted shots' reasons, each said once with the shots it stopped: one refusal that
    halted the run (a 402) stopped every shot in flight with the same words, and the run's end
    said them once per shot (issue 56: ten times)."""
    by_reason: dict[str, list[str]] = {}
    for s in shots:
        by_reason.setdefault(s.reason, []).append(s.shot)
    return "; ".join(reason if len(names) == 1 else f"{reason} (shots {', '.join(names)})"
                     for reason, names in by_reason.items())


def ended(name: str | None, message: str, result: SceneResult | None = None) -> State[R]:
    """A Failed-type end state carrying the reason as an exception (no traceback is logged for it)."""
    return Failed(data=SceneEnded(message, result), name=name, message=message)



def made_by(outcome: SceneResult | State[SceneResult]) -> SceneResult | None:
    """What a scene run made, from what its body returned (a state, or the result itself)."""
    data = outcome.data if isinstance(outcome, State) else outcome
    if isinstance(data, SceneEnded):
        return data.result
    return data if isinstance(data, SceneResult) else None



def leave_word(root: Path, result: SceneResult | None) -> None:
    """A deployment run's result where the film run that started it reads it (`word_of`): the
    film's shelf (the project's .slate/results, or the bucket), under this flow run's id.
    Prefect keeps a flow's return value only in the process that ran it."""
    if result is None:
        return
    try:
        shelf = result_storage(root, project_settings(root).storage)
        write_record(shelf, f"run-{flow_run.get_id()}", result.model_dump_json().encode())
    except Exception as exc:  # noqa: BLE001 — the film then says it has no result; the scene's own state stands
        get_run_logger().warning("scene result not left for the film run: %s", exc)



def word_of(root: Path, flow_run_id: str) -> SceneResult | None:
    """The result a scene deployment run left (`leave_word`), or None."""
    try:
        data = read_record(result_storage(root, project_settings(root).storage), f"run-{flow_run_id}")
        return None if data is None else SceneResult.model_validate_json(data)
    except Exception:  # noqa: BLE001 — unreadable word is no word: the film reports the scene without a result
        return None



def calls_made(ledger: Ledger, run_id: str, scene: str) -> int:
    """Provider calls this run made for this scene, counted where they land: ledger rows that
    reached the provider (refused and released rows never did)."""
    return sum(1 for r in ledger.rows(run_id=run_id) if r.scene == scene and r.status not in ("refused", "released"))



def _best(panels: PanelOutcome, clip: ClipOutcome) -> dict[str, Any] | None:
    take = best_take(panels, clip)
    return None if take is None else take.model_dump()



def conclude(run: Run, plans: list[ShotPlan], panels: dict[str, PanelOutcome], clips: dict[str, ClipOutcome],
             sheet: str, made: tuple[str | None, float | None, str | None] | None, approval: str,
             references: list[ReferenceVerdict], before: dict[str, str] | None = None,
             deliverables: list[Deliverable] | None = None,
             size: tuple[int, int] | None = None) -> SceneRound | State[SceneRound]:

    """The scene's result and the state it ends in: a concluded SceneRound (in a Completed-type
    state when it has a name of its own), or a Failed one carrying the result (`ended`). `size`:
    the cut's (an upscaled scene's is larger than its shots'); else its largest shot's."""
    log = get_run_logger()
    gov = run.crew.governor
    output, duration, cut = made or (None, None, None)
    reports_ = []
    for p in plans:
        c, pn = clips[p.shot], panels[p.shot]
        unread = unjudged(pn, c) if c.clip_uri else []
        status = ("escalated" if c.clip_uri and c.dialogue_failed else "unjudged" if unread
                  else "approved" if c.clip_uri else "rejected" if c.rejected
                  else "halted" if c.halted or pn.halted or c.held_for_retake else "escalated")
        why = f"the judge could not read it, let through by --cannot-judge warn: {'; '.join(unread)}" if unread else ""
        best = _best(pn, c) if status == "escalated" and not c.dialogue_failed else None
        reports_.append(ShotReport(shot=p.shot, panel_takes=len(pn.takes), video_takes=len(c.takes), status=status,
                                   reason=(c.dialogue_failed if c.clip_uri else None) or why or c.rejected
                                   or c.halted or pn.halted or c.held_for_retake or c.escalated or pn.escalated or "",
                                   picture_kept=bool(c.clip_uri and c.dialogue_failed),
                                   started_from=c.started_from, drift=c.drift.drift if c.drift else None,
                                   reanchored=c.reanchor, continuity=c.continuity, drift_detail=c.drift.as_dict() if c.drift else None,
                                   best_take=best, lip_sync=list(c.lip_sync), upscale=c.upscale,
                                   # judged takes gave up (a loop that never ran has none), and no person said no
                                   settled=best is not None and not c.declined))
    # Every take this run made or walked, kept for the dailies (flows/review/rushes.py).
    record_rushes(run.root, film=run.film, scene=run.scene, profile=run.profile, run_id=run.run_id, plans=plans,
                  panels=panels, clips=clips, statuses={r.shot: r.status for r in reports_})
    result = SceneResult(film=run.film, scene=run.scene, profile=run.profile, run_id=run.run_id, output=output,
                         contact_sheet=sheet, duration=duration, width=size[0] if size else max(p.width for p in plans),
                         height=size[1] if size else max(p.height for p in plans),
                         provider_calls=calls_made(gov.ledger, run.run_id, run.scene), shots=reports_,
                         halted=str(gov.halted) if gov.halted else None, approval=approval,
                         references=[ReferenceReport.of(v) for v in references], cut=cut, estimate=before or {},
                         deliverables=deliverables or [],
                         spent_usd=str(gov.ledger.totals(film=run.film, run_id=run.run_id, scene=run.scene).committed))
    escalated = result.escalated
    if gov.halted is not None:
        # Named for what stopped it; type Failed so a nightly run that halted is not mistaken
        # for a finished one. Everything made so far is cached: raise the cap and run again.
        name = "Halted" if gov.halted.kind == "budget" else "Stopped"
        log.error("%s: %s", name.lower(), gov.halted)
        return ended(name, str(gov.halted), result)
    unknown = [s for s in result.shots if s.status == "halted"]
    if unknown:
        return ended("Halted", halted_message(unknown), result)
    if not output:
        rejected_all = result.shots and all(s.status == "rejected" for s in result.shots)
        if rejected_all:
            return Completed(data=SceneRound(stage="concluded", result=result), name="Rejected", message="no shot was approved for the final video")
        return ended("Failed", f"no shot of scene {run.scene} passed its gates", result)
    if escalated:
        names = ", ".join(f"{s.shot} ({s.reason[:80]})" for s in escalated)
        log.warning("escalated: %s", names)
        return Completed(data=SceneRound(stage="concluded", result=result), name="Escalated",
                         message=escalated_message(result))
    unread = [s.shot for s in result.shots if s.status == "unjudged"] + \
        [r.key for r in result.references if r.unjudged]
    if unread:
        # A rehearsal: every shot made, but not judged. Never a plain "Completed", never in the can.
        log.warning("unjudged (cannot_judge = warn): %s", ", ".join(unread))
        return Completed(data=SceneRound(stage="concluded", result=result), name="Unjudged",
                         message=f"{len(unread)} unjudged (the judge could not read them; a rehearsal): "
                                 + ", ".join(unread))
    return SceneRound(stage="concluded", result=result)

