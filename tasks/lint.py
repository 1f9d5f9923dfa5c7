"""The prompt lint, where it runs: over a whole scene in the preflight, and before each paid call.

The rules and what they look for live in providers/prompts.py and prompt_rules.toml; this module
applies them to a film's shots (every moment's panel prompt for the panel model, the clip prompt
for each video model of the lineup, fallbacks included) and to the one prompt about to be sent.

It must never change a prompt: it reports, and refuses the call a blocking rule names.
"""
from __future__ import annotations

import logging
from pathlib import Path

from slate.governor.chokepoint import ShotHalted
from slate.manifests import LoadedFilm
from slate.providers.prompts import LintFinding, assemble, lint, load_rules
from slate.tasks.plan import moment_blocks

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
