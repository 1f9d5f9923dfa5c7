"""`slate conform`: an edited timeline read back into the example's scene file, through the real
OpenTimelineIO adapters and the command line.

A scene run's timeline record is written here as the scene flow writes it (every shot approved,
take 1, at the example's durations, transitions and cues), `slate export` writes it as .otio,
FCP 7 XML or EDL, the test edits the OTIO object as an editor would (reorder, trim, drop, a
dissolve changed, a cue moved), writes it with the format's adapter, and runs `slate conform`.
"""
from __future__ import annotations

import difflib

import copy
from pathlib import Path

import opentimelineio as otio
import pytest
import yaml
from typer.testing import CliRunner

from slate.cli import app
from slate.governor.ledger import Ledger
from slate.manifests import load_film
from slate.tasks.edit.export import build_timeline, read_records, record_path, timeline_record, write_record, write_timeline
from slate.tasks.edit.finish_check import cue_lengths
from tests.scene_cuts import two_short_scenes

runner = CliRunner()
FPS = 24
SCENE = "scenes/scene-01.yaml"
FORMATS = {"otio": "cut.otio", "fcp7": "cut.xml", "edl": "cut.edl"}


def _record_of(root, scene_id: str) -> None:
    """The draft cut of a scene as a finished run records it: every shot approved at take 1, at
    its duration, trims and transition, and the manifest's cues where the finishing pass places
    them (those that start before the scene ends, as long as they are heard)."""
    film = load_film(root)
    scene = film.scene(scene_id)
    fin = scene.finishing
    shots = []
    for i, s in enumerate(scene.shots):
        last = i + 1 == len(scene.shots)
        entry = fin.shots.get(s.id) if fin else None
        shots.append({"shot": s.id, "status": "approved", "reason": "",
                      "media": str(root / "clips" / scene_id / f"{s.id}.mp4"), "seconds": s.duration,
                      "trim_in": entry.trim_in if entry else 0.0, "trim_out": entry.trim_out if entry else 0.0,
                      "transition": ["cut", 0.0] if last else [s.transition_out.kind, s.transition_out.duration],
                      "take": 1, "scores": {}, "warnings": []})
    total = scene.total_seconds()
    lengths = cue_lengths(root, film, scene_id)
    cues = [{"file": c.file, "media": str(root / c.file), "kind": c.kind, "start": c.at, "offset": c.offset,
             "seconds": min(lengths[c.file] - c.offset, c.length or lengths[c.file], total - c.at), "gain_db": c.gain_db}
            for c in (fin.cues if fin else []) if c.shot is None and c.at < total]
    record = timeline_record(film="night-diner", scene=scene_id, profile="draft", fps=FPS, width=854, height=480,
                             output=str(root / "renders" / f"{scene_id}-draft.mp4"), shots=shots, cues=cues,
                             finished=None)
    write_record(record_path(root, scene_id, "draft"), record)


@pytest.fixture
def cut(example_film):
    """The example film with the draft cut of scene-01 recorded, as a finished run leaves it."""
    _record_of(example_film, "scene-01")
    return example_film


def _timeline(root) -> otio.schema.Timeline:
    return build_timeline(read_records([record_path(root, "scene-01", "draft")]))


def _conform(root, path, *flags):
    return runner.invoke(app, ["conform", str(root), str(path), *flags])


def _scene(root) -> dict:
    return yaml.safe_load((root / SCENE).read_text())


def _clips(timeline) -> dict[str, otio.schema.Clip]:
    return {c.name.split()[-1]: c for c in timeline.video_tracks()[0].find_clips()}


def _no_money(root) -> None:
    assert Ledger.for_project(root).rows(film="night-diner") == []


def _after(video: otio.schema.Track, clip: otio.schema.Clip) -> otio.schema.Transition:
    """The transition out of `clip` (the one straight after it on the track)."""
    transition = video[video.index(clip) + 1]
    assert isinstance(transition, otio.schema.Transition)
    return transition


