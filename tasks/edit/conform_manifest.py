"""What an edit read back (tasks/edit/conform.py) changes in the scene files: the assembly manifest's
order (`finishing.cut`), trims, dips, fades and cues, each shot's `transition_out`, and — when a
trim needs frames its take does not have — the shot's `duration` for a longer take.

A value changes only when its frames change: a trim of 0.3 s the cut rendered as 7 frames and
read back as 7 frames stays 0.3, so exporting and reading back an untouched edit changes nothing.
What the timeline does not show is kept: a cut where the manifest has a dip (an export before
issue 39 wrote dips as cuts), a scene's fades, grade, LUT, gains and cue fades.

The scene files are rewritten in slate's own layout (PyYAML, as `slate init --example` writes
them): slate has no writer that keeps a YAML file's comments, so a file with comments or a
layout of its own is said to lose them, and its text as it was is kept under .slate/conform/.

It must never spend, call a provider, or write anything but the scene files a conform changes
(and their copies as they were), each replaced whole, never half-written.
"""
from __future__ import annotations

import copy
import difflib
import io
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from slate.manifests import LoadedFilm
from slate.manifests.load import problems_from_validation, read_document
from slate.manifests.schema import MAX_SHOT_SECONDS, Scene
from slate.tasks.edit.conform import EditedCue, EditedShot, ReadBack, NotConformed, SceneCut, TakeSwap
from slate.tasks.edit.export import TimelineCue, TimelineRecord

__all__ = ["ShortTake", "SceneChange", "Conformed", "conform_film", "write_changes"]


@dataclass(frozen=True)
class ShortTake:
    """A shot whose trim needs frames its take does not have: `head` before its first frame,
    `tail` after its last. `longer`: the length of a take that has them (its new `duration`)."""

    scene: str
    shot: str
    head: int
    tail: int
    seconds: float
    longer: float

    def __str__(self) -> str:
        where = " and ".join(f"{n} {side}" for n, side in ((self.head, "before its first frame"),
                                                          (self.tail, "after its last")) if n)
        return (f"shot {self.shot} of {self.scene} needs {self.head + self.tail} frame(s) its {self.seconds:g}s "
                f"take does not have ({where}): a take of {self.longer:g}s has them")


@dataclass
class SceneChange:
    """One scene file: its text as it is, in slate's layout before and after the change, and
    what rewriting it loses."""

    scene: str
    file: str            # its key in the project (scenes/scene-01.yaml)
    text: str            # as it is on disk
    before: str          # its document in slate's layout
    after: str           # the changed document in slate's layout: what --write writes
    loses: str | None    # what rewriting it loses (its comments, its own layout), if anything

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def diff(self) -> str:
        return "".join(difflib.unified_diff(self.before.splitlines(keepends=True), self.after.splitlines(keepends=True),
                                            fromfile=f"a/{self.file}", tofile=f"b/{self.file}"))


@dataclass
class Conformed:
    changes: list[SceneChange] = field(default_factory=list)
    shortfalls: list[ShortTake] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)   # a NotConformed, or a problem the changed manifest would have
    notes: list[str] = field(default_factory=list)
    swaps: list[TakeSwap] = field(default_factory=list)  # another take put in the cut: a circle, not a manifest edit


