"""The rubric a real vision model judges panels and keyframes by, as structured output.

A judge model is asked for one object (a pydantic model here, sent as the response schema):
every criterion a score from 0 to 1 with a reason a person can read. Identity is judged
against the turnaround and decoupled from clothing (face, hair, build); wardrobe against the
manifest's words; location against the plate; every expected character present and no extra
one; props that must survive; visible artefacts. The keyframe rubric holds the clip's first,
middle and last frames to the approved panels and the bible. `verdict()` turns an answer into
the gate's Verdict with the thresholds below (issue 9 makes them per-stage policy data).

Where the request carries the continuity ledger's state (issue 58), the panel and cut rubrics
grow one criterion per item of it — `prop_<name>`, `char_<id>`, `light`, each titled with the
thing's name and described in the prompts' physical words — so the judge answers item by item
and the schema makes every item's answer required (a missing one is off the schema: a bad
answer, never a pass). Each comes back as a `props`, `blocking` or `light` score whose reason
names the thing, as the local judge's do. A film with no ledger keeps the rubrics as they were.

It must never decide a verdict itself: it only carries the judge's scores to the gate.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, create_model

from slate.manifests.continuity_ledger import said
from slate.providers.base import PanelRequest, ReferenceImages, Score, Verdict


class Criterion(BaseModel):
    score: float = Field(ge=0, le=1, description="0 = wrong, 1 = exactly right")
    reason: str = Field(description="what the judge saw, in a sentence")


class PanelRubric(BaseModel):
    """How a storyboard panel holds to the bible and the shot's manifest."""

    identity: Criterion = Field(description="each character's face, hair and build against their turnaround, "
                                            "ignoring clothing")
    wardrobe: Criterion = Field(description="each character's clothing against the scene's wardrobe description")
    location: Criterion = Field(description="the place against the location plate")
    characters_present: Criterion = Field(description="every expected character is in frame and nobody else")
    props: Criterion = Field(description="the props the shot lists are visible")
    artifacts: Criterion = Field(description="1 = no visible artefacts (extra limbs, melted faces, text, noise)")


class KeyframeRubric(BaseModel):
    """How a clip's keyframes hold to its approved panels and the bible."""

    first_frame: Criterion = Field(description="the first frame matches the approved start panel")
    last_frame: Criterion = Field(description="the last frame matches the approved end panel (1 if none)")
    identity: Criterion = Field(description="the characters stay who they are in every frame (face, hair, build)")
    wardrobe: Criterion = Field(description="clothing stays as in the panel in every frame")
    location: Criterion = Field(description="the place stays the location of the panel")
    artifacts: Criterion = Field(description="1 = no visible artefacts, morphing or frozen motion")


class ContinuityRubric(BaseModel):
    """Whether a cut holds: the last frame of one shot against the first frame of the next."""

    identity: Criterion = Field(description="the people in both frames are the same people (face, hair, build)")
    wardrobe: Criterion = Field(description="the people wear the same clothes across the cut")
    location: Criterion = Field(description="both frames are in the same place, lit the same way")


class TurnaroundRubric(BaseModel):
    """Whether a turnaround sheet can be the reference a film holds its character to."""

    one_character: Criterion = Field(description="the sheet shows one character only: no second person in any view")
    same_person: Criterion = Field(description="every view shows the same person: face, hair, build and clothes "
                                               "agree between the views")
    artifacts: Criterion = Field(description="1 = no visible artefacts (extra limbs, melted faces, text over the "
                                             "figure, noise)")


THRESHOLDS = {"identity": 0.7, "wardrobe": 0.6, "location": 0.6, "characters_present": 0.8, "props": 0.5,
              "artifacts": 0.6, "first_frame": 0.7, "last_frame": 0.7, "one_character": 0.8, "same_person": 0.8,
              "blocking": 0.5, "light": 0.5}
#: A ledger item's criterion -> the score it becomes.
_ITEM_SCORE = {"prop": "props", "char": "blocking", "light": "light"}


def ledger_items(held: Mapping[str, Any] | None) -> list[tuple[str, str, str]]:
    """(criterion, the thing's name, the ledger's state in words) per item the ledger holds at
    this moment: each prop the shot shows, each placed character, the light. [] with no ledger."""
    if not held:
        return []
    out = []
    for kind, group in (("prop", "props"), ("char", "blocking")):
        for name, fields in (held.get(group) or {}).items():
            words = said(name, dict(fields)).removeprefix("the " if kind == "char" else "")
            out.append((f"{kind}_{re.sub(r'[^a-z0-9]+', '_', name.lower()).strip('_')}", name, words))
    light = held.get("light") or {}
    if light:
        out.append(("light", "light", "the light: " + ", ".join(f"{k} {v}" for k, v in light.items())))
    return out


def _with_ledger(base: type[BaseModel], request: PanelRequest) -> type[BaseModel]:
    items = ledger_items(request.continuity)
    if not items:
        return base
    fields: dict[str, Any] = {
        key: (Criterion, Field(title=name, description=f"{words}: 1 = as this, 0 = not (moved, missing, another "
                                                       "colour or state, another side or facing)"))
        for key, name, words in items}
    return create_model(f"{base.__name__}WithLedger", __base__=base, **fields)


def panel_rubric(request: PanelRequest) -> type[BaseModel]:
    """The panel rubric for this request: with one criterion per ledger item where it has a ledger."""
    return _with_ledger(PanelRubric, request)


