"""The scene flow: one scene of a film, from the bible lock to a stitched, validated mp4.

    reference check ─► shoot-panels (every shot at once) ─► shoot-video (chains in order) ─► speech ─► upscale ─► stitch
                                                                                                             └─► contact sheet

(before the speech, the face swaps of the shots that ask, tasks/shot/faceswap.py; speech: the
lines of the shots in the cut, through the voice gate, flows/shot/scene_speech.py, then their
lip-sync, flows/shot/scene_lipsync.py; upscale: the takes a person approved, final and hero runs with
an upscale model, flows/shot/scene_upscale.py)

Panels of different shots run in parallel; a chained shot's video waits for the previous
shot's clip (its last frame is the chained shot's first). A shot that cannot pass a gate is
escalated and left out; the rest of the scene goes on and the run ends in a state named
"Escalated" that lists them. Results are cached by content, so running a finished scene
again calls no provider.

It must never spend before the manifests and references are known good, and never hide an
escalation inside a "Completed".
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from prefect.futures import PrefectFuture
from prefect.runtime import deployment, flow_run
from prefect.exceptions import CancelledRun, CrashedRun, FailedRun
from prefect.states import Completed, Failed

from slate.flows.review import reports
from slate.flows.run.logs import slate_lines_on_the_run
from slate.flows.run.lifeline import ends_on_sigterm, hold_lifeline, stop_on_cancel
from slate.flows.run.lot import on_the_lot, wrap_up
from slate.flows.review.approval import EXPIRED, ApprovalExpired, Decision
from slate.flows.run.options import OPTIONS, PROJECT, SCENE, run_name
from slate.flows.shot.lane import LaneEnd, shot_lane
from slate.flows.shot.scene_upscale import cut_size
from slate.flows.shot.shot import Cast, ClipOutcome, Finals, PanelOutcome, shoot_panels, shoot_video
from slate.tasks.review.circle import standing, words_of
from slate.tasks.gates.deviations import as_accepted, deviations_of
from slate.manifests.assembly import SceneFinish
from slate.manifests.profiles import PROFILES, render_stem
from slate.manifests import LoadedFilm, load_film
from slate.manifests.settings import Settings
from slate.media import contact_sheet
from slate.providers.keys import install_log_redaction
from slate.providers.storage_local import copy_atomic
from slate.manifests.options import RunOptions
from slate.tasks.run.run import Run, emit, in_project, open_run
from slate.tasks.shot.plan import ShotPlan, plan_scene
from slate.tasks.run.preflight import preflight, refused
from slate.tasks.gates.reference_gate import hold_references
from slate.tasks.gates.verdicts import ReferenceVerdict
from slate.tasks.run.bible_lock import check_references
from slate.tasks.edit.stitch import stitch_scene
from slate.tasks.shot.take_inputs import StitchInput
from slate.tasks.run.can import into_the_can
from slate.flows.run.call_sheet import (estimate_before, keyed_scene, provider_checks, scene_run, served_from_the_can,
                                    sweep_scratch)
from slate.flows.edit.cuts import hold_the_cuts, outcome_of
from slate.flows.review.scene_approval import approve_finals, approve_retakes
from slate.flows.edit.scene_music import briefs_of
from slate.flows.edit.scene_finish import (extras_into_renders, finishing_pass, subtitles_pass, timeline,
                                      transitions_between)
from slate.flows.shot.scene_speech import VoicedLine, VoiceReferences
from slate.flows.run.outcome import keep, outcome
from slate.flows.run.scene_result import (Deliverable, SceneEnded, SceneResult, SceneRound, conclude, ended, leave_word,
                                      made_by, served_end)

if TYPE_CHECKING:
    from slate.flows.shot.shot import Landing


def renders_dir(root: Path) -> Path:
    path = root / "renders"
    path.mkdir(parents=True, exist_ok=True)
    return path


@task(name="contact-sheet", cache_policy=NO_CACHE)
def make_contact_sheet(run: Run, plans: list[ShotPlan], panels: dict[str, PanelOutcome], out: str,
                       clips: dict[str, ClipOutcome] | None = None,
                       spoken: dict[str, list[str]] | None = None) -> str:
    """Every shot's panel (and, once there are clips, its keyframes) with verdict badges; "" (and
    a warning on the run) when it cannot be drawn: a report's picture never fails a paid scene."""
    try:
        entries = reports.contact_entries(plans, panels, clips, run.crew.storage.open_local, spoken)
        return str(contact_sheet(entries, Path(out), columns=reports.contact_columns(clips)))
    except Exception as exc:  # noqa: BLE001 — whatever it was, the takes it shows are made and paid for
        reports.warn(f"the contact sheet of scene {run.scene} ({out})", exc, run.scene)
        return ""


