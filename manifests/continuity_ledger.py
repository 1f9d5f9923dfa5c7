"""The continuity ledger: the world a scene declares once — props with a state and a place, where
each character stands in frame and which way they face, the conversation's line of action, the
light — carried from shot to shot, each shot saying only what its action changes (issue 58).

In a scene:

    continuity:                                # the world as the scene opens
      props:   {mug: {state: full, at: counter, side: right, colour: "#c0392b"}}
      blocking: {gabe: {side: left, facing: right}, jenny: {side: right, facing: left}}
      line: [gabe, jenny]                      # the conversation's line of action (the 180° rule)
      light: {time: night, key: left, temperature: warm}

and in a shot:

    continuity:
      props: {mug: {state: full}}              # what this shot shows (checked, never required)
      blocking: {gabe: {side: left, facing: right}}
      light: {key: left}
      changes: {mug: {state: empty}, gabe: {side: right}, light: {temperature: cool}}
      crosses_line: true                       # the camera moves across the line in this shot
      accepted: {mug: {side: right}}           # a deviation the director kept (below)

The state at any shot is derived, never written twice: a shot starts in the state the one before
it ended in (the scene's world at the first), and ends in that state with its own `changes`
(what its action does: a mug drunk, a door opened, a coat taken off, someone crossing the room).
What a shot shows is held to its start, or to its end where its own changes say so; a chained
shot (its first frame the last frame of the one before) is held to its start alone.

A deviation the director accepted (`slate continuity accept`: tasks/gates/deviations.py keeps it as a $0
row of the governor's ledger and lays it over the loaded film as `accepted`) is the picture
winning: from the end of the shot it was seen in, the ledger holds the thing as the picture shows
it, as if the shot's action had changed it — the shot's own start (its panel, already made) is
held to what it was, so accepting pays for nothing again; the shots after it are held to the
new state.

`continuity_problems` is what `slate check` and a run's preflight say before any money: a prop
shown in a state or place the ledger contradicts, a character who changes side across a cut
with no camera move across the line, two characters of a conversation whose eyelines do not
meet across a cut (both facing the same way), a light that changes side, temperature or time
with nothing declared, a chained shot that does not start where the shot before it ended — and
names nobody declared. Each names the file, both shots, the prop or character, and the fix.

Plain data and rules: it imports only the manifests' own models, reads no file and decides
nothing about pixels (the gates hold rendered frames to `ledger_of`'s states). A film with no
`continuity:` anywhere has an empty ledger and no problem.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

if TYPE_CHECKING:
    from slate.manifests.load import LoadedFilm, Problem
    from slate.manifests.schema import Scene, Shot

__all__ = ["PropState", "Place", "Light", "World", "ShotContinuity", "ShotState", "ledger_of",
           "continuity_at", "ledger_lines", "continuity_problems", "said"]

Side = Literal["left", "centre", "right"]
Facing = Literal["left", "right", "camera", "away"]
#: The name under `changes:` that is the light, not a prop or a character.
LIGHT = "light"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PropState(_Model):
    """A prop as the frame shows it: its state in words ("full", "open", "on"), the place it is at
    ("counter"), its side of the frame, its colour (hex), whether it is in the scene at all."""

    state: str | None = None
    at: str | None = None
    side: Side | None = None
    colour: str | None = None
    present: bool | None = None

    @field_validator("colour")
    @classmethod
    def _hex(cls, v: str | None) -> str | None:
        if v is not None and not (len(v) == 7 and v.startswith("#") and all(c in "0123456789abcdefABCDEF"
                                                                             for c in v[1:])):
            raise ValueError(f"colour must be a hex colour like '#aa3322' (got {v!r})")
        return v.lower() if v else v


class Place(_Model):
    """Where a character stands in frame and which way they face."""

    side: Side | None = None
    facing: Facing | None = None


class Light(_Model):
    """The light: the time of day, the key light's side, warm or cool."""

    time: Literal["day", "night", "dawn", "dusk"] | None = None
    key: Literal["left", "right", "front", "back", "top"] | None = None
    temperature: Literal["warm", "cool", "neutral"] | None = None


