"""A film's own GPU on the rate card (issue 41): priced per GPU-second, $0 unless the film says,
estimated before the job from the row's figure and settled at the GPU seconds the job took; one
row by pattern for every workflow a film names, an exact row or a longer pattern taken first."""
from __future__ import annotations

from decimal import Decimal

import pytest

from slate.governor.chokepoint import Usage
from slate.governor.ratecard import RateCard, RateCardError, UnknownRate


def card_with(tmp_path, text: str) -> RateCard:
    (tmp_path / "rates.toml").write_text(text)
    return RateCard.load(tmp_path)


def test_a_workflow_the_film_named_is_free_by_default_and_its_gpu_seconds_are_what_settles():
    card = RateCard.load()
    rate = card.rate("comfyui:video-my-own-wan", "video")
    assert rate.key == "comfyui:video-*" and rate.scheme == "per_gpu_second"
    assert card.price("comfyui:video-my-own-wan", Usage("video", seconds=3, gpu_seconds=41.5)) == Decimal(0)
    assert card.rate("comfyui:panel-flux", "image").key == "comfyui:panel-*"
    assert card.rate("comfyui:faceswap-reactor", "faceswap").key == "comfyui:faceswap-*"
    assert card.price("comfyui:upscale-x", Usage("upscale", seconds=3, gpu_seconds=12)) == Decimal(0)
    with pytest.raises(UnknownRate, match="comfyui:restyle-x"):   # a pattern covers only what it matches
        card.rate("comfyui:restyle-x")
    with pytest.raises(UnknownRate):                              # nor another provider's models
        card.rate("replicate:video-wan")


def test_a_film_that_pays_for_its_gpu_is_estimated_by_its_figure_and_settled_by_the_seconds_taken(tmp_path):
    card = card_with(tmp_path, '''
[models."comfyui:video-*"]
kind = "video"
per_gpu_second = "0.0005"
gpu_seconds_per_second = 100
source = "our rented GPU"
confidence = "D"

[models."comfyui:video-wan-hd"]
kind = "video"
per_gpu_second = "0.002"
gpu_seconds_per_second = "150.5"
source = "the big box"
confidence = "D"

[models."comfyui:panel-*"]
kind = "image"
per_gpu_second = "0.001"
gpu_seconds_per_image = 30
source = "our rented GPU"
confidence = "D"
''')
    # before the job: 100 GPU seconds per second of clip, 4 s -> $0.20; after it: the 61.25 it took
    assert card.price("comfyui:video-wan21", Usage("video", seconds=4)) == Decimal("0.2")
    assert card.price("comfyui:video-wan21", Usage("video", seconds=4, gpu_seconds=61.25)) == Decimal("0.030625")
    # the exact row beats the pattern, whatever the order in the file
    assert card.price("comfyui:video-wan-hd", Usage("video", seconds=2)) == Decimal("0.602")
    assert card.price("comfyui:panel-sdxl", Usage("image", images=1)) == Decimal("0.03")
    assert card.price("comfyui:panel-sdxl", Usage("image", images=1, gpu_seconds=7)) == Decimal("0.007")


@pytest.mark.parametrize("entry,said", [
    ('kind = "video"\nper_gpu_second = 0.001\ngpu_seconds_per_second = 10', "never float"),
    ('kind = "video"\nper_gpu_second = "0.001"', "needs gpu_seconds_per_second"),
    ('kind = "image"\nper_gpu_second = "0.001"\ngpu_seconds_per_image = 2.5', "whole number or a quoted decimal"),
    ('kind = "image"\nper_gpu_second = "0.001"\ngpu_seconds_per_image = 0', "more than 0"),
    ('kind = "video"\nper_gpu_second = "0.001"\ngpu_seconds_per_second = 9\nper_second = "0.1"',
     "unknown field"),
])
def test_a_gpu_row_that_cannot_price_honestly_is_refused_naming_the_field(tmp_path, entry, said):
    with pytest.raises(RateCardError, match=said):
        card_with(tmp_path, f'[models."comfyui:video-x"]\n{entry}\nsource = "s"\nconfidence = "D"\n')


def test_only_a_keys_model_may_be_a_pattern(tmp_path):
    with pytest.raises(RateCardError, match="only the model of a key may be a pattern"):
        card_with(tmp_path, '[models."comfy*:video-x"]\nkind = "image"\nper_image = "0"\nsource = "s"\n'
                            'confidence = "D"\n')


def test_the_longest_pattern_that_matches_prices_a_workflow(tmp_path):
    card = card_with(tmp_path, '''
[models."comfyui:video-wan*"]
kind = "video"
per_gpu_second = "0.002"
gpu_seconds_per_second = 10
source = "the Wan box"
confidence = "D"
''')
    # the packaged "comfyui:video-*" ($0) matches too; the film's longer pattern is the more particular
    assert card.rate("comfyui:video-wan21", "video").key == "comfyui:video-wan*"
    assert card.price("comfyui:video-wan21", Usage("video", seconds=1)) == Decimal("0.02")
    assert card.rate("comfyui:video-ltx", "video").key == "comfyui:video-*"
