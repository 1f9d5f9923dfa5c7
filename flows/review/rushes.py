"""The rushes: every take a scene's runs made, kept addressable for the dailies (issue 40).

A take loop keeps only the take it approves; the rest lived on only in the cache and the ledger.
At the end of each scene run this writes `.slate/rushes/<scene>-<profile>.json`: per shot, every
take of its start panel and its clip — the take's number, its picture (a storage URI: a clip's
middle keyframe, a panel itself), whether its gate passed it, each gate score by name against its
threshold with the judge's reason, the run that made it — the take the cut uses, the key a
person's word on it must carry (tasks/review/circle.py), and the word that steered it or was cleared.
Each run merges into what earlier runs wrote, so a take made three nights ago is still there to
circle. What a take cost and when it was made are the ledger's (its paid rows, by shot and take):
the dailies read them there, never copied here.

It must never make, judge or pay for anything, and never decide which take is used: it records
what the run decided.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel

from slate.governor.gates import against
from slate.providers.storage_local import write_atomic
from slate.governor.ledger import CallRow, Ledger
from slate.manifests import LoadedFilm
from slate.tasks.review.circle import Kind, TakeWord, standing, words_of

from slate.flows.shot.shot import ClipOutcome, PanelOutcome, Take
from slate.tasks.shot.clip_passes import PassDef
from slate.tasks.shot.plan import ShotPlan

__all__ = ["RushTake", "RushShot", "Rushes", "rushes_path", "read_rushes", "record_rushes", "DailyTake", "DailyShot", "PassTake",
           "dailies_of", "dailies_by_profile"]


class RushTake(BaseModel):
    kind: Kind
    take: int
    uri: str                   # the panel, or the clip (storage URIs)
    preview: str = ""          # what to look at: the panel, or the clip's middle keyframe
    passed: bool
    scores: list[str] = []     # "identity 0.82/0.70 — the judge's reason", each by name
    reasons: list[str] = []    # why its gate failed it, or a person's NG
    warnings: list[str] = []
    run_id: str = ""           # the run that first made it
    key: str = ""              # what a word on it is said about (tasks/review/circle.py): a take of an
                               # older key (the shot changed, its panel was retaken) is history


class RushShot(BaseModel):
    shot: str
    keys: dict[str, str] = {}         # kind -> what a word on that kind must be said about
    takes: list[RushTake] = []
    in_cut: dict[str, int] = {}       # kind -> the take the cut uses
    status: str = ""                  # approved | escalated | halted | rejected, as the run left it
    word: str = ""                    # the word that steered the last run
    cleared: str = ""                 # a word the last run cleared, and why
    cut_uri: str = ""                 # the clip the cut uses, after the shot's passes (a pass's take, where one ran)

    def takes_of(self, kind: str) -> list[RushTake]:
        return sorted((t for t in self.takes if t.kind == kind), key=lambda t: t.take)


class Rushes(BaseModel):
    film: str
    scene: str
    profile: str
    run_id: str                       # the last run that wrote here
    at: str                           # when (ISO, UTC)
    shots: list[RushShot] = []

    def shot(self, shot: str) -> RushShot | None:
        return next((s for s in self.shots if s.shot == shot), None)


def rushes_path(root: Path | str, scene: str, profile: str) -> Path:
    return Path(root) / ".slate" / "rushes" / f"{scene}-{profile}.json"


def read_rushes(root: Path | str, scene: str, profile: str) -> Rushes | None:
    path = rushes_path(root, scene, profile)
    return Rushes.model_validate_json(path.read_text()) if path.is_file() else None


def _rush(kind: Kind, take: Take, run_id: str, key: str) -> RushTake | None:
    if not take.uri:   # refused, stuck or unusable: nothing to look at
        return None
    preview = take.uri if kind == "panel" else take.keyframes.get("middle", "")
    return RushTake(kind=kind, take=take.take, uri=take.uri, preview=preview, passed=take.passed,
                    scores=[f"{s.name} {against(s.value, s.threshold, '/')}" + (f" — {s.reason}" if s.reason else "")
                            for s in take.scores if s.name],
                    reasons=list(take.reasons), warnings=list(take.warnings), run_id=run_id, key=key)


def record_rushes(root: Path | str, *, film: str, scene: str, profile: str, run_id: str, plans: list[ShotPlan],
                  panels: dict[str, PanelOutcome], clips: dict[str, ClipOutcome],
                  statuses: dict[str, str]) -> Rushes:
    """Merge this run's takes into the scene's rushes and write them (atomically)."""
    before = read_rushes(root, scene, profile)
    kept = {s.shot: s for s in before.shots} if before is not None else {}
    shots = []
    for p in plans:
        pn, c = panels.get(p.shot), clips.get(p.shot)
        old = kept.get(p.shot)
        keys = dict(old.keys) if old is not None else {}
        takes = {(t.kind, t.take, t.uri): t for t in (old.takes if old is not None else [])}
        made: list[RushTake | None] = []
        if pn is not None:
            made += [_rush("panel", t, run_id, pn.key) for t in pn.takes if t.moment == "start"]
            if pn.key:
                keys["panel"] = pn.key
        if c is not None:
            made += [_rush("clip", t, run_id, c.key) for t in c.takes]
            if c.key:
                keys["clip"] = c.key
        for t in made:
            if t is None:
                continue
            # A take walked again from the cache is the same take: its latest reading stands, and
            # the run that first made it.
            first = takes.get((t.kind, t.take, t.uri))
            takes[(t.kind, t.take, t.uri)] = t if first is None else t.model_copy(update={"run_id": first.run_id})
        # The take the cut uses: the one this run's loop stopped at (its last with the approved
        # file — two takes of a model that ignores the seed can be one file).
        in_cut: dict[str, int] = {}
        approved_panel = pn.approved.get("start") if pn is not None else None
        for kind, own, chosen in (("panel", [t for t in pn.takes if t.moment == "start"] if pn else [], approved_panel),
                                  ("clip", c.takes if c else [], c.clip_uri if c else None)):
            hits = [t.take for t in own if chosen and t.uri == chosen]
            if hits:
                in_cut[kind] = hits[-1]
        if c is not None and c.clip_uri and c.approved_take is not None and \
                any(t.take == c.approved_take for t in c.takes):
            # The cut plays a pass's file of it (lip-synced, swapped, upscaled): the take is still this one.
            in_cut["clip"] = c.approved_take
        shots.append(RushShot(shot=p.shot, keys=keys, takes=sorted(takes.values(), key=lambda t: (t.kind, t.take)),
                              in_cut=in_cut, status=statuses.get(p.shot, ""),
                              cut_uri=(c.clip_uri or "") if c is not None else "",
                              word=(c.word if c is not None else "") or (pn.word if pn is not None else ""),
                              cleared=(c.cleared if c is not None else "") or (pn.cleared if pn is not None else "")))
    rushes = Rushes(film=film, scene=scene, profile=profile, run_id=run_id,
                    at=datetime.now(timezone.utc).isoformat(timespec="seconds"), shots=shots)
    path = rushes_path(root, scene, profile)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(rushes.model_dump(mode="json"), indent=1).encode())
    return rushes


# -- what the dailies show (the terminal's list, the Prefect UI's form, the report, the agents) --

#: The ledger stages a take's cost is counted from: its making and its judging.
COSTED = {"panel": ("panel", "panel_edit", "panel_gate"), "clip": ("video", "keyframe_gate")}


class DailyTake(BaseModel):
    kind: Kind
    take: int
    preview: str               # a storage URI: the panel, or the clip's middle keyframe
    uri: str
    passed: bool
    scores: list[str] = []
    reasons: list[str] = []
    warnings: list[str] = []
    cost_usd: str = "0"        # what making and judging it cost (the ledger's rows, by shot and take)
    made_at: str = ""          # when its first paid row was written (ISO, UTC); "" if none
    in_cut: bool = False
    current: bool = True       # False: a take of the shot as it was before (its word would be cleared)


class PassTake(BaseModel):
    """A take of a pass over the shot's clip (tasks/shot/clip_passes.py: a face swap, an upscale, a
    declared pass), as the ledger holds it: the pass, the take, what it made, whether its job
    ended with a file, what making and gating it cost and when — and whether the cut uses it."""

    stage: str                 # the pass's name, its ledger stage ("faceswap", "grain")
    title: str                 # as a person reads it ("face swap")
    take: int
    uri: str = ""              # what it made (storage URI); "" when its job made nothing
    made: bool = False         # its job ended with a file
    cost_usd: str = "0"
    made_at: str = ""
    in_cut: bool = False


class DailyShot(BaseModel):
    scene: str
    shot: str
    status: str
    takes: list[DailyTake] = []
    passes: list[PassTake] = []             # the takes of the passes over its clip, in the lane's order
    clip_word: TakeWord | None = None       # the word that stands on its clip, at this profile
    panel_word: TakeWord | None = None
    proposals: list[TakeWord] = []          # agents' proposals since the standing word: shown, never acted on
    cleared: str = ""
    new: bool = False                       # takes made since the last word on it (or never given one)
    keys: dict[str, str] = {}
    cut_uri: str = ""                       # the clip the cut plays (a pass's file of its take, where one ran)
    ledger: list[str] = []                  # what the continuity ledger holds of the shot, in words (issue 58)

    def take(self, kind: str, number: int) -> DailyTake | None:
        return next((t for t in self.takes if t.kind == kind and t.take == number and t.current), None)


def dailies_of(root: Path | str, ledger: Ledger, film: str, scenes: list[str], profile: str) -> list[DailyShot]:
    """Every shot of the scenes with its takes (panels and clips) as the dailies show them: each
    take's picture, gate scores, cost and time, which take the cut uses, the word that stands,
    and the agents' proposals. Shots never run at this profile are left out."""
    from slate.tasks.shot.clip_passes import passes
    words = words_of(ledger, film, proposals=True)
    declared = passes()
    over = {stage: p for p in declared for stage in (p.name, p.gate)}   # a pass's paid call and its gate
    every = ledger.rows(film=film)
    rows = [r for r in every if r.stage in COSTED["panel"] + COSTED["clip"]]
    held = _ledger_lines(root, ledger, film, scenes)
    passed_over = [r for r in every if r.stage in over and r.profile == profile]
    out: list[DailyShot] = []
    for scene in scenes:
        rushes = read_rushes(root, scene, profile)
        if rushes is None:
            continue
        said = standing(words, scene, profile)
        for rush in rushes.shots:
            takes = []
            for t in rush.takes:
                paid = [r for r in rows if r.scene == scene and r.shot == rush.shot and r.take == t.take
                        and r.stage in COSTED[t.kind]]
                cost = sum((r.actual_cost for r in paid if r.actual_cost is not None), Decimal(0))
                made = min((r.created_at for r in paid), default=None)
                takes.append(DailyTake(kind=t.kind, take=t.take, preview=t.preview, uri=t.uri, passed=t.passed,
                                       scores=t.scores, reasons=t.reasons, warnings=t.warnings, cost_usd=str(cost),
                                       made_at=made.isoformat(timespec="seconds") if made else "",
                                       in_cut=rush.in_cut.get(t.kind) == t.take and t.key == rush.keys.get(t.kind),
                                       current=t.key == rush.keys.get(t.kind)))
            standing_words = said.get(rush.shot)
            latest = max((_when(w.at) for w in (standing_words.clip, standing_words.panel) if w is not None),
                         default=None) if standing_words else None
            proposals = [w for w in words if w.proposal and w.scene == scene and w.shot == rush.shot
                         and w.profile == profile and (latest is None or _when(w.at) > latest)]
            mine = [r for r in passed_over if r.scene == scene and r.shot == rush.shot]
            out.append(DailyShot(scene=scene, shot=rush.shot, status=rush.status, takes=takes,
                                 passes=_pass_takes(mine, declared, over, rush.cut_uri),
                                 clip_word=standing_words.clip if standing_words else None,
                                 panel_word=standing_words.panel if standing_words else None,
                                 proposals=proposals, cleared=rush.cleared, keys=dict(rush.keys),
                                 cut_uri=rush.cut_uri, ledger=held.get((scene, rush.shot), []),
                                 new=latest is None or any(t.made_at and _when(t.made_at) > latest
                                                           for t in takes if t.current)))
    return out


