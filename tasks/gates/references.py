"""Reference check: every character and location a scene names exists canonically in storage.

The roster is enumerated from storage (keys marked `_APPROVED`), never from a hand-kept list.
Each image must be a regular file inside the project, at most MAX_REFERENCE_BYTES (checked
before it is read), a PNG or JPEG whose header claims at most MAX_REFERENCE_PIXELS (checked
before it is decoded), and decode in full. Its content hash goes into the bible lock
(tasks/run/bible_lock.py writes it down), like a package lock, so a changed reference changes the cache keys
of everything built from it.

`reference_problems` (the preflight, `slate check`) and `lock_scene_references` (the run) read
and judge each reference with the same `read_reference`, so they cannot disagree; only the
run stores the bytes.

It must never generate, fetch or substitute a reference that should exist: a missing one is a
clear error that names it and what storage does have; and never import Prefect (the reel
locks references before Prefect starts).
"""
from __future__ import annotations

import hashlib
import io
import re
import struct
from dataclasses import dataclass

from PIL import Image
from pydantic import BaseModel

from slate.manifests import LoadedFilm, Problem, parse_canonical
from slate.providers.errors import ReferenceMissing
from slate.providers.storage_local import cas_uri
from slate.providers.base import Storage
from slate.tasks.run.memo import BoundedMemo

MAX_REFERENCE_PIXELS = 40_000_000  # a turnaround sheet or plate is never bigger than 8K
MAX_REFERENCE_BYTES = 64 << 20     # an 8K PNG plate is ~30-60 MB; anything bigger is not a reference
FORMATS = ["PNG", "JPEG"]          # only what references are drawn in: no exotic decoders

_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_OTHER_FORMATS = [(b"GIF8", "a GIF"), (b"BM", "a BMP"), (b"II*\x00", "a TIFF"), (b"MM\x00*", "a TIFF"),
                  (b"%PDF", "a PDF"), (b"\x00\x00\x01\x00", "an ICO"), (b"8BPS", "a Photoshop file")]


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


@dataclass(frozen=True)
class Need:
    """One reference a scene needs, and the manifest line that asks for it."""

    kind: str          # "character" | "location" | "panel override" | "extra reference"
    ident: str         # the character or location id, or the shot id of an override
    key: str           # the storage key
    file: str          # the manifest naming it (bible.yaml, or the scene file for an override)
    shot: str | None
    field: str         # e.g. characters[2].turnaround, locations[0].plate, panel_override

    def problem(self, message: str) -> Problem:
        return Problem(self.file, self.shot, self.field, message)


def scene_needs(film: LoadedFilm, scene_id: str) -> list[Need]:
    """Every reference one scene's shots will use: turnarounds of its characters (in shots or
    its wardrobe), plates of its locations, panel overrides."""
    scene = film.scene(scene_id)
    bible = film.film.bible
    char_index = {c.id: i for i, c in enumerate(film.bible.characters)}
    loc_index = {loc.id: i for i, loc in enumerate(film.bible.locations)}
    needs = []
    for cid in sorted({c for s in scene.shots for c in s.characters} | set(scene.wardrobe)):
        needs.append(Need("character", cid, film.character(cid).turnaround_key, bible, None,
                          f"characters[{char_index[cid]}].turnaround"))
    for lid in sorted({scene.location_of(s) for s in scene.shots}):
        needs.append(Need("location", lid, film.location(lid).plate_key, bible, None, f"locations[{loc_index[lid]}].plate"))
    scene_file = film.scene_file(scene_id)
    for s in scene.shots:
        if s.panel_override:
            needs.append(Need("panel override", s.id, s.panel_override, scene_file, s.id, "panel_override"))
        for i, key in enumerate(s.references):
            # An extra reference (a prop, a hand) is locked like an override: by its key's content.
            needs.append(Need("extra reference", s.id, key, scene_file, s.id, f"references[{i}]"))
    return needs