def _tc(timeline: otio.schema.Timeline, frame: int) -> str:
    """Record time of `frame` of the track, as the editor's timeline counts it from its start."""
    start = timeline.global_start_time or otio.opentime.RationalTime(0, FPS)
    return otio.opentime.to_timecode(otio.opentime.RationalTime(frame, FPS) + start, FPS)


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_an_export_read_back_untouched_changes_nothing(cut, tmp_path, fmt):
    """The round trip: `slate export`, then `slate conform` of what it wrote, is no change."""
    before = (cut / SCENE).read_text()
    path = tmp_path / FORMATS[fmt]
    exported = runner.invoke(app, ["export", str(cut), "--format", fmt, "--out", str(path)])
    assert exported.exit_code == 0, exported.output
    out = _conform(cut, path, "--write")
    assert out.exit_code == 0, out.output
    assert "no change" in out.output and "---" not in out.output
    assert (cut / SCENE).read_text() == before


def _edit(timeline: otio.schema.Timeline) -> otio.schema.Timeline:
    """What an editor does to the example's scene: 1G and 1H swapped, 6 frames off 1A's head,
    1I taken out, the 18-frame dissolve from 1B into 1C made 12, the music moved a second later."""
    edited = copy.deepcopy(timeline)
    video = edited.video_tracks()[0]
    clips = _clips(edited)
    a = clips["1A"]
    a.source_range = otio.opentime.TimeRange(a.source_range.start_time + otio.opentime.RationalTime(6, FPS),
                                             a.source_range.duration - otio.opentime.RationalTime(6, FPS))
    b, c = clips["1B"], clips["1C"]
    dissolve = _after(video, b)
    # 1B gives the dissolve 9 frames of its tail and 1C 9 of its head; at 6 + 6 each shows 3 more.
    dissolve.in_offset, dissolve.out_offset = otio.opentime.RationalTime(6, FPS), otio.opentime.RationalTime(6, FPS)
    b.source_range = otio.opentime.TimeRange(b.source_range.start_time,
                                             b.source_range.duration + otio.opentime.RationalTime(3, FPS))
    c.source_range = otio.opentime.TimeRange(c.source_range.start_time - otio.opentime.RationalTime(3, FPS),
                                             c.source_range.duration + otio.opentime.RationalTime(3, FPS))
    g, h = video.index(clips["1G"]), video.index(clips["1H"])
    moved = video.pop(h)
    video.insert(g, moved)
    video.remove(clips["1I"])
    music = next(t for t in edited.audio_tracks() if t.name == "A music")
    music.insert(0, otio.schema.Gap(source_range=otio.opentime.TimeRange(otio.opentime.RationalTime(0, FPS),
                                                                         otio.opentime.RationalTime(FPS, FPS))))
    return edited


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_an_edit_conforms_into_the_scene_file(cut, tmp_path, fmt):
    """Reordered, trimmed, dropped, a dissolve shortened — in every format — and (where the format
    carries sound) a cue moved: shown as a diff, written only with --write."""
    path = write_timeline(_edit(_timeline(cut)), fmt, tmp_path / FORMATS[fmt])
    # A film-maker's scene file has comments of their own: a conform keeps them.
    text = (cut / SCENE).read_text()
    (cut / SCENE).write_text("# scene one: the diner at night\n" + text.replace("\nshots:\n", "\nshots:   # in story order\n", 1))
    before = (cut / SCENE).read_text()
    shown = _conform(cut, path)
    assert shown.exit_code == 0, shown.output
    assert "--- a/scenes/scene-01.yaml" in shown.output and "+++ b/scenes/scene-01.yaml" in shown.output
    assert "+  cut:\n" in shown.output and "-    duration: 0.75\n" in shown.output, shown.output
    assert (cut / SCENE).read_text() == before   # not written without --write
    # What the next run makes of it, said before anyone waits on it (issue 57).
    assert "cuts and finishes scene-01 again from the takes already made: no new take, no provider call, $0.00" \
        in shown.output.replace("\n", " "), shown.output

    written = _conform(cut, path, "--write")
    assert written.exit_code == 0, written.output
    doc = _scene(cut)
    fin = doc["finishing"]
    assert fin["cut"] == ["1A", "1B", "1C", "1D", "1E", "1F", "1H", "1G"]
    assert fin["shots"] == {"1A": {"trim_in": 0.25}}
    shots = {s["id"]: s for s in doc["shots"]}
    assert shots["1B"]["transition_out"] == {"kind": "dissolve", "duration": 0.5}
    assert all("transition_out" not in s for sid, s in shots.items() if sid != "1B")
    assert [s["duration"] for s in doc["shots"]] == [2.5, 3.0, 3.5, 2.5, 3.0, 2.0, 3.0, 3.0, 3.5]
    music = next(c for c in fin["cues"] if c["kind"] == "music")
    # The edit's sound moves only where the format carries it (an EDL is picture only).
    assert music.get("at", 0) == (1.0 if fmt != "edl" else 0)
    assert "length" not in music and "offset" not in music
    assert load_film(cut).scene("scene-01").finishing.in_cut([s["id"] for s in doc["shots"]]) == fin["cut"]
    # What the edit now says is what the manifests say: read back again, no change.
    again = _conform(cut, path)
    assert again.exit_code == 0 and "no change" in again.output, again.output
    # The scene file is the film-maker's own text changed where the edit changed it: every
    # comment `slate init` wrote is still there, and no line the edit did not touch moved.
    comments = ["# scene one: the diner at night", "shots:   # in story order"]
    after = (cut / SCENE).read_text()
    assert comments and all(c in after.splitlines() for c in comments)
    removed = [d for d in difflib.ndiff(before.splitlines(), after.splitlines()) if d.startswith("- ")]
    assert len(removed) <= 2, removed   # the dissolve's duration (and a music cue's at, moved)


