"""The lifeline: a run's process never outlives the process that started it.

A worker or `python -m slate.deployments.serve` starts each flow run in a child process. When that
parent was SIGKILLed, the child lived on, re-parented to init, making provider calls with its
log lost and its run Running forever. `hold_lifeline()`, called first thing in a top-level
scene or film run, ties the child to its parent three ways:

  1. the governor's stop for this process is bound to the parent (governor/killswitch.py
     `bind_to_parent`): every check before a paid call reads the parent from the kernel, so
     nothing is submitted once it is gone — no signal or poll has to arrive first;
  2. Linux's parent-death signal (`prctl(PR_SET_PDEATHSIG, SIGTERM)`), checked against
     `getppid()` right after to close the race with a parent that died before the call:
     Prefect's own SIGTERM handling ends the run Crashed and the process exits. The kernel
     sends it when the *thread* that started the process ends, so a starter must start runs
     from a thread that lives as long as it does (slate/agent/session.py's launcher);
  3. a daemon thread that looks at the parent every `POLL_SECONDS` and, once it is gone, sets
     the stop, lets a request being sent get its job id into the ledger (`quiet_sends`), then
     aims SIGTERM at the main thread (a main thread blocked on a future runs no handler until
     woken), and `os._exit` after `EXIT_SECONDS` if that did not end it.

Calls in flight are left as a crash leaves them: the governor stops polling a job once the
process stop is on, the ledger row keeps its job id and its owner (this process) is gone, so
the next run re-attaches to the job and pays nothing twice, and `slate reconcile` can settle
what the provider cannot find.

Which runs hold it: deployment runs (a worker's or a runner's child), or any run when
`SLATE_LIFELINE=on`; never with `SLATE_LIFELINE=off`. A `slate run` in a terminal does not
(its parent is the shell, and a `nohup` run must survive it; Ctrl-C is left to Prefect).

`ends_on_sigterm` is for every top-level run, lifeline or not: SIGTERM (`kill`, a stack's `slate
down`, a supervisor) reached Prefect's handler alone, which ends the flow Crashed and then waits
for the flow's task threads — a shot polling a job for its whole deadline, another waiting hours
for the key's video slot — so the run outlived SIGTERM until SIGKILL. Now SIGTERM first stops
this process's spending (the process stop: nothing new is sent, every poll, slot wait and retry
wait ends at once, a job being polled keeps its job id for the next run), then Prefect's handling
ends the run; if the process is still there `TERM_EXIT_SECONDS` later, it exits, once no request
is between being sent and its job id recorded.

`stop_on_cancel` is the scene and film flows' `on_cancellation` hook: a Cancel from the UI
stops the run's spending the way `slate stop` does (nothing new is sent; jobs already sent
keep their job ids for the next run) and names the calls it leaves in flight.

It must never end a process that is not a run's own (a serving process that runs flows in
itself), never cancel a provider job (it was paid for; the next run collects it), and never
raise into the flow.
"""
from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from slate.governor.chokepoint import quiet_sends
from slate.governor.killswitch import bind_to_parent, stop_this_process
from slate.tasks.run.run import halt_run

if TYPE_CHECKING:
    from prefect import Flow
    from prefect.client.schemas.objects import FlowRun, State

#: Prefect's run logger, or a plain one outside a run.
RunLogger = logging.Logger | logging.LoggerAdapter[logging.Logger]
P = ParamSpec("P")
R = TypeVar("R")
PR_SET_PDEATHSIG = 1
POLL_SECONDS = 0.5
SEND_GRACE_SECONDS = 3.0   # a request being sent gets this long to have its job id recorded
EXIT_SECONDS = 10.0        # after SIGTERM, Prefect's crash report gets this long before os._exit
WAKE_SECONDS = 3.0         # with the parent-death signal sent, how long before the main thread is woken
EXIT_CODE = 70
TERM_EXIT_SECONDS = 8.0    # after SIGTERM, the run's own ending gets this long before os._exit
SWITCH = "SLATE_LIFELINE"

log = logging.getLogger("slate.lifeline")

#: The parent at import time: as early as the run's process can know it (before any flow code).
_BORN_UNDER = os.getppid()
_HELD: "Lifeline | None" = None
_HOLD_LOCK = threading.Lock()


def wanted() -> bool:
    """Whether this run holds the lifeline: `SLATE_LIFELINE` on/off, else deployment runs only."""
    switch = os.environ.get(SWITCH, "").strip().lower()
    if switch in ("1", "on", "true", "yes"):
        return True
    if switch in ("0", "off", "false", "no"):
        return False
    from prefect.runtime import deployment
    return bool(deployment.id)


