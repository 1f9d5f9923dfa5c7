"""Starting, stopping and steering the fake providers' server from a test.

`FakeProviders.start()` runs tests/fakes/server.py in its own process on 127.0.0.1, waits for it
to listen, and `stop()` ends that process by its id. `env()` is what a slate run needs to use it
instead of the real providers: base URLs, recognisable fake keys, loopback downloads allowed and
paid calls allowed to exactly these providers. Test code only.
"""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
PROVIDERS = ("replicate", "fal", "gemini", "openrouter", "elevenlabs", "comfyui", "vlm")
PREFIX = {"replicate": "/replicate/v1", "fal": "/fal", "gemini": "/gemini", "openrouter": "/openrouter/api/v1",
          "elevenlabs": "/elevenlabs", "comfyui": "/comfyui", "vlm": "/vlm/v1"}
KEY_VARS = {"replicate": "REPLICATE_API_TOKEN", "fal": "FAL_KEY", "gemini": "GEMINI_API_KEY",
            "openrouter": "OPENROUTER_API_KEY", "elevenlabs": "ELEVENLABS_API_KEY"}


def fake_key(provider: str, tag: str = "test") -> str:
    """A key-shaped value a test can recognise (and grep for)."""
    return {"replicate": "r8_", "fal": "fal-", "gemini": "AIza", "openrouter": "sk-or-v1-",
            "elevenlabs": "sk_", "vlm": "sk-vlm-"}[provider] + f"fake{tag}" * 3


def files_holding(needles, *places: Path) -> list[Path]:
    """The files under `places` (folders, or files) whose bytes hold any of `needles` (bytes or
    str). A file that is gone by the time it is read is passed over: SQLite's `-shm` and `-wal`
    files come and go as connections open and close (a test's own ledger reader, collected, closed
    one between the listing and the read)."""
    wanted = [n.encode() if isinstance(n, str) else n for n in ([needles] if isinstance(needles, (str, bytes)) else needles)]
    found = []
    for place in places:
        for path in [place] if place.is_file() else sorted(p for p in place.rglob("*") if p.is_file()):
            try:
                blob = path.read_bytes()
            except FileNotFoundError:
                continue
            if any(n in blob for n in wanted):
                found.append(path)
    return found


class FakeProviders:
    def __init__(self, proc: subprocess.Popen, base: str):
        self.proc, self.base = proc, base
        self.http = httpx.Client(base_url=base, timeout=30)

    @classmethod
    def start(cls) -> "FakeProviders":
        proc = subprocess.Popen([sys.executable, str(REPO / "tests" / "fakes" / "server.py"), "--port", "0"],
                                cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.time() + 60
        line = ""
        while time.time() < deadline:
            line = proc.stdout.readline()
            if "listening on" in line:
                return cls(proc, line.strip().rsplit(" ", 1)[-1])
            if proc.poll() is not None:
                break
        proc.kill()
        raise RuntimeError(f"the fake providers' server did not start: {line}{proc.stdout.read()}")

    def stop(self) -> None:
        self.http.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def url(self, provider: str) -> str:
        return self.base + PREFIX[provider]

    def env(self, tag: str = "test", allowed: tuple[str, ...] = PROVIDERS) -> dict[str, str]:
        env = {f"SLATE_{p.upper()}_BASE_URL": self.url(p) for p in PROVIDERS}
        env.update({KEY_VARS[p]: fake_key(p, tag) for p in PROVIDERS if p in KEY_VARS})   # ComfyUI has no key, a local model server needs none
        env.update(SLATE_ALLOW_LOOPBACK_DOWNLOADS="1", SLATE_PAID_CALLS_ALLOWED=",".join(("local",) + tuple(allowed)))
        return env

    # -- steering ---------------------------------------------------------------------------------
    def reset(self) -> None:
        self.http.post("/_fake/reset").raise_for_status()

    def faults(self, *specs: dict) -> None:
        self.http.post("/_fake/faults", json=list(specs)).raise_for_status()

    def keys(self, figures: dict) -> None:
        self.http.post("/_fake/keys", json=figures).raise_for_status()

    def requests(self, provider: str | None = None) -> list[dict]:
        got = self.http.get("/_fake/requests").json()
        return [r for r in got if provider is None or r["path"].startswith(PREFIX[provider])]

    def sent(self) -> dict[str, int]:
        """Per file the fakes served, the bytes written to the socket (every fetch of it)."""
        return self.http.get("/_fake/sent").json()

    def jobs(self, provider: str | None = None) -> list[dict]:
        return [j for j in self.http.get("/_fake/jobs").json() if provider is None or j["provider"] == provider]

    def cancels(self, provider: str | None = None) -> list[dict]:
        """Every cancel request a job of the fakes received (provider, id, model, what it did)."""
        return [c for c in self.http.get("/_fake/cancels").json() if provider is None or c["provider"] == provider]
