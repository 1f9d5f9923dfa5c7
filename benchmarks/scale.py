"""The 62-shot film rehearsed at scale: a priced video model, a fixed latency per video job, one
video slot per key, then two keys; on one worker (the embedded run of `slate run`).

Each configuration renders a fresh copy of the long film of benchmarks/film.py (generated, never
committed) with `slate run DIR --price-as MODEL` — the ledger prices every video call as that
model, so the caps are exercised as in a paid night, and nothing is paid — while the local
provider takes `latency` seconds per video job (SLATE_LOCAL_LATENCY, as the crash tests set
it). Then the cached re-run, then the stitch. It prints, per configuration, the same JSON lines
as benchmarks/film.py (wall time, the video critical path and the ratio, orchestration per
shot, the cached re-run's time and calls, the stitch against plain ffmpeg), plus what the
ledger priced.

Two keys: the local provider has one key ("local"), so two keys are rehearsed as two slots on
it (`video_slots = 2`): the same bound on video jobs in flight, which is what a second key buys.

Workers: `--workers 1` is the embedded run above. Any other list (`--workers 1,2`) renders the
film on a studio instead — `slate up --studio`'s own code (slate/studio.py): SeaweedFS, a Prefect
server and the ledger on the local Postgres, process workers in folders of their own, the film
pushed to the bucket and run through its `film` deployment as the UI's Run button runs it. Each
count of workers gets a studio of its own, each worker with room for the film run and an even
share of the scenes (`spreading_limit`: 5 runs for one worker, 3 each for two), so the scenes
spread over the workers; after the first count the film is rendered with new takes (every shot
re-seeded), so nothing is cached across counts. Per count it prints the first render and the
cached re-run: wall time from the film run's creation to its end (the server's clock: what a
person who pressed Run waits), calls and provider seconds from the shared ledger (rows of that
run), the video critical path and the ratio, where the time beyond it went, and which worker
ran each scene. The workers ask the server for runs every 2 s, as `slate up --studio` starts them.

    .venv/bin/python -m benchmarks.scale [shots=62] [scenes=4] [--latency 2] [--price-as MODEL]
                                         [--keys 1,2] [--workers 1 | --workers 1,2]

It must never print a figure it did not measure, and never reach a real provider (the local
one renders; the rehearsal only prices).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

import yaml

from benchmarks.film import (NOT_CALLS, _span, long_film, most_in_flight, stitch_figures, timed_run,
                             video_critical_path, where_it_went)
from slate.governor.ledger import Ledger
from slate.manifests import load_film

PRICE_AS = "replicate:bytedance/seedance-1-pro"
ROOMY_CAP = "100000"  # the rehearsal measures time, not refusals: no cap may halt it


def priced(root: Path, film_id: str) -> Decimal:
    with Ledger.for_project(root) as ledger:
        return sum((r.estimate for r in ledger.rows(film=film_id) if r.status == "succeeded" and r.stage == "video"),
                   Decimal(0))


def reseed(root: Path, seed: int) -> None:
    """Every shot of the film given `seed`: new takes for all of them, nothing cached."""
    for path in sorted((root / "scenes").glob("scene-*.yaml")):
        doc = yaml.safe_load(path.read_text())
        for shot in doc["shots"]:
            shot["seed"] = seed
        path.write_text(yaml.safe_dump(doc, sort_keys=False))


def studio_render(studio, root: Path, film_id: str, shots: int, slots: int, label: str) -> dict:
    """One run of the film deployment on the studio, to its end; its figures."""
    from slate import studio as stack

    film_run = stack.start_film_run(studio, project=studio.film_url)
    run = stack.wait_for_run(studio, film_run, timeout=3600)
    if not (run.state and run.state.is_completed()):
        raise SystemExit(f"film run {film_run} ended {run.state and run.state.name}: "
                         f"{run.state and run.state.message}; see {root}/.slate/stack/worker-*.log")
    wall = (run.end_time - run.created).total_seconds()
    with Ledger.for_project(root) as ledger:
        rows = [r for r in ledger.rows(film=film_id, run_id=film_run) if r.status not in NOT_CALLS]
    provider = sum(map(_span, rows), 0.0)
    video, critical = video_critical_path(root, rows, slots)
    return {"run": label, "shots": shots, "wall_s": round(wall, 1), "calls": len(rows),
            "provider_s": round(provider, 1), "video_s": round(video, 1), "video_critical_path_s": round(critical, 1),
            "video_jobs_in_flight_max": most_in_flight(rows),
            "wall_to_critical_path": round(wall / critical, 2) if critical else None,
            "orchestration_s_per_shot": round((wall - provider) / shots, 3),
            "beyond_video_critical_path_s_per_shot": round((wall - critical) / shots, 3) if critical else None,
            **(went := where_it_went(rows, run.created.timestamp(), run.end_time.timestamp())),
            "no_call_in_flight_s_per_shot": round(went.get("no_call_in_flight_s", 0.0) / shots, 3),
            "scenes_by_worker": scenes_by_worker(studio, root, film_run),
            **({"goal_s": 10} if label == "cached" else {})}


def scenes_by_worker(studio, root: Path, film_run: str) -> dict[str, str]:
    """scene -> the worker (worker-N) that ran its run, from the workers' events on the server."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from slate.studio import who_ran
    ran = who_ran(root, studio.api_url)
    with temporary_settings({PREFECT_API_URL: studio.api_url}), get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["scene"])))
        return {r.parameters["scene"]: ran.get(str(r.id), "?") for r in runs
                if r.parent_task_run_id is not None
                and str(client.read_task_run(r.parent_task_run_id).flow_run_id) == str(film_run)}


