"""The crash matrix's machinery: SIGKILL a real `slate run` at a named point of a paid call, run
the film again, and count where the effects land — the ledger's rows and the local providers' own
books, never our counters.

Shared by the test (tests/e2e/test_crash.py, which keeps one case per way a killed call is
resumed and per stage) and the benchmark (benchmarks/crash_matrix.py, which runs every case):
each case is one `Case` of `POINTS` or one pair of `TWICE`, and `sigkill_then_rerun`,
`two_kills_then_a_run` and `clean_run` hold all of its checks, so the test and the benchmark
check the same things.

It must never leave a process behind: every process it starts is stopped by its own id (the
runs' process groups by the group they lead, the matrix's Prefect server by its pid).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import yaml

from slate.governor.ledger import Ledger
from slate.media import probe
from slate.providers.local import LocalImage, LocalVideo
from slate.providers.local_judge import LocalJudge
from slate.providers.storage_local import LocalStorage
from tests.holding_cli import read_trace
from tests.prefect_homes import fresh_home
from tests.scene_cuts import fit_music, without_finishing

REPO = Path(__file__).resolve().parents[1]
FILM_ID = "night-diner"
SHOTS = ("1A", "1B", "1C")
PRICE_AS = "replicate:bytedance/seedance-1-pro"
CLEAN_COST = Decimal("0.30")            # (3 + 3 + 4) billed seconds x $0.03 at 480p
DRAFT_SECONDS = 2.5 + 3.0 + 3.5 - 0.75  # the 1B -> 1C dissolve overlaps 0.75 s
LATENCY = "1.5"
HOLD_TIMEOUT = 240.0
RUN_TIMEOUT = 400.0
SLOT = "video-local-local"              # tasks.run.slots.slot_name("local", LocalVideo.key_id)
SERVER_TIMEOUT = 180.0

SHARED_SERVER, OWN_SERVER = "shared", "own"


@dataclass(frozen=True)
class Case:
    """One kill: the point held at, how the next run resumes the held call, verdicts asked
    twice, and which Prefect server the runs use."""

    id: str
    point: str
    resumed: str
    verdicts_asked_twice: int = 0
    server: str = SHARED_SERVER


# Every named point of a paid call the matrix kills at.
POINTS = (
    # video: the intent row is written, nothing sent → released, a new claim is sent
    Case("video-after_intent", "video:after_intent", "released"),
    # the provider has the job; its id is not yet in the ledger → found by our call id
    Case("video-after_submit", "video:after_submit", "reattach"),
    # the job id is saved, the job is running → re-attached; each run on its own embedded server,
    # which the CLI must find out by itself to free the slot the killed run left taken
    Case("video-polling-own-server", "video:polling", "reattach", server=OWN_SERVER),
    # the clip is downloaded to its temporary name, nothing recorded → re-attached, downloaded again
    Case("video-downloaded", "video:downloaded", "reattach"),
    # the clip's URI is recorded and its bytes are in storage, not settled → settled from storage
    Case("video-after_storage", "video:stored", "settled"),
    # settled; the task's cached result was never written → the paid clip is reused
    Case("video-after_settle", "video:settled", "reused"),
    # panel: the provider answered, the answer was in memory only → recovered by our call id
    Case("panel-answered", "panel:answered", "reattach"),
    Case("panel-after_storage", "panel:stored", "settled"),
    Case("panel-after_settle", "panel:settled", "reused"),
    # killed as the request went out: the provider's own book proves it never got it → sent once
    Case("panel-sending", "panel:sending", "resent"),
    Case("judge-sending", "panel_gate:sending", "resent"),
    # judge: a verdict lost in memory is looked up in the judge's kept verdicts, never asked again
    Case("judge-answered", "panel_gate:answered", "reattach"),
    Case("judge-after_storage", "panel_gate:stored", "settled"),
    Case("judge-after_settle", "panel_gate:settled", "reused"),
)

# Two kills in a row, then a run to the end: (id, first point, second point).
TWICE = (
    # the panel's request killed on its way out, then a verdict killed with its answer in memory
    ("panel-sending-then-judge-answered", "panel:sending", "panel_gate:answered"),
    # a clip submitted with its job id unsaved, then the re-attached job killed while polled
    ("video-after_submit-then-polling", "video:after_submit", "video:polling"),
)


# -- helpers ------------------------------------------------------------------------------------

def trim(film: Path) -> Path:
    """Keep shots 1A, 1B (start+end, dissolve into 1C) and 1C; the last one cuts out."""
    path = film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["shots"] = [s for s in doc["shots"] if s["id"] in SHOTS]
    fit_music(doc)
    assert [s["id"] for s in doc["shots"]] == list(SHOTS)
    assert doc["shots"][1].get("frame_mode") == "start_end"
    assert doc["shots"][1]["transition_out"]["kind"] == "dissolve"
    doc["shots"][-1]["transition_out"] = {"kind": "cut", "duration": 0}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return film


def copy_film(master: Path, dest: Path) -> Path:
    """The trimmed film without its finishing pass: the matrix is about paid calls, and a
    finishing pass (a graded re-encode, two loudness passes) in each of a case's runs is time
    that proves nothing here (the finishing tests and the example's renders hold it)."""
    shutil.copytree(master, dest, ignore=shutil.ignore_patterns(".slate", "renders"))
    without_finishing(dest)
    return trim(dest)


def run_env(prefect_home: Path, trace: Path, hold: str | None, api_url: str | None) -> dict[str, str]:
    """A `slate run`'s environment: on the matrix's server (`api_url`, told it is embedded), or with
    no server configured, so that it starts its own (`api_url` None)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PREFECT_API_URL", "SLATE_TEST_HOLD_AT", "SLATE_TEST_TRACE", "PREFECT_HOME",
                        "SLATE_EMBEDDED_PREFECT")}
    fresh_home(prefect_home)
    env.update(SLATE_TEST_TRACE=str(trace), SLATE_LOCAL_LATENCY=LATENCY, PREFECT_HOME=str(prefect_home),
               PREFECT_SERVER_ANALYTICS_ENABLED="false", SLATE_PAID_CALLS_ALLOWED="local",
               PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120")
    if api_url:
        env.update(PREFECT_API_URL=api_url, SLATE_EMBEDDED_PREFECT="1")
    if hold:
        env["SLATE_TEST_HOLD_AT"] = hold
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api_get(api_url: str, path: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"{api_url}{path}", timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, {}


def server_slots_taken(api_url: str) -> int:
    """Active slots of the video limit on the matrix's (live) server; 0 before any video ran."""
    status, limit = api_get(api_url, f"/v2/concurrency_limits/{SLOT}")
    if status == 404:
        return 0
    assert status == 200, status
    return limit["active_slots"]


def command(film: Path) -> list[str]:
    return [sys.executable, str(REPO / "tests" / "holding_cli.py"), "run", str(film), "--price-as", PRICE_AS,
            "--cap", "50"]


def group_members(pgid: int) -> list[tuple[int, str]]:
    """(pid, state) of every process in a process group, from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()   # after "pid (comm) "
        if int(fields[2]) == pgid:
            members.append((int(entry.name), fields[0]))
    return members


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the process group we started (the CLI and its Prefect server) and reap it."""
    pgid = proc.pid  # start_new_session=True: the child leads its own group
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass


def assert_group_gone(pgid: int, timeout: float = 15.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        live = [(pid, st) for pid, st in group_members(pgid) if st != "Z"]
        if not live:  # only zombies wait for a parent (init) to reap them: nothing runs
            return
        time.sleep(0.2)
    raise AssertionError(f"processes of group {pgid} survived SIGKILL: {group_members(pgid)}")


def tail(path: Path, n: int = 40) -> str:
    if not path.is_file():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-n:])


