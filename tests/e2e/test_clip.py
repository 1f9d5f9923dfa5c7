"""CLIP embeddings, tested with an untrained model and a checkpoint file the test writes —
never with downloaded weights (none can be fetched here)."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("open_clip", reason="open-clip-torch is not installed (the slate[clip] extra)")

from slate.media.clip import load  # noqa: E402
from tests.scene_cuts import fit_music, without_finishing  # noqa: E402

MODEL = "ViT-B-32"


@pytest.fixture(scope="module")
def random_model():
    embedder, why = load(MODEL, "random")
    assert embedder is not None, why
    return embedder


def images():
    rng = np.random.default_rng(3)
    base = rng.integers(0, 255, (96, 160, 3), dtype=np.uint8)
    return base, base.copy(), 255 - base, rng.integers(0, 255, (96, 160, 3), dtype=np.uint8)


def test_identical_images_score_one_and_batches_have_the_right_shape(random_model):
    a, same, inverted, other = images()
    vectors = random_model.embed([a, same, inverted, other])
    assert vectors.shape[0] == 4 and vectors.shape[1] > 100
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert random_model.similarity(a, same) == pytest.approx(1.0, abs=1e-5)
    assert random_model.similarity(a, inverted) < 0.9999


def test_a_checkpoint_file_loads_the_same_model(random_model, tmp_path):
    import torch
    path = tmp_path / "clip-vitb32.pt"
    torch.save(random_model.model.state_dict(), path)
    from_file, why = load(MODEL, str(path))
    assert from_file is not None, why
    a, _, inverted, _ = images()
    assert np.allclose(from_file.embed([a, inverted]), random_model.embed([a, inverted]), atol=1e-5)


def test_without_weights_clip_is_off_with_a_reason(tmp_path):
    assert load(MODEL, "") == (None, "no CLIP weights set (clip_weights in slate.toml: a checkpoint path or a "
                                     "pretrained tag)")
    embedder, why = load(MODEL, str(tmp_path / "missing.pt"))
    assert embedder is None and "no CLIP checkpoint" in why


@pytest.mark.e2e
def test_a_run_with_clip_weights_measures_drift_with_embeddings(example_film, prefect_harness, local_calls,
                                                                random_model, tmp_path):
    """The weights come from a checkpoint file (written here from an untrained model): the drift
    check reads it and records CLIP similarities to the panel, the plate and each turnaround."""
    import torch
    import yaml

    from slate.flows.scene import scene_flow
    from slate.flows.run.scene_result import scene_result
    from slate.governor.ledger import Ledger  # noqa: F401 — the run's ledger is the project's
    weights = tmp_path / "clip.pt"
    torch.save(random_model.model.state_dict(), weights)
    path = example_film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["shots"] = [s for s in doc["shots"] if s["id"] in ("1D", "1E")]
    fit_music(doc)
    doc["shots"][-1]["transition_out"] = {"kind": "cut", "duration": 0}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    without_finishing(example_film)   # the drift check is the subject, not the finished cut
    (example_film / "slate.toml").write_text(f'drift_every = 2\ndrift_threshold = 1.0\nclip_weights = "{weights}"\n')
    state = scene_flow(project=str(example_film), return_state=True)
    result = scene_result(state)
    assert state.name == "Completed", state.message
    from prefect.client.orchestration import get_client
    from slate.tasks.gates.drift import _EMBEDDERS
    made = [e for e, _ in _EMBEDDERS.values() if e is not None]
    assert made and any(str(weights.name) in e.name for e in made)
    [checked] = [s for s in result.shots if s.drift is not None]
    assert checked.shot == "1E" and 0.0 <= checked.drift <= 1.0
    clip = checked.drift_detail["clip"]
    assert clip["model"].endswith(weights.name) and -1.0 <= clip["panel"] <= 1.0 and "plate" in clip
    assert len(clip["turnarounds"]) == len(doc["shots"][1]["characters"])
    del get_client
