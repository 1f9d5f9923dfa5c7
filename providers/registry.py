"""Which provider and model answer each capability, for each profile — and building them.

A film-maker names models as `provider:model` (the rate card's keys), or a provider alone for its
default model at that profile. The lineup of a run is chosen, per capability, by the first of:

  1. an explicit choice for this run: `--panel-model`, `--video-model` (a comma list: the first
     is used, the rest are fallbacks on refusal), `--judge` (or SLATE_PANEL_MODEL, …);
  2. the project's `[models.<profile>]` table in slate.toml (`panel`, `video`, `judge`);
  3. `--provider NAME` (or `provider` in slate.toml): that provider's default models for panels
     and video where it offers them (local otherwise);
  4. the judge: local while panels are local (the local judge reads only the local provider's
     drawings), else gemini — a real vision model.

Each pass over the clip (the face swap, the upscale, a pass declared beside them: tasks/shot/clip_passes.py)
is chosen the same way by its name: told (`faceswap_model`, `upscale_model`, `pass_models`), else
`[models.<profile>] <pass>`, else — for a capability whose default is its provider's own (the face
swap) — `--provider`'s where it offers one, else none (`Lineup.passes` holds those with a model).

A line of dialogue is spoken by its speaker's voice (manifests/dialogue.py Voice): the provider the
voice names, at its `model` or that provider's default speech model for the profile
(`speech_model`), built by `build(SPEECH, ...)`.

Each provider is one module that declares `PROVIDER` (providers/spec.py): the modules of this
package that declare one, and those installed packages name under the `slate.providers` entry
point group. Everything else about providers — the catalogue, the base URLs and their settings,
the key variables, the doctor's checks, the run form's choices — is derived from those specs here,
never listed again. An unknown provider or model is an error that lists what exists. The names
are known without importing anything (a module here is named after its provider, a plugin's entry
point too); a provider's module is imported the first time that provider is asked for, its SDK
when its first client is made, and no client is made until a call needs one.

It must never hold a price (the rate card is data) or a key (providers/keys.py reads them).
"""
from __future__ import annotations

import importlib
import importlib.metadata
import pkgutil
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from slate.providers.base import LaysOutReferences, SpeechRequest, SpokenLine, Storage
from slate.manifests.options import told_pass_model
from slate.providers.spec import (CAPABILITIES, CLIP_PASSES, IMAGE, TIMED, UNDECLARED_JOB_SECONDS, Capability, MusicLimits,
                                  ProviderSpec, SpecError, TakesReferences)
from slate.providers.storage_local import LocalStorage
from slate.errors import SlateError

if TYPE_CHECKING:
    from pydantic import BaseModel

    from slate.manifests.settings import Settings

__all__ = ["CAPABILITIES", "ENTRY_POINTS", "Lineup", "ModelRef", "UnknownProvider", "base_url_for", "base_urls",
           "board_painter", "build", "discover", "forget", "expected_job_seconds", "job_seconds_told",
           "lineup", "provider", "provider_names", "provider_settings",
           "provider_variant", "resolve", "specs", "speech_model", "storage_for",
           "unknown_voice", "local_voice_refusal", "music_limits"]

#: The entry-point group an installed package names its provider modules in (a plugin):
#: `[project.entry-points."slate.providers"] toy = "toy_vendor"` (or "toy_vendor:PROVIDER").
ENTRY_POINTS = "slate.providers"
#: A module of this package is a provider module when it declares PROVIDER at its top level.
#: The source is read for it, not imported: importing every module here would load boto3 (S3
#: storage) and the judge's pixel work for a lookup of names.
_DECLARES = re.compile(rb"^PROVIDER\s*(:[^=\n]*)?=", re.MULTILINE)

# -- discovery ----------------------------------------------------------------------------------
def _builtin_modules() -> list[str]:
    here = Path(__file__).parent
    return [f"slate.providers.{m.name}" for m in pkgutil.iter_modules([str(here)])
            if (here / f"{m.name}.py").is_file() and _DECLARES.search((here / f"{m.name}.py").read_bytes())]


