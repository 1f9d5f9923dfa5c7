"""The one door every paid provider call goes through.

Tasks never call a provider's paid method directly: they hand the governor a description of
the call (who, what, how many output seconds or images) and the provider's bound methods. The
governor runs "the paid call" of DESIGN.md, in this order:

  1. kill switch checked (the STOP file);          2. estimate from the rate card;
  3. claim: in one locked ledger transaction, find this request's rows or admit a new one
     under every cap (refused past a cap: the run halts); the new row is the intent, owned
     by this run and process under a lease a background thread renews;
  5. submit;                                        6. provider job id recorded before polling;
  7. poll (with a total deadline);                  8. download to a temporary name;
  9. the artifact's URI recorded, its bytes put into content-addressed storage;
 10. settle the actual cost, with the artifact's URI.
and it returns the artifact's URI: a panel (PNG), a verdict (JSON), a clip (MP4).

What the claim finds decides what happens — one function per row of this table:

  | the request's row                      | its owner            | action (function)                     |
  |----------------------------------------|----------------------|---------------------------------------|
  | none                                   | –                    | send it (_send)                       |
  | succeeded, artifact in storage         | –                    | return it, no provider call (_reuse)  |
  | succeeded, artifact gone               | –                    | fetch it again from the provider if   |
  |                                        |                      | it still has it, else a new call      |
  | reserved or submitted                  | alive                | wait for it, bounded (_wait)          |
  | reserved                               | gone                 | release it, claim anew (_release)     |
  | submitted, artifact recorded & stored  | gone                 | settle it (_settle_stored)            |
  | submitted or unknown, with a job id    | gone / nobody        | re-attach: poll, download (_follow_job)|
  | submitted or unknown, no job id        | gone / nobody        | look it up by our call id (_look_up): |
  |                                        |                      | found → keep it; else unknown: the    |
  |                                        |                      | shot halts, or a repeatable call      |
  |                                        |                      | (a verdict) is asked again            |

A failed call is decided by the error tree (providers/errors.py `outcome_of`): nothing ran →
failed at $0; ran and failed → failed at what the provider charged; anything else — an
exception the tree does not know included — is an unknown outcome, counted as spent.

Named points of a call (`after_intent`, `sending`, `answered`, `after_submit`, `polling`,
`downloading`, `downloaded`, `recorded`, `stored`, `settled`, `reattach`, `reused`, `waiting`)
are announced to listeners (`add_listener`); nothing listens in production. After every
reservation, settlement and refusal by a cap, the run's budget alerts (governor/alerts.py) look
at the caps and emit a Prefect event at 80% and at 100%; they can never fail or refuse a call.
While a request is being sent (from the intent until its job id or answer is in the ledger),
it counts as a send in flight: a process about to end waits for `quiet_sends` first; and a job
being polled is left to the next run once this process's own stop is on (killswitch.py).

It must never import a vendor module (it gets callables), write a key anywhere, retry a paid submit on its
own, or take over a call whose owner is alive.
"""
from __future__ import annotations

import hashlib
import os
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Literal

from providers.errors import ProviderError, RefusedByModeration, outcome_of

from .alerts import BudgetAlerts, film_title
from .killswitch import (StopRequested, check_shared_stop, check_stop, current_stop, process_stop,
                         read_shared_stop)
from .leases import LEASE_SECONDS, Owner, describe_owner, keeper, lease_state
from .ledger import BudgetRefused, CallRequest, CallRow, Cap, Ledger

PAID_CALLS_ALLOWED = "SLATE_PAID_CALLS_ALLOWED"


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
    """Everything the ledger keeps about a request, minus anything secret. `fingerprint`
    covers the request and every provider setting that changes its output."""

    context: CallContext
    units: Units
    fingerprint: str
    prompt: str = ""
    references: tuple[str, ...] = ()
    parameters: dict[str, Any] | None = None


@dataclass(frozen=True)
class Answer:
    """What a one-request call brings back: the bytes to keep, and what it cost — the provider's
    own figure (`cost`), or what it reports it used (`usage`: Units fields, e.g. a judge's
    tokens), priced by the rate card; else the estimate."""

    data: bytes
    suffix: str
    cost: Decimal | None = None
    usage: dict | None = None


@dataclass(frozen=True)
class Delivery:
    """The artifact a paid call produced. `reused`: an earlier call's, no provider call made."""

    uri: str
    call_id: str
    reused: bool = False


