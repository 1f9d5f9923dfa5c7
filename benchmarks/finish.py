"""The finishing pass of the 62-shot film (benchmarks/film.py's long film, generated, never
committed): slate's pass against a plain ffmpeg run of the same filter graph, and a re-finish
after the LUT changed.

1. `slate run` renders the film (local provider, draft): every scene stitched, then finished —
   the mix (the example's music and dialogue cues), the grade (the example's LUT), loudness to
   the delivery's target, the deliverable probed.
2. Per scene, the same edit (read back from the run's timeline record) is finished again by
   slate's media.finish.finish — loudness measured (loudnorm pass one), the graph rendered,
   ebur128 and a probe after — and by one plain ffmpeg run of the very graph slate compiled
   (with pass one's figures given, so the plain run does the same work minus slate's checks).
3. The LUT is changed and `slate run` run again: its wall time and the new ledger rows
   (provider calls), which must be 0.

    .venv/bin/python -m benchmarks.finish [shots=62] [scenes=4] [--keep DIR]

Prints one JSON line per figure. It must never print a figure it did not measure, and never
reach a real provider.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
import tempfile
from pathlib import Path

from benchmarks.film import _rows, long_film, shots_scenes_keep, timed_run
from slate.manifests import load_film
from slate.media import ffmpeg_exe
from slate.media.finish import FinishCue, FinishPlan, FinishShot, finish, finish_args, measure
from slate.tasks.edit.export import record_path


def plan_from_record(root: Path, film, scene_id: str) -> FinishPlan:
    """The scene's edit as the run finished it: its timeline record, its manifest's fades,
    the film's LUT and the draft delivery."""
    record = json.loads(record_path(root, scene_id, "draft").read_text())
    scene = film.scene(scene_id)
    fin, film_fin = scene.finishing, film.film.finishing
    shots = [FinishShot(s["media"], float(s["seconds"]), has_audio=False, trim_in=s.get("trim_in", 0.0),
                        trim_out=s.get("trim_out", 0.0), transition=(s["transition"][0], float(s["transition"][1])))
             for s in record["shots"] if s.get("media")]
    cues = [FinishCue(c["media"], c["kind"], float(c["start"]), float(c["offset"]) + float(c["seconds"]),
                      offset=float(c["offset"]), gain_db=c["gain_db"], ducks=c["kind"] == "music")
            for c in record["cues"]]
    delivery = film_fin.delivery_for("draft")
    return FinishPlan(shots=shots, cues=cues, width=record["width"], height=record["height"], fps=record["fps"],
                      lut=str(root / film_fin.lut) if film_fin.lut else None,
                      fade_in=fin.fade_in if fin else 0.0, fade_out=fin.fade_out if fin else 0.0,
                      target_lufs=delivery.target_lufs, true_peak=delivery.true_peak)


def against_plain(plan: FinishPlan, work: Path) -> dict:
    started = time.perf_counter()
    done = finish(plan, work / "slate.mp4")
    ours = time.perf_counter() - started
    measured = measure(plan)   # pass one's figures, for the plain run (not timed: slate's own work)
    args = finish_args(plan, work / "plain.mp4", measured)
    started = time.perf_counter()
    subprocess.run([ffmpeg_exe(), *args], check=True, stdin=subprocess.DEVNULL, capture_output=True)
    plain = time.perf_counter() - started
    return {"seconds_of_cut": round(plan.total, 2), "slate_s": round(ours, 2), "plain_ffmpeg_s": round(plain, 2),
            "ratio": round(ours / plain, 2), "loudness_lufs": done.loudness.integrated if done.loudness else None,
            "true_peak_dbtp": done.loudness.true_peak if done.loudness else None}


def main(shots: int = 62, scenes: int = 4, keep: str | None = None) -> list[dict]:
    lines = []

    def say(line: dict) -> None:
        lines.append(line)
        print(json.dumps(line), flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        root = long_film(Path(keep or tmp) / "film", shots, scenes)
        film = load_film(root)
        say(timed_run(root, film.film.id, shots, "first"))
        total_ours = total_plain = 0.0
        for _, scene in film.scenes:
            with tempfile.TemporaryDirectory() as work:
                figures = against_plain(plan_from_record(root, film, scene.id), Path(work))
            total_ours += figures["slate_s"]
            total_plain += figures["plain_ffmpeg_s"]
            say({"benchmark": "finish", "scene": scene.id, **figures})
        say({"benchmark": "finish", "scenes": len(film.scenes), "slate_s": round(total_ours, 2),
             "plain_ffmpeg_s": round(total_plain, 2), "ratio": round(total_ours / total_plain, 2)})
        lut = root / film.film.finishing.lut
        before = len(_rows(root, film.film.id))
        # Red pulled down by a tenth: a new grade, the same panels and clips.
        rows = [line for line in lut.read_text().splitlines()]
        changed = [" ".join([f"{float(r.split()[0]) * 0.9:.6f}", *r.split()[1:]]) if r[:1].isdigit() else r
                   for r in rows]
        lut.write_text("\n".join(changed) + "\n")
        again = timed_run(root, film.film.id, shots, "re-finish")
        say({"benchmark": "finish", "run": "re-finish after a LUT change", "wall_s": again["wall_s"],
             "prefect_home_setup_s": again.get("prefect_home_setup_s"),
             "new_ledger_rows": len(_rows(root, film.film.id)) - before, "calls": again["calls"]})
    return lines


if __name__ == "__main__":
    numbers, kept = shots_scenes_keep(sys.argv[1:])
    main(*numbers, keep=kept)
