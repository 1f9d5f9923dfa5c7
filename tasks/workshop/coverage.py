"""Coverage of the bible: what the manifests name against what storage holds, as the
film-makers' own coverage script listed it.

Three kinds of line: a reference the manifests name that storage lacks (a turnaround, a plate, a
panel override); an approved reference in storage that no shot uses (nobody's in the scenes, or
a location no shot is at); a shot whose characters or location have no approved reference. The
roster of approved references is read from storage (`_APPROVED` keys), never from a list.

It must never write, fetch or substitute anything, and never import Prefect: `slate check` and
the production report (tasks/review/production_report.py) read it before any run.
"""
from __future__ import annotations

from slate.manifests import LoadedFilm, parse_canonical
from slate.providers.base import Storage


def coverage(storage: Storage, film: LoadedFilm) -> list[str]:
    """One line per gap, in the order a person fixes them: missing, unused, then shots uncovered."""
    lines: list[str] = []
    bible = film.film.bible
    used_chars: set[str] = set()
    used_locs: set[str] = set()
    for _, sc in film.scenes:
        used_chars |= set(sc.wardrobe)
        for s in sc.shots:
            used_chars |= set(s.characters)
            used_locs.add(sc.location_of(s))
    missing: set[str] = set()
    for i, c in enumerate(film.bible.characters):
        key = film.character(c.id).turnaround_key
        if not storage.key_exists(key):
            missing.add(f"character:{c.id}")
            lines.append(f"{bible}: characters[{i}].turnaround: {key} is named but not in storage")
    for i, loc in enumerate(film.bible.locations):
        key = film.location(loc.id).plate_key
        if not storage.key_exists(key):
            missing.add(f"location:{loc.id}")
            lines.append(f"{bible}: locations[{i}].plate: {key} is named but not in storage")
    for _, sc in film.scenes:
        for s in sc.shots:
            if s.panel_override and not storage.key_exists(s.panel_override):
                lines.append(f"{film.scene_file(sc.id)}: shot {s.id}: panel_override: {s.panel_override} is named "
                             "but not in storage")
    for folder in ("characters/", "locations/"):
        for key in storage.list_keys(folder):
            found = parse_canonical(key)
            if found is None:
                continue
            kind, ident = found
            if ident not in (used_chars if kind == "character" else used_locs):
                lines.append(f"{key}: an approved {kind} reference no shot uses")
    for _, sc in film.scenes:
        for s in sc.shots:
            lacking = [f"character {c}" for c in s.characters if f"character:{c}" in missing]
            at = sc.location_of(s)
            lacking += [f"location {at}"] if f"location:{at}" in missing else []
            if lacking:
                lines.append(f"{film.scene_file(sc.id)}: shot {s.id}: no approved reference for "
                             + ", ".join(lacking))
    return lines
