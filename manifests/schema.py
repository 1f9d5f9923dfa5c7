"""The film's locked source of truth as pydantic models: film, bible, scene, shot.

Every later stage trusts these models, so a value that could cost money or break a chain
(a chained first shot, a dissolve with no length, a key that climbs out of the project) is
refused here, at construction, with an error that names the field.

Rules that span more than one field are raised as a ``slate_field`` error whose context
names the offending field, so that load.py can report ``camera.movement`` rather than just
``camera``.

This module must never read files, touch the network, or import anything of ours except
manifests.keys: providers, governor and tasks all import it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from .keys import AssetKey, canonical_plate_key, canonical_turnaround_key, canonical_voice_key
# the assembly manifest (issue 23): the edit's fields, under `finishing:` in film and scene files
from .assembly import FilmFinish, SceneFinish, shot_problems
from .dialogue import NARRATOR, Line, Voice
from .continuity_ledger import ShotContinuity, World
from .frame_rate import FrameRate

__all__ = [
    "MIN_SHOT_SECONDS",
    "MAX_SHOT_SECONDS",
    "MAX_DISSOLVE_SECONDS",
    "ID_PATTERN",
    "SHOT_ID_PATTERN",
    "EntityId",
    "ShotId",
    "Character",
    "Location",
    "Bible",
    "Wardrobe",
    "Camera",
    "Transition",
    "Shot",
    "shot_seconds",
    "Scene",
    "Film",
    "field_error",
]

MIN_SHOT_SECONDS = 2.0
MAX_SHOT_SECONDS = 12.0
MAX_DISSOLVE_SECONDS = 2.0

ID_PATTERN = r"^[a-z][a-z0-9_-]{0,39}$"
SHOT_ID_PATTERN = r"^[0-9]{1,3}[A-Z]{1,2}$"
_ID_RE = re.compile(ID_PATTERN)
_SHOT_ID_RE = re.compile(SHOT_ID_PATTERN)
_HEX_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


def _check_id(value: str) -> str:
    # fullmatch, not match: '$' alone would let a trailing newline through.
    if not _ID_RE.fullmatch(value):
        raise ValueError(
            f"id must be lowercase letters, digits, '-' or '_', start with a letter, "
            f"at most 40 characters (got {value!r})"
        )
    return value


def _check_shot_id(value: str) -> str:
    if not _SHOT_ID_RE.fullmatch(value):
        raise ValueError(f"shot id must be 1-3 digits then 1-2 capital letters, like '1A' or '12AB' (got {value!r})")
    return value


def _check_text(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


EntityId = Annotated[str, AfterValidator(_check_id)]
ShotId = Annotated[str, AfterValidator(_check_shot_id)]
Text = Annotated[str, AfterValidator(_check_text)]


def field_error(field: tuple[str | int, ...] | str, message: str) -> PydanticCustomError:
    """An error pinned to ``field`` (relative to the model raising it).

    ``message`` goes through the context rather than the template so braces in user text
    are never taken for placeholders.
    """
    loc = (field,) if isinstance(field, str) else tuple(field)
    return PydanticCustomError("slate_field", "{message}", {"field": loc, "message": message})


def _fmt_seconds(x: float) -> str:
    return f"{x:g}"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- bible ---------------------------------------------------------------------------------


class Character(_Model):
    id: EntityId
    name: Text
    description: Text  # the locked description block, pasted verbatim into every prompt
    turnaround: AssetKey | None = None
    voice: Voice | None = None  # issue 37: locked like the face (manifests/dialogue.py)

    @property
    def turnaround_key(self) -> str:
        return self.turnaround if self.turnaround is not None else canonical_turnaround_key(self.id)


class Location(_Model):
    id: EntityId
    name: Text
    description: Text
    plate: AssetKey | None = None
    recipe: list[Text] = []  # issue 24: single edits `slate bible plate --recipe` applies in turn

    @property
    def plate_key(self) -> str:
        return self.plate if self.plate is not None else canonical_plate_key(self.id)


def _duplicates(ids: Sequence[str]) -> dict[str, list[int]]:
    seen: dict[str, list[int]] = {}
    for i, x in enumerate(ids):
        seen.setdefault(x, []).append(i)
    return {k: v for k, v in seen.items() if len(v) > 1}


class Bible(_Model):
    characters: list[Character]
    locations: list[Location]
    narrator: Voice | None = None  # issue 37: the film's narrator, a voice with no face (speaker "narrator")

    @model_validator(mode="after")
    def _unique_ids(self) -> "Bible":
        for name, items in (("characters", self.characters), ("locations", self.locations)):
            for dup, where in _duplicates([x.id for x in items]).items():
                raise field_error(
                    (name, where[1], "id"),
                    f"duplicate id {dup!r} (also {name}[{where[0]}])",
                )
        if any(c.id == NARRATOR for c in self.characters):
            raise field_error(("characters", [c.id for c in self.characters].index(NARRATOR), "id"),
                              f"{NARRATOR!r} is the speaker id of the bible's narrator voice: give the character "
                              f"another id")
        return self

    def voices(self) -> dict[str, Voice | None]:
        """Every speaker the film knows: its characters (their voice or None) and the narrator, if any."""
        out: dict[str, Voice | None] = {c.id: c.voice for c in self.characters}
        if self.narrator is not None:
            out[NARRATOR] = self.narrator
        return out

    def voice_sample_key(self, speaker: str) -> str:
        """The key of a speaker's approved voice sample: their voice's `sample`, else the canonical
        key the bible workshop approves to (keys.canonical_voice_key). KeyError for no speaker."""
        voice = self.voices()[speaker]
        return voice.sample if voice is not None and voice.sample is not None else canonical_voice_key(speaker)

    def character(self, character_id: str) -> Character:
        for c in self.characters:
            if c.id == character_id:
                return c
        raise KeyError(f"unknown character {character_id!r}")

    def location(self, location_id: str) -> Location:
        for loc in self.locations:
            if loc.id == location_id:
                return loc
        raise KeyError(f"unknown location {location_id!r}")


# --- shots ---------------------------------------------------------------------------------


class Wardrobe(_Model):
    description: Text
    # A hint, not the truth: the local provider recolours the turnaround outfit with it.
    colour: str | None = None

    @field_validator("colour")
    @classmethod
    def _hex(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if not _HEX_RE.fullmatch(v):
            raise ValueError(f"colour must be a hex colour like '#aa3322' (got {v!r})")
        return v.lower()

    @property
    def rgb(self) -> tuple[int, int, int] | None:
        if self.colour is None:
            return None
        return (int(self.colour[1:3], 16), int(self.colour[3:5], 16), int(self.colour[5:7], 16))


class Camera(_Model):
    framing: Literal["wide", "medium", "close"] = "medium"
    angle: Literal["eye", "high", "low"] = "eye"
    movement: Literal["static", "dolly_in", "dolly_out", "pan_left", "pan_right", "tilt_up", "tilt_down"] = "static"
    fixed: bool = False  # locked-off: the camera may not move at all

    @model_validator(mode="after")
    def _fixed_is_static(self) -> "Camera":
        if self.fixed and self.movement != "static":
            raise field_error("movement", f"a fixed camera must be 'static' (got {self.movement!r})")
        return self


class Transition(_Model):
    kind: Literal["cut", "dissolve"] = "cut"
    duration: float = 0.0

    @model_validator(mode="after")
    def _duration_fits_kind(self) -> "Transition":
        if self.kind == "dissolve" and not (0 < self.duration <= MAX_DISSOLVE_SECONDS):
            raise field_error(
                "duration",
                f"a dissolve needs a duration above 0 and at most {MAX_DISSOLVE_SECONDS:g} seconds "
                f"(got {_fmt_seconds(self.duration)})",
            )
        if self.kind == "cut" and self.duration != 0:
            raise field_error("duration", f"a cut has no duration (got {_fmt_seconds(self.duration)})")
        return self


def shot_seconds(v: float) -> float:
    """A shot's duration, held to MIN_SHOT_SECONDS..MAX_SHOT_SECONDS (a ValueError saying the
    bounds): the Shot's own check, also what the stitch's rules read a scene that failed with."""
    if not (MIN_SHOT_SECONDS <= v <= MAX_SHOT_SECONDS):
        raise ValueError(
            f"must be between {MIN_SHOT_SECONDS} and {MAX_SHOT_SECONDS} seconds (got {_fmt_seconds(v)})"
        )
    return v


class Shot(_Model):
    id: ShotId
    characters: list[str] = []
    location: str | None = None  # None: the scene's location
    props: list[str] = []  # props that must survive from panel to video
    camera: Camera = Camera()
    action: Text  # physical action only; mood words do not survive image-to-video
    duration: float
    # reference: no panel; the video model gets the cast's turnarounds, the plate and `references`
    frame_mode: Literal["start", "start_end", "reference"] = "start"
    end_action: str | None = None
    chain: bool = False
    # Characters of the shot who walk in partway (the action says how): a chained shot may name
    # someone its previous shot's last frame does not show, and the keyframe gate looks for them
    # only in the clip's last part (media/presence.py), not from its first frame.
    enters: list[str] = []
    critical: bool = False
    transition_out: Transition = Transition()
    panel_override: AssetKey | None = None
    # Extra reference images (a prop, a hand) sent to the video model beside the cast and plate;
    # on a start shot: a start frame plus references (slate check says which models allow it).
    references: list[AssetKey] = []
    # Which views of each character's turnaround the video model is sent, side by side in the
    # sheet's order (default: the whole sheet): e.g. [front, three_quarter] for a walk to camera.
    views: list[Literal["front", "three_quarter", "side", "back"]] = []
    seed: int = 0
    # issue 24: an ordered recipe of single image edits applied to the start panel, one paid call each
    recipe: list[Text] = []
    # issue 37: the lines spoken in the shot (manifests/dialogue.py): speaker, text, start, delivery
    dialogue: list[Line] = []
    # issue 41: characters of the shot whose face is swapped for their approved one after the
    # keyframe gate (tasks/shot/faceswap.py), each gated again
    face_swap: list[str] = []
    # issue 58: what the shot shows of the scene's continuity ledger, and what its action changes
    # (manifests/continuity_ledger.py)
    continuity: ShotContinuity | None = None

    @field_validator("duration")
    @classmethod
    def _duration_bounds(cls, v: float) -> float:
        return shot_seconds(v)

    @field_validator("characters")
    @classmethod
    def _characters_once(cls, v: list[str]) -> list[str]:
        for dup, where in _duplicates(v).items():
            raise ValueError(f"character {dup!r} is listed twice (characters[{where[0]}] and [{where[1]}])")
        return v

    @model_validator(mode="after")
    def _end_action_needs_end_frame(self) -> "Shot":
        if self.end_action is not None and self.frame_mode != "start_end":
            raise field_error("end_action", "end_action is only allowed when frame_mode is 'start_end'")
        if self.end_action is not None and not self.end_action.strip():
            raise field_error("end_action", "must not be empty")
        if self.frame_mode == "reference":
            # A reference shot has no frame of its own: nothing to chain from, nothing to override.
            if self.chain:
                raise field_error("chain", "a reference shot cannot chain (frame_mode 'reference' sends the model "
                                           "references, not a start frame)")
            if self.panel_override is not None:
                raise field_error("panel_override", "a reference shot has no panel to override")
        for dup, where in _duplicates(self.enters).items():
            raise field_error(("enters", where[1]), f"character {dup!r} is listed twice (also enters[{where[0]}])")
        for i, cid in enumerate(self.enters):
            if cid not in self.characters:
                raise field_error(("enters", i), f"{cid!r} enters the shot but is not one of its characters "
                                                 f"({', '.join(self.characters) or 'none'}): add them to characters")
        for dup, where in _duplicates(self.face_swap).items():
            raise field_error(("face_swap", where[1]), f"character {dup!r} is listed twice (also face_swap[{where[0]}])")
        for i, cid in enumerate(self.face_swap):
            if cid not in self.characters:
                raise field_error(("face_swap", i), f"{cid!r}'s face is to be swapped, but {cid!r} is not one of the "
                                                    f"shot's characters ({', '.join(self.characters) or 'none'})")
        for dup, where in _duplicates(self.references).items():
            raise field_error(("references", where[1]), f"reference {dup!r} is listed twice")
        for dup, where in _duplicates(self.views).items():
            raise field_error(("views", where[1]), f"view {dup!r} is listed twice")
        if self.views and self.frame_mode != "reference" and not self.references:
            raise field_error("views", "only a shot that sends the video model references (frame_mode: reference, "
                                       "or references) sends views of its turnarounds")
        if self.views and not self.characters:
            raise field_error("views", "the shot names no character whose turnaround views could be sent")
        return self


class Scene(_Model):
    id: EntityId
    title: Text
    location: str  # default location of its shots
    wardrobe: dict[str, Wardrobe] = {}
    shots: list[Shot]
    finishing: SceneFinish | None = None  # the scene's edit: trims, dips, fades, LUT, audio cues
    # issue 58: the world as the scene opens — props, blocking, the line of action, the light
    continuity: World | None = None

    @field_validator("shots")
    @classmethod
    def _some_shots(cls, v: list[Shot]) -> list[Shot]:
        if not v:
            raise ValueError("a scene needs at least one shot")
        return v

    @model_validator(mode="after")
    def _shot_order(self) -> "Scene":
        for dup, where in _duplicates([s.id for s in self.shots]).items():
            raise field_error(("shots", where[1], "id"), f"duplicate shot id {dup!r} (also shots[{where[0]}])")
        if self.shots[0].chain:
            raise field_error(("shots", 0, "chain"), FIRST_SHOT_CHAIN)
        if self.shots[-1].transition_out.kind != "cut":
            raise field_error(("shots", len(self.shots) - 1, "transition_out", "kind"), LAST_SHOT_DISSOLVE)
        if self.finishing is not None:
            for loc, message in shot_problems(self.finishing, [(s.id, s.duration) for s in self.shots]):
                raise field_error(loc, message)
        return self

    def shot(self, shot_id: str) -> Shot:
        for s in self.shots:
            if s.id == shot_id:
                return s
        raise KeyError(f"scene {self.id!r} has no shot {shot_id!r}")

    def location_of(self, shot: Shot) -> str:
        return shot.location if shot.location is not None else self.location

    def total_seconds(self) -> float:
        """Stitched length: each dissolve overlaps the two shots it joins."""
        overlap = sum(s.transition_out.duration for s in self.shots[:-1] if s.transition_out.kind == "dissolve")
        return sum(s.duration for s in self.shots) - overlap


FIRST_SHOT_CHAIN = "the first shot of a scene cannot chain (there is no previous shot to start from)"
LAST_SHOT_DISSOLVE = "the last shot of a scene must end on a cut (a dissolve needs a next shot)"


class Film(_Model):
    id: EntityId
    title: Text
    fps: FrameRate = 24      # whole (1-120) or NTSC (23.976, 29.97, 59.94, ...): manifests/frame_rate.py
    bible: AssetKey = "bible.yaml"
    scenes: list[AssetKey]
    finishing: FilmFinish | None = None  # the film's LUT and each profile's delivery

    @field_validator("scenes")
    @classmethod
    def _some_scenes(cls, v: list[str]) -> list[str]:
        # An empty film would "check ok" and then have nothing to run.
        if not v:
            raise ValueError("the film lists no scenes; add at least one scene file, like scenes/scene-01.yaml")
        return v
