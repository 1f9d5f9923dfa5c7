"""Manifest loading: every mistake a director is likely to make is reported on one line that
names the file, the shot and the field, and all of them are reported at once."""

from __future__ import annotations

import json
import shutil
from pathlib import Path, PurePosixPath
from typing import Any, Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
import yaml
from pydantic import ValidationError

from slate.manifests import (
    Camera,
    ManifestError,
    Problem,
    Scene,
    Shot,
    Transition,
    canonical_plate_key,
    canonical_turnaround_key,
    check_key,
    load_film,
    parse_canonical,
    write_example_film,
)

SCENE = "scenes/scene-01.yaml"
CAST = "(bible has: gabe, jenny, leo, mia, nina)"
PLACES = "(bible has: diner, street)"


class Raw(str):
    """Document text written verbatim (for syntax errors)."""


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_example_film(tmp_path_factory.mktemp("example") / "night-diner")


def _copy(template: Path, dest: Path) -> Path:
    shutil.copytree(template, dest, ignore=shutil.ignore_patterns("*.png"))  # the loader never opens images
    return dest


def _read_docs(root: Path) -> dict[str, Any]:
    return {
        key: yaml.safe_load((root / key).read_text(encoding="utf-8"))
        for key in ("film.yaml", "bible.yaml", SCENE)
    }


def _write_docs(root: Path, docs: dict[str, Any]) -> None:
    for key, doc in docs.items():
        path = root / key
        if isinstance(doc, Raw):
            path.write_text(str(doc), encoding="utf-8")
        else:
            path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


def _problems(root: Path) -> list[str]:
    with pytest.raises(ManifestError) as info:
        load_film(root)
    lines = str(info.value).splitlines()
    assert [str(p) for p in info.value.problems] == lines
    return lines


def _shot(docs: dict, i: int) -> dict:
    return docs[SCENE]["shots"][i]


def _set(path: Callable[[dict], dict], key: str, value: Any) -> Callable[[dict], None]:
    def mutate(docs: dict) -> None:
        path(docs)[key] = value

    return mutate


def _yaml_syntax_error(docs: dict) -> None:
    docs[SCENE] = Raw("id: scene-01\ntitle: Last coffee\nshots: [\n  {id: 1A, action: x\nlocation: diner\n")


def _duplicate_yaml_key(docs: dict) -> None:
    docs[SCENE] = Raw("id: scene-01\ntitle: Last coffee\nlocation: diner\nlocation: street\nshots: []\n")


def _del(path: Callable[[dict], dict], key: str) -> Callable[[dict], None]:
    def mutate(docs: dict) -> None:
        del path(docs)[key]

    return mutate


