"""The Prefect servers slate starts on SQLite (slate/server.py): the embedded one of `slate run`, `slate up`'s.

- `BusyRetry`, at the ASGI edge, against a stand-in for Prefect's app that answers busy: a busy
  answer is tried again in the server and the client sees the first real one; other answers,
  websockets and the lifespan pass as they are; writes go through one at a time.
- The real server, started as `slate run` starts it, under sixteen clients writing at once
  with no retries of their own: every write lands (Prefect's own ephemeral app answered 34 of
  86 such requests 503 on this machine, and reset the connections after them).
- A SIGKILLed parent: its server stops by itself, counted by the server's process id.
"""
from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from slate.server import BusyRetry, EmbeddedServer
from tests.prefect_homes import fresh_home

REPO = Path(__file__).resolve().parents[2]


# -- BusyRetry at the ASGI edge ------------------------------------------------------------------

class BusyApp:
    """Answers 503 for its first `busy` requests (and raises after it, as Starlette's error
    middleware does after sending the answer, for the log), then `status`; records every body
    and how many requests were inside it at once."""

    def __init__(self, busy: int, status: int = 201, pause: float = 0.0):
        self.busy, self.status, self.pause = busy, status, pause
        self.bodies: list[bytes] = []
        self.inside = self.most_inside = 0

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            message = await receive()
            await send({"type": "lifespan.startup.complete"})
            return
        self.inside += 1
        self.most_inside = max(self.most_inside, self.inside)
        try:
            body = (await receive())["body"]
            self.bodies.append(body)
            await asyncio.sleep(self.pause)
            busy = len(self.bodies) <= self.busy
            status = 503 if busy else self.status
            await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"busy" if busy else body})
            if busy:
                raise RuntimeError("database is locked")
        finally:
            self.inside -= 1


def _post(app, path: str, body: bytes, method: str = "POST") -> httpx.Response:
    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://embedded") as client:
            return await client.request(method, path, content=body)
    return asyncio.run(go())


def test_a_busy_answer_is_tried_again_and_the_client_sees_the_first_real_one():
    app = BusyApp(busy=3)
    answer = _post(BusyRetry(app), "/api/task_runs/", b'{"name": "1A"}')
    assert answer.status_code == 201 and answer.content == b'{"name": "1A"}'
    assert app.bodies == [b'{"name": "1A"}'] * 4  # the same body, every try


def test_a_database_busy_past_the_bound_is_answered_busy():
    app = BusyApp(busy=10 ** 6)
    started = time.monotonic()
    answer = _post(BusyRetry(app, seconds=0.3), "/api/logs/", b"[]")
    assert answer.status_code == 503
    assert 0.3 <= time.monotonic() - started < 3
    assert len(app.bodies) > 2


@pytest.mark.parametrize("status", [404, 409, 422, 500])
def test_other_answers_pass_at_once(status):
    app = BusyApp(busy=0, status=status)
    assert _post(BusyRetry(app), "/api/flow_runs/", b"{}").status_code == status
    assert len(app.bodies) == 1


