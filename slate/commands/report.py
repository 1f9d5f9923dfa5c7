"""What a person reads of a run: the live table of shots while it runs, and the summary after.

Spending and provider calls are read from the ledger's rows of the run (whatever state it
ended in); nothing here decides anything.

It must never print a key, and never read a manifest's text as markup.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

from rich.table import Table
from rich.text import Text

from slate.commands.shared import console
from slate.tasks.run.events import Event, RunWarning, SceneFinishing, ScenePlanned, ShotMoved, WaitingForPerson


#: How the run table names a stage of a shot's lane after its clip (a pass over the clip by its
#: declared title: tasks/shot/clip_passes.py).
_STAGE_WORDS = {"lipsync": "lip-sync", "sync_gate": "lip-sync check", "speech": "speech", "voice_gate": "voice check",
                "continuity_gate": "continuity"}


def stage_word(stage: str) -> str:
    """What the run table says before a lane stage's status: nothing for the clip itself (its video
    and keyframe gate), else the stage's name as a person reads it."""
    if stage in ("video", "keyframe_gate") or stage.startswith("panel"):
        return ""
    from slate.tasks.shot.clip_passes import passes
    for p in passes():
        if stage == p.name:
            return p.title
        if stage == p.gate:
            return f"{p.title} check"
    return _STAGE_WORDS.get(stage, stage.replace("_", " "))


