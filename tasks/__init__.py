"""slate.tasks: see docs/architecture.md for what the folder holds and may import."""

if __name__ != "slate.tasks":   # the folder is slate/tasks (a symlink); imported bare, it would be a second copy
    raise ImportError(f"import slate.tasks, not {__name__}: tasks/ is slate's tasks package (slate/tasks)")

# Results made before the modules moved into rooms name their types by the old modules: those
# names still import (tasks/run/moved.py).
from slate.tasks.run.moved import install as _install_old_names  # noqa: E402

_install_old_names()
