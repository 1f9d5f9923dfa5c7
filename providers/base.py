"""The capability contracts: what an image model, a video model, a judge, a voice and a store must do.

One small Protocol per capability; one module per vendor implements them. Requests are plain
frozen dataclasses of JSON-able values so the same request can be fingerprinted, written to
the ledger and replayed. Images travel as content-addressed storage URIs, never as paths.

This module must never import a vendor SDK, read a key or start a process.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from types import MappingProxyType
from pathlib import Path
from typing import Any, Generic, Literal, Protocol, TypeVar, runtime_checkable

from slate.manifests.frame_rate import Fps


@dataclass(frozen=True)
class CharacterRef:
    """A character as a panel request carries it: the locked block plus its turnaround."""

    id: str
    description: str
    turnaround_uri: str
    wardrobe: str | None = None
    wardrobe_colour: str | None = None  # "#rrggbb" hint; the local provider recolours with it


@dataclass(frozen=True)
class PanelRequest:
    """One storyboard panel to draw (the start or end frame of a shot)."""

    prompt: str
    location_id: str
    plate_uri: str
    characters: tuple[CharacterRef, ...]
    framing: str
    angle: str
    movement: str
    width: int
    height: int
    seed: int
    moment: Literal["start", "end"] = "start"
    override_uri: str | None = None  # a human composite to polish instead of drawing anew
    # Issue 58: the continuity ledger's state at this moment, as data a painter can draw by and a
    # judge hold the panel to (the prompt says the same in words): {"props": {name: {state, at,
    # side, colour, present}}, "blocking": {character: {side, facing}}, "light": {time, key,
    # temperature}}, and for an end panel "was": each changed thing's fields before the shot.
    # None for a film with no ledger: then it is left out of the request as stored and of its
    # fingerprint, so such a film's panels keep their keys.
    continuity: Mapping[str, Any] | None = None

    def fingerprint(self) -> str:
        return fingerprint(self.as_dict())

    def as_dict(self) -> dict[str, Any]:
        """The request as stored (plans, receipts, the judge's inputs): no `continuity` key when
        the film keeps no ledger."""
        d = asdict(self)
        if d["continuity"] is None:
            del d["continuity"]
        return d


@dataclass(frozen=True)
class ReferenceRequest:
    """One version of a bible reference to draw (the bible workshop, tasks/workshop/bible.py): a character's
    turnaround sheet or a location's plate, from the locked description (no parent), or one
    edit of a parent version — `view` redraws one view of a sheet, `instruction` is one edit."""

    kind: Literal["character", "location"]
    ident: str
    description: str
    prompt: str
    width: int
    height: int
    seed: int
    parent_uri: str | None = None
    view: str | None = None
    instruction: str | None = None

    def fingerprint(self) -> str:
        return fingerprint(asdict(self))


#: The height of each resolution a clip is asked at (rate cards price by these names).
HEIGHTS = {"480p": 480, "720p": 720, "1080p": 1080}


def at_resolution(request: ClipRequest, resolutions: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    """The (width, height) a clip of `request`'s shape comes at in each of `resolutions` other
    than its own: what a model asked another resolution (or none) makes instead. A video
    generator says so by a `clip_sizes(request)` method; the keyframe gate holds the clip to
    the shot's size or one of these, and to nothing else (media/motion.py format_score)."""
    out = []
    for r in resolutions:
        if r in HEIGHTS and r != request.resolution:
            h = HEIGHTS[r]
            out.append((round(h * request.width / max(1, request.height) / 2) * 2, h))
    return tuple(out)


@dataclass(frozen=True)
class ClipRequest:
    """One image-to-video job: the approved start panel (and end panel) animated — or, for a
    reference shot, no frame at all (`start_uri` empty) and the `references`.

    `references`: the images the video model is given besides frames, in the order its prompt
    names them, each {"uri", "kind" ("character" | "location" | "extra"), "name"} and, for the
    local provider's placing, a character's "colour" and the location's "framing"/"angle".

    `audio`: the film-maker pays for the model's own sound (the profile's `model_audio`). A model
    that takes `generate_audio` is sent it, true or false; one that always makes sound, or
    never does, is sent nothing (providers/spec.py AUDIO_WAYS)."""

    prompt: str
    start_uri: str
    end_uri: str | None
    seconds: float
    width: int
    height: int
    fps: Fps                # as the film keeps it (23.976): see each provider for what it is sent
    resolution: str  # "480p" | "720p" | "1080p": what rate cards price by
    movement: str
    camera_fixed: bool
    seed: int
    references: tuple[dict[str, Any], ...] = ()
    audio: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "references", tuple(dict(r) for r in self.references))

    @property
    def has_frame(self) -> bool:
        return bool(self.start_uri)

    def as_dict(self) -> dict[str, Any]:
        """Its fields as a task's input: a clip without references, or without sound asked,
        keeps the cache key and fingerprint it always had."""
        fields = asdict(self)
        if not self.references:
            del fields["references"]
        if not self.audio:
            del fields["audio"]
        return fields

    def fingerprint(self) -> str:
        return fingerprint(self.as_dict())


