"""`slate export`'s timelines read back with OpenTimelineIO: clip count, durations, transitions,
media paths, cue tracks and markers as written, in otio, FCP 7 XML and CMX 3600 EDL."""
from __future__ import annotations

from decimal import Decimal

import opentimelineio as otio
import pytest

from slate.tasks.edit.export import build_timeline, write_timeline

FPS = 24


def _record(tmp_path) -> dict:
    clips = {s: tmp_path / f"{s}.mp4" for s in ("1A", "1B", "1C", "1D")}
    shots = [
        {"shot": "1A", "status": "approved", "media": str(clips["1A"]), "seconds": 2.5, "trim_in": 0.25,
         "trim_out": 0.0, "transition": ["cut", 0.0], "take": 1, "scores": {"identity": 0.93}, "warnings": []},
        {"shot": "1B", "status": "approved", "media": str(clips["1B"]), "seconds": 3.0, "trim_in": 0.0,
         "trim_out": 0.0, "transition": ["dissolve", 0.75], "take": 2, "scores": {"identity": 0.9},
         "warnings": ["sharpness 0.41 under 0.5 (warn)"]},
        {"shot": "1C", "status": "escalated", "reason": "identity 0.42 under 0.7", "media": None, "seconds": 3.5,
         "transition": ["cut", 0.0]},
        {"shot": "1D", "status": "approved", "media": str(clips["1D"]), "seconds": 2.5, "trim_in": 0.0,
         "trim_out": 0.5, "transition": ["cut", 0.0], "take": 1, "scores": {}, "warnings": []},
    ]
    cues = [{"file": "theme.wav", "media": str(tmp_path / "theme.wav"), "kind": "music", "start": 0.0, "offset": 0.0,
             "seconds": 6.0, "gain_db": -6.0},
            {"file": "line.wav", "media": str(tmp_path / "line.wav"), "kind": "dialogue", "start": 2.0,
             "offset": 0.5, "seconds": 1.5, "gain_db": 0.0}]
    return {"version": 1, "film": "night-diner", "scene": "scene-01", "profile": "draft", "fps": FPS, "width": 854,
            "height": 480, "output": str(tmp_path / "scene-01-draft.mp4"), "shots": shots, "cues": cues}


def _clips(timeline) -> list:
    return [c for t in timeline.video_tracks() for c in t.find_clips()]


def test_the_otio_export_reads_back_as_written(tmp_path):
    record = _record(tmp_path)
    built = build_timeline([record], {("scene-01", "1B"): Decimal("0.40")})
    path = write_timeline(built, "otio", tmp_path / "cut.otio")
    back = otio.adapters.read_from_file(str(path))
    clips = _clips(back)
    assert [c.name for c in clips] == ["scene-01 1A", "scene-01 1B", "scene-01 1D"]
    assert [c.media_reference.target_url for c in clips] == [f"file://{record['shots'][i]['media']}" for i in (0, 1, 3)]
    # 1A 2.5s trimmed 0.25 at its head; 1B 3s giving 0.375s to the dissolve; 1D 2.5s, 0.375s to the
    # dissolve, 0.5s trimmed off its tail: the track lasts the cut's 2.25 + 3 + 2 - 0.75 seconds.
    assert [c.source_range.duration.to_seconds() for c in clips] == [2.25, 2.625, 1.625]
    assert clips[0].source_range.start_time.to_seconds() == 0.25
    assert clips[2].source_range.start_time.to_seconds() == 0.375
    assert back.video_tracks()[0].duration().to_seconds() == pytest.approx(2.25 + 3 + 2 - 0.75)
    transitions = [t for t in back.video_tracks()[0] if isinstance(t, otio.schema.Transition)]
    assert len(transitions) == 1 and transitions[0].in_offset.to_seconds() + transitions[0].out_offset.to_seconds() == 0.75
    meta = clips[1].metadata["slate"]
    assert (meta["shot"], meta["take"], meta["cost_usd"], meta["scores"]) == ("1B", 2, "0.40", {"identity": 0.9})
    markers = {m.name: m for c in clips for m in c.markers}
    assert set(markers) == {"1B warned", "1C escalated"}
    assert markers["1C escalated"].metadata["slate"]["comment"] == "identity 0.42 under 0.7"
    audio = {t.name: t for t in back.audio_tracks()}
    assert set(audio) == {"A dialogue", "A music"}
    line = list(audio["A dialogue"].find_clips())[0]
    assert audio["A dialogue"].range_of_child(line).start_time.to_seconds() == 2.0
    assert line.source_range.duration.to_seconds() == 1.5


