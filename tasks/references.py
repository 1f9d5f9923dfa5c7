"""Reference check: every character and location a scene names exists canonically in storage.

The roster is enumerated from storage (keys marked `_APPROVED`), never from a hand-kept list.
Each image must decode, be a PNG or JPEG, and stay within size limits; its content hash goes
into the bible lock (`.slate/bible.lock.json`), like a package lock, so a changed reference
changes the cache keys of everything built from it.

It must never generate, fetch or substitute a reference that should exist: a missing one is a
clear error that names it and what storage does have.
"""
from __future__ import annotations

import hashlib
import io
import json

from PIL import Image
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel

from manifests import LoadedFilm, parse_canonical
from providers.errors import ReferenceMissing
from providers.storage_local import write_atomic
from tasks.context import RunSpec, studio

MAX_REFERENCE_PIXELS = 40_000_000  # a turnaround sheet or plate is never bigger than 8K
FORMATS = ["PNG", "JPEG"]          # only what references are drawn in: no exotic decoders


class LockedRef(BaseModel):
    key: str
    uri: str
    sha256: str
    width: int
    height: int


class BibleLock(BaseModel):
    characters: dict[str, LockedRef]
    locations: dict[str, LockedRef]
    overrides: dict[str, LockedRef] = {}


def decode_reference(key: str, data: bytes) -> tuple[int, int]:
    """Open an image the safe way: known formats only, pixel bomb refused before decoding."""
    try:
        with Image.open(io.BytesIO(data), formats=FORMATS) as img:
            w, h = img.size
            if w * h > MAX_REFERENCE_PIXELS:
                raise ReferenceMissing(f"{key}: {w}x{h} is over the {MAX_REFERENCE_PIXELS:,} pixel limit")
            img.load()
            return w, h
    except ReferenceMissing:
        raise
    except Exception as exc:
        raise ReferenceMissing(f"{key}: not a readable PNG or JPEG ({exc})") from None


def lock_scene_references(run: RunSpec, film: LoadedFilm, scene_id: str) -> BibleLock:
    st = studio(run).storage
    scene = film.scene(scene_id)
    roster: dict[tuple[str, str], str] = {}
    for key in st.list_keys():
        canon = parse_canonical(key)
        if canon:
            roster[canon] = key
    need_chars = sorted({c for s in scene.shots for c in s.characters} | set(scene.wardrobe))
    need_locs = sorted({scene.location_of(s) for s in scene.shots})
    problems = []

    def lock(kind: str, ident: str, key: str) -> LockedRef | None:
        if not st.key_exists(key):
            have = sorted(i for (k, i) in roster if k == kind)
            problems.append(f"{kind} '{ident}': no approved reference at {key} "
                            f"(storage has approved {kind}s: {', '.join(have) or 'none'})")
            return None
        data = st.read_key(key)
        try:
            w, h = decode_reference(key, data)
        except ReferenceMissing as exc:
            problems.append(str(exc))
            return None
        return LockedRef(key=key, uri=st.put_bytes(data, key.rsplit(".", 1)[-1]),
                         sha256=hashlib.sha256(data).hexdigest(), width=w, height=h)

    chars = {c: lock("character", c, film.character(c).turnaround_key) for c in need_chars}
    locs = {loc: lock("location", loc, film.location(loc).plate_key) for loc in need_locs}
    overrides = {s.panel_override: lock("panel override", s.id, s.panel_override)
                 for s in scene.shots if s.panel_override}
    if problems:
        raise ReferenceMissing("; ".join(problems))
    return BibleLock(characters=chars, locations=locs, overrides=overrides)


def write_lock(run: RunSpec, lock: BibleLock) -> list[str]:
    """Record the lock and say which references changed since the last run."""
    path = studio(run).root / ".slate" / f"bible.lock.{run.scene}.json"
    changed = []
    if path.is_file():
        old = json.loads(path.read_text())
        for group in ("characters", "locations"):
            for ident, ref in getattr(lock, group).items():
                prev = old.get(group, {}).get(ident)
                if prev and prev["sha256"] != ref.sha256:
                    changed.append(f"{ref.key} changed ({prev['sha256'][:12]} → {ref.sha256[:12]}): "
                                   "shots built on it will be made again")
    write_atomic(path, lock.model_dump_json(indent=2).encode())
    return changed


@task(name="reference-check", cache_policy=NO_CACHE)
def check_references(run: RunSpec, film: LoadedFilm) -> BibleLock:
    lock = lock_scene_references(run, film, run.scene)
    for note in write_lock(run, lock):
        get_run_logger().warning(note)
    return lock