class World(_Model):
    """A scene's world as it opens."""

    props: dict[str, PropState] = {}
    blocking: dict[str, Place] = {}
    line: list[str] = []
    light: Light | None = None

    @field_validator("line")
    @classmethod
    def _two(cls, v: list[str]) -> list[str]:
        if v and (len(v) != 2 or v[0] == v[1]):
            raise ValueError(f"the line of action runs between two characters, e.g. [gabe, jenny] (got {v})")
        return v


class Change(_Model):
    """What a shot's action changes of one prop, one character or the light (by its name)."""

    state: str | None = None
    at: str | None = None
    side: Side | None = None
    colour: str | None = None
    present: bool | None = None
    facing: Facing | None = None
    time: Literal["day", "night", "dawn", "dusk"] | None = None
    key: Literal["left", "right", "front", "back", "top"] | None = None
    temperature: Literal["warm", "cool", "neutral"] | None = None

    @model_validator(mode="after")
    def _something(self) -> "Change":
        if not self.model_dump(exclude_none=True):
            raise ValueError("a change must say what changes (state, at, side, colour, present, facing, or the "
                             "light's time, key, temperature)")
        return self


class ShotContinuity(_Model):
    """What one shot shows (checked against the ledger) and what its action changes."""

    props: dict[str, PropState] = {}
    blocking: dict[str, Place] = {}
    light: Light | None = None
    changes: dict[str, Change] = {}
    crosses_line: bool = False
    accepted: dict[str, Change] = {}    # deviations the director kept: the ledger follows the picture from here


_PROP_FIELDS = ("state", "at", "side", "colour", "present")
_PLACE_FIELDS = ("side", "facing")
_LIGHT_FIELDS = ("time", "key", "temperature")


@dataclass(frozen=True)
class ShotState:
    """The ledger at one shot: the state it starts in and the one it ends in, and for each thing
    the shot that last set it ("the scene" for the world it opened with)."""

    shot: str
    start_props: dict[str, dict[str, object]]
    end_props: dict[str, dict[str, object]]
    start_blocking: dict[str, dict[str, object]]
    end_blocking: dict[str, dict[str, object]]
    start_light: dict[str, object]
    end_light: dict[str, object]
    set_by: dict[str, str] = field(default_factory=dict)   # at its start: "prop:mug.state" -> shot id, or "the scene"


def _fields(model: BaseModel | None, names: tuple[str, ...]) -> dict[str, object]:
    if model is None:
        return {}
    return {k: v for k, v in model.model_dump().items() if k in names and v is not None}


