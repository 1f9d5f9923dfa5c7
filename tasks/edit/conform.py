"""Reading an editor's timeline back (issue 39): the picture track of an edited .otio, FCP 7 XML
or CMX 3600 EDL mapped, clip by clip, to the scene, shot and take slate made it from, and said
in slate's terms — per scene, its shots in the order they now play, the frames of each take the
cut uses, the joins between them (cut, dissolve, dip), the fades the timeline shows, and where
each audio cue now sits.

A clip is traced by the provenance slate wrote (tasks/edit/conform_trace.py): its OpenTimelineIO
metadata (kept by .otio, lost by FCP 7 XML and EDL), its media file (FCP 7 XML keeps the path, an
EDL a comment), its name, an EDL's reel through its reel list. Whatever cannot be traced or
expressed — a clip slate never made, a speed change, an effect or transition slate does not
render, a second picture track, a shot played twice, scenes interleaved — is a NotConformed
naming the clip and its record time.

Frames are the unit throughout: the editor's timeline counts them, the finishing pass renders
them, and seconds are only what the manifests are written in (tasks/edit/conform_manifest.py).

It must never write a file, spend, or call a provider: it reads a timeline and the records.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import opentimelineio as otio

from slate.manifests.assembly import CUE_KINDS
from slate.manifests.frame_rate import exact
from slate.tasks.edit.conform_trace import ConformError, Provenance, comments_of, media_of, metadata_of, read_reels
from slate.tasks.edit.export import LINE_FILE, TimelineRecord

__all__ = ["ConformError", "NotConformed", "TakeSwap", "Join", "EditedShot", "EditedCue", "SceneCut", "ReadBack", "ADAPTERS",
           "read_timeline", "read_reels", "read_back", "rate_of"]

#: What each suffix is read as, with the adapters `slate export` writes them with.
ADAPTERS = {".otio": "otio_json", ".xml": "fcp_xml", ".edl": "cmx_3600"}
#: A timeline bigger than this is not an edit slate wrote (a 200-shot film's FCP 7 XML is ~1 MB).
MAX_TIMELINE_BYTES = 64 << 20
#: The reels an EDL names black by (a fade or a dip dissolves to or from it).
BLACK_REELS = ("BL", "BLK", "BLACK")
_HEX = re.compile(r"#[0-9a-fA-F]{6}")


@dataclass(frozen=True)
class NotConformed:
    """Something of the edit slate cannot take back, where the editor finds it."""

    clip: str   # the clip's (or transition's) name as the timeline shows it
    at: str     # its record time, as timecode
    why: str

    def __str__(self) -> str:
        return f"{self.clip!r} at {self.at}: {self.why}"


@dataclass(frozen=True)
class Join:
    """How a shot goes into the next one of its scene: a cut, a dissolve of `frames`, or a dip
    to `colour` over `frames` (None: the timeline does not say which colour)."""

    kind: str = "cut"
    frames: int = 0
    colour: str | None = None


@dataclass
class EditedShot:
    """A shot as the edit plays it: the frames [first, end) of its take (a dissolve's handles
    included), and where those begin on its scene's timeline (`start`, frames)."""

    shot: str
    take: int | None
    clip: str
    at: str
    first: int
    end: int
    start: int = 0
    out: Join = field(default_factory=Join)


@dataclass
class EditedCue:
    """An audio cue as the edit places it, in frames: from `start` into its scene, `offset` into
    its file, heard for `length`. `file`: the cue's key as the record has it."""

    file: str
    kind: str
    clip: str
    at: str
    start: int
    offset: int
    length: int


@dataclass
class SceneCut:
    """One scene of the edit: its shots in order, where it begins on the timeline and how long
    it lasts (frames), the fades the timeline shows (None: it shows none), and its cues."""

    scene: str
    shots: list[EditedShot]
    begins: int = 0
    length: int = 0
    fade_in: int | None = None
    fade_out: int | None = None
    cues: list[EditedCue] = field(default_factory=list)


@dataclass(frozen=True)
class TakeSwap:
    """The editor put another take of a shot in the cut: circle take `take` of `shot` (its cut had
    `was`), said of the clip at record time `at`."""

    scene: str
    shot: str
    take: int
    was: int
    clip: str
    at: str

    def __str__(self) -> str:
        return f"circle take {self.take} of shot {self.shot} (the cut has take {self.was}; '{self.clip}' at {self.at})"