@dataclass(frozen=True)
class SpeechRequest:
    """One line of dialogue to speak: its text, in a provider's voice (`voice`: the provider's voice
    name or id; `settings`: that voice's settings, JSON-able), with the line's delivery words
    (manifests/dialogue.py DELIVERY), and a seed where the model takes one (the take's)."""

    text: str
    voice: str
    settings: dict[str, Any] = field(default_factory=dict)
    delivery: tuple[str, ...] = ()
    seed: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "settings", dict(self.settings))
        object.__setattr__(self, "delivery", tuple(self.delivery))

    def fingerprint(self) -> str:
        return fingerprint(asdict(self))


@dataclass(frozen=True)
class SpokenLine:
    """What a voice gave back for one line: a WAV (16-bit PCM mono), its length in seconds as
    measured from the samples, and the characters of text the provider was sent (what vendors bill
    by). `usage`: what the provider reports it used, as governor Usage fields (kind "speech":
    characters, seconds, input/output tokens), when it reports anything; the governor prices the
    call by it, else by the estimate."""

    wav: bytes = field(repr=False)
    seconds: float
    characters: int
    usage: dict[str, Any] | None = None


@dataclass(frozen=True)
class MusicRequest:
    """A cue to compose (issue 59): `seconds` long at `tempo` BPM, in `key` `mode`, played by
    `instruments`, at each `intensity` level from its time on ((seconds into the cue, soft |
    medium | full)), with an accent at each of `hits` (seconds into the cue), from `seed`. `prompt`:
    the brief in a composer's words, what a text-prompted model is sent (tasks/edit/music.py writes it
    from the fields, so the two never disagree)."""

    seconds: float
    tempo: float
    mode: str = "minor"
    key: str = "A"
    instruments: tuple[str, ...] = ()
    intensity: tuple[tuple[float, str], ...] = ()
    hits: tuple[float, ...] = ()
    seed: int = 0
    prompt: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "instruments", tuple(self.instruments))
        object.__setattr__(self, "intensity", tuple((float(t), str(v)) for t, v in self.intensity))
        object.__setattr__(self, "hits", tuple(float(h) for h in self.hits))

    def fingerprint(self) -> str:
        return fingerprint(asdict(self))


@dataclass(frozen=True)
class MadeCue:
    """What a music model gave back: a WAV (16-bit PCM), its length as measured from the samples,
    and what the provider reports it used (governor Usage fields of kind "music": seconds), when
    it reports anything."""

    wav: bytes = field(repr=False)
    seconds: float
    usage: dict[str, Any] | None = None


@dataclass(frozen=True)
class FaceCue:
    """Whose mouth a shot's speech moves, and when (issue 38): the speaker's head in the clip's
    first frame, as fractions of the frame's width and height (its centre), and the seconds of
    the clip their lines span. A lip-sync model that finds faces itself may ignore `x`/`y`; one
    that takes a face to follow (the local painter) animates the face nearest them."""

    speaker: str
    x: float
    y: float
    start: float
    end: float


