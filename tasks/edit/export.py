"""The editor's hand-off: a scene's edit as a timeline an editor opens in Resolve or Premiere.

A scene run that made a cut writes a timeline record (.slate/timelines/<scene>-<profile>.json):
every shot in order with its approved clip (a local path, or its object-storage URL on a studio),
its in/out, the transition into the next, its take, gate scores and status, and the cues placed
on the scene's timeline. From it, OpenTimelineIO builds the timeline: a video track of one clip
per shot (transitions between them), audio tracks by cue kind with every cue and line at the
record time the mix hears it (a cue heard over another of its kind on a second track of that kind;
a line named with its speaker and words), each shot's provenance in the clip's metadata, and a marker on every escalated or warned shot; its adapters write it as
.otio, FCP 7 XML (Resolve, Premiere) or a CMX 3600 EDL (one video track, for conforms).

The finish travels with the edit (issue 39): the scene's LUT (by path) and each shot's exposure
and saturation as the clip's grade (OTIO metadata, an ASC CDL an EDL carries), fades from and to
black and dips to a colour as transitions, each cue's gain as its level (FCP 7 XML's Audio Levels
filter) and its fades as transitions, music's ducking as metadata; every media's available range
is its true length, so an editor has the handles there are. A clip may point at its approved
clip (`source`) or at a graded copy of it (`graded`, tasks/edit/graded.py): the timeline looks like
the delivered cut. Record time starts at 01:00:00:00, a post house's convention; NTSC rates are
exact (24000/1001) and count in their timebase.

It must never call a provider or change a render: it reads the record and the ledger (for what
each shot cost) and writes one file (an EDL: and its reel list).
"""
from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any, NotRequired, Protocol, TypedDict, TypeGuard

import opentimelineio as otio

from slate.manifests.frame_rate import exact, frames, timebase
from slate.media.finish import RATE as AUDIO_RATE
from slate.tasks.edit.edl import edl_text, timecode
from slate.providers.base import Storage
from slate.tasks.edit.results import FinishResult

FORMATS = {"otio": ".otio", "fcp7": ".xml", "edl": ".edl"}
_ADAPTERS = {"otio": "otio_json", "fcp7": "fcp_xml", "edl": "cmx_3600"}


class TimelineShot(TypedDict):
    """A shot of the scene, in order, as the record keeps it."""

    shot: str
    status: str                    # approved | rejected | escalated
    reason: str
    media: str | None              # its approved clip (a path, or an object's URL); None: not in the cut
    seconds: float
    trim_in: float
    trim_out: float
    transition: list[str | float]  # [kind, seconds] into the next shot: cut, dissolve or dip
    take: int | None
    scores: dict[str, float]
    warnings: list[str]
    grade: NotRequired[dict[str, float]]   # exposure (stops), saturation (factor): when given
    dip_colour: NotRequired[str]           # the colour a `dip` transition goes through


class TimelineCue(TypedDict):
    """An audio cue where the finishing pass placed it, as long as it is heard."""

    file: str
    media: str
    kind: str
    start: float
    offset: float
    seconds: float
    gain_db: float
    file_seconds: NotRequired[float]   # the file's own length: the handles an editor has
    fade_in: NotRequired[float]
    fade_out: NotRequired[float]
    ducks: NotRequired[bool]           # ducked under dialogue in the mix
    brief: NotRequired[dict[str, Any]]   # a cue made to a brief (issue 59): the brief, its model among it


class TimelineFinish(TypedDict):
    """What the finishing pass does to the whole scene: its LUT (a path, or None) and its fades."""

    lut: str | None
    fade_in: float
    fade_out: float


class TimelineLine(TypedDict):
    """A line of dialogue where the cut hears it (seconds into the scene's cut) and who says it."""

    speaker: str
    text: str
    start: float
    end: float


class TimelineRecord(TypedDict):
    """A scene's timeline record (.slate/timelines/<scene>-<profile>.json): `slate export` reads it."""

    version: int
    film: str
    scene: str
    profile: str
    fps: int | float        # as kept (manifests/frame_rate.py): 24, or 23.976 for 24000/1001
    width: int
    height: int
    output: str
    shots: list[TimelineShot]
    cues: list[TimelineCue]
    lines: NotRequired[list[TimelineLine]]   # issue 37: a record written before has none
    finish: NotRequired[TimelineFinish]      # issue 39: a record written before has none
    loudness: float | None
    true_peak: float | None