@dataclass
class ReadBack:
    """The edit in slate's terms, what of it cannot be taken back, and what was left as it is."""

    scenes: list[SceneCut]
    refusals: list[NotConformed]
    notes: list[str]
    sound: bool   # the timeline has audio tracks: its cues can be read (an EDL has none)
    swaps: list[TakeSwap] = field(default_factory=list)   # takes the editor swapped in: each a circle


def rate_of(fps: int | float) -> float:
    """A film's rate as OpenTimelineIO counts it (23.976 is 24000/1001 exactly)."""
    return float(exact(fps))


# --- reading the file ------------------------------------------------------------------------


def read_timeline(path: Path, rate: float) -> otio.schema.Timeline:
    """The timeline in `path`, read by its suffix's adapter (an EDL counted at `rate`, which it
    does not say). ConformError naming the file for a wrong suffix, a file that is not there or
    too big, one its adapter cannot read, or one that holds no timeline or several."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in ADAPTERS:
        raise ConformError(f"{path}: not a timeline slate reads back (expected .otio, .xml (FCP 7) or .edl)")
    if not path.is_file():
        raise ConformError(f"{path}: {'is a folder, not a timeline' if path.is_dir() else 'not found'}")
    if path.stat().st_size > MAX_TIMELINE_BYTES:
        raise ConformError(f"{path}: {path.stat().st_size:,} bytes is not an edit slate wrote "
                           f"(at most {MAX_TIMELINE_BYTES:,})")
    extra = {"rate": rate} if suffix == ".edl" else {}
    try:
        read = otio.adapters.read_from_file(str(path), adapter_name=ADAPTERS[suffix], **extra)
    except Exception as exc:   # each adapter raises its own (XML, JSON, EDL syntax, OTIO): all say "unreadable"
        said = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConformError(f"{path}: cannot be read as {suffix[1:].upper()}: {said}") from exc
    timelines = [read] if isinstance(read, otio.schema.Timeline) else \
        [t for t in getattr(read, "find_children", lambda **_: [])(descended_from_type=otio.schema.Timeline)]
    if len(timelines) != 1:
        raise ConformError(f"{path}: holds {len(timelines)} timelines (sequences): export the one edit to read back")
    timeline = timelines[0]
    if suffix == ".edl" and timeline.global_start_time is None:
        # The EDL reader starts its track at the first event; the editor's record time is that event's.
        timeline.global_start_time = _first_record_in(path, rate)
    odd = _odd_time(timeline, rate)
    if odd is not None:
        raise ConformError(f"{path}: {odd}")
    return timeline


def _bad(t: otio.opentime.RationalTime | None) -> str | None:
    """What is wrong with a time no frame can be counted from (a rate of 0 or below, a NaN or an
    infinite value or rate), or None."""
    if t is None:
        return None
    if not math.isfinite(t.rate) or t.rate <= 0:
        return f"is counted at rate {t.rate:g}"
    if not math.isfinite(t.value):
        return f"is {t.value:g} frames"
    return None


def _odd_time(timeline: otio.schema.Timeline, rate: float) -> str | None:
    """The first item of the timeline whose times cannot be placed, said as one line naming it, its
    track and its record time; None when every time can be counted. Read before anything else is:
    a NaN or a rate of 0 would otherwise end the read in a traceback deep in the frame arithmetic."""
    start = timeline.global_start_time
    origin = 0.0
    if start is not None and _bad(start) is None:
        origin = start.to_seconds()
    for n, track in enumerate(timeline.tracks, 1):
        at = 0.0   # seconds into the track, from the items before this one that could be counted
        label = track.name or f"{'V' if track.kind == otio.schema.TrackKind.Video else 'A'}{n}"
        for item in track:
            times = [("in offset", getattr(item, "in_offset", None)), ("out offset", getattr(item, "out_offset", None))] \
                if isinstance(item, otio.schema.Transition) else \
                [("source start", item.source_range.start_time if item.source_range else None),
                 ("duration", item.source_range.duration if item.source_range else None)]
            for what, t in times:
                why = _bad(t)
                if why is None and what == "duration" and t is not None and t.value < 0:
                    why = f"is {t.value:g} frames, less than none"
                if why is not None:
                    record = origin + at
                    tc = otio.opentime.to_timecode(otio.opentime.from_seconds(record, rate), rate)
                    kind = "transition" if isinstance(item, otio.schema.Transition) else "clip"
                    if isinstance(item, otio.schema.Transition):   # named by the clips it joins
                        i = track.index(item)
                        sides = [track[j].name for j in (i - 1, i + 1) if 0 <= j < len(track)]
                        kind = f"{kind} between {' and '.join(repr(x) for x in sides)},"
                    return (f"{kind} {item.name or '(unnamed)'!r} on track {label} at {tc}: its {what} {why}, not a time "
                            f"a frame can be counted from; set it in the editor and export the edit again")
            if not isinstance(item, otio.schema.Transition) and item.source_range is not None:
                at += item.source_range.duration.to_seconds()
    return None


def _first_record_in(path: Path, rate: float) -> otio.opentime.RationalTime | None:
    event = re.compile(r"^\d{3,}\s+\S+\s+\S+\s+\S+(?:\s+\d+)?\s+\S+\s+\S+\s+(\d\d:\d\d:\d\d[:;]\d\d)\s+\S+\s*$")
    for line in path.read_text(errors="replace").splitlines():
        found = event.match(line)
        if found:
            try:
                return otio.opentime.from_timecode(found.group(1).replace(";", ":"), rate)
            except ValueError:
                return None
    return None


# --- the picture track -----------------------------------------------------------------------


def _frames(t: otio.opentime.RationalTime, rate: float) -> int:
    return round(float(t.value_rescaled_to(rate)))


def _is_black(item: otio.core.Item) -> bool:
    """A gap, or an EDL's black (`BL`): what a fade or a dip dissolves to and from."""
    if isinstance(item, otio.schema.Gap):
        return True
    reel = str(metadata_of(item, "cmx_3600").get("reel", "")).upper()
    return reel in BLACK_REELS or item.name.strip().upper() in BLACK_REELS


