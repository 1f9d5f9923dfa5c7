"""An agent's session with one film: who it is in the ledger, what it may spend, what it runs.

A session is made when `slate mcp DIR` starts, named in the ledger's caller column as
"agent:<session>" on every row of every run it starts: the name the person gave (`--session
NAME`), or a fresh id. Its cap is the person's `--cap` (never above the film's run cap; the run
cap when not given), counted from the ledger itself (the film's rows of that caller), so a
restarted run or a crashed one still counts — and with a name, every `slate mcp --session NAME`
of the film, one after another or at once, counts against the one cap: a restarted server, or a
client that starts a server per call, continues the same count. Without a name the cap belongs to
this process (the tools say so). `--daily-cap` adds a cap on what every agent spends on the film
today (UTC). Both are held by the ledger at each paid call's admission (governor/chokepoint.py
`agent_caps`, set in each run's environment), and checked here first: a run is refused before it
starts — nothing is paid — when its estimate does not fit what is left, when its profile is above
`--max-profile`, or while another run of the session in this process is still going (one at a
time: an agent left alone must not start three).

Each run is `slate run` in a subprocess (the same preflight, chokepoint, caps and approval as a
person's run), started with the session's caller and caps, and its own run cap (what the session
has left), in its environment and flags, and tied to this server by the lifeline
(SLATE_LIFELINE=on): when the server ends, its runs stop spending.

It must never start a run past the session's cap or above the allowed profile, never stop a run
it did not start, and never return text that carries a key (`scrub`).
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

from slate.governor.chokepoint import AGENTS_DAILY_CAP, CALLER, SESSION_CAP
from slate.governor.ledger import AGENT_CALLER, Cap, Totals
from slate.governor.money import fmt_usd, usd
from slate.commands.options import argv_of
from slate.manifests.options import RunOptions
from slate.manifests.profiles import PROFILES
from slate.errors import SlateError

#: Profiles from the cheapest up: `--max-profile final` allows draft and final, never hero.
PROFILE_ORDER = ("draft", "final", "hero")
#: What the run's own output says while it waits for a person (flows/review/approval.py waiting_line).
WAITING = "waiting for a person to approve"
#: How long a stopped run is given to end on its own SIGTERM before its whole group (its embedded
#: Prefect server too) is sent one: a run paused for approval did not end on its own in 20 s
#: (measured), and ended at once with its group. Calls in flight are left as a crash leaves them.
STOP_GRACE_SECONDS = 8.0
#: A session's name (`--session`): the ledger's caller is "agent:<name>".
SESSION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class Refused(SlateError):
    """What the agent asked for is not allowed, or not possible: the message says which lever."""


def scrub(text: str) -> str:
    """`text` with every provider key of this process's environment, and every key slate has
    read, replaced by ***: nothing the agent is handed carries one."""
    from slate.providers.keys import key_vars, redact
    for names in key_vars().values():
        for name in names:
            value = os.environ.get(name, "").strip()
            if len(value) >= 6 and value in text:
                text = text.replace(value, "***")
    return redact(text)


@dataclass
class AgentRun:
    """One `slate run` the agent started: its process and its output, as a file."""

    id: str
    scenes: list[str]
    profile: str
    cap: Decimal
    estimate: Decimal
    log: Path
    process: subprocess.Popen
    started: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    stopped: bool = False

    def output(self, tail: int | None = None) -> str:
        try:
            lines = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return scrub("\n".join(lines[-tail:] if tail else lines))

    def state(self) -> str:
        code = self.process.poll()
        if code is None:
            return "waiting for a person" if WAITING in self.output(200) else "running"
        if self.stopped:
            return f"stopped (exit {code})"
        return "completed" if code == 0 else f"failed (exit {code})"

    @property
    def running(self) -> bool:
        return self.process.poll() is None


class Session:
    """One agent's session with one film (see the module docstring)."""

    def __init__(self, root: Path, *, cap: Decimal | None, max_profile: str = "draft", price_as: str | None = None,
                 name: str | None = None, daily_cap: Decimal | str | None = None):
        from slate.manifests import load_film
        from slate.settings import project_settings
        if name is not None and not SESSION_NAME.fullmatch(name):
            raise Refused(f"--session {name!r}: a session's name is 1 to 64 letters, digits, '.', '_' or '-', "
                          f"starting with a letter or digit")
        cap = _amount("--cap", cap)
        daily = _amount("--daily-cap", daily_cap)
        self.root = Path(root).resolve()
        self.film = load_film(self.root)            # a ManifestError names every problem
        self.settings = project_settings(self.root)
        # The film's run cap as every command shows it (tasks/run/run_plan.py): the budget block where a
        # person edited it in the Prefect UI, else slate.toml.
        limits = self.plan(RunOptions(), priced=False).limits
        self.run_cap = Decimal(limits.run_cap_usd)
        if max_profile not in PROFILE_ORDER:
            raise Refused(f"--max-profile: {max_profile!r} is not a profile ({', '.join(PROFILE_ORDER)})")
        if cap is not None and cap > self.run_cap:
            raise Refused(f"--cap {fmt_usd(cap)} is above the film's run cap ({limits.said('run_cap_usd')}): an "
                          f"agent's session cap is never above it")
        self.cap = self.run_cap if cap is None else cap
        self.daily_cap = daily
        self.max_profile = max_profile
        self.price_as = price_as
        #: Named by the person (its cap counts every process of that name), or this process's own.
        self.named = name is not None
        self.id = name or uuid.uuid4().hex[:12]
        self.caller = f"{AGENT_CALLER}{self.id}"
        self.runs: dict[str, AgentRun] = {}
        self._lock = threading.Lock()
        self.folder = self.root / ".slate" / "agent" / self.id
        # Every run is started from this one thread, which lives as long as the session. The
        # lifeline's parent-death signal fires when the *thread* that started a run ends, not its
        # process; the MCP SDK calls a tool in one of anyio's worker threads, which end after 10 s
        # idle — an agent's run waiting for approval was SIGTERMed (exit -15) that way.
        self._launcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="slate-agent-launcher")

    # -- money --------------------------------------------------------------------------------
    def caps(self) -> list[Cap]:
        """The session's caps as the ledger holds them at every paid call of its runs."""
        caps = [Cap("session", self.cap, caller=self.caller)]
        if self.daily_cap is not None:
            caps.append(Cap("agents_day", self.daily_cap))
        return caps

    def cap_env(self) -> dict[str, str]:
        """The environment that makes a run's governor hold the session's caps (chokepoint `agent_caps`)."""
        env = {CALLER: self.caller, SESSION_CAP: str(self.cap)}
        if self.daily_cap is not None:
            env[AGENTS_DAILY_CAP] = str(self.daily_cap)
        return env

    def _sums(self) -> list[tuple[Cap, Totals]]:
        from slate.governor.ledger import Ledger
        with Ledger.for_project(self.root) as ledger:
            return [(cap, ledger.cap_totals(cap, film=self.film.film.id)) for cap in self.caps()]

    def spent(self) -> Totals:
        """Committed and reserved by this session (every process of its name), from the ledger."""
        return self._sums()[0][1]

    def money(self) -> tuple[Decimal, Decimal, str]:
        """(spent by the session, what is left under every cap, the cap that leaves least, said)."""
        sums = self._sums()
        spent = sums[0][1].total
        cap, t = min(sums, key=lambda ct: ct[0].limit - ct[1].total)
        left = max(Decimal(0), cap.limit - t.total)
        if cap.scope == "agents_day":
            said = (f"the agents' daily cap of {fmt_usd(cap.limit)} on this film (--daily-cap, set by the person who "
                    f"started slate mcp) has {fmt_usd(left)} left today ({fmt_usd(t.total)} spent by agents since "
                    f"midnight UTC)")
        else:
            said = (f"the agent session cap of {fmt_usd(self.cap)} (--cap, set by the person who started slate mcp) "
                    f"has {fmt_usd(left)} left ({fmt_usd(spent)} spent by this session{self._counted()})")
        return spent, left, said

    def _counted(self) -> str:
        return (f", {self.caller}: every slate mcp --session {self.id} on this film counts" if self.named
                else ", this server process only: it has no --session name")

    def left(self) -> Decimal:
        return self.money()[1]

    def allowed_profiles(self) -> tuple[str, ...]:
        return PROFILE_ORDER[:PROFILE_ORDER.index(self.max_profile) + 1]

    def scene_ids(self) -> list[str]:
        return [s.id for _, s in self.film.scenes]

    def told(self, options: RunOptions) -> RunOptions:
        """What the agent told a run, with what the person told the session (its --price-as), and
        its profile always said: a profile the agent did not name is draft, never slate.toml's
        (the levers allow profiles up to --max-profile, and a run must be held to the one checked)."""
        return options.telling(price_as=self.price_as, profile=options.profile)

    def plan(self, options: RunOptions, *, priced: bool = True):
        """The plan of a run told `options` (tasks/run/run_plan.py), as `slate estimate` makes it: the
        film's budget block read where a server holds it, the session's --price-as."""
        from slate.commands.shared import budget_block
        from slate.tasks.run.run_plan import film_rows, plan_run
        block, where = budget_block(self.root, self.film.film.id)
        return plan_run(self.film, self.told(options) if priced else options, block, block_from=where,
                        priced=priced, rows=film_rows(self.root, self.film.film.id) if priced else None)

    def estimate(self, options: RunOptions) -> Decimal:
        """The expected cost of a run told `options` (its scenes: all when none), priced as
        `slate estimate` prices it (the run's plan: speech and every pass in it)."""
        plan = self.plan(options)
        assert plan.estimate is not None
        return plan.estimate.total

    # -- runs ---------------------------------------------------------------------------------
    def check_request(self, options: RunOptions) -> None:
        """Refuse (nothing started, nothing paid) a run the levers do not allow."""
        scenes, profile = list(options.scenes), options.profile
        if profile not in PROFILES:
            raise Refused(f"profile {profile!r} is not a profile ({', '.join(PROFILE_ORDER)})")
        if profile not in self.allowed_profiles():
            raise Refused(f"refused: profile {profile!r} is above what the person who started this server allowed "
                          f"(--max-profile {self.max_profile}); nothing was started")
        unknown = [s for s in scenes if s not in self.scene_ids()]
        if unknown:
            raise Refused(f"unknown scene(s) {', '.join(unknown)} (the film has: {', '.join(self.scene_ids())})")

    def _free_and_left(self) -> tuple[Decimal, str]:
        """(left, what is left said) of the session — refused while one of its runs is still going:
        an agent left alone does one thing at a time. Called holding the session's lock."""
        busy = [r for r in self.runs.values() if r.running]
        if busy:
            raise Refused(f"refused: run {busy[0].id} of this session is still {busy[0].state()}; one thing at a "
                          f"time (stop it, or poll status until it ends)")
        _, left, said = self.money()
        return left, said

    def start(self, options: RunOptions) -> AgentRun:
        """Start `slate run` told `options` (its scenes: the film when none; its profile), in the
        background, within what the session has left; refused first when it may not."""
        self.check_request(options)
        scenes, profile = list(options.scenes), options.profile
        from slate import studio
        if studio.running(self.root) is not None:
            # A studio's workers run the film's deployment: the session's caller would not reach
            # their ledger rows, and the session's cap could not count them.
            raise Refused(f"refused: {self.root} runs on a studio (slate up --studio); an agent's runs render in "
                          f"this process only, where the ledger names the session — ask the person to run it")
        with self._lock:
            left, said = self._free_and_left()
            expected = self.estimate(options)
            if expected > left or left <= 0:
                raise Refused(f"refused by the session cap: this run's estimate is {fmt_usd(expected)}, and {said}; "
                              f"nothing was started and nothing paid")
            run_id = f"run-{len(self.runs) + 1}-{uuid.uuid4().hex[:6]}"
            self.folder.mkdir(parents=True, exist_ok=True)
            log = self.folder / f"{run_id}.log"
            # What the agent told the run, what the person told the session, and as its cap what the
            # session has left (never the agent's to say: the cap is no argument of its tools).
            cmd = [sys.executable, "-m", "slate.cli", "run", *argv_of(self.told(options).telling(run_cap_usd=left)),
                   "--", str(self.root)]
            env = {**os.environ, **self.cap_env(), "SLATE_LIFELINE": "on"}
            with open(log, "wb") as out:
                # Its own process group: a stop reaches the run and the Prefect server it started.
                process = self._launcher.submit(
                    subprocess.Popen, cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    cwd=self.root, env=env, start_new_session=True).result()
            run = AgentRun(run_id, list(scenes), profile, left, expected, log, process)
            self.runs[run_id] = run
            return run

    def make_version(self, args: list[str]) -> str:
        """`slate bible turnaround|plate|voice ARGS`: one new reference version (never an approval), paid
        through the governor with this session's caller and, as its run cap, what the session has
        left; refused first while a run of the session is going or when nothing is left."""
        with self._lock:
            left, said = self._free_and_left()
            if left <= 0:
                raise Refused(f"refused by the session cap: {said}; nothing was paid")
            # The governor's run cap is what the session has left, and it holds the session's caps:
            # a version past them is refused by the chokepoint itself, before it is sent, naming the cap.
            env = {**os.environ, **self.cap_env(), "SLATE_RUN_CAP_USD": str(left)}
            if self.price_as:
                env["SLATE_PRICE_AS"] = self.price_as
            done = subprocess.run([sys.executable, "-m", "slate.cli", "bible", *args], cwd=self.root, env=env,
                                  capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
        out = (done.stdout + ("\n" + done.stderr if done.stderr.strip() else "")).strip()
        text = f"$ slate bible {' '.join(args)}\n{out}\n(exit {done.returncode}; session cap {fmt_usd(self.cap)}, " \
               f"{fmt_usd(left)} left before it)"
        if done.returncode != 0:
            raise Refused(scrub(text))
        return scrub(text)

    def run(self, run_id: str) -> AgentRun:
        if run_id not in self.runs:
            known = ", ".join(self.runs) or "none yet"
            raise Refused(f"no run {run_id!r} in this session (its runs: {known})")
        return self.runs[run_id]

    def stop(self, run_id: str) -> AgentRun:
        """Stop one run of this session: SIGTERM to it, then to its process group, then kill.
        Jobs already sent keep their job ids in the ledger; the next run collects them."""
        run = self.run(run_id)
        if not run.running:
            return run
        run.stopped = True
        _signal(run.process, signal.SIGTERM, group=False)   # Prefect's handling: the run ends Crashed
        if _ended(run.process, STOP_GRACE_SECONDS):
            return run
        _signal(run.process, signal.SIGTERM, group=True)
        if not _ended(run.process, STOP_GRACE_SECONDS):
            _signal(run.process, signal.SIGKILL, group=True)
            _ended(run.process, 5.0)
        return run

    def close(self) -> None:
        """The server is ending: every run of the session still going is stopped."""
        for run_id, run in list(self.runs.items()):
            if run.running:
                self.stop(run_id)
        self._launcher.shutdown(wait=False)

    def rows(self, run: AgentRun | None = None) -> list:
        """The ledger rows this session wrote (of one of its runs: those written since it started)."""
        from slate.governor.ledger import Ledger
        with Ledger.for_project(self.root) as ledger:
            rows = [r for r in ledger.rows(film=self.film.film.id) if r.caller == self.caller]
        if run is not None:
            rows = [r for r in rows if r.created_at >= run.started]
        return rows


def _amount(flag: str, value: Decimal | str | None) -> Decimal | None:
    """A cap the person typed, as the ledger holds money; refused in one line naming its flag."""
    if value is None:
        return None
    try:
        amount = usd(value if isinstance(value, (Decimal, str)) else str(value))
    except (TypeError, ValueError, ArithmeticError):   # ArithmeticError: 1e400 cannot be quantised
        raise Refused(f"{flag} {value}: not a dollar amount the ledger can hold (e.g. 5 or 2.50)") from None
    if amount < 0:
        raise Refused(f"{flag} {fmt_usd(amount)}: a cap is never below $0")
    return amount


def _signal(process: subprocess.Popen, sig: int, *, group: bool) -> None:
    try:
        if group:
            os.killpg(process.pid, sig)   # the run's own group (start_new_session): nobody else's
        else:
            process.send_signal(sig)
    except (ProcessLookupError, PermissionError):
        pass


def _ended(process: subprocess.Popen, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return True
        time.sleep(0.2)
    return process.poll() is not None
