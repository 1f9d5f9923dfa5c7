"""The reel: a finished film served by `slate run` before Prefect starts, and every refusal.

One real run (a two-scene film, one shot each, `slate run` in a subprocess with its own
PREFECT_HOME and the embedded server) makes the master; each test works on a copy of it. A
served run is counted where its effects would land: no Prefect database appears in a fresh
PREFECT_HOME, the ledger has no new row, the cuts are the same bytes. Each refusal (a changed
manifest, reference, setting, gate policy, stage version; the film's cut gone or changed; a
scene's cut gone from storage) is asked of `tasks.run.reel.recognise` in this process, and one
changed setting goes through the command line to a real run.
"""
from __future__ import annotations

from tests.scene_cuts import fit_music

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from PIL import Image

from slate.governor.ledger import Ledger
from slate.manifests import load_film
from slate.manifests.settings import project_settings
from slate.providers.registry import storage_for
from slate.server import LOG_NAME
from slate.tasks.run import can
from slate.tasks.run.reel import reel_path, recognise
from tests.prefect_homes import slate_env
from tests.runs import summary_of

SCENES = ["scene-01", "scene-02"]
#: One worker for the module: each xdist worker builds its own module fixture, and `filmed` is a
#: whole `slate run` (~45 s on two loaded cores) that three workers built three times.
pytestmark = pytest.mark.xdist_group("film-can")


def _slate_run(root: Path, home: Path, *args: str, **env) -> subprocess.CompletedProcess:
    clean = slate_env(home, SLATE_PAID_CALLS_ALLOWED="local", **env)
    return subprocess.run([sys.executable, "-m", "slate.cli", "run", str(root), *args], env=clean,
                          capture_output=True, text=True, timeout=900)


def _summary(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith(("output:", "contact sheet:", "film:"))]


