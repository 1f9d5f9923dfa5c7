"""A person between the panels and the final video: the forms for the finals and for retakes past
the amount approved, and each decision as a row of the ledger's approvals (never a paid call).

It must never send a final video nobody approved, and never write one decision twice (a resumed
run meets its answered waits again).
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from prefect import get_run_logger

from slate.flows.review import reports
from slate.flows.review.approval import (ApprovalExpired, Decision, ShotToApprove, answered_before, decide, description, form_for,
                                  retake_description, shot_sections, wait_for_person)
from slate.flows.run.scene_result import SceneRound
from slate.flows.shot.shot import Finals, Take
from slate.governor.chokepoint import Usage
from slate.governor.gates import against
from slate.governor.money import fmt_usd
from slate.manifests import LoadedFilm
from slate.manifests.settings import Settings
from slate.providers.base import fingerprint
from slate.tasks.shot.lipsync import sync_costs
from slate.tasks.shot.clip_passes import costs_by_pass, pass_named
from slate.tasks.shot.plan import ShotPlan
from slate.tasks.shot.upscale import UPSCALE, upscaled_size
from slate.tasks.run.run import Crew, Run
from slate.tasks.run.run_plan import music_prices
from slate.tasks.shot.voicing import line_price

#: The ledger stage of a scene's approval (a row of `approvals`, schema v6).
APPROVAL_STAGE = "approval"


def score_lines(take: Take | None) -> list[str]:
    """A take's gate scores by name against their thresholds, with the judge's reasons."""
    if take is None:
        return []
    lines = []
    for s in sorted(take.scores, key=lambda s: (s.role != "block", s.value - s.threshold)):
        mark = "" if s.passed else (" — below" if s.role == "block" else " — warning")
        lines.append(f"**{s.name}** {against(s.value, s.threshold)}{mark}: {s.reason}")
    return lines + [f"not judged (--cannot-judge warn): {why}" for why in take.unjudged]



def _caps(st: Crew) -> str:
    return "; ".join(f"{c.label.removesuffix(' cap')} {fmt_usd(c.limit)}" for c in st.governor.caps)



def _show_sheet(run: Run, sheet: str, wait: str) -> str:
    """The contact sheet on the run's page while a person decides (the same key the finished
    run's sheet takes; not again when a resumed run meets the answered `wait` again); its key,
    for the form to name."""
    name = reports.key(run.film, run.scene, run.profile, "contact-sheet")
    if sheet and Path(sheet).is_file() and not answered_before(wait):
        reports.contact_sheet_artifact(run, Path(sheet))
    return name



def note_decision(run: Run, decision: Decision, stage_take: int) -> None:
    """The decision as a row of the ledger's approvals (never a paid call), once: a resumed
    run meets its answered waits again."""
    st = run.crew
    fp = fingerprint({**decision.model_dump(exclude={"at"}), "round": stage_take})
    if any(a.fingerprint == fp for a in st.governor.ledger.approvals(run_id=run.run_id, stage=APPROVAL_STAGE)):
        return
    st.governor.approve(scene=run.scene, stage=APPROVAL_STAGE, take=stage_take, by=decision.by or "unknown",
                        fingerprint=fp, message=decision.summary())
    get_run_logger().info("scene %s: %s", run.scene, decision.summary())



def spoken_lines(run: Run, film: LoadedFilm | None) -> dict[str, list[str]]:
    """By shot, its lines as the form shows them: who says what, and what speaking it once is
    estimated to cost by the speaker's voice (tasks/shot/voicing.py line_price); and where its
    on-camera lines are lip-synced, by which model and for what (tasks/shot/lipsync.py sync_costs)."""
    if film is None:
        return {}
    voices = film.bible.voices()
    out: dict[str, list[str]] = {}
    for shot in film.scene(run.scene).shots:
        for line in shot.dialogue:
            cost = line_price(film, line, run.profile, run.crew.pricing)
            out.setdefault(shot.id, []).append(
                line.quoted() + (f" [{', '.join(line.delivery)}]" if line.delivery else "")
                + (f" — {fmt_usd(cost)}" if voices.get(line.speaker) is not None else ""))
    # The on-camera lines' lip-sync, one paid job a shot, measured by the sync gate once made.
    for synced, cost in sync_costs(film, run.scene, run.lineup.refs().lipsync, run.crew.pricing).items():
        out.setdefault(synced, []).append(f"lip-synced by {run.lineup.lipsync}, then measured by the sync gate — "
                                        f"{fmt_usd(cost)}")
    return out


def _pass_line(run: Run, plan: ShotPlan, name: str, cost: Decimal) -> str:
    """How a pass other than the upscale passes over an approved shot's clip, for the form."""
    model = run.lineup.pass_model(name)
    if name == "faceswap":
        return (f"{', '.join(plan.face_swap)}'s face swapped by {model} once its clip passes, then gated again — "
                f"{fmt_usd(cost)}")
    return f"{pass_named(name).title} by {model} once its clip passes, then gated again — {fmt_usd(cost)}"


