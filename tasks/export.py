"""The editor's hand-off: a scene's edit as a timeline an editor opens in Resolve or Premiere.

A scene run that made a cut writes a timeline record (.slate/timelines/<scene>-<profile>.json):
every shot in order with its approved clip (a local path, or its object-storage URL on a studio),
its in/out, the transition into the next, its take, gate scores and status, and the cues placed
on the scene's timeline. From it, OpenTimelineIO builds the timeline: a video track of one clip
per shot (transitions between them), one audio track per cue kind, each shot's provenance in
the clip's metadata, and a marker on every escalated or warned shot; its adapters write it as
.otio, FCP 7 XML (Resolve, Premiere) or a CMX 3600 EDL (one video track, for conforms).

It must never call a provider or change a render: it reads the record and the ledger (for what
each shot cost) and writes one file.
"""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import NotRequired, Protocol, TypedDict, TypeGuard

import opentimelineio as otio

from slate.media.finish import RATE as AUDIO_RATE
from slate.providers.base import Storage
from slate.tasks.results import FinishResult

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
    transition: list[str | float]  # [kind, seconds] into the next shot
    take: int | None
    scores: dict[str, float]
    warnings: list[str]


class TimelineCue(TypedDict):
    """An audio cue where the finishing pass placed it, as long as it is heard."""

    file: str
    media: str
    kind: str
    start: float
    offset: float
    seconds: float
    gain_db: float


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
    fps: int
    width: int
    height: int
    output: str
    shots: list[TimelineShot]
    cues: list[TimelineCue]
    lines: NotRequired[list[TimelineLine]]   # issue 37: a record written before has none
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
    return str(storage.open_local(uri))


def timeline_record(*, film: str, scene: str, profile: str, fps: int, width: int, height: int, output: str,
                    shots: list[TimelineShot], cues: list[TimelineCue],
                    finished: FinishResult | None, lines: list[TimelineLine] | None = None) -> TimelineRecord:
    """The record a scene run writes (see the module's docstring): every shot of the scene in
    order, the cues, the lines of dialogue where the cut hears them, and the finished cut's
    loudness when it was finished."""
    return {"version": 1, "film": film, "scene": scene, "profile": profile, "fps": fps, "width": width,
            "height": height, "output": output, "shots": shots, "cues": cues, "lines": list(lines or []),
            "loudness": finished.loudness if finished is not None else None,
            "true_peak": finished.true_peak if finished is not None else None}


def write_record(path: Path, record: TimelineRecord) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text(json.dumps(record, indent=1, sort_keys=True))
    tmp.replace(path)
    return path


def _rt(seconds: float, fps: int) -> otio.opentime.RationalTime:
    # Whole frames: an EDL and FCP 7 XML count in frames, and the cut was made frame-exact.
    return otio.opentime.RationalTime(round(float(seconds) * fps), fps)


def _range(start: float, duration: float, fps: int) -> otio.opentime.TimeRange:
    return otio.opentime.TimeRange(_rt(start, fps), _rt(duration, fps))


def _marker(name: str, colour: str, comment: str, fps: int) -> otio.schema.Marker:
    return otio.schema.Marker(name=name, marked_range=_range(0, 0, fps), color=colour,
                              metadata={"slate": {"comment": comment}})


def _url(media: str) -> str:
    # A file on this disk as a file:// URL (what FCP 7 XML's pathurl and Resolve expect); an
    # object's s3:// URL as it is.
    return Path(media).as_uri() if media.startswith("/") else media


def _frames(seconds: float, fps: int) -> int:
    return round(float(seconds) * fps)


def _dissolve_frames(shot: TimelineShot, fps: int) -> tuple[int, int]:
    """The frames a dissolve out of `shot` takes from each side of the cut point: (from the shot
    it leaves, from the shot it enters), summing to the dissolve's frames exactly. Each half
    rounded on its own made a 15-frame dissolve 8 + 8: every export a frame shorter than the cut
    per odd dissolve (issue 39), and every later cut a frame early. The odd frame goes to the
    shot it enters."""
    kind, seconds = shot["transition"]
    if kind != "dissolve":
        return 0, 0
    whole = _frames(float(seconds), fps)
    return whole // 2, whole - whole // 2


