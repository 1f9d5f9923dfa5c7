"""Asset keys: how a manifest names a file inside the film project.

An asset key is a relative POSIX path such as ``characters/mia/mia_turnaround_APPROVED.png``.
The same key addresses the file on local disk and in object storage, so a key must never be
able to climb out of the project, hide a Windows path, or smuggle bytes a storage backend
would read differently.

This module also owns the canonical-key convention: a reference is canonical when it sits at
``characters/<id>/<id>_turnaround_APPROVED.png`` or ``locations/<id>/<id>_plate_APPROVED.png``
(and a voice's approved sample at ``characters/<id>/<id>_voice_APPROVED.wav``, the narrator's at
``narrator/narrator_voice_APPROVED.wav``).
The roster of approved references is enumerated from storage by these names, never from a
hand-kept list.

It must never touch the filesystem or the network: it only judges strings.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator

__all__ = [
    "AssetKey",
    "check_key",
    "canonical_turnaround_key",
    "canonical_plate_key",
    "canonical_voice_key",
    "parse_canonical",
]

_ALLOWED = re.compile(r"^[A-Za-z0-9._/-]+$")
_DRIVE = re.compile(r"^[A-Za-z]:")
# Same id grammar as schema.py; duplicated here because keys.py sits below schema.py.
_ID = r"[a-z][a-z0-9_-]{0,39}"
_CANONICAL_TURNAROUND = re.compile(rf"^characters/(?P<id>{_ID})/(?P=id)_turnaround_APPROVED\.png$")
_CANONICAL_PLATE = re.compile(rf"^locations/(?P<id>{_ID})/(?P=id)_plate_APPROVED\.png$")


def _reject(key: str, why: str) -> ValueError:
    return ValueError(f"asset key must be relative and inside the project: {key!r} {why}")


def check_key(key: str) -> str:
    """Return ``key`` unchanged if it is a safe relative key, else raise ValueError.

    Keys are rejected rather than normalised: silently rewriting ``./a//b`` would let two
    spellings of one file hash differently in the bible lock.
    """
    if not isinstance(key, str):
        raise ValueError(f"asset key must be a string, got {type(key).__name__}")
    if key == "":
        raise ValueError("asset key must not be empty")
    if "\x00" in key:
        raise _reject(key, "contains a NUL byte")
    if "\\" in key:
        raise _reject(key, "contains a backslash (use '/')")
    if key.startswith("/"):
        raise _reject(key, "is an absolute path")
    if _DRIVE.match(key):
        raise _reject(key, "starts with a drive letter")
    for segment in key.split("/"):
        if segment == "..":
            raise _reject(key, "has a '..' segment")
        if segment == ".":
            raise _reject(key, "has a '.' segment")
        if segment == "":
            raise _reject(key, "has an empty segment ('//' or a trailing '/')")
    if not _ALLOWED.match(key):
        bad = sorted({c for c in key if not _ALLOWED.match(c)})
        raise _reject(key, f"has characters outside [A-Za-z0-9._/-]: {''.join(bad)!r}")
    return key


AssetKey = Annotated[str, AfterValidator(check_key)]


def canonical_turnaround_key(character_id: str) -> str:
    return f"characters/{character_id}/{character_id}_turnaround_APPROVED.png"


def canonical_plate_key(location_id: str) -> str:
    return f"locations/{location_id}/{location_id}_plate_APPROVED.png"


def canonical_voice_key(speaker: str) -> str:
    """Where a speaker's approved voice sample sits (the bible workshop writes it: tasks/workshop/audition.py):
    beside a character's turnaround, or in ``narrator/`` for the bible's narrator, whose id no
    character may take. Not a picture, so not one of `parse_canonical`'s references."""
    folder = "narrator" if speaker == "narrator" else f"characters/{speaker}"
    return f"{folder}/{speaker}_voice_APPROVED.wav"


def parse_canonical(key: str) -> tuple[Literal["character", "location"], str] | None:
    """Recognise a canonical reference key; anything else (drafts, takes) is None."""
    m = _CANONICAL_TURNAROUND.match(key)
    if m:
        return ("character", m.group("id"))
    m = _CANONICAL_PLATE.match(key)
    if m:
        return ("location", m.group("id"))
    return None
