"""The scene flow: one scene of a film, from the bible lock to a stitched, validated mp4.

    reference check ─► shoot-panels (every shot at once) ─► shoot-video (chains in order) ─► stitch
                                                                                        └─► contact sheet

Panels of different shots run in parallel; a chained shot's video waits for the previous
shot's clip (its last frame is the chained shot's first). A shot that cannot pass a gate is
escalated and left out; the rest of the scene goes on and the run ends in a state named
"Escalated" that lists them. Results are cached by content, so running a finished scene
again calls no provider.

It must never spend before the manifests and references are known good, and never hide an
escalation inside a "Completed".
"""
from __future__ import annotations

import dataclasses
import re
import shutil
import time
from decimal import Decimal
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import deployment, flow_run
from prefect.states import State
from prefect.exceptions import CancelledRun, CrashedRun, FailedRun
from prefect.states import Completed, Failed
from pydantic import BaseModel

from flows import reports
from flows.logs import slate_lines_on_the_run
from flows.lifeline import hold_lifeline, stop_on_cancel
from flows.lot import on_the_lot, wrap_up
from flows.approval import (EXPIRED, ApprovalExpired, Decision, ShotToApprove, answered_before, decide,
                            description, form_for, retake_description, wait_for_person)
from flows.options import (APPROVE_FALLBACK, CANNOT_JUDGE, CAP, FROM_SETTINGS, JUDGE, PANEL_MODEL, PRICE_AS, PROFILE,
                           PROJECT, PROVIDER, SCENE, TAKES, VIDEO_MODEL, CannotJudgeChoice, ModelList, ModelText,
                           PositiveInt, ProfileChoice, ProviderChoice, chosen, given_of)
from flows.shot import ClipOutcome, Finals, PanelOutcome, Take, best_take, shoot_panels, shoot_video, unjudged
from governor.budget import SlateBudget, block_name, load_or_create
from governor.chokepoint import CallContext, CallSpec, Units
from governor.gates import against, judge_kind
from governor.money import fmt_usd
from manifests.profiles import PROFILES
from providers.base import fingerprint
from manifests import load_film
from media import contact_sheet
from manifests.settings import project_settings
from governor.estimate import estimate_scene, takes_so_far
from providers.keys import install_log_redaction
from providers.registry import Lineup, ModelRef
from tasks.doctor import blocking, check_lineup, line
from tasks.cache import result_storage
from tasks.context import RunSpec, emit, in_project, run_spec, studio
from tasks.continuity import continuity_check, shares_the_scene
from tasks.plan import ShotPlan, plan_scene
from tasks.preflight import preflight, refused
from tasks.reference_gate import hold_references
from tasks.soundstage import on_stage
from tasks.bible_lock import check_references
from tasks.stitch import stitch_scene
from tasks.assembly import finishing_inputs
from tasks.finish import finish_scene
from tasks import export
from tasks.can import from_the_can, into_the_can, read_record, scene_key_of, write_record


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
    drift_detail: dict | None = None  # every figure of the drift check: SSIM, colour, CLIP
    best_take: dict | None = None     # an escalated shot's best take: its scores and the judge's reasons


class ReferenceReport(BaseModel):
    """A turnaround's or plate's verdict at the reference gate."""

    key: str
    passed: bool
    scores: str                      # each score against its threshold, lowest margin first
    warnings: list[str] = []
    unjudged: list[str] = []         # a rehearsal let it through: what slate could not read in it

    @classmethod
    def of(cls, verdict: dict) -> "ReferenceReport":
        ranked = sorted(verdict["scores"], key=lambda s: s["value"] - s["threshold"])
        return cls(key=verdict["key"], passed=verdict["passed"], warnings=verdict.get("warnings", []),
                   unjudged=list(verdict.get("unjudged") or []),
                   scores=", ".join(f"{s['name']} {against(s['value'], s['threshold'], '/')}" for s in ranked))


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
    estimate: dict = {}

    @property
    def escalated(self) -> list[ShotReport]:
        return [s for s in self.shots if s.status == "escalated"]


class SceneEnded(Exception):
    """A scene run that stopped before it finished (Halted, Stopped, Failed): its message is
    why, and `result` what was made so far. A Failed state's data must be an exception — a
    SceneResult there made Prefect log a TypeError instead of the reason."""

    def __init__(self, message: str, result: SceneResult | None = None):
        super().__init__(message)
        self.result = result

    def __reduce__(self):
        return (type(self), (str(self), self.result))


def scene_result(state) -> SceneResult | None:
    """What a scene run made, whether it finished or not."""
    data = state.result(raise_on_failure=False)
    if isinstance(data, SceneEnded):
        return data.result
    return data if isinstance(data, SceneResult) else None


def ended(name: str, message: str, result: SceneResult | None = None):
    """A Failed-type end state carrying the reason as an exception (no traceback is logged for it)."""
    return Failed(data=SceneEnded(message, result), name=name, message=message)


def renders_dir(root: Path) -> Path:
    path = root / "renders"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _outcome(future, shot: str, cls, waited_on=None):
    """What a shot's loop came to. One that did not finish is reported as an escalation of its
    shot, in slate's words (never a Prefect internal such as "Run is in PENDING state"), not as
    a lost scene. `waited_on()` says what a loop that never started was waiting for."""
    future.wait()
    state = future.state
    if state.is_completed():
        return future.result()
    return cls(shot=shot, escalated=unfinished(future, state, waited_on))


