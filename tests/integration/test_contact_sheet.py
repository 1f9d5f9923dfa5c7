"""The contact sheet: panels and keyframes with verdict badges, the failing scores under the
thumbnail, and each shot's drift and continuity figures.

The entries (plain data, made by flows/review/reports.py) and the drawing (media/contact.py) are
tested apart, then a real scene run's sheet is read back from its PNG."""
from __future__ import annotations

import logging
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import yaml
from PIL import Image

from slate.flows.review.reports import contact_entries
from slate.flows.shot.shot import ClipOutcome, PanelOutcome, Take
from slate.media.contact import (BACKGROUND, MAX_LINES, VERDICT_COLOURS, ContactEntry, badge_box, contact_sheet,
                                 sheet_size)
from slate.tasks.gates.verdicts import DriftReading, GateVerdict

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




WORDY = {"name": "location", "value": 0.12, "threshold": 0.35, "role": "block", "passed": False,
         "reason": "The diner is not recognisable.\nThe counter is missing;\n\nthe window shows a street."}


@pytest.mark.usefixtures("prefect_harness")
def test_a_verdict_whose_reasons_hold_line_breaks_draws_the_scenes_sheet(example_film):
    """A real vision judge's reasons often hold line breaks: the scene's contact-sheet task drew
    none ("can't measure length of multiline text") and the scene, paid for, ended Failed."""
    from prefect import flow

    from slate.flows.scene import make_contact_sheet
    from slate.tasks.run.run import open_run
    from tests.runs import a_run
    out = example_film / "renders" / "scene-01-draft-contact.png"
    escalated = PanelOutcome(shot="1A", escalated="start panel no progress in 2 takes",
                             takes=[_take("panel", 1, -0.2, [WORDY, IDENTITY_OK], "cas://gone")])

    @flow
    def scene() -> str:
        with open_run(a_run(example_film)) as run:
            return make_contact_sheet(run, [SimpleNamespace(shot="1A")], {"1A": escalated}, str(out))

    state = scene(return_state=True)
    assert state.is_completed(), state.message
    assert state.result() == str(out) and Image.open(out).size == sheet_size(1, lines=1)


@pytest.mark.usefixtures("prefect_harness")
def test_a_sheet_preview_or_report_that_cannot_be_made_is_a_warning_and_the_run_goes_on(example_film):
    """Each made to fail by what it is given, not by a patch: the sheet's file is a folder, the cut
    to preview is not a video, the report's folder is a file. The flow completes; each is a
    warning heard by the CLI's listener and kept on the run's log."""
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogHandler

    from slate.flows.review import reports
    from slate.flows.scene import make_contact_sheet
    from slate.manifests import load_film
    from slate.manifests.settings import project_settings
    from slate.tasks.run.events import RunWarning
    from slate.tasks.run.run import listen, open_run
    from tests.runs import a_run
    renders = example_film / "renders"
    (renders / "scene-01-draft-contact.png").mkdir(parents=True)
    (renders / "scene-01-draft.mp4").write_text("not a video")
    (renders / "report").write_text("a file where the report's folder goes")

    @flow
    def scene() -> str:
        with open_run(a_run(example_film)) as run:
            sheet = make_contact_sheet(run, [], {}, str(renders / "scene-01-draft-contact.png"))
            reports.output_artifact("night-diner-scene-01-draft-output", renders / "scene-01-draft.mp4", "scene-01",
                                    scene="scene-01")
            reports.production_report(example_film, load_film(example_film), project_settings(example_film),
                                      "night-diner-draft-report")
            return sheet

    heard: list = []
    stop = listen(heard.append)
    try:
        state = scene(return_state=True)
    finally:
        stop()
    assert state.is_completed(), state.message
    assert state.result() == ""
    said = [e.line for e in heard if isinstance(e, RunWarning)]
    assert [line.split(" was not made")[0] for line in said] == [
        f"the contact sheet of scene scene-01 ({renders / 'scene-01-draft-contact.png'})",
        "the preview of scene-01-draft.mp4", "the production report of film night-diner"], said
    assert "IsADirectoryError" in said[0] and "FileExistsError" in said[2], said
    APILogHandler().flush()
    warned: list[str] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all(line in warned for line in said):   # logs land in batches
        with get_client(sync_client=True) as client:
            logged = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(
                any_=[state.state_details.flow_run_id])))
        warned = [log.message for log in logged if log.level == logging.WARNING]
        time.sleep(0.2)
    assert all(line in warned for line in said), ("the warnings on the run's log, after 30 s", said, warned)


def test_a_shots_lines_of_dialogue_are_read_under_its_first_keyframe_or_its_panel(example_film):
    """Issue 37: the contact sheet shows each shot's lines (flows/review/reports.py `spoken_lines_of`),
    the example's own: Jenny's in 1C and 1F, Gabe's in 1D."""
    from slate.flows.review.reports import spoken_lines_of
    from slate.manifests import load_film
    spoken = spoken_lines_of(load_film(example_film), "scene-01")
    assert spoken == {"1C": ["jenny: “Fresh pot. Careful, it's hot.”"], "1D": ["gabe: “Too hot. Take it back.”"],
                      "1F": ["jenny: “Be right with you.”"]}
    panel = PanelOutcome(shot="1C", approved={"start": "cas://p"}, takes=[_take("panel", 1, 0.4, [IDENTITY_OK], "cas://p")])
    clip = ClipOutcome(shot="1C", clip_uri="cas://c", started_from="panel",
                       takes=[_take("video", 1, 0.2, [IDENTITY_OK], "cas://c",
                                    keyframes={"first": "cas://f", "middle": "cas://m", "last": "cas://l"})])
    look = lambda uri: Path("/nowhere") / uri[6:]   # noqa: E731
    with_clips = contact_entries([SimpleNamespace(shot="1C")], {"1C": panel}, {"1C": clip}, look, spoken)
    assert with_clips[1].lines[-1] == "jenny: “Fresh pot. Careful, it's hot.”"
    assert not any("jenny" in line for e in (with_clips[0], *with_clips[2:]) for line in e.lines)
    panels_only = contact_entries([SimpleNamespace(shot="1C")], {"1C": panel}, None, look, spoken)
    assert panels_only[0].lines[-1] == "jenny: “Fresh pot. Careful, it's hot.”"