@dataclass(frozen=True)
class LipSyncRequest:
    """A clip and the speech of its shot, for a lip-sync model (issue 38): `clip_uri` the clip
    that passed its keyframe gate, `speech_uri` a WAV of the shot's length holding its on-camera
    lines where the cut places them (16-bit PCM mono), `faces` whose mouths they move. The
    answer is the same clip (size, frame rate, frame count) with those mouths moving; its sound,
    if any, is not kept (the cut mixes the lines itself)."""

    clip_uri: str
    speech_uri: str
    faces: tuple[FaceCue, ...]
    width: int
    height: int
    fps: Fps                # as the film keeps it (23.976): see each provider for what it is sent
    seconds: float
    seed: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "faces", tuple(self.faces))

    def fingerprint(self) -> str:
        return fingerprint(asdict(self))


@dataclass(frozen=True)
class ClipPassRequest:
    """A pass over a finished clip (issue 41): `kind` "faceswap" — the face of one character
    (`character`) replaced by their approved face (`face_uri`, a picture of it), the one of the
    frame's faces at `face_index` counted left to right; or "upscale" — the clip made `width` x
    `height`. The answer is the same clip otherwise: its frame rate, its frame count, its motion;
    a face swap also its size. `clip_uri` is the clip as it stands (content-addressed)."""

    kind: str               # the pass's name: "faceswap", "upscale", or a declared pass's
    clip_uri: str
    width: int
    height: int
    fps: Fps
    seconds: float
    seed: int | None = None
    character: str | None = None
    face_uri: str | None = None
    face_index: int | None = None

    def fingerprint(self) -> str:
        return fingerprint(asdict(self))


JobState = Literal["queued", "running", "succeeded", "failed", "canceled"]


@dataclass(frozen=True)
class JobStatus:
    state: JobState
    progress: float = 0.0
    error: str | None = None
    cost: str | None = None  # the provider's own figure, as a decimal string, when it gives one
    usage: dict[str, Any] | None = None  # what it reports it used, as governor Usage fields (priced by the rate card)
    refused: bool = False      # ended "failed" because moderation refused the input or output


@dataclass(frozen=True)
class Score:
    """One judged criterion with the reason a human can read. `role`: "block" (a failing score
    fails the gate) or "warn" (it is reported, the gate still passes) — set by the gate policy."""

    name: str
    value: float
    threshold: float
    passed: bool
    reason: str
    role: str = "block"


#: The criterion a judge fails when its inputs are not something it can read.
JUDGEABLE = "judgeable"


@dataclass(frozen=True)
class Verdict:
    """A gate's structured answer: it passes only when every criterion passes.

    A judge handed art it cannot read (a reference drawn another way, a panel of the wrong
    size) answers with `Verdict.unjudgeable`: not passed, and `cannot_judge` set, so a take
    loop can tell "judged and failed" (try again) from "cannot judge" (ask a human)."""

    scores: tuple[Score, ...]
    judge: str
    #: what the judge reported it used (governor Usage fields: kind, input_tokens, output_tokens)
    usage: dict[str, Any] | None = None

    @classmethod
    def unjudgeable(cls, judge: str, reason: str) -> "Verdict":
        return cls((Score(JUDGEABLE, 0.0, 1.0, False, f"cannot judge: {reason}"),), judge)

    @property
    def passed(self) -> bool:
        return all(s.passed or s.role == "warn" for s in self.scores)

    @property
    def cannot_judge(self) -> bool:
        return any(s.name == JUDGEABLE and not s.passed for s in self.scores)

    @property
    def quality(self) -> float:
        """One number for "is this take better than the last": the mean margin over thresholds."""
        if not self.scores:
            return 0.0
        return sum(s.value - s.threshold for s in self.scores) / len(self.scores)

    def reasons(self) -> list[str]:
        return [f"{s.name}: {s.reason}" for s in self.scores if not s.passed and s.role != "warn"]

    def warnings(self) -> list[str]:
        return [f"{s.name}: {s.reason}" for s in self.scores if not s.passed and s.role == "warn"]

    def to_dict(self) -> dict[str, Any]:
        return {"judge": self.judge, "passed": self.passed, "cannot_judge": self.cannot_judge,
                "quality": round(self.quality, 4), "scores": [asdict(s) for s in self.scores],
                "usage": self.usage}


@runtime_checkable
class ModelClient(Protocol):
    """What every capability's client says of itself: its provider's name, its model, and its
    variant — every setting besides the request that changes what it makes (JSON-able; empty when
    none): part of the cache key and of the ledger's fingerprint."""

    name: str
    model: str
    variant: dict[str, Any]