def test_a_cut_where_a_dissolve_was_and_a_cue_cut_short(cut, tmp_path):
    """A dissolve taken out (each shot showing the frames it gave it) and the line cut short:
    the transition is a cut again and the cue gets its length."""
    edited = _timeline(cut)
    video = edited.video_tracks()[0]
    clips = _clips(edited)
    b, c = clips["1B"], clips["1C"]
    dissolve = _after(video, b)
    b.source_range = otio.opentime.TimeRange(b.source_range.start_time,
                                             b.source_range.duration + dissolve.out_offset)
    c.source_range = otio.opentime.TimeRange(c.source_range.start_time - dissolve.in_offset,
                                             c.source_range.duration + dissolve.in_offset)
    video.remove(dissolve)
    line = next(t for t in edited.audio_tracks() if t.name == "A dialogue")
    [cue] = list(line.find_clips())
    cue.source_range = otio.opentime.TimeRange(cue.source_range.start_time, otio.opentime.RationalTime(36, FPS))
    path = write_timeline(edited, "otio", tmp_path / "cut.otio")
    out = _conform(cut, path, "--write")
    assert out.exit_code == 0, out.output
    doc = _scene(cut)
    assert {s["id"]: s for s in doc["shots"]}["1B"]["transition_out"] == {"kind": "cut", "duration": 0}
    # The scene is 0.75 s longer now: the line still sits where it was, heard for 1.5 s of its 2.4.
    [said] = [c for c in doc["finishing"]["cues"] if c["kind"] == "dialogue"]
    assert said == {"file": "audio/mia-line.wav", "kind": "dialogue", "at": 16.15, "length": 1.5}
    assert "cut" not in doc["finishing"] and "shots" not in doc["finishing"]


def _refused(root, tmp_path, edited, *flags):
    before = (root / SCENE).read_text()
    path = write_timeline(edited, "otio", tmp_path / "cut.otio")
    out = _conform(root, path, "--write", *flags)
    assert out.exit_code == 1, out.output
    assert (root / SCENE).read_text() == before
    _no_money(root)
    return out.output


def test_a_clip_slate_never_made_is_refused_by_name_and_record_time(cut, tmp_path):
    edited = _timeline(cut)
    video = edited.video_tracks()[0]
    stranger = otio.schema.Clip(name="b-roll rain", media_reference=otio.schema.ExternalReference(
        target_url="file:///footage/rain.mov"), source_range=otio.opentime.TimeRange(
        otio.opentime.RationalTime(0, FPS), otio.opentime.RationalTime(48, FPS)))
    video.insert(video.index(_clips(edited)["1C"]), stranger)
    said = _refused(cut, tmp_path, edited)
    # 1A 60 + 1B 72 - 9 (its part of the dissolve) = 123 frames: 00:00:05:03 into the track.
    assert f"error: cut.otio: 'b-roll rain' at {_tc(edited, 123)}: slate never made this clip" in said
    assert "nothing written" in said


