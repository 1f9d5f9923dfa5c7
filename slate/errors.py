"""The root of every error slate raises: `SlateError`.

Every exception class of slate's own code derives from it, directly or through the root of its
tree, so a caller may catch "anything slate raised on purpose" in one clause and let everything
else — a bug — show its traceback. The command line does exactly that (slate/cli.py): a
SlateError is printed as `error: <message>` and the command exits 1.

    SlateError
    ├── ManifestError           manifests/load.py: problems of a film's manifests and settings,
    │                           each naming file, shot and field
    ├── MediaError, CubeError   media/: an ffmpeg run failed; a LUT that does not parse
    ├── CutMismatch             media/cut.py: a joined cut is not as long (or as big, or as loud)
    │                           as what was asked
    ├── ProviderError           providers/errors.py: a provider's failure, with its outcome
    │   └── RateLimited, OutOfCredit, AuthenticationFailed (MissingKey), JobFailed, …
    ├── ReferenceMissing, Unjudgeable, UnknownProvider (ProviderSettingsError), SpecError,
    │   RulesError, KeyUnreadable, FakeEndpointRequired       providers/
    ├── StorageError            providers/storage_errors.py: ObjectMissing, ObjectCorrupt, …
    ├── RunHalted, ShotHalted (UnknownOutcome, CallBusy, JobStuck, PromptRefused), JobEnded, StopRequested,
    │   BudgetRefused, PaidCallsRefused          governor/: a run or shot stopped on purpose
    ├── RateError, GatePolicyError, LedgerStateError, UnknownCall, LedgerUnavailable
    │   (LedgerUrlInvalid), SchemaTooNew, NotAnAmount    governor/: rate cards, gates, the ledger, money
    ├── RunNotOpen, BibleError                   tasks/
    ├── SceneEnded, FilmEnded, ApprovalExpired, NoRunWaiting, NotOnTheLot    flows/
    ├── Refused                                  slate/agent/: what an agent may not do
    └── NotAProject                              slate/commands/: a folder that is not there

A class that a caller already caught as a builtin (ValueError, KeyError, OSError, RuntimeError)
derives from that builtin too, so those clauses keep catching it. tests/unit/test_errors.py fails
on an exception class of product code that does not derive from SlateError.

This module imports nothing of slate's: every layer may import it (tests/unit/test_layering.py).
"""
from __future__ import annotations

__all__ = ["SlateError"]


class SlateError(Exception):
    """Anything slate raises on purpose: its message is written for the person who reads it."""
