"""What a gate task is given: one typed input per gate, the same value its cache key is made from.

A gate's result depends on what it looks at (URIs of content-addressed pictures and clips, the
shot's request) and on who judges it by which policy (`Judging`: the judge provider, its model
and variant, the profile and the gate policy's fingerprint). The live judge the task asks comes
from the run's crew; `Judging` names it in the key, so a different judge or a changed
threshold is a different gate, and the key is exactly the input the task is handed.

It must never hold a live object, a path or a key: every field is plain data (tasks/run/clapper.py
spells it into the key and raises on anything else).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, JsonValue, SerializerFunctionWrapHandler, model_serializer

from slate.providers.base import PanelRequest
from slate.manifests.frame_rate import Fps

if TYPE_CHECKING:  # the crew is only read here, never held: tasks/run/run.py imports the stages' inputs' modules
    from slate.tasks.run.run import Crew


class StageInput(BaseModel):
    """A stage task's one input: frozen plain data, its fields the task's cache key."""

    model_config = ConfigDict(frozen=True)


class Judging(StageInput):
    """Who judges, and by which policy."""

    judge: str                 # the judge's provider ("local", a vision provider)
    model: str
    variant: dict[str, JsonValue] = {}
    profile: str
    policy: str                # the gate policy's fingerprint (governor/gates.py)

    @property
    def judge_variant(self) -> dict[str, JsonValue]:
        """The judge's own variant, without a ladder's second judge: what one judge's verdict is
        keyed by at the governor, so turning a ladder on asks the first judge nothing again."""
        return {k: v for k, v in self.variant.items() if k != "ladder"}

    @classmethod
    def of(cls, st: Crew, profile: str) -> "Judging":
        """The run's judge and policy, from its crew."""
        variant = dict(st.judge.variant or {})
        second = st.run.lineup.second_judge
        if second is not None:   # a ladder's second judge decides some takes: part of the key, where there is one
            variant["ladder"] = second
        return cls(judge=st.judge.name, model=st.judge.model, variant=variant, profile=profile,
                   policy=st.gates.fingerprint)


class CastMember(StageInput):
    """A character as the gates look for it in a picture: its turnaround sheet and the scene's
    wardrobe colour (None when the scene gives none)."""

    turnaround_uri: str
    wardrobe_colour: str | None


class ShotCharacter(CastMember):
    """One of a shot's characters, by id."""

    id: str


class KeyframeInput(StageInput):
    """A clip take for the keyframe gate. `cast`: the scene's characters by id; `board`: a
    reference shot's start is its references laid out; `enters`: the shot's characters who walk
    in partway (looked for in the clip's last part only); `sizes`: the (width, height) its video
    model makes instead of the request's (its `clip_sizes`: Veo's 720p for a 480p draft);
    `chain_origin_uri`: for a clip started from the shot before's last frame (no end panel), the
    approved panel that frame descends from: its people are held to the bible there, not only to
    the drifted start."""

    shot: str
    take: int
    clip_uri: str
    start_uri: str
    end_uri: str | None
    request: PanelRequest
    seconds: float
    fps: Fps
    expect_motion: bool
    cast: dict[str, CastMember] = {}
    board: bool = False
    enters: tuple[str, ...] = ()
    sizes: tuple[tuple[int, int], ...] = ()
    chain_origin_uri: str = ""
    judging: Judging

    @model_serializer(mode="wrap")
    def _without_no_entrance(self, handler: SerializerFunctionWrapHandler) -> Any:
        # A shot nobody walks into keys its gate exactly as before `enters` existed: its takes'
        # verdicts stay in the cache; so does a clip whose model makes only the shot's size.
        data = handler(self)
        if isinstance(data, dict):
            for name in ("enters", "sizes", "chain_origin_uri"):   # nor one that is not chained (issue 36)
                if not data.get(name):
                    data.pop(name, None)
        return data


class ContinuityInput(StageInput):
    """A cut for the continuity gate: `previous` → `shot`. `laid_out`: the later shot's clip
    started from its own panel, not from `last_frame_uri`."""

    previous: str
    shot: str
    last_frame_uri: str
    clip_uri: str
    previous_request: PanelRequest
    request: PanelRequest
    laid_out: bool = True
    judging: Judging


class DriftInput(StageInput):
    """A shot's last frame for the drift check. `origin_uri`: the approved panel the frame
    descends from (empty or `panel_uri`: its own); `characters`: the shot's people;
    `clip_model`/`clip_weights`: CLIP, when the film has it."""

    shot: str
    last_frame_uri: str
    panel_uri: str
    threshold: float
    plate_uri: str = ""
    turnaround_uris: list[str] = []
    clip_model: str = ""
    clip_weights: str = ""
    origin_uri: str = ""
    characters: list[ShotCharacter] = []


class PanelInput(StageInput):
    """A panel take for the panel gate: the picture and the request it was drawn from."""

    shot: str
    moment: str
    take: int
    panel_uri: str
    request: PanelRequest
    judging: Judging


class ReferenceInput(StageInput):
    """A turnaround (`kind` "character") or plate ("location") for the reference gate."""

    kind: str
    ident: str
    uri: str
    description: str
    judging: Judging
