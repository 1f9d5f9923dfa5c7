"""Reading a film project's manifests (film, bible, scenes) into checked models.

A director fixing manifests at night wants every mistake at once, each naming the file, the
shot and the field, not one error per run. So loading never stops at the first problem: it
collects them all, then raises one ManifestError.

Reading is bounded, so a mistaken or hostile manifest costs a line, not minutes and memory:
a file's size is checked before it is read, a YAML document may not nest deeper than
MAX_NESTING nor hold more than MAX_NODES nodes once its aliases are expanded (an alias bomb
is refused while it is composed, before any object is built), and a film may list at most
MAX_SCENES scenes of at most MAX_SHOTS shots.

This module must never touch the network nor write files; it reads only the manifests the
film names, and it does not check that referenced images exist (that is the reference
check's job, against storage, which may not be this disk).
"""

from __future__ import annotations

import difflib
import errno
import json
import os
import re
import stat
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from slate.errors import SlateError

from .dialogue import dialogue_problems
from .keys import check_key
from .schema import (FIRST_SHOT_CHAIN, SHOT_ID_PATTERN, Bible, Character, Film, Location, Scene, Shot, Transition,
                     shot_seconds)

__all__ = [
    "Problem",
    "ManifestError",
    "LoadedFilm",
    "load_film",
    "read_document",
    "problems_from_validation",
    "FILM_FILENAMES",
    "MAX_MANIFEST_BYTES",
    "MAX_NODES",
    "MAX_NESTING",
    "MAX_SCENES",
    "MAX_SHOTS",
    "locate",
    "read_bounded",
    "NOT_FOUND",
]

FILM_FILENAMES = ("film.yaml", "film.yml", "film.json")
_SUFFIXES = (".yaml", ".yml", ".json")

# Limits on what one project may ask the loader to read. A real manifest is far below each:
# a 500-shot scene written out in full is ~200 KB and ~20,000 nodes.
MAX_MANIFEST_BYTES = 1 << 20   # per manifest file, checked before it is opened for reading
MAX_NODES = 30_000             # YAML/JSON nodes per document, aliases counted as what they expand to
MAX_NESTING = 64               # mappings and lists inside each other
MAX_SCENES = 200               # scene files a film may list
MAX_SHOTS = 500                # shots a scene may hold

NOT_FOUND = "not found"        # what locate() says when nothing at all is at a key


@dataclass(frozen=True)
class Problem:
    file: str  # POSIX path relative to the film root
    shot: str | None
    field: str
    message: str

    def __str__(self) -> str:
        if self.shot is None:
            return f"{self.file}: {self.field}: {self.message}"
        return f"{self.file}: shot {self.shot}: {self.field}: {self.message}"


class ManifestError(SlateError):
    """One or more problems in a film's manifests, one per line in str().

    `partial` is what could still be read (a LoadedFilm of the bible's valid entries and each
    scene's valid shots), so the checks after the manifests — references, the judge's reading,
    prices — can report their problems in the same pass instead of hiding behind this one;
    `whole` names the scenes read without any problem; `timings`, per scene file with a
    problem, each shot's (label, duration, transition kind, transition seconds) when every shot's
    timing reads, so the stitch's rules are checked too. Never a film to run."""

    def __init__(self, problems: list[Problem] | Problem, partial: "LoadedFilm | None" = None,
                 whole: frozenset[str] = frozenset(), timings: dict | None = None):
        self.problems: list[Problem] = [problems] if isinstance(problems, Problem) else list(problems)
        self.partial = partial
        self.whole = whole
        self.timings: dict[str, list[tuple[str, float, str, float]]] = timings or {}
        super().__init__("\n".join(str(p) for p in self.problems))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


