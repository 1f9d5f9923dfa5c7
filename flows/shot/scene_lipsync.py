"""The lip-sync stage of a scene: each shot whose speaker is on camera lip-synced, measured, retaken or escalated.

    … speech (lines spoken, voice gate) ─► lip-sync (shots with an on-camera line) ─► stitch, finish

Why after the speech stage: a lip-sync model is given the lines as the cut will hear them — the
takes that passed the voice gate, each where its shot places it — so the mouth is moved to the
very samples the audience hears, and a line retaken by the voice gate is synced once, not twice.

A shot is lip-synced when it has a line whose speaker is one of its characters (on camera), its
framing is close enough for a mouth to be seen (LIPSYNC_FRAMINGS: a wide shot's mouths are a few
pixels, which no model moves and no one reads; its lines play as spoken), and the run's lineup
has a lip-sync model (`lipsync_model`; none: said once per shot, the lines play as spoken). The
shot's speech track (its on-camera lines mixed at their offsets, the clip's length) and the
speakers' faces (where presence finds each one's head in the clip's first frame) go to the model
as one paid job (tasks/shot/lipsync.py `lipsync_take`). The sync gate (media/lipsync.py `judge_sync`)
then measures each on-camera line: the speaker's mouth followed through the clip, its opening
correlated with the line's speech envelope over a range of lags — the offset in milliseconds
and a confidence. The lip-sync is a stage of the one take loop (tasks/shot/take_loop.py,
flows/shot/passes.py): a take that fails its gate, or whose job failed ("no face was detected") or came
back unusable, is lip-synced again with the next seed within the take policy (its cap and its
no-progress rule); a line that never passes escalates its shot naming the line, the offset and
the confidence. The job is given the clip's own size, as the video model made it. A mouth the gate cannot find is "cannot judge", never a pass: with the run's
`cannot_judge` at block the shot escalates for a person to look; at warn it goes on, said.

It must never call a lip-sync model except through `lipsync_take`, never change a shot with no
on-camera line, and never put a clip that was not measured into the cut.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from prefect import task
from prefect.cache_policies import NO_CACHE

from slate.flows.shot.scene_speech import VoicedLine
from slate.flows.shot.passes import pass_over
from slate.flows.shot.shot import ClipOutcome
from slate.manifests import LoadedFilm
from slate.media.frames import extract_frame
from slate.media.voiceprint import read_pcm16
from slate.providers.audio import pcm16_wav
from slate.providers.base import FaceCue, LipSyncRequest, Storage
from slate.providers.spec import LIPSYNC
from slate.tasks.shot.clip_passes import clip_seconds, clip_size
from slate.tasks.gates.keyframes import ClipCast, cast_of
from slate.tasks.shot.lipsync import (LIPSYNC_FRAMINGS, STAGE, LineSync, LipSyncTake, SyncCheck, SyncLine, lipsync_take,
                                 sync_gate)
from slate.tasks.shot.plan import ShotPlan
from slate.tasks.run.run import Run, emit, in_project
from slate.tasks.shot.take_inputs import Maker
from slate.tasks.shot.take_loop import Judged

#: The sample rate of a shot's speech track (the rate of the local voice; another is resampled).
TRACK_RATE = 22050




def lipsync_of(run: Run, plan: ShotPlan, clip: ClipOutcome, voiced: list[VoicedLine]) -> ClipOutcome:
    """A shot in the cut with an on-camera line, lip-synced and measured (the module's
    docstring): its clip as it stands after the sync gate — the synced one, carrying its
    readings, or none in the cut and why. A shot with no on-camera line, or no clip in the cut,
    is returned as it is. Run in the shot's lane (flows/shot/lane.py), once its lines are spoken."""
    lines = [v for v in voiced if v.shot == plan.shot and not v.off_screen]
    if not lines or not clip.clip_uri:
        return clip
    request = plan.request_of("start")
    why_not = (f"a {request.framing} shot: its speakers' mouths are too small to lip-sync or to read"
               if request.framing not in LIPSYNC_FRAMINGS else
               "the run has no lip-sync model (lipsync_model: none)" if run.lineup.lipsync is None else None)
    if why_not is not None:
        emit(run, scene=run.scene, shot=plan.shot, stage="lipsync", status="skipped",
             reasons=[f"on-camera lines not lip-synced: {why_not}"])
        return clip
    synced = sync_shot(run, plan, clip, lines)
    if synced.escalated and run.settings.dialogue_failure == "keep_picture":
        # The line failed, not the picture: the clip stays in the cut un-synced, its lines heard.
        why = f"{synced.escalated}; its picture stays in the cut, not lip-synced"
        emit(run, scene=run.scene, shot=plan.shot, stage="lipsync", status="picture kept", reasons=[why])
        return clip.model_copy(update={"dialogue_failed": why})
    return synced


