"""The finishing pass inside a scene run (local provider, Prefect test harness): the published
cut is graded and has its sound at the delivery's loudness; a changed LUT re-renders only the
finishing pass — not one new ledger row — and moves the frames' colour as the LUT says; the
judges' clips stay ungraded. A profile's mezzanine and poster frame land in renders/ beside the
cut, every deliverable tagged BT.709 and readable as the umask allows, every path printed, and an
unchanged scene served from the can puts them back when renders/ was emptied."""
from __future__ import annotations

import csv
import os
import stat

import numpy as np
import pytest
import yaml

from slate.flows.scene import scene_flow
from slate.governor.ledger import Ledger
from slate.media import extract_frame, load_rgb, probe, run
from slate.media.cube import read_cube
from slate.media.colour import BT709
from slate.media.finish import loudness
from slate.media.probe import streams
from tests.scene_cuts import keep_shots

import opentimelineio as otio
from typer.testing import CliRunner

from slate.cli import app

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("local_calls")]


def _cube(path, red_gain: float) -> None:
    path.write_text("LUT_3D_SIZE 2\n" + "".join(f"{r * red_gain:g} {g} {b}\n"
                                                for b in (0, 1) for g in (0, 1) for r in (0, 1)))


def _mean(video, seconds, png) -> np.ndarray:
    return load_rgb(extract_frame(video, seconds, png)).reshape(-1, 3).mean(0) / 255


def test_a_changed_lut_re_finishes_for_nothing_and_moves_the_colour(example_film, prefect_harness, tmp_path):
    keep_shots(example_film, ("1A",))
    (example_film / "grade").mkdir(exist_ok=True)
    _cube(example_film / "grade" / "film.cube", 1.0)   # identity
    (example_film / "audio").mkdir(exist_ok=True)
    run(["-nostdin", "-y", "-f", "lavfi", "-i", "sine=f=220:d=8", str(example_film / "audio" / "theme.wav")])
    film = yaml.safe_load((example_film / "film.yaml").read_text())
    film["finishing"] = {"lut": "grade/film.cube", "delivery": {"draft": {"loudness": "web"}}}
    (example_film / "film.yaml").write_text(yaml.safe_dump(film, sort_keys=False))
    path = example_film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["finishing"] = {"cues": [{"file": "audio/theme.wav", "kind": "music", "fade_in": 0.5, "fade_out": 0.5}]}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))

    first = scene_flow(project=str(example_film), return_state=True).result()
    assert [s.status for s in first.shots] == ["approved"]
    rows = len(Ledger.for_project(example_film).rows(film="night-diner"))
    assert rows >= 4
    measured = loudness(first.output)
    assert abs(measured.integrated + 14) <= 1.0 and measured.true_peak <= -0.7, measured
    before = _mean(first.output, 1.0, tmp_path / "before.png")
    _exports_read_back(example_film, tmp_path, first.duration)

    _cube(example_film / "grade" / "film.cube", 0.5)   # red halved
    again = scene_flow(project=str(example_film), return_state=True).result()
    assert again.provider_calls == 0
    assert len(Ledger.for_project(example_film).rows(film="night-diner")) == rows
    after = _mean(again.output, 1.0, tmp_path / "after.png")
    expected = np.array(read_cube(example_film / "grade" / "film.cube").apply(tuple(before)))
    assert np.abs(after - expected).max() < 0.05, (before, after, expected)
    assert after[0] < before[0] - 0.05
    # The scene's cut (what the film stitches) is the re-graded one, by its content.
    assert again.cut != first.cut


