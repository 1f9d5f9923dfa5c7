"""A run resolved once (issue 55, item 4): `slate estimate`, `slate check`, `slate doctor`, `slate
status` and the agent's `estimate` tool show the same cap and the same expected total, for a film
whose run cap a person edited in the Prefect UI's budget block and whose shots speak, are
lip-synced, have a face swapped and are upscaled (tasks/run/run_plan.py `plan_run`).

The block lives on the worker's Prefect test server; the film gets an id of its own, so its own block.
"""
from __future__ import annotations

import re
import uuid
from decimal import Decimal
from pathlib import Path

import anyio
import pytest
import yaml
from typer.testing import CliRunner

from slate.cli import app
from slate.governor.budget import block_name, film_block, load_or_create
from slate.manifests import load_film
from slate.manifests.options import RunOptions
from slate.manifests.settings import project_settings

pytestmark = pytest.mark.usefixtures("prefect_harness")

EDITED = Decimal("7.25")
RATES = """
[models."local:local-ffmpeg-v1"]
kind = "video"
per_second = { "480p" = "0.10", "720p" = "0.20", "1080p" = "0.40" }
billing_seconds = "exact"
source = "a test's price"
confidence = "D"

[models."local:local-lipsync-v1"]
kind = "lipsync"
per_second = "0.05"
billing_seconds = "exact"
source = "a test's price"
confidence = "D"

[models."comfyui:faceswap-*"]
kind = "faceswap"
per_gpu_second = "0.002"
gpu_seconds_per_second = 30
source = "a test's rented GPU"
confidence = "D"

[models."comfyui:upscale-*"]
kind = "upscale"
per_gpu_second = "0.001"
gpu_seconds_per_second = 30
source = "a test's rented GPU"
confidence = "D"
"""
VERDICT = re.compile(r"expected total: (\$[\d,.]+) — (?:fits|does NOT fit) the per-run cap (\$[\d,.]+)")


def _film(root: Path) -> str:
    """The example as a final run that speaks, lip-syncs, swaps a face and upscales, under a film
    id of its own; its run cap then edited to $7.25 in the budget block, as a person does in the UI."""
    film_id = f"plan-{uuid.uuid4().hex[:10]}"
    doc = yaml.safe_load((root / "film.yaml").read_text())
    doc["id"] = film_id
    (root / "film.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    toml = re.sub(r'(?m)^profile = "draft"', 'profile = "final"', (root / "slate.toml").read_text())
    (root / "slate.toml").write_text(toml + '\nfaceswap_model = "comfyui:faceswap-reactor"\n'
                                            'upscale_model = "comfyui:upscale-esrgan"\n')
    (root / "rates.toml").write_text(RATES)
    path = root / "scenes" / "scene-01.yaml"
    scene = yaml.safe_load(path.read_text())
    [shot] = [s for s in scene["shots"] if s["id"] == "1D"]
    shot["face_swap"] = ["jenny"]
    path.write_text(yaml.safe_dump(scene, sort_keys=False))
    block, _ = load_or_create(film_id, film_block(project_settings(root)))
    block.model_copy(update={"run_cap_usd": EDITED}).save(block_name(film_id), overwrite=True)
    return film_id


def _said(text: str) -> tuple[str, str]:
    found = VERDICT.findall(text)
    assert len(found) == 1, text[-3000:]
    return found[0]


def test_every_command_and_the_agent_show_the_cap_edited_in_the_block_and_one_total(example_film, fakes,
                                                                                     monkeypatch):
    from slate.agent.server import build
    from slate.agent.session import Session
    from slate.tasks.run.run_plan import plan_run
    _film(example_film)
    runner = CliRunner()
    shown = {}
    for command in ("estimate", "check", "doctor", "status"):
        out = runner.invoke(app, [command, str(example_film)])
        assert out.exit_code == 0, (command, out.output[-3000:])
        shown[command] = _said(out.output)
        if command != "status":   # status takes no options: it says the film's next run as slate.toml has it
            assert f"run cap ${EDITED} (the budget block slate-budget/" in out.output, (command, out.output[-2000:])

    # The agent's session, in this process: its estimate tool runs `slate estimate` with what the
    # session has left as its cap — the film's run cap, read from the block, nothing spent yet.
    from prefect.settings import PREFECT_API_URL
    monkeypatch.setenv("PREFECT_API_URL", PREFECT_API_URL.value())   # the tool's `slate estimate` reads the block too
    session = Session(example_film, cap=None, max_profile="final")
    try:
        assert session.run_cap == EDITED
        # An agent names its run's profile (a profile it does not name is draft, never slate.toml's).
        result = anyio.run(build(session).call_tool, "estimate", {"profile": "final"})
        shown["agent"] = _said(" ".join(getattr(c, "text", "") for c in result.content))
    finally:
        session.close()

    # One plan under all of them: the estimate counts speech, the lip-sync, the face swap and the upscale.
    plan = plan_run(load_film(example_film), RunOptions())
    kinds = plan.estimate.by_kind()
    assert kinds["speech"] > 0 and kinds["passes"] > 0, kinds
    one = {v for v in shown.values()}
    assert one == {(f"${plan.estimate.total:,.2f}", f"${EDITED}")}, shown


def test_check_and_estimate_take_the_run_options(example_film):
    """`slate check` and `slate estimate` take every run option a run takes (but how a run waits for
    a fallback's approval and how many scenes it makes at once): a told cap and passes reach both."""
    _film(example_film)
    runner = CliRunner()
    told = ["--cap", "3.50", "--upscale-model", "none", "--faceswap-model", "comfyui:faceswap-reactor",
            "--lipsync-model", "none"]
    seen = set()
    for command in ("check", "estimate"):
        out = runner.invoke(app, [command, str(example_film), *told])
        assert out.exit_code == 0, (command, out.output[-3000:])
        assert "run cap $3.50 (told to this run)" in out.output, out.output[-2000:]
        assert "upscale comfyui" not in out.output and "lip-sync local" not in out.output, out.output[-2000:]
        seen.add(_said(out.output))
    assert len(seen) == 1 and next(iter(seen))[1] == "$3.50", seen
    for command in ("check", "estimate", "doctor"):
        helped = runner.invoke(app, [command, "--help"])
        assert "--approve-fallback" not in helped.output and "--max-parallel-scenes" not in helped.output