def _sources(modules: list[str] | None = None, entry_points: Iterable[importlib.metadata.EntryPoint] | None = None
             ) -> dict[str, tuple[str, Callable[[], object]]]:
    """Each provider's name, where it is declared and how to load it — nothing imported yet. A
    provider's name is known before its module is read: a module of this package is named after
    its provider, a plugin's entry point is (each is held to it when loaded)."""
    found: dict[str, tuple[str, Callable[[], object]]] = {}
    listed: list[tuple[str, str, Callable[[], object]]] = [
        (m.rpartition(".")[2], m, partial(importlib.import_module, m))
        for m in (modules if modules is not None else _builtin_modules())]
    if entry_points is None:
        entry_points = importlib.metadata.entry_points(group=ENTRY_POINTS)
    listed += [(ep.name, f"entry point {ep.name} = {ep.value}", ep.load) for ep in entry_points]
    for name, where, load in listed:
        if name in found:
            raise SpecError(f"provider {name!r} is declared twice: by {found[name][0]} and by {where}")
        found[name] = (where, load)
    return {name: found[name] for name in sorted(found, key=lambda n: (n != "local", n))}


def _load(name: str, where: str, load: Callable[[], object]) -> ProviderSpec:
    try:
        found = load()
    except Exception as exc:  # a broken plugin is named, whatever broke it
        raise SpecError(f"{where}: cannot be loaded: {type(exc).__name__}: {exc}") from exc
    spec = getattr(found, "PROVIDER", found)
    if not isinstance(spec, ProviderSpec):
        raise SpecError(f"{where}: PROVIDER is not a providers.spec.ProviderSpec")
    if spec.name != name:
        raise SpecError(f"{where} declares provider {spec.name!r}: a provider's module (or entry point) "
                        f"is named after it")
    return spec


def discover(modules: list[str] | None = None,
             entry_points: Iterable[importlib.metadata.EntryPoint] | None = None) -> dict[str, ProviderSpec]:
    """Every provider, loaded: this package's provider modules, then the plugins installed under
    the `slate.providers` entry-point group; local first, then by name. A plugin that cannot be
    imported, or two providers of one name, is an error here, not a provider quietly missing."""
    return {name: _load(name, *source) for name, source in _sources(modules, entry_points).items()}


# Process-wide caches by nature: installed code does not change under a running process. The
# index is read without importing anything; a provider's module is imported the first time that
# provider is asked for, so a run on the local provider never imports a vendor's HTTP stack.
@cache
def _index() -> dict[str, tuple[str, Callable[[], object]]]:
    return _sources()


@cache
def _loaded(name: str) -> ProviderSpec:
    return _load(name, *_index()[name])


def forget() -> None:
    """Forget what was discovered: the next lookup reads the installed providers again — for a
    process that installed a plugin after it first looked (a test's scripted provider)."""
    _index.cache_clear()
    _loaded.cache_clear()


def provider_names() -> tuple[str, ...]:
    """Every provider's name, local first (the run form's choices, `--provider`'s values)."""
    return tuple(_index())


def provider(name: str) -> ProviderSpec:
    """The spec of the provider called `name`, or UnknownProvider listing the known ones."""
    if name not in _index():
        raise UnknownProvider(f"unknown provider {name!r} (known: {', '.join(_index())})")
    return _loaded(name)


def specs() -> dict[str, ProviderSpec]:
    """Every provider's spec (each module imported: for tables of all of them, not for a run)."""
    return {name: provider(name) for name in _index()}


def __getattr__(name: str) -> dict[str, object]:
    # The tables code read before providers declared themselves, derived on first use (PEP 562)
    # so that importing this module discovers nothing.
    if name == "CATALOGUE":
        return {n: s.catalogue() for n, s in specs().items()}
    if name == "BASE_URLS":
        return {n: s.base_url for n, s in specs().items() if s.base_url is not None}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class UnknownProvider(SlateError, ValueError):
    """A provider or model no module offers. `setting` names the setting that chose it."""

    setting: str = "provider"


@dataclass(frozen=True)
class ModelRef:
    provider: str
    model: str

    def __str__(self) -> str:
        return f"{self.provider}:{self.model}"

    @classmethod
    def parse(cls, text: str) -> "ModelRef":
        provider, _, model = text.strip().partition(":")
        return cls(provider, model)


