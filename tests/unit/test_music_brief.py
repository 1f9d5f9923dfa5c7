"""A music brief as data (issue 59): refused with its field when it cannot be made, and spotted on
the cut — its length and hits read from the shots as delivered, trims and dissolves included —
to the frame, so an edit moves exactly what it moves."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from slate.manifests.assembly import MusicBrief, SceneFinish, shot_problems
from slate.tasks.edit.finish_check import music_problems
from slate.tasks.edit.spotting import SpotError, places, spot

FPS = 24.0
SHOTS = [("1A", 4.0), ("1B", 3.0), ("1C", 5.0)]
JOINS = [("cut", 0.0), ("dissolve", 1.0)]


def brief(**kw) -> MusicBrief:
    return MusicBrief.model_validate({"name": "tension", "tempo": 96, **kw})


@pytest.mark.parametrize("fields, word", [
    ({"tempo": 300}, "out of range"), ({"tempo": 20}, "halve or double"),
    ({"hits": [{"cut": "1B", "shot": "1C"}]}, "either"), ({"hits": [{"cut": "1B", "at": 1.0}]}, "no `at`"),
    ({"name": "Tension Theme"}, "lowercase"), ({"key": "H"}, "note name"), ({"model": "composer"}, "provider:model"),
])
def test_a_brief_that_cannot_be_a_cue_is_refused_with_its_reason(fields, word):
    with pytest.raises(ValidationError, match=word):
        brief(**fields)


def test_shots_a_brief_names_are_held_to_the_scene():
    fin = SceneFinish(music=[brief(from_shot="1Z", hits=[{"cut": "1Q"}, {"shot": "1A", "at": 4.5}])])
    said = dict(shot_problems(fin, SHOTS))
    assert ("finishing", "music", 0, "from_shot") in said
    assert "no shot '1Q'" in said[("finishing", "music", 0, "hits", 0, "cut")]
    assert "past the end of shot 1A" in said[("finishing", "music", 0, "hits", 1, "at")]
    with pytest.raises(ValidationError, match="named 'tension'"):
        SceneFinish(music=[brief(), brief()])


def test_a_scene_without_music_dumps_as_before():
    assert "music" not in SceneFinish().model_dump(mode="json")
    assert SceneFinish(music=[brief()]).model_dump(mode="json")["music"][0]["tempo"] == 96


def test_a_hit_on_a_cut_lands_on_its_first_frame_and_in_a_dissolve_on_its_middle():
    cut = places(SHOTS, JOINS)
    assert [(p.shot, p.start) for p in cut] == [("1A", 0.0), ("1B", 4.0), ("1C", 6.0)]
    got = spot(brief(hits=[{"cut": "1B"}, {"cut": "1C"}, {"shot": "1C", "at": 2.0}]), cut, FPS)
    assert got.start == 0.0 and got.seconds == 11.0          # 4 + 3 + 5 - the 1 s dissolve
    assert got.hits == (4.0, 6.5, 8.0)


def test_a_trim_moves_the_hits_after_it_and_the_length_by_whole_frames():
    before = spot(brief(hits=[{"cut": "1C"}]), places(SHOTS, JOINS), FPS)
    trimmed = [("1A", 4.0 - 12 / FPS), *SHOTS[1:]]                # 12 frames off 1A's tail
    after = spot(brief(hits=[{"cut": "1C"}]), places(trimmed, JOINS), FPS)
    assert after.seconds == pytest.approx(before.seconds - 0.5) and after.hits[0] == pytest.approx(before.hits[0] - 0.5)
    # a span after the trim starts earlier in the scene and keeps its length and hit
    late = spot(brief(from_shot="1B", hits=[{"cut": "1C"}]), places(trimmed, JOINS), FPS)
    assert late.start == pytest.approx(3.5) and late.hits == (2.5,) and late.seconds == 7.0


def test_a_cue_spans_from_to_and_a_shot_out_of_the_cut_is_read_as_its_nearest():
    cut = places([("1A", 4.0), ("1C", 5.0)], [("cut", 0.0)])     # 1B escalated
    got = spot(brief(from_shot="1B", to_shot="1C", hits=[{"cut": "1B"}, {"shot": "1C", "at": 1.0}]), cut, FPS,
               ["1A", "1B", "1C"])
    assert (got.start, got.seconds, got.hits) == (4.0, 5.0, (1.0,))
    assert got.missing and "1B is not in the cut" in got.missing[0]


def test_a_hit_outside_its_cue_or_a_backwards_span_cannot_be_spotted():
    cut = places(SHOTS, JOINS)
    with pytest.raises(SpotError, match="start it a shot earlier") as hit:
        spot(brief(from_shot="1B", hits=[{"cut": "1B"}]), cut, FPS)
    assert hit.value.field == "hits[0]" and hit.value.shot == "1B"
    with pytest.raises(SpotError, match="swap from_shot and to_shot"):
        spot(brief(from_shot="1C", to_shot="1A"), cut, FPS)


def test_check_names_the_brief_field_and_the_models_limits():
    problems = music_problems("scenes/s1.yaml", [brief(from_shot="1B", hits=[{"cut": "1B"}]),
                                                 brief(name="long", model="local:no-such-composer"),
                                                 brief(name="ok", hits=[{"cut": "1C"}])],
                              SHOTS, JOINS, FPS, [s for s, _ in SHOTS])
    assert [(p.shot, p.field) for p in problems] == [("1B", "finishing.music[0].hits[0]"),
                                                      (None, "finishing.music[1].model")]
    assert "cue 'tension'" in problems[0].message and "no-such-composer" in problems[1].message


def test_a_models_limits_refuse_a_length_or_tempo_it_cannot_make():
    from slate.providers.spec import MusicLimits
    limits = MusicLimits(min_seconds=10, max_seconds=300, tempo=(60, 180))
    assert "at least 10s" in (limits.refusal(5.0, 100) or "")
    assert "split it into two briefs" in (limits.refusal(301.0, 100) or "")
    assert "between 60 and 180 BPM" in (limits.refusal(60.0, 200) or "")
    assert limits.refusal(60.0, 120) is None


def test_a_hosted_cue_is_priced_in_the_estimate_and_the_amount_a_person_approves(example_film, monkeypatch):
    """The example's cue on ElevenLabs' model: 7.5 s (1D to 1F) at $0.30 a minute is $0.0375 —
    shown with its model in the estimate's models line, in its total, and what the approval adds."""
    import re
    from decimal import Decimal

    import yaml
    from typer.testing import CliRunner

    from slate.cli import app
    from slate.governor.ratecard import Pricing, RateCard
    from slate.manifests import load_film
    from slate.tasks.run.run_plan import music_prices
    path = example_film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["finishing"]["music"][0]["model"] = "elevenlabs:music_v1"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    card = RateCard.load(example_film)
    pricing = Pricing.for_lineup(card, "local:local-compositor-v1", ["local:local-ffmpeg-v1"], "local:local-pixels-v1")
    assert music_prices(load_film(example_film), "scene-01", pricing) == {"the-mug": Decimal("0.0375")}
    monkeypatch.setenv("ELEVENLABS_API_KEY", "sk_" + "x" * 40)
    said = CliRunner().invoke(app, ["estimate", str(example_film)])
    assert said.exit_code == 0, said.output
    assert "music elevenlabs:music_v1 (finishing.music: the-mug) $0.04" in said.output, said.output
    low = re.search(r"range: \$(\d+\.\d\d) \(one take per shot\)", said.output)
    assert low is not None and Decimal(low[1]) == Decimal("0.04"), said.output   # the only paid call of the example


