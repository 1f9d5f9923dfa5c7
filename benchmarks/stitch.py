"""Stitch time against plain ffmpeg: N clips of the example's size joined by slate's stitch
(all cuts; then with a dissolve every sixth cut) and by ffmpeg alone (the concat demuxer with
stream copy, and the concat filter re-encoding everything, which is what slate did before).

Prints one JSON line per way: seconds (best of `repeat`), frames, and the ratio to the plain
copy concat. Usage: python -m benchmarks.stitch [clips=24] [seconds=3] [repeat=3]
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw

from slate import media
from slate.media.commands import concat_args

W, H, FPS = 854, 480, 24


def clips(root: Path, n: int, seconds: float) -> list[tuple[str, float]]:
    out = []
    moves = ("static", "dolly_in", "pan_left", "tilt_up", "dolly_out", "pan_right")
    for i in range(n):
        png = root / f"p{i}.png"
        im = Image.new("RGB", (W, H), (40 + 7 * i % 200, 90, 160 - 3 * i % 120))
        ImageDraw.Draw(im).ellipse([100 + 9 * i % 500, 80, 300 + 9 * i % 500, 400], fill=(230, 200, 40))
        im.save(png)
        mp4 = root / f"c{i}.mp4"
        media.render_clip(png, mp4, width=W, height=H, fps=FPS, seconds=seconds, movement=moves[i % len(moves)])
        out.append((str(mp4), seconds))
    return out


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def against_copy(cl: list[tuple[str, float]], work: Path, repeat: int = 9, fps: int = FPS) -> dict:
    """slate's stitch (all cuts, as the film flow joins its scenes) of these clips against the
    plain ffmpeg concat demuxer with stream copy, best of `repeat` each, taken in turns (one of
    each, then again): both are tens of milliseconds, mostly ffmpeg starting, and a machine that
    gets busier during the one and not the other would otherwise decide the ratio."""
    listing = work / "list.txt"
    listing.write_text("".join(f"file '{p}'\n" for p, _ in cl))
    size = media.probe(Path(cl[0][0]))
    plain = lambda: media.run(["-nostdin", "-loglevel", "error", "-y", "-f", "concat", "-safe", "0", "-i",
                               str(listing), "-c", "copy", str(work / "plain.mp4")])
    stitch = lambda: media.stitch(cl, work / "cuts.mp4", transitions=[("cut", 0.0)] * (len(cl) - 1),
                                  fps=fps, width=size.width, height=size.height)
    turns = [(best(plain, 1), best(stitch, 1)) for _ in range(repeat)]
    plain_s, ours = min(t[0] for t in turns), min(t[1] for t in turns)
    return {"clips": len(cl), "stitch_s": round(ours, 3), "ffmpeg_copy_concat_s": round(plain_s, 3),
            "stitch_ratio": round(ours / plain_s, 2), "stitch_goal_ratio": 1.1}


def main(n: int = 24, seconds: float = 3, repeat: int = 3) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cl = clips(root, n, seconds)
        cuts = [("cut", 0.0)] * (n - 1)
        dissolves = [("dissolve", 0.5) if i % 6 == 5 else ("cut", 0.0) for i in range(n - 1)]
        listing = root / "list.txt"
        listing.write_text("".join(f"file '{p}'\n" for p, _ in cl))
        ways = {
            "ffmpeg concat demuxer, stream copy": lambda: media.run(
                ["-nostdin", "-loglevel", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing),
                 "-c", "copy", str(root / "plain.mp4")]),
            "ffmpeg concat filter, re-encode": lambda: media.run(
                concat_args(cl, root / "filter.mp4", transitions=cuts, fps=FPS, width=W, height=H)),
            "slate stitch, cuts": lambda: media.stitch(cl, root / "cuts.mp4", transitions=cuts,
                                                       fps=FPS, width=W, height=H),
            "slate stitch, a dissolve every 6th cut": lambda: media.stitch(
                cl, root / "dissolves.mp4", transitions=dissolves, fps=FPS, width=W, height=H),
        }
        seconds_by = {name: best(fn, repeat) for name, fn in ways.items()}
        base = seconds_by["ffmpeg concat demuxer, stream copy"]
        lines = [{"benchmark": "stitch", "way": name, "clips": n, "clip_seconds": seconds,
                  "seconds": round(s, 3), "ratio_to_copy_concat": round(s / base, 2),
                  "ratio_to_reencode": round(s / seconds_by["ffmpeg concat filter, re-encode"], 3)}
                 for name, s in seconds_by.items()]
    for line in lines:
        print(json.dumps(line))
    return lines


if __name__ == "__main__":
    args = [float(a) for a in sys.argv[1:]]
    main(int(args[0]) if args else 24, args[1] if len(args) > 1 else 3, int(args[2]) if len(args) > 2 else 3)