@dataclass(frozen=True)
class Lineup:
    """The models a run uses: one for panels, an ordered list for video (fallbacks), one judge,
    the lip-sync model of on-camera lines (None: they are not lip-synced), and the model of each
    pass over the clip it runs (`passes`, by the pass's name: a face swap, an upscale, a pass
    declared beside them; a pass with no model is not there)."""

    panel: ModelRef
    videos: tuple[ModelRef, ...]
    judge: ModelRef
    lipsync: ModelRef | None = None
    passes: Mapping[str, ModelRef] = field(default_factory=dict, hash=False)
    #: the judge asked only where `judge` fails a take or cannot judge it (a ladder, issue 60)
    second_judge: ModelRef | None = None
    #: by role (panel, videos, judge, lipsync, and each pass's name): the setting that chose it
    #: (`panel_model`), the profile's table (`models.<profile>.panel`), or `provider` (the
    #: provider's own default)
    chosen_by: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def video(self) -> ModelRef:
        return self.videos[0]

    def pass_model(self, name: str) -> ModelRef | None:
        """The model of the pass called `name` (None: the run has none)."""
        return self.passes.get(name)

    def providers(self) -> list[str]:
        return sorted({self.panel.provider, self.judge.provider, *(v.provider for v in self.videos),
                       *(m.provider for m in (self.lipsync, self.second_judge, *self.passes.values())
                         if m is not None)})

    def without(self, passes: Iterable[str]) -> Lineup:
        """This lineup without the models of the passes named (tasks/shot/clip_passes.py `as_used`:
        the passes no shot of a run asks for)."""
        dropped = set(passes)
        if not dropped & set(self.passes):
            return self
        return replace(self, passes={n: m for n, m in self.passes.items() if n not in dropped})

    def models_of(self, provider_name: str) -> dict[str, tuple[str, ...]]:
        """The models of `provider_name` this lineup makes panels and clips with, by capability
        (what a provider's checks of the film's own files are asked about)."""
        found = {"image": tuple(m.model for m in (self.panel,) if m.provider == provider_name),
                 "video": tuple(dict.fromkeys(v.model for v in self.videos if v.provider == provider_name)),
                 "judge": tuple(dict.fromkeys(m.model for m in (self.judge, self.second_judge)
                                              if m is not None and m.provider == provider_name)),
                 **{c: (m.model,) for c, m in self.passes.items() if m.provider == provider_name}}
        return {c: models for c, models in found.items() if models}


def resolve(name: str, capability: str, profile: str) -> ModelRef:
    """`provider` or `provider:model` → a model the provider offers for this capability."""
    provider_name, _, model = name.strip().partition(":")
    spec = provider(provider_name)
    if capability not in spec.offers:
        offered = [n for n, s in specs().items() if capability in s.offers]
        raise UnknownProvider(f"{provider_name} offers no {'panel' if capability == 'image' else capability} model "
                              f"(for {capability}: {', '.join(offered)})")
    offer = spec.offers[capability]
    if not model:
        model = offer.model_for(profile)
    if not offer.offers(model):
        own = f"; or the film's own, named {offer.own!r}" if offer.own else ""
        raise UnknownProvider(f"unknown {capability} model {name!r} (known for {provider_name}: "
                              f"{', '.join(offer.models)}{own})")
    return ModelRef(provider_name, model)


def _names(value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v).strip() for v in value if str(v).strip()]


_Listed = TypeVar("_Listed", str, list[str])