def record_path(root: Path, scene: str, profile: str) -> Path:
    return Path(root) / ".slate" / "timelines" / f"{scene}-{profile}.json"


class PublishesObjects(Protocol):
    """Object storage: an artifact is an object with a URL an editor's machine can reach."""

    def artifact_object(self, uri: str) -> str: ...

    def url(self, name: str = "") -> str: ...


def publishes_objects(storage: Storage) -> TypeGuard[PublishesObjects]:
    return hasattr(storage, "artifact_object")


def media_path(storage: Storage, uri: str) -> str:
    """Where an editor finds an artifact: its file on this disk, or (S3) its object's URL."""
    if publishes_objects(storage):
        return storage.url(storage.artifact_object(uri))
    # Absolute: the record is read by `slate export` from any folder, and an NLE opens the
    # timeline from anywhere (a path relative to the run's working folder showed every clip offline).
    return str(Path(storage.open_local(uri)).resolve())


def timeline_record(*, film: str, scene: str, profile: str, fps: int | float, width: int, height: int, output: str,
                    shots: list[TimelineShot], cues: list[TimelineCue],
                    finished: FinishResult | None, lines: list[TimelineLine] | None = None,
                    finish: TimelineFinish | None = None) -> TimelineRecord:
    """The record a scene run writes (see the module's docstring): every shot of the scene in
    order, the cues, the lines of dialogue where the cut hears them, the scene's LUT and fades,
    and the finished cut's loudness when it was finished."""
    return {"version": 1, "film": film, "scene": scene, "profile": profile, "fps": fps, "width": width,
            "height": height, "output": output, "shots": shots, "cues": cues, "lines": list(lines or []),
            "finish": finish or {"lut": None, "fade_in": 0.0, "fade_out": 0.0},
            "loudness": finished.loudness if finished is not None else None,
            "true_peak": finished.true_peak if finished is not None else None}


def write_record(path: Path, record: TimelineRecord) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text(json.dumps(record, indent=1, sort_keys=True))
    tmp.replace(path)
    return path


#: Where record time starts: 01:00:00:00, a post house's convention (and the mezzanine's timecode).
RECORD_START_HOURS = 1


def _rt(seconds: float, rate: Fraction) -> otio.opentime.RationalTime:
    # Whole frames at the exact rate (24000/1001 for 23.976): an EDL and FCP 7 XML count in
    # frames, and the cut was made frame-exact.
    return otio.opentime.RationalTime(_frames(seconds, rate), float(rate))


def _range(start: float, duration: float, rate: Fraction) -> otio.opentime.TimeRange:
    return otio.opentime.TimeRange(_rt(start, rate), _rt(duration, rate))


def _at(frames: int, rate: Fraction) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(frames, float(rate))


def _marker(name: str, colour: str, comment: str, rate: Fraction) -> otio.schema.Marker:
    return otio.schema.Marker(name=name, marked_range=_range(0, 0, rate), color=colour,
                              metadata={"slate": {"comment": comment}})


def _url(media: str) -> str:
    # A file on this disk as an absolute file:// URL (what FCP 7 XML's pathurl and Resolve expect;
    # a record written before paths were made absolute is read from the folder export runs in);
    # an object's s3:// or http(s):// URL as it is.
    return media if "://" in media else Path(media).resolve().as_uri()


def _frames(seconds: float, rate: Fraction) -> int:
    # The finishing pass's own rounding (media/finish.py FinishPlan): the export lands on its frames.
    return frames(seconds, rate)


def _split(shot: TimelineShot, rate: Fraction) -> tuple[int, int]:
    """The frames a dissolve or a dip out of `shot` takes on each side of the cut point: (before
    it, after it), summing to the transition's frames exactly. Each half rounded on its own made
    a 15-frame dissolve 8 + 8: every export a frame shorter than the cut per odd dissolve (issue
    39), and every later cut a frame early. The odd frame goes to the side after the cut."""
    kind, seconds = shot["transition"]
    if kind not in ("dissolve", "dip"):
        return 0, 0
    whole = _frames(float(seconds), rate)
    return whole // 2, whole - whole // 2


def _kind(shot: TimelineShot) -> str:
    return str(shot["transition"][0])


