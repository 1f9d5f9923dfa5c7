"""Rate card, run pricing and scene estimates: exact Decimal dollars from data, never guessed."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from slate.governor.chokepoint import Usage
from slate.governor.estimate import estimate_scene
from slate.governor.money import usd
from slate.governor.ratecard import (Pricing, RateCard, RateCardError, UnknownRate, UnpricedDuration,
                                     UnpricedResolution)

PACKAGED = Path(__file__).resolve().parents[2] / "governor" / "rates.toml"
MONEY_FIELDS = ("per_image", "per_million_input", "per_million_output", "per_million_video_tokens",
                "base_price", "per_extra_second", "per_million_characters", "per_gpu_second")

PRO = "replicate:bytedance/seedance-1-pro"
FAL_PRO = "fal:fal-ai/bytedance/seedance/v1/pro/image-to-video"
FAL_KLING_STD = "fal:fal-ai/kling-video/v2.1/standard/image-to-video"
FLASH = "gemini:gemini-2.5-flash"
FLASH_IMAGE = "gemini:gemini-2.5-flash-image"


@pytest.fixture(scope="module")
def card() -> RateCard:
    return RateCard.load()


def video(seconds, resolution):
    return Usage("video", seconds=seconds, resolution=resolution)


# ---------------------------------------------------------------- the data itself

def test_toml_money_is_strings_not_floats():
    raw = tomllib.loads(PACKAGED.read_text())["models"]
    assert raw, "empty rate card"

    def no_float(path, v):
        assert not isinstance(v, float), f"float literal at {path}: {v!r}"
        if isinstance(v, dict):
            for k, x in v.items():
                no_float(f"{path}.{k}", x)
        elif isinstance(v, list):
            for i, x in enumerate(v):
                no_float(f"{path}[{i}]", x)

    for key, entry in raw.items():
        no_float(key, entry)
        assert entry["source"].strip() and entry["confidence"] in ("S", "D", "?"), key
        for f in MONEY_FIELDS:
            if f in entry:
                assert isinstance(entry[f], str), (key, f)
        ps = entry.get("per_second")
        if ps is not None:
            vals = ps.values() if isinstance(ps, dict) else [ps]
            assert all(isinstance(v, str) for v in vals), key


def test_every_entry_loads_with_decimal_prices(card):
    raw = tomllib.loads(PACKAGED.read_text())["models"]
    assert set(card.keys()) == set(raw)
    for key in card.keys():
        r = card.rate(key)
        for f in MONEY_FIELDS:
            v = getattr(r, f)
            assert v is None or type(v) is Decimal, (key, f)
        if r.per_second is not None:
            assert all(type(v) is Decimal for v in r.per_second.values()), key
        # Every entry prices something, and the answer is a Decimal.
        if r.kind == "image":
            u = Usage("image", images=1, resolution="480p")
        elif r.kind == "judge":
            u = Usage("judge", input_tokens=1000, output_tokens=100)
        elif r.kind == "speech":
            u = Usage("speech", characters=60, seconds=4.0)
        elif r.kind == "music":   # issue 59: by the cue's seconds
            u = Usage("music", seconds=30.0)
        elif r.kind in ("lipsync", "faceswap", "upscale"):   # issues 38, 41: by the clip's seconds
            u = Usage(r.kind, seconds=r.durations[0] if r.durations else (r.min_seconds or 5))
        else:
            res = (r.resolutions or ("720p",))[0]
            u = video(r.durations[0] if r.durations else (r.min_seconds or 5), res)
        assert type(card.price(key, u)) is Decimal


def test_required_models_present(card):
    for key in [PRO, "replicate:bytedance/seedance-1-lite", "replicate:bytedance/seedance-1-pro-fast",
                "replicate:kwaivgi/kling-v2.5-turbo-pro", "replicate:google/veo-3.1-fast", FAL_PRO,
                FAL_KLING_STD, "fal:fal-ai/kling-video/v2.1/pro/image-to-video",
                "fal:fal-ai/kling-video/v2.1/master/image-to-video", "gemini:veo-3.1-generate-preview",
                FLASH_IMAGE, "gemini:gemini-3-pro-image-preview", FLASH, "openrouter:bytedance/seedance-2.0",
                "local:local-compositor-v1", "local:local-ffmpeg-v1", "local:local-pixels-v1"]:
        assert key in card, key
    assert card.keys("judge") == sorted([FLASH, "local:local-pixels-v1", "vlm:Qwen/Qwen2.5-VL-7B-Instruct"])


def test_float_money_in_a_file_is_refused(tmp_path):
    (tmp_path / "rates.toml").write_text(
        '[models."x:y"]\nkind = "image"\nper_image = 0.039\nsource = "t"\nconfidence = "?"\n')
    with pytest.raises(RateCardError, match="never float"):
        RateCard.load(tmp_path)


# ---------------------------------------------------------------- prices

def test_seedance_pro_per_second_and_ceil(card):
    assert card.price(PRO, video(5, "480p")) == Decimal("0.15")
    assert card.price(PRO, video(2.5, "480p")) == Decimal("0.09")    # billed as 3 s
    assert card.price(PRO, video(5, "1080p")) == Decimal("0.75")
    assert card.price(PRO, video(1, "480p")) == Decimal("0.06")      # minimum 2 s
    with pytest.raises(UnpricedDuration, match="maximum of 12"):
        card.price(PRO, video(13, "480p"))


def test_fal_token_pricing_is_exact(card):
    tokens = Decimal(1920 * 1080 * 24 * 5) / 1024
    assert tokens == 243000
    assert card.price(FAL_PRO, video(5, "1080p")) == tokens * Decimal("2.5") / 1_000_000 == Decimal("0.6075")


def test_fal_kling_block_pricing(card):
    assert card.price(FAL_KLING_STD, video(10, "720p")) == Decimal("0.28") + 5 * Decimal("0.056")
    assert card.price(FAL_KLING_STD, video(3, "720p")) == Decimal("0.28")    # generated at 5 s
    with pytest.raises(UnpricedDuration):
        card.price(FAL_KLING_STD, video(11, "720p"))


def test_judge_and_image(card):
    assert card.price(FLASH, Usage("judge", input_tokens=1_000_000, output_tokens=1_000_000)) == Decimal("2.80")
    assert card.price(FLASH_IMAGE, Usage("image", images=2, resolution="480p")) == Decimal("0.078")


def test_unpriced_resolution_names_model_and_resolution(card):
    with pytest.raises(UnpricedResolution) as e:
        card.price("fal:bytedance/seedance-2.0/image-to-video", video(4, "480p"))
    assert "fal:bytedance/seedance-2.0/image-to-video" in str(e.value) and "480p" in str(e.value)
    with pytest.raises(UnpricedResolution, match="4K"):
        card.price(FAL_PRO, video(5, "4K"))


def test_unknown_model_lists_known_keys_of_its_kind(card):
    with pytest.raises(UnknownRate) as e:
        card.price("replicate:nope", video(5, "480p"))
    msg = str(e.value)
    assert PRO in msg and FLASH not in msg
    with pytest.raises(UnknownRate):    # right key, wrong kind
        card.price(PRO, Usage("image", images=1))


def test_project_override_replaces_one_entry(tmp_path):
    (tmp_path / "rates.toml").write_text(
        f'[models."{PRO}"]\nkind = "video"\nper_second = {{ "480p" = "0.025" }}\n'
        'billing_seconds = "exact"\nsource = "invoice 2026-03"\nconfidence = "D"\n')
    base, over = RateCard.load(), RateCard.load(tmp_path)
    assert over.price(PRO, video(2.5, "480p")) == Decimal("0.0625")
    with pytest.raises(UnpricedResolution):      # whole entry replaced, no stale 720p price
        over.price(PRO, video(5, "720p"))
    assert over.keys() == base.keys()
    for k in base.keys():
        if k != PRO:
            assert over.rate(k) == base.rate(k)
    assert RateCard.load(tmp_path / "absent").keys() == base.keys()


def test_price_as_rehearsal_swaps_the_video_key_only(card):
    p = Pricing.for_run(card, "local", "local-compositor-v1", "local-ffmpeg-v1", "local", "local-pixels-v1",
                        price_as=PRO)
    assert (p.image_key, p.video_key, p.judge_key) == ("local:local-compositor-v1", PRO, "local:local-pixels-v1")
    assert p.estimate(video(5, "480p")) == Decimal("0.15")
    assert p.estimate(Usage("image", images=1, resolution="480p")) == 0
    assert p.estimate(Usage("judge", input_tokens=10**6, output_tokens=10**6)) == 0
    q = Pricing.for_run(card, "local", "local-compositor-v1", "local-ffmpeg-v1", "gemini", "gemini-2.5-flash",
                        price_as=FLASH_IMAGE)
    assert (q.image_key, q.video_key, q.judge_key) == (FLASH_IMAGE, "local:local-ffmpeg-v1", FLASH)
    with pytest.raises(UnknownRate):
        Pricing.for_run(card, "replicate", "x", "bytedance/seedance-1-pro", "local", "local-pixels-v1")


# ---------------------------------------------------------------- scene estimate

@dataclass
class FakePlan:
    shot: str
    duration: float
    resolution: str
    end: dict | None
    width: int = 854
    height: int = 480
    fps: int = 24


def test_estimate_scene_hand_computed(card):
    plans = [FakePlan("s1", 2.5, "480p", None), FakePlan("s2", 3.0, "480p", {"moment": "end"}),
             FakePlan("s3", 5.0, "480p", None)]
    pricing = Pricing(card, FLASH_IMAGE, PRO, FLASH)
    est = estimate_scene(plans, pricing)
    # The keyframe gate: 6850 in × $0.30/M + 300 out × $2.50/M = 0.002055 + 0.00075 = 0.002805;
    # a panel gate with nobody in it (panel + plate: 2980 in) 0.000894 + 0.00075 = 0.001644;
    # the cut into a shot (4 images: 5560 in) 0.001668 + 0.00075 = 0.002418 (none into the first).
    gate, panel_gate, cut = Decimal("0.002805"), Decimal("0.001644"), Decimal("0.002418")
    image = Decimal("0.039")
    # s1: 1 panel, 3 s billed → 0.09 ; s2: 2 panels, 3 s → 0.09 ; s3: 1 panel, 5 s → 0.15
    expected = [Decimal("1.3") * 1 * (image + panel_gate) + Decimal("1.1") * (Decimal("0.09") + gate),
                Decimal("1.3") * 2 * (image + panel_gate) + Decimal("1.1") * (Decimal("0.09") + gate) + cut,
                Decimal("1.3") * 1 * (image + panel_gate) + Decimal("1.1") * (Decimal("0.15") + gate) + cut]
    assert [l.panels for l in est.lines] == [1, 2, 1]
    assert [l.billed_seconds for l in est.lines] == [3, 3, 5]
    assert est.lines[1].judge_cost == 2 * panel_gate + gate + cut and est.lines[1].panel_cost == 2 * image
    assert est.video_cost == Decimal("0.33")
    # Lines are kept to the micro-dollar (0.1549227, 0.2101779, 0.2233407 → half-even).
    assert [l.expected for l in est.lines] == [usd(e) for e in expected]
    assert est.total == Decimal("0.588442")
    assert est.fits(Decimal("0.588442")) and not est.fits("0.58")
    rows = est.render_table()
    assert len(rows) == 5 and rows[-1][0] == "TOTAL" and rows[-1][-1] == "$0.59"
    with pytest.raises(TypeError):
        est.fits(0.59)
