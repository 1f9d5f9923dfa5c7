"""SSIM: scikit-image's structural_similarity against slate's old box-window version, on the
example film's panels and keyframes (854x480): ms per comparison, and how far apart they are.

    .venv/bin/python -m benchmarks.metrics

Prints what it measured, one line per implementation, and the agreement between them on
pairs of the same shot (clean), of a panel and its off-model edit, and of different shots.
"""
from __future__ import annotations

import io
import tempfile
import time
from pathlib import Path

import numpy as np

from slate.media.metrics import load_rgb, ssim, ssim_box


def pairs(n: int = 24):
    from benchmarks.judge_trials import panel_requests
    from slate.manifests import write_example_film
    from slate.providers.local import LocalImage
    from slate.providers.storage_local import LocalStorage
    root = write_example_film(Path(tempfile.mkdtemp()) / "film")
    storage = LocalStorage(root)
    painter = LocalImage(storage)
    reqs = panel_requests(root)[:n]
    from PIL import Image
    imgs = [load_rgb(Image.open(io.BytesIO(painter.generate_panel(r)))) for r in reqs]
    rng = np.random.default_rng(0)
    out = []
    for i, a in enumerate(imgs):
        bright = np.clip(a.astype(np.float32) * 1.2, 0, 255).astype(np.uint8)
        out.append(("clean (brightened)", a, bright))
        out.append(("other shot", a, imgs[(i + 1) % len(imgs)]))
        noisy = np.clip(a + rng.normal(0, 40, a.shape), 0, 255).astype(np.uint8)
        out.append(("corrupted", a, noisy))
    return out


def main() -> None:
    cases = pairs()
    for name, fn in (("scikit-image", ssim), ("box windows", ssim_box)):
        started = time.perf_counter()
        values = [fn(a, b) for _, a, b in cases]
        ms = 1000 * (time.perf_counter() - started) / len(cases)
        by_kind = {}
        for (kind, _, _), v in zip(cases, values):
            by_kind.setdefault(kind, []).append(v)
        print(f"{name:>13}: {ms:6.1f} ms per 854x480 comparison; "
              + "; ".join(f"{k} {min(v):.3f}..{max(v):.3f}" for k, v in by_kind.items()))
    diffs = [abs(ssim(a, b) - ssim_box(a, b)) for _, a, b in cases]
    print(f"agreement: largest difference {max(diffs):.3f}, mean {np.mean(diffs):.3f} over {len(cases)} pairs")


if __name__ == "__main__":
    main()
