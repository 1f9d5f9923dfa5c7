"""Video slots: at most N video jobs in flight per provider key, across every worker.

A Prefect global concurrency limit named `video-<provider>-<key id>` is created on demand the
first time a provider key is used (with the configured number of slots; edit it on the UI's
Concurrency page afterwards) and every video job holds one slot from submit to download.
`strict=True`: if the limit cannot be found the job does not run unthrottled — Prefect's
default would only log a warning (PREFECT.md §4).

A slot held by a process that was killed stays counted in the server's database; a real
server's lease service frees it when its lease expires, but the embedded server `slate run`
starts has no such service, and a rerun after a crash would wait on that slot forever. So in
embedded mode (the CLI sets SLATE_EMBEDDED_PREFECT=1) the limit's taken slots are reset the
first time this process uses it — but only when no other embedded slate run is alive on the
same Prefect home: each one holds a shared lock on `$PREFECT_HOME/slate-embedded.lock` for as
long as it lives, and the reset needs that lock alone (two `slate run` at once share the home's
database, and one must not free the other's slot). Every wait for a slot has a time limit.

It must never name a limit after a key itself: the key id is a short hash or a label.
"""
from __future__ import annotations

import fcntl
import os
import threading
from contextlib import contextmanager
from pathlib import Path

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate, GlobalConcurrencyLimitUpdate
from prefect.concurrency.sync import concurrency
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

_ENSURED: set[str] = set()
_LOCK = threading.Lock()
SLOT_WAIT_SECONDS = 6 * 3600  # a night's batch may queue long; forever is a hang


def embedded() -> bool:
    return os.environ.get("SLATE_EMBEDDED_PREFECT") == "1"


_PRESENCE: int | None = None


def _alone_on_this_home() -> bool:
    """Announce this embedded run (a shared lock held for the process's life) and say whether it
    is the only one on this Prefect home (the lock can be made exclusive)."""
    global _PRESENCE
    from prefect.settings import PREFECT_HOME
    if _PRESENCE is None:
        home = Path(PREFECT_HOME.value())
        home.mkdir(parents=True, exist_ok=True)
        _PRESENCE = os.open(home / "slate-embedded.lock", os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(_PRESENCE, fcntl.LOCK_SH)
    try:
        fcntl.flock(_PRESENCE, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    fcntl.flock(_PRESENCE, fcntl.LOCK_SH)
    return True


def slot_name(provider: str, key_id: str) -> str:
    return f"video-{provider}-{key_id}".lower()


def ensure_limit(name: str, slots: int) -> None:
    with _LOCK:
        if name in _ENSURED:
            return
        with get_client(sync_client=True) as client:
            alone = _alone_on_this_home() if embedded() else False  # announces this run first
            try:
                limit = client.read_global_concurrency_limit_by_name(name)
                if alone and limit.active_slots:
                    # Left by a killed run of this machine: no other run uses this server's database.
                    client.update_global_concurrency_limit(name, GlobalConcurrencyLimitUpdate(active_slots=0))
            except ObjectNotFound:
                try:
                    client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=slots))
                except ObjectAlreadyExists:  # another worker made it first: theirs stands
                    pass
        _ENSURED.add(name)


@contextmanager
def video_slot(provider: str, key_id: str, slots: int):
    name = slot_name(provider, key_id)
    ensure_limit(name, slots)
    with concurrency(name, occupy=1, strict=True, timeout_seconds=SLOT_WAIT_SECONDS):
        yield
