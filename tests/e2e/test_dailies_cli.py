"""Issue 40's done-when, through the terminal: after the example renders, `slate dailies DIR --ng 1C
--note "…"` and `slate run DIR` make new paid rows for shot 1C only; `slate dailies DIR --circle 1C:1`
and `slate run DIR` put take 1 back in the cut with no new paid row. Counted where it lands: the
ledger's paid rows and the rushes the runs wrote; the list a person reads is checked between."""
from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from slate.cli import app
from slate.flows.review.rushes import read_rushes
from slate.governor.ledger import Ledger
from tests.scene_cuts import keep_shots, without_finishing

FILM, SCENE = "night-diner", "scene-01"
NOTE = "the cup stays on the table"
runner = CliRunner()


def _paid(root) -> list[tuple[str, str, int, str]]:
    """Every paid call the ledger settled (the local provider's at $0): makings and judgings."""
    return [(r.shot, r.stage, r.take, r.prompt) for r in Ledger.for_project(root).rows(film=FILM)
            if r.status == "succeeded"]


def _slate(*args: str) -> str:
    done = runner.invoke(app, list(args))
    assert done.exit_code == 0, (args, done.output, done.stderr)
    return done.output


@pytest.mark.usefixtures("prefect_harness", "local_calls")
def test_ng_and_circle_from_the_terminal_steer_the_next_runs(example_film):
    keep_shots(example_film, ("1B", "1C"))
    without_finishing(example_film)
    root = str(example_film)
    assert "state: Completed" in _slate("run", root)
    listed = _slate("dailies", root)
    assert re.search(r"^1C \(scene-01\) — approved · new takes$", listed, re.M), listed
    assert re.search(r"^  clip take 1 · passed · in the cut · \$0\.00 · made ", listed, re.M), listed
    before = _paid(example_film)

    said = _slate("dailies", root, "--ng", "1C", "--note", NOTE, "--by", "ana")
    assert said.startswith("1C: NG take 1 — the next run makes take 2 (est. $0.00) from the same panel, the note kept "
                           "in the ledger, not in its prompt"), said
    assert "state: Completed" in _slate("run", root)
    new = [row for row in _paid(example_film) if row not in before]
    # Only 1C was paid for again: its clip's take 2 and the gate that judged it; 1B nothing.
    assert {shot for shot, _, _, _ in new} == {"1C"} and ("1C", "video", 2) in [r[:3] for r in new], new
    assert all(NOTE not in prompt for _, _, _, prompt in new)
    assert read_rushes(example_film, SCENE, "draft").shot("1C").in_cut["clip"] == 2
    listed = _slate("dailies", root)
    assert "  the word: NG take 1 (ana): the cup stays on the table" in listed, listed
    assert re.search(r"^  clip take 2 · passed · in the cut", listed, re.M), listed

    before = _paid(example_film)
    said = _slate("dailies", root, "--circle", "1C:1", "--by", "ana")
    assert said.startswith("1C: circled take 1 — the next run puts it back in the cut"), said
    assert "state: Completed" in _slate("run", root)
    assert _paid(example_film) == before   # nothing paid
    rushes = read_rushes(example_film, SCENE, "draft")
    assert rushes.shot("1C").in_cut["clip"] == 1 and rushes.shot("1C").word.startswith("circled take 1 (ana)")
