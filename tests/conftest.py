"""Shared fixtures: the example film (made once, copied per test) and one Prefect harness.

The harness costs 9–12 s to start (PREFECT.md), so there is one per test session, started
only by tests that ask for it, and stopped by Prefect's own context manager.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # no network here, and no need
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


@pytest.fixture(scope="session")
def example_master(tmp_path_factory) -> Path:
    from manifests import write_example_film
    return write_example_film(tmp_path_factory.mktemp("example") / "night-diner")


@pytest.fixture
def example_film(example_master, tmp_path) -> Path:
    """A fresh copy of the example film for one test (never the session master)."""
    dest = tmp_path / "film"
    shutil.copytree(example_master, dest, ignore=shutil.ignore_patterns(".slate", "renders"))
    return dest


@pytest.fixture(scope="session")
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness
    with prefect_test_harness(server_startup_timeout=120):
        yield