@dataclass(frozen=True)
class LoadedFilm:
    root: Path
    film: Film
    bible: Bible
    scenes: list[tuple[str, Scene]]  # (scene file key, scene), in film order

    def scene(self, scene_id: str) -> Scene:
        for _, s in self.scenes:
            if s.id == scene_id:
                return s
        raise KeyError(f"unknown scene {scene_id!r} (film has: {', '.join(s.id for _, s in self.scenes)})")

    def scene_file(self, scene_id: str) -> str:
        for key, s in self.scenes:
            if s.id == scene_id:
                return key
        raise KeyError(f"unknown scene {scene_id!r}")

    def character(self, character_id: str) -> Character:
        return self.bible.character(character_id)

    def location(self, location_id: str) -> Location:
        return self.bible.location(location_id)


# --- reading documents -----------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys: PyYAML silently keeps the last one, which
    would quietly drop half of a shot someone pasted twice."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    seen: set = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            duplicate = key in seen
        except TypeError:  # unhashable key; let the base constructor report it
            break
        if duplicate:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark, f"found duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class _OverBudget(SlateError, yaml.YAMLError):
    """A document that nests too deep or expands to too many nodes: refused while composing."""

    def __init__(self, message: str, mark: Any):
        super().__init__(message)
        self.message, self.mark = message, mark


def _too_many_nodes() -> str:
    return (f"more than {MAX_NODES:,} YAML nodes once aliases are expanded "
            "(an alias that repeats an alias, over and over?)")


def _too_deep() -> str:
    return f"nested more than {MAX_NESTING} levels deep"


