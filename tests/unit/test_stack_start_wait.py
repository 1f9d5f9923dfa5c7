"""`slate up` waits for its Prefect server as `slate run` waits for its own (issue 57).

It waited a fixed 120 s and gave up on servers still importing on a machine at load 80-108 (three
failed starts). Now the wait follows the server's progress — its CPU, its log, its port — saying
how it goes, and gives up on one that stalls. Here the "server" is a real process of a few lines:
one that works (its log grows) for longer than the stall window and then answers the health check,
one that never moves. The windows are shortened for the test (START_STALL, SAY_EVERY).
"""
from __future__ import annotations

import subprocess
import sys
import time

import pytest

from slate import server as embedded
from slate.server import free_port
from slate.stack import _wait_for

BUSY_THEN_UP = """
import http.server, sys, time
log, port, busy = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
end = time.monotonic() + busy
with open(log, "a") as f:
    while time.monotonic() < end:      # importing: the log grows, nothing listens yet
        f.write("importing ...\\n"); f.flush(); time.sleep(0.1)
class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/api/health" else 404); self.end_headers(); self.wfile.write(b"true")
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", port), Health).serve_forever()
"""


@pytest.fixture
def quick(monkeypatch):
    monkeypatch.setattr(embedded, "START_STALL", 1.5)
    monkeypatch.setattr(embedded, "SAY_EVERY", 0.5)
    monkeypatch.setenv(embedded.START_LIMIT_ENV, "60")


def _start(tmp_path, code: str, *args: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "server.log"), str(port), *args])
    return proc, port


def test_a_server_that_keeps_working_past_the_stall_window_is_waited_for_and_said(tmp_path, quick):
    proc, port = _start(tmp_path, BUSY_THEN_UP, "4")
    said: list[str] = []
    try:
        started = time.monotonic()
        _wait_for(proc, f"http://127.0.0.1:{port}/api", port, tmp_path / "server.log", tmp_path, said.append)
        took = time.monotonic() - started
    finally:
        proc.kill()
        proc.wait()
    assert took > 1.5 * 2, took       # longer than the stall window: it was waited for while it worked
    assert said and all("starting the stack's Prefect server" in s for s in said), said
    assert any("still working" in s for s in said), said


def test_a_server_that_never_moves_is_given_up_on_the_stall_window_naming_its_log(tmp_path, quick):
    proc, port = _start(tmp_path, "import time; time.sleep(120)")
    try:
        started = time.monotonic()
        with pytest.raises(RuntimeError, match=r"made no progress for \d+ s: see .*server.log"):
            _wait_for(proc, f"http://127.0.0.1:{port}/api", port, tmp_path / "server.log", tmp_path, lambda _: None)
        assert time.monotonic() - started < 30
    finally:
        proc.kill()
        proc.wait()


ASGI_APP = """
async def app(scope, receive, send):
    pass
"""


def _uvicorn_on(tmp_path, port: int) -> subprocess.Popen:
    """Real uvicorn, asked for a port another socket holds: it says uvicorn's words and exits."""
    (tmp_path / "tiny_app.py").write_text(ASGI_APP)
    log = open(tmp_path / "server.log", "ab")
    return subprocess.Popen([sys.executable, "-m", "uvicorn", "--app-dir", str(tmp_path), "tiny_app:app",
                             "--host", "127.0.0.1", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)


def test_a_port_taken_between_choosing_and_binding_is_a_new_start_not_a_failed_stack(tmp_path, quick):
    """CI's stack fixture failed when another process bound the chosen port first: uvicorn said
    "address already in use" and `slate up` gave up. Now that start is made again on another port;
    the last try still fails, naming the log."""
    import socket
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    (tmp_path / "server.log").write_text("an earlier start: address already in use\n")   # not this start's
    start = (tmp_path / "server.log").stat().st_size
    try:
        proc = _uvicorn_on(tmp_path, port)
        assert _wait_for(proc, f"http://127.0.0.1:{port}/api", port, tmp_path / "server.log", tmp_path,
                         lambda _: None, log_start=start, retry_port=True) is False
        proc = _uvicorn_on(tmp_path, port)
        with pytest.raises(RuntimeError, match="address already in use"):
            _wait_for(proc, f"http://127.0.0.1:{port}/api", port, tmp_path / "server.log", tmp_path,
                      lambda _: None, log_start=start, retry_port=False)
    finally:
        holder.close()


def test_a_server_that_exits_for_another_reason_is_not_started_again(tmp_path, quick):
    (tmp_path / "server.log").write_text("address already in use (an earlier start's words)\n")
    start = (tmp_path / "server.log").stat().st_size
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", "import sys; print('no such app'); sys.exit(3)"],
                            stdout=open(tmp_path / "server.log", "ab"), stderr=subprocess.STDOUT)
    with pytest.raises(RuntimeError, match=r"exited \(3\)"):
        _wait_for(proc, f"http://127.0.0.1:{port}/api", port, tmp_path / "server.log", tmp_path,
                  lambda _: None, log_start=start, retry_port=True)
