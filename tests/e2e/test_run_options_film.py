"""A two-scene film run checks itself once (the preflight's one pass over the film, held on a real run)."""

from __future__ import annotations

import logging
import re
import pytest
from slate.cli import app
from tests.scene_cuts import two_short_scenes

from tests.integration.test_run_options import runner


class _Count(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.mark.e2e
def test_a_two_scene_film_run_checks_itself_once(example_film, prefect_harness, local_calls):
    two_short_scenes(example_film)
    counted = _Count()
    logger = logging.getLogger("slate.preflight")
    logger.addHandler(counted)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        done = runner.invoke(app, ["run", str(example_film)])
    finally:
        logger.removeHandler(counted)
        logger.setLevel(level)
    assert done.exit_code == 0, (done.output, done.exception)
    assert re.search(r"state: Completed", done.output), done.output
    assert (example_film / "renders" / "night-diner-draft.mp4").is_file()
    # The CLI's check, handed to the film flow and to both scenes: one, not N+2 = 4.
    assert counted.lines == [f"preflight of {example_film}"], counted.lines