def test_a_write_still_waiting_for_its_turn_when_its_window_passes_is_answered_busy():
    """A write behind another that holds the writing turn (each waiting out SQLite's busy
    timeout, on a loaded machine) is answered busy once its window passes, never sent through
    the app after its client gave up on it: a concurrency slot granted then was held by a lease
    nobody knew of."""
    async def two():
        app = BusyApp(busy=0, status=200, pause=1.5)
        wrapped = BusyRetry(app, seconds=0.3)
        transport = httpx.ASGITransport(app=wrapped, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://embedded") as client:
            first = asyncio.create_task(client.post("/api/task_runs/", content=b"first"))
            await asyncio.sleep(0.05)
            started = time.monotonic()
            second = await client.post("/api/v2/concurrency_limits/increment-with-lease", content=b"second")
            waited = time.monotonic() - started
            return await first, second, waited, app.bodies

    first, second, waited, bodies = asyncio.run(two())
    assert first.status_code == 200 and second.status_code == 503
    assert waited < 1.2, waited           # answered while the first still held the turn
    assert bodies == [b"first"]           # the second never reached the app


def test_writes_go_through_one_at_a_time_and_reads_do_not_wait():
    async def many(method: str, path: str) -> int:
        app = BusyApp(busy=0, status=200, pause=0.05)
        wrapped = BusyRetry(app)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=wrapped, raise_app_exceptions=False), base_url="http://embedded") as client:
            answers = await asyncio.gather(*(client.request(method, path, content=b"{}") for _ in range(8)))
        assert all(a.status_code == 200 for a in answers)
        return app.most_inside

    assert asyncio.run(many("POST", "/api/task_runs/")) == 1
    assert asyncio.run(many("PATCH", "/api/artifacts/x")) == 1
    assert asyncio.run(many("GET", "/api/flow_runs/x")) == 8
    assert asyncio.run(many("POST", "/api/flow_runs/filter")) == 8


# -- the real server ----------------------------------------------------------------------------

@pytest.fixture
def prefect_home(tmp_path, monkeypatch) -> Path:
    """A Prefect home of the test's own, its database migrated (tests/prefect_homes.py): these
    tests are about what the server does once up; a new home's own migration is the last test's."""
    home = fresh_home(tmp_path / "prefect-home")
    for name in [k for k in os.environ if k.startswith("PREFECT_API")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("PREFECT_HOME", str(home))
    return home


def sixteen_writers(api: str) -> tuple[Counter, int]:
    """16 clients with no retries of their own, each creating 10 task runs of one flow run (a
    read, then a write) and sending logs between them. Returns the answers' status codes and how
    many task runs the server then holds (all 320 answers are 201 and it holds 160 when every
    write lands; Prefect's own app answered 34 of 86 such requests 503 on this machine)."""
    with httpx.Client(base_url=api, timeout=120) as client:
        flow_id = client.post("/flows/", json={"name": "busy"}).json()["id"]
        run_id = client.post("/flow_runs/", json={"flow_id": flow_id, "name": "busy"}).json()["id"]
    answers: list[int] = []
    lock = threading.Lock()

    def writer(n: int) -> None:
        log = [{"name": "slate", "level": 20, "message": "m" * 200, "timestamp": "2026-11-23T00:00:00Z",
                "flow_run_id": run_id}] * 20
        with httpx.Client(base_url=api, timeout=120) as client:
            for take in range(10):
                made = client.post("/task_runs/", json={"flow_run_id": run_id, "task_key": f"shot-{n}",
                                                        "dynamic_key": str(take), "name": f"shot-{n}-{take}"})
                logged = client.post("/logs/", json=log)
                with lock:
                    answers.extend([made.status_code, logged.status_code])

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with httpx.Client(base_url=api, timeout=60) as client:
        held = client.post("/task_runs/filter", json={"flow_runs": {"id": {"any_": [run_id]}}}).json()
    return Counter(answers), len(held)


#: What sixteen_writers reads back when every write landed.
ALL_LANDED = (Counter({201: 320}), 160)


def test_sixteen_writers_at_once_all_land(prefect_home):
    server = EmbeddedServer(prefect_home).start()
    try:
        deadline = time.monotonic() + 120
        while not server.healthy():
            assert server.proc.poll() is None, server.log_tail()
            assert time.monotonic() < deadline, server.log_tail()
            time.sleep(0.1)
        assert sixteen_writers(server.api_url) == ALL_LANDED
    finally:
        server.stop()
    assert server.proc is None


def test_a_lease_nobody_renews_gives_its_slot_back(prefect_home, monkeypatch):
    """A video slot granted to a holder that never renews it (killed, or its answer lost and the
    grant asked for again) is given back once the lease expires: the next job gets the slot
    instead of waiting for the server's life (Prefect's ephemeral server runs no repossessor)."""
    import uuid

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.concurrency.sync import concurrency
    from prefect.settings import PREFECT_API_URL, temporary_settings
    monkeypatch.setenv("PREFECT_SERVER_SERVICES_REPOSSESSOR_LOOP_SECONDS", "1")
    server = EmbeddedServer(prefect_home).start()
    name = f"video-orphan-{uuid.uuid4().hex[:8]}"
    try:
        server.wait(adopt=False)
        with temporary_settings({PREFECT_API_URL: server.api_url}):
            with get_client(sync_client=True) as client:
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))
                # The shortest lease Prefect grants: a minute (what `concurrency` asks for by default: 5).
                granted = client.increment_concurrency_slots_with_lease(names=[name], slots=1, mode="concurrency",
                                                                        lease_duration=60)
                assert granted.status_code == 200   # held, and from here on forgotten
                assert client.read_global_concurrency_limit_by_name(name).active_slots == 1
            started = time.monotonic()
            with concurrency(name, occupy=1, strict=True, timeout_seconds=120):
                waited = time.monotonic() - started
    finally:
        server.stop()
    assert 55 <= waited < 90, waited
    assert "reclaimed 1 expired concurrency lease" in server.log_tail(200)