def _kind(transition: otio.schema.Transition) -> str | None:
    """dissolve, dip or fade; None for a transition slate does not render (a wipe, a push)."""
    told = metadata_of(transition, "slate")
    if told.get("kind") in ("dissolve", "dip", "fade"):
        return str(told["kind"])
    if transition.transition_type != otio.schema.TransitionTypes.SMPTE_Dissolve:
        return None
    name = transition.name.lower()
    if "dip" in name:
        return "dip"
    if "fade" in name:
        return "fade"
    # The FCP 7 reader calls every transition a dissolve and keeps its effect's name: a "Band
    # Wipe" is a wipe. Nameless, or named a dissolve (Cross, Film, Additive), it is one.
    return "dissolve" if not name or "dissolve" in name else None


def _colour(items: list[otio.core.Item]) -> str | None:
    """The colour a dip goes through, where the timeline says it (slate's metadata, a name or an
    EDL comment such as `DIP TO #FFFFFF`; "white" or "black" in a name)."""
    for item in items:
        told = metadata_of(item, "slate")
        if told.get("colour"):
            return str(told["colour"]).lower()
        for text in [item.name, *comments_of(item)]:
            found = _HEX.search(text)
            if found:
                return found.group(0).lower()
            if "white" in text.lower():
                return "#ffffff"
            if "black" in text.lower():
                return "#000000"
    return None


@dataclass
class _Placed:
    """A clip of the picture track traced to its shot, as the track first shows it."""

    scene: str
    shot: EditedShot
    position: int   # its first visible frame on the track
    visible: int    # the frame of its take shown there (before a dissolve's handle widens `shot.first`)


