"""The speech stage inside a scene run (local eSpeak voices, Prefect test harness), on the example
cut to two shots with one line each: every line is spoken once (one `speech` ledger row a line),
mixed as dialogue where the edit hears it, subtitled beside the cut (.srt, .vtt) and in it (a
mov_text stream); a second run pays nothing; one changed line is one new row and nothing else. A
line in the wrong voice (the voice gate's rule) is held on one shot in-process:
tests/integration/test_stage_rules.py.

Voices and lines are added to the test's copy of the example, never to the example itself."""
from __future__ import annotations

import json

import pytest
import yaml

from slate.flows.scene import scene_flow
from slate.governor.ledger import Ledger
from slate.media.subtitles import extract_srt, read_srt, subtitle_streams
from slate.tasks.edit.export import record_path
from tests.scene_cuts import keep_shots

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("local_calls")]

FILM = "night-diner"


def _voices(root) -> None:
    path = root / "bible.yaml"
    doc = yaml.safe_load(path.read_text())
    for c in doc["characters"]:
        if c["id"] in ("nina", "gabe"):
            c["voice"] = {"description": "adult, low pitch, even pace", "provider": "local",
                          "voice": {"nina": "female_low", "gabe": "male_low"}[c["id"]]}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def _lines(root, lines: dict[str, list[dict]]) -> None:
    path = root / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    for shot in doc["shots"]:
        if shot["id"] in lines:
            shot["dialogue"] = lines[shot["id"]]
        else:
            shot.pop("dialogue", None)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def _speech(root) -> list:
    return [r for r in Ledger.for_project(root).rows(film=FILM) if r.stage == "speech"]


def test_lines_are_spoken_once_mixed_subtitled_and_one_changed_line_pays_once(example_film, prefect_harness,
                                                                              tmp_path):
    keep_shots(example_film, ("1A", "1C"))
    _voices(example_film)
    _lines(example_film, {"1A": [{"speaker": "nina", "text": "Almost there."}],
                          "1C": [{"speaker": "gabe", "text": "Coffee, black.", "at": 0.5}]})
    # The draft delivers a copy with the lines drawn in too (Delivery.burned_subtitles).
    doc = yaml.safe_load((example_film / "film.yaml").read_text())
    doc["finishing"]["delivery"]["draft"]["burned_subtitles"] = True
    (example_film / "film.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))

    first = scene_flow(project=str(example_film), return_state=True).result()
    assert [s.status for s in first.shots] == ["approved", "approved"], [s.reason for s in first.shots]
    rows = _speech(example_film)
    assert sorted((r.shot, r.prompt, r.parameters["line"], r.parameters["speaker"]) for r in rows) == \
        [("1A", "Almost there.", 0, "nina"), ("1C", "Coffee, black.", 0, "gabe")]
    everything = len(Ledger.for_project(example_film).rows(film=FILM))

    # Mixed as dialogue where the edit hears them: 1A's line 0.25 s in, 1C's 0.5 s into 1C
    # (1A is 2.5 s, cut straight into 1C). The timeline record lists the cues the finish mixed.
    record = json.loads(record_path(example_film, "scene-01", "draft").read_text())
    spoken = sorted((c["start"], c["kind"]) for c in record["cues"] if c["kind"] == "dialogue")
    assert [s for s, _ in spoken] == pytest.approx([0.25, 3.0], abs=1e-3)
    # The record keeps the lines where the cut hears them: slate export marks them for an editor.
    assert [(x["speaker"], x["text"]) for x in record["lines"]] == [("nina", "Almost there."), ("gabe", "Coffee, black.")]
    assert [x["start"] for x in record["lines"]] == pytest.approx([0.25, 3.0], abs=1e-3)
    assert first.duration == pytest.approx(6.0, abs=0.05)

    # Subtitles beside the cut and in it, with the right words at the right times.
    cut = example_film / "renders" / "scene-01-draft.mp4"
    srt, vtt = cut.with_suffix(".srt"), cut.with_suffix(".vtt")
    cues = read_srt(srt.read_text())
    assert [c.text for c in cues] == ["Almost there.", "Coffee, black."]
    assert cues[0].start_ms == 250 and cues[1].start_ms == 3000
    assert 250 < cues[0].end_ms <= 3000 and cues[1].end_ms <= 6000
    assert vtt.read_text().startswith("WEBVTT") and "Coffee, black." in vtt.read_text()
    [stream] = subtitle_streams(cut)
    assert (stream.codec, stream.language) == ("mov_text", "eng")
    back = read_srt(extract_srt(cut, tmp_path / "back.srt").read_text())
    assert [(c.start_ms, c.text) for c in back] == [(c.start_ms, c.text) for c in cues]
    assert {d.kind for d in first.deliverables} >= {"subtitles", "burned subtitles"}
    # The burned copy: the same length, no subtitle stream, its picture not the clean cut's.
    burned = cut.with_name("scene-01-draft-subtitled.mp4")
    from slate.media.probe import probe
    assert subtitle_streams(burned) == [] and probe(burned).duration == pytest.approx(probe(cut).duration, abs=0.05)
    from slate.media.frames import extract_frame
    import numpy as np
    from PIL import Image
    clean_f, burned_f = (np.asarray(Image.open(extract_frame(p, 0.5, tmp_path / f"{n}.png")).convert("L"), float)
                         for p, n in ((cut, "clean"), (burned, "burned")))
    moved = np.abs(clean_f - burned_f)
    h = moved.shape[0]
    # 0.5 s in, nina's line is on screen: the bottom band changed (its text), the top no more than
    # a re-encode moves it.
    assert moved[3 * h // 4:].mean() > 4 * max(0.5, moved[: h // 4].mean()), (moved[3 * h // 4:].mean(), moved[: h // 4].mean())

    # The same scene again: served, not a call.
    again = scene_flow(project=str(example_film), return_state=True).result()
    assert again.provider_calls == 0 and len(Ledger.for_project(example_film).rows(film=FILM)) == everything

    # One line's words changed: that line spoken again, nothing else paid.
    _lines(example_film, {"1A": [{"speaker": "nina", "text": "Almost there."}],
                          "1C": [{"speaker": "gabe", "text": "Black, no sugar.", "at": 0.5}]})
    third = scene_flow(project=str(example_film), return_state=True).result()
    new = Ledger.for_project(example_film).rows(film=FILM)[everything:]
    assert [(r.stage, r.shot, r.prompt) for r in new] == [("speech", "1C", "Black, no sugar.")]
    assert third.provider_calls == 1
    assert [c.text for c in read_srt(srt.read_text())] == ["Almost there.", "Black, no sugar."]

    # The film of that scene (its scene served from the can): the film's cut carries the lines,
    # with its own .srt and .vtt beside it, the scene's cues where the film plays the scene.
    from slate.flows.film import film_flow
    from slate.manifests.options import RunOptions
    film = film_flow(project=str(example_film), options=RunOptions(scenes=["scene-01"]), return_state=True)
    assert film.is_completed(), film.message
    assert len(Ledger.for_project(example_film).rows(film=FILM)) == everything + 1     # nothing paid
    whole = example_film / "renders" / f"{FILM}-draft.mp4"
    assert [(c.start_ms, c.text) for c in read_srt(whole.with_suffix(".srt").read_text())] == \
        [(250, "Almost there."), (3000, "Black, no sugar.")]
    assert "Black, no sugar." in whole.with_suffix(".vtt").read_text()
    assert [s.codec for s in subtitle_streams(whole)] == ["mov_text"]
