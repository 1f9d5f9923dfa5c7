"""The studio's S3 server comes up although the port it was given is taken before it binds it.

A free port is only free when asked: any process's outgoing connection may take it before weed
binds it, and weed binds eight (four and their gRPC twins at +10000). CI lost a whole module of
tests once to an S3 API port that was another of weed's own twins. These start a real weed."""
from __future__ import annotations

import socket

import boto3
import pytest

from slate import stack as film_stack
from slate import studio

pytestmark = pytest.mark.e2e   # it starts a real weed: not in make test-fast


def test_no_port_the_s3_server_is_given_is_another_ones_grpc_twin(monkeypatch):
    # The OS hands out 37221 and then 47221: the second is the first's twin, so it is passed over.
    handed = iter([37221, 47221, 30001, 30002, 30003] + list(range(30004, 30100)))
    monkeypatch.setattr(film_stack, "free_port", lambda: next(handed))
    ports = studio._s3_ports(("-master.port", "-volume.port", "-filer.port", "-s3.port"))
    everything = [p for port in ports.values() for p in (port, port + 10000)]
    assert len(set(everything)) == 8, ports
    assert 47221 not in ports.values()


def test_an_s3_server_whose_port_was_taken_is_started_again_on_new_ports(tmp_path, monkeypatch):
    project = tmp_path / "film"
    folder = film_stack.stack_dir(project)
    folder.mkdir(parents=True)
    identity = studio._identity(folder)
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    held = taken.getsockname()[1]
    real = studio._s3_ports
    calls = []

    def first_taken(flags):
        ports = real(flags)
        if not calls:   # the first start's S3 API port is held by someone else, as in CI
            ports["-s3.port"] = held
        calls.append(ports)
        return ports
    monkeypatch.setattr(studio, "_s3_ports", first_taken)
    one = studio.Studio(film="f", pool="p", bucket="b")
    try:
        studio._start_s3(project, one, identity)
        studio._wait(one, folder, restart={"s3": lambda: studio._start_s3(project, one, identity)}, roles=("s3",))
        assert len(calls) == 2 and one.s3_endpoint.endswith(f":{calls[1]['-s3.port']}")
        assert studio.PORT_TAKEN in (folder / "s3.log.port-taken").read_text()
        s3 = boto3.client("s3", endpoint_url=one.s3_endpoint, region_name=studio.REGION,
                          aws_access_key_id=identity["AWS_ACCESS_KEY_ID"],
                          aws_secret_access_key=identity["AWS_SECRET_ACCESS_KEY"])
        s3.create_bucket(Bucket="after-a-taken-port")
        assert "after-a-taken-port" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    finally:
        taken.close()
        if "s3" in one.pids:
            film_stack.stop(one.pids["s3"], grace=0)   # nothing to save: not weed's 25 s on SIGTERM