def unfinished(future, state, waited_on=None) -> str:
    """Why a shot's loop ended without an outcome, for a person."""
    if state.is_pending() or state.is_scheduled():
        # Prefect leaves a task whose inputs did not finish "NotReady": it never ran.
        return "not started: " + ((waited_on() if waited_on else None) or "what it waited for did not finish")
    if state.is_crashed():
        return "its process stopped while the shot was being made (crashed); run again: what was made is cached"
    if state.is_cancelled():
        return "cancelled before it finished"
    try:
        future.result()
    except Exception as exc:  # noqa: BLE001 — the reason goes into the shot's report
        if type(exc).__module__.split(".")[0] == "prefect":
            return f"stopped before it finished ({state.name}: {state.message or 'no reason given'})"
        return f"stopped by an error: {type(exc).__name__}: {exc}"
    return f"ended {state.name}"


@task(name="contact-sheet", cache_policy=NO_CACHE)
def make_contact_sheet(run: RunSpec, plans: list[ShotPlan], panels: dict[str, PanelOutcome], out: str,
                       clips: dict[str, ClipOutcome] | None = None) -> str:
    """Every shot's panel (and, once there are clips, its keyframes) with verdict badges."""
    entries = reports.contact_entries(plans, panels, clips, studio(run).storage.open_local)
    return str(contact_sheet(entries, Path(out), columns=reports.contact_columns(clips)))


def _transitions(plans: list[ShotPlan], approved: list[str]) -> list[list]:
    """Between two approved clips, the earlier one's transition — unless a shot between them
    was escalated, where the gap is a plain cut."""
    index = {p.shot: p for p in plans}
    out = []
    for a, b in zip(approved, approved[1:]):
        pa = index[a]
        adjacent = index[b].index == pa.index + 1
        out.append([pa.transition, pa.transition_seconds] if adjacent and pa.transition == "dissolve" else ["cut", 0.0])
    return out


def film_budget(film_id: str, settings, *, cap: Decimal | None, max_takes: int | None,
                root: Path | None = None) -> SlateBudget:
    """The film's `slate-budget` block (made from the settings the first time), with this
    run's command-line overrides on top."""
    if root is not None and (cap is not None or max_takes is not None):
        # The block is made from the film's own settings (slate.toml, SLATE_*), never from one
        # run's flags: a `--cap 0.50` rehearsal must not become every later run's cap. The run's
        # settings carry its flags, so the film's are read again without them.
        from manifests.settings import check_settings
        own, problems = check_settings(root)
        settings = own if own is not None and not problems else settings
    defaults = SlateBudget(run_cap_usd=settings.run_cap_usd, film_cap_usd=settings.film_cap_usd,
                           max_takes=settings.max_takes, no_progress_takes=settings.no_progress_takes)
    budget, created = load_or_create(film_id, defaults)
    if created:
        get_run_logger().info("budget block slate-budget/%s created from settings: edit it on the Blocks page",
                              block_name(film_id))
    updates = {k: v for k, v in {"run_cap_usd": cap, "max_takes": max_takes}.items() if v is not None}
    return budget.model_copy(update=updates) if updates else budget


SCRATCH_STALE_SECONDS = 6 * 3600


def sweep_scratch(root: Path, keep: str) -> None:
    """Remove scratch folders of runs that were killed (untouched for hours): keyframes and
    stitches in the making. A live run of another scene keeps its folder busy and young."""
    scratch = root / ".slate" / "scratch"
    if not scratch.is_dir():
        return
    now = time.time()
    for folder in scratch.iterdir():
        if folder.name != keep and folder.is_dir() and now - folder.stat().st_mtime > SCRATCH_STALE_SECONDS:
            shutil.rmtree(folder, ignore_errors=True)


def _estimate_before(run: RunSpec, plans: list[ShotPlan]) -> dict:
    """The scene's estimate as it stands before its first paid call: one take per shot, the
    expected bill, and the takes its shots needed so far (its ledger; none yet: the take policy)."""
    try:
        gov = studio(run).governor
        so_far = takes_so_far([r for r in gov.ledger.rows(film=run.film) if r.stage in ("panel", "video")], run.scene)
        est = estimate_scene(plans, studio(run).pricing, takes=so_far or None, max_takes=run.max_takes,
                             vision_judge=judge_kind(ModelRef.parse(run.judge_model).provider) == "vision")
        return {"low": str(est.low), "expected": str(est.total), "high": str(est.high),
                "planned_seconds": str(est.delivered)}
    except Exception as exc:  # noqa: BLE001 — the reports' figure, never a reason to stop a run
        log.warning("no estimate for the reports: %s", exc)
        return {}


def provider_checks(run: RunSpec, plans: list[ShotPlan]):
    """`slate doctor`'s checks for this run's lineup, with the scene's estimate held to what each
    key has left: a Failed "Refused" state listing what blocks, or None."""
    chosen = Lineup(ModelRef.parse(run.panel_model), tuple(ModelRef.parse(v) for v in run.video_models),
                    ModelRef.parse(run.judge_model))
    expected = estimate_scene(plans, studio(run).pricing).total
    findings = check_lineup(run.root, chosen, run.base_urls, run.video_slots, estimate=expected)
    stops = blocking(findings)
    if not stops:
        return None
    report = "\n".join(line(f) for f in stops)
    get_run_logger().error("refused before spending:\n%s", report)
    return Failed(name="Refused", message=report)


