"""Graded copies of a scene's approved clips, for an editor's timeline that looks like the
delivered cut (issue 39, `slate export --media graded`).

Each approved clip the finishing pass grades (the scene's LUT, the shot's exposure and saturation)
is rendered once, whole — its handles kept; no trim, fade or dip, which travel as the timeline's
own edits — with the pass's own filters (media/finish.py `graded_clip_args`) and its sound as it
is, into `renders/graded/`, named by what it is made of: a second export finds it there and
renders nothing. A clip with nothing to grade is its own graded copy.

It must never call a provider or spend, nor change an approved clip or a cut.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from slate.manifests.frame_rate import exact
from slate.media.ffmpeg import run
from slate.media.finish import graded_clip_args
from slate.media.probe import has_sound
from slate.media.render import scratch_beside
from slate.tasks.edit.export import TimelineRecord

__all__ = ["graded_media", "FOLDER"]

FOLDER = Path("renders") / "graded"


def _digest(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def graded_media(records: list[TimelineRecord], root: Path) -> tuple[dict[tuple[str, str], str], list[str]]:
    """The graded copy of every approved clip that has a grade, by (scene, shot), made where
    missing; and what could not be graded, said plainly (a clip in object storage, a LUT gone)."""
    made: dict[tuple[str, str], str] = {}
    notes: list[str] = []
    folder = Path(root).resolve() / FOLDER   # absolute: an NLE relinks nothing relative to a shell's folder
    for record in records:
        finish = record.get("finish")
        lut = finish["lut"] if finish else None
        for shot in record["shots"]:
            media = shot.get("media")
            grade = shot.get("grade") or {}
            exposure, saturation = float(grade.get("exposure", 0.0)), float(grade.get("saturation", 1.0))
            if not media or (not lut and not exposure and saturation == 1.0):
                continue
            if not media.startswith("/") or not Path(media).is_file() or (lut and not Path(lut).is_file()):
                notes.append(f"{record['scene']} {shot['shot']}: its clip or LUT is not a file on this disk "
                             f"({media}); the timeline points at the ungraded clip")
                continue
            # Named by what it is made of: the clip (its artifact's name is its content), the
            # grade, the LUT's bytes, the size and rate.
            key = hashlib.sha256(json.dumps([Path(media).name, exposure, saturation, _digest(lut) if lut else None,
                                             record["width"], record["height"], str(exact(record["fps"]))]).encode())
            out = folder / f"{record['scene']}-{shot['shot']}-take{shot.get('take') or 0}-{key.hexdigest()[:12]}.mp4"
            if not out.is_file():
                out.parent.mkdir(parents=True, exist_ok=True)
                tmp = scratch_beside(out, ".mp4")
                try:
                    run(graded_clip_args(media, tmp, seconds=float(shot["seconds"]),
                                         has_audio=has_sound(media), exposure=exposure, saturation=saturation,
                                         lut=lut, width=record["width"], height=record["height"],
                                         fps=exact(record["fps"])), timeout=900)
                    os.replace(tmp, out)
                finally:
                    Path(tmp).unlink(missing_ok=True)
            made[(record["scene"], shot["shot"])] = str(out)
    return made, notes
