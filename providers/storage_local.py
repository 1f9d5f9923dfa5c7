"""Local storage: the film project's own folder, plus a content-addressed artifact store in it.

Named keys are the project's files (`characters/mia/mia_turnaround_APPROVED.png`); what slate
makes goes to `.slate/artifacts/<aa>/<sha256>.<ext>` and is named by `cas://<sha256>.<ext>`,
so an artifact's URI is its content hash and a cache key over URIs is a key over contents.

`get_bytes` checks the bytes against the hash that names them (an artifact changed on disk is
refused); with `max_object_bytes` (the [storage] setting) a bigger artifact is refused before it
is written. Errors are those of providers/storage_errors.py, shared with the S3 backend.

It must never write outside the project folder, never overwrite an artifact in place (a file
is written under a temporary name, fsynced, then renamed), and never follow a key out of the
project (keys are validated; the resolved path is checked again). A key whose file is not a
regular file inside the project (a symlink out or in a loop, a folder, a FIFO) raises
KeyUnreadable, a ValueError that names the key: callers report it, they never crash on it.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from slate.manifests.keys import check_key
from slate.manifests.load import NOT_FOUND, locate, read_bounded
from slate.providers.storage_errors import ObjectCorrupt, ObjectMissing, ObjectTooBig
from slate.errors import SlateError

CAS_RE = re.compile(r"^cas://([0-9a-f]{64})\.([a-z0-9]{1,8})$")


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The sha256 of a file's bytes, read a mebibyte at a time (a clip is never held whole)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def cas_uri(digest: str, suffix: str) -> str:
    return f"cas://{digest}.{suffix.lstrip('.').lower()}"


def uri_digest(uri: str) -> str:
    m = CAS_RE.match(uri)
    if not m:
        raise ValueError(f"not a content-addressed artifact URI: {uri!r}")
    return m.group(1)


def append_entry(path: Path, entry: dict[str, object]) -> None:
    """One JSON line added to a book of what a provider was asked, fsynced: a crash test reads it
    after a SIGKILL, and a line half-written is never read back as whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as book:
        book.write(json.dumps(entry, sort_keys=True) + "\n")
        book.flush()
        os.fsync(book.fileno())


def write_atomic(dest: Path, data: bytes) -> None:
    """Temp file in the same folder → fsync → rename → fsync the folder (ALICE's order)."""
    _atomic(dest, lambda f: f.write(data))


def copy_atomic(src: Path, dest: Path, chunk: int = 1 << 20) -> None:
    """`src` copied to `dest` in write_atomic's order, streamed (a clip is not read whole)."""
    def copy(out: BinaryIO) -> None:
        with open(src, "rb") as f:
            for block in iter(lambda: f.read(chunk), b""):
                out.write(block)
    _atomic(dest, copy)


def _process_umask() -> int:
    """This process's umask, read without changing it where Linux says it (/proc/self/status,
    since 4.7); else by setting it and back, once, at import (before any thread writes)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


#: The mode a file written here ends with: what a plain open() would give it under this
#: process's umask (0644 under the usual 022), never mkstemp's owner-only 0600 — a render, a
#: clip or a cue is read by another account, a web server or a shared drive (issue 39).
FILE_MODE = 0o666 & ~_process_umask()


def temp_beside(dest: Path) -> tuple[int, str]:
    """A temporary file of this writer's own beside `dest` (open fd, path): `.<name>.<pid>.<random>.part`.
    The writer's process id is in the name so that one left by a writer killed mid-write
    (SIGKILL, a lost machine) is known for garbage by `sweep_orphans`, and nobody else's is."""
    return tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.{os.getpid()}.", suffix=".part")


def temp_folder_beside(dest: Path) -> tempfile.TemporaryDirectory[str]:
    """A temporary folder of this writer's own beside `dest`, named as `temp_beside` names a file
    (`.<name>.<pid>.<random>.part`): removed when its `with` ends, and — its writer killed before
    that — by the next run's `sweep_orphans`, as a file is."""
    return tempfile.TemporaryDirectory(dir=dest.parent, prefix=f".{dest.name}.{os.getpid()}.", suffix=".part")


def sweep_orphans(folder: Path) -> int:
    """Remove, under `folder`, the temporary files (`temp_beside`) of writers that are no live
    process of this machine; how many. A live writer's file, and any other file, is left alone;
    so is a name without a process id (made by an older slate: its writer cannot be told)."""
    removed = 0
    if not folder.is_dir():
        return 0
    # `.<name>.<pid>.<random>.part` (temp_beside) and `.<stem>.<pid>.<random>.part.<ext>` (what
    # ffmpeg writes, media/render.scratch_beside, and a download's, governor/chokepoint).
    for path in [*folder.rglob(".*.part"), *folder.rglob(".*.part.*")]:
        fields = path.name.split(".")
        at = len(fields) - 1 if fields[-1] == "part" else len(fields) - 2
        if fields[at] != "part" or at < 4 or not fields[at - 2].isdigit():
            continue
        pid = int(fields[at - 2])
        if pid == os.getpid() or process_alive(pid):
            continue
        try:
            if path.is_dir():   # a writer's folder (temp_folder_beside), with whatever it held
                shutil.rmtree(path)
            else:
                path.unlink()
            removed += 1
        except FileNotFoundError:
            pass
    return removed