def _transition(name: str, kind: str, before: int, after: int, rate: Fraction,
                colour: str | None = None) -> otio.schema.Transition:
    """A transition `before` frames into what precedes the cut point and `after` into what
    follows. Its kind (dissolve, dip, fade) rides in its metadata: OpenTimelineIO has one type for
    all three, and tasks/edit/edl.py writes each as a conform expects it."""
    meta: dict[str, object] = {"slate": {"kind": kind, **({"colour": colour} if colour else {})}}
    if kind == "dip":
        # FCP 7 XML names a dip's effect by its id; [?] the id Premiere and Resolve map to their
        # dip transition is taken from FCP 7's effect list, unverified here.
        meta["fcp_xml"] = {"effect": {"name": "Dip to Color Dissolve", "effectid": "Dip to Color Dissolve",
                                      "effecttype": "transition", "mediatype": "video"}}
    return otio.schema.Transition(name=name, transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
                                  in_offset=_at(before, rate), out_offset=_at(after, rate), metadata=meta)


def _grade_of(shot: TimelineShot, lut: str | None) -> dict[str, object]:
    grade = shot.get("grade") or {}
    exposure, saturation = float(grade.get("exposure", 0.0)), float(grade.get("saturation", 1.0))
    out: dict[str, object] = {}
    if exposure:
        out["exposure"] = exposure
    if saturation != 1.0:
        out["saturation"] = saturation
    if lut:
        out["lut"] = lut
    return out


def _cdl(grade: Mapping[str, object]) -> dict[str, object] | None:
    """A shot's exposure and saturation as an ASC CDL, as an EDL and a colourist read it: the
    finishing pass's gain of 2^(stops/2.2) on display values (media/finish.py) is the slope."""
    exposure, saturation = float(grade.get("exposure", 0.0)), float(grade.get("saturation", 1.0))   # type: ignore[arg-type]
    if not exposure and saturation == 1.0:
        return None
    k = round(2 ** (exposure / 2.2), 6)
    return {"asc_sop": {"slope": [k, k, k], "offset": [0.0, 0.0, 0.0], "power": [1.0, 1.0, 1.0]},
            "asc_sat": round(saturation, 6)}


def _reel(record_index: int, many: bool, shot: TimelineShot, used: set[str]) -> str:
    """A reel name a conform can map to a file through the reel list: the shot and its take
    (`1AT2`), the scene's place first in a film of several (`S2_1AT2`), eight characters at most."""
    name = re.sub(r"[^A-Z0-9]", "", shot["shot"].upper()) + (f"T{shot['take']}" if shot.get("take") else "")
    name = (f"S{record_index + 1}_" if many else "") + name
    name = name[:8] or "AX"
    unique, n = name, 1
    while unique in used:
        n += 1
        unique = f"{name[:8 - len(str(n))]}{n}"
    used.add(unique)
    return unique


