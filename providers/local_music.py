"""The local composer (issue 59): a MusicGenerator on this machine — media/cue.py's deterministic
cue, written as a 16-bit WAV — free, offline, so the example and the tests make real music at $0.

Like the local voice, it books what it is asked by our call id before it works and keeps what it
made beside the request (under the store's `.slate/local-jobs/music`), so a cue whose answer a
crashed run never received is fetched by the call id, never made and paid for twice.

It must never reach a network or read anything but its own book.
"""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from slate.media.cue import RATE, compose
from slate.providers.audio import pcm16_wav
from slate.providers.base import MadeCue, MusicRequest, Storage
from slate.providers.errors import NotReceived
from slate.providers.storage_local import LocalStorage, append_entry, write_atomic

LOCAL_MUSIC_MODEL = "local-composer-v1"


class LocalComposer:
    """A MusicGenerator on this machine (the module docstring)."""

    name = "local"

    def __init__(self, storage: Storage | None = None):
        self.model = LOCAL_MUSIC_MODEL
        self.storage = storage
        self.variant: dict[str, object] = {}   # no setting changes what it makes

    def compose(self, request: MusicRequest, *, client_ref: str | None = None) -> MadeCue:
        book = self._book()
        if client_ref and book is not None:
            write_atomic(book / f"{client_ref}.request.json", json.dumps(asdict(request), sort_keys=True).encode())
            append_entry(book / "submissions.jsonl", {"client_ref": client_ref, "fingerprint": request.fingerprint()})
        made = made_cue(request)
        if client_ref and book is not None:
            write_atomic(book / f"{client_ref}.wav", made.wav)
        return made

    def _book(self) -> Path | None:
        return None if self.storage is None else self.storage.root / ".slate" / "local-jobs" / "music"

    def recover(self, client_ref: str) -> MadeCue | None:
        """The cue made for our call id; one received and never finished is made now from its
        booked request; NotReceived when this folder's book has no receipt of it (a film on this
        disk); None for a film in a bucket (another worker may have received it)."""
        book = self._book()
        if book is None:
            return None
        kept = book / f"{client_ref}.wav"
        receipt = book / f"{client_ref}.request.json"
        if kept.is_file():
            data = kept.read_bytes()
            return MadeCue(data, (len(data) - 44) / 2 / RATE, usage=None)
        if not receipt.is_file():
            if not isinstance(self.storage, LocalStorage):
                return None
            raise NotReceived(f"the local composer never received call {client_ref}", provider=self.name)
        fields = json.loads(receipt.read_text())
        made = made_cue(MusicRequest(**{**fields, "intensity": tuple(tuple(x) for x in fields.get("intensity") or ())}))
        write_atomic(kept, made.wav)
        return made


def made_cue(request: MusicRequest) -> MadeCue:
    """`request` composed (media/cue.py) as a 16-bit mono WAV at 48 kHz."""
    samples = compose(request.tempo, request.seconds, request.hits, mode=request.mode, seed=request.seed,
                      key=request.key, intensity=request.intensity)
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()
    return MadeCue(pcm16_wav(pcm, RATE), len(samples) / RATE, usage={"kind": "music", "seconds": len(samples) / RATE})
