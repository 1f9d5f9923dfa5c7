"""Provider keys: read at the moment of use, from the provider's customary environment variable or
a Prefect Secret block, and never shown.

Which variables a provider's key is read from is its spec's `key_vars` (the provider's module
declares them: providers/spec.py), e.g. replicate REPLICATE_API_TOKEN, gemini GEMINI_API_KEY or
GOOGLE_API_KEY. When no variable is set, a Prefect Secret block named `<provider>-api-key` (e.g.
`replicate-api-key`, made on the UI's Blocks page) is read instead. A `Key` prints as its id (a
short hash: what the video slot and `slate doctor` show); only `reveal()` gives the value, and
only an HTTP header or an SDK constructor calls it. Every key read is remembered so that
`redact` (and the log filter built on it) can mask it wherever it might surface.

It must never put a key in a URL, a message, a log record, a parameter, a result or a file.
"""
from __future__ import annotations

import hashlib
import logging
import os
import threading
from typing import NoReturn

from slate.providers.errors import AuthenticationFailed

# Every key value this process has read, so that no log record of any run shows one: process-wide
# on purpose (a key outlives the run that read it, in a worker's logs), bounded by the keys set.
_SEEN: set[str] = set()
_LOCK = threading.Lock()


class MissingKey(AuthenticationFailed):
    """No key for a provider the run uses: the message says which variable to set."""


class Key:
    """A provider key that never prints itself."""

    __slots__ = ("provider", "_value", "source")

    def __init__(self, provider: str, value: str, source: str):
        self.provider = provider
        self._value = value
        self.source = source  # the variable or block it came from (a name, not the value)
        with _LOCK:
            _SEEN.add(value)

    @property
    def id(self) -> str:
        """A short, stable, non-reversible name for the key (video slots, doctor lines)."""
        return hashlib.sha256(self._value.encode()).hexdigest()[:10]

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Key({self.provider}, id={self.id}, from {self.source})"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:  # a key must not travel in a pickle (task results, parameters)
        raise TypeError("a provider key is never pickled: read it again where it is used")


def key_vars() -> dict[str, tuple[str, ...]]:
    """Each provider's key variables, from the registry's specs (read when a key is, not on
    import: the vendor modules import this one)."""
    from slate.providers.registry import specs
    return {name: spec.key_vars for name, spec in specs().items() if spec.key_vars}


def __getattr__(name: str) -> dict[str, tuple[str, ...]]:
    if name == "KEY_VARS":   # the table this module once held, now derived from the specs
        return key_vars()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def block_name(provider: str) -> str:
    return f"{provider}-api-key"


def provider_key(provider: str) -> Key:
    """The key for `provider`, from its environment variable(s), else its Prefect Secret block."""
    from slate.providers.registry import UnknownProvider, provider as spec_of
    try:
        names = spec_of(provider).key_vars
    except UnknownProvider:
        names = ()
    if not names:
        raise ValueError(f"provider {provider!r} takes no key")
    for name in names:
        value = os.environ.get(name, "").strip()
        if value:
            return Key(provider, value, name)
    stored = _secret_block(block_name(provider))
    if stored:
        return Key(provider, stored, f"Secret block {block_name(provider)}")
    raise MissingKey(f"no key for {provider}: set {' or '.join(names)} (or save a Prefect Secret block named "
                     f"{block_name(provider)!r})", provider=provider)


def optional_key(provider: str) -> Key | None:
    """The key for a provider that needs none (its spec's `key_optional`: a model server on the
    film-maker's machine) when one is set; None when none is."""
    try:
        return provider_key(provider)
    except MissingKey:
        return None


def _secret_block(name: str) -> str | None:
    """The key saved as a Prefect Secret block on the Prefect server slate runs against: a
    studio's, `slate up`'s, or the embedded server while a run renders (slate/server.py points
    PREFECT_API_URL at it). With no server configured, None at once: Prefect's client would start
    a server of its own (its "ephemeral" one, 15-25 s on two cores) only to find no block in it."""
    try:
        from prefect.settings import PREFECT_API_URL
        if not PREFECT_API_URL.value():
            return None
        from prefect.blocks.system import Secret
        secret = Secret.load(name)
        if not isinstance(secret, Secret):   # inside an event loop Prefect hands back a coroutine: no key
            return None
        return str(secret.get()).strip() or None
    except Exception:  # noqa: BLE001 — no server, no block, no permission: no key from here
        return None


def redact(text: str) -> str:
    """`text` with every key this process has read replaced by ***."""
    with _LOCK:
        seen = sorted(_SEEN, key=len, reverse=True)
    for value in seen:
        if len(value) >= 6 and value in text:
            text = text.replace(value, "***")
    return text


class RedactKeys(logging.Filter):
    """A log filter masking every key read so far, in the message and its arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 — a broken record is not ours to fix
            return True
        clean = redact(message)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            if redact(str(exc)) != str(exc):
                record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


_INSTALLED = False


def install_log_redaction() -> None:
    """Mask every key this process has read in every log record, whichever logger or handler
    (Prefect's API handler included) it goes to: done where records are made."""
    global _INSTALLED
    with _LOCK:
        if _INSTALLED:
            return
        _INSTALLED = True
    previous = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if _SEEN:
            try:
                message = record.getMessage()
            except Exception:  # noqa: BLE001 — a broken record is not ours to fix
                return record
            clean = redact(message)
            if clean != message:
                record.msg, record.args = clean, None
        return record

    logging.setLogRecordFactory(factory)
