"""What a making stage is given: one typed input per task, the same value its cache key is made from.

The gates have theirs in tasks/gates/gate_inputs.py. Here the stages that make something: a panel take,
a step of a panel's recipe, a clip take (each paid, through the governor), the stitch and the
finishing pass. `Maker` names the model that makes a take (provider, model, its variant) and the
profile: they are real inputs of the call (its ledger row names them, the variant reaches the
request), and a different model or variant is a different take.

Each input dumps (and so keys) exactly as the dicts it replaced: a request is the provider's
request dataclass (a clip's as `ClipRequest.as_dict` spells it), a finishing row leaves out what
its shot was not given.

It must never hold a live object, a path or a key: every field is plain data (tasks/run/clapper.py
spells it into the key and raises on anything else).
"""
from __future__ import annotations

from typing import Any

from pydantic import JsonValue, SerializerFunctionWrapHandler, field_serializer, model_serializer

from slate.manifests.frame_rate import Fps
from slate.providers.base import ClipRequest, ModelClient, PanelRequest
from slate.tasks.gates.gate_inputs import StageInput


class Maker(StageInput):
    """Who makes a take: the image or video service's provider, model and variant, at a profile."""

    provider: str
    model: str
    variant: dict[str, JsonValue] = {}
    profile: str

    @classmethod
    def of(cls, service: ModelClient, profile: str) -> "Maker":
        """The maker of a live service of the run's crew (`run.crew.images`, a video model, a voice)."""
        return cls(provider=service.name, model=service.model, variant=dict(service.variant or {}), profile=profile)

    @classmethod
    def named(cls, ref: str, service: ModelClient, profile: str) -> "Maker":
        """The maker of the lineup's `ref` ("provider:model", as the lineup names it) with its
        client's variant (`run.crew.service(LIPSYNC, ref)`)."""
        provider, _, model = ref.partition(":")
        return cls(provider=provider, model=model, variant=dict(service.variant or {}), profile=profile)


class PanelTake(StageInput):
    """A take of a shot's panel at `moment` (start or end), drawn from `request`."""

    shot: str
    moment: str
    take: int
    request: PanelRequest
    maker: Maker


class PanelEdit(StageInput):
    """Step `step` (1-based) of a shot's recipe: `instruction` applied to the picture at `source_uri`."""

    shot: str
    take: int
    step: int
    instruction: str
    source_uri: str
    request: PanelRequest
    maker: Maker


class ClipTake(StageInput):
    """A take of a shot's clip, from `request`."""

    shot: str
    take: int
    request: ClipRequest
    maker: Maker

    @field_serializer("request")
    def _as_keyed(self, request: ClipRequest) -> dict[str, Any]:
        # A clip without references or sound asked keys as it always did (ClipRequest.as_dict).
        return request.as_dict()


class StitchInput(StageInput):
    """A scene's approved clips stitched: `clips` (uri, seconds) each; `transitions` (kind, seconds)
    between clip i and i+1."""

    scene: str
    clips: list[tuple[str, float]]
    transitions: list[tuple[str, float]]
    width: int
    height: int
    fps: Fps


#: A finishing row's fields given only when the scene's `finishing:` names them for the shot.
_GIVEN_ONLY = ("trim_in", "trim_out", "exposure", "saturation", "dip_colour")


class FinishingShot(StageInput):
    """An approved clip as the finishing pass uses it: its `transition` into the next shot
    (kind, seconds); its trims and grade only when the scene's `finishing:` gives the shot some,
    its dip's colour only when it dips to the next."""

    uri: str
    seconds: float
    transition: tuple[str, float]
    trim_in: float | None = None
    trim_out: float | None = None
    exposure: float | None = None
    saturation: float | None = None
    dip_colour: str | None = None

    @model_serializer(mode="wrap")
    def _without_ungiven(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # What the shot was not given is left out: a shot without an entry keys as it always did.
        data: dict[str, Any] = handler(self)
        return {k: v for k, v in data.items() if not (k in _GIVEN_ONLY and v is None)}


class FinishingCue(StageInput):
    """An audio cue placed on the scene's timeline: its file by content (`uri`) and by name
    (`file`), where it starts (`start` seconds into the scene) and how it is played."""

    uri: str
    file: str
    kind: str
    start: float
    seconds: float        # the file's own length
    offset: float
    length: float | None
    gain_db: float
    fade_in: float
    fade_out: float
    ducks: bool


class FinishingEdit(StageInput):
    """The scene's fades and its delivery: loudness, true peak, the mezzanine and poster asked for."""

    fade_in: float
    fade_out: float
    target_lufs: float
    true_peak: float
    mezzanine: str | None
    poster: bool
    stems: bool = False

    @model_serializer(mode="wrap")
    def _without_unasked_stems(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # An edit that asks for no stems keys as it did before the option existed (issue 59): the
        # finish task of every scene finished before stays a cache hit.
        dumped: dict[str, Any] = handler(self)
        if not dumped.get("stems"):
            dumped.pop("stems", None)
        return dumped


class Finishing(StageInput):
    """What the assembly manifest makes of a scene's approved clips (tasks/edit/assembly.py): the
    finishing pass's shots, cues, LUT (a .cube's URI, if any) and edit."""

    shots: list[FinishingShot]
    cues: list[FinishingCue]
    lut: str | None
    edit: FinishingEdit


class FinishInput(StageInput):
    """The finishing pass of a scene (a `Finishing` at the scene's size and rate)."""

    scene: str
    shots: list[FinishingShot]
    cues: list[FinishingCue]
    lut: str | None
    edit: FinishingEdit
    width: int
    height: int
    fps: Fps