def test_a_speed_change_and_an_unknown_effect_are_refused(cut, tmp_path):
    edited = _timeline(cut)
    clips = _clips(edited)
    clips["1D"].effects.append(otio.schema.LinearTimeWarp(time_scalar=2.0))
    clips["1F"].effects.append(otio.schema.Effect(name="blur", effect_name="Gaussian Blur"))
    clips["1H"].effects.append(otio.schema.Effect(name="Time Remap"))   # how FCP 7 XML's reader names one
    # The grade `slate export` writes on a clip (issue 39) is slate's own: read past, not refused.
    clips["1A"].effects.append(otio.schema.Effect(name="slate grade", effect_name="slate.grade",
                                                  metadata={"slate": {"exposure": 0.5}}))
    said = _refused(cut, tmp_path, edited)
    assert "'scene-01 1A'" not in said
    # 1D plays after 1A (60 frames), 1B (72 less its 9 of the dissolve) and 1C (84 less its 9):
    # frame 198, 00:00:08:06; 1F after 1D (60) and 1E (72): frame 330, 00:00:13:18.
    assert f"'scene-01 1D' at {_tc(edited, 198)}: a speed change (x2): slate plays every take at the speed it was made" \
        in said
    assert f"'scene-01 1F' at {_tc(edited, 330)}: an effect slate does not render (Gaussian Blur)" in said
    assert f"'scene-01 1H' at {_tc(edited, 330 + 48 + 72)}: a speed change: slate plays" in said
    assert "note:" not in said   # nothing read of an edit that is refused: no shot said "dropped"


def _longer(cut):
    """1I's out point 12 frames past the end of its 3.5 s take."""
    edited = _timeline(cut)
    i = _clips(edited)["1I"]
    i.source_range = otio.opentime.TimeRange(i.source_range.start_time,
                                             i.source_range.duration + otio.opentime.RationalTime(12, FPS))
    return edited


def test_a_trim_past_the_end_of_a_take_names_the_frames_and_the_estimate_and_spends_nothing(cut, tmp_path,
                                                                                           monkeypatch):
    # A rehearsal priced as a real model, as `slate estimate --price-as` prices one: the rate card's
    # $0.03 a second at 480p, for the 4 s the take needs (not the 3.5 s it has).
    monkeypatch.setenv("SLATE_PRICE_AS", "replicate:bytedance/seedance-1-pro")
    said = _refused(cut, tmp_path, _longer(cut))
    assert ("needs a longer take: shot 1I of scene-01 needs 12 frame(s) its 3.5s take does not have (12 after its "
            "last): a take of 4s has them") in said
    assert "estimate: $0.12 for the 4s clip at replicate:bytedance/seedance-1-pro (billed 4s)" in said, said
    assert "nothing written: --render" in said


def test_render_writes_the_longer_take_and_runs_the_scene_through_the_paid_path(cut, tmp_path, monkeypatch):
    runs = []

    def run(**told):
        # What `slate run` is handed, and the scene file as it finds it.
        runs.append((told, _scene(cut)))
    monkeypatch.setattr("slate.commands.run.run", run)
    path = write_timeline(_longer(cut), "otio", tmp_path / "cut.otio")
    out = _conform(cut, path, "--render")
    assert out.exit_code == 0, out.output
    [(told, doc)] = runs
    assert (told["scenes"], told["profile"], told["directory"]) == (["scene-01"], "draft", cut)
    assert {s["id"]: s for s in doc["shots"]}["1I"]["duration"] == 4.0
    assert "shots" not in doc["finishing"]   # the 4 s take is used whole: no trim
    _no_money(cut)   # the run itself was not started here


