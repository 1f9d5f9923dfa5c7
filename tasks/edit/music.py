"""Music take: one cue made to a brief — a paid call through the governor, like a spoken line.

A cue is one request and one answer (providers/base.py MusicGenerator). The governor prices it
from the rate card before anything is sent (its seconds: a music row of the card), holds it to the
caps, writes its ledger row with stage `music`, keeps the WAV in content-addressed storage and
settles the call at the seconds the composer says it made.

A cue's fingerprint is what changes what is heard: the brief's physical terms, its length and hit
times as spotted on the cut (tasks/edit/spotting.py), the seed, the model and the provider's variant —
never the scene it plays in or when it starts in the scene. Trim a shot so a hit moves and that
cue is made again; an unchanged cut finds it in the ledger and costs nothing. The Prefect task
(`music_take`) is keyed by the same input (tasks/run/cache.py).

A cue whose answer was lost is fetched where the composer keeps answers by our call id (the local
composer: `recover`); a hosted composer that keeps nothing to look up is never asked again blindly:
the call stays open for `slate reconcile`, the lost answer counted as spent (governor `sync_call`).

It must never call a composer except through the governor, and never hold a key.
"""
from __future__ import annotations

from prefect import task

from slate.governor.chokepoint import Answer, CallContext, CallSpec, Governor, Usage
from slate.manifests.assembly import MusicBrief
from slate.providers.base import KeepsMusic, MadeCue, MusicGenerator, MusicRequest, fingerprint
from slate.providers.spec import MUSIC
from slate.tasks.run.cache import ContentKey
from slate.tasks.gates.gate_inputs import StageInput
from slate.tasks.run.run import Run, emit
from slate.tasks.edit.spotting import Spotted
from slate.tasks.shot.sound import MadeSound, make_sound
from slate.tasks.shot.take_inputs import Maker
from slate.tasks.run.versions import MUSIC_VERSION

STAGE = "music"
#: The ledger's shot column for a cue: the cue's name under this prefix (a cue belongs to the
#: scene's cut, not to one shot; `slate log` and the ledger tell it from a shot by it).
CUE_SHOT = "music:"


def prompt_of(brief: MusicBrief, spotted: Spotted) -> str:
    """The brief in a composer's words — what a text-prompted model is sent and a person reads in
    the ledger: tempo, key and mode, instruments, the intensity's course, the length and each hit."""
    said = [f"An instrumental film cue, {spotted.seconds:.1f} seconds, {brief.tempo:g} BPM, {brief.key} {brief.mode}"]
    if brief.instruments:
        said.append("played by " + ", ".join(brief.instruments))
    if spotted.intensity:
        said.append("intensity " + ", then ".join(f"{level} from {at:.1f}s" for at, level in spotted.intensity))
    if spotted.hits:
        said.append("a strong accent exactly at " + ", ".join(f"{h:.2f}s" for h in spotted.hits))
    return "; ".join(said) + ". No vocals."


def request_of(brief: MusicBrief, spotted: Spotted, take: int) -> MusicRequest:
    """Take `take` of the cue: the brief's own seed, then the next one for each take after."""
    return MusicRequest(seconds=spotted.seconds, tempo=brief.tempo, mode=brief.mode, key=brief.key,
                        instruments=tuple(brief.instruments), intensity=spotted.intensity, hits=spotted.hits,
                        seed=brief.seed + take - 1, prompt=prompt_of(brief, spotted))


class CueTake(StageInput):
    """A take of one cue of a scene, `request` made by `maker`'s composer."""

    cue: str
    take: int
    request: MusicRequest
    maker: Maker

    def fingerprint(self) -> str:
        """What changes what is heard (the module docstring): the key of the cue's paid call."""
        return fingerprint({"request": self.request.fingerprint(), "provider": self.maker.provider,
                            "model": self.maker.model, "variant": self.maker.variant})


#: A cue made (tasks/shot/sound.py): the name stored results of music takes give their type.
MadeTake = MadeSound


def cue_spec(context: CallContext, given: CueTake) -> CallSpec:
    """The paid call of one cue: priced by its seconds, keyed by its fingerprint, its brief
    written beside it (never a key)."""
    req = given.request
    return CallSpec(context=context, units=Usage("music", seconds=req.seconds), fingerprint=given.fingerprint(),
                    prompt=req.prompt,
                    parameters={"cue": given.cue, "seconds": req.seconds, "tempo": req.tempo, "key": req.key,
                                "mode": req.mode, "hits": list(req.hits), "seed": req.seed, **given.maker.variant})


def _wav(made: MadeCue) -> Answer:
    return Answer(made.wav, "wav", usage=made.usage)


def make_cue(governor: Governor, composer: MusicGenerator, given: CueTake, context: CallContext) -> MadeSound:
    """Make one cue through the governor (the module docstring says how it is paid and kept)."""
    keeper = composer if isinstance(composer, KeepsMusic) else None

    def recover(call_id: str) -> Answer | None:
        assert keeper is not None
        kept = keeper.recover(call_id)
        return None if kept is None else _wav(kept)

    return make_sound(governor, cue_spec(context, given),
                      lambda call_id: _wav(composer.compose(given.request, client_ref=call_id)),
                      recover=recover if keeper is not None else None, what="the cue")


@task(name="music-take", cache_policy=ContentKey(stage=MUSIC_VERSION), result_serializer="json",
      task_run_name="music {given.cue} take {given.take}")
def music_take(run: Run, given: CueTake) -> MadeSound:
    maker = given.maker
    emit(run, scene=run.scene, shot=CUE_SHOT + given.cue, stage=STAGE, take=given.take, status="composing")
    context = run.call_at(CUE_SHOT + given.cue, STAGE, given.take, maker.provider, maker.model, profile=maker.profile)
    return make_cue(run.crew.governor, run.crew.service(MUSIC, f"{maker.provider}:{maker.model}"), given, context)