@runtime_checkable
class ImageGenerator(ModelClient, Protocol):
    def generate_panel(self, request: PanelRequest, *, client_ref: str | None = None) -> bytes:
        """Return PNG bytes. A paid, synchronous call: never retried blindly. `client_ref` is
        our call id; a provider that keeps results by it also offers `recover(client_ref)`,
        which returns the bytes of a call whose answer a crashed run never received."""


@runtime_checkable
class PanelJobs(ImageGenerator, Protocol):
    """An image model whose panels are jobs the governor follows as it follows a clip (Replicate,
    fal): the job id is in the ledger before the first poll, so a panel is never lost nor paid
    for twice. `generate_panel` still does it all in one call, for callers outside the governor."""

    poll_interval: float      # seconds between polls of a panel job
    expected_seconds: float   # how long one panel job is expected to take (its spec's job_seconds)

    def submit_panel(self, request: PanelRequest, *, client_ref: str) -> str: ...

    def poll(self, job_id: str) -> JobStatus: ...

    def download_panel(self, job_id: str, dest: Path, width: int, height: int) -> Path:
        """The finished job's picture, checked and fitted to the panel's size, at `dest`."""

    def cancel(self, job_id: str) -> None:
        """As Jobs.cancel."""

    def find_job(self, client_ref: str, since: datetime | None = None, *,
                 request: PanelRequest | None = None) -> str | None:
        """As Jobs.find_job, for a panel (`request`: what was asked, where the vendor
        is searched by it)."""


@runtime_checkable
class ReferencePainter(ImageGenerator, Protocol):
    """An image model that also draws the bible's references (the workshop, tasks/workshop/bible.py)."""

    def generate_reference(self, request: ReferenceRequest, *, client_ref: str | None = None) -> bytes: ...


#: What a job is asked (a ClipRequest, a LipSyncRequest, a ClipPassRequest): only ever handed in.
Req = TypeVar("Req", contravariant=True)


@runtime_checkable
class Jobs(ModelClient, Protocol[Req]):
    """A model whose answers are jobs (a clip, a lip-sync, a face swap, an upscale): submitted,
    polled, downloaded, cancelled and found again after a crash, all the same way whatever is asked.
    The governor follows one through its job call (governor/chokepoint.py `Governor.job`)."""

    poll_interval: float      # seconds between polls of a job
    #: how long one job is expected to take, queue included: its spec's `job_seconds` for the
    #: model (and what its own settings add). Past `spec.job_deadline` of it (or of slate.toml's
    #: figure) the governor cancels the job and its shot is escalated.
    expected_seconds: float

    def submit(self, request: Req, *, client_ref: str) -> str:
        """Start the job and return the provider's job id. `client_ref` is our call id, sent
        where the vendor keeps it, so `find_job` can re-attach after a crash."""

    def poll(self, job_id: str) -> JobStatus: ...

    def download(self, job_id: str, dest: Path) -> Path:
        """Write the finished job's file to `dest` (the caller renames it into place)."""

    def cancel(self, job_id: str) -> None:
        """Ask the provider to stop the job: returns once the provider took the request (the
        job's next poll says how it ended); raises NotImplementedError where the provider has no
        documented way to cancel a job, and a ProviderError when it refused or did not answer."""

    def find_job(self, client_ref: str, since: datetime | None = None, *,
                 request: Req | None = None) -> str | None:
        """The job id submitted with `client_ref` (our intent written at `since`), if the vendor
        can tell — by our id, or by what was asked (`request`, where the vendor is searched by
        it); None when it finds none; raise NotImplementedError when it cannot look (then an
        intent without a job id is unknown), or NotReceived when its own book proves the request
        never reached it."""


@runtime_checkable
class VideoGenerator(Jobs[ClipRequest], Protocol):
    """A video model: a clip request in, a clip out, as a job."""


@runtime_checkable
class LipSyncer(Jobs[LipSyncRequest], Protocol):
    """A lip-sync model (issue 38): a clip and its speech in, the clip with the speaker's mouth
    moving to it out, as a job (the hosted ones run for minutes)."""


@runtime_checkable
class ClipPass(Jobs[ClipPassRequest], Protocol):
    """A model that passes over a finished clip (issue 41: a face swap, an upscale): a clip in,
    the clip changed out, as a job."""


