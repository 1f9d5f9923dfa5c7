"""A scene's subtitles as a stage: its lines, timed through the edit, written as SRT and WebVTT and
carried in the finished cut as a mov_text stream (media/subtitles.py does the work).

Cached by content like every stage: the finished cut's URI and the lines' text and times. A
changed line re-finishes the cut (its sound changed) and so re-subtitles it; an unchanged scene
is a cache hit. Only a scene with lines comes here: a scene without one keeps the cut the
finishing pass made, byte for byte.

It must never call a provider, and never publish a cut whose picture or sound it changed
(mux_subtitles stream-copies both and checks the picture).
"""
from __future__ import annotations

from pathlib import Path

from prefect import task
from pydantic import BaseModel, ConfigDict

from slate.media.subtitles import (TimedLine, burn_in, joined, mux_subtitles, read_srt, write_cues, write_srt,
                                   write_vtt)
from slate.tasks.run.cache import ContentKey
from slate.tasks.gates.gate_inputs import StageInput
from slate.tasks.run.run import Run
from slate.tasks.run.versions import SUBTITLES_VERSION


class HeardLine(StageInput):
    """A line where it is heard in the cut (seconds), and whether its speaker is off screen."""

    speaker: str
    text: str
    start: float
    end: float
    off_screen: bool


class SubtitlesInput(StageInput):
    """The finished cut of `scene` (`cut`: its URI, `seconds` long) and the lines heard in it."""

    scene: str
    cut: str
    seconds: float
    lines: list[HeardLine]
    language: str = "eng"
    burn: bool = False      # also a copy with the lines drawn into the picture (Delivery.burned_subtitles)


class SubtitledCut(BaseModel):
    """The cut with its subtitle stream, and the scene's .srt and .vtt, all in storage."""

    model_config = ConfigDict(frozen=True)

    uri: str
    srt_uri: str
    vtt_uri: str
    cues: int
    burned_uri: str | None = None   # the copy with the lines in its picture, when asked


@task(name="subtitles", cache_policy=ContentKey(stage=SUBTITLES_VERSION), result_serializer="json",
      task_run_name="subtitles {given.scene}")
def subtitle_scene(run: Run, given: SubtitlesInput) -> SubtitledCut:
    st = run.crew
    lines = [TimedLine(h.speaker, h.text, h.start, h.end, h.off_screen) for h in given.lines]
    scratch = st.scratch("subtitles")
    srt = write_srt(scratch / f"{given.scene}.srt", lines, until=given.seconds)
    vtt = write_vtt(scratch / f"{given.scene}.vtt", lines, until=given.seconds)
    out = mux_subtitles(Path(st.storage.open_local(given.cut)), srt, scratch / f"{given.scene}.mp4",
                        given.language)
    burned = burn_in(Path(st.storage.open_local(given.cut)), srt, scratch / f"{given.scene}-subtitled.mp4") \
        if given.burn else None
    made = SubtitledCut(uri=st.storage.put_file(out, "mp4"), srt_uri=st.storage.put_file(srt, "srt"),
                        vtt_uri=st.storage.put_file(vtt, "vtt"), cues=srt.read_text().count(" --> "),
                        burned_uri=st.storage.put_file(burned, "mp4") if burned is not None else None)
    for path in (srt, vtt, out, *([burned] if burned is not None else [])):
        path.unlink(missing_ok=True)
    return made


def subtitle_film(scenes: list[tuple[Path | None, float]], film_cut: Path) -> dict[str, Path]:
    """The film's subtitles from its scenes' (`scenes`: each scene's .srt, None for a scene with no
    line, and its length, in the film's order): written as <film>.srt and <film>.vtt beside
    `film_cut` and carried in it as a mov_text stream (picture and sound stream-copied). Nothing,
    and the cut untouched, when no scene has a line. The speaker a scene's .srt names in its text
    (`NAME: …`) stays in the film's text, in both files."""
    parts = [(read_srt(srt.read_text(encoding="utf-8")) if srt is not None else [], seconds)
             for srt, seconds in scenes]
    made = joined(parts)
    if not made:
        return {}
    cut = Path(film_cut)
    out = {suffix: write_cues(cut.with_suffix(suffix), made) for suffix in (".srt", ".vtt")}
    mux_subtitles(cut, out[".srt"], cut)
    return out
