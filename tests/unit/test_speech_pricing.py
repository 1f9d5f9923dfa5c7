"""A spoken line's price from the rate card (governor/ratecard.py speech entries, governor/estimate.py
`line_usage` and `price_line`), worked by hand.

The figures of docs/voices.md ("What a line costs") are the first test's: a 60-character line of
about 4 s on each provider's speech models.
"""
from __future__ import annotations

from decimal import Decimal

import pytest

from slate.governor.chokepoint import Usage
from slate.governor.estimate import line_usage, price_line
from slate.governor.ratecard import Pricing, RateCard, RateCardError, RateError
from slate.manifests.dialogue import estimated_seconds

FLASH_TTS = "gemini:gemini-2.5-flash-preview-tts"
PRO_TTS = "gemini:gemini-2.5-pro-preview-tts"
MULTILINGUAL = "elevenlabs:eleven_multilingual_v2"
FLASH_V25 = "elevenlabs:eleven_flash_v2_5"
LOCAL = "local:local-espeak-v1"


@pytest.fixture(scope="module")
def card() -> RateCard:
    return RateCard.load()


def test_a_60_character_4_second_line_on_each_provider(card):
    line = Usage("speech", characters=60, seconds=4.0)
    # ElevenLabs bills characters: 60 × $0.10 / 1,000 and 60 × $0.05 / 1,000.
    assert card.price(MULTILINGUAL, line) == Decimal("0.006")
    assert card.price(FLASH_V25, line) == Decimal("0.003")
    # Gemini bills tokens: 60 characters are 15 text tokens in, 4 s are 4 × 32 = 128 audio tokens out.
    # Flash: 15 × $0.50/M + 128 × $10/M = 0.0000075 + 0.00128 = 0.0012875 → the ledger's micro-dollar.
    assert card.price(FLASH_TTS, line) == Decimal("0.001288")
    # Pro: 15 × $1/M + 128 × $20/M = 0.000015 + 0.00256.
    assert card.price(PRO_TTS, line) == Decimal("0.002575")
    assert card.price(LOCAL, line) == Decimal(0)
    assert card.keys("speech") == sorted([FLASH_TTS, PRO_TTS, MULTILINGUAL, FLASH_V25, LOCAL])


def test_a_token_billed_line_is_settled_at_the_tokens_it_reports(card):
    # The answer reports 21 text tokens and 140 audio tokens: those are priced, not the reckoning.
    reported = Usage("speech", characters=60, seconds=4.0, input_tokens=21, output_tokens=140)
    # 21 × $0.50/M + 140 × $10/M = 0.0014105, to the micro-dollar half-even.
    assert card.price(FLASH_TTS, reported) == Decimal("0.001410")
    # A character-billed line prices its characters whatever tokens it carries.
    assert card.price(MULTILINGUAL, reported) == Decimal("0.006")


def test_a_line_is_estimated_from_its_characters_and_its_words_at_the_voices_pace(card):
    text = "I told you the diner closes at midnight, not at eleven."   # 55 characters, 11 words
    usage = line_usage(text, pace_wpm=110)
    assert (usage.kind, usage.characters, usage.seconds) == ("speech", 55, estimated_seconds(text, 110))
    assert usage.seconds == pytest.approx(6.0)
    # 55 characters → ceil(55/4) = 14 tokens; 6 s → 192 audio tokens.
    assert price_line(card, FLASH_TTS, text, 110) == Decimal("0.001927")
    assert price_line(card, MULTILINGUAL, text, 110) == Decimal("0.0055")
    slower = price_line(card, FLASH_TTS, text, 60)     # the same words, at a slower voice: longer, dearer
    assert slower > price_line(card, FLASH_TTS, text, 110)


def test_a_rehearsal_on_the_local_voice_is_priced_as_the_vendor_it_rehearses(card):
    pricing = Pricing.for_run(card, "local", "local-compositor-v1", "local-ffmpeg-v1", "local", "local-pixels-v1",
                              price_as=MULTILINGUAL)
    assert pricing.repriced == ("speech",) and pricing.speech_key == MULTILINGUAL
    assert price_line(pricing, LOCAL, "x" * 60) == Decimal("0.006")
    assert pricing.estimate(video := Usage("video", seconds=5, resolution="480p")) == 0   # video stays local
    assert video.kind == "video"
    plain = Pricing.for_run(card, "local", "local-compositor-v1", "local-ffmpeg-v1", "local", "local-pixels-v1")
    assert price_line(plain, LOCAL, "x" * 60) == 0
    with pytest.raises(RateError, match="voice's speech model"):
        plain.estimate(Usage("speech", characters=60, seconds=4.0))   # no model named: no guess