def test_the_server_stops_when_the_run_that_started_it_is_killed(prefect_home, tmp_path):
    """A process starts the embedded server as `slate run` does and is SIGKILLed: the server
    process is gone within seconds (Prefect's own server lived on)."""
    said = tmp_path / "server.json"
    code = ("import json, sys, time\n"
            "from slate import server as embedded\n"
            "server = embedded.start(); server.wait()\n"
            # Written beside and renamed: the test polls for the file, and must never read it half written.
            f"open({str(said) + '.part'!r}, 'w').write(json.dumps({{'pid': server.proc.pid, 'api': server.api_url}}))\n"
            f"import os; os.replace({str(said) + '.part'!r}, {str(said)!r})\n"
            "time.sleep(600)\n")
    run = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env=os.environ.copy())
    server = None
    try:
        deadline = time.monotonic() + 120
        while not said.exists():
            assert run.poll() is None, "the run exited before its server answered"
            assert time.monotonic() < deadline, "the server did not answer"
            time.sleep(0.1)
        server = json.loads(said.read_text())
        with httpx.Client(timeout=10) as client:
            assert client.get(f"{server['api']}/health").status_code == 200
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
        deadline = time.monotonic() + 30
        while _alive(server["pid"]):
            assert time.monotonic() < deadline, f"the server {server['pid']} outlived its run by 30 s"
            time.sleep(0.2)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
        if server is not None and _alive(server["pid"]):  # the test failed: it must not leave it running
            os.kill(server["pid"], signal.SIGKILL)


def _alive(pid: int) -> bool:
    """The process is running (not gone, not a zombie waiting for its reaper)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_runs_started_together_on_a_new_prefect_home_all_get_their_server(tmp_path):
    """Three runs' embedded servers started at the same instant on a fresh Prefect home: each
    server migrates the home's new database as it starts, and one used to die (`RuntimeError:
    the embedded Prefect server exited (3)`; Prefect's migration: "Online migration expected to
    match one row … 0 found"), its `slate run` with it — this test failed 2 of 3 times before.
    Servers of one home now start one at a time, and every run gets one that answers."""
    home = tmp_path / "fresh-home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env.update({"PREFECT_HOME": str(home), "START_AT": str(time.time() + 8)})
    # Each process imports first, then starts its server at the same instant as the others.
    code = ("import os, sys, time\nfrom slate import server as embedded\n"
            "time.sleep(max(0.0, float(os.environ['START_AT']) - time.time()))\n"
            "s = embedded.start()\ntry:\n    s.wait()\n    print('ok', s.api_url)\n"
            "except RuntimeError as exc:\n    print('FAIL', exc)\n    sys.exit(1)\nfinally:\n    s.stop()\n")
    runs = [subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True) for _ in range(3)]
    outs = [run.communicate(timeout=300)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], "\n---\n".join(o[-1500:] for o in outs)
