"""Wall time of the example scene: a first render and a cached re-run, through `slate run`.

What `make demo` does, measured: a fresh example film is written to a temporary folder, then
`slate run` is timed twice. Every figure printed is measured from what the runs left behind:
the shots from the film's manifests, the mp4's duration and size probed with ffmpeg, and the
provider calls of each run counted from the ledger rows that run added (every row but the
refused and released ones, which cost nothing) — not from the counter the CLI prints, which is
shown beside it only as a cross-check.

    .venv/bin/python -m benchmarks.scene_render

Beside each run's wall time it prints where the time went: per stage, the seconds its Prefect
tasks ran (read from the run's own records in the Prefect home's database after the run; shots
render at once, so a stage's task seconds add up over shots running side by side and exceed the
wall time), and per kind of process the CPU seconds it used (the run's process with its gates in
it, the embedded Prefect server, ffmpeg), sampled from /proc while the run lasted.

It must never touch the repository's own example-film/ folder, and never print a figure it
did not measure.
"""
from __future__ import annotations

import datetime
import os
import re
import sqlite3
import subprocess
import threading
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from slate.governor.ledger import Ledger
from slate.manifests import load_film, write_example_film
from slate.media import Probe, probe

NOT_CALLS = ("refused", "released")  # rows for the log that never reached a provider


@dataclass(frozen=True)
class RunFigures:
    wall: float
    state: str
    calls: int                 # ledger rows this run added that reached a provider
    calls_by_stage: Counter
    cli_calls: str             # what the CLI printed, for comparison only
    output: Path
    probed: Probe
    stages: dict[str, float]   # task seconds by stage
    cpu: dict[str, float]      # CPU seconds by kind of process


def _call_ids(film: Path, film_id: str) -> set[str]:
    with Ledger.for_project(film) as ledger:
        return {r.call_id for r in ledger.rows(film=film_id)}


def _new_calls(film: Path, film_id: str, before: set[str]) -> list:
    with Ledger.for_project(film) as ledger:
        return [r for r in ledger.rows(film=film_id) if r.call_id not in before and r.status not in NOT_CALLS]


# A leaf task's name, to the stage it belongs to (flows/shot/shot.py, flows/scene.py): the first match.
STAGES = [(re.compile(r"^panel gate "), "panel gate"), (re.compile(r"^panel "), "panels"),
          (re.compile(r"^keyframe gate "), "keyframe gate (dailies, presence)"),
          (re.compile(r"^video \S+ take \d+$"), "video"), (re.compile(r"^(continuity|cut) "), "continuity"),
          (re.compile(r"^drift"), "drift"), (re.compile(r"^stitch-film"), "film join"),
          (re.compile(r"^stitch "), "stitch"), (re.compile(r"^finish "), "finishing"),
          (re.compile(r"^contact-sheet"), "contact sheet"), (re.compile(r"^reference"), "references")]


def _seconds(value: str) -> float:
    # Prefect keeps an interval as a time past the epoch.
    return (datetime.datetime.fromisoformat(value) - datetime.datetime(1970, 1, 1)).total_seconds()


def stage_seconds(since: datetime.datetime) -> dict[str, float]:
    """Task seconds by stage of the task runs created since `since` (UTC), read from the
    database of the Prefect home the run's embedded server used."""
    from prefect.settings import PREFECT_HOME
    db = Path(PREFECT_HOME.value()) / "prefect.db"
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT name, total_run_time FROM task_run WHERE created >= ?",
                           (since.strftime("%Y-%m-%d %H:%M:%S.%f"),)).fetchall()
    out: dict[str, float] = {}
    for name, spent in rows:
        stage = next((label for pattern, label in STAGES if pattern.search(name)), None)
        if stage is not None and spent:
            out[stage] = out.get(stage, 0.0) + _seconds(spent)
    return out


