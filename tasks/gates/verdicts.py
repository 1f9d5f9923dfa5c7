"""What the gate tasks return: typed verdicts and readings, the stage boundary's results.

Each gate (tasks/gates/gate.py panel gate, tasks/gates/keyframes.py, tasks/gates/continuity.py,
tasks/gates/reference_gate.py) hands its caller a model of this module instead of a dict read by
string keys; the drift check hands a `DriftReading`. The models are pydantic so a cached
result survives Prefect's JSON result serializer as the model itself (it writes the class's
qualified name beside the data and validates it back): a verdict read from the cache is the
same type as a fresh one.

The verdict is the gate policy's decision (governor/gates.py `GatePolicy.apply`): this module
only gives it a shape. It must never decide anything, call a judge or read storage.
"""
from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict, JsonValue

from slate.governor.gates import failing, warned

#: A score as a judge, media/'s measures or slate's content check give it and the gate policy
#: holds it (governor/gates.py `GatePolicy.apply`): name, value, threshold, passed, reason, role,
#: and the figures a measure reports beside them. JSON by field name until `GateScore` holds it.
ScoreFields = dict[str, Any]
#: A verdict before the gate policy held it, or as `GatePolicy.apply` hands it back: judge,
#: scores (`ScoreFields`), usage, and a gate's own fields. JSON until `GateVerdict.held` makes it one.
VerdictFields = dict[str, Any]


class GateScore(BaseModel):
    """One criterion as held to the policy. Extra figures a measure reports beside its value
    (a content check's readings, say) are kept as they came."""

    model_config = ConfigDict(extra="allow")

    name: str
    value: float
    threshold: float
    passed: bool
    reason: str = ""
    role: str = "block"


class GateVerdict(BaseModel):
    """A gate's verdict held to the policy: whether it passed, every score, and the judge's call
    (`call_id`: the ledger row of the paid verdict; None when no paid judge was asked)."""

    judge: str | None = None
    passed: bool
    quality: float = 0.0
    scores: list[GateScore] = []
    unjudged: list[str] = []            # a rehearsal let it through: what the judge could not read
    cannot_judge: bool = False          # the judge said it could not read its inputs
    asked: bool = True                  # False: a blank picture, no judge was shown it
    usage: dict[str, JsonValue] | None = None   # what the judge reported it used
    policy: dict[str, str] = {}                 # what it was held to: stage, judge kind, profile, fingerprint
    call_id: str | None = None

    @classmethod
    def held(cls, applied: VerdictFields, **extra: object) -> Self:
        """The model of a `GatePolicy.apply` result (with this gate's own fields in `extra`)."""
        return cls.model_validate({**applied, **extra})

    @property
    def scores_dicts(self) -> list[dict[str, Any]]:
        return [s.model_dump() for s in self.scores]

    @property
    def failing(self) -> list[str]:
        """The blocking scores below their thresholds, with the judge's reasons."""
        return failing(self)

    @property
    def warnings(self) -> list[str]:
        """The "warn" scores below their thresholds: reported, not blocking."""
        return warned(self)

    @property
    def lowest_block(self) -> float | None:
        """The lowest blocking score's value (a cut's continuity figure), None without one."""
        return min((s.value for s in self.scores if s.role == "block"), default=None)


class PanelVerdict(GateVerdict):
    """The panel gate's verdict on one panel take."""


class KeyframeVerdict(GateVerdict):
    """The keyframe gate's verdict on a clip, with its first, middle and last frames (URIs)."""

    keyframes: dict[str, str] = {}


class ContinuityVerdict(GateVerdict):
    """The verdict on a cut: `previous` → `shot`, and the later shot's first frame (URI)."""

    previous: str
    shot: str
    first_frame: str


class ReferenceVerdict(GateVerdict):
    """A turnaround's or plate's verdict at the reference gate; `key`, `file` and `field` name
    where the scene's manifests use it (set by `hold_references`)."""

    kind: str
    ident: str
    uri: str
    key: str = ""
    file: str = ""
    field: str = ""


class Presence(BaseModel):
    """The character whose colours the frame kept least of, and the share kept."""

    character: str
    kept: float


class ClipSimilarity(BaseModel):
    """CLIP similarities of the last frame to the panel, the plate and each turnaround."""

    model: str
    panel: float
    plate: float | None = None
    turnarounds: list[float] = []


class DriftReading(BaseModel):
    """The drift check of one shot's last frame (tasks/gates/drift.py): every figure, the drift (the
    worst of them) and whether the next chained shot re-anchors."""

    shot: str
    drift: float
    threshold: float
    reanchor: bool
    ssim: float
    sharpness: float
    colour_distance: float
    hue_shift: float
    cast: float
    chroma: float
    colour_to_plate: float | None = None
    presence: Presence | None = None
    clip: ClipSimilarity | None = None
    content: str | None = None          # why the last frame has no content (drift 1.0)
    bible: dict[str, Any] | None = None  # each character's part against the bible, light, framing (tasks/gates/drift.py)
    reason: str | None = None           # what moved most, in words ("nina's hair hue +28° against the turnaround")

    def as_dict(self) -> dict[str, Any]:
        """Every figure as the scene's result has always shown it (`content` only when set)."""
        return self.model_dump(exclude={"content"} if self.content is None else set())
