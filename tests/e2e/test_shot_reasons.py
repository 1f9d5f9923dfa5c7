"""A shot's reason is slate's own words: never a Prefect internal, never another shot's reason.

Real `slate run`s (typer's CliRunner) on the session's Prefect test server, the fake providers
over real HTTP standing in for Replicate:

  * a chain whose first clip's jobs fail at the provider: that shot's reason is its failed takes in
    slate's words (never "UnfinishedRun: Run is in PENDING state"), and the chain goes on;
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


def test_a_chained_shots_failed_jobs_are_its_own_takes_and_the_chain_goes_on(example_film, fakes):
    keep_shots(example_film, ("1D", "1E"))   # 1E chains from 1D's last frame
    without_finishing(example_film)
    # Both of 1D's jobs fail at the provider: a failed job is a failed take (docs/takes.md), so 1D
    # is retaken to its cap and escalates, in slate's words; 1E, whose chain lost its start
    # frame, starts from its own panel (re-anchored) as after any escalated shot, and is made.
    fakes.faults({"provider": "replicate", "op": "submit", "kind": "job_failed", "times": 2})
    out = runner.invoke(app, ["run", str(example_film), *MIX, "--video-model", LITE, "--max-takes", "2"])
    lines = shot_lines(out.output)
    assert set(lines) == {"1D"}, out.output[-3000:]
    for word in PREFECT_WORDS:
        assert word not in out.output, out.output[-3000:]
    assert "escalated scene-01/1D: clip failed the gate in 2 takes" in lines["1D"], lines
    assert "was unusable" in lines["1D"] and "JobEnded" not in lines["1D"], lines
    assert len(fakes.jobs("replicate")) == 3, fakes.jobs("replicate")      # 1D's two takes, 1E's one


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
