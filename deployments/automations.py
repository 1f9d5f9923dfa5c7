"""The automations `slate up` puts on its server, found again by name (creating twice is a no-op
that refreshes them):

  * zombie runs — a flow run that sent a heartbeat and then none within the window (its process
    died with the machine, or with a SIGKILLed worker) is marked Crashed, so the UI offers Retry
    instead of showing it Running forever. This is the automation Prefect documents for
    self-hosted servers; the worker's runs send heartbeats because `slate up` sets
    PREFECT_FLOWS_HEARTBEAT_FREQUENCY in its environment (the window must be longer).
  * cap reached — the governor's `slate.budget.cap-reached` event for this film pauses the film's
    work pool: nothing new starts until a person looks (resume the pool in the UI).

It must never act on another film's events, and never change a run that still beats.
"""
from __future__ import annotations

from datetime import timedelta

from prefect.client.schemas.objects import StateType
from prefect.events.actions import ChangeFlowRunState, PauseWorkPool
from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture
from prefect.events.schemas.events import ResourceSpecification

#: Seconds without a heartbeat before a Running run is called a zombie. Heartbeats come every
#: 30 s at the most often (Prefect's floor), so the window must be longer than that.
ZOMBIE_WINDOW = 90
HEARTBEAT_SECONDS = 30
#: The shortest window `slate up --zombie-window` takes: three heartbeats, the default. A run keeps
#: beating while it is paused for approval, and on a loaded machine beats arrive late: one over
#: 10 s late made a 40 s window mark that waiting run Crashed, and in CI (load beside two-worker
#: studios and the crash matrix) a 60 s window did the same after 95 s of waiting.
MIN_ZOMBIE_WINDOW = 3 * HEARTBEAT_SECONDS
CAP_EVENT = "slate.budget.cap-reached"
WARNING_EVENT = "slate.budget.warning"

#: State names after which a run rightly stops beating. Events are named by the state's *name*,
#: so slate's own end names (a Completed-type "Escalated", a Failed-type "Halted", …) must be
#: here too, or a finished run would be marked Crashed a window later; and a run suspended for
#: approval has no process while it waits.
QUIET_STATES = ("Completed", "Failed", "Cancelled", "Crashed", "Paused", "Suspended", "Cached", "TimedOut",
                "Escalated", "Rejected", "Halted", "Stopped", "Refused", "Approval expired",
                "Dailies expired")


def zombie_name(film_id: str) -> str:
    return f"slate {film_id}: crash zombie runs"


def cap_name(film_id: str) -> str:
    return f"slate {film_id}: pause the pool at a cap"


def zombie_automation(film_id: str, window_seconds: int = ZOMBIE_WINDOW) -> AutomationCore:
    return AutomationCore(
        name=zombie_name(film_id),
        description=f"A flow run with no heartbeat for {window_seconds} s is marked Crashed (Retry resumes it).",
        trigger=EventTrigger(
            after={"prefect.flow-run.heartbeat"},
            expect={"prefect.flow-run.heartbeat", *(f"prefect.flow-run.{name}" for name in QUIET_STATES)},
            match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive, threshold=1, within=timedelta(seconds=window_seconds)),
        actions=[ChangeFlowRunState(state=StateType.CRASHED,
                                    message=f"no heartbeat for {window_seconds} s: its process is gone "
                                            "(Retry resumes it; nothing paid is paid again)")],
    )


def cap_automation(film_id: str, pool_id) -> AutomationCore:
    return AutomationCore(
        name=cap_name(film_id),
        description="The film reached a budget cap: its work pool is paused until a person resumes it.",
        trigger=EventTrigger(
            expect={CAP_EVENT},
            match=ResourceSpecification({"prefect.resource.id": f"slate.film.{film_id}"}),
            posture=Posture.Reactive, threshold=1, within=timedelta(0)),
        actions=[PauseWorkPool(source="selected", work_pool_id=pool_id)],
    )


def install(client, film_id: str, pool: str, window_seconds: int = ZOMBIE_WINDOW) -> dict[str, str]:
    """Create the film's automations, replacing any of the same name; their ids by name."""
    pool_id = client.read_work_pool(pool).id
    made = {}
    for automation in (zombie_automation(film_id, window_seconds), cap_automation(film_id, pool_id)):
        for old in client.read_automations_by_name(automation.name):
            client.delete_automation(old.id)
        made[automation.name] = str(client.create_automation(automation))
    return made
