"""Model audio through whole runs: the switch reaches the video model and the scene's key, and each clip keeps its own sound in the cut."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
import pytest
import yaml
from typer.testing import CliRunner
from slate.manifests.options import RunOptions
from slate.governor.ledger import Ledger
from slate.media import probe
from slate.providers.local import tone_of
from slate.providers.storage_local import LocalStorage
from slate.cli import app
from tests.scene_cuts import keep_shots

from tests.integration.test_model_audio import FILM, VEO, _level_db, _pcm, _pitch, _set


# -- 1. offline: the rehearsal exercises the same path ------------------------------------------
@pytest.mark.e2e
@pytest.mark.usefixtures("local_calls")
def test_a_scene_rendered_with_model_audio_keeps_each_clips_own_sound(example_film, prefect_harness):
    from slate.flows.scene import scene_flow
    keep_shots(example_film, ("1A", "1B"))
    scene = example_film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(scene.read_text())
    doc.pop("finishing", None)   # no music, no dialogue: every sound in the cut is a clip's own
    scene.write_text(yaml.safe_dump(doc, sort_keys=False))
    _set(example_film, model_audio=True, price_as=f"replicate:{VEO}")

    result = scene_flow(project=str(example_film), return_state=True).result()
    assert [s.status for s in result.shots] == ["approved", "approved"], result.shots

    storage = LocalStorage(example_film)
    rows = [r for r in Ledger.for_project(example_film).rows(film=FILM) if r.stage == "video"]
    assert rows and all(r.status == "succeeded" for r in rows), rows
    tones = {}
    for r in rows:
        # Asked for its sound, and booked at Veo 3.1 fast's with-audio price: 4 s (its shortest) × $0.15.
        assert r.parameters.get("audio") is True, r.parameters
        assert r.actual_cost == Decimal("0.600000"), (r.shot, r.actual_cost)
        clip = probe(storage.open_local(r.artifact_uri))
        assert clip.has_audio, r.shot
        tones.setdefault(r.shot, set()).add(tone_of(r.parameters["seed"]))

    cut = Path(result.output)
    assert probe(cut).has_audio
    for shot, (start, end) in {"1A": (0.0, 2.5), "1B": (2.5, 5.5)}.items():
        middle = _pcm(cut, start + 0.4, end - start - 0.8)   # clear of the cut's edges
        level, pitch = _level_db(middle), _pitch(middle)
        assert level > -35, (shot, level)                          # sound, not the silence a silent clip gets
        assert any(abs(pitch - t) <= 4 for t in tones[shot]), (shot, pitch, tones[shot])   # and this clip's


# -- 1b. `slate run --model-audio` / `--no-model-audio`: the run option, declared once ---------
def _video_rows(root: Path) -> list:
    return [r for r in Ledger.for_project(root).rows(film=FILM) if r.stage == "video"]


@pytest.mark.e2e
@pytest.mark.usefixtures("local_calls")
def test_the_model_audio_switch_reaches_the_video_model_and_the_scenes_key(example_film, prefect_harness):
    """Typed on `slate run`, the switch is what the local video model is asked: its clips and the
    cut carry their own sound. Set "off" on the film flow's form (as a deployment's run is given
    it) over a slate.toml that turns it on, it wins: the clips are made again without sound, not
    served from the can where the clips with sound are (that the switch is in the scene's key is
    held by tests/integration/test_run_options.py)."""
    from slate.flows.film import film_flow
    keep_shots(example_film, ("1A",))
    storage = LocalStorage(example_film)
    first = CliRunner().invoke(app, ["run", str(example_film), "--model-audio"])
    assert first.exit_code == 0, (first.output, first.exception)
    asked = _video_rows(example_film)
    assert asked and all(r.parameters.get("audio") is True for r in asked), [r.parameters for r in asked]
    assert all(probe(storage.open_local(r.artifact_uri)).has_audio for r in asked if r.artifact_uri)
    sound = _pcm(example_film / "renders" / f"{FILM}-draft.mp4", 0.4, 1.5)
    assert _level_db(sound) > -35 and any(abs(_pitch(sound) - tone_of(r.parameters["seed"])) <= 4 for r in asked)

    _set(example_film, model_audio=True)
    second = film_flow(project=str(example_film), options=RunOptions(model_audio="off"), return_state=True)
    assert second.is_completed(), second
    new = [r for r in _video_rows(example_film) if r.call_id not in {a.call_id for a in asked}]
    assert new and not any(r.parameters.get("audio") for r in new), [r.parameters for r in new]   # not asked
    assert not any(probe(storage.open_local(r.artifact_uri)).has_audio for r in new if r.artifact_uri)
