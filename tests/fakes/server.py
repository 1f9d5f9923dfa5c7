"""The fake providers' server: one process on 127.0.0.1 serving every fake provider.

    python tests/fakes/server.py --port 0
    → prints "fake providers listening on http://127.0.0.1:PORT" and serves until killed.

Routes: each provider module of this folder (replicate.py, fal.py, gemini.py, openrouter.py, elevenlabs.py,
comfyui.py)
registers its own under its prefix with `register(router)`; this file adds the files they hand
out (/files/<id>) and the test's controls:

    POST /_fake/reset                 forget every request, job, fault and file
    POST /_fake/faults   [Fault, …]   queue faults (see core.Fault)
    POST /_fake/keys     {provider: {…}}  what a key endpoint reports (OpenRouter's /key)
    GET  /_fake/requests              every request received
    GET  /_fake/jobs                  every job created: provider, op, model, fingerprint
    GET  /_fake/sent                  per file, the bytes written to the socket over all its fetches
    GET  /_fake/cancels               every cancel a job received: provider, id, model, outcome

A file a provider's fake marked with a download fault (State.file_faults) misbehaves on every
fetch: "truncated" (says its length, sends `share` of it, closes), "redirect" (302 to
fault.data["to"], another server), "padded" (the clip then zeros to fault.data["bytes"], with a
Content-Length saying so, or with none when fault.data["sized"] is false).

Test code only.
"""
from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
from http.server import ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.fakes.core import Reply, Router, State, make_handler  # noqa: E402

PROVIDERS = ("replicate", "fal", "gemini", "openrouter", "elevenlabs", "comfyui", "vlm")


def build(state: State) -> Router:
    router = Router()

    @router.route("POST", "/_fake/reset")
    def reset(st: State, req):
        st.reset()
        return Reply(200, {"ok": True})

    @router.route("POST", "/_fake/faults")
    def faults(st: State, req):
        st.add_faults(req.json)
        return Reply(200, {"queued": len(req.json)})

    @router.route("POST", "/_fake/keys")
    def keys(st: State, req):
        with st.lock:
            st.keys.update(req.json)
        return Reply(200, {"ok": True})

    @router.route("GET", "/_fake/requests")
    def requests(st: State, req):
        with st.lock:
            return Reply(200, list(st.requests))

    @router.route("GET", "/_fake/jobs")
    def jobs(st: State, req):
        with st.lock:
            return Reply(200, list(st.created))

    @router.route("GET", "/_fake/sent")
    def sent(st: State, req):
        with st.lock:
            return Reply(200, dict(st.sent))

    @router.route("GET", "/_fake/cancels")
    def cancels(st: State, req):
        with st.lock:
            return Reply(200, list(st.cancelled))

    @router.route("GET", r"/files/(?P<name>[0-9a-f]{16}\.[a-z0-9]+)")
    def files(st: State, req):
        name = req.params["name"]
        with st.lock:
            found = st.files.get(name)
            fault = st.file_faults.get(name)
        if found is None:
            return Reply(404, {"detail": "file expired"})
        data, ctype = found
        if fault is None:
            return Reply(200, data, content_type=ctype, count=name)
        if fault.kind == "truncated":   # says its whole length, sends the first part, closes
            keep = int(len(data) * float(fault.data.get("share", 0.5)))
            return Reply(200, data[:keep], content_type=ctype, declared=len(data), count=name)
        if fault.kind == "redirect":    # to another server (fault.data["to"]): off the provider's file host
            return Reply(302, None, {"Location": fault.data["to"]}, count=name)
        if fault.kind == "padded":      # the clip, then zeros to fault.data["bytes"] in all
            total = int(fault.data.get("bytes", 200 * 1024 * 1024))
            sized = fault.data.get("sized", True)
            return Reply(200, data, content_type=ctype, padding=max(0, total - len(data)),
                         declared=None if sized else -1, count=name)
        return Reply(200, data, content_type=ctype, count=name)

    for name in PROVIDERS:
        try:
            module = importlib.import_module(f"tests.fakes.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"tests.fakes.{name}":
                raise
            continue
        module.register(router)
    return router


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    state = State(Path(tempfile.mkdtemp(prefix="fake-providers-")))
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(state, build(state)))
    server.daemon_threads = True
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    print(f"fake providers listening on {state.base}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
