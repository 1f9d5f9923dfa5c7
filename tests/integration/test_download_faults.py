"""A provider's file that misbehaves on its way: said as its cause, and never downloaded whole.

From outside, a truncated, a redirected and a 200 MB padded clip each read "what came back is not
a video ffmpeg can read (ffmpeg exited with code 183: …/ffmpeg-linux-x86_64-v9.0.2 -nostdin …"
— a command line cut mid-path — and the 200 MB file was downloaded whole before it was refused.
Each test follows a real prediction at the fake Replicate (tests/fakes, real HTTP) through a
real Governor, its output misbehaving on every fetch, and asserts the one-line cause in the
error, the billed failure in the ledger, and what the fake really sent (its books).
"""
from __future__ import annotations

import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest

from slate.governor.chokepoint import CUT_SHORT_FETCHES, CallContext, CallSpec, Governor, Usage
from slate.governor.ledger import Cap, Ledger
from slate.providers import download, replicate
from slate.providers.base import ClipRequest
from slate.providers.errors import BadOutput
from slate.providers.storage_local import LocalStorage

FILM = "night-diner"
MODEL = "bytedance/seedance-1-lite"
PADDED = 200 * 1024 * 1024


@pytest.fixture
def bench(painted, fakes):
    return SimpleNamespace(root=painted.root, storage=painted.storage, start=painted.drawn[0], fakes=fakes)


def clip(bench) -> ClipRequest:
    return ClipRequest(prompt="Nina crosses the wet street to the diner door.", start_uri=bench.start, end_uri=None,
                       seconds=4.0, width=1280, height=720, fps=24, resolution="720p", movement="static",
                       camera_fixed=True, seed=7)


def follow(bench, req: ClipRequest):
    g = Governor(run_id="run-1", film=FILM, root=bench.root, ledger=Ledger.for_project(bench.root),
                 estimate=lambda units, model: Decimal("0.10"), storage=LocalStorage(bench.root),
                 caps=[Cap("run", Decimal("10")), Cap("film", Decimal("100"))], poll_interval=0.02, busy_poll=0.05,
                 busy_wait=5.0, retry_wait_cap=0.2)
    v = replicate.video(MODEL, storage=bench.storage, base_url=bench.fakes.url("replicate"))
    spec = CallSpec(CallContext(g.run_id, FILM, "scene-01", "1A", "video", 1, v.name, v.model, "draft"),
                    Usage("video", seconds=req.seconds, resolution=req.resolution), req.fingerprint())
    return g.job_call(spec, submit=lambda ref: v.submit(req, client_ref=ref), poll=v.poll, download=v.download,
                      suffix="mp4", deadline=30.0, poll_interval=0.02, find=v.find_job, cancel=v.cancel)


def refused(bench, fault: dict) -> str:
    """Follow a clip whose output meets `fault`: the one-line cause it ends with, after checking
    the ledger's billed failure and that no partial file is left."""
    bench.fakes.faults({"provider": "replicate", "op": "download", **fault})
    with pytest.raises(BadOutput) as raised:
        follow(bench, clip(bench))
    said = str(raised.value)
    [row] = Ledger.for_project(bench.root).rows(film=FILM)
    assert row.status == "failed" and row.error_class == "BadOutput" and row.error_message == said
    assert row.actual_cost == Decimal("0.10")   # it ran: billed at the estimate
    assert "\n" not in said and "ffmpeg" not in said and said.startswith("replicate: the provider's file")
    assert not [p for p in (bench.root / ".slate" / "downloads").glob("*") if p.is_file()]
    return said


def files_fetched(fakes) -> list[dict]:
    return [r for r in fakes.requests() if r["method"] == "GET" and r["path"].startswith("/files/")]


def test_a_file_cut_short_says_so_with_its_bytes_and_is_asked_again_before_it_is_refused(bench):
    said = refused(bench, {"kind": "truncated", "data": {"share": 0.5}})
    got, whole = (int(n.replace(",", "")) for n in
                  said.split("cut short (")[1].split(" bytes")[0].split(" of "))
    assert got == whole // 2 and whole > 10_000, said
    assert said.endswith(f", {CUT_SHORT_FETCHES} times in a row"), said
    assert len(files_fetched(bench.fakes)) == CUT_SHORT_FETCHES   # a GET: asked again, not forever


