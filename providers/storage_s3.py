"""S3 storage: the film's keys and slate's content-addressed artifacts in a bucket, with boto3.

The same Protocol and the same names as the local folder (providers/storage_local.py): an
artifact is `cas://<sha256>.<ext>`, a film's file is its project key. In the bucket:

    <prefix>artifacts/<aa>/<sha256>.<ext>    what slate makes (and the references it locked)
    <prefix>films/<film id>/<key>            a film pushed by `slate push` (manifests, bible)
    <prefix>results/<cache key>              Prefect task results (tasks/run/cache.py)

Any S3-compatible store works (AWS, Cloudflare R2, MinIO, SeaweedFS): the endpoint URL and the
region are settings, the identity comes from the environment (AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY, or a profile) the way boto3 finds it, never from slate's settings.

A put is idempotent by content: the object is looked up (HEAD) first and content already there
is not sent again. A get checks the bytes against their hash (the artifact's name, or the
`sha256` metadata `slate push` writes) and refuses anything else. Artifacts are also kept in
the working folder (`.slate/artifacts`, the same layout as the local backend), so a clip is
downloaded once per machine; the bucket stays the truth (`exists` asks it).

It must never put a credential into a message, a log line or a parameter (errors are rebuilt
from the S3 error code, the bucket and the key only), never upload an object over the size
limit, and never hand out bytes that failed their hash check.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from slate.manifests.keys import check_key
from slate.providers.storage_errors import (ObjectCorrupt, ObjectMissing, ObjectTooBig, StorageDenied, StorageError,
                                            StorageUnreachable)
from slate.providers.storage_local import (FILE_MODE, KeyUnreadable, cas_uri, copy_atomic, file_sha256, temp_beside,
                                          uri_digest, write_atomic)

DEFAULT_MAX_OBJECT_BYTES = 2 << 30   # 2 GiB: a 4K master of a long scene; anything bigger is a mistake
SHA_META = "sha256"                  # x-amz-meta-sha256: the content hash of a pushed file
_MISSING = {"404", "NoSuchKey", "NotFound"}
_DENIED = {"AccessDenied", "SignatureDoesNotMatch", "InvalidAccessKeyId", "ExpiredToken", "InvalidToken",
           "AllAccessDisabled", "AccountProblem", "403", "401"}
_CHUNK = 1 << 20


def normalise_prefix(prefix: str) -> str:
    """"" or "a/b/": a prefix is a folder of the bucket, never a key's half."""
    prefix = (prefix or "").strip("/")
    if not prefix:
        return ""
    check_key(prefix)
    return prefix + "/"


class S3Pages(Protocol):
    def paginate(self, *, Bucket: str, Prefix: str) -> Iterable[dict[str, Any]]: ...


class S3Client(Protocol):
    """What slate asks of a boto3 S3 client (boto3 ships no types: this is the surface relied on).
    Its answers are S3's JSON, read here at the edge."""

    def head_object(self, *, Bucket: str, Key: str) -> dict[str, Any]: ...

    def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]: ...

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, Metadata: dict[str, str] = ...) -> dict[str, Any]: ...

    def upload_file(self, Filename: str, Bucket: str, Key: str, ExtraArgs: dict[str, Any] | None = None) -> None: ...

    def get_paginator(self, operation_name: str) -> S3Pages: ...

    def close(self) -> None: ...


def s3_client(*, endpoint_url: str | None = None, region: str | None = None, profile: str | None = None) -> S3Client:
    """A boto3 S3 client for one store. The identity is boto3's own chain (environment,
    profile, instance role); path-style addressing where an endpoint is given (MinIO,
    SeaweedFS and R2 all take it, and it needs no DNS per bucket)."""
    import boto3
    from botocore.config import Config
    session = boto3.session.Session(profile_name=profile) if profile else boto3.session.Session()
    custom = endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    config = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=10, read_timeout=60,
                    s3={"addressing_style": "path"} if custom else {})
    client: S3Client = session.client("s3", endpoint_url=endpoint_url or None, region_name=region or None,
                                      config=config)
    return client