def ledger_of(scene: Scene) -> list[ShotState]:
    """Each shot's start and end state, carried forward from the scene's world."""
    world = scene.continuity or World()
    props = {n: _fields(p, _PROP_FIELDS) for n, p in world.props.items()}
    blocking = {c: _fields(p, _PLACE_FIELDS) for c, p in world.blocking.items()}
    light = _fields(world.light, _LIGHT_FIELDS)
    set_by = {**{f"prop:{n}.{k}": "the scene" for n, p in props.items() for k in p},
              **{f"char:{c}.{k}": "the scene" for c, p in blocking.items() for k in p},
              **{f"light.{k}": "the scene" for k in light}}
    out: list[ShotState] = []
    for shot in scene.shots:
        cont = shot.continuity or ShotContinuity()
        # What the shot shows of a thing never declared before introduces it (from here on).
        for n, p in cont.props.items():
            for k, v in _fields(p, _PROP_FIELDS).items():
                if k not in props.setdefault(n, {}):
                    props[n][k], set_by[f"prop:{n}.{k}"] = v, shot.id
        for c, place in cont.blocking.items():
            for k, v in _fields(place, _PLACE_FIELDS).items():
                if k not in blocking.setdefault(c, {}):
                    blocking[c][k], set_by[f"char:{c}.{k}"] = v, shot.id
        for k, v in _fields(cont.light, _LIGHT_FIELDS).items():
            if k not in light:
                light[k], set_by[f"light.{k}"] = v, shot.id
        start = ({n: dict(p) for n, p in props.items()}, {c: dict(p) for c, p in blocking.items()}, dict(light))
        started_by = dict(set_by)
        # What the shot shows is what the next shot is held to: a contradiction is said once, at
        # the shot that makes it, and a turn between cuts (a facing) carries on to the next cut.
        for n, p in cont.props.items():
            for k, v in _fields(p, _PROP_FIELDS).items():
                props[n][k], set_by[f"prop:{n}.{k}"] = v, shot.id
        for c, place in cont.blocking.items():
            for k, v in _fields(place, _PLACE_FIELDS).items():
                blocking[c][k], set_by[f"char:{c}.{k}"] = v, shot.id
        for k, v in _fields(cont.light, _LIGHT_FIELDS).items():
            light[k], set_by[f"light.{k}"] = v, shot.id
        # What the action changes, then what the director accepted of the picture (it wins).
        for name, change in [*cont.changes.items(), *cont.accepted.items()]:
            told = change.model_dump(exclude_none=True)
            if name == LIGHT:
                target, prefix = light, "light."
            elif name in blocking or set(told) <= set(_PLACE_FIELDS) and "facing" in told:
                target, prefix = blocking.setdefault(name, {}), f"char:{name}."
            else:
                target, prefix = props.setdefault(name, {}), f"prop:{name}."
            for k, v in told.items():
                target[k], set_by[prefix + k] = v, shot.id
        out.append(ShotState(shot.id, start[0], {n: dict(p) for n, p in props.items()}, start[1],
                             {c: dict(p) for c, p in blocking.items()}, start[2], dict(light), started_by))
    return out


#: A place that already says how the thing is there ("in Jenny's hands", "under the stool").
_PREPOSITIONS = {"in", "on", "at", "under", "behind", "beside", "near", "by", "inside", "above", "below", "against"}


def _place_words(place: str) -> str:
    """`at` in words: "counter" is "at the counter"; "in Jenny's hands" stays itself; "the
    table" and "Jenny's hands" take only the "at"."""
    first = place.split(" ", 1)[0].lower()
    if first in _PREPOSITIONS:
        return place
    return f"at {place}" if first in ("the", "a", "an") or "'" in first else f"at the {place}"


def keeps_a_ledger(scene: Scene) -> bool:
    """Whether the scene or any of its shots declares anything of the ledger."""
    return scene.continuity is not None or any(s.continuity is not None for s in scene.shots)


