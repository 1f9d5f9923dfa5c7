"""`slate`, run the way the console script runs it, with one test-only addition: the process can
be held at one named point of a paid call (`SLATE_TEST_HOLD_AT=video:after_submit`) — until it is
killed, or until the file `SLATE_TEST_RELEASE` appears — and every point is written to
`SLATE_TEST_TRACE` (JSON lines).

Test code only: production code announces the points (governor.chokepoint.add_listener) and
nothing in it listens, holds or writes a trace.

    python tests/holding_cli.py run FILM [options]          # the slate command line
    python tests/holding_cli.py film FILM PROFILE PRICE_AS  # a film run, as the nightly deployment makes it
"""
from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from slate.manifests.options import RunOptions
from slate.governor.chokepoint import add_listener  # noqa: E402


def read_trace(trace: Path) -> list[dict]:
    """The points a held run wrote to its trace so far (a test reads it while the run goes on)."""
    if not trace.is_file():
        return []
    out = []
    for line in trace.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:  # a line being written as we read
            pass
    return out


_held = threading.Event()


def _listener(point: str, spec, details: dict) -> None:
    trace, hold = os.environ.get("SLATE_TEST_TRACE"), os.environ.get("SLATE_TEST_HOLD_AT")
    release = os.environ.get("SLATE_TEST_RELEASE")
    holding = point == hold and not _held.is_set()
    if holding:
        _held.set()  # hold once: the first call to reach the point
    if trace:
        event = {"point": point, "pid": os.getpid(), "shot": spec.context.shot, "take": spec.context.take,
                 "time": time.time(), **{k: v for k, v in details.items() if isinstance(v, (str, int, float))}}
        if holding:
            event["holding"] = True
        with open(trace, "a") as f:
            f.write(json.dumps(event) + "\n")
            f.flush()
            os.fsync(f.fileno())
    while holding and not (release and os.path.exists(release)):  # wait here to be killed, or released
        time.sleep(0.05)


if __name__ == "__main__":
    add_listener(_listener)
    if sys.argv[1] == "film":
        from slate.flows.film import film_flow
        state = film_flow(project=sys.argv[2], options=RunOptions(profile=sys.argv[3], price_as=sys.argv[4]), return_state=True)
        print("film state:", state.name, state.message or "")
        sys.exit(0 if state.is_completed() else 1)
    from slate.cli import app
    app(prog_name="slate")
