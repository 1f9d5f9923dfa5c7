"""The example film, "night-diner": a complete project a new user can render offline.

It exercises every manifest feature a real film uses (start and start+end frames, a chain
of shots, a critical hero shot, a dissolve, per-scene wardrobe that differs from the
turnarounds) while staying short enough to render in a demo.

Everything is drawn here, byte-for-byte deterministic: the same call writes the same bytes
on every machine with the same Pillow and zlib, so caches keyed by content hash stay warm.
It must never download anything, never overwrite a non-empty folder, and never write
outside ``dest``.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from PIL import Image, ImageDraw

from .example_comfyui import write_example_workflows
from .keys import canonical_plate_key, canonical_turnaround_key
from .turnaround import EXAMPLE_CAST, draw_turnaround

__all__ = [
    "EXAMPLE_FILM_ID",
    "PLATE_SIZE",
    "write_example_film",
    "draw_plate",
    "example_documents",
]

EXAMPLE_FILM_ID = "night-diner"
PLATE_SIZE = (1280, 720)
_SEED = 20240601  # fixed: plates must not change between runs

SLATE_TOML = """# slate project settings (any SLATE_* environment variable overrides a line here)
profile = "draft"       # draft = 480p nightly batch; final = 720p; hero = 1080p for critical shots
provider = "local"      # the offline local provider: no key, no network, $0
max_takes = 3           # per-shot retry cap before a shot is escalated
# model_audio = true    # ask the video model for the sound it makes (paid for); off by default
"""

EMPTY_TOML = SLATE_TOML + """# judge = "gemini"     # the gates' judge: the local judge (free, offline) reads only
#                       # what the local provider draws (bible.yaml says what); other art needs a vision judge
# cannot_judge = "warn" # rehearse offline with art the judge cannot read: takes go on, shown UNJUDGED
# run_cap_usd = "25"    # the most one run may spend; film_cap_usd: the film, across runs
"""

EMPTY_FILM = """# The film: its id, its title and its scenes, in the order they are cut together.
# `slate check DIR` reads every file of the project and names each problem by file, shot and field.
id: {film_id}            # lowercase letters, digits, - or _, a letter first, at most 40 characters
title: Untitled
# fps: 24               # frames per second: 1-120, or NTSC 23.976, 29.97, 59.94 (kept exact: 24000/1001, ...)
# bible: bible.yaml     # where the bible is (a path inside the project)
scenes:                 # scene files, in film order (at most 200)
  - scenes/scene-01.yaml
# finishing:            # the edit after the stitch (README "Finishing"): grade and delivery
#   lut: grade/film.cube                 # a 3D .cube LUT; a scene's own `lut` overrides it
#   delivery:                            # per profile (draft | final | hero)
#     draft: {{loudness: web}}           # web (-14 LUFS) | broadcast (-23 LUFS) | a number
#     hero: {{loudness: broadcast, true_peak: -1, mezzanine: prores_proxy, poster: true, stems: true}}   # or dnxhr_lb; stems: the mix by kind
"""

EMPTY_BIBLE = """# The bible: the locked references. Each character needs an approved turnaround in storage at
#   characters/<id>/<id>_turnaround_APPROVED.png
# and each location an approved plate at
#   locations/<id>/<id>_plate_APPROVED.png
# (PNG or JPEG, at most 64 MiB and 40 megapixels; `turnaround:` / `plate:` name another path).
#
# What the judges can read. The local judge (free, offline: the default with the local provider)
# reads only art drawn the way the local provider draws it:
#   - a turnaround is one 768x384 sheet of four 192x384 cells in a row (front, three_quarter,
#     side, back), each with one figure standing inside its cell on a TRANSPARENT background
#     (a PNG with an alpha channel), painted in FLAT colours (a few colours, not shading);
#   - a plate has the panel's shape (16:9: 1280x720, 1920x1080, ...).
# Photographs, drawings on paper, JPEGs, CMYK or 16-bit images, sheets laid out another way and
# plates of another shape are art it cannot read: `slate check` names each one. Judge such art with
# a vision model (`--judge gemini`, a key in GEMINI_API_KEY), or rehearse the plumbing offline
# (order, durations, transitions, chains, costs) with `slate run DIR --cannot-judge warn`: every
# take it cannot judge is then shown as UNJUDGED, never passed silently.
characters:
  - id: lead                 # lowercase letters, digits, - or _, a letter first, at most 40 characters
    name: The lead
    description: Describe the character once, here; this block is pasted into every prompt.
    # turnaround: characters/lead/lead_turnaround_APPROVED.png   # the default path
    # voice:                 # their voice, locked like their face (docs: Voices and dialogue)
    #   description: A woman of forty; low, even pitch; unhurried.   # physical terms only
    #   provider: local      # a provider that speaks
    #   voice: en+f2         # the provider's voice name or id
    #   pace_wpm: 150        # words a minute: `slate check` times the lines with it
