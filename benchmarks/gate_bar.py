"""The bar the gates are held to on their statistical corpora, and the seeded samples the tests draw.

Shared by the benchmarks (benchmarks/gates.py, benchmarks/judge_trials.py: the full corpora) and
the corpus tests (tests/corpus/: a small seeded sample of the same corpora), so a guarantee the
benchmark reports broken is the one a test fails on. The bar (issues 2, 9, 20): each fault kind at
least 95% caught, at most 5% of a gate's clean cases failed.

A corpus of N cases per kind is numbered 0..N-1 in each kind; case i is made the same way whether
it is built alone or among all N (its own seed and random stream), so a sample is a subset of the
benchmark's corpus at the same seed. `Sample(n, k)` draws k of each kind's N with
`random.Random` seeded by SAMPLE_SEED and the kind's name: every kind appears, clean included.

It must never build or judge anything itself: it picks case numbers and reads tallies.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

CAUGHT = 0.95         # of each fault kind, at least
FALSE_ALARMS = 0.05   # of a gate's clean cases, at most
SAMPLE_SEED = 33      # the tests' draw of cases (issue 33)
# Kinds a gate must let through, each held to FALSE_ALARMS as its clean cases are: the clean
# takes, and a clip darkened on purpose (issue 36: presence read "nobody in frame" in one).
MUST_PASS = ("clean", "dark_grade")


@dataclass(frozen=True)
class Sample:
    """Which of a corpus's N cases per kind to build: all (k None, the benchmark), or k of them."""

    n: int
    k: int | None = None
    seed: int = SAMPLE_SEED

    def indices(self, kind: str, among: range | list[int] | None = None) -> list[int]:
        """The case numbers of `kind` to build, in order (`among`: the numbers to draw from, all N if None)."""
        pool = list(range(self.n) if among is None else among)
        if self.k is None or self.k >= len(pool):
            return pool
        return sorted(random.Random(f"{self.seed}:{kind}").sample(pool, self.k))

    def strata(self, kind: str, groups: int) -> list[int]:
        """For cases whose sub-kind is i % `groups`: k case numbers spread over the sub-kinds, at
        least one of each (ceil(k / groups) drawn of each residue class)."""
        if self.k is None:
            return list(range(self.n))
        per = max(1, -(-self.k // groups))
        return sorted(i for g in range(groups)
                      for i in Sample(self.n, per, self.seed).indices(f"{kind}:{g}", range(g, self.n, groups)))


def as_sample(n: int | Sample) -> Sample:
    return n if isinstance(n, Sample) else Sample(n)


def rows_of(rows: dict[tuple[str, str], dict], gate: str) -> dict[str, dict]:
    """A tally's rows of one gate, by kind."""
    return {kind: row for (g, kind), row in rows.items() if g == gate}


def failures(rows: dict[tuple[str, str], dict], gate: str, kinds: set[str] | None = None) -> list[str]:
    """Every part of the bar the gate's tallied cases break (empty: held): its clean cases (any
    MUST_PASS kind) failed above FALSE_ALARMS, a fault kind caught below CAUGHT. `kinds`: only these (None: all)."""
    out = []
    for kind, row in sorted(rows_of(rows, gate).items()):
        if kinds is not None and kind not in kinds:
            continue
        rate = row["flagged"] / row["cases"]
        if kind in MUST_PASS and rate > FALSE_ALARMS:
            out.append(f"{gate} {kind}: {row['flagged']}/{row['cases']} failed (at most {FALSE_ALARMS:.0%}): "
                       f"{row['examples']}")
        elif kind not in MUST_PASS and rate < CAUGHT:
            out.append(f"{gate} {kind}: {row['flagged']}/{row['cases']} caught (at least {CAUGHT:.0%}): "
                       f"{row.get('by_edit')} {row['examples']}")
    return out


def presence_failures(cases: list[dict]) -> list[str]:
    """Clips that dropped someone (issue 20): each must be caught, with the one gone told apart
    and named in a blocking reason."""
    out = [f"drop_character {c}" for c in cases if not (c["gone"] and c["told"] and c["flagged"] and c["named"])]
    if cases and not any(c["foreground"] for c in cases):   # the hard case: someone dressed in the set's colours
        out.append(f"drop_character: no foreground member among the {len(cases)} dropped")
    return out


def fading_failures(cases: list[dict]) -> list[str]:
    """Drift chains whose character fades: each must re-anchor, the fading one told apart."""
    return [f"fading {c}" for c in cases if c["kind"] == "fading" and not (c["told"] and c["flagged"])]


def mark_failures(cases: list[dict], gate: str) -> list[str]:
    """Text marks (issue 36) the gate let through, or failed without a `marks` reason naming the
    corner the mark is in."""
    return [f"{c['kind']} {c['edit']}: {'not caught' if not c['flagged'] else 'corner not named'} {c['reasons']}"
            for c in cases if c["gate"] == gate and not (c["flagged"] and c["named"])]


def bar_broken(rows, clean_are: str = "cases") -> list[str]:
    """What of the bar a benchmark's rows (kind -> a row with `failed` and `total`) break, in
    words; empty: held. `clean_are`: what the clean cases are called ("panels", "cues")."""
    out = []
    for kind, row in rows.items():
        share = row.failed / row.total if row.total else 0.0
        if kind == "clean" and share > FALSE_ALARMS:
            out.append(f"clean {clean_are} failed {row.failed}/{row.total}")
        elif kind != "clean" and share < CAUGHT:
            out.append(f"{kind} caught {row.failed}/{row.total}")
    return out