def top_run_id() -> str:
    """The run caps are counted against: the top-level flow run (a film run and all its scenes),
    not this scene's own sub-flow run."""
    return str(flow_run.root_flow_run_id or flow_run.get_id() or "local")


def calls_made(ledger, run_id: str, scene: str) -> int:
    """Provider calls this run made for this scene, counted where they land: ledger rows that
    reached the provider (refused and released rows never did)."""
    return sum(1 for r in ledger.rows(run_id=run_id) if r.scene == scene and r.status not in ("refused", "released"))


def _run_name() -> str:
    params = flow_run.parameters
    profile = params.get("profile") or FROM_SETTINGS
    return f"{params.get('scene') or 'scene'}-{'default' if profile == FROM_SETTINGS else profile}"


class PanelsDone(BaseModel):
    """The panels phase of a scene that needs approval: every shot's panels, and the contact sheet."""

    plans: list[ShotPlan]
    panels: dict[str, PanelOutcome]
    contact_sheet: str


@flow(name="scene", flow_run_name=_run_name, log_prints=False, on_cancellation=[stop_on_cancel])
def scene_flow(project: str = PROJECT,
               scene: ModelText = SCENE,
               profile: ProfileChoice = PROFILE,
               provider: ProviderChoice = PROVIDER,
               panel_model: ModelText = PANEL_MODEL,
               video_model: ModelText = VIDEO_MODEL,
               judge: ModelText = JUDGE,
               cap: ModelText = CAP,
               price_as: ModelText = PRICE_AS,
               max_takes: PositiveInt = TAKES,
               approve_fallback: ModelList = APPROVE_FALLBACK,
               cannot_judge: CannotJudgeChoice = CANNOT_JUDGE):
    """Render one scene of a film: every shot through its gates, approved by a person before any
    final video (final and hero profiles), stitched into one mp4."""
    install_log_redaction()  # a deployment's worker has no CLI to install it
    slate_lines_on_the_run()  # the governor's and providers' lines on this run's page
    hold_lifeline(get_run_logger())  # a deployment run's process dies with the worker that started it
    root, store = on_the_lot(project)
    with on_stage(top_run_id()):  # the run's services, closed when its body ends (tasks/soundstage.py)
        outcome = _scene(root, scene, profile, provider, panel_model, video_model, judge, cap, price_as, max_takes,
                         approve_fallback, cannot_judge)
    wrap_up(root, store)
    if deployment.id:
        leave_word(root, made_by(outcome))
    return outcome


def made_by(outcome) -> SceneResult | None:
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


def _scene(root: Path, scene, profile, provider, panel_model, video_model, judge, cap, price_as, max_takes,
           approve_fallback, cannot_judge=FROM_SETTINGS):
    given = given_of(profile=profile, provider=provider, price_as=price_as, judge=judge, panel_model=panel_model,
                     video_model=video_model, cannot_judge=cannot_judge, cap=cap, approve_fallback=approve_fallback,
                     max_takes=max_takes)
    # Before anything else (settings, the budget block, the ledger): every problem a run would
    # meet later, refused now as one "Refused" state listing them, with nothing spent. A scene
    # of a film run in this process is handed the film's check instead (tasks/preflight.py).
    checked = preflight(root, scene=chosen(scene), whole_film=False, **given)
    if not checked.ok:
        return refused(checked)
    settings = checked.settings
    run_cap, takes = given["run_cap_usd"], given["max_takes"]
    film = checked.film
    scene_id = chosen(scene) or film.scenes[0][1].id
    run, shelf, key = keyed_scene(root, scene_id, film, settings, cap=run_cap, max_takes=takes)
    shoot = shoot_scene.with_options(result_storage=shelf)
    # An unchanged scene that finished clean before is one lookup: no task, call or approval.
    served = served_from_the_can(run, shelf, key)
    if served is not None:
        result, made_by = served
        return _finish(run, result, Completed(data=result, message=f"unchanged since run {made_by}"))
    progress = reports.start_progress(run)
    try:
        decision, finals = None, None
        if PROFILES[run.profile].needs_approval:
            first = shoot(run, panels_only=True, return_state=True)
            if not first.is_completed():
                return _ended_from(first)
            done = first.result()
            if isinstance(done, SceneResult):  # nothing could be approved (every panel escalated, or refused)
                return _finish(run, done, Completed(data=done, name=first.name, message=first.message))
            try:
                decision, finals = approve_finals(run, settings, done)
            except ApprovalExpired as exc:
                return ended(EXPIRED, str(exc), None)
        said = [decision.summary()] if decision else []
        inner = shoot(run, rejected=decision.rejected if decision else [], approval="; ".join(said), finals=finals,
                      return_state=True)
        round_ = 1
        # What was approved is an amount: retakes past it wait for a person, round after round.
        while inner.is_completed() and isinstance(held := inner.result(), RetakesHeld):
            round_ += 1
            more, finals = approve_retakes(run, settings, held, finals, round_)
            said.append(f"retakes: {more.summary()}")
            inner = shoot(run, rejected=decision.rejected, approval="; ".join(said), finals=finals,
                          return_state=True)
        progress.finish()
    finally:
        progress.stop()  # a scene that ended early leaves its bar where its shots got to
    if inner.is_failed() or inner.is_crashed() or inner.is_cancelled():
        return _ended_from(inner, run)
    result = inner.result()
    if isinstance(result, SceneResult) and inner.name == "Completed":
        into_the_can(run, shelf, key, result.model_dump(mode="json"))
    return _finish(run, result, Completed(data=result, name=inner.name, message=inner.message))