def continuity_rubric(request: PanelRequest) -> type[BaseModel]:
    """The cut rubric for the shot after the cut: with what the ledger carries over, item by item."""
    return _with_ledger(ContinuityRubric, request)


def _ledger_instructions(request: PanelRequest, frame: str) -> str:
    items = ledger_items(request.continuity)
    if not items:
        return ""
    return (f"\nThe continuity ledger holds, in {frame}: " + "; ".join(words for _, _, words in items) +
            ". Score each of the criteria " + ", ".join(key for key, _, _ in items) +
            " for that item alone: 1 = as the ledger holds it, 0 = not.")


def panel_instructions(request: PanelRequest) -> str:
    cast = ", ".join(c.id for c in request.characters) or "nobody"
    wardrobe = "; ".join(f"{c.id}: {c.wardrobe}" for c in request.characters if c.wardrobe) or "as in the turnarounds"
    return (
        "You are the continuity supervisor of a film. Judge the storyboard PANEL (first image) against the "
        "references that follow it: the LOCATION PLATE, then one TURNAROUND sheet per character in this order: "
        f"{cast}. Score each criterion from 0 to 1 and give the reason you saw. Judge identity by face, hair "
        "and build only, never by clothing. Expected characters: "
        f"{cast}; nobody else may appear. Wardrobe: {wardrobe}. The shot, as written:\n{request.prompt}"
        + _ledger_instructions(request, "this panel"))


def keyframe_instructions(request: PanelRequest, has_end: bool) -> str:
    return (
        "You are the continuity supervisor of a film. The first three images are a generated clip's FIRST, "
        "MIDDLE and LAST frames; then the approved START PANEL"
        + (", the approved END PANEL" if has_end else "")
        + ", the LOCATION PLATE and the characters' TURNAROUND sheets. Score each criterion from 0 to 1 with "
        "the reason. Judge identity by face, hair and build only, never by clothing. The shot, as written:\n"
        + request.prompt)


def continuity_instructions(previous: PanelRequest, request: PanelRequest) -> str:
    both = sorted({c.id for c in previous.characters} & {c.id for c in request.characters})
    return (
        "You are the continuity supervisor of a film. The first image is the LAST frame of one shot; the second "
        "is the FIRST frame of the shot cut to next; then the location plate and the turnaround sheets of the "
        f"characters of the second shot. People in both shots: {', '.join(both) or 'nobody'}. Score whether the "
        "cut holds — the same people, the same clothes, the same place — each from 0 to 1 with the reason. A "
        "change of framing or camera angle is fine; a changed face, outfit or set is not."
        + _ledger_instructions(request, "the first frame after the cut"))


def turnaround_instructions(character_id: str, description: str) -> str:
    return (
        "You are the continuity supervisor of a film. The image is the approved TURNAROUND sheet of the character "
        f"'{character_id}': the reference every storyboard panel and clip will be held to. It should show that one "
        "character from several sides (front, three-quarter, side, back), the same person in every view. Score "
        "each criterion from 0 to 1 with the reason you saw. The character, as written:\n" + description)


def verdict(answer: BaseModel, judge: str, usage: dict[str, Any] | None = None) -> Verdict:
    """The gate's Verdict from a rubric answer: a score per criterion, passed at its threshold (a
    ledger item's as its `props`, `blocking` or `light` score, the reason naming the thing)."""
    fields = type(answer).model_fields
    scores = []
    for key, c in answer:
        name, reason = key, c.reason
        if key not in THRESHOLDS or key == "light":
            name = _ITEM_SCORE[key.split("_", 1)[0]]
            reason = f"{fields[key].title or key}: {c.reason}"
        scores.append(Score(name, float(c.score), THRESHOLDS[name], float(c.score) >= THRESHOLDS[name], reason))
    return Verdict(tuple(scores), judge, usage=usage)


# -- what a judge model is sent: the instructions, the pictures in the order they name them, the schema --
@dataclass(frozen=True)
class Ask:
    """One question to a vision judge, whatever its API: the words, the pictures in the order the
    words name them, and the rubric its answer must be (every vendor's judge sends these)."""

    instructions: str
    images: tuple[Path, ...]
    schema: type[BaseModel]


def _turnarounds(request: PanelRequest, refs: ReferenceImages) -> list[Path]:
    # In the cast's order: the instructions name the characters in that order.
    return [refs.turnarounds[c.id] for c in request.characters if c.id in refs.turnarounds]


def panel_ask(panel: Path, request: PanelRequest, refs: ReferenceImages) -> Ask:
    return Ask(panel_instructions(request), (panel, refs.plate, *_turnarounds(request, refs)), panel_rubric(request))


def keyframe_ask(frames: Mapping[str, Path], start_panel: Path, end_panel: Path | None, request: PanelRequest,
                 refs: ReferenceImages) -> Ask:
    images = (frames["first"], frames["middle"], frames["last"], start_panel,
              *([end_panel] if end_panel is not None else []), refs.plate, *_turnarounds(request, refs))
    return Ask(keyframe_instructions(request, end_panel is not None), images, KeyframeRubric)


def continuity_ask(last_frame: Path, first_frame: Path, previous: PanelRequest, request: PanelRequest,
                   refs: ReferenceImages) -> Ask:
    return Ask(continuity_instructions(previous, request),
               (last_frame, first_frame, refs.plate, *_turnarounds(request, refs)), continuity_rubric(request))


def turnaround_ask(sheet: Path, character_id: str, description: str) -> Ask:
    return Ask(turnaround_instructions(character_id, description), (sheet,), TurnaroundRubric)