BAD_MANIFESTS = [
    pytest.param(
        lambda d: _shot(d, 2)["characters"].__setitem__(1, "jeny"),
        f"scenes/scene-01.yaml: shot 1C: characters[1]: unknown character 'jeny' {CAST}",
        id="unknown-character",
    ),
    pytest.param(
        _set(lambda d: _shot(d, 0), "location", "dinner"),
        f"scenes/scene-01.yaml: shot 1A: location: unknown location 'dinner' {PLACES}",
        id="unknown-shot-location",
    ),
    pytest.param(
        _set(lambda d: d[SCENE], "location", "dinner"),
        f"scenes/scene-01.yaml: location: unknown location 'dinner' {PLACES}",
        id="unknown-scene-location",
    ),
    pytest.param(
        _set(lambda d: _shot(d, 3), "id", "1C"),
        "scenes/scene-01.yaml: shot 1C: id: duplicate shot id '1C' (also shots[2])",
        id="duplicate-shot-id",
    ),
    pytest.param(
        _set(lambda d: _shot(d, 0), "duration", 15),
        "scenes/scene-01.yaml: shot 1A: duration: must be between 2.0 and 12.0 seconds (got 15)",
        id="duration-too-long",
    ),
    pytest.param(
        _set(lambda d: _shot(d, 0), "duration", 1.5),
        "scenes/scene-01.yaml: shot 1A: duration: must be between 2.0 and 12.0 seconds (got 1.5)",
        id="duration-too-short",
    ),
    pytest.param(
        _set(lambda d: _shot(d, 0), "frame_mode", "startend"),
        "scenes/scene-01.yaml: shot 1A: frame_mode: Input should be 'start', 'start_end' or 'reference' (got 'startend')",
        id="bad-frame-mode",
    ),
    pytest.param(
        _set(lambda d: _shot(d, 1)["transition_out"], "duration", 0),
        "scenes/scene-01.yaml: shot 1B: transition_out.duration: "
        "a dissolve needs a duration above 0 and at most 2 seconds (got 0)",
        id="dissolve-without-duration",
    ),
    pytest.param(
        _set(lambda d: _shot(d, 2), "transition_out", {"kind": "cut", "duration": 0.5}),
        "scenes/scene-01.yaml: shot 1C: transition_out.duration: a cut has no duration (got 0.5)",
        id="cut-with-duration",
    ),
    pytest.param(
        _set(lambda d: _shot(d, 8), "transition_out", {"kind": "dissolve", "duration": 0.5}),
        "scenes/scene-01.yaml: shot 1I: transition_out.kind: "
        "the last shot of a scene must end on a cut (a dissolve needs a next shot)",
        id="last-shot-dissolves",
    ),
    pytest.param(
        _set(lambda d: _shot(d, 0), "chain", True),
        "scenes/scene-01.yaml: shot 1A: chain: "
        "the first shot of a scene cannot chain (there is no previous shot to start from)",
        id="chain-on-first-shot",
    ),
    pytest.param(
        _set(lambda d: _shot(d, 2), "enters", ["leo"]),
        "scenes/scene-01.yaml: shot 1C: enters[0]: 'leo' enters the shot but is not one of its characters "
        "(gabe, jenny): add them to characters",
        id="enters-not-a-character",
    ),
    pytest.param(
        _set(lambda d: _shot(d, 2), "enters", ["gabe", "gabe"]),
        "scenes/scene-01.yaml: shot 1C: enters[1]: character 'gabe' is listed twice (also enters[0])",
        id="enters-twice",
    ),
    pytest.param(
        _set(lambda d: _shot(d, 5), "characters", ["jenny", "leo"]),
        "scenes/scene-01.yaml: shot 1F: chain: chains from shot 1E's last frame, where leo is not (shot 1E names "
        "gabe, jenny): every take would fail the keyframe gate. Start the shot from its own panel (chain: false), "
        "or write the entrance into the action and mark it: enters: [leo]",
        id="chain-adds-a-character",
    ),
    pytest.param(
        _set(lambda d: _shot(d, 0), "end_action", "Nina opens the door."),
        "scenes/scene-01.yaml: shot 1A: end_action: end_action is only allowed when frame_mode is 'start_end'",
        id="end-action-in-start-mode",
    ),
    pytest.param(
        _set(lambda d: d["bible.yaml"]["characters"][0], "turnaround", "../x.png"),
        "bible.yaml: characters[0].turnaround: asset key must be relative and inside the project: "
        "'../x.png' has a '..' segment",
        id="key-dotdot",
    ),
    pytest.param(
        _set(lambda d: _shot(d, 3), "panel_override", "/etc/passwd"),
        "scenes/scene-01.yaml: shot 1D: panel_override: asset key must be relative and inside the project: "
        "'/etc/passwd' is an absolute path",
        id="key-absolute",
    ),
    pytest.param(
        _set(lambda d: d["bible.yaml"]["locations"][1], "plate", "C:/plates/street.png"),
        "bible.yaml: locations[1].plate: asset key must be relative and inside the project: "
        "'C:/plates/street.png' starts with a drive letter",
        id="key-drive-letter",
    ),
    pytest.param(
        _set(lambda d: d["bible.yaml"]["locations"][1], "plate", "locations\\street.png"),
        "bible.yaml: locations[1].plate: asset key must be relative and inside the project: "
        "'locations\\\\street.png' contains a backslash (use '/')",
        id="key-backslash",
    ),
    pytest.param(
        _set(lambda d: _shot(d, 3), "panel_override", "panels/1D\x00.png"),
        "scenes/scene-01.yaml: shot 1D: panel_override: asset key must be relative and inside the project: "
        "'panels/1D\\x00.png' contains a NUL byte",
        id="key-nul",
    ),
    pytest.param(
        _set(lambda d: d["film.yaml"], "bible", "./bible.yaml"),
        "film.yaml: bible: asset key must be relative and inside the project: './bible.yaml' has a '.' segment",
        id="key-dot-segment",
    ),
    pytest.param(
        _set(lambda d: d[SCENE]["wardrobe"], "jeny", {"description": "A red coat."}),
        f"scenes/scene-01.yaml: wardrobe.jeny: unknown character 'jeny' {CAST}",
        id="unknown-wardrobe-character",
    ),
    pytest.param(
        _set(lambda d: d[SCENE]["wardrobe"]["gabe"], "colour", "navy"),
        "scenes/scene-01.yaml: wardrobe.gabe.colour: colour must be a hex colour like '#aa3322' (got 'navy')",
        id="bad-colour",
    ),
    pytest.param(
        _set(lambda d: _shot(d, 0)["camera"], "movement", "pan_left"),
        "scenes/scene-01.yaml: shot 1A: camera.movement: a fixed camera must be 'static' (got 'pan_left')",
        id="fixed-camera-moves",
    ),
    pytest.param(
        _set(lambda d: _shot(d, 4), "duraton", 3),
        "scenes/scene-01.yaml: shot 1E: duraton: unknown field (did you mean 'duration'?)",
        id="typo-field",
    ),
    pytest.param(
        _del(lambda d: _shot(d, 0), "action"),
        "scenes/scene-01.yaml: shot 1A: action: required field is missing",
        id="missing-action",
    ),
    pytest.param(
        _set(lambda d: _shot(d, 0), "id", "1a"),
        "scenes/scene-01.yaml: shot #1: id: shot id must be 1-3 digits then 1-2 capital letters, "
        "like '1A' or '12AB' (got '1a')",
        id="bad-shot-id",
    ),
    pytest.param(
        _set(lambda d: _shot(d, 2), "characters", ["gabe", "gabe"]),
        "scenes/scene-01.yaml: shot 1C: characters: character 'gabe' is listed twice (characters[0] and [1])",
        id="character-twice",
    ),
    pytest.param(
        _set(lambda d: d["bible.yaml"]["characters"][1], "id", "gabe"),
        "bible.yaml: characters[1].id: duplicate id 'gabe' (also characters[0])",
        id="duplicate-bible-id",
    ),
    pytest.param(
        _set(lambda d: d["film.yaml"], "scenes", ["scenes/nope.yaml"]),
        "film.yaml: scenes[0]: scene file 'scenes/nope.yaml' not found",
        id="missing-scene-file",
    ),
    pytest.param(
        _yaml_syntax_error,
        "scenes/scene-01.yaml: line 5: invalid YAML: expected ',' or '}', but got ':' (column 9)",
        id="yaml-syntax-error",
    ),
    pytest.param(
        _duplicate_yaml_key,
        "scenes/scene-01.yaml: line 4: invalid YAML: found duplicate key 'location' (column 1)",
        id="yaml-duplicate-key",
    ),
]


