"""What a provider module says about itself: one `PROVIDER = ProviderSpec(...)` per vendor.

A provider is one module. Its `PROVIDER` names it, says what it offers per capability (image,
video, judge, speech: the models and each profile's default), the root its API paths hang from (the
base-URL setting's default), the environment variables its key is read from, how each video
model makes sound (`audio`), how an HTTP error answer of its API becomes the error tree, the free
checks `slate doctor` runs, how long one job of each model it runs as a job is expected to take
(`job_seconds`), the voices its speech models have by name (`voices`), and the factories that
build its clients, and — for a provider that runs files the film keeps (ComfyUI's workflows) — what
`slate check` says of those files (`film_problems`) and what `slate doctor` asks its server of them
(`film_doctor`). providers/registry.py discovers the specs and derives from
them everything that was once listed by hand: the catalogue, the base URLs, the key variables,
the doctor's walk, the run form's provider choices. A model's price is not here: it is a row of
the rate card (governor/rates.toml, a film's own rates.toml), and a test holds every model a
spec offers to its row.

Factories are called with keyword arguments only: `storage`, `base_url` (None for a provider
that reaches no network) and `settings`, the provider's own settings (its `settings` model, or
None): the core knows no provider's knobs — the local provider's latency and fault rehearsal are
its own settings, declared in its module.

It must never import a vendor's SDK, read a key, or hold a price.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Protocol, TypedDict

from slate.providers.base import (ClipPass, DoctorFinding, ImageGenerator, Judge, LipSyncer, Made_co, MusicGenerator,
                                  SpeechGenerator, Storage, VideoGenerator)
# The capabilities, said in providers/base.py (the governor prices by their names): re-exported here,
# beside the factories a spec declares for them.
from slate.providers.base import CAPABILITIES as CAPABILITIES, CLIP_PASSES as CLIP_PASSES, EVERY as EVERY
from slate.providers.base import FACESWAP as FACESWAP, IMAGE as IMAGE, JUDGE as JUDGE, LIPSYNC as LIPSYNC
from slate.providers.base import MUSIC as MUSIC
from slate.providers.base import PASSES as PASSES, SPEECH as SPEECH, TIMED as TIMED, UPSCALE as UPSCALE, VIDEO as VIDEO
from slate.providers.base import Capability as Capability

if TYPE_CHECKING:
    import httpx
    from pydantic import BaseModel

    from slate.manifests.load import LoadedFilm, Problem
    from slate.providers.errors import ProviderError

from slate.errors import SlateError


NAMINGS = ("tags", "typed", "order")
#: How a video model makes its sound (PROVIDERS.md): "field" — it takes `generate_audio` and makes
#: sound only when that is true (so the field is always sent, true or false: Seedance 2.0's
#: default is true, and an unasked default is money spent nobody chose); "always" — it makes its
#: sound whatever is asked and takes no such field (Veo through the Gemini Developer API, whose
#: SDK raises ValueError client-side for `generate_audio`). A model not named makes no sound.
AUDIO_WAYS = ("field", "always")
PROFILES = ("draft", "final", "hero")
#: A job is given this many times its model's expected duration (`job_seconds`, or slate.toml's
#: `[job_seconds]` for that model) before slate calls it stuck: cancels it at the provider and
#: escalates its shot. Three, because a provider's queue on a busy day doubles a job's time, and a
#: job cancelled too early is paid for and lost.
STUCK_AFTER = 3.0
#: What a job of a model whose provider declares no `job_seconds` for it is expected to take (a
#: plugin written before the figure existed): a clip of minutes, as the built-in video models'.
UNDECLARED_JOB_SECONDS = 300.0
#: A provider's name goes into `SLATE_<NAME>_BASE_URL`, `<name>_base_url` and `<name>:<model>`:
#: lowercase letters and digits only, so each of those spellings reads back one way.
NAME = re.compile(r"[a-z][a-z0-9]{1,30}")
_URL = re.compile(r"^https?://[^/@\s]+(/\S*)?$")
#: A model a film names itself (an Offer's `own` pattern: a ComfyUI workflow's file name without
#: its suffix): lowercase letters, digits, `-` and `_` — a name that is a file in one folder, never a
#: path (no `/`, no `.`), and that reads back one way in `provider:model` and a rate card's key.
OWN_MODEL = re.compile(r"[a-z0-9][a-z0-9_-]{0,79}")
#: A model id as a vendor or a model server writes it (an Offer's `names` where the model is not a
#: file of the film's): `Qwen/Qwen2.5-VL-7B-Instruct`, `qwen2.5vl:7b`, `openai/gpt-4o-mini` —
#: letters of either case, digits and `._:/@+-`, never a space, a quote or a `..` path step.
MODEL_ID = re.compile(r"(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,199}")


def job_deadline(expected_seconds: float) -> float:
    """The seconds a job expected to take `expected_seconds` is waited for before it is stuck."""
    return STUCK_AFTER * expected_seconds


class SpecError(SlateError, ValueError):
    """A provider module's PROVIDER is not a spec the registry can use (said on discovery)."""


