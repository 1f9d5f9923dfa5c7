"""Where a scene's poster frame is taken: inside one shot's settled frames, never in a fade from
or to black, a dip to a colour or a dissolve.

For: `settled_moment(plan)`, the time on the finished cut's timeline at the middle of the longest
stretch of one shot that no transition or fade touches (the shot as the film-maker framed it);
`changing(plan)`, the stretches a transition or fade does touch. A third of the running time,
taken blindly before, landed inside a dip to white on a cut of three shots.

Never: decode a frame (this is arithmetic on the edit: media/finish.py's `poster_args` takes
the picture), or import anything of ours beyond media.
"""
from __future__ import annotations

from .finish import FinishPlan

__all__ = ["changing", "settled_moment"]


def changing(plan: FinishPlan) -> list[tuple[float, float]]:
    """The (start, end) stretches of the cut where a transition or fade changes the picture:
    the fades from and to black, each dissolve (both shots on screen), each dip (to its colour
    and back, centred on the cut)."""
    starts, total = plan.starts(), plan.total
    out = []
    if plan.fade_in:
        out.append((0.0, min(total, plan.fade_in)))
    if plan.fade_out:
        out.append((max(0.0, total - plan.fade_out), total))
    for i, shot in enumerate(plan.shots[:-1]):
        kind, seconds = shot.transition
        cut = starts[i + 1]
        if kind == "dissolve":   # the next shot starts where the dissolve does (FinishPlan.starts)
            out.append((cut, cut + float(seconds)))
        elif kind == "dip":
            out.append((cut - float(seconds) / 2, cut + float(seconds) / 2))
    return out


def _untouched(start: float, end: float, touched: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """What is left of [start, end] once every touched stretch is taken out of it."""
    pieces = [(start, end)]
    for a, b in touched:
        pieces = [piece for lo, hi in pieces for piece in ((lo, min(hi, a)), (max(lo, b), hi)) if piece[1] > piece[0]]
    return pieces


def settled_moment(plan: FinishPlan) -> float:
    """The middle of the longest stretch of one shot that nothing changes (`changing`); a cut
    where every frame is touched falls back to the middle of its longest shot."""
    starts, touched = plan.starts(), changing(plan)
    spans = [(at, at + shot.length) for at, shot in zip(starts, plan.shots)]
    calm = [piece for start, end in spans for piece in _untouched(start, end, touched)]
    start, end = max(calm or spans, key=lambda piece: piece[1] - piece[0])
    return (start + end) / 2