class _Elsewhere(BaseHTTPRequestHandler):
    """Another server on this machine, answering an HTML page (what a redirect can land on)."""
    asked: list[str] = []

    def do_GET(self):  # noqa: N802 — http.server's name
        _Elsewhere.asked.append(self.path)
        body = b"<html>you have been redirected</html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def elsewhere():
    _Elsewhere.asked = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Elsewhere)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_a_redirect_off_the_providers_file_host_is_refused_naming_the_host(bench, elsewhere):
    said = refused(bench, {"kind": "redirect", "data": {"to": f"http://127.0.0.1:{elsewhere}/clip.mp4"}})
    assert f"redirected off its file host, to 127.0.0.1:{elsewhere}" in said, said
    assert _Elsewhere.asked == []   # refused before anything was asked of it


def test_a_padded_file_is_refused_at_its_header_without_downloading_it(bench):
    said = refused(bench, {"kind": "padded", "data": {"bytes": PADDED}})
    limit, what = download.clip_limit(4.0, 1280, 720)
    assert f"the provider's file is {PADDED / 1e6:,.1f} MB, larger than {what} can be" in said, said
    assert "refused at its header" in said and limit < PADDED / 4
    [sent] = bench.fakes.sent().values()
    assert sent < PADDED / 10, sent   # what the socket took before slate hung up: not the file


def test_a_padded_file_without_a_length_is_stopped_once_it_passes_the_bound(bench):
    said = refused(bench, {"kind": "padded", "data": {"bytes": PADDED, "sized": False}})
    limit, what = download.clip_limit(4.0, 1280, 720)
    assert f"passed {limit / 1e6:,.1f} MB, larger than {what} can be" in said, said
    [sent] = bench.fakes.sent().values()
    assert sent < limit + 16 * 1024 * 1024 < PADDED / 2, sent


def test_the_bound_is_generous_for_any_real_clip():
    """No real model's clip comes near it: 1080p at 20 Mbit/s (well above what they deliver)
    for the longest a model makes of a 10 s shot fits; the example's 720p 4 s stays far from 200 MB."""
    limit, what = download.clip_limit(10.0, 1920, 1080)
    assert limit > 20e6 / 8 * 15 and what == "a 10 s clip at 1920x1080"
    assert download.clip_limit(4.0, 1280, 720)[0] < 60e6
    assert download.clip_limit(0.0)[0] == download.MAX_VIDEO_BYTES


def test_a_file_that_is_not_a_video_says_ffmpegs_cause(bench, tmp_path: Path):
    (tmp_path / "junk.mp4").write_bytes(b"<html>an error page, not a clip</html>" * 50)
    with pytest.raises(BadOutput) as raised:
        download.checked_video("replicate", tmp_path / "junk.mp4", seconds=4.0)
    said = str(raised.value)
    assert said.startswith("replicate: what the provider sent is not a video (") and "ffmpeg" not in said, said
    assert "\n" not in said and len(said) < 300, said


def test_a_download_checked_when_the_process_is_told_to_stop_is_checked_again_by_the_next_run(bench):
    """Issue 56: a run sent SIGTERM while a paid clip's download was being checked recorded the
    clip BadOutput (a check cut off by the stop looks like a bad file), and the next run paid for
    it again. Here the process is told to stop as the fetch begins (the chokepoint's own
    "downloading" point) and that fetch fails its check (the fake's padded file, served once):
    no verdict is written while the process ends — the row keeps its job id — and the next run
    fetches the file again, checks it and keeps it, billed once, one prediction in the fake's book."""
    from slate.governor.chokepoint import RunHalted, add_listener
    from slate.governor.killswitch import clear_process_stop, stop_this_process
    bench.fakes.faults({"provider": "replicate", "op": "download", "kind": "padded",
                        "data": {"bytes": PADDED}})

    def stopping(point, spec, details):
        if point == "video:downloading":
            stop_this_process("this run's process was sent SIGTERM")
    remove = add_listener(stopping)
    try:
        with pytest.raises(RunHalted, match="fetched and checked by the next run"):
            follow(bench, clip(bench))
    finally:
        remove()
        clear_process_stop()
    [row] = Ledger.for_project(bench.root).rows(film=FILM)
    assert row.status == "submitted" and row.job_id and row.error_class is None, (row.status, row.error_class)
    fetched = len(files_fetched(bench.fakes))
    got = follow(bench, clip(bench))                        # the next run: re-attached, fetched, checked
    assert bench.storage.exists(got.uri) and len(files_fetched(bench.fakes)) > fetched
    [row] = Ledger.for_project(bench.root).rows(film=FILM)
    assert row.status == "succeeded" and row.actual_cost == Decimal("0.10"), (row.status, row.actual_cost)
    assert len(bench.fakes.jobs("replicate")) == 1          # one prediction: nothing paid twice
