"""The run form beside the options: which film (and scene) a run is of, and what a run is called.

A flow takes the film's `project`, a scene flow its `scene`, and everything else it is told as one
`options: RunOptions` (manifests/options.py): Prefect draws the run form from these parameters
(deployments/register.py titles it for a person). `project` and `scene` say which run this is;
they are no option of the film's.

It must never carry a key or a URL with a password: those are read where they are used.
"""
from __future__ import annotations

from typing import Any

from pydantic import Field

from slate.manifests.options import RunOptions

__all__ = ["PROJECT", "SCENE", "OPTIONS", "run_name"]

PROJECT: Any = Field(title="Film project", description="the film project's folder (with film.yaml) on the worker's "
                     "machine, or a pushed film's address: s3://BUCKET[/PREFIX]/films/FILM_ID")
SCENE: Any = Field("", title="Scene", description="the scene to render (empty: the first)")
OPTIONS: Any = Field(RunOptions(), title="Options",
                     description="what this run is told; a field left empty keeps the film's own value (slate.toml)")


def _told_profile(options: Any) -> str | None:
    """The profile a run's options tell, as the flow run's parameters hold them (a RunOptions in
    this process, a dict when read back from the server)."""
    if isinstance(options, RunOptions):
        return options.profile if "profile" in options.model_fields_set else None
    if isinstance(options, dict):
        return options.get("profile")
    return None


def run_name(kind: str, parameters: dict[str, Any]) -> str:
    """A flow run's name: `<scene or film>-<profile told, or "default">`."""
    profile = _told_profile(parameters.get("options")) or "default"
    return f"{parameters.get('scene') or kind}-{profile}"