def build_timeline(records: list[TimelineRecord], costs: dict[tuple[str, str], Decimal] | None = None,
                   media: Mapping[tuple[str, str], str] | None = None) -> otio.schema.Timeline:
    """One timeline of the scenes' records in order: video track V1 with one clip per approved
    shot (dissolves, dips and fades as transitions, each clip's grade as metadata and a CDL, an
    escalated shot as a marker), an audio track per cue kind (music, dialogue, effects, ambience)
    with the cues at their places, levels and fades, and every shot's id, take, cost and gate
    scores in its clip's metadata. `media` (by scene and shot) replaces a clip's approved file —
    its graded copy."""
    costs = costs or {}
    media = media or {}
    rate = exact(records[0]["fps"])
    base, ntsc = timebase(rate)
    name = records[0]["film"] + ("" if len(records) > 1 else f" {records[0]['scene']}")
    timeline = otio.schema.Timeline(name=f"{name} ({records[0]['profile']})")
    timeline.global_start_time = _at(RECORD_START_HOURS * 3600 * base, rate)
    width, height = records[0].get("width"), records[0].get("height")
    if width and height:
        # The sequence's format, which an FCP 7 XML carries under <media>: without it Premiere and
        # Resolve fall back to their own defaults (issue 39). The fcp_xml adapter builds the
        # sequence from this metadata of the timeline, keeping the format it finds there.
        timeline.metadata["fcp_xml"] = {"media": {
            "video": {"format": {"samplecharacteristics": {
                "rate": {"timebase": str(base), "ntsc": "TRUE" if ntsc else "FALSE"}, "width": str(width),
                "height": str(height), "anamorphic": "FALSE", "pixelaspectratio": "square",
                "fielddominance": "none"}}},
            "audio": {"format": {"samplecharacteristics": {"depth": "16", "samplerate": str(AUDIO_RATE)}}}}}
    timeline.metadata["slate"] = {"width": width, "height": height, "fps": records[0]["fps"],
                                  "rate": f"{rate.numerator}/{rate.denominator}", "audio_rate": AUDIO_RATE,
                                  "record_start": timecode(RECORD_START_HOURS * 3600 * base, base),
                                  "media": "graded" if media else "source",
                                  "finish": {r["scene"]: dict(r.get("finish") or {}) for r in records}}
    video = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    audio: dict[str, list[otio.schema.Track]] = {}
    reels: set[str] = set()
    offset = 0      # frames: where each scene starts on the film's timeline
    for index, record in enumerate(records):
        finish = record.get("finish") or {"lut": None, "fade_in": 0.0, "fade_out": 0.0}
        approved = [s for s in record["shots"] if s.get("media")]
        for i, shot in enumerate(approved):
            # A dissolve of d frames overlaps the two shots: in OpenTimelineIO's model each clip
            # gives up its part of d on the track (_split: the parts sum to d exactly) and the
            # transition reaches that far into each one's handle. Counted in whole frames, as the
            # cut was rendered (media/commands.py concat_args). A dip is a cut under a colour: it
            # takes no frames from either shot.
            head = _split(approved[i - 1], rate)[1] if i and _kind(approved[i - 1]) == "dissolve" else 0
            tail = _split(shot, rate)[0] if i + 1 < len(approved) and _kind(shot) == "dissolve" else 0
            trim_in = _frames(shot.get("trim_in", 0.0), rate)
            whole = _frames(shot["seconds"], rate)
            length = whole - trim_in - _frames(shot.get("trim_out", 0.0), rate) - head - tail
            source = shot["media"] or ""   # in the cut: it has media
            used = media.get((record["scene"], shot["shot"]), source)
            ref = otio.schema.ExternalReference(target_url=_url(used),
                                                available_range=otio.opentime.TimeRange(_at(0, rate), _at(whole, rate)))
            clip = otio.schema.Clip(name=f"{record['scene']} {shot['shot']}", media_reference=ref,
                                    source_range=otio.opentime.TimeRange(_at(trim_in + head, rate), _at(length, rate)))
            cost = costs.get((record["scene"], shot["shot"]))
            grade = _grade_of(shot, finish.get("lut"))
            clip.metadata["slate"] = {"shot": shot["shot"], "scene": record["scene"], "take": shot.get("take"),
                                      "status": shot["status"], "cost_usd": None if cost is None else str(cost),
                                      "scores": shot.get("scores", {}), "grade": grade,
                                      "media": "graded" if used != source else "source", "source_media": source}
            clip.metadata["cmx_3600"] = {"reel": _reel(index, len(records) > 1, shot, reels)}
            cdl = _cdl(grade)
            if cdl:
                clip.metadata["cdl"] = cdl
            if grade:
                clip.effects.append(otio.schema.Effect(name="slate grade", effect_name="slate.grade",
                                                       metadata={"slate": grade}))
            if shot.get("warnings"):
                clip.markers.append(_marker(f"{shot['shot']} warned", otio.schema.MarkerColor.YELLOW,
                                            "; ".join(shot["warnings"]), rate))
            if i and _kind(approved[i - 1]) in ("dissolve", "dip"):
                # Before the cut point a dissolve shows the entering shot's head (given up above),
                # after it the leaving shot's tail; a dip goes to its colour over the frames
                # before the cut and comes back over those after.
                leaving, entering = _split(approved[i - 1], rate)
                if _kind(approved[i - 1]) == "dissolve":
                    video.append(_transition("dissolve", "dissolve", entering, leaving, rate))
                else:
                    colour = str(approved[i - 1].get("dip_colour", "#000000"))
                    video.append(_transition(f"dip to {colour}", "dip", leaving, entering, rate, colour))
            elif i == 0 and finish.get("fade_in"):
                frames = _frames(finish["fade_in"], rate)
                last = video[-1] if len(video) else None
                if isinstance(last, otio.schema.Transition):
                    # The scene before faded out: out of black into this one, one dip to black.
                    last.out_offset = _at(frames, rate)
                    last.name = "dip to #000000"
                else:
                    video.append(_transition("fade from black", "fade", 0, frames, rate))
            video.append(clip)
        if approved and finish.get("fade_out"):
            video.append(_transition("fade to black", "fade", _frames(finish["fade_out"], rate), 0, rate))
        for shot in record["shots"]:
            if not shot.get("media"):
                # Not in the cut: a marker on the scene's first clip names it and why.
                first = next((c for c in video if isinstance(c, otio.schema.Clip)
                              and c.metadata["slate"]["scene"] == record["scene"]), None)
                if first is not None:
                    first.markers.append(_marker(f"{shot['shot']} {shot['status']}", otio.schema.MarkerColor.RED,
                                                 shot.get("reason", ""), rate))
        for line in record.get("lines", []):
            _mark_line(video, offset, line, rate)
        # In the order the cut hears them: the record holds the manifest's cues, then the lines'.
        spoken = record.get("lines", [])
        for cue in sorted(record["cues"], key=lambda c: c["start"]):
            _place_cue(audio, record["scene"], cue, offset, rate, _line_of(cue, spoken, rate))
        offset = _frames(video.duration().to_seconds(), rate) if len(video) else 0
    timeline.tracks.append(video)
    for kind in ("dialogue", "music", "effects", "ambience"):
        timeline.tracks.extend(audio.get(kind, []))
    return timeline