# narrator:                  # a voice with no face: lines whose speaker is `narrator`
#   description: An old man, slow and warm.
#   provider: local
#   voice: en-us+m2
locations:
  - id: set
    name: The set
    description: Describe the place once, here.
    # plate: locations/set/set_plate_APPROVED.png                # the default path
    # recipe: []             # single edits `slate bible plate --recipe` applies in turn, e.g.
    #                        # ["remove the chairs", "remove the counter stools"]: an empty room
"""

EMPTY_SCENE = """# A scene: its shots in order. Every field a shot may have is below; the commented ones
# show their default.
id: scene-01                 # lowercase letters, digits, - or _, a letter first
title: First scene
location: set                # a location id of the bible: where the shots are, unless a shot says
# wardrobe:                  # per character, what they wear in this scene
#   lead:
#     description: A long grey raincoat.
#     colour: '#5a5a5a'      # hex, quoted (an unquoted # starts a YAML comment)
shots:
  - id: 1A                   # 1-3 digits then 1-2 capital letters: 1A, 12B, 3AA
    characters: [lead]       # character ids of the bible, each once
    action: The lead crosses the frame from left to right.   # physical action only, no mood words
    duration: 4              # seconds, 2.0 to 12.0
    # location: set          # default: the scene's location
    # props: []              # props that must survive from panel to video
    # camera:
    #   framing: medium      # wide | medium | close
    #   angle: eye           # eye | high | low
    #   movement: static     # static | dolly_in | dolly_out | pan_left | pan_right | tilt_up | tilt_down
    #   fixed: false         # true: locked off (movement must be static)
    # frame_mode: start      # start | start_end (an end panel too; then end_action says where it ends)
    #                        # | reference (no panel: the video model gets the cast's turnarounds,
    #                        # the plate and `references`; README "Reference shots")
    # end_action: The lead sits down.   # only with frame_mode: start_end
    # references: []         # extra pictures for the video model, e.g. [props/mug.png]
    # views: []              # with references: the turnaround views sent (default: the whole sheet),
    #                        # any of front | three_quarter | side | back, e.g. [front, three_quarter]
    # recipe: []             # single edits of the start panel, one paid call each, in turn,
    #                        # e.g. ["raise the left arm", "turn the head to camera"]
    # chain: false           # true: start from the previous shot's last frame (never the first shot)
    # enters: []             # characters of the shot who walk in partway (say how in the action): a
    #                        # chained shot may name them though the shot before does not
    # face_swap: []          # characters of the shot whose face is swapped for their approved one
    #                        # after the keyframe gate, gated again (needs a face-swap model)
    # critical: false        # true: rendered at 1080p in the hero profile
    # transition_out:        # into the next shot
    #   kind: cut            # cut | dissolve (the last shot of a scene ends on a cut)
    #   duration: 0          # a dissolve: above 0, at most 2 seconds, shorter than both shots
    # panel_override: overrides/scene-01-1A.png   # a human composite used as the panel
    # seed: 0                # another seed draws other takes
    # dialogue:              # the lines spoken in the shot, each checked against its voice's pace
    #   - speaker: lead      # a character of the shot (on camera), one off screen, or narrator
    #     text: Is anyone there?
    #     at: 0.5            # seconds into the shot (default: 0.3 s after the previous line)
    #     delivery: [quiet]  # physical words only: whispered, quiet, raised, shouted, flat, fast, slow, ...
    # continuity:            # what the shot shows of the scene's continuity, what its action changes
    #   props: {mug: {at: table}}              # checked against the state the shots before left
    #   blocking: {lead: {side: left, facing: right}}
    #   changes: {mug: {state: empty}, light: {temperature: cool}}   # a prop, a character or light
    #   crosses_line: false  # true: the camera moves across the line of action in this shot
