"""The swap gate on the example's own clip: what it passes, what it catches, and what it costs (issue 41).

    .venv/bin/python -m benchmarks.faceswap_gate [--film DIR] [--seed 7] [--repeat 2]

Renders the example's medium two-shot 1D offline (local painter, draft) unless `--film` names a
film where it is rendered, then makes swaps of it by hand — each an H.264 encode of its frames
changed one way — and runs the swap gate (tasks/faceswap.py `swap_readings`, exactly what a run
runs) on each, for Jenny: a clean swap of a face drifted by 15, 25 and 35 Lab units, a swap that
left an on-model face as it was, and the spoiled ones the gate must catch (the face left drifted,
Gabe's face swapped instead, a block of the set repainted at a seeded place, Jenny's hair
repainted, a quarter of the frames dropped; the frames frozen, which passes on a still shot as 1D).
Prints each case's verdict
against the one expected, the failing score, and the gate's time (best of `--repeat`).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from slate.manifests.turnaround import EXAMPLE_CAST


def _render(root: Path) -> None:
    from slate.manifests import write_example_film
    write_example_film(root)
    path = root / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["shots"] = [s for s in doc["shots"] if s["id"] == "1D"]
    for s in doc["shots"]:
        s.pop("dialogue", None)
    doc.pop("finishing", None)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    slate = Path(sys.executable).with_name("slate")
    subprocess.run([str(slate), "run", str(root)], check=True, capture_output=True)


def _clip_of(root: Path) -> str:
    from slate.governor.ledger import Ledger
    rows = Ledger.for_project(root).rows(film="night-diner")
    return [r for r in rows if r.stage == "video" and r.shot == "1D" and r.status == "succeeded"][-1].artifact_uri


def _frames(path: Path) -> tuple[np.ndarray, float]:
    from slate.media.commands import raw_frames_args
    from slate.media.ffmpeg import pipe
    from slate.media.probe import probe
    info = probe(path)
    raw = pipe(raw_frames_args(path, width=info.width, height=info.height))
    return np.frombuffer(raw, np.uint8).reshape(-1, info.height, info.width, 3).copy(), float(info.fps)


def _encode(frames: np.ndarray, fps: float, out: Path) -> Path:
    from slate.media.commands import raw_clip_args
    from slate.media.ffmpeg import pipe
    pipe(raw_clip_args(out, width=frames.shape[2], height=frames.shape[1], fps=fps), frames.tobytes())
    return out


def _skin_mask(frames: np.ndarray, skin: tuple[int, int, int], left: bool) -> np.ndarray:
    """Where a character's skin is, on their side of the frame (Gabe stands left in 1D)."""
    near = np.abs(frames.astype(int) - np.array(skin)).sum(axis=-1) <= 30
    half = frames.shape[2] // 2
    if left:
        near[:, :, half:] = False
    else:
        near[:, :, :half] = False
    return near