def conform_film(film: LoadedFilm, records: dict[str, TimelineRecord], read: ReadBack, rate: float,
                 cue_seconds: dict[str, float] | None = None) -> Conformed:
    """Each scene of the edit against its scene file and its record (`cue_seconds`: each cue
    file's length, where known): the new documents, what needs a longer take, what cannot be."""
    out = Conformed(refusals=[str(r) for r in read.refusals], notes=list(read.notes), swaps=list(read.swaps))
    if out.refusals:
        return out   # an edit read in part would be a change nobody asked for (a refused clip "dropped")
    order = [s.id for _, s in film.scenes]
    played = [c.scene for c in read.scenes]
    if played != sorted(played, key=order.index):
        out.notes.append(f"the edit plays {', '.join(played)} in that order: the film's order is film.yaml's "
                         f"`scenes` ({', '.join(s for s in order if s in played)}), which a conform leaves as it is")
    for cut in read.scenes:
        key = film.scene_file(cut.scene)
        data, problems = read_document(Path(film.root) / key, key)
        if data is None:
            out.refusals += [str(p) for p in problems]
            continue
        edit = _SceneEdit(key, data, film.scene(cut.scene), records[cut.scene], cut, rate, read.sound,
                          cue_seconds or {})
        edit.conform()
        out.shortfalls += edit.shortfalls
        out.refusals += edit.refusals
        out.notes += edit.notes
        try:
            Scene.model_validate(edit.doc)
        except ValidationError as exc:
            out.refusals += [f"the edit would make {p}" for p in problems_from_validation(key, exc, Scene, edit.doc)]
            continue
        text = (Path(film.root) / key).read_text(encoding="utf-8")
        kept = None if key.lower().endswith(".json") else _with_comments(text, edit.doc)
        if kept is not None:   # the file as it is, changed where the edit changed it: every comment kept
            out.changes.append(SceneChange(cut.scene, key, text, text, kept, None))
            continue
        before, after = _layout(key, data), _layout(key, edit.doc)
        loses = None if text.lstrip("\ufeff") == before else _what_is_lost(text)
        out.changes.append(SceneChange(cut.scene, key, text, before, after, loses))
    return out


def _seconds(frames: int, rate: float) -> float:
    # Six decimals: a frame at 120 fps is 0.008333 s, and round(x * rate) gives the frame back.
    return round(frames / rate, 6)


