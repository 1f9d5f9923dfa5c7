"""Canary secrets, read by real code paths, are never written anywhere.

The secrets a run reads today: the ledger's database URL (`SLATE_LEDGER_URL` pointing at the
Postgres on 127.0.0.1:5432 with a password; trust auth accepts any, so the run really uses it)
and the providers' keys, one recognisable key each. A real `slate run` (its own
embedded Prefect server and home, a mixed lineup against the fake providers), `slate log`,
`slate status`, `slate estimate`, `slate reconcile` and `slate doctor` run with them; a second
run points the ledger at a port where nothing listens, so the URL lands in an error. Then
everything they wrote is searched for each canary — raw, base64, URL-encoded and hex: their
output, every file of the film project (ledger exports, cached results, artifacts, renders), the
Prefect home (its database holds flow and task parameters, states, logs and artifacts) and every
row of the ledger.
"""
from __future__ import annotations

import base64
import os
import secrets
import shutil
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.fakes.control import files_holding
from tests.postgres_db import pg_database
from tests.prefect_homes import slate_env
from tests.scene_cuts import keep_shots

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]


def forms(secret: str) -> dict[str, bytes]:
    return {"raw": secret.encode(), "base64": base64.b64encode(secret.encode()).rstrip(b"="),
            "url-encoded": urllib.parse.quote(secret, safe="").encode(), "hex": secret.encode().hex().encode()}


def leaks(secret: str, *places: Path, texts: dict[str, str | bytes] = {}) -> list[str]:
    found = []
    needles = forms(secret)
    for name, text in texts.items():
        blob = text.encode() if isinstance(text, str) else text
        found += [f"{name} ({kind})" for kind, n in needles.items() if n in blob]
    for kind, n in needles.items():
        found += [f"{path} ({kind})" for path in files_holding(n, *places)]
    return found


def slate(*args: str, env: dict, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "slate.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def test_a_canary_ledger_password_and_canary_provider_keys_appear_nowhere(example_master, tmp_path, fake_server):
    """One real `slate run` reads every secret a run reads: the ledger's database URL with a
    password, and a recognisable key for every provider (a mixed lineup: Gemini panels and judge,
    Seedance on Replicate, a fal fallback the refused first clip makes it use). (One run for both:
    each is a whole run with its own embedded server, ~40 s of CPU.)"""
    from tests.fakes.control import KEY_VARS, PROVIDERS, fake_key
    # built at run time (no key-like literal in the repository); "+" makes its URL-encoded form differ
    canary = "cAn4ry+" + secrets.token_hex(12)
    tag = "CAN4RY" + secrets.token_hex(6)
    fake_server.reset()
    film = tmp_path / "film"
    shutil.copytree(example_master, film, ignore=shutil.ignore_patterns(".slate", "renders"))
    keep_shots(film, ("1A", "1B"))
    home = tmp_path / "prefect-home"
    base_env = slate_env(home, **fake_server.env(tag=tag), PREFECT_LOGGING_LEVEL="DEBUG",
                         PREFECT_LOGGING_LOG_PRINTS="true")
    keys = [fake_key(p, tag) for p in PROVIDERS if p in KEY_VARS]   # a local ComfyUI has no key
    # a refused first clip makes the run use the fallback too: both video providers read their keys
    fake_server.faults({"provider": "replicate", "op": "submit", "kind": "moderation"})
    with pg_database() as url:
        secret_url = url.replace("postgres@", f"postgres:{canary}@")
        env = {**base_env, "SLATE_LEDGER_URL": secret_url}
        outputs = {}
        run = slate("run", str(film), "--panel-model", "gemini", "--judge", "gemini", "--video-model",
                    "replicate:bytedance/seedance-1-lite,fal:fal-ai/bytedance/seedance/v1/lite/image-to-video", env=env)
        outputs["slate run"] = run.stdout + run.stderr
        assert run.returncode == 0 and "state: Completed" in run.stdout, run.stdout[-3000:] + run.stderr[-3000:]
        for args in (["log", str(film)], ["log", str(film), "--jsonl"], ["status", str(film)],
                     ["estimate", str(film)], ["reconcile", str(film)],
                     ["doctor", str(film), "--provider", "replicate"]):
            done = slate(*args, env=env)
            outputs[f"slate {' '.join(args[:1] + args[2:])}"] = done.stdout + done.stderr
        jsonl = outputs["slate log --jsonl"]
        assert jsonl.count('"status": "succeeded"') >= 8  # the run really wrote its calls there
        assert {j["provider"] for j in fake_server.jobs()} >= {"gemini", "replicate", "fal"}  # every key was used
        sent = [r["headers"] for r in fake_server.requests()]
        assert any(tag in " ".join(h.values()) for h in sent)  # the keys really went out, in headers

        down = {**env, "SLATE_LEDGER_URL": secret_url.replace(":5432/", ":1/")}
        # Without its cut the film is not served from the reel (tasks/run/reel.py, which reads no
        # ledger): the run must reach the ledger, and its error must mask the password.
        shutil.rmtree(film / "renders")
        failed = slate("run", str(film), env=down)
        outputs["slate run, ledger down"] = failed.stdout + failed.stderr
        assert failed.returncode != 0 and "postgres:***@127.0.0.1:1" in outputs["slate run, ledger down"], \
            outputs["slate run, ledger down"][-3000:]

        engine = sa.create_engine(url)
        with engine.connect() as c:
            rows = "\n".join(repr(tuple(r)) for r in c.exec_driver_sql("SELECT * FROM paid_calls"))
        engine.dispose()
        assert rows.count("succeeded") >= 8

    found = []
    for secret in (canary, *keys):
        found += leaks(secret, film, home, texts={**outputs, "ledger rows": rows})
    assert found == [], found
    # and the search itself works: the canary is found where it is put
    (tmp_path / "probe.txt").write_text(urllib.parse.quote(canary, safe=""))
    assert leaks(canary, tmp_path / "probe.txt") == [f"{tmp_path / 'probe.txt'} (url-encoded)"]
