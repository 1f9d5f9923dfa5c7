"""The one door every paid provider call goes through.

Tasks never call a provider's paid method directly: they hand the governor a description of
the call (who, what, how many output seconds or images) and the provider's bound methods. The
governor then runs "the paid call" of DESIGN.md, in this order:

  1. kill switch checked (the STOP file);          2. estimate from the rate card;
  3. atomic reservation in the ledger (refused past any cap: the run halts);
  4. the reservation row is the intent, written before anything is sent;
  5. submit;                                        6. provider job id recorded before polling;
  7. poll;                                          8. download under a temporary name, then rename;
  9. settle the actual cost.

After a crash, the next run meets the open intent of the same request (same fingerprint, shot,
stage and take) and resumes it instead of paying again: a reserved row was never sent and is
released; a submitted row with a job id is re-attached (poll, download, settle); a submitted
row without a job id is looked up at the provider by our call id where the provider can do
that, and otherwise is an unknown outcome — the shot halts and `slate reconcile` decides.

Two shapes of call exist: `sync_call` (one request, one answer: an image, a verdict) and
`job_call` (submit → job id → poll → download: a video).

It must never import a provider module (it gets callables), never write a key anywhere, and
never retry a paid submit on its own.
"""
from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Literal, TypeVar

from .killswitch import StopRequested, check_stop, read_stop
from .ledger import BudgetRefused, CallRequest, CallRow, Cap, Ledger

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


class RunHalted(Exception):
    """The run stopped spending (a cap refused a call, or the STOP file appeared): no new
    paid call of this run is admitted. Work already made stays cached."""

    def __init__(self, message: str, *, kind: Literal["budget", "stop"]):
        super().__init__(message)
        self.kind = kind


class UnknownOutcome(Exception):
    """A paid call was sent and nobody knows whether it ran: it counts as spent, it is never
    resubmitted silently, and its shot halts until `slate reconcile` settles it."""

    def __init__(self, row: CallRow, how: str):
        self.call_id = row.call_id
        super().__init__(
            f"unknown outcome of paid call {row.call_id} ({row.stage} of shot {row.shot}, take {row.take}, "
            f"{row.provider}:{row.model}): {how}. It counts as spent. Run `slate reconcile` to attach the "
            f"provider's job id or mark it failed, then run again.")


# Errors after which nothing ran at the provider, so the call cost nothing.
NOT_RUN = ("RateLimited", "OutOfCredit", "AuthenticationFailed", "BadRequest")
# Errors after which a job may exist at the provider: never resubmitted blindly.
AMBIGUOUS = ("TransientServerError", "ProviderTimeout")


def _classify(exc: BaseException) -> str:
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & set(NOT_RUN):
        return "not_run"
    if names & set(AMBIGUOUS):
        return "ambiguous"
    return "failed"


class Trace:
    """Named points of a paid call, written to `SLATE_TRACE` when set, and a place to hold a
    process at one of them (`SLATE_HOLD_AT=video:after_submit`) so a test can SIGKILL it there.
    Without those variables it costs one dict lookup."""

    def __init__(self):
        self.path = os.environ.get("SLATE_TRACE")
        self.hold = os.environ.get("SLATE_HOLD_AT")

    def point(self, name: str, spec: CallSpec, **extra) -> None:
        if not self.path:
            return
        where = f"{spec.context.stage}:{name}"
        event = {"point": where, "pid": os.getpid(), "shot": spec.context.shot, "take": spec.context.take,
                 "time": time.time(), **extra}
        holding = self.hold == where
        if holding:
            event["holding"] = True
        with open(self.path, "a") as f:
            f.write(json.dumps(event) + "\n")
            f.flush()
            os.fsync(f.fileno())
        while holding:  # wait here to be killed
            time.sleep(0.05)