class _SceneEdit:
    """One scene's document changed to the edit (see the module's docstring)."""

    def __init__(self, key: str, data: dict[str, Any], scene: Scene, record: TimelineRecord, cut: SceneCut, rate: float,
                 sound: bool, cue_seconds: dict[str, float]):
        self.key, self.doc, self.scene, self.record, self.cut = key, copy.deepcopy(data), scene, record, cut
        self.had_finishing = "finishing" in data
        self.rate, self.sound, self.cue_seconds = rate, sound, cue_seconds
        self.fin = scene.finishing
        self.shortfalls: list[ShortTake] = []
        self.refusals: list[str] = []
        self.notes: list[str] = []

    def frames(self, seconds: float | None) -> int:
        return round(float(seconds or 0.0) * self.rate)

    def finishing(self) -> dict[str, Any]:
        if not isinstance(self.doc.get("finishing"), dict):
            self.doc["finishing"] = {}
        finishing: dict[str, Any] = self.doc["finishing"]
        return finishing

    def shot_entry(self, shot: str) -> dict[str, Any]:
        shots = self.finishing().setdefault("shots", {})
        entry: dict[str, Any] = shots.setdefault(shot, {})
        return entry

    def shot_doc(self, shot: str) -> dict[str, Any]:
        found: dict[str, Any] = next(s for s in self.doc["shots"] if isinstance(s, dict) and s.get("id") == shot)
        return found

    def conform(self) -> None:
        ids = [s.id for s in self.scene.shots]
        gone = [c for c in self.cut.shots if c.shot not in ids]
        for c in gone:
            self.refusals.append(str(NotConformed(c.clip, c.at, f"shot {c.shot} is no longer in {self.key}")))
        if gone:
            return
        for c in self.cut.shots:
            self.trim(c)
        for a in self.cut.shots[:-1]:
            self.join(a)
        self.order(ids)
        self.fades()
        if self.sound:
            self.cues()
        if self.doc.get("finishing") == {} and not self.had_finishing:
            del self.doc["finishing"]   # nothing was added after all

    def trim(self, c: EditedShot) -> None:
        """The shot's trims from the frames of its take the cut uses; a longer take when they
        reach past either end of it."""
        seconds = float(next(s["seconds"] for s in self.record["shots"] if s["shot"] == c.shot))
        whole = self.frames(seconds)
        head, tail = max(0, -c.first), max(0, c.end - whole)
        first, end = c.first, c.end
        if head or tail:
            needed = whole + head + tail
            # Tenths of a second, rounded up: a duration a person reads and a model is asked for.
            longer = math.ceil(needed / self.rate * 10 - 1e-9) / 10
            if longer > MAX_SHOT_SECONDS:
                self.refusals.append(str(NotConformed(c.clip, c.at, f"needs {needed} frames of shot {c.shot} "
                                                      f"({needed / self.rate:.2f}s): a shot is at most "
                                                      f"{MAX_SHOT_SECONDS:g}s")))
                return
            self.shortfalls.append(ShortTake(self.scene.id, c.shot, head, tail, seconds, longer))
            self.shot_doc(c.shot)["duration"] = longer
            whole, first, end = self.frames(longer), first + head, end + head
        entry = self.fin.shots.get(c.shot) if self.fin else None
        for name, frames, now in (("trim_in", first, entry.trim_in if entry else 0.0),
                                  ("trim_out", whole - end, entry.trim_out if entry else 0.0)):
            if frames != self.frames(now):
                self.shot_entry(c.shot)[name] = _seconds(frames, self.rate)

    def join(self, a: EditedShot) -> None:
        """The shot's way into the next one of the cut: `transition_out` for a cut or a dissolve,
        its `dip_out` for a dip."""
        told = self.scene.shot(a.shot).transition_out
        entry = self.fin.shots.get(a.shot) if self.fin else None
        dip = entry.dip_out if entry else None
        out = a.out
        if out.kind == "dissolve":
            if told.kind != "dissolve" or self.frames(told.duration) != out.frames:
                self.shot_doc(a.shot)["transition_out"] = {"kind": "dissolve",
                                                           "duration": _seconds(out.frames, self.rate)}
            if dip is not None:   # a dissolve where the dip was: the dip goes
                self.shot_entry(a.shot).pop("dip_out", None)
        elif out.kind == "dip":
            if told.kind != "cut":
                self.shot_doc(a.shot)["transition_out"] = {"kind": "cut", "duration": 0}
            colour = out.colour or (dip.colour if dip else "#000000")
            if dip is None or self.frames(dip.duration) != out.frames or dip.colour != colour:
                self.shot_entry(a.shot)["dip_out"] = {"colour": colour, "duration": _seconds(out.frames, self.rate)}
        else:
            if told.kind != "cut":
                self.shot_doc(a.shot)["transition_out"] = {"kind": "cut", "duration": 0}
            if dip is not None:
                self.notes.append(f"{self.key}: shot {a.shot}'s dip to {dip.colour} is kept: the timeline shows a "
                                  f"cut there, as exports before issue 39 wrote every dip (remove its dip_out by "
                                  f"hand to cut)")

    def order(self, ids: list[str]) -> None:
        """`finishing.cut`: the shots as the edit plays them. A shot the edit could not show
        (not in the cut when it was exported: escalated, rejected, or new since) keeps its place
        after the shot it followed; one the editor took out is dropped."""
        was = self.fin.cut if self.fin and self.fin.cut is not None else ids
        exported = {s["shot"] for s in self.record["shots"] if s.get("media")}
        now = [c.shot for c in self.cut.shots]
        for i, shot in enumerate(was):
            if shot in now or shot in exported:
                continue
            after = next((was[j] for j in range(i - 1, -1, -1) if was[j] in now), None)
            now.insert(now.index(after) + 1 if after is not None else 0, shot)
        cut = None if now == ids else now
        if cut != (self.fin.cut if self.fin else None):
            if cut is None:
                self.finishing().pop("cut", None)
            else:
                self.finishing()["cut"] = cut
        dropped = [s for s in was if s in exported and s not in now]
        if dropped:
            self.notes.append(f"{self.key}: dropped from the cut: {', '.join(dropped)} (still in the scene file, "
                              f"still made: put it back in finishing.cut to cut it in again)")

    def fades(self) -> None:
        for name, frames in (("fade_in", self.cut.fade_in), ("fade_out", self.cut.fade_out)):
            now = getattr(self.fin, name) if self.fin else 0.0
            if frames is not None and frames != self.frames(now):
                self.finishing()[name] = _seconds(frames, self.rate)

    def cues(self) -> None:
        """Each cue of the manifest the record placed, where the edit now places it: its `at`
        (into its shot while that shot is in the cut, else into the scene), `offset` into its
        file, and `length` when the edit hears it for another length than the manifest gives.
        A cue the editor deleted leaves the manifest; a second copy of one is refused."""
        if self.fin is None or not self.fin.cues:
            return
        exported = [s["shot"] for s in self.record["shots"] if s.get("media")]
        placed: dict[str, list[tuple[int, TimelineCue]]] = {}
        for file in {c.file for c in self.fin.cues}:
            # The record holds the manifest's cues in its order (those it could place: their shot
            # in the cut), then the lines' own: the n-th of a file is the n-th placeable one.
            candidates = [j for j, c in enumerate(self.fin.cues)
                          if c.file == file and (c.shot is None or c.shot in exported)]
            placed[file] = list(zip(candidates, [rc for rc in self.record["cues"] if rc["file"] == file]))
        edited: dict[str, list[EditedCue]] = {}
        for e in self.cut.cues:
            if e.file in placed:
                edited.setdefault(e.file, []).append(e)
            # else: a line of dialogue's own cue, which follows its shot's dialogue: not read back
        gone: list[int] = []
        for file, pairs in placed.items():
            news = sorted(edited.get(file, []), key=lambda e: e.start)
            olds = sorted(pairs, key=lambda p: p[1]["start"])
            matched = self.match(olds, news)
            for e in news:
                if all(e is not m for _, m in matched):
                    self.refusals.append(str(NotConformed(e.clip, e.at, f"a second copy of the cue {file}: add it to "
                                                          f"finishing.cues by hand")))
            for j, rc in olds:
                found = next((m for jj, m in matched if jj == j), None)
                if found is None:
                    gone.append(j)
                else:
                    self.move(j, rc, found)
        cues = self.finishing().get("cues")
        for j in sorted(gone, reverse=True):
            self.notes.append(f"{self.key}: cue {self.fin.cues[j].file} (finishing.cues[{j}]) is not in the edit: "
                              f"it leaves the manifest")
            if isinstance(cues, list):
                del cues[j]

    def match(self, olds: list[tuple[int, TimelineCue]], news: list[EditedCue]) -> list[tuple[int, EditedCue]]:
        """Cues of one file, the record's to the edit's: in order when as many, else each edited
        one to the nearest placement left."""
        if len(olds) == len(news):
            return [(j, e) for (j, _), e in zip(olds, news)]
        left = list(olds)
        out: list[tuple[int, EditedCue]] = []
        for e in news:
            if not left:
                break
            j, rc = min(left, key=lambda p: abs(self.frames(p[1]["start"]) - e.start))
            left.remove((j, rc))
            out.append((j, e))
        return out

    def move(self, j: int, was: TimelineCue, e: EditedCue) -> None:
        """Cue `j` of the manifest (placed as `was` in the record) where the edit has it (`e`)."""
        assert self.fin is not None   # cues() moves only the cues of a finish
        cue = self.fin.cues[j]
        raw = self.finishing()["cues"][j]
        if e.start < 0:
            self.refusals.append(str(NotConformed(e.clip, e.at, "starts before its scene does")))
            return
        whole = self.frames(self.cue_seconds[cue.file]) if cue.file in self.cue_seconds else None
        if whole is not None and e.offset + e.length > whole:
            over = e.offset + e.length - whole
            self.refusals.append(str(NotConformed(e.clip, e.at, f"plays {over} frame(s) past the end of {cue.file}")))
            return
        starts = {c.shot: c.start for c in self.cut.shots}
        anchored = cue.shot is not None and cue.shot in starts
        base = starts[cue.shot] if anchored and cue.shot is not None else 0
        if (cue.shot is not None and not anchored) or base + self.frames(cue.at) != e.start:
            if anchored and e.start >= base:
                raw["at"] = _seconds(e.start - base, self.rate)
            else:   # before its shot now, or its shot dropped: placed by time into the scene
                raw.pop("shot", None)
                raw["at"] = _seconds(e.start, self.rate)
        if self.frames(cue.offset) != e.offset:
            raw["offset"] = _seconds(e.offset, self.rate)
        # A length only when the editor changed the cue's: one left as exported keeps running
        # to its file's or its scene's end (an editor's track does not follow a scene that grew
        # or shrank), and what runs past the scene's end is cut there, as the finishing pass does.
        heard = min(e.length, self.cut.length - e.start)
        given = min(x for x in (None if whole is None else whole - e.offset,
                                None if cue.length is None else self.frames(cue.length),
                                self.cut.length - e.start) if x is not None)
        if e.length != self.frames(was["seconds"]) and heard != given:
            raw["length"] = _seconds(heard, self.rate)


