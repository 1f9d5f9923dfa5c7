"""A film's frame rate (issue 39): film.yaml's `fps` takes whole and NTSC rates, a run is made at
it (slate.toml's `fps` or SLATE_FPS over it), and a film at a whole rate keeps every key it had."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from slate.governor.policy import TakePolicy
from slate.manifests import load_film
from slate.manifests.load import ManifestError
from slate.manifests.schema import Film
from slate.manifests.settings import Settings, check_settings, project_settings
from slate.tasks.shot.plan import plan_from_project
from slate.tasks.run.reel import film_key, scene_keys


def _film_fps(root: Path, value) -> None:
    path = root / "film.yaml"
    doc = yaml.safe_load(path.read_text())
    if value is None:
        doc.pop("fps")
    else:
        doc["fps"] = value
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


@pytest.mark.parametrize("written, kept", [(24, 24), (24.0, 24), ("30", 30), (23.976, 23.976), ("23.98", 23.976),
                                           ("24000/1001", 23.976), (29.97, 29.97), ("30000/1001", 29.97),
                                           (59.94, 59.94)])
def test_film_yaml_takes_whole_and_ntsc_rates_and_keeps_a_whole_one_an_int(written, kept):
    film = Film(id="f", title="F", fps=written, scenes=["scenes/scene-01.yaml"])
    assert film.fps == kept and type(film.fps) is type(kept)
    assert Settings(fps=written).fps == kept and type(Settings(fps=written).fps) is type(kept)


def test_a_run_is_made_at_the_films_rate_unless_slate_toml_or_the_environment_says_another(example_film, monkeypatch):
    monkeypatch.delenv("SLATE_FPS", raising=False)
    assert project_settings(example_film).fps == 24
    _film_fps(example_film, "30000/1001")
    assert project_settings(example_film).fps == 29.97
    with (example_film / "slate.toml").open("a") as f:
        f.write("fps = 25\n")
    assert project_settings(example_film).fps == 25
    monkeypatch.setenv("SLATE_FPS", "23.976")
    assert project_settings(example_film).fps == 23.976


def test_a_film_rate_refused_is_said_against_film_yaml_and_leaves_the_settings_whole(example_film, monkeypatch):
    monkeypatch.delenv("SLATE_FPS", raising=False)
    _film_fps(example_film, 25.5)
    settings, problems = check_settings(example_film)
    assert problems == [] and settings is not None and settings.fps == 24   # not a slate.toml problem
    with pytest.raises(ManifestError) as refused:
        load_film(example_film)
    [line] = [str(p) for p in refused.value.problems]
    assert line.startswith("film.yaml: fps: must be a whole number of frames a second (1 to 120) or an NTSC rate"), line
    assert "not 25.5" in line


def _keys(root: Path, settings: Settings) -> tuple[dict[str, str], str, list[str]]:
    """The example's scene keys, its reel key and its shots' clip requests as keyed, at `settings`."""
    film = load_film(root)
    scenes = [s.id for _, s in film.scenes]
    keys = scene_keys(root, film, settings, scenes, TakePolicy(settings.max_takes, settings.no_progress_takes))
    run = keys[scenes[0]][1]
    plans = plan_from_project(film, scenes[0], settings.profile, settings.fps, panel_model=run.lineup.panel,
                              video_model=run.lineup.videos[0], audio=run.model_audio)
    requests = [p.clip_request("cas://start", None, 1).fingerprint() for p in plans]
    return ({s: k for s, (k, _) in keys.items()}, film_key(film.film.id, settings.profile, settings.fps,
                                                           [k for k, _ in keys.values()]), requests)


@pytest.mark.parametrize("written", [24, 24.0, "24", None])
def test_a_film_at_a_whole_rate_keeps_every_key_it_had(example_film, monkeypatch, written):
    """However 24 is written (or left to the default), the scene keys, the reel's key and every
    clip request (what a paid take is keyed and fingerprinted by) are those of the int 24 that
    every setting held before NTSC rates existed: nothing made is paid for twice."""
    monkeypatch.delenv("SLATE_FPS", raising=False)
    # As before: the int 24, put in place unvalidated (the setting was `int`, and film.yaml unread).
    before = _keys(example_film, project_settings(example_film).model_copy(update={"fps": 24}))
    _film_fps(example_film, written)
    settings = project_settings(example_film)
    assert type(settings.fps) is int
    assert _keys(example_film, settings) == before
