"""Seeded trials of the local judge against the local provider's own clean and faulty output.

The gates are only worth their cost if they catch off-model output and let good output
through; this measures both on the example film's shots: N clean panels (new seeds) and N
faulty ones (each fault kind in turn). Used by the judge test (tests/corpus/test_local_judge.py,
on a seeded sample: `sample`) and the judge benchmark (every case). Bar (benchmarks/gate_bar.py,
`trial_failures`): at least 95% of faults caught, at most 5% of clean panels failed.

It must never touch the ledger or the network: it calls the local provider and judge directly.

Run it as a benchmark: `.venv/bin/python -m benchmarks.judge_trials [N]` prints detection and
false-positive rates and the time per judged panel, and exits non-zero when the bar is broken.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.gate_bar import CAUGHT, FALSE_ALARMS, Sample
from slate.providers.local import FaultMode, LocalImage
from slate.providers.local_judge import LocalJudge
from slate.providers.base import ReferenceImages
from slate.tasks.review.judge_trial import TRIAL_FAULTS, cases, trial_requests


@dataclass
class TrialReport:
    clean: int = 0
    clean_failed: int = 0
    faulty: int = 0
    faulty_caught: int = 0
    misses: list[str] = field(default_factory=list)
    false_alarms: list[str] = field(default_factory=list)
    by_kind: dict[str, list[int]] = field(default_factory=dict)  # kind -> [caught, total]

    @property
    def detection_rate(self) -> float:
        return self.faulty_caught / self.faulty if self.faulty else 0.0

    @property
    def false_positive_rate(self) -> float:
        return self.clean_failed / self.clean if self.clean else 0.0

    def summary(self) -> str:
        kinds = ", ".join(f"{k} {c}/{t}" for k, (c, t) in sorted(self.by_kind.items()))
        return (f"local judge: faults caught {self.faulty_caught}/{self.faulty} ({self.detection_rate:.1%}), "
                f"clean panels failed {self.clean_failed}/{self.clean} ({self.false_positive_rate:.1%}); "
                f"by kind: {kinds}")


def panel_requests(root: Path, profile: str = "draft"):
    """The example film's start and end panel requests, resolved against its own storage."""
    return trial_requests(root, profile)


def trial_failures(report: TrialReport) -> list[str]:
    """What of the bar the trials broke (empty: held)."""
    out = []
    if report.detection_rate < CAUGHT:
        out.append(f"faults caught {report.faulty_caught}/{report.faulty}: {report.misses[:10]}")
    if report.false_positive_rate > FALSE_ALARMS:
        out.append(f"clean panels failed {report.clean_failed}/{report.clean}: {report.false_alarms[:10]}")
    return out


def run_trials(root: Path, n_clean: int = 100, n_faulty: int = 100, profile: str = "draft",
               sample: int | None = None) -> TrialReport:
    """`sample`: k of the clean cases and k faulty ones spread over the fault kinds (at least one
    of each), drawn by benchmarks/gate_bar.py's seeded Sample; None: every case. Case i is drawn
    by its own seed, so a sample is a subset of the full trials."""
    from slate.providers.storage_local import LocalStorage
    storage = LocalStorage(root)
    painter = LocalImage(storage, FaultMode())
    judge = LocalJudge()
    base = panel_requests(root, profile)
    report = TrialReport()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "panel.png"

        def judge_one(req, fault):
            out.write_bytes(painter.generate_panel(req, force_fault=fault))
            refs = ReferenceImages(plate=storage.open_local(req.plate_uri),
                                   turnarounds={c.id: storage.open_local(c.turnaround_uri) for c in req.characters})
            return judge.judge_panel(out, req, refs)

        # The cases `slate judge-trial` draws (tasks/review/judge_trial.py): the same figures on the same seed.
        for case in cases(base, Sample(n_clean, sample).indices("clean"),
                          Sample(n_faulty, sample).strata("faulty", len(TRIAL_FAULTS))):
            req, kind = case.request, case.kind
            verdict = judge_one(req, None if kind == "clean" else kind)
            if kind == "clean":
                report.clean += 1
                if not verdict.passed:
                    report.clean_failed += 1
                    report.false_alarms.append(f"seed {req.seed} {req.location_id}: {verdict.reasons()}")
                continue
            report.faulty += 1
            caught = not verdict.passed
            report.faulty_caught += caught
            tally = report.by_kind.setdefault(kind, [0, 0])
            tally[0] += caught
            tally[1] += 1
            if not caught:
                report.misses.append(f"{kind} seed {req.seed} chars={[c.id for c in req.characters]}")
    return report


def main() -> None:
    import sys
    import time
    from slate.manifests import write_example_film
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    with tempfile.TemporaryDirectory() as tmp:
        root = write_example_film(Path(tmp) / "film")
        started = time.perf_counter()
        report = run_trials(root, n, n)
        elapsed = time.perf_counter() - started
    print(report.summary())
    print(f"{2 * n} panels drawn and judged in {elapsed:.1f}s ({elapsed / (2 * n) * 1000:.0f} ms per panel)")
    for miss in report.misses[:10]:
        print("missed:", miss)
    for alarm in report.false_alarms[:10]:
        print("false alarm:", alarm)
    broken = trial_failures(report)
    print("bar:", "held" if not broken else f"broken: {broken}")
    if broken:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
