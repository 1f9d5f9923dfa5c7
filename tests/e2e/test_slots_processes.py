"""Two processes with a one-slot key never have two video jobs in flight (counted on the Prefect server they share)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from slate.tasks.run import slots

from tests.integration.test_slots import _active, _most_at_once


# One scene's video jobs as a worker runs them: Prefect tasks of a flow, in a process of its own.
SCENE_PROCESS = """
import json, sys, time
from prefect import flow, task
from prefect.task_runners import ThreadPoolTaskRunner
from slate.tasks.run.slots import video_slot

key, jobs, hold, out = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
spans = []

@task
def clip(i):
    with video_slot("local", key, 1):
        start = time.time()
        time.sleep(hold)
        spans.append((start, time.time()))

@flow(task_runner=ThreadPoolTaskRunner(max_workers=jobs))
def scene():
    for f in [clip.submit(i) for i in range(jobs)]:
        f.result()

scene()
open(out, "w").write(json.dumps(spans))
"""


def test_two_processes_with_a_one_slot_key_never_have_two_jobs_in_flight(prefect_harness, tmp_path):
    """Two scene processes on one server, each with its video jobs as task runs. A task run that
    ends gives back the leases taken in its context: the keeper's lease must not be one of them,
    or the server counts the slot free while the keeper still serves jobs (seen on the studio:
    2 jobs in flight on a 1-slot key)."""
    from prefect.settings import PREFECT_API_URL
    key = f"k{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "PREFECT_LOGGING_LEVEL": "WARNING",
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    env.pop("SLATE_EMBEDDED_PREFECT", None)
    outs = [tmp_path / f"spans-{n}.json" for n in "ab"]
    procs = [subprocess.Popen([sys.executable, "-c", SCENE_PROCESS, key, "3", "1.5", str(out)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for out in outs]
    logs = [p.communicate(timeout=240)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [log[-2000:] for log in logs]
    spans = [tuple(s) for out in outs for s in json.loads(out.read_text())]
    assert len(spans) == 6
    assert _most_at_once(spans) == 1, sorted(spans)
    assert _active(slots.slot_name("local", key)) == 0