@pytest.mark.parametrize("name,content,why", [
    ("cut.mov", b"x", "not a timeline slate reads back (expected .otio, .xml (FCP 7) or .edl)"),
    ("cut.otio", b"{not json", "cannot be read as OTIO"),
    ("cut.xml", b"<xmeml><sequence>", "cannot be read as XML"),
    ("missing.edl", None, "not found"),
])
def test_a_bad_timeline_is_named_before_anything_is_written(cut, tmp_path, name, content, why):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    before = (cut / SCENE).read_text()
    out = _conform(cut, path, "--write")
    assert out.exit_code == 1, out.output
    assert f"error: {path}: {why}" in out.output
    assert (cut / SCENE).read_text() == before


def test_a_clip_of_a_scene_the_film_does_not_have_is_refused(cut, tmp_path):
    edited = _timeline(cut)
    a = _clips(edited)["1A"]
    a.name = "scene-09 1A"
    a.metadata["slate"] = {**a.metadata["slate"], "scene": "scene-09", "source_media": "/elsewhere/1A.mp4"}
    a.metadata["cmx_3600"] = {}
    a.media_reference = otio.schema.ExternalReference(target_url="file:///elsewhere/1A.mp4")
    said = _refused(cut, tmp_path, edited)
    assert f"'scene-09 1A' at {_tc(edited, 0)}: slate never made this clip" in said


def test_without_a_cut_there_is_nothing_to_read_an_edit_against(example_film, tmp_path):
    path = tmp_path / "cut.otio"
    otio.adapters.write_to_file(otio.schema.Timeline(name="x"), str(path))
    out = _conform(example_film, path)
    assert out.exit_code == 1 and "no cut of any scene at the draft profile yet" in out.output


@pytest.mark.parametrize("fmt", ["otio", "fcp7"])
def test_a_dip_an_editor_puts_on_a_cut_becomes_the_shots_dip_out(cut, tmp_path, fmt):
    """A dip takes no frames from either shot: the cut 1D → 1E under a 12-frame dip to white is
    1D's `dip_out`, its trims and transition as they were."""
    edited = _timeline(cut)
    video = edited.video_tracks()[0]
    d = _clips(edited)["1D"]
    video.insert(video.index(d) + 1, otio.schema.Transition(
        name="Dip to White", transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
        in_offset=otio.opentime.RationalTime(6, FPS), out_offset=otio.opentime.RationalTime(6, FPS)))
    path = write_timeline(edited, fmt, tmp_path / FORMATS[fmt])
    out = _conform(cut, path, "--write")
    assert out.exit_code == 0, out.output
    fin = _scene(cut)["finishing"]
    assert fin["shots"] == {"1D": {"dip_out": {"colour": "#ffffff", "duration": 0.5}}}
    assert "cut" not in fin


def _scrubbed_edl(cut, tmp_path):
    """The exported EDL with every clip's name and file taken out, as a conform house's tools
    rewrite them: only its reels say which shot each event is. Returns it and its reel list's rows."""
    path = write_timeline(_timeline(cut), "edl", tmp_path / "cut.edl")
    back = otio.adapters.read_from_file(str(path), rate=FPS)
    rows = sorted({(c.metadata["cmx_3600"]["reel"], c.name.split()[-1]) for c in back.video_tracks()[0].find_clips()})
    kept = [line.replace("scene-01 ", "REEL ") for line in path.read_text().splitlines()
            if not line.startswith(("* FROM CLIP:", "* TO CLIP:", "* SOURCE FILE:", "* OTIO TRUNCATED"))]
    path.write_text("\n".join(kept) + "\n")
    return path, rows


def test_an_edl_whose_names_and_files_are_gone_is_traced_by_its_reel_list(cut, tmp_path):
    path, rows = _scrubbed_edl(cut, tmp_path)
    reels = path.with_name("cut.reels.csv")
    reels.unlink(missing_ok=True)
    untraced = _conform(cut, path, "--write")
    assert untraced.exit_code == 1 and "'REEL 1A' at" in untraced.output, untraced.output
    assert "slate never made this clip" in untraced.output
    reels.write_text("reel,scene,shot,take,file\n" + "".join(f"{reel},scene-01,{shot},1,\n" for reel, shot in rows))
    out = _conform(cut, path)
    assert out.exit_code == 0 and "no change" in out.output, out.output


