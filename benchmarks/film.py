"""A long film, first render and fully cached re-run, through `slate run` (the whole film).

The film is generated here from the example's bible (never committed): its one scene's shots
dealt into `scenes` scenes until there are `shots` shots (62 in 4 scenes by default, the size
film-makers report), each shot keeping its own camera, cast and duration; its continuity gate
only reports (see `long_film`), so the film can finish clean and its re-run be served whole. Then `slate run DIR`
is timed twice. Every figure is measured from what the runs left behind: calls are ledger rows
that reached a provider, provider seconds are the ledger's submitted→finished spans, the cut is
probed with ffmpeg.

Prints, in one run, one JSON line per `slate run` and one for the stitch:

- wall seconds, calls, provider seconds (every call's span, summed);
- video seconds (the video jobs' spans, summed) and the critical path they impose: the larger of
  the longest chain of video jobs (a chained shot waits for the clip before it; scenes run one
  after another, so their chains do not overlap) and all video seconds over the slots
  (`slots`: one per key); the wall time's ratio to it;
- orchestration seconds per shot: (wall - provider seconds) / shots (the issue's figure: an
  upper bound, the local provider's renders run in the same process) and
  (wall - the video critical path) / shots (what is not the video provider's own waiting);
  that time split where it goes (`where_it_went`): before the first video job, the video slots
  idle between jobs (per shot: what orchestration adds to each shot), after the last one; and
  the time no provider call of any kind was in flight (`no_call_in_flight_s`: orchestration and
  nothing else, a lower bound where the time beyond the critical path is an upper one);
- for the cached run the goal (10 s), and whether it started Prefect at all (a `prefect.db`
  in its fresh PREFECT_HOME); the first render runs on a home whose database is made before
  the clock starts, as on every night after a machine's first (`prefect_home_setup_s`: what
  making it took);
- the join: the film flow's own join of its scene cuts (flows/film.stitch_film) — cuts without
  sound stitched, against ffmpeg's concat demuxer with stream copy of the same files
  (benchmarks/stitch.py, goal 1.1x); cuts with sound (a finished film) joined by one
  finishing graph with the film's loudness pass, against one plain ffmpeg run of the graph
  slate compiled (pass one's figures given, as benchmarks/finish.py does; goal 1.2x).

    .venv/bin/python -m benchmarks.film [shots=62] [scenes=4] [--keep DIR]

It must never touch the repository's example-film/ folder, and never print a figure it did not
measure.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from benchmarks.stitch import against_copy
from slate.governor.ledger import Ledger
from slate.manifests import load_film, write_example_film
from slate.media import ffmpeg_exe, probe

NOT_CALLS = ("refused", "released")


def long_film(root: Path, shots: int, scenes: int, finishing: bool = True) -> Path:
    """The example film with `shots` shots dealt into `scenes` scenes. Without `finishing`, no
    finishing pass (no grade, cues or loudness pass): the cut is the plain stitch, as before
    issue 23 — to compare the orchestration of code that had none like for like."""
    write_example_film(root)
    source = yaml.safe_load((root / "scenes" / "scene-01.yaml").read_text())
    pool = source["shots"]
    per = [shots // scenes + (1 if k < shots % scenes else 0) for k in range(scenes)]
    files, n = [], 0
    for k, count in enumerate(per, start=1):
        doc = {key: value for key, value in source.items() if key != "shots" and (finishing or key != "finishing")}
        doc["id"], doc["title"] = f"scene-{k:02d}", f"{source['title']} ({k})"
        doc["shots"] = []
        for i in range(count):
            shot = dict(pool[(n + i) % len(pool)])
            # Shot ids are a number and one or two capitals: the scene's number, then AA, AB, …
            shot["id"] = f"{k}{chr(65 + i // 26)}{chr(65 + i % 26)}"
            doc["shots"].append(shot)
        # A chain cannot start a scene: the first shot of each scene stands alone.
        doc["shots"][0].pop("chain", None)
        doc["shots"][-1].pop("transition_out", None)
        # The example's cues placed at its own shots (issue 23) are placed by time in the dealt scenes.
        for cue in (doc.get("finishing") or {}).get("cues", []):
            cue.pop("shot", None)
        n += count
        path = root / "scenes" / f"scene-{k:02d}.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        files.append(f"scenes/{path.name}")
    # Dealt round and round, the pool wraps from its last shot back to its first, and that cut
    # does not hold (seen: 10 of 62 shots escalated by the continuity gate, so no scene was in
    # the can and no re-run could be served). The film's continuity gate only reports here:
    # every cut is still measured, no shot is escalated for a cut the dealing made.
    (root / "gates.toml").write_text("[stages.continuity]\nenabled = false\n")
    film = yaml.safe_load((root / "film.yaml").read_text())
    film["scenes"] = files
    if not finishing:
        film.pop("finishing", None)
    (root / "film.yaml").write_text(yaml.safe_dump(film, sort_keys=False))
    return root


def _rows(root: Path, film_id: str) -> list:
    with Ledger.for_project(root) as ledger:
        return [r for r in ledger.rows(film=film_id) if r.status not in NOT_CALLS]


def _span(r) -> float:
    return (r.finished_at - r.submitted_at).total_seconds() if r.finished_at and r.submitted_at else 0.0


def chains(root: Path) -> list[list[tuple[str, str]]]:
    """The film's chains of shots, (scene, shot) each: a chained shot joins the one before."""
    film, out = load_film(root), []
    for _, scene in film.scenes:
        for shot in scene.shots:
            if shot.chain and out and out[-1][-1][0] == scene.id:
                out[-1].append((scene.id, shot.id))
            else:
                out.append([(scene.id, shot.id)])
    return out