class _BoundedLoader(_StrictLoader):
    """Counts nodes as the composer builds them, an alias as the size of what it names.

    PyYAML shares an anchored node between its aliases, so composing an alias bomb is cheap;
    it is everything after (building objects, validating, hashing) that walks every copy.
    Counting here refuses the bomb before any of that starts."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._nodes = 0
        self._depth = 0
        self._expanded: dict[int, int] = {}  # id(anchored node) -> nodes it stands for

    def _charge(self, count: int, event: Any) -> None:
        self._nodes += count
        if self._nodes > MAX_NODES:
            raise _OverBudget(_too_many_nodes(), event.start_mark)

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            node = super().compose_node(parent, index)
            self._charge(self._expanded.get(id(node), 1), event)
            return node
        self._depth += 1
        if self._depth > MAX_NESTING:
            raise _OverBudget(_too_deep(), event.start_mark)
        before = self._nodes
        self._charge(1, event)
        node = super().compose_node(parent, index)
        self._depth -= 1
        if event.anchor is not None:
            self._expanded[id(node)] = self._nodes - before
        return node


def _json_within_budget(data: Any) -> str | None:
    """The same budget for JSON (no aliases there, but the same nesting and node limits)."""
    stack, nodes = [(data, 1)], 0
    while stack:
        value, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            return _too_many_nodes()
        if depth > MAX_NESTING:
            return _too_deep()
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    return None


def locate(root: Path, key: str) -> tuple[Path | None, str | None]:
    """Where a project key is on this disk, or why it cannot be read as a file of the project.

    Returns (path, None) for a regular file inside the project (symlinks followed, then the
    real path checked against the project's), else (None, why): "not found", a symlink that
    leaves the project or loops, a directory, a device. Never raises for a bad link."""
    base = Path(os.path.realpath(root))
    path = Path(root) / key
    real = Path(os.path.realpath(path))  # never raises; a loop comes back unresolved
    if not real.is_relative_to(base):
        return None, f"is a symlink that leaves the project (to {real})"
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            return None, f"is a symlink to nothing ({os.readlink(path)})"
        return None, NOT_FOUND
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return None, "is a symlink loop"
        if exc.errno == errno.ENOTDIR:
            return None, NOT_FOUND
        return None, f"cannot be read ({exc.strerror or exc})"
    if stat.S_ISDIR(st.st_mode):
        return None, "is a directory, not a file"
    if not stat.S_ISREG(st.st_mode):
        return None, "is not a regular file"
    return real, None


def read_bounded(path: Path, limit: int) -> bytes:
    """The bytes of a regular file no bigger than ``limit``, its size checked before reading.

    Raises ValueError naming the size (or what the path is instead of a file) and OSError as
    the OS raised it. Opened non-blocking so a FIFO dropped in place of a file cannot hang."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ValueError("is a directory, not a file" if stat.S_ISDIR(st.st_mode) else "is not a regular file")
        if st.st_size > limit:
            raise ValueError(f"is {st.st_size:,} bytes, over the limit of {limit:,}")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(limit + 1)  # the file may have grown since fstat
    finally:
        os.close(fd)
    if len(data) > limit:
        raise ValueError(f"is over the limit of {limit:,} bytes")
    return data


def read_document(path: Path, file: str) -> tuple[Any, list[Problem]]:
    """Parse one YAML or JSON file (by suffix). Returns (data, problems); data is None on failure."""
    try:
        raw = read_bounded(path, MAX_MANIFEST_BYTES)
        text = raw.decode("utf-8")
    except FileNotFoundError:
        return None, [Problem(file, None, "file", "not found")]
    except ValueError as exc:
        if isinstance(exc, UnicodeDecodeError):
            return None, [Problem(file, None, "file", f"is not valid UTF-8 (byte {exc.start})")]
        return None, [Problem(file, None, "file", f"{exc} for a manifest")]
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return None, [Problem(file, None, "file", "is a symlink loop")]
        return None, [Problem(file, None, "file", f"cannot be read: {exc.strerror or exc}")]
    if text.startswith("\ufeff"):
        text = text[1:]  # a byte-order mark from a Windows editor is not content
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            data = json.loads(text)
            over = _json_within_budget(data)
            if over:
                return None, [Problem(file, None, "file", over)]
        else:
            data = yaml.load(text, Loader=_BoundedLoader)  # noqa: S506 - SafeLoader subclass
    except RecursionError:
        return None, [Problem(file, None, "file", _too_deep())]
    except _OverBudget as exc:
        where = f"line {exc.mark.line + 1}" if exc.mark is not None else "file"
        return None, [Problem(file, None, where, exc.message)]
    except json.JSONDecodeError as exc:
        return None, [Problem(file, None, f"line {exc.lineno}", f"invalid JSON: {exc.msg} (column {exc.colno})")]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}" if mark is not None else "file"
        col = f" (column {mark.column + 1})" if mark is not None else ""
        return None, [Problem(file, None, where, f"invalid YAML: {exc.problem}{col}")]
    except yaml.YAMLError as exc:
        return None, [Problem(file, None, "file", f"invalid YAML: {exc}")]
    except (ValueError, OverflowError) as exc:  # a scalar PyYAML cannot build: a 5,000-digit int, 2024-13-45
        return None, [Problem(file, None, "file", f"invalid YAML value: {exc}")]
    if data is None:
        return None, [Problem(file, None, "file", "is empty; expected a mapping")]
    if not isinstance(data, dict):
        return None, [Problem(file, None, "file", f"must be a mapping at the top level, not a {type(data).__name__}")]
    return data, []


# --- translating pydantic errors -------------------------------------------------------------


