"""A run halted by one refusal says it once (issue 56, item 8): a 402 that halted the run stopped
every shot in flight with the same words, and the scene's end said them once per shot (ten times
in a ten-shot scene). flows/run/scene_result.py `halted_message` says each reason once, with its shots."""
from __future__ import annotations

from slate.flows.run.scene_result import ShotReport, halted_message


def test_one_reason_many_shots_is_said_once_with_its_shots():
    halt = "stopped before it finished: shot 1A halted the run (replicate: out of credit (402))"
    shots = [ShotReport(shot=s, panel_takes=1, video_takes=1, status="halted", reason=halt) for s in ("1B", "1C", "1D")]
    shots.insert(0, ShotReport(shot="1A", panel_takes=1, video_takes=1, status="halted",
                               reason="replicate: out of credit (402)"))
    said = halted_message(shots)
    assert said.count("halted the run") == 1 and "(shots 1B, 1C, 1D)" in said, said
    assert said.startswith("replicate: out of credit (402); "), said