def _run_name() -> str:
    return run_name("scene", flow_run.parameters)


@flow(name="scene", flow_run_name=_run_name, log_prints=False, on_cancellation=[stop_on_cancel])
def scene_flow(project: str = PROJECT, scene: str = SCENE, options: RunOptions = OPTIONS) -> State[SceneResult]:
    """Render one scene of a film: every shot through its gates, approved by a person before any
    final video (final and hero profiles), stitched into one mp4. `options`: what this run is
    told (manifests/options.py); what it is not told, the film's settings say."""
    install_log_redaction()  # a deployment's worker has no CLI to install it
    slate_lines_on_the_run()  # the governor's and providers' lines on this run's page
    hold_lifeline(get_run_logger())  # a deployment run's process dies with the worker that started it
    root, store = on_the_lot(project)
    with ends_on_sigterm():   # at the top of its process: SIGTERM stops its spending, ends it within seconds
        ending = _scene(root, scene or None, options)
    wrap_up(root, store)
    if deployment.id:
        leave_word(root, made_by(ending))
    return keep(ending)   # kept here too: flows/run/outcome.py says why


def _scene(root: Path, scene: str | None, options: RunOptions) -> State[SceneResult]:
    # Before anything else (settings, the budget block, the ledger): every problem a run would
    # meet later, refused now as one "Refused" state listing them, with nothing spent. A scene
    # of a film run in this process is handed the film's check instead (tasks/run/preflight.py).
    checked = preflight(root, options, scene=scene, whole_film=False)
    if not checked.ok:
        refusal: State[SceneResult] = refused(checked)
        return refusal
    settings = checked.settings
    film = checked.film
    assert film is not None and settings is not None  # a preflight with no problems read both
    scene_id = scene or film.scenes[0][1].id
    # The run's services, opened once its options are resolved, closed when its body ends (a
    # scene of a film run in this process works on its film's: tasks/run/run.py).
    with open_run(scene_run(root, scene_id, film, settings, options)) as run:
        return _shoot(run, film, settings)


def _shoot(run: Run, film: LoadedFilm, settings: Settings) -> State[SceneResult]:
    """The scene's body, its run open: served from the can, or shot round by round."""
    shelf, key = keyed_scene(run, film, settings)
    shoot = shoot_scene.with_options(result_storage=shelf)
    # An unchanged scene that finished before (its escalations too) is one lookup: no task, call,
    # approval or ledger row.
    served = served_from_the_can(run, shelf, key)
    if served is not None:
        result, made_by = served
        name, message = served_end(result, f"unchanged since run {made_by}")
        return _finish(run, result, Completed(data=result, name=name, message=message))
    progress = reports.start_progress(run)
    try:
        decision: Decision | None = None
        finals: Finals | None = None
        if PROFILES[run.profile].needs_approval:
            first = shoot(run, panels_only=True, return_state=True)
            if not first.is_completed():
                return _ended_from(first)
            done = outcome(first)
            if done.stage == "concluded":  # nothing could be approved (every panel escalated, or refused)
                assert done.result is not None  # a concluded round carries the scene's result
                return _finish(run, done.result, Completed(data=done.result, name=first.name, message=first.message))
            try:
                decision, finals = approve_finals(run, settings, done, film)
            except ApprovalExpired as exc:
                return ended(EXPIRED, str(exc), None)
        said = [decision.summary()] if decision else []
        inner = shoot(run, rejected=decision.rejected if decision else [], approval="; ".join(said), finals=finals,
                      return_state=True)
        round_ = 1
        # What was approved is an amount: retakes past it wait for a person, round after round.
        while inner.is_completed() and (held := outcome(inner)).stage == "retakes":
            # Retakes are held only against an amount a person approved: a decision and its finals.
            assert decision is not None and finals is not None
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
    concluded = outcome(inner).result
    assert concluded is not None  # the round concluded: neither failed (above) nor held for retakes (the loop)
    if inner.name in ("Completed", "Escalated"):   # into_the_can takes only what the key always comes to
        into_the_can(run, shelf, key, concluded.model_dump(mode="json"))
    return _finish(run, concluded, Completed(data=concluded, name=inner.name, message=inner.message))


