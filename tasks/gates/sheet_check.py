"""The reference gate's free half: slate's own reading of each turnaround and plate, held to
the gate policy, with no judge, no Prefect and nothing stored.

`measured` reads a sheet (media/sheet.py: views apart on a plain ground, one figure each, the
same height and colours) or a plate (a picture, not a flat fill), once per content hash in a
process, and slate's content check (media/content.py) of it — a plate whole, a sheet where its
figures are (off its transparent or plain ground) — which, failing, keeps a paid judge from
being shown it (tasks/gates/reference_gate.py); `hold` holds the scores to the policy's "reference"
stage; `sheet_problems` gives
`slate check` and the preflight the same verdict the run's gate (tasks/gates/reference_gate.py) would
give from these measures.

It must never change a reference, call a judge, or import Prefect (the preflight runs before
any Prefect server does, and the reel serves a film without one).
"""
from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Protocol, TypeGuard

from PIL import Image
from pydantic import JsonValue

from slate.governor.gates import GatePolicy, failing, judge_kind
from slate.manifests import LoadedFilm, Problem
from slate.manifests.turnaround import CELL_H, CELL_W, HEAD_BAND, LEGS_BAND, TORSO_BAND, VIEWS
import numpy as np

from slate.media.content import content_score
from slate.media.sheet import Layout, plate_scores, sheet_scores
from slate.providers.base import Score, Storage
from slate.tasks.run.memo import BoundedMemo
from slate.tasks.gates.references import Need, read_reference, scene_needs
from slate.tasks.gates.verdicts import ScoreFields, VerdictFields

# The turnaround contract of the manifests, as media/sheet.py reads it.
SHEET = Layout(VIEWS, (CELL_W, CELL_H), HEAD_BAND, TORSO_BAND, LEGS_BAND)


# slate's measures by (kind, the bytes' sha256): the preflight of the CLI, of the film and of
# each scene measured the same sheets again (2.2 s of a cached 8-shot film's 3.4 s preflight).
# Process-wide on purpose (it depends on the content alone) and bounded: a few scores each.
_MEASURED: BoundedMemo[tuple[str, str], list[ScoreFields]] = BoundedMemo("reference measures", 1024)


def measured(kind: str, data: bytes) -> list[ScoreFields]:
    """slate's own measures of one reference, as score dicts (thresholds come from the policy);
    each content is measured once per process."""
    def measure() -> list[ScoreFields]:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            found = sheet_scores(img, SHEET) if kind == "character" else plate_scores(img)
        known = [Score(name, value, 1.0, value >= 1.0, reason).__dict__ for name, value, reason in found]
        with Image.open(io.BytesIO(data)) as img:
            content = content_score(img.convert("RGB"), "the plate") if kind != "character" else \
                content_score(img.convert("RGB"), "the sheet's figures", mask=figure_pixels(img),
                              rules=("noise",))
        if not content["passed"]:  # only a failing check is a score: a passing one says nothing new
            known.append({k: v for k, v in content.items() if k != "figures"})
        return known

    known = _MEASURED.get_or_make((kind, hashlib.sha256(data).hexdigest()), measure)
    return [dict(score) for score in known]  # a caller's change to a score never reaches the next


GROUND_LEVELS = 24   # a sheet's pixel further than this from its border's colour is figure, not ground


def figure_pixels(img: Image.Image) -> np.ndarray:
    """Where a turnaround sheet's figures are: its opaque pixels when it has transparency, else
    the pixels unlike its ground (the median colour of its border)."""
    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        return np.asarray(img.convert("RGBA"))[..., 3] > 0
    a = np.asarray(img.convert("RGB"), dtype=np.int16)
    border = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])
    ground = np.median(border, axis=0)
    unlike: np.ndarray = np.abs(a - ground).max(axis=-1) > GROUND_LEVELS
    return unlike


class ReadsSheetColours(Protocol):
    """A judge that reads a turnaround's outfit against the colours its locked description names,
    free (the local judge: providers/local_judge.py `turnaround_colours`)."""

    def turnaround_colours(self, sheet: Path, character_id: str, description: str) -> list[Score]: ...


def reads_sheet_colours(judge: object) -> TypeGuard[ReadsSheetColours]:
    return hasattr(judge, "turnaround_colours")


def named_colours(judge: object, sheet: Path, character_id: str, description: str) -> list[ScoreFields]:
    """The judge's reading of the sheet's outfit against its description (none from a judge that
    has no such reading), as score dicts beside slate's own measures."""
    if not reads_sheet_colours(judge):
        return []
    return [dict(s.__dict__) for s in judge.turnaround_colours(sheet, character_id, description)]


def content_failed(scores: list[ScoreFields]) -> bool:
    """slate's content check failed among these measures: no judge is to be shown the picture."""
    return any(s["name"] == "content" and not s["passed"] for s in scores)


def hold(policy: GatePolicy, scores: list[ScoreFields], kind: str, profile: str, *, judge: str = "slate",
         usage: dict[str, JsonValue] | None = None) -> VerdictFields:
    """slate's own measures (and a vision judge's scores) held to the policy's "reference" stage."""
    return policy.apply({"judge": judge, "scores": scores, "usage": usage}, "reference", kind, profile)


def gated_needs(film: LoadedFilm, scene_id: str) -> list[Need]:
    # A panel override is a panel: the panel gate judges it when it is used.
    return [n for n in scene_needs(film, scene_id) if n.kind in ("character", "location")]


def sheet_problems(storage: Storage, film: LoadedFilm, scene_ids: list[str], root: Path, judge: str, profile: str,
                   cannot_judge: str = "block", unjudged: list[Problem] | None = None) -> list[Problem]:
    """slate's own measures of every reference these scenes use, held to the policy as the run
    would hold them for this judge (a vision judge's own scores are only asked for in a run).
    In a rehearsal (`cannot_judge = "warn"`) what slate cannot read in a sheet goes, as the run
    lets it through, to `unjudged` instead."""
    policy, kind = GatePolicy.load(root, cannot_judge), judge_kind(judge)
    problems: list[Problem] = []
    seen: set[str] = set()
    for scene_id in scene_ids:
        for need in gated_needs(film, scene_id):
            if need.key in seen:
                continue
            seen.add(need.key)
            try:
                data, _, _ = read_reference(storage, need)
            except Exception:  # noqa: BLE001 - the reference check reports an unreadable file
                continue
            verdict = hold(policy, measured(need.kind, data), kind, profile)
            if not verdict["passed"]:
                problems.append(need.problem(f"{need.key} did not pass the reference gate: "
                                             + "; ".join(failing(verdict))))
            elif verdict.get("unjudged") and unjudged is not None:
                unjudged.append(need.problem(f"{need.key}: unjudged at the reference gate (a rehearsal): "
                                             + "; ".join(verdict["unjudged"])))
    return problems
