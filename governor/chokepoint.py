"""The one door every paid provider call goes through.

Tasks never call a provider's paid method directly: they hand the governor a description of
the call (who, what, how many output seconds or images) and the provider's bound methods, and
the governor decides whether and how it runs. Two shapes of call exist:
- `sync_call`: one request, one answer (image generation, a judge verdict);
- `job_call`: submit → job id → poll → download (video), re-attachable after a crash.

It must never import a provider module (it gets callables), never log a key or a request
body with a key in it, and never retry a paid submit on its own.
"""
from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class CallContext:
    """Where a paid call sits in the film: the ledger's who-and-why columns."""

    run_id: str
    film: str
    scene: str
    shot: str
    stage: str      # panel | panel_gate | video | keyframe_gate
    take: int
    provider: str
    model: str
    profile: str


@dataclass(frozen=True)
class Units:
    """What a rate card prices a call by."""

    kind: Literal["image", "video", "judge"]
    seconds: float = 0.0
    resolution: str | None = None
    images: int = 0
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass(frozen=True)
class CallSpec:
    """Everything the ledger keeps about a request, minus anything secret."""

    context: CallContext
    units: Units
    fingerprint: str
    prompt: str = ""
    references: tuple[str, ...] = ()
    parameters: dict[str, Any] | None = None


class Governor:
    """Count-and-pass-through governor: every paid call of a run passes here."""

    poll_interval = 0.2

    def __init__(self, run_id: str):
        self.run_id = run_id
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def _count(self, spec: CallSpec) -> None:
        with self._lock:
            self.calls[spec.context.stage] += 1

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    def sync_call(self, spec: CallSpec, call: Callable[[], T]) -> T:
        self._count(spec)
        return call()

    def job_call(self, spec: CallSpec, *, submit: Callable[[str], str], poll: Callable[[str], Any],
                 download: Callable[[str], Path], find: Callable[[str], str | None] | None = None,
                 cancel: Callable[[str], None] | None = None) -> Path:
        self._count(spec)
        job_id = submit(spec.fingerprint)
        while True:
            status = poll(job_id)
            if status.state in ("succeeded", "failed", "canceled"):
                break
            time.sleep(self.poll_interval)
        if status.state != "succeeded":
            raise RuntimeError(f"job {job_id} ended {status.state}: {status.error or ''}")
        return download(job_id)


_GOVERNORS: dict[str, Governor] = {}
_REGISTRY_LOCK = threading.Lock()


def governor_for(run_id: str, factory: Callable[[], Governor] | None = None) -> Governor:
    """The governor of one run in this process (tasks of a run share its counts and caps)."""
    with _REGISTRY_LOCK:
        gov = _GOVERNORS.get(run_id)
        if gov is None:
            gov = factory() if factory else Governor(run_id)
            _GOVERNORS[run_id] = gov
        return gov