def video_critical_path(root: Path, rows: list, slots: int) -> tuple[float, float]:
    """(every video job's seconds, the critical path they impose; see the module docstring)."""
    video = [r for r in rows if r.stage == "video"]
    total = sum(map(_span, video))
    per_shot: dict[tuple[str, str], float] = {}
    for r in video:
        per_shot[(r.scene, r.shot)] = per_shot.get((r.scene, r.shot), 0.0) + _span(r)
    longest = max((sum(per_shot.get(s, 0.0) for s in chain) for chain in chains(root)), default=0.0)
    return total, max(longest, total / max(slots, 1))


def most_in_flight(rows: list) -> int:
    """The most video jobs in flight at one moment (submitted -> finished, from the ledger):
    what the video slots must bound."""
    edges = sorted([(r.submitted_at, 1) for r in rows if r.stage == "video" and r.submitted_at and r.finished_at]
                   + [(r.finished_at, -1) for r in rows if r.stage == "video" and r.submitted_at and r.finished_at],
                   key=lambda e: (e[0], e[1]))
    most = now = 0
    for _, step in edges:
        now += step
        most = max(most, now)
    return most


def _uncovered(spans: list[tuple[float, float]], started: float, ended: float) -> float:
    """Seconds of [started, ended] that no span covers."""
    free, reach = 0.0, started
    for start, end in sorted(spans):
        free += max(0.0, min(start, ended) - reach)
        reach = max(reach, end)
    return free + max(0.0, ended - reach)


def where_it_went(rows: list, started: float, ended: float) -> dict:
    """The time beyond the video critical path, split where it goes (epoch seconds in, seconds
    out): before the first video job was submitted (the server's start, the scenes' setup, the
    first shot's panel and gate), the video slots idle between the first job and the last (no
    job in flight: what each shot's hand-over costs), and after the last job finished (its
    keyframe gate, the stitches, the reports, the exit).

    And the run's time with no provider call of any kind in flight (`no_call_in_flight_s`):
    nothing outside slate was being waited for, so all of it is orchestration (imports, the
    server, task runs, ffmpeg, reports). The time beyond the video critical path is an upper
    bound of orchestration (it counts the first panel and its judge, the last clip's judge); this
    is the lower one."""
    spans = sorted((r.submitted_at.timestamp(), r.finished_at.timestamp()) for r in rows
                   if r.stage == "video" and r.submitted_at and r.finished_at)
    if not spans:
        return {}
    idle, reach = 0.0, spans[0][1]
    for start, end in spans[1:]:
        idle += max(0.0, start - reach)
        reach = max(reach, end)
    calls = [(r.submitted_at.timestamp(), r.finished_at.timestamp()) for r in rows if r.submitted_at and r.finished_at]
    quiet = _uncovered(calls, started, ended)
    return {"before_first_video_s": round(spans[0][0] - started, 1), "video_idle_s": round(idle, 1),
            "video_idle_s_per_shot": round(idle / len(spans), 3),
            "after_last_video_s": round(ended - reach, 1),
            "no_call_in_flight_s": round(quiet, 1)}


def server_busy(log: Path) -> dict:
    """How often the embedded server's database was busy for a request (slate/server.py logs each
    request it had to send through again, and how long that took): a run slower than its
    neighbours says here whether the server's database held it up."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return {}
    waits = [float(m.group(1)) for m in (re.search(r"database busy, answered after \d+ tries \(([\d.]+) s\)", x)
                                          for x in lines) if m]
    return {"server_busy_requests": len(waits), "server_busy_longest_s": round(max(waits, default=0.0), 2)}


def prepared_home(home: Path, env: dict) -> float:
    """Seconds to make a Prefect home's database (what a machine's first run pays once; every
    later run finds it made): timed apart, so a render's figures are those of every night."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "prefect", "server", "database", "upgrade", "-y"], env=env, check=True,
                   capture_output=True)
    return round(time.perf_counter() - started, 1)