def _unwrap(tp: Any) -> Any:
    """Strip Annotated/Optional to reach the model, list or dict underneath."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) == 1:
                tp = args[0]
                continue
        return tp


def _model_at(root: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    tp: Any = root
    for part in loc:
        tp = _unwrap(tp)
        origin = typing.get_origin(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel) and isinstance(part, str):
            field = tp.model_fields.get(part)
            if field is None:
                return None
            tp = field.annotation
        elif origin is list and isinstance(part, int):
            tp = typing.get_args(tp)[0]
        elif origin is dict and isinstance(part, str):
            tp = typing.get_args(tp)[1]
        else:
            return None
    tp = _unwrap(tp)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _field_path(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _shot_label(data: Any, index: int) -> str:
    try:
        sid = data["shots"][index]["id"]
    except (KeyError, IndexError, TypeError):
        sid = None
    if isinstance(sid, str) and re.fullmatch(SHOT_ID_PATTERN, sid):
        return sid
    return f"#{index + 1}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def error_message(err: ErrorDetails, model: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    """One pydantic error as a person reads it beside the field it names (`loc` in `model`)."""
    kind = err["type"]
    msg: str = err["msg"]
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        parent = _model_at(model, loc[:-1])
        name = str(loc[-1])
        if parent is not None:
            close = difflib.get_close_matches(name, list(parent.model_fields), n=1)
            if close:
                return f"unknown field (did you mean {close[0]!r}?)"
            return f"unknown field (allowed: {', '.join(parent.model_fields)})"
        return "unknown field"
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    if kind == "slate_field":
        return msg
    value = err.get("input")
    if isinstance(value, (str, int, float, bool)) or value is None:
        return f"{msg} (got {_short(value)})"
    return msg


def problems_from_validation(file: str, exc: ValidationError, model: type[BaseModel], data: Any) -> list[Problem]:
    """Turn a pydantic ValidationError into Problems naming shot and field.

    ``data`` is the raw document, used to name a shot by its id even when the shot failed.
    """
    out: list[Problem] = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        if err["type"] == "slate_field":
            loc = loc + tuple(err["ctx"]["field"])
        message = error_message(err, model, tuple(err["loc"]))
        shot = None
        if len(loc) >= 3 and loc[0] == "shots" and isinstance(loc[1], int):
            shot = _shot_label(data, loc[1])
            loc = loc[2:]
        out.append(Problem(file, shot, _field_path(loc) or "document", message))
    return out


# --- cross-checks on raw documents -----------------------------------------------------------
# These run on the raw dicts, not the models, so a reference mistake is still reported when
# the same file also has a schema error.


def _unknown(kind: str, value: str, known: set[str]) -> str:
    return f"unknown {kind} {value!r} (bible has: {', '.join(sorted(known))})"


def _raw_ids(data: Any, key: str) -> set[str] | None:
    if not isinstance(data, dict) or not isinstance(data.get(key), list):
        return None
    return {x["id"] for x in data[key] if isinstance(x, dict) and isinstance(x.get("id"), str)}


def _scene_cross_checks(file: str, data: dict, chars: set[str] | None, locs: set[str] | None) -> list[Problem]:
    out: list[Problem] = []
    loc = data.get("location")
    if locs is not None and isinstance(loc, str) and loc not in locs:
        out.append(Problem(file, None, "location", _unknown("location", loc, locs)))
    wardrobe = data.get("wardrobe")
    if chars is not None and isinstance(wardrobe, dict):
        for cid in wardrobe:
            if isinstance(cid, str) and cid not in chars:
                out.append(Problem(file, None, f"wardrobe.{cid}", _unknown("character", cid, chars)))
    for cid, entry in (wardrobe.items() if isinstance(wardrobe, dict) else ()):
        # `colour: #1f3a5f` is a comment in YAML: the colour silently becomes null.
        if isinstance(entry, dict) and "colour" in entry and entry["colour"] is None:
            out.append(Problem(file, None, f"wardrobe.{cid}.colour", "is empty: in YAML an unquoted # starts a "
                                                                     "comment, so quote it: colour: '#1f3a5f'"))
    shots = data.get("shots")
    if not isinstance(shots, list):
        return out
    first_seen: dict[str, int] = {}
    for i, shot in enumerate(shots):
        if not isinstance(shot, dict):
            continue
        label = _shot_label(data, i)
        sid = shot.get("id")
        if isinstance(sid, str):
            if sid in first_seen:
                out.append(Problem(file, label, "id", f"duplicate shot id {sid!r} (also shots[{first_seen[sid]}])"))
            else:
                first_seen[sid] = i
        if i == 0 and shot.get("chain") is True:
            out.append(Problem(file, label, "chain", FIRST_SHOT_CHAIN))
        if i > 0 and shot.get("chain") is True and isinstance(shots[i - 1], dict):
            out += _chain_newcomers(file, label, _shot_label(data, i - 1), shots[i - 1], shot)
        if chars is not None and isinstance(shot.get("characters"), list):
            for j, cid in enumerate(shot["characters"]):
                if isinstance(cid, str) and cid not in chars:
                    out.append(Problem(file, label, f"characters[{j}]", _unknown("character", cid, chars)))
        sloc = shot.get("location")
        if locs is not None and isinstance(sloc, str) and sloc not in locs:
            out.append(Problem(file, label, "location", _unknown("location", sloc, locs)))
    return out


def _dialogue_checks(scenes: list[tuple[str, Scene]], bible: Bible) -> list[Problem]:
    """Each shot's lines against the bible's voices (manifests/dialogue.py): a known speaker with
    a voice, every line inside its shot at the voice's pace, no speaker saying two lines at once."""
    voices = bible.voices()
    out: list[Problem] = []
    for key, scene in scenes:
        for shot in scene.shots:
            for field, message in dialogue_problems(shot.dialogue, shot.duration, voices, shot.characters):
                out.append(Problem(key, shot.id, field, message))
    return out


