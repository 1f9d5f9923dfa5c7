"""What a person sees on a run's page in the Prefect UI: its artifacts.

Per scene run (on the run the person opened, not on a sub-flow): a validation table (shot,
verdict, gate scores, takes, continuity, drift, cost, and an escalated shot's best take with its
failing scores and the judge's reasons), the references table (each turnaround
and plate at the reference gate, its scores and warnings), a cost report (by stage, provider and shot, against the
caps), a progress bar moved as shots finish, the contact sheet as an image the UI shows (put up
as soon as the panels are judged, while a person is asked to approve), and the output as a
moving picture the UI plays (an animated preview: a link to a file on the worker's disk is one
no browser follows). Per film run: a wrap report (cost, takes, escalations, refusals, re-anchors,
approvals). Keys carry the film, the scene and the profile, so draft, final and hero never
overwrite each other. The scene's escalations are also written to the ledger
(tasks/review/escalations.py) for `slate escalations`, and the contact sheet's entries (panels and
keyframes with verdict badges, failing scores, drift and continuity figures) are made here as
plain data for media/contact.py to draw.

It must never fail a run: a contact sheet, a preview, a table or a report that cannot be made is
left out, and said as a warning on the run (`warn`): on its log, where the Prefect UI shows it,
and as a line the CLI prints (a `RunWarning` event).
"""
from __future__ import annotations

import base64
import contextvars
import io
import logging
import re
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from PIL import Image
from prefect import get_run_logger
from prefect.exceptions import MissingContextError
from prefect.artifacts import (create_image_artifact, create_link_artifact, create_markdown_artifact,
                               create_progress_artifact, create_table_artifact, update_progress_artifact)

from slate.flows.run.outcome import made_here
from slate.flows.run.scene_result import SceneResult, ShotReport
from slate.tasks.shot.lipsync import LineSync
from slate.flows.shot.shot import ClipOutcome, PanelOutcome, Take, best_take
from slate.governor.gates import against
from slate.governor.ledger import CallRow, Ledger
from slate.governor.money import fmt_usd
from slate.manifests import LoadedFilm
from slate.manifests.settings import Settings
from slate.media import ContactEntry
from slate.tasks.review import escalations
from slate.tasks.shot.plan import ShotPlan
from slate.tasks.run.run import Run, emit, listen
from slate.tasks.run.events import Event, ScenePlanned, ShotMoved

if TYPE_CHECKING:
    from slate.flows.review.approval import LocalFile

KEYFRAMES = ("first", "middle", "last")
T = TypeVar("T")


def key(*parts: str) -> str:
    """An artifact key: lowercase letters, digits and dashes."""
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]+", "-", "-".join(parts).lower())).strip("-")[:100]


def warn(what: str, exc: BaseException, scene: str = "") -> str:
    """`what` could not be made, and the run goes on: a warning on the run's log and a line for
    whoever watches it (the CLI prints it). Returns the line."""
    said = " ".join(str(exc).split())
    line = f"{what} was not made ({type(exc).__name__}: {said[:300]}{'...' if len(said) > 300 else ''}); " \
           "the run goes on without it"
    try:
        get_run_logger().warning(line)
    except MissingContextError:   # outside a flow or task run (a script, a test): slate's own log
        logging.getLogger("slate.reports").warning(line)
    emit(None, event="warning", scene=scene, line=line)
    return line


def _safe(make: Callable[[], T], what: str = "an artifact on the run's page", scene: str = "") -> T | None:
    try:
        return make()
    except Exception as exc:  # noqa: BLE001 — a report must never fail a paid run
        warn(what, exc, scene)
        return None


