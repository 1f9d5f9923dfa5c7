"""Where each export puts the example's edit, against where its delivered MP4 has it (issue 39).

    .venv/bin/python -m benchmarks.conform_frames [--film DIR] [--dissolve 0.625]

Renders the example cut to four shots (1A | 1B ~ 1C | 1D, the dissolve `--dissolve` seconds: 15
frames by default, an odd count) offline, unless `--film` names one already rendered there; finds the
hard cuts in the MP4 with ffmpeg's scene measure; then writes the OTIO, FCP 7 XML and EDL with the
slate on PYTHONPATH (so an older checkout prints the "before"), reads each back with
OpenTimelineIO (and the EDL with pycmx, when it parses) and prints, in frames: the cut's length
and where 1B and 1D start, against the MP4's.

It uses only what every version of tasks/edit/export.py had (build_timeline, write_timeline,
read_records, record_path), so one script measures before and after.
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import opentimelineio as otio
import yaml

FPS = 24


def _render(root: Path, dissolve: float) -> None:
    from slate.manifests import write_example_film
    write_example_film(root)
    path = root / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["shots"] = [s for s in doc["shots"] if s["id"] in ("1A", "1B", "1C", "1D")]
    doc["shots"][1]["transition_out"] = {"kind": "dissolve", "duration": dissolve}
    doc["shots"][-1].pop("transition_out", None)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    slate = Path(sys.executable).with_name("slate")
    done = subprocess.run([str(slate), "run", str(root)], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(done.stdout[-2000:] + done.stderr[-2000:])


def _picture(mp4: Path) -> tuple[int, list[int]]:
    """The MP4's frame count, and the frames ffmpeg's scene measure finds it cutting on."""
    from slate.media.ffmpeg import ffmpeg_exe
    done = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostats", "-i", str(mp4), "-vf",
                           "select='gt(scene,0.1)',showinfo", "-f", "null", "-"], capture_output=True, text=True)
    cuts = [round(float(t) * FPS) for t in re.findall(r"pts_time:([\d.]+)", done.stderr)]
    count = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(mp4), "-map", "0:v:0", "-f", "null", "-"],
                           capture_output=True, text=True).stderr
    return int(re.findall(r"frame=\s*(\d+)", count)[-1]), cuts


def _starts(timeline: otio.schema.Timeline) -> tuple[int, dict[str, int]]:
    [track] = timeline.video_tracks()
    starts = {}
    for item in track:
        if isinstance(item, otio.schema.Clip):
            name = (item.name or "").split()[-1]
            starts.setdefault(name, round(track.range_of_child(item).start_time.to_frames()))
    return round(track.duration().to_frames()), starts


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--film", type=Path, help="where the example is rendered (kept; rendered there when it is not "
                                              "yet): default a temporary folder")
    ap.add_argument("--dissolve", type=float, default=0.625)
    args = ap.parse_args()
    from slate.tasks.edit.export import build_timeline, read_records, record_path, write_timeline
    work = Path(tempfile.mkdtemp(prefix="conform-frames-"))
    root = args.film or work / "night-diner"
    if not (root / "renders" / "scene-01-draft.mp4").is_file():
        _render(root, args.dissolve)
    total, cuts = _picture(root / "renders" / "scene-01-draft.mp4")
    print(f"the MP4: {total} frames; hard cuts (ffmpeg's scene measure) at {cuts}")
    timeline = build_timeline(read_records([record_path(root, "scene-01", "draft")]))
    print(f"{'format':<14}{'frames':>8}{'1B at':>8}{'1D at':>8}  matches the MP4")
    for fmt, suffix in (("otio", ".otio"), ("fcp7", ".xml"), ("edl", ".edl")):
        out = write_timeline(timeline, fmt, work / f"cut{suffix}")
        back = otio.adapters.read_from_file(str(out), **({"rate": FPS} if fmt == "edl" else {}))
        frames, starts = _starts(back)
        b, d = starts.get("1B", -1), starts.get("1D", -1)
        print(f"{fmt:<14}{frames:>8}{b:>8}{d:>8}  {frames == total and [b, d] == cuts}")
        if fmt == "edl":
            try:
                import pycmx
                with open(out) as f:
                    edl = pycmx.parse_cmx3600(f)
                durations = [e.transition.effect_duration for ev in edl.events for e in ev.edits if e.transition.dissolve]
                print(f"{'edl (pycmx)':<14}{'':>24}  dissolve durations read: {durations}")
            except Exception as exc:  # noqa: BLE001 — what a strict parser makes of it is the figure
                print(f"{'edl (pycmx)':<14}{'':>24}  pycmx could not read it: {type(exc).__name__}: {exc}")
    if args.film is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