def _set_parent_death_signal(sig: int) -> bool:
    """Ask the kernel to send `sig` when our parent thread exits (Linux only)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        answer: int = libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        return answer == 0
    except (OSError, AttributeError):
        return False


class Lifeline:
    """This process's tie to the process that started it."""

    def __init__(self, parent: int, logger: RunLogger):
        self.parent = parent
        self.logger = logger
        self.cut = threading.Event()
        self.death_signal = False
        self._once = threading.Lock()
        self.thread = threading.Thread(target=self._watch, name="slate-lifeline", daemon=True)

    def hold(self) -> "Lifeline":
        bind_to_parent(self.parent)
        self.death_signal = _set_parent_death_signal(signal.SIGTERM)
        self.thread.start()
        if os.getppid() != self.parent:  # gone before the kernel was asked: the signal never comes
            self.death_signal = False
            self._parent_gone()
        return self

    def _watch(self) -> None:
        while not self.cut.is_set():
            if os.getppid() != self.parent:
                self._parent_gone()
                return
            self.cut.wait(POLL_SECONDS)

    def _parent_gone(self) -> None:
        with self._once:
            if self.cut.is_set():
                return
            self.cut.set()
        stop = stop_this_process(f"the process that started this run (pid {self.parent}) is gone")
        try:
            self.logger.error("%s: nothing new is sent; this run's process ends now (calls in flight keep their "
                              "job ids in the ledger: the next run re-attaches to them)", stop.reason)
        except Exception:  # noqa: BLE001 — the log may be as gone as the parent
            pass
        quiet_sends(SEND_GRACE_SECONDS)
        # The last word: if Prefect's SIGTERM handling cannot end us (its API unreachable, a
        # handler ignoring the signal), the process ends anyway.
        ender = threading.Timer(EXIT_SECONDS, os._exit, (EXIT_CODE,))
        ender.daemon = True
        ender.start()
        if self.death_signal:
            # The kernel has sent SIGTERM already, but Python runs its handler (Prefect's: the
            # run ends Crashed) only when the main thread next runs — which a main thread
            # blocked on a future may not do. A second SIGTERM, aimed at the main thread, wakes
            # it; not at once, for one landing inside Prefect's crash report would cut it short.
            time.sleep(WAKE_SECONDS)
        main = threading.main_thread().ident
        if main is not None:   # a thread started long ago: it has its id
            signal.pthread_kill(main, signal.SIGTERM)


def hold_lifeline(logger: RunLogger | None = None) -> Lifeline | None:
    """Tie this run's process to its parent, if this run should (see `wanted`); once per process."""
    global _HELD
    try:
        if not wanted():
            return None
        with _HOLD_LOCK:
            if _HELD is None:
                _HELD = Lifeline(_BORN_UNDER, logger or log).hold()
            return _HELD
    except Exception as exc:  # noqa: BLE001 — the run goes on without it, and says so
        (logger or log).warning("could not tie this run to its parent process: %s", exc)
        return None


def held() -> Lifeline | None:
    return _HELD


@contextmanager
def ends_on_sigterm(logger: RunLogger | None = None) -> Iterator[None]:
    """For the length of a top-level run's body, in its process's main thread: SIGTERM stops
    the run's spending at once and the process ends within TERM_EXIT_SECONDS (see the module
    docstring), the handler it finds (Prefect's, which ends the run Crashed) called after. Off the
    main thread (a scene run on one of its film's threads) it does nothing: the film's holds."""
    try:
        previous = signal.getsignal(signal.SIGTERM)
        signal.signal(signal.SIGTERM, _on_sigterm(previous, logger or log))
    except ValueError:   # not the main thread: signals are the main thread's
        yield
        return
    try:
        yield
    finally:
        try:
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)
        except (ValueError, TypeError):
            pass


def _on_sigterm(previous: object, logger: RunLogger) -> Callable[[int, FrameType | None], None]:
    ending = threading.Lock()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop = stop_this_process("this run's process was sent SIGTERM")
        if ending.acquire(blocking=False):   # the first SIGTERM: the ending is set up once
            threading.Thread(target=_end_within, args=(time.monotonic() + TERM_EXIT_SECONDS,),
                             name="slate-sigterm", daemon=True).start()
            try:
                logger.warning("%s: nothing new is sent, jobs in flight keep their job ids in the ledger (the "
                               "next run collects them); this run ends now", stop.reason)
            except Exception:  # noqa: BLE001 — a log that cannot be written must not keep the run alive
                pass
        if callable(previous):
            previous(signum, frame)   # Prefect's: the run ends Crashed
        elif previous == signal.SIG_DFL:
            raise SystemExit(128 + signum)
    return handler


def _end_within(deadline: float) -> None:
    """The last word after SIGTERM: the process exits by `deadline`, once no request is being sent."""
    quiet_sends(max(0.0, deadline - time.monotonic() - 0.5))
    time.sleep(max(0.0, deadline - time.monotonic()))
    os._exit(EXIT_CODE)


def stop_on_cancel(flow: Flow[P, R], flow_run: FlowRun, state: State[R]) -> None:
    """`on_cancellation` hook of the scene and film flows: stop spending as `slate stop` does."""
    try:
        logger = _run_logger(flow_run)
        reason = f"flow run {flow_run.id} was cancelled"
        halted = halt_run(str(flow_run.id), reason)
        if _HELD is not None:  # a run's own process: nothing else of ours runs in it
            stop_this_process(reason)
        if halted or _HELD is not None:
            quiet_sends(SEND_GRACE_SECONDS)
        project = (flow_run.parameters or {}).get("project")
        if project:
            _name_calls_in_flight(Path(project), str(flow_run.id), logger)
    except Exception as exc:  # noqa: BLE001 — a hook must never turn a Cancel into a crash
        log.warning("cancellation hook: %s", exc)


def _name_calls_in_flight(root: Path, run_id: str, logger: RunLogger) -> None:
    from slate.governor.ledger import Ledger
    ledger = Ledger.for_project(root.resolve())
    try:
        for row in ledger.rows(run_id=run_id):
            if row.status in ("reserved", "submitted"):
                logger.warning("cancelled with %s of shot %s in flight (call %s, job %s): it is not sent again; "
                               "the next run %s", row.stage, row.shot, row.call_id, row.job_id or "not yet known",
                               "re-attaches to its job" if row.job_id else "looks for it by its call id")
    finally:
        ledger.close()


def _run_logger(flow_run: FlowRun) -> RunLogger:
    try:
        from prefect.logging import get_run_logger
        return get_run_logger()
    except Exception:  # noqa: BLE001 — a hook may run outside the run's context
        return log