class RunHalted(Exception):
    """The run stopped spending (a cap refused a call, or the STOP file appeared): no new
    paid call of this run is admitted. Work already made stays cached."""

    def __init__(self, message: str, *, kind: Literal["budget", "stop"]):
        super().__init__(message)
        self.kind = kind


class ShotHalted(Exception):
    """This shot cannot go on in this run; the rest of the scene does."""


class UnknownOutcome(ShotHalted):
    """A paid call was sent and nobody knows whether it ran: it counts as spent, it is never
    resubmitted silently, and its shot halts until a later run or `slate reconcile` settles it."""

    def __init__(self, row: CallRow, how: str):
        self.call_id = row.call_id
        super().__init__(
            f"unknown outcome of paid call {row.call_id} ({row.stage} of shot {row.shot}, take {row.take}, "
            f"{row.provider}:{row.model}): {how}. It counts as spent. Run again to look for it, or "
            f"`slate reconcile` to attach the provider's job id or mark it failed.")


class CallBusy(ShotHalted):
    """Another live run is making this very call and did not finish within the wait."""

    def __init__(self, row: CallRow, waited: float):
        self.call_id = row.call_id
        super().__init__(
            f"shot {row.shot}: its {row.stage} take {row.take} is being made by {describe_owner(row.owner)}, "
            f"which is still alive; waited {waited:.0f} s for it. Run again once that run has finished: "
            f"its result will be used, not paid for twice.")


class JobEnded(Exception):
    """A provider job ended without a result (failed or canceled)."""


class JobRefused(JobEnded):
    """A provider job ended refused by moderation: never sent again unchanged."""


class PaidCallsRefused(RuntimeError):
    """Paid calls to this provider are switched off here (the test suite's default)."""


def guard_paid_call(provider: str) -> None:
    """Under the test suite, `SLATE_PAID_CALLS_ALLOWED` names the providers a test may call
    (a fixture sets it to a fake's or the local provider's name); unset, every provider may."""
    allowed = os.environ.get(PAID_CALLS_ALLOWED)
    if allowed is not None and provider not in {p.strip() for p in allowed.split(",") if p.strip()}:
        raise PaidCallsRefused(f"paid calls to provider {provider!r} are switched off "
                               f"({PAID_CALLS_ALLOWED}={allowed!r}); a test must ask for them by name")


# -- listeners: who wants to know where a call is ------------------------------------------------
_LISTENERS: list[Callable[[str, CallSpec, dict], None]] = []


def add_listener(fn: Callable[[str, CallSpec, dict], None]) -> Callable[[], None]:
    """Call `fn(point, spec, details)` at every named point of every paid call in this process."""
    _LISTENERS.append(fn)
    return lambda: _LISTENERS.remove(fn)


def _point(name: str, spec: CallSpec, **details) -> None:
    for fn in list(_LISTENERS):
        fn(f"{spec.context.stage}:{name}", spec, details)


# -- how a call is made: the provider's callables ---------------------------------------------
@dataclass(frozen=True)
class _Sync:
    send: Callable[[str], Answer]
    recover: Callable[[str], Answer | None] | None
    repeatable: bool


@dataclass(frozen=True)
class _Job:
    submit: Callable[[str], str]
    poll: Callable[[str], Any]
    download: Callable[[str, Path], Path]
    suffix: str
    deadline: float
    poll_interval: float
    find: Callable[[str], str | None] | None
    cancel: Callable[[str], None] | None


# -- sends in flight: a request between its intent and its recorded job id or answer ----------
_SENDS = 0
_SENDS_DONE = threading.Condition()


def _send_begins() -> None:
    global _SENDS
    with _SENDS_DONE:
        _SENDS += 1


def _send_ends() -> None:
    global _SENDS
    with _SENDS_DONE:
        _SENDS -= 1
        _SENDS_DONE.notify_all()


def quiet_sends(timeout: float) -> bool:
    """Wait (at most `timeout` s) until no request of this process is between being sent and
    having its job id or answer recorded; True if none is. A process that ends past this point
    leaves every call it made with a job id to re-attach to, or an answer kept."""
    with _SENDS_DONE:
        return _SENDS_DONE.wait_for(lambda: _SENDS == 0, timeout=timeout)


_WAIT, _AGAIN, _ASK_AGAIN = "wait", "again", "ask again"
_RETRY_POLL = (ProviderError,)