def test_the_doctor_checks_and_prices_a_cues_hosted_composer(example_film, monkeypatch):
    """`slate doctor` of a film whose cue names ElevenLabs' music model: ElevenLabs' own checks run
    (its key, named when missing) and the music model is held to the rate card, though no model
    of the lineup is ElevenLabs'."""
    import yaml

    from slate.manifests import load_film
    from slate.providers import registry
    from slate.tasks.run.doctor import check_lineup, film_music
    for var in ("ELEVENLABS_API_KEY", "XI_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    path = example_film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["finishing"]["music"][0]["model"] = "elevenlabs:music_v1"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    music = film_music(load_film(example_film), ["scene-01"])
    assert [str(m) for m in music] == ["elevenlabs:music_v1"]
    chosen = registry.Lineup(panel=registry.resolve("local", "image", "draft"),
                             videos=(registry.resolve("local", "video", "draft"),),
                             judge=registry.resolve("local", "judge", "draft"))
    mine = [f for f in check_lineup(example_film, chosen, {}, video_slots=1, music=music) if f.provider == "elevenlabs"]
    [key] = [f for f in mine if f.check == "key"]
    assert not key.ok and "ELEVENLABS_API_KEY" in key.text
    assert any(f.check == "models" and f.ok and "music model elevenlabs:music_v1 is priced" in f.text for f in mine)
