"""A deviation from the continuity ledger that the director keeps (issue 58): the picture wins.

The gates hold every panel to the continuity ledger (manifests/continuity_ledger.py). When a
panel shows a thing otherwise and the director likes it better — the mug reads well on the right,
the light is warmer than declared — they accept the deviation instead of paying for a retake:

    slate continuity DIR --accept 1D mug side=right [--note "reads better"] [--by NAME]

An accepted deviation is a $0 row of the governor ledger's approvals (stage `continuity`: who,
when, the scene and shot, the thing and its fields, the note). A run, `slate check` and the
dailies lay the film's deviations over the loaded manifests (`as_accepted`) as each shot's
`continuity.accepted`. From there the continuity ledger holds the thing as the picture shows it,
from the end of the shot it was seen in: the shots after it are drawn, prompted and judged by the
new state. The shot's own start panel is not asked again (it is the picture). To keep the take
its gate failed, circle it (`slate dailies DIR --circle 1D:2 --panel`). The latest word on a
(shot, thing, field) stands.

It must never spend, make or retake anything, never write the film's manifests (a person's YAML
stays theirs), and never write a deviation `slate check` would refuse: the check runs first.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from slate.errors import SlateError
from slate.manifests.continuity_ledger import LIGHT, Change, ShotContinuity, continuity_problems, ledger_of

if TYPE_CHECKING:
    from slate.governor.ledger import Ledger
    from slate.manifests import LoadedFilm

__all__ = ["DEVIATION_STAGE", "Deviation", "BadDeviation", "read_fields", "deviation_of", "accept_deviation",
           "deviations_of", "as_accepted", "accepted_film"]

DEVIATION_STAGE = "continuity"


class BadDeviation(SlateError, ValueError):
    """A deviation that cannot be accepted, said naming the file, the shot and the field."""


@dataclass(frozen=True)
class Deviation:
    """One accepted deviation: at `shot` of `scene`, `thing` is as `fields` say from then on."""

    scene: str
    shot: str
    thing: str
    fields: Mapping[str, object]
    note: str = ""
    by: str = ""
    at: str = ""

    def said(self) -> str:
        """ "1D: mug side right, accepted by ana (reads better)" """
        told = ", ".join(f"{k} {v}" for k, v in self.fields.items())
        return f"{self.shot}: {self.thing} {told}, accepted by {self.by or 'someone'}" + \
            (f" ({self.note})" if self.note else "")


def read_fields(items: Iterable[str]) -> dict[str, object]:
    """`side=right present=false` as a change's fields (`present` is a yes/no)."""
    out: dict[str, object] = {}
    for item in items:
        key, eq, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not eq or not key or not value:
            raise BadDeviation(f"{item!r}: a field is FIELD=VALUE, e.g. side=right or state=empty")
        if key == "present":
            if value.lower() not in ("true", "false", "yes", "no"):
                raise BadDeviation(f"{item!r}: present is true or false")
            out[key] = value.lower() in ("true", "yes")
        else:
            out[key] = value
    if not out:
        raise BadDeviation("say what the picture shows, e.g. side=right (FIELD=VALUE, one or more)")
    return out


