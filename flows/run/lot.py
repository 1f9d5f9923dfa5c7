"""The lot: where a worker keeps the films it was sent by their bucket address.

A scene or film run's `project` is a folder, or a pushed film's address in the bucket,
`s3://<bucket>[/<prefix>]/films/<film id>` (what `slate push` prints). Given an address, the
run pulls the film (manifests and references, each checked by its hash) into this worker's
own working folder — `$SLATE_WORKDIR/<bucket>/<prefix>/<film id>`, else under `~/.slate/lot`
— and works there; at its end `wrap_up` sends the renders it made back to the film's folder in
the bucket. So two workers on two machines share nothing but the services: the bucket, the
ledger, the Prefect server.

It must never write outside the worker's working folder, never read a credential (boto3 finds
the identity in the environment), and never run a film whose slate.toml names another bucket
than the one it was pulled from (its artifacts and results would go elsewhere).
"""
from __future__ import annotations

import fcntl
import os
from pathlib import Path

from slate.manifests.settings import project_settings
from slate.providers.storage import parse_film_url, publish_renders, pull_film
from slate.providers.storage_s3 import S3Storage
from slate.errors import SlateError

WORKDIR = "SLATE_WORKDIR"


class NotOnTheLot(SlateError, ValueError):
    """A pulled film whose settings do not name the bucket it came from."""


def lot_folder() -> Path:
    return Path(os.environ.get(WORKDIR) or Path.home() / ".slate" / "lot").resolve()


def on_the_lot(project: str) -> tuple[Path, S3Storage | None]:
    """The folder to run `project` in, and (for a bucket address) the film's store."""
    where = parse_film_url(project)
    if where is None:
        return Path(project).resolve(), None
    dest = lot_folder() / where.bucket / (where.prefix or "-") / where.film
    dest.mkdir(parents=True, exist_ok=True)
    store = S3Storage(dest, bucket=where.bucket, prefix=where.prefix, film=where.film)
    # Scenes of one film started on this worker at once pull into one folder: one at a time
    # (a file already there with its pushed hash is not fetched again).
    with open(dest.parent / f".{where.film}.pull-lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        pull_film(store, dest)
    storage = project_settings(dest).storage
    if storage.backend != "s3" or storage.bucket != where.bucket or storage.prefix.strip("/") != where.prefix:
        raise NotOnTheLot(f"{project}: its slate.toml must name the bucket it was pulled from ([storage] backend = "
                          f"\"s3\", bucket = \"{where.bucket}\", prefix = \"{where.prefix}\")")
    return dest, store


def wrap_up(root: Path, store: S3Storage | None) -> None:
    """A pulled film's renders back to the bucket (nothing for a film in a plain folder)."""
    if store is not None:
        publish_renders(root, store)
