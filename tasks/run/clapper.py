"""The clapper: the content key every take, scene and film is marked with.

key = sha256(stage version string + canonical JSON of the inputs, minus what is excluded
(a task's Run)). Images are passed as `cas://<sha256>` URIs, so their content hashes are in
the key. Used by the stage tasks' cache policy (tasks/run/cache.py), the can and the reel.

It must never import Prefect (the reel computes keys before Prefect starts), never key on a
path, and never turn an input it cannot spell into something quietly: it raises.
"""
from __future__ import annotations

import hashlib
from dataclasses import asdict, is_dataclass
from pathlib import PurePath
from typing import Any

from pydantic import BaseModel

from slate.providers.base import canonical_json


def plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, PurePath):
        raise TypeError(f"a path ({value}) cannot be part of a cache key: pass a cas:// URI")
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"{type(value).__name__} cannot be part of a cache key")


def content_key(stage: str, inputs: dict[str, Any], exclude: tuple[str, ...] = ("run",)) -> str:
    payload = {k: plain(v) for k, v in inputs.items() if k not in exclude}
    return hashlib.sha256(f"{stage}\n{canonical_json(payload)}".encode()).hexdigest()