@task(name="lipsync-shot", cache_policy=NO_CACHE, task_run_name="lip-sync {plan.shot}")
def sync_shot(run: Run, plan: ShotPlan, clip: ClipOutcome, lines: list[VoicedLine]) -> ClipOutcome:
    """One shot through the lip-sync stage: its clip synced and measured, or escalated or halted
    (said on the run, never raised: the other shots' syncs go on). Not cached itself: its paid
    take and its gate are (tasks/shot/lipsync.py)."""
    assert run.lineup.lipsync is not None
    return pass_over(run, plan, clip, LipSyncStage.of(run, plan, clip, lines), run.lineup.lipsync,
                     what="the lip-sync", keep=lambda end: {"lip_sync": list(end.reading or [])})


@dataclass
class LipSyncStage:
    """The lip-sync as a stage of the take loop: take N sends the clip as the keyframe gate passed
    it and the shot's speech track with seed N; the sync gate measures each on-camera line."""

    run: Run
    plan: ShotPlan
    clip_uri: str
    seconds: float
    size: tuple[int, int]            # the clip's own size, as the video model made it
    speech_uri: str
    faces: tuple[FaceCue, ...]
    lines: tuple[SyncLine, ...]
    named: tuple[str, ...]
    turnarounds: dict[str, str]
    wardrobe: dict[str, str | None]
    plate_uri: str
    maker: Maker
    name: str = STAGE
    gate: str = "sync_gate"
    gate_words: str = "the sync gate"

    @classmethod
    def of(cls, run: Run, plan: ShotPlan, clip: ClipOutcome, lines: list[VoicedLine]) -> "LipSyncStage":
        st = run.crew
        request = plan.request_of("start")
        who = ClipCast(tuple(c.id for c in request.characters),
                       {c.id: st.storage.open_local(c.turnaround_uri) for c in request.characters},
                       {c.id: c.wardrobe_colour for c in request.characters}, st.storage.open_local(request.plate_uri))
        assert clip.clip_uri is not None and run.lineup.lipsync is not None
        source = st.storage.open_local(clip.clip_uri)
        # The clip's own seconds where the video model made it longer than the shot: the model is
        # sent, and paid for, that clip, and its speech runs as long (a sync_mode of `cut_off`
        # would otherwise cut the answer to the speech's length).
        seconds = clip_seconds(st.storage, clip.clip_uri, clip.seconds, plan.fps)
        speech_uri = st.storage.put_bytes(speech_track(st.storage, lines, seconds), "wav")
        maker = Maker.named(run.lineup.lipsync, st.service(LIPSYNC, run.lineup.lipsync), run.profile)
        return cls(run, plan, clip.clip_uri, seconds, clip_size(st.storage, clip.clip_uri), speech_uri,
                   tuple(_face_cues(source, who, lines)),
                   tuple(SyncLine(line=v.line, speaker=v.speaker, start=v.offset, end=v.offset + v.seconds)
                         for v in lines),
                   who.named, {c.id: c.turnaround_uri for c in request.characters},
                   {c.id: c.wardrobe_colour for c in request.characters}, request.plate_uri, maker)

    def make(self, take: int, model: str) -> str:
        given = LipSyncTake(shot=self.plan.shot, take=take, maker=self.maker, request=LipSyncRequest(
            clip_uri=self.clip_uri, speech_uri=self.speech_uri, faces=self.faces, width=self.size[0],
            height=self.size[1], fps=self.plan.fps, seconds=self.seconds, seed=take))
        return in_project(lipsync_take, self.run, given, artifacts=lambda uri: [uri])

    def judge(self, take: int, uri: str) -> Judged[list[LineSync]]:
        run = self.run
        readings = in_project(sync_gate, run, SyncCheck(
            shot=self.plan.shot, take=take, clip_uri=uri, speech_uri=self.speech_uri, named=self.named,
            maker=self.maker, lines=self.lines, turnarounds=self.turnarounds, wardrobe=self.wardrobe,
            plate_uri=self.plate_uri), artifacts=lambda _: [uri, self.speech_uri])
        said = [f"line {r.line} ({r.speaker}): {r.reason}" for r in readings]
        failed = [r for r in readings if r.verdict == "failed"]
        unread = [r for r in readings if r.verdict == "cannot_judge"]
        passed = not failed and (not unread or run.settings.cannot_judge == "warn")
        emit(run, scene=run.scene, shot=self.plan.shot, stage="sync_gate", take=take,
             status="passed" if passed else "cannot judge" if unread and not failed else "failed", reasons=said)
        # A mouth the gate cannot find is "cannot judge": another take of the same clip shows the
        # same face, so the loop stops for a person. Progress: more lines in sync, then surer.
        confidence = sum(r.confidence for r in readings) / max(1, len(readings))
        quality = (len(readings) - len(failed) - len(unread)) / max(1, len(readings)) + 0.01 * confidence
        return Judged(passed, quality, tuple(said), judgeable=passed or bool(failed), reading=list(readings))


