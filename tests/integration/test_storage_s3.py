"""The storage contract on a real S3 server (SeaweedFS, started here) and on the local folder.

Every contract test runs against both backends: a round trip, a put of existing content that
sends nothing, listing by prefix (and the roster of approved references, read from the bucket
exactly as from the folder), the hash check on get, a missing key, a refused identity, and an
object over the size limit refused before upload. Effects are counted where they land: the
bucket's listing, the files of the folder, and what a read-only identity is allowed to do.
"""
from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from slate.providers.storage import film_files, push_film, storage_for
from slate.providers.storage_errors import ObjectCorrupt, ObjectMissing, ObjectTooBig, StorageDenied
from slate.providers.storage_local import LocalStorage
from slate.providers.storage_s3 import S3Storage
from tests.s3_server import READER, WRITER, S3Server
from tests.scene_cuts import keep_shots

# One worker starts the SeaweedFS server (3.4 s) and pays its first write (some 5 s, growing a
# volume), instead of every worker that draws one of these tests.
pytestmark = pytest.mark.xdist_group("s3")

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    server = S3Server.start(tmp_path_factory.mktemp("seaweedfs"))
    try:
        yield server
    finally:
        server.stop()


class Backend:
    """One backend under test: makes stores on working folders, and reaches behind them."""

    def __init__(self, kind: str, server: S3Server | None, bucket: str | None):
        self.kind, self.server, self.bucket = kind, server, bucket
        self.first_root: Path | None = None

    def store(self, root: Path, identity=WRITER, max_object_bytes: int = 2 << 30):
        root.mkdir(parents=True, exist_ok=True)
        if self.kind == "local":
            # the folder is the store: every "worker" of the local backend shares one folder
            self.first_root = self.first_root or root
            return LocalStorage(self.first_root, max_object_bytes=max_object_bytes)
        client = self.server.client(identity)
        return S3Storage(root, bucket=self.bucket, prefix="studio/a", film="night-diner",
                         endpoint_url=self.server.endpoint, client=client, max_object_bytes=max_object_bytes)

    def artifact_count(self) -> int:
        if self.kind == "local":
            return len([p for p in (self.first_root / ".slate" / "artifacts").rglob("*") if p.is_file()]) \
                if self.first_root else 0
        return len(self.server.keys(self.bucket, "studio/a/artifacts/"))

    def corrupt(self, store, uri: str, data: bytes) -> None:
        if self.kind == "local":
            store.open_local(uri).write_bytes(data)
        else:
            self.server.client().put_object(Bucket=self.bucket, Key=store.artifact_object(uri), Body=data)

    def put_named(self, store, key: str, data: bytes, scratch: Path) -> None:
        if self.kind == "local":
            (store.root / key).parent.mkdir(parents=True, exist_ok=True)
            (store.root / key).write_bytes(data)
        else:
            f = scratch / "upload"
            f.write_bytes(data)
            store.put_key_file(key, f)


@pytest.fixture(params=["local", "s3"])
def backend(request, tmp_path):
    if request.param == "local":
        return Backend("local", None, None)
    server = request.getfixturevalue("s3_server")
    return Backend("s3", server, server.bucket())


# -- the contract, both backends ------------------------------------------------------------------

def test_put_and_get_round_trip_from_another_worker(backend, tmp_path):
    a = backend.store(tmp_path / "a")
    uri = a.put_bytes(PNG, "png")
    assert uri == f"cas://{hashlib.sha256(PNG).hexdigest()}.png"
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"not really a clip " * 1000)
    clip_uri = a.put_file(clip, "mp4")
    b = backend.store(tmp_path / "b")   # a second worker: nothing of a's working folder
    assert b.exists(uri) and b.exists(clip_uri)
    assert b.get_bytes(uri) == PNG
    assert b.open_local(clip_uri).read_bytes() == clip.read_bytes()
    assert backend.artifact_count() == 2


def test_a_put_of_content_already_stored_sends_nothing(backend, tmp_path):
    a = backend.store(tmp_path / "a")
    uri = a.put_bytes(PNG, "png")
    before = backend.artifact_count()
    if backend.kind == "s3":
        # A read-only identity may put what is there (nothing is sent) but not anything new:
        # the server itself says no upload happened.
        reader = backend.store(tmp_path / "r", identity=READER)
        assert reader.put_bytes(PNG, "png") == uri
        with pytest.raises(StorageDenied):
            reader.put_bytes(PNG + b"new", "png")
    else:
        path = a.open_local(uri)
        stamp = (path.stat().st_ino, path.stat().st_mtime_ns)
        assert a.put_bytes(PNG, "png") == uri
        assert (path.stat().st_ino, path.stat().st_mtime_ns) == stamp
    assert a.put_bytes(PNG, "png") == uri
    assert backend.artifact_count() == before == 1