def continuity_at(scene: Scene, shot: Shot, moment: str) -> dict[str, object] | None:
    """The ledger's state a panel of `shot` is drawn and judged by (issue 58), as plain data: the
    props the shot shows with their fields, its characters' side and facing, the light — the
    shot's start for a "start" panel, its end for an "end" one; an end panel also carries under
    "was" each thing the shot's action changed, as it was before (what a panel that missed the
    change shows). None when the scene keeps no ledger (the request then stays as it was)."""
    if not keeps_a_ledger(scene):
        return None
    state = next(s for s in ledger_of(scene) if s.shot == shot.id)
    end = moment == "end"
    props_at, blocking_at, light = ((state.end_props, state.end_blocking, state.end_light) if end
                                    else (state.start_props, state.start_blocking, state.start_light))
    shown = list(dict.fromkeys([*shot.props, *(shot.continuity.props if shot.continuity else {})]))
    props = {n: dict(props_at[n]) for n in shown if props_at.get(n)}
    blocking = {c: dict(blocking_at[c]) for c in shot.characters if blocking_at.get(c)}
    out: dict[str, object] = {"props": props, "blocking": blocking, "light": dict(light)}
    # Which shot the ledger has each thing from (the latest to set any of its fields; "the scene"
    # for the world it opened with), so a judge's reason can name the cut it broke.
    order = {s.id: i for i, s in enumerate(scene.shots)}
    # In the order written (a set's order moves between interpreters, and with it a request's key).
    changed = list(dict.fromkeys([*shot.continuity.changes, *shot.continuity.accepted])) \
        if (end and shot.continuity) else []

    def since(key: str, name: str) -> str:
        if name in changed:
            return shot.id
        shots = [v for k, v in state.set_by.items() if k.startswith(key)]
        return max(shots, key=lambda v: order.get(v, -1), default="the scene")
    out["since"] = {**{n: since(f"prop:{n}.", n) for n in props}, **{c: since(f"char:{c}.", c) for c in blocking},
                    **({LIGHT: since("light.", LIGHT)} if light else {})}
    if end:
        was: dict[str, object] = {}
        for name in changed:
            if name == LIGHT and state.start_light != state.end_light:
                was[LIGHT] = dict(state.start_light)
            elif name in state.start_props and state.start_props[name] != state.end_props.get(name):
                was[name] = dict(state.start_props[name])
            elif name in state.start_blocking and state.start_blocking[name] != state.end_blocking.get(name):
                was[name] = dict(state.start_blocking[name])
        if was:
            out["was"] = was
    return out


def ledger_lines(scene: Scene, shot: Shot) -> list[str]:
    """What the ledger holds of `shot`, in the words the prompts use, as the dailies show it beside
    the shot's frames: "starts: …" (its props, its characters' side and facing, the light) and,
    where its action changes something, "ends: …" with the changed things only. [] for a scene
    with no ledger."""
    start, end = continuity_at(scene, shot, "start"), continuity_at(scene, shot, "end")
    if start is None or end is None:
        return []

    def words(held: dict[str, object], only: set[str] | None = None) -> str:
        parts: list[str] = []
        for group in ("props", "blocking"):
            things = held.get(group) or {}
            assert isinstance(things, dict)
            parts += [said(name, dict(fields)).removeprefix("the " if group == "blocking" else "")
                      for name, fields in things.items() if only is None or name in only]
        light = held.get("light") or {}
        assert isinstance(light, dict)
        if light and (only is None or LIGHT in only):
            parts.append("light: " + _light_words(dict(light)))
        return "; ".join(parts)

    lines = [f"starts: {words(start) or 'nothing declared'}"]
    was = end.get("was") or {}
    assert isinstance(was, dict)
    if was:
        kept = [n for n in was if shot.continuity and n in shot.continuity.accepted]
        lines.append(f"ends: {words(end, set(was))}" +
                     (f" (as the picture has it, accepted: {', '.join(kept)})" if kept else ""))
    return lines


def said(thing: str, state: dict[str, object]) -> str:
    """A prop's or character's state in physical words: "the mug, full, at the counter, frame right"."""
    words = []
    if state.get("present") is False:
        return f"no {thing} in the scene"
    if "state" in state:
        words.append(str(state["state"]))
    if "at" in state:
        words.append(_place_words(str(state["at"])))
    if "side" in state:
        words.append("frame centre" if state["side"] == "centre" else f"frame {state['side']}")
    if "facing" in state:
        words.append({"camera": "facing the camera", "away": "facing away"}.get(str(state["facing"]),
                                                                                 f"facing frame {state['facing']}"))
    if "colour" in state:
        words.append(f"coloured {state['colour']}")
    return f"the {thing}, " + ", ".join(words) if words else f"the {thing}"


def _light_words(light: dict[str, object]) -> str:
    return ", ".join(f"{k} {v}" for k, v in light.items()) or "none declared"


