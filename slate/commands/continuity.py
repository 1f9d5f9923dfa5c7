"""`slate continuity`: the deviations from the continuity ledger a director keeps (issue 58).

    slate continuity DIR                                  the deviations accepted so far
    slate continuity DIR 1D mug side=right [--note "…"] [--by NAME] [--scene S]

A deviation is the picture winning over the ledger: from the end of the shot it was seen in, the
ledger holds the thing as the picture has it, and the shots after it are drawn, prompted and
judged that way (tasks/gates/deviations.py). It is checked as `slate check` checks a hand-written
`changes:` before it is written, as a $0 row of the ledger's approvals.

It must never spend, start a run, retake anything or write the film's manifests; and it never
prints a key.
"""
from __future__ import annotations

from typing import Optional

import typer

from slate.commands.shared import Directory, load_or_exit, say, say_error, shown

__all__ = ["continuity"]


def continuity(directory: Directory,
               shot: Optional[str] = typer.Argument(None, help="the shot whose picture deviates, e.g. 1D"),
               thing: Optional[str] = typer.Argument(None, help="the prop, the character or `light`"),
               fields: Optional[list[str]] = typer.Argument(None, help="what the picture shows, FIELD=VALUE: "
                                                                       "side=right, state=empty, present=false, "
                                                                       "facing=left, key=right, temperature=cool"),
               scene: Optional[str] = typer.Option(None, "--scene", help="the shot's scene (needed only when two "
                                                                         "scenes have a shot of that name)"),
               note: str = typer.Option("", "--note", help="why the picture wins"),
               by: Optional[str] = typer.Option(None, "--by", help="who accepts (default: this machine's user)")):
    """The continuity deviations a director accepted, or (with SHOT THING FIELD=VALUE…) accept one:
    the ledger follows the picture from that shot on, for a $0 row and no retake."""
    from slate.governor.ledger import Ledger
    from slate.tasks.gates.deviations import BadDeviation, accept_deviation, as_accepted, deviation_of, deviations_of, \
        read_fields
    film = load_or_exit(directory)
    if shot is None:
        with Ledger.for_project(directory) as ledger:
            kept = deviations_of(ledger, film.film.id)
        if not kept:
            say(f"{film.film.id}: no continuity deviation accepted (the ledger is as the manifests declare it)")
        for d in kept:
            say(f"{d.scene} {d.said()} — {d.at[:16].replace('T', ' ')}")
        return
    if thing is None or not fields:
        say_error("say the thing and what the picture shows: slate continuity DIR SHOT THING FIELD=VALUE…, "
                  "e.g. 1D mug side=right")
        raise typer.Exit(2)
    scenes = [sc.id for _, sc in film.scenes if any(s.id == shot for s in sc.shots)]
    if scene is not None:
        scenes = [scene]
    if not scenes:
        say_error(f"no shot {shown(shot)} in any scene of the film")
        raise typer.Exit(2)
    if len(scenes) > 1:
        say_error(f"shot {shown(shot)} is in {', '.join(scenes)}: say which with --scene")
        raise typer.Exit(2)
    from slate.flows.review.approval import local_user
    who = (by if by is not None else local_user()).strip()
    if not who:
        say_error("--by: who accepts? a deviation is kept with its author's name (give --by NAME)")
        raise typer.Exit(2)
    with Ledger.for_project(directory) as ledger:
        try:
            now = as_accepted(film, deviations_of(ledger, film.film.id))
            deviation = deviation_of(now, scenes[0], shot, thing, read_fields(fields), note=note, by=who)
        except BadDeviation as exc:
            say_error(exc)
            raise typer.Exit(2)
        written = accept_deviation(ledger, film, deviation)
    say(f"accepted: {written.said()}. From the end of {shot} the ledger holds it as the picture has it; "
        f"the shots after it are drawn and judged that way on the next run ($0).")
    say(f"To keep {shot}'s panel take its gate failed, circle it: slate dailies {directory} --circle {shot}:TAKE --panel")