def keyed_scene(root: Path, scene_id: str, film, settings, *, cap: Decimal | None, max_takes: int | None):
    """The scene's RunSpec in this run, its result store and its can key (tasks/can.py): as the
    scene flow makes them, and as the film makes them to serve an unchanged scene itself."""
    budget = film_budget(film.film.id, settings, cap=cap, max_takes=max_takes, root=Path(root))
    run = run_spec(root, scene_id, film.film.id, settings, top_run_id(), budget.takes(),
                   (budget.run_cap_usd, budget.film_cap_usd))
    # Task results live beside the artifacts they name (the project's .slate/results, or the
    # film's bucket so every worker shares them): the sub-flows are bound to that store because
    # a flow's result store is fixed before its body.
    shelf = result_storage(root, settings.storage)
    return run, shelf, scene_key_of(run, film, studio(run).gates.fingerprint)


def served_from_the_can(run: RunSpec, shelf, key: str) -> tuple[SceneResult, str] | None:
    """The scene's result and the run that made it, when it finished clean before with this key
    and its cut is there (nothing to make, nothing paid); None otherwise."""
    canned = from_the_can(run, shelf, key)
    if canned is None:
        return None
    get_run_logger().info("scene %s: unchanged since run %s; its cut is in the can, nothing to make",
                          run.scene, canned.get("run_id"))
    result = SceneResult(**{**canned, "run_id": run.run_id, "provider_calls": 0, "spent_usd": "0"})
    return result, str(canned.get("run_id"))


def _ended_from(state, run: RunSpec | None = None):
    """A sub-flow's failed end as this run's end (a bug of ours is raised: its traceback matters)."""
    data = state.result(raise_on_failure=False)
    if isinstance(data, SceneEnded):
        if run is not None and data.result is not None:
            reports.scene_artifacts(run, data.result)
        return ended(state.name, state.message or str(data), data.result)
    if isinstance(data, BaseException) and not isinstance(data, (FailedRun, CrashedRun, CancelledRun)):
        raise data  # an exception of our own code: its traceback is worth seeing
    # A named refusal or failure with nothing made (Prefect wraps its message as FailedRun).
    return Failed(name=state.name, message=state.message or "the scene failed")


def _finish(run: RunSpec, result: SceneResult, state):
    reports.scene_artifacts(run, result)
    return state


def _score_lines(take: Take | None) -> list[str]:
    """A take's gate scores by name against their thresholds, with the judge's reasons."""
    if take is None:
        return []
    lines = []
    for s in sorted(take.scores, key=lambda s: (s.get("role") != "block", s["value"] - s["threshold"])):
        mark = "" if s.get("passed") else (" — below" if s.get("role", "block") == "block" else " — warning")
        lines.append(f"**{s['name']}** {against(s['value'], s['threshold'])}{mark}: {s.get('reason', '')}")
    return lines + [f"not judged (--cannot-judge warn): {why}" for why in take.unjudged]


def _caps(st) -> str:
    return "; ".join(f"per-{c.scope} {fmt_usd(c.limit)}" for c in st.governor.caps)


def _show_sheet(run: RunSpec, sheet: str, wait: str) -> str:
    """The contact sheet on the run's page while a person decides (the same key the finished
    run's sheet takes; not again when a resumed run meets the answered `wait` again); its key,
    for the form to name."""
    name = reports.key(run.film, run.scene, run.profile, "contact-sheet")
    if sheet and Path(sheet).is_file() and not answered_before(wait):
        reports.contact_sheet_artifact(run, Path(sheet))
    return name


def _note_decision(run: RunSpec, decision: Decision, stage_take: int) -> None:
    """The decision as a $0 ledger row, once: a resumed run meets its answered waits again."""
    st = studio(run)
    fp = fingerprint({**decision.model_dump(exclude={"at"}), "round": stage_take})
    if any(r.stage == "approval" and r.fingerprint == fp for r in st.governor.ledger.rows(run_id=run.run_id)):
        return
    st.governor.note(CallSpec(CallContext(run.run_id, run.film, run.scene, "*", "approval", stage_take, "person",
                                          decision.by or "unknown", run.profile), Units("image"), fp),
                     "Approval", decision.summary())
    get_run_logger().info("scene %s: %s", run.scene, decision.summary())


