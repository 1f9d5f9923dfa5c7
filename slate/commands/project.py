"""The project's commands: `init`, `check`, `estimate` and `doctor`.

Each is a thin call: manifests write or load the film, tasks/preflight.py checks it as a run
would, governor/estimate.py prices it, tasks/doctor.py asks the providers. The run options they
take are the declared ones (manifests/options.py), added by `run_options`.

It must never spend, and never print a key.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import typer
from rich.text import Text

from slate.commands.options import run_options
from slate.commands.shared import (Directory, console, err, limits_lines, lineup_text, load_or_exit,
                                   preflight_or_exit, problems_or_exit, say_error)
from slate.manifests.options import RunOptions


def init(directory: Directory, example: bool = typer.Option(False, "--example", help="write the example film")):
    """Create a film project (with --example: the offline example film, 5 characters, 9 shots)."""
    from slate.manifests import write_example_film
    from slate.manifests.example import write_empty_film
    try:
        root = write_example_film(directory) if example else write_empty_film(directory)
    except ValueError as exc:
        err.print(str(exc), style="red")
        raise typer.Exit(2)
    if example:   # its two voices' approved samples, spoken offline as its turnarounds are drawn
        from slate.tasks.audition import sample_local_voices
        sample_local_voices(root)
    console.print(Text.assemble("film project written to ", (str(root), "bold")))


ONE_SCENE = {"scenes": "a scene id, repeatable (default: every scene)"}


@run_options("scenes", "profile", "provider", "price_as", "judge", "panel_model", "video_model", "cannot_judge",
             "model_audio", help=ONE_SCENE)
def check(directory: Directory, options: RunOptions):
    """Validate everything a run needs before it spends: settings, manifests, references (and
    whether the run's judge can read them), the stitch's dissolves, providers and prices. Prints
    every problem in one pass; exits 1 on any."""
    checked = preflight_or_exit(directory, options)
    film = checked.film
    _coverage(directory)   # after the preflight: what blocks a run is its problems, these are notes
    shots = sum(len(s.shots) for _, s in film.scenes)
    console.print(Text.assemble(("ok", "green"), f": {film.film.id}, {len(film.scenes)} scene(s), {shots} shot(s), "
                                f"{len(film.bible.characters)} characters, {len(film.bible.locations)} locations; "
                                f"{checked.settings.profile} profile, {lineup_text(checked.settings)}"))
    for line in limits_lines(directory, film.film.id, options):   # each cap, and where it came from
        console.print(line, markup=False, highlight=False)


def _coverage(directory: Path) -> None:
    """The bible's coverage (tasks/coverage.py), one warning a line; the preflight decides what blocks."""
    from slate.manifests import ManifestError, load_film
    from slate.providers.registry import storage_for
    from slate.tasks.coverage import coverage
    try:
        lines = coverage(storage_for(directory), load_film(directory))
    except (ManifestError, ValueError, OSError):
        return   # the preflight names what is wrong with the film or its storage
    for line in lines:
        console.print(f"coverage: {line}", markup=False, highlight=False)
    from slate.manifests.settings import project_settings
    from slate.tasks.audition import voice_problems   # a local voice judged by an interim reference (issue 37)
    try:
        film_now = load_film(directory)
        notes = voice_problems(film_now, project_settings(directory), storage_for(directory),
                               [sc.id for _, sc in film_now.scenes])[1]
    except (ManifestError, ValueError, OSError):
        notes = []   # the preflight names what is wrong
    for note in notes:
        console.print(f"coverage: {note}", markup=False, highlight=False)
    from slate.tasks.recipe import lint_line   # one change per recipe step (issue 24)
    film = load_film(directory)
    steps = [(f"{film.scene_file(sc.id)}: shot {s.id}: recipe[{i}]", text)
             for _, sc in film.scenes for s in sc.shots for i, text in enumerate(s.recipe)]
    steps += [(f"{film.film.bible}: locations[{j}].recipe[{i}]", text)
              for j, loc in enumerate(film.bible.locations) for i, text in enumerate(loc.recipe)]
    for where, text in steps:
        warning = lint_line(where, text)
        if warning:
            console.print(f"warning: {warning}", markup=False, highlight=False)


@run_options("scenes", "profile", "provider", "price_as", "run_cap_usd", "judge", "panel_model", "video_model",
             "model_audio", "upscale_model",
             help={**ONE_SCENE, "run_cap_usd": "the per-run cap to check against (default: settings)"})
def estimate(directory: Directory, options: RunOptions):
    """Expected cost per shot and in total (panels with expected takes, judge calls, videos, the
    lines of dialogue spoken by each speaker's voice, and a final or hero run's approved takes
    upscaled)."""
    from rich.table import Table as RichTable

    from slate.governor.estimate import estimate_film, lineup_pricing
    from slate.governor.ratecard import RateError
    from slate.manifests import Problem
    from slate.providers.errors import ReferenceMissing
    from slate.tasks.preflight import settings_overrides
    from slate.providers.registry import UnknownProvider, lineup
    from slate.manifests.settings import model_audio
    from slate.settings import project_settings
    from slate.tasks.plan import ShotPlan, plan_from_project
    film = load_or_exit(directory)
    known = [sc.id for _, sc in film.scenes]
    problems_or_exit([Problem("command line", None, "--scene", f"unknown scene {s!r} (film has: {', '.join(known)})")
                      for s in options.scenes if s not in known], directory)
    # A settings problem is a ManifestError: the app says it, one line a problem (slate/cli.py).
    settings = project_settings(directory, **settings_overrides(options))
    try:
        pricing = lineup_pricing(directory, lineup(settings), settings.price_as)
    except UnknownProvider as exc:
        say_error(f"{exc.setting}: {exc}")
        raise typer.Exit(2)
    except RateError as exc:
        say_error(f"rate card: {exc}")
        raise typer.Exit(2)
    plans: dict[str, Sequence[ShotPlan]] = {}
    for _, sc in film.scenes:
        if options.scenes and sc.id not in options.scenes:
            continue
        try:
            plans[sc.id] = plan_from_project(film, sc.id, settings.profile, settings.fps,
                                             audio=model_audio(settings))
        except ReferenceMissing as exc:
            say_error(f"{film.scene_file(sc.id)}: references: {exc}")
            raise typer.Exit(1)
    from slate.providers.registry import lineup as lineup_of
    from slate.tasks.lipsync import dialogue_costs
    lips = lineup_of(settings).lipsync
    speech = {sc: dialogue_costs(film, sc, settings.profile, pricing, str(lips) if lips else None) for sc in plans}
    from slate.tasks.passes import pass_costs
    # The passes over the clips: the face swaps shots ask for, a final or hero run's upscales.
    chosen = lineup_of(settings)
    swap, larger = chosen.faceswap, chosen.upscale
    passes = {sc: pass_costs(scene_plans, settings.profile, str(swap) if swap else None,
                             str(larger) if larger else None, pricing) for sc, scene_plans in plans.items()}
    priced = estimate_film(plans, pricing, settings.run_cap_usd, speech=speech, passes=passes,
                           **_range_of(directory, film, plans, settings))
    for scene_id, est in priced.scenes.items():
        rows = est.render_table()
        table = RichTable(title=f"{film.film.id} / {scene_id} — {settings.profile}, panels priced as "
                                f"{pricing.image_key}, judge priced as {pricing.judge_key}, video priced as {pricing.video_key}")
        for col in rows[0]:
            table.add_column(col, justify="right" if col != "shot" else "left")
        for row in rows[1:]:
            table.add_row(*row)
        console.print(table)
    for line in priced.range_lines():
        console.print(line, markup=False, highlight=False)
    console.print(priced.verdict())


def _range_of(directory: Path, film, plans: dict, settings) -> dict:
    """The top of the estimate's range: the takes this film's shots needed so far, from its
    ledger — or, for a film with none yet, its take policy (every stage up to max_takes) — and
    the sheets and plates the reference gate judges."""
    from slate.governor.estimate import takes_so_far
    from slate.governor.gates import judge_kind
    from slate.governor.ledger import Ledger
    from slate.providers.registry import lineup
    from slate.tasks.sheet_check import gated_needs
    rows = [r for r in Ledger.for_project(directory).rows(film=film.film.id) if r.stage in ("panel", "video")]
    # The reference gate asks a vision judge about each turnaround (a plate is slate's own measure).
    references = {sc: len([n for n in gated_needs(film, sc) if n.kind == "character"]) for sc in plans}
    vision = judge_kind(lineup(settings).judge.provider) == "vision"
    if not rows:
        return {"max_takes": settings.max_takes, "references": references, "vision_judge": vision,
                "takes_from": f"the take policy: up to {settings.max_takes} takes of each stage"}
    known = {sc: takes_so_far(rows, sc) for sc in plans}
    every = [t for by_shot in known.values() for t in by_shot.values()]
    # A shot not made yet counts what the film's shots made so far needed, on average (rounded up).
    usual = (-(-sum(p for p, _ in every) // len(every)), -(-sum(v for _, v in every) // len(every))) if every \
        else (settings.max_takes, settings.max_takes)
    takes = {sc: {p.shot: known[sc].get(p.shot, usual) for p in scene_plans} for sc, scene_plans in plans.items()}
    return {"takes": takes, "references": references, "vision_judge": vision,
            "takes_from": "the takes this film's shots needed so far"}


@run_options("scenes", "profile", "provider", "judge", "panel_model", "video_model", "model_audio", help=ONE_SCENE)
def doctor(directory: Directory, options: RunOptions):
    """Can this film spend with its providers now: keys present and valid, credit left (held to
    the estimate where the provider says), models priced, video slots — for the lineup and for the
    speech models the film's voices speak with. Exits 1 on a blocking line."""
    from slate.governor.estimate import estimate_film, lineup_pricing
    from slate.providers.registry import lineup
    from slate.manifests.settings import model_audio
    from slate.tasks.doctor import blocking, doctor as run_doctor, film_voices, line
    from slate.tasks.plan import ShotPlan, plan_from_project
    checked = preflight_or_exit(directory, options)
    settings, film = checked.settings, checked.film
    chosen = lineup(settings)
    plans: dict[str, Sequence[ShotPlan]] = {
        sc: plan_from_project(film, sc, settings.profile, settings.fps, panel_model=str(chosen.panel),
                              video_model=str(chosen.video), audio=model_audio(settings))
        for sc in checked.scenes}
    total = estimate_film(plans, lineup_pricing(directory, chosen, settings.price_as), settings.run_cap_usd).total
    findings = run_doctor(directory.resolve(), settings, estimate=total,
                          voices=film_voices(film.bible, settings.profile), film=film, scenes=tuple(checked.scenes))
    for f in findings:
        (console if f.ok or not f.blocking else err).print(line(f), markup=False, highlight=False)
    stops = blocking(findings)
    if stops:
        err.print(f"{len(stops)} blocking problem(s): a run would be refused before spending", style="red")
        raise typer.Exit(1)
    console.print(f"ready: {lineup_text(settings)}", markup=False, highlight=False)