# -- what a spec's callables are called with (the registry calls them; see the module docstring) --
class Factory(Protocol[Made_co]):
    """A capability's factory: the client of one model, built with the store its files are read
    from and kept in (a video, lip-sync or pass model's jobs; a painter's panels)."""

    def __call__(self, model: str, *, storage: Storage, base_url: str | None,
                 settings: BaseModel | None) -> Made_co: ...


class StorelessFactory(Protocol[Made_co]):
    """A factory whose client may be built without a store: a judge (it reads only the files it
    is handed), a voice (a line is spoken from text alone; the local voice keeps what it spoke
    under the store's folder when it has one)."""

    def __call__(self, model: str, *, storage: Storage | None, base_url: str | None,
                 settings: BaseModel | None) -> Made_co: ...


ImageFactory = Factory[ImageGenerator]
VideoFactory = Factory[VideoGenerator]
JudgeFactory = StorelessFactory[Judge]
SpeechFactory = StorelessFactory[SpeechGenerator]
LipSyncFactory = Factory[LipSyncer]
ClipPassFactory = Factory[ClipPass]
#: a composer keeps what it made under the store's folder when it has one (the local composer)
MusicFactory = StorelessFactory[MusicGenerator]


@dataclass(frozen=True)
class MusicLimits:
    """What one music model can make (issue 59), as its documentation says: cues `min_seconds` to
    `max_seconds` long, at tempi `tempo` (low, high) BPM where it follows a tempo at all (None: it
    takes a tempo only as words in its prompt, and the music gate holds what it made). `slate
    check` refuses a brief outside them, naming the model and the fix."""

    min_seconds: float = 1.0
    max_seconds: float = 600.0
    tempo: tuple[float, float] | None = None

    def refusal(self, seconds: float, tempo: float) -> str | None:
        """Why a cue of `seconds` at `tempo` cannot be made by this model, with the fix; None when it can."""
        if seconds < self.min_seconds:
            return (f"makes cues at least {self.min_seconds:g}s long, too short for this one: span more shots "
                    f"(from_shot/to_shot) or bring a file")
        if seconds > self.max_seconds:
            return (f"makes cues up to {self.max_seconds:g}s long, too long for this one: split it into two briefs "
                    f"(to_shot, then from_shot)")
        if self.tempo is not None and not self.tempo[0] <= tempo <= self.tempo[1]:
            return f"plays between {self.tempo[0]:g} and {self.tempo[1]:g} BPM: halve or double the tempo"
        return None




class DoctorChecks(Protocol):
    """`slate doctor`'s lines about one provider: free calls only."""

    def __call__(self, *, base_url: str | None) -> list[DoctorFinding]: ...


class FilmProblems(Protocol):
    """`slate check`'s problems with the files a provider runs that the film keeps (ComfyUI's
    workflows, read from `storage`): for the models the run uses of it, by capability, and the
    film's `scenes` it will make. Read offline: no network, nothing spent."""

    def __call__(self, *, storage: Storage, models: Mapping[str, tuple[str, ...]], film: LoadedFilm,
                 scenes: tuple[str, ...]) -> list[Problem]: ...