# continuity:                # the world as the scene opens (docs/continuity.md); each shot carries it on
#   props: {mug: {state: full, at: counter, side: right, colour: '#c0392b', present: true}}
#   blocking: {lead: {side: left, facing: right}}   # side: left | centre | right;
#                            # facing: left | right | camera | away
#   line: [lead, friend]     # the conversation's line of action (the 180° rule): two characters
#   light: {time: night, key: left, temperature: warm}   # time: day | night | dawn | dusk;
#                            # key: left | right | front | back | top; temperature: warm | cool | neutral
# finishing:                 # the scene's edit (README "Finishing"); changing it never pays a provider
#   fade_in: 1.0             # from black, seconds; fade_out: to black
#   lut: grade/scene.cube    # this scene's grade, over the film's
#   shots:                   # per shot id: trims in seconds, exposure in stops, a dip to a colour
#     1A: {trim_in: 0, trim_out: 0, exposure: 0, saturation: 1, dip_out: {colour: '#000000', duration: 1}}
#   cues:                    # WAV, FLAC, MP3 or AAC; kind: music | dialogue | effects | ambience
#     - {file: audio/theme.wav, kind: music, shot: 1A, at: 0, offset: 0, gain_db: -3, fade_in: 2, fade_out: 2, duck: true}
#   music:                   # cues made to a brief, timed to the cut (docs/music.md)
#     - {name: sting, tempo: 96, key: D, mode: minor, instruments: [felt piano], from_shot: 1A, to_shot: 1C,
#        intensity: {1B: full}, hits: [{cut: 1B}, {shot: 1C, at: 1.2}], gain_db: -6, model: local:local-composer-v1}
"""


def write_empty_film(dest: Path) -> Path:
    """A film project skeleton: manifests to fill in; `slate check` names the references to add."""
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ValueError(f"refusing to write a film project into {str(dest)!r}: it exists and is not empty")
    (dest / "scenes").mkdir(parents=True, exist_ok=True)
    (dest / "slate.toml").write_text(EMPTY_TOML, encoding="utf-8")
    film_id = re.sub(r"[^a-z0-9_-]+", "-", dest.name.lower()).strip("-")[:40]
    (dest / "film.yaml").write_text(EMPTY_FILM.format(film_id=film_id if film_id[:1].isalpha() else "film"),
                                    encoding="utf-8")
    (dest / "bible.yaml").write_text(EMPTY_BIBLE, encoding="utf-8")
    (dest / "scenes" / "scene-01.yaml").write_text(EMPTY_SCENE, encoding="utf-8")
    return dest

_BIBLE: dict[str, Any] = {
    "characters": [
        {
            "id": "gabe",
            "name": "Gabe",
            "description": (
                "Gabe, a long-haul trucker in his forties.\n"
                "Very tall and broad-shouldered, heavy build.\n"
                "Bright red hair cut in a flat-top; ruddy, freckled fair skin; clean-shaven square jaw.\n"
                "Green plaid flannel shirt, dark blue denim jeans, black work boots.\n"
            ),
            "voice": {"description": "a man in his forties; low, a little rough, slow", "provider": "local",
                      "voice": "male_low", "pace_wpm": 150},
        },
        {
            "id": "jenny",
            "name": "Jenny",
            "description": (
                "Jenny, the night-shift waitress, late twenties.\n"
                "Medium height, slim.\n"
                "Platinum-blonde chin-length bob with a straight fringe; very fair skin; small nose.\n"
                "Pale blue waitress uniform, white tights, black flat shoes.\n"
            ),
            # Voices are the local eSpeak voices (providers/local_speech.py): offline and free. Their
            # approved samples are spoken when `slate init --example` writes the film (tasks/workshop/audition.py).
            "voice": {"description": "a woman in her late twenties; high, bright, quick and even", "provider": "local",
                      "voice": "female_high", "pace_wpm": 170},
        },
        {
            "id": "leo",
            "name": "Leo",
            "description": (
                "Leo, the diner's cook, sixties.\n"
                "Short and stocky, thick arms.\n"
                "Close-cropped white hair; deep brown skin; round face with a calm expression.\n"
                "Mustard-yellow short-order cook's shirt, brown trousers, black shoes.\n"
            ),
        },
        {
            "id": "mia",
            "name": "Mia",
            "description": (
                "Mia, a student, about twenty.\n"
                "Small and slight, the shortest of the cast.\n"
                "Long straight jet-black hair falling past the shoulders; warm tan skin; dark eyes.\n"
                "Purple hoodie, grey jeans, black sneakers.\n"
            ),
        },
        {
            "id": "nina",
            "name": "Nina",
            "description": (
                "Nina, a stranger passing through, thirties.\n"
                "Tall and thin, long neck.\n"
                "Teal-dyed hair in a high round bun; very pale skin; sharp cheekbones.\n"
                "Orange zip jacket, black skinny jeans, black ankle boots.\n"
            ),
        },
    ],
    "locations": [
        {
            "id": "diner",
            "name": "The all-night diner",
            "description": (
                "Interior of a 1950s-style all-night diner.\n"
                "Dark maroon striped walls above a chrome rail; black-and-white checkerboard floor.\n"
                "Long steel-blue counter with chrome trim and red stools; dark green booths on the right.\n"
                "Two large windows onto the dark street; warm pendant lamps hanging from the ceiling.\n"
            ),
        },
        {
            "id": "street",
            "name": "The street outside",
            "description": (
                "A city street at night in front of the diner.\n"
                "Dark navy sky over a row of brick and concrete buildings with scattered lit windows.\n"
                "Grey paved sidewalk, wet dark asphalt road with a dashed yellow centre line.\n"
                "Tall black lamp posts with warm lamps.\n"
            ),
        },
    ],
}

_FILM: dict[str, Any] = {
    "id": EXAMPLE_FILM_ID,
    "title": "Night Diner",
    "fps": 24,
    "bible": "bible.yaml",
    "scenes": ["scenes/scene-01.yaml"],
    # The edit's film-wide part (issue 23): the grade and what each profile delivers.
    "finishing": {"lut": "grade/night-diner.cube",
                  "delivery": {"draft": {"loudness": "web"}, "final": {"loudness": "web", "poster": True},
                               "hero": {"loudness": "broadcast", "mezzanine": "prores_proxy", "poster": True,
                                        "stems": True}}},
}


def _shot(sid: str, characters: list[str], action: str, duration: float, **rest: Any) -> dict[str, Any]:
    shot: dict[str, Any] = {"id": sid, "characters": characters}
    shot.update({k: v for k, v in rest.items() if k in ("location", "props", "camera")})
    shot["action"] = action
    shot["duration"] = duration
    shot.update({k: v for k, v in rest.items() if k not in ("location", "props", "camera")})
    return shot


_SCENE: dict[str, Any] = {
    "id": "scene-01",
    "title": "Last coffee",
    "location": "diner",
    "wardrobe": {
        "gabe": {"description": "Navy waxed work coat over the flannel, collar turned up.", "colour": "#1f3a5f"},
        "jenny": {"description": "Cherry-red diner uniform with a white apron.", "colour": "#b3202a"},
    },
    # The scene's continuity ledger (docs/continuity.md): the mug is poured full in 1C, slid to
    # Jenny in 1D and lifted in 1E; Gabe and Jenny talk across the counter (their line of action);
    # the diner's warm key light from frame left holds throughout.
    "continuity": {
        "props": {"mug": {"state": "empty", "at": "counter", "side": "left"},
                  "coffee pot": {"state": "full", "at": "counter"}},
        "blocking": {"gabe": {"side": "left", "facing": "right"}, "jenny": {"side": "right", "facing": "left"}},
        "line": ["gabe", "jenny"],
        "light": {"time": "night", "key": "left", "temperature": "warm"},
    },
    "shots": [
        _shot("1A", ["nina"], "Nina walks along the wet sidewalk toward the diner's lit window.", 2.5,
              location="street", camera={"framing": "wide", "angle": "low", "movement": "static", "fixed": True}),
        _shot("1B", ["nina"], "Nina stops at the diner door and reaches for the handle.", 3.0,
              location="street", camera={"framing": "medium", "movement": "dolly_in"},
              frame_mode="start_end", end_action="Nina's hand pulls the door half open; warm light spills out.",
              transition_out={"kind": "dissolve", "duration": 0.75}),
        _shot("1C", ["gabe", "jenny"], "Jenny pours coffee into Gabe's mug at the counter.", 3.5,
              props=["coffee pot", "mug"], camera={"framing": "wide", "angle": "high", "movement": "pan_right"},
              dialogue=[{"speaker": "jenny", "text": "Fresh pot. Careful, it's hot.", "at": 0.5}],
              continuity={"changes": {"mug": {"state": "full"}}}),
        _shot("1D", ["gabe", "jenny"], "Gabe slides the full mug back across the counter toward Jenny.", 2.5,
              props=["mug"], camera={"framing": "medium"},
              dialogue=[{"speaker": "gabe", "text": "Too hot. Take it back.", "delivery": ["low"]}],
              continuity={"changes": {"mug": {"side": "right"}}}),
        _shot("1E", ["gabe", "jenny"], "Jenny catches the mug and lifts it off the counter.", 3.0,
              props=["mug"], camera={"framing": "close", "movement": "dolly_in"},
              frame_mode="start_end", end_action="Jenny holds the mug at chest height, steam rising.", chain=True,
              continuity={"changes": {"mug": {"at": "in Jenny's hands"}}}),
        _shot("1F", ["jenny"], "Jenny turns her head toward the door as the bell above it rings.", 2.0,
              props=["mug"], camera={"framing": "close", "angle": "low"}, chain=True, critical=True,
              dialogue=[{"speaker": "jenny", "text": "Be right with you.", "at": 0.4}]),
        _shot("1G", ["nina", "mia"], "Nina sits down in the booth opposite Mia, who slides a menu across the table.", 3.0,
              props=["menu"], camera={"framing": "medium", "movement": "pan_left"}),
        _shot("1H", ["leo", "jenny"], "Leo sets a plate on the kitchen pass and taps the order bell.", 3.0,
              props=["plate", "order bell"], camera={"framing": "medium", "angle": "high", "movement": "tilt_down"},
              frame_mode="start_end", end_action="Jenny lifts the plate from the pass and turns away."),
        _shot("1I", ["gabe", "mia", "nina"], "Gabe turns on his stool to watch the booth as Mia laughs.", 3.5,
              camera={"framing": "wide", "movement": "dolly_out"}),
    ],
    # The scene's edit: a fade from and to black, the diner's music under everything (ducked
    # when Mia speaks), her line at the booth (shot 1G) — both sounds made by write_example_film —
    # and a cue of score made to a brief (docs/music.md) over the mug's moment, 1D to 1F, its hit
    # on the cut into 1E: made by the local composer at $0, re-made only if an edit moves the cut.
    "finishing": {
        "fade_in": 1.0,
        "fade_out": 1.5,
        "music": [{"name": "the-mug", "tempo": 100, "key": "D", "mode": "minor",
                   "instruments": ["brushed drums", "upright bass", "felt piano"],
                   "from_shot": "1D", "to_shot": "1F", "intensity": {"1E": "full"}, "hits": [{"cut": "1E"}],
                   "gain_db": -6.0, "fade_in": 0.5, "fade_out": 1.0}],
        "cues": [
            {"file": "audio/diner-theme.wav", "kind": "music", "gain_db": -3.0, "fade_in": 2.0, "fade_out": 3.0},
            # 0.4 s into 1G (which starts at 15.75 s). Placed by time, not `shot: 1G`, so a copy of
            # the scene cut down to a few shots still reads (a cue past its end is not heard).
            {"file": "audio/mia-line.wav", "kind": "dialogue", "at": 16.15},
        ],
    },
}


def example_documents() -> dict[str, dict[str, Any]]:
    """The example's manifests as plain data, keyed by their file key (fresh copies)."""
    return copy.deepcopy({"film.yaml": _FILM, "bible.yaml": _BIBLE, "scenes/scene-01.yaml": _SCENE})