def test_a_second_picture_track_a_shot_played_twice_and_another_take_are_refused(cut, tmp_path):
    edited = _timeline(cut)
    video = edited.video_tracks()[0]
    clips = _clips(edited)
    overlay = otio.schema.Track(name="V2", kind=otio.schema.TrackKind.Video)
    overlay.append(copy.deepcopy(clips["1G"]))
    edited.tracks.append(overlay)
    video.append(copy.deepcopy(clips["1A"]))   # 1A again, after 1I
    clips["1E"].metadata["slate"] = {**clips["1E"].metadata["slate"], "take": 2}   # the cut has take 1
    said = _refused(cut, tmp_path, edited)
    assert f"'scene-01 1G' at {_tc(edited, 0)}: on a second picture track (V2)" in said
    assert f"'scene-01 1A' at {_tc(edited, 606)}: shot 1A of scene-01 plays twice" in said   # the scene's 25.25 s
    assert f"'scene-01 1E' at {_tc(edited, 258)}: is take 2 of shot 1E, which slate does not have (no dailies of it "\
           f"are kept; the cut has take 1)" in said


def test_a_film_of_two_scenes_conforms_scene_by_scene(example_film, tmp_path):
    """A film's timeline (what `slate export` writes by default): each scene's shots found in its
    own stretch of it. A shot moved into another scene is refused; scenes played in another order
    change no scene file (the film's order is film.yaml's), and each scene's change is its own."""
    two_short_scenes(example_film)   # scene-01 and scene-02, each 1A then 1B
    for scene_id in ("scene-01", "scene-02"):
        _record_of(example_film, scene_id)
    path = tmp_path / "film.otio"
    assert runner.invoke(app, ["export", str(example_film), "--out", str(path)]).exit_code == 0
    same = _conform(example_film, path)
    assert same.exit_code == 0 and "no change" in same.output, same.output

    film = otio.adapters.read_from_file(str(path))
    video = film.video_tracks()[0]
    one_a, one_b, two_a, two_b = list(video.find_clips())
    mixed = copy.deepcopy(film)
    mixed_video = mixed.video_tracks()[0]
    mixed_video.insert(3, mixed_video.pop(1))   # scene-01's 1B after scene-02's 1A
    said = _refused(example_film, tmp_path, mixed)
    assert "'scene-01 1B' at" in said and "is cut in among scene-02's shots: a shot stays in its scene" in said

    for sound in list(film.audio_tracks()):
        film.tracks.remove(sound)   # picture only: each scene's music stays where its manifest puts it
    video.remove(two_a)
    video.append(two_a)   # scene-02 as 1B, 1A
    video.remove(one_a)
    video.remove(one_b)
    video.append(one_a)
    video.append(one_b)   # and played after scene-01
    before = (example_film / SCENE).read_text()
    out = _conform(example_film, write_timeline(film, "otio", tmp_path / "recut.otio"), "--write")
    assert out.exit_code == 0, out.output
    assert "note: the edit plays scene-02, scene-01 in that order: the film's order is film.yaml's" in out.output
    assert (example_film / SCENE).read_text() == before
    assert yaml.safe_load((example_film / "scenes" / "scene-02.yaml").read_text())["finishing"]["cut"] == ["1B", "1A"]


def test_an_edit_the_scene_file_cannot_hold_is_refused_with_the_manifests_own_words(cut, tmp_path):
    """Never a scene file slate cannot load: 1A cut down to 18 frames (its 2.5 s trimmed by 1.75)
    breaks the rule that a trimmed shot keeps a second."""
    edited = _timeline(cut)
    a = _clips(edited)["1A"]
    a.source_range = otio.opentime.TimeRange(a.source_range.start_time, otio.opentime.RationalTime(18, FPS))
    said = _refused(cut, tmp_path, edited)
    assert "the edit would make scenes/scene-01.yaml: finishing.shots.1A.trim_out: trims of 0s + 1.75s leave less " \
           "than 1s of a 2.5s shot" in said, said


