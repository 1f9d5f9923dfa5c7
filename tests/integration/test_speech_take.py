"""A line of dialogue as a paid call (tasks/shot/speech.py `speak_line`), through a real governor and the
real rate card: what a line's fingerprint holds decides what is spoken again, counted where it
lands — the ledger's rows and the voice's own book of lines it was asked for.

Changing one line of a scene's dialogue makes exactly one new `speech` row; a line spoken before
is found in the ledger and costs nothing; a newly approved voice speaks its lines again; the pace
an estimate assumed does not.
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from slate.governor.chokepoint import CallContext, Governor
from slate.governor.ledger import Cap, Ledger
from slate.governor.ratecard import RateCard
from slate.providers import elevenlabs, registry
from slate.providers.base import SpeechRequest
from slate.providers.spec import SPEECH
from slate.providers.storage_local import LocalStorage
from slate.tasks.shot.sound import MadeSound
from slate.tasks.shot.speech import LineTake, line_spec, speak_line
from slate.tasks.shot.take_inputs import Maker
from tests.fakes.control import fake_key, files_holding
from tests.fakes.core import FAKE_CHARS_PER_SECOND

FILM = "night-diner"
DIALOGUE = [("nina", "Coffee?"), ("gabe", "Black, thanks."), ("nina", "The pie is gone. It always is by ten.")]


def gov(root: Path, run_id: str = "run-1") -> Governor:
    card = RateCard.load()
    return Governor(run_id=run_id, film=FILM, root=root, ledger=Ledger.for_project(root),
                    estimate=lambda units, model: card.price(model, units), storage=LocalStorage(root),
                    caps=[Cap("run", Decimal(10)), Cap("film", Decimal(100))], failure_charge=card.failure_charge)


def take(voice, index: int, speaker: str, text: str, *, version: str = "sample-v1", pace: int = 150,
         delivery: tuple[str, ...] = ()) -> LineTake:
    name = {"nina": "female_low", "gabe": "male_low"}.get(speaker, speaker)
    return LineTake(shot="1C", line=index, speaker=speaker, take=1, voice_version=f"{speaker}-{version}",
                    request=SpeechRequest(text, name, delivery=delivery, seed=11), maker=Maker.of(voice, "draft"),
                    pace_wpm=pace)


def speak_all(root: Path, run_id: str, voice, lines) -> list[MadeSound]:
    g = gov(root, run_id)
    out = []
    for given in lines:
        context = CallContext(run_id, FILM, "scene-01", given.shot, "speech", given.take, given.maker.provider,
                              given.maker.model, given.maker.profile)
        out.append(speak_line(g, voice, given, context))
    return out


def rows(root: Path):
    return [r for r in Ledger.for_project(root).rows(film=FILM)]


@pytest.fixture
def root(tmp_path) -> Path:
    return tmp_path / "film"


def test_the_same_line_twice_pays_once_and_a_changed_line_pays_again(root, local_calls):
    voice = registry.build(SPEECH, "local", LocalStorage(root))
    lines = [take(voice, i, who, text) for i, (who, text) in enumerate(DIALOGUE)]
    first = speak_all(root, "run-1", voice, lines)
    assert [r.stage for r in rows(root)] == ["speech"] * 3 and all(r.status == "succeeded" for r in rows(root))
    assert not any(t.reused for t in first) and len({t.uri for t in first}) == 3
    assert all(t.seconds > 0.4 for t in first)

    again = speak_all(root, "run-2", voice, lines)                         # the scene run again, nothing changed
    assert [t.uri for t in again] == [t.uri for t in first] and all(t.reused for t in again)
    assert len(rows(root)) == 3 and len(voice.submissions()) == 3         # no new row, no line spoken again

    changed = list(lines)
    changed[1] = take(voice, 1, "gabe", "Black. No sugar.")               # one line's text changed
    third = speak_all(root, "run-3", voice, changed)
    assert len(rows(root)) == 4 and len(voice.submissions()) == 4         # exactly one new row: that line's
    [new] = [r for r in rows(root) if r.run_id == "run-3"]
    assert (new.stage, new.prompt, new.parameters["line"], new.parameters["speaker"]) == \
        ("speech", "Black. No sugar.", 1, "gabe")
    assert [t.reused for t in third] == [True, False, True] and third[1].uri != first[1].uri


def test_what_a_line_is_keyed_by(root, local_calls):
    voice = registry.build(SPEECH, "local", LocalStorage(root))
    base = take(voice, 0, "nina", "Coffee?")
    speak_all(root, "run-1", voice, [base])
    speak_all(root, "run-2", voice, [take(voice, 0, "nina", "Coffee?", pace=110)])       # the estimate's pace: not heard
    speak_all(root, "run-3", voice, [take(voice, 4, "nina", "Coffee?")])                 # its place in the shot: not heard
    assert len(rows(root)) == 1
    speak_all(root, "run-4", voice, [take(voice, 0, "nina", "Coffee?", version="sample-v2")])   # a newly approved voice
    speak_all(root, "run-5", voice, [take(voice, 0, "nina", "Coffee?", delivery=("slow",))])    # how it is said
    assert len(rows(root)) == 3 and len(voice.submissions()) == 3
    spec = line_spec(CallContext("r", FILM, "scene-01", "1C", "speech", 1, "local", "local-espeak-v1", "draft"), base)
    assert (spec.units.kind, spec.units.characters) == ("speech", len("Coffee?"))
    assert spec.parameters == {"line": 0, "speaker": "nina", "voice": "female_low", "voice_version": "nina-sample-v1",
                               "voice_settings": {}, "delivery": [], "seed": 11}


def test_a_line_on_elevenlabs_is_priced_by_its_characters_and_holds_no_key(root, fakes):
    voice = elevenlabs.speech("eleven_flash_v2_5", base_url=fakes.url("elevenlabs"))
    given = LineTake(shot="1C", line=0, speaker="gabe", take=1, voice_version="gabe-v3",
                     request=SpeechRequest("Black, thanks.", "JBFqnCBsd6RMkjVDRZzb", {"stability": 0.5}),
                     maker=Maker.of(voice, "draft"))
    [spoken] = speak_all(root, "run-1", voice, [given])
    [row] = rows(root)
    # 14 characters × $0.05 / 1,000, estimated before it was sent and settled at what was billed.
    assert (row.stage, row.estimate, row.actual_cost) == ("speech", Decimal("0.0007"), Decimal("0.0007"))
    assert row.artifact_uri == spoken.uri and spoken.seconds == pytest.approx(14 / 14.0 + 0.1, abs=1e-3)
    assert files_holding(fake_key("elevenlabs"), root) == []


def test_a_line_whose_answer_was_lost_is_found_in_the_elevenlabs_history_not_asked_again(root, fakes):
    """Issue 56 item 8: ElevenLabs keeps every line it spoke in the account's history. A line spoken
    whose answer never came back (the connection dropped after speaking, as a stopped run's would)
    is looked up there — the same voice, model and text, made after the call was sent — and
    fetched (MP3, as the history serves it), not paid for again. Before: asked again, two lines paid."""
    fakes.faults({"provider": "elevenlabs", "op": "speak", "kind": "drop_after"})
    voice = elevenlabs.speech("eleven_multilingual_v2", base_url=fakes.url("elevenlabs"))
    given = LineTake(shot="1C", line=2, speaker="nina", take=1, voice_version="nina-v1",
                     request=SpeechRequest("It always is by ten.", "21m00Tcm4TlvDq8ikWAM"), maker=Maker.of(voice, "final"))
    [spoken] = speak_all(root, "run-1", voice, [given])
    assert LocalStorage(root).exists(spoken.uri)
    assert spoken.seconds == pytest.approx(len("It always is by ten.") / FAKE_CHARS_PER_SECOND + 0.1, abs=0.08)
    [row] = rows(root)
    assert (row.status, row.error_class, row.artifact_uri) == ("succeeded", None, spoken.uri), row
    assert row.actual_cost == row.estimate > 0                      # what the line cost, paid once
    assert len([j for j in fakes.jobs("elevenlabs") if j["op"] == "speak"]) == 1   # spoken once: found
    assert [r["path"] for r in fakes.requests("elevenlabs") if r["method"] == "GET"][-2:] == \
        ["/elevenlabs/v1/history", f"/elevenlabs/v1/history/{fakes.jobs('elevenlabs')[0]['id']}/audio"]
    assert files_holding(fake_key("elevenlabs"), root) == []


def test_a_line_spoken_before_the_lost_call_was_sent_is_never_taken_for_it(root, fakes):
    """The same line (voice, model, text) spoken earlier — an earlier take — is in the history too;
    a later call whose request dropped before anything was spoken must not take it: asked again once."""
    import time
    voice = elevenlabs.speech("eleven_multilingual_v2", base_url=fakes.url("elevenlabs"))
    line = SpeechRequest("It always is by ten.", "21m00Tcm4TlvDq8ikWAM")
    first = LineTake(shot="1C", line=2, speaker="nina", take=1, voice_version="nina-v1", request=line,
                     maker=Maker.of(voice, "final"))
    speak_all(root, "run-1", voice, [first])
    time.sleep(2.2)     # the history stamps whole seconds: the earlier line is then plainly before
    fakes.faults({"provider": "elevenlabs", "op": "speak", "kind": "drop_before"})
    again = first.model_copy(update={"take": 2, "request": SpeechRequest(line.text, line.voice, seed=2)})
    [spoken] = speak_all(root, "run-2", voice, [again])
    took = [r for r in rows(root) if r.take == 2]
    assert sorted((r.status, r.error_class or "") for r in took) == \
        [("failed", "AnswerLost"), ("released", "AskedAgain"), ("succeeded", "")], took
    assert len([j for j in fakes.jobs("elevenlabs") if j["op"] == "speak"]) == 2   # take 1, then take 2 asked again


def test_a_history_that_cannot_be_read_leaves_the_line_asked_again_once(root, fakes):
    fakes.faults({"provider": "elevenlabs", "op": "speak", "kind": "drop_after"},
                 {"provider": "elevenlabs", "op": "history", "kind": "status", "status": 500, "times": 9})
    voice = elevenlabs.speech("eleven_multilingual_v2", base_url=fakes.url("elevenlabs"))
    given = LineTake(shot="1C", line=2, speaker="nina", take=1, voice_version="nina-v1",
                     request=SpeechRequest("It always is by ten.", "21m00Tcm4TlvDq8ikWAM"), maker=Maker.of(voice, "final"))
    [spoken] = speak_all(root, "run-1", voice, [given])
    assert LocalStorage(root).exists(spoken.uri)
    assert sorted((r.status, r.error_class or "") for r in rows(root)) == \
        [("failed", "AnswerLost"), ("released", "AskedAgain"), ("succeeded", "")]
    assert len([j for j in fakes.jobs("elevenlabs") if j["op"] == "speak"]) == 2   # asked once more, no more


@pytest.mark.usefixtures("prefect_harness")
def test_the_speech_take_task_speaks_a_line_of_a_run_once_and_keeps_it(example_film, local_calls):
    """The Prefect task a scene will call: the run's crew builds the voice, the call sits in the run's
    ledger under stage speech, and the same line asked again in a later run is the cached take."""
    from prefect import flow

    from slate.manifests.settings import StorageSettings
    from slate.tasks.run.cache import result_storage
    from slate.tasks.run.run import open_run
    from slate.tasks.shot.speech import speech_take
    from tests.runs import a_run

    voice = registry.build(SPEECH, "local", LocalStorage(example_film))
    given = take(voice, 0, "nina", "Coffee?")

    # As the scene flow keeps its takes: in the film's own folder (a key holds no path).
    @flow(result_storage=result_storage(example_film, StorageSettings()))
    def scene(run_id: str) -> MadeSound:
        with open_run(a_run(example_film, run_id)) as run:
            return speech_take(run, given)

    first, second = scene("run-a"), scene("run-b")
    assert isinstance(first, MadeSound) and second == first and first.seconds > 0.3
    [row] = [r for r in Ledger.for_project(example_film).rows() if r.stage == "speech"]
    assert (row.run_id, row.scene, row.shot, row.provider, row.model, row.artifact_uri) == \
        ("run-a", "scene-01", "1C", "local", "local-espeak-v1", first.uri)
    assert len(voice.submissions()) == 1
