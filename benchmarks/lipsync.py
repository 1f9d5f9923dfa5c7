"""The sync gate (issue 38), measured: faults caught, clean takes let through, offsets read, time.

`python -m benchmarks.lipsync [--n N] [--seed S] [--workers W]`
builds N seeded set-ups — a speaker of the example cast (manifests/turnaround EXAMPLE_CAST),
alone or beside another, facing the camera or three-quarter, in a close, medium or wide
framing of the diner or the street (the local painter's rules: providers/local_draw), the
camera static or moving (media/render `render_clip`: a dolly, a pan or a tilt), a line of
2 to 16 words spoken by a local voice (providers/local_speech) at 0.2–0.8 s into a 3 s
clip — and lip-syncs each one's clip four ways with the local model (providers/local_lipsync
`lipsync_clip`): clean, and with each of LIP_FAULT_KINDS (its own seed). Every take is judged
by media/lipsync `judge_sync` as the sync gate runs it. It prints, per kind, the share caught
(a fault `failed` or `cannot_judge`) or, for clean takes, the false alarms (`failed` and
`cannot_judge` apart); the offset error (measured − true, ms: median, p95 and max of the
absolute) of clean takes (truth 0) and lip_offset takes (truth: the shift applied); each
framing's reading; and the gate's milliseconds a take (CPU of this process, decode included).
The bar: ≥ 95% of each fault kind caught, ≤ 5% false alarms, offsets within ±40 ms.

Wide framings are in the corpus too: a wide face is 30–40 px tall, over MIN_FACE_PX.
Profiles (one eye) are not: the local lip-sync model cannot find a face there, and the gate says
"cannot judge" of it — counted apart (`profile` line), never as a pass.

It must never write outside its temp dir or reach the network; nothing it makes is kept.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from slate.manifests.turnaround import EXAMPLE_CAST, HEAD_BAND, draw_turnaround
from slate.media.lipsync import judge_sync
from slate.media.render import render_clip
from slate.providers.base import FaceCue
from slate.providers.local_bible import draw_plate
from slate.providers.local_draw import add_grain, frame_plate, paste_figure, place_figures, rng_for, view_cell
from slate.providers.local_lipsync import LIP_FAULT_KINDS, fault_shift, lipsync_clip
from slate.providers.local_speech import LOCAL_VOICES, Speech, speak, write_wav

KINDS = ("clean", *LIP_FAULT_KINDS)
WIDTH, HEIGHT, FPS = 854, 480, 24
FRAMINGS = ("close", "medium", "medium", "wide")   # medium twice: the framing dialogue is mostly shot in
MOVES = ("static", "static", "dolly_in", "dolly_out", "pan_left", "pan_right", "tilt_up", "tilt_down")
PLACES = {
    "diner": "Interior of a 1950s-style all-night diner. Red vinyl stools along a chrome counter, a black and "
             "white chequered floor. Two large windows onto the dark street; warm pendant lamps.",
    "street": "A city street at night in front of the diner. Wet asphalt, a yellow street lamp, a dark blue sky.",
}
LINES = ("Be right with you.", "Too hot. Take it back.", "Fresh pot. Careful, it's hot.",
         "Not tonight.", "You again? Sit anywhere you like, the place is empty.",
         "I walked all the way from the station in this rain, and the bus never came.",
         "Two eggs, sunny side up, and whatever coffee you have left.",
         "Did you see who came in just now?", "Keep the change.",
         "We close at four, but nobody ever leaves before five, so take your time with it.")


@dataclass(frozen=True)
class SetUp:
    i: int
    speaker: str
    other: str | None
    framing: str
    move: str
    place: str
    line: str
    voice: str
    at: float
    seconds: float


def set_up(i: int, seed: int) -> SetUp:
    rng = rng_for("lipsync-bench", seed, i)
    cast = sorted(EXAMPLE_CAST)
    speaker = cast[int(rng.integers(len(cast)))]
    others = [c for c in cast if c != speaker]
    other = others[int(rng.integers(len(others)))] if rng.random() < 0.5 else None
    line = LINES[int(rng.integers(len(LINES)))]
    voices = sorted(LOCAL_VOICES)
    return SetUp(i, speaker, other, FRAMINGS[int(rng.integers(len(FRAMINGS)))], MOVES[int(rng.integers(len(MOVES)))],
                 sorted(PLACES)[int(rng.integers(len(PLACES)))], line, voices[int(rng.integers(len(voices)))],
                 round(float(rng.uniform(0.2, 0.8)), 3), 3.0)


def _sheets(root: Path) -> dict[str, Path]:
    out = {}
    for cid, spec in EXAMPLE_CAST.items():
        out[cid] = root / f"{cid}.png"
        if not out[cid].exists():
            draw_turnaround(spec).save(out[cid])
    return out


def build(s: SetUp, root: Path, seed: int) -> dict:
    """The set-up's panel, clip, speech and cue, in `root` (the painter's rules, a view facing us)."""
    sheets = _sheets(root)
    plate_path = root / f"plate-{s.place}.png"
    if not plate_path.exists():
        draw_plate(PLACES[s.place]).save(plate_path)
    plate = Image.open(plate_path).convert("RGB")
    ids = [s.speaker] if s.other is None else ([s.speaker, s.other] if s.i % 2 else [s.other, s.speaker])
    rng = rng_for("lipsync-view", seed, s.i)
    # The speaker faces us (front or three-quarter: a lip-sync model reads a profile's mouth no
    # better than the gate); whoever stands beside them, any view but the back.
    views = {c: ("front", "three_quarter")[int(rng.integers(2))] if c == s.speaker else
             ("front", "three_quarter", "side")[int(rng.integers(3))] for c in ids}
    figs = {c: view_cell(Image.open(sheets[c]), views[c]) for c in ids}
    sizes = {(c, v): figs[c].size for c in ids for v in ("front", "three_quarter", "side")}
    placed = place_figures(ids, sizes, framing=s.framing, width=WIDTH, height=HEIGHT, seed=seed * 1000 + s.i,
                           moment="start")
    canvas = frame_plate(plate, s.framing, "eye", WIDTH, HEIGHT)
    cue_at = (0.5, 0.3)
    for p in placed:
        paste_figure(canvas, figs[p.character_id], p)
        if p.character_id == s.speaker:
            w, h = figs[p.character_id].width * p.scale, figs[p.character_id].height * p.scale
            cue_at = ((p.x + w / 2) / WIDTH, (p.y + h * sum(HEAD_BAND) / 2) / HEIGHT)
    panel = root / f"panel-{s.i}.png"
    add_grain(canvas, seed * 1000 + s.i).save(panel)
    clip = root / f"clip-{s.i}.mp4"
    render_clip(panel, clip, width=WIDTH, height=HEIGHT, fps=FPS, seconds=s.seconds, movement=s.move)
    spoken = speak(s.line, LOCAL_VOICES[s.voice])
    total = int(round(s.seconds * spoken.rate))
    pcm = np.zeros(total, np.int16)
    a = int(round(s.at * spoken.rate))
    part = spoken.samples[:max(0, total - a)]
    pcm[a:a + len(part)] = part
    wav = write_wav(Speech(pcm, spoken.rate), root / f"speech-{s.i}.wav")
    span = (s.at, s.at + len(part) / spoken.rate)
    return {"panel": panel, "clip": clip, "wav": wav, "span": span, "plate": plate_path, "sheets": sheets,
            "named": tuple(ids), "views": views,
            "cue": FaceCue(s.speaker, cue_at[0], cue_at[1], span[0], span[1])}


def case(args: tuple[int, int, str]) -> list[dict]:
    """One set-up, its clip lip-synced each way and judged: a row per kind."""
    from functools import partial

    from slate.tasks.gates.keyframes import ClipCast, cast_of
    i, seed, tmp = args
    s = set_up(i, seed)
    root = Path(tmp)
    made = build(s, root, seed)
    who = ClipCast(made["named"], made["sheets"], {}, made["plate"])
    cast = partial(cast_of, who)
    rows = []
    for k, kind in enumerate(KINDS):
        fault = None if kind == "clean" else kind
        take_seed = seed * 100000 + i * 10 + k
        out = lipsync_clip(made["clip"], made["wav"], root / f"synced-{i}-{kind}.mp4", faces=(made["cue"],),
                           fault=fault, seed=take_seed)
        t0 = time.process_time()
        r = judge_sync(out, made["wav"], speaker=s.speaker, span=made["span"], cast=cast, named=who.named,
                       start=made["panel"])
        spent = time.process_time() - t0
        truth = fault_shift(take_seed) * 1000.0 if kind == "lip_offset" else 0.0 if kind == "clean" else None
        rows.append({"i": i, "kind": kind, "speaker": s.speaker, "framing": s.framing, "move": s.move,
                     "view": made["views"][s.speaker], "two": s.other is not None, "words": len(s.line.split()),
                     "verdict": r.verdict, "offset": r.offset_ms, "truth": truth, "confidence": r.confidence,
                     "found": r.found, "reason": r.reason, "ms": spent * 1000.0})
        out.unlink(missing_ok=True)
    return rows


def _dist(errors: list[float]) -> str:
    if not errors:
        return "-"
    a = np.abs(np.array(errors))
    return f"median {np.median(errors):+.1f}, p95 |{np.percentile(a, 95):.1f}|, max |{a.max():.1f}| ms"


def run(n: int = 100, seed: int = 7, workers: int = 2) -> dict:
    with tempfile.TemporaryDirectory(prefix="slate-lipsync-") as tmp:
        _sheets(Path(tmp))
        with ProcessPoolExecutor(max_workers=workers) as pool:
            rows = [r for rows in pool.map(case, [(i, seed, tmp) for i in range(n)]) for r in rows]
    summary: dict = {"n": n, "seed": seed, "kinds": {}}
    for kind in KINDS:
        mine = [r for r in rows if r["kind"] == kind]
        verdicts = {v: sum(r["verdict"] == v for r in mine) for v in ("passed", "failed", "cannot_judge")}
        line = {"kind": kind, "cases": len(mine), **verdicts}
        if kind == "clean":
            line["false_alarms"] = round((verdicts["failed"] + verdicts["cannot_judge"]) / max(1, len(mine)), 4)
        else:
            line["caught"] = round((verdicts["failed"] + verdicts["cannot_judge"]) / max(1, len(mine)), 4)
        if kind in ("clean", "lip_offset"):
            errs = [r["offset"] - r["truth"] for r in mine if r["offset"] is not None]
            line["offset_error"] = _dist(errs)
            line["within_40ms"] = round(float(np.mean(np.abs(errs) <= 40)), 4) if errs else 0.0
        line["ms_per_take"] = round(float(np.mean([r["ms"] for r in mine])), 1)
        if kind == "clean":
            line["confidence_min"] = round(min(r["confidence"] for r in mine), 4)
        elif kind == "lip_other_line":
            line["confidence_max"] = round(max(r["confidence"] for r in mine), 4)
        print(json.dumps(line))
        summary["kinds"][kind] = line
    for framing in ("close", "medium", "wide"):
        mine = [r for r in rows if r["framing"] == framing]
        clean = [r for r in mine if r["kind"] == "clean"]
        faults = [r for r in mine if r["kind"] != "clean"]
        print(json.dumps({"framing": framing, "clean": len(clean),
                          "clean_passed": sum(r["verdict"] == "passed" for r in clean), "faults": len(faults),
                          "faults_caught": sum(r["verdict"] != "passed" for r in faults)}))
    for r in rows:
        wrong = (r["kind"] == "clean") == (r["verdict"] != "passed")
        off = r["kind"] in ("clean", "lip_offset") and r["offset"] is not None and abs(r["offset"] - r["truth"]) > 40
        if wrong or off:
            print(json.dumps({k: r[k] for k in ("i", "kind", "speaker", "framing", "move", "view", "two", "words",
                                                "verdict", "offset", "truth", "confidence", "reason")}))
    bar = all(summary["kinds"][k]["caught"] >= 0.95 for k in LIP_FAULT_KINDS) and \
        summary["kinds"]["clean"]["false_alarms"] <= 0.05 and \
        all(summary["kinds"][k]["within_40ms"] == 1.0 for k in ("clean", "lip_offset"))
    print(json.dumps({"bar": "held" if bar else "broken"}))
    summary["bar"] = bar
    return summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    t = time.time()
    summary = run(a.n, a.seed, a.workers)
    print(json.dumps({"seconds": round(time.time() - t, 1)}))
    raise SystemExit(0 if summary["bar"] else 1)


if __name__ == "__main__":
    main()
