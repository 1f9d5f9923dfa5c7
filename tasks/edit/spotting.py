"""Spotting a cue (issue 59): where a music brief's cue starts and ends and where its hits fall,
read from the cut as delivered — each shot's place after trims, with a dissolve's overlap — and
rounded to whole frames.

A spotting session is where a composer and the director agree where each cue starts, stops and
what it must hit; here the brief says it in shots (`from_shot`, `to_shot`, `cut: 1C`, `shot: 1D,
at: 1.5`) and this module turns the words into seconds on the cut. Because the seconds come from
the cut, a trimmed shot, a conformed edit or a retake of another length moves them, and what is
made from them (the cue's key) moves with them; an unchanged cut spots the cue the same to the
frame, so its key stays and nothing is made again.

It must never read a file, call a provider or import Prefect: `slate check` spots a brief against
the planned shots, the run against the approved ones, with the same function.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from slate.errors import SlateError
from slate.manifests.assembly import MusicBrief
from slate.manifests.schema import Scene

__all__ = ["CutPlace", "Spotted", "SpotError", "edit_order", "places", "planned_cut", "spot"]


@dataclass(frozen=True)
class CutPlace:
    """One shot in the cut: where its picture starts (`start`, seconds into the scene, the
    dissolve into it included), how long it plays (`seconds`, its trims taken) and how long the
    dissolve into it lasts (`dissolve_in`, 0 at a cut)."""

    shot: str
    start: float
    seconds: float
    dissolve_in: float = 0.0

    @property
    def end(self) -> float:
        return self.start + self.seconds

    @property
    def cut_time(self) -> float:
        """When the cut into this shot is seen: its first frame, or the middle of a dissolve."""
        return self.start + self.dissolve_in / 2


@dataclass(frozen=True)
class Spotted:
    """A cue as the cut asks for it: `start` seconds into the scene, `seconds` long, an accent at
    each of `hits` (seconds into the cue), each shot's `intensity` from its time in the cue on;
    `missing`: the hits whose shot is not in this cut (escalated, dropped), said, not made."""

    name: str
    start: float
    seconds: float
    hits: tuple[float, ...] = ()
    intensity: tuple[tuple[float, str], ...] = ()
    missing: tuple[str, ...] = ()


class SpotError(SlateError, ValueError):
    """A brief that cannot be spotted on this cut: `field` under the brief (`hits[1]`), `shot`
    where one is concerned, and why, with the fix."""

    def __init__(self, field: str, message: str, shot: str | None = None):
        super().__init__(message)
        self.field, self.shot, self.message = field, shot, message


def places(shots: Sequence[tuple[str, float]], joins: Sequence[tuple[str, float]]) -> list[CutPlace]:
    """The cut's shots (id, seconds after trims, in the edit's order) placed end to end, each
    `joins[k]` (kind, seconds) leading out of shot k: a dissolve overlaps the next shot's head."""
    out: list[CutPlace] = []
    at, overlap = 0.0, 0.0
    for k, (sid, secs) in enumerate(shots):
        out.append(CutPlace(sid, at, float(secs), overlap))
        kind, length = joins[k] if k < len(joins) else ("cut", 0.0)
        overlap = float(length) if kind == "dissolve" else 0.0
        at += float(secs) - overlap
    return out


def planned_cut(scene: Scene) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    """A scene's cut as planned, before anything is made: its shots in the edit's order
    (`finishing.cut`, a dropped shot left out), each (id, seconds after its trims), and the
    transition leading out of each but the last (kind, seconds) — what `places` takes, and what
    `slate check` and the estimate spot a brief on."""
    fin = scene.finishing
    by_id = {s.id: s for s in scene.shots}
    ids = [s.id for s in scene.shots]
    shots = [by_id[i] for i in (fin.in_cut(ids) if fin else ids)]
    trims = {s.id: fin.shots.get(s.id) if fin else None for s in shots}
    lengths = [(s.id, s.duration - ((t.trim_in + t.trim_out) if (t := trims[s.id]) else 0.0)) for s in shots]
    joins = [(str(s.transition_out.kind), float(s.transition_out.duration)) for s in shots[:-1]]
    return lengths, joins


def edit_order(scene: Scene) -> list[str]:
    """Every shot of a scene in the edit's order: the cut's, then those it drops (what `spot`
    reads a brief's span by when its first or last shot is not in the cut)."""
    ids = [s.id for s in scene.shots]
    cut = scene.finishing.in_cut(ids) if scene.finishing else ids
    return cut + [i for i in ids if i not in cut]


def _frame(t: float, fps: float) -> float:
    return round(round(t * fps) / fps, 6)


def spot(brief: MusicBrief, cut: list[CutPlace], fps: float, order: list[str] | None = None) -> Spotted:
    """`brief` spotted on `cut` at `fps` (the module docstring). `order`: every shot of the scene
    in the edit's order, the cut's and the ones not in it, so a `from_shot` or `to_shot` that is
    not in this cut is read as the nearest shot inside the brief's span that is. SpotError when
    the brief cannot be made on this cut: no shot of its span is in it, it ends before it starts,
    or a hit falls outside it."""
    at = {p.shot: p for p in cut}
    order = order or [p.shot for p in cut]
    rank = {sid: i for i, sid in enumerate(order)}
    first = rank.get(brief.from_shot, 0) if brief.from_shot else 0
    last = rank.get(brief.to_shot, len(order) - 1) if brief.to_shot else len(order) - 1
    if last < first:
        raise SpotError("to_shot", f"it ends at {brief.to_shot}, which the edit plays before {brief.from_shot}: "
                        f"swap from_shot and to_shot", brief.to_shot)
    span = [at[sid] for sid in order[first:last + 1] if sid in at]
    if not span:
        raise SpotError("from_shot", f"no shot from {order[first]} to {order[last]} is in the cut: nothing to "
                        f"play it under", brief.from_shot)
    start, end = _frame(span[0].start, fps), _frame(span[-1].end, fps)
    seconds = round(end - start, 6)
    hits: list[float] = []
    missing: list[str] = []
    for j, hit in enumerate(brief.hits):
        sid = hit.cut or hit.shot or ""
        place = at.get(sid)
        if place is None:
            missing.append(f"{hit.where}: {sid} is not in the cut")
            continue
        when = _frame(place.cut_time if hit.cut else place.start + (hit.at or 0.0), fps) - start
        frame = 1.0 / fps
        if when < frame or when > seconds - frame:
            raise SpotError(f"hits[{j}]", f"{hit.where} falls {when:+.2f}s into a {seconds:.2f}s cue "
                            f"({span[0].shot}-{span[-1].shot}): a hit lands inside the cue, after its first "
                            f"frame and before its last — start it a shot earlier or end it a shot later",
                            sid)
        hits.append(round(when, 6))
    levels = sorted((round(max(0.0, at[sid].start - start), 6), level)
                    for sid, level in brief.intensity.items() if sid in at)
    return Spotted(brief.name, start, seconds, tuple(sorted(hits)), tuple(levels), tuple(missing))
