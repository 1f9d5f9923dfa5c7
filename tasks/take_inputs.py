"""What a making stage is given: one typed input per task, the same value its cache key is made from.

The gates have theirs in tasks/gate_inputs.py. Here the stages that make something: a panel take,
a step of a panel's recipe, a clip take (each paid, through the governor), the stitch and the
finishing pass. `Maker` names the model that makes a take (provider, model, its variant) and the
profile: they are real inputs of the call (its ledger row names them, the variant reaches the
request), and a different model or variant is a different take.

It must never hold a live object, a path or a key: every field is plain data (tasks/clapper.py
spells it into the key and raises on anything else).
"""
from __future__ import annotations

from slate.tasks.gate_inputs import StageInput


class Maker(StageInput):
    """Who makes a take: the image or video service's provider, model and variant, at a profile."""

    provider: str
    model: str
    variant: dict = {}
    profile: str

    @classmethod
    def of(cls, service, profile: str) -> "Maker":
        """The maker of a live service of the run's crew (`run.crew.images`, a video model)."""
        return cls(provider=service.name, model=service.model, variant=dict(service.variant or {}), profile=profile)


class PanelTake(StageInput):
    """A take of a shot's panel at `moment` (start or end), drawn from `request` (a PanelRequest)."""

    shot: str
    moment: str
    take: int
    request: dict
    maker: Maker


class PanelEdit(StageInput):
    """Step `step` (1-based) of a shot's recipe: `instruction` applied to the picture at `source_uri`."""

    shot: str
    take: int
    step: int
    instruction: str
    source_uri: str
    request: dict
    maker: Maker


class ClipTake(StageInput):
    """A take of a shot's clip, from `request` (a ClipRequest as a dict)."""

    shot: str
    take: int
    request: dict
    maker: Maker


class StitchInput(StageInput):
    """A scene's approved clips stitched: `clips` [uri, seconds] each; `transitions` [kind, seconds]
    between clip i and i+1."""

    scene: str
    clips: list[list]
    transitions: list[list]
    width: int
    height: int
    fps: int


class FinishInput(StageInput):
    """The finishing pass of a scene (tasks/finish.py says what each of `shots`, `cues` and `edit`
    holds); `lut`: the grade's .cube URI, if any."""

    scene: str
    shots: list[dict]
    cues: list[dict]
    lut: str | None
    edit: dict
    width: int
    height: int
    fps: int