def build_timeline(records: list[TimelineRecord],
                   costs: dict[tuple[str, str], Decimal] | None = None) -> otio.schema.Timeline:
    """One timeline of the scenes' records in order: video track V1 with one clip per approved
    shot (dissolves as transitions, an escalated shot as a gap of its length with a marker),
    an audio track per cue kind (music, dialogue, effects, ambience) with the cues at their
    places, and every shot's id, take, cost and gate scores in its clip's metadata."""
    costs = costs or {}
    fps = records[0]["fps"]
    name = records[0]["film"] + ("" if len(records) > 1 else f" {records[0]['scene']}")
    timeline = otio.schema.Timeline(name=f"{name} ({records[0]['profile']})")
    timeline.global_start_time = _rt(0, fps)
    width, height = records[0].get("width"), records[0].get("height")
    if width and height:
        # The sequence's format, which an FCP 7 XML carries under <media>: without it Premiere and
        # Resolve fall back to their own defaults (issue 39). The fcp_xml adapter builds the
        # sequence from this metadata of the timeline, keeping the format it finds there.
        timeline.metadata["fcp_xml"] = {"media": {
            "video": {"format": {"samplecharacteristics": {
                "rate": {"timebase": str(fps), "ntsc": "FALSE"}, "width": str(width), "height": str(height),
                "anamorphic": "FALSE", "pixelaspectratio": "square", "fielddominance": "none"}}},
            "audio": {"format": {"samplecharacteristics": {"depth": "16", "samplerate": str(AUDIO_RATE)}}}}}
        timeline.metadata["slate"] = {"width": width, "height": height, "fps": fps, "audio_rate": AUDIO_RATE}
    video = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    audio: dict[str, otio.schema.Track] = {}
    offset = 0.0   # where each scene starts on the film's timeline
    for record in records:
        approved = [s for s in record["shots"] if s.get("media")]
        for i, shot in enumerate(approved):
            # A dissolve of d frames overlaps the two shots: in OpenTimelineIO's model each clip
            # gives up its part of d on the track (_dissolve_frames: the parts sum to d exactly)
            # and the transition reaches that far into each one's handle. Counted in whole
            # frames, as the cut was rendered (media/commands.py concat_args).
            head = _dissolve_frames(approved[i - 1], fps)[1] if i else 0
            tail = _dissolve_frames(shot, fps)[0] if i + 1 < len(approved) else 0
            trim_in = _frames(shot.get("trim_in", 0.0), fps)
            length = _frames(shot["seconds"], fps) - trim_in - _frames(shot.get("trim_out", 0.0), fps) - head - tail
            ref = otio.schema.ExternalReference(target_url=_url(shot["media"] or ""),   # in the cut: it has media
                                                available_range=_range(0, float(shot["seconds"]), fps))
            clip = otio.schema.Clip(name=f"{record['scene']} {shot['shot']}", media_reference=ref,
                                    source_range=otio.opentime.TimeRange(otio.opentime.RationalTime(trim_in + head, fps),
                                                                         otio.opentime.RationalTime(length, fps)))
            cost = costs.get((record["scene"], shot["shot"]))
            clip.metadata["slate"] = {"shot": shot["shot"], "scene": record["scene"], "take": shot.get("take"),
                                      "status": shot["status"], "cost_usd": None if cost is None else str(cost),
                                      "scores": shot.get("scores", {})}
            if shot.get("warnings"):
                clip.markers.append(_marker(f"{shot['shot']} warned", otio.schema.MarkerColor.YELLOW,
                                            "; ".join(shot["warnings"]), fps))
            if i and approved[i - 1]["transition"][0] == "dissolve":
                # Before the cut point the dissolve shows the entering shot's head (given up
                # above), after it the leaving shot's tail.
                leaving, entering = _dissolve_frames(approved[i - 1], fps)
                video.append(otio.schema.Transition(name="dissolve",
                                                    transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
                                                    in_offset=otio.opentime.RationalTime(entering, fps),
                                                    out_offset=otio.opentime.RationalTime(leaving, fps)))
            video.append(clip)
        for shot in record["shots"]:
            if not shot.get("media"):
                # Not in the cut: a marker on the scene's first clip names it and why.
                first = next((c for c in video if isinstance(c, otio.schema.Clip)
                              and c.metadata["slate"]["scene"] == record["scene"]), None)
                if first is not None:
                    first.markers.append(_marker(f"{shot['shot']} {shot['status']}", otio.schema.MarkerColor.RED,
                                                 shot.get("reason", ""), fps))
        for line in record.get("lines", []):
            _mark_line(video, offset, line, fps)
        for cue in record["cues"]:
            track = audio.get(cue["kind"])
            if track is None:
                track = audio[cue["kind"]] = otio.schema.Track(name=f"A {cue['kind']}",
                                                               kind=otio.schema.TrackKind.Audio)
            begin = offset + float(cue["start"])
            filled = track.duration().to_seconds() if len(track) else 0.0
            if begin > filled:
                track.append(otio.schema.Gap(source_range=_range(0, begin - filled, fps)))
            ref = otio.schema.ExternalReference(target_url=_url(cue["media"]),
                                                available_range=_range(0, cue["offset"] + cue["seconds"], fps))
            item = otio.schema.Clip(name=f"{record['scene']} {cue['kind']} {Path(cue['file']).name}",
                                    media_reference=ref, source_range=_range(cue["offset"], cue["seconds"], fps))
            item.metadata["slate"] = {"file": cue["file"], "gain_db": cue.get("gain_db", 0.0)}
            track.append(item)
        offset = video.duration().to_seconds()
    timeline.tracks.append(video)
    for kind in ("dialogue", "music", "effects", "ambience"):
        if kind in audio:
            timeline.tracks.append(audio[kind])
    return timeline


