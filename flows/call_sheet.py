"""What a scene run is set up with before its first shot: the film's budget block, the scene's
RunSpec and can key, the unchanged scene served from the can, the providers' checks, the estimate
made before the first paid call, and the sweep of killed runs' scratch.

It must never spend: everything here runs before the first paid call, or instead of it.
"""
from __future__ import annotations

import shutil
import time
from decimal import Decimal
from pathlib import Path

from prefect import get_run_logger
from prefect.runtime import flow_run
from prefect.states import Failed

from slate.governor.budget import SlateBudget, block_name, load_or_create
from slate.governor.gates import judge_kind
from slate.governor.estimate import estimate_scene, takes_so_far
from slate.providers.storage_local import sweep_orphans
from slate.providers.registry import Lineup, ModelRef
from slate.tasks.doctor import blocking, check_lineup, line
from slate.tasks.cache import result_storage
from slate.tasks.context import RunSpec, run_spec, crew
from slate.tasks.plan import ShotPlan
from slate.tasks.can import from_the_can, scene_key_of
from slate.flows.scene_result import SceneResult


def film_budget(film_id: str, settings, *, cap: Decimal | None, max_takes: int | None,
                root: Path | None = None) -> SlateBudget:
    """The film's `slate-budget` block (made from the settings the first time), with this
    run's command-line overrides on top."""
    if root is not None and (cap is not None or max_takes is not None):
        # The block is made from the film's own settings (slate.toml, SLATE_*), never from one
        # run's flags: a `--cap 0.50` rehearsal must not become every later run's cap. The run's
        # settings carry its flags, so the film's are read again without them.
        from slate.manifests.settings import check_settings
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
    stitches in the making. A live run of another scene keeps its folder busy and young. And the
    temporary files of writers killed mid-write (providers/storage_local.sweep_orphans), in the
    project's store and renders: a killed run must not leave them behind for ever."""
    for folder in (root / ".slate", root / "renders"):
        sweep_orphans(folder)
    scratch = root / ".slate" / "scratch"
    if not scratch.is_dir():
        return
    now = time.time()
    for folder in scratch.iterdir():
        if folder.name != keep and folder.is_dir() and now - folder.stat().st_mtime > SCRATCH_STALE_SECONDS:
            shutil.rmtree(folder, ignore_errors=True)



def estimate_before(run: RunSpec, plans: list[ShotPlan]) -> dict:
    """The scene's estimate as it stands before its first paid call: one take per shot, the
    expected bill, and the takes its shots needed so far (its ledger; none yet: the take policy)."""
    try:
        gov = crew(run).governor
        so_far = takes_so_far([r for r in gov.ledger.rows(film=run.film) if r.stage in ("panel", "video")], run.scene)
        est = estimate_scene(plans, crew(run).pricing, takes=so_far or None, max_takes=run.max_takes,
                             vision_judge=judge_kind(ModelRef.parse(run.judge_model).provider) == "vision")
        return {"low": str(est.low), "expected": str(est.total), "high": str(est.high),
                "planned_seconds": str(est.delivered)}
    except Exception as exc:  # noqa: BLE001 — the reports' figure, never a reason to stop a run
        get_run_logger().warning("no estimate for the reports: %s", exc)
        return {}



def provider_checks(run: RunSpec, plans: list[ShotPlan]):
    """`slate doctor`'s checks for this run's lineup, with the scene's estimate held to what each
    key has left: a Failed "Refused" state listing what blocks, or None."""
    chosen = Lineup(ModelRef.parse(run.panel_model), tuple(ModelRef.parse(v) for v in run.video_models),
                    ModelRef.parse(run.judge_model))
    expected = estimate_scene(plans, crew(run).pricing).total
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
    return run, shelf, scene_key_of(run, film, crew(run).gates.fingerprint)



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

