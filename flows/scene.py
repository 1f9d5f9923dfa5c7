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

import re
import shutil
import time
from decimal import Decimal
from pathlib import Path
from typing import Literal

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.states import Completed, Failed
from pydantic import BaseModel

from governor.budget import SlateBudget, block_name, load_or_create
from flows.shot import ClipOutcome, PanelOutcome, shoot_panels, shoot_video
from manifests import load_film
from media import ContactEntry, contact_sheet
from manifests.settings import base_urls, project_settings
from governor.estimate import estimate_scene
from providers.keys import install_log_redaction
from providers.registry import Lineup, ModelRef, lineup
from tasks.doctor import blocking, check_lineup, line
from tasks.context import RunSpec, emit, in_project, results_dir, studio
from tasks.plan import ShotPlan, plan_scene
from tasks.preflight import preflight, refused
from tasks.references import check_references
from tasks.stitch import stitch_scene


class ShotReport(BaseModel):
    shot: str
    panel_takes: int
    video_takes: int
    status: str          # approved | escalated | halted
    reason: str = ""
    started_from: str = ""
    drift: float | None = None


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


def run_spec(root: Path, scene_id: str, film_id: str, settings, run_id: str, budget) -> RunSpec:
    chosen = lineup(settings)
    return RunSpec(run_cap_usd=str(budget.run_cap_usd), film_cap_usd=str(budget.film_cap_usd),
                   panel_model=str(chosen.panel), video_models=tuple(str(v) for v in chosen.videos),
                   judge_model=str(chosen.judge), base_urls=base_urls(settings),
                   price_as=settings.price_as, video_slots=settings.video_slots,
                   busy_wait_seconds=settings.busy_wait_seconds, approved_fallbacks=tuple(settings.approve_fallback),
                   fallback_gate_share=str(settings.fallback_gate_share), root=str(root), run_id=run_id, film=film_id,
                   scene=scene_id, profile=settings.profile, fps=settings.fps,
                   max_takes=budget.max_takes, no_progress_takes=budget.no_progress_takes,
                   drift_every=settings.drift_every, drift_threshold=settings.drift_threshold,
                   local_latency=settings.local_latency, local_fault_rate=settings.local_fault_rate,
                   local_fault_seed=settings.local_fault_seed, local_fault_kinds=settings.local_fault_kinds)


def _outcome(future, shot: str, cls):
    """A loop that crashed is reported as an escalation of its shot, not as a lost scene."""
    future.wait()
    state = future.state
    if state.is_completed():
        return future.result()
    try:
        future.result()
    except Exception as exc:  # noqa: BLE001 — the reason goes into the shot's report
        return cls(shot=shot, escalated=f"{type(exc).__name__}: {exc}")
    return cls(shot=shot, escalated=f"ended {state.name}")


@task(name="contact-sheet", cache_policy=NO_CACHE)
def make_contact_sheet(run: RunSpec, plans: list[ShotPlan], panels: dict[str, PanelOutcome], out: str) -> str:
    st = studio(run)
    entries = []
    for plan in plans:
        p = panels[plan.shot]
        takes = [t for t in p.takes if t.moment == "start"]
        uri = p.approved.get("start") or (takes[-1].uri if takes else None)
        verdict = ("escalated" if p.escalated else "halted" if p.halted
                   else "pass" if "start" in p.approved else "missing")
        detail = f"{len(takes)} take(s)" + (f" — {takes[-1].reasons[0]}" if takes and takes[-1].reasons else "")
        entries.append(ContactEntry(label=f"{plan.shot} take {len(takes)}",
                                    image=st.storage.open_local(uri) if uri else None,
                                    verdict=verdict, detail=detail))
    return str(contact_sheet(entries, Path(out)))


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


def _summary(result: SceneResult) -> str:
    rows = "\n".join(f"| {s.shot} | {s.status} | {s.panel_takes} | {s.video_takes} | {s.started_from} | "
                     f"{'' if s.drift is None else f'{s.drift:.3f}'} | {s.reason[:160]} |" for s in result.shots)
    return (f"# Scene {result.scene} ({result.profile})\n\n"
            f"Output: `{result.output}`  \nContact sheet: `{result.contact_sheet}`  \n"
            f"Provider calls this run: {result.provider_calls}\n\n"
            "| shot | status | panel takes | video takes | started from | drift | reason |\n"
            "|---|---|---|---|---|---|---|\n" + rows)


def film_budget(film_id: str, settings, *, cap: Decimal | None, max_takes: int | None) -> SlateBudget:
    """The film's `slate-budget` block (made from the settings the first time), with this
    run's command-line overrides on top."""
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
    return f"{params.get('scene') or 'scene'}-{params.get('profile') or 'default'}"


