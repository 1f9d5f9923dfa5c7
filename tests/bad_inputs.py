"""A corpus of bad film projects, as a new user would make them: one named case per mistake.

Each case is a function that mutates a fresh copy of the example film (written by
`manifests.write_example_film`), plus what `slate check` must say about it: the file (or
`environment` / `command line`), the shot and field when the mistake is in a shot, and a
fragment of the message. A case refused for another reason than the one it declares fails,
so the corpus tests the reasons, not just the exit code.

`cases()` yields them; tests/unit/test_bad_input_corpus.py runs `slate check` on each, and
benchmarks/check_limits.py times the whole corpus.
"""
from __future__ import annotations

import io
import os
import struct
import zlib
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import yaml
from PIL import Image

SCENE = "scenes/scene-01.yaml"
BIBLE = "bible.yaml"
FILM = "film.yaml"
TOML = "slate.toml"
# What a refused frame rate says is accepted (manifests/frame_rate.py), film.yaml's and slate.toml's alike.
ACCEPTED_RATES = "must be a whole number of frames a second (1 to 120) or an NTSC rate (23.976, 29.97"
MIA = "characters/mia/mia_turnaround_APPROVED.png"       # bible characters[3]
NINA = "characters/nina/nina_turnaround_APPROVED.png"    # bible characters[4]
STREET = "locations/street/street_plate_APPROVED.png"    # bible locations[1]
DINER = "locations/diner/diner_plate_APPROVED.png"       # bible locations[0]
# Example shots, by index: 0 1A 2.5s (fixed camera), 1 1B 3s (0.75s dissolve out), 2 1C 3.5s,
# 3 1D 2.5s, 4 1E 3s (chain), 5 1F 2s (chain, critical), 6 1G 3s, 7 1H 3s, 8 1I 3.5s.

Mutate = Callable[[Path], None]


@dataclass(frozen=True)
class Case:
    name: str
    mutate: Mutate
    file: str                  # what the line names first: a project file, "environment" or "command line"
    expect: str                # a fragment of that line's message
    shot: str | None = None    # the shot the line names, when the mistake is in a shot
    field: str | None = None   # the field the line names
    args: tuple[str, ...] = ()
    env: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def prefix(self) -> str:
        """How the expected line starts."""
        out = f"{self.file}: "
        if self.shot is not None:
            out += f"shot {self.shot}: "
        if self.field is not None:
            out += f"{self.field}: "
        return out


# --- building blocks ----------------------------------------------------------------------------


def _load(root: Path, key: str) -> Any:
    return yaml.safe_load((root / key).read_text(encoding="utf-8"))


def _dump(root: Path, key: str, doc: Any) -> None:
    (root / key).write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")


def edit(key: str, change: Callable[[Any], Any]) -> Mutate:
    """Load a manifest, change it in place, write it back."""
    def mutate(root: Path) -> None:
        doc = _load(root, key)
        change(doc)
        _dump(root, key, doc)
    return mutate


def shot(i: int, name: str, value: Any) -> Mutate:
    return edit(SCENE, lambda d: d["shots"][i].__setitem__(name, value))


#: A voice for a character of the example (issue 37), as the bible holds it.
VOICE = {"description": "a woman of thirty, low and even, a London accent", "provider": "local", "voice": "en+f3"}


def voice(character: str) -> Mutate:
    """Give `character` of the example's bible a voice."""
    return edit(BIBLE, lambda d: next(c for c in d["characters"] if c["id"] == character).__setitem__("voice", VOICE))


def drop_from_shot(i: int, name: str) -> Mutate:
    return edit(SCENE, lambda d: d["shots"][i].pop(name))


def rename_in_shot(i: int, old: str, new: str) -> Mutate:
    return edit(SCENE, lambda d: d["shots"][i].__setitem__(new, d["shots"][i].pop(old)))


def dissolves(*pairs: tuple[int, float]) -> Mutate:
    """Set shot i's transition_out to a dissolve of d seconds, for each (i, d)."""
    def change(d: Any) -> None:
        for i, seconds in pairs:
            d["shots"][i]["transition_out"] = {"kind": "dissolve", "duration": seconds}
    return edit(SCENE, change)


def text(key: str, content: str) -> Mutate:
    def mutate(root: Path) -> None:
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_text(content, encoding="utf-8")
    return mutate


def append(key: str, content: str) -> Mutate:
    def mutate(root: Path) -> None:
        with open(root / key, "a", encoding="utf-8") as f:
            f.write(content)
    return mutate


def raw(key: str, data: bytes | Callable[[bytes], bytes]) -> Mutate:
    """Replace a file's bytes (or transform them)."""
    def mutate(root: Path) -> None:
        path = root / key
        old = path.read_bytes() if path.is_file() else b""
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink() or path.exists():
            path.unlink()
        path.write_bytes(data(old) if callable(data) else data)
    return mutate


def replace_text(key: str, old: str, new: str) -> Mutate:
    def mutate(root: Path) -> None:
        content = (root / key).read_text(encoding="utf-8")
        assert old in content, (key, old)
        (root / key).write_text(content.replace(old, new, 1), encoding="utf-8")
    return mutate


def both(*steps: Mutate) -> Mutate:
    def mutate(root: Path) -> None:
        for step in steps:
            step(root)
    return mutate


def remove(key: str) -> Mutate:
    def mutate(root: Path) -> None:
        (root / key).unlink()
    return mutate


def folder_at(key: str) -> Mutate:
    """Replace a file by a folder of the same name."""
    def mutate(root: Path) -> None:
        (root / key).unlink()
        (root / key).mkdir()
        (root / key / "README").write_text("not a file\n")
    return mutate


def link_out(key: str, content: bytes | None = None) -> Mutate:
    """Replace a file by a symlink to a copy of it outside the project (or to other content)."""
    def mutate(root: Path) -> None:
        outside = root.parent / "outside" / Path(key).name
        outside.parent.mkdir(parents=True, exist_ok=True)
        outside.write_bytes(content if content is not None else (root / key).read_bytes())
        (root / key).unlink()
        (root / key).symlink_to(outside)
    return mutate


def link_loop(key: str) -> Mutate:
    """Replace a file by a symlink that points to a symlink that points back."""
    def mutate(root: Path) -> None:
        path = root / key
        path.unlink()
        other = path.with_name(path.name + ".other")
        path.symlink_to(other.name)
        other.symlink_to(path.name)
    return mutate


def link_dangling(key: str) -> Mutate:
    def mutate(root: Path) -> None:
        (root / key).unlink()
        (root / key).symlink_to("gone.png")
    return mutate


def fifo_at(key: str) -> Mutate:
    """A named pipe where a file should be: a naive reader would wait on it forever."""
    def mutate(root: Path) -> None:
        (root / key).unlink()
        os.mkfifo(root / key)
    return mutate


def sparse(key: str, size: int) -> Mutate:
    """Grow a file to ``size`` bytes without writing them (a sparse file: instant, no disk)."""
    def mutate(root: Path) -> None:
        with open(root / key, "r+b") as f:
            f.truncate(size)
    return mutate


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height and whose pixels are one zlib'd row."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
            + chunk(b"IEND", b""))


