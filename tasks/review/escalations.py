"""Escalations a person can act on: what each escalated shot's best take scored, kept in the ledger.

At the end of every scene run each escalated shot becomes one $0 `Escalated` row of the ledger
(stage "escalation"): the reason, and its best take — the stage and take, its image, every score
with the judge's reason. A run of a scene that had escalations before and has none now writes
one `Cleared` row, so "the latest run of each scene" is always answerable from the ledger alone
(a run that was all cache hits writes no paid row; one whose escalations are those the scene's
latest run recorded — an unchanged scene served from the can — writes none either, and the
ledger goes on naming the run that found them). `slate escalations` reads them back and says
where a human composite goes and the manifest line that makes it the shot's `panel_override`;
the next run locks that file with the bible (tasks/gates/references.py), draws its polish pass and
holds it to the panel gate like any panel.

A shot a provider's moderation refused is never sent again unchanged; `refusals` reads back
what a person needs to change it: the provider's own words, the prompt and the references that
were sent (all in the refused call's ledger row), and the words of that prompt none of the
film's accepted prompts had — offered to the film's prompt_rules.toml (providers/prompts.py).

`advice` says what a person can do about one escalation, by the stage that gave up: a panel
that failed takes a composite; a clip that failed its keyframe gate takes more takes or
another video model (a composite changes what is animated); a refused clip, other words or
another model; a cut that did not hold, the two frames side by side; art the judge cannot
read, a judge that can.

It must never decide anything or spend: it only records and reads what the gates decided.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterable, Protocol, Sequence

from slate.governor.chokepoint import CallSpec, Governor, Usage
from slate.governor.ledger import CallRow, Ledger
from slate.providers.base import fingerprint
from slate.providers.prompts import refused_words

if TYPE_CHECKING:
    from slate.tasks.run.run import Run

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
    best_take: dict[str, Any] | None   # flows.shot.shot.Take as the ledger keeps it (JSON): stage, moment, take, uri,
                                       # quality, reasons, scores


class ShotOutcome(Protocol):
    """A shot of a finished scene run as its report says it (flows/run/scene_result.py ShotReport)."""

    @property
    def shot(self) -> str: ...

    @property
    def status(self) -> str: ...

    @property
    def reason(self) -> str: ...

    @property
    def best_take(self) -> dict[str, Any] | None: ...


def _spec(run: Run, shot: str, take: int, what: dict[str, Any]) -> CallSpec:
    return CallSpec(run.call_at(shot, STAGE, take, "slate", "gates"),
                    Usage("image"), fingerprint(what), parameters=what)


def record(run: Run, governor: Governor, shots: Iterable[ShotOutcome]) -> int:
    """One `Escalated` row per escalated shot of a finished scene run (a `Cleared` row when
    none is and the scene's last record was an escalation). Returns the rows written: none when
    the scene's latest recorded escalations are these very ones (an unchanged re-run, served
    from the can, has nothing new to say)."""
    escalated = [s for s in shots if s.status == "escalated"]
    marks = _marks(governor.ledger.rows(film=run.film), run.scene)
    if escalated and _said(marks) == {(s.shot, s.reason, _canonical(s.best_take or None)) for s in escalated}:
        return 0
    for s in escalated:
        best = s.best_take or None
        what = {"reason": s.reason, "best_take": best}
        governor.note(_spec(run, s.shot, int(best["take"]) if best else 0, what), ESCALATED, s.reason)
    if escalated:
        return len(escalated)
    if marks and marks[-1].error_class == ESCALATED:
        governor.note(_spec(run, "*", 0, {"cleared": True}), CLEARED, "no shot of this scene is escalated")
        return 1
    return 0


def _canonical(value: Any) -> str:
    """A best take as one comparable string (JSON read back from the ledger, or as the run holds it)."""
    return json.dumps(value, sort_keys=True, default=str)


def _said(marks: list[CallRow]) -> set[tuple[str, str, str]] | None:
    """What the scene's latest recorded run said: (shot, reason, best take) per escalation; None
    when nothing is recorded or it was cleared."""
    if not marks or marks[-1].error_class != ESCALATED:
        return None
    last = marks[-1].run_id
    return {(r.shot, r.error_message or "", _canonical((r.parameters or {}).get("best_take")))
            for r in marks if r.run_id == last and r.error_class == ESCALATED}


def _marks(rows: Sequence[CallRow], scene: str) -> list[CallRow]:
    return sorted((r for r in rows if r.scene == scene and r.stage == STAGE and r.error_class in (ESCALATED, CLEARED)),
                  key=lambda r: r.created_at)


def latest(ledger: Ledger, film: str, scenes: list[str]) -> dict[str, list[Escalation]]:
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


REFUSED = "RefusedByModeration"


@dataclass(frozen=True)
class Refusal:
    """One call of a shot that a provider's moderation refused, as the ledger kept it."""

    call_id: str
    stage: str
    take: int
    provider: str
    model: str
    words: str                  # the provider's own words
    prompt: str                 # the prompt that was sent
    references: tuple[str, ...]  # the images sent with it (storage URIs)
    when: datetime
    offered: tuple[str, ...]    # words of that prompt none of the film's accepted prompts had


