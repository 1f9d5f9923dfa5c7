"""The cache policy of every slate task: keyed by content, never by run, source or path.

key = sha256(stage version string + canonical JSON of the task's inputs minus the Run).
Images are passed as `cas://<sha256>` URIs, so their content hashes are in the key; provider,
model and profile are fields of the inputs. Bump a stage's version string when its output for
the same inputs would change.

Results are kept in the project folder, or with `[storage] backend = "s3"` in the bucket
(`BucketResults`), so a take cached by one worker is a hit on every other.

It must never key on the run id, the task's source text, or a file's path (PREFECT.md: these
silently re-run paid tasks or never hit), and never swallow an input it cannot spell: an input
that is not plain data raises, loudly, instead of Prefect's silent uncached run. Result
storage must never hold a credential (a saved block is shown in the Prefect UI).
"""
from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefect._internal.compatibility.async_dispatch import async_dispatch
from prefect.cache_policies import CachePolicy
from prefect.context import TaskRunContext
from prefect.exceptions import ObjectAlreadyExists
from prefect.filesystems import WritableFileSystem

from slate.manifests.keys import check_key
from slate.manifests.settings import StorageSettings
from slate.providers.storage_s3 import S3Client, S3Storage, s3_client
from slate.tasks.run.clapper import content_key  # the key's rule lives there, without Prefect
from slate.tasks.run.memo import BoundedMemo


@dataclass(kw_only=True)
class ContentKey(CachePolicy):
    # keyword-only: the base class's first field is `key_storage`, and ContentKey("v1") once
    # silently stored cache metadata in a folder named "v1" under whatever the cwd was.
    stage: str
    exclude: tuple[str, ...] = ("run",)

    def compute_key(self, task_ctx: TaskRunContext, inputs: dict[str, Any], flow_parameters: dict[str, Any],
                    **kwargs: Any) -> str:
        return content_key(self.stage, inputs, self.exclude)


# -- where results are kept -----------------------------------------------------------------------
# A cache hit is a record at the key *in result storage* (PREFECT.md §1): kept in the project
# folder, a take cached by one worker is a miss on every other. With `[storage] backend = "s3"`
# the records go to the film's bucket, under `<prefix>results/<cache key>`, beside the
# artifacts they name. The key is the ContentKey above, unchanged: only where it is looked up moves.
# By the bucket's address (never a run): one boto3 client and one saved block each, for the
# process's life. Process-wide on purpose (a worker serves films of the same bucket run after
# run) and bounded: a worker that meets more buckets than this makes a forgotten one again.
#: A bucket's address: bucket, prefix, endpoint URL, region, profile (never a credential).
BucketAddress = tuple[str | None, str, str | None, str | None, str | None]
_CLIENTS: BoundedMemo[BucketAddress, S3Client] = BoundedMemo("bucket result clients", 16)
_SAVED: BoundedMemo[BucketAddress, "BucketResults"] = BoundedMemo("saved bucket result blocks", 16)


class BucketResults(WritableFileSystem):
    """Prefect result storage in slate's bucket. Holds the bucket's address only: the identity
    is boto3's (the environment), so the saved block document carries no secret."""

    _block_type_name = "Slate Bucket Results"
    _block_type_slug = "slate-bucket-results"
    _description = "Task results of slate runs in an S3-compatible bucket (credentials from the environment)."

    bucket: str
    prefix: str = ""
    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None

    def _store(self) -> S3Storage:
        where = (self.bucket, self.prefix, self.endpoint_url, self.region, self.profile)
        client = _CLIENTS.get_or_make(where, lambda: s3_client(endpoint_url=self.endpoint_url, region=self.region,
                                                               profile=self.profile))
        # film="-": results are keyed by content, shared by every film of the bucket
        return S3Storage(Path("."), bucket=self.bucket, prefix=self.prefix, film="-",
                         endpoint_url=self.endpoint_url, client=client)

    def _object(self, store: S3Storage, path: str) -> str:
        check_key(path)
        return f"{store.prefix}results/{path}"

    def read_now(self, path: str) -> bytes:
        """The record at `path`, read in this thread (the can reads its records so, in or out of an event loop)."""
        store = self._store()
        name = self._object(store, path)
        with store._edge(f"result {path}"):
            data: bytes = store.client.get_object(Bucket=store.bucket, Key=name)["Body"].read()
        return data

    def write_now(self, path: str, content: bytes) -> str:
        """Write the record at `path` in this thread."""
        store = self._store()
        name = self._object(store, path)
        with store._edge(f"result {path}"):
            store.client.put_object(Bucket=store.bucket, Key=name, Body=content)
        return path

    async def aread_path(self, path: str) -> bytes:
        return await asyncio.to_thread(self.read_now, path)

    # Prefect declares read_path and write_path async on WritableFileSystem, while its own file
    # systems dispatch them as this does (a coroutine in an async context, the value otherwise),
    # and its LocalFileSystem's write_path returns the path as this one does.
    @async_dispatch(aread_path)
    def read_path(self, path: str) -> bytes:  # type: ignore[override]  # Prefect's base is typed async-only
        return self.read_now(path)

    async def awrite_path(self, path: str, content: bytes) -> str:
        return await asyncio.to_thread(self.write_now, path, content)

    @async_dispatch(awrite_path)
    def write_path(self, path: str, content: bytes) -> str:  # type: ignore[override]  # as read_path
        return self.write_now(path, content)


def result_storage(root: Path, storage: StorageSettings) -> Path | BucketResults:
    """What a scene's tasks persist their results to: the project's `.slate/results` folder,
    or (s3 backend) a saved BucketResults block. Prefect needs a block passed as result storage
    to be saved on the server; it is saved once per process and bucket, under a name made from
    the bucket's address (never a secret)."""
    if storage.backend == "local":
        folder = Path(root) / ".slate" / "results"
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    where: BucketAddress = (storage.bucket, storage.prefix.strip("/"), storage.endpoint_url, storage.region,
                            storage.profile)
    block = _SAVED.get(where)
    if block is None:
        block = BucketResults(bucket=storage.bucket, prefix=storage.prefix.strip("/"), endpoint_url=storage.endpoint_url,
                              region=storage.region, profile=storage.profile)
        name = f"slate-results-{hashlib.sha256(repr(where).encode()).hexdigest()[:16]}"
        try:
            block.save(name, overwrite=True)
        except (ObjectAlreadyExists, ValueError):
            # Another process saved the same address at the same moment: the scenes of a film
            # start at once, and Prefect 3.8.8's save(overwrite=True) then raises ValueError
            # ("a name that is already in use") from the 409 — seen with four scenes on two workers.
            loaded = BucketResults.load(name)
            # Prefect types load for an async caller too (a coroutine); this one is sync.
            if not isinstance(loaded, BucketResults):
                raise TypeError(f"result storage {name} could not be loaded here: {type(loaded).__name__}")
            block = loaded
        _SAVED.put(where, block)
    return block
