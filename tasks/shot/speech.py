"""Speech take: one line of dialogue spoken — a paid call through the governor, like a panel take.

A line is one request and one answer (providers/base.py SpeechGenerator). The governor prices it
from the rate card before anything is sent (the line's characters, and its seconds at its voice's
pace: governor/estimate.py `line_usage`), holds it to the caps, writes its ledger row with stage
`speech`, keeps the WAV in content-addressed storage and settles the call at what the voice says
it used (characters, measured seconds, tokens), priced by the rate card.

A line's fingerprint is what changes what is heard: its text, delivery and seed, the provider voice
and its settings, the version of the voice's approved sample, the model and the provider's variant
— not its place in the shot, its speaker's name or the pace the estimate assumed. Change one
line's text and that one line is spoken again; an unchanged line is found in the ledger and costs
nothing. The Prefect task (`speech_take`) is keyed by the same input (tasks/run/cache.py).

A line whose answer was lost is fetched where the voice keeps answers by our call id (the local
voice: `recover`), else asked again once, the lost one counted as spent (governor `sync_call`).

It must never call a voice except through the governor, and never hold a key.
"""
from __future__ import annotations

from prefect import task
from slate.governor.chokepoint import Answer, CallContext, CallSpec, Governor
from slate.governor.estimate import line_usage
from slate.manifests.dialogue import DEFAULT_WPM
from slate.providers.base import FindsSpeech, KeepsSpeech, SpeechGenerator, SpeechRequest, SpokenLine, fingerprint
from slate.providers.spec import SPEECH
from slate.tasks.run.cache import ContentKey
from slate.tasks.gates.gate_inputs import StageInput
from slate.tasks.run.run import Run, emit
from slate.tasks.shot.sound import MadeSound, make_sound
from slate.tasks.shot.take_inputs import Maker
from slate.tasks.run.versions import SPEECH_VERSION

STAGE = "speech"


class LineTake(StageInput):
    """A take of one line of a shot's dialogue: `request` spoken by `maker`'s voice.

    `line` is the line's index in the shot's dialogue and `speaker` who says it (the ledger shows
    both); `voice_version` names the speaker's approved voice sample (its content hash): a newly
    approved voice speaks every one of its lines again. `pace_wpm` is the voice's pace, what the
    estimate times the line by before it is spoken."""

    shot: str
    line: int
    speaker: str
    take: int
    request: SpeechRequest
    voice_version: str
    maker: Maker
    pace_wpm: int = DEFAULT_WPM

    def fingerprint(self) -> str:
        """What changes what is heard (the module docstring): the key of the line's paid call."""
        return fingerprint({"request": self.request.fingerprint(), "voice_version": self.voice_version,
                            "provider": self.maker.provider, "model": self.maker.model, "variant": self.maker.variant})


#: A line spoken (tasks/shot/sound.py): the name stored results of speech takes give their type.
SpokenTake = MadeSound


def line_spec(context: CallContext, given: LineTake) -> CallSpec:
    """The paid call of one line: priced by its characters and its seconds at its voice's pace,
    keyed by its fingerprint, its words and voice written beside it (never a key)."""
    req = given.request
    return CallSpec(context=context, units=line_usage(req.text, given.pace_wpm), fingerprint=given.fingerprint(),
                    prompt=req.text,
                    parameters={"line": given.line, "speaker": given.speaker, "voice": req.voice,
                                "voice_version": given.voice_version, "voice_settings": dict(req.settings),
                                "delivery": list(req.delivery), "seed": req.seed, **given.maker.variant})


def _wav(line: SpokenLine) -> Answer:
    return Answer(line.wav, "wav", usage=line.usage)


def speak_line(governor: Governor, voice: SpeechGenerator, given: LineTake, context: CallContext) -> MadeSound:
    """Speak one line through the governor (the module docstring says how it is paid and kept)."""
    keeper = voice if isinstance(voice, KeepsSpeech) else None
    finder = voice if isinstance(voice, FindsSpeech) else None

    def recover(call_id: str) -> Answer | None:
        # Kept by our call id (the local voice), or found by what was asked, made after the lost
        # call was sent (ElevenLabs' history): either way not paid for again.
        if keeper is not None:
            kept = keeper.recover(call_id)
        else:
            assert finder is not None
            kept = finder.find_line(given.request, governor.ledger.find(call_id).created_at)
        return None if kept is None else _wav(kept)

    return make_sound(governor, line_spec(context, given),
                      lambda call_id: _wav(voice.speak(given.request, client_ref=call_id)),
                      recover=recover if keeper is not None or finder is not None else None,
                      what="the spoken line", repeatable=True)


@task(name="speech-take", cache_policy=ContentKey(stage=SPEECH_VERSION), result_serializer="json",
      task_run_name="speech {given.shot} line {given.line} take {given.take}")
def speech_take(run: Run, given: LineTake) -> MadeSound:
    maker = given.maker
    emit(run, scene=run.scene, shot=given.shot, stage=STAGE, take=given.take, status="speaking")
    context = run.call_at(given.shot, STAGE, given.take, maker.provider, maker.model, profile=maker.profile)
    return speak_line(run.crew.governor, run.crew.service(SPEECH, f"{maker.provider}:{maker.model}"), given, context)