def test_the_reels_path_imports_no_prefect():
    """The command line, the preflight and the reel load without Prefect (~3 s of imports on
    2 cores): a served film never pays for it. Run in a fresh interpreter: this one has it."""
    code = ("import sys, slate.cli, slate.tasks.run.preflight, slate.tasks.run.reel; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'prefect'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"


@pytest.fixture(scope="module")
def filmed(example_master, tmp_path_factory):
    """A two-scene film after one clean `slate run`: (its folder, that run's stdout)."""
    root = tmp_path_factory.mktemp("reel") / "film"
    shutil.copytree(example_master, root, ignore=shutil.ignore_patterns(".slate", "renders"))
    path = root / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["shots"] = doc["shots"][:1]
    fit_music(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    doc["id"], doc["title"], doc["shots"][0]["seed"] = "scene-02", "Again", 5
    (root / "scenes" / "scene-02.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    film = yaml.safe_load((root / "film.yaml").read_text())
    film["scenes"] = ["scenes/scene-01.yaml", "scenes/scene-02.yaml"]
    (root / "film.yaml").write_text(yaml.safe_dump(film, sort_keys=False))
    first = _slate_run(root, root.parent / "home")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert reel_path(root, "night-diner", "draft").is_file(), "a clean run writes its reel"
    return root, first.stdout


@pytest.fixture
def film(filmed, tmp_path) -> Path:
    root = tmp_path / "film"
    shutil.copytree(filmed[0], root)
    return root


def _digests(root: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((root / "renders").glob("*.mp4"))}


def _ledger_rows(root: Path) -> int:
    with Ledger.for_project(root) as ledger:
        return len(ledger.rows(film="night-diner"))


def _asked(root: Path, **overrides):
    """Ask the reel as `slate run` asks it: in a process with no Prefect server configured.

    This xdist worker may hold the session's test harness, whose server URL is in its settings
    (the reel then refuses, rightly: test_a_configured_server_is_never_vouched_for)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        assert not os.environ.get("PREFECT_API_URL")
        return recognise(root, load_film(root), project_settings(root, **overrides), SCENES)


@pytest.mark.e2e
def test_an_unchanged_film_is_served_without_prefect(filmed, film, tmp_path):
    home, cuts, rows = tmp_path / "home", _digests(film), _ledger_rows(film)
    served = _slate_run(film, home)
    assert served.returncode == 0, served.stdout[-3000:] + served.stderr[-3000:]
    assert "provider calls made: 0" in served.stdout and "state: Completed" in served.stdout
    # The same summary as the run that made it, paths in this copy.
    assert _summary(served.stdout) == [line.replace(str(filmed[0]), str(film)) for line in _summary(filmed[1])]
    assert not (home / LOG_NAME).exists(), "no Prefect server was started"
    assert _ledger_rows(film) == rows and _digests(film) == cuts


@pytest.mark.e2e
def test_a_configured_server_is_never_vouched_for(film, monkeypatch):
    """With a server configured the budget block may have changed where the reel cannot see:
    the film goes through Prefect, whatever the reel says."""
    assert not isinstance(_asked(film), str)
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    assert recognise(film, load_film(film), project_settings(film), SCENES) == \
        "a Prefect server is configured: the budget block is there"


@pytest.mark.e2e
def test_a_removed_scene_cut_is_put_back_from_storage(film):
    (film / "renders" / "scene-02-draft.mp4").unlink()
    served = _asked(film)
    assert not isinstance(served, str), served
    assert (film / "renders" / "scene-02-draft.mp4").is_file()


@pytest.mark.e2e
def test_a_folder_without_the_scenes_renders_is_served_from_storage(film):
    """A worker's folder never saw the scenes made on another worker: their cuts and contact
    sheets come back from storage (by the content URIs the can wrote down), the same bytes."""
    renders = film / "renders"
    made = {p.name: p.read_bytes() for p in renders.iterdir() if p.name.startswith("scene-")}
    assert any(name.endswith(".png") for name in made) and any(name.endswith(".mp4") for name in made), sorted(made)
    for name in made:
        (renders / name).unlink()
    served = _asked(film)
    assert not isinstance(served, str), served
    assert {n: (renders / n).read_bytes() for n in made} == made


@pytest.mark.e2e
def test_a_changed_manifest_is_not_served(film):
    path = film / "scenes" / "scene-02.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["shots"][0]["action"] = doc["shots"][0]["action"] + " She looks up."
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    assert _asked(film) == "the film's inputs changed"


@pytest.mark.e2e
def test_a_changed_reference_is_not_served(film):
    lock = load_film(film)
    scene = lock.scene("scene-01")
    sheet = film / lock.character(scene.shots[0].characters[0]).turnaround_key
    with Image.open(sheet) as img:
        img = img.convert("RGB")
        r, g, b = img.getpixel((0, 0))
        img.putpixel((0, 0), ((r + 1) % 256, g, b))
        img.save(sheet)
    assert _asked(film) == "the film's inputs changed"


@pytest.mark.e2e
def test_a_changed_setting_is_not_served(film, monkeypatch):
    assert _asked(film, profile="final") == "no reel written yet"  # another profile: another reel
    monkeypatch.setenv("SLATE_DRIFT_EVERY", "4")
    assert _asked(film) == "the film's inputs changed"


@pytest.mark.e2e
def test_a_changed_gate_policy_is_not_served(film):
    (film / "gates.toml").write_text("[keyframe.local]\nmotion = { threshold = 0.45 }\n")
    assert _asked(film) == "the film's inputs changed"


@pytest.mark.e2e
def test_a_new_stage_version_is_not_served(film, monkeypatch):
    monkeypatch.setattr(can, "STAGES", (*can.STAGES[:-1], can.STAGES[-1] + "-next"))
    assert _asked(film) == "the film's inputs changed"


@pytest.mark.e2e
def test_a_film_cut_gone_or_changed_is_not_served(film):
    cut = film / "renders" / "night-diner-draft.mp4"
    with cut.open("ab") as f:
        f.write(b"\0")
    assert _asked(film) == "the film's cut is gone or differs"
    cut.unlink()
    assert _asked(film) == "the film's cut is gone or differs"


@pytest.mark.e2e
def test_a_scene_whose_cut_is_gone_from_storage_is_not_served(film):
    storage = storage_for(film)
    for record in (film / ".slate" / "results").glob("scene-*.json"):
        storage.open_local(json.loads(record.read_text())["cut"]).unlink()
    assert _asked(film) == "scene scene-01 is not in the can"


@pytest.mark.e2e
def test_a_changed_setting_runs_the_film_through_prefect(film, tmp_path):
    home, rows = tmp_path / "home", _ledger_rows(film)
    again = _slate_run(film, home, SLATE_DRIFT_EVERY="4")
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert (home / LOG_NAME).exists(), "a real run: the embedded server started"
    assert "served from the can, nothing ran" not in again.stdout
    assert "state: Completed" in again.stdout and _ledger_rows(film) >= rows
    served = _slate_run(film, tmp_path / "home2", SLATE_DRIFT_EVERY="4")
    assert "served from the can, nothing ran" in served.stdout, "the new reel serves the next run"


@pytest.mark.e2e
def test_a_film_with_escalated_shots_is_served_from_the_reel_too(film, example_master, tmp_path):
    """Issue 35: a film whose shots escalated on the gates' verdicts is what its inputs always
    come to: run again unchanged it is served from the reel like a clean one — its escalations
    said again, no Prefect server, no provider call, no ledger row (every re-run once wrote its
    escalations again and re-ran their scenes). scene-02 becomes 1F and 1G chained from it, Leo
    said to walk in and never coming (the local painter's clip keeps 1F's last frame's cast)."""
    path = film / "scenes" / "scene-02.yaml"
    doc = yaml.safe_load(path.read_text())
    shots = {s["id"]: s for s in yaml.safe_load((example_master / "scenes" / "scene-01.yaml").read_text())["shots"]}
    first, chained = shots["1F"], shots["1G"]
    first["chain"] = False
    chained.update(chain=True, characters=["jenny", "leo"], enters=["leo"])
    doc["shots"], doc["location"] = [first, chained], "diner"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))

    shot = _slate_run(film, tmp_path / "home", SLATE_MAX_TAKES="2")
    assert shot.returncode == 0, shot.stdout[-3000:] + shot.stderr[-3000:]
    assert "state: Escalated" in shot.stdout and "escalated scene-02/1G: " in shot.stdout, shot.stdout[-3000:]
    rows, cuts = _ledger_rows(film), _digests(film)

    served = _slate_run(film, tmp_path / "home2", SLATE_MAX_TAKES="2")
    assert served.returncode == 0, served.stdout[-3000:] + served.stderr[-3000:]
    assert "served from the can, nothing ran" in served.stdout, served.stdout[-3000:]
    assert "state: Escalated" in served.stdout and "escalated: scene-02 (1 shot(s) escalated: 1G)" in served.stdout
    # The same escalation said (the first run also said each of 1G's moves as it made them: no terminal).
    assert [line for line in summary_of(served.stdout).splitlines() if "scene-02/1G" in line] == \
        [line for line in summary_of(shot.stdout).splitlines() if "scene-02/1G" in line]
    assert "provider calls made: 0" in served.stdout
    assert not (tmp_path / "home2" / LOG_NAME).exists(), "no Prefect server was started"
    assert _ledger_rows(film) == rows and _digests(film) == cuts