class ProgressArtifact:
    """The scene's progress artifact, moved as its shots' videos are approved, escalated or
    halted.

    It listens to its own scene only (a film's scenes run at once in one process: listening to
    all of them, each scene's bar moved with every other scene's shots, four requests where one
    was due). The shot's thread only counts; a thread of its own sends the latest figure, at most
    every PUSH_SECONDS: a request to a busy server must never hold up a shot's next take."""

    PUSH_SECONDS = 2.0

    def __init__(self, artifact_id: UUID | None, scene: str, shots: int = 1, run: Run | None = None):
        self.artifact_id, self.scene, self.shots = artifact_id, scene, max(1, shots)
        self.done: set[str] = set()
        self._moved, self._stopped = threading.Event(), threading.Event()
        self._sent = 0.0  # the bar is made at 0
        # The run's events (its crew's listeners); every run's, for a bar made outside one.
        self.stop_listening = listen(self, run if isinstance(run, Run) else None)
        self._pusher: threading.Thread | None = None
        if artifact_id is not None:
            # The run's context goes with it: the server it talks to and the run it logs to.
            self._pusher = threading.Thread(target=contextvars.copy_context().run, args=(self._push,),
                                            name=f"progress {scene}", daemon=True)
            self._pusher.start()

    def __call__(self, event: Event) -> None:
        if event.scene != self.scene:
            return
        if isinstance(event, ScenePlanned):
            self.shots = max(1, len(event.shots))
            return
        if isinstance(event, ShotMoved) and event.stage == "video" and event.status in ("approved", "escalated",
                                                                                         "halted"):
            self.done.add(event.shot)
            self._moved.set()

    @property
    def figure(self) -> float:
        return 100.0 * min(len(self.done), self.shots) / self.shots

    def _push(self) -> None:
        while True:
            self._moved.wait()
            if self._stopped.is_set():
                return  # the last figure is sent by stop(), on the scene's thread
            self._moved.clear()
            figure = self.figure
            if figure != self._sent:
                self._send(figure)
            self._stopped.wait(self.PUSH_SECONDS)

    def _send(self, figure: float) -> None:
        artifact_id = self.artifact_id
        if artifact_id is not None:   # sent only for a bar that was made
            sent = _safe(lambda: update_progress_artifact(artifact_id, figure) or True,
                         f"the progress bar of scene {self.scene}", self.scene)
            if sent is None:
                self.artifact_id = None   # said once: the bar stays where it got to
        self._sent = figure

    def stop(self) -> None:
        """Stop listening and pushing; the bar keeps the last figure (sent now if it moved)."""
        self.stop_listening()
        if self._stopped.is_set():
            return
        self._stopped.set()
        self._moved.set()  # wakes the pusher, which sees the stop
        if self._pusher is not None:
            self._pusher.join(timeout=30)
            if self.figure != self._sent:
                self._send(self.figure)

    def finish(self) -> None:
        """The bar at 100: the scene is done, whatever its shots came to."""
        self.stop()
        if self.artifact_id is not None and self._sent != 100.0:
            self._send(100.0)


def start_progress(run: Run) -> ProgressArtifact:
    artifact = _safe(lambda: made_here(create_progress_artifact(
        0.0, key=key(run.film, run.scene, run.profile, "progress"),
        description=f"scene {run.scene} ({run.profile}): shots finished")),
        f"the progress bar of scene {run.scene}", run.scene)
    return ProgressArtifact(artifact, run.scene, run=run)


def image_data_url(path: Path, width: int = 1280) -> str:
    """The contact sheet as a JPEG data URL: the UI shows it with no file server behind it."""
    with Image.open(path) as opened:
        img = opened.convert("RGB")
        img.thumbnail((width, width))
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=82)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


def scene_artifacts(run: Run, result: SceneResult) -> None:
    """The scene run's artifacts (see the module docstring); none of them ever fails the run."""
    _safe(lambda: escalations.record(run, run.crew.governor, result.shots),
          f"the escalations of scene {run.scene} in the ledger", run.scene)
    rows = _safe(lambda: [r for r in run.crew.governor.ledger.rows(film=run.film, run_id=run.run_id)
                          if r.scene == run.scene], f"the reports of scene {run.scene} (its ledger rows)", run.scene)
    if rows is not None:
        _tables(run, result, rows)
    if result.contact_sheet and Path(result.contact_sheet).is_file():
        contact_sheet_artifact(run, Path(result.contact_sheet))
    if result.output:
        output_artifact(key(run.film, run.scene, run.profile, "output"), Path(result.output),
                        f"scene {run.scene} ({run.profile}): {result.duration or 0:.2f} s at "
                        f"{result.width}x{result.height}", scene=run.scene)