def _ended_from(state: State[SceneRound | State[SceneRound]], run: Run | None = None) -> State[SceneResult]:
    """A sub-flow's failed end as this run's end (a bug of ours is raised: its traceback matters)."""
    data = outcome(state, raise_on_failure=False)
    if isinstance(data, SceneEnded):
        if run is not None and data.result is not None:
            reports.scene_artifacts(run, data.result)
        return ended(state.name, state.message or str(data), data.result)
    if isinstance(data, BaseException) and not isinstance(data, (FailedRun, CrashedRun, CancelledRun)):
        raise data  # an exception of our own code: its traceback is worth seeing
    # A named refusal or failure with nothing made (Prefect wraps its message as FailedRun).
    return Failed(name=state.name, message=state.message or "the scene failed")


def _finish(run: Run, result: SceneResult, state: State[SceneResult]) -> State[SceneResult]:
    reports.scene_artifacts(run, result)
    return state


@flow(name="shoot-scene", flow_run_name="shoot-{run.scene}")
def shoot_scene(run: Run, panels_only: bool = False, rejected: list[str] = [],  # noqa: B006
                approval: str = "", finals: Finals | None = None) -> SceneRound | State[SceneRound]:
    """Every shot of the scene through its gates, one round (SceneRound says where it stopped). With `panels_only`, stop once every panel is
    judged (for a person to approve the finals); `rejected` shots get no video; with `finals`,
    a video take past the amount approved is not sent: the scene stops before its stitch
    (stage "retakes") for a person to be asked again."""
    return keep(_shoot_round(run, panels_only, rejected, approval, finals))   # kept: flows/run/outcome.py says why


