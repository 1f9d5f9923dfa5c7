"""Which provider module answers to which name.

The local provider is registered like any vendor. Unknown names get an error that lists the
known ones. It must never construct a vendor client before it is asked for one (keys are read
at that moment, from the environment, by the vendor module).
"""
from __future__ import annotations

from pathlib import Path

from providers.local import FaultMode, LocalImage, LocalVideo
from providers.local_judge import LocalJudge
from providers.storage_local import LocalStorage

IMAGE_PROVIDERS = ("local",)
VIDEO_PROVIDERS = ("local",)
JUDGES = ("local",)


class UnknownProvider(ValueError):
    pass


def _check(name: str, known: tuple[str, ...], what: str) -> None:
    if name not in known:
        raise UnknownProvider(f"unknown {what} provider {name!r} (available here: {', '.join(known)})")


def storage_for(root: Path) -> LocalStorage:
    return LocalStorage(root)


def image_provider(name: str, storage: LocalStorage, faults: FaultMode = FaultMode()):
    _check(name, IMAGE_PROVIDERS, "image")
    return LocalImage(storage, faults)


def video_provider(name: str, storage: LocalStorage, *, latency: float = 0.0, faults: FaultMode = FaultMode()):
    _check(name, VIDEO_PROVIDERS, "video")
    return LocalVideo(storage, latency=latency, faults=faults)


def judge_provider(name: str, storage: LocalStorage | None = None):
    _check(name, JUDGES, "judge")
    return LocalJudge(book=storage.root / ".slate" / "local-jobs" / "judgements.jsonl" if storage else None)
