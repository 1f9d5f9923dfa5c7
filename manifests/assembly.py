"""The assembly manifest: the film's edit as data the film-maker owns (issue 23, "Finishing").

What the finishing pass reads after the stitch: per shot an in/out trim, a grade trim (exposure,
saturation) and a dip to a colour into the next shot; per scene a fade from and to black, a LUT
that overrides the film's, and the audio cues (music, dialogue, effects, ambience) placed at a shot
or a time; per film the LUT and, per profile, the delivery (loudness target, true peak, mezzanine,
poster). Cuts and dissolves stay where they always were, on each shot's ``transition_out``: the
stitch and the finishing pass read the same ones. A scene's `cut` is its shots in the edit's
order (issue 39, what `slate conform` reads back from an editor): a shot left out of it is
dropped from the cut, never from the scene file, whose order stays the order shots are made and
chained in.

Written in ``film.yaml`` and the scene files under a ``finishing:`` key. Every field here changes
only what the finishing pass makes: never a panel, a clip or a paid call.

This module must never read files (whether a cue decodes, a LUT parses, is the preflight's job:
tasks/finish_check.py), touch the network, or import anything of ours except manifests.keys.
"""
from __future__ import annotations

import re
from typing import Literal

from pydantic import (BaseModel, ConfigDict, Field, SerializationInfo, SerializerFunctionWrapHandler, field_validator,
                      model_serializer, model_validator)

from .keys import AssetKey

__all__ = ["Dip", "ShotFinish", "Cue", "SceneFinish", "Delivery", "FilmFinish", "LOUDNESS_TARGETS",
           "CUE_KINDS", "AUDIO_SUFFIXES", "DEFAULT_DELIVERY"]

# What a delivery may name instead of a number: EBU R128 for broadcast, the streaming platforms' -14.
LOUDNESS_TARGETS = {"broadcast": -23.0, "web": -14.0}
CUE_KINDS = ("music", "dialogue", "effects", "ambience")
AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".aac", ".m4a")
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Dip(_Model):
    """A dip to a colour between a shot and the next: the picture goes to `colour` over half of
    `duration` and comes back over the other half, centred on the cut."""
    colour: str = "#000000"
    duration: float = Field(1.0, gt=0, le=4.0)

    @field_validator("colour")
    @classmethod
    def _hex(cls, v: str) -> str:
        if not _HEX.fullmatch(v):
            raise ValueError(f"colour must be a hex colour like '#ffffff' (got {v!r})")
        return v.lower()


class ShotFinish(_Model):
    """One shot's part of the edit. Trims cut seconds from the clip's head (`trim_in`) and tail
    (`trim_out`); `exposure` is in stops, `saturation` a factor (1: unchanged)."""
    trim_in: float = Field(0.0, ge=0)
    trim_out: float = Field(0.0, ge=0)
    exposure: float = Field(0.0, ge=-3, le=3)
    saturation: float = Field(1.0, ge=0, le=3)
    dip_out: Dip | None = None


class Cue(_Model):
    """One audio file on the scene's timeline. It starts at `at` seconds into the scene, or into
    shot `shot` when that is given, playing the file from `offset` seconds in, for `length`
    seconds (default: to the file's end or the scene's, whichever comes first)."""
    file: AssetKey
    kind: Literal["music", "dialogue", "effects", "ambience"]
    shot: str | None = None
    at: float = Field(0.0, ge=0)
    offset: float = Field(0.0, ge=0)
    length: float | None = Field(None, gt=0)
    gain_db: float = Field(0.0, ge=-60, le=12)
    fade_in: float = Field(0.0, ge=0)
    fade_out: float = Field(0.0, ge=0)
    # Music ducks under dialogue unless told otherwise; other kinds do not.
    duck: bool | None = None

    @field_validator("file")
    @classmethod
    def _audio_file(cls, v: str) -> str:
        if not v.lower().endswith(AUDIO_SUFFIXES):
            raise ValueError(f"a cue is a WAV, FLAC, MP3 or AAC file (got {v!r})")
        return v

    @property
    def ducks(self) -> bool:
        return self.kind == "music" if self.duck is None else self.duck