def approve_finals(run: RunSpec, settings, done: PanelsDone) -> tuple[Decision, Finals]:
    """Wait for a person to approve the final video of the shots whose panels passed: the
    decision (a $0 ledger row) and what it approves — the chosen clips' estimate plus the
    retake allowance the person gave."""
    st = studio(run)
    ready = [p for p in done.plans if "start" in done.panels[p.shot].approved]
    shots, costs = [], {}
    for p in ready:
        passed = [t for t in done.panels[p.shot].takes if t.passed and t.moment == "start"]
        costs[p.shot] = st.pricing.estimate(Units("video", seconds=p.duration, resolution=p.resolution, audio=p.audio),
                                            run.video_models[0])
        shots.append(ShotToApprove(shot=p.shot, panel_uri=done.panels[p.shot].approved["start"],
                                   scores=_score_lines(passed[-1] if passed else None),
                                   video_cost=fmt_usd(costs[p.shot]),
                                   detail=f"{p.duration:g} s at {p.resolution}"))
    total = sum(costs.values(), Decimal(0))
    text = description(run.scene, run.profile, shots, st.storage.open_local, fmt_usd(total), _caps(st),
                       fmt_usd(st.governor.remaining()),
                       _show_sheet(run, done.contact_sheet, f"approve-{run.scene}-{run.profile}"))
    ids = [s.shot for s in shots]
    answer = wait_for_person(Path(run.root), run.scene, run.profile, form_for(ids), text, ids,
                             settings.approval_timeout_hours, what=f"{len(ids)} clip(s), {fmt_usd(total)}")
    decision = decide(answer, ids)
    approved = sum((costs[s] for s in decision.approved), Decimal(0)) + Decimal(decision.allowance)
    decision = decision.model_copy(update={"approved_usd": str(approved)})
    _note_decision(run, decision, 0)
    return decision, Finals(approved=str(approved), first_takes={s: str(costs[s]) for s in decision.approved},
                            by=decision.by)


def approve_retakes(run: RunSpec, settings, held: "RetakesHeld", finals: Finals,
                    round_: int) -> tuple[Decision, Finals]:
    """The same form again, for clips whose next take would pass the amount approved: what was
    taken of it, why each clip failed, what its retake costs. An approved shot's retake is added
    to the amount; the others are declined (escalated). Nobody answering in time declines them."""
    st = studio(run)
    shots, costs = [], {}
    for p in held.plans:
        clip = held.clips[p.shot]
        if not clip.held_for_retake or clip.retake_cost is None:
            continue  # a chained shot waiting on the one before it costs nothing more to approve
        last = next((t for t in reversed(clip.takes) if t.uri), None)
        costs[p.shot] = Decimal(clip.retake_cost or "0")
        shots.append(ShotToApprove(shot=p.shot, panel_uri=(last.keyframes.get("last") if last else None)
                                   or held.panels[p.shot].approved["start"],
                                   scores=_score_lines(last), video_cost=f"retake {fmt_usd(costs[p.shot])}",
                                   detail=clip.held_for_retake))
    ids = [s.shot for s in shots]
    allowance = st.stage.allowances.for_scene(run.run_id, run.scene, Decimal(finals.approved), {})
    wait = f"approve-{run.scene}-{run.profile}-retakes-{round_}"
    text = retake_description(run.scene, run.profile, shots, st.storage.open_local, fmt_usd(Decimal(finals.approved)),
                              fmt_usd(allowance.charged), _caps(st), fmt_usd(st.governor.remaining()),
                              _show_sheet(run, held.contact_sheet, wait))
    try:
        answer = wait_for_person(Path(run.root), run.scene, run.profile, form_for(ids), text, ids,
                                 settings.approval_timeout_hours, key=wait,
                                 what=f"{len(ids)} retake(s), {fmt_usd(sum(costs.values(), Decimal(0)))}")
        decision = decide(answer, ids)
    except ApprovalExpired:
        decision = Decision(approved=[], rejected=ids, by="nobody (the approval expired)", at=_now(), notes="")
    approved = Decimal(finals.approved) + sum((costs[s] for s in decision.approved), Decimal(0)) + \
        Decimal(decision.allowance)
    decision = decision.model_copy(update={"approved_usd": str(approved)})
    _note_decision(run, decision, round_)
    return decision, finals.model_copy(update={"approved": str(approved), "by": decision.by,
                                               "declined": finals.declined + decision.rejected})


def _now() -> str:
    from datetime import datetime, timezone
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class RetakesHeld(BaseModel):
    """A final scene whose clips' next takes would pass the amount a person approved: every
    shot's panels and clips so far, and the contact sheet, for the person asked again."""

    plans: list[ShotPlan]
    panels: dict[str, PanelOutcome]
    clips: dict[str, ClipOutcome]
    contact_sheet: str


