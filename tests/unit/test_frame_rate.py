"""Frame rates a film may run at (manifests/frame_rate.py): whole and NTSC, exact and as timebase."""
from fractions import Fraction

import pytest

from slate.manifests.frame_rate import exact, frame_rate, timebase


@pytest.mark.parametrize("written, kept", [(24, 24), (24.0, 24), ("25", 25), (23.976, 23.976), ("23.98", 23.976),
                                           ("24000/1001", 23.976), (29.97, 29.97), ("30000/1001", 29.97),
                                           (59.94, 59.94)])
def test_written_rates_are_kept_as_read(written, kept):
    assert frame_rate(written) == kept
    assert type(frame_rate(written)) is type(kept)   # a whole rate stays an int: cache keys unchanged


@pytest.mark.parametrize("bad", [0, -24, 121, 23.5, "fast", True, None, "1/0"])
def test_other_rates_are_refused_naming_what_is_accepted(bad):
    with pytest.raises(ValueError, match="NTSC rate"):
        frame_rate(bad)


def test_exact_and_timebase():
    assert exact(23.976) == Fraction(24000, 1001) and exact(29.97) == Fraction(30000, 1001)
    assert exact(24) == 24 and exact(Fraction(30000, 1001)) == Fraction(30000, 1001)
    assert timebase(23.976) == (24, True) and timebase(29.97) == (30, True) and timebase(25) == (25, False)
