"""What a film has come to: `status` (renders, spending, what waits for a person, the stack's runs)
and `escalations` (every escalated shot of each scene's latest run, and what to do about it).

It must never change anything but the film's prompt_rules.toml (`--warn-words`), and never
print a key.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from slate.commands.shared import Directory, console, err, load_or_exit, say, say_error


def status(directory: Directory):
    """What has been rendered and escalated, from the project's renders and run records."""
    from slate.governor.leases import open_calls
    from slate.governor.ledger import Ledger
    from slate.governor.money import fmt_usd
    film = load_or_exit(directory)
    renders = directory / "renders"
    ledger = Ledger.for_project(directory.resolve())
    totals = ledger.totals(film=film.film.id)
    found = open_calls(ledger, film.film.id)
    console.print(f"film {film.film.id}: {film.film.title} — spent {fmt_usd(totals.committed)}"
                  + (f", {len(found.by_hand)} call(s) to reconcile (slate reconcile {directory})"
                     if found.by_hand else "")
                  + (f", {len(found.by_itself)} job(s) the next run collects" if found.by_itself else "")
                  + (f", {len(found.in_flight)} call(s) in flight" if found.in_flight else ""),
                  highlight=False, markup=False)
    # Every open call, one line each: who settles it.
    for who, rows in (("in flight", found.in_flight), ("the next run settles it", found.by_itself),
                      ("to reconcile", found.by_hand)):
        for r in rows:
            console.print(f"  open: {r.call_id[:12]} {r.status} shot {r.shot} {r.stage} take {r.take} "
                          f"{r.provider}:{r.model}" + (f" job {r.job_id[:40]}" if r.job_id else "") + f": {who}",
                          highlight=False, markup=False)
    _say_plan(directory, film)
    for _, scene in film.scenes:
        console.print(f"  scene {scene.id}: {len(scene.shots)} shots, {scene.total_seconds():.1f}s; "
                      f"renders: {_written(renders, scene.id) or 'none yet'}")
    cuts = _written(renders, film.film.id)
    if cuts:
        console.print(f"  film {film.film.id}: {cuts}")
    from slate.stack import running
    stack = running(directory)
    if stack is not None:
        console.print(f"stack up: UI {stack.ui_url}, work pool {stack.pool} (slate down {directory} stops it)",
                      highlight=False)
        _stack_runs(stack)


def _say_plan(directory: Path, film) -> None:
    """The film's next run as `slate check` and `slate estimate` say it (tasks/run/run_plan.py): its
    models, its caps with where each came from, and its expected total against its cap. A film a run
    would refuse says why in one line: `slate check` names every problem."""
    import typer

    from slate.commands.shared import plan_or_exit
    from slate.manifests import ManifestError
    try:
        plan = plan_or_exit(directory, film=film)
    except typer.Exit:
        return   # what could not be resolved was said on stderr
    except (ManifestError, ValueError, OSError) as exc:
        say_error(f"the next run cannot be planned ({type(exc).__name__}): slate check {directory} names why")
        return
    for line in plan.lines():
        console.print(f"  {line}", highlight=False, markup=False)


def _written(renders: Path, stem: str) -> str:
    """What runs wrote under renders/ for a scene or the film: cuts (partial ones said so) and
    contact sheets, each with the profile it was made at."""
    if not renders.is_dir():
        return ""
    said = []
    for path in sorted(renders.glob(f"{stem}-*")):
        name = path.name
        if name.startswith(".") or not path.is_file():
            continue
        if name.endswith("-contact.png"):
            said.append(f"{name} (contact sheet)")
        elif ".partial-" in name and name.endswith(".mp4"):
            said.append(f"{name} (partial cut)")
        elif name.endswith(".mp4"):
            said.append(name)
    return ", ".join(said)


