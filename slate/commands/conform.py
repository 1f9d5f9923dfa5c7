"""`slate conform DIR EDITED`: an editor's changed timeline (.otio, FCP 7 .xml, CMX 3600 .edl) read
back into the film's scene files — shots reordered, trimmed, dropped, a dissolve or a dip changed,
a cue moved — shown as a unified diff of the manifests, written only with `--write`.

What cannot be taken back (a clip slate never made, a speed change, an effect or transition slate
does not render) is refused naming the clip and its record time, and nothing is written. A trim
that needs frames a take does not have names the shot, the frames missing and what a longer take
would cost; `--render` writes the longer duration and renders the changed scenes through the
normal paid path (`slate run`, the governor). Reading: tasks/edit/conform.py; the change:
tasks/edit/conform_manifest.py.

It must never spend without `--render`, and never write a file before every input was read and
every refusal said.
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import typer

from slate.commands.shared import Directory, a_path, err, load_or_exit, say, say_error, settings_or_exit, shown
from slate.manifests.options import PROFILES


def conform(directory: Directory,
            edited: Path = typer.Argument(..., parser=a_path, help="the edited timeline: .otio, .xml (FCP 7) or .edl"),
            write: bool = typer.Option(False, "--write", help="write the change into the scene files (default: show "
                                                              "it)"),
            render: bool = typer.Option(False, "--render", help="write the change and render the scenes it changes "
                                                                "(`slate run`): a longer take a trim needs is made and "
                                                                "paid for through the governor"),
            profile: Optional[str] = typer.Option(None, "--profile", help="the profile whose cut was exported "
                                                                          "(default: the project's)")):
    """Read an edited timeline back into the scene files: the shots' order (finishing.cut),
    trims, dissolves and dips, fades and cues, shown as a diff of the manifests."""
    from slate.tasks.edit import conform as reading
    from slate.tasks.edit.conform_manifest import conform_film, write_changes
    from slate.tasks.edit.export import read_records, record_path

    if profile is not None and profile not in PROFILES:   # it names a file: never a path or a glob
        say_error(f"--profile: {shown(profile)} is not a profile ({', '.join(PROFILES)})")
        raise typer.Exit(2)
    film = load_or_exit(directory)
    settings = settings_or_exit(directory)
    profile = profile or settings.profile
    rate = reading.rate_of(film.film.fps)
    # Every input read before anything is decided: a bad one is said naming its file (the app
    # says a ConformError as one `error:` line, slate/cli.py).
    timeline = reading.read_timeline(edited, rate)
    reels = reading.read_reels(edited.with_name(edited.stem + ".reels.csv")) \
        if edited.suffix.lower() == ".edl" else {}
    paths = {sc.id: record_path(directory, sc.id, profile) for _, sc in film.scenes}
    records = {sid: rec for sid, rec in zip([s for s, p in paths.items() if p.is_file()],
                                            read_records([p for p in paths.values() if p.is_file()]))}
    if not records:
        err.print(f"no cut of any scene at the {profile} profile yet: run `slate run {directory}` first (conform "
                  f"reads an edit against the cut it was exported from)", markup=False, highlight=False)
        raise typer.Exit(1)
    read = reading.read_back(timeline, records, reels, _takes(directory, list(records), profile))
    for cut in read.scenes:
        scene_file = Path(directory) / film.scene_file(cut.scene)
        if scene_file.stat().st_mtime > paths[cut.scene].stat().st_mtime:
            err.print(f"note: {film.scene_file(cut.scene)} changed after {cut.scene}'s cut was made: the edit is read "
                      f"against that cut (`slate run` first reads it against the manifest as it is now)",
                      markup=False, highlight=False)
    if not read.scenes and not read.refusals:
        say_error(f"{edited}: no clip of {film.film.id}'s cut at the {profile} profile (its scenes: "
                  f"{', '.join(records)}): is it this film's edit, exported at --profile {profile}?")
        raise typer.Exit(1)
    from slate.tasks.edit.finish_check import cue_lengths
    lengths: dict[str, float] = {}
    for cut in read.scenes:
        lengths.update(cue_lengths(Path(directory), film, cut.scene))
    done = conform_film(film, records, read, rate, lengths)
    for note in done.notes:
        err.print(f"note: {note}", markup=False, highlight=False)
    if done.refusals:
        for refusal in done.refusals:
            say_error(f"{edited.name}: {refusal}")
        err.print(f"{len(done.refusals)} thing(s) in {edited} slate cannot take back: nothing written",
                  markup=False, highlight=False)
        raise typer.Exit(1)
    changed = [c for c in done.changes if c.changed]
    for change in changed:
        say(change.diff().rstrip("\n"))
    for swap in done.swaps:
        say(f"{swap}: the next run cuts it from the take already made, at no cost")
    if not changed and not done.swaps:
        say(f"no change: {edited.name} is the cut the manifests describe")
        return
    if not done.shortfalls:
        # What the next run makes of it, before anyone waits on it: the cut and its finish again
        # from the takes already made (order, trims, joins, fades and cues change no take).
        scenes = sorted({c.scene for c in changed} | {s.scene for s in done.swaps})
        say(f"the next run (`slate run {directory}" + "".join(f" --scene {s}" for s in scenes) + "`) cuts and "
            f"finishes {', '.join(scenes)} again from the takes already made: no new take, no provider call, $0.00")
    if done.shortfalls:
        for line in _longer_takes(directory, film, profile, done.shortfalls):
            err.print(line, markup=False, highlight=False)
        if not render:
            err.print("nothing written: --render writes the longer duration(s) and makes the take(s) through the "
                      "governor (the estimate above)", markup=False, highlight=False)
            raise typer.Exit(1)
    if not (write or render):
        say(f"(not written: `slate conform {directory} {edited} --write` writes it)")
        return
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    for change in changed:
        if change.loses:
            err.print(f"note: {change.file} is rewritten in slate's layout: {change.loses} are not kept; the file as "
                      f"it was is in .slate/conform/{stamp}/{change.file}", markup=False, highlight=False)
    for path, _ in write_changes(Path(directory), changed, stamp):
        say(f"written: {path}")
    if done.swaps:
        _circle(directory, film, profile, done.swaps, edited)
    if render:
        scenes = [c.scene for c in changed]
        say(f"rendering {', '.join(scenes)} at the {profile} profile: slate run {directory} "
            + " ".join(f"--scene {s}" for s in scenes))
        from slate.commands.run import run
        run(directory=directory, verbose=False, from_bucket=None, scenes=scenes, profile=profile)


def _takes(directory: Path, scenes: list[str], profile: str) -> dict[str, dict[str, dict[int, str]]]:
    """By scene and shot, every take of its clip the rushes keep (tasks/edit/conform_trace.py reads a
    relinked clip by them): its file on this disk, or its object's URI."""
    from slate.flows.review.rushes import read_rushes
    from slate.settings import project_settings
    from slate.providers.registry import storage_for
    storage = storage_for(Path(directory), project_settings(directory, profile=profile))
    out: dict[str, dict[str, dict[int, str]]] = {}
    for scene in scenes:
        rushes = read_rushes(directory, scene, profile)
        for shot in rushes.shots if rushes else []:
            for take in shot.takes_of("clip"):
                try:
                    where = str(Path(storage.open_local(take.uri)).resolve())
                except (OSError, ValueError):
                    where = take.uri
                out.setdefault(scene, {}).setdefault(shot.shot, {})[take.take] = where
    return out


