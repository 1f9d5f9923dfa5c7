"""Escalations a person can act on: what each escalated shot's best take scored, kept in the ledger.

At the end of every scene run each escalated shot becomes one $0 `Escalated` row of the ledger
(stage "escalation"): the reason, and its best take — the stage and take, its image, every score
with the judge's reason. A run of a scene that had escalations before and has none now writes
one `Cleared` row, so "the latest run of each scene" is always answerable from the ledger alone
(a run that was all cache hits writes no paid row). `slate escalations` reads them back and says
where a human composite goes and the manifest line that makes it the shot's `panel_override`;
the next run locks that file with the bible (tasks/references.py), draws its polish pass and
holds it to the panel gate like any panel.

It must never decide anything or spend: it only records and reads what the gates decided.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from governor.chokepoint import CallContext, CallSpec, Units
from providers.base import fingerprint

STAGE = "escalation"
ESCALATED, CLEARED = "Escalated", "Cleared"
OVERRIDES = "overrides"  # the project folder human composites are kept in


def override_key(scene: str, shot: str) -> str:
    """Where a human composite for a shot goes: an asset key of the project (relative, inside it)."""
    return f"{OVERRIDES}/{scene}-{shot}.png"


def manifest_line(key: str) -> str:
    """The line that makes a composite the shot's panel (under the shot's entry in its scene file)."""
    return f"panel_override: {key}"


@dataclass(frozen=True)
class Escalation:
    scene: str
    shot: str
    run_id: str
    when: datetime
    reason: str
    best_take: dict | None   # flows.shot.Take as a dict: stage, moment, take, uri, quality, reasons, scores


def _spec(run, shot: str, take: int, what: dict) -> CallSpec:
    return CallSpec(CallContext(run.run_id, run.film, run.scene, shot, STAGE, take, "slate", "gates", run.profile),
                    Units("image"), fingerprint(what), parameters=what)


def record(run, governor, shots) -> int:
    """One `Escalated` row per escalated shot of a finished scene run (a `Cleared` row when
    none is and the scene's last record was an escalation). Returns the rows written."""
    escalated = [s for s in shots if s.status == "escalated"]
    for s in escalated:
        best = s.best_take or None
        what = {"reason": s.reason, "best_take": best}
        governor.note(_spec(run, s.shot, int(best["take"]) if best else 0, what), ESCALATED, s.reason)
    if escalated:
        return len(escalated)
    marks = _marks(governor.ledger.rows(film=run.film), run.scene)
    if marks and marks[-1].error_class == ESCALATED:
        governor.note(_spec(run, "*", 0, {"cleared": True}), CLEARED, "no shot of this scene is escalated")
        return 1
    return 0


def _marks(rows, scene: str) -> list:
    return sorted((r for r in rows if r.scene == scene and r.stage == STAGE and r.error_class in (ESCALATED, CLEARED)),
                  key=lambda r: r.created_at)


def latest(ledger, film: str, scenes: list[str]) -> dict[str, list[Escalation]]:
    """Per scene, the escalations of its latest recorded run (an empty list: none, or cleared)."""
    rows = ledger.rows(film=film)
    out: dict[str, list[Escalation]] = {}
    for scene in scenes:
        marks = _marks(rows, scene)
        if not marks:
            out[scene] = []
            continue
        last_run = marks[-1].run_id
        by_shot: dict[str, Escalation] = {}
        for r in marks:
            if r.run_id == last_run and r.error_class == ESCALATED:
                by_shot[r.shot] = Escalation(scene, r.shot, r.run_id, r.created_at, r.error_message or "",
                                             (r.parameters or {}).get("best_take"))
        out[scene] = list(by_shot.values())
    return out
