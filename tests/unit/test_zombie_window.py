"""`slate up --zombie-window` takes no window shorter than three heartbeats (deployments/automations.py).

A run paused for approval beats every 30 s; in CI's stop 71 a window of two beats (60 s) marked such
a waiting run Crashed when one beat came late on a loaded machine. A shorter window is refused
before anything starts, saying why."""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

from slate.cli import app
from slate.deployments.automations import HEARTBEAT_SECONDS, MIN_ZOMBIE_WINDOW


def test_the_least_window_is_three_heartbeats():
    assert MIN_ZOMBIE_WINDOW == 3 * HEARTBEAT_SECONDS == 90


@pytest.fixture
def film(example_film):
    """The example film; should the guard ever let `up` through, what it started is stopped again
    (`slate down`, by process id) so that a broken guard fails here and leaves no server behind."""
    yield example_film
    from slate import stack
    if stack.read(example_film) is not None:
        CliRunner().invoke(app, ["down", str(example_film)])


@pytest.mark.parametrize("window", ["60", "89"])
def test_a_window_of_two_beats_is_refused_before_anything_starts(film, window):
    from slate import stack
    out = CliRunner().invoke(app, ["up", str(film), "--zombie-window", window])
    assert out.exit_code == 2, out.output
    assert "at least 90 seconds" in out.output and "a late one must not crash a live run" in out.output
    assert stack.read(film) is None            # nothing was started
