"""The bad-input corpus's other two thirds (tests/unit/test_bad_input_corpus.py checks the fast
loop's share; tests/fast_share.py splits the corpus): each bad input refused by `slate check`
for its reason. Together the two files check each case once."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.bad_inputs import Case
from tests.unit.test_bad_input_corpus import REST, refused_for_its_reason


@pytest.mark.parametrize("case", REST, ids=[c.name for c in REST])
def test_slate_check_refuses_each_bad_input_for_its_reason(case: Case, example_film: Path):
    lines = refused_for_its_reason(case, example_film)
    assert lines and all(line.startswith(case.prefix) and case.expect in line for line in lines), lines
