"""A cue made to a brief as a paid call (tasks/edit/music.py `make_cue`), through a real governor, the
real rate card and the local composer: what the cue's fingerprint holds — the brief and its
spotting on the cut — decides what is made again, counted where it lands: the ledger's rows and
the composer's own book of what it was asked.

An unchanged cut makes nothing; a shot trimmed by 12 frames makes exactly one new `music` row (the
cue whose hit it moves); a lost answer is fetched by the call id, not made and paid twice; and
what the local composer makes passes the music gate, its hit within a frame.
"""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from slate.flows.edit.scene_music import read_cue
from slate.governor.chokepoint import CallContext, Governor
from slate.governor.ledger import Cap, Ledger
from slate.governor.ratecard import RateCard
from slate.manifests.assembly import MusicBrief
from slate.media.music_gate import judge_cue, onsets
from slate.providers import registry
from slate.providers.spec import MUSIC
from slate.providers.storage_local import LocalStorage
from slate.tasks.edit.music import CUE_SHOT, CueTake, make_cue, request_of
from slate.tasks.edit.spotting import places, spot
from slate.tasks.shot.take_inputs import Maker

FILM = "night-diner"
FPS = 24.0
SHOTS = [("1A", 4.0), ("1B", 3.0), ("1C", 5.0)]
JOINS = [("cut", 0.0), ("dissolve", 1.0)]
BRIEFS = [MusicBrief(name="diner", tempo=96, hits=[{"cut": "1B"}], to_shot="1B"),
          MusicBrief(name="night", tempo=120, mode="major", from_shot="1C", intensity={"1C": "full"},
                     instruments=["felt piano", "low strings"])]


def gov(root: Path, run_id: str) -> Governor:
    card = RateCard.load()
    return Governor(run_id=run_id, film=FILM, root=root, ledger=Ledger.for_project(root),
                    estimate=lambda units, model: card.price(model, units), storage=LocalStorage(root),
                    caps=[Cap("run", Decimal(10)), Cap("film", Decimal(100))], failure_charge=card.failure_charge)


def make_all(root: Path, run_id: str, shots, composer) -> list:
    g = gov(root, run_id)
    out = []
    for brief in BRIEFS:
        spotted = spot(brief, places(shots, JOINS), FPS)
        given = CueTake(cue=brief.name, take=1, request=request_of(brief, spotted, 1), maker=Maker.of(composer, "draft"))
        context = CallContext(run_id, FILM, "scene-01", CUE_SHOT + brief.name, "music", 1, "local",
                              composer.model, "draft")
        out.append(make_cue(g, composer, given, context))
    return out


def rows(root: Path):
    return list(Ledger.for_project(root).rows(film=FILM))


def asked(root: Path) -> list[str]:
    book = root / ".slate" / "local-jobs" / "music" / "submissions.jsonl"
    return [json.loads(line)["client_ref"] for line in book.read_text().splitlines()] if book.is_file() else []


@pytest.fixture
def root(tmp_path) -> Path:
    return tmp_path / "film"


def test_an_unchanged_cut_makes_nothing_and_a_trim_remakes_only_the_cue_it_moves(root, local_calls):
    composer = registry.build(MUSIC, "local:local-composer-v1", LocalStorage(root))
    first = make_all(root, "run-1", SHOTS, composer)
    assert [(r.stage, r.shot, r.status, r.actual_cost) for r in rows(root)] == [
        ("music", "music:diner", "succeeded", Decimal(0)), ("music", "music:night", "succeeded", Decimal(0))]
    assert len(asked(root)) == 2 and not any(t.reused for t in first)

    again = make_all(root, "run-2", SHOTS, composer)                      # the same cut again
    assert [t.uri for t in again] == [t.uri for t in first] and all(t.reused for t in again)
    assert len(rows(root)) == 2 and len(asked(root)) == 2

    trimmed = [("1A", 4.0 - 12 / FPS), *SHOTS[1:]]                        # 1A trimmed by 12 frames
    third = make_all(root, "run-3", trimmed, composer)
    new = [r for r in rows(root) if r.run_id == "run-3"]
    assert [(r.stage, r.shot) for r in new] == [("music", "music:diner")]  # its hit moved; "night" did not
    assert third[1].uri == first[1].uri and third[0].uri != first[0].uri
    assert len(asked(root)) == 3

    global BRIEFS
    moved = MusicBrief.model_validate({**BRIEFS[1].model_dump(), "hits": [{"shot": "1C", "at": 1.5}]})
    BRIEFS, kept = [BRIEFS[0], moved], BRIEFS
    try:                                                                  # a hit moved, the length kept
        make_all(root, "run-4", trimmed, composer)
    finally:
        BRIEFS = kept
    assert [(r.stage, r.shot) for r in rows(root) if r.run_id == "run-4"] == [("music", "music:night")]


def test_a_lost_answer_is_fetched_by_its_call_id_not_made_twice(root, local_calls, monkeypatch):
    composer = registry.build(MUSIC, "local:local-composer-v1", LocalStorage(root))
    made = composer.compose

    def lost(request, *, client_ref=None):   # the composer made it; the answer never came back
        made(request, client_ref=client_ref)
        raise ConnectionError("the connection dropped after the request was sent")

    monkeypatch.setattr(composer, "compose", lost)
    got = make_all(root, "run-1", SHOTS, composer)
    assert len(asked(root)) == 2                                          # each asked once, never again
    assert [r.status for r in rows(root)] == ["succeeded", "succeeded"]
    assert all(t.seconds > 1 for t in got)


def test_the_local_composers_cue_passes_the_music_gate_with_its_hit_on_the_frame(root, local_calls):
    composer = registry.build(MUSIC, "local:local-composer-v1", LocalStorage(root))
    made = make_all(root, "run-1", SHOTS, composer)
    storage = LocalStorage(root)
    for brief, take in zip(BRIEFS, made):
        spotted = spot(brief, places(SHOTS, JOINS), FPS)
        samples, rate = read_cue(storage.open_local(take.uri))
        checks = judge_cue(samples, rate, seconds=spotted.seconds, bpm=brief.tempo, hits=spotted.hits, fps=FPS)
        assert all(c.passed for c in checks), [(c.name, c.reason) for c in checks if not c.passed]
    env, step = onsets(*read_cue(storage.open_local(made[0].uri)))
    loudest = env.argmax() * step                                          # the hit is the loudest onset
    assert abs(loudest - 4.0) <= 1 / FPS
