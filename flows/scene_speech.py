"""The speech stage of a scene: each line of a shot's dialogue spoken, judged, retaken or escalated.

    … shoot-video (every shot's clip through its gates) ─► speech (shots in the cut with lines) ─► stitch, finish

Where it sits in the DAG, and why after the clips: a line is heard only in a shot that is in the
cut, so a shot escalated at its panel or clip pays for no line; and a line's measured length is
held against the clip that landed. Speech costs cents where a clip costs dollars and takes
seconds where a clip takes minutes, so running it beside the video would save little time and
would pay for lines no one hears.

Each line is a `speech_take` (tasks/speech.py: through the governor, cached by content — its
text, delivery and seed, the voice and its settings, its reference sample's version, the model),
judged by the voice gate (tasks/voicing.py `judge`: media/voiceprint.judge_line against the
speaker's reference sample). A failed take is spoken again with the next seed, up to the run's
`max_takes`; a line that never passes escalates its shot, naming the scene, shot, line index,
speaker and the gate's reason. A line measured past its shot's end escalates with both
durations. An escalated shot leaves the cut (its clip stays cached: a rewritten line re-speaks
that line only).

It must never call a voice except through `speech_take`, and never change a shot with no line.
"""
from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from slate.errors import SlateError
from slate.flows.shot import ClipOutcome, halted_reason
from slate.governor.chokepoint import RunHalted, ShotHalted
from slate.manifests import LoadedFilm
from slate.manifests.dialogue import Line, Voice, line_spans, on_camera
from slate.providers.base import SpeechRequest
from slate.providers.errors import ProviderError
from slate.providers.registry import speech_model
from slate.tasks.plan import ShotPlan
from slate.tasks.run import Run, emit, in_project
from slate.tasks.speech import LineTake, speech_take
from slate.tasks.take_inputs import Maker
from slate.tasks.voicing import VoiceReference, judge, reference_of, too_long


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


class _Escalated(SlateError):
    """A line that cannot be heard: its shot is escalated with this message, naming the line."""


def voice_the_shots(run: Run, film: LoadedFilm, plans: list[ShotPlan],
                    clips: dict[str, ClipOutcome]) -> tuple[dict[str, ClipOutcome], list[VoicedLine]]:
    """Every line of every shot in the cut (a clip approved) that has lines: the clips as they
    stand after the voice gate (a shot escalated by it has no clip in the cut) and the lines heard."""
    scene = film.scene(run.scene)
    shots = {s.id: s for s in scene.shots}
    voices = film.bible.voices()
    paces = {who: v.pace_wpm for who, v in voices.items() if v is not None}
    references: dict[str, VoiceReference | None] = {}
    out = dict(clips)
    heard: list[VoicedLine] = []
    for p in plans:
        clip, shot = clips[p.shot], shots.get(p.shot)
        if shot is None or not shot.dialogue or not clip.clip_uri:
            continue
        try:
            heard += _voice_shot(run, p.shot, list(shot.dialogue), shot.characters, clip.seconds, voices, paces,
                                 references)
        except _Escalated as exc:
            emit(run, scene=run.scene, shot=p.shot, stage="voice_gate", status="escalated", reasons=[str(exc)])
            out[p.shot] = clip.model_copy(update={"clip_uri": None, "escalated": str(exc)})
        except (RunHalted, ShotHalted) as exc:
            out[p.shot] = clip.model_copy(update={"clip_uri": None, "halted": halted_reason(exc, p.shot)})
    return out, heard


def _voice_shot(run: Run, shot: str, lines: list[Line], cast: list[str], shot_seconds: float,
                voices: dict[str, Voice | None], paces: dict[str, int], references: dict[str, VoiceReference | None]) -> list[VoicedLine]:
    where = f"scene {run.scene}, shot {shot}"
    takes: list[tuple[int, str, float, str]] = []   # (take, uri, seconds, reference kind) per line
    measured: dict[int, float] = {}
    for i, line in enumerate(lines):
        who = f"line {i} ({line.speaker}: {line.text!r})"
        voice = voices.get(line.speaker)
        if voice is None:   # `slate check` refuses this before a run; a bible changed since is named here
            raise _Escalated(f"{where}, {who}: {line.speaker!r} has no voice in bible.yaml")
        if line.speaker not in references:
            references[line.speaker] = reference_of(Path(run.root), line.speaker, voice)
        ref = references[line.speaker]
        if ref is None:
            raise _Escalated(f"{where}, {who}: {line.speaker!r} has no approved voice sample to judge the line "
                             f"against (slate bible voice, then approve one); nothing was spoken")
        model = speech_model(voice.provider, voice.model, run.profile)
        speaker_voice = run.crew.speech_for(str(model))
        maker = Maker.of(speaker_voice, run.profile)
        reasons: list[str] = []
        for take in range(1, max(1, run.settings.max_takes) + 1):
            given = LineTake(shot=shot, line=i, speaker=line.speaker, take=take, voice_version=ref.version,
                             request=SpeechRequest(line.text, voice.voice, dict(voice.settings), tuple(line.delivery),
                                                   seed=take),
                             maker=maker, pace_wpm=voice.pace_wpm)
            try:
                spoken = in_project(speech_take, run, given, artifacts=lambda r: [r.uri])
            except ProviderError as exc:   # refused or failed by the voice: a person rewrites or re-casts it
                raise _Escalated(f"{where}, {who}: the voice refused or failed the line: {exc}") from exc
            verdict = judge(run.crew.storage.open_local(spoken.uri), line.text, ref)
            emit(run, scene=run.scene, shot=shot, stage="voice_gate", take=take,
                 status="passed" if verdict.passed else "failed", reasons=[f"line {i}: {r}" for r in verdict.reasons])
            if verdict.passed:
                takes.append((take, spoken.uri, spoken.seconds, ref.kind))
                measured[i] = spoken.seconds
                break
            reasons = list(verdict.reasons)
        else:
            raise _Escalated(f"{where}, {who}: failed the voice gate in {run.settings.max_takes} take(s) against "
                             f"the {ref.kind} reference sample: {'; '.join(reasons)}")
        long = too_long(lines, i, measured, paces, shot_seconds)
        if long is not None:
            raise _Escalated(f"{where}, {who}: the line is longer than its shot: {long}")
    spans = line_spans(lines, paces, measured)
    return [VoicedLine(shot=shot, line=i, speaker=line.speaker, text=line.text, uri=uri, seconds=seconds,
                       offset=spans[i].start, take=take, off_screen=not on_camera(line, cast), reference=kind)
            for i, (line, (take, uri, seconds, kind)) in enumerate(zip(lines, takes))]
