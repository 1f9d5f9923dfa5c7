"""The project's commands: `init`, `check`, `estimate` and `doctor`.

Each is a thin call: manifests write or load the film, tasks/run/preflight.py checks it as a run
would, governor/estimate.py prices it, tasks/run/doctor.py asks the providers. The run options they
take are the declared ones (manifests/options.py), added by `run_options`.

It must never spend, and never print a key.
"""
from __future__ import annotations

from pathlib import Path

import typer
from rich.text import Text

from slate.commands.options import run_options
from slate.commands.shared import (Directory, console, err, lineup_text, load_or_exit, plan_or_exit,
                                   on_stack, preflight_or_exit, problems_or_exit, say_plan)
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
        from slate.tasks.workshop.audition import sample_local_voices
        sample_local_voices(root)
    console.print(Text.assemble("film project written to ", (str(root), "bold")))


ONE_SCENE = {"scenes": "a scene id, repeatable (default: every scene)"}
#: The run options that make no sense for a command that makes nothing: how a run waits for a person
#: to approve a fallback, and how many scenes it makes at once. Every other option is taken, as a run
#: takes it (slate/commands/options.py), so a command shows the run it would make.
NOT_MADE = ("approve_fallback", "max_parallel_scenes")


@run_options(exclude=NOT_MADE, help=ONE_SCENE)
def check(directory: Directory, options: RunOptions):
    """Validate everything a run needs before it spends: settings, manifests, references (and
    whether the run's judge can read them), the stitch's dissolves, providers and prices. Prints
    every problem in one pass; exits 1 on any. Then the run's models, its caps (each with where it
    came from) and its expected total."""
    with on_stack(directory):   # a key in a Secret block of the film's stack is the stack's to say
        checked = preflight_or_exit(directory, options)
    film = checked.film
    _coverage(directory)   # after the preflight: what blocks a run is its problems, these are notes
    shots = sum(len(s.shots) for _, s in film.scenes)
    plan = plan_or_exit(directory, options, film=film, settings=checked.settings)
    console.print(Text.assemble(("ok", "green"), f": {film.film.id}, {len(film.scenes)} scene(s), {shots} shot(s), "
                                f"{len(film.bible.characters)} characters, {len(film.bible.locations)} locations; "
                                f"{checked.settings.profile} profile, {lineup_text(checked.settings)}"))
    say_plan(plan)
    from slate.tasks.review.judge_trial import measured_line   # issue 60: a judge is trusted as far as it was measured
    console.print(measured_line(directory, str(plan.lineup.judge)), markup=False, highlight=False)


def _coverage(directory: Path) -> None:
    """The bible's coverage (tasks/workshop/coverage.py), one warning a line; the preflight decides what blocks."""
    from slate.manifests import ManifestError, load_film
    from slate.providers.registry import storage_for
    from slate.tasks.workshop.coverage import coverage
    try:
        lines = coverage(storage_for(directory), load_film(directory))
    except (ManifestError, ValueError, OSError):
        return   # the preflight names what is wrong with the film or its storage
    for line in lines:
        console.print(f"coverage: {line}", markup=False, highlight=False)
    from slate.manifests.settings import project_settings
    from slate.tasks.workshop.audition import voice_problems   # a local voice judged by an interim reference (issue 37)
    try:
        film_now = load_film(directory)
        notes = voice_problems(film_now, project_settings(directory), storage_for(directory),
                               [sc.id for _, sc in film_now.scenes])[1]
    except (ManifestError, ValueError, OSError):
        notes = []   # the preflight names what is wrong
    for note in notes:
        console.print(f"coverage: {note}", markup=False, highlight=False)
    from slate.providers.prompts import recipe_step_warning   # one change per recipe step (issue 24)
    film = load_film(directory)
    steps = [(f"{film.scene_file(sc.id)}: shot {s.id}: recipe[{i}]", text)
             for _, sc in film.scenes for s in sc.shots for i, text in enumerate(s.recipe)]
    steps += [(f"{film.film.bible}: locations[{j}].recipe[{i}]", text)
              for j, loc in enumerate(film.bible.locations) for i, text in enumerate(loc.recipe)]
    for where, text in steps:
        warning = recipe_step_warning(where, text)
        if warning:
            console.print(f"warning: {warning}", markup=False, highlight=False)


@run_options(exclude=NOT_MADE,
             help={**ONE_SCENE, "run_cap_usd": "the per-run cap to check against (default: the film's budget block, "
                                               "else slate.toml)"})
def estimate(directory: Directory, options: RunOptions):
    """Expected cost per shot and in total (panels with expected takes, judge calls, videos, the
    lines of dialogue spoken by each speaker's voice and lip-synced, the face swaps shots ask for,
    and a final or hero run's approved takes upscaled), against the run's cap."""
    from rich.table import Table as RichTable

    from slate.manifests import Problem
    film = load_or_exit(directory)
    known = [sc.id for _, sc in film.scenes]
    problems_or_exit([Problem("command line", None, "--scene", f"unknown scene {s!r} (film has: {', '.join(known)})")
                      for s in options.scenes if s not in known], directory)
    # A settings problem is a ManifestError: the app says it, one line a problem (slate/cli.py).
    plan = plan_or_exit(directory, options, film=film)
    priced, pricing = plan.estimate, plan.pricing
    for scene_id, est in priced.scenes.items():
        rows = est.render_table()
        table = RichTable(title=f"{film.film.id} / {scene_id} — {plan.settings.profile}, panels priced as "
                                f"{pricing.image_key}, judge priced as {pricing.judge_key}, video priced as {pricing.video_key}")
        for col in rows[0]:
            table.add_column(col, justify="right" if col != "shot" else "left")
        for row in rows[1:]:
            table.add_row(*row)
        console.print(table)
    for line in priced.range_lines():
        console.print(line, markup=False, highlight=False)
    say_plan(plan)


@run_options(exclude=NOT_MADE, help=ONE_SCENE)
def doctor(directory: Directory, options: RunOptions):
    """Can this film spend with its providers now: keys present and valid, credit left (held to
    the estimate where the provider says), models priced, video slots — for the lineup and for the
    speech models the film's voices speak with. Exits 1 on a blocking line."""
    from slate.providers.registry import base_urls, storage_for
    from slate.tasks.run.doctor import blocking, check_lineup, film_music, film_voices, line
    checked = preflight_or_exit(directory, options, keys=False)   # its own lines say each key
    settings, film = checked.settings, checked.film
    plan = plan_or_exit(directory, options, film=film, settings=settings)
    say_plan(plan)
    chosen = plan.used or plan.lineup   # a face-swap model no shot asks for is not checked
    findings = check_lineup(directory.resolve(), chosen, base_urls(plan.settings), plan.settings.video_slots,
                            estimate=plan.estimate.total if plan.estimate is not None else None,
                            voices=film_voices(film.bible, plan.settings.profile),
                            storage=storage_for(directory.resolve(), plan.settings),
                            music=film_music(film, plan.scenes))
    for f in findings:
        (console if f.ok or not f.blocking else err).print(line(f), markup=False, highlight=False)
    stops = blocking(findings)
    if stops:
        err.print(f"{len(stops)} blocking problem(s): a run would be refused before spending", style="red")
        raise typer.Exit(1)
    console.print(f"ready: {lineup_text(settings)}", markup=False, highlight=False)
