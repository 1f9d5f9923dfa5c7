"""`slate export`: the film's (or one scene's) edit as a timeline an editor opens — OpenTimelineIO,
FCP 7 XML (Resolve, Premiere) or a CMX 3600 EDL — from the timeline records scene runs wrote.

It must never run anything or spend: it reads the records (tasks/edit/export.py) and the ledger (what
each shot cost) and writes one file.
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Optional

import typer

from slate.commands.shared import Directory, a_path, err, load_or_exit, say, say_error, shown
from slate.manifests.options import PROFILES


def export(directory: Directory,
           format: str = typer.Option("otio", "--format", help="otio, fcp7 (FCP 7 XML) or edl (CMX 3600)"),
           scene: Optional[str] = typer.Option(None, "--scene", help="one scene (default: the whole film)"),
           profile: Optional[str] = typer.Option(None, "--profile", help="the profile whose renders to export "
                                                                         "(default: the project's)"),
           out: Optional[Path] = typer.Option(None, "--out", parser=a_path,
                                              help="where to write it (default: renders/)"),
           media: str = typer.Option("graded", "--media",
                                     help="graded: clips point at graded copies (the LUT and each shot's grade "
                                          "baked in, made once into renders/graded/), so the timeline looks like "
                                          "the delivered cut; source: at the approved clips, the grade as metadata "
                                          "(a colourist's conform)")):
    """Write the edit as a timeline: one clip per shot pointing at its approved clip (or its graded
    copy), its in/out, the transitions, fades and dips, the audio cues on their own tracks with
    their levels and fades, each shot's id, take, cost, grade and gate scores as metadata, and a
    marker on every escalated or warned shot. An EDL comes with its reel list beside it."""
    from slate.governor.ledger import Ledger
    from slate.settings import project_settings
    from slate.tasks.edit import export as timeline

    if format not in timeline.FORMATS:
        say_error(f"--format: {shown(format)} is not one of {', '.join(timeline.FORMATS)}")
        raise typer.Exit(2)
    if media not in ("graded", "source"):
        say_error(f"--media: {shown(media)} is not graded or source")
        raise typer.Exit(2)
    if profile is not None and profile not in PROFILES:   # it names a file: never a path or a glob
        say_error(f"--profile: {shown(profile)} is not a profile ({', '.join(PROFILES)})")
        raise typer.Exit(2)
    if out is not None and out.is_dir():
        say_error(f"--out: {out} is a folder: give the file to write, e.g. {out / 'cut'}{timeline.FORMATS[format]}")
        raise typer.Exit(2)
    film = load_or_exit(directory)
    ids = [s.id for _, s in film.scenes]
    if scene is not None and scene not in ids:
        say_error(f"--scene: unknown scene {shown(scene)} (film has: {', '.join(ids)})")
        raise typer.Exit(2)
    profile = profile or project_settings(directory).profile
    wanted = [scene] if scene else ids
    paths = [timeline.record_path(directory, s, profile) for s in wanted]
    missing = [s for s, p in zip(wanted, paths) if not p.is_file()]
    if missing:
        err.print(f"no cut of {', '.join(missing)} at the {profile} profile yet: run `slate run {directory}` first",
                  markup=False, highlight=False)
        raise typer.Exit(1)
    costs: dict[tuple[str, str], Decimal] = {}
    for row in Ledger.for_project(directory.resolve()).rows(film=film.film.id):
        spent = row.actual_cost if row.actual_cost is not None else Decimal(0)
        costs[(row.scene, row.shot)] = costs.get((row.scene, row.shot), Decimal(0)) + spent
    records = timeline.read_records(paths)
    copies: dict[tuple[str, str], str] = {}
    if media == "graded":
        from slate.tasks.edit.graded import graded_media
        copies, notes = graded_media(records, directory)
        for note in notes:
            say(f"note: {note}")
    built = timeline.build_timeline(records, costs, copies)
    stem = f"{film.film.id}-{scene}-{profile}" if scene else f"{film.film.id}-{profile}"
    target = out or directory / "renders" / f"{stem}{timeline.FORMATS[format]}"
    try:
        timeline.write_timeline(built, format, target)
    except OSError as exc:   # a folder in its way, a file where its folder would be, no permission
        say_error(f"--out: cannot write {target}: {exc.strerror or exc}")
        raise typer.Exit(1)
    clips = sum(1 for t in built.video_tracks() for _ in t.find_clips())
    sound = "video only" if format == "edl" else f"{len(built.audio_tracks())} audio track(s)"
    graded = f", {len(copies)} graded clip(s)" if copies else ""
    say(f"{format} timeline: {target} ({clips} clip(s){graded}, {sound}, "
        f"{built.video_tracks()[0].duration().to_seconds():.2f}s from {built.metadata['slate']['record_start']})")
    if format == "edl":
        say(f"reel list: {timeline.reel_list_path(target)}")
