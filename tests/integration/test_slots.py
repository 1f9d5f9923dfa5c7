"""Video slots (tasks/run/slots.py) on a real Prefect server: a slot kept by this process is handed
from one video job to the next without going back to the server, and the server's limit still
bounds the jobs in flight; a keeper that cannot get a slot fails the job that waited for it.

Counted where it lands: the jobs' own start and end times (no two overlap beyond the limit) and
the limit's active slots as the server reports them. How much sooner a handed-on slot starts the
next job is a figure of benchmarks/scale.py, not a timed test.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from slate.tasks.run import slots


def _jobs(provider: str, key: str, n: int, slots_per_key: int, hold: float, together: int = 1):
    """n jobs on one key. The first `together` to start wait (up to a minute) until that many are
    in flight before they hold: a second slot's acquire from a loaded server may outlast a whole
    batch a kept slot runs alone, and "the limit is used" must not depend on the machine's speed."""
    spans, errors = [], []
    lock, started, all_in = threading.Lock(), [0], threading.Event()

    def job():
        try:
            with slots.video_slot(provider, key, slots_per_key):
                start = time.monotonic()
                with lock:
                    started[0] += 1
                    if started[0] >= together:
                        all_in.set()
                all_in.wait(60)
                time.sleep(hold)
                spans.append((start, time.monotonic()))
        except Exception as exc:  # noqa: BLE001 — counted by the test
            errors.append(exc)

    threads = [threading.Thread(target=job) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return spans, errors


def _most_at_once(spans) -> int:
    edges = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans], key=lambda e: (e[0], e[1]))
    now = most = 0
    for _, step in edges:
        now += step
        most = max(most, now)
    return most


def _active(name: str) -> int:
    from prefect.client.orchestration import get_client
    with get_client(sync_client=True) as client:
        return client.read_global_concurrency_limit_by_name(name).active_slots


@pytest.mark.parametrize("limit", [1, 2])
def test_jobs_of_one_process_share_kept_slots_within_the_servers_limit(prefect_harness, limit):
    key = f"k{uuid.uuid4().hex[:8]}"
    spans, errors = _jobs("local", key, 8, limit, 0.2, together=limit)
    assert not errors and len(spans) == 8
    assert _most_at_once(spans) == limit   # never more than the server's limit, and all of it used
    assert _active(slots.slot_name("local", key)) == 0  # every kept slot went back to the server


def test_a_job_that_comes_alone_while_another_runs_takes_the_keys_second_slot(prefect_harness):
    """Two slots: one job is in flight when a second comes, alone. It starts at once on the second
    slot, not after the first job (the keeper serving the first must not be counted as room for
    it: a two-slot key then ran one job at a time whenever jobs came one by one)."""
    key = f"k{uuid.uuid4().hex[:8]}"
    running = threading.Event()
    spans = {}

    def job(name: str, hold: float):
        with slots.video_slot("local", key, 2):
            start = time.monotonic()
            running.set()
            time.sleep(hold)
            spans[name] = (start, time.monotonic())

    first = threading.Thread(target=job, args=("first", 4.0))
    first.start()
    assert running.wait(60)
    second = threading.Thread(target=job, args=("second", 0.1))
    second.start()
    first.join(60)
    second.join(60)
    assert spans["second"][0] < spans["first"][1], spans   # it ran while the first was in flight
    assert _active(slots.slot_name("local", key)) == 0


def test_a_keeper_that_cannot_get_a_slot_fails_the_job_that_waited(prefect_harness):
    from prefect.client.orchestration import get_client
    key = f"k{uuid.uuid4().hex[:8]}"
    name = slots.slot_name("local", key)
    slots.ensure_limit(name, 1)
    with get_client(sync_client=True) as client:
        client.delete_global_concurrency_limit_by_name(name)  # strict: no limit, no unthrottled job
    spans, errors = _jobs("local", key, 2, 1, 0.05)
    assert spans == [] and len(errors) == 2, (spans, errors)


def test_a_job_that_gives_up_waiting_leaves_no_slot_held_for_it(prefect_harness, monkeypatch):
    """One job holds the key's only slot; another stops waiting for it (its time limit). The
    slot is not kept for the job that left: after the first ends, a third job gets it, and the
    server's count is back to 0 when all are done."""
    key = f"k{uuid.uuid4().hex[:8]}"
    name = slots.slot_name("local", key)
    monkeypatch.setattr(slots, "SLOT_WAIT_SECONDS", 0.5)
    holding, decided = threading.Event(), threading.Event()
    outcome = {}

    def first():
        # Held until the other has its answer (not for a fixed time a loaded machine may outlast).
        with slots.video_slot("local", key, 1):
            holding.set()
            decided.wait(60)

    def impatient():
        # Not a fixed wait: on a loaded machine the first job's slot once took over 30 s to come.
        if not holding.wait(180):
            outcome["impatient"] = "the first job never held its slot"
            decided.set()
            return
        try:
            with slots.video_slot("local", key, 1):
                outcome["impatient"] = "ran"
        except TimeoutError:
            outcome["impatient"] = "gave up"
        finally:
            decided.set()

    threads = [threading.Thread(target=first), threading.Thread(target=impatient)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(240)
    assert outcome == {"impatient": "gave up"}
    monkeypatch.setattr(slots, "SLOT_WAIT_SECONDS", 30)
    spans, errors = _jobs("local", key, 1, 1, 0.05)
    assert not errors and len(spans) == 1
    assert _active(name) == 0




def test_the_wait_line_says_who_holds_the_slot():
    """Issue 56: a job waiting for a slot said "a slot of a run that died is given back within 75 s"
    whoever held it — the slot free (the server slow to grant it) or held by this run's own
    earlier clip. Each situation now has its own words."""
    mine = slots.wait_words((1, 1), ours=1)
    assert "this run's own earlier clip" in mine and "died" not in mine, mine
    other = slots.wait_words((1, 1), ours=0)
    assert "by another run" in other and "gives it back within" in other, other
    free = slots.wait_words((0, 1), ours=0)
    assert "a slot is free" in free and "died" not in free, free
    assert "did not say" in slots.wait_words(None, ours=0)


def test_a_job_waiting_behind_its_own_runs_clip_is_told_so(prefect_harness, monkeypatch):
    """On a real server: one slot, this process's first job holding it; the second job's wait line
    names this run's own clip, not a run that died."""
    monkeypatch.setattr(slots, "NOTICE_SECONDS", 0.5)
    key = f"k{uuid.uuid4().hex[:8]}"
    holding, said = threading.Event(), []

    def first():
        with slots.video_slot("local", key, 1):
            holding.set()
            time.sleep(3.0)
    t = threading.Thread(target=first)
    t.start()
    assert holding.wait(60)
    with slots.video_slot("local", key, 1, say=said.append):
        pass
    t.join(60)
    assert said and "1 of 1 taken, by this run's own earlier clip" in said[0], said
