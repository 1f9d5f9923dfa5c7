"""The approvals warden: a small flow `slate up` schedules every few minutes on the film's pool.

A suspended scene run has no process while it waits for a person, so nothing of its own can
end it when its approval deadline passes; this flow does, through `expire_approvals` (the run
ends "Approval expired", nothing rendered at final size) — and the same for a suspended dailies
form, through `expire_dailies` ("Dailies expired", no word written).

It must never touch a run that is not waiting for a slate approval or dailies, and never spend.
"""
from __future__ import annotations

from prefect import flow, get_run_logger

from slate.flows.review.approval import expire_approvals
from slate.flows.dailies import expire_dailies


@flow(name="approvals-warden", log_prints=False)
def approvals_warden() -> list[str]:
    """End suspended approvals and dailies past their deadline; the ids of the runs it ended."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        ended = expire_approvals(client)
        lapsed = expire_dailies(client)
    if ended:
        get_run_logger().info("approval expired for %d run(s): %s", len(ended), ", ".join(ended))
    if lapsed:
        get_run_logger().info("dailies expired for %d run(s): %s", len(lapsed), ", ".join(lapsed))
    return ended + lapsed