def _mark_line(video: otio.schema.Track, offset: float, line: TimelineLine, fps: int) -> None:
    """A line of dialogue as a marker on the clip the cut hears it over (`offset`: where its scene
    starts on the film's timeline), from its first word to its last or the clip's end: the
    speaker and the words as the marker's name, where an editor's timeline shows them."""
    at = offset + float(line["start"])
    for clip in video:
        if not isinstance(clip, otio.schema.Clip):
            continue
        placed = video.range_of_child(clip)
        begin, end = placed.start_time.to_seconds(), placed.end_time_exclusive().to_seconds()
        if begin <= at < end:
            into = clip.source_range.start_time.to_seconds() + at - begin
            length = max(0.0, min(offset + float(line["end"]), end) - at)
            clip.markers.append(otio.schema.Marker(
                name=f"{line['speaker']}: {line['text']}", marked_range=_range(into, length, fps),
                color=otio.schema.MarkerColor.GREEN, metadata={"slate": {"line": dict(line)}}))
            return


def write_timeline(timeline: otio.schema.Timeline, fmt: str, path: Path) -> Path:
    """Write with the format's OpenTimelineIO adapter. An EDL holds one video track: the cues
    stay in the .otio and the FCP 7 XML."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if fmt == "edl":
        timeline = timeline.clone()
        for track in [t for t in timeline.tracks if t.kind != otio.schema.TrackKind.Video]:
            timeline.tracks.remove(track)
    path.parent.mkdir(parents=True, exist_ok=True)
    otio.adapters.write_to_file(timeline, str(path), adapter_name=_ADAPTERS[fmt])
    return path


def read_records(paths: list[Path]) -> list[TimelineRecord]:
    read: list[TimelineRecord] = [json.loads(Path(p).read_text()) for p in paths]
    return read