@dataclass
class Governor:
    """The paid-call chokepoint of one run (its root flow run: a film run and its scenes)."""

    run_id: str
    film: str
    root: Path
    ledger: Ledger
    estimate: Callable[..., Decimal]   # (units, "provider:model") -> price from the rate card
    caps: list[Cap]
    storage: Any                      # providers.base.Storage: put_bytes, put_file, exists, uri_for
    poll_interval: float = 0.25
    lease_seconds: float = LEASE_SECONDS
    busy_wait: float = 1800.0         # how long to wait for another live run's call of the same request
    busy_poll: float = 1.0
    max_retries: int = 5              # sends of a request refused before it ran (429, no connection)
    retry_wait_cap: float = 120.0     # the longest single wait a provider may ask for
    halted: RunHalted | None = None
    alerts: BudgetAlerts | None = None   # the run's budget events (made from the film if not given)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self):
        if self.alerts is None:
            self.alerts = BudgetAlerts(film=self.film, title=film_title(self.root, self.film), run_id=self.run_id)
        self.me = Owner.current(self.run_id)
        self.owner = str(self.me)
        self.downloads = Path(self.root) / ".slate" / "downloads"
        self._mine = threading.local()  # the calls this thread is making right now

    def _hold(self, call_id: str) -> None:
        keeper.hold(self.ledger, call_id, self.owner, self.lease_seconds)
        self._mine.ids = getattr(self._mine, "ids", set()) | {call_id}

    # -- the run's state --------------------------------------------------------------------
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
            check_shared_stop(self.ledger, self.film)   # a `slate stop` from any worker of the ledger
        except StopRequested as exc:
            raise self._halt(RunHalted(str(exc), kind="stop")) from None

    def _budget_moved(self, refused: BudgetRefused | None = None) -> None:
        """Spending moved (or a cap refused a call): let the budget alerts look. Never raises."""
        if self.alerts is not None:
            self.alerts.check(self.ledger, self.caps, refused)

    def _request(self, spec: CallSpec) -> CallRequest:
        c = spec.context
        return CallRequest(run_id=self.run_id, film=self.film, scene=c.scene, shot=c.shot, stage=c.stage,
                           take=c.take, provider=c.provider, model=c.model, profile=c.profile,
                           fingerprint=spec.fingerprint, prompt=spec.prompt,
                           reference_hashes=tuple(spec.references), parameters=dict(spec.parameters or {}),
                           estimate=self._price(spec.units, f"{c.provider}:{c.model}"))

    def _price(self, units: Units, model_key: str) -> Decimal:
        return self.estimate(units, model_key)

    def remaining(self) -> Decimal:
        """What every cap still allows (the smallest), after what is committed and reserved."""
        left = []
        for cap in self.caps:
            t = self.ledger.totals(film=self.film, run_id=self.run_id if cap.scope == "run" else None)
            left.append(cap.limit - t.total)
        return max(Decimal(0), min(left)) if left else Decimal(0)

    def note(self, spec: CallSpec, kind: str, message: str) -> None:
        """Write a decision that costs nothing into the ledger, beside the calls (a $0 released row)."""
        c = spec.context
        self.ledger.note(CallRequest(run_id=self.run_id, film=self.film, scene=c.scene, shot=c.shot, stage=c.stage,
                                     take=c.take, provider=c.provider, model=c.model, profile=c.profile,
                                     fingerprint=spec.fingerprint, prompt=spec.prompt, reference_hashes=(),
                                     parameters=dict(spec.parameters or {}), estimate=Decimal(0)),
                         error_class=kind, message=message)

    def halt(self, message: str, kind: Literal["budget", "stop"] = "budget") -> RunHalted:
        """Stop the run spending (a person must decide something first)."""
        return self._halt(RunHalted(message, kind=kind))

    # -- the two shapes of a paid call ------------------------------------------------------
    def sync_call(self, spec: CallSpec, send: Callable[[str], Answer], *,
                  recover: Callable[[str], Answer | None] | None = None, repeatable: bool = False) -> Delivery:
        """One request, one answer (a panel, a verdict). `send(call_id)` makes the request.
        `recover(call_id)` fetches the answer of a call whose answer a crashed run never got,
        where the provider keeps it; a `repeatable` call (a verdict: no artifact anyone paid
        to keep, the same answer for the same input) is asked again when it cannot be found."""
        return self._obtain(spec, _Sync(send, recover, repeatable))

    def job_call(self, spec: CallSpec, *, submit: Callable[[str], str], poll: Callable[[str], Any],
                 download: Callable[[str, Path], Path], suffix: str, deadline: float,
                 poll_interval: float | None = None, find: Callable[[str], str | None] | None = None,
                 cancel: Callable[[str], None] | None = None) -> Delivery:
        """Submit → job id → poll (at most `deadline` seconds) → download (a clip)."""
        return self._obtain(spec, _Job(submit, poll, download, suffix.lstrip("."), deadline,
                                       self.poll_interval if poll_interval is None else poll_interval,
                                       find, cancel))

    # -- the state machine ------------------------------------------------------------------
    def _obtain(self, spec: CallSpec, way) -> Delivery:
        self.check_open()
        guard_paid_call(spec.context.provider)
        request = self._request(spec)
        self._mine.ids = set()
        try:
            return self._with_retries(spec, request, way)
        except BaseException:
            # Whatever this thread was making, it no longer is: stop renewing its lease, so the
            # next attempt (in this process or another) finds the call's owner gone.
            for call_id in self._mine.ids:
                keeper.drop(call_id)
            raise

    def _with_retries(self, spec: CallSpec, request: CallRequest, way) -> Delivery:
        """A request refused before it ran (rate limited, no connection) cost nothing and may be
        sent again: after the wait the provider asks for (bounded), at most `max_retries` times.
        Each refused send stays a failed row at $0 in the ledger."""
        for attempt in range(self.max_retries + 1):
            try:
                return self._decide(spec, request, way)
            except ProviderError as exc:
                if exc.outcome != "not_run" or not exc.retryable or attempt == self.max_retries:
                    raise
                wait = min(self.retry_wait_cap, exc.retry_after if getattr(exc, "retry_after", None) is not None
                           else 2.0 * 2 ** attempt)
                _point("retrying", spec, error=type(exc).__name__, wait=wait, attempt=attempt + 1)
                self.check_open()
                time.sleep(wait)
        raise AssertionError("unreachable")

    def _decide(self, spec: CallSpec, request: CallRequest, way) -> Delivery:
        skip: set[str] = set()
        take_unknown = False
        waiting_since: float | None = None
        while True:
            try:
                claim = self.ledger.claim(request=request, cap_scopes=self.caps, owner=self.owner,
                                          lease_seconds=self.lease_seconds, skip=skip, take_unknown=take_unknown)
            except BudgetRefused as exc:
                self._budget_moved(refused=exc)
                raise self._halt(RunHalted(str(exc), kind="budget")) from exc
            row = claim.row
            if claim.kind == "claimed":
                self._budget_moved()
                return self._send(spec, row, way)
            if claim.kind == "done":
                found = self._reuse(spec, row, way)
                if found is not None:
                    return found
                skip.add(row.call_id)
                continue
            if claim.kind == "refused":  # refused as asked: never sent again unchanged, not even by a new run
                _point("refused", spec, call_id=row.call_id)
                words = f"refused earlier (call {row.call_id}): {row.error_message}"
                if isinstance(way, _Job):
                    raise JobRefused(f"{row.provider} job for shot {row.shot}: {words}")
                raise RefusedByModeration(words, provider=row.provider)
            step = self._follow_open(spec, row, claim.now, way)
            if step == _WAIT:
                waiting_since = self._wait(spec, row, waiting_since)
            elif step == _ASK_AGAIN:
                take_unknown = True
            elif step != _AGAIN:
                return step

    def _follow_open(self, spec: CallSpec, row: CallRow, now, way):
        """An open row of this request: whose is it, and what is left to do."""
        if row.status in ("reserved", "submitted"):
            if lease_state(row, now, self.me) == "live":
                return _WAIT
            if not self.ledger.take_over(row, owner=self.owner, lease_seconds=self.lease_seconds):
                return _AGAIN  # its owner renewed (alive after all) or another run took it first
            self._hold(row.call_id)
            row = self.ledger.find(row.call_id)
            _point("reattach", spec, call_id=row.call_id, job_id=row.job_id, status=row.status)
            if row.status == "reserved":
                return self._release(row)
            if row.artifact_uri and self.storage.exists(row.artifact_uri):
                return self._settle_stored(spec, row)
            if row.job_id and isinstance(way, _Job):
                return self._follow_job(spec, row, way)
            return self._look_up(spec, row, way)
        # unknown: nobody owns it
        if row.job_id and isinstance(way, _Job):
            if not self.ledger.take_over(row, owner=self.owner, lease_seconds=self.lease_seconds, status="submitted"):
                return _AGAIN
            self._hold(row.call_id)
            _point("reattach", spec, call_id=row.call_id, job_id=row.job_id, status="unknown")
            return self._follow_job(spec, self.ledger.find(row.call_id), way)
        return self._look_up(spec, row, way)

    def _wait(self, spec: CallSpec, row: CallRow, since: float | None) -> float:
        """Another live owner is making this call: wait for its outcome, within `busy_wait`."""
        now = time.monotonic()
        if since is None:
            _point("waiting", spec, call_id=row.call_id, owner=row.owner)
            since = now
        if now - since > self.busy_wait:
            raise CallBusy(row, now - since)
        self.check_open()
        time.sleep(self.busy_poll)
        return since

    def _release(self, row: CallRow) -> str:
        """A reserved row whose owner is gone was never sent: free it and claim anew."""
        self.ledger.release(row.call_id)
        keeper.drop(row.call_id)
        return _AGAIN

    def _reuse(self, spec: CallSpec, row: CallRow, way) -> Delivery | None:
        """A succeeded call of this request: its artifact, or (lost) the provider's copy of it."""
        if self.storage.exists(row.artifact_uri):
            _point("reused", spec, call_id=row.call_id)
            return Delivery(row.artifact_uri, row.call_id, reused=True)
        try:  # fetching what was already paid for again is free; if the provider lost it too, pay anew
            if isinstance(way, _Job) and row.job_id:
                part = self._part(row.call_id, way.suffix)
                way.download(row.job_id, part)
                uri = self._store_file(part, way.suffix)
            elif isinstance(way, _Sync) and way.recover is not None:
                answer = way.recover(row.call_id)
                if answer is None:
                    return None
                uri = self.storage.put_bytes(answer.data, answer.suffix)
            else:
                return None
        except Exception:  # noqa: BLE001 — expired at the provider: a new call it is
            return None
        self.ledger.replace_artifact(row.call_id, uri)
        _point("reused", spec, call_id=row.call_id, fetched_again=True)
        return Delivery(uri, row.call_id, reused=True)

    def _settle_stored(self, spec: CallSpec, row: CallRow) -> Delivery:
        """The owner stored the artifact and died before settling: settle it for them."""
        self.ledger.settle(row.call_id, actual_cost=row.estimate, artifact_uri=row.artifact_uri)
        keeper.drop(row.call_id)
        _point("settled", spec, call_id=row.call_id)
        return Delivery(row.artifact_uri, row.call_id)

    def _look_up(self, spec: CallSpec, row: CallRow, way):
        """Sent, no job id or answer recorded: ask the provider by our call id, else unknown."""
        found_job = found_answer = None
        if isinstance(way, _Job) and way.find is not None:
            try:
                found_job = way.find(row.call_id)
            except NotImplementedError:
                found_job = None
        elif isinstance(way, _Sync) and way.recover is not None:
            found_answer = way.recover(row.call_id)
        if found_job or found_answer is not None:
            if row.status == "unknown":
                if not self.ledger.take_over(row, owner=self.owner, lease_seconds=self.lease_seconds,
                                             status="submitted"):
                    return _AGAIN
                self._hold(row.call_id)
            _point("reattach", spec, call_id=row.call_id, job_id=found_job)
            if found_job:
                self.ledger.mark_submitted(row.call_id, found_job)
                return self._follow_job(spec, self.ledger.find(row.call_id), way)
            return self._keep(spec, self.ledger.find(row.call_id), found_answer)
        how = ("it was sent but its job id was never recorded, and the provider cannot find it by our call id"
               if isinstance(way, _Job) else "it was sent, but the run that sent it stopped before the answer came back")
        if row.status != "unknown":
            self.ledger.mark_unknown(row.call_id, how)
            keeper.drop(row.call_id)
        if isinstance(way, _Sync) and way.repeatable:
            return _ASK_AGAIN  # the lost attempt stays counted as spent
        raise UnknownOutcome(row, how)

    def _send(self, spec: CallSpec, row: CallRow, way) -> Delivery:
        """Our claim: the request goes out now."""
        call_id = row.call_id
        self._hold(call_id)
        _point("after_intent", spec, call_id=call_id)
        try:
            self.check_open()
        except RunHalted:
            self._release(row)
            raise
        _send_begins()
        try:
            self.ledger.mark_submitted(call_id, None)   # from here on a crash is an ambiguous outcome
            _point("sending", spec, call_id=call_id)
            if isinstance(way, _Sync):
                try:
                    answer = way.send(call_id)
                except BaseException as exc:
                    self._failed(row, exc)
                    raise
                _point("answered", spec, call_id=call_id)
                return self._keep(spec, row, answer)
            try:
                job_id = way.submit(call_id)
            except BaseException as exc:
                self._failed(row, exc)
                raise
            _point("after_submit", spec, call_id=call_id, job_id=job_id)
            self.ledger.mark_submitted(call_id, job_id)   # the job id, before any polling
        finally:
            _send_ends()
        return self._follow_job(spec, self.ledger.find(call_id), way)

    def _failed(self, row: CallRow, exc: BaseException) -> None:
        """Record a call that raised, by the error tree; raise UnknownOutcome when ambiguous."""
        keeper.drop(row.call_id)
        outcome = outcome_of(exc)
        if outcome == "ambiguous":
            self.ledger.mark_unknown(row.call_id, f"{type(exc).__name__}: {exc}")
            if isinstance(exc, Exception):
                raise UnknownOutcome(row, f"the request may have reached the provider, then "
                                          f"{type(exc).__name__}: {exc}") from exc
            return  # KeyboardInterrupt and the like go on up as they are
        charged = getattr(exc, "charged", None)
        if charged is None:  # ran and billed (an unusable output) costs the estimate; else nothing
            charged = row.estimate if getattr(exc, "billed", False) else Decimal(0)
        self.ledger.fail(row.call_id, error_class=type(exc).__name__, message=str(exc)[:2000], charged=charged)
        if getattr(exc, "halts", False):
            self._halt(RunHalted(f"provider refused the run: {exc}", kind="budget"))

    def _follow_job(self, spec: CallSpec, row: CallRow, way: _Job) -> Delivery:
        """A job with a known id: poll to the end (within the deadline), download, keep."""
        status = self._poll(spec, row, way)
        if status.state != "succeeded":
            keeper.drop(row.call_id)
            reason = status.error or f"job ended {status.state}"
            refused = status.state == "failed" and getattr(status, "refused", False)
            error_class = "RefusedByModeration" if refused else "JobFailed" if status.state == "failed" else "JobCanceled"
            charged = self._cost(status.cost, getattr(status, "usage", None), f"{row.provider}:{row.model}")
            self.ledger.fail(row.call_id, error_class=error_class, message=reason,
                             charged=charged if charged is not None else
                             Decimal(0) if status.state == "failed" else row.estimate)
            raise (JobRefused if refused else JobEnded)(f"{row.provider} job {row.job_id} for shot {row.shot}: {reason}")
        part = self._part(row.call_id, way.suffix)
        _point("downloading", spec, call_id=row.call_id, job_id=row.job_id)
        try:
            way.download(row.job_id, part)
        except ProviderError as exc:
            if exc.outcome == "failed":  # what came back is unusable: the job is over, and billed
                keeper.drop(row.call_id)
                part.unlink(missing_ok=True)
                self._failed(row, exc)
            raise
        _point("downloaded", spec, call_id=row.call_id, job_id=row.job_id)
        return self._keep(spec, row, part, cost=self._cost(status.cost, getattr(status, "usage", None),
                                                           f"{row.provider}:{row.model}"))

    def _poll(self, spec: CallSpec, row: CallRow, way: _Job):
        deadline = time.monotonic() + way.deadline
        cancelled = False
        while True:
            _point("polling", spec, call_id=row.call_id, job_id=row.job_id)
            try:
                status = way.poll(row.job_id)
            except _RETRY_POLL as exc:
                if exc.outcome != "ambiguous" and not exc.retryable:
                    raise  # the job is gone or our key is: not something waiting will mend
                status = None  # a GET that timed out or hit a 5xx: the job is still there
            if status is not None and status.state in ("succeeded", "failed", "canceled"):
                return status
            own = process_stop()
            if own is not None:
                # This process is ending (its parent is gone, or its run was cancelled): stop
                # waiting, and leave the job to the next run, which finds its job id in the
                # ledger and this process gone — re-attaches, and pays nothing twice.
                keeper.drop(row.call_id)
                raise self._halt(RunHalted(f"stop requested: {own.reason}; {row.provider} job {row.job_id} of shot "
                                           f"{row.shot} is left running for the next run to collect", kind="stop"))
            stop = current_stop(self.root) or read_shared_stop(self.ledger, self.film)
            if stop is not None:
                self._halt(RunHalted(f"{'hard ' if stop.hard else ''}stop requested: {stop.reason}", kind="stop"))
                # A soft stop lets a submitted job finish (it is paid for); a hard stop cancels it.
                if stop.hard and way.cancel is not None and not cancelled:
                    try:
                        way.cancel(row.job_id)
                    except NotImplementedError:
                        pass  # the provider cannot cancel: the job runs on and is recorded, as on a soft stop
                    cancelled = True
            if time.monotonic() > deadline:
                how = (f"no result from {row.provider} job {row.job_id} within {way.deadline:.0f} s; the job id is "
                       f"kept and the next run looks again")
                self.ledger.mark_unknown(row.call_id, how)
                keeper.drop(row.call_id)
                raise UnknownOutcome(row, how)
            time.sleep(way.poll_interval)

    # -- keeping what was paid for ----------------------------------------------------------
    def _cost(self, cost, usage, model_key: str) -> Decimal | None:
        """The provider's own figure, else its reported usage priced by the rate card (None: the estimate)."""
        if cost is not None and str(cost) != "":
            return Decimal(str(cost))
        if usage:
            return self._price(Units(**usage), model_key)
        return None

    def _part(self, call_id: str, suffix: str) -> Path:
        self.downloads.mkdir(parents=True, exist_ok=True)
        part = self.downloads / f"{call_id}.part.{suffix}"
        part.unlink(missing_ok=True)  # a killed download of this very call
        return part

    def _store_file(self, path: Path, suffix: str) -> str:
        uri = self.storage.put_file(path, suffix)
        path.unlink(missing_ok=True)
        return uri

    def _keep(self, spec: CallSpec, row: CallRow, got: Answer | Path, *, cost: Decimal | None = None) -> Delivery:
        """Record the artifact's URI, store its bytes, then settle: a run killed anywhere in
        between finds the URI in the ledger and the bytes in storage, and pays nothing again."""
        if isinstance(got, Answer):
            digest, suffix = hashlib.sha256(got.data).hexdigest(), got.suffix
            cost = self._cost(got.cost, got.usage, f"{row.provider}:{row.model}")
        else:
            digest, suffix = _file_digest(got), got.suffix.lstrip(".").split(".")[-1]
        uri = self.storage.uri_for(digest, suffix)
        self.ledger.record_artifact(row.call_id, uri)
        _point("recorded", spec, call_id=row.call_id, uri=uri)
        stored = self.storage.put_bytes(got.data, suffix) if isinstance(got, Answer) else self._store_file(got, suffix)
        if stored != uri:
            raise RuntimeError(f"storage named the artifact {stored}, not {uri}: its content changed while stored")
        _point("stored", spec, call_id=row.call_id, uri=uri)
        self.ledger.settle(row.call_id, actual_cost=row.estimate if cost is None else cost, artifact_uri=uri)
        keeper.drop(row.call_id)
        _point("settled", spec, call_id=row.call_id, uri=uri)
        if cost is not None and cost != row.estimate:  # settled at the estimate, the total did not move
            self._budget_moved()
        return Delivery(uri, row.call_id)


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


_GOVERNORS: dict[str, Governor] = {}
_REGISTRY_LOCK = threading.Lock()


def governor_for(run_id: str, factory: Callable[[], Governor]) -> Governor:
    """The governor of one run in this process (the tasks of a run, and of all the scenes of a
    film run, share its halt)."""
    with _REGISTRY_LOCK:
        gov = _GOVERNORS.get(run_id)
        if gov is None:
            gov = factory()
            _GOVERNORS[run_id] = gov
        return gov


def halt_run(run_id: str, reason: str) -> bool:
    """Stop one run's spending in this process (a Cancel): its next paid call is refused as a
    stop; calls already sent go on as on `slate stop`. False if the run has no governor here."""
    with _REGISTRY_LOCK:
        gov = _GOVERNORS.get(run_id)
    if gov is None:
        return False
    gov._halt(RunHalted(f"stop requested: {reason}", kind="stop"))
    return True
