"""The cache policy of every slate task: keyed by content, never by run, source or path.

key = sha256(stage version string + canonical JSON of the task's inputs minus the RunSpec).
Images are passed as `cas://<sha256>` URIs, so their content hashes are in the key; provider,
model and profile are fields of the inputs. Bump a stage's version string when its output for
the same inputs would change.

It must never key on the run id, the task's source text, or a file's path (PREFECT.md: these
silently re-run paid tasks or never hit), and never swallow an input it cannot spell: an input
that is not plain data raises, loudly, instead of Prefect's silent uncached run.
"""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import PurePath
from typing import Any

from prefect.cache_policies import CachePolicy
from pydantic import BaseModel

from providers.base import canonical_json


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


@dataclass(kw_only=True)
class ContentKey(CachePolicy):
    # keyword-only: the base class's first field is `key_storage`, and ContentKey("v1") once
    # silently stored cache metadata in a folder named "v1" under whatever the cwd was.
    stage: str
    exclude: tuple[str, ...] = ("run",)

    def compute_key(self, task_ctx, inputs, flow_parameters, **kwargs) -> str:
        return content_key(self.stage, inputs, self.exclude)