def image_header(data: bytes) -> tuple[str, int, int]:
    """(format, width, height) read from a PNG or JPEG header, without decoding a pixel.

    Raises ValueError saying what the bytes are instead (empty, a GIF, cut short, …)."""
    if not data:
        raise ValueError("is empty (0 bytes)")
    if data.startswith(_PNG):
        if len(data) < 24 or data[12:16] != b"IHDR":
            raise ValueError("is a PNG cut short before its header")
        w, h = struct.unpack(">II", data[16:24])
        return "PNG", w, h
    if data.startswith(b"\xff\xd8\xff"):
        i = 2
        while i + 4 <= len(data):
            if data[i] != 0xFF:
                break
            marker = data[i + 1]
            if marker == 0xFF:           # fill byte
                i += 1
            elif marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:
                i += 2                   # markers without a length
            elif marker in _JPEG_SOF:
                if i + 9 > len(data):
                    break
                h, w = struct.unpack(">HH", data[i + 5:i + 9])
                return "JPEG", w, h
            elif marker in (0xD9, 0xDA):  # end of image, or scan data before any frame header
                break
            else:
                i += 2 + struct.unpack(">H", data[i + 2:i + 4])[0]
        raise ValueError("is a JPEG with no readable frame header (cut short or corrupt)")
    what = next((name for magic, name in _OTHER_FORMATS if data.startswith(magic)), None)
    if what is None and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        what = "a WebP"
    if what is None and data.lstrip()[:5].lower() in (b"<svg ", b"<?xml", b"<svg>", b"<!doc", b"<html"):
        what = "text (SVG, XML or HTML)"
    raise ValueError(f"is not a PNG or JPEG ({what or 'unrecognised bytes'})")


# Verdicts of judge_image by the bytes' sha256: the preflight, the CLI's and each scene's
# reference check read the same sheets, and a full decode of a turnaround costs ~0.1 s. Only
# what passed is kept (a failure is cheap to find again and its message must be fresh).
# Process-wide on purpose (it depends on the content alone) and bounded: a worker's films'
# references, many times over, for two integers each.
_JUDGED: BoundedMemo[str, tuple[int, int]] = BoundedMemo("reference decode verdicts", 4096)


def judge_image(data: bytes) -> tuple[int, int]:
    """(width, height) of a reference image that passes every limit, else ValueError why.

    The pixel limit is checked on the header's claim before anything is decoded, so a file
    that claims 400 megapixels costs a few bytes of reading, not gigabytes of memory. Each
    content is decoded once per process (by its sha256)."""
    digest = hashlib.sha256(data).hexdigest()
    return _JUDGED.get_or_make(digest, lambda: _judge_image(data))


def _judge_image(data: bytes) -> tuple[int, int]:
    fmt, w, h = image_header(data)
    if w == 0 or h == 0:
        raise ValueError(f"is a {fmt} of {w}x{h}: it has no pixels")
    if w * h > MAX_REFERENCE_PIXELS:
        raise ValueError(f"is a {fmt} of {w}x{h} ({w * h:,} pixels), over the {MAX_REFERENCE_PIXELS:,} pixel limit")
    try:
        with Image.open(io.BytesIO(data), formats=FORMATS) as img:
            if img.size != (w, h):
                raise ValueError(f"header says {w}x{h}, the decoder {img.size[0]}x{img.size[1]}")
            img.load()
    except Exception as exc:  # every decoder failure is the same verdict: not usable
        why = re.sub(r" <_io\.BytesIO object at 0x[0-9a-f]+>", "", str(exc))  # Pillow names our buffer
        raise ValueError(f"does not decode as a {fmt} ({why})") from None
    return w, h


def decode_reference(key: str, data: bytes) -> tuple[int, int]:
    """Open an image the safe way: known formats only, pixel bomb refused before decoding."""
    try:
        return judge_image(data)
    except ValueError as exc:
        raise ReferenceMissing(f"{key} {exc}") from None


def _approved(storage: Storage, kind: str) -> list[str]:
    folder = {"character": "characters/", "location": "locations/"}[kind]
    return sorted(ident for k, ident in filter(None, map(parse_canonical, storage.list_keys(folder))) if k == kind)