class CpuSampler:
    """CPU seconds of a process and all it starts, by kind, from /proc every quarter second (a
    process that lives less than that may be missed: the figures are a floor)."""

    TICK = os.sysconf("SC_CLK_TCK")

    def __init__(self, root: int):
        self.root, self.last = root, {}

    def sample(self) -> None:
        parents, info = {}, {}
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            parents[int(pid)] = int(fields[1])
            info[int(pid)] = (fields[19], int(fields[11]) + int(fields[12]), cmd)
        for pid, (start, ticks, cmd) in info.items():
            at, seen = pid, 0
            while at not in (0, 1, self.root) and seen < 64:
                at, seen = parents.get(at, 0), seen + 1
            if at == self.root:
                # A process that has exited and waits to be reaped reads an empty command line.
                self.last[(pid, start)] = (ticks, cmd or self.last.get((pid, start), (0, ""))[1])

    def by_kind(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for (pid, _), (ticks, cmd) in self.last.items():
            kind = ("ffmpeg" if "ffmpeg" in cmd.split(" ")[0] else
                    "Prefect server" if "uvicorn" in cmd or "prefect" in cmd.split(" -m ")[-1][:20] else
                    "the run (flows, gates)" if pid == self.root else "other")
            out[kind] = out.get(kind, 0.0) + ticks / self.TICK
        return out


def _written_mp4(film: Path, since: float, scene_id: str) -> Path:
    """The scene's mp4 in renders/ (beside it the film's cut of its one scene). A cached re-run
    publishes the same file again, kept as it was (its time may be the first run's)."""
    written = list((film / "renders").glob(f"{scene_id}-*.mp4"))
    if len(written) != 1 or written[0].stat().st_mtime < since - 86400:
        raise SystemExit(f"expected the run to leave one mp4 of {scene_id} under {film / 'renders'}, found {written}")
    return written[0]


def timed_run(film: Path, film_id: str, scene_id: str) -> RunFigures:
    before = _call_ids(film, film_id)
    since = time.time() - 1  # mtime resolution
    created = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    started = time.perf_counter()
    # A wide console: rich would otherwise wrap the CLI's lines at 80 columns.
    proc = subprocess.Popen([sys.executable, "-m", "slate.cli", "run", str(film)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "COLUMNS": "300"})
    sampler = CpuSampler(proc.pid)
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            sampler.sample()
            done.wait(0.25)
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    stdout, stderr = proc.communicate()
    done.set()
    watcher.join()
    out = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    wall = time.perf_counter() - started
    if out.returncode != 0:
        raise SystemExit(f"slate run failed ({out.returncode}):\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    state = re.search(r"state: (\w+)", out.stdout)
    cli_calls = re.search(r"provider calls made: (\d+)", out.stdout)
    calls = _new_calls(film, film_id, before)
    mp4 = _written_mp4(film, since, scene_id)
    return RunFigures(wall=wall, state=state.group(1) if state else "?", calls=len(calls),
                      calls_by_stage=Counter(r.stage for r in calls),
                      cli_calls=cli_calls.group(1) if cli_calls else "not printed", output=mp4, probed=probe(mp4),
                      stages=stage_seconds(created), cpu=sampler.by_kind())


def describe(label: str, r: RunFigures) -> str:
    stages = ", ".join(f"{stage} {n}" for stage, n in sorted(r.calls_by_stage.items())) or "none"
    p = r.probed
    return (f"  {label}: {r.wall:.1f} s, state {r.state}; {r.calls} provider calls in the ledger ({stages}); "
            f"the CLI said {r.cli_calls}\n"
            f"    {r.output.name}: {p.duration:.2f} s ({p.frames} frames at {float(p.fps):g} fps), "
            f"{p.width}x{p.height} {p.codec}\n"
            f"    task seconds by stage: " + (", ".join(f"{k} {v:.1f}" for k, v in
                                                       sorted(r.stages.items(), key=lambda kv: -kv[1])) or "none") +
            "\n    CPU seconds by process: " + ", ".join(f"{k} {v:.1f}" for k, v in
                                                       sorted(r.cpu.items(), key=lambda kv: -kv[1])) +
            f" (in all {sum(r.cpu.values()):.1f})")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        film = write_example_film(Path(tmp) / "film")
        loaded = load_film(film)
        film_id = loaded.film.id
        scene_id, scene = loaded.scenes[0][1].id, loaded.scenes[0][1]  # `slate run` renders the first scene
        first = timed_run(film, film_id, scene_id)
        second = timed_run(film, film_id, scene_id)
    print(f"example film '{film_id}', scene {scene_id}: {len(scene.shots)} shots in the manifest; "
          "`slate run` wall time incl. the embedded Prefect server:")
    print(describe("first render", first))
    print(describe("cached re-run", second))


if __name__ == "__main__":
    main()
