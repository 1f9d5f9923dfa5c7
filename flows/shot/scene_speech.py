"""The speech stage of a scene: each line of a shot's dialogue spoken, judged, retaken or escalated.

    … a shot's clip (through its gates, its cut held) ─► face swap ─► speech (a shot in the cut with lines) ─► lip-sync ─► …

It runs in the shot's own lane (flows/shot/lane.py), once the shot's clip and its cut are decided,
without waiting for the scene's other shots. Why after the clip: a line is heard only in a shot that is in the
cut, so a shot escalated at its panel or clip pays for no line; and a line's measured length is
held against the clip that landed. Speech costs cents where a clip costs dollars and takes
seconds where a clip takes minutes, so running it beside the video would save little time and
would pay for lines no one hears.

Each line is a `speech_take` (tasks/shot/speech.py: through the governor, cached by content — its
text, delivery and seed, the voice and its settings, its reference sample's version, the model),
judged by the voice gate (tasks/shot/voicing.py `judge`: media/voiceprint.judge_line against the
speaker's reference sample). Each line is a stage of the one take loop (tasks/shot/take_loop.py,
docs/takes.md): a failed take is spoken again with the next seed under the take policy; a line
that never passes escalates its shot, naming the scene, shot, line index, speaker and the gate's
reason. A line measured past its shot's end escalates with both
durations. An escalated shot leaves the cut (its clip stays cached: a rewritten line re-speaks
that line only).

It must never call a voice except through `speech_take`, and never change a shot with no line.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from slate.flows.shot.shot import ClipOutcome
from slate.manifests import LoadedFilm
from slate.manifests.dialogue import Line, Voice, line_spans, on_camera
from slate.providers.base import SpeechRequest
from slate.providers.registry import speech_model
from slate.providers.spec import SPEECH
from slate.tasks.shot.plan import ShotPlan
from slate.tasks.run.run import Run, emit, in_project
from slate.tasks.shot.speech import LineTake, speech_take
from slate.tasks.shot.take_inputs import Maker
from slate.tasks.shot.take_loop import Approved, Escalated, Halted, Judged, take_loop, teller
from slate.tasks.shot.voicing import VoiceReference, judge, reference_of, too_long


class VoicedLine(BaseModel):
    """A line as the cut hears it: its take's WAV (`uri`, `seconds` long) at `offset` seconds into
    its shot's clip, and the reference it was judged against (`reference`: approved or interim)."""

    model_config = ConfigDict(frozen=True)

    shot: str
    line: int
    speaker: str
    text: str
    uri: str
    seconds: float
    offset: float
    take: int
    off_screen: bool
    reference: str


class VoiceReferences:
    """Each speaker's reference sample, read once a scene and shared by its shots' lanes (which
    run side by side: read under a lock)."""

    def __init__(self, root: Path):
        self.root = root
        self._read: dict[str, VoiceReference | None] = {}
        self._lock = threading.Lock()

    def of(self, speaker: str, voice: Voice) -> VoiceReference | None:
        with self._lock:
            if speaker not in self._read:
                self._read[speaker] = reference_of(self.root, speaker, voice)
            return self._read[speaker]


def voice_lines_of(run: Run, film: LoadedFilm, plan: ShotPlan, clip: ClipOutcome,
                   references: VoiceReferences) -> tuple[ClipOutcome, list[VoicedLine]]:
    """A shot in the cut (its clip approved) with lines, each spoken and judged: its clip as it
    stands after the voice gate (a line it escalates: the picture kept, without the shot's lines —
    or, `dialogue_failure = "drop_shot"`, none in the cut) and the lines heard. A shot
    with no line, or no clip in the cut, is returned as it is. Run in the shot's lane
    (flows/shot/lane.py)."""
    shot = {s.id: s for s in film.scene(run.scene).shots}.get(plan.shot)
    if shot is None or not shot.dialogue or not clip.clip_uri:
        return clip, []
    voices = film.bible.voices()
    paces = {who: v.pace_wpm for who, v in voices.items() if v is not None}
    voiced = _voice_shot(run, plan.shot, list(shot.dialogue), shot.characters, clip.seconds, voices, paces,
                         references)
    if isinstance(voiced, Escalated):
        emit(run, scene=run.scene, shot=plan.shot, stage="voice_gate", status="escalated", reasons=[voiced.why])
        if run.settings.dialogue_failure == "keep_picture":
            # The line failed, not the picture: the clip stays in the cut, without the shot's lines.
            return clip.model_copy(update={"dialogue_failed": f"{voiced.why}; its picture stays in the cut, "
                                                              f"without its lines"}), []
        return clip.model_copy(update={"clip_uri": None, "escalated": voiced.why}), []
    if isinstance(voiced, Halted):
        return clip.model_copy(update={"clip_uri": None, "halted": voiced.why}), []
    return clip, voiced


