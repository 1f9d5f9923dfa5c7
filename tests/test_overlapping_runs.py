"""Two live runs of one film at once — a manual `slate run` and the nightly film run — pay once.

Both are real processes on this machine with the same Prefect home (as two terminals, or a
served nightly and a manual run, would have), on the same film, each with its own embedded
Prefect server. The manual run starts while the nightly has a video job in flight, so it meets
a live owner's open call (its trace — the points the governor announces — must show it
waiting). Afterwards the ledger's rows and the local providers' own books must show every
panel, verdict and clip paid for exactly once, both runs finished, and the spend equal to one
clean run's.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

from governor.chokepoint import Units
from governor.ledger import Ledger
from governor.ratecard import RateCard
from providers.local import LocalImage, LocalVideo
from providers.local_judge import LocalJudge
from providers.storage_local import LocalStorage

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[1]
PRICE_AS = "replicate:bytedance/seedance-1-pro"


def _video_in_flight(film: Path) -> bool:
    if not (film / ".slate" / "ledger.db").is_file():
        return False
    ledger = Ledger.for_project(film)
    try:
        return any(r.stage == "video" and r.status == "submitted" and r.job_id for r in ledger.rows())
    finally:
        ledger.close()


def test_a_manual_run_and_the_nightly_film_run_at_once_pay_once(example_master, tmp_path):
    film = tmp_path / "film"
    shutil.copytree(example_master, film, ignore=shutil.ignore_patterns(".slate", "renders"))
    path = film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["shots"] = [s for s in doc["shots"] if s["id"] in ("1A", "1C", "1D")]
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env.update(PREFECT_HOME=str(tmp_path / "prefect-home"), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               SLATE_PAID_CALLS_ALLOWED="local", SLATE_LOCAL_LATENCY="4.0",
               PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120")
    trace = tmp_path / "manual-trace.jsonl"
    manual = [sys.executable, str(REPO / "tests" / "holding_cli.py"), "run", str(film), "--price-as", PRICE_AS]
    nightly = [sys.executable, "-c", "import sys; from flows.film import film_flow; "
               "s = film_flow(project=sys.argv[1], profile='draft', price_as=sys.argv[2], return_state=True); "
               "print('nightly state:', s.name); sys.exit(0 if s.is_completed() else 1)", str(film), PRICE_AS]
    logs = {name: open(tmp_path / f"{name}.log", "w") for name in ("manual", "nightly")}
    started = time.time()
    procs = {"nightly": subprocess.Popen(nightly, cwd=REPO, env={**env, "SLATE_EMBEDDED_PREFECT": "1"},
                                         stdout=logs["nightly"], stderr=subprocess.STDOUT, start_new_session=True)}
    try:
        while not _video_in_flight(film):
            assert procs["nightly"].poll() is None and time.time() - started < 300, \
                (tmp_path / "nightly.log").read_text()[-3000:]
            time.sleep(0.2)
        procs["manual"] = subprocess.Popen(manual, cwd=REPO, env={**env, "SLATE_TEST_TRACE": str(trace)},
                                           stdout=logs["manual"], stderr=subprocess.STDOUT, start_new_session=True)
        codes = {name: p.wait(timeout=600) for name, p in procs.items()}
    finally:
        for p in procs.values():
            if p.poll() is None:
                os.killpg(p.pid, 9)
        for f in logs.values():
            f.close()
    out = {name: (tmp_path / f"{name}.log").read_text() for name in procs}
    assert codes == {"manual": 0, "nightly": 0}, {k: v[-3000:] for k, v in out.items()}
    assert "state: Completed" in out["manual"] and "nightly state: Completed" in out["nightly"]

    ledger = Ledger.for_project(film)
    rows = ledger.rows(film="night-diner")
    reached = Counter(r.request_key for r in rows if r.status in ("submitted", "succeeded", "failed", "unknown"))
    storage = LocalStorage(film)
    books = {"panel": Counter(e["fingerprint"] for e in LocalImage(storage).submissions()),
             "video": Counter(e["fingerprint"] for e in LocalVideo(storage).submissions()),
             "judge": Counter(e["subject"] for e in
                              LocalJudge(film / ".slate" / "local-jobs" / "judgements.jsonl").judgements())}
    runs = Counter(r.run_id for r in rows if r.status == "succeeded")
    print(f"\noverlapping runs: both finished in {time.time() - started:.0f}s; paid rows by run {dict(runs)}; "
          f"most asked: ledger {max(reached.values())}, "
          + ", ".join(f"{k} {max(v.values())}" for k, v in books.items())
          + f"; spend ${ledger.totals(film='night-diner').committed}")
    waited = [json.loads(line) for line in trace.read_text().splitlines() if '"waiting"' in line or ':waiting"' in line]
    print(f"the manual run waited on {len(waited)} live call(s) of the nightly: {[w['point'] for w in waited]}")
    assert waited, "the manual run never met a live call of the nightly: the test did not test overlap"
    assert max(reached.values()) == 1
    assert all(max(book.values()) == 1 for book in books.values()), books
    assert len(books["video"]) == 3 and len(books["panel"]) == 3
    card = RateCard.load(film)
    clean = sum(card.price(PRICE_AS, Units("video", seconds=s["duration"], resolution="480p")) for s in doc["shots"])
    assert ledger.totals(film="night-diner").committed == clean
    assert not [r for r in rows if r.status in ("reserved", "submitted", "unknown")]