def timed_run(root: Path, film_id: str, shots: int, label: str, *, args: tuple[str, ...] = (), env: dict | None = None,
              slots: int = 1) -> dict:
    """One `slate run` of the film, timed. The first render runs on a Prefect home whose
    database is already made (its making is timed apart: `prefect_home_setup_s`); the cached
    re-run on an empty one, so its figures say whether it started Prefect at all."""
    before = {r.call_id for r in _rows(root, film_id)}
    home = Path(tempfile.mkdtemp(prefix=f"prefect-{label}-"))
    run_env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    run_env.update({"SLATE_PROFILE": "draft", "PREFECT_HOME": str(home), **(env or {})})
    setup = prepared_home(home, run_env) if label != "cached" else None
    made = (home / "prefect.db").stat().st_mtime_ns if setup is not None else None
    started, began = time.perf_counter(), time.time()
    done = subprocess.run([sys.executable, "-m", "slate.cli", "run", str(root), *args], capture_output=True,
                          text=True, env=run_env)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"slate run failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    new = [r for r in _rows(root, film_id) if r.call_id not in before]
    provider = sum(map(_span, new), 0.0)
    video, critical = video_critical_path(root, new, slots)
    cut = next((root / "renders").glob(f"{film_id}-draft.mp4"), None)
    figures = {"benchmark": "film", "run": label, "shots": shots, "wall_s": round(wall, 1), "calls": len(new),
               "provider_s": round(provider, 1), "video_s": round(video, 1), "video_critical_path_s": round(critical, 1),
               "video_jobs_in_flight_max": most_in_flight(new),
               "wall_to_critical_path": round(wall / critical, 2) if critical else None,
               "orchestration_s_per_shot": round((wall - provider) / shots, 3),
               "beyond_video_critical_path_s_per_shot": round((wall - critical) / shots, 3),
               **(went := where_it_went(new, began, began + wall)),
               "no_call_in_flight_s_per_shot": round(went.get("no_call_in_flight_s", 0.0) / shots, 3),
               "prefect_started": (home / "prefect.db").exists() and (home / "prefect.db").stat().st_mtime_ns != made,
               **({"prefect_home_setup_s": setup} if setup is not None else {}),
               "film_seconds": round(probe(cut).duration, 2) if cut else None,
               **server_busy(home / "slate-embedded-server.log")}
    shutil.rmtree(home, ignore_errors=True)
    if label == "cached":
        figures["goal_s"] = 10
    return figures


def stitch_figures(root: Path, fps: int) -> dict:
    """The film flow's join of this film's draft scene cuts, timed against plain ffmpeg doing the
    same work: a stream-copy concat for silent cuts, one run of the same graph for cuts with sound."""
    from slate.flows.film import join_plan, stitch_film
    from slate.media.finish import finish_args, measure

    film = load_film(root)
    cuts = [root / "renders" / f"{sc.id}-draft.mp4" for _, sc in film.scenes]
    probes = [probe(c) for c in cuts]
    clips = [(str(c), p.duration) for c, p in zip(cuts, probes)]
    width, height = max(p.width for p in probes), max(p.height for p in probes)
    delivery = film.film.finishing.delivery_for("draft") if film.film.finishing else None
    loudness = (delivery.target_lufs, delivery.true_peak) if delivery else (-14.0, -1.0)   # as the film flow
    plan = join_plan(clips, fps, width, height, loudness)
    with tempfile.TemporaryDirectory() as work:
        if plan is None:
            return {"benchmark": "film", "run": "stitch", "join": "silent cuts, stitched",
                    **against_copy(clips, Path(work), fps=fps)}
        # One of each (each is a re-encode of the whole film, tens of seconds): the film flow's
        # task as the flow calls it, then ffmpeg alone on the graph slate compiled.
        started = time.perf_counter()
        stitch_film.fn(clips, str(Path(work) / "film.mp4"), fps, width, height, loudness)
        ours = time.perf_counter() - started
        args = finish_args(plan, Path(work) / "plain.mp4", measure(plan))   # pass one: slate's own work, untimed
        started = time.perf_counter()
        subprocess.run([ffmpeg_exe(), *args], check=True, stdin=subprocess.DEVNULL, capture_output=True)
        plain = time.perf_counter() - started
    return {"benchmark": "film", "run": "stitch", "join": "cuts with sound, one graph and the loudness pass",
            "clips": len(clips), "seconds_of_film": round(plan.total, 2), "stitch_s": round(ours, 2),
            "plain_ffmpeg_s": round(plain, 2), "stitch_ratio": round(ours / plain, 2), "stitch_goal_ratio": 1.2}


def main(shots: int = 62, scenes: int = 4, keep: str | None = None) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        root = long_film(Path(keep or tmp) / "film", shots, scenes)
        film_id = load_film(root).film.id
        lines = [timed_run(root, film_id, shots, "first")]
        print(json.dumps(lines[-1]), flush=True)
        lines.append(timed_run(root, film_id, shots, "cached"))
        print(json.dumps(lines[-1]), flush=True)
        lines.append(stitch_figures(root, 24))
        print(json.dumps(lines[-1]), flush=True)
    return lines


def shots_scenes_keep(argv: list[str]) -> tuple[list[int], str | None]:
    """`[shots] [scenes] [--keep DIR]` from a command line: the numbers given, and DIR."""
    kept = argv[argv.index("--keep") + 1] if "--keep" in argv else None
    return [int(a) for a in argv if a.isdigit()][:2], kept


if __name__ == "__main__":
    numbers, kept = shots_scenes_keep(sys.argv[1:])
    main(*numbers, keep=kept)
