"""The tests' Prefect server app: Prefect's own (`prefect.server.api.server:create_app`, what
`prefect_test_harness` serves), with its background worker polling every 2 s instead of 250 ms.

Prefect 3.8 runs its server's background work on an in-memory docket whose worker checks for due
tasks four times a second, each check a few Lua scripts on an in-process fake Redis: 1.4 s of CPU
a minute for a server nobody asks anything (60 idle seconds, measured: 1.38 s; at 2 s, 0.66 s).
The suite keeps one such server per pytest worker for all of its 25-28 minutes, on two cores.
Polling every 2 s, a background task (a late run marked, an expired pause failed, a lease given
back) happens up to 2 s later; no test of the harness waits on one to the second. slate's own
servers (slate/server.py) are not changed: a film's runs keep Prefect's timing.

Served by `QuietServer` (tests/conftest.py `prefect_harness`); never imported by slate.
"""
from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

POLL = timedelta(seconds=2)


def create_app() -> Any:
    """uvicorn's factory: Prefect's app, its docket worker polling every POLL."""
    import docket
    import docket.worker
    from prefect.server.api.server import create_app as prefects

    original = docket.worker.Worker.__init__

    def quieter(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("minimum_check_interval", POLL)
        kwargs.setdefault("scheduling_resolution", POLL)
        original(self, *args, **kwargs)

    docket.worker.Worker.__init__ = quieter   # type: ignore[method-assign]
    docket.Worker.__init__ = quieter          # type: ignore[method-assign]
    return prefects()


def quiet_server_class() -> type:
    """Prefect's SubprocessASGIServer serving `create_app` above: the same command, environment
    and lifecycle (its start, health wait and stop), another factory."""
    import os

    import prefect
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import get_current_settings

    class QuietServer(SubprocessASGIServer):
        def _run_uvicorn_command(self) -> subprocess.Popen[Any]:
            env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
                   "PREFECT__SERVER_FINAL": "1",
                   **get_current_settings().to_environment_variables(exclude_unset=True)}
            # This folder first, for tests.quiet_prefect; Prefect's own folder after, as it serves it.
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (str(Path(__file__).resolve().parents[1]), str(prefect.__module_path__.parent),
                            env.get("PYTHONPATH", "")) if p)
            return subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "tests.quiet_prefect:create_app",
                                     "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "error",
                                     "--lifespan", "on"], env=env)

    return QuietServer
