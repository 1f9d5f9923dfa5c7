"""The one error tree every provider speaks.

Vendor SDK and HTTP errors are translated into these classes at the edge of each provider
module, so the governor and the tasks decide what to do from the class alone:

    ProviderError                                                        outcome
    ├── RateLimited            429 / quota: wait `retry_after`, try again    not_run
    ├── RefusedByModeration    the input or output was flagged               failed (charged if said)
    ├── OutOfCredit            402 / key limit / exhausted balance: halt     not_run
    ├── AuthenticationFailed   401 / 403 bad key: halt the run               not_run
    ├── TransientServerError   5xx from the provider                         ambiguous
    │   └── CutShort           a file's download ended before its last byte  (a GET: asked again)
    ├── ProviderTimeout        no answer in time                             ambiguous
    ├── BadRequest             422 / 400, or refused before sending          not_run
    ├── ProviderUnreachable    the connection never opened: nothing was sent not_run
    ├── JobFailed              the provider ran the job and it failed        failed (charged if said)
    ├── BadOutput              it ran (and billed) but what came back is     failed (charged the estimate)
    │                          unusable: not a video, a pixel bomb, too big
    └── NotReceived            a lookup proved the provider never received   not_run
                               the request (only a provider whose own book
                               is complete can say so: the local one)

`outcome` is what the governor (governor/chokepoint.py) decides from, and nothing else:
  not_run    nothing ran at the provider: the call cost nothing and may be asked again;
  failed     it ran and failed: recorded as failed, charged `charged` when the provider says (or
             what it reports it used, `usage`), else as the rate card's `[failed_runs]` says the
             provider bills a failed run: its compute (the estimate bounds it) or nothing;
  ambiguous  the request may have been taken: the call is an unknown outcome, counted as
             spent, never sent again blindly. Any exception that is not in this tree is
             ambiguous too: an SDK's own timeout after the POST left must not read as "failed".

This module must never hold a key, a URL with a key in it, or anything a log could leak:
messages are built from the provider's public error text only.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from slate.errors import SlateError

Outcome = Literal["not_run", "failed", "ambiguous"]


class ProviderError(SlateError):
    """Base of the tree. `halts` means the whole run must stop; `retryable` means the same
    request may be sent again *because nothing was run* (never true for an ambiguous POST)."""

    halts: bool = False
    retryable: bool = False
    outcome: Outcome = "ambiguous"

    #: a failed call whose cost is the estimate (the provider billed the work) unless `charged` says
    billed: bool = False

    def __init__(self, message: str, *, provider: str = "", status: int | None = None,
                 charged: Decimal | None = None, usage: dict[str, Any] | None = None):
        super().__init__(message)
        self.provider = provider
        self.status = status
        #: what the provider says it billed for this failure, when it says (a Decimal)
        self.charged = charged
        #: what the provider reports the failed call used (governor Usage fields), when it says
        self.usage = usage

    def __str__(self) -> str:
        where = f"{self.provider}: " if self.provider else ""
        code = f" (HTTP {self.status})" if self.status else ""
        return f"{where}{self.args[0]}{code}"


class RateLimited(ProviderError):
    retryable = True
    outcome = "not_run"

    def __init__(self, message: str, *, retry_after: float | None = None, provider: str = "",
                 status: int | None = None, charged: Decimal | None = None, usage: dict[str, Any] | None = None):
        super().__init__(message, provider=provider, status=status, charged=charged, usage=usage)
        self.retry_after = retry_after


class RefusedByModeration(ProviderError):
    outcome = "failed"


class OutOfCredit(ProviderError):
    halts = True
    outcome = "not_run"


class AuthenticationFailed(ProviderError):
    halts = True
    outcome = "not_run"


class TransientServerError(ProviderError):
    outcome = "ambiguous"


class CutShort(TransientServerError):
    """The provider's file stopped before its end: fewer bytes than its Content-Length, or the
    connection closed mid-body. A GET changes nothing at the provider, so it is asked again;
    one that keeps coming back short is an unusable output (governor/chokepoint.py)."""

    def __init__(self, received: int, declared: int, provider: str = ""):
        of = f"{received:,} of {declared:,} bytes" if declared else f"{received:,} bytes, then the connection closed"
        super().__init__(f"the provider's file was cut short ({of})", provider=provider)
        self.received, self.declared = received, declared


class ProviderTimeout(ProviderError):
    outcome = "ambiguous"


class BadRequest(ProviderError):
    outcome = "not_run"


class ProviderUnreachable(ProviderError):
    retryable = True
    outcome = "not_run"


class JobFailed(ProviderError):
    outcome = "failed"


class BadOutput(ProviderError):
    outcome = "failed"
    billed = True


class NotReceived(ProviderError):
    outcome = "not_run"


def poll_wait(exc: BaseException, interval: float, longest: float) -> float | None:
    """How long to wait before asking about a job again after `exc` met one of its GETs (a poll,
    or the fetch of what it made), or None when no wait can mend it (a refused key, a job the
    provider does not know). A GET changes nothing at the provider, so a 429 is waited out as the
    provider asks (at most `longest`), and a 5xx, a timeout, a dropped connection or an answer
    that could not be read are asked again after the poll interval."""
    if isinstance(exc, RateLimited):
        asked = exc.retry_after if exc.retry_after is not None else interval
        return min(longest, max(interval, asked))
    if isinstance(exc, (TransientServerError, ProviderTimeout, ProviderUnreachable)):
        return interval
    if type(exc) is ProviderError:   # the base class: an answer a module could not read
        return interval
    return None


def outcome_of(exc: BaseException) -> Outcome:
    """What a paid call that raised `exc` means for the money: decided by the tree alone."""
    return exc.outcome if isinstance(exc, ProviderError) else "ambiguous"


class ReferenceMissing(SlateError):
    """A canonical reference the manifests name is not in storage. Never papered over by
    generating a substitute: the film-maker must approve one."""
