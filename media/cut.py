"""A cut joined and held to what was asked, in one function: the scene's stitch, its finishing
pass and the film's join of its scenes all make their cut here, and a cut that is not what was
asked — shorter or longer than its clips add up to, another size or codec, no sound where the
edit has it, off its loudness — raises one error, CutMismatch, naming the cut and each value
measured beside the one expected.

For: `make_cut(name, join, out)` with a `Stitching` (clips cut and dissolved into each other:
media/render.py `stitch`, held by media/probe.py `mismatches`) or a `FinishPlan` (the graded cut
with its sound: media/finish.py `finish`, held by `deliverable_problems`). Never: import
anything of ours beyond media and the error root (slate.errors), or leave at `out` a file that
failed its check.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, overload

from slate.errors import SlateError

from .finish import Finished, FinishPlan, deliverable_problems, finish
from .join import kept
from .probe import Probe, mismatches
from .render import stitch

__all__ = ["CutMismatch", "Stitching", "make_cut"]


class CutMismatch(SlateError):
    """A cut that is not what was asked. `cut` names it ("stitched scene scene-01", "stitched
    film night-diner-draft.mp4"); each of `problems` says what was measured and what was
    expected ("lasts 7.250s, expected 8.250s")."""

    def __init__(self, cut: str, problems: list[str]):
        self.cut = cut
        self.problems = list(problems)
        super().__init__(f"{cut} " + "; ".join(self.problems))

    def __reduce__(self) -> tuple[type[CutMismatch], tuple[str, list[str]]]:
        # A task's exception crosses Prefect's result store: rebuilt from both arguments.
        return (type(self), (self.cut, self.problems))


@dataclass(frozen=True)
class Stitching:
    """The plain join: (path, seconds) clips, each joined to the next by `transitions[i]`
    (("cut", 0) or ("dissolve", seconds)), at one size and rate, in H.264, no sound added."""

    clips: list[tuple[str, float]]
    transitions: list[tuple[str, float]]
    fps: int | float         # as the film keeps it (23.976): made and held to exactly (probe.mismatches)
    width: int
    height: int

    @property
    def total(self) -> float:
        """How long the cut must last: its clips, less each dissolve's overlap."""
        return (sum(float(seconds) for _, seconds in self.clips)
                - sum(float(seconds) for kind, seconds in self.transitions if kind == "dissolve"))


@overload
def make_cut(name: str, join: Stitching, out: Path, on_progress: Callable[[float], None] | None = None,
             mezzanine: tuple[str, Path] | None = None) -> Probe: ...
@overload
def make_cut(name: str, join: FinishPlan, out: Path, on_progress: Callable[[float], None] | None = None,
             mezzanine: tuple[str, Path] | None = None, stems: dict[str, Path] | None = None) -> Finished: ...
def make_cut(name: str, join: Stitching | FinishPlan, out: Path, on_progress: Callable[[float], None] | None = None,
             mezzanine: tuple[str, Path] | None = None, stems: dict[str, Path] | None = None) -> Probe | Finished:
    """Join `join` into `out` and check what was made against what was asked: its Probe (a
    stitching) or its Finished (a finishing plan: probe, loudness, sound's length). On any
    mismatch `out` is removed and CutMismatch raised, named `name`. `on_progress(share)` hears
    how far a finishing pass is (a stitching says nothing). `mezzanine` (kind, path): a
    finishing pass also writes the editor's intermediate there, from its own frames; `stems`
    (stem -> WAV path): and the mix's stems (media/finish.py `stems_args`)."""
    made: Probe | Finished
    if isinstance(join, FinishPlan):
        # A pass that would only re-encode files that already are the deliverable keeps them
        # (media/join.py): a one-scene film's cut is its finished scene, several agreeing scenes
        # are joined by stream copy. A mezzanine is the pass's own frames: the pass runs for it.
        made = (kept(join, out) if mezzanine is None and not stems else None) or \
            finish(join, out, on_progress, mezzanine, stems)
        problems = deliverable_problems(made, join)
    else:
        made = stitch(join.clips, out, transitions=join.transitions, fps=join.fps, width=join.width,
                      height=join.height)
        problems = mismatches(made, seconds=join.total, width=join.width, height=join.height, fps=join.fps)
    if problems:
        Path(out).unlink(missing_ok=True)   # never mistaken for a cut by whoever looks there next
        if mezzanine is not None:
            Path(mezzanine[1]).unlink(missing_ok=True)
        raise CutMismatch(name, problems)
    return made