def _tables(run: Run, result: SceneResult, rows: list[CallRow]) -> None:
    """The validation table, the references table and the cost report of a scene run."""
    base = (run.film, run.scene, run.profile)

    def validation() -> list[dict[str, Any]]:
        cost_by_shot: dict[str, Decimal] = defaultdict(Decimal)
        for r in rows:
            if r.status in ("succeeded", "failed", "submitted", "unknown"):
                cost_by_shot[r.shot] += r.actual_cost if r.actual_cost is not None else r.estimate
        scores = _gate_scores(run, rows)
        return [{"shot": s.shot, "verdict": s.status, "gate scores": scores.get(s.shot, ""),
                 "panel takes": s.panel_takes, "video takes": s.video_takes,
                 "continuity": "" if s.continuity is None else f"{s.continuity:.2f}",
                 "drift": _drift_text(s), "started from": s.started_from,
                 "cost": fmt_usd(cost_by_shot.get(s.shot, Decimal(0))), "why": s.reason[:200],
                 "best take": best_take_text(s.best_take)} for s in result.shots]
    _safe(lambda: create_table_artifact(validation(), key=key(*base, "validation"),
                                        description=f"scene {run.scene} ({run.profile}): every shot's verdict"),
          f"the validation table of scene {run.scene}", run.scene)
    def refs() -> list[dict[str, Any]]:
        return [{"reference": r.key, "verdict": "unjudged" if r.unjudged else "passed" if r.passed else "refused",
                 "scores": r.scores, "warnings": "; ".join(r.warnings)[:300]} for r in result.references]
    if result.references:
        _safe(lambda: create_table_artifact(refs(), key=key(*base, "references"),
                                            description=f"scene {run.scene}: every turnaround and plate at the "
                                                        "reference gate"),
              f"the references table of scene {run.scene}", run.scene)
    _safe(lambda: create_markdown_artifact(cost_report(run, rows, result), key=key(*base, "cost"),
                                           description=f"scene {run.scene} ({run.profile}): what it cost"),
          f"the cost report of scene {run.scene}", run.scene)


def contact_sheet_artifact(run: Run, sheet: Path) -> None:
    """The contact sheet as an image on the run's page (its key is the scene's and profile's)."""
    _safe(lambda: create_image_artifact(image_data_url(sheet), key=key(run.film, run.scene, run.profile,
                                                                       "contact-sheet"),
                                        description=f"scene {run.scene} ({run.profile}): every shot's panel and "
                                                    f"keyframes with their verdicts; the file: {sheet}"),
          f"the contact sheet of scene {run.scene} on the run's page", run.scene)


def output_artifact(name: str, output: Path, what: str, scene: str = "") -> None:
    """A cut as a moving picture on the run's page (an animated preview, 2 frames a second),
    the file's place in its description."""
    from slate.media import animated_preview
    _safe(lambda: create_image_artifact(
        "data:image/webp;base64," + base64.b64encode(animated_preview(output)).decode(), key=name,
        description=f"{what}; a preview at 2 frames a second — the file: {output.resolve()}"),
        f"the preview of {output.name}", scene)


def best_take_text(best: dict[str, Any] | None) -> str:
    """An escalated shot's best take in a line: which take, and its failing scores with reasons."""
    if not best:
        return ""
    return (f"{best['stage']} {best['moment']} take {best['take']} (quality {best['quality']:+.2f}): "
            + "; ".join(best.get("reasons") or ["no failing score recorded"]))[:400]


# -- the contact sheet's entries ---------------------------------------------------------------
def contact_columns(clips: dict[str, ClipOutcome] | None) -> int:
    """A shot a row: its panel, then (once there are clips) its first, middle and last frames."""
    return 3 if clips is None else 1 + len(KEYFRAMES)


def contact_entries(plans: list[ShotPlan], panels: dict[str, PanelOutcome], clips: dict[str, ClipOutcome] | None,
                    open_local: LocalFile, spoken: dict[str, list[str]] | None = None) -> list[ContactEntry]:
    """The contact sheet as plain data: per shot its panel entry and, with clips, one entry per
    keyframe; each with its verdict badge and the lines a person reads under it. A shot's lines of
    dialogue (`spoken`: shot -> "speaker: “text”") are read under its first keyframe once there
    are clips, else under its panel, after the gates' notes: the words belong to the moving shot."""
    entries = []
    for plan in plans:
        p = panels[plan.shot]
        said = tuple((spoken or {}).get(plan.shot, []))
        c = (clips or {}).get(plan.shot)
        if c is not None and c.lip_sync:   # each on-camera line's sync, as the gate measured it
            said += tuple(sync_note(r) for r in c.lip_sync)
        panel = _panel_entry(plan.shot, p, open_local)
        if clips is None:
            entries.append(replace(panel, lines=panel.lines + said) if said else panel)
            continue
        entries.append(panel)
        frames = _keyframe_entries(plan.shot, p, clips.get(plan.shot), open_local)
        if said and frames:
            frames[0] = replace(frames[0], lines=frames[0].lines + said)
        entries += frames
    return entries