def process_alive(pid: int) -> bool:
    """Whether process `pid` lives on this machine (someone else's counts: it may not be signalled)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _atomic(dest: Path, write: Callable[[BinaryIO], object]) -> None:
    # The temporary file's name is this writer's own (mkstemp), never one derived from `dest`
    # alone: scenes of one run store the same new content at the same moment (a re-finish's
    # new LUT), and under a shared name one writer truncated the file another was about to
    # rename, then found it renamed away (FileNotFoundError). Own names: each rename puts a
    # whole file in place, the same bytes whichever is last.
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = temp_beside(dest)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fchmod(f.fileno(), FILE_MODE)   # mkstemp's 0600 is for the temporary name only
            os.fsync(f.fileno())
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(dest.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class KeyUnreadable(SlateError, ValueError):
    """Something is at the key, but it is not a regular file inside the project, or it is over
    the size the caller allows. The message starts with the key."""


class LocalStorage:
    name = "local"

    def __init__(self, root: Path, *, max_object_bytes: int | None = None):
        self.root = Path(root).resolve()
        self.artifacts = self.root / ".slate" / "artifacts"
        self.max_object_bytes = max_object_bytes  # None: no limit (storage.max_object_bytes sets one)

    # -- named keys -------------------------------------------------------------------------
    def _key_path(self, key: str) -> Path:
        """The real path of the key's file: FileNotFoundError when nothing is there,
        KeyUnreadable when what is there is not a regular file inside the project."""
        check_key(key)
        path, why = locate(self.root, key)
        if path is None:
            if why == NOT_FOUND:
                raise ObjectMissing(f"{key} not found in {self.root}")
            raise KeyUnreadable(f"{key} {why}")
        return path

    def list_keys(self, prefix: str = "") -> list[str]:
        # Walk only the prefix's folder: the roster lives in characters/ and locations/, and a
        # project's other folders may hold thousands of files. rglob does not follow symlinked
        # folders, so a link loop cannot make this walk forever.
        start = self.root / prefix.rsplit("/", 1)[0] if "/" in prefix else self.root
        if not start.is_dir() or not start.resolve().is_relative_to(self.root):
            return []
        keys = []
        for path in sorted(start.rglob("*")):
            rel = path.relative_to(self.root).as_posix()
            if rel.startswith(".") or "/." in rel or not path.is_file():
                continue
            if rel.startswith(prefix):
                keys.append(rel)
        return keys

    def read_key(self, key: str, max_bytes: int | None = None) -> bytes:
        """The key's bytes; with ``max_bytes``, its size is checked before it is read."""
        path = self._key_path(key)
        if max_bytes is None:
            return path.read_bytes()
        try:
            return read_bounded(path, max_bytes)
        except ValueError as exc:
            raise KeyUnreadable(f"{key} {exc}") from None

    def key_size(self, key: str) -> int | None:
        """Bytes in the key's file, or None when nothing is there."""
        try:
            return self._key_path(key).stat().st_size
        except FileNotFoundError:
            return None

    def key_exists(self, key: str) -> bool:
        return self.key_size(key) is not None

    # -- artifacts --------------------------------------------------------------------------
    def _cas_path(self, uri: str) -> Path:
        digest = uri_digest(uri)
        return self.artifacts / digest[:2] / f"{digest}.{uri.rsplit('.', 1)[1]}"

    def uri_for(self, digest: str, suffix: str) -> str:
        """The URI bytes with this sha256 get when stored (the governor records it first)."""
        return cas_uri(digest, suffix)

    def _refuse_big(self, size: int, what: str) -> None:
        if self.max_object_bytes is not None and size > self.max_object_bytes:
            raise ObjectTooBig(f"{what} is {size:,} bytes, over the {self.max_object_bytes:,} byte limit "
                               "(storage.max_object_bytes): not stored")

    def put_bytes(self, data: bytes, suffix: str) -> str:
        uri = cas_uri(hashlib.sha256(data).hexdigest(), suffix)
        self._refuse_big(len(data), uri)
        path = self._cas_path(uri)
        if not path.exists():  # same bytes, same name: writing again would change nothing
            write_atomic(path, data)
        return uri

    def put_file(self, path: Path, suffix: str) -> str:
        self._refuse_big(Path(path).stat().st_size, Path(path).name)
        uri = cas_uri(file_sha256(path), suffix)
        dest = self._cas_path(uri)
        if not dest.exists():
            copy_atomic(path, dest)
        return uri

    def exists(self, uri: str) -> bool:
        return self._cas_path(uri).is_file()

    def open_local(self, uri: str) -> Path:
        path = self._cas_path(uri)
        if not path.is_file():
            raise ObjectMissing(f"artifact {uri} is not in {self.artifacts}")
        return path

    def get_bytes(self, uri: str) -> bytes:
        """The artifact's bytes, checked against the hash that names them."""
        data = self.open_local(uri).read_bytes()
        got = hashlib.sha256(data).hexdigest()
        if got != uri_digest(uri):
            raise ObjectCorrupt(f"{uri} in {self.artifacts} hashes to {got[:12]}…, not to its name: refused "
                                "(the file was changed after it was stored)")
        return data
