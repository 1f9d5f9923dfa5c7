"""A shot's reason is slate's own words: never a Prefect internal, never another shot's reason.

Real `slate run`s (typer's CliRunner) on the session's Prefect test server, the fake providers
over real HTTP standing in for Replicate:

  * a chain whose first clip's job fails at the provider: the chained shot never starts, and
    its reason says it waited on that shot — not "UnfinishedRun: Run is in PENDING state";
  * a refused clip whose fallback waits for a person halts the run: the shots it stopped say
    which shot halted the run, instead of repeating that shot's own reason as theirs.
"""
from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from slate.cli import app
from tests.scene_cuts import keep_shots, without_finishing

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_harness")]
runner = CliRunner()
LITE = "replicate:bytedance/seedance-1-lite"
PRO = "replicate:bytedance/seedance-1-pro"
VEO = "gemini:veo-3.1-generate-preview"
MIX = ["--panel-model", "gemini", "--judge", "gemini"]
PREFECT_WORDS = ("UnfinishedRun", "PENDING", "NotReady", "its result is not available")


def shot_lines(output: str) -> dict[str, str]:
    """The summary's line of each shot that did not finish, by shot id."""
    return {m.group(2): m.group(0) for m in re.finditer(r"^  (\w+) scene-01/(\w+): .*$", output, re.M)}


def test_a_chained_shot_whose_previous_clip_failed_says_so(example_film, fakes):
    keep_shots(example_film, ("1D", "1E"))   # 1E chains from 1D's last frame
    without_finishing(example_film)
    # Every job of 1D fails: a failed job is a failed take (docs/takes.md), so 1D is retaken to
    # its cap and escalates; 1E never starts.
    fakes.faults({"provider": "replicate", "op": "submit", "kind": "job_failed", "times": 9})
    out = runner.invoke(app, ["run", str(example_film), *MIX, "--video-model", LITE, "--max-takes", "2"])
    lines = shot_lines(out.output)
    print(out.output[-2000:])
    assert set(lines) == {"1D", "1E"}, out.output[-3000:]
    for word in PREFECT_WORDS:
        assert word not in out.output, out.output[-3000:]
    assert "not started" in lines["1E"] and "shot 1D, before it in its chain, did not finish" in lines["1E"], lines
    assert "JobEnded" in lines["1D"] or "failed" in lines["1D"], lines


def test_shots_stopped_by_another_shots_halt_name_that_shot(example_film, fakes):
    keep_shots(example_film, ("1D", "1E"))   # 1E's clip starts only once 1D's loop has ended
    without_finishing(example_film)
    fakes.faults({"provider": "replicate", "op": "submit", "kind": "moderation"})
    out = runner.invoke(app, ["run", str(example_film), *MIX, "--video-model", f"{LITE},{VEO}", "--cap", "5"])
    assert out.exit_code == 1 and "state: Halted" in out.output, out.output[-3000:]
    lines = shot_lines(out.output)
    held = [s for s, line in lines.items() if "--approve-fallback" in line and "halted the run" not in line]
    assert held == ["1D"], lines          # the refused shot keeps its own reason: a person decides
    others = [s for s in lines if s not in held]
    assert others == ["1E"], lines        # stopped by 1D's halt before its first take
    for shot in others:
        assert f"shot {held[0]} halted the run" in lines[shot], lines[shot]
        assert not lines[shot].split(": ", 1)[1].startswith(f"shot {held[0]}:"), lines[shot]


def test_a_refused_clip_and_its_fallback_are_printed_as_they_happen(example_film, fakes):
    """A moderation refusal and the fallback it caused appeared only in the ledger: the run (no
    terminal: one line per move) says the fallback with the refusal's words as it happens, and a
    shot escalated after it says in its reason that the first model refused it."""
    keep_shots(example_film, ("1D",))
    without_finishing(example_film)
    fakes.faults({"provider": "replicate", "op": "submit", "kind": "moderation"},
                 {"provider": "replicate", "op": "submit", "kind": "moderation"})
    out = runner.invoke(app, ["run", str(example_film), *MIX, "--video-model", f"{LITE},{PRO}", "--approve-fallback",
                              PRO, "--cap", "50"])
    print(out.output[-3000:])
    moved = [line for line in out.output.splitlines() if f"fallback to {PRO}" in line]
    assert moved and f"{LITE} refused the clip by moderation" in moved[0] and "(E005)" in moved[0], \
        out.output[-3000:]
    line = shot_lines(out.output).get("1D", "")
    assert f"after {LITE} refused it by moderation, fell back to {PRO}" in line, out.output[-3000:]