def read_back(timeline: otio.schema.Timeline, records: dict[str, TimelineRecord],
              reels: dict[str, dict[str, str]] | None = None,
              takes: Mapping[str, Mapping[str, Mapping[int, str]]] | None = None) -> ReadBack:
    """The edit of `timeline` against the scenes' timeline records (by scene id; `reels`: an
    EDL's reel list; `takes`: by scene and shot, every take's clip file — the rushes'): see the
    module's docstring."""
    fps = next(iter(records.values()))["fps"]
    rate = rate_of(fps)
    start = timeline.global_start_time.rescaled_to(rate) if timeline.global_start_time is not None \
        else otio.opentime.RationalTime(0, rate)
    trace = Provenance(records, reels or {}, takes)
    refusals: list[NotConformed] = []
    notes: list[str] = []
    swaps: list[TakeSwap] = []

    def timecode(frames: int) -> str:
        at = otio.opentime.RationalTime(frames, rate) + start
        try:
            return str(otio.opentime.to_timecode(at, rate))
        except (ValueError, TypeError):   # a rate timecode cannot count in: say the seconds
            return f"{at.to_seconds():.3f}s"

    videos = [t for t in timeline.video_tracks()
              if any(isinstance(i, otio.schema.Clip) and not _is_black(i) for i in t)]
    for track in videos[1:]:
        for clip in (i for i in track if isinstance(i, otio.schema.Clip) and not _is_black(i)):
            refusals.append(NotConformed(clip.name, timecode(_frames(track.range_of_child(clip).start_time, rate)),
                                         f"on a second picture track ({track.name or 'V2'}): slate's cut is one track "
                                         f"of shots, one after another"))
    placed: list[_Placed] = []
    # What stands between two clips (transitions, black, gaps): each join read once both sides are known.
    between: list[otio.core.Item] = []
    before: _Placed | None = None
    joins: list[tuple[_Placed | None, list[otio.core.Item], _Placed | None]] = []
    track = videos[0] if videos else otio.schema.Track()
    for item in track:
        if isinstance(item, otio.schema.Clip) and not _is_black(item):
            at = _frames(track.range_of_child(item).start_time, rate)
            here = _trace(item, at, timecode(at), trace, rate, refusals, swaps)
            if here is None:
                between = []   # a refused clip: what surrounds it is not read either
                before = None
                continue
            joins.append((before, between, here))
            placed.append(here)
            before, between = here, []
        else:
            between.append(item)
    joins.append((before, between, None))
    scenes = _scenes(placed, refusals)
    by_scene = {s.scene: s for s in scenes}
    for prev, items, nxt in joins:
        _join(prev, items, nxt, by_scene, rate, timecode, refusals, notes)
    for scene in scenes:
        _lay_out(scene, placed)
    sound = bool(timeline.audio_tracks())
    if sound:
        for atrack in timeline.audio_tracks():
            for clip in (i for i in atrack if isinstance(i, otio.schema.Clip)):
                at = _frames(atrack.range_of_child(clip).start_time, rate)
                _place_cue(clip, atrack, at, timecode(at), scenes, trace, rate, refusals)
    return ReadBack(scenes=scenes, refusals=refusals, notes=notes, sound=sound, swaps=swaps)


def _trace(clip: otio.schema.Clip, at: int, tc: str, trace: Provenance, rate: float,
           refusals: list[NotConformed], swaps: list[TakeSwap]) -> _Placed | None:
    """A picture clip as a shot of a scene, or None (refused: a clip slate never made, a take slate
    does not have, a speed change, an effect slate does not render). Another take of the shot
    than the cut's, one slate has, is the editor's swap: a circle (`swaps`), its frames read as
    that take's."""
    found = trace.shot_of(clip)
    if found is None:
        refusals.append(NotConformed(clip.name, tc, "slate never made this clip (no scene, shot or file of the "
                                     "timeline records matches it)"))
        return None
    scene, shot, take = found
    known = trace.take_of(scene, shot)
    if take is not None and known is not None and take != known:
        have = trace.takes_of(scene, shot)
        if take not in have:
            said = f"its takes are {', '.join(map(str, have))}" if have else "no dailies of it are kept"
            refusals.append(NotConformed(clip.name, tc, f"is take {take} of shot {shot}, which slate does not have "
                                         f"({said}; the cut has take {known}): point the clip at one of them"))
            return None
        if any(s.scene == scene and s.shot == shot and s.take != take for s in swaps):
            refusals.append(NotConformed(clip.name, tc, f"a second take of shot {shot} in the cut: a shot is one take"))
            return None
        swaps.append(TakeSwap(scene, shot, take, known, clip.name, tc))
        known = take
    for effect in clip.effects:
        why = _unknown_effect(effect)
        if why:
            refusals.append(NotConformed(clip.name, tc, why))
            return None
    first = _frames(clip.source_range.start_time, rate)
    end = first + _frames(clip.source_range.duration, rate)
    return _Placed(scene, EditedShot(shot=shot, take=known if known is not None else take, clip=clip.name, at=tc,
                                  first=first, end=end), at, first)


def _unknown_effect(effect: otio.schema.Effect) -> str | None:
    """Why an effect on a clip cannot be taken back, or None for one slate wrote (its grade)."""
    name = effect.effect_name or effect.name or type(effect).__name__
    if isinstance(effect, otio.schema.TimeEffect) or "time remap" in name.lower() or "timeremap" in name.lower() \
            or "speed" in name.lower():
        scalar = getattr(effect, "time_scalar", None)
        said = f" (x{scalar:g})" if isinstance(scalar, (int, float)) else ""
        return (f"a speed change{said}: slate plays every take at the speed it was made; "
                f"remove it, or make a take of the shot at that pace")
    if (effect.effect_name or "").startswith("slate.") or "slate" in effect.metadata:
        return None   # slate's own grade, written by `slate export`: the finish stays the manifest's
    return f"an effect slate does not render ({name}): remove it, or take the shot's finish by hand"


