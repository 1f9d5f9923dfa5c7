"""A newcomer adds a provider by writing one module: the toy provider.

The toy vendor is one module written to a folder of its own, installed the way a package
installs a plugin (a dist-info naming it under the `slate.providers` entry-point group), plus its
rate-card rows in the film's own rates.toml — nothing of slate's edited. It then appears in
`slate doctor` (its own checks, its key read from the variable it declares, its base URL taken
from SLATE_TOY_BASE_URL), in `slate estimate` (its clips priced from its rows) and in the run form
(the provider enum of the scene and film flows' parameter schema). Each runs in its own process,
as a person would run it.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

TOY_MODULE = '''"""Toy: a video vendor that exists only in a test."""
from functools import partial

from slate.providers import http
from slate.providers.base import DoctorFinding
from slate.providers.keys import MissingKey, provider_key
from slate.providers.spec import Offer, ProviderSpec

NAME = "toy"


class ToyVideo:
    def __init__(self, model, *, storage, base_url):
        self.model, self.storage, self.base_url = model, storage, base_url


def video(model, *, storage, base_url, **_):
    return ToyVideo(model, storage=storage, base_url=base_url)


def doctor(*, base_url):
    try:
        key = provider_key(NAME)
    except MissingKey as exc:
        return [DoctorFinding(NAME, "key", False, str(exc))]
    return [DoctorFinding(NAME, "key", True, f"key {key.id} from {key.source}, for {http.where(base_url)}")]


PROVIDER = ProviderSpec(
    name=NAME,
    offers={"video": Offer(("toy-clip-1", "toy-clip-2"), {"final": "toy-clip-2"})},
    base_url="https://api.toy.example/v1",
    key_vars=("TOY_API_KEY",),
    video=video, doctor=doctor,
    translate_error=partial(http.error_for, NAME),
)
'''

TOY_RATES = '''
[models."toy:toy-clip-1"]
kind = "video"
per_second = { "480p" = "0.25", "720p" = "0.50", "1080p" = "1.00" }
billing_seconds = "ceil"
source = "the toy's own price list (a test)"
confidence = "D"
'''


def _plugin(root: Path) -> Path:
    """The toy's module and the dist-info that installs it as a plugin."""
    plugins = root / "plugins"
    info = plugins / "slate_toy-0.1.dist-info"
    info.mkdir(parents=True)
    (plugins / "toy_vendor.py").write_text(TOY_MODULE)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: slate-toy\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[slate.providers]\ntoy = toy_vendor\n")
    return plugins


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)


def test_a_toy_provider_is_one_module_and_its_rate_rows(example_film, tmp_path):
    plugins = _plugin(tmp_path)
    with (example_film / "rates.toml").open("a") as rates:
        rates.write(TOY_RATES)
    slate = str(Path(sys.executable).with_name("slate"))
    bare = {k: v for k, v in os.environ.items() if k != "TOY_API_KEY"}
    env = {**bare, "PYTHONPATH": os.pathsep.join([str(plugins), *filter(None, [os.environ.get("PYTHONPATH")])]),
           "TOY_API_KEY": "toy-key-for-a-test-0123", "SLATE_TOY_BASE_URL": "http://127.0.0.1:9/toy/v1"}

    # Without the plugin installed slate has no toy: what follows is the module's doing.
    unknown = _run([slate, "doctor", str(example_film), "--provider", "toy"], bare, tmp_path)
    assert unknown.returncode != 0 and "unknown provider 'toy'" in unknown.stderr + unknown.stdout

    doctor = _run([slate, "doctor", str(example_film), "--provider", "toy"], env, tmp_path)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    lines = doctor.stdout.splitlines()
    [key] = [line for line in lines if line.split()[1:3] == ["toy", "key"]]
    assert "from TOY_API_KEY, for http://127.0.0.1:9/toy/v1" in key and "toy-key-for-a-test" not in doctor.stdout
    assert any("video model toy:toy-clip-1 is priced (the toy's own price list" in line for line in lines)
    assert any(line.split()[1:3] == ["toy", "slots"] for line in lines)
    assert "video toy:toy-clip-1" in lines[-1]

    estimate = _run([slate, "estimate", str(example_film), "--provider", "toy"], env, tmp_path)
    assert estimate.returncode == 0, estimate.stdout + estimate.stderr
    assert "video priced as toy:toy-clip-1" in estimate.stdout.replace("\n", " ")
    # 9 shots of 26 s are 28 billed seconds at $0.25, retakes expected 1.1 times: $7.70 of video.
    assert "$7.70" in estimate.stdout

    form = _run([sys.executable, "-c", "import json\n"
                 "from prefect.utilities.callables import parameter_schema\n"
                 "from slate.deployments.register import form_schema\n"
                 "from slate.flows.film import film_flow\nfrom slate.flows.scene import scene_flow\n"
                 "print(json.dumps([form_schema(parameter_schema(f.fn).model_dump(), [])['definitions']['RunOptions']"
                 "['properties']['provider']['enum'] for f in (scene_flow, film_flow)]))"], env, tmp_path)
    assert form.returncode == 0, form.stderr
    for enum in json.loads(form.stdout.splitlines()[-1]):
        assert "toy" in enum and "local" in enum
