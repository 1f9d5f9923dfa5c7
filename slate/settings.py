"""The film project's settings, re-exported for the command line and for users' scripts.

They live in `manifests.settings` (beside the manifests: a film project's slate.toml is part of
its source of truth) so that flows and tasks can read them without importing upward.
"""
from slate.manifests.settings import Settings, project_settings

__all__ = ["Settings", "project_settings"]
