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

Workers: `--workers N` is the hook for a multi-worker stack (`slate up --stack`, another
engineer's work). Only 1 is measured here; asking for more stops with a message instead of a
figure this script did not measure.

    .venv/bin/python -m benchmarks.scale [shots=62] [scenes=4] [--latency 2] [--price-as MODEL]
                                         [--keys 1,2] [--workers 1]

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

from benchmarks.film import long_film, stitch_figures, timed_run
from governor.ledger import Ledger
from manifests import load_film

PRICE_AS = "replicate:bytedance/seedance-1-pro"
ROOMY_CAP = "100000"  # the rehearsal measures time, not refusals: no cap may halt it


def priced(root: Path, film_id: str) -> Decimal:
    with Ledger.for_project(root) as ledger:
        return sum((r.estimate for r in ledger.rows(film=film_id) if r.status == "succeeded" and r.stage == "video"),
                   Decimal(0))


def on_workers(workers: int) -> None:
    """The hook for more than one worker: not measured here (see the module docstring)."""
    if workers != 1:
        raise SystemExit(f"--workers {workers}: a multi-worker run needs the stack (`slate up --stack`) and its "
                         "work pool; this script measures only the embedded run on 1 worker")


def configuration(shots: int, scenes: int, latency: float, price_as: str, keys: int) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        root = long_film(Path(tmp) / "film", shots, scenes)
        with (root / "slate.toml").open("a") as f:
            f.write(f"\nvideo_slots = {keys}\nlocal_latency = {latency}\n"
                    f"run_cap_usd = {ROOMY_CAP}\nfilm_cap_usd = {ROOMY_CAP}\n")
        film_id = load_film(root).film.id
        tag = {"benchmark": "scale", "keys": keys, "slots_per_key": 1, "workers": 1, "latency_s": latency,
               "price_as": price_as}
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
    parser.add_argument("--workers", type=int, default=1, help="only 1 is measured (see the docstring)")
    args = parser.parse_args(argv)
    on_workers(args.workers)
    out = []
    for keys in (int(k) for k in args.keys.split(",")):
        out += configuration(args.shots, args.scenes, args.latency, args.price_as, keys)
    return out


if __name__ == "__main__":
    main(sys.argv[1:])
