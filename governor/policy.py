"""When a failed gate earns another take, and when a shot is escalated to a human instead.

A retry loop that runs away overnight is the costliest bug in AI film-making, so every take
loop asks this policy, which knows only the verdict history of the shot's stage:
- the last take passed → accept it;
- the judge could not judge the last take (art it cannot read) → escalate at once: another take
  would be judged no better;
- the per-shot take cap is reached → escalate;
- the best gate score has not improved over the last K takes → escalate (no progress).

It must never look at money (the budget refuses calls on its own) nor at the run's other shots.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Decision = Literal["accept", "retake", "escalate"]


@dataclass(frozen=True)
class TakeResult:
    take: int
    passed: bool
    quality: float
    judgeable: bool = True


@dataclass(frozen=True)
class TakePolicy:
    """The per-shot take policy: the take cap and the takes without progress before a shot is
    escalated. The one class for it: the settings' defaults (`max_takes`, `no_progress_takes`),
    the film's budget block (governor/budget.py `SlateBudget.takes`), a run's Run and the
    reel's record all come to this."""

    max_takes: int = 3
    no_progress_takes: int = 2

    def decide(self, history: list[TakeResult], gate: str = "the gate") -> tuple[Decision, str]:
        """What to do after the last take of `history`, and why (in words naming `gate`)."""
        last = history[-1]
        if last.passed:
            return "accept", f"take {last.take} passed"
        if not last.judgeable:
            return "escalate", f"the judge cannot judge take {last.take}; another take would not be judged better"
        if len(history) >= self.max_takes:
            return "escalate", f"failed {gate} in {len(history)} takes (per-shot cap {self.max_takes})"
        if len(history) > self.no_progress_takes:
            before = max(t.quality for t in history[:-self.no_progress_takes])
            recent = max(t.quality for t in history[-self.no_progress_takes:])
            if recent <= before:
                return "escalate", (f"no progress: the best gate score ({before:+.3f}) has not improved "
                                    f"over the last {self.no_progress_takes} takes")
        return "retake", f"take {last.take} failed {gate}"
