"""The Prefect servers slate starts on SQLite: the embedded one of `slate run`, and the one
`slate up` leaves running for the UI. Both are Prefect's own app, under uvicorn, wrapped here.

With no Prefect server configured, a `slate run` needs one for as long as it renders. Prefect's
client would start one by itself on its first API call (its "ephemeral" server, on SQLite in
PREFECT_HOME). slate starts that same app itself, for three reasons a 62-shot film of four
scenes showed on a 2-core machine:

1. **A busy database failed the film.** SQLite answers a transaction that read and then writes,
   while another write committed in between, with SQLITE_BUSY_SNAPSHOT — no busy timeout waits
   that out — and Prefect's server turns it into a 503. Prefect's client backs off 2, 4, 8, 16
   and 32 s, then gives up. With four scenes' tasks streaming their states into the database,
   creating a scene's sub-flow met that again and again: the scenes started 10-20 s apart, and
   3 of 4 runs of the film ended Failed (`503 Service Unavailable … /api/task_runs/`), every
   scene stopped. Here (`BusyRetry`) requests that write go through the app one at a time, and
   the server itself sends a busy one through again after a few milliseconds, for up to
   RETRY_SECONDS: the failed transaction was rolled back, so this is the client's own retry
   without its back-off. (Retrying alone, with writes still racing each other, once stalled the
   server for 60 s: a write waited out SQLite's busy timeout.)
2. **It cost the run's process the server's imports.** Prefect's client imports the whole server
   (about 6 s of CPU here) to start it, on the two cores the server needs to start. slate starts
   the process without importing it, and points Prefect's settings at it (PREFECT_API_URL) before
   anything asks.
3. **It outlived a killed run.** Prefect's server stops at its parent's exit, not at a SIGKILL: the
   server of a killed `slate run` went on holding its port and database. Here it watches its
   parent and stops once the parent is gone.

4. **Two first runs on a new machine killed one of them.** Each server migrates the home's new
   database as it starts; two starting together on a fresh Prefect home raced in the migration
   ("Online migration expected to match one row … 0 found") and one exited (3), its run with it.
   Here servers of one home start one at a time (an exclusive lock on
   `$PREFECT_HOME/slate-embedded-start.lock`, held from the server's start until it answers, so
   the second finds the database made); a server that still exits in a migration — another
   program's server on the same home — is started again.

5. **A lost slot stalled a run for hours.** An ephemeral Prefect server runs no repossessor, so a
   concurrency lease nobody renews (its holder killed, or a grant whose answer was lost and asked
   for again) held its video slot for the server's life. Here (`LeaseReclaim`) expired leases are
   given back as Prefect's repossessor does, and a write waiting for its turn is answered busy
   once its window has passed, so that its client asks again itself instead of timing out.

Its output goes to `PREFECT_HOME/slate-embedded-server.log` (appended: two runs on one home
share it), not over the run's live table.

`slate up`'s server (`stack_app`: the full server, its UI and services, as `prefect server start`
runs it) gets the same `BusyRetry`: there a busy database lost a person's click on Resume. It
is started detached on purpose (`slate down` stops it), so it does not watch its parent.

It must never retry a response the app did not mark as busy (a 503), never touch a websocket or
the app's lifespan, and never let the embedded server outlive the process that started it.
"""
from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from slate.errors import SlateError

#: How long the server sends one busy request through the app again before it answers the 503.
RETRY_SECONDS = 30.0
#: The first wait between two tries; each further one is a little longer, at most MAX_PAUSE.
FIRST_PAUSE = 0.01
MAX_PAUSE = 0.25
#: POST requests of Prefect's API that only read (filters, counts): they need no turn at writing.
READS = ("/filter", "/count", "/paginate", "/history")
#: The server tells who started it by this variable; it stops once that process is gone.
PARENT = "SLATE_EMBEDDED_PARENT"
PARENT_POLL_SECONDS = 1.0
#: A server that is starting is waited for as long as it makes progress (it uses CPU, its log
#: grows, its port opens); this long without any progress, it is given up. A cold start takes
#: 10-30 s on an idle 2-core machine and 80-162 s on a busy one, mostly busy importing.
START_STALL = 120.0
SAY_EVERY = 20.0       # seconds between the lines a starting server's wait says
#: The longest a start is waited for however it progresses; SLATE_SERVER_START_SECONDS sets it.
START_LIMIT = 900.0
START_LIMIT_ENV = "SLATE_SERVER_START_SECONDS"
START_TIMEOUT = START_STALL   # the other server's start lock is waited for as long
START_LOCK = "slate-embedded-start.lock"
#: What a server's log says when it exited in the database's migration (another started with it).
MIGRATION_WORDS = ("migration", "alembic")
START_TRIES = 3
STOP_GRACE = 10.0
#: What a server's log says when its port was taken between our choosing it and its binding it
#: (uvicorn's and weed's words alike): the server is started again on another port.
PORT_TAKEN = "address already in use"
LOG_NAME = "slate-embedded-server.log"
FACTORY = "slate.server:embedded_app"   # uvicorn's --factory for the embedded server
STACK_FACTORY = "slate.server:stack_app"  # and for `slate up`'s

