"""A CMX 3600 EDL of a timeline's one video track, written the way a conform reads it (issue 39).

OpenTimelineIO's own EDL writer put a dissolve's duration in the wrong columns (a strict parser
could not read it), wrote no FCM line, and named reels after hash prefixes that matched no file.
This writer lays every event out in the standard columns (event 3, reel 8, channel 4, transition
4, duration 3, four timecodes of 11), says `FCM: NON-DROP FRAME`, takes each clip's reel from
`metadata["cmx_3600"]["reel"]` (tasks/edit/export.py names them and writes the reel list beside the
EDL), and expresses what the finishing pass does at a cut as a conform expects it:

- a dissolve: the outgoing clip's zero-length line at the dissolve's start, then the incoming
  clip's `D` event of the dissolve's frames;
- a fade from black and to black: a dissolve from and to `BL`;
- a dip to a colour: a dissolve to `BL` over the frames before the cut and from `BL` over those
  after (an EDL has no colour: a dip to another colour says so in a comment);
- each clip's grade as an ASC CDL (`*ASC_SOP`, `*ASC_SAT`), its name, file and markers as
  comments (`* FROM CLIP NAME:`, `* FROM CLIP:`, `* SOURCE FILE:`, `* LOC:`).

Record times start at the timeline's global start (01:00:00:00 in slate's exports); sources at
their media's start. Timecode counts in the rate's timebase (24 for 23.976), non-drop.

It must never read or write a file: it turns a timeline into text.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import opentimelineio as otio

from slate.manifests.frame_rate import timebase

__all__ = ["edl_text", "timecode"]

BLACK = "BL"


def timecode(frame: int, base: int) -> str:
    """Non-drop timecode of a frame count at a whole timebase."""
    frames = frame % base
    seconds = frame // base
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}:{frames:02d}"


@dataclass
class _Event:
    reel: str
    src_in: int
    src_out: int
    rec_in: int
    rec_out: int
    dissolve: int = 0            # frames of a dissolve into this event; 0: a cut
    comments: list[str] = field(default_factory=list)


def _line(number: int, e: _Event, base: int) -> str:
    kind, frames = ("D", f"{e.dissolve:03d}") if e.dissolve else ("C", "   ")
    return (f"{number:03d}  {e.reel:<8} {'V':<4}  {kind:<4} {frames} {timecode(e.src_in, base)} "
            f"{timecode(e.src_out, base)} {timecode(e.rec_in, base)} {timecode(e.rec_out, base)}")


def _kind(transition: otio.schema.Transition) -> str:
    return str(transition.metadata.get("slate", {}).get("kind", "dissolve"))


def _frames(t: otio.opentime.RationalTime) -> int:
    return int(round(t.value))


def _clip_comments(clip: otio.schema.Clip, base: int, side: str = "FROM") -> list[str]:
    """A clip's comments: its name and file (`side`: FROM, or TO for the clip a dissolve enters),
    its grade as an ASC CDL, its markers as locators."""
    lines = [f"* {side} CLIP NAME: {clip.name}"]
    ref = clip.media_reference
    url = getattr(ref, "target_url", "") or ""
    if url:
        path = url.removeprefix("file://")
        lines += [f"* {side} CLIP: {path}", f"* SOURCE FILE: {path}"]
    cdl = clip.metadata.get("cdl")
    if cdl:
        sop = cdl["asc_sop"]
        lines.append("*ASC_SOP ({} {} {}) ({} {} {}) ({} {} {})".format(*sop["slope"], *sop["offset"], *sop["power"]))
        lines.append(f"*ASC_SAT {cdl['asc_sat']}")
    for marker in clip.markers:
        colour = (marker.color or "").upper()
        lines.append(f"* LOC: {timecode(_frames(marker.marked_range.start_time), base)} {colour:7} "
                     f"{(marker.name or '').upper()}")
    return lines


def edl_text(timeline: otio.schema.Timeline) -> str:
    """The EDL of the timeline's one video track (see the module's docstring)."""
    [track] = timeline.video_tracks()
    rate = timeline.global_start_time.rate if timeline.global_start_time is not None else track.duration().rate
    base, _ = timebase(rate)
    start = _frames(timeline.global_start_time) if timeline.global_start_time is not None else 0
    items = list(track)
    events: list[_Event] = []
    for i, item in enumerate(items):
        if not isinstance(item, otio.schema.Clip):
            continue
        before = items[i - 1] if i and isinstance(items[i - 1], otio.schema.Transition) else None
        after = items[i + 1] if i + 1 < len(items) and isinstance(items[i + 1], otio.schema.Transition) else None
        placed = track.range_of_child(item)
        rec_in, rec_out = start + _frames(placed.start_time), start + _frames(placed.end_time_exclusive())
        src_in = _frames(item.source_range.start_time)
        src_out = src_in + _frames(item.source_range.duration)
        # Into this clip: a dissolve reaches back into its head (in_offset frames before its
        # place on the track); a dip and a fade from black start at its first frame.
        into = 0
        if before is not None and _kind(before) == "dissolve":
            into = _frames(before.in_offset) + _frames(before.out_offset)
            back = _frames(before.in_offset)
            rec_in, src_in = rec_in - back, src_in - back
        elif before is not None:   # a dip's second half or a fade in: from black after the cut
            into = _frames(before.out_offset)
        # Out of it: whatever follows starts `in_offset` frames before the clip's end.
        lead = _frames(after.in_offset) if after is not None else 0
        rec_out, src_out = rec_out - lead, src_out - lead
        reel = str(item.metadata.get("cmx_3600", {}).get("reel") or "AX")
        comments = _clip_comments(item, base)
        if before is not None and into and _kind(before) == "dissolve":
            prev = events[-1]
            # The outgoing clip held at the dissolve's start, then this one dissolving in.
            # The event's comments follow its two lines: from the one, to the other, and the
            # incoming clip's file, grade and markers.
            events.append(_Event(prev.reel, prev.src_out, prev.src_out, rec_in, rec_in))
            events.append(_Event(reel, src_in, src_out, rec_in, rec_out, dissolve=into,
                                 comments=[f"* FROM CLIP NAME: {_name_of(items, i - 2)}",
                                           f"* TO CLIP NAME: {item.name}", *_clip_comments(item, base, "TO")[1:]]))
        elif before is not None and into and events:
            # The second half of a dip, or a scene's fade from black: from black.
            events.append(_Event(BLACK, 0, 0, rec_in, rec_in))
            events.append(_Event(reel, src_in, src_out, rec_in, rec_out, dissolve=into, comments=comments))
        else:
            # A cut. When the timeline opens on a fade from black, a `BL` dissolve into the first
            # event is standard CMX, but OpenTimelineIO's reader refuses a transition at a track's
            # very start: the first event is a cut, the fade a comment a conform reads.
            fade = [f"* FADE IN FROM BLACK {into:03d} FRAMES"] if before is not None and into else []
            events.append(_Event(reel, src_in, src_out, rec_in, rec_out, comments=[*comments, *fade]))
        if after is not None and _kind(after) != "dissolve" and lead:
            # To black over the frames before the cut (a dip's first half, or the fade out).
            colour = after.metadata.get("slate", {}).get("colour")
            # Every event ends on a comment: pycmx drops an event's last line when nothing follows it.
            note = ([f"* DIP TO {colour.upper()} (AN EDL DISSOLVES TO BLACK)"] if colour and colour != "#000000" else
                    [f"* {'DIP' if _kind(after) == 'dip' else 'FADE OUT'} TO BLACK {lead:03d} FRAMES"])
            last = events[-1]
            events.append(_Event(last.reel, last.src_out, last.src_out, rec_out, rec_out))
            events.append(_Event(BLACK, 0, lead, rec_out, rec_out + lead, dissolve=lead, comments=note))
    lines = [f"TITLE: {timeline.name}", "FCM: NON-DROP FRAME", ""]
    number = 0
    for k, event in enumerate(events):
        # A dissolve's two lines share one event number: the second is the `D` line.
        if not (event.dissolve and k and events[k - 1].rec_in == events[k - 1].rec_out == event.rec_in):
            number += 1
        lines.append(_line(number, event, base))
        lines.extend(event.comments)
    return "\n".join(lines) + "\n"


def _name_of(items: list[otio.core.Composable], index: int) -> str:
    item = items[index] if 0 <= index < len(items) else None
    return str(item.name) if isinstance(item, otio.schema.Clip) else BLACK
