"""The bible lock of a run: each scene's references locked by content hash, written down.

`check_references` is the scene run's reference check (a Prefect task, shown in the run's
graph): tasks/gates/references.py reads and judges each reference and locks its hash, stored in
content-addressed storage; here the lock is written to `.slate/bible.lock.<scene>.json` and a
reference changed since the last run is named in the run's log.

It must never substitute or fetch a reference (tasks/gates/references.py refuses a missing one), and
never be imported on the reel's path: it is the Prefect half of the reference check.
"""
from __future__ import annotations

import json

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from slate.manifests import LoadedFilm
from slate.providers.storage_local import write_atomic
from slate.tasks.run.run import Run
from slate.tasks.gates.references import BibleLock, lock_scene_references


def write_lock(run: Run, lock: BibleLock) -> list[str]:
    """Record the lock and say which references changed since the last run."""
    path = run.crew.root / ".slate" / f"bible.lock.{run.scene}.json"
    changed = []
    if path.is_file():
        old = json.loads(path.read_text())
        for group in ("characters", "locations"):
            for ident, ref in getattr(lock, group).items():
                prev = old.get(group, {}).get(ident)
                if prev and prev["sha256"] != ref.sha256:
                    changed.append(f"{ref.key} changed ({prev['sha256'][:12]} → {ref.sha256[:12]}): "
                                   "shots built on it will be made again")
    write_atomic(path, lock.model_dump_json(indent=2).encode())
    return changed


@task(name="reference-check", cache_policy=NO_CACHE)
def check_references(run: Run, film: LoadedFilm) -> BibleLock:
    lock = lock_scene_references(run.crew.storage, film, run.scene)
    for note in write_lock(run, lock):
        get_run_logger().warning(note)
    return lock
