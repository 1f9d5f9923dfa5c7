"""What a run tells its listeners while it works: typed progress events.

Tasks and flows say what a shot is doing with `emit(**fields)` (tasks/context.py); the fields
are made into one of these events there, and listeners (the CLI's live table, a scene's
progress bar on the Prefect UI, a test) receive the event, never a dict:

  ScenePlanned      a scene's shots, in order, before any is made
  ShotMoved         a shot's stage moved: drawing, rendering, passed, failed, approved,
                    escalated, halted, fallback to …, drift checked
  ReferenceJudged   a turnaround or plate through the reference gate
  WaitingForPerson  a run waits for a person's approval (the line the CLI prints)
  SceneFinishing    a scene's finishing pass moved on (a share of its ffmpeg passes, 0..1)
  RunWarning        something the run could not make that never fails it (a contact sheet, a
                    preview, a report): the line the CLI prints, also on the run's log

Every event names its scene: a film's scenes run at once in one process and their shot ids may
repeat. It must never carry a live object, a key or a path to a secret; events are small values.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Union

__all__ = ["ScenePlanned", "ShotMoved", "ReferenceJudged", "WaitingForPerson", "SceneFinishing", "RunWarning",
           "Event", "event_of"]


@dataclass(frozen=True)
class ScenePlanned:
    scene: str
    shots: tuple[str, ...]


@dataclass(frozen=True)
class ShotMoved:
    scene: str
    shot: str
    stage: str                    # panel | panel_gate | video | keyframe_gate
    status: str
    take: int | None = None
    moment: str | None = None     # start | end (a panel's)
    reasons: tuple[str, ...] = ()
    drift: float | None = None


@dataclass(frozen=True)
class ReferenceJudged:
    scene: str
    ref: str
    status: str                   # passed | failed
    reasons: tuple[str, ...] = ()
    stage: str = "reference_gate"


@dataclass(frozen=True)
class WaitingForPerson:
    scene: str
    profile: str
    line: str
    flow_run_id: str | None = None


@dataclass(frozen=True)
class SceneFinishing:
    scene: str
    share: float                  # of the finishing pass done: 0.25, 0.5, 0.75, 1.0


@dataclass(frozen=True)
class RunWarning:
    scene: str                    # "" for the film's own (its wrap, its production report)
    line: str


Event = Union[ScenePlanned, ShotMoved, ReferenceJudged, WaitingForPerson, SceneFinishing, RunWarning]

#: What `emit`'s `event=` field names, for the events that are not a shot's or a reference's.
_NAMED: dict[str, type[Event]] = {"plan": ScenePlanned, "waiting": WaitingForPerson, "finishing": SceneFinishing,
                                  "warning": RunWarning}


def event_of(fields: dict[str, Any]) -> Event:
    """The typed event `emit(**fields)` describes; TypeError for fields no event has."""
    fields = dict(fields)
    named = fields.pop("event", None)
    kind: type[Event]
    if named is not None:
        found = _NAMED.get(named)
        if found is None:
            raise TypeError(f"no progress event is named {named!r}")
        kind = found
    else:
        kind = ReferenceJudged if "ref" in fields else ShotMoved
    known = {f.name for f in dataclasses.fields(kind)}
    unknown = sorted(set(fields) - known)
    if unknown:
        raise TypeError(f"{kind.__name__} has no field(s) {', '.join(unknown)}")
    for name in ("shots", "reasons"):
        if name in fields and fields[name] is not None:
            fields[name] = tuple(fields[name])
    event: Event = kind(**fields)
    return event