#: The longest a process waiting for a video slot sleeps before asking the server again
#: (PREFECT_SERVER_CONCURRENCY_MAXIMUM_CONCURRENCY_SLOT_WAIT_SECONDS, set on every server slate
#: starts). Prefect tells a waiter to come back after the slot's average occupancy, up to 30 s; a
#: slot keeper (tasks/run/slots.py) holds a slot for several jobs in a row, so that average is long and
#: a slot one scene's process gave back sat idle until another woke: on a studio of one worker
#: (four scene processes, one slot) 52 s of a 62-shot film, 0.84 s a shot.
SLOT_WAIT_SECONDS = 1
SLOT_WAIT = "PREFECT_SERVER_CONCURRENCY_MAXIMUM_CONCURRENCY_SLOT_WAIT_SECONDS"
LEASE_STORAGE = "PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE"
SHARED_LEASES = "prefect.server.concurrency.lease_storage.filesystem"
#: How often an embedded server looks for expired leases (the repossessor's 15 s on a full server).
RECLAIM_EVERY = "PREFECT_SERVER_SERVICES_REPOSSESSOR_LOOP_SECONDS"
RECLAIM_SECONDS = 5


# -- in the server's process ----------------------------------------------------------------------

class BusyRetry:
    """ASGI middleware: an HTTP request the app answered 503 (its database was busy) is sent
    through the app again, at once and then with short growing pauses, for up to `seconds`.

    The request's body is read once and given to every try; the client sees one answer, the
    first that was not a 503 (or the last 503, when the database stayed busy that long)."""

    def __init__(self, app, seconds: float = RETRY_SECONDS):
        self.app, self.seconds = app, seconds
        self._writes: asyncio.Lock | None = None

    def _gate(self, scope) -> asyncio.Lock | None:
        """The lock a request that writes takes for each try: one at a time through the app."""
        if scope["method"] in ("GET", "HEAD", "OPTIONS") or scope["path"].endswith(READS):
            return None
        if self._writes is None:
            self._writes = asyncio.Lock()  # made on the server's own loop
        return self._writes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":  # lifespan and websockets pass through untouched
            await self.app(scope, receive, send)
            return
        body, more = [], True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away before it finished sending
                return
            body.append(message.get("body", b""))
            more = message.get("more_body", False)
        whole = b"".join(body)
        started = time.monotonic()
        pause, tries = FIRST_PAUSE, 0
        while True:
            tries += 1
            last_try = time.monotonic() - started >= self.seconds
            gate = self._gate(scope)
            if gate is None:
                busy = await self._try(scope, whole, receive, send, pass_503=last_try)
            elif not await self._turn_at(gate, started):
                await _busy_answer(send)
                print(f"{scope['method']} {scope['path']}: database busy, no turn at writing within "
                      f"{self.seconds:g} s: answered busy", file=sys.stderr, flush=True)
                return
            else:
                try:
                    busy = await self._try(scope, whole, receive, send, pass_503=last_try)
                finally:
                    gate.release()
            if not busy:
                if tries > 1:  # one line in the server's log: how busy the database was
                    print(f"{scope['method']} {scope['path']}: database busy, answered after {tries} tries "
                          f"({time.monotonic() - started:.2f} s)", file=sys.stderr, flush=True)
                return
            await asyncio.sleep(pause * (0.5 + random.random()))
            pause = min(MAX_PAUSE, pause * 1.5)

    async def _turn_at(self, gate: asyncio.Lock, started: float) -> bool:
        """The write gate taken, or False when the request's window passed while it waited.

        Waiting in line is bounded like trying is: behind writes that each wait out SQLite's
        busy timeout, a request once waited 61 s, past its client's 60 s — the client sent it
        again while the first went through, and a concurrency slot the server granted was held
        by a lease nobody knew of (the run waited for that slot until the end of the suite). A
        client answered busy sends it again itself, with its own back-off."""
        left = self.seconds - (time.monotonic() - started)
        try:
            await asyncio.wait_for(gate.acquire(), timeout=max(left, 0.001))
        except asyncio.TimeoutError:
            return False
        return True

    async def _try(self, scope, body: bytes, receive, send, *, pass_503: bool) -> bool:
        """One pass through the app; True when it answered 503 and the answer was held back."""
        given = False
        held = False

        async def replay():
            nonlocal given
            if not given:
                given = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the client to go, as the server would

        async def watch(message):
            nonlocal held
            if message["type"] == "http.response.start" and message["status"] == 503 and not pass_503:
                held = True
            if not held:
                await send(message)

        try:
            # A copy for each try: routing writes into the scope it is given (the mount's path).
            await self.app(dict(scope), replay, watch)
        except Exception:
            # Starlette's error middleware sends the 503 and then raises the database's error
            # again, for the server's log. A held 503 is tried again; anything else stands.
            if not held:
                raise
        return held