def lineup(settings: Settings, profile: str | None = None) -> Lineup:
    """The run's lineup from its settings (see the module docstring for the order of choice)."""
    profile = profile or settings.profile
    table = next((models for named, models in settings.models.items() if named == profile), None)
    base_urls(settings)   # a base URL set for no provider is as wrong as an unknown provider
    chosen_provider = settings.provider or "local"
    spec = provider(chosen_provider)

    def chosen(told: str | None, explicit: str, listed: _Listed | None, key: str,
               fallback: Callable[[], str]) -> tuple[str | _Listed, str]:
        if told:
            return told, explicit
        if listed:
            return listed, f"models.{profile}.{key}"
        return fallback(), "provider"

    def pick(names: list[str], capability: str, setting: str) -> list[ModelRef]:
        try:
            return [resolve(n, capability, profile) for n in names]
        except UnknownProvider as exc:
            exc.setting = setting
            raise

    panel_name, panel_from = chosen(settings.panel_model, "panel_model", table.panel if table else None, "panel",
                                    lambda: chosen_provider if "image" in spec.offers else "local")
    video_value, video_from = chosen(settings.video_model, "video_model", table.video if table else None, "video",
                                     lambda: chosen_provider if "video" in spec.offers else "local")
    [panel] = pick([panel_name], "image", panel_from)
    videos = tuple(pick(_names(video_value), "video", video_from))
    judge_name, judge_from = chosen(settings.judge, "judge", table.judge if table else None, "judge",
                                    lambda: "local" if panel.provider == "local" else "gemini")
    [judge] = pick([judge_name], "judge", judge_from if judge_from != "provider" else "judge")
    # Lip-sync: the provider's own where it offers one; the local painter's for the local
    # painter's clips (it finds only faces it drew); else none — a hosted clip is never handed to
    # the local painter, whose mouths would be drawn on no face.
    lip_value, lip_from = chosen(settings.lipsync_model, "lipsync_model", table.lipsync if table else None, "lipsync",
                                 lambda: chosen_provider if "lipsync" in spec.offers else
                                 "local" if videos[0].provider == "local" else "none")
    lipsync = None if lip_value.strip().lower() == "none" else pick([lip_value], "lipsync", lip_from)[0]
    # The passes over a finished clip (issue 41; tasks/shot/clip_passes.py), each by its name: told
    # (`<name>_model`, or `pass_models`), else the profile's `[models.<profile>] <name>`, else —
    # for a pass whose default is its provider's own (the face swap: only a shot that asks for it
    # uses it) — the provider's where it offers one, else none: an upscale, and a pass declared
    # beside them, runs only where a person chose its model.
    unknown = [n for n in (*settings.pass_models, *(table.model_extra or {} if table else {})) if n not in CLIP_PASSES]
    if unknown:
        import difflib
        close = difflib.get_close_matches(unknown[0], list(CLIP_PASSES), n=1, cutoff=0.6)
        exc = UnknownProvider(f"{unknown[0]!r} is no pass over the clip ("
                              + (f"did you mean {close[0]}?" if close else f"the passes: {', '.join(CLIP_PASSES)}") + ")")
        exc.setting = "pass_models" if unknown[0] in settings.pass_models else f"models.{profile}.{unknown[0]}"
        raise exc
    passes: dict[str, ModelRef] = {}
    chosen_by = {"panel": panel_from, "videos": video_from, "judge": judge_from, "lipsync": lip_from}
    for name, capability in CLIP_PASSES.items():
        told, told_as = told_pass_model(settings, name)
        listed = (getattr(table, name, None) or (table.model_extra or {}).get(name)) if table else None
        value, value_from = chosen(told, told_as, listed, name,
                                   lambda: chosen_provider if capability.own_default and name in spec.offers else "none")
        chosen_by[name] = value_from
        if value.strip().lower() != "none":
            passes[name] = pick([value], name, value_from)[0]
    second = settings.second_judge
    second_judge = None if not second or second.strip().lower() == "none" else pick([second], "judge", "second_judge")[0]
    if second_judge is not None:
        chosen_by["second_judge"] = "second_judge"
    return Lineup(panel, videos, judge, lipsync, passes, second_judge, chosen_by=chosen_by)


def storage_for(root: Path, settings: Settings | None = None) -> Storage:
    """The project's store, local folder or bucket, as its [storage] settings say."""
    from slate.providers.storage import storage_for as chosen
    return chosen(root, settings)


def base_urls(settings: Settings) -> dict[str, str]:
    """The base URLs the settings set, by provider (`base_urls`, `<name>_base_url` in slate.toml,
    SLATE_<NAME>_BASE_URL): what a run carries; every other provider uses its spec's own. A URL
    set for a name that is no networked provider is UnknownProvider, naming the setting and the
    closest provider."""
    import difflib
    urls = dict(settings.base_urls)
    for name in urls:
        if name not in _index() or not provider(name).networked:
            networked = [n for n, s in specs().items() if s.networked]
            close = difflib.get_close_matches(name, networked, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]}?" if close else f"known: {', '.join(networked)}"
            exc = UnknownProvider(f"a base URL for {name!r}, which is not a provider that takes one ({hint})")
            exc.setting = f"{name}_base_url"
            raise exc
    return urls


def base_url_for(name: str, urls: dict[str, str] | None = None) -> str | None:
    """The base URL a provider's clients are built with: the run's setting, else its spec's own
    (None for a provider that reaches no network)."""
    spec = provider(name)
    if spec.base_url is None:
        return None
    return (urls or {}).get(name) or spec.base_url


def _ref(ref: ModelRef | str) -> ModelRef:
    return ModelRef.parse(ref) if isinstance(ref, str) else ref


def _spec_of(ref: ModelRef, settings: Settings | None) -> tuple[ProviderSpec, str | None]:
    """The provider's spec and the base URL its clients are built with, for the run's settings."""
    spec = provider(ref.provider)
    urls = base_urls(settings) if settings is not None else {}
    return spec, base_url_for(spec.name, urls)


