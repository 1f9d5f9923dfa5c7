"""The panel gate holds a panel to the continuity ledger (issue 58), and the continuity gate the
first frame after a cut: the painter draws the ledger's props, blocking and light, and the local
judge names each thing a panel or a cut gets wrong.

The sample is benchmarks/continuity.py's own cases (a seeded two of each kind's hundred, through
the gate corpus's photometric changes); the benchmark runs all of them.
"""
from __future__ import annotations

from dataclasses import asdict

import pytest

from benchmarks.continuity import KINDS, run
from slate.providers.base import CharacterRef, PanelRequest, fingerprint


def test_a_seeded_sample_of_continuity_faults_is_each_caught_by_its_own_check_and_clean_panels_pass(example_film):
    rows = run(example_film, n=100, seed=5, sample=2)
    assert set(rows) == set(KINDS)
    assert rows["clean"].failed == 0, rows["clean"].examples
    for kind in KINDS[1:]:
        row = rows[kind]
        assert row.total == 2 and row.failed == 2, (kind, row.examples)
        # Named for what it is: the prop, the blocking or the light — not only an artefact.
        assert row.named == 2, (kind, row.examples)


@pytest.mark.parametrize("gate", ["cut", "first"])   # the continuity gate at a cut; the keyframe gate in the clip
def test_the_cut_holds_what_the_ledger_carries_over_in_the_first_frame_after_it(example_film, gate):
    """The same cases as the first frame after a cut within the set, and as a clip's own first
    frame against its (clean) start panel: a clip that lost its panel at its first frame (a prop
    moved or gone, a figure on the other side, the light flipped) fails the continuity gate and
    the keyframe gate by the thing's own score; clean first frames pass both."""
    rows = run(example_film, n=100, seed=5, sample=2, gate=gate)
    assert rows["clean"].failed == 0, (gate, rows["clean"].examples)
    for kind in KINDS[1:]:
        assert rows[kind].failed == rows[kind].named == 2, (gate, kind, rows[kind].examples)


def test_a_film_with_no_ledger_keeps_its_panel_requests_and_their_keys():
    req = PanelRequest(prompt="p", location_id="diner", plate_uri="sha256://x", characters=(
        CharacterRef(id="gabe", description="d", turnaround_uri="sha256://t"),), framing="medium", angle="eye",
        movement="static", width=854, height=480, seed=3)
    stored = asdict(req)
    del stored["continuity"]
    assert req.as_dict() == stored
    assert req.fingerprint() == fingerprint(stored)     # the key it had before the ledger existed
    held = PanelRequest(**{**stored, "continuity": {"props": {"mug": {"side": "left"}}}})
    assert held.fingerprint() != req.fingerprint()


def test_the_painter_stands_each_character_at_the_ledgers_side():
    from slate.providers.local_draw import on_its_side, place_figures
    sizes = {(c, v): (60, 200) for c in ("gabe", "jenny", "nina") for v in ("front", "three_quarter", "side", "back")}

    def centres(ids, blocking, seed, moment="end"):
        return {p.character_id: (p.x + 60 * p.scale / 2) / 854 for p in place_figures(
            ids, sizes, framing="medium", width=854, height=480, seed=seed, moment=moment, blocking=blocking)}

    for seed in range(40):
        # Listed against their sides: the slots follow the ledger, not the list.
        swapped = centres(["gabe", "jenny"], {"gabe": {"side": "right"}, "jenny": {"side": "left"}}, seed)
        assert swapped["jenny"] < 0.45 < 0.55 < swapped["gabe"], (seed, swapped)
        alone = centres(["nina"], {"nina": {"side": "left"}}, seed, "start")   # her slot is the middle
        assert on_its_side("left", alone["nina"]) and alone["nina"] < 0.45, (seed, alone)
        # Listed left to right already: where the painter put them with no ledger at all.
        assert centres(["gabe", "jenny"], {"gabe": {"side": "left"}, "jenny": {"side": "right"}}, seed) \
            == centres(["gabe", "jenny"], None, seed)
    [faced] = place_figures(["nina"], sizes, framing="medium", width=854, height=480, seed=3, moment="start",
                            blocking={"nina": {"facing": "camera"}})
    assert faced.view == "front"