def sync_note(reading: LineSync) -> str:
    """One on-camera line's lip-sync as a person reads it: "lips jenny +8 ms (0.93)"."""
    at = "?" if reading.offset_ms is None else f"{reading.offset_ms:+.0f} ms"
    return f"lips {reading.speaker} {at} ({reading.confidence:.2f})" + (
        "" if reading.verdict == "passed" else f" {reading.verdict.upper().replace('_', ' ')}")


def spoken_lines_of(film: LoadedFilm, scene: str) -> dict[str, list[str]]:
    """Each shot's lines of dialogue as a contact sheet shows them: `speaker: “text”`."""
    try:
        shots = film.scene(scene).shots
    except KeyError:
        return {}
    return {s.id: [line.quoted() for line in s.dialogue] for s in shots if s.dialogue}


def _image(open_local: LocalFile, uri: str | None) -> Path | None:
    if not uri:
        return None
    try:
        return open_local(uri)
    except (OSError, ValueError):  # an image gone from storage is an empty thumbnail, not a lost sheet
        return None


def _lowest(take: Take) -> list[str]:
    blocking = [s for s in take.scores if s.role == "block"]
    low = min(blocking, key=lambda s: s.value - s.threshold, default=None)
    return [f"lowest: {low.name} {against(low.value, low.threshold, '/')}"] if low else []


def _panel_entry(shot: str, p: PanelOutcome, open_local: LocalFile) -> ContactEntry:
    takes = [t for t in p.takes if t.moment == "start"]
    approved = p.approved.get("start")
    shown = (best_take(p) if p.escalated else
             next((t for t in reversed(takes) if t.uri == approved), takes[-1] if takes else None))
    if p.escalated:
        verdict, lines = "escalated", (shown.reasons if shown and shown.reasons else [p.escalated])
    elif p.halted:
        verdict, lines = "halted", [p.halted]
    elif approved and shown is not None and shown.unjudged:
        verdict, lines = "unjudged", ["not judged (--cannot-judge warn):", *shown.unjudged]
    elif approved and shown is not None and shown.warnings:
        verdict, lines = "warn", shown.warnings + _lowest(shown)
    elif approved:
        verdict, lines = "pass", _lowest(shown) if shown else []
    else:
        verdict, lines = "missing", []
    label = f"{shot} panel" + (f" {shown.moment} take {shown.take}" if shown else "")
    return ContactEntry(label=label, image=_image(open_local, shown.uri if shown else approved), verdict=verdict,
                        detail=f"{len(p.takes)} take(s)", lines=tuple(lines))


def _keyframe_entries(shot: str, p: PanelOutcome, c: ClipOutcome | None, open_local: LocalFile) -> list[ContactEntry]:
    judged = [t for t in (c.takes if c else []) if t.uri]
    passed = [t for t in judged if t.passed]
    shown = passed[-1] if passed else (max(judged, key=lambda t: t.quality) if judged else None)
    if c is None or shown is None:
        why = ("not animated" if p.escalated else c.rejected if c and c.rejected else
               c.halted if c and c.halted else c.escalated if c and c.escalated else "no clip")
        verdict = "halted" if (c and c.halted) or p.halted else "rejected" if c and c.rejected else "missing"
        return [ContactEntry(f"{shot} {name}", None, verdict, why if name == "first" else "") for name in KEYFRAMES]
    if c.escalated:
        verdict = "escalated"
    elif c.halted:
        verdict = "halted"
    elif shown.unjudged or (c.cut is not None and c.cut.unjudged):
        verdict = "unjudged"
    elif c.reanchor:
        verdict = "re-anchored"
    elif shown.warnings:
        verdict = "warn"
    else:
        verdict = "pass"
    escalated_take = best_take(p, c) if c.escalated else None
    first = list(escalated_take.reasons if escalated_take else shown.reasons) or \
        (["not judged (--cannot-judge warn):", *shown.unjudged] if shown.unjudged else []) or \
        shown.warnings or _lowest(shown)
    first = [f"from {c.started_from}"] + first
    middle = []
    if c.continuity is not None:
        middle.append(f"continuity {c.continuity:.2f}" + (f" ({c.cut.moment})" if c.cut else ""))
    if c.cut is not None and not c.cut.passed:
        middle += c.cut.reasons
    last = _drift_lines(c)
    notes = {"first": first, "middle": middle, "last": last}
    return [ContactEntry(label=f"{shot} {name}" + (f" (clip take {shown.take})" if name == "first" else ""),
                         image=_image(open_local, shown.keyframes.get(name)), verdict=verdict,
                         detail=f"{len(c.takes)} take(s)" if name == "first" else "", lines=tuple(notes[name]))
            for name in KEYFRAMES]


