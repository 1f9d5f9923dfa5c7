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
  | submitted or unknown, no job id        | gone / nobody        | look it up (_look_up): the provider's |
  |                                        |                      | job found (by our call id, or by what |
  |                                        |                      | was asked) → follow it; an answer it  |
  |                                        |                      | kept → keep it; proved never received |
  |                                        |                      | → send it now, under the same row;    |
  |                                        |                      | else unknown: a job's shot halts (a   |
  |                                        |                      | person attaches its job), a one-answer|
  |                                        |                      | call is asked again once (_ask_again) |

A failed call is decided by the error tree (providers/errors.py `outcome_of`): nothing ran →
failed at $0; ran and failed → failed at what the provider charged (its own figure, what it
reports it used, else the rate card's `[failed_runs]`: the compute, bounded by the estimate, or
nothing); anything else — an exception the tree does not know included — is an unknown
outcome, counted as spent. A request whose answer was lost live (the connection dropped after
it was sent) is looked up at once, the same way.

Following a job never hangs: a 429 or a 5xx while it is polled or its output fetched is waited
out (as long as the provider asks, within the call's deadline) and asked again, each wait said
at INFO with the job id. A job the provider still says is running past its deadline (the run sets
it from the model's expected duration) is stuck (`_stuck`): it is cancelled at the provider and
asked once more how it ended — one that finished meanwhile is kept; one that ended or whose
cancel was taken is recorded failed (`JobStuck`) at what the provider says it billed, else as the
rate card's [failed_runs] says; one the provider cannot cancel stays unknown with its job id, for
the next run to collect — and the shot is told (`JobStuck`, a ShotHalted) with the job id and the
time waited. A job whose polls the provider did not answer when its deadline came (a job nobody
can see may be done: it is not cancelled), and a finished job whose output cannot be fetched
within it, end the call unknown with the job id kept: the next run re-attaches to it. A process
told to stop (SIGTERM, its parent gone) leaves every poll and wait at once, its job ids kept. The
watchdog (governor/watchdog.py) says so when a call of this process makes no progress for longer
than its deadline.

Named points of a call (`after_intent`, `sending`, `answered`, `after_submit`, `polling`,
`downloading`, `downloaded`, `recorded`, `stored`, `settled`, `reattach`, `reused`, `waiting`,
`asking_again`, `stuck`) are announced to listeners (`add_listener`); nothing listens in production. After every
reservation, settlement and refusal by a cap, the run's budget alerts (governor/alerts.py) look
at the caps and emit a Prefect event at 80% and at 100%; they can never fail or refuse a call.
While a request is being sent (from the intent until its job id or answer is in the ledger),
it counts as a send in flight: a process about to end waits for `quiet_sends` first; and a job
being polled is left to the next run once this process's own stop is on (killswitch.py).

It must never import a vendor module (it gets callables), write a key anywhere, retry a paid submit on its
own, or take over a call whose owner is alive.
"""
from __future__ import annotations

import dataclasses
import enum
import hashlib
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, Literal, NoReturn, TypeVar

from slate.providers.base import CapabilityName, Jobs, JobStatus, Storage
from slate.providers.errors import (BadOutput, CutShort, NotReceived, ProviderError, ProviderTimeout,
                                    ProviderUnreachable, RateLimited, RefusedByModeration, outcome_of, poll_wait)
from slate.errors import SlateError

from .alerts import BudgetAlerts, film_title
from .killswitch import (StopRequested, check_shared_stop, check_stop, current_stop, process_stop,
                         read_shared_stop, wait_unless_stopped)
from .leases import LEASE_SECONDS, Owner, describe_owner, keeper, lease_state
from .ledger import AGENT_CALLER, BudgetRefused, CallRequest, CallRow, Cap, Ledger, LedgerStateError, request_key
from .money import fmt_usd, usd
from .watchdog import watchdog

#: What a job call is asked (providers.base.Jobs' request).
Req = TypeVar("Req")

log = logging.getLogger("slate.governor")

#: The error class of a call whose answer was lost and that was asked again (once): counted as
#: spent at its estimate, closed so that nothing is left to reconcile that a run settled itself.
ANSWER_LOST = "AnswerLost"
#: The $0 note written beside the call that asked again: which call's answer was lost, what it cost.
ASKED_AGAIN = "AskedAgain"
#: The error class of a row whose request a lookup proved the provider never received.
NOT_RECEIVED = "NotReceived"
#: The error class of a job that gave no result within its deadline and was cancelled (or ended).
JOB_STUCK = "JobStuck"

PAID_CALLS_ALLOWED = "SLATE_PAID_CALLS_ALLOWED"
#: Who is asking, written on every row of the run (the ledger's `caller`): unset for a person's
#: run; `slate mcp` sets "agent:<session>" in the environment of each run an agent starts.
CALLER = "SLATE_CALLER"
#: An agent's caps, set by `slate mcp` beside its caller: the session's cap (its rows of the film,
#: over every run and process of the session) and the agents' daily cap (every agent's rows of the
#: film today). The ledger holds both at every admission, like the run and film caps.
SESSION_CAP = "SLATE_SESSION_CAP_USD"
AGENTS_DAILY_CAP = "SLATE_AGENTS_DAILY_CAP_USD"


def agent_caps(caller: str | None) -> list[Cap]:
    """The caps `slate mcp` set for an agent caller's run in this process's environment (none
    for a person's run: an agent's caps never hold a person)."""
    if not caller or not caller.startswith(AGENT_CALLER):
        return []
    limits: dict[str, Decimal] = {}
    for name in (SESSION_CAP, AGENTS_DAILY_CAP):
        text = os.environ.get(name, "").strip()
        if text:
            try:
                limits[name] = usd(text)
            except (TypeError, ValueError, ArithmeticError):
                raise SlateError(f"${name}: {text!r} is not a dollar amount the ledger can hold") from None
    caps = [Cap("session", limits[SESSION_CAP], caller=caller)] if SESSION_CAP in limits else []
    return caps + ([Cap("agents_day", limits[AGENTS_DAILY_CAP])] if AGENTS_DAILY_CAP in limits else [])


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
class Usage:
    """What a rate card prices a call by. A spoken line (kind "speech") is priced by the characters
    of text sent and the seconds of speech made (a token-billed voice: its tokens, when it reports
    them; else tokens reckoned from the characters and seconds, as its rate card row says). A
    lip-sync call (kind "lipsync", issue 38), a face swap and an upscale of a clip (kinds "faceswap",
    "upscale", issue 41) are priced like a clip, by its seconds. A job on a
    film's own GPU (ComfyUI, issue 41) reports the GPU seconds it took (`gpu_seconds`): a rate per
    GPU-second prices it by them; before the job, with none reported, by the row's estimate of them."""

    kind: CapabilityName
    seconds: float = 0.0
    resolution: str | None = None
    images: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    #: a video call that asks the model for its sound: priced at the card's with-audio rate
    audio: bool = False
    #: a spoken line: the characters of text sent to the voice
    characters: int = 0
    #: the GPU seconds a self-hosted job took, as its server reports them (None: not reported)
    gpu_seconds: float | None = None


_USAGE_FIELDS = frozenset(f.name for f in fields(Usage))


@dataclass(frozen=True)
class CallSpec:
    """Everything the ledger keeps about a request, minus anything secret. `fingerprint`
    covers the request and every provider setting that changes its output."""

    context: CallContext
    units: Usage
    fingerprint: str
    prompt: str = ""
    references: tuple[str, ...] = ()
    parameters: dict[str, Any] | None = None


@dataclass(frozen=True)
class Answer:
    """What a one-request call brings back: the bytes to keep, and what it cost — the provider's
    own figure (`cost`), or what it reports it used (`usage`: Usage fields, e.g. a judge's
    tokens), priced by the rate card; else the estimate."""

    data: bytes
    suffix: str
    cost: Decimal | None = None
    usage: dict[str, Any] | None = None


@dataclass(frozen=True)
class CallArtifact:
    """The artifact a paid call produced. `reused`: an earlier call's, no provider call made."""

    uri: str
    call_id: str
    reused: bool = False


class RunHalted(SlateError):
    """The run stopped spending (a cap refused a call, or the STOP file appeared): no new
    paid call of this run is admitted. Work already made stays cached."""

    by_shot: str | None = None   # the shot whose own step halted the run (flows/shot/shot.py marks it)

    def __init__(self, message: str, *, kind: Literal["budget", "stop"]) -> None:
        super().__init__(message)
        self.kind = kind


class ShotHalted(SlateError):
    """This shot cannot go on in this run; the rest of the scene does."""


class UnknownOutcome(ShotHalted):
    """A paid call was sent and nobody knows whether it ran: it counts as spent, it is never
    resubmitted silently, and its shot halts until a later run or `slate reconcile` settles it.
    `next_step` says which: the next run by itself (a job id is kept), or a person."""

    def __init__(self, row: CallRow, how: str, next_step: str | None = None) -> None:
        self.call_id = row.call_id
        self.job_id = row.job_id
        if next_step is None:
            next_step = (f"The next run re-attaches to job {row.job_id} by itself" if row.job_id else
                         f"If the provider made it, attach its job: `slate reconcile DIR --call {row.call_id} "
                         f"--job JOB_ID`; if it never did, `slate reconcile DIR --call {row.call_id} --failed`")
        super().__init__(
            f"unknown outcome of paid call {row.call_id} ({row.stage} of shot {row.shot}, take {row.take}, "
            f"{row.provider}:{row.model}): {how}. It counts as spent. {next_step}.")


class AnswerLost(UnknownOutcome):
    """A one-answer call (a verdict, a panel the provider keeps nothing of) lost its answer a
    second time after it was asked again once: not asked a third time. Its shot cannot have that
    answer in this run; a person lets the next run ask again (`slate reconcile --lost`)."""


class CallBusy(ShotHalted):
    """Another live run is making this very call and did not finish within the wait."""

    def __init__(self, row: CallRow, waited: float) -> None:
        self.call_id = row.call_id
        super().__init__(
            f"shot {row.shot}: its {row.stage} take {row.take} is being made by {describe_owner(row.owner)}, "
            f"which is still alive; waited {waited:.0f} s for it. Run again once that run has finished: "
            f"its result will be used, not paid for twice.")


class JobStuck(ShotHalted):
    """A provider job gave no result within its deadline: slate asked the provider to cancel it,
    recorded how that went, and this shot stops here (escalated: a person decides whether to try
    again or to give the model longer), while the run's other shots go on."""

    def __init__(self, message: str, *, call_id: str, job_id: str, waited: float, cancelled: bool) -> None:
        super().__init__(message)
        self.call_id, self.job_id, self.waited, self.cancelled = call_id, job_id, waited, cancelled


class JobEnded(SlateError):
    """A provider job ended without a result (failed or canceled)."""


class JobRefused(JobEnded):
    """A provider job ended refused by moderation: never sent again unchanged."""


class PaidCallsRefused(SlateError, RuntimeError):
    """Paid calls to this provider are switched off here (the test suite's default)."""


#: Fetches of a finished job's file that may come back cut short before it is an unusable
#: output: a dropped connection is asked again, a file that is always short is not waited on
#: until the job's deadline (half an hour for a clip) with its cause lost.
CUT_SHORT_FETCHES = 3


def guard_paid_call(provider: str) -> None:
    """Under the test suite, `SLATE_PAID_CALLS_ALLOWED` names the providers a test may call
    (a fixture sets it to a fake's or the local provider's name); unset, every provider may."""
    allowed = os.environ.get(PAID_CALLS_ALLOWED)
    if allowed is not None and provider not in {p.strip() for p in allowed.split(",") if p.strip()}:
        raise PaidCallsRefused(f"paid calls to provider {provider!r} are switched off "
                               f"({PAID_CALLS_ALLOWED}={allowed!r}); a test must ask for them by name")


#: How long a job whose cancel the provider took is asked how it ended, while it still runs.
LAST_WORD_SECONDS = 10.0


# -- a provider that stopped answering ------------------------------------------------------------
# Process-wide on purpose: a server that died is one fact for every run and job of this process
# that waits on it; cleared by the first answer it gives again.
SAY_SILENCE = 60.0   # seconds of silence before it is said, and between the lines that say it
_SILENCE: dict[str, tuple[float, float]] = {}          # provider -> (monotonic, wall) of its first silence
_SILENCE_LAST: dict[str, float] = {}                    # provider -> when a job last met its silence
_SILENCE_SAID: dict[str, float] = {}                    # provider -> when its silence was last said
#: seconds after which a silence no job has met is over: longer than the longest wait between two
#: polls of one job (retry_wait_cap, 120 s)
SILENCE_GAP = 150.0
_SILENCE_WAITERS: dict[str, dict[str, str]] = {}        # provider -> call id -> the job, in words
_SILENCE_LOCK = threading.Lock()


# -- listeners: who wants to know where a call is ------------------------------------------------
# Process-wide on purpose: the crash tests' probes, each removed by the callable `add_listener`
# returns. Nothing of a run is kept here.
#: (point, spec, details): details are what the point knows (call_id, job_id, uri, ...).
Listener = Callable[[str, CallSpec, dict[str, object]], None]
_LISTENERS: list[Listener] = []


def add_listener(fn: Listener) -> Callable[[], None]:
    """Call `fn(point, spec, details)` at every named point of every paid call in this process."""
    _LISTENERS.append(fn)
    return lambda: _LISTENERS.remove(fn)


def _point(name: str, spec: CallSpec, **details: object) -> None:
    for fn in list(_LISTENERS):
        fn(f"{spec.context.stage}:{name}", spec, details)


# -- how a call is made: the provider's callables ---------------------------------------------
@dataclass(frozen=True)
class _Sync:
    send: Callable[[str], Answer]
    recover: Callable[[str], Answer | None] | None
    repeatable: bool
    deadline: float


@dataclass(frozen=True)
class _Job:
    submit: Callable[[str], str]
    poll: Callable[[str], JobStatus]
    download: Callable[[str, Path], Path]
    suffix: str
    deadline: float
    poll_interval: float
    find: Callable[[str, datetime], str | None] | None   # (our call id, when our intent was written)
    cancel: Callable[[str], None] | None
    #: how long the job is expected to take, where the caller knows (said when it is stuck)
    expected: float | None = None


#: How a call is made: one request and one answer, or a job.
_Way = _Sync | _Job


def _may_ask_again(way: _Way, row: CallRow) -> bool:
    """Whether a one-answer call whose answer is lost is asked again (`_ask_again`): a repeatable
    one, or one that costs nothing — a $0 call (a local judge, a free model) asked again loses
    nothing, so the next run settles what a dead run left open without asking a person."""
    return isinstance(way, _Sync) and (way.repeatable or row.estimate == 0)


# -- sends in flight: a request between its intent and its recorded job id or answer ----------
# Process-wide on purpose: a process about to end waits for its own sends, whichever run made them.
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


class Next(enum.Enum):
    """What the claim loop does when a step has no result yet (a step returns a CallArtifact or one of these)."""

    WAIT = "wait"    # another live owner is making this call: wait for its outcome
    AGAIN = "again"  # the ledger changed under us (released, taken over): claim the request anew


_WAIT: Final = Next.WAIT
_AGAIN: Final = Next.AGAIN
#: What a person does about a one-answer call (no job to attach) whose outcome is unknown.
_ONE_ANSWER_STEP = ("It is one request and one answer, with no job to attach: `slate reconcile DIR --call {call} "
                    "--lost` if it ran (counted as spent; the next run asks again), `--failed` if it never did")


class _AskAgain(SlateError):
    """Inside the claim loop: the lost call was closed (AnswerLost); claim the request anew,
    marked as asked again for it."""

    def __init__(self, lost: CallRow) -> None:
        self.lost = lost


class _ThisThread(threading.local):
    """The calls this thread is making right now (each thread sees its own set)."""

    def __init__(self) -> None:
        self.ids: set[str] = set()


@dataclass
class Governor:
    """The paid-call chokepoint of one run (its root flow run: a film run and its scenes)."""

    run_id: str
    film: str
    root: Path
    ledger: Ledger
    estimate: Callable[[Usage, str], Decimal]   # (units, "provider:model") -> price from the rate card
    caps: list[Cap]
    storage: Storage
    poll_interval: float = 0.25
    lease_seconds: float = LEASE_SECONDS
    busy_wait: float = 1800.0         # how long to wait for another live run's call of the same request
    busy_poll: float = 1.0
    max_retries: int = 5              # sends of a request refused before it ran (429, no connection)
    retry_wait_cap: float = 120.0     # the longest single wait a provider may ask for
    #: how long a provider that stopped answering (no connection, no answer in time) is waited for
    #: before the jobs that wait on it end unknown, their job ids kept for the next run — rather than
    #: each waiting out its own deadline in silence (SLATE_PROVIDER_SILENCE_SECONDS; issue 56)
    silence_seconds: float = 300.0
    sync_deadline: float = 600.0      # the longest a one-answer call is waited for (the watchdog's clock)
    #: what a provider bills for a call it ran that failed or that moderation refused, from the rate
    #: card's [failed_runs]: ("provider:model", "failed" | "refused") -> "compute" | "nothing"
    failure_charge: Callable[[str, str], str] | None = None
    halted: RunHalted | None = None
    alerts: BudgetAlerts | None = None   # the run's budget events (made from the film if not given)
    caller: str | None = None            # the ledger's caller column (default: $SLATE_CALLER, else a person)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.alerts is None:
            self.alerts = BudgetAlerts(film=self.film, title=film_title(self.root, self.film), run_id=self.run_id)
        self.me = Owner.current(self.run_id)
        self.owner = str(self.me)
        self.caller = (self.caller or os.environ.get(CALLER, "").strip() or None)
        self.caps = [*self.caps, *agent_caps(self.caller)]
        self.downloads = Path(self.root) / ".slate" / "downloads"
        self._mine = _ThisThread()

    def _hold(self, call_id: str) -> None:
        keeper.hold(self.ledger, call_id, self.owner, self.lease_seconds)
        self._mine.ids = self._mine.ids | {call_id}

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
                           estimate=self._price(spec.units, f"{c.provider}:{c.model}"), caller=self.caller)

    def _price(self, units: Usage, model_key: str) -> Decimal:
        return self.estimate(units, model_key)

    def remaining(self) -> Decimal:
        """What every cap still allows (the smallest), after what is committed and reserved."""
        left: list[Decimal] = []
        for cap in self.caps:
            left.append(cap.limit - self.ledger.cap_totals(cap, film=self.film, run_id=self.run_id).total)
        return max(Decimal(0), min(left)) if left else Decimal(0)

    def note(self, spec: CallSpec, kind: str, message: str) -> None:
        """Write a decision that costs nothing into the ledger, beside the calls (a $0 released row)."""
        c = spec.context
        self.ledger.note(CallRequest(run_id=self.run_id, film=self.film, scene=c.scene, shot=c.shot, stage=c.stage,
                                     take=c.take, provider=c.provider, model=c.model, profile=c.profile,
                                     fingerprint=spec.fingerprint, prompt=spec.prompt, reference_hashes=(),
                                     parameters=dict(spec.parameters or {}), estimate=Decimal(0),
                                     caller=self.caller),
                         error_class=kind, message=message)

    def approve(self, *, scene: str, stage: str, take: int, by: str, fingerprint: str, message: str,
                shot: str = "*") -> None:
        """Write a person's decision into the ledger's approvals (schema v6): never a paid call."""
        self.ledger.approve(run_id=self.run_id, film=self.film, scene=scene, shot=shot, stage=stage, take=take,
                            by=by, fingerprint=fingerprint, message=message, caller=self.caller)

    def halt(self, message: str, kind: Literal["budget", "stop"] = "budget") -> RunHalted:
        """Stop the run spending (a person must decide something first)."""
        return self._halt(RunHalted(message, kind=kind))

    # -- the two shapes of a paid call ------------------------------------------------------
    def sync_call(self, spec: CallSpec, send: Callable[[str], Answer], *,
                  recover: Callable[[str], Answer | None] | None = None, repeatable: bool = False,
                  deadline: float | None = None) -> CallArtifact:
        """One request, one answer (a panel, a verdict). `send(call_id)` makes the request.
        `recover(call_id)` fetches the answer of a call whose answer was lost (a crashed run, a
        dropped connection), where the provider keeps it — or raises NotReceived when it can
        prove it never got the request. A `repeatable` call whose answer cannot be found is
        asked again, once: the lost one is counted as spent and both are written down.
        `deadline`: the longest its answer may take (for the watchdog; `sync_deadline` if None)."""
        return self._obtain(spec, _Sync(send, recover, repeatable,
                                        self.sync_deadline if deadline is None else deadline))

    def job_call(self, spec: CallSpec, *, submit: Callable[[str], str], poll: Callable[[str], JobStatus],
                 download: Callable[[str, Path], Path], suffix: str, deadline: float,
                 poll_interval: float | None = None, find: Callable[[str, datetime], str | None] | None = None,
                 cancel: Callable[[str], None] | None = None, expected: float | None = None) -> CallArtifact:
        """Submit → job id → poll (at most `deadline` seconds: past it the job is stuck and
        `cancel(job_id)` asked) → download (a clip, a panel). `find(call_id, since)` looks a job up
        whose id was never recorded (`since`: when our intent was written, a datetime), None when
        it finds none; NotImplementedError where the provider cannot look jobs up. `expected`: how
        long the job is expected to take (the deadline's ground, said when it is stuck). A job is
        polled at least ten times within its deadline, however long the provider's own interval."""
        interval = self.poll_interval if poll_interval is None else poll_interval
        return self._obtain(spec, _Job(submit, poll, download, suffix.lstrip("."), deadline,
                                       min(interval, max(0.05, deadline / 10)), find, cancel, expected))

    def job(self, spec: CallSpec, jobs: Jobs[Req], request: Req, *, deadline: float, expected: float | None = None,
            suffix: str = "mp4") -> CallArtifact:
        """`request` made by `jobs` (a video, lip-sync or pass model: providers.base.Jobs) as the
        job call above: submitted with our call id, polled at its own interval, downloaded, found
        again by the request after a crash, cancelled past `deadline`."""
        return self.job_call(spec, submit=lambda ref: jobs.submit(request, client_ref=ref), poll=jobs.poll,
                             download=jobs.download, suffix=suffix, deadline=deadline, expected=expected,
                             poll_interval=jobs.poll_interval,
                             find=lambda ref, since: jobs.find_job(ref, since, request=request), cancel=jobs.cancel)

    # -- the state machine ------------------------------------------------------------------
    def _obtain(self, spec: CallSpec, way: _Way) -> CallArtifact:
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
        finally:
            for call_id in self._mine.ids:
                watchdog.forget(call_id)

    def _with_retries(self, spec: CallSpec, request: CallRequest, way: _Way) -> CallArtifact:
        """A request refused before it ran (rate limited, no connection) cost nothing and may be
        sent again: after the wait the provider asks for (bounded), at most `max_retries` times.
        Each refused send stays a failed row at $0 in the ledger."""
        for attempt in range(self.max_retries + 1):
            try:
                return self._decide(spec, request, way)
            except ProviderError as exc:
                if exc.outcome != "not_run" or not exc.retryable or attempt == self.max_retries:
                    raise
                asked: float | None = getattr(exc, "retry_after", None)   # RateLimited says how long
                wait = min(self.retry_wait_cap, asked if asked is not None else 2.0 * 2 ** attempt)
                _point("retrying", spec, error=type(exc).__name__, wait=wait, attempt=attempt + 1)
                self.check_open()
                wait_unless_stopped(wait)
                self.check_open()
        raise AssertionError("unreachable")

    def _decide(self, spec: CallSpec, request: CallRequest, way: _Way) -> CallArtifact:
        skip: set[str] = set()
        waiting_since: float | None = None
        while True:
            try:
                claim = self.ledger.claim(request=request, cap_scopes=self.caps, owner=self.owner,
                                          lease_seconds=self.lease_seconds, skip=skip)
            except BudgetRefused as exc:
                self._budget_moved(refused=exc)
                raise self._halt(RunHalted(str(exc), kind="budget")) from exc
            row = claim.row
            try:
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
            except _AskAgain as again:
                # The lost call is closed (counted as spent); the request is claimed anew, and
                # the new row names the call it asks again for.
                request = dataclasses.replace(request, parameters={**request.parameters,
                                                                   "asked_again_for": again.lost.call_id})
                continue
            if step is _WAIT:
                waiting_since = self._wait(spec, row, waiting_since)
            elif step is not _AGAIN:
                return step

    def _follow_open(self, spec: CallSpec, row: CallRow, now: datetime, way: _Way) -> CallArtifact | Next:
        """An open row of this request: whose is it, and what is left to do."""
        if row.status in ("reserved", "submitted"):
            if lease_state(row, now, self.me) == "live":
                if row.call_id not in self._mine.ids:
                    return _WAIT
                # Our own call, in this very thread: an earlier step of this request left it
                # open. Never wait for ourselves (that waited, silent, until busy_wait ran out).
                keeper.drop(row.call_id)
                row = self.ledger.find(row.call_id)
            elif not self.ledger.take_over(row, owner=self.owner, lease_seconds=self.lease_seconds):
                return _AGAIN  # its owner renewed (alive after all) or another run took it first
            self._hold(row.call_id)
            row = self.ledger.find(row.call_id)
            _point("reattach", spec, call_id=row.call_id, job_id=row.job_id, status=row.status)
            if row.status == "reserved":
                return self._release(row)
            if row.artifact_uri and self.storage.exists(row.artifact_uri):
                return self._settle_stored(spec, row, row.artifact_uri)
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

    def _release(self, row: CallRow) -> Next:
        """A reserved row whose owner is gone was never sent: free it and claim anew."""
        self.ledger.release(row.call_id)
        keeper.drop(row.call_id)
        return _AGAIN

    def _reuse(self, spec: CallSpec, row: CallRow, way: _Way) -> CallArtifact | None:
        """A succeeded call of this request: its artifact, or (lost) the provider's copy of it."""
        if row.artifact_uri is None:   # never: the ledger's claim says "done" only of a row with one
            raise LedgerStateError(f"paid call {row.call_id} succeeded without an artifact: nothing to reuse")
        if self.storage.exists(row.artifact_uri):
            _point("reused", spec, call_id=row.call_id)
            return CallArtifact(row.artifact_uri, row.call_id, reused=True)
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
        return CallArtifact(uri, row.call_id, reused=True)

    def _settle_stored(self, spec: CallSpec, row: CallRow, uri: str) -> CallArtifact:
        """The owner stored the artifact (at `uri`) and died before settling: settle it for them."""
        self.ledger.settle(row.call_id, actual_cost=row.estimate, artifact_uri=uri)
        keeper.drop(row.call_id)
        _point("settled", spec, call_id=row.call_id)
        return CallArtifact(uri, row.call_id)

    # -- lost answers ------------------------------------------------------------------------
    def _find(self, row: CallRow, way: _Way) -> str | Answer | NotReceived | None:
        """Ask the provider about a call whose job id or answer never reached the ledger: a job
        id (str), a kept Answer, NotReceived (it proved it never got the request), or None (it
        cannot tell). A lookup that fails is "cannot tell": it is free, the next run asks again."""
        try:
            if isinstance(way, _Job) and way.find is not None:
                job_id = way.find(row.call_id, row.created_at)
                # A job found by what was asked may be another call's (the same input asked
                # twice): one another row already holds is not this one.
                if job_id and any(r.call_id != row.call_id for r in self.ledger.rows_with_job(job_id)):
                    log.info("paid call %s: the job found for it, %s, is another call's: not taken", row.call_id,
                             job_id)
                    return None
                return job_id
            if isinstance(way, _Sync) and way.recover is not None:
                return way.recover(row.call_id)
        except NotImplementedError:
            return None
        except NotReceived as exc:
            return exc
        except ProviderError as exc:
            log.info("could not look up paid call %s at %s: %s", row.call_id, row.provider, exc)
            return None
        return None

    def _look_up(self, spec: CallSpec, row: CallRow, way: _Way) -> CallArtifact | Next:
        """Sent, no job id or answer recorded: look it up; else unknown."""
        found = self._find(row, way)
        if found is not None:
            if row.status == "unknown":
                if not self.ledger.take_over(row, owner=self.owner, lease_seconds=self.lease_seconds,
                                             status="submitted"):
                    return _AGAIN
                self._hold(row.call_id)
                row = self.ledger.find(row.call_id)
            if isinstance(found, NotReceived):
                # Proved never received: nothing ran. It is sent now, under the same row, so the
                # provider gets it once and the ledger holds one row for it.
                _point("reattach", spec, call_id=row.call_id, not_received=True)
                return self._send(spec, row, way, resend=True)
            _point("reattach", spec, call_id=row.call_id, job_id=found if isinstance(found, str) else None)
            if isinstance(found, Answer):
                return self._keep(spec, row, found)
            assert isinstance(way, _Job), "only a job's lookup finds a job id"
            self.ledger.mark_submitted(row.call_id, found)
            return self._follow_job(spec, self.ledger.find(row.call_id), way)
        if _may_ask_again(way, row):
            return self._ask_again(spec, row, "it was sent, but its answer never came back and the provider "
                                              "keeps none to look up")
        how = ("it was sent but its job id was never recorded, and the provider cannot find it"
               if isinstance(way, _Job) else "it was sent, but the run that sent it stopped before the answer came back")
        if row.status != "unknown":
            self.ledger.mark_unknown(row.call_id, how)
            keeper.drop(row.call_id)
        raise UnknownOutcome(row, how, None if isinstance(way, _Job) else _ONE_ANSWER_STEP.format(call=row.call_id))

    def _ask_again(self, spec: CallSpec, row: CallRow, why: str) -> NoReturn:
        """A one-answer call whose answer is lost and cannot be looked up: counted as spent (its
        estimate), closed, and asked again — once. A second loss of the same request is not
        asked a third time: AnswerLost (a person decides, `slate reconcile --lost`)."""
        # Every row has its request key since schema v3 (the upgrade wrote it into older rows).
        earlier = [r for r in self.ledger.rows_of_request(row.request_key or request_key(row))
                   if r.status == "failed" and r.error_class == ANSWER_LOST and r.call_id != row.call_id]
        if row.estimate == 0:
            earlier = []   # free to ask: a third time costs what the first did, nothing
        if earlier:
            if row.status != "unknown":
                self.ledger.mark_unknown(row.call_id, why)
                keeper.drop(row.call_id)
            raise AnswerLost(row, f"{why}; it was asked again once already (after call {earlier[-1].call_id}, "
                                  f"counted as spent), and is not asked a third time",
                             f"Both count as spent. To let the next run ask once more: "
                             f"`slate reconcile DIR --call {row.call_id} --lost`")
        self.ledger.fail(row.call_id, error_class=ANSWER_LOST, charged=row.estimate,
                         message=f"{why}: counted as spent at its estimate {fmt_usd(row.estimate)}; asked again once")
        keeper.drop(row.call_id)
        log.warning("shot %s %s take %s: the answer of paid call %s (%s:%s) was lost (%s); it counts as spent "
                    "(%s) and the same request is asked again, once", row.shot, row.stage, row.take, row.call_id,
                    row.provider, row.model, why, fmt_usd(row.estimate))
        _point("asking_again", spec, call_id=row.call_id)
        raise _AskAgain(self.ledger.find(row.call_id))

    def _asked_again(self, spec: CallSpec, row: CallRow, cost: Decimal) -> None:
        """The call that asked again is settled: say which call's answer was lost and what both cost."""
        lost_id = (row.parameters or {}).get("asked_again_for")
        if not lost_id:
            return
        try:
            lost = self.ledger.find(lost_id)
        except Exception:  # noqa: BLE001 — the note is words; the money is in the two rows already
            return
        self.note(spec, ASKED_AGAIN, f"shot {row.shot} {row.stage} take {row.take}: the answer of call {lost_id} was "
                                     f"lost ({fmt_usd(lost.actual_cost or lost.estimate)}, counted as spent); asked "
                                     f"again once as call {row.call_id}, which cost {fmt_usd(cost)}")

    # -- sending -----------------------------------------------------------------------------
    def _send(self, spec: CallSpec, row: CallRow, way: _Way, *, resend: bool = False) -> CallArtifact:
        """Our claim: the request goes out now (`resend`: a row a lookup proved never received)."""
        call_id = row.call_id
        self._hold(call_id)
        self._watch(spec, row, way)
        if not resend:
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
                    lost = self._lost_live(spec, row, way, exc)
                    if lost is not None:
                        return lost
                    self._failed(row, exc, ran=True)
                    raise
                _point("answered", spec, call_id=call_id)
                watchdog.progress(call_id)
                return self._keep(spec, row, answer)
            try:
                job_id = way.submit(call_id)
            except BaseException as exc:
                lost = self._lost_live(spec, row, way, exc)
                if lost is not None:
                    return lost
                self._failed(row, exc, ran=False)
                raise
            _point("after_submit", spec, call_id=call_id, job_id=job_id)
            self.ledger.mark_submitted(call_id, job_id)   # the job id, before any polling
        finally:
            _send_ends()
        return self._follow_job(spec, self.ledger.find(call_id), way)

    def _lost_live(self, spec: CallSpec, row: CallRow, way: _Way, exc: BaseException) -> CallArtifact | None:
        """The request may have reached the provider and its answer was lost (a dropped
        connection, a timeout after sending): look it up at once; a one-answer call the provider
        keeps nothing of is asked again, once. None: not such a loss, or nothing found (the
        caller records it as the error tree says)."""
        if not isinstance(exc, Exception) or outcome_of(exc) != "ambiguous":
            return None
        found = self._find(row, way)
        if isinstance(found, str):
            assert isinstance(way, _Job), "only a job's lookup finds a job id"
            _point("reattach", spec, call_id=row.call_id, job_id=found)
            self.ledger.mark_submitted(row.call_id, found)
            return self._follow_job(spec, self.ledger.find(row.call_id), way)
        if isinstance(found, Answer):
            _point("reattach", spec, call_id=row.call_id)
            return self._keep(spec, row, found)
        if _may_ask_again(way, row):
            self._ask_again(spec, row, f"the request may have reached the provider, then {type(exc).__name__}: {exc}")
        return None

    def _failed(self, row: CallRow, exc: BaseException, *, ran: bool) -> None:
        """Record a call that raised, by the error tree; raise UnknownOutcome when ambiguous.
        `ran`: an error answer means the provider ran the request (a one-answer call); a refused
        job submit made no job, so it is not billed whatever the rate card says of failed runs."""
        ran_as_job = not ran or row.job_id is not None
        keeper.drop(row.call_id)
        outcome = outcome_of(exc)
        if outcome == "ambiguous":
            self.ledger.mark_unknown(row.call_id, f"{type(exc).__name__}: {exc}")
            if isinstance(exc, Exception):
                raise UnknownOutcome(row, f"the request may have reached the provider, then "
                                          f"{type(exc).__name__}: {exc}",
                                     _ONE_ANSWER_STEP.format(call=row.call_id) if not ran_as_job else None) from exc
            return  # KeyboardInterrupt and the like go on up as they are
        if outcome == "not_run":
            charged = Decimal(0)
        else:
            charged = self._charged(row, exc, ran=ran)
        self.ledger.fail(row.call_id, error_class=type(exc).__name__, message=str(exc)[:2000], charged=charged,
                         usage=getattr(exc, "usage", None) if outcome != "not_run" else None)
        if getattr(exc, "halts", False):
            self._halt(RunHalted(f"provider refused the run: {exc}", kind="budget"))

    def _charged(self, row: CallRow, exc: BaseException, *, ran: bool) -> Decimal:
        """What a call that ran and failed is charged: the provider's own figure, what it reports
        it used, the estimate for a billed unusable output, else the rate card's word."""
        said = self._cost(getattr(exc, "charged", None), getattr(exc, "usage", None), f"{row.provider}:{row.model}")
        if said is not None:
            return said
        if getattr(exc, "billed", False):
            return row.estimate
        if not ran:
            return Decimal(0)
        return self._by_the_card(row, "refused" if isinstance(exc, RefusedByModeration) else "failed")

    def _by_the_card(self, row: CallRow, kind: str) -> Decimal:
        policy = self.failure_charge(f"{row.provider}:{row.model}", kind) if self.failure_charge else "compute"
        return Decimal(0) if policy == "nothing" else row.estimate

    # -- following a job ---------------------------------------------------------------------
    def _watch(self, spec: CallSpec, row: CallRow, way: _Way) -> None:
        c = spec.context
        deadline = way.deadline
        watchdog.watch(row.call_id, self._what(row, c), deadline)
        self._mine.ids = self._mine.ids | {row.call_id}

    @staticmethod
    def _what(row: CallRow, c: CallContext | None = None) -> str:
        job = f", job {row.job_id}" if row.job_id else ""
        return f"shot {row.shot} {row.stage} take {row.take}, {row.provider}:{row.model}{job}"

    def _follow_job(self, spec: CallSpec, row: CallRow, way: _Job) -> CallArtifact:
        """A job with a known id: poll to the end (within the deadline), download, keep."""
        job_id = row.job_id
        if job_id is None:   # never: every caller has recorded the job id first
            raise LedgerStateError(f"paid call {row.call_id} has no job id to follow")
        if not watchdog.watching(row.call_id):
            self._watch(spec, row, way)
        watchdog.describe(row.call_id, self._what(row))
        deadline = time.monotonic() + way.deadline
        status = self._poll(spec, row, job_id, way, deadline)
        if status.state != "succeeded":
            keeper.drop(row.call_id)
            reason = status.error or f"job ended {status.state}"
            refused = status.state == "failed" and getattr(status, "refused", False)
            error_class = "RefusedByModeration" if refused else "JobFailed" if status.state == "failed" else "JobCanceled"
            charged = self._cost(status.cost, getattr(status, "usage", None), f"{row.provider}:{row.model}")
            if charged is None:
                # A canceled job that had started is billed for the time it ran [D Replicate]; a
                # failed or refused one as the provider bills a failed run (the rate card says).
                charged = row.estimate if status.state == "canceled" else \
                    self._by_the_card(row, "refused" if refused else "failed")
            self.ledger.fail(row.call_id, error_class=error_class, message=reason, charged=charged,
                             usage=getattr(status, "usage", None))
            raise (JobRefused if refused else JobEnded)(f"{row.provider} job {row.job_id} for shot {row.shot}: {reason}")
        part = self._download(spec, row, job_id, way, deadline)
        _point("downloaded", spec, call_id=row.call_id, job_id=row.job_id)
        return self._keep(spec, row, part, cost=self._cost(status.cost, getattr(status, "usage", None),
                                                           f"{row.provider}:{row.model}"),
                          usage=getattr(status, "usage", None))

    def _silent(self, row: CallRow, exc: ProviderError, doing: str) -> None:
        """A provider that does not answer at all: said once it has been silent SAY_SILENCE seconds
        (when, for how long, the jobs waiting on it), again each SAY_SILENCE after; past
        `silence_seconds` the job ends unknown, its job id kept — the run does not sit silent
        until each job's own deadline (a ComfyUI server OOM-killed mid-run: up to 30 minutes)."""
        now = time.monotonic()
        with _SILENCE_LOCK:
            since = _SILENCE.get(row.provider)
            if since is None or now - _SILENCE_LAST.get(row.provider, now) > SILENCE_GAP:
                # A silence no job has met for a while is over (its runs ended): this one is new.
                since = _SILENCE[row.provider] = (now, time.time())
                _SILENCE_SAID.pop(row.provider, None)
                _SILENCE_WAITERS.pop(row.provider, None)
            _SILENCE_LAST[row.provider] = now
            waiting = _SILENCE_WAITERS.setdefault(row.provider, {})
            waiting[row.call_id] = f"shot {row.shot} {row.stage} take {row.take}"
            quiet = now - since[0]
            say = quiet >= SAY_SILENCE and now - _SILENCE_SAID.get(row.provider, 0.0) >= SAY_SILENCE
            if say:
                _SILENCE_SAID[row.provider] = now
            jobs = list(waiting.values())
        if say:
            log.warning("%s stopped answering at %s (%.0f s ago: %s); %d job(s) wait on it: %s — each is given %.0f s "
                        "of silence, then left with its job id for the next run", row.provider,
                        time.strftime("%H:%M:%S", time.localtime(since[1])), quiet, exc, len(jobs),
                        "; ".join(jobs[:8]), self.silence_seconds)
        if quiet >= self.silence_seconds:
            with _SILENCE_LOCK:
                _SILENCE_WAITERS.get(row.provider, {}).pop(row.call_id, None)
            how = (f"{row.provider} stopped answering {quiet:.0f} s ago while {doing} job {row.job_id} ({exc}); the "
                   f"job id is kept and the next run looks again")
            self.ledger.mark_unknown(row.call_id, how)
            keeper.drop(row.call_id)
            raise UnknownOutcome(row, how)

    @staticmethod
    def _answered(row: CallRow) -> None:
        """The provider answered: its silence, if it was silent, is over."""
        if row.provider in _SILENCE:
            with _SILENCE_LOCK:
                _SILENCE.pop(row.provider, None)
                _SILENCE_LAST.pop(row.provider, None)
                _SILENCE_SAID.pop(row.provider, None)
                _SILENCE_WAITERS.pop(row.provider, None)

    def _waited(self, spec: CallSpec, row: CallRow, way: _Job, exc: ProviderError, doing: str,
                deadline: float) -> float:
        """A GET of a job met `exc`: how long to wait before asking again (said at INFO with the
        job id), or the call ends — unknown, its job id kept — when no wait can mend it."""
        if isinstance(exc, (ProviderUnreachable, ProviderTimeout)):
            self._silent(row, exc, doing)
        wait = poll_wait(exc, way.poll_interval, self.retry_wait_cap)
        if wait is None:
            # A refused key, a job the provider does not know: the job itself may still run (and
            # be billed). The job id is kept for the next run; a refused key halts this one.
            how = f"{doing} job {row.job_id} failed: {exc}"
            self.ledger.mark_unknown(row.call_id, how)
            keeper.drop(row.call_id)
            if getattr(exc, "halts", False):
                raise self._halt(RunHalted(f"provider refused the run: {exc}; {row.provider} job {row.job_id} of "
                                           f"shot {row.shot} is left for the next run to collect", kind="budget"))
            raise UnknownOutcome(row, how)
        left = max(0.0, deadline - time.monotonic())
        asked = getattr(exc, "retry_after", None)
        if isinstance(exc, RateLimited):
            log.info("shot %s %s take %s: %s job %s: rate limited while %s (%s); waiting %.3g s%s, then asking "
                     "again (%.0f s left of its deadline)", row.shot, row.stage, row.take, row.provider, row.job_id,
                     doing, f"the provider asks {asked:g} s" if asked is not None else "no wait asked",
                     min(wait, left), "" if asked is None or wait >= asked else f" (at most {self.retry_wait_cap:g} s)",
                     left)
        else:
            log.info("shot %s %s take %s: %s job %s: %s while %s; asking again in %.3g s (%.0f s left of its "
                     "deadline)", row.shot, row.stage, row.take, row.provider, row.job_id, exc, doing,
                     min(wait, left), left)
        return wait

    def _poll(self, spec: CallSpec, row: CallRow, job_id: str, way: _Job, deadline: float) -> JobStatus:
        cancelled = False
        while True:
            _point("polling", spec, call_id=row.call_id, job_id=row.job_id)
            wait = way.poll_interval
            status: JobStatus | None
            try:
                status = way.poll(job_id)
                self._answered(row)
            except ProviderError as exc:
                status = None  # the job is still there; the next GET may answer
                wait = self._waited(spec, row, way, exc, "polling", deadline)
            watchdog.progress(row.call_id)  # an answer, even a refusal: the loop is alive
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
                        way.cancel(job_id)
                    except NotImplementedError:
                        pass  # the provider cannot cancel: the job runs on and is recorded, as on a soft stop
                    except ProviderError as exc:
                        log.warning("could not cancel %s job %s: %s", row.provider, row.job_id, exc)
                    cancelled = True
            if time.monotonic() > deadline:
                if status is None:
                    # The provider did not answer the last GET (a 429, a 5xx): a job nobody can see
                    # is not cancelled — it may be done. Unknown, its job id kept for the next run.
                    self._past_deadline(row, way, deadline)
                return self._stuck(spec, row, job_id, way, deadline)
            wait_unless_stopped(max(0.0, min(wait, deadline - time.monotonic())) or 0.001)

    def _stuck(self, spec: CallSpec, row: CallRow, job_id: str, way: _Job, deadline: float) -> JobStatus:
        """No result within the deadline: cancel the job at the provider and ask it once more
        how the job ended. A job that finished meanwhile is returned (and kept, as any other). One
        that ended, or whose cancel the provider took, is recorded failed (JOB_STUCK) at what the
        provider reports it billed, else as the rate card's [failed_runs] says it bills a run that
        did not finish (a cancelled prediction that had started is billed for the time it ran [D
        Replicate]: its compute, bounded by the estimate); one the provider cannot cancel stays
        unknown with its job id (it may still finish, and be billed: the next run collects it).
        Either way JobStuck tells the shot."""
        waited = way.deadline + max(0.0, time.monotonic() - deadline)
        _point("stuck", spec, call_id=row.call_id, job_id=job_id)
        cancelled, how_cancel = self._cancel(row, job_id, way)
        status = self._last_word(row, job_id, way, settle=LAST_WORD_SECONDS if cancelled else 0.0)
        if status is not None and status.state == "succeeded":
            log.warning("%s: %s job %s had no result within %.0f s, and finished as it was cancelled: kept",
                        self._what(row), row.provider, job_id, waited)
            return status
        expected = (f" (a job of {row.provider}:{row.model} is expected to take {way.expected:.0f} s; its "
                    f"deadline is {way.deadline:.0f} s)") if way.expected else f" (its deadline is {way.deadline:.0f} s)"
        said = f"{status.state}{': ' + status.error if status.error else ''}" if status is not None else "unknown"
        ended = status is not None and status.state in ("failed", "canceled")
        keeper.drop(row.call_id)
        if cancelled or ended:
            charged = self._cost(status.cost, status.usage, f"{row.provider}:{row.model}") if status else None
            if charged is None:
                # What a job that ran and did not finish is billed, as the rate card's [failed_runs]
                # says of the provider: its compute (bounded by the estimate), or nothing.
                charged = self._by_the_card(row, "refused" if status is not None and status.refused else "failed")
            how = (f"{row.provider} job {job_id} gave no result in {waited:.0f} s{expected}; {how_cancel}; the "
                   f"provider then said: {said}; recorded at {fmt_usd(charged)}")
            self.ledger.fail(row.call_id, error_class=JOB_STUCK, message=how[:2000], charged=charged,
                             usage=status.usage if status is not None else None)
            if charged != row.estimate:
                self._budget_moved()
            next_step = "Nothing of it is left open: run again for a new take"
        else:
            how = (f"{row.provider} job {job_id} gave no result in {waited:.0f} s{expected}; {how_cancel}, so it "
                   f"may still run and be billed (counted as spent, {fmt_usd(row.estimate)}); the provider last "
                   f"said: {said}")
            self.ledger.mark_unknown(row.call_id, how)
            next_step = "The next run collects it if it finishes"
        log.warning("%s: stuck: %s", self._what(row), how)
        raise JobStuck(f"{how}. {next_step}. If "
                       f"{row.provider}:{row.model} is this slow, give it longer in slate.toml: [job_seconds] "
                       f"\"{row.provider}:{row.model}\" = SECONDS", call_id=row.call_id, job_id=job_id,
                       waited=waited, cancelled=cancelled)

    @staticmethod
    def _cancel(row: CallRow, job_id: str, way: _Job) -> tuple[bool, str]:
        """Ask the provider to cancel a stuck job: (taken, what happened, in words)."""
        if way.cancel is None:
            return False, "it could not be cancelled (no way to cancel was given)"
        try:
            way.cancel(job_id)
        except NotImplementedError as exc:
            return False, f"it could not be cancelled: {exc}"
        except Exception as exc:  # noqa: BLE001 — a refused or failed cancel: said, and the job recorded as open
            return False, f"{row.provider} did not cancel it ({type(exc).__name__}: {exc})"
        return True, f"slate asked {row.provider} to cancel it, and {row.provider} took the request"

    @staticmethod
    def _last_word(row: CallRow, job_id: str, way: _Job, settle: float = 0.0) -> JobStatus | None:
        """The job's state after the cancel (None: the provider did not say). A cancel the
        provider took may land a moment later — ComfyUI stops a prompt only when the node it is in
        finishes — so it is asked again for up to `settle` seconds while the job still runs: the
        ledger then holds how it really ended and what it used."""
        until = time.monotonic() + settle
        while True:
            try:
                status = way.poll(job_id)
            except Exception as exc:  # noqa: BLE001 — a GET that failed tells nothing; the job is recorded as it stands
                log.info("%s job %s: could not ask how it ended after the cancel: %s", row.provider, job_id, exc)
                return None
            if status.state in ("succeeded", "failed", "canceled") or time.monotonic() >= until:
                return status
            if wait_unless_stopped(min(way.poll_interval, max(0.0, until - time.monotonic())) or 0.001):
                return status

    def _past_deadline(self, row: CallRow, way: _Job, deadline: float) -> None:
        if time.monotonic() <= deadline:
            return
        how = (f"no result from {row.provider} job {row.job_id} within {way.deadline:.0f} s; the job id is "
               f"kept and the next run looks again")
        self.ledger.mark_unknown(row.call_id, how)
        keeper.drop(row.call_id)
        raise UnknownOutcome(row, how)

    def _download(self, spec: CallSpec, row: CallRow, job_id: str, way: _Job, deadline: float) -> Path:
        """Fetch what a finished job made, to a temporary name. A GET like a poll: a 429 or a 5xx
        is waited out and asked again within the deadline; an unusable output is a billed failure —
        a file that comes back cut short `CUT_SHORT_FETCHES` times in a row is one too."""
        short = 0
        while True:
            part = self._part(row.call_id, way.suffix)
            _point("downloading", spec, call_id=row.call_id, job_id=row.job_id)
            watchdog.progress(row.call_id)
            try:
                way.download(job_id, part)
                return part
            except ProviderError as exc:
                part.unlink(missing_ok=True)
                short = short + 1 if isinstance(exc, CutShort) else 0
                if short >= CUT_SHORT_FETCHES:
                    exc = BadOutput(f"{exc.args[0]}, {short} times in a row", provider=exc.provider)
                if exc.outcome == "failed" and (own := process_stop()) is not None:
                    # This process is ending (SIGTERM, its parent gone): the check that found the
                    # file unusable may have been cut off by the stop itself (its ffprobe killed
                    # with the process group). No verdict on a paid output is written now: the row
                    # keeps its job id, and the next run fetches and checks the file again and
                    # pays nothing twice (issue 56: it recorded BadOutput, and the next run paid).
                    keeper.drop(row.call_id)
                    raise self._halt(RunHalted(f"stop requested: {own.reason}; {row.provider} job {row.job_id} of "
                                               f"shot {row.shot} ended, and its output is fetched and checked by the "
                                               f"next run", kind="stop"))
                if exc.outcome == "failed":  # what came back is unusable: the job is over, and billed
                    keeper.drop(row.call_id)
                    self._failed(row, exc, ran=True)
                    raise exc
                wait = self._waited(spec, row, way, exc, "fetching the output of", deadline)
            watchdog.progress(row.call_id)
            self._past_deadline(row, way, deadline)
            self.check_open()
            wait_unless_stopped(max(0.0, min(wait, deadline - time.monotonic())) or 0.001)

    # -- keeping what was paid for ----------------------------------------------------------
    def _cost(self, cost: Decimal | str | None, usage: Mapping[str, Any] | None, model_key: str) -> Decimal | None:
        """The provider's own figure, else its reported usage priced by the rate card (None: the estimate)."""
        if cost is not None and str(cost) != "":
            return Decimal(str(cost))
        if usage:
            # What a provider reported beside the units a card prices by (a judge's re-ask) is kept
            # in the ledger's usage column as it came, and not priced.
            priced = {k: v for k, v in usage.items() if k in _USAGE_FIELDS}
            return self._price(Usage(**priced), model_key)
        return None

    def _part(self, call_id: str, suffix: str) -> Path:
        self.downloads.mkdir(parents=True, exist_ok=True)
        # Hidden, with this writer's pid: a killed run's download is swept by the next run
        # (flows/call_sheet.sweep_scratch); a live one's never is.
        return self.downloads / f".{call_id}.{os.getpid()}.{uuid.uuid4().hex[:12]}.part.{suffix}"

    def _store_file(self, path: Path, suffix: str) -> str:
        uri = self.storage.put_file(path, suffix)
        path.unlink(missing_ok=True)
        return uri

    def _keep(self, spec: CallSpec, row: CallRow, got: Answer | Path, *, cost: Decimal | None = None,
              usage: Mapping[str, Any] | None = None) -> CallArtifact:
        """Record the artifact's URI, store its bytes, then settle: a run killed anywhere in
        between finds the URI in the ledger and the bytes in storage, and pays nothing again."""
        if isinstance(got, Answer):
            digest, suffix = hashlib.sha256(got.data).hexdigest(), got.suffix
            cost = self._cost(got.cost, got.usage, f"{row.provider}:{row.model}")
            usage = got.usage
        else:
            digest, suffix = _file_digest(got), got.suffix.lstrip(".").split(".")[-1]
        uri = self.storage.uri_for(digest, suffix)
        self.ledger.record_artifact(row.call_id, uri)
        _point("recorded", spec, call_id=row.call_id, uri=uri)
        stored = self.storage.put_bytes(got.data, suffix) if isinstance(got, Answer) else self._store_file(got, suffix)
        if stored != uri:
            raise RuntimeError(f"storage named the artifact {stored}, not {uri}: its content changed while stored")
        _point("stored", spec, call_id=row.call_id, uri=uri)
        self.ledger.settle(row.call_id, actual_cost=row.estimate if cost is None else cost, artifact_uri=uri,
                           usage=usage)
        keeper.drop(row.call_id)
        _point("settled", spec, call_id=row.call_id, uri=uri)
        self._asked_again(spec, row, row.estimate if cost is None else cost)
        if cost is not None and cost != row.estimate:  # settled at the estimate, the total did not move
            self._budget_moved()
        return CallArtifact(uri, row.call_id)


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