class FilmDoctor(Protocol):
    """`slate doctor`'s lines about those files against the provider's server (the node types a
    workflow needs that the server lacks): free calls only."""

    def __call__(self, *, base_url: str | None, storage: Storage,
                 models: Mapping[str, tuple[str, ...]]) -> list[DoctorFinding]: ...


class KeyLimit(Protocol):
    """What the key may still spend, where the API says (None: no limit)."""

    def __call__(self, *, base_url: str | None) -> Decimal | None: ...


def reached_at(provider: str, base_url: str | None) -> str:
    """The base URL a networked provider's factory or check was handed. The registry passes a
    networked provider its spec's own URL when no setting names another, so None reaches only a
    provider that declares no base URL (one that reaches no network)."""
    if base_url is None:
        raise SpecError(f"provider {provider!r} was built without a base URL, and it reaches a network")
    return base_url


class CatalogueEntry(TypedDict):
    """One capability of a provider in the registry's CATALOGUE (read by the run form and tests)."""

    models: tuple[str, ...]
    default: dict[str, str]


@dataclass(frozen=True)
class Offer:
    """The models a provider offers for one capability, and which one each profile gets by
    default (a profile it does not name gets the first model)."""

    models: tuple[str, ...]
    default: Mapping[str, str] = field(default_factory=dict)
    #: the models a film names itself, as a pattern ("video-*": a ComfyUI workflow it keeps per
    #: model): any name it matches (and OWN_MODEL allows) is offered besides `models`, which are
    #: then the ones slate knows (the example's); None: only `models`
    own: str | None = None
    #: what a film's own model name must look like (OWN_MODEL: a file's name; MODEL_ID: a model id
    #: as a model server lists it, for a provider that runs whatever model the server holds)
    names: re.Pattern[str] = OWN_MODEL

    def model_for(self, profile: str) -> str:
        return self.default.get(profile) or self.models[0]

    def offers(self, model: str) -> bool:
        """Whether `model` is one of these: a known model, or a film's own the pattern allows."""
        return model in self.models or (self.own is not None and bool(self.names.fullmatch(model))
                                        and fnmatchcase(model, self.own))


@dataclass(frozen=True)
class TakesReferences:
    """What one video model takes besides frames: reference images (PROVIDERS.md), as data.

    `with_frame`: whether a start (or last) frame may go with them — True, False (the notes say
    not), or None (the notes do not say: slate never sends both). `most`: how many it takes
    (None: the notes give no count). `naming`: how the prompt names them — "tags" ([Image1]…,
    Seedance 2.0), "typed" (each image has a reference type, Veo), "order" (in order, by name).
    `resolutions`/`seconds`: the only ones it makes with references (None: no such limit known)."""

    field: str
    most: int | None
    with_frame: bool | None = None
    naming: str = "order"
    resolutions: tuple[str, ...] | None = None
    seconds: tuple[int, ...] | None = None

    def limits(self) -> str:
        """The limits in words, for `slate check` and the README."""
        said = [f"up to {self.most}" if self.most else "count not documented"]
        if self.resolutions:
            said.append("only " + "/".join(self.resolutions))
        if self.seconds:
            said.append("only " + "/".join(f"{s} s" for s in self.seconds))
        said.append({True: "with a start frame", False: "never with a start frame",
                     None: "with a start frame: not documented"}[self.with_frame])
        return ", ".join(said)


#: slate's own capabilities: a field of ProviderSpec each, holding its factory.
_OWN_FIELDS = frozenset(c.name for c in EVERY)