def _drift_lines(c: ClipOutcome) -> list[str]:
    d = c.drift
    if not d:
        return []
    lines = [f"drift {d.drift:.2f} / {d.threshold:.2f}" + (" -> next shot re-anchors" if c.reanchor else ""),
             f"SSIM {d.ssim:.2f}, colour {d.colour_distance:.2f}"
             + (f", plate {d.colour_to_plate:.2f}" if d.colour_to_plate is not None else "")]
    lines.append(f"CLIP panel {d.clip.panel:.2f}" if d.clip else "CLIP off")
    if d.content:
        lines.append(d.content)
    return lines


def _drift_text(shot: ShotReport) -> str:
    d = shot.drift_detail
    if not d:
        return ""
    clip = f", CLIP {d['clip']['panel']:.2f}" if d.get("clip") else ", CLIP off"
    return (f"{d['drift']:.2f} (SSIM {d['ssim']:.2f}, colour {d['colour_distance']:.2f}{clip})"
            + (" → re-anchored" if shot.reanchored else ""))


def _gate_scores(run: Run, rows: list[CallRow]) -> dict[str, str]:
    """Each shot's lowest gate score (against its threshold), read from the stored verdicts."""
    import json
    storage = run.crew.storage
    out = {}
    for r in rows:
        if r.stage not in ("panel_gate", "keyframe_gate") or r.status != "succeeded" or not r.artifact_uri:
            continue
        try:
            verdict = json.loads(storage.get_bytes(r.artifact_uri))
        except Exception:  # noqa: BLE001 — a lost verdict leaves the column empty
            continue
        low = min(verdict.get("scores", []), key=lambda s: s["value"] - s["threshold"], default=None)
        if low:
            out[r.shot] = f"{r.stage.split('_')[0]} {low['name']} {against(low['value'], low['threshold'])}"
    return out


def cost_report(run: Run, rows: list[CallRow], result: SceneResult) -> str:
    by_stage: dict[str, Decimal] = defaultdict(Decimal)
    by_provider: dict[str, Decimal] = defaultdict(Decimal)
    by_shot: dict[str, Decimal] = defaultdict(Decimal)
    refusals = 0
    for r in rows:
        if r.status == "refused":
            refusals += 1
        if r.status not in ("succeeded", "failed", "submitted", "unknown"):
            continue
        cost = r.actual_cost if r.actual_cost is not None else r.estimate
        by_stage[r.stage] += cost
        by_provider[f"{r.provider}:{r.model}"] += cost
        by_shot[r.shot] += cost
    gov = run.crew.governor
    caps = "; ".join(f"{c.label} {fmt_usd(c.limit)}" for c in gov.caps)

    def table(d: dict[str, Decimal]) -> str:
        return "\n".join(f"| {k} | {fmt_usd(v)} |" for k, v in sorted(d.items()))
    return (f"# Cost of scene {run.scene} ({run.profile})\n\n"
            f"Spent by this run on this scene: **{fmt_usd(Decimal(result.spent_usd))}**; {caps}; "
            f"the caps still allow {fmt_usd(gov.remaining())}. Calls refused by a cap: {refusals}.\n\n"
            f"| stage | cost |\n|---|---|\n{table(by_stage)}\n\n"
            f"| provider:model | cost |\n|---|---|\n{table(by_provider)}\n\n"
            f"| shot | cost |\n|---|---|\n{table(by_shot)}\n"
            + against_estimate(rows, result)
            + (f"\nApproval: {result.approval}\n" if result.approval else "")
            + (f"\nHalted: {result.halted}\n" if result.halted else ""))