@pytest.mark.parametrize(("mutate", "expected"), BAD_MANIFESTS)
def test_bad_manifest_names_file_shot_and_field(template: Path, tmp_path: Path, mutate, expected: str) -> None:
    root = _copy(template, tmp_path / "film")
    docs = _read_docs(root)
    mutate(docs)
    _write_docs(root, docs)
    lines = _problems(root)
    assert expected in lines, "\n".join(lines)
    assert lines.count(expected) == 1


def test_bad_manifest_table_is_large_enough() -> None:
    assert len(BAD_MANIFESTS) >= 15


def test_example_loads(template: Path) -> None:
    film = load_film(template)
    assert film.film.id == "night-diner"
    assert [key for key, _ in film.scenes] == [SCENE]
    scene = film.scene("scene-01")
    assert film.character("mia").turnaround_key == canonical_turnaround_key("mia")
    assert film.location("diner").plate_key == canonical_plate_key("diner")
    assert scene.location_of(scene.shot("1A")) == "street"
    assert scene.location_of(scene.shot("1C")) == "diner"
    durations = sum(s.duration for s in scene.shots)
    assert scene.total_seconds() == pytest.approx(durations - 0.75)


def test_every_problem_is_reported_at_once(template: Path, tmp_path: Path) -> None:
    root = _copy(template, tmp_path / "film")
    docs = _read_docs(root)
    _shot(docs, 0)["duration"] = 15
    _shot(docs, 2)["characters"][1] = "jeny"
    _shot(docs, 5)["frame_mode"] = "startend"
    docs[SCENE]["wardrobe"]["jeny"] = {"description": "A red coat."}
    docs["bible.yaml"]["characters"][0]["turnaround"] = "../x.png"
    docs["film.yaml"]["scenes"].append("scenes/nope.yaml")
    _write_docs(root, docs)
    lines = _problems(root)
    assert lines == [
        "bible.yaml: characters[0].turnaround: asset key must be relative and inside the project: "
        "'../x.png' has a '..' segment",
        "scenes/scene-01.yaml: shot 1A: duration: must be between 2.0 and 12.0 seconds (got 15)",
        "scenes/scene-01.yaml: shot 1F: frame_mode: Input should be 'start', 'start_end' or 'reference' (got 'startend')",
        f"scenes/scene-01.yaml: wardrobe.jeny: unknown character 'jeny' {CAST}",
        f"scenes/scene-01.yaml: shot 1C: characters[1]: unknown character 'jeny' {CAST}",
        "film.yaml: scenes[1]: scene file 'scenes/nope.yaml' not found",
    ]