@dataclass(frozen=True)
class ProviderSpec:
    """One provider, as its module declares it (see the module docstring)."""

    name: str
    offers: Mapping[str, Offer]
    #: the root of the API's paths, the default of its base-URL setting; None: no network
    base_url: str | None = None
    #: the environment variables its key is read from, in order (providers/keys.py)
    key_vars: tuple[str, ...] = ()
    #: a key is sent when one is set, and none is needed (a model server on the film-maker's own
    #: machine takes requests without one): `slate check` never refuses a run for the lack of it
    key_optional: bool = False
    image: ImageFactory | None = None
    video: VideoFactory | None = None
    judge: JudgeFactory | None = None
    speech: SpeechFactory | None = None
    lipsync: LipSyncFactory | None = None
    faceswap: ClipPassFactory | None = None
    upscale: ClipPassFactory | None = None
    music: MusicFactory | None = None
    #: music model -> what it can make (a model not named: MusicLimits' defaults)
    music_limits: Mapping[str, MusicLimits] = field(default_factory=dict)
    #: the factories of the passes over a clip declared beside slate's own (providers/base.py
    #: `declare_capability`, tasks/shot/clip_passes.py `declare_pass`), by the pass's name
    passes: Mapping[str, ClipPassFactory] = field(default_factory=dict)
    #: `slate doctor`'s lines; free calls only
    doctor: DoctorChecks | None = None
    #: `slate check`'s problems with the files of the film it runs (its workflows), offline
    film_problems: FilmProblems | None = None
    #: `slate doctor`'s lines about those files against its server; free calls only
    film_doctor: FilmDoctor | None = None
    #: what the key may still spend, where the API says
    key_limit: KeyLimit | None = None
    #: how an error answer of this API reads in the error tree
    translate_error: Callable[[httpx.Response], ProviderError] | None = None
    #: where a person finds a job whose answer was lost (`slate reconcile --job`)
    lost_job_hint: str = ""
    #: video model -> what references it takes; a model not named takes frames only
    references: Mapping[str, TakesReferences] = field(default_factory=dict)
    #: whether its image models can polish a human composite (frame_mode start + panel_override)
    polishes: bool = True
    #: video model -> how it makes sound, one of AUDIO_WAYS; a model not named makes none
    audio: Mapping[str, str] = field(default_factory=dict)
    #: the provider's own settings, a pydantic model (None: it has none): read from the film's
    #: `[providers.<name>]` table, `<name>_<setting>` in slate.toml or SLATE_<NAME>_<SETTING>
    #: (providers/registry.py `provider_settings`), handed to its factories as `settings`. Its
    #: `variant()`, when it has one, is what those settings change of what it makes (in every key).
    settings: type[BaseModel] | None = None
    #: model -> the seconds one job of it is expected to take, its queue included (a clip; a panel
    #: drawn as a job). A job is waited for `job_deadline` of it, then cancelled and its shot
    #: escalated; a film corrects a figure in slate.toml (`[job_seconds]`, by `provider:model`). A
    #: model it does not name (a plugin's) is expected to take UNDECLARED_JOB_SECONDS.
    job_seconds: Mapping[str, float] = field(default_factory=dict)
    #: speech model -> the names of its prebuilt voices, where the provider has a fixed set (Gemini's
    #: named voices): a voice not among them is refused before any money is spent. A model not named
    #: takes any voice id (an account's own voices, eSpeak's names): the provider says at the call.
    voices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "offers", MappingProxyType(dict(self.offers)))
        object.__setattr__(self, "job_seconds", MappingProxyType(dict(self.job_seconds)))
        object.__setattr__(self, "references", MappingProxyType(dict(self.references)))
        object.__setattr__(self, "audio", MappingProxyType(dict(self.audio)))
        object.__setattr__(self, "voices", MappingProxyType({m: tuple(v) for m, v in self.voices.items()}))
        object.__setattr__(self, "passes", MappingProxyType(dict(self.passes)))
        object.__setattr__(self, "music_limits", MappingProxyType(dict(self.music_limits)))
        problems = list(self._problems())
        if problems:
            raise SpecError(f"provider {self.name!r}: " + "; ".join(problems))

    def _problems(self) -> Iterator[str]:
        if not NAME.fullmatch(self.name or ""):
            yield "a name is 2-31 lowercase letters and digits, starting with a letter"
        if not self.offers:
            yield "offers nothing"
        for capability, offer in self.offers.items():
            # A pass over the clip a plugin brings is offered with its factory (`passes`) and may be
            # declared with its stage after the spec is read (tasks/shot/clip_passes.py `declare_pass`).
            if capability not in CAPABILITIES and capability not in self.passes:
                yield f"unknown capability {capability!r} (known: {', '.join(CAPABILITIES)})"
                continue
            if not isinstance(offer, Offer) or not offer.models:
                yield f"{capability}: an Offer with at least one model"
                continue
            if self.factory_of(capability) is None:
                yield f"offers {capability} models but no {capability} factory"
            for profile, model in offer.default.items():
                if profile not in PROFILES or model not in offer.models:
                    yield f"{capability}: default {profile}={model!r} is not a profile and one of its models"
            # "*" alone: any id the model server holds (a judge behind a chat endpoint), never a file name
            if offer.own is not None and ((not offer.own.strip("*") and offer.names is OWN_MODEL) or "*" not in offer.own
                                          or not all(offer.offers(m) for m in offer.models)):
                yield f"{capability}: own={offer.own!r} is a pattern with a '*' that its own models match"
        for capability in CAPABILITIES:
            if self.factory_of(capability) is not None and capability not in self.offers:
                yield f"a {capability} factory but no {capability} models"
        for capability in self.passes:
            if capability in _OWN_FIELDS:
                yield f"a factory of {capability!r} in `passes`: slate's own capability has a field of its own"
            elif (declared := CLIP_PASSES.get(capability)) is None and capability in CAPABILITIES:
                yield f"a factory of {capability!r} in `passes`, which is not a pass over the clip"
            elif not NAME.fullmatch(capability):
                yield f"a pass's name is 2-31 lowercase letters and digits, not {capability!r}"
        for model, takes in self.references.items():
            if model not in self.models("video"):
                yield f"references declared for {model!r}, which is not one of its video models"
            elif not isinstance(takes, TakesReferences) or takes.naming not in NAMINGS:
                yield f"references of {model!r}: a TakesReferences naming one of {', '.join(NAMINGS)}"
        for model, way in self.audio.items():
            if model not in self.models("video"):
                yield f"audio declared for {model!r}, which is not one of its video models"
            elif way not in AUDIO_WAYS:
                yield f"audio of {model!r}: one of {', '.join(AUDIO_WAYS)}, not {way!r}"
        for model, seconds in self.job_seconds.items():
            if not any(model in self.models(c) for c in (*TIMED, *self.passes)):   # a plugin's pass: timed
                yield f"job_seconds declared for {model!r}, which is not one of its video, image, lip-sync or pass models"
            elif isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds <= 86400:
                yield f"job_seconds of {model!r}: seconds between 0 and a day, not {seconds!r}"
        for model in self.music_limits:
            if model not in self.models("music"):
                yield f"music_limits declared for {model!r}, which is not one of its music models"
        for model, names in self.voices.items():
            if model not in self.models("speech"):
                yield f"voices declared for {model!r}, which is not one of its speech models"
            elif not names or not all(isinstance(n, str) and n for n in names):
                yield f"voices of {model!r}: a non-empty list of voice names"
        if self.base_url is not None and not _URL.match(self.base_url):
            yield f"base_url {self.base_url!r} is not an http(s) URL without credentials"
        if self.key_vars and self.base_url is None:
            yield "a key but no base URL to send it to"

    def factory_of(self, capability: str) -> Callable[..., object] | None:
        """The factory this provider declares for `capability`: its field for slate's own, its
        `passes` entry for a pass declared beside them; None when it declares none."""
        if capability in _OWN_FIELDS:
            found: Callable[..., object] | None = getattr(self, capability)
            return found
        return self.passes.get(capability)

    @property
    def networked(self) -> bool:
        return self.base_url is not None

    def models(self, capability: str) -> tuple[str, ...]:
        offer = self.offers.get(capability)
        return offer.models if offer else ()

    def offers_model(self, capability: str, model: str) -> bool:
        """Whether it offers `model` for `capability`: a model it names, or a film's own (`own`)."""
        offer = self.offers.get(capability)
        return offer is not None and offer.offers(model)

    def audio_of(self, model: str) -> str:
        """How `model` makes sound: "field", "always", or "none"."""
        return self.audio.get(model, "none")

    def voices_of(self, model: str) -> tuple[str, ...] | None:
        """The voices a speech model has by name, None when it takes any voice id."""
        return self.voices.get(model)

    def catalogue(self) -> dict[str, CatalogueEntry]:
        """This provider's entry of the registry's CATALOGUE (the shape code read before specs)."""
        return {c: {"models": o.models, "default": dict(o.default)} for c, o in self.offers.items()}
