"""Reference gate: before a scene spends, every turnaround and plate it uses is held to the gate
policy's "reference" stage, once per content hash.

The reference check (tasks/gates/references.py) has already read each file safely (a PNG or JPEG,
within the byte and pixel limits) and locked its hash. Here each is judged:

- a turnaround by slate's own reading of the sheet (media/sheet.py: the views stand apart on a
  plain ground, one figure each, the same height, the same outfit and head colours) and, when
  the run's judge is a vision model that offers `judge_turnaround`, by that judge (one
  character, the same person in every view, no artefacts): a paid call through the governor,
  kept in the ledger by the sheet's content, so no run ever pays twice for the same sheet;
- a plate by slate's measure that it has a picture in it (not a flat fill);
- with the local judge, a turnaround's outfit also against the colours its locked description
  names (`turnaround_colours`: a free reading of the pixels and the words, no request, nothing
  billed, so it is read here like slate's own measures rather than called through the governor).

A sheet or plate that fails slate's content check (media/content.py: no figure on the sheet, a
flat, black, washed-out or noise-drowned plate) is never shown to a paid judge.

The verdicts are cached by content (the file's hash, the judge, the policy's fingerprint): a
changed sheet is judged again, an unchanged one never. A reference whose verdict fails stops
the scene before any paid call for panels or clips, as a "Refused" state naming the manifest,
the field, the file and the failing scores. `sheet_problems` (tasks/gates/sheet_check.py) gives the same verdict from
slate's own measures to `slate check` (free, nothing stored).

It must never change a reference, and never call a judge except through the governor.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, TypeGuard

from prefect import get_run_logger, task
from prefect.client.schemas.objects import State
from prefect.states import Failed

from slate.governor.chokepoint import CallSpec, RunHalted, ShotHalted, Usage
from slate.governor.estimate import IMAGE_TOKENS, VERDICT_TOKENS
from slate.governor.gates import GatePolicy, judge_kind
from slate.manifests import LoadedFilm
from slate.providers.base import Judge, Verdict, fingerprint
from slate.providers.errors import ProviderError
from slate.tasks.run.cache import ContentKey
from slate.tasks.run.run import Run, emit, in_project
from slate.tasks.gates.gate import ask_judge
from slate.tasks.gates.references import BibleLock, Need
from slate.tasks.gates.sheet_check import content_failed, gated_needs, hold, measured, named_colours
from slate.tasks.gates.gate_inputs import Judging, ReferenceInput
from slate.tasks.gates.verdicts import ReferenceVerdict
from slate.tasks.run.versions import REFERENCE_VERSION  # bumped there


class SheetJudge(Protocol):
    """A vision judge that reads a turnaround sheet (providers/base.py `Judge`: `judge_turnaround`)."""

    def judge_turnaround(self, sheet: Path, character_id: str, description: str, *,
                         client_ref: str | None = None) -> Verdict: ...


def judges_sheets(judge: Judge) -> TypeGuard[SheetJudge]:
    return hasattr(judge, "judge_turnaround")


@task(name="reference-gate", cache_policy=ContentKey(stage=REFERENCE_VERSION), result_serializer="json",
      task_run_name="reference {given.kind} {given.ident}")
def reference_gate(run: Run, given: ReferenceInput) -> ReferenceVerdict:
    """One reference's verdict, held to the policy (`given.judging.policy`: its fingerprint)."""
    st = run.crew
    kind, ident, uri, description = given.kind, given.ident, given.uri, given.description
    judge, model, variant, profile = (given.judging.judge, given.judging.model, given.judging.variant,
                                      given.judging.profile)
    scores = measured(kind, st.storage.get_bytes(uri))
    usage, call_id, judge_obj = None, None, st.judge
    if kind == "character" and judge_kind(judge) == "local" and not content_failed(scores):
        # The local judge's reading of the outfit against the words: free, read like slate's own
        # measures (a flat-top read as a garment drew a green shirt red, and passed).
        scores += named_colours(judge_obj, st.storage.open_local(uri), ident, description)
    sheets = judge_obj if judges_sheets(judge_obj) else None
    if kind == "character" and judge_kind(judge) == "vision" and sheets is not None and not content_failed(scores):
        # Film-wide, not the scene's: every scene that uses this sheet reads the same verdict.
        spec = CallSpec(
            context=run.call_at(f"turnaround:{ident}", "reference_gate", 1, judge, model, profile=profile,
                                    scene="*"),
            units=Usage("judge", input_tokens=IMAGE_TOKENS + 300, output_tokens=VERDICT_TOKENS),
            fingerprint=fingerprint({"sheet": uri, "character": ident, "description": description, "judge": model,
                                     "variant": variant}),
            prompt=f"judge turnaround {ident}", references=(uri,))
        # A lost answer is looked up, or asked again once (written down): never the whole film stopped.
        seen = ask_judge(st, spec, lambda call_id: sheets.judge_turnaround(
            st.storage.open_local(uri), ident, description, client_ref=call_id))
        scores, usage, call_id = seen.get("scores", []) + scores, seen.get("usage"), seen.get("call_id")
    verdict = hold(GatePolicy.load(Path(run.root), run.settings.cannot_judge), scores, judge_kind(judge), profile,
                   judge=judge, usage=usage)
    return ReferenceVerdict.held(verdict, kind=kind, ident=ident, uri=uri, call_id=call_id)


def _description(film: LoadedFilm, need: Need) -> str:
    return film.character(need.ident).description if need.kind == "character" else film.location(need.ident).description


def hold_references(run: Run, film: LoadedFilm, lock: BibleLock) -> tuple[list[ReferenceVerdict], State[Any] | None]:
    """Every reference of the scene through the gate: the verdicts, and a Failed "Refused"
    state naming what failed (None when all passed)."""
    st = run.crew
    verdicts: list[ReferenceVerdict] = []
    refusals: list[str] = []
    for need in gated_needs(film, run.scene):
        ref = (lock.characters if need.kind == "character" else lock.locations)[need.ident]
        try:
            given = ReferenceInput(kind=need.kind, ident=need.ident, uri=ref.uri, description=_description(film, need),
                                   judging=Judging.of(st, run.profile))
            verdict: ReferenceVerdict = in_project(reference_gate, run, given, artifacts=lambda v: [])
        except (RunHalted, ShotHalted, ProviderError) as exc:
            # A cap, a stop, a refused key or an unknown outcome while judging a reference: the
            # scene stops spending as any halted run does (never an exception's traceback).
            if isinstance(exc, ProviderError) and not exc.halts:
                raise
            name = "Stopped" if isinstance(exc, RunHalted) and exc.kind == "stop" else "Halted"
            get_run_logger().error("%s: %s: %s", name.lower(), ref.key, exc)
            return verdicts, Failed(name=name, message=f"reference gate: {need.file}: {need.field}: {ref.key}: {exc}")
        verdict = verdict.model_copy(update={"key": ref.key, "file": need.file, "field": need.field})
        verdicts.append(verdict)
        emit(run, scene=run.scene, stage="reference_gate", ref=ref.key, status="passed" if verdict.passed else "failed",
             reasons=verdict.failing)
        if not verdict.passed:
            refusals.append(f"{need.file}: {need.field}: {ref.key}: {'; '.join(verdict.failing)}")
        for w in verdict.warnings:
            get_run_logger().warning("%s: %s", ref.key, w)
    if not refusals:
        return verdicts, None
    report = "\n".join(refusals)
    get_run_logger().error("a reference did not pass its gate; nothing was generated:\n%s", report)
    return verdicts, Failed(name="Refused", message=f"reference gate: {report}")