@dataclass
class Governor:
    """The paid-call chokepoint of one run."""

    run_id: str
    film: str
    root: Path
    ledger: Ledger
    estimate: Callable[[Units], Decimal]
    caps: list[Cap]
    poll_interval: float = 0.25
    calls: Counter = field(default_factory=Counter)
    halted: RunHalted | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    trace: Trace = field(default_factory=Trace)

    # -- bookkeeping ------------------------------------------------------------------------
    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    def _count(self, spec: CallSpec) -> None:
        with self._lock:
            self.calls[spec.context.stage] += 1

    def _halt(self, exc: RunHalted) -> RunHalted:
        with self._lock:
            if self.halted is None:
                self.halted = exc
            return self.halted

    def check_open(self) -> None:
        """Raise if the run may not spend any more (halted, or the STOP file is there)."""
        if self.halted is not None:
            raise self.halted
        try:
            check_stop(self.root)
        except StopRequested as exc:
            raise self._halt(RunHalted(str(exc), kind="stop")) from None

    def _request(self, spec: CallSpec, estimate: Decimal) -> CallRequest:
        c = spec.context
        return CallRequest(run_id=self.run_id, film=self.film, scene=c.scene, shot=c.shot, stage=c.stage,
                           take=c.take, provider=c.provider, model=c.model, profile=c.profile,
                           fingerprint=spec.fingerprint, prompt=spec.prompt,
                           reference_hashes=tuple(spec.references), parameters=dict(spec.parameters or {}),
                           estimate=estimate)

    def _reserve(self, spec: CallSpec) -> tuple[str, Decimal]:
        self.check_open()                                   # 1. kill switch
        estimate = self.estimate(spec.units)                # 2. rate card
        try:                                                # 3-4. atomic reservation = intent row
            res = self.ledger.reserve(cap_scopes=self.caps, request=self._request(spec, estimate))
        except BudgetRefused as exc:
            raise self._halt(RunHalted(str(exc), kind="budget")) from exc
        self.trace.point("after_intent", spec, call_id=res.call_id)
        return res.call_id, estimate

    def _earlier_intent(self, spec: CallSpec) -> CallRow | None:
        """An open row of this very request, left by a run that died mid-call."""
        c = spec.context
        for row in self.ledger.open_intents(film=self.film, fingerprint=spec.fingerprint):
            if (row.scene, row.shot, row.stage, row.take) == (c.scene, c.shot, c.stage, c.take):
                return row
        return None

    def _settle_failure(self, call_id: str, exc: BaseException) -> None:
        kind = _classify(exc)
        if kind == "ambiguous":
            self.ledger.mark_unknown(call_id, f"{type(exc).__name__}: {exc}")
        else:
            # A job the provider ran and failed, or a refusal before running: neither is billed
            # by the vendors in PROVIDERS.md; the ledger keeps the row and the reason.
            self.ledger.fail(call_id, error_class=type(exc).__name__, message=str(exc)[:2000])
        if getattr(exc, "halts", False):
            self._halt(RunHalted(f"provider refused the run: {exc}", kind="budget"))

    # -- one request, one answer ------------------------------------------------------------
    def sync_call(self, spec: CallSpec, call: Callable[[str], T], *,
                  recover: Callable[[str], T | None] | None = None, repeatable: bool = False) -> T:
        """`call(call_id)` makes the request. After a crash mid-call, the next run meets the
        open row of the same request: `recover(call_id)` fetches the answer if the provider kept
        it (nothing is paid again); a `repeatable` call (a judge's verdict: no artifact, same
        answer for the same input) is asked again, the lost attempt staying counted as spent;
        anything else is an unknown outcome and its shot halts."""
        self.check_open()
        earlier = self._earlier_intent(spec)
        if earlier is not None:
            if earlier.status == "reserved":
                self.ledger.release(earlier.call_id)  # reserved, never sent: safe to send now
            else:
                found = recover(earlier.call_id) if recover is not None else None
                if found is not None:
                    self.trace.point("reattach", spec, call_id=earlier.call_id)
                    self.ledger.settle(earlier.call_id, actual_cost=earlier.estimate, artifact_uri=None)
                    return found
                if earlier.status != "unknown":
                    self.ledger.mark_unknown(earlier.call_id, "sent, but the run stopped before the answer came back")
                if not repeatable:
                    raise UnknownOutcome(earlier, "the run that sent it stopped before the answer came back")
        call_id, estimate = self._reserve(spec)
        self._count(spec)
        self.ledger.mark_submitted(call_id, None)
        self.trace.point("after_submit", spec, call_id=call_id)
        try:
            out = call(call_id)
        except BaseException as exc:
            self._settle_failure(call_id, exc)
            raise
        self.ledger.settle(call_id, actual_cost=estimate, artifact_uri=None)
        return out

    # -- submit → job id → poll → download ---------------------------------------------------
    def job_call(self, spec: CallSpec, *, submit: Callable[[str], str], poll: Callable[[str], Any],
                 download: Callable[[str, Path], Path], dest: Path,
                 find: Callable[[str], str | None] | None = None,
                 cancel: Callable[[str], None] | None = None) -> Path:
        """Run (or resume) one provider job; return `dest`, the downloaded file.

        `dest` should be the same path for the same request in every run, so the partial
        download of a run that was killed is found and removed by the next one."""
        self.check_open()
        for stale in dest.parent.glob(f".{dest.stem}*"):  # temp files of a killed download
            stale.unlink(missing_ok=True)
        call_id, job_id, estimate = self._resume(spec, find)
        if call_id is None:
            call_id, estimate = self._reserve(spec)
            self._count(spec)
            self.ledger.mark_submitted(call_id, None)        # "sending": a crash from here is ambiguous
            try:
                job_id = submit(call_id)                      # 5. submit, tagged with our call id
            except BaseException as exc:
                self._settle_failure(call_id, exc)
                raise
            self.trace.point("after_submit", spec, call_id=call_id, job_id=job_id)
            self.ledger.mark_submitted(call_id, job_id)      # 6. job id saved before any polling
        status = self._poll(spec, call_id, job_id, estimate, poll, cancel)
        if status.state != "succeeded":
            reason = status.error or f"job ended {status.state}"
            self.ledger.fail(call_id, error_class="JobFailed" if status.state == "failed" else "JobCanceled",
                             message=reason, charged=Decimal(0) if status.state == "failed" else estimate)
            raise JobEnded(f"{spec.context.provider} job {job_id} for shot {spec.context.shot}: {reason}")
        part = dest.with_name(f".{dest.stem}.part{dest.suffix}")  # 8. temporary name (same suffix) …
        part.unlink(missing_ok=True)
        self.trace.point("downloading", spec, call_id=call_id, job_id=job_id)
        download(job_id, part)
        self.trace.point("downloaded", spec, call_id=call_id, job_id=job_id)
        os.replace(part, dest)                                # … then an atomic rename
        cost = Decimal(status.cost) if getattr(status, "cost", None) else estimate
        self.ledger.settle(call_id, actual_cost=cost, artifact_uri=None)   # 9. settle
        return dest

    def _resume(self, spec: CallSpec, find) -> tuple[str | None, str | None, Decimal]:
        earlier = self._earlier_intent(spec)
        if earlier is None:
            return None, None, Decimal(0)
        if earlier.status == "reserved":
            self.ledger.release(earlier.call_id)
            return None, None, Decimal(0)
        if earlier.job_id:
            self.trace.point("reattach", spec, call_id=earlier.call_id, job_id=earlier.job_id)
            return earlier.call_id, earlier.job_id, earlier.estimate
        job_id = None
        if find is not None:
            try:
                job_id = find(earlier.call_id)
            except NotImplementedError:
                job_id = None
        if job_id is None:
            if earlier.status != "unknown":
                self.ledger.mark_unknown(earlier.call_id, "sent, but the run stopped before the job id came back")
            raise UnknownOutcome(earlier, "it was sent but its job id was never recorded, and the provider "
                                          "cannot look it up by our call id")
        self.ledger.attach_job(earlier.call_id, job_id)
        self.trace.point("reattach", spec, call_id=earlier.call_id, job_id=job_id)
        return earlier.call_id, job_id, earlier.estimate

    def _poll(self, spec, call_id, job_id, estimate, poll, cancel):
        cancelled = False
        while True:
            self.trace.point("polling", spec, call_id=call_id, job_id=job_id)
            status = poll(job_id)
            if status.state in ("succeeded", "failed", "canceled"):
                return status
            stop = read_stop(self.root)
            if stop is not None:
                self._halt(RunHalted(f"{'hard ' if stop.hard else ''}stop requested: {stop.reason}", kind="stop"))
                # A soft stop lets a submitted job finish (it is paid for); a hard stop cancels it.
                if stop.hard and cancel is not None and not cancelled:
                    cancel(job_id)
                    cancelled = True
            time.sleep(self.poll_interval)


class JobEnded(Exception):
    """A provider job ended without a result (failed or canceled)."""


_GOVERNORS: dict[str, Governor] = {}
_REGISTRY_LOCK = threading.Lock()


def governor_for(run_id: str, factory: Callable[[], Governor]) -> Governor:
    """The governor of one run in this process (tasks of a run share its counts and halt)."""
    with _REGISTRY_LOCK:
        gov = _GOVERNORS.get(run_id)
        if gov is None:
            gov = factory()
            _GOVERNORS[run_id] = gov
        return gov
