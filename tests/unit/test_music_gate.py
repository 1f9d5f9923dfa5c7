"""The music gate (issue 59, media/music_gate.py) on a seeded sample of benchmarks/music_gate.py's
corpus: clean cues from the local composer pass, and each fault — short, long, silent, clipped,
off tempo, a hit a beat late — fails on its own check; a cue too short to hold a pulse is
"cannot judge", never a pass."""
from __future__ import annotations

import numpy as np

from benchmarks.music_gate import KINDS, run
from slate.media.cue import RATE, compose
from slate.media.music_gate import judge_cue


def test_a_seeded_sample_of_faulty_cues_is_each_caught_by_its_own_check_and_clean_ones_pass():
    rows = run(n=100, seed=5, sample=4)
    assert rows["clean"].failed == 0, rows["clean"].examples
    for kind in KINDS[1:]:
        assert rows[kind].failed == rows[kind].named == 4, (kind, rows[kind].examples)


def test_the_composer_lands_its_hits_and_holds_its_tempo_and_level():
    x = compose(128, 10.0, [2.5, 7.25], seed=3)
    assert len(x) == 10 * RATE and float(np.abs(x).max()) < 0.9
    checks = {c.name: c for c in judge_cue(x, RATE, seconds=10.0, bpm=128, hits=[2.5, 7.25])}
    assert all(c.passed for c in checks.values()), checks
    assert abs(checks["tempo"].value - 128) < 1.0
    assert np.array_equal(x, compose(128, 10.0, [2.5, 7.25], seed=3))     # the same brief, the same cue


def test_a_pulse_that_cannot_be_read_is_cannot_judge_not_a_pass():
    x = compose(60, 1.5, seed=1)       # a beat and a half: no pulse to read
    [tempo] = [c for c in judge_cue(x, RATE, seconds=1.5, bpm=60) if c.name == "tempo"]
    assert not tempo.passed and tempo.reason.startswith("cannot judge")