@runtime_checkable
class SpeechGenerator(ModelClient, Protocol):
    """A voice: one line of text spoken in one of the provider's voices, synchronously."""

    def speak(self, request: SpeechRequest, *, client_ref: str | None = None) -> SpokenLine:
        """The line spoken, as a WAV with its measured seconds and billed characters. A paid,
        synchronous call: never retried blindly. `client_ref` is our call id; a provider that keeps
        answers by it also offers `recover(client_ref)` (KeepsSpeech)."""


@runtime_checkable
class KeepsSpeech(Protocol):
    """A voice that keeps what it spoke by our call id (the local one): a line whose answer a
    crashed run never received is fetched, not paid for again."""

    def recover(self, client_ref: str) -> SpokenLine | None: ...


@runtime_checkable
class MusicGenerator(ModelClient, Protocol):
    """A composer: one cue made to a brief, synchronously (issue 59)."""

    def compose(self, request: MusicRequest, *, client_ref: str | None = None) -> MadeCue:
        """The cue, as a WAV with its measured seconds. A paid, synchronous call: never retried
        blindly. `client_ref` is our call id; a composer that keeps what it made by it also
        offers `recover(client_ref)` (KeepsMusic)."""


@runtime_checkable
class KeepsMusic(Protocol):
    """A composer that keeps what it made by our call id (the local one): a cue whose answer a
    crashed run never received is fetched, not made and paid for again."""

    def recover(self, client_ref: str) -> MadeCue | None: ...


@runtime_checkable
class FindsSpeech(Protocol):
    """A voice whose vendor keeps every line it spoke where it can be found by what was asked
    (ElevenLabs' generation history), though not by our call id: a line whose answer was lost is
    looked up — the same request, made after `since` (when the call was sent) — before it is asked
    again. None: nothing of the kind was made. A lookup is free and never speaks."""

    def find_line(self, request: SpeechRequest, since: datetime) -> SpokenLine | None: ...


@runtime_checkable
class Judge(ModelClient, Protocol):
    """A judge scores panels and keyframes. A vision judge may also offer
    `judge_continuity(last_frame, first_frame, previous, request, refs)` (a cut) and
    `judge_turnaround(sheet, character_id, description)` (a reference sheet): ContinuityJudge,
    VisionJudge; a judge without them leaves those gates to slate's own measures."""

    def judge_panel(self, panel: Path, request: PanelRequest, refs: ReferenceImages, *,
                    client_ref: str | None = None) -> Verdict: ...

    def judge_keyframes(self, frames: dict[str, Path], start_panel: Path, end_panel: Path | None,
                        request: PanelRequest, refs: ReferenceImages, *, client_ref: str | None = None) -> Verdict: ...


@runtime_checkable
class ContinuityJudge(Judge, Protocol):
    """A judge that also holds a cut: the last frame before it against the first after it."""

    def judge_continuity(self, last_frame: Path, first_frame: Path, previous: PanelRequest, request: PanelRequest,
                         refs: ReferenceImages, *, client_ref: str | None = None) -> Verdict: ...


@runtime_checkable
class VisionJudge(ContinuityJudge, Protocol):
    """A vision model as judge: cuts, and a character's turnaround sheet against its words."""

    def judge_turnaround(self, sheet: Path, character_id: str, description: str, *,
                         client_ref: str | None = None) -> Verdict: ...


@runtime_checkable
class ReadsReferences(Protocol):
    """A judge that reads only some art (the local judge: what the local provider draws, by its
    geometry) says, before a run pays for anything, why it could not read a reference. Each
    answer is None when it can read it, else the reason as the judge would give it. A judge
    shown the images as they are (a vision model) does not offer this: it reads any art."""

    def unreadable_turnaround(self, sheet: Path, character_id: str,
                              wardrobe_colours: tuple[str | None, ...] = ()) -> str | None:
        """Why the judge could not read `sheet` as `character_id`'s turnaround — also dressed in
        each of `wardrobe_colours`, the scene's wardrobe it will be judged in."""

    def unreadable_plate(self, plate: Path, location_id: str, size: tuple[int, int]) -> str | None:
        """Why the judge could not read `plate` framed for a panel of `size` (width, height)."""


