"""The sync gate (media/lipsync) on the local lip-sync model's takes (providers/local_lipsync), issue 38.

A small seeded sample of benchmarks/lipsync.py's corpus, at 426x240 so the file takes seconds:
clean takes pass in sync, each fault kind fails (a shifted mouth named with its offset), and a
clip the gate cannot read — nobody's face, the speaker absent, a face too small — is
"cannot judge", never a pass. Every clip is made here (no media in git).
"""
from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from slate.manifests.turnaround import EXAMPLE_CAST, HEAD_BAND, draw_turnaround
from slate.media.lipsync import CONFIDENCE_FLOOR, judge_sync
from slate.media.render import render_clip
from slate.providers.base import FaceCue
from slate.providers.local_bible import draw_plate
from slate.providers.local_draw import add_grain, frame_plate, paste_figure, place_figures, view_cell
from slate.providers.local_lipsync import fault_shift, lipsync_clip
from slate.providers.local_speech import LOCAL_VOICES, Speech, speak, write_wav
from slate.tasks.gates.keyframes import ClipCast, cast_of

W, H, FPS, SECONDS = 426, 240, 24, 2.5
PLATE = "Interior of an all-night diner. Red stools, a chrome counter, a black and white chequered floor."


def _take(root: Path, name: str, ids: list[str], speaker: str, *, framing: str = "close", move: str = "static",
          line: str = "Careful, the pot is hot.", voice: str = "female_high", at: float = 0.4,
          seed: int = 1) -> dict:
    """A panel drawn by the painter's rules (everyone facing us), its clip, the line's WAV and the cue."""
    sheets = {}
    for cid in EXAMPLE_CAST:
        sheets[cid] = root / f"{cid}.png"
        if not sheets[cid].exists():
            draw_turnaround(EXAMPLE_CAST[cid]).save(sheets[cid])
    plate = root / "plate.png"
    if not plate.exists():
        draw_plate(PLATE).save(plate)
    figs = {c: view_cell(Image.open(sheets[c]), "front") for c in ids}
    sizes = {(c, v): figs[c].size for c in ids for v in ("front", "three_quarter", "side")}
    canvas = frame_plate(Image.open(plate), framing, "eye", W, H)
    cue_at = (0.5, 0.3)
    for p in place_figures(ids, sizes, framing=framing, width=W, height=H, seed=seed, moment="start"):
        p = type(p)(p.character_id, "front", p.scale, p.x, p.y)
        paste_figure(canvas, figs[p.character_id], p)
        if p.character_id == speaker:
            fw, fh = figs[speaker].width * p.scale, figs[speaker].height * p.scale
            cue_at = ((p.x + fw / 2) / W, (p.y + fh * sum(HEAD_BAND) / 2) / H)
    panel = root / f"panel-{name}.png"
    add_grain(canvas, seed).save(panel)
    clip = root / f"clip-{name}.mp4"
    render_clip(panel, clip, width=W, height=H, fps=FPS, seconds=SECONDS, movement=move)
    spoken = speak(line, LOCAL_VOICES[voice])
    pcm = np.zeros(int(SECONDS * spoken.rate), np.int16)
    a = int(at * spoken.rate)
    part = spoken.samples[:len(pcm) - a]
    pcm[a:a + len(part)] = part
    wav = write_wav(Speech(pcm, spoken.rate), root / f"speech-{name}.wav")
    span = (at, at + len(part) / spoken.rate)
    return {"clip": clip, "wav": wav, "panel": panel, "span": span, "speaker": speaker,
            "cast": ClipCast(tuple(ids), sheets, {}, plate),
            "cue": FaceCue(speaker, cue_at[0], cue_at[1], span[0], span[1])}


def _judged(t: dict, root: Path, fault: str | None = None, seed: int = 3, speaker: str | None = None):
    out = lipsync_clip(t["clip"], t["wav"], root / f"{t['clip'].stem}-{fault}-{seed}.synced.mp4",
                       faces=(t["cue"],), fault=fault, seed=seed)
    return judge_sync(out, t["wav"], speaker=speaker or t["speaker"], span=t["span"], cast=partial(cast_of, t["cast"]), named=t["cast"].named,
                      start=t["panel"])


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("lipsync")


@pytest.fixture(scope="module")
def jenny(root) -> dict:
    return _take(root, "jenny", ["jenny"], "jenny")


@pytest.fixture(scope="module")
def gabe(root) -> dict:
    return _take(root, "gabe", ["gabe", "jenny"], "gabe", move="dolly_in", line="Too hot. Take it back.",
                 voice="male_low", at=0.3, seed=2)


@pytest.fixture(scope="module")
def leo(root) -> dict:
    return _take(root, "leo", ["leo"], "leo", move="pan_left", line="Two eggs, and whatever coffee you have left.",
                 voice="narrator", at=0.5, seed=4)


@pytest.mark.parametrize("who", ["jenny", "gabe", "leo"])
def test_a_clean_take_passes_in_sync(request, root, who):
    r = _judged(request.getfixturevalue(who), root)
    assert r.verdict == "passed", r.reason
    assert r.offset_ms is not None and abs(r.offset_ms) <= 40, r.reason
    assert r.confidence >= CONFIDENCE_FLOOR and r.found >= 0.9
    score = r.as_score()
    assert score["name"] == "lip_sync" and score["passed"] and score["value"] >= score["threshold"]


@pytest.mark.parametrize("seed", [3, 8])
def test_a_shifted_mouth_fails_naming_its_offset(root, jenny, seed):
    truth = fault_shift(seed) * 1000.0
    r = _judged(jenny, root, "lip_offset", seed)
    assert r.verdict == "failed", r.reason
    assert r.offset_ms is not None and abs(r.offset_ms - truth) <= 40, (truth, r.reason)
    assert f"by {abs(r.offset_ms):.0f} ms" in r.reason and ("lags" if truth > 0 else "leads") in r.reason
    assert r.reason.startswith("jenny's mouth") and "0.40–" in r.reason
    score = r.as_score()
    assert not score["passed"] and score["value"] < score["threshold"]


def test_a_still_mouth_fails(root, gabe):
    r = _judged(gabe, root, "lip_still")
    assert r.verdict == "failed" and "does not move" in r.reason, r.reason


def test_a_mouth_speaking_another_line_fails(root, jenny):
    r = _judged(jenny, root, "lip_other_line")
    assert r.verdict == "failed" and "does not follow" in r.reason, r.reason


def test_no_face_cannot_be_judged(root, jenny):
    # The plate alone: nobody's mouth to read (the cast still names jenny).
    empty = _take(root, "empty", [], "jenny")
    empty["cast"] = jenny["cast"]
    r = _judged(empty, root)
    assert r.verdict == "cannot_judge" and "not found" in r.reason, r.reason
    assert not r.as_score()["passed"]


def test_an_absent_speaker_cannot_be_judged(root, jenny):
    # Gabe is named and speaks, but only jenny stands in the clip: her mouth is not his.
    t = {**jenny, "cast": ClipCast(("gabe", "jenny"), jenny["cast"].turnarounds, {}, jenny["cast"].plate)}
    r = _judged(t, root, speaker="gabe")
    assert r.verdict == "cannot_judge" and r.reason.startswith("cannot judge gabe's"), r.reason


def test_a_face_too_small_cannot_be_judged(root):
    t = _take(root, "wide", ["jenny"], "jenny", framing="wide")
    r = _judged(t, root)
    assert r.verdict == "cannot_judge" and "px tall" in r.reason, r.reason