Built = TypeVar("Built")


def build(capability: Capability[Built], ref: ModelRef | str, storage: Storage | None = None,
          settings: Settings | None = None) -> Built:
    """The client of `ref`'s model for `capability` (`registry.build(VIDEO, "replicate:…", storage)`
    is a VideoGenerator), built by the factory its provider's spec declares for that capability,
    with the run's `settings` (its base URL, the provider's own knobs). A judge and a voice may be
    built without a store; every other capability's client reads and keeps files in one."""
    ref = _ref(ref)
    spec, url = _spec_of(ref, settings)
    factory = spec.factory_of(capability.name)
    if factory is None:
        raise UnknownProvider(f"{spec.name} offers no {capability.name} model")
    # The factory a spec declares for a capability makes that capability's client (spec.py checks
    # each is declared with the capability it offers; the Protocol is the capability's type).
    return cast(Built, factory(ref.model, storage=storage, base_url=url, settings=provider_settings(spec.name, settings)))


def music_limits(model: str) -> MusicLimits:
    """What the music model `model` ("provider:model") can make (its provider's `music_limits`):
    UnknownProvider naming what exists when no provider offers it."""

    ref = resolve(model, "music", "draft")
    return provider(ref.provider).music_limits.get(ref.model, MusicLimits())


def speech_model(provider_name: str, model: str | None, profile: str) -> ModelRef:
    """The speech model a voice (its `provider` and `model`, None for the provider's default)
    speaks with at `profile`: UnknownProvider naming what exists when there is none."""
    return resolve(f"{provider_name}:{model}" if model else provider_name, "speech", profile)


def offline_line(voice: str, settings: Mapping[str, object] | None, text: str) -> SpokenLine:
    """`text` spoken on this machine by the local provider's `voice` with `settings`, as it speaks
    when nothing goes wrong (no fault rehearsal, no book, no governor: free, and the same every
    time) — a voice's interim reference before a person approves a sample (tasks/shot/voicing.py)."""
    from slate.providers.local_speech import LocalSpeech
    return LocalSpeech().speak(SpeechRequest(text, voice, dict(settings or {})))


def local_voice_refusal(voice: str, settings: Mapping[str, object] | None = None) -> str | None:
    """Why the local provider cannot speak with `voice` and `settings` (eSpeak NG's data, read here:
    nothing is spoken), or None: what `unknown_voice` cannot say of a provider with no list."""
    from slate.providers.errors import BadRequest
    from slate.providers.local_speech import check_voice, local_voice
    try:
        check_voice(local_voice(voice, dict(settings or {})))
    except BadRequest as exc:
        return str(exc)
    return None


def unknown_voice(ref: ModelRef | str, voice: str) -> str | None:
    """Why `voice` is no voice of speech model `ref`, in words naming some it has; None when it
    is one, or when the model takes any voice id (its provider declares no list)."""
    ref = _ref(ref)
    names = provider(ref.provider).voices_of(ref.model)
    if names is None or voice in names:
        return None
    import difflib
    close = difflib.get_close_matches(voice, names, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]}?" if close else f"its voices: {', '.join(names[:12])}{', …' if len(names) > 12 else ''}"
    return f"{ref} has no voice {voice!r} ({hint})"


def board_painter(storage: Storage) -> LaysOutReferences:
    """What lays a reference shot's references out as its board (providers.base.LaysOutReferences):
    the local painter, whatever the run's models — free, offline, and the picture the local video
    model would start the clip from."""
    painter = build(IMAGE, "local", storage)
    if not isinstance(painter, LaysOutReferences):
        raise UnknownProvider("the local provider lays out no reference board")
    return painter


# -- how long a job is expected to take -----------------------------------------------------------
def job_seconds_told(settings: Settings) -> dict[str, float]:
    """slate.toml's `[job_seconds]`, each key held to a model a provider offers (for video, or
    for panels): UnknownProvider naming the setting and the key, with the closest model, else."""
    import difflib
    told = dict(settings.job_seconds)
    for key in told:
        name, _, model = key.partition(":")
        known = [f"{name}:{m}" for c in TIMED for m in provider(name).models(c)] if name in _index() else []
        own = name in _index() and any(provider(name).offers_model(c, model) for c in TIMED)
        if model not in {k.partition(":")[2] for k in known} and not own:
            everything = known or [f"{n}:{m}" for n, s in specs().items() for m in s.models("video")]
            close = difflib.get_close_matches(key, everything, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]}?" if close else \
                (f"{name}'s models: {', '.join(known)}" if known else f"unknown provider {name!r}")
            exc = UnknownProvider(f"[job_seconds] {key!r}: not a video or panel model of a provider ({hint})")
            exc.setting = "job_seconds"
            raise exc
    return told


