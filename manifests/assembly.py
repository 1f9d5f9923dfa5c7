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
tasks/edit/finish_check.py), touch the network, or import anything of ours except manifests.keys.
"""
from __future__ import annotations

import re
from typing import Literal

from pydantic import (BaseModel, ConfigDict, Field, SerializationInfo, SerializerFunctionWrapHandler, field_validator,
                      model_serializer, model_validator)

from .keys import AssetKey

__all__ = ["Dip", "ShotFinish", "Cue", "Hit", "MusicBrief", "SceneFinish", "Delivery", "FilmFinish",
           "LOUDNESS_TARGETS", "CUE_KINDS", "AUDIO_SUFFIXES", "DEFAULT_DELIVERY", "TEMPO_RANGE", "INTENSITIES"]

# What a delivery may name instead of a number: EBU R128 for broadcast, the streaming platforms' -14.
LOUDNESS_TARGETS = {"broadcast": -23.0, "web": -14.0}
CUE_KINDS = ("music", "dialogue", "effects", "ambience")
AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".aac", ".m4a")
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
#: The tempi a brief may ask for, in BPM: a dirge to a drum-and-bass run. A model's own range
#: (providers/spec.py MusicLimits) may be narrower; `slate check` holds a brief to both.
TEMPO_RANGE = (40.0, 240.0)
#: How loud a cue plays from a shot on, as a composer marks it (pp to ff, in three steps).
INTENSITIES = ("soft", "medium", "full")
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
_NOTE = re.compile(r"^[A-G][#b]?$")


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


class Hit(_Model):
    """A point a made cue must land an accent on: the cut into shot `cut` (its first frame in the
    cut as delivered; the middle of a dissolve into it), or `at` seconds into shot `shot` (an
    action, a line). Times are read from the cut when the cue is made, so an edit moves them."""
    cut: str | None = None
    shot: str | None = None
    at: float | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _one_place(self) -> "Hit":
        if (self.cut is None) == (self.shot is None):
            raise ValueError("a hit is either `cut: <shot>` (the cut into it) or `shot: <shot>` with `at` seconds")
        if self.cut is not None and self.at is not None:
            raise ValueError("a hit on a cut has no `at` (it is the cut's own time); use `shot:` and `at:` "
                             "for a time inside a shot")
        return self

    @property
    def where(self) -> str:
        return f"the cut into {self.cut}" if self.cut else f"{self.at or 0:g}s into {self.shot}"


class MusicBrief(_Model):
    """A cue made to a brief (issue 59) instead of a file brought: what a composer is told, in
    physical terms — `tempo` in BPM, `mode` and `key`, `instruments`, `intensity` from a shot on
    (shot id -> soft | medium | full) — where it plays (from the start of shot `from_shot` to the
    end of shot `to_shot`; default the cut's first and last), the `hits` it must land on, how it
    sits under dialogue (`duck`, `gain_db`), and the model that makes it (`provider:model`; the
    local composer by default) with its first seed. `name` names the cue on its stem, in the
    timeline and in the ledger. Its length and hits are read from the cut as delivered when it is
    made (tasks/edit/spotting.py): an edit that moves them makes this cue again, and only this one."""
    name: str
    tempo: float
    mode: Literal["minor", "major"] = "minor"
    key: str = "A"
    instruments: list[str] = []
    intensity: dict[str, Literal["soft", "medium", "full"]] = {}
    from_shot: str | None = None
    to_shot: str | None = None
    hits: list[Hit] = []
    gain_db: float = Field(0.0, ge=-60, le=12)
    duck: bool = True
    fade_in: float = Field(0.0, ge=0, le=10)
    fade_out: float = Field(0.0, ge=0, le=10)
    model: str = "local:local-composer-v1"
    seed: int = Field(0, ge=0, le=2**31 - 1)

    @field_validator("name")
    @classmethod
    def _plain_name(cls, v: str) -> str:
        if not _NAME.fullmatch(v):
            raise ValueError(f"a cue's name is lowercase letters, digits and '-', up to 40 (got {v!r}): it names "
                             f"the cue's file and stem")
        return v

    @field_validator("tempo")
    @classmethod
    def _tempo(cls, v: float) -> float:
        low, high = TEMPO_RANGE
        if not low <= v <= high:
            raise ValueError(f"a tempo of {v:g} BPM is out of range ({low:g}-{high:g} BPM): halve or double it")
        return v

    @field_validator("key")
    @classmethod
    def _note(cls, v: str) -> str:
        if not _NOTE.fullmatch(v):
            raise ValueError(f"a key is a note name A-G with an optional # or b (got {v!r}); the mode says minor or major")
        return v

    @field_validator("model")
    @classmethod
    def _model_ref(cls, v: str) -> str:
        provider, _, model = v.partition(":")
        if not provider or not model:
            raise ValueError(f"a music model is 'provider:model' (got {v!r}), e.g. local:local-composer-v1")
        return v

    @field_validator("instruments")
    @classmethod
    def _words(cls, v: list[str]) -> list[str]:
        for word in v:
            if not word.strip() or len(word) > 60 or any(ord(c) < 32 for c in word):
                raise ValueError(f"an instrument is a few plain words (got {word!r})")
        return v

    def shots_named(self) -> list[tuple[tuple, str]]:
        """Every shot id the brief names, with its field path under the brief."""
        named: list[tuple[tuple, str]] = [(("from_shot",), self.from_shot)] if self.from_shot else []
        named += [(("to_shot",), self.to_shot)] if self.to_shot else []
        named += [(("intensity", sid), sid) for sid in self.intensity]
        named += [(("hits", j, "cut" if h.cut else "shot"), h.cut or h.shot or "") for j, h in enumerate(self.hits)]
        return named


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
    #: cues made to a brief (issue 59), beside the files brought in `cues`
    music: list[MusicBrief] = []

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
        # every finished scene (tasks/edit/assembly.py edit_fingerprint) stays what it was.
        dumped: dict = handler(self)
        if dumped.get("cut") is None:
            dumped.pop("cut", None)
        if not dumped.get("music"):   # likewise a scene with no cue made to a brief
            dumped.pop("music", None)
        return dumped

    @field_validator("music")
    @classmethod
    def _names_once(cls, v: list[MusicBrief]) -> list[MusicBrief]:
        seen: set[str] = set()
        for brief in v:
            if brief.name in seen:
                raise ValueError(f"two music cues are named {brief.name!r}: a name says which stem and ledger row is which")
            seen.add(brief.name)
        return v

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
    #: the mix's stems beside the cut (<cut>-dialogue.wav, -music.wav, -effects.wav: 24-bit WAVs at
    #: the mix's gain, laid together the mix), for an editor or a mixer to rebalance (issue 59)
    stems: bool = False

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
    for i, brief in enumerate(finish.music):
        for path, sid in brief.shots_named():
            if sid not in ids:
                out.append((("finishing", "music", i, *path), f"the scene has no shot {sid!r} (has: {', '.join(ids)})"))
        for j, hit in enumerate(brief.hits):
            if hit.shot in ids and (hit.at or 0.0) >= ids[hit.shot]:
                out.append((("finishing", "music", i, "hits", j, "at"),
                            f"{hit.at:g}s is past the end of shot {hit.shot} ({ids[hit.shot]:g}s)"))
    return out