# --- plates ----------------------------------------------------------------------------------


def _diner(d: ImageDraw.ImageDraw, rng: np.random.Generator) -> None:
    w, h = PLATE_SIZE
    # Striped wall: mid-frequency detail so SSIM has structure to compare.
    for x in range(0, w, 16):
        d.rectangle([x, 0, x + 15, 379], fill=(118, 34, 46) if (x // 16) % 2 == 0 else (98, 26, 38))
    d.rectangle([0, 0, w - 1, 22], fill=(60, 20, 26))  # ceiling strip
    # Windows onto the night street, with a few distant lit squares.
    for x0 in (120, 560):
        d.rectangle([x0, 70, x0 + 340, 300], fill=(176, 180, 186))
        d.rectangle([x0 + 10, 80, x0 + 330, 290], fill=(18, 26, 56))
        d.rectangle([x0 + 166, 80, x0 + 174, 290], fill=(176, 180, 186))
        for _ in range(14):
            px = int(rng.integers(x0 + 16, x0 + 320))
            py = int(rng.integers(150, 280))
            d.rectangle([px, py, px + 6, py + 8], fill=(230, 200, 120))
    d.rectangle([0, 380, w - 1, 399], fill=(190, 194, 200))  # chrome rail
    d.rectangle([0, 400, w - 1, 559], fill=(84, 30, 40))
    # Counter: chrome top, steel-blue body with chrome strips.
    d.rectangle([0, 420, 900, 444], fill=(200, 204, 210))
    d.rectangle([0, 445, 900, 559], fill=(52, 82, 118))
    for x in range(20, 900, 60):
        d.rectangle([x, 445, x + 5, 559], fill=(170, 176, 184))
    # Stools.
    for x in range(60, 880, 130):
        d.rectangle([x + 28, 590, x + 36, 650], fill=(150, 154, 160))
        d.ellipse([x, 560, x + 64, 596], fill=(160, 26, 38))
    # Booths on the right.
    for x0 in (940, 1110):
        d.rectangle([x0, 330, x0 + 140, 600], fill=(28, 86, 64))
        d.rectangle([x0 + 12, 344, x0 + 128, 470], fill=(36, 104, 78))
    d.rectangle([1000, 470, 1200, 486], fill=(200, 204, 210))  # table top
    # Checkerboard floor.
    for y in range(560, h, 40):
        for x in range(0, w, 40):
            if (x // 40 + y // 40) % 2 == 0:
                d.rectangle([x, y, x + 39, min(y + 39, h - 1)], fill=(214, 214, 208))
            else:
                d.rectangle([x, y, x + 39, min(y + 39, h - 1)], fill=(28, 28, 30))
    # Re-draw stools over the floor, then pendant lamps.
    for x in range(60, 880, 130):
        d.rectangle([x + 28, 596, x + 36, 680], fill=(150, 154, 160))
        d.ellipse([x, 560, x + 64, 596], fill=(160, 26, 38))
    for x in (200, 520, 840, 1120):
        d.line([x, 22, x, 110], fill=(40, 40, 44), width=3)
        d.polygon([(x - 34, 150), (x + 34, 150), (x + 14, 110), (x - 14, 110)], fill=(236, 196, 92))
        d.ellipse([x - 10, 146, x + 10, 160], fill=(255, 244, 200))


def _street(d: ImageDraw.ImageDraw, rng: np.random.Generator) -> None:
    w, h = PLATE_SIZE
    for y in range(0, 470, 10):  # banded night sky, dark at the top
        t = y / 470
        d.rectangle([0, y, w - 1, y + 9], fill=(int(8 + 22 * t), int(10 + 20 * t), int(30 + 42 * t)))
    for _ in range(60):
        sx, sy = int(rng.integers(0, w)), int(rng.integers(0, 200))
        d.rectangle([sx, sy, sx + 1, sy + 1], fill=(220, 220, 230))
    # Buildings with a grid of windows, some lit.
    x = 0
    palette = [(58, 50, 60), (74, 56, 48), (46, 50, 58), (66, 62, 66)]
    i = 0
    while x < w:
        bw = int(rng.integers(140, 260))
        top = int(rng.integers(110, 260))
        d.rectangle([x, top, x + bw - 4, 469], fill=palette[i % len(palette)])
        for wy in range(top + 20, 440, 36):
            for wx in range(x + 14, x + bw - 30, 30):
                lit = rng.random() < 0.35
                d.rectangle([wx, wy, wx + 14, wy + 20], fill=(250, 206, 110) if lit else (26, 28, 40))
        x += bw
        i += 1
    # The diner's front: a wide warm window and a red sign.
    d.rectangle([720, 300, 1100, 469], fill=(40, 40, 46))
    d.rectangle([740, 340, 1080, 450], fill=(220, 150, 80))
    for mx in range(740, 1080, 68):
        d.rectangle([mx, 340, mx + 4, 450], fill=(40, 40, 46))
    d.rectangle([780, 304, 1040, 330], fill=(200, 30, 44))
    # Sidewalk slabs, road with a dashed centre line.
    d.rectangle([0, 470, w - 1, 539], fill=(92, 92, 98))
    for sx in range(0, w, 64):
        d.line([sx, 470, sx, 539], fill=(70, 70, 76), width=2)
    d.rectangle([0, 540, w - 1, 547], fill=(130, 130, 136))  # kerb
    d.rectangle([0, 548, w - 1, h - 1], fill=(44, 44, 50))
    # Wet asphalt: scattered streaks, plus a crossing, so the road is not one flat field.
    for _ in range(160):
        rx, ry = int(rng.integers(0, w)), int(rng.integers(556, h - 4))
        d.rectangle([rx, ry, rx + int(rng.integers(20, 90)), ry + 2], fill=(58, 58, 66))
    for cx in range(150, 470, 40):
        d.polygon([(cx, 556), (cx + 22, 556), (cx + 2, h - 1), (cx - 20, h - 1)], fill=(150, 150, 156))
    for lx in range(520, w, 120):
        d.rectangle([lx, 628, lx + 60, 636], fill=(200, 170, 44))
    # Lamp posts with warm heads.
    for px in (90, 560, 1200):
        d.rectangle([px, 200, px + 8, 540], fill=(24, 24, 28))
        d.rectangle([px - 20, 190, px + 28, 200], fill=(24, 24, 28))
        d.ellipse([px - 22, 196, px + 30, 220], fill=(255, 226, 150))


_PLATES = {"diner": _diner, "street": _street}


def draw_plate(location_id: str) -> Image.Image:
    """The example's approved plate for ``location_id`` as an RGB image (PLATE_SIZE)."""
    try:
        painter = _PLATES[location_id]
    except KeyError:
        raise ValueError(f"no example plate for location {location_id!r} (have: {', '.join(sorted(_PLATES))})") from None
    img = Image.new("RGB", PLATE_SIZE, (0, 0, 0))
    # One generator per plate, seeded from the id, so adding a plate never changes another.
    rng = np.random.default_rng([_SEED, sum(location_id.encode())])
    painter(ImageDraw.Draw(img), rng)
    return img


# --- sound and grade (issue 23) --------------------------------------------------------------
# Made here, offline and byte for byte the same every time (numpy's seeded generator, the
# standard library's wave writer): nothing is downloaded and nothing generated is committed.

AUDIO_RATE = 24000
_CUBE_SIZE = 17


def _wav(path: Path, samples: np.ndarray) -> None:
    import wave
    path.parent.mkdir(parents=True, exist_ok=True)
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(AUDIO_RATE)
        w.writeframes(pcm.tobytes())


def diner_theme(seconds: float = 28.0) -> np.ndarray:
    """A slow A-minor pad (A3, C4, E4 and a soft fifth below) breathing every four seconds."""
    t = np.arange(int(seconds * AUDIO_RATE)) / AUDIO_RATE
    chord = sum(a * np.sin(2 * np.pi * f * t) for f, a in ((220.0, 0.5), (261.63, 0.35), (329.63, 0.3), (146.83, 0.2)))
    swell = 0.6 + 0.4 * np.sin(2 * np.pi * t / 4.0) ** 2
    return 0.3 * chord * swell


def mia_line(seconds: float = 2.4) -> np.ndarray:
    """A line of 'speech': a voiced buzz (130 Hz and its harmonics) shaped into syllables, with breath."""
    rng = np.random.default_rng([_SEED, 7])
    t = np.arange(int(seconds * AUDIO_RATE)) / AUDIO_RATE
    voice = sum(np.sin(2 * np.pi * 130.0 * k * t) / k for k in range(1, 8))
    breath = np.convolve(rng.standard_normal(t.size), np.ones(12) / 12, mode="same")
    syllables = np.clip(np.sin(2 * np.pi * 4.2 * t), 0, None) ** 0.7 * np.minimum(1.0, (seconds - t) * 4)
    return 0.35 * (voice / 2.2 + 0.3 * breath) * syllables


def night_grade() -> str:
    """The film's .cube LUT: a night look — shadows cooled toward teal, highlights warmed, a touch of contrast."""
    n = _CUBE_SIZE - 1
    lines = ['TITLE "night-diner"', f"LUT_3D_SIZE {_CUBE_SIZE}"]
    for b in range(_CUBE_SIZE):
        for g in range(_CUBE_SIZE):
            for r in range(_CUBE_SIZE):
                rgb = np.array([r, g, b]) / n
                luma = float(rgb @ [0.2126, 0.7152, 0.0722])
                curve = rgb + 0.08 * np.sin(2 * np.pi * (rgb - 0.5)) * -0.5   # gentle S
                tint = np.array([0.03, 0.0, -0.02]) * luma + np.array([-0.02, 0.01, 0.03]) * (1 - luma)
                out = np.clip(curve + tint, 0.0, 1.0)
                lines.append(" ".join(f"{v:.6f}" for v in out))
    return "\n".join(lines) + "\n"


def write_example_media(dest: Path) -> None:
    """The example's cues and LUT, where its manifests name them."""
    _wav(dest / "audio" / "diner-theme.wav", diner_theme())
    _wav(dest / "audio" / "mia-line.wav", mia_line())
    (dest / "grade").mkdir(parents=True, exist_ok=True)
    (dest / "grade" / "night-diner.cube").write_text(night_grade(), encoding="utf-8")


# --- writing -------------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """Writes multi-line description blocks as literal ``|`` blocks, readable by hand."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def _dump_yaml(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110)


def _save_png(img: Image.Image, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # No pnginfo and fixed compression: Pillow then writes no timestamp or text chunks.
    img.save(path, format="PNG", compress_level=6, optimize=False)


def write_example_film(dest: Path) -> Path:
    """Write the example film project into ``dest`` (created; must be absent or empty)."""
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ValueError(f"refusing to write the example film into {str(dest)!r}: it exists and is not empty")
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "slate.toml").write_text(SLATE_TOML, encoding="utf-8")
    for key, doc in example_documents().items():
        path = dest / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_dump_yaml(doc), encoding="utf-8")
    for cid, spec in EXAMPLE_CAST.items():
        _save_png(draw_turnaround(spec), dest / canonical_turnaround_key(cid))
    for lid in _PLATES:
        _save_png(draw_plate(lid), dest / canonical_plate_key(lid))
    write_example_media(dest)
    write_example_workflows(dest)   # its panel and clip for a ComfyUI of its own (issue 41)
    return dest