def _shift(frames: np.ndarray, mask: np.ndarray, by: float) -> np.ndarray:
    """The masked pixels moved `by` Lab units (ΔE, at the skin's own colour): darker and warmer,
    as a drifted face."""
    from slate.media.grade import lab
    out = frames.astype(np.float32)
    direction = np.array([-20.0, -19.0, -25.0], dtype=np.float32)
    skin = np.array(EXAMPLE_CAST["jenny"].skin, dtype=np.float32)
    unit = float(np.linalg.norm(lab((skin + direction)[None])[0] - lab(skin[None])[0]))
    out[mask] = out[mask] + direction * (by / unit)
    return np.clip(out, 0, 255).astype(np.uint8)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--film", type=Path)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=2)
    a = ap.parse_args()
    from slate.providers.storage_local import LocalStorage
    from slate.tasks.faceswap import SwapCheck, swap_readings
    from slate.tasks.take_inputs import Maker
    rng = np.random.default_rng(a.seed)
    with tempfile.TemporaryDirectory(prefix="faceswap-bench-") as tmp:
        root = a.film or Path(tmp) / "film"
        if a.film is None:
            t0 = time.perf_counter()
            _render(root)
            print(f"rendered 1D offline in {time.perf_counter() - t0:.1f} s")
        st = LocalStorage(root)
        clip_uri = _clip_of(root)
        frames, fps = _frames(Path(st.open_local(clip_uri)))
        jenny, gabe = EXAMPLE_CAST["jenny"].skin, EXAMPLE_CAST["gabe"].skin
        skin, his = _skin_mask(frames, jenny, left=False), _skin_mask(frames, gabe, left=True)
        # Her face is her largest patch of skin (her hands drift with it, and a face swap leaves them).
        from scipy.ndimage import find_objects, label
        patches, _ = label(skin[0])
        sizes = np.bincount(patches.ravel())
        sizes[0] = 0
        top = find_objects(patches)[int(np.argmax(sizes)) - 1]
        her = np.zeros_like(skin)
        her[:, top[0], top[1]] = skin[:, top[0], top[1]]
        hands = skin & ~her
        sheets = {c: st.put_bytes((root / f"characters/{c}/{c}_turnaround_APPROVED.png").read_bytes(), "png")
                  for c in ("gabe", "jenny")}
        plate = st.put_bytes((root / "locations/diner/diner_plate_APPROVED.png").read_bytes(), "png")
        scene = yaml.safe_load((root / "scenes" / "scene-01.yaml").read_text())
        wardrobe = {c: (scene.get("wardrobe") or {}).get(c, {}).get("colour") for c in ("gabe", "jenny")}
        h, w = frames.shape[1:3]
        y, x = int(rng.integers(0, h - h // 6)), int(rng.integers(0, w - w // 6))
        block = frames.copy()
        block[:, y:y + h // 6, x:x + w // 6] = jenny
        hair = frames.copy()
        hair_mask = np.zeros(frames.shape[:3], bool)
        rows = np.flatnonzero(her.any(axis=(0, 2)))
        cols = np.flatnonzero(her.any(axis=(0, 1)))
        if len(rows):
            top = max(0, rows[0] - (rows[-1] - rows[0]))
            hair_mask[:, top:rows[0], cols[0]:cols[-1] + 1] = True
            hair[hair_mask & (np.abs(frames.astype(int) - np.array(EXAMPLE_CAST["jenny"].hair)).sum(-1) <= 40)] = \
                (90, 60, 30)
        cases: list[tuple[str, np.ndarray, np.ndarray, bool]] = []
        for by in (15, 25, 35):
            drifted = _shift(frames, skin, by)
            cases.append((f"clean swap of a face drifted {by} ΔE", drifted, _shift(frames, hands, by), True))
        cases += [
            ("on-model face left as it was", frames, frames, True),
            ("a face drifted 25 ΔE left drifted", _shift(frames, her, 25), _shift(frames, her, 25), False),
            ("Gabe's face swapped instead", _shift(frames, her, 25), _shift(_shift(frames, her, 25), his, 25), False),
            (f"a block of the set repainted at ({x},{y})", frames, block, False),
            ("Jenny's hair repainted", frames, hair, False),
            ("a quarter of the frames dropped", frames, frames[: 3 * len(frames) // 4], False),
            # 1D's camera is still: frozen frames are its frames (a moving shot's is the unit tests').
            ("the frames frozen on the first (a still shot)", frames, np.repeat(frames[:1], len(frames), axis=0),
             bool(np.abs(np.diff(frames.astype(np.int16), axis=0)).mean() < 0.5)),
        ]
        print(f"1D: {len(frames)} frames {w}x{h} at {fps:g} fps; Jenny's face {int(her[0].sum())} px in frame 0, "
              f"her hands {int(hands[0].sum())} px")
        print(f"{'case':48} {'expect':>7} {'got':>7} {'ms':>7}  failing score")
        wrong = 0
        for name, before, after, expect in cases:
            b = st.put_bytes(_encode(before, fps, Path(tmp) / "b.mp4").read_bytes(), "mp4")
            af = st.put_bytes(_encode(after, fps, Path(tmp) / "a.mp4").read_bytes(), "mp4")
            check = SwapCheck(shot="1D", take=1, clip_uri=b, swapped_uri=af, swapped=("jenny",),
                              named=("gabe", "jenny"), turnarounds=sheets, wardrobe=wardrobe, plate_uri=plate,
                              maker=Maker(provider="bench", model="hand", profile="draft"))
            best = float("inf")
            for _ in range(max(1, a.repeat)):
                t0 = time.perf_counter()
                scores = swap_readings(st, check)
                best = min(best, time.perf_counter() - t0)
            failed = [s for s in scores if not s["passed"]]
            got = not failed
            wrong += got != expect
            print(f"{name:48} {'pass' if expect else 'fail':>7} {'pass' if got else 'fail':>7} {best * 1000:7.0f}  "
                  f"{failed[0]['name'] + ': ' + failed[0]['reason'][:90] if failed else ''}")
        print(f"{len(cases) - wrong} of {len(cases)} as expected")


if __name__ == "__main__":
    main()
