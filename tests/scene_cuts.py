"""Cutting the example scene down to a few shots, for tests that need a short scene.

Keeps the named shots of scenes/scene-01.yaml in their order and makes the last one end on a
plain cut (its dissolve would have nothing to dissolve into). Test-only: it edits the film copy
a fixture wrote, never the repository's example.
"""
from __future__ import annotations

from pathlib import Path

import yaml


def fit_music(doc: dict) -> dict:
    """A cut-down scene `doc` without the music briefs that name a shot it no longer has (the
    example's cue hits the cut into 1E: a scene without 1E would be refused for naming it, as a
    film-maker's would). Returns `doc`."""
    fin = doc.get("finishing") or {}
    if not fin.get("music"):
        return doc
    ids = {s["id"] for s in doc["shots"]}

    def named(brief: dict) -> set[str]:
        hits = {h.get("cut") or h.get("shot") for h in brief.get("hits", [])}
        return {brief.get("from_shot"), brief.get("to_shot"), *brief.get("intensity", {}), *hits} - {None}
    fin["music"] = [b for b in fin["music"] if named(b) <= ids]
    if not fin["music"]:
        del fin["music"]
    return doc


def keep_shots(root: Path, ids=("1A", "1C")) -> list[dict]:
    """Keep only the shots `ids` of the example scene; return their manifest entries."""
    path = Path(root) / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["shots"] = [s for s in doc["shots"] if s["id"] in ids]
    fit_music(doc)
    doc["shots"][-1]["transition_out"] = {"kind": "cut", "duration": 0}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return doc["shots"]


def two_short_scenes(root: Path) -> None:
    """scene-01 cut down to its first two shots (1A, 1B, ending on a cut) and a copy as scene-02,
    both in film.yaml: the smallest film with more than one scene."""
    root = Path(root)
    shots = keep_shots(root, ("1A", "1B"))
    assert [s["id"] for s in shots] == ["1A", "1B"]
    scenes = root / "scenes"
    doc = yaml.safe_load((scenes / "scene-01.yaml").read_text())
    doc["id"] = "scene-02"
    (scenes / "scene-02.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    film = yaml.safe_load((root / "film.yaml").read_text())
    film["scenes"] = ["scenes/scene-01.yaml", "scenes/scene-02.yaml"]
    (root / "film.yaml").write_text(yaml.safe_dump(film, sort_keys=False))


def without_finishing(root: Path) -> None:
    """The example with no finishing pass (no `finishing:` in film.yaml or its scenes, and no
    lines of dialogue, which a finishing pass mixes): the cut is the plain stitch. For tests whose
    subject is the shots, gates or money, not the finished cut — the finishing pass (a graded
    re-encode, two loudness passes, a hero profile's ProRes mezzanine) is tested by the finishing
    tests and the example's own renders, the lines by the speech tests."""
    root = Path(root)
    for path in [root / "film.yaml", *sorted((root / "scenes").glob("*.yaml"))]:
        doc = yaml.safe_load(path.read_text())
        if not isinstance(doc, dict):
            continue
        dropped = doc.pop("finishing", None) is not None
        for shot in doc.get("shots") or []:
            dropped = shot.pop("dialogue", None) is not None or dropped
        if dropped:
            path.write_text(yaml.safe_dump(doc, sort_keys=False))


def without_voices(root: Path) -> None:
    """The example as it was before it spoke: no character's voice, no narrator, no shot's lines,
    no approved voice sample. For tests that give the film the voices and lines they are about,
    from nothing (the example's own — Jenny's and Gabe's, three lines — are held by the example's
    tests and its render, tests/e2e/test_scene_e2e.py)."""
    root = Path(root)
    bible_path = root / "bible.yaml"
    bible = yaml.safe_load(bible_path.read_text())
    for c in bible.get("characters") or []:
        c.pop("voice", None)
    bible.pop("narrator", None)
    bible_path.write_text(yaml.safe_dump(bible, sort_keys=False))
    for path in sorted((root / "scenes").glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        for shot in doc.get("shots") or []:
            shot.pop("dialogue", None)
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
    for sample in [*(root / "characters").glob("*/*_voice_APPROVED.*"), *(root / "narrator").glob("*_voice_APPROVED.*")]:
        sample.unlink()
