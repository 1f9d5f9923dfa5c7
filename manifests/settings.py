"""Settings: defaults < the film project's `slate.toml` < `SLATE_*` environment < command line.

What a film-maker tunes per project (profile, provider, caps, retry policy) lives here with a
description and bounds on every field. It must never hold a provider key: keys are read from
the environment by the provider module that needs them, by name, at the moment of use.
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import (BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict,
                               TomlConfigSettingsSource)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SLATE_", extra="ignore", validate_default=True)

    profile: Literal["draft", "final", "hero"] = Field("draft", description="draft=480p nightly, final=720p, hero=1080p for critical shots")
    provider: str = Field("local", description="image and video provider: local | replicate | fal | gemini | openrouter")
    judge: str = Field("local", description="the judge behind the panel and keyframe gates")
    fps: int = Field(24, ge=1, le=60, description="frames per second of rendered clips")
    max_takes: int = Field(3, ge=1, le=20, description="per-shot retry cap: takes of one stage before the shot is escalated")
    no_progress_takes: int = Field(2, ge=1, le=20, description="escalate when the best gate score has not improved over this many takes")
    drift_every: int = Field(5, ge=1, le=100, description="check drift against the master references every Nth shot of a chain")
    drift_threshold: float = Field(0.35, ge=0, le=1, description="colour distance from the masters past which a chain re-anchors")
    local_latency: float = Field(0.0, ge=0, le=600, description="seconds the local provider takes per video job (rehearse waits and crashes)")
    local_fault_rate: float = Field(0.0, ge=0, le=1, description="share of local provider outputs made off-model on purpose")
    local_fault_seed: int = Field(0, description="seed of the local provider's fault mode")
    local_fault_kinds: str = Field("recolour,wrong_plate,missing,corrupted", description="comma-separated fault kinds")
    # The ledger's URL (SLATE_LEDGER_URL, or `ledger_url` in slate.toml) is not a field here: it
    # may hold a password, so governor.ledger.Ledger.for_project reads it at the moment of use
    # and nothing ever passes it along as a flow or task parameter.
    run_cap_usd: Decimal = Field(Decimal("25"), ge=0, description="per-run budget cap in USD")
    film_cap_usd: Decimal = Field(Decimal("250"), ge=0, description="per-film budget cap in USD, across runs")
    price_as: str | None = Field(None, description="rehearsal: price every video call as this model, e.g. replicate:bytedance/seedance-1-pro")
    video_slots: int = Field(1, ge=1, le=32, description="video jobs in flight per provider key")
    busy_wait_seconds: float = Field(1800, ge=0, le=86400, description="how long a run waits for a paid call that another live run is making of the same request, before halting that shot")

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml = cls.model_config.get("toml_file")
        if toml and Path(toml).is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml))
        return tuple(sources)


def project_settings(root: Path, **overrides) -> Settings:
    """Settings for one film project: its `slate.toml` (top-level keys or a [slate] table)."""
    toml_path = Path(root) / "slate.toml"

    class ProjectSettings(Settings):
        model_config = SettingsConfigDict(env_prefix="SLATE_", extra="ignore", toml_file=toml_path,
                                          validate_default=True)

    return ProjectSettings(**{k: v for k, v in overrides.items() if v is not None})
