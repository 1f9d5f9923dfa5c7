"""A talking shot's clip take is the take in the cut, though the cut plays its lip-synced file
(issue 57): `slate dailies --ng 1D` said "no clip take of 1D is in the cut" — the rushes marked a
take in the cut by the file the cut plays, and the lip-sync makes another — so no talking shot
could be NG'd, and its `play:` opened a clip whose mouth does not move.

In-process on one shot (tests/one_shot.py): 1D's clip, approved at take 1 by its take loop, goes
through the real lip-sync stage (the local painter's mouths, the real sync gate); the rushes are
recorded as the scene records them; the dailies and the command line read them.
"""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

from tests.integration.test_stage_rules import _line
from tests.one_shot import on_one_shot

pytestmark = pytest.mark.usefixtures("local_calls", "prefect_harness")


def test_a_lip_synced_shots_take_is_in_the_cut_and_can_be_ngd(example_film):
    from slate.cli import app
    from slate.flows.review.rushes import dailies_of, record_rushes
    from slate.flows.shot.scene_lipsync import lipsync_of
    from slate.flows.shot.shot import Take
    from slate.commands.dailies import shot_lines
    from slate.governor.ledger import Ledger
    from slate.manifests import load_film
    from slate.tasks.review.circle import words_of

    def body(run, plan, made):
        taken = made.clip.model_copy(update={"approved_take": 1, "key": "clip-key-of-1D", "takes": [Take(
            stage="video", moment="clip", take=1, uri=made.clip.clip_uri, passed=True, quality=1.0, reasons=[])]})
        return plan, taken, lipsync_of(run, plan, taken, [_line(run, "1D", "gabe")])

    plan, taken, synced = on_one_shot(example_film, "1D", {}, body)
    assert synced.lip_sync and synced.clip_uri != taken.clip_uri, synced    # the cut plays the synced file
    film = load_film(example_film)
    record_rushes(example_film, film=film.film.id, scene="scene-01", profile="draft", run_id="r1", plans=[plan],
                  panels={}, clips={"1D": synced}, statuses={"1D": "approved"})
    with Ledger.for_project(example_film) as ledger:
        [shot] = dailies_of(example_film, ledger, film.film.id, ["scene-01"], "draft")
    [take] = [t for t in shot.takes if t.kind == "clip"]
    assert take.in_cut and take.uri == taken.clip_uri, take
    lines = shot_lines(shot)
    # The continuity ledger's state of 1D beside its takes (issue 58): the mug slid to frame right.
    assert "  the ledger ends: the mug, full, at the counter, frame right" in lines, lines
    assert "  clip take 1 · passed · in the cut · $0.00" in "\n".join(lines), lines
    assert any(line.startswith("    the cut plays it as: ") and line.endswith("(after its passes: lip-sync, swap, "
                                                                             "upscale)") for line in lines), lines
    out = CliRunner().invoke(app, ["dailies", str(example_film), "--ng", "1D", "--note", "louder", "--by", "ana"])
    assert out.exit_code == 0 and "1D: NG take 1" in out.output, out.output
    assert [(w.shot, w.take, w.word) for w in words_of(Ledger.for_project(example_film), film.film.id)] == \
        [("1D", 1, "ng")]