def _per_second(amount: Decimal, seconds: Decimal) -> str:
    return fmt_usd(amount / seconds) + "/s" if seconds > 0 else "no picture delivered"


def why_it_differs(rows: list[CallRow], results: list[SceneResult]) -> list[str]:
    """Why what was spent is not the estimate's one take per shot: retakes, refusals, fallbacks,
    shots that spent and delivered nothing, takes that cost nothing (made before, found cached)."""
    paid = [r for r in rows if r.status in ("succeeded", "failed", "submitted", "unknown")]

    def cost(rs: list[CallRow]) -> Decimal:
        return sum((r.actual_cost if r.actual_cost is not None else r.estimate for r in rs), Decimal(0))

    said = []
    retakes = [r for r in paid if r.take > 1 and r.stage in ("panel", "video", "panel_gate", "keyframe_gate")]
    if retakes:
        said.append(f"retakes: {len([r for r in retakes if r.stage in ('panel', 'video')])} takes past the first "
                    f"and their gates, {fmt_usd(cost(retakes))}")
    refused = [r for r in rows if r.status == "refused"]
    moderated = [r for r in rows if r.error_class == "RefusedByModeration"]
    if refused or moderated:
        said.append(f"refusals: {len(refused)} calls refused by a cap, {len(moderated)} by moderation "
                    f"({fmt_usd(cost(moderated))} paid for those)")
    switched = [r.error_message for r in rows if r.error_class in ("FallbackSwitch", "FallbackHeld")]
    if switched:
        said.append(f"fallbacks: {len(switched)} ({'; '.join(m for m in switched if m)[:300]})")
    lost = [f"{sc.scene}/{s.shot}" for sc in results for s in sc.shots
            if s.status in ("escalated", "halted", "rejected") and not s.picture_kept]
    if lost:
        spent_on = cost([r for r in paid if f"{r.scene}/{r.shot}" in lost])
        said.append(f"not delivered: {', '.join(lost)} ({fmt_usd(spent_on)} spent on them, no picture)")
    if not paid and any(sc.output for sc in results):
        said.append("nothing paid: every take was made before and found in the cache")
    return said or ["none: one take per shot, as estimated"]


def against_estimate(rows: list[CallRow], result: SceneResult) -> str:
    """A scene's cost per delivered second next to its estimate before the run, and why they differ."""
    est = result.estimate or {}
    spent = Decimal(result.spent_usd or "0")
    seconds = Decimal(str(result.duration or 0))
    line = f"\nCost per delivered second: **{_per_second(spent, seconds)}** ({fmt_usd(spent)} for {seconds:.2f} s"
    if not est:
        return line + ").\n"
    planned = Decimal(est["planned_seconds"])
    low, high = Decimal(est["low"]), Decimal(est["high"])
    return (line + f" of {planned} s planned). Estimated before the run: {fmt_usd(low)} .. {fmt_usd(high)} "
            f"(expected {fmt_usd(Decimal(est['expected']))}), {_per_second(low, planned)} .. "
            f"{_per_second(high, planned)}.\n\nWhy they differ: " + "; ".join(why_it_differs(rows, [result])) + "\n")


