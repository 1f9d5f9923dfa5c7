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

An unknown provider or model is an error that lists what exists. Modules of the vendors are
imported when one is built, never before, and no client is made until a call needs one.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from providers.local import FaultMode, LocalImage, LocalVideo
from providers.local_judge import LocalJudge
from providers.local_verdicts import KeptJudge
from providers.storage_local import LocalStorage

CAPABILITIES = ("image", "video", "judge")

#: What each provider offers, per capability: its models, and its default per profile.
#: (The request each model takes lives in the provider's module; its price in governor/rates.toml.)
CATALOGUE: dict[str, dict[str, dict]] = {
    "local": {
        "image": {"models": ("local-compositor-v1",), "default": {}},
        "video": {"models": ("local-ffmpeg-v1",), "default": {}},
        "judge": {"models": ("local-pixels-v1",), "default": {}},
    },
    "gemini": {
        "image": {"models": ("gemini-2.5-flash-image", "gemini-3-pro-image-preview"), "default": {}},
        "video": {"models": ("veo-3.1-fast-generate-preview", "veo-3.1-generate-preview"), "default": {}},
        "judge": {"models": ("gemini-2.5-flash",), "default": {}},
    },
    "replicate": {
        "image": {"models": ("bytedance/seedream-4", "black-forest-labs/flux-kontext-pro"), "default": {}},
        "video": {"models": ("bytedance/seedance-1-lite", "bytedance/seedance-1-pro", "bytedance/seedance-1-pro-fast",
                             "bytedance/seedance-2.0", "kwaivgi/kling-v2.5-turbo-pro", "google/veo-3.1-fast"),
                  "default": {"draft": "bytedance/seedance-1-lite", "final": "bytedance/seedance-1-pro",
                              "hero": "bytedance/seedance-1-pro"}},
    },
    "fal": {
        "image": {"models": ("fal-ai/flux-pro/kontext",), "default": {}},
        "video": {"models": ("fal-ai/bytedance/seedance/v1/lite/image-to-video",
                             "fal-ai/bytedance/seedance/v1/pro/image-to-video",
                             "bytedance/seedance-2.0/image-to-video",
                             "fal-ai/kling-video/v2.1/standard/image-to-video",
                             "fal-ai/kling-video/v2.1/pro/image-to-video",
                             "fal-ai/kling-video/v2.1/master/image-to-video"),
                  "default": {"draft": "fal-ai/bytedance/seedance/v1/lite/image-to-video",
                              "final": "fal-ai/bytedance/seedance/v1/pro/image-to-video",
                              "hero": "fal-ai/bytedance/seedance/v1/pro/image-to-video"}},
    },
    "openrouter": {
        "video": {"models": ("bytedance/seedance-2.0", "bytedance/seedance-2.0-fast", "bytedance/seedance-2.0-mini"),
                  "default": {"draft": "bytedance/seedance-2.0-mini", "final": "bytedance/seedance-2.0",
                              "hero": "bytedance/seedance-2.0"}},
    },
}

#: The base URL settings' defaults: the root each provider's documented paths hang from.
BASE_URLS = {
    "gemini": "https://generativelanguage.googleapis.com",
    "replicate": "https://api.replicate.com/v1",
    "fal": "https://queue.fal.run",
    "openrouter": "https://openrouter.ai/api/v1",
}


class UnknownProvider(ValueError):
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
    """The models a run uses: one for panels, an ordered list for video (fallbacks), one judge."""

    panel: ModelRef
    videos: tuple[ModelRef, ...]
    judge: ModelRef

    @property
    def video(self) -> ModelRef:
        return self.videos[0]

    def providers(self) -> list[str]:
        return sorted({self.panel.provider, self.judge.provider, *(v.provider for v in self.videos)})


def provider_names() -> tuple[str, ...]:
    """Every provider slate knows, in the catalogue's order (the run form's choices read it)."""
    return tuple(CATALOGUE)


def _first_default(provider: str, capability: str, profile: str) -> str | None:
    offer = CATALOGUE.get(provider, {}).get(capability)
    if not offer:
        return None
    return offer["default"].get(profile) or offer["models"][0]