def _ledger_lines(root: Path | str, ledger: Ledger, film_id: str, scenes: list[str]
                  ) -> dict[tuple[str, str], list[str]]:
    """(scene, shot) -> what the continuity ledger holds of the shot (with the deviations the
    director accepted), in words; none for a film
    whose manifests no longer load (the dailies show what was made, whatever was edited since)."""
    from slate.manifests import load_film
    from slate.manifests.continuity_ledger import ledger_lines
    from slate.tasks.gates.deviations import as_accepted, deviations_of
    try:
        film = as_accepted(load_film(Path(root)), deviations_of(ledger, film_id))
    except Exception:  # noqa: BLE001 - a film being edited: its takes are still worth a look
        return {}
    out = {}
    for scene_id in scenes:
        try:
            scene = film.scene(scene_id)
        except Exception:  # noqa: BLE001 - a scene removed since its takes were made
            continue
        for shot in scene.shots:
            out[(scene_id, shot.id)] = ledger_lines(scene, shot)
    return out


def _pass_takes(rows: list[CallRow], declared: list[PassDef], over: dict[str, PassDef], cut_uri: str
                ) -> list[PassTake]:
    """A shot's pass takes from its ledger rows (its passes' paid calls and gates), by pass in the
    lane's order of declaration, then by take: a take's file is its last paid call's (a face swap
    of two faces is two calls, the second given the first's clip)."""
    out: list[PassTake] = []
    for p in declared:
        for take in sorted({r.take for r in rows if over[r.stage] is p}):
            made = sorted((r for r in rows if r.stage == p.name and r.take == take), key=lambda r: r.id)
            both = [r for r in rows if over[r.stage] is p and r.take == take]
            uri = next((r.artifact_uri for r in reversed(made) if r.artifact_uri), "") or ""
            cost = sum((r.actual_cost for r in both if r.actual_cost is not None), Decimal(0))
            when = min((r.created_at for r in made), default=None)
            out.append(PassTake(stage=p.name, title=p.title, take=take, uri=uri,
                                made=bool(made) and all(r.status == "succeeded" for r in made), cost_usd=str(cost),
                                made_at=when.isoformat(timespec="seconds") if when else "",
                                in_cut=bool(uri) and uri == cut_uri))
    return out


def _when(iso: str) -> datetime:
    at = datetime.fromisoformat(iso)
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


def dailies_by_profile(root: Path | str, film: LoadedFilm) -> dict[str, list[DailyShot]]:
    """Every profile's dailies of the whole film, for the production report's takes side by side
    (the report's module, in tasks/, never imports flows/: its callers read them here). A profile
    no run kept takes of is left out."""
    from slate.manifests.profiles import PROFILES
    scenes = [sc.id for _, sc in film.scenes]
    with Ledger.for_project(Path(root)) as ledger:
        found = {profile: dailies_of(root, ledger, film.film.id, scenes, profile) for profile in PROFILES}
    return {profile: shots for profile, shots in found.items() if shots}