def _scenes(placed: list[_Placed], refusals: list[NotConformed]) -> list[SceneCut]:
    """The placed clips as scenes, in the timeline's order. A scene's shots stand together and
    each plays once: a shot among another scene's, or played twice, is refused."""
    out: list[SceneCut] = []
    seen: set[tuple[str, str]] = set()
    for p in placed:
        if (p.scene, p.shot.shot) in seen:
            refusals.append(NotConformed(p.shot.clip, p.shot.at, f"shot {p.shot.shot} of {p.scene} plays twice: "
                                         f"a shot is in the cut once"))
            continue
        seen.add((p.scene, p.shot.shot))
        if out and out[-1].scene == p.scene:
            out[-1].shots.append(p.shot)
        elif any(s.scene == p.scene for s in out):
            refusals.append(NotConformed(p.shot.clip, p.shot.at, f"shot {p.shot.shot} of {p.scene} is cut in among "
                                         f"{out[-1].scene}'s shots: a shot stays in its scene"))
        else:
            out.append(SceneCut(scene=p.scene, shots=[p.shot]))
    return out


def _join(prev: _Placed | None, items: list[otio.core.Item], nxt: _Placed | None, scenes: dict[str, SceneCut],
          rate: float, timecode: Callable[[int], str], refusals: list[NotConformed], notes: list[str]) -> None:
    """Read what stands between two traced clips (either may be None: the track's edge, or a
    refused clip): a cut, a dissolve (its handles widen both shots' frames), a dip (slate's: a
    transition named so, taking no frames; an EDL's: dissolves to and from black), fades at a
    scene's edges, or black closed up."""
    transitions = [i for i in items if isinstance(i, otio.schema.Transition)]
    for t in transitions:
        if _kind(t) is None:
            at = prev.position if prev else (nxt.position if nxt else 0)
            refusals.append(NotConformed(t.name or t.transition_type, timecode(at),
                                         f"a transition slate does not render ({t.name or t.transition_type}): "
                                         f"slate cuts, dissolves, dips and fades"))
            return
    black = [i for i in items if not isinstance(i, otio.schema.Transition)]
    frames = sum(_frames(t.in_offset, rate) + _frames(t.out_offset, rate) for t in transitions)
    # Handles: a dissolve (or a dissolve to or from black) plays the leaving shot past its last
    # visible frame by its out_offset and the entering one before its first by its in_offset,
    # as OpenTimelineIO counts a transition. Slate's own dip and fade transitions take none.
    own = len(transitions) == 1 and not black and _kind(transitions[0]) in ("dip", "fade")
    if prev is not None and transitions and not own and _after(items, transitions[0]):
        prev.shot.end += _frames(transitions[0].out_offset, rate)
    if nxt is not None and transitions and not own and _before(items, transitions[-1]):
        nxt.shot.first -= _frames(transitions[-1].in_offset, rate)
    if prev is not None and nxt is not None and prev.scene == nxt.scene:
        if not transitions:
            if black:
                notes.append(f"the black between {prev.shot.clip!r} and {nxt.shot.clip!r} at "
                             f"{timecode(nxt.position)} is closed up: a scene's cut has no black between shots")
            prev.shot.out = Join()
        elif black or any(_kind(t) in ("dip", "fade") for t in transitions):
            prev.shot.out = Join("dip", frames, _colour(items))
        else:
            prev.shot.out = Join("dissolve", frames)
        return
    # A scene's edge: what stands there fades it out (before the point) and the next one in.
    if not transitions:
        return
    if prev is not None and nxt is not None and own:
        scenes[prev.scene].fade_out = _frames(transitions[0].in_offset, rate)
        scenes[nxt.scene].fade_in = _frames(transitions[0].out_offset, rate)
        return
    if prev is not None:
        scenes[prev.scene].fade_out = _frames(transitions[0].in_offset, rate) + _frames(transitions[0].out_offset, rate)
    if nxt is not None:
        scenes[nxt.scene].fade_in = _frames(transitions[-1].in_offset, rate) + _frames(transitions[-1].out_offset, rate)


def _after(items: list[otio.core.Item], transition: otio.schema.Transition) -> bool:
    """The transition comes straight after the clip before the join (nothing between them)."""
    return bool(items) and items[0] is transition