#: The file name of a line of dialogue's own cue (flows/edit/scene_finish.py): "1D-line-0.wav".
LINE_FILE = re.compile(r"^(?P<shot>.+)-line-(?P<line>\d+)\.wav$")


def _line_of(cue: TimelineCue, lines: list[TimelineLine], rate: Fraction) -> TimelineLine | None:
    """The line of dialogue a line's own cue speaks: the record's line that starts on its frame."""
    if cue["kind"] != "dialogue" or not LINE_FILE.match(cue["file"]):
        return None
    at = _frames(cue["start"], rate)
    return next((line for line in lines if _frames(line["start"], rate) == at), None)


def _place_cue(audio: dict[str, list[otio.schema.Track]], scene: str, cue: TimelineCue, offset: int,
               rate: Fraction, line: TimelineLine | None = None) -> None:
    """A cue at its place (`offset`: its scene's first frame on the film's timeline) on the first
    track of its kind free there — a cue heard over another of its kind (a line over a line, a
    manifest's dialogue over a spoken one) gets a track of its own, "A dialogue 2", so that every
    one is at its record time — as long as it is heard, its media as long as its file, its gain as
    its level and its fades as transitions from and to silence. A line's own cue (`line`) is named
    with its speaker and words, as its subtitle says them."""
    begin = offset + _frames(cue["start"], rate)
    fade_in = _frames(cue.get("fade_in", 0.0), rate)
    tracks = audio.setdefault(cue["kind"], [])
    track = next((t for t in tracks if _filled(t, rate) <= begin), None)
    if track is None:
        track = otio.schema.Track(name=f"A {cue['kind']}" + (f" {len(tracks) + 1}" if tracks else ""),
                                  kind=otio.schema.TrackKind.Audio)
        tracks.append(track)
    filled = _filled(track, rate)
    if begin > filled:
        track.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(_at(0, rate), _at(begin - filled, rate))))
    whole = cue.get("file_seconds", cue["offset"] + cue["seconds"])
    ref = otio.schema.ExternalReference(target_url=_url(cue["media"]), available_range=_range(0, whole, rate))
    said = f" {line['speaker']}: {line['text']}" if line is not None else ""
    item = otio.schema.Clip(name=f"{scene} {cue['kind']} {Path(cue['file']).name}{said}",
                            media_reference=ref, source_range=_range(cue["offset"], cue["seconds"], rate))
    gain = float(cue.get("gain_db", 0.0))
    item.metadata["slate"] = {"file": cue["file"], "gain_db": gain, "fade_in": cue.get("fade_in", 0.0),
                              "fade_out": cue.get("fade_out", 0.0), "ducks": cue.get("ducks", False)}
    if line is not None:
        item.metadata["slate"]["line"] = dict(line)
    if "brief" in cue:   # a made cue: what it was made to, and by which model
        item.metadata["slate"]["brief"] = dict(cue["brief"])
    if gain:
        # FCP 7's Audio Levels filter: a linear level (1 = unchanged), which Premiere and Resolve read.
        item.metadata["fcp_xml"] = {"filter": [{"effect": {
            "name": "Audio Levels", "effectid": "audiolevels", "effectcategory": "audiolevels",
            "effecttype": "audiolevels", "mediatype": "audio",
            "parameter": {"parameterid": "level", "name": "Level", "valuemin": "0", "valuemax": "3.98109",
                          "value": f"{10 ** (gain / 20):.5f}"}}}]}
    fade_out = _frames(cue.get("fade_out", 0.0), rate)
    if fade_in and not (len(track) and isinstance(track[-1], otio.schema.Transition)):
        track.append(otio.schema.Transition(name="fade in", in_offset=_at(0, rate), out_offset=_at(fade_in, rate),
                                            metadata={"slate": {"kind": "fade"}}))
    track.append(item)
    if fade_out:
        track.append(otio.schema.Transition(name="fade out", in_offset=_at(fade_out, rate), out_offset=_at(0, rate),
                                            metadata={"slate": {"kind": "fade"}}))


