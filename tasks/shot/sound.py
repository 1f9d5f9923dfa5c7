"""One sound made through the governor: a line spoken or a cue composed, kept and measured.

Speech (tasks/shot/speech.py) and music (tasks/edit/music.py) are both one request and one WAV
answer. What each asks and how it is priced and keyed is its own (its `CallSpec`); what happens
after is the same and written here once: the governor's call (paid, kept in content-addressed
storage, settled, found again after a crash where the provider keeps answers), then the WAV's
length as measured, and one typed value the flows and the can keep — `MadeSound`.

It must never call a provider except through the governor, and never hold a key.
"""
from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, ConfigDict

from slate.governor.chokepoint import Answer, CallSpec, Governor
from slate.providers.audio import wav_seconds


class MadeSound(BaseModel):
    """A sound made: its WAV in content-addressed storage and its length as measured. `reused`: an
    earlier call's answer, found in the ledger, nothing called and nothing paid.

    Stored results name it by the names it had before it was one type (`SpokenTake` in
    tasks/shot/speech.py, `MadeTake` in tasks/edit/music.py); those names stay as aliases, so a
    film made before reads as it was."""

    model_config = ConfigDict(frozen=True)

    uri: str
    seconds: float
    call_id: str
    reused: bool = False


def make_sound(governor: Governor, spec: CallSpec, send: Callable[[str], Answer], *,
               recover: Callable[[str], Answer | None] | None, what: str, repeatable: bool = False) -> MadeSound:
    """Make one sound: `send(call_id)` asks for it through the governor's one request, one answer
    (`recover` finds a lost answer where the provider keeps it; a `repeatable` one is asked again
    once); its length is read from the WAV kept, or BadOutput saying what `what` is instead."""
    made = governor.sync_call(spec, send, recover=recover, repeatable=repeatable)
    seconds = wav_seconds(spec.context.provider, governor.storage.get_bytes(made.uri), what)
    return MadeSound(uri=made.uri, seconds=seconds, call_id=made.call_id, reused=made.reused)