def _exports_read_back(film, tmp_path, duration: float) -> None:
    """The run wrote its .otio beside its timeline record; `slate export` writes all three formats, and each
    reads back with the one shot pointing at its approved clip and the music on its own track."""
    made = otio.adapters.read_from_file(str(film / ".slate" / "timelines" / "scene-01-draft.otio"))
    assert [c.metadata["slate"]["shot"] for c in made.find_clips() if "shot" in c.metadata.get("slate", {})] == ["1A"]
    for fmt, suffix, media in (("otio", ".otio", "graded"), ("fcp7", ".xml", "source"), ("edl", ".edl", "graded")):
        out = tmp_path / f"cut{suffix}"
        said = CliRunner().invoke(app, ["export", str(film), "--format", fmt, "--out", str(out), "--media", media])
        assert said.exit_code == 0, said.output
        assert f"{fmt} timeline: {out}" in said.output and "from 01:00:00:00" in said.output, said.output
        back = otio.adapters.read_from_file(str(out), **({"rate": 24} if fmt == "edl" else {}))
        clips = [c for t in back.video_tracks() for c in t.find_clips()]
        assert len(clips) == 1, fmt
        assert abs(back.video_tracks()[0].duration().to_seconds() - duration) <= 1 / 24, fmt
        # The film's LUT grades every shot: by default the clip is its graded copy in
        # renders/graded/, with --media source the approved clip itself.
        where = "/renders/graded/" if media == "graded" else "/.slate/artifacts/"
        if fmt == "edl":   # the EDL's reel list maps its reel to the file
            [row] = list(csv.DictReader(out.with_name("cut.reels.csv").open()))
            path = row["file"]
        else:
            path = clips[0].media_reference.target_url.removeprefix("file://")
            assert len(back.audio_tracks()) == 1, fmt   # FCP 7 XML keeps no track names
            assert fmt != "otio" or back.audio_tracks()[0].name == "A music"
        assert where in path and (film / path).is_file(), (fmt, path)



def test_a_profiles_mezzanine_and_poster_land_beside_the_cut_and_come_back_from_the_can(example_film,
                                                                                       prefect_harness):
    keep_shots(example_film, ("1A",))
    film = yaml.safe_load((example_film / "film.yaml").read_text())
    film["finishing"]["delivery"]["draft"] = {"loudness": "web", "mezzanine": "dnxhr_lb", "poster": True}
    (example_film / "film.yaml").write_text(yaml.safe_dump(film, sort_keys=False))
    renders = example_film / "renders"

    first = CliRunner().invoke(app, ["run", str(example_film)])
    assert first.exit_code == 0, first.output
    cut, mov, poster = (renders / f"scene-01-draft{end}" for end in (".mp4", ".mov", "-poster.png"))
    film_cut = renders / "night-diner-draft.mp4"
    # Every deliverable's path is printed (issue 39): the scene's, and the film's cut and subtitles.
    printed = [f"output:        {cut}", f"mezzanine:     {mov}", f"poster:        {poster}", f"film:          {film_cut}",
               *(f"subtitles:     {p}" for p in sorted(renders.glob("*.srt")) + sorted(renders.glob("*.vtt")))]
    assert all(line in first.output for line in printed), (printed, first.output)
    picture, master = probe(cut), probe(mov)
    assert master.codec == "dnxhd" and master.has_audio, master
    assert master.frames == picture.frames, (master.frames, picture.frames)
    assert load_rgb(poster).shape[:2] == (picture.height, picture.width)
    # A post house's checks: colour tags on every picture, a timecode track on the mezzanine, and
    # every file as readable as the umask allows (not mkstemp's owner-only 0600).
    for video in (cut, mov, film_cut):
        assert streams(video).colour == BT709, video
    assert "tmcd" in run(["-nostdin", "-hide_banner", "-i", str(mov), "-f", "null", "-frames:v", "1", "-"]).stderr
    umask = os.umask(0o022)
    os.umask(umask)
    modes = {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in renders.iterdir() if p.is_file()}
    assert set(modes.values()) == {oct(0o666 & ~umask)}, modes
    made = {p.name: p.read_bytes() for p in (cut, mov, poster)}

    for p in list(renders.iterdir()):   # the film-maker cleared renders/: an unchanged scene is served
        if p.is_file():
            p.unlink()
    again = CliRunner().invoke(app, ["run", str(example_film)])
    assert again.exit_code == 0 and "provider calls made: 0" in again.output, again.output
    assert f"film:          {film_cut}" in again.output, again.output
    assert {p.name: p.read_bytes() for p in (cut, mov, poster)} == made   # put back from storage, unchanged
