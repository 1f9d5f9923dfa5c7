"""Stand-ins for the embedded Prefect server's app factory (uvicorn's --factory), for the tests of
how a start is waited for (tests/e2e/test_server_start.py): one that works and writes
for a while before it answers, as a real server importing on a busy machine does, and one that
stalls — no CPU, no log, no port — as a hung one does. Neither is slate's code."""
from __future__ import annotations

import os
import sys
import time

BUSY_SECONDS = "SLATE_TEST_SERVER_BUSY_SECONDS"


def busy_then_healthy():
    """Busy (CPU and a log line every half second) for BUSY_SECONDS, then an app answering /api/health."""
    until = time.monotonic() + float(os.environ.get(BUSY_SECONDS, "6"))
    while time.monotonic() < until:
        spin = time.monotonic() + 0.5
        while time.monotonic() < spin:
            pass
        print("still importing", file=sys.stderr, flush=True)

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})
    return app


def stalled():
    time.sleep(3600)
