"""What a scene run is set up with before its first shot: its budget limits, the scene's
Run and can key, the unchanged scene served from the can, the providers' checks, the estimate
made before the first paid call, and the sweep of killed runs' scratch.

It must never spend: everything here runs before the first paid call, or instead of it.
"""
from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from pathlib import Path

from prefect import get_run_logger
from prefect.client.schemas.objects import State
from prefect.runtime import flow_run
from prefect.states import Failed

from slate.governor.budget import block_name, make_block
from slate.governor.estimate import FilmEstimate
from slate.governor.ledger import CallRow
from slate.manifests import LoadedFilm
from slate.manifests.options import RunOptions
from slate.manifests.settings import Settings
from slate.providers.storage_local import sweep_orphans
from slate.providers.registry import base_urls
from slate.tasks.shot.clip_passes import as_used
from slate.tasks.run.doctor import blocking, check_lineup, film_music, film_voices, line
from slate.tasks.run.cache import BucketResults, result_storage
from slate.tasks.run.run import Run, run_of
from slate.tasks.run.run_plan import RunPlan, estimate_of, plan_run
from slate.tasks.shot.plan import ShotPlan
from slate.tasks.shot.voicing import line_costs
from slate.tasks.run.can import from_the_can, scene_key_of
from slate.tasks.gates.deviations import deviations_of
from slate.tasks.review.circle import words_of
from slate.flows.run.scene_result import SceneResult, SceneRound

#: Where a film's scene results are kept (tasks/run/cache.py `result_storage`): the project's
#: .slate/results folder, or the film's bucket.
Shelf = Path | BucketResults


def film_plan(root: Path, film: LoadedFilm, settings: Settings, options: RunOptions) -> RunPlan:
    """The run's plan, unpriced (tasks/run/run_plan.py `plan_run`): its lineup, and its caps and take
    policy each with where it came from — what the run was told, else the film's budget block
    where a person edited it, else the film's own settings (slate.toml, SLATE_*), which the block
    follows (it is made the first time, and saved again here when slate.toml changed)."""
    from slate.manifests.settings import check_settings
    own, problems = check_settings(root)   # the film's own: never one run's flags
    if own is None:
        raise ValueError("the film's settings cannot be read: " + "; ".join(map(str, problems)))
    block = make_block(film.film.id, own)
    plan = plan_run(film, options, block, settings=settings, own=own, priced=False, save=True,
                    block_from=f"the budget block slate-budget/{block_name(film.film.id)}")
    for line in plan.limits.unused:
        get_run_logger().warning("%s", line)
    return plan


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



def estimate_before(run: Run, plans: list[ShotPlan], film: LoadedFilm) -> dict[str, str]:
    """The scene's estimate as it stands before its first paid call (tasks/run/run_plan.py `estimate_of`,
    as `slate estimate` prices it): one take per shot, the expected bill with its lines of dialogue
    and its passes, and the takes the film's shots needed so far (its ledger; none yet: the take
    policy)."""
    try:
        est = _scene_estimate(run, plans, film, run.crew.governor.ledger.rows(film=run.film)).scenes[run.scene]
        return {"low": str(est.low), "expected": str(est.total), "high": str(est.high),
                "planned_seconds": str(est.delivered)}
    except Exception as exc:  # noqa: BLE001 — the reports' figure, never a reason to stop a run
        get_run_logger().warning("no estimate for the reports: %s", exc)
        return {}


def _scene_estimate(run: Run, plans: list[ShotPlan], film: LoadedFilm, rows: Sequence[CallRow] = ()) -> FilmEstimate:
    return estimate_of(film, {run.scene: plans}, run.crew.pricing, run.lineup.refs(), run.settings, rows=rows)


def provider_checks(run: Run, plans: list[ShotPlan], film: LoadedFilm) -> State[SceneRound] | None:
    """`slate doctor`'s checks for this run's lineup, its voices' speech models and its cues' music
    models, with the scene's
    estimate (`estimate_of`, speech and passes in it) held to what each key has left: a Failed
    "Refused" state listing what blocks (the round's end), or None."""
    # A pass's model a shot asks for by name (a face swap) is checked only where a shot asks.
    chosen = as_used(run.lineup.refs(), film, [run.scene])
    expected = _scene_estimate(run, plans, film).total
    spoken = line_costs(film, run.scene, run.profile, run.crew.pricing)
    voices = film_voices(film.bible, run.profile) if spoken else ()
    findings = check_lineup(run.root, chosen, base_urls(run.settings), run.settings.video_slots, estimate=expected,
                            voices=voices, storage=run.crew.storage, music=film_music(film, [run.scene]))
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



def scene_run(root: Path, scene_id: str, film: LoadedFilm, settings: Settings, options: RunOptions) -> Run:
    """The scene's Run in this run: its settings (the preflight's: the film's with what the run
    was told) with the budget's limits over them, and its lineup, as the run's plan resolves them
    (`film_plan`); its run id."""
    plan = film_plan(Path(root), film, settings, options)
    return run_of(root, scene_id, film.film.id, plan.settings, top_run_id(), plan.limits, plan.lineup)


def keyed_scene(run: Run, film: LoadedFilm, settings: Settings) -> tuple[Shelf, str]:
    """The scene's result store and its can key (tasks/run/can.py), for an open run: as the scene
    flow makes them, and as the film makes them to serve an unchanged scene itself."""
    # Task results live beside the artifacts they name (the project's .slate/results, or the
    # film's bucket so every worker shares them): the sub-flows are bound to that store because
    # a flow's result store is fixed before its body.
    shelf: Shelf = result_storage(Path(run.root), settings.storage)
    ledger = run.crew.governor.ledger
    return shelf, scene_key_of(run, film, run.crew.gates.fingerprint, run.crew.storage,
                               words_of(ledger, run.film), deviations_of(ledger, run.film))


def served_from_the_can(run: Run, shelf: Shelf, key: str) -> tuple[SceneResult, str] | None:
    """The scene's result and the run that made it, when it finished before with this key (every
    shot approved, or escalated by a gate: tasks/run/can.py) and its cut is there (nothing to make,
    nothing paid); None otherwise."""
    canned = from_the_can(Path(run.root), run.crew.storage, shelf, key)
    if canned is None:
        return None
    escalated = [s["shot"] for s in canned.get("shots") or [] if s.get("status") == "escalated"]
    get_run_logger().info("scene %s: unchanged since run %s; its cut is in the can, nothing to make%s",
                          run.scene, canned.get("run_id"),
                          f" ({', '.join(escalated)} escalated, as then)" if escalated else "")
    result = SceneResult(**{**canned, "run_id": run.run_id, "provider_calls": 0, "spent_usd": "0"})
    return result, str(canned.get("run_id"))

