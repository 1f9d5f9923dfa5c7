"""A scene run's contact sheet shows the escalated shot and the drift check."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from PIL import Image
from slate.manifests.options import RunOptions
from slate.media.contact import BACKGROUND, MAX_LINES, VERDICT_COLOURS, badge_box, contact_sheet, sheet_size
from tests.scene_cuts import fit_music, without_finishing


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
    from slate.flows.run.scene_result import scene_result
    path = example_film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["shots"] = [s for s in doc["shots"] if s["id"] in ("1D", "1E")]
    fit_music(doc)
    (example_film / "overrides").mkdir()
    (example_film / "overrides" / "1D.png").write_bytes(
        (example_film / "locations" / "street" / "street_plate_APPROVED.png").read_bytes())
    doc["shots"][0]["panel_override"] = "overrides/1D.png"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    without_finishing(example_film)   # the sheet is the subject, not the finished cut
    (example_film / "slate.toml").write_text("drift_every = 2\ndrift_threshold = 0.0\n")

    state = scene_flow(project=str(example_film), options=RunOptions(max_takes=2), return_state=True)
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