def _upscale_line(run: Run, plan: ShotPlan, cost: Decimal | None) -> str:
    """How an approved shot's clip is upscaled and what that costs, for the form ("" for none)."""
    if cost is None:
        return ""
    width, height = upscaled_size(plan.width, plan.height)
    return (f"{UPSCALE}x, to {width}x{height}, by {run.lineup.pass_model('upscale')} once its clip passes, then checked against "
            f"the take — {fmt_usd(cost)}")


def _starts_from(plan: ShotPlan, passed: list[Take], plans: list[ShotPlan]) -> str:
    """What the shot's final clip will start from, as the form says it: its approved panel's take,
    or (a chained shot) the clip before it — the take a person is approving the money for."""
    panel = f"panel take {passed[-1].take}" if passed else "its panel"
    if plan.chain and plan.chain_position > 0:
        before = next((q.shot for q in reversed(plans) if q.index < plan.index), None)
        if before is not None:
            return f"starts from the last frame of {before}'s final clip (chained)"
    return f"starts from {panel}"


def approve_finals(run: Run, settings: Settings, done: SceneRound,
                   film: LoadedFilm | None = None) -> tuple[Decision, Finals]:
    """Wait for a person to approve the final video of the shots whose panels passed: the
    decision (a row of the ledger's approvals) and what it approves — the chosen clips' estimate
    (with their upscale, where the run upscales) plus the retake allowance the person gave."""
    st = run.crew
    ready = [p for p in done.plans if "start" in done.panels[p.shot].approved]
    shots: list[ShotToApprove] = []
    costs: dict[str, Decimal] = {}
    said = spoken_lines(run, film)
    # The passes over each approved take (tasks/shot/clip_passes.py: the face swaps a shot asks for, one
    # job a face; the upscale; a declared pass) are part of what is approved.
    by_pass = costs_by_pass(ready, run.profile, run.lineup.passes, st.pricing)
    upscale = by_pass.get("upscale", {})
    for p in ready:
        passed = [t for t in done.panels[p.shot].takes if t.passed and t.moment == "start"]
        video = st.pricing.estimate(Usage("video", seconds=p.duration, resolution=p.resolution, audio=p.audio),
                                    run.lineup.videos[0])
        costs[p.shot] = video + sum((c.get(p.shot, Decimal(0)) for c in by_pass.values()), Decimal(0))
        swapped = [_pass_line(run, p, name, c[p.shot]) for name, c in by_pass.items()
                   if name != "upscale" and p.shot in c]
        shots.append(ShotToApprove(shot=p.shot, panel_uri=done.panels[p.shot].approved["start"],
                                   scores=score_lines(passed[-1] if passed else None),
                                   video_cost=fmt_usd(video),
                                   detail=f"{p.duration:g} s at {p.resolution}, {_starts_from(p, passed, done.plans)}",
                                   lines=said.get(p.shot, []) + swapped,
                                   upscale=_upscale_line(run, p, upscale.get(p.shot))))
    # The scene's cues made to a brief (issue 59) are made after the cut: part of what is approved,
    # each once at the length it is spotted at on the planned cut.
    cues = music_prices(film, run.scene, st.pricing) if film is not None else {}
    total = sum(costs.values(), Decimal(0)) + sum(cues.values(), Decimal(0))
    text = description(run.scene, run.profile, shots, fmt_usd(total), _caps(st),
                       fmt_usd(st.governor.remaining()),
                       _show_sheet(run, done.contact_sheet, f"approve-{run.scene}-{run.profile}"),
                       music=", ".join(f"{name} {fmt_usd(cost)}" for name, cost in cues.items()))
    ids = [s.shot for s in shots]
    answer = wait_for_person(Path(run.root), run.scene, run.profile,
                             form_for(ids, shot_sections(shots, st.storage.open_local), text), text, ids,
                             settings.approval_timeout_hours, what=f"{len(ids)} clip(s), {fmt_usd(total)}")
    decision = decide(answer, ids)
    music = sum(cues.values(), Decimal(0)) if decision.approved else Decimal(0)
    approved = sum((costs[s] for s in decision.approved), Decimal(0)) + music + Decimal(decision.allowance)
    decision = decision.model_copy(update={"approved_usd": str(approved)})
    note_decision(run, decision, 0)
    # A cue's cost is charged against the amount as a first take is (its own key: never a shot's).
    charged = {s: str(costs[s]) for s in decision.approved} | \
        ({f"music:{name}": str(cost) for name, cost in cues.items()} if decision.approved else {})
    return decision, Finals(approved=str(approved), first_takes=charged, by=decision.by)



