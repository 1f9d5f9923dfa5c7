"""The contact sheet: panels and keyframes with verdict badges, the failing scores under the
thumbnail, and each shot's drift and continuity figures.

The entries (plain data, made by flows/reports.py) and the drawing (media/contact.py) are
tested apart, then a real scene run's sheet is read back from its PNG."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import yaml
from PIL import Image

from slate.flows.reports import contact_entries
from slate.flows.shot import ClipOutcome, PanelOutcome, Take
from slate.media.contact import (BACKGROUND, MAX_LINES, VERDICT_COLOURS, ContactEntry, badge_box, contact_sheet,
                                 sheet_size)
from slate.tasks.verdicts import DriftReading, GateVerdict

LOCATION_FAILS = {"name": "location", "value": 0.12, "threshold": 0.35, "role": "block", "passed": False,
                  "reason": "12% of the frame matches plate 'diner'"}
IDENTITY_OK = {"name": "identity", "value": 0.9, "threshold": 0.35, "role": "block", "passed": True,
               "reason": "gabe: 90% of the expected face and hair on screen"}
PROPS_WARN = {"name": "props", "value": 0.40, "threshold": 0.50, "role": "warn", "passed": False,
              "reason": "the mug is hard to make out"}


def _take(stage, take, quality, scores, uri, **extra):
    verdict = GateVerdict(passed=all(s["passed"] for s in scores if s["role"] == "block"), quality=quality,
                          scores=scores)
    return Take.judged(stage, "start" if stage == "panel" else "clip", take, uri, verdict, **extra)


def test_entries_carry_the_verdicts_the_best_takes_scores_drift_and_continuity():
    # 1D: two panel takes, both off the plate; the first scored better, so it is the one shown.
    escalated = PanelOutcome(shot="1D", escalated="start panel no progress in 2 takes", takes=[
        _take("panel", 1, -0.10, [dict(LOCATION_FAILS, value=0.25), IDENTITY_OK], "cas://p1"),
        _take("panel", 2, -0.30, [LOCATION_FAILS, IDENTITY_OK], "cas://p2")])
    # 1E: its panel passed with a warning; its clip passed, was drift-checked past the threshold.
    panel = PanelOutcome(shot="1E", approved={"start": "cas://p3"},
                         takes=[_take("panel", 1, 0.4, [IDENTITY_OK, PROPS_WARN], "cas://p3")])
    frames = {"first": "cas://f", "middle": "cas://m", "last": "cas://l"}
    clip = ClipOutcome(shot="1E", clip_uri="cas://c", started_from="previous last frame", continuity=0.71,
                       reanchor=True, takes=[_take("video", 1, 0.2, [IDENTITY_OK], "cas://c", keyframes=frames)],
                       drift=DriftReading(shot="1E", drift=0.42, threshold=0.3, ssim=0.58, sharpness=1.0,
                                          colour_distance=0.11, hue_shift=0.0, cast=0.0, chroma=0.0,
                                          colour_to_plate=0.2, reanchor=True))
    opened = []
    entries = contact_entries([SimpleNamespace(shot="1D"), SimpleNamespace(shot="1E")],
                              {"1D": escalated, "1E": panel}, {"1D": ClipOutcome(shot="1D", escalated="not animated"),
                                                               "1E": clip},
                              lambda uri: opened.append(uri) or Path("/nowhere") / uri[6:])
    assert [e.verdict for e in entries] == ["escalated", "missing", "missing", "missing",
                                            "warn", "re-anchored", "re-anchored", "re-anchored"]
    first_panel = entries[0]
    assert "take 1" in first_panel.label and first_panel.image == Path("/nowhere/p1")  # the best take, not the last
    assert first_panel.lines == ("location 0.25 < 0.35: 12% of the frame matches plate 'diner'",)
    assert entries[1].detail == "not animated" and entries[1].image is None
    assert entries[4].lines[0] == "props 0.40 < 0.50: the mug is hard to make out"
    assert [e.image for e in entries[5:]] == [Path("/nowhere/f"), Path("/nowhere/m"), Path("/nowhere/l")]
    assert entries[5].lines[0] == "from previous last frame"
    assert "continuity 0.71" in entries[6].lines
    assert entries[7].lines[:2] == ("drift 0.42 / 0.30 -> next shot re-anchors", "SSIM 0.58, colour 0.11, plate 0.20")
    assert set(opened) == {"cas://p1", "cas://p3", "cas://f", "cas://m", "cas://l"}


def test_each_verdict_draws_its_own_badge_and_notes_under_it(tmp_path):
    img = tmp_path / "t.png"
    Image.fromarray(np.full((90, 160, 3), 120, np.uint8)).save(img)
    verdicts = ["pass", "warn", "escalated", "re-anchored", "missing"]
    entries = [ContactEntry(f"1{chr(65 + i)}", img, v, lines=("location 0.12 < 0.35",) if v == "escalated" else ())
               for i, v in enumerate(verdicts)]
    out = contact_sheet(entries, tmp_path / "sheet.png", columns=4, thumb_width=160)
    px = Image.open(out).convert("RGB")
    assert px.size == sheet_size(5, columns=4, thumb_width=160, lines=1)
    seen = []
    for i, verdict in enumerate(verdicts):
        left, top, right, bottom = badge_box(i, columns=4, thumb_width=160, lines=1)
        seen.append(px.getpixel((left + 2, top + 2)))
        assert seen[-1] == VERDICT_COLOURS[verdict], (verdict, seen[-1])
        notes = np.asarray(px.crop((left, bottom + 1, right, bottom + 13)))
        written = (np.abs(notes.astype(int) - BACKGROUND).sum(axis=2) > 60).sum()
        assert (written > 20) == (verdict == "escalated"), (verdict, written)
    assert len(set(seen)) == len(verdicts)


