"""The prompt lint, where it runs: over a whole scene in the preflight, before each paid call, and
over a person's NG note before the dailies write it (it would go into the next take's prompt).

The rules and what they look for live in providers/prompts.py and prompt_rules.toml; this module
applies them to a film's shots (every moment's panel prompt for the panel model, the clip prompt
for each video model of the lineup, fallbacks included) and to the one prompt about to be sent.

It must never change a prompt: it reports, and refuses the call a blocking rule names.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from slate.governor.chokepoint import ShotHalted
from slate.manifests import LoadedFilm
from slate.providers.prompts import LintFinding, assemble, lint, load_rules, text_findings
from slate.tasks.shot.plan import moment_blocks

log = logging.getLogger("slate.lint")


class PromptRefused(ShotHalted):
    """A blocking lint rule refused the prompt before the paid call: this shot stops."""


def scene_findings(film: LoadedFilm, scene_id: str, panel_model: str, video_models: list[str]
                   ) -> list[tuple[str, str, LintFinding]]:
    """(shot, field, finding) for every prompt a run of this scene would send."""
    rules = load_rules(film.root)
    out: list[tuple[str, str, LintFinding]] = []
    for shot in film.scene(scene_id).shots:
        # A reference shot sends no panel prompt: only its clip's.
        moments = [] if shot.frame_mode == "reference" else ["start"] + (["end"] if shot.frame_mode == "start_end" else [])
        panel_family = rules.family_of(panel_model)
        for moment in moments:
            blocks = moment_blocks(film, scene_id, shot.id, moment)
            prompt = assemble(blocks, panel_family, "polish" if moment == "start" and shot.panel_override else "panel")
            field = "end_action" if moment == "end" else "action"
            out += [(shot.id, field, f) for f in lint(prompt, panel_family, "panel", rules,
                                                      with_references=bool(shot.characters),
                                                      camera_fixed=shot.camera.fixed)]
        clip = moment_blocks(film, scene_id, shot.id, "clip")
        seen: set[str] = set()
        for model in video_models:
            family = rules.family_of(model)
            if family.name in seen:
                continue
            seen.add(family.name)
            prompt = assemble(clip, family, "clip")
            out += [(shot.id, "action", f) for f in lint(prompt, family, "clip", rules,
                                                         with_references=bool(shot.characters),
                                                         camera_fixed=shot.camera.fixed)
                    if f not in [x for _, _, x in out]]
    return out


def line_findings(film: LoadedFilm, scene_id: str) -> list[tuple[str, str, LintFinding]]:
    """(shot, field, finding) for each spoken line of the scene a blocking rule refuses: a line is
    sent to a speech provider and kept in the ledger like a prompt (no URL, no key-shaped token)."""
    rules = load_rules(film.root)
    return [(shot.id, f"dialogue[{i}].text", f) for shot in film.scene(scene_id).shots
            for i, line in enumerate(shot.dialogue) for f in text_findings(line.text, rules)]


def check_before_paying(root: Path | str, prompt: str, model_key: str, kind: str, *, shot: str | None,
                        with_references: bool, camera_fixed: bool = False) -> list[LintFinding]:
    """Lint the prompt about to be sent: warnings are logged, a blocking rule refuses the call."""
    rules = load_rules(Path(root))
    found = lint(prompt, rules.family_of(model_key), kind, rules, with_references=with_references,
                 camera_fixed=camera_fixed)
    for f in found:
        if f.blocking:
            raise PromptRefused(f"shot {shot}: the {kind} prompt for {model_key} was refused before paying: {f}")
        log.warning("shot %s: %s prompt for %s: %s", shot, kind, model_key, f)
    return found


def note_findings(film: LoadedFilm, scene_id: str, shot_id: str, kind: str, noted: Callable[[str], str],
                  panel_model: str, video_models: list[str]) -> list[LintFinding]:
    """What the lint says of a person's NG note once it is in the prompts of the shot's next take
    (kind "panel": its start panel's prompt; "clip": the clip prompt of each video model of the
    lineup): only what the note brings — the shot's own prompt is the preflight's to judge.
    `noted` adds the note to a prompt as the take loop will (tasks/review/circle.py `with_note`), so the
    text linted is the text that would be sent. A blocking finding means the next take's paid
    call would be refused: the note is refused before it is written."""
    rules = load_rules(film.root)
    shot = film.scene(scene_id).shot(shot_id)
    if kind == "panel":
        blocks = moment_blocks(film, scene_id, shot_id, "start")
        how, models = ("polish" if shot.panel_override else "panel"), [panel_model]
    else:
        blocks, how, models = moment_blocks(film, scene_id, shot_id, "clip"), "clip", video_models
    found: list[LintFinding] = []
    for model in models:
        family = rules.family_of(model)
        prompt = assemble(blocks, family, how)

        def said(text: str) -> list[LintFinding]:
            return lint(text, family, "panel" if kind == "panel" else "clip", rules,
                        with_references=bool(shot.characters), camera_fixed=shot.camera.fixed)
        before = said(prompt)
        found += [f for f in said(noted(prompt)) if f not in before and f not in found]
    return found