def expected_job_seconds(ref: ModelRef | str, maker: object, settings: Settings | None = None) -> tuple[float, str]:
    """How long one job of `ref` is expected to take, and where that figure came from: the film's
    slate.toml (`[job_seconds]`), else the provider `maker` built for it (`expected_seconds`: its
    spec's `job_seconds` and what its own settings add), else its spec, else UNDECLARED_JOB_SECONDS."""
    ref = _ref(ref)
    told = (settings.job_seconds if settings is not None else {}).get(str(ref))
    if told is not None:
        return float(told), "slate.toml's [job_seconds]"
    own = getattr(maker, "expected_seconds", None)
    if isinstance(own, (int, float)) and not isinstance(own, bool) and own > 0:
        return float(own), f"{ref.provider}'s figure for {ref.model}"
    declared = provider(ref.provider).job_seconds.get(ref.model)
    if declared is not None:
        return float(declared), f"{ref.provider}'s figure for {ref.model}"
    return UNDECLARED_JOB_SECONDS, f"slate's default ({ref.provider} declares no figure for {ref.model})"


# -- a provider's own settings -------------------------------------------------------------------
class ProviderSettingsError(UnknownProvider):
    """A provider's own setting that no provider declares, or a value it refuses; `setting` names
    it as slate.toml spells it (`<name>_<setting>`)."""


def provider_settings(name: str, settings: Settings | None = None) -> BaseModel | None:
    """Provider `name`'s own settings (its spec's `settings` model), read from the film's
    settings (`[providers.<name>]`, or `<name>_<setting>` in slate.toml) with `SLATE_<NAME>_<SETTING>`
    over them; None for a provider that declares none. Raises ProviderSettingsError naming the
    setting for a value it refuses or a setting it does not have."""
    import difflib
    import os

    from pydantic import ValidationError
    spec = provider(name)
    table = dict((settings.providers.get(name) if settings is not None else None) or {})
    if spec.settings is None:
        if table:
            setting = next(iter(table))
            raise _settings_error(name, setting, "is not a setting: the provider has none")
        return None
    fields = spec.settings.model_fields
    for setting in table:
        if setting not in fields:
            close = difflib.get_close_matches(setting, list(fields), n=1, cutoff=0.6)
            hint = f"did you mean {name}_{close[0]}?" if close else \
                f"{name}'s settings: {', '.join(f'{name}_{f}' for f in fields)}"
            raise _settings_error(name, setting, f"unknown setting ({hint})")
    for setting in fields:
        env = next((k for k in os.environ if k.upper() == f"SLATE_{name}_{setting}".upper()), None)
        if env is not None:
            table[setting] = os.environ[env]
    try:
        return spec.settings.model_validate(table)
    except ValidationError as exc:
        err = exc.errors()[0]
        setting = str(err["loc"][0]) if err["loc"] else next(iter(table), "settings")
        raise _settings_error(name, setting, str(err["msg"]).removeprefix("Value error, ")) from None


def _settings_error(name: str, setting: str, message: str) -> ProviderSettingsError:
    exc = ProviderSettingsError(f"{name}_{setting}: {message}")
    exc.setting = f"{name}_{setting}"
    return exc


def provider_variant(name: str, settings: Settings | None = None) -> dict[str, Any]:
    """What provider `name`'s own settings change of what it makes (a part of every key that
    depends on its output): its settings model's `variant()`, {} when it has none."""
    own = provider_settings(name, settings)
    variant = getattr(own, "variant", None)
    return dict(variant()) if callable(variant) else {}


# -- reference images (frame_mode: reference) ----------------------------------------------------
def takes_references(ref: ModelRef | str) -> TakesReferences | None:
    """What references a video model takes (providers.spec.TakesReferences), None: frames only."""
    ref = _ref(ref)
    return provider(ref.provider).references.get(ref.model)


def reference_models() -> list[str]:
    """Every `provider:model` that takes reference images, for the messages that name them."""
    return [f"{name}:{model}" for name, spec in specs().items() for model in spec.references]
