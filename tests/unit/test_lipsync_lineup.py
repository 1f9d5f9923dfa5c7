"""Issue 38: which lip-sync model a run's lineup gets, and what `slate estimate` adds for it.

The provider's own where it offers one; the local painter's for the local painter's clips (it
finds only the faces it drew); none for another provider's clips (a hosted clip is never handed
to the local painter); `lipsync_model` or a profile's `[models.<profile>] lipsync` says otherwise,
`none` turns it off, and an unknown model is named with the setting it came from. The estimate's
"speech $" column holds each synced shot's lip-sync — close and medium shots with an on-camera
line — priced by the rate card at the shot's seconds; a wide shot's line and an off-screen line
add nothing."""
from __future__ import annotations

from decimal import Decimal

import pytest

from slate.governor.ratecard import Pricing, RateCard
from slate.manifests import load_film
from slate.manifests.settings import check_settings
from slate.providers.registry import ModelRef, UnknownProvider, lineup
from slate.tasks.shot.lipsync import dialogue_costs, sync_costs, synced_shots
from slate.tasks.shot.voicing import line_costs


def _lineup(tmp_path, monkeypatch, toml: str = "", **env: str):
    for k in list(__import__("os").environ):
        if k.startswith("SLATE_"):
            monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    (tmp_path / "slate.toml").write_text(toml)
    settings, problems = check_settings(tmp_path)
    assert problems == [], problems
    return lineup(settings)


def test_the_lip_sync_model_follows_the_clips_unless_told(tmp_path, monkeypatch):
    assert str(_lineup(tmp_path, monkeypatch).lipsync) == "local:local-lipsync-v1"
    assert str(_lineup(tmp_path, monkeypatch, 'provider = "fal"\n').lipsync) == "fal:fal-ai/latentsync"
    assert str(_lineup(tmp_path, monkeypatch, 'provider = "fal"\nprofile = "final"\n').lipsync) == \
        "fal:fal-ai/sync-lipsync/v2"
    assert str(_lineup(tmp_path, monkeypatch, 'provider = "replicate"\n').lipsync) == "replicate:sync/lipsync-2"
    # OpenRouter's clips, and no lip-sync model of its own: never the local painter's.
    assert _lineup(tmp_path, monkeypatch, 'provider = "openrouter"\n').lipsync is None
    told = _lineup(tmp_path, monkeypatch, 'provider = "openrouter"\nlipsync_model = "fal:fal-ai/sync-lipsync/v2"\n')
    assert str(told.lipsync) == "fal:fal-ai/sync-lipsync/v2" and "fal" in told.providers()
    assert _lineup(tmp_path, monkeypatch, SLATE_LIPSYNC_MODEL="none").lipsync is None
    by_profile = _lineup(tmp_path, monkeypatch, '[models.draft]\nlipsync = "replicate:sync/lipsync-2"\n')
    assert str(by_profile.lipsync) == "replicate:sync/lipsync-2"
    with pytest.raises(UnknownProvider, match="unknown lipsync model") as caught:
        _lineup(tmp_path, monkeypatch, 'lipsync_model = "fal:fal-ai/sync-lipsink"\n')
    assert caught.value.setting == "lipsync_model"


def test_the_estimate_adds_each_synced_shots_lip_sync(example_film):
    film = load_film(example_film)
    # The example's on-camera lines: 1C (wide: played as spoken), 1D (medium), 1F (close).
    assert synced_shots(film, "scene-01") == ["1D", "1F"]
    card = RateCard.load(example_film)
    pricing = Pricing.for_lineup(card, "local:local-compositor-v1", ("local:local-ffmpeg-v1",),
                                 "local:local-pixels-v1")
    # fal's sync v2 bills whole seconds at $0.05: 1D is 2.5 s (3 billed), 1F 2.0 s.
    sync = ModelRef.parse("fal:fal-ai/sync-lipsync/v2")
    assert sync_costs(film, "scene-01", sync, pricing) == \
        {"1D": Decimal("0.15"), "1F": Decimal("0.10")}
    assert sync_costs(film, "scene-01", None, pricing) == {}
    spoken = line_costs(film, "scene-01", "draft", pricing)
    both = dialogue_costs(film, "scene-01", "draft", pricing, sync)
    assert both == {**spoken, "1D": spoken["1D"] + Decimal("0.15"), "1F": spoken["1F"] + Decimal("0.10")}