def test_the_fcp7_and_edl_exports_read_back(tmp_path):
    record = _record(tmp_path)
    built = build_timeline([record])
    xml = otio.adapters.read_from_file(str(write_timeline(built, "fcp7", tmp_path / "cut.xml")))
    clips = _clips(xml)
    assert len(clips) == 3
    assert sum(c.source_range.duration.to_seconds() for c in clips) == pytest.approx(2.25 + 2.625 + 1.625)
    assert [c.media_reference.target_url.removeprefix("file://") for c in clips] == \
        [record["shots"][i]["media"] for i in (0, 1, 3)]
    assert len(xml.audio_tracks()) == 2
    assert any(isinstance(t, otio.schema.Transition) for t in xml.video_tracks()[0])

    edl = otio.adapters.read_from_file(str(write_timeline(built, "edl", tmp_path / "cut.edl")), rate=FPS)
    clips = _clips(edl)
    assert len(clips) == 3 and not edl.audio_tracks()
    assert edl.video_tracks()[0].duration().to_seconds() == pytest.approx(2.25 + 3 + 2 - 0.75)
    assert any(isinstance(t, otio.schema.Transition) for t in edl.video_tracks()[0])


def test_each_line_of_dialogue_is_a_marker_on_the_clip_the_cut_hears_it_over(tmp_path):
    """Issue 37: a line where the cut hears it (seconds into the scene's cut) is a marker on the
    clip playing then, at its place in that clip's source and as long as it lasts there, named by
    its speaker and words — in the OTIO, as a marker of the FCP 7 XML and a LOC line of the EDL."""
    record = _record(tmp_path)
    record["lines"] = [{"speaker": "nina", "text": "Almost there.", "start": 3.0, "end": 4.0},
                       {"speaker": "gabe", "text": "Coffee, black.", "start": 5.0, "end": 6.0}]
    timeline = build_timeline([record])
    by = {c.name: c for c in _clips(timeline)}
    # 1A plays 0-2.25 s (trimmed 0.25 s); 1B from 2.25 s, from its own second 0; 1D from 4.875 s,
    # 0.375 s into it (half the dissolve from 1B).
    [nina] = [m for m in by["scene-01 1B"].markers if m.color == otio.schema.MarkerColor.GREEN]
    assert nina.name == "nina: Almost there."
    assert nina.marked_range.start_time.to_frames() == round(0.75 * FPS)
    assert nina.marked_range.duration.to_frames() == FPS
    [gabe] = [m for m in by["scene-01 1D"].markers if m.color == otio.schema.MarkerColor.GREEN]
    assert gabe.name == "gabe: Coffee, black." and gabe.marked_range.start_time.to_frames() == round(0.5 * FPS)
    assert not [m for m in by["scene-01 1A"].markers if m.color == otio.schema.MarkerColor.GREEN]
    assert "<name>nina: Almost there.</name>" in write_timeline(timeline, "fcp7", tmp_path / "t.xml").read_text()
    edl = write_timeline(timeline, "edl", tmp_path / "t.edl").read_text()
    assert "GABE: COFFEE, BLACK." in edl and "NINA: ALMOST THERE." in edl
    # A record written before lines were kept reads as before: no line, no green marker.
    older = _record(tmp_path)
    assert not [m for c in _clips(build_timeline([older])) for m in c.markers
                if m.color == otio.schema.MarkerColor.GREEN]


@pytest.mark.parametrize("dissolve", [0.625, 0.75])   # 15 frames (odd) and 18 (even) at 24 fps
def test_a_dissolve_of_any_frame_count_keeps_the_timeline_as_long_as_the_cut(tmp_path, dissolve):
    """Issue 39: the cut is the kept frames less each dissolve's frames (media/commands.py
    concat_args); each export's halves of a dissolve sum to its frames, odd or even, so the
    timeline is as long as the cut and every later cut lands on the picture's frame. Each half
    rounded on its own made an odd dissolve a frame longer: the timeline a frame short."""
    record = _record(tmp_path)
    record["shots"][1]["transition"] = ["dissolve", dissolve]
    built = build_timeline([record])
    frames = round(dissolve * FPS)
    kept = [54, 72, 48]   # 1A (2.5 s, 0.25 s trimmed in), 1B (3 s), 1D (2.5 s, 0.5 s trimmed out)
    [video] = built.video_tracks()
    assert video.duration().to_frames() == sum(kept) - frames
    [transition] = [t for t in video if isinstance(t, otio.schema.Transition)]
    assert transition.in_offset.to_frames() + transition.out_offset.to_frames() == frames
    clips = _clips(built)
    # 1D's cut point sits inside the dissolve: the dissolve begins where the cut's first frame of
    # 1D is (1B's last `frames` frames), and the cut point is its in_offset later.
    starts = [video.range_of_child(c).start_time.to_frames() for c in clips]
    assert starts[2] == 54 + 72 - frames + transition.in_offset.to_frames()
    for path in (write_timeline(built, "fcp7", tmp_path / "cut.xml"), write_timeline(built, "otio", tmp_path / "c.otio")):
        back = otio.adapters.read_from_file(str(path))
        assert back.video_tracks()[0].duration().to_frames() == sum(kept) - frames, path


