"""The scene's cuts as its clips land: every shot's outcome, and the continuity gate over each
cut between two approved shots that share a place or someone.

It must never report a Prefect internal as a shot's outcome, and never keep a shot whose cut from
the shot before it does not hold.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from prefect.futures import PrefectFuture

from slate.flows.run.outcome import landed
from slate.flows.shot.shot import ClipOutcome, Outcome, PanelOutcome, Take
from slate.manifests import LoadedFilm
from slate.tasks.run.run import Run, emit, in_project
from slate.tasks.gates.continuity import continuity_check, shares_the_scene
from slate.tasks.gates.gate_inputs import ContinuityInput, Judging
from slate.tasks.gates.verdicts import ContinuityVerdict
from slate.providers.base import PanelRequest
from slate.tasks.shot.plan import ShotPlan

if TYPE_CHECKING:
    from slate.flows.shot.shot import Landing

R = TypeVar("R")


def outcome_of(future: Landing[Outcome], shot: str, cls: type[Outcome],
               waited_on: Callable[[], str | None] | None = None) -> Outcome:
    """What a shot's loop came to. One that did not finish is reported as an escalation of its
    shot, in slate's words (never a Prefect internal such as "Run is in PENDING state"), not as
    a lost scene. `waited_on()` says what a loop that never started was waiting for."""
    future.wait()
    state = future.state
    if state.is_completed():
        return landed(future)
    return cls(shot=shot, escalated=unfinished(future, state, waited_on))



def unfinished(future: PrefectFuture[R], state: State[R], waited_on: Callable[[], str | None] | None = None) -> str:
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



def hold_the_cuts(
        run: Run, film: LoadedFilm, plans: list[ShotPlan], panel_futures: Mapping[str, Landing[PanelOutcome]],
        clip_futures: Mapping[str, Landing[ClipOutcome]],
        on_cut: Callable[[str, ClipOutcome], None] | None = None) -> tuple[dict[str, PanelOutcome], dict[str, ClipOutcome]]:
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
    fails).

    A shot's cut is decided as soon as it and every shot before it have landed, and the shot is
    handed to `on_cut(shot, clip)` then — the scene starts its lane (flows/shot/lane.py) — rather than
    once the whole scene is in."""
    from prefect.futures import as_completed

    st = run.crew
    judging = st.gates.enabled("continuity") or st.gates.rules("continuity", "local", run.profile)
    scene = film.scene(run.scene)
    index = {p.shot: p for p in plans}
    panels: dict[str, PanelOutcome] = {}
    clips: dict[str, ClipOutcome] = {}
    early: dict[tuple[str, str], PrefectFuture[ContinuityVerdict]] = {}  # (previous shot, shot) -> the verdict's future

    def waited_on(p: ShotPlan) -> Callable[[], str | None]:
        """What a clip that never started waited for: its panels, or the shot before it in its chain."""
        def why() -> str | None:
            pn = panels.get(p.shot) or outcome_of(panel_futures[p.shot], p.shot, PanelOutcome)
            if "start" not in pn.approved:
                return f"its panels did not finish ({pn.escalated or pn.halted or 'no panel passed'})"
            if p.chain and p.index > 0:
                prev = plans[p.index - 1]
                c = clips.get(prev.shot) or outcome_of(clip_futures[prev.shot], prev.shot, ClipOutcome, waited_on(prev))
                why = c.escalated or c.halted or "no clip"
                return f"shot {prev.shot}, before it in its chain, did not finish ({why})"
            return None
        return why

    def land(shot: str) -> None:
        panels[shot] = outcome_of(panel_futures[shot], shot, PanelOutcome)
        clips[shot] = outcome_of(clip_futures[shot], shot, ClipOutcome, waited_on(index[shot]))

    def cut_args(previous: ShotPlan, p: ShotPlan) -> ContinuityInput:
        clip = clips[p.shot]
        return ContinuityInput(previous=previous.shot, shot=p.shot, last_frame_uri=clips[previous.shot].last_frame_uri,
                               clip_uri=clip.clip_uri,
                               previous_request=previous.request_of("end" if previous.end else "start"),
                               request=_approved_request(p, panels[p.shot]), judging=Judging.of(st, run.profile),
                               laid_out=clip.started_from != "previous last frame")

    def to_judge(previous: ShotPlan, p: ShotPlan) -> bool:
        a, b = clips.get(previous.shot), clips.get(p.shot)
        return (a is not None and b is not None and bool(a.clip_uri and b.clip_uri and a.last_frame_uri)
                and shares_the_scene(scene, previous.shot, p.shot))

    shot_of = {id(f): shot for shot, f in clip_futures.items()}
    kept: ShotPlan | None = None   # the last shot before the frontier whose clip is in the cut
    frontier = 0                   # the first shot whose cut is not decided yet

    def decide(p: ShotPlan) -> None:
        """Shot `p`'s cut from the last kept shot before it: kept, or escalated."""
        nonlocal kept
        clip = clips[p.shot]
        if not judging or not clip.clip_uri:
            return
        if kept is not None and to_judge(kept, p):
            ahead = early.get((kept.shot, p.shot))
            verdict = ahead.result() if ahead is not None else judge_cut(run, cut_args(kept, p))
            clip.continuity = verdict.lowest_block
            clip.cut = Take.judged("continuity", f"cut from {kept.shot}", len(clip.takes), clip.clip_uri, verdict,
                                   keyframes={"first": verdict.first_frame})
            if not verdict.passed:
                clip.escalated = f"the cut from {kept.shot} does not hold: {'; '.join(verdict.failing)}"
                clip.clip_uri = None
                emit(run, scene=run.scene, shot=p.shot, stage="video", status="escalated", reasons=verdict.failing)
                return
        kept = p

    def advance() -> None:
        """Every shot whose cut can now be decided — all shots before it landed — decided in
        order, and handed on (`on_cut`) the moment it is."""
        nonlocal frontier
        while frontier < len(plans) and plans[frontier].shot in clips:
            p = plans[frontier]
            frontier += 1
            decide(p)
            if on_cut is not None:
                on_cut(p.shot, clips[p.shot])

    # Two kinds of future land here (a shot's loop, a rejected shot), which as_completed cannot type
    # as one: only which one landed is read of them.
    landing: list[PrefectFuture[Any]] = list(clip_futures.values())
    for future in as_completed(landing):
        shot = shot_of[id(future)]
        land(shot)
        p = index[shot]
        if judging:
            for a, b in ((plans[p.index - 1] if p.index > 0 else None, p),
                         (p, plans[p.index + 1] if p.index + 1 < len(plans) else None)):
                if a is not None and b is not None and to_judge(a, b):
                    early[(a.shot, b.shot)] = judge_cut.submit(run, cut_args(a, b))
        advance()
    return panels, clips



@task(name="cut", cache_policy=NO_CACHE, task_run_name="cut {given.previous} → {given.shot}")
def judge_cut(run: Run, given: ContinuityInput) -> ContinuityVerdict:
    """One cut through the continuity gate (the check's result is cached by content, durable
    the moment it is made)."""
    verdict: ContinuityVerdict = in_project(continuity_check, run, given, artifacts=lambda v: [v.first_frame])
    return verdict



def _approved_request(plan: ShotPlan, panels: PanelOutcome) -> PanelRequest:
    """The start panel's request as the take that passed its gate was drawn (its own seed: a
    judge that lays the shot out must place the figures where that take has them); for a shot
    made from references, without the continuity ledger's state."""
    uri = panels.approved.get("start")
    take = next((t.take for t in panels.takes if t.stage == "panel" and t.moment == "start" and t.uri == uri), 1)
    request = plan.panel_request("start", take)
    if plan.frame_mode == "reference" and request.continuity:
        # A clip made from references starts from no panel the ledger was drawn into (its props,
        # its sides, its light): the cut holds its people and place as the references lay them
        # out, and the ledger's state was the prompt's to carry.
        request = dataclasses.replace(request, continuity=None)
    return request

