"""What the cutting stages return: the stitched cut and the finished cut, as typed values.

The stitch (tasks/edit/stitch.py) and the finishing pass (tasks/edit/finish.py) hand their caller one of
these models instead of a dict read by string keys, as the gates hand a verdict
(tasks/gates/verdicts.py). They are cached like every stage's result: Prefect's JSON result serializer
writes the class's qualified name beside the fields and validates them back, so a cut read from
the cache is the same type as a fresh one. A record a stage wrote before its result was typed
(a dict) is never read as one of these: the stage's version string moved with the type
(tasks/run/versions.py).

It must never import Prefect or a stage module: the timeline record (tasks/edit/export.py) reads a
finished cut's loudness without a run.
"""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StitchResult(BaseModel):
    """A scene's approved clips stitched into one H.264 file, as its probe read it."""

    model_config = ConfigDict(frozen=True)

    uri: str            # the cut in content-addressed storage
    duration: float     # seconds: frames / fps
    width: int
    height: int
    codec: str
    frames: int


class FinishResult(BaseModel):
    """A scene's finished cut: graded, with its sound at its delivery's loudness, and the
    profile's other deliverables (`mezzanine_uri`, `poster_uri`) when it asks for them."""

    model_config = ConfigDict(frozen=True)

    uri: str
    duration: float
    frames: int
    width: int
    height: int
    has_audio: bool
    loudness: float | None      # integrated LUFS; None when the cut has no sound source
    true_peak: float | None     # dBTP; None likewise
    target_lufs: float
    model_audio: int            # how many of its shots brought the video model's own sound
    mezzanine_uri: str | None = None
    poster_uri: str | None = None
    stems: dict[str, str] = {}   # stem (dialogue, music, effects) -> its WAV's URI, when the delivery asks