def jpeg_claiming(width: int, height: int) -> bytes:
    """A JPEG whose frame header (SOF0) claims width x height, and nothing after it."""
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + b"\x01\x11\x00\x02\x11\x00\x03\x11\x00"
    return b"\xff\xd8" + b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + sof + b"\xff\xd9"


def image_bytes(fmt: str, size: tuple[int, int] = (64, 64)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(buf, format=fmt)
    return buf.getvalue()


def redrawn(key: str, change: Callable[[Image.Image], tuple[Image.Image, str]]) -> Mutate:
    """Re-save the reference at `key` as a person's tool would: `change(image)` gives the image
    and the format it is written in (whatever the file's name says)."""
    def mutate(root: Path) -> None:
        with Image.open(root / key) as img:
            img.load()
            new, fmt = change(img.copy())
        buf = io.BytesIO()
        new.save(buf, format=fmt)
        (root / key).write_bytes(buf.getvalue())
    return mutate


def photo_like(size: tuple[int, int], alpha: bool = False) -> Image.Image:
    """Smooth gradients and sensor noise: a photograph, to a pixel counter."""
    import numpy as np
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.stack([x / max(1, w - 1) * 200, y / max(1, h - 1) * 180, (x + y) / max(1, w + h - 2) * 160 + 40], -1)
    rgb = np.clip(rgb + np.random.default_rng(3).normal(0, 9, rgb.shape), 0, 255).astype("uint8")
    img = Image.fromarray(rgb, "RGB")
    return img.convert("RGBA") if alpha else img


def painted_heads(sheet: Image.Image) -> Image.Image:
    """The same sheet with every opaque pixel jittered: shading, not the flat colours of a drawing."""
    import numpy as np
    a = np.asarray(sheet.convert("RGBA")).astype("int16")
    noise = np.random.default_rng(5).integers(-12, 13, a[..., :3].shape)
    a[..., :3] = np.clip(a[..., :3] + noise * (a[..., 3:4] > 0), 0, 255)
    return Image.fromarray(a.astype("uint8"), "RGBA")


def alias_bomb() -> str:
    """A billion laughs: 9 levels of 9 aliases, 9^9 strings once expanded, in ~800 bytes."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def alias_bomb_in_props(root: Path) -> None:
    """The bomb's anchors in a scene key, its last alias as shot 1A's props: without a node
    budget, the loader shares the nodes but validation walks all 9^9 of them."""
    anchors = "".join("  " + line + "\n" for line in alias_bomb().splitlines())
    content = (root / SCENE).read_text(encoding="utf-8")
    content = content.replace("shots:\n", f"x-anchors:\n{anchors}shots:\n", 1)
    content = content.replace("  location: street\n", "  location: street\n  props: *i\n", 1)
    (root / SCENE).write_text(content, encoding="utf-8")


def many_shots(n: int) -> Mutate:
    """A scene of n small, valid shots (ids 1A..), written compactly so it stays small on disk."""
    def mutate(root: Path) -> None:
        ids = (f"{i}{chr(65 + j)}" for i in range(1, 1000) for j in range(26))  # 25,974 ids: enough here
        shots = "\n".join(f"- {{id: {sid}, characters: [mia], action: Mia waits., duration: 2}}"
                          for _, sid in zip(range(n), ids))
        (root / SCENE).write_text(f"id: scene-01\ntitle: Long\nlocation: diner\nshots:\n{shots}\n", encoding="utf-8")
    return mutate


def second_scene(change: Callable[[Any], Any] = lambda d: None, key: str = "scenes/scene-02.yaml") -> Mutate:
    """Add a copy of scene-01 to the film (changed by ``change``)."""
    def mutate(root: Path) -> None:
        doc = _load(root, SCENE)
        change(doc)
        (root / key).write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        film = _load(root, FILM)
        film["scenes"].append(key)
        _dump(root, FILM, film)
    return mutate


def film_lists(*keys: Any) -> Mutate:
    return edit(FILM, lambda d: d.__setitem__("scenes", list(keys)))


def toml(content: str) -> Mutate:
    return text(TOML, content)


def not_a_database(name: str) -> Mutate:
    """slate.toml's ledger_url names a file of the project that is no SQLite database."""
    def mutate(root: Path) -> None:
        (root / name).write_text("these are notes, not a ledger\n" * 40, encoding="utf-8")
        with open(root / TOML, "a", encoding="utf-8") as f:
            f.write(f'ledger_url = "sqlite:///{(root / name).resolve()}"\n')
    return mutate


def rates(content: str) -> Mutate:
    return text("rates.toml", content)


LOCAL_VIDEO_WITHOUT_1080P = '''[models."local:local-ffmpeg-v1"]
kind = "video"
per_second = { "480p" = "0", "720p" = "0" }
source = "this project: the local renderer, 1080p removed"
confidence = "D"
'''

# --- the cases ------------------------------------------------------------------------------------


def cases() -> Iterator[Case]:  # noqa: C901 - a table, long on purpose
    # YAML and JSON syntax
    yield Case("yaml-unclosed-bracket", text(SCENE, "id: scene-01\ntitle: x\nshots: [\n  {id: 1A, action: x\nlocation: diner\n"),
               SCENE, "invalid YAML: expected ',' or '}'", field="line 5")
    yield Case("yaml-bad-indent", text(FILM, "id: night-diner\ntitle: Night Diner\n  scenes:\n- scenes/scene-01.yaml\n"),
               FILM, "invalid YAML: mapping values are not allowed here", field="line 3")
    yield Case("yaml-tab-indent", replace_text(SCENE, "\n  duration: 2.5", "\n\tduration: 2.5"), SCENE,
               "invalid YAML: found character '\\t' that cannot start any token")
    yield Case("yaml-duplicate-scene-key", append(SCENE, "location: street\n"), SCENE,
               "invalid YAML: found duplicate key 'location'")
    yield Case("yaml-duplicate-shot-key", replace_text(SCENE, "  duration: 2.5\n", "  duration: 2.5\n  duration: 3\n"),
               SCENE, "found duplicate key 'duration'")
    yield Case("yaml-colon-in-action", replace_text(SCENE, "action: Nina walks", "action: Nina says: walks"), SCENE,
               "invalid YAML: mapping values are not allowed here")
    yield Case("yaml-two-documents", append(BIBLE, "---\ncharacters: []\n"), BIBLE,
               "invalid YAML: but found another document")
    yield Case("yaml-undefined-alias", append(SCENE, "notes: *nothing\n"), SCENE, "invalid YAML: found undefined alias 'nothing'")
    yield Case("yaml-python-tag", append(FILM, "notes: !!python/object/apply:os.system ['true']\n"), FILM,
               "invalid YAML: could not determine a constructor for the tag")
    yield Case("yaml-empty-bible", text(BIBLE, ""), BIBLE, "is empty; expected a mapping", field="file")
    yield Case("yaml-comment-only-scene", text(SCENE, "# shots to come\n"), SCENE, "is empty; expected a mapping",
               field="file")
    yield Case("yaml-list-at-top", text(SCENE, "- id: 1A\n  action: x\n  duration: 3\n"), SCENE,
               "must be a mapping at the top level, not a list", field="file")
    yield Case("yaml-not-a-date", replace_text(SCENE, "  duration: 2.5\n", "  duration: 2.5\n  seed: 2024-13-45\n"), SCENE,
               "invalid YAML value: month must be in 1..12", field="file")
    yield Case("yaml-5000-digit-number", replace_text(SCENE, "  duration: 2.5\n", "  duration: 2.5\n  seed: " + "9" * 5000 + "\n"),
               SCENE, "invalid YAML value: Exceeds the limit", field="file")
    yield Case("json-film-trailing-comma", both(remove(FILM), text("film.json", '{"id": "night-diner", "title": "N", '
                                                                              '"scenes": ["scenes/scene-01.yaml",]}')),
               "film.json", "invalid JSON: Expecting value", field="line 1")
    yield Case("json-scene-single-quotes", both(film_lists("scenes/scene-01.json"),
                                                text("scenes/scene-01.json", "{'id': 'scene-01'}")),
               "scenes/scene-01.json", "invalid JSON: Expecting property name enclosed in double quotes")
    yield Case("non-utf8-scene", raw(SCENE, lambda b: b.replace("Nina walks".encode(), "Niña walks".encode("latin-1"))),
               SCENE, "is not valid UTF-8", field="file")
    yield Case("utf16-bible", raw(BIBLE, lambda b: b.decode().encode("utf-16")), BIBLE, "is not valid UTF-8", field="file")

    # wrong types
    yield Case("duration-words", shot(0, "duration", "three seconds"), SCENE, "valid number", shot="1A", field="duration")
    yield Case("characters-a-string", shot(0, "characters", "nina"), SCENE, "valid list", shot="1A", field="characters")
    yield Case("camera-a-string", shot(2, "camera", "wide"), SCENE, "valid dictionary", shot="1C", field="camera")
    yield Case("chain-yes-please", shot(4, "chain", "yes please"), SCENE, "valid boolean", shot="1E", field="chain")
    yield Case("seed-fraction", shot(3, "seed", 1.5), SCENE, "valid integer", shot="1D", field="seed")
    yield Case("film-fps-words", edit(FILM, lambda d: d.__setitem__("fps", "fast")), FILM, ACCEPTED_RATES, field="fps")
    # A rate between the whole ones that is not NTSC (issue 39: 23.976, 29.97, 59.94 ... are).
    yield Case("film-fps-not-ntsc", edit(FILM, lambda d: d.__setitem__("fps", 25.5)), FILM,
               f"{ACCEPTED_RATES}, 47.952, 59.94, 119.88, or written as 24000/1001), not 25.5", field="fps")
    yield Case("film-scenes-a-string", edit(FILM, lambda d: d.__setitem__("scenes", "scenes/scene-01.yaml")), FILM,
               "valid list", field="scenes")
    yield Case("scene-shots-a-mapping", edit(SCENE, lambda d: d.__setitem__("shots", {"1A": d["shots"][0]})), SCENE,
               "valid list", field="shots")
    yield Case("bible-characters-a-mapping", edit(BIBLE, lambda d: d.__setitem__("characters", {"mia": {}})), BIBLE,
               "valid list", field="characters")
    yield Case("wardrobe-a-list", edit(SCENE, lambda d: d.__setitem__("wardrobe", ["gabe coat"])), SCENE,
               "valid dictionary", field="wardrobe")
    yield Case("props-a-string", shot(2, "props", "mug"), SCENE, "valid list", shot="1C", field="props")

    # misspelt fields
    yield Case("misspelt-duration", rename_in_shot(0, "duration", "duraton"), SCENE, "did you mean 'duration'?",
               shot="1A", field="duraton")
    yield Case("misspelt-characters", rename_in_shot(2, "characters", "charcters"), SCENE, "did you mean 'characters'?",
               shot="1C", field="charcters")
    yield Case("misspelt-camera-movement", edit(SCENE, lambda d: d["shots"][1]["camera"].__setitem__(
        "movment", d["shots"][1]["camera"].pop("movement"))), SCENE, "did you mean 'movement'?", shot="1B",
        field="camera.movment")
    yield Case("misspelt-transition-duration", edit(SCENE, lambda d: d["shots"][1]["transition_out"].__setitem__(
        "durration", d["shots"][1]["transition_out"].pop("duration"))), SCENE, "did you mean 'duration'?", shot="1B",
        field="transition_out.durration")
    yield Case("misspelt-film-title", edit(FILM, lambda d: d.__setitem__("titel", d.pop("title"))), FILM,
               "did you mean 'title'?", field="titel")
    yield Case("misspelt-description", edit(BIBLE, lambda d: d["characters"][0].__setitem__(
        "descripton", d["characters"][0].pop("description"))), BIBLE, "did you mean 'description'?",
        field="characters[0].descripton")
    yield Case("shot-instead-of-shots", edit(SCENE, lambda d: d.__setitem__("shot", d.pop("shots"))), SCENE,
               "did you mean 'shots'?", field="shot")
    yield Case("color-not-colour", edit(SCENE, lambda d: d["wardrobe"]["gabe"].__setitem__(
        "color", d["wardrobe"]["gabe"].pop("colour"))), SCENE, "did you mean 'colour'?", field="wardrobe.gabe.color")
    yield Case("frame-mode-with-space", rename_in_shot(1, "frame_mode", "frame mode"), SCENE, "did you mean 'frame_mode'?",
               shot="1B", field="frame mode")

    # missing required fields
    yield Case("shot-without-action", drop_from_shot(2, "action"), SCENE, "required field is missing", shot="1C", field="action")
    yield Case("shot-without-duration", drop_from_shot(3, "duration"), SCENE, "required field is missing", shot="1D",
               field="duration")
    yield Case("shot-without-id", drop_from_shot(0, "id"), SCENE, "required field is missing", shot="#1", field="id")
    yield Case("scene-without-location", edit(SCENE, lambda d: d.pop("location")), SCENE, "required field is missing",
               field="location")
    yield Case("film-without-id", edit(FILM, lambda d: d.pop("id")), FILM, "required field is missing", field="id")
    yield Case("film-without-scenes", edit(FILM, lambda d: d.pop("scenes")), FILM, "required field is missing", field="scenes")
    yield Case("bible-without-locations", edit(BIBLE, lambda d: d.pop("locations")), BIBLE, "required field is missing",
               field="locations")
    yield Case("character-without-description", edit(BIBLE, lambda d: d["characters"][2].pop("description")), BIBLE,
               "required field is missing", field="characters[2].description")

    # unknown characters, locations, wardrobe
    yield Case("unknown-character", edit(SCENE, lambda d: d["shots"][2]["characters"].__setitem__(1, "jeny")), SCENE,
               "unknown character 'jeny' (bible has: gabe, jenny, leo, mia, nina)", shot="1C", field="characters[1]")
    yield Case("unknown-shot-location", shot(0, "location", "dinner"), SCENE, "unknown location 'dinner'", shot="1A",
               field="location")
    yield Case("unknown-scene-location", edit(SCENE, lambda d: d.__setitem__("location", "kitchen")), SCENE,
               "unknown location 'kitchen' (bible has: diner, street)", field="location")
    yield Case("wardrobe-for-unknown-character", edit(SCENE, lambda d: d["wardrobe"].__setitem__(
        "gaeb", d["wardrobe"].pop("gabe"))), SCENE, "unknown character 'gaeb'", field="wardrobe.gaeb")
    yield Case("character-by-name-not-id", edit(SCENE, lambda d: d["shots"][6]["characters"].__setitem__(1, "Mia")),
               SCENE, "unknown character 'Mia'", shot="1G", field="characters[1]")

    # bad ids
    yield Case("shot-id-lowercase", shot(0, "id", "1a"), SCENE, "shot id must be 1-3 digits then 1-2 capital letters",
               shot="#1", field="id")
    yield Case("shot-id-letter-first", shot(1, "id", "A1"), SCENE, "shot id must be", shot="#2", field="id")
    yield Case("shot-id-a-number", shot(2, "id", 3), SCENE, "valid string", shot="#3", field="id")
    yield Case("character-id-capital", edit(BIBLE, lambda d: d["characters"][3].__setitem__("id", "Mia")), BIBLE,
               "id must be lowercase", field="characters[3].id")
    yield Case("scene-id-with-space", edit(SCENE, lambda d: d.__setitem__("id", "scene 01")), SCENE,
               "id must be lowercase", field="id")
    yield Case("film-id-title-case", edit(FILM, lambda d: d.__setitem__("id", "Night Diner")), FILM,
               "id must be lowercase", field="id")
    yield Case("location-id-too-long", edit(BIBLE, lambda d: d["locations"][0].__setitem__("id", "d" * 41)), BIBLE,
               "at most 40 characters", field="locations[0].id")

    # duplicates
    yield Case("duplicate-shot-id", shot(3, "id", "1C"), SCENE, "duplicate shot id '1C' (also shots[2])", shot="1C", field="id")
    yield Case("duplicate-scene-id", second_scene(), "scenes/scene-02.yaml", "duplicate scene id 'scene-01'", field="id")
    yield Case("duplicate-character-id", edit(BIBLE, lambda d: d["characters"][1].__setitem__("id", "gabe")), BIBLE,
               "duplicate id 'gabe' (also characters[0])", field="characters[1].id")
    yield Case("scene-listed-twice", film_lists(SCENE, SCENE), FILM, "is listed twice", field="scenes[1]")
    yield Case("character-twice-in-shot", shot(2, "characters", ["gabe", "gabe"]), SCENE, "is listed twice",
               shot="1C", field="characters")

    # durations out of range
    yield Case("duration-zero", shot(0, "duration", 0), SCENE, "must be between 2.0 and 12.0 seconds", shot="1A", field="duration")
    yield Case("duration-negative", shot(1, "duration", -3), SCENE, "(got -3)", shot="1B", field="duration")
    yield Case("duration-thirty", shot(3, "duration", 30), SCENE, "(got 30)", shot="1D", field="duration")
    yield Case("duration-too-short", shot(6, "duration", 1.5), SCENE, "(got 1.5)", shot="1G", field="duration")
    yield Case("duration-nan", replace_text(SCENE, "duration: 2.5", "duration: .nan"), SCENE, "(got nan)", shot="1A",
               field="duration")
    yield Case("duration-infinite", replace_text(SCENE, "duration: 2.5", "duration: .inf"), SCENE, "(got inf)", shot="1A",
               field="duration")
    yield Case("dissolve-over-two-seconds", dissolves((2, 3)), SCENE, "at most 2 seconds (got 3)", shot="1C",
               field="transition_out.duration")
    yield Case("dissolve-of-zero", dissolves((2, 0)), SCENE, "a dissolve needs a duration above 0", shot="1C",
               field="transition_out.duration")
    yield Case("cut-with-a-duration", shot(2, "transition_out", {"kind": "cut", "duration": 1}), SCENE,
               "a cut has no duration", shot="1C", field="transition_out.duration")
    yield Case("transition-kind-fade", shot(2, "transition_out", {"kind": "fade", "duration": 1}), SCENE,
               "Input should be 'cut' or 'dissolve'", shot="1C", field="transition_out.kind")

    # dissolves the stitch cannot make (each passes the schema: 0 < d <= 2)
    yield Case("dissolve-as-long-as-its-shot", dissolves((5, 2.0)), SCENE,
               "a 2s dissolve must be shorter than the shot it leaves (1F, 2s)", shot="1F", field="transition_out.duration")
    yield Case("dissolve-longer-than-next-shot", dissolves((4, 2.0)), SCENE,
               "a 2s dissolve must be shorter than the shot it enters (1F, 2s)", shot="1E", field="transition_out.duration")
    yield Case("dissolves-overlap-in-a-shot", dissolves((1, 2.0), (2, 2.0)), SCENE,
               "1C (3.5s) is shorter than its two dissolves together (2s in + 2s out)", shot="1C",
               field="transition_out.duration")
    yield Case("dissolves-exactly-fill-a-shot", dissolves((0, 1.25), (1, 1.75)), SCENE,
               "1B (3s) is shorter than its two dissolves together (1.25s in + 1.75s out)", shot="1B",
               field="transition_out.duration")
    yield Case("dissolve-chain-on-short-shots", dissolves((2, 1.5), (3, 1.5)), SCENE,
               "1D (2.5s) is shorter than its two dissolves together", shot="1D", field="transition_out.duration")
    yield Case("dissolves-across-three-shots", dissolves((2, 1.25), (3, 1.25), (4, 1.0)), SCENE,
               "1D (2.5s) is shorter than its two dissolves together (1.25s in + 1.25s out)", shot="1D",
               field="transition_out.duration")
    yield Case("last-shot-dissolves", dissolves((8, 0.5)), SCENE, "the last shot of a scene must end on a cut",
               shot="1I", field="transition_out.kind")

    # shot rules
    yield Case("first-shot-chains", shot(0, "chain", True), SCENE, "the first shot of a scene cannot chain", shot="1A",
               field="chain")
    yield Case("fixed-camera-dollies", edit(SCENE, lambda d: d["shots"][0]["camera"].__setitem__("movement", "dolly_in")),
               SCENE, "a fixed camera must be 'static' (got 'dolly_in')", shot="1A", field="camera.movement")
    yield Case("camera-zoom", edit(SCENE, lambda d: d["shots"][2]["camera"].__setitem__("movement", "zoom")), SCENE,
               "Input should be 'static', 'dolly_in'", shot="1C", field="camera.movement")
    yield Case("end-action-without-end-frame", shot(2, "end_action", "Gabe drinks."), SCENE,
               "end_action is only allowed when frame_mode is 'start_end'", shot="1C", field="end_action")
    yield Case("frame-mode-misnamed", shot(1, "frame_mode", "start_and_end"), SCENE, "Input should be 'start', 'start_end' or 'reference'",
               shot="1B", field="frame_mode")
    yield Case("blank-action", shot(3, "action", "   "), SCENE, "must not be empty", shot="1D", field="action")

    # colours
    yield Case("colour-a-word", edit(SCENE, lambda d: d["wardrobe"]["gabe"].__setitem__("colour", "red")), SCENE,
               "colour must be a hex colour like '#aa3322' (got 'red')", field="wardrobe.gabe.colour")
    yield Case("colour-five-digits", edit(SCENE, lambda d: d["wardrobe"]["jenny"].__setitem__("colour", "#b3202")), SCENE,
               "colour must be a hex colour", field="wardrobe.jenny.colour")
    yield Case("colour-unquoted-hash", replace_text(SCENE, "colour: '#1f3a5f'", "colour: #1f3a5f"), SCENE,
               "an unquoted # starts a comment", field="wardrobe.gabe.colour")

    # references: turnarounds and plates
    yield Case("turnaround-missing", both(raw(MIA.replace("APPROVED", "draft"), lambda _: b""), remove(MIA)), BIBLE,
               "character 'mia': no approved reference at characters/mia/mia_turnaround_APPROVED.png "
               "(storage has approved characters: gabe, jenny, leo, nina)", field="characters[3].turnaround")
    yield Case("plate-missing", remove(STREET), BIBLE, "location 'street': no approved reference", field="locations[1].plate")
    yield Case("turnaround-empty", raw(NINA, b""), BIBLE, "is empty (0 bytes)", field="characters[4].turnaround")
    yield Case("turnaround-corrupt", raw(NINA, lambda b: b[:33] + os.urandom(4000)), BIBLE, "does not decode as a PNG",
               field="characters[4].turnaround")
    yield Case("turnaround-truncated", raw(MIA, lambda b: b[:len(b) * 2 // 5]), BIBLE, "does not decode as a PNG",
               field="characters[3].turnaround")
    yield Case("plate-header-only", raw(DINER, lambda b: b[:20]), BIBLE, "is a PNG cut short before its header",
               field="locations[0].plate")
    yield Case("turnaround-is-text", raw(MIA, b"TODO: draw Mia\n"), BIBLE, "is not a PNG or JPEG (unrecognised bytes)",
               field="characters[3].turnaround")
    yield Case("turnaround-is-gif", raw(MIA, image_bytes("GIF")), BIBLE, "is not a PNG or JPEG (a GIF)",
               field="characters[3].turnaround")
    yield Case("plate-is-bmp", raw(STREET, image_bytes("BMP")), BIBLE, "is not a PNG or JPEG (a BMP)", field="locations[1].plate")
    yield Case("plate-is-webp", raw(DINER, b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 32), BIBLE,
               "is not a PNG or JPEG (a WebP)", field="locations[0].plate")
    yield Case("plate-is-svg", raw(DINER, b'<svg xmlns="http://www.w3.org/2000/svg"/>'), BIBLE,
               "is not a PNG or JPEG (text (SVG, XML or HTML))", field="locations[0].plate")
    yield Case("turnaround-is-tiff", raw(NINA, image_bytes("TIFF")), BIBLE, "(a TIFF)", field="characters[4].turnaround")
    yield Case("turnaround-jpeg-truncated", raw(MIA, lambda _: image_bytes("JPEG", (400, 300))[:300]), BIBLE,
               "does not decode as a JPEG", field="characters[3].turnaround")
    yield Case("turnaround-oversized-file", sparse(MIA, 70 << 20), BIBLE, "byte limit for a reference",
               field="characters[3].turnaround")
    yield Case("plate-claims-400-megapixels", raw(STREET, png_claiming(20_000, 20_000)), BIBLE,
               "is a PNG of 20000x20000 (400,000,000 pixels), over the 40,000,000 pixel limit", field="locations[1].plate")
    yield Case("turnaround-jpeg-claims-100-megapixels", raw(NINA, jpeg_claiming(10_000, 10_000)), BIBLE,
               "is a JPEG of 10000x10000", field="characters[4].turnaround")
    yield Case("turnaround-zero-width", raw(NINA, png_claiming(0, 512)), BIBLE, "it has no pixels",
               field="characters[4].turnaround")
    yield Case("turnaround-is-a-folder", folder_at(MIA), BIBLE, "is a directory, not a file", field="characters[3].turnaround")
    yield Case("turnaround-symlink-out-of-project", link_out(MIA), BIBLE, "is a symlink that leaves the project",
               field="characters[3].turnaround")
    yield Case("plate-symlink-to-dev-zero", lambda root: ((root / DINER).unlink(), (root / DINER).symlink_to("/dev/zero")),
               BIBLE, "is a symlink that leaves the project (to /dev/zero)", field="locations[0].plate")
    yield Case("turnaround-symlink-loop", link_loop(NINA), BIBLE, "is a symlink loop", field="characters[4].turnaround")
    yield Case("turnaround-symlink-dangling", link_dangling(MIA), BIBLE, "is a symlink to nothing",
               field="characters[3].turnaround")
    yield Case("turnaround-is-a-fifo", fifo_at(MIA), BIBLE, "is not a regular file", field="characters[3].turnaround")
    yield Case("turnaround-key-elsewhere", edit(BIBLE, lambda d: d["characters"][3].__setitem__("turnaround", "refs/mia.png")),
               BIBLE, "no approved reference at refs/mia.png", field="characters[3].turnaround")
    yield Case("turnaround-key-absolute", edit(BIBLE, lambda d: d["characters"][3].__setitem__("turnaround", "/home/me/mia.png")),
               BIBLE, "is an absolute path", field="characters[3].turnaround")
    yield Case("plate-key-climbs-out", edit(BIBLE, lambda d: d["locations"][0].__setitem__("plate", "../plates/diner.png")),
               BIBLE, "has a '..' segment", field="locations[0].plate")
    yield Case("turnaround-key-backslash", edit(BIBLE, lambda d: d["characters"][0].__setitem__(
        "turnaround", "characters\\gabe\\gabe_turnaround_APPROVED.png")), BIBLE, "contains a backslash",
        field="characters[0].turnaround")
    yield Case("plate-key-drive-letter", edit(BIBLE, lambda d: d["locations"][1].__setitem__("plate", "C:/plates/street.png")),
               BIBLE, "starts with a drive letter", field="locations[1].plate")
    # references the local judge (the run's judge with the local provider) cannot read: refused
    # by check, before a run pays for panels and clips it would then escalate as "cannot judge"
    judge = "the local judge cannot read it"
    yield Case("turnaround-jpeg-in-png", redrawn(MIA, lambda im: (im.convert("RGB"), "JPEG")), BIBLE,
               "mode RGB with no alpha channel", field="characters[3].turnaround")
    yield Case("turnaround-cmyk", redrawn(NINA, lambda im: (im.convert("CMYK"), "JPEG")), BIBLE,
               f"{judge}: turnaround of 'nina' is mode CMYK with no alpha channel", field="characters[4].turnaround")
    yield Case("turnaround-16-bit-grey", redrawn(MIA, lambda im: (im.convert("I;16"), "PNG")), BIBLE,
               f"{judge}: turnaround of 'mia' is mode I;16", field="characters[3].turnaround")
    yield Case("turnaround-photograph-with-alpha", redrawn(NINA, lambda im: (photo_like(im.size, True), "PNG")),
               BIBLE, "opaque at the cell's edge", field="characters[4].turnaround")
    yield Case("turnaround-painted-not-flat", redrawn(MIA, lambda im: (painted_heads(im), "PNG")), BIBLE,
               "not flat-coloured like a drawn turnaround", field="characters[3].turnaround")
    yield Case("turnaround-grid-not-a-row", redrawn(NINA, lambda im: (im.resize((384, 768)), "PNG")), BIBLE,
               "the local judge reads sheets of 4 views", field="characters[4].turnaround")
    yield Case("plate-4000x100", redrawn(STREET, lambda im: (photo_like((4000, 100)), "PNG")), BIBLE,
               f"{judge}: plate 'street' is 4000x100 (40.00:1), a different shape from the panel",
               field="locations[1].plate")
    yield Case("plate-4-by-3-at-hero", redrawn(DINER, lambda im: (im.resize((960, 720)), "PNG")), BIBLE,
               "plate 'diner' is 960x720 (1.33:1), a different shape from the panel 1280x720",
               field="locations[0].plate", args=("--profile", "hero"))

    yield Case("turnaround-key-with-space", edit(BIBLE, lambda d: d["characters"][3].__setitem__("turnaround", "refs/mia final.png")),
               BIBLE, "has characters outside", field="characters[3].turnaround")

    # references: panel overrides
    yield Case("override-missing", shot(6, "panel_override", "overrides/1G.png"), SCENE,
               "panel override of shot 1G: overrides/1G.png not found", shot="1G", field="panel_override")
    yield Case("override-not-an-image", both(text("overrides/1G.png", "composite goes here\n"),
                                             shot(6, "panel_override", "overrides/1G.png")), SCENE,
               "overrides/1G.png is not a PNG or JPEG", shot="1G", field="panel_override")
    yield Case("override-is-a-folder", both(lambda root: (root / "overrides" / "1G.png").mkdir(parents=True),
                                            shot(6, "panel_override", "overrides/1G.png")), SCENE,
               "is a directory, not a file", shot="1G", field="panel_override")
    yield Case("override-climbs-out", shot(6, "panel_override", "../composites/1G.png"), SCENE, "has a '..' segment",
               shot="1G", field="panel_override")
    yield Case("override-symlink-out", both(raw("overrides/1G.png", image_bytes("PNG")), link_out("overrides/1G.png"),
                                            shot(6, "panel_override", "overrides/1G.png")), SCENE,
               "is a symlink that leaves the project", shot="1G", field="panel_override")
    yield Case("override-windows-path", shot(2, "panel_override", "overrides\\1C.png"), SCENE, "contains a backslash",
               shot="1C", field="panel_override")

    # whole files: the film, scenes, the bible
    yield Case("film-with-no-scenes", film_lists(), FILM, "the film lists no scenes", field="scenes")
    yield Case("scene-with-no-shots", edit(SCENE, lambda d: d.__setitem__("shots", [])), SCENE,
               "a scene needs at least one shot", field="shots")
    yield Case("scene-file-missing", film_lists("scenes/scene-1.yaml"), FILM,
               "scene file 'scenes/scene-1.yaml' not found", field="scenes[0]")
    yield Case("scene-file-is-a-folder", folder_at(SCENE), FILM, "is a directory, not a file", field="scenes[0]")
    yield Case("scene-file-wrong-suffix", both(lambda root: (root / SCENE).rename(root / "scenes/scene-01.txt"),
                                               film_lists("scenes/scene-01.txt")), FILM,
               "must end in .yaml, .yml or .json", field="scenes[0]")
    yield Case("scene-file-symlink-out", link_out(SCENE), FILM, "is a symlink that leaves the project", field="scenes[0]")
    yield Case("scene-file-symlink-loop", link_loop(SCENE), FILM, "is a symlink loop", field="scenes[0]")
    yield Case("scene-file-is-a-fifo", fifo_at(SCENE), FILM, "is not a regular file", field="scenes[0]")
    yield Case("scene-key-absolute", film_lists("/tmp/scene-01.yaml"), FILM, "is an absolute path", field="scenes[0]")
    yield Case("scene-key-backslash", film_lists("scenes\\scene-01.yaml"), FILM, "contains a backslash", field="scenes[0]")
    yield Case("bible-symlink-out", link_out(BIBLE), FILM, "bible file 'bible.yaml' is a symlink that leaves the project",
               field="bible")
    yield Case("bible-missing", remove(BIBLE), FILM, "bible file 'bible.yaml' not found", field="bible")
    yield Case("film-manifest-is-a-folder", folder_at(FILM), FILM, "is a directory, not a file", field="file")
    yield Case("film-manifest-symlink-loop", link_loop(FILM), FILM, "is a symlink loop", field="file")
    yield Case("no-film-manifest", remove(FILM), FILM, "no film manifest", field="file")

    # bounds: size, aliases, nesting, counts
    yield Case("scene-oversized", append(SCENE, "# " + "notes " * 200_000 + "\n"), SCENE,
               "over the limit of 1,048,576 for a manifest", field="file")
    yield Case("bible-oversized-sparse", sparse(BIBLE, 50 << 20), BIBLE, "is 52,428,800 bytes, over the limit", field="file")
    yield Case("scene-alias-bomb", alias_bomb_in_props, SCENE, "YAML nodes once aliases are expanded")
    yield Case("bible-alias-bomb", text(BIBLE, alias_bomb()), BIBLE, "YAML nodes once aliases are expanded")
    yield Case("bible-deep-nesting", append(BIBLE, "notes: " + "[" * 200 + "]" * 200 + "\n"), BIBLE,
               "nested more than 64 levels deep")
    yield Case("scene-json-deep-nesting", both(film_lists("scenes/scene-01.json"),
                                               text("scenes/scene-01.json", "[" * 5000 + "]" * 5000)),
               "scenes/scene-01.json", "nested more than 64 levels deep", field="file")
    yield Case("too-many-shots", many_shots(600), SCENE, "600 shots; a scene may hold at most 500", field="shots")
    yield Case("too-many-scenes", film_lists(*[f"scenes/scene-{i:03}.yaml" for i in range(201)]), FILM,
               "lists 201 scene files; a film may list at most 200", field="scenes")

    # slate.toml
    yield Case("toml-unquoted-string", toml('profile = draft\n'), TOML, "invalid TOML", field="line 1")
    yield Case("toml-unclosed-quote", toml('profile = "draft\nprovider = "local"\n'), TOML, "invalid TOML", field="line 1")
    yield Case("toml-duplicate-key", toml('max_takes = 3\nmax_takes = 4\n'), TOML, "invalid TOML: Cannot overwrite a value")
    yield Case("toml-yaml-syntax", toml('profile: draft\n'), TOML, "invalid TOML", field="line 1")
    yield Case("toml-run-cap-without-usd", append(TOML, "run_cap = 5\n"), TOML, "unknown setting (did you mean 'run_cap_usd'?)",
               field="run_cap")
    yield Case("toml-misspelt-max-takes", append(TOML, "max_take = 5\n"), TOML, "did you mean 'max_takes'?", field="max_take")
    yield Case("toml-unknown-key", append(TOML, 'colour_grade = "teal and orange"\n'), TOML, "unknown setting (known:",
               field="colour_grade")
    yield Case("toml-unknown-table", append(TOML, "[budget]\nrun_cap_usd = 5\n"), TOML, "unknown table [budget]", field="budget")
    yield Case("toml-max-takes-words", toml('max_takes = "three"\n'), TOML, "valid integer", field="max_takes")
    yield Case("toml-profile-unknown", toml('profile = "cinema"\n'), TOML, "Input should be 'draft', 'final' or 'hero'",
               field="profile")
    yield Case("toml-negative-run-cap", append(TOML, "run_cap_usd = -5\n"), TOML, "greater than or equal to 0",
               field="run_cap_usd")
    yield Case("toml-negative-film-cap", append(TOML, 'film_cap_usd = "-1"\n'), TOML, "greater than or equal to 0",
               field="film_cap_usd")
    yield Case("toml-infinite-cap", append(TOML, "run_cap_usd = inf\n"), TOML, "finite number", field="run_cap_usd")
    yield Case("toml-cap-with-dollar-sign", append(TOML, 'run_cap_usd = "$5"\n'), TOML, "valid decimal", field="run_cap_usd")
    # More than the ledger holds (Numeric(18, 6)): a decimal.InvalidOperation at the run's first sum, before.
    yield Case("toml-cap-beyond-the-ledger", append(TOML, 'run_cap_usd = "1e400"\n'), TOML,
               "less than or equal to 999999999999.999999", field="run_cap_usd")
    yield Case("env-cap-beyond-the-ledger", lambda root: None, "environment",
               "less than or equal to 999999999999.999999", field="SLATE_FILM_CAP_USD",
               env={"SLATE_FILM_CAP_USD": "1e400"})
    yield Case("toml-max-takes-zero", toml("max_takes = 0\n"), TOML, "greater than or equal to 1", field="max_takes")
    yield Case("toml-fps-240", append(TOML, "fps = 240\n"), TOML, ACCEPTED_RATES, field="fps")
    yield Case("toml-drift-threshold-percent", append(TOML, "drift_threshold = 35\n"), TOML, "less than or equal to 1",
               field="drift_threshold")
    yield Case("toml-video-slots-zero", append(TOML, "video_slots = 0\n"), TOML, "greater than or equal to 1", field="video_slots")
    yield Case("toml-fault-rate-percent", append(TOML, "local_fault_rate = 20\n"), TOML, "less than or equal to 1",
               field="local_fault_rate")
    yield Case("toml-fault-kind-unknown", append(TOML, 'local_fault_kinds = "recolour,explode"\n'), TOML,
               "unknown local fault kind(s) ['explode']", field="local_fault_kinds")
    yield Case("toml-provider-unavailable", toml('provider = "replicat"\n'), TOML, "unknown provider 'replicat'",
               field="provider")
    yield Case("toml-judge-unknown", append(TOML, 'judge = "gpt-judge"\n'), TOML, "unknown provider 'gpt-judge'",
               field="judge")
    yield Case("toml-judge-offers-no-judging", append(TOML, 'judge = "replicate"\n'), TOML,
               "replicate offers no judge model", field="judge")
    yield Case("toml-video-model-unknown", append(TOML, '[models.draft]\nvideo = ["replicate:bytedance/seedance-9"]\n'),
               TOML, "unknown video model 'replicate:bytedance/seedance-9'", field="models.draft.video")
    yield Case("toml-panel-model-from-a-video-only-provider", append(TOML, '[models.draft]\npanel = "openrouter"\n'),
               TOML, "openrouter offers no panel model", field="models.draft.panel")
    yield Case("toml-price-as-unknown", append(TOML, 'price_as = "replicate:seedance"\n'), TOML,
               "no rate for 'replicate:seedance' on the rate card", field="price_as")
    # A judge model is a capability price_as prices (issue 25); two of one capability is the mistake.
    yield Case("toml-price-as-two-video-models", append(
        TOML, 'price_as = "replicate:bytedance/seedance-1-pro,replicate:kwaivgi/kling-v2.5-turbo-pro"\n'), TOML,
        "price_as names two video models", field="price_as")
    yield Case("toml-timezone-unknown", append(TOML, 'timezone = "CET+1"\n'), TOML, "unknown timezone 'CET+1'",
               field="timezone")
    yield Case("toml-base-url-without-scheme", append(TOML, 'replicate_base_url = "api.replicate.com/v1"\n'), TOML,
               "'api.replicate.com/v1' is not an http(s) URL", field="replicate_base_url")
    yield Case("env-base-url-with-credentials", lambda root: None, "environment", "'https://***@queue.fal.run' is "
               "not an http(s) URL without credentials", field="SLATE_FAL_BASE_URL",
               env={"SLATE_FAL_BASE_URL": "https://me:key@queue.fal.run"})
    yield Case("toml-ledger-url-port-not-a-number",
               append(TOML, 'ledger_url = "postgresql+psycopg://film:s3cret@db.example:notaport/ledger"\n'), TOML,
               "'postgresql+psycopg://film:***@db.example:notaport/ledger' has a port that is not a number",
               field="ledger_url")
    yield Case("toml-ledger-url-not-a-url", append(TOML, 'ledger_url = "the studio database"\n'), TOML,
               "is not a database URL", field="ledger_url")
    yield Case("toml-ledger-url-mysql", append(TOML, 'ledger_url = "mysql://db/ledger"\n'), TOML,
               "the ledger runs on sqlite or postgresql, not mysql", field="ledger_url")
    yield Case("toml-ledger-url-sqlite-folder-missing", append(TOML, 'ledger_url = "sqlite:////nowhere/at/all/l.db"\n'),
               TOML, "the folder '/nowhere/at/all' of the SQLite file does not exist", field="ledger_url")
    yield Case("toml-ledger-url-in-slate-table", append(TOML, '[slate]\nledger_url = "sqlite:///l.db"\n'), TOML,
               "the ledger reads ledger_url at the top level", field="slate.ledger_url")
    yield Case("env-ledger-url-port-out-of-range", lambda root: None, "environment", "port 99999 is out of range",
               field="SLATE_LEDGER_URL", env={"SLATE_LEDGER_URL": "postgresql+psycopg://u@h:99999/db"})
    # Well formed, but nothing answers there (nothing listens on port 1): said by check, not at the run's start.
    yield Case("env-ledger-url-port-closed", lambda root: None, "environment",
               "'postgresql+psycopg://slate:***@127.0.0.1:1/ledger': cannot connect to it: ", field="SLATE_LEDGER_URL",
               env={"SLATE_LEDGER_URL": "postgresql+psycopg://slate:s3cret@127.0.0.1:1/ledger"})
    yield Case("toml-ledger-url-port-closed", append(TOML, 'ledger_url = "postgresql+psycopg://slate@127.0.0.1:1/l"\n'),
               TOML, "cannot connect to it: ", field="ledger_url")
    yield Case("toml-ledger-url-sqlite-not-a-database", not_a_database("ledger.db"), TOML,
               "the SQLite file cannot be read as a database: file is not a database", field="ledger_url")
    yield Case("toml-twice-in-table", append(TOML, "[slate]\nmax_takes = 4\n"), TOML, "is set twice (also as max_takes)",
               field="slate.max_takes")
    yield Case("toml-is-a-folder", folder_at(TOML), TOML, "is a directory, not a file", field="file")
    yield Case("toml-symlink-out", link_out(TOML), TOML, "is a symlink that leaves the project", field="file")
    yield Case("toml-not-utf8", raw(TOML, lambda b: b + "# café\n".encode("latin-1")), TOML, "is not valid UTF-8",
               field="file")

    # the environment and the command line
    yield Case("env-run-cap-words", lambda root: None, "environment", "valid decimal (got 'abc')",
               field="SLATE_RUN_CAP_USD", env={"SLATE_RUN_CAP_USD": "abc"})
    yield Case("env-max-takes-words", lambda root: None, "environment", "valid integer", field="SLATE_MAX_TAKES",
               env={"SLATE_MAX_TAKES": "lots"})
    yield Case("env-profile-unknown", lambda root: None, "environment", "Input should be 'draft', 'final' or 'hero'",
               field="SLATE_PROFILE", env={"SLATE_PROFILE": "4k"})
    yield Case("env-provider-unavailable", lambda root: None, "environment", "unknown provider 'falai'",
               field="SLATE_PROVIDER", env={"SLATE_PROVIDER": "falai"})
    yield Case("cli-profile-unknown", lambda root: None, "command line", "Input should be 'draft', 'final' or 'hero'",
               field="--profile", args=("--profile", "cinema"))
    yield Case("cli-provider-unavailable", lambda root: None, "command line", "unknown provider 'openai'",
               field="--provider", args=("--provider", "openai"))
    yield Case("cli-video-model-unpriced-at-the-profile", lambda root: None, "slate.toml", "no price for resolution '480p'",
               field="profile", args=("--video-model", "fal:bytedance/seedance-2.0/image-to-video"))
    yield Case("cli-price-as-unpriced", lambda root: None, "command line", "no rate for 'replicate:bytedance/seedance-9'",
               field="--price-as", args=("--price-as", "replicate:bytedance/seedance-9"))
    yield Case("cli-scene-unknown", lambda root: None, "command line", "unknown scene 'scene-1' (film has: scene-01)",
               field="--scene", args=("--scene", "scene-1"))

    # prices: every call the run will make
    yield Case("price-as-lacks-profile-resolution", lambda root: None, TOML,
               "fal:bytedance/seedance-2.0/image-to-video has no price for resolution '480p'", field="profile",
               args=("--price-as", "fal:bytedance/seedance-2.0/image-to-video"))
    yield Case("hero-critical-shot-unpriced-1080p", lambda root: None, SCENE,
               "has no price for resolution '1080p' (priced: 720p)", shot="1F", field="critical",
               args=("--profile", "hero", "--price-as", "fal:bytedance/seedance-2.0/image-to-video"))
    yield Case("shot-longer-than-veo-makes", shot(2, "duration", 10), SCENE, "longer than the longest duration it offers",
               shot="1C", field="duration", args=("--profile", "final", "--price-as", "gemini:veo-3.1-fast-generate-preview"))
    yield Case("shot-longer-than-kling-makes", shot(8, "duration", 11), SCENE, "(5, 10 s)", shot="1I", field="duration",
               args=("--price-as", "replicate:kwaivgi/kling-v2.5-turbo-pro"))
    yield Case("project-rates-lack-1080p", rates(LOCAL_VIDEO_WITHOUT_1080P), SCENE,
               "local:local-ffmpeg-v1 has no price for resolution '1080p'", shot="1F", field="critical",
               args=("--profile", "hero"))
    yield Case("project-rates-float-money", rates(LOCAL_VIDEO_WITHOUT_1080P.replace('"0", "720p" = "0"', '0.0, "720p" = "0"')),
               "rates.toml", "local:local-ffmpeg-v1", field="file")
    yield Case("project-rates-bad-toml", rates("[models.local\n"), "rates.toml", "not valid TOML", field="file")
    yield Case("project-rates-price-beyond-the-ledger",
               rates(LOCAL_VIDEO_WITHOUT_1080P.replace('"720p" = "0"', '"720p" = "1e400"')), "rates.toml",
               "must be a finite amount from 0 to 999,999,999,999.999999", field="file")
    # dialogue (issue 37): lines of a shot against the bible's voices, before any spend
    yield Case("dialogue-unknown-speaker", shot(0, "dialogue", [{"speaker": "nobody", "text": "Hi."}]), SCENE,
               "unknown speaker 'nobody'", shot="1A", field="dialogue[0].speaker")
    yield Case("dialogue-speaker-without-voice", shot(0, "dialogue", [{"speaker": "nina", "text": "Hi."}]), SCENE,
               "'nina' has no voice in bible.yaml", shot="1A", field="dialogue[0].speaker")
    yield Case("dialogue-narrator-without-voice", shot(0, "dialogue", [{"speaker": "narrator", "text": "Night."}]),
               SCENE, "unknown speaker 'narrator'", shot="1A", field="dialogue[0].speaker")
    yield Case("dialogue-line-longer-than-its-shot",
               both(voice("nina"), shot(0, "dialogue", [{"speaker": "nina", "text": " ".join(["word"] * 12)}])), SCENE,
               "past the shot's 2.5 s", shot="1A", field="dialogue[0]")
    yield Case("dialogue-line-starting-past-its-shot",
               both(voice("nina"), shot(0, "dialogue", [{"speaker": "nina", "text": "Hi.", "at": 2.4}])), SCENE,
               "past the shot's 2.5 s", shot="1A", field="dialogue[0]")
    yield Case("dialogue-one-speaker-twice-at-once",
               both(voice("nina"), shot(2, "dialogue", [{"speaker": "nina", "text": "One two three four.", "at": 0.2},
                                                        {"speaker": "nina", "text": "Five.", "at": 0.6}])), SCENE,
               "one speaker cannot say two lines at once", shot="1C", field="dialogue[1].at")
    yield Case("dialogue-empty-text", shot(0, "dialogue", [{"speaker": "nina", "text": "  "}]), SCENE,
               "must not be empty", shot="1A", field="dialogue[0].text")
    yield Case("dialogue-metaphor-delivery",
               both(voice("nina"), shot(0, "dialogue", [{"speaker": "nina", "text": "Hi.", "delivery": ["heartbroken"]}])),
               SCENE, "'heartbroken' is not a delivery a speech model can do", shot="1A", field="dialogue[0].delivery")
    yield Case("voice-without-provider", edit(BIBLE, lambda d: d["characters"][4].__setitem__(
               "voice", {"description": "a woman of thirty, low and even", "voice": "en+f3"})), BIBLE,
               "required field is missing", field="characters[4].voice.provider")
    yield Case("voice-the-provider-lacks", edit(BIBLE, lambda d: d["characters"][4].__setitem__(
               "voice", {**VOICE, "provider": "gemini", "voice": "Kora"})), BIBLE,
               "gemini:gemini-2.5-flash-preview-tts has no voice 'Kora' (did you mean Kore?)",
               field="characters[4].voice.voice")
    yield Case("voice-pace-out-of-range", edit(BIBLE, lambda d: d["characters"][4].__setitem__(
               "voice", {**VOICE, "pace_wpm": 900})), BIBLE, "less than or equal to 300",
               field="characters[4].voice.pace_wpm")