# --- the files -------------------------------------------------------------------------------


class _Layout(yaml.SafeDumper):  # type: ignore[misc]   # PyYAML's classes carry no types here
    """slate's layout of a manifest (as `slate init` writes the example): keys in their order,
    a multi-line text as a literal block."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Layout.add_representer(str, _text)


def _layout(key: str, doc: dict[str, Any]) -> str:
    if key.lower().endswith(".json"):
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    return str(yaml.dump(doc, Dumper=_Layout, sort_keys=False, allow_unicode=True, width=110))


def _with_comments(text: str, doc: dict[str, Any]) -> str | None:
    """The scene file's own text changed to `doc` where they differ — its comments, order, quotes
    and indentation kept (ruamel.yaml's round trip, its indentation read off the file) — or None
    when this file's layout does not come back from a round trip as it was (slate's layout is
    written instead, saying what is lost). The text written always reads back as `doc`."""
    # The file's own indentation: the first of the usual ones that gives the file back as it is
    # (ruamel's guess is misled by a comment on a key's line).
    for mapping, sequence, offset in ((2, 2, 0), (2, 4, 2), (4, 4, 0), (4, 6, 4), (4, 4, 2)):
        rt = YAML()
        rt.indent(mapping=mapping, sequence=sequence, offset=offset)
        rt.width, rt.preserve_quotes = 4096, True
        try:
            data = rt.load(text)
        except Exception:  # noqa: BLE001 — not YAML ruamel can keep: slate's layout instead
            return None
        if isinstance(data, CommentedMap) and _dumped(rt, data) == text:
            break
    else:
        return None
    merged = _dumped(rt, _merge(data, copy.deepcopy(doc)))
    return merged if yaml.safe_load(merged) == doc else None


def _dumped(rt: YAML, value: Any) -> str:
    buf = io.StringIO()
    rt.dump(value, buf)
    return buf.getvalue()


def _merge(old: Any, new: Any) -> Any:
    """`old` (ruamel's nodes, with their comments) made equal to `new`: what stays keeps its
    comments and form, what changes is replaced in place, what is new goes at its mapping's end."""
    if isinstance(old, CommentedMap) and isinstance(new, dict):
        for k in [k for k in old if k not in new]:
            del old[k]
        for k, v in new.items():
            old[k] = _merge(old[k], v) if k in old else v
        return old
    if isinstance(old, CommentedSeq) and isinstance(new, list):
        for i, v in enumerate(new[:len(old)]):
            old[i] = _merge(old[i], v)
        del old[len(new):]
        old.extend(new[len(old):])
        return old
    # A scalar: kept as written (0.50 stays 0.50, a quoted text stays quoted) when it is the same
    # value — a yes is never the 1 it equals.
    if isinstance(old, bool) or isinstance(new, bool):
        return old if type(old) is type(new) and old == new else new
    return old if old == new else new


_COMMENT = re.compile(r"(^|\s)#")


def _what_is_lost(text: str) -> str:
    comments = sum(1 for line in text.splitlines() if _COMMENT.search(line.split("'#")[0].split('"#')[0]))
    said = f"its {comments} comment line(s) and " if comments else ""
    return f"{said}its own layout (slate has no YAML writer that keeps them)"


def write_changes(root: Path, changes: list[SceneChange], stamp: str) -> list[tuple[Path, Path]]:
    """Write each changed scene file whole (a temporary file renamed over it, its mode kept),
    after keeping its text as it was under .slate/conform/<stamp>/. Returns (file, copy kept)."""
    root = Path(root)
    done: list[tuple[Path, Path]] = []
    for change in (c for c in changes if c.changed):
        path = root / change.file
        kept = root / ".slate" / "conform" / stamp / change.file
        kept.parent.mkdir(parents=True, exist_ok=True)
        kept.write_text(change.text, encoding="utf-8")
        part = path.with_name(f".{path.name}.conform.part")
        part.write_text(change.after, encoding="utf-8")
        os.chmod(part, path.stat().st_mode & 0o7777)
        os.replace(part, path)
        done.append((path, kept))
    return done