def continuity_problems(film: LoadedFilm) -> list[Problem]:
    """Every contradiction of every scene's ledger (see the module docstring), before any money."""
    from slate.manifests.load import Problem
    characters = {c.id for c in film.bible.characters}
    out: list[Problem] = []
    for file, scene in film.scenes:
        world = scene.continuity or World()
        if scene.continuity is None and not any(s.continuity for s in scene.shots):
            continue
        for c in [*world.blocking, *world.line]:
            if c not in characters:
                out.append(Problem(file, None, "continuity", f"{c!r} is no character of the bible "
                                                             f"({', '.join(sorted(characters))})"))
        states = ledger_of(scene)
        for i, (shot, st) in enumerate(zip(scene.shots, states)):
            prev = scene.shots[i - 1] if i else None
            out += _shot_problems(file, shot, prev, st, states[i - 1] if i else None, characters)
            if prev is not None and len(world.line) == 2:
                out += _eyelines(file, prev, shot, states[i - 1], st, world.line)
    return out


def _shot_problems(file: str, shot: Shot, prev: Shot | None, st: ShotState, before: ShotState | None,
                   characters: set[str]) -> list[Problem]:
    from slate.manifests.load import Problem
    cont = shot.continuity
    if cont is None:
        return []
    out: list[Problem] = []
    chained = shot.chain and prev is not None
    after = f"after {prev.id}" if prev is not None else "as the scene opens"

    def contradicts(kind: str, name: str, shown: dict[str, object], start: dict[str, object],
                    end: dict[str, object], changed: dict[str, object], field_: str, fix: str) -> None:
        wrong = {k: v for k, v in shown.items() if k in start and start[k] != v
                 and (chained or not (k in changed and end.get(k) == v))}
        if not wrong:
            return
        k = next(iter(wrong))
        by = st.set_by.get(f"{kind}{name}.{k}", "the scene")
        where = "the scene's continuity" if by == "the scene" else f"{by}'s"
        if chained and prev is not None:
            why = (f"{shot.id} is chained: it starts on the last frame of {prev.id}, where {said(name, start)} "
                   f"({k} {start[k]!r}, set by {where}); a chained shot cannot change it at its start — "
                   f"show it as {prev.id} ends, or declare the change in {prev.id}'s changes")
        else:
            why = (f"{shot.id} shows {said(name, shown)}, but {after} the ledger has {said(name, start)} "
                   f"({k} {start[k]!r}, set by {where}) and nothing says how it changed — {fix}")
        out.append(Problem(file, shot.id, f"continuity.{field_}.{name}.{k}", why))

    for name, p in cont.props.items():
        changed = _fields(cont.changes.get(name), _PROP_FIELDS)
        contradicts("prop:", name, _fields(p, _PROP_FIELDS), st.start_props.get(name, {}), st.end_props.get(name, {}),
                    changed, "props", f"declare it in {shot.id}'s changes (changes: {{{name}: {{…}}}}) or in the "
                                      f"shot before, or show it as it is")
    for c, place in cont.blocking.items():
        if c not in characters:
            out.append(Problem(file, shot.id, f"continuity.blocking.{c}", f"{c!r} is no character of the bible"))
            continue
        shown = _fields(place, ("side",))
        start = st.start_blocking.get(c, {})
        changed = _fields(cont.changes.get(c), _PLACE_FIELDS)
        if "side" in shown and "side" in start and start["side"] != shown["side"] and not chained \
                and not cont.crosses_line and changed.get("side") != shown["side"]:
            by = st.set_by.get(f"char:{c}.side", "the scene")
            was = f"in {prev.id}" if prev is not None else "as the scene opens"
            source = "the scene's continuity" if by == "the scene" else by
            out.append(Problem(file, shot.id, f"continuity.blocking.{c}.side",
                               f"{c} is frame {start['side']} {was} (from {source}) and frame {shown['side']} in "
                               f"{shot.id}, across the cut with no camera move across the line: the "
                               f"audience reads it as {c} jumping sides — keep {c} frame {start['side']}, or say the "
                               f"camera crosses the line in {shot.id} (crosses_line: true) or that {c} moves "
                               f"(changes: {{{c}: {{side: {shown['side']}}}}})"))
        elif chained:
            contradicts("char:", c, shown, start, start, {}, "blocking", "")
    if cont.light is not None:
        shown = _fields(cont.light, _LIGHT_FIELDS)
        changed = _fields(cont.changes.get(LIGHT), _LIGHT_FIELDS)
        wrong = {k: v for k, v in shown.items() if k in st.start_light and st.start_light[k] != v
                 and (chained or not (k in changed and st.end_light.get(k) == v))}
        if wrong:
            k = next(iter(wrong))
            by = st.set_by.get(f"light.{k}", "the scene")
            was = f"in {prev.id}" if prev is not None else "as the scene opens"
            source = "the scene's continuity" if by == "the scene" else by
            out.append(Problem(file, shot.id, f"continuity.light.{k}",
                               f"the light's {k} is {st.start_light[k]} {was} (from {source}) and {wrong[k]} in "
                               f"{shot.id}, with nothing declared: a light that changes "
                               f"{k} between cuts reads as a mistake — light {shot.id} as before, or declare it "
                               f"(changes: {{light: {{{k}: {wrong[k]}}}}} in {shot.id} or the shot before)"))
    for group, name, change in [*(("changes", n, c) for n, c in cont.changes.items()),
                                *(("accepted", n, c) for n, c in cont.accepted.items())]:
        told = set(change.model_dump(exclude_none=True))
        if name == LIGHT and told - set(_LIGHT_FIELDS):
            out.append(Problem(file, shot.id, f"continuity.{group}.{name}",
                               f"the light changes only its time, key or temperature (not {', '.join(sorted(told - set(_LIGHT_FIELDS)))})"))
        elif name != LIGHT and told & set(_LIGHT_FIELDS):
            out.append(Problem(file, shot.id, f"continuity.{group}.{name}",
                               f"{sorted(told & set(_LIGHT_FIELDS))[0]} is the light's: write it under {group}: {{light: …}}"))
        elif name in characters and told - set(_PLACE_FIELDS):
            out.append(Problem(file, shot.id, f"continuity.{group}.{name}",
                               f"{name} is a character: a change moves them (side) or turns them (facing), "
                               f"not {', '.join(sorted(told - set(_PLACE_FIELDS)))} (a coat or a cup is a prop)"))
        elif name != LIGHT and name not in characters and name not in (before.end_props if before else {}) \
                and name not in st.start_props:
            out.append(Problem(file, shot.id, f"continuity.{group}.{name}",
                               f"{'changes' if group == 'changes' else 'accepts a deviation of'} {name!r}, which neither the scene's continuity nor a shot before declared: "
                               f"a misspelt prop? (declared: {', '.join(sorted(st.start_props)) or 'none'})"))
    return out


def _eyelines(file: str, prev: Shot, shot: Shot, before: ShotState, st: ShotState, line: list[str]) -> list[Problem]:
    """Across a cut from one of a conversation's two to the other, their eyelines must meet: one
    facing frame left, the other frame right (facing the same way, they look past each other)."""
    from slate.manifests.load import Problem
    a, b = line
    for x, y in ((a, b), (b, a)):
        if x in prev.characters and y not in prev.characters and y in shot.characters and x not in shot.characters:
            # x as the shot before ends; y as this shot shows them, else as the ledger carries them
            shown = shot.continuity.blocking.get(y) if shot.continuity else None
            fx = before.end_blocking.get(x, {}).get("facing")
            fy = shown.facing if shown is not None and shown.facing else st.start_blocking.get(y, {}).get("facing")
            if fx in ("left", "right") and fx == fy:
                return [Problem(file, shot.id, f"continuity.blocking.{y}.facing",
                                f"{x} faces frame {fx} in {prev.id} and {y} faces frame {fy} in {shot.id}: across the "
                                f"cut their eyelines do not meet (they look the same way, past each other) — turn "
                                f"{y} to face frame {'left' if fx == 'right' else 'right'} in {shot.id}")]
    return []