@flow(name="shoot-scene", flow_run_name="shoot-{run.scene}")
def shoot_scene(run: RunSpec, panels_only: bool = False, rejected: list[str] = [],  # noqa: B006
                approval: str = "", finals: Finals | None = None):
    """Every shot of the scene through its gates. With `panels_only`, stop once every panel is
    judged (for a person to approve the finals); `rejected` shots get no video; with `finals`,
    a video take past the amount approved is not sent: the scene stops before its stitch
    (RetakesHeld) for a person to be asked again."""
    root = Path(run.root)
    film = load_film(root)
    studio(run).pricing  # an unpriced model or a bad --price-as stops here, before any money
    sweep_scratch(root, keep=run.run_id)
    lock = check_references(run, film)
    plans = plan_scene(film, run.scene, lock, run.profile, run.fps, panel_model=run.panel_model,
                       video_model=run.video_models[0], audio=run.model_audio)
    # Before the first paid call: the providers' keys, credit and prices (what `slate doctor` says).
    refusal = provider_checks(run, plans)
    if refusal is not None:
        return refusal
    before = _estimate_before(run, plans)
    # Before any panel or clip: every turnaround and plate through the reference gate.
    references, refusal = hold_references(run, film, lock)
    if refusal is not None:
        return refusal
    emit(event="plan", scene=run.scene, shots=[p.shot for p in plans])
    panel_futures = {p.shot: shoot_panels.submit(run, p) for p in plans}
    out_dir = renders_dir(root)
    stem = re.sub(r"[^a-z0-9-]+", "-", f"{run.scene}-{run.profile}".lower())
    if panels_only:
        panels = {p.shot: _outcome(panel_futures[p.shot], p.shot, PanelOutcome) for p in plans}
        sheet = make_contact_sheet(run, plans, panels, str(out_dir / f"{stem}-contact.png"))
        gov = studio(run).governor
        if gov.halted is None and any("start" in panels[p.shot].approved for p in plans):
            return PanelsDone(plans=plans, panels=panels, contact_sheet=sheet)
        clips = {p.shot: ClipOutcome(shot=p.shot, seconds=p.duration) for p in plans}
        return _conclude(run, plans, panels, clips, sheet, None, approval, references, before)
    clip_futures = {}
    # Everyone of the scene, for the keyframe gate to tell an extra person in a clip by.
    cast = {c["id"]: {"turnaround_uri": c["turnaround_uri"], "wardrobe_colour": c.get("wardrobe_colour")}
            for p in plans for c in p.start["characters"]}
    for p in plans:
        previous = clip_futures[plans[p.index - 1].shot] if p.chain else None
        if p.shot in rejected:
            clip_futures[p.shot] = reject_shot.submit(p.shot, p.duration, approval)
        else:
            clip_futures[p.shot] = shoot_video.submit(run, p, panel_futures[p.shot], previous, finals, cast)
    panels, clips = hold_the_cuts(run, film, plans, panel_futures, clip_futures)
    if any(c.held_for_retake for c in clips.values()) and studio(run).governor.halted is None:
        # Not stitched yet: the scene's cut waits for what the person says about the retakes.
        sheet = make_contact_sheet(run, plans, panels, str(out_dir / f"{stem}-contact.png"), clips)
        return RetakesHeld(plans=plans, panels=panels, clips=clips, contact_sheet=sheet)
    # The sheet is drawn while the cut is stitched: neither needs the other.
    sheet_drawn = make_contact_sheet.submit(run, plans, panels, str(out_dir / f"{stem}-contact.png"), clips)
    approved = [p.shot for p in plans if clips[p.shot].clip_uri]
    gov = studio(run).governor
    # A scene that did not finish (halted, stopped, a call of unknown outcome) publishes its
    # cut as a partial one, never under the finished scene's name.
    finished = gov.halted is None and not any(clips[p.shot].halted or panels[p.shot].halted for p in plans)
    output, duration, cut = None, None, None
    if approved:
        width = max(p.width for p in plans)
        height = max(p.height for p in plans)
        stitched = in_project(stitch_scene, run, run.scene, [[clips[s].clip_uri, clips[s].seconds] for s in approved],
                              _transitions(plans, approved), width, height, run.fps,
                              artifacts=lambda r: [r["uri"]])
        inputs, graded = _finishing_pass(run, root, film, [(s, clips[s].clip_uri, clips[s].seconds) for s in approved],
                                         _transitions(plans, approved), width, height)
        made = graded or stitched
        output = str(out_dir / (f"{stem}.mp4" if finished else f"{stem}.partial-{len(approved)}-of-{len(plans)}.mp4"))
        tmp = Path(output + ".part")
        shutil.copyfile(studio(run).storage.open_local(made["uri"]), tmp)
        tmp.replace(output)
        _timeline(run, root, plans, panels, clips, approved, inputs, graded, output, width, height)
        duration, cut = made["duration"], made["uri"]
    sheet = sheet_drawn.result()
    return _conclude(run, plans, panels, clips, sheet, (output, duration, cut), approval, references, before)


def _finishing_pass(run: RunSpec, root: Path, film, approved: list[tuple[str, str, float]], transitions: list[list],
            width: int, height: int) -> dict | None:
    """The finishing pass after the stitch (issue 23), when the film asks for one: the graded cut
    with its sound. Cached by content apart from the stitch: a changed LUT or cue makes only this."""
    inputs = finishing_inputs(studio(run), root, film, run.scene, approved, transitions, run.profile)
    if inputs is None:
        return None, None
    made = in_project(finish_scene, run, run.scene, inputs["shots"], inputs["cues"], inputs["lut"], inputs["edit"],
                      width, height, run.fps, artifacts=lambda r: [r["uri"]])
    if made.get("loudness") is not None:
        get_run_logger().info("finished scene %s: %.1f LUFS (target %g), true peak %.1f dBTP", run.scene,
                              made["loudness"], made["target_lufs"], made["true_peak"])
    return inputs, made


