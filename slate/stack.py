"""`slate up` / `slate down`: a film's own Prefect server, UI and worker, in the background.

    slate up DIR    a Prefect server on a free port of 127.0.0.1 (its database and home under
                    DIR/.slate/stack/home, never the user's own ~/.prefect), the film's process
                    work pool, its deployments (deployments/register.py), its automations
                    (deployments/automations.py), its budget block, and a worker on the pool
                    whose runs send heartbeats; each in its own process group, their output in
                    DIR/.slate/stack/*.log, their ids and the address in DIR/.slate/stack/stack.json.
    slate down DIR  stops exactly the process groups stack.json names (SIGTERM, then SIGKILL
                    after a bound) and removes the record.

A second `slate up` finds the stack already running (its processes alive and the server
healthy) and says so. `slate run`, `slate approve` and `slate status` talk to this server when
it is up (`api_url`).

It must never stop a process it did not start (a recorded id is checked against what runs
under it), never share the user's default Prefect database, and never write a key anywhere.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

# The server's own rules, used here and by slate/studio.py through this module.
from slate.server import PORT_TAKEN, SLOT_WAIT, SLOT_WAIT_SECONDS, STACK_FACTORY, START_TRIES, free_port, healthy  # noqa: F401

STACK_DIR = Path(".slate") / "stack"
RECORD = "stack.json"
STOP_GRACE = 10.0


@dataclass
class Stack:
    """What `slate up` started, as recorded in stack.json."""

    film: str
    pool: str
    api_url: str
    ui_url: str
    pids: dict[str, int] = field(default_factory=dict)   # role -> pid (each leads its own group)
    deployments: dict[str, str] = field(default_factory=dict)
    automations: dict[str, str] = field(default_factory=dict)
    started_at: float = 0.0
    ready_seconds: float = 0.0


#: How often a worker asks the server for runs to start (`slate up` and `slate up --studio`).
#: Prefect's default, 10 s, is waited for by every run before it starts: a UI run of a scene,
#: and on a studio the film run and then each of its scene runs. A few workers asking every
#: 2 s are a few requests a second. The environment `up` is started with may set it otherwise.
WORKER_QUERY_SECONDS = 2



def stack_dir(project: Path) -> Path:
    return Path(project).resolve() / STACK_DIR


def read(project: Path) -> Stack | None:
    path = stack_dir(project) / RECORD
    if not path.is_file():
        return None
    try:
        return Stack(**json.loads(path.read_text()))
    except (ValueError, TypeError):
        return None


#: What each role's command line says: how a recorded process id is known to still be ours.
WORDS = {"server": STACK_FACTORY, "worker": "prefect"}


def is_ours(pid: int, word: str = "prefect") -> bool:
    """The process under `pid` is alive and is one of ours (not a recycled id)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z" and word in cmdline


def running(project: Path) -> Stack | None:
    """The stack of this project when every process it recorded lives and the server answers."""
    stack = read(project)
    if stack and stack.pids and all(is_ours(pid, WORDS.get(role, "prefect")) for role, pid in stack.pids.items()) \
            and healthy(stack.api_url):
        return stack
    return None


def prefect_command() -> list[str]:
    """How to start prefect: the prefect of this interpreter's environment (the venv slate runs from)."""
    return [sys.executable, "-m", "prefect"]


def start_detached(argv: list[str], log: Path, env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    """A process of the stack (or a studio's), started apart from this one, its output to `log`."""
    with open(log, "ab") as out:
        # Own session: its own process group, so `down` stops it and its children together,
        # and a Ctrl-C in the terminal that ran `slate up` does not reach it.
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                cwd=cwd, start_new_session=True)


