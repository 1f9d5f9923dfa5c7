"""Which store a film project uses, and moving a film between its folder and a bucket.

`storage_for(root)` reads the project's `[storage]` settings: the local folder (the default)
or an S3 bucket (providers/storage_s3.py). `push_film` uploads a project's manifests and
references to the bucket under `films/<film id>/`; `pull_film` brings them into an empty
working folder on a worker that has nothing but the bucket's address, each file checked
against the hash it was pushed with. `film_url`/`parse_film_url` spell that address,
`s3://<bucket>/<prefix>/films/<film id>`.

It must never read a credential (boto3 finds the identity), never push what slate made or
keeps for itself (`.slate/`, renders, the STOP file, anything hidden), and never write a
pulled file outside the working folder (keys are checked, as every key is).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from slate.manifests.load import read_document
from slate.manifests.settings import Settings, StorageSettings, check_settings
from slate.providers.storage_local import LocalStorage, file_sha256
from slate.providers.storage_s3 import S3Storage

#: project folders and files a push leaves behind: what slate makes, and the kill switch
NOT_PUSHED = ("renders/", "STOP", "local-jobs/")   # local-jobs/: the local provider's jobs of a film in a bucket
_FILM_URL = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(?:(?P<prefix>.*?)/)?films/"
                       r"(?P<film>[a-z][a-z0-9_-]{0,39})/?$")


def film_id(root: Path) -> str:
    """The film's id from its film.yaml (the bucket's folder of the film)."""
    data, problems = read_document(Path(root) / "film.yaml", "film.yaml")
    ident = data.get("id") if isinstance(data, dict) else None
    if problems or not isinstance(ident, str):
        raise ValueError(f"{Path(root) / 'film.yaml'}: no film id to name the film in the bucket "
                         + "; ".join(str(p) for p in problems))
    return ident


def open_storage(root: Path, storage: StorageSettings, film: str | None = None) -> LocalStorage | S3Storage:
    """The store these settings describe, working in `root`."""
    if storage.backend == "local":
        return LocalStorage(root, max_object_bytes=storage.max_object_bytes)
    return open_bucket(root, storage, film)


def open_bucket(root: Path, storage: StorageSettings, film: str | None = None) -> S3Storage:
    """The bucket these settings name, working in `root` (for what only a bucket does: push, pull,
    publish). Settings of the local backend, or without a bucket, are a ValueError."""
    if storage.backend != "s3" or storage.bucket is None:   # StorageSettings refuses s3 without a bucket already
        raise ValueError("a bucket needs [storage] backend = \"s3\" and its bucket")
    return S3Storage(root, bucket=storage.bucket, film=film or film_id(root), prefix=storage.prefix,
                     endpoint_url=storage.endpoint_url, region=storage.region, profile=storage.profile,
                     max_object_bytes=storage.max_object_bytes)


def storage_for(root: Path, settings: Settings | None = None) -> LocalStorage | S3Storage:
    """The project's store. Settings that cannot be read fall back to the folder: whoever
    checked them (the preflight, `slate check`) reports why, and a run refuses before it
    stores anything."""
    if settings is None:
        settings, _ = check_settings(Path(root))
    if settings is None or settings.storage.backend == "local":
        return LocalStorage(root, max_object_bytes=settings.storage.max_object_bytes if settings else None)
    return open_storage(root, settings.storage)


# -- a film's address in a bucket -------------------------------------------------------------
def film_url(store: S3Storage) -> str:
    return f"s3://{store.bucket}/{store.film_prefix.rstrip('/')}"


@dataclass(frozen=True)
class FilmAddress:
    bucket: str
    prefix: str
    film: str


def parse_film_url(url: str) -> FilmAddress | None:
    """`s3://bucket[/prefix]/films/<film id>` → its parts; None for anything else."""
    m = _FILM_URL.match(url.strip())
    if not m:
        return None
    return FilmAddress(m.group("bucket"), (m.group("prefix") or "").strip("/"), m.group("film"))


# -- push and pull ------------------------------------------------------------------------------
@dataclass
class Transfer:
    """What one push or pull moved: counted per file, by whether bytes were sent."""

    sent: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def film_files(root: Path) -> list[str]:
    """The project's keys a push sends: every visible file but what slate makes."""
    keys = LocalStorage(root).list_keys("")
    return [k for k in keys if not any(k == n or k.startswith(n) for n in NOT_PUSHED)]


def push_film(root: Path, store: S3Storage) -> Transfer:
    """Upload the project's manifests and references; content already there is not sent."""
    root = Path(root).resolve()
    done = Transfer()
    for key in film_files(root):
        (done.sent if store.put_key_file(key, root / key) else done.unchanged).append(key)
    return done


def pull_film(store: S3Storage, dest: Path) -> Transfer:
    """Download a pushed film into `dest`, each file checked against its pushed hash; a file
    already there with the same content is left as it is."""
    dest = Path(dest).resolve()
    done = Transfer()
    for key in store.list_keys(""):
        if any(key == n or key.startswith(n) for n in NOT_PUSHED):
            continue
        target = (dest / key).resolve()
        if not target.is_relative_to(dest):   # check_key already refuses '..'; belt and braces
            raise ValueError(f"{key}: would be written outside {dest}")
        want = store.key_sha256(key)
        if want and target.is_file() and file_sha256(target) == want:
            done.unchanged.append(key)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        store.pull_key(key, target)
        done.sent.append(key)
    if not done.sent and not done.unchanged:
        raise FileNotFoundError(f"nothing pushed at {film_url(store)}: `slate push` the film first")
    return done


def publish_renders(root: Path, store: S3Storage) -> Transfer:
    """A pulled film's finished renders, back to the film's folder in the bucket."""
    root = Path(root).resolve()
    done = Transfer()
    renders = root / "renders"
    for path in sorted(renders.glob("*")) if renders.is_dir() else []:
        if path.is_file() and not path.name.startswith(".") and not path.name.endswith(".part"):
            key = f"renders/{path.name}"
            (done.sent if store.put_key_file(key, path) else done.unchanged).append(key)
    return done
