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


def _lines_of(sheet: Image.Image, n: int, columns: int) -> int:
    """How many note lines the sheet left per cell: the one layout whose size is the PNG's."""
    layouts = [k for k in range(MAX_LINES + 1) if sheet_size(n, columns=columns, lines=k) == sheet.size]
    assert len(layouts) == 1, f"a {sheet.size} sheet is not {n} entries in {columns} columns"
    return layouts[0]


@pytest.mark.e2e
def test_a_scene_runs_sheet_shows_the_escalated_shot_and_the_drift_check(example_film, prefect_harness, local_calls):
    """1D's composite is the street plate (its panel gate fails: escalated); 1E, chained, is
    drift-checked with a zero threshold (re-anchored). The sheet is read back from the PNG."""
    from slate.flows.scene import scene_flow
    from slate.flows.scene_result import scene_result
    path = example_film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["shots"] = [s for s in doc["shots"] if s["id"] in ("1D", "1E")]
    (example_film / "overrides").mkdir()
    (example_film / "overrides" / "1D.png").write_bytes(
        (example_film / "locations" / "street" / "street_plate_APPROVED.png").read_bytes())
    doc["shots"][0]["panel_override"] = "overrides/1D.png"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    (example_film / "slate.toml").write_text("drift_every = 2\ndrift_threshold = 0.0\n")

    state = scene_flow(project=str(example_film), max_takes=2, return_state=True)
    result = scene_result(state)
    shots = {s.shot: s for s in result.shots}
    assert state.name == "Escalated" and shots["1D"].status == "escalated" and shots["1E"].reanchored
    best = shots["1D"].best_take
    assert best["stage"] == "panel" and any(s["name"] == "location" and not s["passed"] for s in best["scores"])

    sheet = Image.open(result.contact_sheet).convert("RGB")
    lines = _lines_of(sheet, 8, 4)
    assert lines >= 3  # the drift figures need three lines
    colour = lambda i: sheet.getpixel(tuple(badge_box(i, columns=4, lines=lines)[:2]))  # noqa: E731
    assert colour(0) == VERDICT_COLOURS["escalated"]
    assert [colour(i) for i in (1, 2, 3)] == [VERDICT_COLOURS["missing"]] * 3
    assert colour(4) in (VERDICT_COLOURS["pass"], VERDICT_COLOURS["warn"])
    assert [colour(i) for i in (5, 6, 7)] == [VERDICT_COLOURS["re-anchored"]] * 3
    # The escalated panel's failing score and the drift figures are written under their badges.
    for i in (0, 7):
        left, top, right, bottom = badge_box(i, columns=4, lines=lines)
        notes = np.asarray(sheet.crop((left, bottom + 1, right, bottom + 1 + 12 * lines)))
        assert (np.abs(notes.astype(int) - BACKGROUND).sum(axis=2) > 60).sum() > 50, i
    # The keyframes drawn are the clip's own: the middle thumbnail is not an empty cell.
    left, top, right, _ = badge_box(6, columns=4, lines=lines)
    thumb = np.asarray(sheet.crop((left, top - 18 - 180, right, top - 18)))
    assert thumb.std() > 10