def _timeline(run: RunSpec, root: Path, plans, panels, clips, approved: list[str], inputs: dict | None,
              graded: dict | None, output: str, width: int, height: int) -> None:
    """The scene's edit as `slate export` reads it (tasks/export.py): every shot with its approved
    clip, in/out, transition, take, scores and status; the cues where they were placed. With a
    finishing pass, its OpenTimelineIO export is written beside the record too."""
    st = studio(run)
    rows = {row["uri"]: row for row in (inputs or {}).get("shots", [])}
    shots = []
    for p in plans:
        c, pn = clips[p.shot], panels[p.shot]
        last = c.takes[-1] if c.takes else None
        row = rows.get(c.clip_uri or "", {})
        status = "approved" if c.clip_uri else ("rejected" if c.rejected else "escalated")
        shots.append({"shot": p.shot, "status": status,
                      "reason": c.rejected or c.escalated or pn.escalated or c.halted or pn.halted or "",
                      "media": export.media_path(st.storage, c.clip_uri) if c.clip_uri else None,
                      "seconds": c.seconds, "trim_in": row.get("trim_in", 0.0), "trim_out": row.get("trim_out", 0.0),
                      "transition": row.get("transition") or [p.transition if p.transition == "dissolve" else "cut",
                                                              p.transition_seconds if p.transition == "dissolve" else 0.0],
                      "take": last.take if last else None,
                      "scores": {s["name"]: s["value"] for s in (last.scores if last else []) if s.get("name")},
                      "warnings": list(last.warnings) if last else []})
    total = graded["duration"] if graded else float("inf")
    cues = [{"file": c.get("file", ""), "media": export.media_path(st.storage, c["uri"]),
             "kind": c["kind"], "start": c["start"], "offset": c["offset"],
             # as long as it is heard: to the file's end, its `length`, or the scene's end
             "seconds": min(c["seconds"] - c["offset"], c["length"] or c["seconds"], total - c["start"]),
             "gain_db": c["gain_db"]} for c in (inputs or {}).get("cues", []) if c["start"] < total]
    record = export.timeline_record(film=run.film, scene=run.scene, profile=run.profile, fps=run.fps, width=width,
                                    height=height, output=output, shots=shots, cues=cues, finished=graded)
    path = export.write_record(export.record_path(root, run.scene, run.profile), record)
    if graded is not None:
        # Beside the record, not in renders/: what renders/ holds is what the can restores.
        written = export.write_timeline(export.build_timeline([record]), "otio", path.with_suffix(".otio"))
        get_run_logger().info("timeline for an editor: %s (slate export %s --format fcp7|edl for the others)",
                              written, root)


def hold_the_cuts(run: RunSpec, film, plans: list[ShotPlan], panel_futures, clip_futures):
    """Every shot's panels and clip as they land, and the continuity gate over the scene's cuts,
    in order: each approved shot against the last approved one before it, when they share a
    place or someone. A cut that does not hold escalates the later shot (the stitch then joins
    the shots either side of it). Returns (panels, clips) by shot.

    A cut is judged as soon as the two clips either side of it are in, in whatever order the
    clips land, while the scene's other shots still render (`judge_cut`): judged one after
    another once the whole scene was in, the cuts were the scene's tail — with a vision judge,
    one paid call after another while nothing else ran. The gate then reads the verdicts in
    order. A cut judged early against a shot that its own cut later drops is judged again
    against the shot before that one (with a vision judge, one call more, only when a cut
    fails)."""
    from prefect.futures import as_completed

    st = studio(run)
    judging = st.gates.enabled("continuity") or st.gates.rules("continuity", "local", run.profile)
    scene = film.scene(run.scene)
    index = {p.shot: p for p in plans}
    panels: dict[str, PanelOutcome] = {}
    clips: dict[str, ClipOutcome] = {}
    early: dict[tuple[str, str], object] = {}  # (previous shot, shot) -> the verdict's future

    def waited_on(p: ShotPlan):
        """What a clip that never started waited for: its panels, or the shot before it in its chain."""
        def why() -> str | None:
            pn = panels.get(p.shot) or _outcome(panel_futures[p.shot], p.shot, PanelOutcome)
            if "start" not in pn.approved:
                return f"its panels did not finish ({pn.escalated or pn.halted or 'no panel passed'})"
            if p.chain and p.index > 0:
                prev = plans[p.index - 1]
                c = clips.get(prev.shot) or _outcome(clip_futures[prev.shot], prev.shot, ClipOutcome, waited_on(prev))
                why = c.escalated or c.halted or "no clip"
                return f"shot {prev.shot}, before it in its chain, did not finish ({why})"
            return None
        return why

    def land(shot: str) -> None:
        panels[shot] = _outcome(panel_futures[shot], shot, PanelOutcome)
        clips[shot] = _outcome(clip_futures[shot], shot, ClipOutcome, waited_on(index[shot]))

    def cut_args(previous: ShotPlan, p: ShotPlan) -> tuple:
        clip = clips[p.shot]
        return (previous.shot, p.shot, clips[previous.shot].last_frame_uri, clip.clip_uri,
                previous.end or previous.start, _approved_request(p, panels[p.shot]), st.judge.name, st.judge.model,
                st.judge.variant, run.profile, st.gates.fingerprint, clip.started_from != "previous last frame")

    def to_judge(previous: ShotPlan, p: ShotPlan) -> bool:
        a, b = clips.get(previous.shot), clips.get(p.shot)
        return (a is not None and b is not None and bool(a.clip_uri and b.clip_uri and a.last_frame_uri)
                and shares_the_scene(scene, previous.shot, p.shot))

    shot_of = {id(f): shot for shot, f in clip_futures.items()}
    for future in as_completed(list(clip_futures.values())):
        shot = shot_of[id(future)]
        land(shot)
        p = index[shot]
        if not judging:
            continue
        for a, b in ((plans[p.index - 1] if p.index > 0 else None, p),
                     (p, plans[p.index + 1] if p.index + 1 < len(plans) else None)):
            if a is not None and b is not None and to_judge(a, b):
                early[(a.shot, b.shot)] = judge_cut.submit(run, cut_args(a, b))
    kept = None
    for p in plans:
        clip = clips[p.shot]
        if not judging or not clip.clip_uri:
            continue
        if kept is not None and to_judge(kept, p):
            ahead = early.get((kept.shot, p.shot))
            verdict = ahead.result() if ahead is not None else judge_cut(run, cut_args(kept, p))
            low = min((sc["value"] for sc in verdict["scores"] if sc.get("role") == "block"), default=None)
            clip.continuity = low
            clip.cut = Take.judged("continuity", f"cut from {kept.shot}", len(clip.takes), clip.clip_uri, verdict,
                                   keyframes={"first": verdict["first_frame"]})
            if not verdict["passed"]:
                clip.escalated = f"the cut from {kept.shot} does not hold: {'; '.join(verdict['failing'])}"
                clip.clip_uri = None
                emit(scene=run.scene, shot=p.shot, stage="video", status="escalated", reasons=verdict["failing"])
                continue
        kept = p
    return panels, clips