@flow(name="scene", flow_run_name=_run_name, log_prints=False)
def scene_flow(project: str, scene: str | None = None, profile: Literal["draft", "final", "hero"] | None = None,
               provider: str | None = None, max_takes: int | None = None, cap: Decimal | None = None,
               price_as: str | None = None, judge: str | None = None, panel_model: str | None = None,
               video_model: str | None = None, approve_fallback: list[str] | None = None):
    """Render one scene of the film project at `project` (a folder with film.yaml).

    `cap` overrides the per-run cap (USD) for this run only; `price_as` rehearses: the local
    provider runs, but every video call is priced, reserved and capped as that model."""
    install_log_redaction()  # a deployment's worker has no CLI to install it
    root = Path(project).resolve()
    # Before anything else (settings, the budget block, the ledger): every problem a run would
    # meet later, refused now as one "Refused" state listing them, with nothing spent.
    checked = preflight(root, scene=scene, whole_film=False, profile=profile, provider=provider,
                        price_as=price_as, cap=cap, max_takes=max_takes, judge=judge, panel_model=panel_model,
                        video_model=video_model)
    if not checked.ok:
        return refused(checked)
    settings = project_settings(root, profile=profile, provider=provider, price_as=price_as, judge=judge,
                                panel_model=panel_model, video_model=video_model, approve_fallback=approve_fallback)
    film = checked.film
    scene_id = scene or film.scenes[0][1].id
    film.scene(scene_id)
    budget = film_budget(film.film.id, settings, cap=cap, max_takes=max_takes)
    run = run_spec(root, scene_id, film.film.id, settings, top_run_id(), budget)
    # Task results live in the project (.slate/results), beside the artifacts they name: the
    # sub-flow is bound to that folder because a flow's result store is fixed before its body.
    folder = results_dir(root)
    folder.mkdir(parents=True, exist_ok=True)
    inner = shoot_scene.with_options(result_storage=folder)(run, return_state=True)
    # The scene run ends in the same named state as its shooting ("Escalated", "Halted", …).
    if inner.is_failed() or inner.is_crashed() or inner.is_cancelled():
        data = inner.result(raise_on_failure=False)
        if isinstance(data, SceneEnded):
            return ended(inner.name, inner.message or str(data), data.result)
        if isinstance(data, BaseException):
            raise data  # a bug of ours: its traceback is worth seeing
        return ended(inner.name, inner.message or "the scene failed", None)
    return Completed(data=inner.result(), name=inner.name, message=inner.message)


@flow(name="shoot-scene", flow_run_name="shoot-{run.scene}")
def shoot_scene(run: RunSpec):
    log = get_run_logger()
    root = Path(run.root)
    film = load_film(root)
    studio(run).pricing  # an unpriced model or a bad --price-as stops here, before any money
    sweep_scratch(root, keep=run.run_id)
    lock = check_references(run, film)
    plans = plan_scene(film, run.scene, lock, run.profile, run.fps, panel_model=run.panel_model,
                       video_model=run.video_models[0])
    # Before the first paid call: the providers' keys, credit and prices (what `slate doctor` says).
    refusal = provider_checks(run, plans)
    if refusal is not None:
        return refusal
    emit(event="plan", shots=[p.shot for p in plans])
    panel_futures = {p.shot: shoot_panels.submit(run, p) for p in plans}
    clip_futures = {}
    for p in plans:
        previous = clip_futures[plans[p.index - 1].shot] if p.chain else None
        clip_futures[p.shot] = shoot_video.submit(run, p, panel_futures[p.shot], previous)
    panels = {p.shot: _outcome(panel_futures[p.shot], p.shot, PanelOutcome) for p in plans}
    clips: dict[str, ClipOutcome] = {p.shot: _outcome(clip_futures[p.shot], p.shot, ClipOutcome) for p in plans}

    approved = [p.shot for p in plans if clips[p.shot].clip_uri]
    gov = studio(run).governor
    # A scene that did not finish (halted, stopped, a call of unknown outcome) publishes its
    # cut as a partial one, never under the finished scene's name.
    finished = gov.halted is None and not any(clips[p.shot].halted or panels[p.shot].halted for p in plans)
    width = max(p.width for p in plans)
    height = max(p.height for p in plans)
    out_dir = renders_dir(root)
    stem = re.sub(r"[^a-z0-9-]+", "-", f"{run.scene}-{run.profile}".lower())
    sheet = make_contact_sheet(run, plans, panels, str(out_dir / f"{stem}-contact.png"))
    output, duration = None, None
    if approved:
        stitched = in_project(stitch_scene, run, run.scene, [[clips[s].clip_uri, clips[s].seconds] for s in approved],
                                _transitions(plans, approved), width, height, run.fps,
                                artifacts=lambda r: [r["uri"]])
        output = str(out_dir / (f"{stem}.mp4" if finished else f"{stem}.partial-{len(approved)}-of-{len(plans)}.mp4"))
        tmp = Path(output + ".part")
        shutil.copyfile(studio(run).storage.open_local(stitched["uri"]), tmp)
        tmp.replace(output)
        duration = stitched["duration"]

    reports = []
    for p in plans:
        c, pn = clips[p.shot], panels[p.shot]
        status = "approved" if c.clip_uri else ("halted" if c.halted or pn.halted else "escalated")
        reports.append(ShotReport(shot=p.shot, panel_takes=len(pn.takes), video_takes=len(c.takes), status=status,
                                  reason=c.halted or pn.halted or c.escalated or pn.escalated or "",
                                  started_from=c.started_from, drift=c.drift["drift"] if c.drift else None))
    result = SceneResult(film=run.film, scene=run.scene, profile=run.profile, run_id=run.run_id, output=output,
                         contact_sheet=sheet, duration=duration, width=width, height=height,
                         provider_calls=calls_made(gov.ledger, run.run_id, run.scene), shots=reports,
                         halted=str(gov.halted) if gov.halted else None,
                         spent_usd=str(gov.ledger.totals(film=run.film, run_id=run.run_id, scene=run.scene).committed))
    create_markdown_artifact(_summary(result), key=re.sub(r"[^a-z0-9-]+", "-", f"scene-{run.scene}".lower()),
                             description=f"scene {run.scene}: shots, takes, escalations")
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
    if not approved:
        return ended("Failed", f"no shot of scene {run.scene} passed its gates", result)
    if escalated:
        names = ", ".join(f"{s.shot} ({s.reason[:80]})" for s in escalated)
        log.warning("escalated: %s", names)
        return Completed(data=result, name="Escalated",
                         message=f"{len(escalated)} shot(s) escalated: " + ", ".join(s.shot for s in escalated))
    return result
