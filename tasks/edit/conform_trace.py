"""Tracing a clip of an editor's timeline back to what slate made it from (issue 39, `slate
conform`): a picture clip to its scene, shot and take, an audio clip to the cue file a timeline
record placed — by the provenance slate wrote, best first: the clip's `slate` metadata, its media
file against the records' (an EDL's `TO CLIP` / `SOURCE FILE` comment before the file its reader
guesses), its name, and an EDL's reel through the reel list beside it. Every take a shot has
(`takes`: the rushes' clip files, and a graded copy's name, `scene-01-1D-take1-….mp4`) traces a
clip the editor relinked to another take: the take swap an NLE makes (issue 57).

It must never read anything but the reel list it is pointed at, and never guess: a clip none of
these name is untraced (None), for the caller to refuse.
"""
from __future__ import annotations

import csv
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import opentimelineio as otio

from slate.errors import SlateError
from slate.tasks.edit.export import TimelineRecord

__all__ = ["ConformError", "Provenance", "read_reels", "metadata_of", "comments_of", "media_of"]


class ConformError(SlateError):
    """A timeline (or its reel list) that cannot be read at all: said naming the file."""


def read_reels(path: Path) -> dict[str, dict[str, str]]:
    """The reel list beside an EDL (`<stem>.reels.csv`: reel, scene, shot, take, file), by reel;
    empty when there is none. ConformError naming it when it does not read as CSV."""
    if not path.is_file():
        return {}
    try:
        with path.open(newline="") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConformError(f"{path}: the reel list cannot be read: {exc}") from exc
    return {row["reel"].strip(): row for row in rows if (row.get("reel") or "").strip()}


def _media_key(url: str | None) -> str | None:
    """A media reference as a comparable key: a file URL or a path as its normalised path, any
    other URL (s3://) as it is."""
    if not url:
        return None
    if url.startswith("file:"):
        return os.path.normpath(unquote(urlparse(url).path))
    return os.path.normpath(url) if url.startswith("/") else url


def metadata_of(item: otio.core.SerializableObject, namespace: str) -> Mapping[str, Any]:
    """What an adapter or slate wrote under `namespace` of an item's metadata (OpenTimelineIO
    hands back its own mapping type, never a dict), or nothing."""
    found = item.metadata.get(namespace)
    return found if isinstance(found, Mapping) else {}


def comments_of(item: otio.core.Item) -> list[str]:
    return [str(c) for c in metadata_of(item, "cmx_3600").get("comments", [])]


def media_of(item: otio.core.Item) -> list[str]:
    """Where a clip's file may be named, best first. The EDL reader hands the clip a dissolve
    enters the outgoing clip's file: its own is in the `TO CLIP` comment (or `SOURCE FILE`)."""
    named = []
    for prefix in ("TO CLIP:", "SOURCE FILE:"):
        named += [c.split(":", 1)[1].strip() for c in comments_of(item) if c.upper().startswith(prefix)]
    slate = metadata_of(item, "slate")
    if slate.get("source_media"):
        named.append(str(slate["source_media"]))   # a clip pointing at its graded copy names its source
    ref = item.media_reference if isinstance(item, otio.schema.Clip) else None
    if isinstance(ref, otio.schema.ExternalReference):
        named.append(ref.target_url)
    return [k for k in (_media_key(n) for n in named) if k]


#: A graded copy's name (tasks/edit/graded.py): its scene, shot and take, then what it was made of.
GRADED_NAME = re.compile(r"^(?P<scene>.+)-(?P<shot>[^-]+)-take(?P<take>\d+)-[0-9a-f]{12}\.mp4$")