def _names(raw: Any) -> list[str]:
    """The character ids a raw shot's list holds (anything else is its schema's problem)."""
    return [c for c in raw if isinstance(c, str)] if isinstance(raw, list) else []


def _chain_newcomers(file: str, label: str, before: str, previous: dict, shot: dict) -> list[Problem]:
    """A chained shot's clip starts from the previous shot's last frame: someone it names whom
    that shot does not is in none of its first frames, and the keyframe gate would refuse every
    take of it ("named for the shot but in none of its frames") — unless the shot says they
    walk in (`enters`). One problem naming both shots and who is missing, with both fixes."""
    listed = previous.get("characters", [])
    if not isinstance(listed, list):
        return []   # the previous shot's own problem: who it shows is not known
    there = _names(listed)
    # Someone already in the frame the shot starts from cannot walk in: the keyframe gate would
    # look for them only in the clip's last fifth and pass a take where they vanished before it.
    out = [Problem(file, label, f"enters[{i}]", (
        f"{cid!r} is in shot {before}'s last frame, where this chained shot starts: they are there from its "
        f"first frame and cannot walk in. Take them out of enters, or start the shot from its own panel "
        f"(chain: false)")) for i, cid in enumerate(_names(shot.get("enters"))) if cid in there]
    new = [c for c in _names(shot.get("characters")) if c not in there and c not in _names(shot.get("enters"))]
    if not new:
        return out
    who = ", ".join(new)
    return out + [Problem(file, label, "chain", (
        f"chains from shot {before}'s last frame, where {who} {'is' if len(new) == 1 else 'are'} not "
        f"(shot {before} names {', '.join(there) or 'nobody'}): every take would fail the keyframe gate. "
        f"Start the shot from its own panel (chain: false), or write the entrance into the action and mark it: "
        f"enters: [{who}]"))]


# --- the film --------------------------------------------------------------------------------


def _resolve_key(root: Path, key: Any, referrer: str, field: str, what: str) -> tuple[Path | None, list[Problem]]:
    if not isinstance(key, str):
        return None, []  # already reported by schema validation
    try:
        check_key(key)
    except ValueError:
        return None, []  # already reported by schema validation
    if not key.lower().endswith(_SUFFIXES):
        return None, [Problem(referrer, None, field, f"{what} file {key!r} must end in .yaml, .yml or .json")]
    path, why = locate(root, key)
    if path is None:
        return None, [Problem(referrer, None, field, f"{what} file {key!r} {why}")]
    return root / key, []


def _validate(model: type[BaseModel], file: str, data: Any) -> tuple[Any, list[Problem]]:
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, problems_from_validation(file, exc, model, data)


def _dedupe(problems: list[Problem]) -> list[Problem]:
    # Schema validators and raw cross-checks may both see the same mistake.
    seen: set[Problem] = set()
    out = []
    for p in problems:
        if p not in seen:
            seen.add(p)
            out.append(p)
    return out


