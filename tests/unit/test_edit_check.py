"""An edit is checked to have happened (issue 35): slate's measure of a version against its parent,
the local painter's reading of a description (a haircut is never a garment) and its removals (no
outline of the removed box), and the local judge's reading of a sheet's outfit against the words."""
from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from slate.manifests.turnaround import EXAMPLE_CAST, draw_turnaround
from slate.providers import local_bible
from slate.providers.local_judge import LocalJudge
from slate.tasks.workshop.edit_check import edit_scores

GABE = """Gabe, a long-haul trucker in his forties.
Very tall and broad-shouldered, heavy build.
Bright red hair cut in a flat-top; ruddy, freckled fair skin; clean-shaven square jaw.
Green plaid flannel shirt, dark blue denim jeans, black work boots."""


def png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def by_name(scores: list[dict]) -> dict[str, dict]:
    return {s["name"]: s for s in scores}


def test_an_unchanged_or_barely_changed_edit_changed_nothing():
    plate = local_bible.draw_plate("A room. Grey walls; a red sofa; a blue lamp stand.")
    same = edit_scores(png(plate), png(plate), "version 1")
    assert [(s["name"], s["passed"]) for s in same] == [("edit_changed", False)]
    assert same[0]["reason"].startswith("the edit changed nothing: 0.00% of the picture differs from version 1")
    # re-encoded as a model hands a picture back: grain and JPEG are not an edit
    noisy = np.clip(np.asarray(plate, dtype=int) + np.random.default_rng(1).normal(0, 3, (360, 640, 3)), 0, 255)
    buf = io.BytesIO()
    Image.fromarray(noisy.astype(np.uint8)).save(buf, format="JPEG", quality=70)
    assert by_name(edit_scores(png(plate), buf.getvalue(), "version 1"))["edit_changed"]["passed"] is False


def test_a_change_mostly_outside_what_the_edit_names_changed_something_else():
    plate = local_bible.draw_plate("A room. Grey walls; a red sofa; a blue lamp stand.")
    elsewhere = plate.copy()
    ImageDraw.Draw(elsewhere).rectangle((400, 40, 560, 160), fill=(0, 200, 0))
    here = plate.copy()
    ImageDraw.Draw(here).rectangle((20, 200, 140, 300), fill=(0, 200, 0))
    region = [(10, 190, 150, 310)]
    wrong = by_name(edit_scores(png(plate), png(elsewhere), "version 1", region, "the sofa"))
    assert wrong["edit_changed"]["passed"] and not wrong["edit_in_place"]["passed"]
    assert wrong["edit_in_place"]["reason"].startswith("changed something else: only 0% of what changed is where "
                                                        "the sofa is")
    right = by_name(edit_scores(png(plate), png(here), "version 1", region, "the sofa"))
    assert right["edit_changed"]["passed"] and right["edit_in_place"]["passed"]


@pytest.mark.parametrize("hair", ["cut in a flat-top", "in a crew cut", "in a chin-length bob", "in a ponytail",
                                  "in a buzz cut", "in a flat top"])
def test_a_hairstyle_word_is_never_a_garment(hair):
    words = GABE.replace("cut in a flat-top", hair)
    figure = local_bible.figure_from_words(words)
    assert figure.outfit == local_bible.COLOURS["green"], hair     # the flannel shirt, not the red hair
    assert figure.legs == local_bible.COLOURS["dark blue"]
    assert figure.hair == local_bible.COLOURS["red"]
    assert local_bible.described_outfit(words) == ("green", "dark blue")
    # a garment that shares a word with a haircut is still a garment
    assert local_bible.described_outfit("Red crew cut; a yellow crop top, black tights")[0] == "yellow"


def test_a_removal_leaves_no_outline_of_the_box():
    words = "A room. Grey walls over a brown floor; a red sofa; a blue lamp stand."
    plate = local_bible.draw_plate(words)
    removed = local_bible.edit_plate(plate, words, "remove the sofa")
    # exactly the room without the sofa: no pixel of it left, not even one along the box's edges
    assert np.array_equal(np.asarray(removed), np.asarray(local_bible.draw_plate(words, leave_out=frozenset({0}))))
    assert not (np.asarray(removed) == local_bible.COLOURS["red"]).all(axis=-1).any()
    ((_, _, box, _),) = local_bible.named_things(words, "remove the sofa")
    before, after = np.asarray(plate).astype(int), np.asarray(removed).astype(int)
    moved = np.abs(before - after).max(axis=-1) > 0
    ys, xs = np.nonzero(moved)
    assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == box     # and nothing outside its box


def test_a_removal_takes_the_thing_named_not_the_one_beside_it():
    words = "A diner. Dark maroon walls. Long steel-blue counter with chrome trim and red stools."
    named = [w for _, w, _, _ in local_bible.named_things(words, "remove the red stools")]
    assert named == ["red stools"]


def test_the_local_judge_reads_the_outfit_against_the_words(tmp_path: Path):
    judge = LocalJudge()
    right = tmp_path / "gabe.png"
    draw_turnaround(EXAMPLE_CAST["gabe"]).save(right)
    assert [(s.name, s.passed) for s in judge.turnaround_colours(right, "gabe", GABE)] == \
        [("outfit_named", True), ("outfit_named", True)]
    # the shirt drawn in the hair's red (the flat-top read as a garment): refused, naming both
    wrong = tmp_path / "gabe-red.png"
    draw_turnaround(replace(EXAMPLE_CAST["gabe"], outfit=local_bible.COLOURS["red"])).save(wrong)
    scores = judge.turnaround_colours(wrong, "gabe", GABE)
    assert [s.passed for s in scores] == [False, True]
    assert "gabe: the outfit's top is drawn rgb(196, 48, 26)" in scores[0].reason
    assert "from the green the description names" in scores[0].reason
    # the words name no colour for the outfit: nothing to hold it to
    assert judge.turnaround_colours(right, "gabe", "Gabe, a trucker.") == []


@pytest.mark.parametrize("name", sorted(EXAMPLE_CAST))
def test_the_example_casts_sheets_wear_what_their_words_say(example_master, name, tmp_path):
    import yaml
    bible = yaml.safe_load((example_master / "bible.yaml").read_text())
    words = next(c["description"] for c in bible["characters"] if c["id"] == name)
    sheet = example_master / "characters" / name / f"{name}_turnaround_APPROVED.png"
    scores = LocalJudge().turnaround_colours(sheet, name, words)
    assert scores and all(s.passed for s in scores), [s.reason for s in scores]