class S3Storage:
    name = "s3"

    def __init__(self, root: Path, *, bucket: str, film: str, prefix: str = "", endpoint_url: str | None = None,
                 region: str | None = None, profile: str | None = None,
                 max_object_bytes: int = DEFAULT_MAX_OBJECT_BYTES, client: S3Client | None = None):
        self.root = Path(root).resolve()
        self.artifacts = self.root / ".slate" / "artifacts"   # this machine's copy, same layout as local
        self.bucket = bucket
        self.prefix = normalise_prefix(prefix)
        self.film = film
        self.endpoint_url = endpoint_url
        self.max_object_bytes = max_object_bytes
        self._own_client = client is None
        self.client = client or s3_client(endpoint_url=endpoint_url, region=region, profile=profile)

    def close(self) -> None:
        """Close the client this store made (its pooled connections); one handed in is its giver's."""
        if self._own_client:
            self.client.close()

    def __repr__(self) -> str:
        return f"S3Storage(s3://{self.bucket}/{self.prefix}, film={self.film!r})"

    # -- where things are in the bucket ------------------------------------------------------
    @property
    def film_prefix(self) -> str:
        return f"{self.prefix}films/{self.film}/"

    def film_object(self, key: str) -> str:
        return self.film_prefix + check_key(key)

    def artifact_object(self, uri: str) -> str:
        digest = uri_digest(uri)
        return f"{self.prefix}artifacts/{digest[:2]}/{digest}.{uri.rsplit('.', 1)[1]}"

    def url(self, name: str = "") -> str:
        return f"s3://{self.bucket}/{name}"

    # -- the edge: every boto3 error becomes one of ours ------------------------------------------
    @contextmanager
    def _edge(self, what: str) -> Iterator[None]:
        """Translate S3 errors about `what` (a key or a URI). Messages are rebuilt from the
        error code: some stores echo the access key id in their error body, and it never
        leaves here (`from None` drops the original, whose text we do not control)."""
        from botocore.exceptions import (BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError,
                                         PartialCredentialsError)
        try:
            yield
        except ClientError as exc:
            err = exc.response.get("Error", {})
            code = str(err.get("Code", ""))
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            where = self.url(self.prefix)
            if code in _MISSING:
                raise ObjectMissing(f"{what} not found in {where}") from None
            if code == "NoSuchBucket":
                raise ObjectMissing(f"{what}: bucket {self.bucket!r} does not exist") from None
            if code in _DENIED or status in (401, 403):
                raise StorageDenied(f"{what}: {where} refused the identity slate used ({code or status}); check "
                                    "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE, and that it may read "
                                    "and write this bucket") from None
            raise StorageError(f"{what}: {where} answered {code or 'an error'} (HTTP {status})") from None
        except (NoCredentialsError, PartialCredentialsError):
            raise StorageDenied(f"{what}: no credentials for {self.url(self.prefix)}: set AWS_ACCESS_KEY_ID and "
                                "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)") from None
        except EndpointConnectionError:
            raise StorageUnreachable(f"{what}: cannot reach {self.endpoint_url or 'S3'}") from None
        except BotoCoreError as exc:
            raise StorageError(f"{what}: {type(exc).__name__} talking to {self.url(self.prefix)}") from None

    def _head(self, name: str, what: str) -> dict[str, Any] | None:
        """The object's HEAD, or None when nothing is there."""
        try:
            with self._edge(what):
                return self.client.head_object(Bucket=self.bucket, Key=name)
        except ObjectMissing:
            return None

    def _refuse_big(self, size: int, what: str) -> None:
        if size > self.max_object_bytes:
            raise ObjectTooBig(f"{what} is {size:,} bytes, over the {self.max_object_bytes:,} byte limit of "
                               f"{self.url(self.prefix)} (storage.max_object_bytes): not uploaded")

    def _put(self, name: str, data: bytes, digest: str, what: str) -> None:
        with self._edge(what):
            self.client.put_object(Bucket=self.bucket, Key=name, Body=data, Metadata={SHA_META: digest})

    def _put_path(self, name: str, path: Path, digest: str, what: str) -> None:
        with self._edge(what):
            self.client.upload_file(str(path), self.bucket, name, ExtraArgs={"Metadata": {SHA_META: digest}})

    def _download(self, name: str, dest: Path, what: str) -> tuple[str, str]:
        """Stream the object to a temporary file beside `dest`; return (its sha256, the temporary
        file), for the caller to rename into place once the hash is what it should be."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = temp_beside(dest)
        h = hashlib.sha256()
        try:
            with os.fdopen(fd, "wb") as out, self._edge(what):
                body = self.client.get_object(Bucket=self.bucket, Key=name)["Body"]
                for block in iter(lambda: body.read(_CHUNK), b""):
                    h.update(block)
                    out.write(block)
                out.flush()
                os.fchmod(out.fileno(), FILE_MODE)   # a local copy others may read, as a plain file
                os.fsync(out.fileno())
            return h.hexdigest(), tmp
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    # -- named keys: the film as `slate push` put it ------------------------------------------------
    def list_keys(self, prefix: str = "") -> list[str]:
        base = self.film_prefix
        keys = []
        with self._edge(f"listing {prefix or '/'}"):
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=base + prefix)
            for page in pages:
                for obj in page.get("Contents", []):
                    rel = obj["Key"][len(base):]
                    # as the folder is walked: nothing hidden, no folder markers
                    if rel and not rel.endswith("/") and not rel.startswith(".") and "/." not in rel:
                        keys.append(rel)
        return sorted(keys)

    def key_size(self, key: str) -> int | None:
        head = self._head(self.film_object(key), key)
        return None if head is None else int(head["ContentLength"])

    def key_exists(self, key: str) -> bool:
        return self.key_size(key) is not None

    def key_sha256(self, key: str) -> str | None:
        head = self._head(self.film_object(key), key)
        return None if head is None else head.get("Metadata", {}).get(SHA_META)

    def read_key(self, key: str, max_bytes: int | None = None) -> bytes:
        """The key's bytes, checked against the hash it was pushed with; with ``max_bytes``
        its size is checked (a HEAD) before a byte is read."""
        name = self.film_object(key)
        head = self._head(name, key)
        if head is None:
            raise ObjectMissing(f"{key} not found in {self.url(self.film_prefix)}")
        if max_bytes is not None and int(head["ContentLength"]) > max_bytes:
            raise KeyUnreadable(f"{key} is {int(head['ContentLength']):,} bytes, over the {max_bytes:,} byte limit")
        with self._edge(key):
            data: bytes = self.client.get_object(Bucket=self.bucket, Key=name)["Body"].read()
        if max_bytes is not None and len(data) > max_bytes:
            raise KeyUnreadable(f"{key} grew past the {max_bytes:,} byte limit while it was read")
        want = head.get("Metadata", {}).get(SHA_META)
        if want and hashlib.sha256(data).hexdigest() != want:
            raise ObjectCorrupt(f"{key} in {self.url(self.film_prefix)} does not match the sha256 it was pushed "
                                f"with ({want[:12]}…): refused; push the film again")
        return data

    def put_key_file(self, key: str, path: Path) -> bool:
        """Store a project file at its key; False when the same content is already there
        (nothing is sent)."""
        path = Path(path)
        name = self.film_object(key)
        self._refuse_big(path.stat().st_size, key)
        digest = file_sha256(path)
        head = self._head(name, key)
        if head is not None and head.get("Metadata", {}).get(SHA_META) == digest:
            return False
        self._put_path(name, path, digest, key)
        return True

    def pull_key(self, key: str, dest: Path) -> None:
        """Download one pushed key to `dest`, refusing bytes that do not match their hash."""
        name = self.film_object(key)
        head = self._head(name, key)
        if head is None:
            raise ObjectMissing(f"{key} not found in {self.url(self.film_prefix)}")
        want = head.get("Metadata", {}).get(SHA_META)
        got, tmp = self._download(name, Path(dest), key)
        if want and got != want:
            Path(tmp).unlink(missing_ok=True)
            raise ObjectCorrupt(f"{key} in {self.url(self.film_prefix)} does not match the sha256 it was pushed "
                                f"with ({want[:12]}…): refused")
        os.replace(tmp, dest)

    # -- artifacts ----------------------------------------------------------------------------------
    def _cache_path(self, uri: str) -> Path:
        digest = uri_digest(uri)
        return self.artifacts / digest[:2] / f"{digest}.{uri.rsplit('.', 1)[1]}"

    def uri_for(self, digest: str, suffix: str) -> str:
        return cas_uri(digest, suffix)

    def put_bytes(self, data: bytes, suffix: str) -> str:
        digest = hashlib.sha256(data).hexdigest()
        uri = cas_uri(digest, suffix)
        self._refuse_big(len(data), uri)
        if self._head(self.artifact_object(uri), uri) is None:  # same bytes, same name: never sent twice
            self._put(self.artifact_object(uri), data, digest, uri)
        cached = self._cache_path(uri)
        if not cached.exists():
            write_atomic(cached, data)
        return uri

    def put_file(self, path: Path, suffix: str) -> str:
        path = Path(path)
        self._refuse_big(path.stat().st_size, str(path.name))
        digest = file_sha256(path)
        uri = cas_uri(digest, suffix)
        if self._head(self.artifact_object(uri), uri) is None:
            self._put_path(self.artifact_object(uri), path, digest, uri)
        cached = self._cache_path(uri)
        if not cached.exists():
            # A name of this writer's own: a process id is shared by the scenes in its threads.
            copy_atomic(path, cached, _CHUNK)
        return uri

    def exists(self, uri: str) -> bool:
        return self._head(self.artifact_object(uri), uri) is not None

    def open_local(self, uri: str) -> Path:
        """This machine's copy of the artifact, downloaded once and checked against its name."""
        cached = self._cache_path(uri)
        if cached.is_file():
            return cached
        got, tmp = self._download(self.artifact_object(uri), cached, uri)
        if got != uri_digest(uri):
            Path(tmp).unlink(missing_ok=True)
            raise ObjectCorrupt(f"{uri} in {self.url(self.prefix)} hashes to {got[:12]}…, not to its name: "
                                "refused (the object was damaged after it was stored)")
        os.replace(tmp, cached)
        return cached

    def get_bytes(self, uri: str) -> bytes:
        return self.open_local(uri).read_bytes()