@runtime_checkable
class LaysOutReferences(Protocol):
    """A painter that lays a reference clip's references out as one picture, free and offline (the
    local provider's board: the first frame it renders such a clip from). A reference shot's
    board stands where a panel would for its gates and reports; it is never sent to a model."""

    def reference_board(self, request: ClipRequest) -> bytes:
        """The board of `request`'s references, as PNG bytes."""


#: A capability's name: a key of a spec's `offers`, a field of ProviderSpec holding its factory (a
#: declared pass's: its `passes` entry), a rate card's kind and a priced call's (governor Usage).
#: slate's own are these; a pass declared beside them (`declare_capability`) adds its own name.
CapabilityName = str
#: slate's own capabilities' names (the type checker's list; a declared pass's name is a str too).
OwnCapability = Literal["image", "video", "judge", "speech", "lipsync", "faceswap", "upscale", "music"]
#: What a capability's client is (its Protocol).
Made_co = TypeVar("Made_co", covariant=True)


@dataclass(frozen=True)
class Capability(Generic[Made_co]):
    """One capability, by the name a spec's `offers` and its factory field carry (`"video"`), typed
    by the Protocol its clients keep: `registry.build(VIDEO, ...)` is a VideoGenerator, and
    `run.crew.service(VIDEO, ...)` too. `timed`: its models run as jobs with an expected duration
    (`job_seconds`); `passes`: it passes over a finished clip (issue 41: a ClipPass; its stage is
    declared in tasks/shot/clip_passes.py); `clip`: what it makes is a clip, priced by its seconds (a
    rate card's clip kinds); `own_default`: a pass whose model, when no setting names one, is the
    run's provider's own where it offers one (the face swap), else none until a person names one."""

    name: CapabilityName
    timed: bool = False
    passes: bool = False
    clip: bool = False
    own_default: bool = False

    def __str__(self) -> str:
        return self.name


IMAGE: Capability[ImageGenerator] = Capability("image", timed=True)
VIDEO: Capability[VideoGenerator] = Capability("video", timed=True, clip=True)
JUDGE: Capability[Judge] = Capability("judge")
SPEECH: Capability[SpeechGenerator] = Capability("speech")
LIPSYNC: Capability[LipSyncer] = Capability("lipsync", timed=True, clip=True)
FACESWAP: Capability[ClipPass] = Capability("faceswap", timed=True, passes=True, clip=True, own_default=True)
UPSCALE: Capability[ClipPass] = Capability("upscale", timed=True, passes=True, clip=True)
MUSIC: Capability[MusicGenerator] = Capability("music")

#: Every capability, by name: slate's own, then each pass declared beside them, in order.
_DECLARED: dict[str, Capability[Any]] = {c.name: c for c in (IMAGE, VIDEO, JUDGE, SPEECH, LIPSYNC, FACESWAP, UPSCALE,
                                                              MUSIC)}
_CLIP_PASSES: dict[str, Capability[ClipPass]] = {c.name: c for c in (FACESWAP, UPSCALE)}


def declare_capability(capability: Capability[Made_co]) -> Capability[Made_co]:
    """Add a capability beside slate's own — a pass over the clip (`passes=True`, a ClipPass's),
    declared with its stage (tasks/shot/clip_passes.py `declare_pass`) — so that a provider may offer
    models of it, the rate card price them and a run's lineup choose one. Declaring the same one
    twice is one declaration; another under a name already taken is an error."""
    known = _DECLARED.get(capability.name)
    if known is not None and known != capability:
        raise ValueError(f"capability {capability.name!r} is already declared as {known!r}")
    if not capability.passes:
        raise ValueError(f"capability {capability.name!r}: only a pass over the clip (passes=True) is declared "
                         f"beside slate's own")
    _DECLARED[capability.name] = capability
    _CLIP_PASSES[capability.name] = capability  # type: ignore[assignment]
    return capability


