"""The swap gate's measure (media/faceswap.py), on frames drawn here: a swapped face is held to its
approved one, and every other change — the set, another character, the swapped one's hair, the
length — is named."""
from __future__ import annotations

import numpy as np
import pytest

from slate.media.faceswap import Footage, face_of, skin_of, swap_scores

H, W, N = 120, 240, 6
SKIN = np.array([232, 180, 150], dtype=np.uint8)       # the approved face's
DRIFTED = np.array([200, 150, 170], dtype=np.uint8)    # the same face turned pink-grey in the clip
HAIR_A, HAIR_B = np.array([200, 60, 30], np.uint8), np.array([240, 210, 90], np.uint8)
COAT_A, COAT_B = np.array([30, 60, 100], np.uint8), np.array([180, 30, 40], np.uint8)


def _frames(face_a: np.ndarray) -> tuple[np.ndarray, dict]:
    """N frames of a striped set with two figures walking right a pixel a frame: A (left) with
    `face_a`, B (right) with the approved skin."""
    frames = np.zeros((N, H, W, 3), dtype=np.uint8)
    frames[:] = np.array([90, 40, 50], np.uint8)
    frames[:, :, ::12] = np.array([120, 60, 70], np.uint8)
    boxes: dict[str, list] = {"a": [], "b": []}
    for i in range(N):
        for cid, x, face, hair, coat in (("a", 50 + i, face_a, HAIR_A, COAT_A), ("b", 160 + i, SKIN, HAIR_B, COAT_B)):
            frames[i, 30:36, x:x + 14] = hair
            frames[i, 36:46, x + 2:x + 12] = face
            frames[i, 40, x + 8] = (20, 20, 20)           # an eye
            frames[i, 46:100, x:x + 14] = coat
            boxes[cid].append((30, x, 100, x + 14))
    return frames, boxes


def _footage(frames: np.ndarray, count: int | None = None) -> Footage:
    return Footage(frames, count if count is not None else len(frames), 24.0, W, H)


def _swap(frames: np.ndarray, boxes: dict, who: str = "a", colour: np.ndarray = SKIN) -> np.ndarray:
    out = frames.copy()
    for i, (top, left, _, right) in enumerate(boxes[who]):
        face = out[i, 36:46, left + 2:left + 12]
        skin_like = np.abs(face.astype(int) - frames[i, 38, left + 3].astype(int)).sum(-1) < 10
        face[skin_like] = colour
    return out


def _by_name(scores: list[dict]) -> dict[str, dict]:
    return {s["name"]: s for s in scores}


def test_a_drifted_face_swapped_for_the_approved_one_passes_and_says_it_came_nearer():
    clip, boxes = _frames(DRIFTED)
    scores = _by_name(swap_scores(_footage(clip), _footage(_swap(clip, boxes)), skins={"a": SKIN}, figures=boxes))
    assert all(s["passed"] for s in scores.values()), scores
    assert "nearer their approved face" in scores["swap_identity"]["reason"]


def test_an_on_model_face_the_swap_leaves_as_it_was_holds():
    clip, boxes = _frames(SKIN)
    scores = _by_name(swap_scores(_footage(clip), _footage(clip.copy()), skins={"a": SKIN}, figures=boxes))
    assert scores["swap_identity"]["passed"] and "still is" in scores["swap_identity"]["reason"]


def test_a_swap_that_changed_nothing_of_a_drifted_face_fails_identity():
    clip, boxes = _frames(DRIFTED)
    scores = _by_name(swap_scores(_footage(clip), _footage(clip.copy()), skins={"a": SKIN}, figures=boxes))
    assert not scores["swap_identity"]["passed"]
    assert "no nearer" in scores["swap_identity"]["reason"]


def test_a_swap_that_repaints_the_set_fails_location():
    clip, boxes = _frames(DRIFTED)
    after = _swap(clip, boxes)
    after[:, 90:120, 200:240] = SKIN
    scores = _by_name(swap_scores(_footage(clip), _footage(after), skins={"a": SKIN}, figures=boxes))
    assert not scores["swap_location"]["passed"] and "the set changed" in scores["swap_location"]["reason"]
    assert scores["swap_identity"]["passed"] and scores["swap_others"]["passed"]


def test_the_wrong_face_swapped_names_the_other_character():
    clip, boxes = _frames(DRIFTED)
    after = _swap(clip, boxes, who="b", colour=DRIFTED)
    scores = _by_name(swap_scores(_footage(clip), _footage(after), skins={"a": SKIN}, figures=boxes))
    assert not scores["swap_others"]["passed"] and "(b)" in scores["swap_others"]["reason"]
    assert not scores["swap_identity"]["passed"]


def test_the_swapped_characters_hair_is_theirs_to_keep():
    clip, boxes = _frames(DRIFTED)
    after = _swap(clip, boxes)
    for i, (top, left, _, right) in enumerate(boxes["a"]):
        after[i, 30:36, left:right] = HAIR_B
    scores = _by_name(swap_scores(_footage(clip), _footage(after), skins={"a": SKIN}, figures=boxes))
    assert not scores["swap_others"]["passed"] and "a's figure beyond the swapped face" in scores["swap_others"]["reason"]


@pytest.mark.parametrize("count", [N - 2, N + 3])
def test_a_swap_of_another_length_fails_before_anything_else_is_read(count):
    clip, boxes = _frames(DRIFTED)
    scores = swap_scores(_footage(clip), _footage(_swap(clip, boxes), count=count), skins={"a": SKIN}, figures=boxes)
    assert [s["name"] for s in scores] == ["swap_length"] and not scores[0]["passed"]


def test_a_face_not_found_anywhere_is_not_a_pass():
    clip, boxes = _frames(DRIFTED)
    far = {"a": [None] * N, "b": boxes["b"]}
    scores = _by_name(swap_scores(_footage(clip), _footage(_swap(clip, boxes)), skins={"a": SKIN}, figures=far))
    assert not scores["swap_identity"]["passed"] and "not found" in scores["swap_identity"]["reason"]


def test_the_approved_face_is_the_head_of_the_front_view_and_its_skin_is_not_the_hair():
    figure = np.zeros((100, 20, 4), dtype=np.uint8)
    figure[0:6, 3:17] = [*HAIR_A, 255]
    figure[6:22, 4:16] = [*SKIN, 255]
    figure[22:100, 2:18] = [*COAT_A, 255]
    face = face_of(figure)
    assert face.shape[2] == 3 and face.shape[0] > 4 * 20 and (face == SKIN).all(axis=-1).any()
    assert not (face == COAT_A).all(axis=-1).any()     # the head only
    assert tuple(skin_of(figure).astype(int)) == tuple(SKIN.astype(int))