def resolve(name: str, capability: str, profile: str) -> ModelRef:
    """`provider` or `provider:model` → a model the provider offers for this capability."""
    provider, _, model = name.strip().partition(":")
    offered = [p for p, caps in CATALOGUE.items() if capability in caps]
    if provider not in CATALOGUE:
        raise UnknownProvider(f"unknown provider {provider!r} (known: {', '.join(CATALOGUE)})")
    if capability not in CATALOGUE[provider]:
        raise UnknownProvider(f"{provider} offers no {'panel' if capability == 'image' else capability} model "
                              f"(for {capability}: {', '.join(offered)})")
    models = CATALOGUE[provider][capability]["models"]
    if not model:
        model = _first_default(provider, capability, profile)
    if model not in models:
        raise UnknownProvider(f"unknown {capability} model {name!r} (known for {provider}: {', '.join(models)})")
    return ModelRef(provider, model)


def _names(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v).strip() for v in value if str(v).strip()]


def lineup(settings, profile: str | None = None) -> Lineup:
    """The run's lineup from its settings (see the module docstring for the order of choice)."""
    profile = profile or settings.profile
    table = (getattr(settings, "models", None) or {}).get(profile)
    table = table.model_dump() if hasattr(table, "model_dump") else (table or {})
    provider = settings.provider or "local"
    if provider not in CATALOGUE:
        raise UnknownProvider(f"unknown provider {provider!r} (known: {', '.join(CATALOGUE)})")

    def chosen(explicit: str, key: str, fallback) -> tuple[object, str]:
        value = getattr(settings, explicit)
        if value:
            return value, explicit
        if table.get(key):
            return table[key], f"models.{profile}.{key}"
        return fallback(), "provider"

    def pick(names: list[str], capability: str, setting: str) -> list[ModelRef]:
        try:
            return [resolve(n, capability, profile) for n in names]
        except UnknownProvider as exc:
            exc.setting = setting
            raise

    panel_name, panel_from = chosen("panel_model", "panel",
                                    lambda: provider if "image" in CATALOGUE[provider] else "local")
    video_value, video_from = chosen("video_model", "video",
                                     lambda: provider if "video" in CATALOGUE[provider] else "local")
    [panel] = pick([panel_name], "image", panel_from)
    videos = tuple(pick(_names(video_value), "video", video_from))
    judge_name, judge_from = chosen("judge", "judge", lambda: "local" if panel.provider == "local" else "gemini")
    [judge] = pick([judge_name], "judge", judge_from if judge_from != "provider" else "judge")
    return Lineup(panel, videos, judge)


def storage_for(root: Path):
    """The project's store, local folder or bucket, as its [storage] settings say."""
    from providers.storage import storage_for as chosen
    return chosen(root)


def image_provider(ref: ModelRef | str, storage: LocalStorage, faults: FaultMode = FaultMode(), *,
                   base_urls: dict[str, str] | None = None):
    ref = ModelRef.parse(ref) if isinstance(ref, str) else ref
    if ref.provider == "local":
        return LocalImage(storage, faults)
    return _vendor(ref.provider).image(ref.model, storage=storage, base_url=_base(ref.provider, base_urls))


def video_provider(ref: ModelRef | str, storage: LocalStorage, *, latency: float = 0.0,
                   faults: FaultMode = FaultMode(), base_urls: dict[str, str] | None = None):
    ref = ModelRef.parse(ref) if isinstance(ref, str) else ref
    if ref.provider == "local":
        return LocalVideo(storage, latency=latency, faults=faults)
    return _vendor(ref.provider).video(ref.model, storage=storage, base_url=_base(ref.provider, base_urls))


def judge_provider(ref: ModelRef | str, storage: LocalStorage | None = None, *,
                   base_urls: dict[str, str] | None = None):
    ref = ModelRef.parse(ref) if isinstance(ref, str) else ref
    if ref.provider == "local":
        if storage is None:
            return LocalJudge()
        jobs = storage.root / ".slate" / "local-jobs"
        # Its paid-call verdicts kept by call id: a verdict a dead run never got is looked up, not asked again.
        return KeptJudge(LocalJudge(book=jobs / "judgements.jsonl"), jobs / "verdicts",
                         complete=isinstance(storage, LocalStorage))
    return _vendor(ref.provider).judge(ref.model, storage=storage, base_url=_base(ref.provider, base_urls))


def _base(provider: str, base_urls: dict[str, str] | None) -> str:
    return (base_urls or {}).get(provider) or BASE_URLS[provider]


def _vendor(provider: str):
    """The vendor's module: it offers image(model, …), video(model, …) and judge(model, …)."""
    import importlib
    if provider not in CATALOGUE or provider == "local":
        raise UnknownProvider(f"unknown provider {provider!r} (known: {', '.join(CATALOGUE)})")
    return importlib.import_module(f"providers.{provider}")