def _filled(track: otio.schema.Track, rate: Fraction) -> int:
    """The frame where what is on `track` ends."""
    return _frames(track.duration().to_seconds(), rate) if len(track) else 0


def _mark_line(video: otio.schema.Track, offset: int, line: TimelineLine, rate: Fraction) -> None:
    """A line of dialogue as a marker on the clip the cut hears it over (`offset`: the frame its
    scene starts at on the film's timeline), from its first word to its last or the clip's end:
    the speaker and the words as the marker's name, where an editor's timeline shows them."""
    at = offset + _frames(line["start"], rate)
    end = offset + _frames(line["end"], rate)
    for clip in video:
        if not isinstance(clip, otio.schema.Clip):
            continue
        placed = video.range_of_child(clip)
        begin, until = _frames(placed.start_time.to_seconds(), rate), _frames(placed.end_time_exclusive().to_seconds(), rate)
        if begin <= at < until:
            into = _frames(clip.source_range.start_time.to_seconds(), rate) + at - begin
            length = max(0, min(end, until) - at)
            clip.markers.append(otio.schema.Marker(
                name=f"{line['speaker']}: {line['text']}",
                marked_range=otio.opentime.TimeRange(_at(into, rate), _at(length, rate)),
                color=otio.schema.MarkerColor.GREEN, metadata={"slate": {"line": dict(line)}}))
            return


def reel_list(timeline: otio.schema.Timeline) -> str:
    """The reel list beside an EDL: each reel name and the scene, shot, take and file it stands
    for (CSV), so a conform finds the file a reel names."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["reel", "scene", "shot", "take", "file"])
    for clip in timeline.find_clips():
        reel = clip.metadata.get("cmx_3600", {}).get("reel")
        meta = clip.metadata.get("slate", {})
        if reel:
            url = getattr(clip.media_reference, "target_url", "") or ""
            writer.writerow([reel, meta.get("scene", ""), meta.get("shot", ""), meta.get("take", ""),
                             url.removeprefix("file://")])
    return out.getvalue()


def reel_list_path(edl: Path) -> Path:
    return edl.with_name(edl.stem + ".reels.csv")


def write_timeline(timeline: otio.schema.Timeline, fmt: str, path: Path) -> Path:
    """Write .otio and FCP 7 XML with OpenTimelineIO's adapters; an EDL (one video track: the cues
    stay in the others) with slate's CMX 3600 writer (tasks/edit/edl.py) and its reel list beside it."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {', '.join(FORMATS)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "edl":
        path.write_text(edl_text(timeline))
        reel_list_path(path).write_text(reel_list(timeline))
        return path
    otio.adapters.write_to_file(timeline, str(path), adapter_name=_ADAPTERS[fmt])
    return path


def read_records(paths: list[Path]) -> list[TimelineRecord]:
    read: list[TimelineRecord] = [json.loads(Path(p).read_text()) for p in paths]
    return read