def wrap_report(film: str, profile: str, run_id: str, ledger: Ledger, scenes: list[SceneResult]) -> str:
    """The film run's wrap: what it cost, and everything a person should know in the morning."""
    rows = ledger.rows(film=film, run_id=run_id)
    spent = ledger.totals(film=film, run_id=run_id).committed
    takes = sum(s.panel_takes + s.video_takes for sc in scenes for s in sc.shots)
    escalated = [f"{sc.scene}/{s.shot}" for sc in scenes for s in sc.shots if s.status == "escalated"]
    rejected = [f"{sc.scene}/{s.shot}" for sc in scenes for s in sc.shots if s.status == "rejected"]
    reanchored = [f"{sc.scene}/{s.shot}" for sc in scenes for s in sc.shots if s.reanchored]
    refusals = [r for r in rows if r.status == "refused" or r.error_class == "RefusedByModeration"]
    approvals = [a.message for a in ledger.approvals(film=film, run_id=run_id, stage="approval")
                 if a.message is not None]
    fallbacks = [r.error_message for r in rows
                 if r.error_class in ("FallbackSwitch", "FallbackHeld") and r.error_message is not None]
    lines = [f"# Wrap: film {film} ({profile})", "",
             f"- spent this run: **{fmt_usd(spent)}** in {sum(1 for r in rows if r.status == 'succeeded')} paid "
             f"calls; {takes} takes",
             "- scenes: " + ", ".join(f"{sc.scene} ({'done' if sc.output else 'no output'})" for sc in scenes),
             f"- escalated: {', '.join(escalated) or 'none'}",
             f"- rejected at approval: {', '.join(rejected) or 'none'}",
             f"- refusals (caps, moderation): {len(refusals)}",
             f"- re-anchored chains: {', '.join(reanchored) or 'none'}",
             f"- approvals: {'; '.join(approvals) or 'none asked'}",
             f"- fallback switches: {'; '.join(fallbacks) or 'none'}"]
    lines += ["", "## Cost per delivered second", "", "| scene | spent | delivered | per second | estimated before "
              "the run | estimate per second |", "|---|---|---|---|---|---|"]
    total_est = {"low": Decimal(0), "high": Decimal(0), "planned": Decimal(0)}
    for sc in scenes:
        spent_sc = Decimal(sc.spent_usd or "0")
        seconds = Decimal(str(sc.duration or 0))
        est = sc.estimate or {}
        if est:
            planned, low, high = Decimal(est["planned_seconds"]), Decimal(est["low"]), Decimal(est["high"])
            total_est = {"low": total_est["low"] + low, "high": total_est["high"] + high,
                         "planned": total_est["planned"] + planned}
            said = (f"{fmt_usd(low)} .. {fmt_usd(high)}", f"{_per_second(low, planned)} .. {_per_second(high, planned)}")
        else:
            said = ("–", "–")
        lines.append(f"| {sc.scene} | {fmt_usd(spent_sc)} | {seconds:.2f} s | {_per_second(spent_sc, seconds)} | "
                     f"{said[0]} | {said[1]} |")
    delivered = sum((Decimal(str(sc.duration or 0)) for sc in scenes), Decimal(0))
    spent_all = sum((Decimal(sc.spent_usd or "0") for sc in scenes), Decimal(0))
    lines.append(f"| **film** | {fmt_usd(spent_all)} | {delivered:.2f} s | {_per_second(spent_all, delivered)} | "
                 f"{fmt_usd(total_est['low'])} .. {fmt_usd(total_est['high'])} | "
                 f"{_per_second(total_est['low'], total_est['planned'])} .. "
                 f"{_per_second(total_est['high'], total_est['planned'])} |")
    lines += ["", "Why they differ: " + "; ".join(why_it_differs(rows, scenes))]
    return "\n".join(lines)


def markdown_artifact(markdown: Callable[[], str], name: str, description: str, what: str) -> None:
    """A markdown artifact on the run's page, written (and made) so that it never fails the run."""
    _safe(lambda: create_markdown_artifact(markdown(), key=name, description=description), what)


def film_wrap(film: str, profile: str, run_id: str, ledger: Ledger, scenes: list[SceneResult]) -> None:
    _safe(lambda: create_markdown_artifact(wrap_report(film, profile, run_id, ledger, scenes),
                                           key=key(film, profile, "wrap"),
                                           description=f"film {film} ({profile}): the wrap report"),
          f"the wrap report of film {film}")


def production_report(root: Path, film: LoadedFilm, settings: Settings, artifact_key: str) -> Path | None:
    """Write the film's production report (tasks/review/production_report.py) and link it on this run.
    Like every artifact here, it never fails the run: a report that cannot be written is a warning."""
    def publish() -> Path:
        from slate.providers.registry import storage_for
        from slate.flows.review.rushes import dailies_by_profile
        from slate.tasks.review.production_report import build
        page = build(Path(root), film, settings, storage_for(Path(root)), dailies=dailies_by_profile(root, film))
        create_link_artifact(link=page.as_uri(), link_text=f"production report of {film.film.id}", key=artifact_key,
                             description=f"film {film.film.id} ({settings.profile}): every shot's panels, clips, "
                                         "verdicts, prompts and costs; the bible and its versions")
        return page
    return _safe(publish, f"the production report of film {film.film.id}")
