"""The one error tree every provider speaks.

Vendor SDK and HTTP errors are translated into these classes at the edge of each provider
module, so the governor and the tasks decide what to do from the class alone:

    ProviderError                                                        outcome
    ├── RateLimited            429 / quota: wait `retry_after`, try again    not_run
    ├── RefusedByModeration    the input or output was flagged               failed (charged if said)
    ├── OutOfCredit            402 / key limit / exhausted balance: halt     not_run
    ├── AuthenticationFailed   401 / 403 bad key: halt the run               not_run
    ├── TransientServerError   5xx from the provider                         ambiguous
    ├── ProviderTimeout        no answer in time                             ambiguous
    ├── BadRequest             422 / 400, or refused before sending          not_run
    ├── ProviderUnreachable    the connection never opened: nothing was sent not_run
    ├── JobFailed              the provider ran the job and it failed        failed (charged if said)
    └── BadOutput              it ran (and billed) but what came back is     failed (charged the estimate)
                               unusable: not a video, a pixel bomb, too big

`outcome` is what the governor (governor/chokepoint.py) decides from, and nothing else:
  not_run    nothing ran at the provider: the call cost nothing and may be asked again;
  failed     it ran and failed: recorded as failed, charged `charged` (default $0);
  ambiguous  the request may have been taken: the call is an unknown outcome, counted as
             spent, never sent again blindly. Any exception that is not in this tree is
             ambiguous too: an SDK's own timeout after the POST left must not read as "failed".

This module must never hold a key, a URL with a key in it, or anything a log could leak:
messages are built from the provider's public error text only.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Literal

Outcome = Literal["not_run", "failed", "ambiguous"]


class ProviderError(Exception):
    """Base of the tree. `halts` means the whole run must stop; `retryable` means the same
    request may be sent again *because nothing was run* (never true for an ambiguous POST)."""

    halts: bool = False
    retryable: bool = False
    outcome: Outcome = "ambiguous"

    #: a failed call whose cost is the estimate (the provider billed the work) unless `charged` says
    billed: bool = False

    def __init__(self, message: str, *, provider: str = "", status: int | None = None,
                 charged: Decimal | None = None):
        super().__init__(message)
        self.provider = provider
        self.status = status
        #: what the provider says it billed for this failure, when it says (a Decimal)
        self.charged = charged

    def __str__(self) -> str:
        where = f"{self.provider}: " if self.provider else ""
        code = f" (HTTP {self.status})" if self.status else ""
        return f"{where}{self.args[0]}{code}"


class RateLimited(ProviderError):
    retryable = True
    outcome = "not_run"

    def __init__(self, message: str, *, retry_after: float | None = None, **kw):
        super().__init__(message, **kw)
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


def outcome_of(exc: BaseException) -> Outcome:
    """What a paid call that raised `exc` means for the money: decided by the tree alone."""
    return exc.outcome if isinstance(exc, ProviderError) else "ambiguous"


class ReferenceMissing(Exception):
    """A canonical reference the manifests name is not in storage. Never papered over by
    generating a substitute: the film-maker must approve one."""