@pytest.mark.parametrize("fmt", ["otio", "fcp7"])
def test_an_edit_holding_slates_own_lines_conforms_again_after_the_run_it_wrote(cut, tmp_path, fmt):
    """Issue 57: the editor drops 1D's picture and leaves the sound as it lies (its line clip with
    it). The conform writes the cut; the run after it records 1D as dropped and places no line of
    it; the same timeline conformed again was refused — "'scene-01 dialogue 1D-line-0.wav' … slate
    never placed this sound" — for the line clip slate itself exported. Now: no change, twice."""
    import json
    path = record_path(cut, "scene-01", "draft")
    record = json.loads(path.read_text())
    record["cues"].append({"file": "1D-line-0.wav", "media": str(cut / "1D-line-0.wav"), "kind": "dialogue",
                           "start": 8.5, "offset": 0.0, "seconds": 1.8, "gain_db": 0.0})
    record["lines"] = [{"speaker": "gabe", "text": "Too hot. Take it back.", "start": 8.5, "end": 10.3}]
    path.write_text(json.dumps(record))
    timeline = _timeline(cut)
    [line] = [c for t in timeline.audio_tracks() for c in t.find_clips() if "1D-line-0.wav" in c.name]
    assert line.name == "scene-01 dialogue 1D-line-0.wav gabe: Too hot. Take it back."
    video = timeline.video_tracks()[0]
    del video[video.index(_clips(timeline)["1D"])]          # a ripple delete of the picture alone
    edited = write_timeline(timeline, fmt, tmp_path / FORMATS[fmt])
    first = _conform(cut, edited, "--write")
    assert first.exit_code == 0 and "1D" not in _scene(cut)["finishing"]["cut"], first.output
    # The record the run after it writes: 1D dropped from the cut, no line of it placed.
    record["shots"] = [s for s in record["shots"] if s["shot"] != "1D"] + \
        [{**next(s for s in record["shots"] if s["shot"] == "1D"), "media": None, "status": "dropped"}]
    record["cues"] = [c for c in record["cues"] if c["file"] != "1D-line-0.wav"]
    record["lines"] = []
    path.write_text(json.dumps(record))
    again = _conform(cut, edited)
    assert again.exit_code == 0 and "never placed" not in again.output, again.output
    _no_money(cut)


@pytest.mark.parametrize("fmt", ["otio", "fcp7"])
def test_a_cue_made_to_a_brief_follows_its_brief_not_the_cues(cut, tmp_path, fmt):
    """Issue 59: the exported cue slate made (`music-the-mug.wav`, its brief in the clip's metadata)
    is neither refused as a sound slate never placed nor written into finishing.cues as a file the
    film does not have: a conform that trims 1D leaves it to its brief, which the next run spots on
    the new cut."""
    import json
    path = record_path(cut, "scene-01", "draft")
    record = json.loads(path.read_text())
    brief = {"name": "the-mug", "tempo": 100.0, "model": "local:local-composer-v1"}
    record["cues"].append({"file": "music-the-mug.wav", "media": str(cut / "music-the-mug.wav"), "kind": "music",
                           "start": 6.0, "offset": 0.0, "seconds": 7.5, "gain_db": -6.0, "ducks": True,
                           "brief": brief})
    path.write_text(json.dumps(record))
    timeline = _timeline(cut)
    [made] = [c for t in timeline.audio_tracks() for c in t.find_clips() if "music-the-mug.wav" in c.name]
    assert made.metadata["slate"]["brief"] == brief
    d = _clips(timeline)["1D"]
    d.source_range = otio.opentime.TimeRange(d.source_range.start_time,
                                             d.source_range.duration - otio.opentime.RationalTime(12, FPS))
    edited = write_timeline(timeline, fmt, tmp_path / FORMATS[fmt])
    done = _conform(cut, edited, "--write")
    assert done.exit_code == 0 and "never placed" not in done.output, done.output
    fin = _scene(cut)["finishing"]
    assert fin["shots"]["1D"]["trim_out"] == pytest.approx(0.5)
    assert "music-the-mug.wav" not in [c["file"] for c in fin.get("cues", [])] and fin["music"][0]["name"] == "the-mug"
    if fmt == "otio":   # the run after it left the cue out (its gate escalated it): the clip's own brief says what it is
        record["cues"] = [c for c in record["cues"] if c["file"] != "music-the-mug.wav"]
        path.write_text(json.dumps(record))
        again = _conform(cut, edited)
        assert again.exit_code == 0 and "never placed" not in again.output, again.output
    _no_money(cut)