def spreading_limit(scenes: int, workers: int) -> int:
    """Runs at once per worker that leave every scene of the film running at once and make the
    workers share them: the film run's own slot and an even share of its scenes. (A worker takes
    as many scheduled runs as it has room for when it asks: with room for them all, the first
    worker to ask took every scene and the second stood idle.)"""
    return -(-scenes // workers) + 1


def on_studio(shots: int, scenes: int, latency: float, price_as: str, keys: int, counts: list[int]) -> list[dict]:
    """The film on a studio of each count of workers in turn (new takes for each count after the
    first), each worker with room for its share of the scenes (`spreading_limit`)."""
    import os

    from slate import studio as stack

    lines = []
    saved = {k: os.environ.get(k) for k in ("SLATE_PAID_CALLS_ALLOWED", "SLATE_LEDGER_URL")}
    os.environ["SLATE_PAID_CALLS_ALLOWED"] = "local"   # the workers may pay the local provider only
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = long_film(Path(tmp) / "film", shots, scenes)
            with (root / "slate.toml").open("a") as f:
                f.write(f"\nvideo_slots = {keys}\nlocal_latency = {latency}\nprice_as = \"{price_as}\"\n"
                        f"run_cap_usd = {ROOMY_CAP}\nfilm_cap_usd = {ROOMY_CAP}\nmax_parallel_scenes = {scenes}\n"
                        f"\n[storage]\nbackend = \"s3\"\nbucket = \"bench\"\nprefix = \"scale\"\n")
            film_id = load_film(root).film.id
            for n, count in enumerate(counts):
                if n:
                    reseed(root, seed=1000 + n)   # nothing cached across counts
                lines += studio_renders(root, film_id, shots, scenes, keys, count, latency, price_as)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return lines


def studio_renders(root: Path, film_id: str, shots: int, scenes: int, keys: int, count: int, latency: float,
                   price_as: str) -> list[dict]:
    """A studio of `count` workers brought up for the film, its first render and cached re-run,
    the studio brought down."""
    import os

    from slate import studio as stack

    os.environ.pop("SLATE_LEDGER_URL", None)             # the studio makes the ledger's database
    limit = spreading_limit(scenes, count)
    studio = stack.up(root, workers=count, limit=limit, say=lambda m: None)
    lines = []
    try:
        from slate.deployments import register
        from prefect.client.orchestration import get_client
        from prefect.settings import PREFECT_API_URL, temporary_settings
        with temporary_settings({PREFECT_API_URL: studio.api_url}), get_client(sync_client=True) as client:
            for name in (register.NIGHTLY, register.WARDEN):   # their runs would take the workers' slots
                client.pause_deployment(studio.deployments[name])
        os.environ["SLATE_LEDGER_URL"] = stack._database_url(studio, "ledger", "postgresql+psycopg")
        tag = {"benchmark": "scale", "keys": keys, "slots_per_key": 1, "workers": count, "runs_per_worker": limit,
               "latency_s": latency, "price_as": price_as, "studio_up_s": studio.ready_seconds}
        for label in ("first", "cached"):
            lines.append({**tag, **studio_render(studio, root, film_id, shots, keys, label)})
            print(json.dumps(lines[-1]), flush=True)
    finally:
        stack.down(root, say=lambda *_: None)
    return lines


def configuration(shots: int, scenes: int, latency: float, price_as: str, keys: int,
                  finishing: bool = True) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        root = long_film(Path(tmp) / "film", shots, scenes, finishing=finishing)
        with (root / "slate.toml").open("a") as f:
            f.write(f"\nvideo_slots = {keys}\nlocal_latency = {latency}\n"
                    f"run_cap_usd = {ROOMY_CAP}\nfilm_cap_usd = {ROOMY_CAP}\n")
        film_id = load_film(root).film.id
        tag = {"benchmark": "scale", "keys": keys, "slots_per_key": 1, "workers": 1, "latency_s": latency,
               "price_as": price_as, "finishing": finishing}
        lines = []
        for label in ("first", "cached"):
            figures = timed_run(root, film_id, shots, label, args=("--price-as", price_as), slots=keys)
            lines.append({**tag, **figures, "benchmark": "scale"})
            if label == "first":
                lines[-1]["priced_video_usd"] = str(priced(root, film_id))
            print(json.dumps(lines[-1]), flush=True)
        lines.append({**tag, **stitch_figures(root, 24), "benchmark": "scale"})
        print(json.dumps(lines[-1]), flush=True)
    return lines


def main(argv: list[str]) -> list[dict]:
    parser = argparse.ArgumentParser(prog="benchmarks.scale")
    parser.add_argument("shots", nargs="?", type=int, default=62)
    parser.add_argument("scenes", nargs="?", type=int, default=4)
    parser.add_argument("--latency", type=float, default=2.0, help="seconds per local video job")
    parser.add_argument("--price-as", default=PRICE_AS)
    parser.add_argument("--keys", default="1,2", help="comma-separated: video keys (one slot each)")
    parser.add_argument("--no-finishing", action="store_true",
                        help="the film without its finishing pass (grade, cues, loudness): the plain stitch")
    parser.add_argument("--workers", default="1",
                        help="1: the embedded run; a list (1,2): a studio of that many workers, then more")
    args = parser.parse_args(argv)
    counts = [int(w) for w in args.workers.split(",")]
    out = []
    for keys in (int(k) for k in args.keys.split(",")):
        if counts == [1]:
            out += configuration(args.shots, args.scenes, args.latency, args.price_as, keys,
                                 finishing=not args.no_finishing)
        else:
            out += on_studio(args.shots, args.scenes, args.latency, args.price_as, keys, counts)
    return out


if __name__ == "__main__":
    main(sys.argv[1:])
