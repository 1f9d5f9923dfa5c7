"""The fast loop's choice of tests (tests/fast_loop.py): what `--fast` leaves out, and only then."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.fast_loop import LIST, SHARED_SETUP, SLOW, own_seconds, plain_id, read_list

ROOT = Path(__file__).resolve().parents[2]


def _collected(*args: str) -> list[str]:
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--collect-only", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return [line for line in done.stdout.splitlines() if "::" in line]


def test_a_shared_fixtures_start_is_not_charged_to_the_test_that_asked_first():
    assert own_seconds({"setup": 0.3, "call": 0.1, "teardown": 0.05}) == 0.3 + 0.1 + 0.05
    assert own_seconds({"setup": SHARED_SETUP + 15, "call": 0.1, "teardown": 0.0}) == 0.1
    assert own_seconds({"call": SLOW}) >= SLOW


def test_a_grouped_tests_id_is_listed_as_its_plain_id():
    """`--dist loadgroup` reports a grouped test as "id@group"; the list and the choice read the id."""
    assert plain_id("tests/unit/test_upscale_check.py::test_x[lanczos-0]@upscale-takes") == \
        "tests/unit/test_upscale_check.py::test_x[lanczos-0]"
    assert plain_id("tests/unit/test_a.py::test_b[me@there]") == "tests/unit/test_a.py::test_b[me@there]"
    assert plain_id("tests/unit/test_a.py::test_b@s3") == "tests/unit/test_a.py::test_b"


def test_every_test_on_the_slow_list_is_one_the_suite_still_has():
    """A test renamed or removed leaves a line naming nothing: `make timings` writes the list again."""
    slow = read_list()
    assert len(slow) > 100, f"{LIST} holds {len(slow)} tests"
    for node, seconds in slow.items():
        path, _, name = node.partition("::")
        assert seconds >= SLOW, node
        source = (ROOT / path).read_text() if (ROOT / path).exists() else ""
        function = re.sub(r"\[.*$", "", name.split("::")[0])
        assert re.search(rf"^(?:(?:    )?(?:def|class) {re.escape(function)}\b|{re.escape(function)} = )", source, re.M), \
            f"{LIST.name} names {node}, which {path} does not hold: run `make timings`"


def test_fast_leaves_out_the_listed_tests_and_those_that_start_a_prefect_server_and_only_with_fast():
    listed = "tests/unit/test_conform.py"               # some of its tests measured slow, some not
    harnessed = "tests/integration/test_progress.py"    # its tests ask for the Prefect harness, short or not
    everything = _collected(listed, harnessed)
    fast = _collected("--fast", listed, harnessed)
    slow = read_list()
    assert any(node in slow for node in everything if node.startswith(listed))
    assert any(node.startswith(harnessed) and node not in slow for node in everything)
    assert fast == [node for node in everything if node.startswith(listed) and node not in slow]
    assert fast, "some of conform's tests are short"
