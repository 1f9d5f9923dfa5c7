"""What `slate run` prints at its end names every file the film-maker receives (issue 39): each
scene's cut and the deliverables beside it (mezzanine, poster, subtitles), and the film's cut —
a one-scene film's too, a file of its own in renders/ — with the film's subtitles."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from slate.commands.report import report_run


def _scene(renders: Path, scene: str, extras: list[tuple[str, str]]) -> SimpleNamespace:
    return SimpleNamespace(scene=scene, profile="draft", shots=[], spent_usd="0", provider_calls=0,
                           output=str(renders / f"{scene}-draft.mp4"), duration=3.0, width=640, height=360,
                           contact_sheet=str(renders / f"{scene}-draft-contact.png"),
                           deliverables=[SimpleNamespace(kind=kind, file=name) for kind, name in extras])


def test_every_deliverable_of_a_one_scene_film_is_printed(tmp_path, capsys):
    renders = tmp_path / "renders"
    scene = _scene(renders, "scene-01", [("mezzanine", "scene-01-draft.mov"),
                                         ("poster", "scene-01-draft-poster.png"),
                                         ("subtitles", "scene-01-draft.srt")])
    film = SimpleNamespace(film="night-diner", output=str(renders / "night-diner-draft.mp4"), duration=3.0,
                           scenes=[scene], subtitles=[str(renders / "night-diner-draft.srt"),
                                                      str(renders / "night-diner-draft.vtt")])
    report_run(film, SimpleNamespace(name="Completed", message=""), 1.0)
    said = capsys.readouterr().out.splitlines()
    for kind, name in [("output", "scene-01-draft.mp4"), ("mezzanine", "scene-01-draft.mov"),
                       ("poster", "scene-01-draft-poster.png"), ("subtitles", "scene-01-draft.srt"),
                       ("film", "night-diner-draft.mp4"), ("subtitles", "night-diner-draft.srt"),
                       ("subtitles", "night-diner-draft.vtt")]:
        assert any(line.startswith(f"{kind}:") and line.split()[1] == str(renders / name) for line in said), \
            (kind, name, said)