def test_json_manifests_load_like_yaml(template: Path, tmp_path: Path) -> None:
    root = _copy(template, tmp_path / "film")
    docs = _read_docs(root)
    for key in docs:
        (root / key).unlink()
    docs["film.yaml"]["bible"] = "bible.json"
    docs["film.yaml"]["scenes"] = ["scenes/scene-01.json"]
    for key, doc in docs.items():
        (root / key).with_suffix(".json").write_text(json.dumps(doc, indent=2), encoding="utf-8")
    from_json = load_film(root)
    from_yaml = load_film(template)
    assert from_json.film.model_copy(update={"bible": "bible.yaml", "scenes": [SCENE]}) == from_yaml.film
    assert from_json.bible == from_yaml.bible
    assert [s for _, s in from_json.scenes] == [s for _, s in from_yaml.scenes]


def test_no_film_manifest(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as info:
        load_film(tmp_path)
    assert str(info.value).startswith("film.yaml: file: no film manifest in")


def test_manifest_error_from_a_single_problem() -> None:
    err = ManifestError(Problem("scenes/scene-01.yaml", "1C", "characters[0]", "no approved turnaround"))
    assert str(err) == "scenes/scene-01.yaml: shot 1C: characters[0]: no approved turnaround"
    assert str(ManifestError(Problem("bible.yaml", None, "characters", "empty"))) == "bible.yaml: characters: empty"
    assert len(err.problems) == 1


@pytest.mark.parametrize(
    "key",
    ["characters/mia/mia_turnaround_APPROVED.png", "a", "a.b/c-d_e.PNG", "scenes/scene-01.yaml"],
)
def test_good_keys(key: str) -> None:
    assert check_key(key) == key


@pytest.mark.parametrize(
    "key",
    ["", "/x", "C:x", "c:/x", "a/../b", "..", "./a", "a/.", "a//b", "a/", "a\\b", "a\x00", "a b", "é.png", "a?.png"],
)
def test_bad_keys(key: str) -> None:
    with pytest.raises(ValueError):
        check_key(key)


def test_parse_canonical() -> None:
    assert parse_canonical("characters/mia/mia_turnaround_APPROVED.png") == ("character", "mia")
    assert parse_canonical("locations/diner/diner_plate_APPROVED.png") == ("location", "diner")
    assert parse_canonical(canonical_turnaround_key("gabe")) == ("character", "gabe")
    assert parse_canonical(canonical_plate_key("street")) == ("location", "street")
    for key in (
        "characters/mia/leo_turnaround_APPROVED.png",  # the folder must name the same id
        "characters/mia/mia_turnaround_v3.png",
        "characters/mia/mia_turnaround_APPROVED.jpg",
        "locations/diner/diner_plate_APPROVED.png.tmp",
        "x/characters/mia/mia_turnaround_APPROVED.png",
    ):
        assert parse_canonical(key) is None


def test_models_are_frozen_and_strict() -> None:
    shot = Shot(id="1A", action="walks", duration=3)
    with pytest.raises(ValidationError):
        shot.duration = 4  # type: ignore[misc]
    with pytest.raises(ValidationError):
        Shot(id="1A", action="walks", duration=3, duraton=3)  # type: ignore[call-arg]
    assert Camera().movement == "static" and Transition().kind == "cut"


def test_a_shot_enters_only_its_own_characters() -> None:
    """`enters`: characters of the shot who walk in partway; each one of its characters, once,
    refused otherwise naming the field."""
    shot = Shot(id="1G", characters=["jenny", "leo"], enters=["leo"], action="Leo walks in.", duration=3, chain=True)
    assert shot.enters == ["leo"] and Shot(id="1A", action="walks", duration=3).enters == []
    for enters, field, said in ((["gabe"], ("enters", 0), "'gabe' enters the shot but is not one of its characters "
                                                        "(jenny, leo): add them to characters"),
                                (["leo", "leo"], ("enters", 1), "character 'leo' is listed twice (also enters[0])")):
        with pytest.raises(ValidationError) as info:
            Shot(id="1G", characters=["jenny", "leo"], enters=enters, action="Leo walks in.", duration=3)
        (error,) = info.value.errors()
        assert tuple(error["ctx"]["field"]) == field and error["ctx"]["message"] == said, error


def test_a_chained_shot_may_name_whom_it_says_enters(template: Path, tmp_path: Path) -> None:
    """A chained shot naming someone its previous shot's last frame lacks loads once it says
    they walk in; a chained shot with the same cast as the one before never needed to."""
    root = _copy(template, tmp_path / "film")
    docs = _read_docs(root)
    _shot(docs, 5).update(characters=["jenny", "leo"], enters=["leo"])
    _write_docs(root, docs)
    shot = load_film(root).scene("scene-01").shot("1F")
    assert shot.chain and shot.enters == ["leo"]


def test_total_seconds_subtracts_dissolves() -> None:
    scene = Scene(
        id="s",
        title="t",
        location="diner",
        shots=[
            Shot(id="1A", action="a", duration=3, transition_out=Transition(kind="dissolve", duration=1.0)),
            Shot(id="1B", action="b", duration=4),
        ],
    )
    assert scene.total_seconds() == 6.0


def test_scene_ids_are_unique_across_the_film(template: Path, tmp_path: Path) -> None:
    root = _copy(template, tmp_path / "film")
    docs = _read_docs(root)
    docs["scenes/scene-02.yaml"] = docs[SCENE]
    docs["film.yaml"]["scenes"].append("scenes/scene-02.yaml")
    _write_docs(root, docs)
    assert _problems(root) == [
        "scenes/scene-02.yaml: id: duplicate scene id 'scene-01' (also in scenes/scene-01.yaml)"
    ]


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="ab./\\\x00:-_C", max_size=12))
def test_accepted_keys_stay_inside_the_project(key: str) -> None:
    try:
        check_key(key)
    except ValueError:
        return
    resolved = (Path("/project") / key).resolve()
    assert resolved.is_relative_to(Path("/project")) and resolved != Path("/project")
    assert PurePosixPath(key).as_posix() == key  # already normal: one spelling per file


def test_the_view_type_names_the_sheets_views():
    """The agent's tools offer a view by the View type; it names VIEWS, in order, and nothing else."""
    from typing import get_args

    from slate.manifests.turnaround import VIEWS, View
    assert get_args(View) == VIEWS
