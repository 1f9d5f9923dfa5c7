"""Two live runs of one film at once — the nightly film run and a manual `slate run` — pay once.

Both are real processes on this machine with the same Prefect home (as a served nightly and a
terminal would have), on the same film, each with its own embedded Prefect server. The nightly
is held (tests/holding_cli.py) inside a judge call whose answer it has in hand but has not yet
kept; the manual run is started then, must reach the same request and be seen waiting on it
(the points the governor announces, in its trace), and only then is the nightly let go. The
manual run must use the nightly's verdict, not ask for its own. Afterwards the ledger's rows
and the local providers' own books show every panel, verdict and clip paid for once, both runs
finished, and the spend equals one clean run's.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

from slate.governor.chokepoint import Usage
from slate.governor.ledger import Ledger
from slate.governor.ratecard import RateCard
from slate.providers.local import LocalImage, LocalVideo
from slate.providers.local_judge import LocalJudge
from slate.providers.storage_local import LocalStorage
from tests.holding_cli import read_trace
from tests.prefect_homes import slate_env
from tests.scene_cuts import fit_music, without_finishing

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
RUNNER = str(REPO / "tests" / "holding_cli.py")
PRICE_AS = "replicate:bytedance/seedance-1-pro"


def wait_for(what, check, procs, logs, timeout=240.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = check()
        if found:
            return found
        for name, p in procs.items():
            assert p.poll() is None, f"{name} ended ({p.returncode}) before {what}:\n{logs[name].read_text()[-3000:]}"
        time.sleep(0.2)
    raise AssertionError(f"no {what} within {timeout}s")


def test_the_nightly_and_a_manual_run_at_once_pay_once(example_master, tmp_path):
    film = tmp_path / "film"
    shutil.copytree(example_master, film, ignore=shutil.ignore_patterns(".slate", "renders"))
    # 1A, 1C, 1D: a few shots for the two runs to meet on; no finishing (what is paid is the subject).
    without_finishing(film)
    path = film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["shots"] = [s for s in doc["shots"] if s["id"] in ("1A", "1C", "1D")]
    fit_music(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    env = slate_env(tmp_path / "prefect-home", SLATE_PAID_CALLS_ALLOWED="local", SLATE_LOCAL_LATENCY="1.0",
                    SLATE_EMBEDDED_PREFECT="1", PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120")
    traces = {name: tmp_path / f"{name}-trace.jsonl" for name in ("nightly", "manual")}
    release = tmp_path / "release-the-nightly"
    log_paths = {name: tmp_path / f"{name}.log" for name in ("nightly", "manual")}
    files = {name: open(p, "w") for name, p in log_paths.items()}
    procs: dict[str, subprocess.Popen] = {}
    started = time.time()
    try:
        procs["nightly"] = subprocess.Popen(
            [sys.executable, RUNNER, "film", str(film), "draft", PRICE_AS], cwd=REPO, stdout=files["nightly"],
            stderr=subprocess.STDOUT, start_new_session=True,
            env={**env, "SLATE_TEST_TRACE": str(traces["nightly"]), "SLATE_TEST_HOLD_AT": "panel_gate:answered",
                 "SLATE_TEST_RELEASE": str(release)})
        held = wait_for("hold in the nightly's judge call",
                        lambda: next((e for e in read_trace(traces["nightly"]) if e.get("holding")), None), procs, log_paths)
        procs["manual"] = subprocess.Popen(
            [sys.executable, RUNNER, "run", str(film), "--price-as", PRICE_AS], cwd=REPO, stdout=files["manual"],
            stderr=subprocess.STDOUT, start_new_session=True, env={**env, "SLATE_TEST_TRACE": str(traces["manual"])})
        waited = wait_for("manual run waiting on the nightly's live call",
                          lambda: next((e for e in read_trace(traces["manual"]) if e["point"] == "panel_gate:waiting"
                                        and e.get("call_id") == held["call_id"]), None), procs, log_paths)
        release.touch()
        codes = {name: p.wait(timeout=600) for name, p in procs.items()}
    finally:
        for p in procs.values():
            if p.poll() is None:
                os.killpg(p.pid, 9)
        for f in files.values():
            f.close()
    out = {name: p.read_text() for name, p in log_paths.items()}
    assert codes == {"nightly": 0, "manual": 0}, {k: v[-3000:] for k, v in out.items()}
    assert "film state: Completed" in out["nightly"] and "state: Completed" in out["manual"]

    ledger = Ledger.for_project(film)
    rows = ledger.rows(film="night-diner")
    reached = Counter(r.request_key for r in rows if r.status in ("submitted", "succeeded", "failed", "unknown"))
    storage = LocalStorage(film)
    books = {"panel": Counter(e["fingerprint"] for e in LocalImage(storage).submissions()),
             "video": Counter(e["fingerprint"] for e in LocalVideo(storage).submissions()),
             "judge": Counter(e["subject"] for e in
                              LocalJudge(film / ".slate" / "local-jobs" / "judgements.jsonl").judgements())}
    manual_points = [e for e in read_trace(traces["manual"]) if e.get("call_id") == held["call_id"]]
    runs = Counter(r.run_id[:8] for r in rows if r.status == "succeeded")
    print(f"\noverlapping runs: finished in {time.time() - started:.0f}s; the manual run waited "
          f"{manual_points[-1]['time'] - waited['time']:.1f}s on the nightly's verdict for shot {held['shot']}, then "
          f"{manual_points[-1]['point']}; paid rows by run {dict(runs)}; most asked: ledger {max(reached.values())}, "
          + ", ".join(f"{k} {max(v.values())}" for k, v in books.items())
          + f"; spend ${ledger.totals(film='night-diner').committed}")
    assert manual_points[-1]["point"] == "panel_gate:reused"  # the nightly's verdict, not a second one
    assert max(reached.values()) == 1
    assert all(max(book.values()) == 1 for book in books.values()), books
    assert len(books["video"]) == 3 and len(books["panel"]) == 3
    card = RateCard.load(film)
    clean = sum(card.price(PRICE_AS, Usage("video", seconds=s["duration"], resolution="480p")) for s in doc["shots"])
    assert ledger.totals(film="night-diner").committed == clean
    assert not [r for r in rows if r.status in ("reserved", "submitted", "unknown")]
