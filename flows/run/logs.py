"""slate's own log lines on the run's page: what the governor, the lifeline and the providers say
(a poll waited out, a call with no progress, a lease taken over) reaches the Prefect UI beside
Prefect's own lines, not only the process's console or a worker's log file.

Prefect sends its own loggers' records to the server; slate's loggers (`slate.*`) are plain
Python loggers. One handler on `slate`, Prefect's API handler, sends each INFO-or-worse record
logged inside a flow or task run to that run. A record logged outside any run (a lease keeper's
thread, a test's governor) stays where it was: it is neither sent nor warned about.

It must never send a record that has not passed the key redaction (providers/keys.py installs it
on the same loggers first) and never fail a log call.
"""
from __future__ import annotations

import logging
import sys

from prefect.exceptions import MissingContextError
from prefect.logging.handlers import APILogHandler

__all__ = ["slate_lines_on_the_run"]


class _ToTheRun(APILogHandler):
    """Prefect's API handler, quiet about records that belong to no run."""

    def handleError(self, record: logging.LogRecord) -> None:
        if isinstance(sys.exc_info()[1], MissingContextError):
            return
        super().handleError(record)


def slate_lines_on_the_run() -> None:
    """Send `slate.*` records at INFO and above to the run they are logged in (idempotent)."""
    logger = logging.getLogger("slate")
    if any(isinstance(h, _ToTheRun) for h in logger.handlers):
        return
    handler = _ToTheRun()
    handler.setLevel(logging.INFO)
    logger.addHandler(handler)
    if logger.level == logging.NOTSET or logger.level > logging.INFO:
        logger.setLevel(logging.INFO)