async def _busy_answer(send) -> None:
    await send({"type": "http.response.start", "status": 503,
                "headers": [(b"content-type", b"application/json"), (b"retry-after", b"1")]})
    await send({"type": "http.response.body", "body": b'{"detail": "database busy"}'})


class LeaseReclaim:
    """ASGI middleware: while the app runs, concurrency leases past their expiry are given back
    every `every` seconds, as Prefect's repossessor service does on a full server.

    Prefect starts no repossessor in an ephemeral server, so there a lease nobody renews — its
    holder killed, or its grant's answer lost and the request sent again — held its slot for the
    rest of the server's life: a one-slot key then let no video job through, and a run waited
    for it for hours (SLOT_WAIT_SECONDS). A lease is renewed at three quarters of its duration
    while its holder lives, so only a dead or forgotten one expires."""

    def __init__(self, app, every: float | None = None):
        if every is None:   # the repossessor's own setting (PREFECT_SERVER_SERVICES_REPOSSESSOR_LOOP_SECONDS)
            from prefect.settings.context import get_current_settings
            every = float(get_current_settings().server.services.repossessor.loop_seconds)
        self.app, self.every = app, every
        self._task: asyncio.Task | None = None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def watch(message):
            if message["type"] == "lifespan.startup.complete" and self._task is None:
                self._task = asyncio.get_running_loop().create_task(self._reclaim_forever())
            if message["type"].startswith("lifespan.shutdown") and self._task is not None:
                self._task.cancel()
                self._task = None
            await send(message)

        await self.app(scope, receive, watch)

    async def _reclaim_forever(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                given = await reclaim_expired_leases()
            except Exception as exc:  # noqa: BLE001 — the next pass tries again; the server goes on
                print(f"expired concurrency leases not reclaimed: {type(exc).__name__}: {exc}", file=sys.stderr,
                      flush=True)
                continue
            if given:
                print(f"reclaimed {given} expired concurrency lease(s): their holders stopped renewing them",
                      file=sys.stderr, flush=True)


async def reclaim_expired_leases() -> int:
    """Give back every expired lease's slots (Prefect's repossessor's own step); how many."""
    from prefect.server.concurrency.lease_storage import get_concurrency_lease_storage
    from prefect.server.database import provide_database_interface
    from prefect.server.services.repossessor import revoke_expired_lease
    storage = get_concurrency_lease_storage()
    expired = await storage.read_expired_lease_ids()
    for lease_id in expired:
        await revoke_expired_lease(lease_id, db=provide_database_interface(), lease_storage=storage)
    return len(expired)


def _watch_parent(parent: int) -> None:
    """Stop this server (SIGTERM to itself: uvicorn's own shutdown) once `parent` is gone."""
    while True:
        time.sleep(PARENT_POLL_SECONDS)
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGTERM)
            return


def embedded_app():
    """uvicorn's factory in the embedded server's process: Prefect's app in ephemeral mode (as its
    client would start it), busy requests retried, expired concurrency leases given back, tied to
    the process that started it."""
    from prefect.server.api.server import create_app

    parent = os.environ.get(PARENT, "")
    if parent.isdigit():
        threading.Thread(target=_watch_parent, args=(int(parent),), name="slate-parent-watch", daemon=True).start()
    return LeaseReclaim(BusyRetry(create_app()))