@dataclass
class LineStage:
    """One line of a shot as a stage of the take loop: take N is the line spoken with seed N (a
    `speech_take`, through the governor, cached by content); the voice gate judges it against the
    speaker's reference sample. Its quality is how near the voice came (minus its distance)."""

    run: Run
    shot: str
    index: int
    line: Line
    voice: Voice
    reference: VoiceReference
    maker: Maker
    name: str = "speech"
    gate: str = "voice_gate"
    gate_words: str = "the voice gate"
    seconds: dict[str, float] = field(default_factory=dict)   # each spoken take's measured length, by URI

    def make(self, take: int, model: str) -> str:
        given = LineTake(shot=self.shot, line=self.index, speaker=self.line.speaker, take=take,
                         voice_version=self.reference.version,
                         request=SpeechRequest(self.line.text, self.voice.voice, dict(self.voice.settings),
                                               tuple(self.line.delivery), seed=take),
                         maker=self.maker, pace_wpm=self.voice.pace_wpm)
        spoken = in_project(speech_take, self.run, given, artifacts=lambda r: [r.uri])
        self.seconds[spoken.uri] = spoken.seconds
        return spoken.uri

    def judge(self, take: int, uri: str) -> Judged[float]:
        verdict = judge(self.run.crew.storage.open_local(uri), self.line.text, self.reference)
        reasons = [f"line {self.index}: {r}" for r in verdict.reasons]
        emit(self.run, scene=self.run.scene, shot=self.shot, stage=self.gate, take=take,
             status="passed" if verdict.passed else "failed", reasons=reasons)
        quality = 1.0 if verdict.passed else -float(verdict.measures.get("distance", 99.0))
        return Judged(verdict.passed, quality, tuple(verdict.reasons), reading=self.seconds[uri])


def _voice_shot(run: Run, shot: str, lines: list[Line], cast: list[str], shot_seconds: float,
                voices: dict[str, Voice | None], paces: dict[str, int],
                references: VoiceReferences) -> list[VoicedLine] | Escalated | Halted:
    """A shot's lines, each through the take loop in turn: the lines heard, or why the shot ends."""
    where = f"scene {run.scene}, shot {shot}"
    takes: list[tuple[int, str, float, str]] = []   # (take, uri, seconds, reference kind) per line
    measured: dict[int, float] = {}
    for i, line in enumerate(lines):
        who = f"{where}, line {i} ({line.speaker}: {line.text!r})"
        voice = voices.get(line.speaker)
        if voice is None:   # `slate check` refuses this before a run; a bible changed since is named here
            return Escalated(f"{who}: {line.speaker!r} has no voice in bible.yaml")
        ref = references.of(line.speaker, voice)
        if ref is None:
            return Escalated(f"{who}: {line.speaker!r} has no approved voice sample to judge the line "
                             f"against (slate bible voice, then approve one); nothing was spoken")
        model = str(speech_model(voice.provider, voice.model, run.profile))
        stage = LineStage(run, shot, i, line, voice, ref, Maker.of(run.crew.service(SPEECH, model), run.profile),
                          gate_words=f"the voice gate against the {ref.kind} reference sample")
        done = take_loop(stage, run.takes, run.crew.governor, shot=shot, models=[model], what="line",
                         tell=teller(run, shot), retake_words="rewrite the line or re-cast its voice, then run again")
        end = done.end
        if isinstance(end, Halted):
            return end
        if not isinstance(end, Approved):
            return Escalated(f"{who}: the {end.why}")
        takes.append((end.take, end.uri, stage.seconds[end.uri], ref.kind))
        measured[i] = stage.seconds[end.uri]
        long = too_long(lines, i, measured, paces, shot_seconds)
        if long is not None:
            return Escalated(f"{who}: the line is longer than its shot: {long}")
    spans = line_spans(lines, paces, measured)
    return [VoicedLine(shot=shot, line=i, speaker=line.speaker, text=line.text, uri=uri, seconds=seconds,
                       offset=spans[i].start, take=take, off_screen=not on_camera(line, cast), reference=kind)
            for i, (line, (take, uri, seconds, kind)) in enumerate(zip(lines, takes))]