class _Names(Sequence[str]):
    """The names of the declared capabilities that `keep` keeps, read when asked (a pass declared
    later is among them): a tuple's reading — `in`, iteration, `len`, `", ".join(...)`."""

    def __init__(self, keep: Callable[[Capability[Any]], bool]) -> None:
        self._keep = keep

    def _now(self) -> tuple[str, ...]:
        return tuple(n for n, c in _DECLARED.items() if self._keep(c))

    def __getitem__(self, i: Any) -> Any:
        return self._now()[i]

    def __len__(self) -> int:
        return len(self._now())

    def __contains__(self, name: object) -> bool:
        return name in self._now()

    def __eq__(self, other: object) -> bool:
        return tuple(self) == (tuple(other) if isinstance(other, (tuple, list, _Names)) else other)

    def __hash__(self) -> int:
        return hash(self._now())

    def __repr__(self) -> str:
        return repr(self._now())


#: Every capability a spec may declare (a field of ProviderSpec each, holding its factory; a
#: declared pass's in its `passes`).
EVERY: tuple[Capability[object], ...] = tuple(_DECLARED.values())   # slate's own
CAPABILITIES: Sequence[str] = _Names(lambda c: True)
#: The capabilities that pass over a finished clip (issue 41): a face swap, an upscale, and any
#: declared beside them, by name.
CLIP_PASSES: Mapping[str, Capability[ClipPass]] = MappingProxyType(_CLIP_PASSES)
PASSES: Sequence[str] = _Names(lambda c: c.passes)
#: The capabilities whose models run as jobs and declare how long one takes (`job_seconds`).
TIMED: Sequence[str] = _Names(lambda c: c.timed)
#: The capabilities whose calls make a clip, priced by its seconds.
CLIPS: Sequence[str] = _Names(lambda c: c.clip)


def capability(name: str) -> Capability[Any] | None:
    """The declared capability called `name`, or None."""
    return _DECLARED.get(name)


def withdraw_capability(name: str) -> None:
    """Take back a pass declared beside slate's own (a test's toy, at its end); slate's own stay."""
    if name in {c.name for c in EVERY}:
        raise ValueError(f"{name!r} is one of slate's own capabilities")
    _DECLARED.pop(name, None)
    _CLIP_PASSES.pop(name, None)


@dataclass(frozen=True)
class ReferenceImages:
    """Local files of the locked references a judge compares against."""

    plate: Path
    turnarounds: dict[str, Path] = field(default_factory=dict)


@dataclass(frozen=True)
class DoctorFinding:
    """One line of `slate doctor` about a provider: what was checked, whether it is fine, and
    whether a run may go on without it being fixed."""

    provider: str
    check: str       # key | key valid | credit | models | slots
    ok: bool
    text: str
    blocking: bool = True


@runtime_checkable
class Storage(Protocol):
    """Named project keys (the bible, overrides) and content-addressed artifacts (`cas://`)."""

    #: the film's working folder on this machine: the project itself, or for a film in a bucket
    #: the folder its artifacts are cached in (the local provider keeps its jobs under it)
    root: Path

    def list_keys(self, prefix: str = "") -> list[str]: ...

    def read_key(self, key: str, max_bytes: int | None = None) -> bytes:
        """A key's bytes; with ``max_bytes``, a bigger file is refused (a ValueError naming the
        key) before it is read. A key that is not a readable file is a ValueError too."""

    def key_size(self, key: str) -> int | None:
        """Bytes at the key, None when nothing is there (a HEAD, for object storage)."""

    def key_exists(self, key: str) -> bool: ...

    def uri_for(self, digest: str, suffix: str) -> str:
        """The URI of bytes whose sha256 is `digest`, before they are stored (a pure function)."""

    def put_bytes(self, data: bytes, suffix: str) -> str: ...

    def put_file(self, path: Path, suffix: str) -> str: ...

    def exists(self, uri: str) -> bool: ...

    def get_bytes(self, uri: str) -> bytes: ...

    def open_local(self, uri: str) -> Path:
        """A local file holding the artifact's bytes (the file itself for local storage)."""


@runtime_checkable
class BucketStorage(Storage, Protocol):
    """A film's store that other workers share (object storage): a named key is written by
    uploading a file, not by writing into the project folder."""

    def put_key_file(self, key: str, path: Path) -> bool:
        """Store a file at its key; False when the same content is already there."""


def canonical_json(value: object) -> str:
    """The one JSON spelling used for fingerprints and cache keys: sorted, compact, ASCII."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)


def fingerprint(value: object) -> str:
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()