@task(name="cut", cache_policy=NO_CACHE, task_run_name="cut {args[0]} → {args[1]}")
def judge_cut(run: RunSpec, args: tuple) -> dict:
    """One cut through the continuity gate (the check's result is cached by content, durable
    the moment it is made)."""
    return in_project(continuity_check, run, *args, artifacts=lambda v: [v["first_frame"]])


def _approved_request(plan: ShotPlan, panels) -> dict:
    """The start panel's request as the take that passed its gate was drawn (its own seed: a
    judge that lays the shot out must place the figures where that take has them)."""
    uri = panels.approved.get("start")
    take = next((t.take for t in panels.takes if t.stage == "panel" and t.moment == "start" and t.uri == uri), 1)
    return dataclasses.asdict(plan.panel_request("start", take))


@task(name="rejected-at-approval", cache_policy=NO_CACHE)
def reject_shot(shot: str, seconds: float, approval: str) -> ClipOutcome:
    """A shot the person did not approve: no video, listed as rejected."""
    return ClipOutcome(shot=shot, seconds=seconds, rejected=f"not approved for the final video ({approval})")


def _best(panels: PanelOutcome, clip: ClipOutcome) -> dict | None:
    take = best_take(panels, clip)
    return None if take is None else take.model_dump()


def _conclude(run: RunSpec, plans, panels, clips, sheet: str, made, approval: str, references: list[dict],
              before: dict | None = None):
    """The scene's result and the state it ends in."""
    log = get_run_logger()
    gov = studio(run).governor
    output, duration, cut = made or (None, None, None)
    reports_ = []
    for p in plans:
        c, pn = clips[p.shot], panels[p.shot]
        unread = unjudged(pn, c) if c.clip_uri else []
        status = ("unjudged" if unread else "approved" if c.clip_uri else "rejected" if c.rejected
                  else "halted" if c.halted or pn.halted or c.held_for_retake else "escalated")
        why = f"the judge could not read it, let through by --cannot-judge warn: {'; '.join(unread)}" if unread else ""
        reports_.append(ShotReport(shot=p.shot, panel_takes=len(pn.takes), video_takes=len(c.takes), status=status,
                                   reason=why or c.rejected or c.halted or pn.halted or c.held_for_retake
                                   or c.escalated or pn.escalated or "",
                                   started_from=c.started_from, drift=c.drift["drift"] if c.drift else None,
                                   reanchored=c.reanchor, continuity=c.continuity, drift_detail=c.drift,
                                   best_take=_best(pn, c) if status == "escalated" else None))
    result = SceneResult(film=run.film, scene=run.scene, profile=run.profile, run_id=run.run_id, output=output,
                         contact_sheet=sheet, duration=duration, width=max(p.width for p in plans),
                         height=max(p.height for p in plans),
                         provider_calls=calls_made(gov.ledger, run.run_id, run.scene), shots=reports_,
                         halted=str(gov.halted) if gov.halted else None, approval=approval,
                         references=[ReferenceReport.of(v) for v in references], cut=cut, estimate=before or {},
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
        return ended("Halted", "; ".join(s.reason for s in unknown), result)
    if not output:
        rejected_all = result.shots and all(s.status == "rejected" for s in result.shots)
        if rejected_all:
            return Completed(data=result, name="Rejected", message="no shot was approved for the final video")
        return ended("Failed", f"no shot of scene {run.scene} passed its gates", result)
    if escalated:
        names = ", ".join(f"{s.shot} ({s.reason[:80]})" for s in escalated)
        log.warning("escalated: %s", names)
        return Completed(data=result, name="Escalated",
                         message=f"{len(escalated)} shot(s) escalated: " + ", ".join(s.shot for s in escalated))
    unread = [s.shot for s in result.shots if s.status == "unjudged"] + \
        [r.key for r in result.references if r.unjudged]
    if unread:
        # A rehearsal: every shot made, but not judged. Never a plain "Completed", never in the can.
        log.warning("unjudged (cannot_judge = warn): %s", ", ".join(unread))
        return Completed(data=result, name="Unjudged",
                         message=f"{len(unread)} unjudged (the judge could not read them; a rehearsal): "
                                 + ", ".join(unread))
    return result
