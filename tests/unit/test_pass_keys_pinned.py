"""The can keys of films made before the passes were declared (issue 55 item 5): unchanged.

A pass over a clip (tasks/shot/clip_passes.py: the face swap, the upscale) keys a scene by its own part,
built from its declaration — no pass named by hand in tasks/run/can.py. That must not re-key any scene
a film already has in the can: the example film's scene-01 keys, computed as the reel computes
them (tasks/run/reel.py `scene_keys`, the scene flow's own), must be the ones the code gave before the
declarations existed — main at BEFORE.

Both are computed here, on one copy of the film, in this environment: BEFORE's code taken out of
the repository's own history (`git archive`), given today's version table and gate policy
(tasks/run/versions.py, governor/gates.toml: a stage or a gate that moved on re-keys by design), and
run in a subprocess; this code in the test. Pins
of the values were tried first and held the environment's bytes: twice in a day a fresh `make dev`
or another machine moved all five keys with no line of slate changed (BEFORE's code moved with
them), though the film's pictures and sounds had been rewritten with the standard library.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from slate.governor.policy import TakePolicy
from slate.manifests import load_film
from slate.manifests.settings import Settings, project_settings
from slate.tasks.run.reel import scene_keys

SWAP, UP = "comfyui:faceswap-reactor", "comfyui:upscale-esrgan"
#: main before this branch's first change: the pass declarations did not exist yet
BEFORE = "75b5e5c"
REPO = Path(__file__).resolve().parents[2]


def _key(root: Path, settings: Settings) -> str:
    film = load_film(root)
    [(key, _)] = scene_keys(root, film, settings, ["scene-01"],
                            TakePolicy(settings.max_takes, settings.no_progress_takes)).values()
    return key


def _keys(root: Path) -> dict[str, str]:
    """The five cases' keys (the same function runs under BEFORE's code: `_before`)."""
    scene = root / "scenes" / "scene-01.yaml"
    # 1D asks for a face swap of both its characters (the example asks for none)
    scene.write_text(scene.read_text().replace("- id: 1D\n  characters:\n  - gabe\n  - jenny\n",
                                               "- id: 1D\n  face_swap: [gabe, jenny]\n  characters:\n  - gabe\n  - jenny\n"))
    base = project_settings(root)
    draft, final = (base.model_copy(update={"profile": p}) for p in ("draft", "final"))
    both = {"faceswap_model": SWAP, "upscale_model": UP}
    return {"draft": _key(root, draft),
            "draft, swap and upscale models": _key(root, draft.model_copy(update=both)),
            "final": _key(root, final),
            "final, swap and upscale models": _key(root, final.model_copy(update=both)),
            "final, upscale model only": _key(root, final.model_copy(update={"upscale_model": UP}))}


def _before(root: Path, tmp: Path) -> dict[str, str]:
    """`_keys` of `root` as BEFORE's code gives them: its tree out of the repository's history,
    first on the path of a fresh interpreter (over this checkout's editable install)."""
    tree = tmp / "before"
    tree.mkdir()
    try:
        archive = subprocess.run(["git", "-C", str(REPO), "archive", BEFORE], capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"this checkout lacks commit {BEFORE} of the repository's history (a shallow clone?): {exc}")
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    # With today's version table and gate policy: a stage's version or a gate's line moving on (a
    # gate made better) re-keys what it made by design; what is held here is that the pass
    # declarations' structure re-keys nothing.
    # (BEFORE's tree is laid out as it was then: its modules outside the rooms of 2026-11-30)
    for then, now in (("tasks/versions.py", "tasks/run/versions.py"), ("governor/gates.toml",) * 2):
        (tree / then).write_text((REPO / now).read_text())
    me = Path(__file__).read_text()
    body = me[me.index("def _key("):me.index("def _before(")]
    script = "\n".join(["import json, sys", "from pathlib import Path",
                        "from slate.governor.policy import TakePolicy", "from slate.manifests import load_film",
                        "from slate.manifests.settings import Settings, project_settings",
                        "from slate.tasks.reel import scene_keys", f"SWAP, UP = {SWAP!r}, {UP!r}", body,
                        "import slate; print(slate.__file__)", "print(json.dumps(_keys(Path(sys.argv[1]))))"])
    out = subprocess.run([sys.executable, "-c", script, str(root)], cwd=tree, capture_output=True, text=True,
                         env={**__import__("os").environ, "PYTHONPATH": str(tree)})
    assert out.returncode == 0, out.stderr[-3000:]
    where, said = out.stdout.strip().splitlines()[-2:]
    assert Path(where).resolve().is_relative_to(tree.resolve()), where    # BEFORE's slate, not this checkout's
    got: dict[str, str] = json.loads(said)
    return got


def test_the_example_keeps_its_scene_keys_with_a_face_swap_and_an_upscale(example_film, tmp_path, monkeypatch):
    import shutil
    monkeypatch.delenv("SLATE_FPS", raising=False)
    # The example as BEFORE wrote it: no continuity ledger (issue 58, after BEFORE; BEFORE's loader
    # refuses the fields), no cue made to a brief (issue 59, likewise). A film without them keeps
    # its prompts and keys word for word.
    import yaml
    scene = example_film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(scene.read_text())
    doc.pop("continuity", None)
    doc.get("finishing", {}).pop("music", None)
    film_yaml = example_film / "film.yaml"
    film_doc = yaml.safe_load(film_yaml.read_text())
    for delivery in film_doc.get("finishing", {}).get("delivery", {}).values():
        delivery.pop("stems", None)   # issue 59's stems, after BEFORE likewise
    film_yaml.write_text(yaml.safe_dump(film_doc, sort_keys=False))
    for shot in doc["shots"]:
        shot.pop("continuity", None)
    scene.write_text(yaml.safe_dump(doc, sort_keys=False))
    twin = tmp_path / "twin"
    shutil.copytree(example_film, twin)
    now, before = _keys(example_film), _before(twin, tmp_path)
    assert len(set(before.values())) == len(before)      # five cases, five keys: each case keys apart
    assert now == before