def load_film(root: Path) -> LoadedFilm:
    """Load and check a whole film project; raise ManifestError listing every problem."""
    root = Path(root)
    # lexists, not is_file: a film.yaml that is a folder or a broken link is named as such.
    film_path = next((root / n for n in FILM_FILENAMES if os.path.lexists(root / n)), None)
    if film_path is None:
        raise ManifestError(
            Problem(FILM_FILENAMES[0], None, "file", f"no film manifest in {str(root)!r} (looked for {', '.join(FILM_FILENAMES)})")
        )
    film_file = film_path.name
    _, why = locate(root, film_file)
    if why is not None:
        raise ManifestError(Problem(film_file, None, "file", why))
    problems: list[Problem] = []

    film_data, found = read_document(film_path, film_file)
    if film_data is None:
        raise ManifestError(found)
    film, found = _validate(Film, film_file, film_data)
    problems += found

    # Carry on from the raw film document even when it failed, so scene problems still show.
    bible_key = film_data.get("bible", "bible.yaml")
    bible_path, found = _resolve_key(root, bible_key, film_file, "bible", "bible")
    problems += found
    bible = None
    chars = locs = None
    if bible_path is not None:
        bible_data, found = read_document(bible_path, bible_key)
        problems += found
        if bible_data is not None:
            bible, found = _validate(Bible, bible_key, bible_data)
            problems += found
            chars, locs = _raw_ids(bible_data, "characters"), _raw_ids(bible_data, "locations")

    scenes: list[tuple[str, Scene]] = []
    scene_docs: list[tuple[str, Any]] = []   # each scene file's document, for what can be read of a bad film
    scene_keys = film_data.get("scenes")
    if isinstance(scene_keys, list) and len(scene_keys) > MAX_SCENES:
        problems.append(Problem(film_file, None, "scenes", f"lists {len(scene_keys):,} scene files; a film may list "
                                                           f"at most {MAX_SCENES} (none of them was read)"))
        scene_keys = []
    listed: dict[str, int] = {}
    for i, key in enumerate(scene_keys if isinstance(scene_keys, list) else []):
        if isinstance(key, str) and key in listed:
            problems.append(Problem(film_file, None, f"scenes[{i}]", f"scene file {key!r} is listed twice (also scenes[{listed[key]}])"))
            continue
        if isinstance(key, str):
            listed[key] = i
        path, found = _resolve_key(root, key, film_file, f"scenes[{i}]", "scene")
        problems += found
        if path is None:
            continue
        data, found = read_document(path, key)
        problems += found
        if data is None:
            continue
        if isinstance(data.get("shots"), list) and len(data["shots"]) > MAX_SHOTS:
            # Refused before validation: checking thousands of shots is the cost being bounded.
            problems.append(Problem(key, None, "shots", f"{len(data['shots']):,} shots; a scene may hold at most "
                                                        f"{MAX_SHOTS} (split it into scenes)"))
            continue
        scene_docs.append((key, data))
        scene, found = _validate(Scene, key, data)
        problems += found
        problems += _scene_cross_checks(key, data, chars, locs)
        if scene is not None:
            scenes.append((key, scene))

    if bible is not None:
        problems += _dialogue_checks(scenes, bible)

    first_file: dict[str, str] = {}
    for key, scene in scenes:
        if scene.id in first_file:
            problems.append(Problem(key, None, "id", f"duplicate scene id {scene.id!r} (also in {first_file[scene.id]})"))
        else:
            first_file[scene.id] = key

    problems = _dedupe(problems)
    if problems:
        raise ManifestError(problems, *_partial(root, film, film_data, bible, bible_data if bible_path else None,
                                                scene_docs, problems))
    assert film is not None and bible is not None  # no problems means both validated
    return LoadedFilm(root=root, film=film, bible=bible, scenes=scenes)


# --- what can still be read of a film with problems -----------------------------------------


def _valid(model: type[BaseModel], data: Any) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError:
        return None