def test_the_fcp7_sequence_carries_its_format(tmp_path):
    """Issue 39: an FCP 7 XML whose sequence format is empty opens at Premiere's or Resolve's own
    defaults; the sequence says the cut's width, height, frame rate and audio rate."""
    import xml.etree.ElementTree as ET
    record = _record(tmp_path)
    path = write_timeline(build_timeline([record]), "fcp7", tmp_path / "cut.xml")
    sequence = ET.parse(path).getroot().find(".//sequence")
    video = sequence.find("media/video/format/samplecharacteristics")
    audio = sequence.find("media/audio/format/samplecharacteristics")
    assert (video.findtext("width"), video.findtext("height"), video.findtext("rate/timebase")) == ("854", "480", "24")
    assert audio.findtext("samplerate") == "48000" and audio.findtext("depth") == "16"
    # ... and its tracks are still there, video before audio, after the format.
    assert [e.tag for e in sequence.find("media/video")][:2] == ["format", "track"]
    assert sequence.find("media/audio/track") is not None
    back = otio.adapters.read_from_file(str(path))
    assert len(back.video_tracks()) == 1 and len(_clips(back)) == 3


def test_the_finish_travels_with_the_edit(tmp_path):
    """Issue 39: the LUT by path and each shot's grade (metadata, an effect, an ASC CDL in the
    EDL), the fades and the dip as transitions, each cue's gain as FCP 7's Audio Levels and its
    fades as transitions, and every media's available range its true length."""
    import csv
    import xml.etree.ElementTree as ET
    record = _record(tmp_path)
    record["finish"] = {"lut": str(tmp_path / "film.cube"), "fade_in": 0.5, "fade_out": 1.0}
    record["shots"][0]["grade"] = {"exposure": 0.5, "saturation": 0.8}
    record["shots"][0]["transition"] = ["dip", 1.0]
    record["shots"][0]["dip_colour"] = "#ffffff"
    record["cues"][0].update({"file_seconds": 28.0, "fade_in": 1.0, "fade_out": 2.0, "ducks": True})
    built = build_timeline([record])
    back = otio.adapters.read_from_file(str(write_timeline(built, "otio", tmp_path / "cut.otio")))
    clips = _clips(back)
    assert clips[0].metadata["slate"]["grade"] == {"exposure": 0.5, "saturation": 0.8, "lut": str(tmp_path / "film.cube")}
    assert clips[1].metadata["slate"]["grade"] == {"lut": str(tmp_path / "film.cube")}   # the scene's LUT on every shot
    assert [e.effect_name for e in clips[0].effects] == ["slate.grade"]
    slope = clips[0].metadata["cdl"]["asc_sop"]["slope"][0]
    assert slope == pytest.approx(2 ** (0.5 / 2.2), abs=1e-6) and clips[0].metadata["cdl"]["asc_sat"] == 0.8
    [video] = back.video_tracks()
    kinds = [(t.name, t.in_offset.to_frames(), t.out_offset.to_frames()) for t in video
             if isinstance(t, otio.schema.Transition)]
    assert kinds == [("fade from black", 0, 12), ("dip to #ffffff", 12, 12), ("dissolve", 9, 9), ("fade to black", 24, 0)]
    assert [t.name for t in back.audio_tracks()] == ["A dialogue", "A music"]
    [music] = back.audio_tracks()[1].find_clips()
    assert music.media_reference.available_range.duration.to_seconds() == 28.0   # the file's own length
    assert music.metadata["slate"]["ducks"] is True and music.metadata["slate"]["gain_db"] == -6.0
    fades = [t for t in back.audio_tracks()[1] if isinstance(t, otio.schema.Transition)]
    assert [(t.in_offset.to_seconds(), t.out_offset.to_seconds()) for t in fades] == [(0, 1.0), (2.0, 0)]

    xml = ET.parse(write_timeline(built, "fcp7", tmp_path / "cut.xml")).getroot()
    levels = [f for f in xml.iter("filter") if f.findtext("effect/effectid") == "audiolevels"]
    assert len(levels) == 1 and float(levels[0].findtext("effect/parameter/value")) == pytest.approx(10 ** (-6 / 20), abs=1e-4)
    assert any(t.findtext("effect/name") == "Dip to Color Dissolve" for t in xml.iter("transitionitem"))

    edl = write_timeline(built, "edl", tmp_path / "cut.edl")
    text = edl.read_text()
    assert text.startswith("TITLE: night-diner scene-01 (draft)\nFCM: NON-DROP FRAME\n")
    assert "*ASC_SOP (1.17062 1.17062 1.17062) (0.0 0.0 0.0) (1.0 1.0 1.0)" in text and "*ASC_SAT 0.8" in text
    assert "* DIP TO #FFFFFF" in text
    reels = list(csv.DictReader((tmp_path / "cut.reels.csv").open()))
    assert [(r["reel"], r["shot"], r["file"]) for r in reels] == \
        [("1AT1", "1A", record["shots"][0]["media"]), ("1BT2", "1B", record["shots"][1]["media"]),
         ("1DT1", "1D", record["shots"][3]["media"])]
    assert all(f"{r['reel']:<8} V" in text for r in reels)   # each reel named in its event's column