def _identity_lut(size: int, note: str) -> str:
    """A real .cube LUT (identity, `size`³ rows), told apart by its title."""
    steps = [i / (size - 1) for i in range(size)]
    rows = [f"{r:.6f} {g:.6f} {b:.6f}" for b in steps for g in steps for r in steps]
    return f'TITLE "{note}"\nLUT_3D_SIZE {size}\n' + "\n".join(rows) + "\n"


def test_scenes_storing_the_same_new_file_at_once_all_get_it_whole(backend, tmp_path):
    """A re-finish after a LUT change: every scene of the film, in threads of one run, stores the
    new LUT at the same moment (tasks/assembly.finishing_inputs). Each put must return its URI and
    leave one whole file named by its content — not a writer's temporary file renamed away under
    another (the 62-shot re-finish's Failed: FileNotFoundError on '.<sha>.cube.part', which a
    write slowed as under load brings back every time)."""
    import threading

    store = backend.store(tmp_path / "a")
    scenes = 4
    for attempt in range(12):   # a few rounds: the writers must meet inside one write's window
        lut = tmp_path / f"grade-{attempt}.cube"
        lut.write_text(_identity_lut(17, f"night diner, grade {attempt}"))
        start, got = threading.Barrier(scenes), []

        def scene() -> None:
            start.wait()
            try:
                got.append(store.put_file(lut, "cube"))
            except Exception as exc:  # noqa: BLE001 - the failure is what this test counts
                got.append(exc)

        threads = [threading.Thread(target=scene) for _ in range(scenes)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        uri = f"cas://{hashlib.sha256(lut.read_bytes()).hexdigest()}.cube"
        assert got == [uri] * scenes, (attempt, got)
        kept = store.open_local(uri)
        assert hashlib.sha256(kept.read_bytes()).hexdigest() == uri[6:-5], attempt   # whole, not torn
    # Where the files land: no writer's temporary file left beside them.
    left = [p for p in (tmp_path / "a").rglob("*.part")]
    assert not left, left


def test_list_by_prefix_and_the_roster_of_approved_references(backend, tmp_path, example_film):
    from slate.tasks.gates.references import _approved
    store = backend.store(tmp_path / "w")
    for key in film_files(example_film):
        if key.startswith(("characters/", "locations/")):
            backend.put_named(store, key, (example_film / key).read_bytes(), tmp_path)
    backend.put_named(store, "characters/.hidden/x.png", PNG, tmp_path)
    folder = LocalStorage(example_film)
    assert store.list_keys("characters/") == folder.list_keys("characters/")
    assert store.list_keys("characters/mia/") == ["characters/mia/mia_turnaround_APPROVED.png"]
    assert store.list_keys("nothing/") == []
    assert _approved(store, "character") == _approved(folder, "character")
    assert len(_approved(store, "character")) >= 3
    assert _approved(store, "location") == _approved(folder, "location")


def test_get_refuses_bytes_that_do_not_match_their_hash(backend, tmp_path):
    a = backend.store(tmp_path / "a")
    uri = a.put_bytes(PNG, "png")
    backend.corrupt(a, uri, PNG[:-1] + b"\x00")
    reader = backend.store(tmp_path / "b")   # a worker that has not seen the good bytes
    with pytest.raises(ObjectCorrupt, match=uri.split("//")[1][:12]):
        reader.get_bytes(uri)
    if backend.kind == "s3":
        assert not (reader.artifacts / uri[6:8]).exists() or not any((reader.artifacts / uri[6:8]).iterdir())


def test_a_missing_key_or_artifact_is_an_error_naming_it(backend, tmp_path):
    store = backend.store(tmp_path / "a")
    with pytest.raises(ObjectMissing, match="characters/nobody/nobody_turnaround_APPROVED.png"):
        store.read_key("characters/nobody/nobody_turnaround_APPROVED.png")
    assert store.key_size("characters/nobody/nobody_turnaround_APPROVED.png") is None
    ghost = "cas://" + "ab" * 32 + ".png"
    assert not store.exists(ghost)
    with pytest.raises(FileNotFoundError, match=ghost):
        store.get_bytes(ghost)


def test_an_object_over_the_limit_is_refused_before_upload(backend, tmp_path):
    store = backend.store(tmp_path / "a", max_object_bytes=1024)
    with pytest.raises(ObjectTooBig, match="1,025 bytes, over the 1,024 byte limit"):
        store.put_bytes(b"x" * 1025, "bin")
    big = tmp_path / "big.mp4"
    big.write_bytes(b"y" * 4096)
    with pytest.raises(ObjectTooBig, match="4,096 bytes"):
        store.put_file(big, "mp4")
    assert backend.artifact_count() == 0
    assert store.put_bytes(b"x" * 1024, "bin")   # at the limit is fine


# -- the bucket only ------------------------------------------------------------------------------

@pytest.mark.parametrize("identity", [READER, (WRITER[0], "a-wrong-secret-1234")], ids=["read-only", "wrong-secret"])
def test_a_refused_identity_is_a_clear_error_without_the_secret(s3_server, tmp_path, identity):
    bucket = s3_server.bucket()
    store = S3Storage(tmp_path, bucket=bucket, prefix="p", film="f", client=s3_server.client(identity),
                      endpoint_url=s3_server.endpoint)
    with pytest.raises(StorageDenied) as caught:
        store.put_bytes(PNG, "png")
    text = str(caught.value)
    assert "refused the identity" in text and f"s3://{bucket}/p/" in text and "AWS_ACCESS_KEY_ID" in text
    for secret in (identity[1], WRITER[1], READER[1], identity[0]):
        assert secret not in text and secret not in repr(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert s3_server.keys(bucket) == []


def test_credentials_come_from_the_environment_and_settings_name_the_bucket(s3_server, tmp_path, example_film,
                                                                            monkeypatch):
    bucket = s3_server.bucket()
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    (example_film / "slate.toml").write_text(f'[storage]\nbackend = "s3"\nbucket = "{bucket}"\nprefix = "/studio/"\n')
    store = storage_for(example_film)
    assert isinstance(store, S3Storage) and store.prefix == "studio/" and store.film == "night-diner"
    uri = store.put_bytes(PNG, "png")
    assert s3_server.keys(bucket) == [f"studio/artifacts/{uri[6:8]}/{uri[6:]}"]

    from slate.manifests.settings import check_settings
    (example_film / "slate.toml").write_text(f'[storage]\nbackend = "s3"\nbucket = "{bucket}"\n'
                                             'secret_access_key = "abc"\n')
    settings, problems = check_settings(example_film)
    assert settings is None and any(p.file == "slate.toml" and "storage" in p.field for p in problems), problems
    (example_film / "slate.toml").write_text('[storage]\nbackend = "s3"\n')
    _, problems = check_settings(example_film)
    assert any("needs a bucket" in p.message for p in problems), problems


def test_push_sends_the_film_once_and_a_pushed_file_is_checked_on_read(s3_server, tmp_path, example_film):
    bucket = s3_server.bucket()
    (example_film / "renders").mkdir()
    (example_film / "renders" / "old.mp4").write_bytes(b"made by slate")
    (example_film / "STOP").write_text("")
    store = S3Storage(example_film, bucket=bucket, film="night-diner", client=s3_server.client(),
                      endpoint_url=s3_server.endpoint)
    first = push_film(example_film, store)
    on_bucket = s3_server.keys(bucket, "films/night-diner/")
    assert sorted(first.sent) == [k[len("films/night-diner/"):] for k in on_bucket] == film_files(example_film)
    assert not any(k.endswith(("STOP", "old.mp4")) or "/.slate/" in k for k in on_bucket)
    again = push_film(example_film, store)
    assert again.sent == [] and len(again.unchanged) == len(first.sent)
    # a pushed reference damaged in the bucket is refused, naming it
    key = "characters/mia/mia_turnaround_APPROVED.png"
    s3_server.client().copy_object(Bucket=bucket, Key=f"films/night-diner/{key}", MetadataDirective="REPLACE",
                                   CopySource={"Bucket": bucket, "Key": f"films/night-diner/{key}"},
                                   Metadata={"sha256": "0" * 64})
    with pytest.raises(ObjectCorrupt, match=key):
        store.read_key(key)


# -- a film pushed once, run by two workers that share nothing but the services -------------------


def test_push_without_a_bucket_and_a_bad_bucket_address_are_refused_before_anything_moves(example_film, tmp_path):
    from typer.testing import CliRunner

    from slate.providers.storage import parse_film_url
    from slate.cli import app
    done = CliRunner().invoke(app, ["push", str(example_film)])
    assert done.exit_code == 2 and 'backend = "s3"' in done.output
    done = CliRunner().invoke(app, ["run", str(tmp_path / "w"), "--from-bucket", "s3://films/night-diner"])
    assert done.exit_code == 2 and "is not s3://BUCKET[/PREFIX]/films/FILM_ID" in done.output
    assert not (tmp_path / "w").exists()
    where = parse_film_url("s3://my-films/studio/a/films/night-diner/")
    assert (where.bucket, where.prefix, where.film) == ("my-films", "studio/a", "night-diner")
    assert parse_film_url("s3://my-films/films/night-diner").prefix == ""
    assert parse_film_url("s3://my-films/films/../etc") is None