def _two_takes_of_1d(cut) -> tuple[str, str]:
    """The rushes as two runs of the dailies leave them: 1D's clip made twice (take 1 in the cut,
    take 2 kept), each take a file in the film's storage. Returns the two files' paths."""
    from slate.flows.review.rushes import RushShot, RushTake, Rushes, rushes_path
    from slate.providers.storage_local import LocalStorage
    storage = LocalStorage(cut)
    uris = [storage.put_bytes(f"1D take {n}".encode(), "mp4") for n in (1, 2)]
    rushes = Rushes(film="night-diner", scene="scene-01", profile="draft", run_id="run-2", at="2026-11-28T00:00:00+00:00",
                    shots=[RushShot(shot="1D", keys={"clip": "key-of-1D"}, in_cut={"clip": 1}, status="approved",
                                    takes=[RushTake(kind="clip", take=n, uri=u, passed=True) for n, u in ((1, uris[0]),
                                                                                                       (2, uris[1]))])])
    path = rushes_path(cut, "scene-01", "draft")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(rushes.model_dump_json())
    return str(storage.open_local(uris[0]).resolve()), str(storage.open_local(uris[1]).resolve())


def _circles(cut) -> list:
    from slate.tasks.review.circle import words_of
    return [(w.shot, w.take, w.word) for w in words_of(Ledger.for_project(cut), "night-diner")]


def test_a_take_swapped_by_relinking_media_in_the_xml_is_circled(cut, tmp_path):
    """Issue 57: 1D's clip pointed at take 2's file in the FCP 7 XML, as an NLE relinks it, was
    `no change` (exit 0). It is "circle take 2 of shot 1D", written with --write as a person's
    word ($0, the ledger's approvals) that the next run obeys; the manifests are not touched."""
    _, second = _two_takes_of_1d(cut)
    before = (cut / SCENE).read_text()
    edited = _timeline(cut)
    clip = _clips(edited)["1D"]
    clip.media_reference = otio.schema.ExternalReference(target_url=Path(second).as_uri(),
                                                         available_range=clip.media_reference.available_range)
    path = write_timeline(edited, "fcp7", tmp_path / "cut.xml")
    said = _conform(cut, path)
    assert said.exit_code == 0 and "circle take 2 of shot 1D (the cut has take 1" in said.output, said.output
    assert "no change" not in said.output and _circles(cut) == []
    out = _conform(cut, path, "--write")
    assert out.exit_code == 0 and "circled: take 2 of scene-01/1D" in out.output, out.output
    assert _circles(cut) == [("1D", 2, "circled")] and (cut / SCENE).read_text() == before
    _no_money(cut)


def test_a_take_swapped_by_reel_in_the_edl_is_circled_and_one_slate_lacks_is_refused(cut, tmp_path):
    """The EDL's reel changed to take 2's (`1DT2`, with its reel-list row), its FROM CLIP comment
    left naming take 1's file as a hand edit leaves it: circled. Take 3, which slate never made:
    refused naming the clip, its record time and the takes there are."""
    _two_takes_of_1d(cut)
    path = write_timeline(_timeline(cut), "edl", tmp_path / "cut.edl")
    reels = path.with_name("cut.reels.csv")
    for take in (2, 3):
        path.write_text(path.read_text().replace("1DT1", f"1DT{take}").replace("1DT2", f"1DT{take}"))
        rows = reels.read_text().splitlines()
        reels.write_text("\n".join([*rows, f"1DT{take},scene-01,1D,{take},"]) + "\n")
        out = _conform(cut, path, "--write")
        if take == 2:
            assert out.exit_code == 0 and "circle take 2 of shot 1D" in out.output, out.output
            assert _circles(cut) == [("1D", 2, "circled")]
        else:
            assert out.exit_code == 1, out.output
            assert "is take 3 of shot 1D, which slate does not have (its takes are 1, 2" in out.output, out.output
            assert _circles(cut) == [("1D", 2, "circled")]     # nothing more written
    _no_money(cut)