@pytest.mark.parametrize("entry,words", [
    ({}, "per_million_characters and/or per_second"),
    ({"per_million_characters": 100}, "quoted string"),
    ({"per_second": {"720p": "0.01"}}, "one amount"),
    ({"per_million_input": "0.5", "per_million_output": "10"}, "exactly"),
    ({"per_million_input": "0.5", "per_million_output": "10", "characters_per_token": 4,
      "audio_tokens_per_second": 32, "per_million_characters": "1"}, "exactly"),
    ({"per_million_characters": "1", "resolution": "720p"}, "unknown field"),
])
def test_a_malformed_speech_entry_is_refused_on_load(tmp_path, entry, words):
    fields = "".join(f"{k} = {v!r}\n".replace("'", '"') if not isinstance(v, dict) else
                     f"{k} = {{ \"720p\" = \"0.01\" }}\n" for k, v in entry.items())
    (tmp_path / "rates.toml").write_text(f'[models."toy:voice"]\nkind = "speech"\nsource = "a test"\n'
                                         f'confidence = "?"\n{fields}')
    with pytest.raises(RateCardError, match=words):
        RateCard.from_files(tmp_path / "rates.toml")


def test_per_characters_and_per_seconds_add_up(tmp_path):
    (tmp_path / "rates.toml").write_text('[models."toy:voice"]\nkind = "speech"\nsource = "a test"\n'
                                         'confidence = "?"\nper_million_characters = "200"\nper_second = "0.001"\n')
    card = RateCard.from_files(tmp_path / "rates.toml")
    assert card.price("toy:voice", Usage("speech", characters=50, seconds=2.5)) == Decimal("0.0125")
    with pytest.raises(RateError, match="speech model; it cannot price a video"):
        card.rate("toy:voice").price(Usage("video", seconds=2, resolution="480p"))


def test_slate_estimate_prices_each_shots_lines_by_its_speakers_voice(example_film):
    """`slate estimate` (and a run's estimate before its first call, flows/run/call_sheet.py) prices
    every line of a shot as its speaker's speech model: gabe's two lines on ElevenLabs'
    multilingual model, nina's on the local voice at $0. A scene without lines keeps its table."""
    import yaml
    from typer.testing import CliRunner

    from slate.cli import app
    from slate.governor.estimate import estimate_scene, lineup_pricing
    from slate.manifests import load_film
    from slate.providers.registry import lineup
    from slate.settings import project_settings
    from slate.tasks.shot.plan import plan_from_project
    from slate.tasks.shot.voicing import line_costs
    from tests.scene_cuts import without_voices
    root = example_film
    without_voices(root)
    bible = yaml.safe_load((root / "bible.yaml").read_text())
    for c in bible["characters"]:
        if c["id"] == "gabe":
            c["voice"] = {"description": "a man in his forties, low", "provider": "elevenlabs",
                          "model": "eleven_multilingual_v2", "voice": "JBFqnCBsd6RMkjVDRZzb", "pace_wpm": 170}
        if c["id"] == "nina":
            c["voice"] = {"description": "a young woman, bright", "provider": "local", "voice": "en+f3"}
    (root / "bible.yaml").write_text(yaml.safe_dump(bible, sort_keys=False))
    scene = yaml.safe_load((root / "scenes" / "scene-01.yaml").read_text())
    shots = {s["id"]: s for s in scene["shots"]}
    first, second = "Black coffee.", "And whatever pie is left."
    shots["1C"]["dialogue"] = [{"speaker": "gabe", "text": first}, {"speaker": "gabe", "text": second, "at": 1.5}]
    shots["1A"]["dialogue"] = [{"speaker": "nina", "text": "Late again."}]
    (root / "scenes" / "scene-01.yaml").write_text(yaml.safe_dump(scene, sort_keys=False))

    film, settings = load_film(root), project_settings(root)
    pricing = lineup_pricing(root, lineup(settings), None)
    costs = line_costs(film, "scene-01", settings.profile, pricing)
    card = RateCard.load(root)
    gabe = price_line(card, MULTILINGUAL, first, 170) + price_line(card, MULTILINGUAL, second, 170)
    assert costs == {"1A": Decimal(0), "1C": gabe} and gabe == Decimal("0.0038")   # 38 characters × $0.10/1,000
    plans = plan_from_project(film, "scene-01", settings.profile, settings.fps)
    est = estimate_scene(plans, pricing, speech=costs)
    plain = estimate_scene(plans, pricing)
    by = {x.shot: x for x in est.lines}
    assert by["1C"].speech_cost == gabe and est.speech_cost == gabe
    assert by["1C"].expected - {x.shot: x for x in plain.lines}["1C"].expected == est.expected_video_takes * gabe
    assert est.low - plain.low == gabe
    assert "speech $" not in plain.render_table()[0] and est.render_table()[0][-2] == "speech $"

    result = CliRunner().invoke(app, ["estimate", str(root)])
    assert result.exit_code == 0, result.output + result.stderr
    assert "speech $" in result.output and "speech $0.0038" in result.output
