"""The whole crash matrix: a real `slate run` SIGKILLed at every named point of a paid call, then run again.

    .venv/bin/python -m benchmarks.crash_matrix [--only ID,ID,...]     # about 10 minutes on two cores

The test (tests/e2e/test_crash.py) keeps one case per way a killed call is resumed and per stage;
this script runs every case: each point of `POINTS` and each pair of `TWICE` in tests/crash_cases.py,
with the same machinery and the same checks (`sigkill_then_rerun`, `two_kills_then_a_run`) — no
duplicates in the ledger or in the local providers' books, a clean run's spend, nothing left open or
to reconcile, every shot in the cut, the held call resumed as it should be, no temporary download
left. First the clean run they are compared with, on one Prefect server as the test's, in a
temporary folder. Printed, one table row per case: its id, the point(s) killed at, the seconds it
took and its verdict (`pass`, or `FAIL` and the check that failed); then the count of passes and
failures. Exits 1 when any case failed.

Run it after changing the governor, the ledger, a provider's lookup or the slots, with nothing
else running on the machine. It must never reach a real provider (the runs may pay the local one
only), never touch the repository's example-film/, never leave a process behind (every process is
stopped by its own id), and never print a verdict it did not check.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ["SLATE_PAID_CALLS_ALLOWED"] = ""  # this process pays nothing; each run is allowed the local provider

from slate.manifests import write_example_film  # noqa: E402
from tests.crash_cases import (POINTS, TWICE, clean_run, clean_run_costs_the_rate_card_figure,  # noqa: E402
                               matrix_server, sigkill_then_rerun, two_kills_then_a_run)


def _verdict(check) -> tuple[float, str]:
    """Seconds and verdict of one case; what its helpers print is kept out of the table."""
    started = time.time()
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            check()
    except Exception as exc:  # noqa: BLE001 — an error is a failed case too, said as it was raised
        lines = str(exc).strip().splitlines() or [""]
        return time.time() - started, f"FAIL {type(exc).__name__}: {lines[0][:160]}"
    return time.time() - started, "pass"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="", help="these case ids only, comma-separated (default: every case)")
    args = parser.parse_args(argv)
    only = {s for s in args.only.split(",") if s}
    known = {c.id for c in POINTS} | {name for name, _, _ in TWICE}
    if only - known:
        parser.error(f"no such case: {', '.join(sorted(only - known))} (cases: {', '.join(sorted(known))})")

    results: list[tuple[str, str, float, str]] = []

    def row(case_id: str, point: str, seconds: float, verdict: str) -> None:
        results.append((case_id, point, seconds, verdict))
        print(f"| {case_id} | {point} | {seconds:.1f} | {verdict} |", flush=True)

    started = time.time()
    with tempfile.TemporaryDirectory(prefix="crash-matrix-") as tmp:
        root = Path(tmp)
        master = write_example_film(root / "example" / "night-diner")
        (root / "server").mkdir()
        with matrix_server(root / "server") as api:
            print("| case | killed at | seconds | verdict |\n|---|---|---|---|", flush=True)
            clean: dict = {}

            def the_clean_run() -> None:
                clean.update(clean_run(master, root / "clean", api))
                clean_run_costs_the_rate_card_figure(clean)

            row("clean", "(none)", *_verdict(the_clean_run))
            if results[-1][3] == "pass":
                for case in POINTS:
                    if not only or case.id in only:
                        base = root / case.id
                        row(case.id, case.point,
                            *_verdict(lambda: sigkill_then_rerun(case, clean, api, master, base)))
                for name, first, second in TWICE:
                    if not only or name in only:
                        base = root / name
                        row(name, f"{first} then {second}",
                            *_verdict(lambda: two_kills_then_a_run(first, second, clean, api, master, base)))
    failed = [r for r in results if r[3] != "pass"]
    print(f"\n{len(results) - len(failed)} passed, {len(failed)} failed "
          f"(the clean run included; {time.time() - started:.0f} s in all, load average "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
