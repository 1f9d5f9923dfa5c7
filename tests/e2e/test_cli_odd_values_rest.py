"""The odd-values walk's other two thirds (tests/unit/test_cli_odd_values.py walks the fast
loop's share; tests/fast_share.py splits the table): every command's every argument and option
given odd values, never a traceback. Together the two files walk each case once."""
from __future__ import annotations

import pytest

from tests.unit.test_cli_odd_values import ODD, REST, _param, _switch, place, walk  # noqa: F401 — `place` is the fixture


@pytest.mark.parametrize("command, name", REST, ids=[f"{c} {n}" for c, n in REST])
def test_odd_values_never_end_in_a_traceback(command, name, place, tmp_path):  # noqa: F811
    codes = walk(command, name, place, tmp_path)
    assert len(codes) == (1 if _switch(_param(command, name)) else len(ODD)) and set(codes) <= {0, 1, 2}, codes