def read_reference(storage: Storage, need: Need) -> tuple[bytes, int, int]:
    """The bytes and size of one needed reference, or ReferenceMissing saying what is wrong."""
    try:
        size = storage.key_size(need.key)
        if size is None:
            if need.kind == "panel override":
                raise ReferenceMissing(f"panel override of shot {need.ident}: {need.key} not found")
            have = _approved(storage, need.kind)
            raise ReferenceMissing(f"{need.kind} '{need.ident}': no approved reference at {need.key} "
                                   f"(storage has approved {need.kind}s: {', '.join(have) or 'none'})")
        if size > MAX_REFERENCE_BYTES:
            raise ReferenceMissing(f"{need.key} is {size:,} bytes, over the {MAX_REFERENCE_BYTES:,} byte limit "
                                   "for a reference")
        data = storage.read_key(need.key, max_bytes=MAX_REFERENCE_BYTES)  # and if it grew since: refused
    except ValueError as exc:  # KeyUnreadable: out of the project, a loop, a folder
        raise ReferenceMissing(str(exc)) from None
    except OSError as exc:
        raise ReferenceMissing(f"{need.key} cannot be read ({exc.strerror or exc})") from None
    w, h = decode_reference(need.key, data)
    return data, w, h


def reference_problems(storage: Storage, film: LoadedFilm, scene_ids: list[str]) -> list[Problem]:
    """Every reference problem of these scenes, one Problem each, nothing stored or written."""
    problems: list[Problem] = []
    seen: set[tuple[str, str, str]] = set()
    sheets: dict[str, tuple[str, int, int]] = {}   # character id -> its turnaround's key and size
    for scene_id in scene_ids:
        for need in scene_needs(film, scene_id):
            if (need.key, need.file, need.field) in seen:   # a turnaround used by every scene: once
                continue
            seen.add((need.key, need.file, need.field))
            try:
                _, w, h = read_reference(storage, need)
            except ReferenceMissing as exc:
                problems.append(need.problem(str(exc)))
                continue
            if need.kind == "character":
                sheets[need.ident] = (need.key, w, h)
    return problems + _views_problems(film, scene_ids, sheets)


def _views_problems(film: LoadedFilm, scene_ids: list[str], sheets: dict[str, tuple[str, int, int]]) -> list[Problem]:
    """A shot that sends chosen `views` of its cast's turnarounds needs sheets they can be cut
    from: four views in a row (providers/clip_references.py). Said now, before any money."""
    from slate.providers.clip_references import SHEET_VIEWS, is_sheet
    out = []
    for scene_id in scene_ids:
        for shot in (s for s in film.scene(scene_id).shots if s.views):
            for cid in shot.characters:
                if cid in sheets and not is_sheet(*sheets[cid][1:]):
                    key, w, h = sheets[cid]
                    out.append(Problem(film.scene_file(scene_id), shot.id, "views",
                                       f"character '{cid}': its turnaround {key} is {w}x{h}, not a sheet of four "
                                       f"views in a row ({', '.join(SHEET_VIEWS)}; twice as wide as tall), so its "
                                       f"views cannot be cut out: send the whole sheet (no views) or re-make it with "
                                       f"`slate bible turnaround`"))
    return out


def lock_scene_references(st: Storage, film: LoadedFilm, scene_id: str, *, store: bool = True) -> BibleLock:
    """The scene's references in the film's storage `st`, locked by content hash; with `store`
    False nothing is written (the reel's lookup: the URI is the content's own name either way)."""
    problems = []
    locked: dict[str, dict[str, LockedRef]] = {"character": {}, "location": {}, "panel override": {}}
    for need in scene_needs(film, scene_id):
        try:
            data, w, h = read_reference(st, need)
        except ReferenceMissing as exc:
            problems.append(str(exc))
            continue
        ident = need.key if need.kind in ("panel override", "extra reference") else need.ident
        digest, suffix = hashlib.sha256(data).hexdigest(), need.key.rsplit(".", 1)[-1]
        uri = st.put_bytes(data, suffix) if store else cas_uri(digest, suffix)
        locked["panel override" if need.kind == "extra reference" else need.kind][ident] = LockedRef(key=need.key, uri=uri, sha256=digest, width=w, height=h)
    if problems:
        raise ReferenceMissing("; ".join(problems))
    return BibleLock(characters=locked["character"], locations=locked["location"], overrides=locked["panel override"])
