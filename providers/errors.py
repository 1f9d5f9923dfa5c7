"""The one error tree every provider speaks.

Vendor SDK and HTTP errors are translated into these classes at the edge of each provider
module, so the governor and the tasks decide what to do from the class alone:

    ProviderError
    ├── RateLimited            429 / quota: wait `retry_after` and try again (nothing was run)
    ├── RefusedByModeration    the input or output was flagged: a new take will not help as is
    ├── OutOfCredit            402 / key limit / exhausted balance: halt the run, never retry
    ├── AuthenticationFailed   401 / 403 bad key: halt the run, never retry
    ├── TransientServerError   5xx from the provider: the job may or may not exist
    ├── ProviderTimeout        no answer in time: the job may or may not exist
    ├── BadRequest             422 / 400: our request is wrong; retrying repeats the mistake
    └── JobFailed              the provider ran the job and it failed (E1000, OOM, …)

This module must never hold a key, a URL with a key in it, or anything a log could leak:
messages are built from the provider's public error text only.
"""
from __future__ import annotations


class ProviderError(Exception):
    """Base of the tree. `halts` means the whole run must stop; `retryable` means the same
    request may be sent again *because nothing was run* (never true for an ambiguous POST)."""

    halts: bool = False
    retryable: bool = False

    def __init__(self, message: str, *, provider: str = "", status: int | None = None):
        super().__init__(message)
        self.provider = provider
        self.status = status

    def __str__(self) -> str:
        where = f"{self.provider}: " if self.provider else ""
        code = f" (HTTP {self.status})" if self.status else ""
        return f"{where}{self.args[0]}{code}"


class RateLimited(ProviderError):
    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kw):
        super().__init__(message, **kw)
        self.retry_after = retry_after


class RefusedByModeration(ProviderError):
    pass


class OutOfCredit(ProviderError):
    halts = True


class AuthenticationFailed(ProviderError):
    halts = True


class TransientServerError(ProviderError):
    pass


class ProviderTimeout(ProviderError):
    pass


class BadRequest(ProviderError):
    pass


class JobFailed(ProviderError):
    pass


class ReferenceMissing(Exception):
    """A canonical reference the manifests name is not in storage. Never papered over by
    generating a substitute: the film-maker must approve one."""
