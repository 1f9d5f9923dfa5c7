"""Crash matrix: SIGKILL a real `slate run` inside a paid panel, judge or video call, run again, count.

The test keeps one case per way a killed call is resumed and per stage (`KEPT`, below): the full
matrix — every named point of a paid call, and two pairs of kills — runs in
benchmarks/crash_matrix.py, with the same machinery and checks (tests/crash_cases.py).

Each case starts `slate run` (through tests/holding_cli.py, which can hold the process at one
named point of a paid call) in its own session, so the CLI and the embedded Prefect server it
starts are one process group; it holds the first call to reach the point, SIGKILLs the whole
group there, and runs the same film again to completion. Then it checks, counting where the
effects land — the ledger's rows and the local providers' own books — never our counters:

  * duplicates: no request has two rows that reached the provider, and no panel, clip or
    verdict appears twice in the provider's book — a verdict whose answer the kill lost in
    memory included: the local judge keeps its verdicts by call id, so it is looked up, never
    asked again ($0 here, paid with a real judge);
  * total spend equal to a clean run's ($0.30: 10 billed seconds of seedance-1-pro at 480p);
  * nothing left reserved, submitted or unknown, and `slate reconcile` has nothing to reconcile;
    every shot present in the stitched mp4;
  * how the held call was resumed: released, re-attached, recovered, finished from the provider's
    receipt, sent once under the same row (the provider proved it never received it), settled
    from storage, or reused as already paid for;
  * no temporary download (`*.part*`) left under `.slate`.

Two kills in a row (`test_two_kills_then_a_run_that_completes`): killed at one point, then at
another in the run after, then a run to the end — the same counts, and nothing left for a person
to reconcile that a run could settle by itself.

The cases kept, each the only one here of its kind:

  * video-after_intent: released (the only point before anything was sent), on the shared server;
  * video-polling-own-server: re-attached to a job by its saved id, the whole embedded path (each
    run starts its own server and must find out by itself that it is embedded);
  * panel-answered: an answer lost in memory, recovered by our call id;
  * judge-sending: proved never received, sent once under the same row;
  * video-after_storage: settled from storage;
  * judge-after_settle: reused as already paid for;
  * panel-sending then judge-answered: two kills in a row, the first a panel sent once under its
    row, the second a verdict recovered from the judge's kept verdicts (never asked again).

Left to the benchmark: the same ways at the other stages (panel and judge settled and reused,
video downloaded and settled), the job found by our call id (video-after_submit; the governor's
unit tests hold it too) and the pair video-after_submit then polling.

The local provider is given a latency (`SLATE_LOCAL_LATENCY`) so a job is really in flight.

One Prefect server for the module (`matrix_server`), started the way `slate run` starts its
embedded one (slate/server.py: Prefect's ephemeral app, busy answers retried; no lease service, so a killed run's video slot stays
taken, as in embedded mode), and each case's runs are pointed at it with their own Prefect home
— the kill then takes the CLI's group and leaves the server up. An embedded server costs each run
about as much CPU as the rest of the run; shared, a case takes about half the time. The runs are
told they are embedded (`SLATE_EMBEDDED_PREFECT=1`) as the CLI tells itself when it starts its own
server, so the second run must free the slot the first one leaked (counted on the server before
and after). One case ("own-server") keeps the whole embedded path: each run starts its own server
and the CLI must find out by itself that it is embedded. The module runs on one xdist worker
(group "crash"): cases run one at a time, and the server is never shared between two of them.
"""
from __future__ import annotations

import pytest

from tests.crash_cases import (CLEAN_COST, POINTS, TWICE, clean_run_costs_the_rate_card_figure,
                               sigkill_then_rerun, two_kills_then_a_run)
from tests.crash_cases import clean_run as run_clean
from tests.crash_cases import matrix_server as start_matrix_server

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("crash")]

#: one case per way of resumption and per stage (the module docstring says why each)
KEPT = ("video-after_intent", "video-polling-own-server", "panel-answered", "judge-sending",
        "video-after_storage", "judge-after_settle")
KEPT_TWICE = ("panel-sending-then-judge-answered",)
assert set(KEPT) <= {c.id for c in POINTS} and set(KEPT_TWICE) <= {name for name, _, _ in TWICE}, "a kept case is gone"


@pytest.fixture(scope="module")
def matrix_server(tmp_path_factory):
    """One Prefect server for the module (tests/crash_cases.py), stopped by its process id."""
    with start_matrix_server(tmp_path_factory.mktemp("crash-prefect-server")) as api_url:
        yield api_url


@pytest.fixture(scope="module")
def clean_run(example_master, tmp_path_factory, matrix_server) -> dict:
    """One uninterrupted run of the trimmed film, for the spend to compare against."""
    return run_clean(example_master, tmp_path_factory.mktemp("crash-clean"), matrix_server)


def test_clean_run_costs_the_rate_card_figure(clean_run):
    assert clean_run_costs_the_rate_card_figure(clean_run) == CLEAN_COST


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in POINTS if c.id in KEPT])
def test_sigkill_then_rerun(case, clean_run, matrix_server, example_master, tmp_path):
    counted = sigkill_then_rerun(case, clean_run, matrix_server, example_master, tmp_path)
    # the checks are tests/crash_cases.py's (the benchmark runs them too); what they counted, in short:
    assert counted["committed"] == CLEAN_COST   # the same spend as a clean run
    assert counted["held"] == ("released" if case.resumed == "released" else "succeeded"), counted


@pytest.mark.parametrize("first,second", [pytest.param(first, second, id=name) for name, first, second in TWICE
                                           if name in KEPT_TWICE])
def test_two_kills_then_a_run_that_completes(first, second, clean_run, matrix_server, example_master, tmp_path):
    """Runs killed twice in a row left a completed run with calls to reconcile, halted a rerun on
    the unknown outcome of a $0 local call, and sent the same gate call twice. After any two
    kills, the run that completes has settled everything itself, sent no request twice, and
    spent what a clean run spends."""
    assert two_kills_then_a_run(first, second, clean_run, matrix_server, example_master, tmp_path) == CLEAN_COST
