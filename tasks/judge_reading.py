"""What the run's judge can read: every reference it will be handed, read as it will read it.

The local judge reads only art drawn by the local provider's geometry (providers/
local_judge_inputs.py): turnaround sheets of four cells with transparency, flat-coloured
heads, plates of the panel's shape. A run whose references break one of those rules pays for
panels and clips and then escalates every shot that uses them with "cannot judge …", one rule
per run. Here the preflight reads each turnaround and plate a scene uses with the judge's own
readers — each plate at the shape of every panel size the profile gives the scene's shots (a
hero run draws critical shots at 1080p) — and turns each refusal into a Problem naming the
file, the rule and what to do.

Under `cannot_judge = "warn"` (a rehearsal of the plumbing with art the judge cannot read) the
same findings are warnings: the run goes on and shows those takes as unjudged.

It must never judge (no score, no threshold), write anything, or read an image before the
reference check has held its header to the limits (tasks/references.py).
"""
from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from slate.manifests import LoadedFilm, Problem
from slate.manifests.profiles import PROFILES
from slate.providers.base import PanelRequest, ReferenceImages, Storage
from slate.providers.local_judge_inputs import Unjudgeable, read_plate, read_turnaround
from slate.tasks.memo import BoundedMemo
from slate.tasks.references import Need, read_reference, scene_needs

#: What a person can do about art the local judge cannot read (the end of every such line).
REMEDY = ("the local judge reads only what the local provider draws; judge this art with a vision model "
          "(--judge gemini), or rehearse offline with --cannot-judge warn (such takes are shown unjudged)")
#: ... and what a rehearsal (cannot_judge = "warn") does with it instead.
REHEARSED = "a rehearsal: the takes that use it go on, shown UNJUDGED"


# What the judge said of each content, by (kind, id, sha256, wardrobe colours, panel sizes): the
# CLI's, the film's and each scene's preflight read the same sheets (0.13 s a sheet, mostly the
# judge's colour count), and a test worker reads one film's many times. Nothing else is kept.
# Process-wide on purpose (it depends on the content alone) and bounded: a few reasons each.
#: What a reading is kept by: kind, id, sha256, the wardrobe colours, the panel sizes.
ReadingKey = tuple[str, str, str, tuple[str | None, ...], tuple[tuple[int, int], ...]]
_READ: BoundedMemo[ReadingKey, list[str]] = BoundedMemo("local judge readings", 1024)


def _palette(sheet: Path, character_id: str, colour: str | None) -> None:
    """The judge's flat-colour reading of a sheet's heads (providers/local_judge.py), which raises
    Unjudgeable when no colour covers a tenth of a head."""
    from slate.providers.local_judge import _figure_palette
    _figure_palette(str(sheet), character_id, colour)


def judge_problems(storage: Storage, film: LoadedFilm, scene_ids: list[str], judge_provider: str,
                   profile: str, cannot_judge: str = "block") -> list[Problem]:
    """Every reference of these scenes the run's judge would answer "cannot judge" for, one
    Problem each (a reference used by several scenes, once per reason). None for a vision judge:
    it is shown the images as they are."""
    if judge_provider != "local":
        return []
    problems: list[Problem] = []
    said: set[tuple[str, str]] = set()
    read = 0
    with tempfile.TemporaryDirectory(prefix="slate-judge-reading-") as scratch:
        for scene_id in scene_ids:
            scene = film.scene(scene_id)
            sizes = {PROFILES[profile].for_shot(s.critical)[1:] for s in scene.shots}
            for need in scene_needs(film, scene_id):
                if need.kind in ("panel override", "extra reference"):
                    continue  # a composite (or a prop's picture) is judged as a panel, against the plate, in the run
                try:
                    data, _, _ = read_reference(storage, need)
                except Exception:  # noqa: BLE001 - the reference check reports an unreadable file
                    continue
                colours: tuple[str | None, ...] = (
                    (scene.wardrobe[need.ident].colour if need.ident in scene.wardrobe else None,)
                    if need.kind == "character" else ())
                key: ReadingKey = (need.kind, need.ident, hashlib.sha256(data).hexdigest(), colours,
                       tuple(sorted(sizes)) if need.kind == "location" else ())
                known = _READ.get(key)
                if known is None:
                    read += 1  # a file per reading: the judge caches what it read by path
                    sheet = Path(scratch) / f"{read}.img"
                    sheet.write_bytes(data)
                    known = _reasons(need, sheet, colours, sizes)
                    _READ.put(key, known)
                for why in known:
                    if (need.key, why) not in said:
                        said.add((need.key, why))
                        then = REHEARSED if cannot_judge == "warn" else REMEDY
                        problems.append(need.problem(f"{need.key}: the local judge cannot read it: {why}; {then}"))
    return problems


def layout_unreadable(request: PanelRequest, refs: ReferenceImages) -> str | None:
    """Why the local judge could not lay out `request` from its references (the plate at the
    panel's size, each character's sheet), or None: a rehearsal's continuity gate calls such a
    cut unjudged instead of holding it to the two frames' colours alone."""
    try:
        read_plate(Path(refs.plate), request.location_id, (request.width, request.height))
        for ch in request.characters:
            if ch.id in refs.turnarounds:
                read_turnaround(Path(refs.turnarounds[ch.id]), ch.id)
    except Unjudgeable as exc:
        return str(exc)
    return None


def _reasons(need: Need, path: Path, colours: tuple[str | None, ...], sizes: set[tuple[int, int]]) -> list[str]:
    """Why the judge could not read this reference, as it would say it (nothing when it can)."""
    try:
        if need.kind == "character":
            read_turnaround(path, need.ident)
            for colour in colours:
                _palette(path, need.ident, colour)
            return []
        for size in sorted(sizes):   # one line a plate: the sizes of a profile share a shape or two
            read_plate(path, need.ident, size)
        return []
    except Unjudgeable as exc:
        return [str(exc)]