def _shoot_round(run: Run, panels_only: bool, rejected: list[str], approval: str,
                 finals: Finals | None) -> SceneRound | State[SceneRound]:
    """One round's body (`shoot_scene`): a SceneRound, or the round's end state."""
    root = Path(run.root)
    # The manifests with the continuity deviations the director accepted (tasks/gates/deviations.py):
    # the shots after one are drawn, prompted and judged by the picture's state.
    film = as_accepted(load_film(root), deviations_of(run.crew.governor.ledger, run.film))
    run.crew.pricing  # an unpriced model or a bad --price-as stops here, before any money
    sweep_scratch(root, keep=run.run_id)
    lock = check_references(run, film)
    plans = plan_scene(film, run.scene, lock, run.profile, run.settings.fps, panel_model=run.lineup.panel,
                       video_model=run.lineup.videos[0], audio=run.model_audio)
    # Before the first paid call: the providers' keys, credit and prices (what `slate doctor` says).
    refusal = provider_checks(run, plans, film)
    if refusal is not None:
        return refusal
    # What the editor left out of the cut (finishing.cut, `slate conform`) is not made, nor paid
    # for — unless a shot kept in the cut chains from it (it starts from that shot's last frame).
    left_out = _left_out(plans, film.scene(run.scene).finishing)
    before = estimate_before(run, [p for p in plans if p.shot not in left_out], film)
    # Before any panel or clip: every turnaround and plate through the reference gate.
    held: tuple[list[ReferenceVerdict], State[SceneRound] | None] = hold_references(run, film, lock)
    references, refusal = held
    if refusal is not None:
        return refusal
    emit(run, event="plan", scene=run.scene, shots=[p.shot for p in plans])
    # What a person said at the dailies (tasks/review/circle.py): the latest word on each shot steers its takes.
    words = standing(words_of(run.crew.governor.ledger, run.film), run.scene, run.profile)
    panel_futures = {p.shot: (leave_out_panels.submit(p.shot) if p.shot in left_out else
                              shoot_panels.submit(run, p, words.get(p.shot))) for p in plans}
    out_dir = renders_dir(root)
    stem = render_stem(run.scene, run.profile)
    spoken = reports.spoken_lines_of(film, run.scene)   # each shot's lines, read on its contact sheet
    if panels_only:
        panels = {p.shot: outcome_of(panel_futures[p.shot], p.shot, PanelOutcome) for p in plans}
        sheet = make_contact_sheet(run, plans, panels, str(out_dir / f"{stem}-contact.png"), spoken=spoken)
        gov = run.crew.governor
        if gov.halted is None and any("start" in panels[p.shot].approved for p in plans):
            return SceneRound(stage="panels", plans=plans, panels=panels, contact_sheet=sheet)
        clips = {p.shot: ClipOutcome(shot=p.shot, seconds=p.duration) for p in plans}
        return conclude(run, plans, panels, clips, sheet, None, approval, references, before)
    clip_futures: dict[str, Landing[ClipOutcome]] = {}
    # Everyone of the scene, for the keyframe gate to tell an extra person in a clip by.
    cast: Cast = {c["id"]: {"turnaround_uri": c["turnaround_uri"], "wardrobe_colour": c.get("wardrobe_colour")}
                  for p in plans for c in p.start["characters"]}
    for p in plans:
        previous = clip_futures[plans[p.index - 1].shot] if p.chain else None
        if p.shot in left_out:
            clip_futures[p.shot] = leave_out_clip.submit(p.shot, p.duration)
        elif p.shot in rejected:
            clip_futures[p.shot] = reject_shot.submit(p.shot, p.duration, approval)
        else:
            # The engine waits on the futures given for the panels and the previous clip, and hands
            # the task what they made: Prefect's typing of submit takes only what they make.
            clip_futures[p.shot] = shoot_video.submit(  # type: ignore[call-overload]
                run, p, panel_futures[p.shot], previous, finals, cast, words.get(p.shot))
    # Each shot's lane (flows/shot/lane.py: face swap, speech, lip-sync, upscale, where they apply)
    # starts the moment its clip and its cut are decided, not once the whole scene is in.
    index = {p.shot: p for p in plans}
    voices = VoiceReferences(root)
    lanes: dict[str, PrefectFuture[LaneEnd]] = {}

    def start_lane(shot: str, clip: ClipOutcome) -> None:
        if clip.clip_uri and not clip.held_for_retake and run.crew.governor.halted is None:
            lanes[shot] = shot_lane.submit(run, film, index[shot], clip, finals, voices)

    panels, clips = hold_the_cuts(run, film, plans, panel_futures, clip_futures, on_cut=start_lane)
    ended = {shot: lane.result() for shot, lane in lanes.items()}
    if any(c.held_for_retake for c in clips.values()) and run.crew.governor.halted is None:
        # Not stitched yet: the scene's cut waits for what the person says about the retakes (the
        # other shots' lanes ran: the round after the answer finds what they made in the cache).
        sheet = make_contact_sheet(run, plans, panels, str(out_dir / f"{stem}-contact.png"), clips, spoken)
        return SceneRound(stage="retakes", plans=plans, panels=panels, clips=clips, contact_sheet=sheet)
    voiced: list[VoicedLine] = []
    for p in plans:
        if p.shot in ended:
            clips[p.shot] = ended[p.shot].clip
            voiced += ended[p.shot].voiced
    # The sheet is drawn while the cut is stitched: neither needs the other.
    sheet_drawn = make_contact_sheet.submit(run, plans, panels, str(out_dir / f"{stem}-contact.png"), clips,
                                            spoken)
    cut_of = {p.shot: uri for p in plans if (uri := clips[p.shot].clip_uri)}   # the approved clips
    # In the edit's order (finishing.cut, what `slate conform` reads back): a dropped shot is not cut in.
    edit, shot_ids = film.scene(run.scene).finishing, [p.shot for p in plans]
    order = edit.in_cut(shot_ids) if edit else shot_ids
    approved = [s for s in order if s in cut_of]
    gov = run.crew.governor
    # A scene that did not finish (halted, stopped, a call of unknown outcome) publishes its
    # cut as a partial one, never under the finished scene's name.
    finished = gov.halted is None and not any(clips[p.shot].halted or panels[p.shot].halted for p in plans)
    output: str | None = None
    duration: float | None = None
    cut: str | None = None
    extras: list[Deliverable] = []
    if approved:
        width, height = cut_size(plans, clips)   # an upscaled scene's cut is delivered at its upscaled size
        inputs, graded = finishing_pass(run, root, film, [(s, cut_of[s], clips[s].seconds) for s in approved],
                                         transitions_between(plans, approved, order), width, height, voiced)
        # The plain stitch is the cut only where no finishing pass makes one: a finished scene's
        # pass reads the clips itself, and a stitch beside it was a second encode nobody saw
        # (a second of the example's 30).
        stitched = None if graded is not None else in_project(stitch_scene, run, StitchInput(
            scene=run.scene, clips=[[cut_of[s], clips[s].seconds] for s in approved],
            transitions=transitions_between(plans, approved, order), width=width, height=height, fps=run.settings.fps),
            artifacts=lambda r: [r.uri])
        delivery = film.film.finishing.delivery_for(run.profile) if film.film.finishing else None
        graded, subtitles = subtitles_pass(run, inputs, graded, approved, voiced,
                                           burn=bool(delivery and delivery.burned_subtitles))
        made = graded or stitched
        assert made is not None   # one of the two was made above
        output = str(out_dir / (f"{stem}.mp4" if finished else f"{stem}.partial-{len(approved)}-of-{len(plans)}.mp4"))
        copy_atomic(run.crew.storage.open_local(made.uri), Path(output))
        extras = extras_into_renders(run, graded, output, subtitles)
        timeline(run, root, plans, panels, clips, approved, inputs, graded, output, width, height, voiced, order,
                 briefs=briefs_of(film, run.scene))
        duration, cut = made.duration, made.uri
    sheet = sheet_drawn.result()
    return conclude(run, plans, panels, clips, sheet, (output, duration, cut), approval, references, before,
                    deliverables=extras, size=cut_size(plans, clips))


