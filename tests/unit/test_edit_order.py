"""A scene's edit order (`finishing.cut`, issue 39): what `slate conform` writes when an editor
reorders or drops shots, checked when the film loads, left out of the can's key when unset, and
what the scene flow's transitions between approved clips follow."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
import yaml

from slate.flows.edit.scene_finish import transitions_between
from slate.manifests import ManifestError, load_film
from slate.manifests.assembly import SceneFinish
from slate.tasks.edit.assembly import edit_fingerprint


def _set_cut(root, cut) -> None:
    path = root / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["finishing"]["cut"] = cut
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


@pytest.mark.parametrize("cut,field,said", [
    (["1A", "1Z"], "finishing.cut[1]", "the scene has no shot '1Z'"),
    (["1A", "1B", "1A"], "finishing.cut", "shot '1A' is in the cut twice"),
    ([], "finishing.cut", "a cut needs at least one shot"),
])
def test_a_cut_naming_a_shot_the_scene_lacks_or_twice_is_a_problem_of_the_scene_file(example_film, cut, field, said):
    _set_cut(example_film, cut)
    with pytest.raises(ManifestError) as caught:
        load_film(example_film)
    [problem] = caught.value.problems
    assert (problem.file, problem.field) == ("scenes/scene-01.yaml", field), problem
    assert said in problem.message


def test_the_cut_plays_its_shots_in_its_order_and_leaves_out_the_dropped(example_film):
    _set_cut(example_film, ["1B", "1A", "1D"])
    fin = load_film(example_film).scene("scene-01").finishing
    assert fin.in_cut(["1A", "1B", "1C", "1D"]) == ["1B", "1A", "1D"]
    assert fin.in_cut(["1A", "1D"]) == ["1A", "1D"]   # what is not approved stays out
    assert SceneFinish().in_cut(["1A", "1B"]) == ["1A", "1B"]


def test_a_scene_without_a_cut_keys_the_can_as_before(example_film):
    """Every finished scene's key in the can (tasks/run/can.py) holds its `finishing:` dump: a scene
    without a cut dumps without the key, so no film made before it is made again."""
    fingerprint = edit_fingerprint(example_film, load_film(example_film), "scene-01")
    assert "cut" not in fingerprint["scene"]
    _set_cut(example_film, ["1B", "1A"])
    assert edit_fingerprint(example_film, load_film(example_film), "scene-01")["scene"]["cut"] == ["1B", "1A"]


def _plans():
    # What transitions_between reads of a plan: its shot, place and transition out.
    kinds = {"1A": ("cut", 0.0), "1B": ("dissolve", 0.75), "1C": ("cut", 0.0), "1D": ("dissolve", 0.5), "1E": ("cut", 0.0)}
    return [SimpleNamespace(shot=s, index=i, transition=k, transition_seconds=d) for i, (s, (k, d)) in enumerate(kinds.items())]


def test_a_shots_transition_leads_into_the_shot_after_it_in_the_cut():
    plans = _plans()
    # Without a cut: the file's order; 1B dissolves into 1C, 1D into 1E.
    assert transitions_between(plans, ["1A", "1B", "1C", "1D", "1E"]) == [
        ["cut", 0.0], ["dissolve", 0.75], ["cut", 0.0], ["dissolve", 0.5]]
    # Cut as 1D, 1B, 1A, 1E: 1D's dissolve now leads into 1B; 1B's into 1A; 1A cuts to 1E.
    order = ["1D", "1B", "1A", "1E"]
    assert transitions_between(plans, order, order) == [["dissolve", 0.5], ["dissolve", 0.75], ["cut", 0.0]]
    # A shot of the cut not approved (1B escalated) stands between 1D and 1A: a plain cut there.
    assert transitions_between(plans, ["1D", "1A", "1E"], order) == [["cut", 0.0], ["cut", 0.0]]


def test_a_shot_the_edit_leaves_out_is_not_made_unless_a_kept_shot_chains_from_it():
    """flows/scene.py `_left_out`: 1B is dropped and nothing chains from it — not made; 1D is
    dropped but 1E, in the cut, starts from 1D's last frame (and 1D from 1C's) — made."""
    from types import SimpleNamespace

    from slate.flows.scene import _left_out
    from slate.manifests.assembly import SceneFinish
    plans = [SimpleNamespace(shot=s, index=i, chain=chain) for i, (s, chain) in
             enumerate([("1A", False), ("1B", False), ("1C", False), ("1D", True), ("1E", True)])]
    assert _left_out(plans, SceneFinish(cut=["1A", "1C", "1E"])) == {"1B"}
    assert _left_out(plans, SceneFinish(cut=["1E"])) == {"1A", "1B"}
    assert _left_out(plans, SceneFinish()) == set() and _left_out(plans, None) == set()


def test_the_preflight_reads_the_scene_in_the_edits_order(example_film):
    """tasks/edit/finish_check.py: a cue placed after the cut's end is warned of at the cut's length
    once the edit drops shots — not at the scene file's length, where it would still be heard."""
    import yaml

    from slate.manifests import load_film
    from slate.tasks.edit.finish_check import finish_problems
    path = example_film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["finishing"]["cut"] = ["1A", "1B"]
    doc["finishing"]["cues"].append({"file": doc["finishing"]["cues"][0]["file"], "kind": "effects", "at": 9.0})
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    warnings: list = []
    finish_problems(example_film, load_film(example_film), ["scene-01"], warnings)
    # 1A (2.5 s) and 1B (3 s), 1B's dissolve leading nowhere: a 5.5 s cut.
    assert "starts at 9s, after the scene's end (5.5s): not heard" in [w.message for w in warnings]
    doc["finishing"]["cut"] = None
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    warnings = []
    finish_problems(example_film, load_film(example_film), ["scene-01"], warnings)
    assert not [w for w in warnings if w.message.startswith("starts at 9s")]   # the whole scene hears it