def test_a_graded_copy_replaces_the_clip_and_says_so(tmp_path):
    record = _record(tmp_path)
    built = build_timeline([record], media={("scene-01", "1B"): str(tmp_path / "graded-1B.mp4")})
    clips = _clips(built)
    assert clips[1].media_reference.target_url == f"file://{tmp_path / 'graded-1B.mp4'}"
    assert clips[1].metadata["slate"]["media"] == "graded"
    assert clips[1].metadata["slate"]["source_media"] == record["shots"][1]["media"]
    assert clips[0].metadata["slate"]["media"] == "source"


def test_every_line_and_cue_is_at_the_record_time_the_mix_hears_it_in_otio_and_fcp7(tmp_path, monkeypatch):
    """Issue 57: the record holds the manifest's cues first, then the lines' (a manifest's dialogue
    at 16.15 s before the lines at 5.25, 8.5 and 14.15): each was laid after the last, so every
    line played on the wrong shot in Premiere or Resolve (1C's at frame 446 instead of 126). Read
    back from the .otio and from the FCP 7 XML as an NLE reads it, each line starts on its
    subtitle's frame, named with its speaker and words; a cue heard over another of its kind is
    on a second track of that kind; media relative to the run's folder is an absolute file:// URL."""
    record = _record(tmp_path)
    lines = [("1C-line-0.wav", "jenny", "Fresh pot.", 5.25, 2.2), ("1D-line-0.wav", "gabe", "Too hot.", 8.5, 1.8),
             ("1F-line-0.wav", "jenny", "Be right with you.", 14.15, 0.8)]
    record["cues"] = [
        {"file": "theme.wav", "media": str(tmp_path / "theme.wav"), "kind": "music", "start": 0.0, "offset": 0.0,
         "seconds": 18.0, "gain_db": -3.0},
        {"file": "audio/mia-line.wav", "media": "audio/mia-line.wav", "kind": "dialogue", "start": 16.15,
         "offset": 0.0, "seconds": 2.4, "gain_db": 0.0},
        {"file": "audio/over.wav", "media": str(tmp_path / "over.wav"), "kind": "dialogue", "start": 9.0,
         "offset": 0.0, "seconds": 1.0, "gain_db": 0.0},      # heard over 1D's line
        *({"file": f, "media": str(tmp_path / f), "kind": "dialogue", "start": at, "offset": 0.0, "seconds": n,
           "gain_db": 0.0} for f, _, _, at, n in lines)]
    record["lines"] = [{"speaker": who, "text": text, "start": at, "end": at + n} for _, who, text, at, n in lines]
    monkeypatch.chdir(tmp_path)
    built = build_timeline([record])
    for fmt, suffix in (("otio", ".otio"), ("fcp7", ".xml")):
        back = otio.adapters.read_from_file(str(write_timeline(built, fmt, tmp_path / f"cut{suffix}")))
        heard = {}
        for track in back.audio_tracks():
            for clip in track.find_clips():
                heard[clip.name] = (round(track.range_of_child(clip).start_time.to_seconds() * FPS),
                                    clip.media_reference.target_url)
        for f, who, text, at, _ in lines:
            [(name, (frame, _url))] = [(k, v) for k, v in heard.items() if f in k]
            assert abs(frame - round(at * FPS)) <= 1 and name.endswith(f"{f} {who}: {text}"), (fmt, name, frame, at)
        assert heard["scene-01 dialogue mia-line.wav"] == (round(16.15 * FPS), (tmp_path / "audio" / "mia-line.wav").as_uri())
        assert heard["scene-01 dialogue over.wav"][0] == 9 * FPS
        assert heard["scene-01 music theme.wav"][0] == 0
        assert len(back.audio_tracks()) == 3, fmt   # two of dialogue (one line heard over another), music