def stack_env(home: Path, api_url: str | None = None) -> dict[str, str]:
    """The environment a stack's process starts in: this one, with its own Prefect home (never the
    user's ~/.prefect) and, for a worker, the server it talks to."""
    env = dict(os.environ)
    env.update({"PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                "PREFECT_LOGGING_COLORS": "false"})
    env.pop("PREFECT_PROFILE", None)
    if api_url:
        env["PREFECT_API_URL"] = api_url
    else:
        env.pop("PREFECT_API_URL", None)
    return env


def up(project: Path, *, zombie_window: int | None = None, say=print) -> Stack:
    """Start the film's stack (or find it running); what runs, as recorded."""
    from slate.deployments import automations, register

    project = Path(project).resolve()
    found = running(project)
    if found:
        say(f"slate stack of {found.film} already running: UI {found.ui_url} (pids "
            f"{', '.join(f'{k} {v}' for k, v in found.pids.items())})")
        return found
    known = read(project)
    if known and is_ours(known.pids.get("server", 0), WORDS["server"]) and healthy(known.api_url):
        # The server lives but its worker died (killed, or the machine's OOM killer): a new
        # worker, the same server — its runs, schedules and a crashed run's Retry are kept.
        known.pids["worker"] = _start_worker(project, known).pid
        _save(project, known)
        say(f"slate stack of {known.film}: the worker was gone, a new one runs (pid {known.pids['worker']}); "
            f"UI {known.ui_url}")
        return known
    if known:
        down(project, say=lambda *_: None)  # a half-dead stack: stop what is left of it first
    from slate.manifests import load_film
    film = load_film(project)  # a film that does not load stops here, before anything starts
    folder = stack_dir(project)
    home = folder / "home"
    home.mkdir(parents=True, exist_ok=True)
    started = time.time()
    stack = Stack(film=film.film.id, pool=register.pool_name(film.film.id), api_url="", ui_url="",
                  started_at=started)
    server_env = stack_env(home)
    # SQLite under a busy machine: a write may wait on the lock longer than Prefect's 10 s
    # default, and the UI then shows "Something went wrong" for a run it did not create.
    server_env.setdefault("PREFECT_SERVER_DATABASE_TIMEOUT", "60")
    server_env.setdefault(SLOT_WAIT, str(SLOT_WAIT_SECONDS))
    # `prefect server start`'s own app, with busy SQLite answers retried in the server (slate/server.py):
    # a busy database lost a person's click on Resume.
    server_env["PREFECT__SERVER_FINAL"] = "1"
    for attempt in range(1, START_TRIES + 1):
        # A free port is only free when we look: another process may bind it before the server
        # does (CI saw uvicorn's "address already in use" on a loaded machine). Such a start is
        # made again on another port, as the embedded server's is (slate/server.py).
        port = free_port()
        stack.api_url, stack.ui_url = f"http://127.0.0.1:{port}/api", f"http://127.0.0.1:{port}"
        server_env["PREFECT_UI_API_URL"] = stack.api_url
        log = folder / "server.log"
        log_start = log.stat().st_size if log.is_file() else 0
        server = start_detached([sys.executable, "-m", "uvicorn", "--factory", STACK_FACTORY, "--host", "127.0.0.1",
                                 "--port", str(port), "--log-level", "warning", "--timeout-keep-alive", "5"],
                                log, server_env, folder)
        stack.pids["server"] = server.pid
        _save(project, stack)  # recorded at once: a failed start is still stopped by `down`
        if _wait_for(server, stack.api_url, port, log, project, say, log_start=log_start,
                     retry_port=attempt < START_TRIES):
            break
        say(f"the stack's Prefect server found port {port} taken when it bound it: starting it on another")
    api_url, ui_url = stack.api_url, stack.ui_url
    _setup(project, stack, home, zombie_window or automations.ZOMBIE_WINDOW)
    worker = _start_worker(project, stack)
    stack.pids["worker"] = worker.pid
    stack.ready_seconds = round(time.time() - started, 1)
    _save(project, stack)
    say(f"slate stack of {stack.film} up in {stack.ready_seconds:.1f}s\n"
        f"  UI:          {ui_url}\n"
        f"  server:      pid {server.pid} (database under {home})\n"
        f"  worker:      pid {worker.pid} on work pool {stack.pool}\n"
        f"  deployments: {', '.join(stack.deployments)}\n"
        f"  automations: {', '.join(stack.automations)}\n"
        f"  logs:        {folder}/server.log, worker.log\n"
        f"  stop it:     slate down {project}")
    return stack


def _wait_for(server: subprocess.Popen, api_url: str, port: int, log: Path, project: Path, say, *,
              log_start: int = 0, retry_port: bool = False) -> bool:
    """Until the stack's server answers, waited for as `slate run` waits for its own (slate/server.py):
    as long as it makes progress (CPU, its log, its port), saying every SAY_EVERY seconds how it
    goes, up to SLATE_SERVER_START_SECONDS in all. A fixed 120 s gave up on servers still
    importing on a machine at load 80-108 (issue 57). One that exits, stalls or outlasts the
    bound: the stack is stopped and the log's tail said."""
    from slate.server import SAY_EVERY, START_LIMIT_ENV, START_STALL, start_limit, start_progress
    limit = start_limit()
    started = time.monotonic()
    seen, moved, said = start_progress(server.pid, log, port), started, started
    while not healthy(api_url):
        now = time.monotonic()
        progress = start_progress(server.pid, log, port)
        if progress != seen:
            seen, moved = progress, now
        why = (f"exited ({server.returncode})" if server.poll() is not None else
               f"made no progress for {now - moved:.0f} s" if now - moved > min(START_STALL, limit) else
               f"did not answer within {limit:.0f} s (set {START_LIMIT_ENV} to wait longer)"
               if now - started > limit else None)
        if why is not None:
            tail = ""
            if log.is_file():
                with open(log, "rb") as f:   # this start's lines only: the log is appended to
                    f.seek(log_start)
                    tail = f.read().decode(errors="replace")[-2000:]
            if retry_port and server.poll() is not None and PORT_TAKEN in tail.lower():
                return False   # its port was taken under it: the caller starts it on another
            down(project, say=lambda *_: None)
            raise RuntimeError(f"the Prefect server on {api_url} {why}: see {log}\n{tail}")
        if now - said >= SAY_EVERY:
            said = now
            say(f"starting the stack's Prefect server: {now - started:.0f} s so far, "
                f"{'still working' if now - moved < SAY_EVERY else f'no progress for {now - moved:.0f} s'} "
                f"(a loaded machine takes longer; its log: {log})")
        time.sleep(0.3)
    return True


def _start_worker(project: Path, stack: Stack) -> subprocess.Popen:
    from slate.deployments.automations import HEARTBEAT_SECONDS
    folder = stack_dir(project)
    env = stack_env(folder / "home", stack.api_url)
    # Heartbeats from every run the worker starts, so the zombie automation can see one die.
    env["PREFECT_FLOWS_HEARTBEAT_FREQUENCY"] = str(HEARTBEAT_SECONDS)
    env.setdefault("PREFECT_WORKER_QUERY_SECONDS", str(WORKER_QUERY_SECONDS))
    return start_detached(prefect_command() + ["worker", "start", "--pool", stack.pool, "--type", "process",
                                             "--name", f"{stack.pool}-worker"], folder / "worker.log", env, folder)


def _setup(project: Path, stack: Stack, home: Path, zombie_window: int) -> None:
    """The pool, the budget block, the deployments and the automations, on the new server."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists
    from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings
    from prefect.workers.process import ProcessWorker

    from slate.deployments import automations, register
    from slate.governor.budget import make_block
    from slate.manifests.settings import project_settings

    with temporary_settings({PREFECT_API_URL: stack.api_url, PREFECT_HOME: str(home)}):
        with get_client(sync_client=True) as client:
            try:
                client.create_work_pool(WorkPoolCreate(
                    name=stack.pool, type="process", description=f"slate: the runs of film {stack.film}",
                    base_job_template=ProcessWorker.get_default_base_job_template()))
            except ObjectAlreadyExists:
                pass
            settings = project_settings(project)
            make_block(stack.film, settings)
            stack.deployments = register.register(client, project, stack.pool)
            stack.automations = automations.install(client, stack.film, stack.pool, zombie_window)


def _save(project: Path, stack: Stack) -> None:
    path = stack_dir(project) / RECORD
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(stack), indent=2))
    tmp.replace(path)


def down(project: Path, *, say=print) -> list[int]:
    """Stop what the record names (the worker and its runs first, then the server); their ids."""
    stack = read(project)
    if stack is None:
        say(f"no slate stack recorded for {project}")
        return []
    stopped = []
    for role in ("worker", "server"):
        pid = stack.pids.get(role)
        if pid is not None and is_ours(pid, WORDS[role]):
            stopped.extend(stop(pid))
    (stack_dir(project) / RECORD).unlink(missing_ok=True)
    say(f"slate stack of {stack.film} stopped (pids {', '.join(map(str, stopped)) or 'none alive'})")
    return stopped


def stop(*pids: int, grace: float = STOP_GRACE) -> list[int]:
    """Stop recorded processes, together, and everything below them (SIGTERM, then SIGKILL after
    `grace` seconds); the ids it covered."""
    # Each recorded process leads its own group (start_new_session); a flow run the worker
    # started may sit in a group of its own, so its descendants are named one by one too —
    # found before the first signal, while they are still below it.
    families = [[pid] + descendants(pid) for pid in pids]
    everyone = [p for family in families for p in family]
    for family in families:
        _signal_all(family, signal.SIGTERM)
    deadline = time.time() + grace
    while any(alive(p) for p in everyone) and time.time() < deadline:
        for pid in pids:
            _reap(pid)
        time.sleep(0.2)
    if any(alive(p) for p in everyone):
        for family in families:
            _signal_all(family, signal.SIGKILL)
        while any(alive(p) for p in everyone) and time.time() < deadline + 5:
            for pid in pids:
                _reap(pid)
            time.sleep(0.1)
    return everyone


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def descendants(pid: int) -> list[int]:
    """Every live process below `pid`, from /proc (children, their children…)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _signal_all(pids: list[int], sig: int) -> None:
    _signal_group(pids[0], sig)
    for pid in pids[1:]:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def _reap(pid: int) -> None:
    """Collect our own child's exit status when `up` and `down` run in one process (tests)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
