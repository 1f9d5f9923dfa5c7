"""A Run for the tests that call stages outside a flow, made as a scene flow makes one.

`a_run(root, ...)` is `tasks/run/run.py run_of` on the project's settings (its slate.toml, or slate's
defaults where `root` holds none) with what the test tells it; `with open_run(a_run(...)) as run:`
gives it its crew for the length of the block, as a flow body does.
"""
from __future__ import annotations

from pathlib import Path

from slate.manifests.settings import Settings, check_settings
from slate.tasks.run.run import Run, run_of


def a_run(root, run_id: str = "test-run", *, film: str = "night-diner", scene: str = "scene-01", **told) -> Run:
    """The Run of `scene` of the film at `root`, told `told` (options by name, as a flag would)."""
    settings, _ = check_settings(Path(root), {k: v for k, v in told.items() if v is not None}) \
        if Path(root).is_dir() else (None, [])
    if settings is None:
        settings = Settings(**told)
    return run_of(Path(root), scene, film, settings, run_id)


def summary_of(output: str) -> str:
    """What `slate run` printed, without the lines it says of each move when its output is not a
    terminal (`[  42s] scene-01/1A video rendering take 1`, slate/commands/report.py ProgressLines):
    the summary and its warnings, which a test reads for what the run ended with."""
    import re
    move = re.compile(r"^\[\s*\d+s\] ")
    return "\n".join(line for line in output.splitlines() if not move.match(line))