def run_to_end(film: Path, env: dict[str, str], log: Path) -> tuple[int, str, float]:
    started = time.time()
    with open(log, "w") as out:
        proc = subprocess.Popen(command(film), cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            code = proc.wait(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            code = None
        finally:
            if proc.poll() is None or code is None:
                kill_group(proc)
    elapsed = time.time() - started
    text = log.read_text(errors="replace")
    assert code is not None, f"slate run did not finish in {RUN_TIMEOUT}s:\n{tail(log)}"
    return code, text, elapsed


def run_and_kill_at(film: Path, env: dict[str, str], trace: Path, log: Path, point: str,
                    slots=None, held_slots: int = 0) -> tuple[dict, float]:
    """Start a run, wait until it holds at `point` and is quiet (`slots`, when given: a reading of
    the video slots taken, down to the `held_slots` the held call keeps), SIGKILL its whole
    group; the held event."""
    started = time.time()
    with open(log, "w") as out:
        proc = subprocess.Popen(command(film), cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            held = None
            deadline = time.time() + HOLD_TIMEOUT
            while held is None and time.time() < deadline:
                held = next((e for e in read_trace(trace) if e.get("holding") and e["point"] == point), None)
                if held is None:
                    if proc.poll() is not None:
                        raise AssertionError(f"slate run ended ({proc.returncode}) before holding at "
                                             f"{point}:\n{tail(log)}")
                    time.sleep(0.2)
            assert held is not None, f"no hold at {point} within {HOLD_TIMEOUT}s:\n{tail(log)}"
            wait_quiet(film, trace, held["call_id"], slots=slots, held_slots=held_slots)
        finally:
            kill_group(proc)
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, tail(log))
    assert_group_gone(proc.pid)
    return held, time.time() - started


def wait_quiet(film: Path, trace: Path, call_id: str, timeout: float = 90.0, *, slots=None,
               held_slots: int = 0) -> bool:
    """Wait until the held call is the only open paid call, the trace has stopped growing and
    (`slots`) no video slot is taken but the `held_slots` of the held call.

    Other threads of the run go on while one holds (panels and gates of the other shots, videos
    not waiting on the held one). The run does go quiet: then the kill lands at the named point
    and nowhere else, and each case tests exactly one point. A finished clip gives its slot back
    by a request to the server after its ledger row is settled: on two busy cores that request
    was once still on its way when a panel point's kill landed, and the server kept a slot the
    case said no call held."""
    deadline = time.time() + timeout
    size, since = -1, time.time()
    while time.time() < deadline:
        now = trace.stat().st_size if trace.is_file() else 0
        if now != size:
            size, since = now, time.time()
        ledger = Ledger.for_project(film)
        try:
            open_ids = {r.call_id for r in ledger.open_intents(film=FILM_ID)}
        finally:
            ledger.close()
        if open_ids <= {call_id} and time.time() - since >= 1.5 and (slots is None or slots() <= held_slots):
            return True
        time.sleep(0.2)
    return False


def slots_taken(prefect_home: Path) -> int:
    """Active slots of the video concurrency limits in a (dead) Prefect server's database."""
    import sqlite3
    db = prefect_home / "prefect.db"
    if not db.is_file():
        return -1
    with sqlite3.connect(db) as conn:
        rows = conn.execute("select active_slots from concurrency_limit_v2 where name like 'video-%'").fetchall()
    return sum(r[0] for r in rows)


def video_rows(film: Path):
    ledger = Ledger.for_project(film)
    try:
        return [r for r in ledger.rows(film=FILM_ID) if r.stage == "video"], ledger.rows(film=FILM_ID), \
            ledger.totals(film=FILM_ID)
    finally:
        ledger.close()


def books(film: Path) -> dict[str, list[str]]:
    """What the local providers were asked, from their own books: panels and clips by request
    fingerprint, verdicts by what was judged."""
    storage = LocalStorage(film)
    return {"panel": [e["fingerprint"] for e in LocalImage(storage).submissions()],
            "video": [e["fingerprint"] for e in LocalVideo(storage).submissions()],
            "judge": [e["subject"] for e in LocalJudge(film / ".slate" / "local-jobs" / "judgements.jsonl").judgements()]}


def nothing_to_reconcile(film: Path) -> bool:
    out = subprocess.run([sys.executable, "-m", "slate.cli", "reconcile", str(film)], cwd=REPO, capture_output=True,
                         text=True, timeout=120, env={**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"})
    assert out.returncode == 0 and out.stdout.strip() == "nothing to reconcile", (out.returncode, out.stdout,
                                                                                   out.stderr[-2000:])
    return True


def duplicates(items) -> int:
    return sum(n - 1 for n in Counter(items).values() if n > 1)


def ledger_duplicates(rows) -> int:
    """Requests with more than one row that reached the provider."""
    return duplicates(r.request_key for r in rows if r.status in ("submitted", "succeeded", "failed", "unknown"))


# -- the matrix's Prefect server ----------------------------------------------------------------

@contextmanager
def matrix_server(home: Path):
    """One Prefect server for many cases, as `slate run` starts its embedded one (`uvicorn` on
    slate/server.py's factory, `PREFECT__SERVER_EPHEMERAL=1`: the services of an embedded server and no others —
    none that frees a killed run's slot), in its own session; its API URL; stopped by its process id."""
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    fresh_home(home)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_UI_ENABLED="0",
               PREFECT__SERVER_EPHEMERAL="1", PREFECT__SERVER_FINAL="1", PREFECT_LOGGING_LEVEL="WARNING")
    log = open(home / "server.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "slate.server:embedded_app",
                             "--host", "127.0.0.1", "--port", str(port), "--log-level", "error", "--lifespan", "on"],
                            cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.time() + SERVER_TIMEOUT
        while api_get_or_none(api_url, "/health") is None:
            assert proc.poll() is None, f"the Prefect server exited ({proc.returncode}):\n{tail(home / 'server.log')}"
            assert time.time() < deadline, f"the Prefect server did not answer in {SERVER_TIMEOUT}s"
            time.sleep(0.25)
        yield api_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def api_get_or_none(api_url: str, path: str):
    try:
        return api_get(api_url, path)
    except OSError:  # not listening yet
        return None


# -- the clean run ------------------------------------------------------------------------------

def clean_run(master: Path, base: Path, api_url: str) -> dict:
    """One uninterrupted run of the trimmed film (a copy of `master` under `base`), for the spend
    and the books to compare against."""
    film = copy_film(master, base / "film")
    code, text, elapsed = run_to_end(film, run_env(base / "prefect", base / "trace.jsonl", None, api_url),
                                     base / "run.log")
    assert code == 0, text[-4000:]
    assert "state: Completed" in text, text[-4000:]
    videos, rows, totals = video_rows(film)
    got = books(film)
    print(f"\ncrash matrix: clean run {elapsed:.1f}s, spend ${totals.committed}, {len(rows)} paid calls; "
          f"provider books: {len(got['panel'])} panels, {len(got['judge'])} verdicts, {len(got['video'])} clips")
    return {"film": film, "committed": totals.committed, "rows": len(rows), "books": {k: len(v) for k, v in got.items()},
            "seconds": elapsed, "slots_after": server_slots_taken(api_url)}


def clean_run_costs_the_rate_card_figure(clean: dict) -> Decimal:
    """The clean run's spend (checked against the rate card's figure, and its books' counts)."""
    assert clean["committed"] == CLEAN_COST
    assert clean["books"]["video"] == len(SHOTS)
    assert clean["books"]["panel"] == len(SHOTS) + 1  # 1B is start+end
    assert clean["books"]["judge"] == clean["books"]["panel"] + len(SHOTS)  # panel and keyframe gates
    assert clean["slots_after"] == 0  # a run that ends gives its video slot back
    return clean["committed"]


# -- one kill, then a run to the end --------------------------------------------------------------

def sigkill_then_rerun(case: Case, clean: dict, api: str, master: Path, base: Path) -> dict:
    """Kill a run of a copy of `master` (under `base`) at `case.point`, run it again to the end,
    and check the counts against the clean run `clean`; `api` is the matrix's server. Returns
    what was counted: the ledger's committed spend and the held call's last status."""
    point, resumed, verdicts_asked_twice = case.point, case.resumed, case.verdicts_asked_twice
    film = copy_film(master, base / "film")
    trace1, trace2 = base / "trace-1.jsonl", base / "trace-2.jsonl"
    stage = point.split(":")[0]
    api_url = api if case.server == SHARED_SERVER else None
    home = base / "prefect-1"
    # a video call holds the key's one slot from submit to download, and at every video point
    slots_leaked = 1 if stage == "video" else 0

    # 1. run, hold inside the first paid call to reach the point, SIGKILL the process group there
    held, killed_after = run_and_kill_at(film, run_env(home, trace1, point, api_url),
                                         trace1, base / "run-1.log", point,
                                         slots=(lambda: server_slots_taken(api_url)) if api_url
                                         else (lambda: slots_taken(home)), held_slots=slots_leaked)
    # the killed run's slot stays taken in the server's database (nothing else frees it)
    taken = server_slots_taken(api_url) if api_url else slots_taken(home)
    assert taken == slots_leaked, taken
    call_id = held["call_id"]
    held_row = next(r for r in video_rows(film)[1] if r.call_id == call_id)
    expect_status = {"after_intent": "reserved", "settled": "succeeded"}.get(point.split(":")[1], "submitted")
    assert held_row.status == expect_status, held_row
    if stage == "video":
        assert (held_row.job_id is None) == (point in ("video:after_intent", "video:after_submit")), held_row

    # 2. run again to the end, no hold, on the same Prefect home: the killed run's server left its
    # video slot taken in the database, and the rerun must not wait on it forever
    code, text, rerun_seconds = run_to_end(film, run_env(home, trace2, None, api_url), base / "run-2.log")
    assert code == 0, text[-4000:]
    assert "state: Completed" in text, text[-4000:]
    assert (server_slots_taken(api_url) if api_url else slots_taken(home)) == 0  # the rerun gave its slot back

    videos, rows, totals = video_rows(film)
    got = books(film)
    dup = {k: duplicates(v) for k, v in got.items()}
    in_ledger = ledger_duplicates(rows)
    print(f"\ncrash matrix: {point:<22} killed after {killed_after:5.1f}s, rerun {rerun_seconds:5.1f}s; "
          f"duplicates: ledger {in_ledger}, panels {dup['panel']}, verdicts {dup['judge']}, clips {dup['video']}; "
          f"spend ${totals.committed} (clean ${clean['committed']}); resumed: {resumed}")

    # 1. no duplicate paid calls, counted in the ledger and in the providers' books
    assert in_ledger == verdicts_asked_twice, [(r.stage, r.shot, r.status) for r in rows]
    assert dup == {"panel": 0, "video": 0, "judge": verdicts_asked_twice}, got
    assert {k: len(v) for k, v in got.items()} == {
        k: n + (verdicts_asked_twice if k == "judge" else 0) for k, n in clean["books"].items()}

    # 2. the same spend as a clean run, nothing left open, nothing for a person to reconcile
    assert totals.committed == clean["committed"] == CLEAN_COST
    assert totals.reserved == 0
    assert not [r for r in rows if r.status in ("reserved", "submitted")]
    assert len([r for r in rows if r.status == "unknown"]) == verdicts_asked_twice
    assert nothing_to_reconcile(film)

    # 3. every shot present
    out = film / "renders" / "scene-01-draft.mp4"
    assert out.is_file()
    assert abs(probe(out).duration - DRAFT_SECONDS) <= 1 / 24 + 1e-6
    assert sorted(r.shot for r in videos if r.status == "succeeded") == list(SHOTS)

    # 4. resumed as it should be, not paid again
    second = [e for e in read_trace(trace2) if e.get("call_id") == call_id]
    points = {e["point"] for e in second}
    final_held = next(r for r in rows if r.call_id == call_id)
    if resumed == "released":
        assert final_held.status == "released"
        assert [r for r in rows if r.stage == stage and r.shot == held["shot"] and r.status == "succeeded"]
    elif resumed == "resent":   # never received: sent now under the same row, received once
        assert final_held.status == "succeeded" and f"{stage}:reattach" in points
        assert any(e.get("not_received") for e in second if e["point"] == f"{stage}:reattach"), second
    else:
        assert final_held.status == "succeeded"
        assert f"{stage}:{ {'reattach': 'reattach', 'settled': 'reattach', 'reused': 'reused'}[resumed]}" in points, points
        assert f"{stage}:sending" not in points and f"{stage}:after_submit" not in points

    # 5. no temporary download left behind
    leftovers = [str(p.relative_to(film)) for p in (film / ".slate").rglob("*.part*")]
    assert not leftovers, leftovers
    return {"committed": totals.committed, "held": final_held.status}


# -- two kills in a row ---------------------------------------------------------------------------

def two_kills_then_a_run(first: str, second: str, clean: dict, api: str, master: Path, base: Path) -> Decimal:
    """Killed at `first`, then at `second` in the run after, then a run to the end: it has settled
    everything itself, sent no request twice, and spent what a clean run spends (returned)."""
    film = copy_film(master, base / "film")
    home = base / "prefect"
    held = []
    for n, point in enumerate((first, second), 1):
        trace = base / f"trace-{n}.jsonl"
        event, _ = run_and_kill_at(film, run_env(home, trace, point, api), trace, base / f"run-{n}.log", point)
        held.append(event)
    code, text, seconds = run_to_end(film, run_env(home, base / "trace-3.jsonl", None, api), base / "run-3.log")
    assert code == 0 and "state: Completed" in text, text[-4000:]
    assert "unknown outcome" not in text, text[-4000:]
    videos, rows, totals = video_rows(film)
    got = books(film)
    print(f"\ncrash matrix: killed at {first} then {second}; last run {seconds:5.1f}s, spend ${totals.committed}")
    assert ledger_duplicates(rows) == 0, [(r.stage, r.shot, r.take, r.status) for r in rows]
    assert {k: duplicates(v) for k, v in got.items()} == {"panel": 0, "video": 0, "judge": 0}, got
    assert {k: len(v) for k, v in got.items()} == clean["books"]
    assert totals.committed == CLEAN_COST and totals.reserved == 0
    assert not [r for r in rows if r.status in ("reserved", "submitted", "unknown")]
    assert nothing_to_reconcile(film)
    assert sorted(r.shot for r in videos if r.status == "succeeded") == list(SHOTS)
    for event in held:
        assert next(r for r in rows if r.call_id == event["call_id"]).status == "succeeded"
    leftovers = [str(p.relative_to(film)) for p in (film / ".slate").rglob("*.part*")]
    assert not leftovers, leftovers
    return totals.committed
