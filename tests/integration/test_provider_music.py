"""Music as a paid call against a hosted composer: ElevenLabs' music endpoint against its fake over
real HTTP (tests/fakes/elevenlabs.py), each cue through `make_cue` and a real governor priced by the
real rate card — counted where it lands: the fake's book of requests and of cues it made, and the
ledger's rows.

What is sent is the brief in words with the cue's spotted length; a cue is one `music` row priced
by its seconds; a 429 is waited out and asked again; a lost answer is not asked again (a song
cannot be fetched again: the call stays open for a person); a cap refusal sends nothing.
"""
from __future__ import annotations

import io
import wave
from decimal import Decimal
from pathlib import Path

import pytest

from slate.flows.edit.scene_music import read_cue
from slate.governor.chokepoint import CallContext, Governor, RunHalted, UnknownOutcome
from slate.governor.ledger import Cap, Ledger
from slate.governor.ratecard import RateCard
from slate.manifests.assembly import MusicBrief
from slate.providers import elevenlabs
from slate.providers.errors import BadRequest, RefusedByModeration
from slate.providers.storage_local import LocalStorage
from slate.tasks.edit.music import CUE_SHOT, CueTake, make_cue, request_of
from slate.tasks.edit.spotting import places, spot
from slate.tasks.shot.take_inputs import Maker
from tests.fakes.control import fake_key

FILM = "night-diner"
FPS = 24.0
SHOTS = [("1A", 4.0), ("1B", 3.0)]
BRIEF = MusicBrief(name="arrival", tempo=96, key="D", instruments=["brushed drums"], hits=[{"cut": "1B"}],
                   model="elevenlabs:music_v1")


@pytest.fixture
def root(tmp_path, fakes) -> Path:
    return tmp_path / "film"


def gov(root: Path, cap: Decimal = Decimal(10)) -> Governor:
    card = RateCard.load()
    return Governor(run_id="run-1", film=FILM, root=root, ledger=Ledger.for_project(root),
                    estimate=lambda units, model: card.price(model, units), storage=LocalStorage(root),
                    caps=[Cap("run", cap), Cap("film", Decimal(100))], poll_interval=0.02, busy_poll=0.05,
                    retry_wait_cap=2.0, failure_charge=card.failure_charge)


def compose(fakes, root: Path, brief: MusicBrief = BRIEF, cap: Decimal = Decimal(10)):
    composer = elevenlabs.music("music_v1", base_url=fakes.url("elevenlabs"))
    spotted = spot(brief, places(SHOTS, [("cut", 0.0)]), FPS)
    given = CueTake(cue=brief.name, take=1, request=request_of(brief, spotted, 1), maker=Maker.of(composer, "draft"))
    context = CallContext("run-1", FILM, "scene-01", CUE_SHOT + brief.name, "music", 1, "elevenlabs", "music_v1", "draft")
    return make_cue(gov(root, cap), composer, given, context), spotted


def rows(root: Path):
    return list(Ledger.for_project(root).rows(film=FILM))


def made(fakes) -> list[dict]:
    return [j for j in fakes.jobs("elevenlabs") if j["op"] == "compose"]


def posts(fakes) -> list[dict]:
    return [r for r in fakes.requests("elevenlabs") if r["path"].endswith("/v1/music")]


def test_a_cue_is_the_brief_in_words_at_its_length_one_row_priced_by_its_seconds(fakes, root):
    got, spotted = compose(fakes, root)
    [call] = posts(fakes)
    assert call["method"] == "POST" and call["query"] == {"output_format": ["mp3_44100_128"]}
    assert call["headers"]["xi-api-key"] == fake_key("elevenlabs")
    body = call["body"]
    assert body["music_length_ms"] == 7000 and body["model_id"] == "music_v1" and body["force_instrumental"] is True
    assert "96 BPM" in body["prompt"] and "D minor" in body["prompt"] and "brushed drums" in body["prompt"]
    assert "exactly at 4.00s" in body["prompt"]
    [row] = rows(root)
    assert (row.stage, row.shot, row.status) == ("music", "music:arrival", "succeeded")
    assert row.actual_cost == Decimal("0.035")                     # 7 s at $0.30 a minute
    assert fake_key("elevenlabs") not in str(row)
    with wave.open(io.BytesIO(LocalStorage(root).get_bytes(got.uri)), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 48000)
    samples, rate = read_cue(LocalStorage(root).open_local(got.uri))   # the MP3 decoded: as long as asked
    assert abs(len(samples) / rate - spotted.seconds) <= 1 / FPS


def test_a_429_is_waited_out_and_asked_again(fakes, root):
    fakes.faults({"provider": "elevenlabs", "op": "compose", "kind": "status", "status": 429,
                  "body": {"detail": {"status": "too_many_concurrent_requests", "message": "busy"}},
                  "headers": {"retry-after": "0"}})
    compose(fakes, root)
    assert len(posts(fakes)) == 2 and len(made(fakes)) == 1
    assert sorted(r.status for r in rows(root)) == ["failed", "succeeded"]
    assert [r.actual_cost for r in rows(root) if r.status == "failed"] == [Decimal(0)]


def test_a_lost_answer_is_not_asked_again(fakes, root):
    fakes.faults({"provider": "elevenlabs", "op": "compose", "kind": "drop_after"})
    with pytest.raises(UnknownOutcome):
        compose(fakes, root)
    assert len(posts(fakes)) == 1 and len(made(fakes)) == 1       # made once, never asked again
    [row] = rows(root)
    assert row.status != "succeeded"
    again = [r for r in fakes.requests("elevenlabs") if r["path"].endswith("/v1/music")]
    assert len(again) == 1


def test_a_cap_refusal_sends_nothing(fakes, root):
    with pytest.raises(RunHalted):
        compose(fakes, root, cap=Decimal("0.01"))                   # 7 s at $0.005 is $0.035
    assert posts(fakes) == [] and made(fakes) == []


def test_a_refused_prompt_or_a_length_it_cannot_make_is_said_in_its_words(fakes, root):
    fakes.faults({"provider": "elevenlabs", "op": "compose", "kind": "moderation"})
    with pytest.raises(RefusedByModeration, match="Terms of Service"):
        compose(fakes, root)
    short = MusicBrief(name="sting", tempo=96, model="elevenlabs:music_v1")
    request = request_of(short, spot(short, places([("1A", 2.0)], []), FPS), 1)
    with pytest.raises(BadRequest, match="at least 3s"):
        elevenlabs.music("music_v1", base_url=fakes.url("elevenlabs")).body(request)
    assert len(posts(fakes)) == 1                                   # the refused one only; the short one never sent
