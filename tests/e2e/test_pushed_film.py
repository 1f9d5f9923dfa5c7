"""A film pushed to a real S3 server (SeaweedFS) runs on two workers, and the second pays nothing."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
import pytest
from slate.providers.storage import film_files
from tests.scene_cuts import keep_shots, without_finishing

from tests.integration.test_storage_s3 import s3_server


def _slate(*args: str, env: dict, cwd: Path) -> str:
    done = subprocess.run([sys.executable, "-m", "slate.cli", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, f"slate {' '.join(args)}: {done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


#: run names of the stage tasks keyed by content (tasks/run/cache.py ContentKey; their task_run_name)
STAGE_RUN = re.compile(r"^(panel \S+ (start|end) take \d+|panel gate .*|video \S+ take \d+|keyframe gate .*|"
                       r"stitch .*|continuity .*|reference .*|drift check .*)$")


def _stage_runs() -> dict[str, str]:
    """Every content-keyed stage task run on the Prefect server: id -> state name."""
    from prefect.client.orchestration import get_client
    runs = []
    with get_client(sync_client=True) as client:
        while True:   # the server hands out at most 200 a page
            page = client.read_task_runs(limit=200, offset=len(runs))
            runs += page
            if len(page) < 200:
                break
    return {str(r.id): r.state.name for r in runs if r.state and STAGE_RUN.match(r.name)}


@pytest.mark.e2e
@pytest.mark.postgres
def test_a_pushed_film_runs_on_two_workers_and_the_second_pays_nothing(s3_server, example_film, tmp_path,
                                                                      prefect_harness):
    """`slate push` once; then two worker processes, each in its own empty folder, given only the
    bucket's address (and the services' environment: bucket identity, Prefect server, Postgres
    ledger) run the film. The first renders it; the second finds every take in the bucket's
    task results: 0 new ledger rows, 0 new results, the same cut."""
    from prefect.settings import get_current_settings

    from slate.governor.ledger import Ledger
    from tests.postgres_db import pg_database

    keep_shots(example_film)
    without_finishing(example_film)
    bucket = s3_server.bucket()
    with open(example_film / "slate.toml", "a") as f:
        f.write(f'\n[storage]\nbackend = "s3"\nbucket = "{bucket}"\nprefix = "studio"\n')
    with pg_database() as ledger_url:
        env = {**os.environ, **s3_server.env(), "SLATE_PAID_CALLS_ALLOWED": "local", "SLATE_LEDGER_URL": ledger_url,
               "PREFECT_API_URL": str(get_current_settings().api.url)}
        pushed = _slate("push", str(example_film), env=env, cwd=tmp_path)
        on_bucket = s3_server.keys(bucket, "studio/films/night-diner/")
        assert f"{len(on_bucket)} uploaded, 0 unchanged" in pushed and len(on_bucket) == len(film_files(example_film))
        assert f"0 uploaded, {len(on_bucket)} unchanged" in _slate("push", str(example_film), env=env, cwd=tmp_path)

        url = f"s3://{bucket}/studio/films/night-diner"
        # The session's Prefect server also holds other tests' task runs (some fail on purpose):
        # only the runs this test makes count.
        before = set(_stage_runs())
        first = _slate("run", str(tmp_path / "worker-a"), "--from-bucket", url, env=env, cwd=tmp_path)
        assert "state: Completed" in first and f"{len(on_bucket)} downloaded" in first, first
        with Ledger(ledger_url) as ledger:
            paid = len(ledger.rows(film="night-diner"))
        assert paid >= 2 * 4   # panel, panel gate, video, keyframe gate per shot at least
        results = s3_server.keys(bucket, "studio/results/")
        artifacts = s3_server.keys(bucket, "studio/artifacts/")
        assert results and artifacts
        cut_a = (tmp_path / "worker-a" / "renders" / "scene-01-draft.mp4").read_bytes()
        in_bucket = s3_server.client().get_object(
            Bucket=bucket, Key="studio/films/night-diner/renders/scene-01-draft.mp4")["Body"].read()
        assert in_bucket == cut_a

        made = {k: v for k, v in _stage_runs().items() if k not in before}
        assert "Completed" in made.values() and set(made.values()) <= {"Completed", "Cached"}, made

        second = _slate("run", str(tmp_path / "worker-b"), "--from-bucket", url, env=env, cwd=tmp_path)
        # Worker b's folder never saw the scene, yet the scene is in the can that worker a left
        # in the bucket (its cut and contact sheet by content): read from the Prefect server
        # both workers share, b ran no stage task at all — not even a cache hit (the ledger
        # alone would also keep b from paying again; this shows nothing was made again).
        ran = {k: v for k, v in _stage_runs().items() if k not in made and k not in before}
        assert ran == {}, ran
        assert (tmp_path / "worker-b" / "renders" / "scene-01-draft-contact.png").is_file()
        assert "state: Completed" in second and "provider calls made: 0" in second, second
        with Ledger(ledger_url) as ledger:
            assert len(ledger.rows(film="night-diner")) == paid
        # No new content-keyed result (a run's own records, named by random ids, are not cache
        # entries).
        content_keyed = lambda keys: {k for k in keys if re.fullmatch(r"studio/results/[0-9a-f]{64}", k)}  # noqa: E731
        new = content_keyed(s3_server.keys(bucket, "studio/results/")) - content_keyed(results)
        assert not new, [s3_server.client().get_object(Bucket=bucket, Key=k)["Body"].read()[:1500] for k in new]
        assert s3_server.keys(bucket, "studio/artifacts/") == artifacts
        b = tmp_path / "worker-b"
        assert (b / "renders" / "scene-01-draft.mp4").read_bytes() == cut_a
        assert not (b / ".slate" / "results").exists() and not (b / ".slate" / "local-jobs").exists()