def _before(items: list[otio.core.Item], transition: otio.schema.Transition) -> bool:
    return bool(items) and items[-1] is transition


def _lay_out(scene: SceneCut, placed: list[_Placed]) -> None:
    """Where each shot's frames begin on its scene's timeline, where the scene begins on the
    edit's, and how long it lasts: each shot starts where its frames first show (a dissolve's
    handle before its first visible frame), as the finishing pass lays the cut."""
    mine = {id(p.shot): p for p in placed if p.scene == scene.scene}
    first = mine[id(scene.shots[0])]
    scene.begins = first.position - (first.visible - first.shot.first)
    for shot in scene.shots:
        p = mine[id(shot)]
        shot.start = p.position - (p.visible - shot.first) - scene.begins
    last = scene.shots[-1]
    scene.length = last.start + last.end - last.first


def _track_kind(name: str) -> str:
    """The cue kind an audio track holds, by its name: "A dialogue", "A dialogue 2" (tasks/edit/export.py)."""
    return (name.removeprefix("A ").strip().split(" ", 1) or [""])[0]


def _own_line(file: str, scene: str, trace: Provenance) -> bool:
    """`file` names a line of dialogue's own cue ("1D-line-0.wav") of a shot of `scene`."""
    found = LINE_FILE.match(Path(file).name)
    return found is not None and scene in trace.records and \
        any(s["shot"] == found["shot"] for s in trace.records[scene]["shots"])


def _made_cue(file: str, scene: str, trace: Provenance, meta: Mapping[str, Any]) -> bool:
    """`file` names a cue slate made to a brief (issue 59) for `scene`: the clip carries its brief
    (an OpenTimelineIO export keeps it), or the scene's record does."""
    return "brief" in meta or (scene in trace.records and any(c.get("file") == file and "brief" in c
                                                              for c in trace.records[scene].get("cues", [])))


def _place_cue(clip: otio.schema.Clip, track: otio.schema.Track, at: int, tc: str, scenes: list[SceneCut],
               trace: Provenance, rate: float, refusals: list[NotConformed]) -> None:
    """An audio clip as a cue of the scene it plays in: its file known to the scene's record, or
    refused (a sound slate never placed, a speed change)."""
    for effect in clip.effects:
        if isinstance(effect, otio.schema.TimeEffect):
            refusals.append(NotConformed(clip.name, tc, _unknown_effect(effect) or "a speed change"))
            return
    words = clip.name.split(" ", 2)
    scene = next((s for s in scenes if s.scene == words[0]), None) or \
        next((s for s in reversed(scenes) if s.begins <= at), scenes[0] if scenes else None)
    meta = metadata_of(clip, "slate")
    file = str(meta["file"]) if meta.get("file") else None
    if file is None:
        file = next((trace.cues_by_media[k] for k in media_of(clip) if k in trace.cues_by_media), None)
    if file is None and scene is not None and len(words) == 3:
        # A line's clip is named with its speaker and words after its file ("1D-line-0.wav gabe: …").
        file = next((f for f in sorted(trace.cue_files.get(scene.scene, ()))
                     if words[2] == Path(f).name or words[2].startswith(Path(f).name + " ")), None)
    if file is None and scene is not None and len(words) == 3:
        file = words[2].split(" ", 1)[0]
    if scene is not None and file is not None and _own_line(file, scene.scene, trace):
        # slate's own line of dialogue: it follows its shot's dialogue (the run places it again),
        # also when the shot it was spoken over has since left the cut and so the records.
        return
    if scene is not None and file is not None and _made_cue(file, scene.scene, trace, meta):
        # a cue made to a brief: it follows its brief, spotted again on the conformed cut (re-made
        # only when the edit moved its length or a hit): never a file for finishing.cues
        return
    if scene is None or file is None or file not in trace.cue_files.get(scene.scene, set()):
        refusals.append(NotConformed(clip.name, tc, "slate never placed this sound (no cue of the timeline records "
                                     "matches it): add it to the scene's finishing.cues by hand"))
        return
    kind = words[1] if len(words) == 3 and words[1] in CUE_KINDS else \
        _track_kind(track.name) if _track_kind(track.name) in CUE_KINDS else ""
    scene.cues.append(EditedCue(file=file, kind=kind, clip=clip.name, at=tc, start=at - scene.begins,
                             offset=_frames(clip.source_range.start_time, rate),
                             length=_frames(clip.source_range.duration, rate)))
