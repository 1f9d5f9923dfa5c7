"""The errors every storage backend speaks, local folder or S3 bucket alike.

    StorageError
    ├── ObjectMissing       nothing at the key or URI            (also a FileNotFoundError)
    ├── ObjectCorrupt       the bytes do not hash to their name  (also a ValueError)
    ├── ObjectTooBig        over the size limit, refused before it is sent (also a ValueError)
    ├── StorageDenied       the store refused our identity       (also a PermissionError)
    └── StorageUnreachable  the store could not be reached       (also an OSError)

Each also derives from the builtin a caller of the local backend already catches, so code that
handled a missing file or an unreadable key keeps handling the bucket's.

This module must never hold a credential: messages name the bucket, the key and what to set,
never an access key, a secret or a signature.
"""
from __future__ import annotations

from slate.errors import SlateError


class StorageError(SlateError):
    """Base of the tree; the message starts with what was asked (a key or a cas:// URI)."""


class ObjectMissing(StorageError, FileNotFoundError):
    """Nothing is stored at the key or URI."""


class ObjectCorrupt(StorageError, ValueError):
    """What came back does not hash to the content hash it was stored under: never used."""


class ObjectTooBig(StorageError, ValueError):
    """Over the store's size limit: refused before a byte was sent."""


class StorageDenied(StorageError, PermissionError):
    """The store refused the identity (a wrong key, a read-only identity, no credentials)."""


class StorageUnreachable(StorageError, OSError):
    """The store's endpoint did not answer."""