class Provenance:
    """The records' shots and cues, findable by what a timeline keeps of them; `takes` (by scene,
    shot and take: each take's clip file) the takes a shot has besides the cut's."""

    def __init__(self, records: dict[str, TimelineRecord], reels: dict[str, dict[str, str]],
                 takes: Mapping[str, Mapping[str, Mapping[int, str]]] | None = None):
        self.records = records
        self.reels = reels
        self.takes = {scene: {shot: dict(by) for shot, by in shots.items()} for scene, shots in (takes or {}).items()}
        self.take_by_media: dict[str, tuple[str, str, int]] = {}
        for scene, shots in self.takes.items():
            for sid, by in shots.items():
                for take, file in by.items():
                    key = _media_key(file)
                    if key:
                        self.take_by_media[key] = (scene, sid, take)
        self.by_media: dict[str, tuple[str, str]] = {}
        self.by_name: dict[str, tuple[str, str]] = {}
        self.cues_by_media: dict[str, str] = {}
        self.cue_files: dict[str, set[str]] = {}   # by scene: the cue files its record placed
        for scene, record in records.items():
            self.cue_files[scene] = set()
            for shot in record["shots"]:
                self.by_name[f"{scene} {shot['shot']}"] = (scene, shot["shot"])
                key = _media_key(shot.get("media"))
                if key:
                    self.by_media[key] = (scene, shot["shot"])
            for cue in record["cues"]:
                self.cue_files[scene].add(cue["file"])
                key = _media_key(cue.get("media"))
                if key:
                    self.cues_by_media[key] = cue["file"]

    def take_of(self, scene: str, shot: str) -> int | None:
        return next((s.get("take") for s in self.records[scene]["shots"] if s["shot"] == shot), None)

    def takes_of(self, scene: str, shot: str) -> list[int]:
        """The takes of a shot's clip slate has (the rushes'), in order; empty when not known."""
        return sorted(self.takes.get(scene, {}).get(shot, {}))

    def shot_of(self, clip: otio.schema.Clip) -> tuple[str, str, int | None] | None:
        """(scene, shot, the take the timeline says, if it says) of a clip, or None. A take the
        timeline names that is not the cut's — relinked media, a graded copy of another take, a
        reel changed to another take's — is the editor's swap, and outvotes what still names the
        cut's take (an EDL's FROM CLIP comment a hand edit left as it was)."""
        found = self._named(clip)
        if found is None:
            return None
        scene, shot, take = found
        known = self.take_of(scene, shot)
        for other in self._other_takes(clip):
            if other[:2] == (scene, shot) and other[2] != known:
                return other
        return found

    def _other_takes(self, clip: otio.schema.Clip) -> list[tuple[str, str, int]]:
        """The takes a clip's media or reel names (scene, shot, take), best first."""
        out = []
        for key in media_of(clip):
            if key in self.take_by_media:
                out.append(self.take_by_media[key])
            graded = GRADED_NAME.match(os.path.basename(key))
            if graded and graded["scene"] in self.records:
                out.append((graded["scene"], graded["shot"], int(graded["take"])))
        row = self.reels.get(str(metadata_of(clip, "cmx_3600").get("reel") or "").strip())
        take = (row or {}).get("take", "").strip()
        if row and row.get("scene") in self.records and row.get("shot") and take.isdigit():
            out.append((row["scene"], row["shot"].strip(), int(take)))
        return out

    def _named(self, clip: otio.schema.Clip) -> tuple[str, str, int | None] | None:
        meta = metadata_of(clip, "slate")
        if meta.get("scene") in self.records and meta.get("shot"):
            take = meta.get("take")
            return str(meta["scene"]), str(meta["shot"]), int(take) if isinstance(take, int) else None
        for key in media_of(clip):
            if key in self.by_media:
                return (*self.by_media[key], None)
        if clip.name.strip() in self.by_name:
            return (*self.by_name[clip.name.strip()], None)
        row = self.reels.get(str(metadata_of(clip, "cmx_3600").get("reel") or "").strip())
        if row and row.get("scene") in self.records and row.get("shot"):
            take = (row.get("take") or "").strip()
            return row["scene"], row["shot"].strip(), int(take) if take.isdigit() else None
        return None