def _stack_runs(stack) -> None:
    """The stack's latest scene and film runs, and the next nightly, as its server has them."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (FlowFilter, FlowFilterName, FlowRunFilter, FlowRunFilterState,
                                                FlowRunFilterStateType)
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort
    from prefect.settings import PREFECT_API_URL, temporary_settings
    films_and_scenes = FlowFilter(name=FlowFilterName(any_=["scene", "film"]))
    with temporary_settings({PREFECT_API_URL: stack.api_url}), get_client(sync_client=True) as client:
        started = client.read_flow_runs(
            flow_filter=films_and_scenes, sort=FlowRunSort.EXPECTED_START_TIME_DESC, limit=6,
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(
                not_any_=[StateType.SCHEDULED]))))
        upcoming = client.read_flow_runs(
            flow_filter=films_and_scenes, sort=FlowRunSort.EXPECTED_START_TIME_ASC, limit=1,
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(
                any_=[StateType.SCHEDULED]))))
    for r in started:
        console.print(f"  run {r.name}: {r.state.name if r.state else '?'}", highlight=False)
    for r in upcoming:
        when = r.expected_start_time.isoformat(timespec="minutes") if r.expected_start_time else "?"
        console.print(f"  next: {r.name} at {when}", highlight=False)


def escalations(directory: Directory, scene: Optional[str] = typer.Option(None, "--scene", help="only this scene"),
                warn_words: Optional[str] = typer.Option(
                    None, "--warn-words", help="comma-separated words to be warned of in every prompt from now on "
                                               "(kept in the film's prompt_rules.toml): the words a refusal offers")):
    """Every escalated shot of the latest run of each scene: its best take, the failing scores
    with the judge's reasons, where a human composite goes and the manifest line that uses it.
    A shot a provider refused shows the provider's words, the prompt and references sent, and
    the words to be warned of next time."""
    from slate.governor.ledger import Ledger
    from slate.providers.registry import storage_for
    from slate.tasks.review import escalations as records
    if warn_words is not None:
        _warn_words(directory, warn_words)
        return
    film = load_or_exit(directory)
    ids = [sc.id for _, sc in film.scenes]
    if scene is not None and scene not in ids:
        err.print(f"--scene: unknown scene {scene!r} (the film has: {', '.join(ids)})", markup=False)
        raise typer.Exit(2)
    storage = storage_for(directory.resolve())
    max_takes = _max_takes(directory, film)
    found = records.latest(Ledger.for_project(directory.resolve()), film.film.id, [scene] if scene else ids)
    for scene_id, shots in found.items():
        if not shots:
            console.print(f"scene {scene_id}: no escalated shot in its latest run", highlight=False)
            continue
        console.print(f"scene {scene_id}: {len(shots)} escalated shot(s) in run {shots[0].run_id[:8]} "
                      f"({shots[0].when:%Y-%m-%d %H:%M} UTC)", highlight=False)
        scene_file = film.scene_file(scene_id)
        for esc in shots:
            _print_escalation(directory, film, scene_id, scene_file, esc, storage, max_takes)
            _print_refusals(directory, film, scene_id, esc, storage)


def _warn_words(directory: Path, words: str) -> None:
    """`--warn-words`: the words kept in the film's own prompt_rules.toml as a warn rule."""
    from slate.providers.prompts import RulesError, warn_of
    try:
        path, kept = warn_of(directory, [w for w in words.split(",") if w.strip()])
    except RulesError as exc:
        say_error(exc)
        raise typer.Exit(2)
    console.print(f"{path}: every prompt with {', '.join(kept)} is warned of from now on (slate check, and before "
                  f"each paid call)", highlight=False, markup=False)


def _print_refusals(directory: Path, film, scene_id: str, esc, storage) -> None:
    """What a provider's moderation refused for this shot, in its own words, with the prompt and
    the references that were sent, and the words to be warned of next time."""
    from slate.governor.ledger import Ledger
    from slate.providers.prompts import refused_rule_words
    from slate.tasks.review.escalations import refusals
    with Ledger.for_project(directory.resolve()) as ledger:
        refused = refusals(ledger, film.film.id, scene_id, esc.shot)
    if not refused:
        return
    warned = set(refused_rule_words(directory))
    offered: list[str] = []
    for r in refused:
        say(f"    refused by {r.provider}:{r.model} ({r.stage} take {r.take}, call {r.call_id}): {r.words}")
        say(f"      prompt sent: {r.prompt}")
        for uri in r.references:
            try:
                where = str(storage.open_local(uri))
            except (OSError, ValueError):
                where = uri  # gone from local storage: the URI still names it
            say(f"      reference sent: {where}")
        offered += [w for w in r.offered if w not in warned and w not in offered]
    if offered:
        say(f"    words only the refused prompt had (no accepted prompt of the film used them): {', '.join(offered)}")
        say(f"    to be warned of the ones that tripped it, from now on: slate escalations {directory} "
             f"--warn-words {','.join(offered)}   (edit the list first)")


def _max_takes(directory: Path, film) -> int:
    """The takes a shot gets in the film's next run, as its plan resolves them (tasks/run/run_plan.py:
    the film's budget block where a person edited it, else slate.toml)."""
    from slate.commands.shared import budget_block
    from slate.tasks.run.run_plan import plan_run
    try:
        block, _ = budget_block(directory, film.film.id)
        return plan_run(film, None, block, priced=False).limits.max_takes
    except Exception:  # noqa: BLE001 — a bad slate.toml is `slate check`'s to report
        return 3


def _print_escalation(directory: Path, film, scene_id: str, scene_file: str, esc, storage, max_takes: int) -> None:
    from slate.governor.gates import against
    from slate.tasks.review.escalations import advice
    say(f"\n  shot {esc.shot}: {esc.reason}")
    best = esc.best_take
    if best:
        where = best.get("uri") or ""
        try:
            where = str(storage.open_local(where)) if where else "(no image: the take was refused)"
        except (OSError, ValueError):
            pass  # gone from local storage: the URI still names it
        say(f"    best take: {best['stage']} {best['moment']} take {best['take']} "
             f"(quality {best['quality']:+.2f}): {where}")
        failing = [s for s in best.get("scores", []) if not s.get("passed") and s.get("role", "block") == "block"]
        warned = [s for s in best.get("scores", []) if not s.get("passed") and s.get("role") == "warn"]
        for label, scores in (("failing", failing), ("warning", warned)):
            for s in scores:
                say(f"    {label}: {s['name']} {against(s['value'], s['threshold'])} — {s.get('reason', '')}")
        if not failing and best.get("reasons"):
            for reason in best["reasons"]:
                say(f"    failing: {reason}")
    try:
        current = film.scene(scene_id).shot(esc.shot).panel_override
    except (KeyError, ValueError):
        current = None  # the shot is gone from the manifest since that run
    for line in advice(esc, project=str(directory.resolve()), scene_file=scene_file, current_override=current,
                       max_takes=max_takes):
        say(f"    {line}")
