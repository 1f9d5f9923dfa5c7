"""Crash matrix: SIGKILL a real `slate run` inside a paid panel, judge or video call, run again, count.

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

from tests.crash_cases import (POINTS, TWICE, clean_run_costs_the_rate_card_figure, sigkill_then_rerun,
                               two_kills_then_a_run)
from tests.crash_cases import clean_run as run_clean
from tests.crash_cases import matrix_server as start_matrix_server

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("crash")]


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
    clean_run_costs_the_rate_card_figure(clean_run)


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in POINTS])
def test_sigkill_then_rerun(case, clean_run, matrix_server, example_master, tmp_path):
    sigkill_then_rerun(case, clean_run, matrix_server, example_master, tmp_path)


@pytest.mark.parametrize("first,second", [pytest.param(first, second, id=name) for name, first, second in TWICE])
def test_two_kills_then_a_run_that_completes(first, second, clean_run, matrix_server, example_master, tmp_path):
    """Runs killed twice in a row left a completed run with calls to reconcile, halted a rerun on
    the unknown outcome of a $0 local call, and sent the same gate call twice. After any two
    kills, the run that completes has settled everything itself, sent no request twice, and
    spent what a clean run spends."""
    two_kills_then_a_run(first, second, clean_run, matrix_server, example_master, tmp_path)