def speech_track(storage: Storage, lines: list[VoicedLine], seconds: float) -> bytes:
    """The shot's on-camera lines as one WAV of the clip's length (16-bit PCM mono at TRACK_RATE),
    each line at its offset — what the cut hears, where the cut hears it."""
    track = np.zeros(int(round(seconds * TRACK_RATE)), dtype=np.float64)
    for v in lines:
        samples, rate = read_pcm16(storage.open_local(v.uri))
        x = samples.astype(np.float64)
        if x.ndim > 1:
            x = x.mean(axis=1)
        if rate != TRACK_RATE:   # linear resampling: the envelope is what matters, not the timbre
            t = np.arange(int(len(x) * TRACK_RATE / rate)) * rate / TRACK_RATE
            x = np.interp(t, np.arange(len(x)), x)
        at = int(round(v.offset * TRACK_RATE))
        part = x[:max(0, len(track) - at)]
        track[at:at + len(part)] += part
    return pcm16_wav(np.clip(track, -32768, 32767).astype("<i2").tobytes(), TRACK_RATE)


def _face_cues(clip: Path, who: ClipCast, lines: list[VoicedLine]) -> list[FaceCue]:
    """Each on-camera speaker's head in the clip's first frame (presence's mask of them: the top
    of where their colours are found) and the seconds their lines span. A speaker presence cannot
    find is cued at the frame's centre: the model finds the face; the gate says if it did not."""
    with tempfile.TemporaryDirectory(prefix=".lipsync-") as work:
        first = np.asarray(Image.open(extract_frame(clip, 0.0, Path(work) / "first.png")).convert("RGB"))
    small = np.asarray(Image.fromarray(first).resize((max(1, first.shape[1] // 4), max(1, first.shape[0] // 4)),
                                                     Image.Resampling.BOX))
    cast = cast_of(who, small.shape[:2])
    looked = cast.looked(small[None], small, keep=(0,))
    cues = []
    for speaker in dict.fromkeys(v.speaker for v in lines):
        mine = [v for v in lines if v.speaker == speaker]
        x, y = 0.5, 0.35
        mask = looked.masks.get(0, {}).get(speaker)
        if mask is not None and mask.any():
            rows, cols = np.nonzero(mask)
            top, bottom = rows.min(), rows.max()
            head = rows <= top + 0.2 * (bottom - top + 1)   # the head: the top fifth of where they are found
            x = float(cols[head].mean() + 0.5) / mask.shape[1]
            y = float(rows[head].mean() + 0.5) / mask.shape[0]
        cues.append(FaceCue(speaker=speaker, x=round(x, 4), y=round(y, 4), start=min(v.offset for v in mine),
                            end=max(v.offset + v.seconds for v in mine)))
    return cues