def deviation_of(film: LoadedFilm, scene_id: str, shot_id: str, thing: str, fields: Mapping[str, object],
                 note: str = "", by: str = "") -> Deviation:
    """The deviation checked against the film as it is (its own ledger and the deviations already
    laid over it): the shot exists, the thing is one the ledger holds there (a prop, a character
    of the shot, the light), the fields are that thing's — or BadDeviation naming file, shot and field."""
    try:
        scene = film.scene(scene_id)
    except KeyError as exc:
        raise BadDeviation(str(exc.args[0])) from None
    file = film.scene_file(scene_id)
    shot = next((s for s in scene.shots if s.id == shot_id), None)
    if shot is None:
        raise BadDeviation(f"{file}: no shot {shot_id!r} (the scene has {', '.join(s.id for s in scene.shots)})")
    where = f"{file}: shot {shot_id}: continuity.accepted.{thing}"
    try:
        Change(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        field_ = ".".join(str(p) for p in first["loc"])
        raise BadDeviation(f"{where}{'.' + field_ if field_ else ''}: {first['msg']}") from None
    state = next(s for s in ledger_of(scene) if s.shot == shot_id)
    known = {*state.start_props, *state.end_props} | {*state.start_blocking, *state.end_blocking, *shot.characters}
    if thing != LIGHT and thing not in known:
        raise BadDeviation(f"{where}: the ledger holds no {thing!r} at {shot_id} (it holds: "
                           f"{', '.join(sorted(known | {LIGHT}))})")
    deviation = Deviation(scene_id, shot_id, thing, dict(fields), note, by)
    # The same rules as a hand-written one: a character only moves or turns, the light only
    # changes its time, key or temperature.
    wrong = [p for p in continuity_problems(as_accepted(film, [deviation]))
             if p.file == file and p.shot == shot_id and p.field == f"continuity.accepted.{thing}"]
    if wrong:
        raise BadDeviation(f"{where}: {wrong[0].message}")
    return deviation


def accept_deviation(ledger: Ledger, film: LoadedFilm, deviation: Deviation, *, run_id: str = "",
                     caller: str | None = None) -> Deviation:
    """Write an accepted deviation (checked by `deviation_of`) as a $0 approvals row."""
    row = ledger.approve(run_id=run_id, film=film.film.id, scene=deviation.scene, shot=deviation.shot,
                         stage=DEVIATION_STAGE, take=0, by=deviation.by, fingerprint="", message=deviation.note,
                         caller=caller, parameters={"thing": deviation.thing, "fields": dict(deviation.fields)})
    return _deviation(row.scene, row.shot, row.parameters, row.message, row.by, row.created_at.isoformat())


def _deviation(scene: str, shot: str, parameters: Mapping[str, object], note: str, by: str, at: str) -> Deviation:
    fields = parameters.get("fields")
    return Deviation(scene, shot, str(parameters.get("thing", "")), dict(fields) if isinstance(fields, dict) else {},
                     note, by, at)


def deviations_of(ledger: Ledger, film_id: str) -> list[Deviation]:
    """Every deviation accepted on the film, oldest first."""
    return [_deviation(r.scene, r.shot, r.parameters, r.message, r.by, r.created_at.isoformat())
            for r in ledger.approvals(film=film_id, stage=DEVIATION_STAGE)]


def as_accepted(film: LoadedFilm, deviations: Iterable[Deviation]) -> LoadedFilm:
    """The film with its accepted deviations laid over the shots' `continuity.accepted` (later ones
    over earlier, field by field; a deviation of a shot or scene no longer in the film is dropped).
    The film itself when there are none: its manifests as loaded, untouched."""
    from dataclasses import replace
    by_shot: dict[tuple[str, str], dict[str, dict[str, object]]] = {}
    for d in deviations:
        if d.thing and d.fields:
            by_shot.setdefault((d.scene, d.shot), {}).setdefault(d.thing, {}).update(d.fields)
    if not by_shot:
        return film
    scenes = []
    for file, scene in film.scenes:
        shots = []
        for shot in scene.shots:
            kept = by_shot.get((scene.id, shot.id))
            if kept:
                cont = shot.continuity or ShotContinuity()
                accepted = {**cont.accepted}
                for thing, fields in kept.items():
                    before = accepted[thing].model_dump(exclude_none=True) if thing in accepted else {}
                    try:
                        accepted[thing] = Change(**{**before, **fields})
                    except ValidationError:
                        continue   # a row no check would write (an older slate's): the film as written
                shot = shot.model_copy(update={"continuity": cont.model_copy(update={"accepted": accepted})})
            shots.append(shot)
        scenes.append((file, scene.model_copy(update={"shots": shots})))
    return replace(film, scenes=scenes)


def accepted_film(root: Path | str, film: LoadedFilm) -> LoadedFilm:
    """The film with the deviations its ledger holds — read without making a ledger for a project
    that has never had one (checking a film must not create its database)."""
    from slate.governor.ledger import Ledger
    from slate.tasks.run.run_plan import ledger_kept
    root = Path(root)
    if not ledger_kept(root):
        return film
    with Ledger.for_project(root) as ledger:
        return as_accepted(film, deviations_of(ledger, film.film.id))