def refusals(ledger: Ledger, film: str, scene: str, shot: str) -> list[Refusal]:
    """Every refused call of one shot (oldest first), with the words it had that the same
    provider accepted in no other prompt of the film."""
    rows = ledger.rows(film=film)
    out = []
    for r in rows:
        if r.scene != scene or r.shot != shot or r.status != "failed" or r.error_class != REFUSED:
            continue
        accepted = [a.prompt for a in rows if a.status == "succeeded" and a.provider == r.provider and a.prompt]
        out.append(Refusal(r.call_id, r.stage, r.take, r.provider, r.model, r.error_message or "", r.prompt or "",
                           tuple(r.reference_hashes or ()), r.created_at,
                           tuple(refused_words(r.prompt or "", accepted))))
    return out


def kind_of(esc: Escalation) -> str:
    """Which stage gave up: "cannot judge", "panel", "clip", "refused clip", "unusable clip" (what
    the provider sent could not be used: cut short, too large, not a video), "cut", or "other"."""
    best = esc.best_take or {}
    if any(s.get("name") == "judgeable" and not s.get("passed") for s in best.get("scores", [])) \
            or "cannot judge" in esc.reason:
        return "cannot judge"
    stage = best.get("stage")
    if stage == "panel":
        return "panel"
    if stage == "continuity":
        return "cut"
    if stage == "video":
        if best.get("uri"):
            return "clip"
        unusable = any("was unusable" in r for r in best.get("reasons", []))
        return "unusable clip" if unusable and "refused by moderation" not in esc.reason else "refused clip"
    return "other"


def advice(esc: Escalation, *, project: str, scene_file: str, current_override: str | None,
           max_takes: int) -> list[str]:
    """What a person can do about `esc`, a line each (no markup: paths are printed as they are)."""
    kind = kind_of(esc)
    again = f"slate run {project} --scene {esc.scene}"
    key = override_key(esc.scene, esc.shot)
    composite = [f"composite: put the corrected panel at {project}/{key}",
                 f"then in {scene_file}, under the shot with id: {esc.shot}, add the line",
                 f"  {manifest_line(key)}"]
    if current_override and current_override != key:
        composite.append(f"(in place of its panel_override: {current_override}, which is the panel that failed)")
    elif current_override == key:
        composite.append("(the manifest already names it: replace the file; its new content is judged again)")
    if kind == "cannot judge":
        return ["the judge cannot read this shot's art (see the reason above): no take would be judged better.",
                "the local judge reads only what the local provider draws (turnarounds of four 192x384 cells, "
                "with transparency, in flat colour; plates of the panel's shape): judge it with a vision model "
                f"({again} --judge gemini),",
                f"or rehearse the plumbing offline with the gates' \"cannot judge\" as warnings: {again} "
                "--cannot-judge warn"]
    if kind == "panel":
        return composite + [f"the next `{again}` judges it at the panel gate; every other shot comes from the cache"]
    if kind == "clip":
        return [f"the clip failed its keyframe gate; a retake: raise max_takes (now {max_takes}: in slate.toml, "
                "or on the film's slate-budget block) and run again: the takes made so far come from the cache, "
                "only new ones are paid,",
                f"or another video model for it: {again} --video-model PROVIDER:MODEL,",
                "or a new start for the clip: " + composite[0].removeprefix("composite: "),
                *composite[1:]]
    if kind == "refused clip":
        return [f"the video model refused this clip: reword the shot's action in {scene_file} (under id: "
                f"{esc.shot}), or give the run a fallback: {again} --video-model FIRST,FALLBACK"]
    if kind == "unusable clip":
        return [f"what the video provider sent could not be used (the reason above says how): run again ({again}) "
                "for a new take, the takes paid so far stay recorded;",
                f"if it keeps happening, another video model for it: {again} --video-model PROVIDER:MODEL"]
    if kind == "cut":
        return ["the cut into this shot does not hold: compare the two frames on the scene's contact sheet "
                f"(renders/{esc.scene}-<profile>-contact.png);",
                f"a retake of this shot's clip (raise max_takes, now {max_takes}) or a new panel for it:",
                *composite]
    return [f"run again ({again}): what was made is cached; the reason above says what stopped it"]
