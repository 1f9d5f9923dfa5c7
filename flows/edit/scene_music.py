"""The music stage of a scene (issue 59): each cue of the scene's `finishing.music` made to its
brief, timed to the cut, judged by the music gate, and placed on the timeline for the mix.

    … every lane ended ─► the stitch ─► music (a cue per brief, spotted on the cut) ─► the finishing pass

Why after the stitch: a cue's length and hits are read from the cut as delivered (tasks/
spotting.py) — which shots made it, their trims and dissolves — and those are known only once
every lane has ended. A cue costs cents and takes seconds where a clip costs dollars and takes
minutes, so nothing is gained by making it earlier, and a cue made before the cut is settled is
made for a cut that may never exist.

Each cue is a stage of the one take loop (tasks/shot/take_loop.py): take N is the brief made with its
seed + N - 1 (`music_take`: through the governor, cached by content — the brief, the spotted
length and hits, the model); the music gate (media/music_gate.py) holds it to its length within a
frame, sound, no clipping, loudness, the brief's tempo and an onset at each hit. A cue that never
passes is escalated naming what failed and is left out of the mix: music is never the reason a
picture leaves the cut. A hit whose shot is not in this cut (escalated, dropped) is said and not made.

It must never call a composer except through `music_take`, nor touch a clip.
"""
from __future__ import annotations

import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from prefect import get_run_logger

from slate.manifests import LoadedFilm
from slate.manifests.assembly import MusicBrief
from slate.media.music_gate import judge_cue
from slate.providers.spec import MUSIC
from slate.tasks.edit.music import CUE_SHOT, CueTake, music_take, request_of
from slate.tasks.run.run import Run, emit, in_project
from slate.tasks.edit.spotting import CutPlace, SpotError, Spotted, edit_order, places, spot
from slate.tasks.shot.sound import MadeSound
from slate.tasks.shot.take_inputs import Finishing, FinishingCue, Maker
from slate.tasks.shot.take_loop import Approved, Judged, take_loop, teller


@dataclass
class CueStage:
    """One cue as a stage of the take loop (the module docstring). Its quality is how many of
    the music gate's checks pass."""

    run: Run
    brief: MusicBrief
    spotted: Spotted
    maker: Maker
    fps: float
    name: str = "music"
    gate: str = "music_gate"
    gate_words: str = "the music gate"
    made: dict[str, MadeSound] = field(default_factory=dict)

    def make(self, take: int, model: str) -> str:
        given = CueTake(cue=self.brief.name, take=take, request=request_of(self.brief, self.spotted, take),
                        maker=self.maker)
        made = in_project(music_take, self.run, given, artifacts=lambda r: [r.uri])
        self.made[made.uri] = made
        return made.uri

    def judge(self, take: int, uri: str) -> Judged[float]:
        samples, rate = read_cue(self.run.crew.storage.open_local(uri))
        checks = judge_cue(samples, rate, seconds=self.spotted.seconds, bpm=self.brief.tempo, hits=self.spotted.hits,
                           fps=self.fps)
        failed = [f"{c.name}: {c.reason}" for c in checks if not c.passed]
        emit(self.run, scene=self.run.scene, shot=CUE_SHOT + self.brief.name, stage=self.gate, take=take,
             status="failed" if failed else "passed", reasons=failed)
        return Judged(not failed, float(sum(c.passed for c in checks)), tuple(failed), reading=self.made[uri].seconds)


def read_cue(path: Path) -> tuple[np.ndarray, int]:
    """A 16-bit WAV's samples as floats in -1..1 (mono: its channels averaged) and its rate."""
    with wave.open(str(path), "rb") as src:
        rate, channels, frames = src.getframerate(), src.getnchannels(), src.readframes(src.getnframes())
    x = np.frombuffer(frames, dtype="<i2").astype(np.float64) / 32768.0
    return (x.reshape(-1, channels).mean(axis=1) if channels > 1 else x), rate


def cut_places(inputs: Finishing, shots: list[str]) -> list[CutPlace]:
    """The finishing pass's shots (`inputs.shots`, the cut's `shots` in order) placed as the cut
    plays them: each one's trims taken, a dissolve overlapping the next one's head."""
    rows = list(inputs.shots)
    return places([(sid, row.seconds - (row.trim_in or 0.0) - (row.trim_out or 0.0)) for sid, row in zip(shots, rows)],
                  [(str(row.transition[0]), float(row.transition[1])) for row in rows])


def music_cues(run: Run, film: LoadedFilm, inputs: Finishing, shots: list[str]) -> list[FinishingCue]:
    """The scene's cues made to a brief, each spotted on the cut (`inputs`, whose shots are
    `shots` in order), made and judged, as music cues on the timeline; a cue that cannot be
    spotted on this cut, or never passes its gate, is escalated, said, and left out."""
    fin = film.scene(run.scene).finishing
    if fin is None or not fin.music:
        return []
    logger = get_run_logger()
    fps = float(run.settings.fps)
    cut = cut_places(inputs, shots)
    order = edit_order(film.scene(run.scene))
    out: list[FinishingCue] = []
    for brief in fin.music:
        who = CUE_SHOT + brief.name
        try:
            spotted = spot(brief, cut, fps, order)
        except SpotError as exc:
            _escalate(run, who, f"cue {brief.name!r} cannot be spotted on this cut: {exc.field}: {exc.message}")
            continue
        for note in spotted.missing:
            logger.warning("scene %s, cue %r: a hit on %s; the cue is made without it", run.scene, brief.name, note)
        composer = run.crew.service(MUSIC, brief.model)
        stage = CueStage(run, brief, spotted, Maker.named(brief.model, composer, run.profile), fps)
        done = take_loop(stage, run.takes, run.crew.governor, shot=who, models=[brief.model], what="cue",
                         tell=teller(run, who), retake_words="change the brief (tempo, hits, span) or its model, "
                                                             "then run again")
        end = done.end
        if not isinstance(end, Approved):
            _escalate(run, who, f"cue {brief.name!r}: the {end.why}; the scene is mixed without it")
            continue
        made = stage.made[end.uri]
        logger.info("scene %s: cue %r made (%.2fs from %.2fs, %d hit(s), take %d%s)", run.scene, brief.name,
                    made.seconds, spotted.start, len(spotted.hits), end.take, ", already made" if made.reused else "")
        out.append(FinishingCue(uri=end.uri, file=cue_file(brief.name), kind="music", start=spotted.start,
                                seconds=made.seconds, offset=0.0, length=None, gain_db=brief.gain_db,
                                fade_in=brief.fade_in, fade_out=brief.fade_out, ducks=brief.duck))
    return out


def cue_file(name: str) -> str:
    """The file name a made cue goes by on the timeline, in the mix and in an editor's bin."""
    return f"music-{name}.wav"


def briefs_of(film: LoadedFilm, scene: str) -> dict[str, dict[str, Any]]:
    """Each made cue's brief and model, by its file name: what the exported timeline carries in
    the cue's metadata, for the editor (and a composer replacing it)."""
    fin = film.scene(scene).finishing
    return {cue_file(b.name): b.model_dump(mode="json") for b in (fin.music if fin else [])}


def _escalate(run: Run, who: str, why: str) -> None:
    get_run_logger().warning("scene %s: %s", run.scene, why)
    emit(run, scene=run.scene, shot=who, stage="music_gate", status="escalated", reasons=[why])
