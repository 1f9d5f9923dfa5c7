"""Frame rates a film may run at: whole numbers (24, 25, 30) and the NTSC rates (23.976, 29.97,
59.94, ...) that are really a whole rate slowed by 1000/1001 (issue 39).

A film's `fps` is written as a person writes it — 24, 23.976, 29.97, or "24000/1001" — and kept as
the number they read: an `int` for a whole rate (so every cache key made before fractional rates
existed is unchanged) and the three-decimal `float` for an NTSC rate. What needs the rate exactly
asks `exact()` (ffmpeg's `-r 24000/1001`, frame counts, timecode); what counts in an editor's
timebase asks `timebase()` (FCP 7 XML's `<timebase>24</timebase><ntsc>TRUE</ntsc>`, an EDL's
24-frame timecode).

This module must never read files or import anything of ours: the manifests and the media layer
both read it (the one module of manifests/ that media/ may import: tests/unit/test_layering.py).
"""
from __future__ import annotations

from fractions import Fraction
from typing import Annotated

from pydantic import BeforeValidator

__all__ = ["Fps", "FrameRate", "NTSC_RATES", "frame_rate", "exact", "timebase", "is_ntsc", "frames", "on_frame"]

#: A rate as slate keeps it (what `frame_rate` returns): never a Fraction, so it dumps into JSON,
#: YAML and cache keys as the number written.
Fps = int | float

# How an NTSC rate is written (its three-decimal name) and the whole rate it is slowed from.
NTSC_RATES: dict[float, int] = {23.976: 24, 29.97: 30, 47.952: 48, 59.94: 60, 119.88: 120}
# Other ways people write them: two decimals, or the ratio itself.
_ALIASES: dict[str, float] = {"23.98": 23.976, "24000/1001": 23.976, "30000/1001": 29.97,
                              "48000/1001": 47.952, "60000/1001": 59.94, "120000/1001": 119.88}
WHOLE_MAX = 120


def frame_rate(value: object) -> Fps:
    """The rate as slate keeps it, from what a manifest wrote; ValueError naming what is accepted."""
    if isinstance(value, bool):   # a YAML `yes` is not a rate
        raise ValueError(_refused(value))
    if isinstance(value, str):
        text = value.strip()
        if text in _ALIASES:
            return _ALIASES[text]
        try:
            value = float(text) if "/" not in text else float(Fraction(text))
        except (ValueError, ZeroDivisionError):
            raise ValueError(_refused(value)) from None
    if not isinstance(value, (int, float)):
        raise ValueError(_refused(value))
    number = float(value)
    if number.is_integer() and 0 < number <= WHOLE_MAX:
        return int(number)
    for name in NTSC_RATES:
        # 23.976, 23.98 and 23.976023976 all name 24000/1001.
        if abs(number - name) < 0.006:
            return name
    raise ValueError(_refused(value))


#: A manifest's or a setting's frame rate field (film.yaml's and slate.toml's `fps`): what is
#: written, validated and kept by `frame_rate`, so a whole rate dumps as the int it always did.
FrameRate = Annotated[Fps, BeforeValidator(frame_rate)]


def _refused(value: object) -> str:
    # Said beside the field that holds it ("film.yaml: fps: must be ..."), so it does not name it.
    return (f"must be a whole number of frames a second (1 to {WHOLE_MAX}) or an NTSC rate "
            f"({', '.join(str(r) for r in NTSC_RATES)}, or written as 24000/1001), not {value!r}")


def exact(fps: int | float | Fraction) -> Fraction:
    """The rate as an exact ratio: 24 -> 24, 23.976 -> 24000/1001."""
    if isinstance(fps, Fraction):
        return fps
    kept = frame_rate(fps)
    if isinstance(kept, int):
        return Fraction(kept)
    return Fraction(NTSC_RATES[kept] * 1000, 1001)


def timebase(fps: int | float | Fraction) -> tuple[int, bool]:
    """The whole frames a second an editor's timecode counts in, and whether the rate is NTSC
    (slowed by 1000/1001): 24 -> (24, False), 23.976 -> (24, True)."""
    rate = exact(fps)
    if rate.denominator == 1:
        return int(rate), False
    return round(rate * Fraction(1001, 1000)), True


def is_ntsc(fps: int | float | Fraction) -> bool:
    return timebase(fps)[1]


def frames(seconds: float, fps: int | float | Fraction) -> int:
    """The whole frames `seconds` spans at the rate: what the finishing pass renders a trim, a
    transition or a fade as, and what every timeline export counts — one rounding for both, so
    an export lands on the picture's frame (issue 39)."""
    return round(float(seconds) * float(exact(fps)))


def on_frame(seconds: float, fps: int | float | Fraction) -> float:
    """`seconds` moved to the nearest whole frame at the rate (0.375 s at 23.976 is 9 frames:
    0.375375 s)."""
    rate = exact(fps)
    return float(frames(seconds, rate) / rate)