class LiveTable:
    """A live table of shots: what each is doing, take by take (a scene column once two scenes
    run: their shot ids may repeat)."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], dict] = {}
        self.finishing: dict[str, float] = {}   # scene -> share of its finishing pass done
        self.started = time.time()

    def __call__(self, event: Event) -> None:
        scene = event.scene or ""
        if isinstance(event, SceneFinishing):
            self.finishing[scene] = event.share
            return
        if isinstance(event, ScenePlanned):
            for s in event.shots:
                self.rows.setdefault((scene, s), {"panel": "waiting", "video": "waiting"})
            return
        if not isinstance(event, ShotMoved) or not event.shot:
            return
        # A cue made to a brief ("music:the-mug", issue 59) has no panel: its row says so.
        row = self.rows.setdefault((scene, event.shot), {"panel": "—" if event.shot.startswith("music:") else "waiting",
                                                         "video": "waiting"})
        stage = "panel" if event.stage.startswith("panel") else "video"
        take = f" take {event.take}" if event.take else ""
        moment = f" {event.moment}" if event.moment and stage == "panel" else ""
        # The video column carries the shot's whole lane after its panel: a stage other than the
        # clip and its keyframe gate is named, so "skipped" is the lip-sync's, never the video's.
        said = stage_word(event.stage)
        row[stage] = f"{said + ' ' if said and stage == 'video' else ''}{event.status}{moment}{take}"

    def table(self) -> Table:
        t = Table(title=f"slate run — {time.time() - self.started:.0f}s", expand=False)
        scenes = len({scene for scene, _ in self.rows}) > 1
        if scenes:
            t.add_column("scene")
        t.add_column("shot")
        t.add_column("panel")
        t.add_column("video")
        colour = {"approved": "green", "passed": "green", "failed": "yellow", "escalated": "red", "stuck": "red",
                  "refused": "red"}
        for (scene, shot), row in list(self.rows.items()):
            cells = []
            for key in ("panel", "video"):
                word = next((w for w in row[key].split(" ") if w in colour), "")   # the status, after a stage's name
                cells.append(Text(row[key], style=colour.get(word, "white")))
            t.add_row(*([scene] if scenes else []), shot, *cells)
        if self.finishing:   # the graded cut with its sound, after the stitch (a long pass on a long scene)
            t.caption = "  ".join(f"finishing {scene}: {share:.0%}" for scene, share in self.finishing.items())
        return t


class ProgressLines:
    """When nobody watches a terminal (a nightly's log, a pipe, an agent reading the output), the
    live table draws nothing until the run ends: instead, one line per move that matters — a
    shot's stage started, passed, failed, retaken, escalated or halted, a job waiting — with the
    time since the run began and the first reason. A move the shot already said is not said again."""

    def __init__(self) -> None:
        self.started = time.time()
        self.said: dict[tuple[str, str, str], str] = {}

    def __call__(self, event: Event) -> None:
        if not isinstance(event, ShotMoved) or not event.shot:
            return
        take = f" take {event.take}" if event.take else ""
        moment = f" {event.moment}" if event.moment else ""
        status = f"{event.status}{moment}{take}"
        where = (event.scene or "", event.shot, event.stage)
        reason = f": {event.reasons[0]}" if event.reasons else ""
        line = f"{event.stage} {status}{reason}"
        if self.said.get(where) == line:
            return
        self.said[where] = line
        scene = f"{event.scene}/" if event.scene else ""
        console.print(f"[{time.time() - self.started:6.0f}s] {scene}{event.shot} {line}",
                      markup=False, highlight=False, emoji=False)
        sys.stdout.flush()


def say_waiting(event: Event) -> None:
    """A run that waits for a person says so, in one line, whether or not this is a terminal:
    what it waits for and how to answer (flows/review/approval.py writes the line)."""
    if isinstance(event, WaitingForPerson) and event.line:
        console.print(event.line, style="bold")
        if not console.is_terminal:
            sys.stdout.flush()   # a log file or a pipe sees it now, not when the run ends


def say_warning(event: Event) -> None:
    """Something the run could not make and went on without (a contact sheet, a preview, a
    report: flows/review/reports.py `warn`), one line as it happens; the run's log keeps it too."""
    if isinstance(event, RunWarning):
        console.print(f"warning: {event.line}", style="yellow", markup=False, highlight=False, emoji=False)
        if not console.is_terminal:
            sys.stdout.flush()


def quiet_prefect_console() -> None:
    """Prefect's own console lines off (they still reach the server and the UI): the live table
    and the summary are what a person reads here."""
    import logging

    from prefect.logging.handlers import APILogHandler
    for name in ("prefect", "prefect.flow_runs", "prefect.task_runs", "prefect.server", None):
        for handler in logging.getLogger(name).handlers:
            if not isinstance(handler, APILogHandler):
                handler.setLevel(logging.CRITICAL + 1)


def report_run(result, state, elapsed: float, directory: Path | None = None, run_id: str | None = None) -> None:
    """What the run made, scene by scene, then the film; a person reads this in the morning.
    With the run's id, what it spent and how many provider calls it made are read from the
    ledger's rows of that run, whatever state it ended in (a halted scene has no result)."""
    from slate.governor.money import fmt_usd, usd
    spent = sum((usd(s.spent_usd) for s in result.scenes), usd(0)) if result is not None else usd(0)
    calls = sum(s.provider_calls for s in result.scenes) if result is not None else 0
    notes: list[str] = []
    stuck: list[str] = []
    if directory is not None and run_id:
        spent, calls, notes, stuck = _run_figures(directory, run_id)
    console.print(Text.assemble("state: ", (state.name, "bold"),
                                f"  ({elapsed:.1f}s)  spent this run: {fmt_usd(spent)}"))
    if state.message and state.name not in ("Completed",):
        console.print(f"  {state.message}", highlight=False, markup=False)
    for sc in result.scenes if result is not None else []:
        for shot in sc.shots:
            if shot.status != "approved":
                console.print(f"  {shot.status} {sc.scene}/{shot.shot}: {shot.reason}", highlight=False, markup=False)
        if sc.output:
            console.print(f"output:        {sc.output}  ({sc.duration:.2f}s, {sc.width}x{sc.height})",
                          highlight=False, markup=False)
        console.print(f"contact sheet: {sc.contact_sheet or 'not made (a warning of the run says why)'}",
                      highlight=False, markup=False)
        for extra in sc.deliverables if sc.output else []:   # the profile's mezzanine and poster
            console.print(f"{extra.kind + ':':<15}{Path(sc.output).with_name(extra.file)}", highlight=False,
                          markup=False)
        if directory is not None:
            _finishing_lines(directory, sc.scene, sc.profile)
    if result is not None and result.output:   # a one-scene film's too: its own file in renders/
        console.print(f"film:          {result.output}  ({result.duration:.2f}s)", highlight=False, markup=False)
        for path in getattr(result, "subtitles", None) or []:
            console.print(f"{'subtitles:':<15}{path}", highlight=False, markup=False)
    for note in notes:
        console.print(f"asked again once: {note}", highlight=False, markup=False)
    # A stuck job is said as it happens (the run's lines); said again here, where a person reads
    # the night in the morning, whether or not its shot went on to a good take.
    for line in stuck:
        console.print(f"stuck: {line}", highlight=False, markup=False)
    console.print(f"provider calls made: {calls}")


def _finishing_lines(directory: Path, scene: str, profile: str) -> None:
    """A finished scene's loudness as measured after the mix, and its editor's timeline (issue 23)."""
    import json

    from slate.tasks.edit.export import record_path
    record = record_path(directory, scene, profile)
    timeline = record.with_suffix(".otio")
    if not record.is_file() or not timeline.is_file():
        return
    measured = json.loads(record.read_text())
    if measured.get("loudness") is not None:
        console.print(f"loudness:      {measured['loudness']:.1f} LUFS integrated, true peak "
                      f"{measured['true_peak']:.1f} dBTP (ebur128, after the mix)", highlight=False, markup=False)
    console.print(f"timeline:      {timeline}  (slate export {directory} --format fcp7|edl for Resolve, "
                  f"Premiere or a conform)", highlight=False, markup=False)


def _run_figures(directory: Path, run_id: str):
    """(spent, provider calls made, asked-again notes, stuck jobs) of one run, from the ledger: its
    committed money, its rows that reached a provider (not refusals nor $0 notes), and each job
    that gave no result in time — cancelled and recorded, or left open for the next run."""
    from slate.governor.chokepoint import ASKED_AGAIN, JOB_STUCK
    from slate.governor.ledger import Ledger
    from slate.providers.storage import film_id
    with Ledger.for_project(directory.resolve()) as ledger:
        film = film_id(directory)
        rows = ledger.rows(film=film, run_id=run_id)
        spent = ledger.totals(film=film, run_id=run_id).committed
    calls = sum(1 for r in rows if r.status not in ("refused", "released"))
    notes = [r.error_message or "" for r in rows if r.error_class == ASKED_AGAIN]
    stuck = [f"{r.scene}/{r.shot} {r.stage} take {r.take}: {r.error_message or ''}" for r in rows
             if r.error_class == JOB_STUCK or (r.status == "unknown" and "gave no result" in (r.error_message or ""))]
    return spent, calls, notes, stuck
