"""The names modules had before they moved into rooms (issue 55, 2026-11-30): what was made
before the move is still read, and reused.

A stored result names its type by module: Prefect's JSON serializer writes a cached verdict as
`{"__class__": "slate.tasks.verdicts.PanelVerdict", ...}`, and every task result a film made
before the move (its panel, keyframe, continuity and reference verdicts, its spoken lines, its
lip-sync, music, subtitles and finishing) holds such names. Read where the type no longer is, the
run fails (a dict where a verdict was) instead of reusing what was made. So an old name, when
something imports it, is the module it names now: the same module object, so its classes are the
same classes and a stored verdict decodes to the verdict the code checks for.

Names that are a room now (`slate.tasks.run`, `slate.flows.shot`) are not mapped: they import the
room. No type a run stores was defined in those two modules (tasks/run/run.py holds the run and its
crew, flows/shot/shot.py the take loops' outcomes, kept in memory), so nothing stored names them.

This module must never import a moved module before an old name is asked for (it is installed by
`import slate.tasks`, which is cheap), and product code never imports an old name
(tests/unit/test_layering.py): the map is for what was written down, not for code.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from types import ModuleType

#: old name -> the module it names now (one line a moved module)
MOVED: dict[str, str] = {
    "slate.flows.approval": "slate.flows.review.approval",
    "slate.flows.call_sheet": "slate.flows.run.call_sheet",
    "slate.flows.cuts": "slate.flows.edit.cuts",
    "slate.flows.dailies_form": "slate.flows.review.dailies_form",
    "slate.flows.lane": "slate.flows.shot.lane",
    "slate.flows.lifeline": "slate.flows.run.lifeline",
    "slate.flows.logs": "slate.flows.run.logs",
    "slate.flows.lot": "slate.flows.run.lot",
    "slate.flows.options": "slate.flows.run.options",
    "slate.flows.outcome": "slate.flows.run.outcome",
    "slate.flows.passes": "slate.flows.shot.passes",
    "slate.flows.reports": "slate.flows.review.reports",
    "slate.flows.rushes": "slate.flows.review.rushes",
    "slate.flows.scene_approval": "slate.flows.review.scene_approval",
    "slate.flows.scene_finish": "slate.flows.edit.scene_finish",
    "slate.flows.scene_lipsync": "slate.flows.shot.scene_lipsync",
    "slate.flows.scene_music": "slate.flows.edit.scene_music",
    "slate.flows.scene_result": "slate.flows.run.scene_result",
    "slate.flows.scene_speech": "slate.flows.shot.scene_speech",
    "slate.flows.scene_upscale": "slate.flows.shot.scene_upscale",
    "slate.flows.units": "slate.flows.run.units",
    "slate.tasks.assembly": "slate.tasks.edit.assembly",
    "slate.tasks.audio_check": "slate.tasks.run.audio_check",
    "slate.tasks.audition": "slate.tasks.workshop.audition",
    "slate.tasks.bible": "slate.tasks.workshop.bible",
    "slate.tasks.bible_lock": "slate.tasks.run.bible_lock",
    "slate.tasks.cache": "slate.tasks.run.cache",
    "slate.tasks.can": "slate.tasks.run.can",
    "slate.tasks.circle": "slate.tasks.review.circle",
    "slate.tasks.clapper": "slate.tasks.run.clapper",
    "slate.tasks.clip_passes": "slate.tasks.shot.clip_passes",
    "slate.tasks.conform": "slate.tasks.edit.conform",
    "slate.tasks.conform_manifest": "slate.tasks.edit.conform_manifest",
    "slate.tasks.conform_trace": "slate.tasks.edit.conform_trace",
    "slate.tasks.continuity": "slate.tasks.gates.continuity",
    "slate.tasks.coverage": "slate.tasks.workshop.coverage",
    "slate.tasks.deviations": "slate.tasks.gates.deviations",
    "slate.tasks.doctor": "slate.tasks.run.doctor",
    "slate.tasks.drift": "slate.tasks.gates.drift",
    "slate.tasks.easel": "slate.tasks.shot.easel",
    "slate.tasks.edit_check": "slate.tasks.workshop.edit_check",
    "slate.tasks.edl": "slate.tasks.edit.edl",
    "slate.tasks.escalations": "slate.tasks.review.escalations",
    "slate.tasks.events": "slate.tasks.run.events",
    "slate.tasks.export": "slate.tasks.edit.export",
    "slate.tasks.faceswap": "slate.tasks.shot.faceswap",
    "slate.tasks.finish": "slate.tasks.edit.finish",
    "slate.tasks.finish_check": "slate.tasks.edit.finish_check",
    "slate.tasks.gate": "slate.tasks.gates.gate",
    "slate.tasks.gate_inputs": "slate.tasks.gates.gate_inputs",
    "slate.tasks.graded": "slate.tasks.edit.graded",
    "slate.tasks.jobs": "slate.tasks.shot.jobs",
    "slate.tasks.judge_reading": "slate.tasks.gates.judge_reading",
    "slate.tasks.judge_trial": "slate.tasks.review.judge_trial",
    "slate.tasks.keyframes": "slate.tasks.gates.keyframes",
    "slate.tasks.lint": "slate.tasks.run.lint",
    "slate.tasks.lipsync": "slate.tasks.shot.lipsync",
    "slate.tasks.memo": "slate.tasks.run.memo",
    "slate.tasks.music": "slate.tasks.edit.music",
    "slate.tasks.panel": "slate.tasks.shot.panel",
    "slate.tasks.plan": "slate.tasks.shot.plan",
    "slate.tasks.preflight": "slate.tasks.run.preflight",
    "slate.tasks.production_report": "slate.tasks.review.production_report",
    "slate.tasks.recipe": "slate.tasks.shot.recipe",
    "slate.tasks.reel": "slate.tasks.run.reel",
    "slate.tasks.reference_gate": "slate.tasks.gates.reference_gate",
    "slate.tasks.reference_shots": "slate.tasks.run.reference_shots",
    "slate.tasks.references": "slate.tasks.gates.references",
    "slate.tasks.results": "slate.tasks.edit.results",
    "slate.tasks.run_plan": "slate.tasks.run.run_plan",
    "slate.tasks.sheet_check": "slate.tasks.gates.sheet_check",
    "slate.tasks.slots": "slate.tasks.run.slots",
    "slate.tasks.speech": "slate.tasks.shot.speech",
    "slate.tasks.spotting": "slate.tasks.edit.spotting",
    "slate.tasks.stitch": "slate.tasks.edit.stitch",
    "slate.tasks.subtitles": "slate.tasks.edit.subtitles",
    "slate.tasks.take_inputs": "slate.tasks.shot.take_inputs",
    "slate.tasks.take_loop": "slate.tasks.shot.take_loop",
    "slate.tasks.upscale": "slate.tasks.shot.upscale",
    "slate.tasks.verdicts": "slate.tasks.gates.verdicts",
    "slate.tasks.versions": "slate.tasks.run.versions",
    "slate.tasks.video": "slate.tasks.shot.video",
    "slate.tasks.voicing": "slate.tasks.shot.voicing",
}


class OldNames(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds an old name and loads it as the module it names now."""

    def find_spec(self, fullname: str, path: object = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(MOVED[spec.name])
        spec.loader_state = module.__spec__   # the import system sets the old spec on it: put back in exec
        return module

    def exec_module(self, module: ModuleType) -> None:
        # Already run under its own name; only its spec is put back, so it still says where it lives.
        spec = module.__spec__
        if spec is not None and spec.loader_state is not None:
            module.__spec__ = spec.loader_state


def install() -> None:
    """Once a process: old names are found before the path is searched (they are no files)."""
    if not any(isinstance(finder, OldNames) for finder in sys.meta_path):
        sys.meta_path.insert(0, OldNames())