def stack_app():
    """uvicorn's factory for `slate up`'s server: the app `prefect server start` runs (its UI and
    services; PREFECT__SERVER_FINAL set by the caller), busy requests retried."""
    from prefect.server.api.server import create_app
    return BusyRetry(create_app(final=True))


# -- in the run's process -------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_PROBE = None
_PROBE_LOCK = threading.Lock()


def _probe():
    """The one HTTP client this process asks servers' health with. A client per question
    (`httpx.get`) builds a TLS context each time, about 20 ms of CPU: polled every 50 ms while a
    server starts, that was a core's worth beside the server it waited for (3.8 s of the 11 s a
    two-shot `slate run` spent)."""
    global _PROBE
    with _PROBE_LOCK:
        if _PROBE is None:
            import httpx
            _PROBE = httpx.Client()
        return _PROBE


def healthy(api_url: str, timeout: float = 2.0) -> bool:
    """The Prefect server at `api_url` answers its health check."""
    import httpx
    try:
        return _probe().get(f"{api_url}/health", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def _home() -> Path:
    from prefect.settings import PREFECT_HOME
    return Path(PREFECT_HOME.value())


class EmbeddedServer:
    """The server process this run started: its address, its log, how to wait for it and stop it."""

    def __init__(self, home: Path):
        self.home = home
        self.log_path = home / LOG_NAME
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self._turn: int | None = None   # the start lock's file, held from the start until it answers
        self._log_from = 0              # where this server's lines begin in the shared log

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def start(self) -> "EmbeddedServer":
        """Start the server now if no other server of this home is starting; else `wait()` does,
        once that one answers (its database is made by then)."""
        self.home.mkdir(parents=True, exist_ok=True)
        if self._take_turn(block=False):
            self._spawn()
        return self

    def _take_turn(self, *, block: bool, deadline: float | None = None) -> bool:
        import fcntl
        if self._turn is None:
            self._turn = os.open(self.home / START_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        while True:
            try:
                fcntl.flock(self._turn, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if not block:
                    return False
                if deadline is not None and time.monotonic() > deadline:
                    raise RuntimeError(f"another embedded Prefect server of {self.home} did not finish starting "
                                       f"within {START_TIMEOUT:.0f} s (its lock: {self.home / START_LOCK})") from None
                time.sleep(0.1)

    def _give_turn(self) -> None:
        if self._turn is not None:
            os.close(self._turn)   # closing the descriptor lets the lock go
            self._turn = None

    def _spawn(self) -> subprocess.Popen[bytes]:
        self.port = free_port()
        env = {**os.environ, "PREFECT_HOME": str(self.home), "PREFECT_UI_ENABLED": "0",
               "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1", PARENT: str(os.getpid())}
        env.pop("PREFECT_API_URL", None)
        # Prefect's telemetry heartbeat is a request to the internet every run; a laptop's
        # embedded server has no use for it (and offline it only logs a failure).
        env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        # Two runs on one Prefect home share video slots through this server.
        env.setdefault(SLOT_WAIT, str(SLOT_WAIT_SECONDS))
        # Their slots' leases too: kept in files of the home (Prefect's own filesystem store), not in
        # this server's memory, so when a run dies with its server, the lease it held is seen by
        # the server of the run that lives on, and given back when it expires (LeaseReclaim).
        env.setdefault(LEASE_STORAGE, SHARED_LEASES)
        env.setdefault(RECLAIM_EVERY, str(RECLAIM_SECONDS))
        with open(self.log_path, "ab") as log:
            self._log_from = log.tell()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "--factory", FACTORY, "--host", "127.0.0.1",
                 "--port", str(self.port), "--log-level", "error", "--lifespan", "on"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        return self.proc

    def healthy(self) -> bool:
        return healthy(self.api_url)

    def wait(self, timeout: float | None = None, *, adopt: bool = True,
             say: Callable[[str], None] | None = None) -> None:
        """Until the server answers; then (`adopt`) every Prefect client of this process talks to it.

        Waited for while it makes progress (`_progress`), up to `timeout` in all (START_LIMIT, or
        SLATE_SERVER_START_SECONDS); a server that stalls START_STALL seconds, exits, or outlasts
        the bound is one line naming its log (ServerDidNotStart). `say` hears, every SAY_EVERY
        seconds while it starts, how long it has taken and whether it still moves: on a loaded
        machine a run printed nothing for 25 minutes while its server started (issue 56)."""
        try:
            limit = timeout if timeout is not None else _start_limit()
        except ServerDidNotStart:
            self.stop()   # start() may have spawned it already
            raise
        started = time.monotonic()
        deadline = started + limit
        try:
            proc = self.proc
            if proc is None:   # another run's server of this home was starting: our turn now
                self._take_turn(block=True, deadline=deadline)
                proc = self._spawn()
            tries = 0
            seen, moved = self._progress(proc), time.monotonic()
            said = started
            while not self.healthy():
                code = proc.poll()
                if code is not None:
                    tail = self.log_tail()
                    tries += 1
                    retry = PORT_TAKEN in tail.lower() or \
                        any(w in tail.lower() for w in MIGRATION_WORDS)
                    if retry and tries < START_TRIES:  # its port was taken, or another server migrated with it
                        proc = self._spawn()
                        seen, moved = self._progress(proc), time.monotonic()
                        continue
                    raise ServerDidNotStart(f"the embedded Prefect server exited ({code}) before it answered: "
                                            f"{_last_line(tail)} (its log: {self.log_path})")
                now = time.monotonic()
                progress = self._progress(proc)
                if progress != seen:
                    seen, moved = progress, now
                if say is not None and now - said >= SAY_EVERY:
                    said = now
                    try:
                        say(f"starting this run's Prefect server: {now - started:.0f} s so far, "
                            f"{'still working' if now - moved < SAY_EVERY else f'no progress for {now - moved:.0f} s'}"
                            f" (a loaded machine takes longer; it gives up after {limit:.0f} s; its log: "
                            f"{self.log_path})")
                    except Exception:  # noqa: BLE001 — a line that cannot be printed never stops the start
                        pass
                stalled = now - moved > min(START_STALL, limit)
                if stalled or now > deadline:
                    self.stop()
                    why = (f"made no progress for {now - moved:.0f} s" if stalled else
                           f"did not answer within {limit:.0f} s (set {START_LIMIT_ENV} to wait longer)")
                    raise ServerDidNotStart(f"the embedded Prefect server {why}; its log: {self.log_path}")
                time.sleep(0.05)
        finally:
            self._give_turn()
        if not adopt:
            return
        os.environ["PREFECT_API_URL"] = self.api_url
        import prefect.context
        prefect.context.refresh_global_settings_context()

    def _progress(self, proc: subprocess.Popen[bytes]) -> tuple[int, int, bool]:
        return start_progress(proc.pid, self.log_path, self.port)

    def log_tail(self, lines: int = 30) -> str:
        """The end of what this server wrote (the log is shared: from where its start found it)."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self._log_from)
                return "\n".join(f.read().decode(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        self._give_turn()
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class ServerDidNotStart(SlateError, RuntimeError):
    """The embedded Prefect server exited, stalled or outlasted its bound before it answered."""


def start_progress(pid: int, log: Path, port: int) -> tuple[int, int, bool]:
    """What moves while a server starts: its CPU ticks, its log's size, its port open."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])   # utime + stime
    except (OSError, IndexError, ValueError):
        ticks = -1
    try:
        size = log.stat().st_size
    except OSError:
        size = -1
    with socket.socket() as probe:
        probe.settimeout(0.2)
        listening = probe.connect_ex(("127.0.0.1", port)) == 0
    return ticks, size, listening


def start_limit() -> float:
    """The longest a server's start is waited for (START_LIMIT, or SLATE_SERVER_START_SECONDS)."""
    return _start_limit()


def _start_limit() -> float:
    said = os.environ.get(START_LIMIT_ENV, "").strip()
    if not said:
        return START_LIMIT
    try:
        value = float(said)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise ServerDidNotStart(f"{START_LIMIT_ENV}={said!r}: give a number of seconds greater than 0")
    return value


def _last_line(tail: str) -> str:
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    return lines[-1][:300] if lines else "it wrote nothing"


def start() -> EmbeddedServer:
    """Start the embedded server for this process (stopped when the process exits)."""
    import atexit
    server = EmbeddedServer(_home()).start()
    atexit.register(server.stop)
    return server
