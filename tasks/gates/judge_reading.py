"""What the run's judge can read: every reference it will be handed, read as it will read it.

The local judge reads only art drawn by the local provider's geometry: turnaround sheets of
four cells with transparency, flat-coloured heads, plates of the panel's shape. A run whose
references break one of those rules pays for panels and clips and then escalates every shot
that uses them with "cannot judge …", one rule per run. A judge that reads only some art says
so through its capability (providers.base.ReadsReferences); here the preflight has it read
each turnaround and plate a scene uses — each plate at the shape of every panel size the
profile gives the scene's shots (a hero run draws critical shots at 1080p) — and turns each
refusal into a Problem naming the file, the rule and what to do.

Under `cannot_judge = "warn"` (a rehearsal of the plumbing with art the judge cannot read) the
same findings are warnings: the run goes on and shows those takes as unjudged.

It must never judge (no score, no threshold), write anything, or read an image before the
reference check has held its header to the limits (tasks/gates/references.py).
"""
from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from slate.manifests import LoadedFilm, Problem
from slate.manifests.profiles import PROFILES
from slate.providers.base import Judge, PanelRequest, ReadsReferences, ReferenceImages, Storage
from slate.tasks.run.memo import BoundedMemo
from slate.tasks.gates.references import Need, read_reference, scene_needs

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


def judge_problems(storage: Storage, film: LoadedFilm, scene_ids: list[str], judge: Judge,
                   profile: str, cannot_judge: str = "block") -> list[Problem]:
    """Every reference of these scenes the run's `judge` would answer "cannot judge" for, one
    Problem each (a reference used by several scenes, once per reason). None for a judge that
    reads any art (a vision judge: it is shown the images as they are)."""
    if not isinstance(judge, ReadsReferences):
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
                    known = _reasons(judge, need, sheet, colours, sizes)
                    _READ.put(key, known)
                for why in known:
                    if (need.key, why) not in said:
                        said.add((need.key, why))
                        then = REHEARSED if cannot_judge == "warn" else REMEDY
                        problems.append(need.problem(f"{need.key}: the local judge cannot read it: {why}; {then}"))
    return problems


def layout_unreadable(judge: Judge, request: PanelRequest, refs: ReferenceImages) -> str | None:
    """Why the run's `judge` could not lay out `request` from its references (the plate at the
    panel's size, each character's sheet), or None (also for a judge that reads any art): a
    rehearsal's continuity gate calls such a cut unjudged instead of holding it to the two
    frames' colours alone."""
    if not isinstance(judge, ReadsReferences):
        return None
    why = judge.unreadable_plate(Path(refs.plate), request.location_id, (request.width, request.height))
    for ch in request.characters:
        if why is None and ch.id in refs.turnarounds:
            why = judge.unreadable_turnaround(Path(refs.turnarounds[ch.id]), ch.id)
    return why


def _reasons(judge: ReadsReferences, need: Need, path: Path, colours: tuple[str | None, ...],
             sizes: set[tuple[int, int]]) -> list[str]:
    """Why the judge could not read this reference, as it would say it (nothing when it can)."""
    if need.kind == "character":
        why = judge.unreadable_turnaround(path, need.ident, colours)
        return [why] if why is not None else []
    for size in sorted(sizes):   # one line a plate: the sizes of a profile share a shape or two
        why = judge.unreadable_plate(path, need.ident, size)
        if why is not None:
            return [why]
    return []