def _circle(directory: Path, film, profile: str, swaps, edited: Path) -> None:
    """Each take the editor swapped in, circled: a person's word ($0, the ledger's approvals) that
    the next run obeys as it obeys `slate dailies --circle`."""
    from slate.flows.review.approval import local_user
    from slate.flows.review.rushes import read_rushes
    from slate.governor.ledger import Ledger
    from slate.tasks.review.circle import say_word
    with Ledger.for_project(directory) as ledger:
        for swap in swaps:
            rushes = read_rushes(directory, swap.scene, profile)
            shot = rushes.shot(swap.shot) if rushes else None
            assert rushes is not None and shot is not None   # a swap is read only of a take the rushes keep
            say_word(ledger, run_id=rushes.run_id, film=film.film.id, scene=swap.scene, shot=swap.shot, kind="clip",
                     take=swap.take, word="circled", note=f"swapped in by the editor's timeline {edited.name}",
                     add_to_prompt=False, profile=profile, key=shot.keys["clip"], by=local_user())
            say(f"circled: take {swap.take} of {swap.scene}/{swap.shot} (`slate dailies {directory}` shows it)")


def _longer_takes(directory: Path, film, profile: str, shortfalls) -> list[str]:
    """Each shot that needs a longer take, and what one would cost at the profile's video model
    (the estimate `slate estimate` makes, governor/estimate.py): never a call, never a reservation."""
    from slate.governor.estimate import estimate_scene, lineup_pricing
    from slate.governor.money import fmt_usd
    from slate.governor.ratecard import RateError
    from slate.manifests.settings import model_audio
    from slate.providers.errors import ReferenceMissing
    from slate.providers.registry import lineup
    from slate.settings import project_settings
    from slate.tasks.shot.plan import plan_from_project

    settings = project_settings(directory, profile=profile)
    lines = []
    for short in shortfalls:
        lines.append(f"needs a longer take: {short}")
        try:
            pricing = lineup_pricing(directory, lineup(settings), settings.price_as)
            plans = plan_from_project(film, short.scene, profile, settings.fps, audio=model_audio(settings))
            plan = next(p for p in plans if p.shot == short.shot).model_copy(update={"duration": short.longer})
            est = estimate_scene([plan], pricing).lines[0]
        except (RateError, ReferenceMissing) as exc:
            lines.append(f"  its estimate: cannot be priced ({exc})")
            continue
        lines.append(f"  estimate: {fmt_usd(est.video_cost)} for the {short.longer:g}s clip at {pricing.video_key} "
                     f"(billed {est.billed_seconds}s), about {fmt_usd(est.expected)} with its panel, gates and "
                     f"expected retakes")
    return lines
