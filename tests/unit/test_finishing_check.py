"""The assembly manifest at `slate check`: bad cues, LUTs, trims and delivery targets refused with
the file, the shot and the field named, before any money is spent."""
from __future__ import annotations

from pathlib import Path

import yaml

from slate.media import run
from slate.tasks.run.preflight import preflight


def _edit(root: Path, scene_finishing: dict | None = None, film_finishing: dict | None = None) -> None:
    if scene_finishing is not None:
        path = root / "scenes" / "scene-01.yaml"
        doc = yaml.safe_load(path.read_text())
        doc["finishing"] = scene_finishing
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
    if film_finishing is not None:
        doc = yaml.safe_load((root / "film.yaml").read_text())
        doc["finishing"] = film_finishing
        (root / "film.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))


def _lines(root: Path) -> list[str]:
    return [str(p) for p in preflight(root).problems]


def test_a_good_assembly_checks_clean(example_film):
    (example_film / "audio").mkdir(exist_ok=True)
    run(["-nostdin", "-y", "-f", "lavfi", "-i", "sine=f=220:d=4", str(example_film / "audio" / "theme.wav")])
    (example_film / "grade").mkdir(exist_ok=True)
    (example_film / "grade" / "film.cube").write_text("LUT_3D_SIZE 2\n" + "".join(
        f"{r} {g} {b}\n" for b in (0, 1) for g in (0, 1) for r in (0, 1)))
    _edit(example_film, {"fade_in": 1, "fade_out": 1,
                         "shots": {"1A": {"trim_in": 0.25, "exposure": 0.2}, "1C": {"dip_out": {"colour": "#ffffff"}}},
                         "cues": [{"file": "audio/theme.wav", "kind": "music", "shot": "1B", "at": 0.5}]},
          {"lut": "grade/film.cube", "delivery": {"draft": {"loudness": "broadcast", "mezzanine": "dnxhr_lb"}}})
    assert _lines(example_film) == []
    _edit(example_film, {"cues": [{"file": "audio/theme.wav", "kind": "music", "at": 100}]})
    checked = preflight(example_film)
    assert checked.ok and [str(w) for w in checked.warnings if "finishing" in str(w)] == [
        "scenes/scene-01.yaml: finishing.cues[0].at: starts at 100s, after the scene's end (25.25s): not heard"]


def test_bad_cues_and_luts_are_refused_naming_file_shot_and_field(example_film):
    (example_film / "audio").mkdir(exist_ok=True)
    (example_film / "audio" / "noise.wav").write_bytes(b"RIFF not really a wave file")
    run(["-nostdin", "-y", "-f", "lavfi", "-i", "sine=f=220:d=1", str(example_film / "audio" / "short.wav")])
    (example_film / "grade").mkdir(exist_ok=True)
    (example_film / "grade" / "hot.cube").write_text("LUT_3D_SIZE 2\n" + "0 0 0\n" * 7 + "1.2 1 1\n")
    (example_film / "grade" / "scene.cube").write_text("LUT_3D_SIZE 3\n0 0 0\n")
    _edit(example_film,
          {"lut": "grade/scene.cube",
           "cues": [{"file": "audio/noise.wav", "kind": "dialogue", "shot": "1C"},
                    {"file": "audio/missing.flac", "kind": "effects"},
                    {"file": "audio/short.wav", "kind": "music", "offset": 3}]},
          {"lut": "grade/hot.cube"})
    lines = _lines(example_film)
    assert ("film.yaml: finishing.lut: LUT 'grade/hot.cube' does not read: line 9: 1.2 1 1 is outside 0..1"
            in lines), lines
    assert any(l.startswith("scenes/scene-01.yaml: finishing.lut: LUT 'grade/scene.cube' does not read: "
                            "LUT_3D_SIZE 3 needs 27 rows") for l in lines), lines
    assert ("scenes/scene-01.yaml: shot 1C: finishing.cues[0].file: audio file 'audio/noise.wav' does not "
            "decode as audio" in lines), lines
    assert "scenes/scene-01.yaml: finishing.cues[1].file: audio file 'audio/missing.flac' not found" in lines, lines
    assert any(l.startswith("scenes/scene-01.yaml: finishing.cues[2].offset: offset 3s is past the end of "
                            "'audio/short.wav'") for l in lines), lines


def test_manifest_mistakes_in_the_edit_name_their_field(example_film):
    _edit(example_film, {"shots": {"9Z": {"trim_in": 1}, "1A": {"trim_in": 1, "trim_out": 1}},
                         "cues": [{"file": "audio/x.ogg", "kind": "music"}]},
          {"delivery": {"draft": {"loudness": -3}}})
    lines = _lines(example_film)
    assert any(l.startswith("film.yaml: finishing.delivery.draft.loudness:") and "-36 and -8 LUFS" in l
               for l in lines), lines
    assert any(l.startswith("scenes/scene-01.yaml: finishing.cues.0.file:") and "WAV, FLAC, MP3 or AAC" in l
               or l.startswith("scenes/scene-01.yaml: finishing.cues[0].file:") for l in lines), lines


def test_a_trim_that_leaves_a_shot_or_a_dissolve_no_room_is_refused(example_film):
    _edit(example_film, {"shots": {"1C": {"trim_in": 2.7}}})
    lines = _lines(example_film)
    assert any(l.startswith("scenes/scene-01.yaml: finishing.shots.1C.trim_out:") and "less than 1s" in l
               for l in lines), lines
    # 1B dissolves 1.5s into 1C (3.5s): fine untrimmed, refused once 1C is trimmed to 1.2s.
    path = example_film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["shots"][1]["transition_out"] = {"kind": "dissolve", "duration": 1.5}
    doc["finishing"] = {"shots": {"1C": {"trim_in": 2.3}}}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    lines = _lines(example_film)
    assert ("scenes/scene-01.yaml: shot 1B: finishing.shots.trim_out: once trimmed, a 1.5s dissolve must be "
            "shorter than the shot it enters (1C, 1.2s)") in lines, lines
