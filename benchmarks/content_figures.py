"""The content check's figures (media/content.py) on the gate corpus: where clean takes lie and
where pictures with nothing in them lie, so the thresholds sit between with a margin.

`python -m benchmarks.content_figures [--n N] [--seed S]` draws N clean panels of the example
film with each photometric change (benchmarks/gate_corpus.py PHOTOMETRIC), N of each blank kind
(flat fills, washed out x0.2, noise σ40) and N star-fields and photographs, and prints, per
kind, the lowest and highest value of each figure, and how many the check flags.

It must never write outside its temp dir or reach the network.
"""
from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from benchmarks.gate_corpus import BLANK_PANELS, PHOTOMETRIC, blank_panel, photograph, photometric, star_field
from benchmarks.judge_trials import panel_requests
from slate.manifests import write_example_film
from slate.media.content import content_fault, content_figures
from slate.providers.local import LocalImage
from slate.providers.storage_local import LocalStorage

FIGURES = ("flat", "dark", "bright", "contrast", "noise", "structure", "snr")


def measure(n: int, seed: int) -> dict[str, dict]:
    rng = np.random.default_rng([seed, 20])
    with tempfile.TemporaryDirectory(prefix="slate-content-") as tmp:
        root = write_example_film(Path(tmp) / "film")
        painter = LocalImage(LocalStorage(root))
        base = panel_requests(root)
        rows: dict[str, dict] = {}

        def add(kind, img):
            f = content_figures(img)
            row = rows.setdefault(kind, {"cases": 0, "flagged": 0, **{k: [np.inf, -np.inf] for k in FIGURES}})
            row["cases"] += 1
            row["flagged"] += content_fault(img, f) is not None
            for k in FIGURES:
                row[k] = [min(row[k][0], f[k]), max(row[k][1], f[k])]

        for i in range(n):
            req = replace(base[i % len(base)], seed=seed * 1000 + i)
            clean = painter.draw(req)
            for op in PHOTOMETRIC:
                add(f"clean/{op}", photometric(clean, op, rng))
            for kind in BLANK_PANELS:
                add(kind, blank_panel(clean, kind, rng)[0])
            add("star_field", star_field(clean.size, rng))
            add("photograph", photograph(clean.size, rng))
        return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    for kind, row in measure(args.n, args.seed).items():
        print(json.dumps({"kind": kind, **{k: v if not isinstance(v, list) else [round(x, 3) for x in v]
                                           for k, v in row.items()}}))


if __name__ == "__main__":
    main()