def _partial_bible(bible: Bible | None, data: Any) -> Bible | None:
    if bible is not None:
        return bible
    if not isinstance(data, dict):
        return None
    kept: dict[str, list] = {}
    for key, model in (("characters", Character), ("locations", Location)):
        seen: set[str] = set()
        kept[key] = []
        listed = data.get(key)
        for raw in listed if isinstance(listed, list) else []:
            entry = _valid(model, raw)
            if entry is not None and entry.id not in seen:
                seen.add(entry.id)
                kept[key].append(entry)
    return Bible.model_construct(characters=kept["characters"], locations=kept["locations"])


def _names_only(scene: Scene, chars: set[str], locs: set[str]) -> bool:
    """Every character and location the scene names is one the bible has."""
    return scene.location in locs and set(scene.wardrobe) <= chars and all(
        set(s.characters) <= chars and (s.location is None or s.location in locs) for s in scene.shots)


def _partial_scene(data: Any, chars: set[str], locs: set[str]) -> Scene | None:
    """The scene with only its shots that are valid and name what the bible has (the first one
    made not to chain, the last to end on a cut), or None when nothing of it can be read."""
    if not isinstance(data, dict) or not isinstance(data.get("shots"), list):
        return None
    shots = []
    for raw in data["shots"]:
        shot = _valid(Shot, raw)
        if shot is None or any(c not in chars for c in shot.characters) or \
                (shot.location is not None and shot.location not in locs):
            continue
        shots.append(dict(raw))
    if not shots:
        return None
    shots[0]["chain"] = False
    shots[-1]["transition_out"] = {"kind": "cut", "duration": 0}
    wardrobe = data.get("wardrobe")
    trial = {**data, "shots": shots,
             "wardrobe": {k: v for k, v in wardrobe.items() if k in chars} if isinstance(wardrobe, dict) else {}}
    scene = _valid(Scene, trial)
    return scene if scene is not None and scene.location in locs else None


def _timings(data: Any) -> list[tuple[str, float, str, float]] | None:
    """Each shot's (label, duration, transition kind, seconds) of a raw scene, or None when any
    of them does not read (the stitch's rules need them all)."""
    out = []
    shots = data.get("shots") if isinstance(data, dict) else None
    for i, raw in enumerate(shots if isinstance(shots, list) else []):
        if not isinstance(raw, dict):
            return None
        try:
            duration = shot_seconds(TypeAdapter(float).validate_python(raw.get("duration")))
        except (ValidationError, ValueError):
            return None
        transition = _valid(Transition, raw.get("transition_out", {}))
        if transition is None:
            return None
        out.append((_shot_label(data, i), duration, transition.kind, transition.duration))
    return out or None


def _partial(root: Path, film: Film | None, film_data: dict, bible: Bible | None, bible_data: Any,
             scene_docs: list[tuple[str, Any]], problems: list[Problem]) -> tuple:
    """(what can still be read, the scenes read without a problem, the timings of the others)
    of a film with problems."""
    troubled = {p.file for p in problems}
    timings = {key: t for key, data in scene_docs if key in troubled and (t := _timings(data))}
    bible = _partial_bible(bible, bible_data)
    if bible is None:
        return None, frozenset(), timings
    chars, locs = {c.id for c in bible.characters}, {loc.id for loc in bible.locations}
    scenes, whole, ids = [], set(), set()
    for key, data in scene_docs:
        scene = _valid(Scene, data) if key not in troubled else None
        if scene is not None and not _names_only(scene, chars, locs):
            scene = None   # valid, but names what the part of the bible read does not have
        complete = scene is not None
        scene = scene or _partial_scene(data, chars, locs)
        if scene is None or scene.id in ids:
            continue
        ids.add(scene.id)
        scenes.append((key, scene))
        if complete:
            whole.add(scene.id)
    if film is None:
        raw_id = film_data.get("id") if isinstance(film_data, dict) else None
        film = Film.model_construct(id=raw_id if isinstance(raw_id, str) and raw_id else "film",
                                    title=str(film_data.get("title") or ""), fps=24,
                                    bible=str(film_data.get("bible") or "bible.yaml"), scenes=[k for k, _ in scenes])
    return LoadedFilm(root=root, film=film, bible=bible, scenes=scenes), frozenset(whole), timings