def approve_retakes(run: Run, settings: Settings, held: SceneRound, finals: Finals,
                    round_: int) -> tuple[Decision, Finals]:
    """The same form again, for clips whose next take would pass the amount approved: what was
    taken of it, why each clip failed, what its retake costs. An approved shot's retake is added
    to the amount; the others are declined (escalated). Nobody answering in time declines them."""
    st = run.crew
    shots: list[ShotToApprove] = []
    costs: dict[str, Decimal] = {}
    for p in held.plans:
        clip = held.clips[p.shot]
        if not clip.held_for_retake or clip.retake_cost is None:
            continue  # a chained shot waiting on the one before it costs nothing more to approve
        last = next((t for t in reversed(clip.takes) if t.uri), None)
        costs[p.shot] = Decimal(clip.retake_cost or "0")
        shots.append(ShotToApprove(shot=p.shot, panel_uri=(last.keyframes.get("last") if last else None)
                                   or held.panels[p.shot].approved["start"],
                                   scores=score_lines(last), video_cost=f"retake {fmt_usd(costs[p.shot])}",
                                   detail=clip.held_for_retake))
    ids = [s.shot for s in shots]
    allowance = st.allowances.for_scene(run.run_id, run.scene, Decimal(finals.approved), {})
    wait = f"approve-{run.scene}-{run.profile}-retakes-{round_}"
    text = retake_description(run.scene, run.profile, shots, fmt_usd(Decimal(finals.approved)),
                              fmt_usd(allowance.charged), _caps(st), fmt_usd(st.governor.remaining()),
                              _show_sheet(run, held.contact_sheet, wait))
    try:
        answer = wait_for_person(Path(run.root), run.scene, run.profile,
                                 form_for(ids, shot_sections(shots, st.storage.open_local), text), text, ids,
                                 settings.approval_timeout_hours, key=wait,
                                 what=f"{len(ids)} retake(s), {fmt_usd(sum(costs.values(), Decimal(0)))}")
        decision = decide(answer, ids)
    except ApprovalExpired:
        decision = Decision(approved=[], rejected=ids, by="nobody (the approval expired)", at=_now(), notes="")
    approved = Decimal(finals.approved) + sum((costs[s] for s in decision.approved), Decimal(0)) + \
        Decimal(decision.allowance)
    decision = decision.model_copy(update={"approved_usd": str(approved)})
    note_decision(run, decision, round_)
    return decision, finals.model_copy(update={"approved": str(approved), "by": decision.by,
                                               "declined": finals.declined + decision.rejected})



def _now() -> str:
    from datetime import datetime, timezone
    return datetime.now(timezone.utc).isoformat(timespec="seconds")

