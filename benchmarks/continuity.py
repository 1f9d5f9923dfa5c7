"""The local judge against the continuity ledger (issue 58): seeded panels of the example film's
shots, each under a continuity state of its own — props with a side, a colour and a state, the
characters at a side and facing, a light from one side, warm or cool, and an end state the
shot's action changed — drawn clean, or with one thing held wrong: a prop moved, removed or
recoloured, a character on the other side facing the other way, the light from the other side,
a declared change not made (providers/local_draw.py CONTINUITY_FAULT_KINDS) — each edited into
the clean panel after drawing (benchmarks/continuity_edits.py; `--faults drawn`: drawn by the
painter from the wrong state instead, as a rehearsal run's faults are). Every case then
goes through one of the gate corpus's clean photometric changes (exposure, gamma, JPEG, blur,
noise: benchmarks/gate_corpus.py), as a model's output would, before the judge sees it.

With `--gate cut` the same cases are the first frame after a cut within the set (the shot
before it drawn clean as the last frame): the continuity gate holds what the ledger carries over
the cut (`judge_continuity`, its `cut_props`, `cut_blocking`, `cut_light`), at the keyframe
gate's working size, where a clip that lost its panel at its first frame is caught. With
`--gate first` they are a clip's first (and middle) frame, its start panel the case drawn clean:
the keyframe gate's `first_props`, `first_blocking`, `first_light`.

Bar (benchmarks/gate_bar.py): each fault kind at least 95% caught, at most 5% of clean panels
failed. The test (tests/unit/test_continuity_gate.py) draws a seeded sample of the same cases.

    .venv/bin/python -m benchmarks.continuity --n 100 [--seed 5] [--kinds prop_moved,clean] [--gate cut]

prints a row per kind (caught or failed of N, the judge's time per panel) and exits non-zero when
the bar is broken. It must never touch the ledger or the network: it calls the local painter and
judge directly.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from benchmarks.gate_bar import Sample, bar_broken
from benchmarks.continuity_edits import edited_fault
from benchmarks.gate_corpus import PHOTOMETRIC, photometric
from slate.providers.base import PanelRequest, ReferenceImages
from slate.providers.local_draw import CONTINUITY_FAULT_KINDS, PROP_X, STATE_FILL, rng_for

KINDS = ("clean",) + CONTINUITY_FAULT_KINDS
PROP_NAMES = ("mug", "lamp", "book", "bottle", "phone")
#: State words a prop may change between (each pair drawn apart by the painter: local_draw.STATE_FILL).
STATE_PAIRS = (("full", "empty"), ("open", "closed"), ("on", "off"), ("lit", "unlit"), ("whole", "broken"))
COLOURS = ("#c0392b", "#2e86c1", "#27ae60", "#f1c40f", "#8e44ad", None)


#: The score a fault kind must fail to be named for what it is (not only caught by another check).
NAMED_BY = {"prop_moved": ("props",), "prop_removed": ("props",), "prop_recoloured": ("props",),
            "mirrored": ("blocking",), "light_flipped": ("light",), "change_missed": ("props", "blocking", "light")}


@dataclass
class Row:
    kind: str
    failed: int = 0
    total: int = 0
    named: int = 0          # failed on the kind's own score (NAMED_BY)
    drawn: int = 0          # cases with nothing to edit, drawn by the painter instead
    seconds: float = 0.0
    examples: list[str] = field(default_factory=list)


def continuity_case(base: PanelRequest, kind: str, i: int, seed: int) -> PanelRequest:
    """Case `i` of `kind`: `base` under a continuity state of its own (and an end state with a
    declared change for every case, so a missed change can be drawn and clean ones carry one)."""
    rng = rng_for("continuity-case", seed, kind, i)
    props: dict[str, dict[str, Any]] = {}
    was: dict[str, dict[str, Any]] = {}
    sides = list(PROP_X)
    for name in rng.choice(PROP_NAMES, size=int(rng.integers(1, 3)), replace=False):
        before, after = STATE_PAIRS[int(rng.integers(0, len(STATE_PAIRS)))]
        colour = COLOURS[int(rng.integers(0, len(COLOURS)))]
        props[str(name)] = {"state": after, "side": sides.pop(int(rng.integers(0, len(sides)))),
                            **({"colour": colour} if colour else {})}
        was[str(name)] = {"state": before}
    order = ["left", "right"] if rng.random() < 0.5 else ["right", "left"]
    if len(base.characters) == 1:
        order = [("left", "right", "centre")[int(rng.integers(0, 3))]]
    blocking = {ch.id: {"side": side, "facing": ("left", "right", "camera")[int(rng.integers(0, 3))]}
                for ch, side in zip(base.characters, order + ["centre"])}
    first = base.characters[0].id
    if rng.random() < 0.3 and blocking[first]["side"] in ("left", "right"):
        # The shot's action moves someone across the room: the change a panel may miss is theirs.
        was[first] = {"side": "right" if blocking[first]["side"] == "left" else "left"}
    light = {"key": ("left", "right")[int(rng.integers(0, 2))],
             "temperature": ("warm", "cool")[int(rng.integers(0, 2))]}
    assert set(STATE_FILL) >= {w for pair in STATE_PAIRS for w in pair}
    return replace(base, seed=seed * 100_000 + KINDS.index(kind) * 1000 + i, moment="end",
                   continuity={"props": props, "blocking": blocking, "light": light, "was": was})


GATES = ("panel", "cut", "first")


FAULTS = ("edited", "drawn")


def run(root: Path, n: int, seed: int, kinds: tuple[str, ...] = KINDS, sample: int | None = None,
        bare: bool = False, gate: str = "panel", faults: str = "edited") -> dict[str, Row]:
    """Each kind's cases drawn (with the kind's fault), degraded and judged; a row per kind.
    `bare`: the same cases with no continuity ledger at all (drawn and judged as a film without
    one: what the ledger's checks add to the judge's time is the difference). `gate`: "panel"
    (the panel gate), "cut" (the continuity gate, the case as the first frame after a cut) or
    "first" (the keyframe gate, the case as a clip's first frame, its start panel drawn clean).
    `faults`: "edited" into the clean panel after drawing (benchmarks/continuity_edits.py; the
    painter's drawn fault where the panel has nothing that kind can edit), or "drawn" by the
    painter from a wrong state (providers/local_draw.py `misheld`)."""
    from benchmarks.judge_trials import panel_requests
    from slate.providers.local import FaultMode, LocalImage
    from slate.providers.local_judge import LocalJudge
    from slate.providers.storage_local import LocalStorage
    storage = LocalStorage(root)
    painter, judge = LocalImage(storage, FaultMode()), LocalJudge()
    bases = [r for r in panel_requests(root) if r.characters]
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        out, last = Path(tmp) / "panel.png", Path(tmp) / "last.png"
        for kind in kinds:
            row = rows[kind] = Row(kind)
            for i in Sample(n, sample).indices(kind):
                req = continuity_case(bases[i % len(bases)], kind, i, seed)
                if bare:
                    req = replace(req, continuity=None)
                refs = ReferenceImages(plate=storage.open_local(req.plate_uri),
                                       turnarounds={c.id: storage.open_local(c.turnaround_uri) for c in req.characters})
                img = painter.draw(req, None if kind == "clean" or faults == "edited" else kind)
                if kind != "clean" and faults == "edited":
                    edit = edited_fault(img, req, refs, kind, rng_for("continuity-edit", seed, kind, i))
                    img = edit if edit is not None else painter.draw(req, kind)
                    row.drawn += edit is None
                rng = rng_for("continuity-photometric", seed, kind, i)
                photometric(img, PHOTOMETRIC[int(rng.integers(0, len(PHOTOMETRIC)))], rng).save(out)
                if gate != "panel":
                    painter.draw(req, None).save(last)   # the shot before in the same set, or the start panel
                started = time.perf_counter()
                if gate == "panel":
                    verdict = judge.judge_panel(out, req, refs)
                elif gate == "cut":
                    verdict = judge.judge_continuity(last, out, req, req, refs)
                else:
                    verdict = judge.judge_keyframes({"first": out, "middle": out}, last, None, req, refs)
                row.seconds += time.perf_counter() - started
                row.total += 1
                if not verdict.passed:
                    row.failed += 1
                    row.named += any(not sc.passed and sc.name in NAMED_BY.get(kind, ()) for sc in verdict.scores)
                if (not verdict.passed) == (kind == "clean") and len(row.examples) < 5:
                    row.examples.append(f"case {i} ({req.location_id}, {req.framing}): {verdict.reasons()}")
    return rows


def broken(rows: dict[str, Row]) -> list[str]:
    """What of the bar the rows break (empty: held)."""
    return bar_broken(rows, "panels")


def main(argv: list[str] | None = None) -> int:
    from slate.manifests import write_example_film
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100, help="cases per kind")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--gate", choices=GATES, default="panel", help="the panel gate, or the continuity gate at a cut")
    ap.add_argument("--faults", choices=FAULTS, default="edited",
                    help="faults edited into the clean panel after drawing, or drawn by the painter from a wrong state")
    ap.add_argument("--timing", action="store_true",
                    help="also judge the clean cases with no ledger and print the time the ledger's checks add")
    args = ap.parse_args(argv)
    kinds = tuple(k for k in args.kinds.split(",") if k)
    with tempfile.TemporaryDirectory() as tmp:
        root = write_example_film(Path(tmp) / "film")
        rows = run(root, args.n, args.seed, kinds, gate=args.gate, faults=args.faults)
        bare = run(root, args.n, args.seed, ("clean",), bare=True, gate=args.gate)["clean"] if args.timing else None
    print(f"continuity ledger at the {args.gate} gate (local judge), faults {args.faults}, seed {args.seed}, "
          f"N={args.n} per kind")
    print(f"{'kind':<18}{'failed':>10}{'share':>9}{'named':>8}{'drawn':>7}{'ms/panel':>10}")
    for kind, row in rows.items():
        print(f"{kind:<18}{row.failed:>5}/{row.total:<4}{row.failed / max(1, row.total):>9.1%}"
              f"{row.named if kind != 'clean' else '':>8}{row.drawn if kind != 'clean' else '':>7}"
              f"{row.seconds / max(1, row.total) * 1000:>10.0f}")
    for kind, row in rows.items():
        for ex in row.examples[:3]:
            print(f"  {'false alarm' if kind == 'clean' else 'missed'} {kind}: {ex}")
    if bare is not None and "clean" in rows:
        held, plain = (r.seconds / max(1, r.total) * 1000 for r in (rows["clean"], bare))
        print(f"judge time per clean panel: {held:.0f} ms with the ledger, {plain:.0f} ms without "
              f"({held - plain:+.0f} ms)")
    bad = broken(rows)
    print("bar:", "held" if not bad else "broken: " + "; ".join(bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
