"""Which tests the fast loop runs: the ones measured short, never the ones that start a Prefect server.

`make test-fast` is what a person waits for while writing code; `make test` runs every test. The
two differ only by `--fast`, which leaves out of this run (pytest's "deselected", every one of them
still run by `make test`):

- every test on `tests/slow_tests.txt`: measured at `SLOW` seconds or more of its own (its setup,
  call and teardown, less a setup of `SHARED_SETUP` or more, which is a worker's shared server
  or module fixture started by whichever test asked first), written by `make timings`;
- every test that asks for `prefect_harness`: the worker's Prefect test server costs it 10-17 s
  of CPU to start, whichever of its tests comes first.

A test added later is in the fast loop until `make timings` measures it (a run of some files
rewrites only their lines); the fast loop names any
test of its own that took `TOO_LONG` or more, so that a slow test does not stay there unseen.

It must never change what `make test` runs: without `--fast` nothing is deselected.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

LIST = Path(__file__).with_name("slow_tests.txt")
SLOW = 0.5            # seconds of a test's own: at or over it, a test is left to `make test`
SHARED_SETUP = 2.0    # a setup this long is a shared fixture's start, not the test's own cost
TOO_LONG = 2.0        # a test of the fast loop taking this long is named at the end
SERVER_FIXTURES = ("prefect_harness",)
KINDS = ("tests/unit/", "tests/integration/")   # make test-fast's folders: the only ones listed

HEADER = """\
# The tests `make test-fast` leaves to `make test` (tests/fast_loop.py): each measured at {slow} s or
# more of its own, on {day} with {workers} workers. Written by `make timings`; run it again to edit.
"""


def plain_id(node: str) -> str:
    """A test's id without the "@group" pytest-xdist's `--dist loadgroup` appends to a grouped test's."""
    return re.sub(r"@[^\[\]@:]*$", "", node)


def read_list(path: Path = LIST) -> dict[str, float]:
    """{node id: seconds measured} from the list; lines are "seconds  node id"."""
    slow: dict[str, float] = {}
    if not path.exists():
        return slow
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        seconds, _, node = line.strip().partition(" ")
        slow[node.strip()] = float(seconds)
    return slow


def own_seconds(phases: dict[str, float]) -> float:
    """A test's own cost from its phases' durations (see the module's docstring)."""
    setup = phases.get("setup", 0.0)
    return (setup if setup < SHARED_SETUP else 0.0) + phases.get("call", 0.0) + phases.get("teardown", 0.0)


def pytest_addoption(parser):
    group = parser.getgroup("slate")
    group.addoption("--fast", action="store_true",
                    help="the fast loop: leave out the tests on tests/slow_tests.txt and those that start a Prefect server")
    group.addoption("--write-slow-list", action="store_true",
                    help="measure each test of tests/unit and tests/integration and write tests/slow_tests.txt")


def pytest_report_header(config):
    if config.getoption("fast"):
        return [f"fast loop: {len(read_list())} slower tests (tests/slow_tests.txt) and those that start a "
                "Prefect server are left to make test"]
    return None


def left_out(item, slow: dict[str, float]) -> bool:
    return plain_id(item.nodeid) in slow or any(name in item.fixturenames for name in SERVER_FIXTURES)


def pytest_collection_modifyitems(config, items):
    if not config.getoption("fast"):
        return
    slow = read_list()
    out = {id(item) for item in items if left_out(item, slow)}
    if out:
        config.hook.pytest_deselected(items=[item for item in items if id(item) in out])
        items[:] = [item for item in items if id(item) not in out]


class _Clock:
    """Each test's phases as their reports arrive (on xdist's controller, from every worker)."""

    def __init__(self):
        self.phases: dict[str, dict[str, float]] = {}

    def pytest_runtest_logreport(self, report):
        self.phases.setdefault(plain_id(report.nodeid), {})[report.when] = report.duration


def pytest_configure(config):
    if config.getoption("fast") or config.getoption("write_slow_list"):
        config.pluginmanager.register(_Clock(), "slate-fast-loop-clock")


def _measured(config) -> dict[str, float]:
    clock = config.pluginmanager.get_plugin("slate-fast-loop-clock")
    return {node: own_seconds(phases) for node, phases in clock.phases.items()} if clock else {}


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    if not config.getoption("write_slow_list") or hasattr(config, "workerinput"):
        return
    import datetime
    measured = _measured(config)
    # A run of some files measures only those: the list's lines for files it did not run (and that
    # still exist) are kept as they were, so `--write-slow-list` on one file never empties the list.
    ran = {node.partition("::")[0] for node in measured}
    kept = {node: seconds for node, seconds in read_list().items()
            if node.partition("::")[0] not in ran and (LIST.parent.parent / node.partition("::")[0]).exists()}
    slow = sorted(((seconds, node) for node, seconds in {**kept, **measured}.items()
                   if seconds >= SLOW and node.startswith(KINDS)), key=lambda pair: (-pair[0], pair[1]))
    LIST.write_text(HEADER.format(slow=SLOW, day=datetime.date.today().isoformat(),
                                  workers=config.getoption("numprocesses", None) or 1)
                    + "".join(f"{seconds:6.2f}  {node}\n" for seconds, node in slow))


def pytest_terminal_summary(terminalreporter, config):
    if not config.getoption("fast") or hasattr(config, "workerinput"):
        return
    long = sorted(((seconds, node) for node, seconds in _measured(config).items() if seconds >= TOO_LONG), reverse=True)
    if long:
        terminalreporter.section("tests too slow for the fast loop")
        for seconds, node in long:
            terminalreporter.write_line(f"{seconds:6.2f} s  {node}")
        terminalreporter.write_line("`make timings` measures them again and leaves them to `make test`.")