class SceneFinish(_Model):
    """A scene's part of the edit: `fade_in` from black and `fade_out` to black (seconds), a LUT
    overriding the film's, per-shot entries by shot id, the audio cues, and `cut`: the shot ids
    in the order the edit plays them (None: the scene file's order, every shot)."""
    lut: AssetKey | None = None
    fade_in: float = Field(0.0, ge=0, le=10)
    fade_out: float = Field(0.0, ge=0, le=10)
    shots: dict[str, ShotFinish] = {}
    cues: list[Cue] = []
    cut: list[str] | None = None

    @field_validator("cut")
    @classmethod
    def _each_shot_once(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and not v:
            raise ValueError("a cut needs at least one shot (leave `cut` out for every shot in the file's order)")
        seen: set[str] = set()
        for sid in v or []:
            if sid in seen:
                raise ValueError(f"shot {sid!r} is in the cut twice (a shot plays once)")
            seen.add(sid)
        return v

    @model_serializer(mode="wrap")
    def _without_an_unset_cut(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> dict:
        # A scene without a `cut` dumps as it did before the field existed: the can's key of
        # every finished scene (tasks/assembly.py edit_fingerprint) stays what it was.
        dumped: dict = handler(self)
        if dumped.get("cut") is None:
            dumped.pop("cut", None)
        return dumped

    def in_cut(self, shots: list[str]) -> list[str]:
        """`shots` (ids, in the scene file's order) in the edit's order, those dropped left out."""
        return list(shots) if self.cut is None else [s for s in self.cut if s in shots]


class Delivery(_Model):
    """What one profile delivers: the web cut (H.264 + AAC, +faststart) always; its loudness
    target (LUFS, or 'web' -14 / 'broadcast' -23) and true-peak ceiling; optionally an editor's
    mezzanine and a poster frame."""
    loudness: float | Literal["web", "broadcast"] = "web"
    true_peak: float = Field(-1.0, ge=-9, le=0)
    mezzanine: Literal["prores_proxy", "dnxhr_lb"] | None = None
    poster: bool = False
    #: a copy of a scene's cut with its lines drawn into the picture (<cut>-subtitled.mp4), for a
    #: player or a festival that shows no subtitle stream; the cut itself stays clean
    burned_subtitles: bool = False

    @field_validator("loudness")
    @classmethod
    def _in_range(cls, v):
        if isinstance(v, (int, float)) and not (-36 <= v <= -8):
            raise ValueError(f"a loudness target is between -36 and -8 LUFS (got {v:g})")
        return v

    @property
    def target_lufs(self) -> float:
        return LOUDNESS_TARGETS[self.loudness] if isinstance(self.loudness, str) else float(self.loudness)


DEFAULT_DELIVERY = Delivery()


class FilmFinish(_Model):
    """The film's part of the edit: its LUT (a scene's `lut` overrides it) and the delivery per
    profile (a profile not named gets the web default)."""
    lut: AssetKey | None = None
    delivery: dict[Literal["draft", "final", "hero"], Delivery] = {}

    def delivery_for(self, profile: str) -> Delivery:
        return next((d for name, d in self.delivery.items() if name == profile), DEFAULT_DELIVERY)


def shot_problems(finish: SceneFinish, shots: list[tuple[str, float]]) -> list[tuple[tuple, str]]:
    """Rules that need the scene's shots, as (field path, message): every shot id named (a shot's
    entry, the cut, a cue's shot) exists, and a trimmed shot keeps at least a second."""
    ids = {sid: secs for sid, secs in shots}
    out: list[tuple[tuple, str]] = []
    for sid, entry in finish.shots.items():
        if sid not in ids:
            out.append((("finishing", "shots", sid), f"the scene has no shot {sid!r} (has: {', '.join(ids)})"))
        elif ids[sid] - entry.trim_in - entry.trim_out < 1.0:
            out.append((("finishing", "shots", sid, "trim_out"),
                        f"trims of {entry.trim_in:g}s + {entry.trim_out:g}s leave less than 1s of a "
                        f"{ids[sid]:g}s shot"))
    for i, sid in enumerate(finish.cut or []):
        if sid not in ids:
            out.append((("finishing", "cut", i), f"the scene has no shot {sid!r} (has: {', '.join(ids)})"))
    for i, cue in enumerate(finish.cues):
        if cue.shot is not None and cue.shot not in ids:
            out.append((("finishing", "cues", i, "shot"), f"the scene has no shot {cue.shot!r} (has: {', '.join(ids)})"))
    return out