LEFT_OUT = "left out of the edit (finishing.cut): not made"


def _left_out(plans: list[ShotPlan], edit: SceneFinish | None) -> set[str]:
    """The shots the edit's order leaves out that no shot in the cut chains from (directly, or
    through another left-out shot it chains from)."""
    if edit is None or edit.cut is None:
        return set()
    kept = set(edit.in_cut([p.shot for p in plans]))
    needed = set(kept)
    for p in reversed(plans):   # a chain runs forward: walk it back from each shot that is needed
        if p.shot in needed and p.chain and p.index > 0:
            needed.add(plans[p.index - 1].shot)
    return {p.shot for p in plans} - needed


@task(name="left-out-panels", cache_policy=NO_CACHE)
def leave_out_panels(shot: str) -> PanelOutcome:
    """A shot the edit leaves out: no panel made."""
    return PanelOutcome(shot=shot)


@task(name="left-out-clip", cache_policy=NO_CACHE)
def leave_out_clip(shot: str, seconds: float) -> ClipOutcome:
    """A shot the edit leaves out: no clip made, listed as left out."""
    return ClipOutcome(shot=shot, seconds=seconds, rejected=LEFT_OUT)


@task(name="rejected-at-approval", cache_policy=NO_CACHE)
def reject_shot(shot: str, seconds: float, approval: str) -> ClipOutcome:
    """A shot the person did not approve: no video, listed as rejected."""
    return ClipOutcome(shot=shot, seconds=seconds, rejected=f"not approved for the final video ({approval})")


