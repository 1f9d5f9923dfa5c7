"""Second units: the scenes of a film shot at once, at most `max_parallel` at a time.

Two ways, one contract (`SceneEnd` per scene, in film order):

- `on_workers`: the film runs under a deployment (a worker's process). Each scene is a run of
  the film's `scene` deployment, created with `run_deployment(..., timeout=0)` as a sub-flow of
  the film run — so the scene's root flow run, the run its caps count, is the film run — and
  any worker of the pool may take it. Its end is read from the server; what it made from the
  word it left on the film's shelf (flows/scene.py `leave_word`: Prefect keeps a flow's
  return value only in the process that ran it).
- `in_threads`: the film runs in this process (`slate run`, tests). Each scene is a sub-flow
  called inside a task on the film's thread pool, so it is linked under the film run too.

On workers a scene that is in the can (tasks/run/can.py: it finished clean before with the same
key) is served by the film run itself (`from_the_can`) and no scene run is made for it: a run
of the deployment costs a worker's next poll (10 s by Prefect's default) and a new process,
for what is one lookup. In this process the scene's sub-flow makes that lookup first anyway.

When a scene ends Failed-type (Halted, Stopped, Failed, Crashed, Cancelled) nothing more is
started, and the scenes still running are stopped: in this process the film run's governor is
halted, which every scene shares; on workers, a Halted or Stopped scene's cause (a cap, the
kill switch) is in the shared ledger and stops the others at their next paid call, and any
other end cancels them (their `on_cancellation` hook stops their spending, calls in flight
keep their job ids). A cancelled film run
cancels the scene runs it started (`cancel_scene_runs`, its on_cancellation hook).

It must never start a scene after one ended Failed-type, never leave a scene it started running
unstopped when it stops the film, and never wait on a scene without reading its state again.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Literal, ParamSpec, Protocol, TypedDict, TypeVar
from uuid import UUID

from prefect import Flow, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from prefect.futures import PrefectFuture, as_completed
from pydantic import BaseModel

from slate.flows.run.lifeline import RunLogger
from slate.flows.run.outcome import made_here
from slate.flows.run.scene_result import SceneResult, scene_result, served_end, word_of
from slate.flows.run.call_sheet import keyed_scene, served_from_the_can
from slate.manifests import LoadedFilm
from slate.manifests.options import RunOptions
from slate.manifests.settings import Settings
from slate.tasks.run.run import Run, halt_run

if TYPE_CHECKING:
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.client.schemas.objects import FlowRun

#: The film's scene deployment (deployments/register.py names it "scene", of the flow "scene").
SCENE_DEPLOYMENT = "scene/scene"
POLL_SECONDS = 1.0
#: How long cancelled scenes get to reach their final state before the film reports without them
#: (Prefect 3.8.8's process worker did not always act on a Cancelling run: seen stuck for minutes).
STOP_WAIT_SECONDS = 120.0
#: Ends whose cause is in the shared ledger (a cap, the kill switch): every scene meets it.
SHARED_ENDS = ("Halted", "Stopped")

P = ParamSpec("P")
R = TypeVar("R")


class SceneParameters(TypedDict):
    """What every scene run of a film is given beside its own `scene`: the flow run's parameters
    (sent to the server for a run of the scene deployment)."""

    project: str
    options: RunOptions


class SceneFlow(Protocol):
    """The scene flow as the film runs it in this process (flows/scene.py `scene_flow`): its end state."""

    def __call__(self, *, project: str, scene: str, options: RunOptions,
                 return_state: Literal[True]) -> State[State[SceneResult]]: ...


class SceneEnd(BaseModel):
    """How one scene run ended, as the film needs it."""

    scene: str
    name: str                      # the state's name: Completed, Escalated, Halted, Stopped, …
    completed: bool                # a Completed-type end
    message: str | None = None
    result: SceneResult | None = None
    flow_run_id: str | None = None


@task(name="second-unit", cache_policy=NO_CACHE, persist_result=False)
def _shoot_here(shoot: SceneFlow, scene: str, parameters: SceneParameters) -> SceneEnd:
    """One scene as a sub-flow of the film run, on one of the film's threads."""
    state = shoot(**parameters, scene=scene, return_state=True)
    return SceneEnd(scene=scene, name=state.name, completed=state.is_completed(), message=state.message,
                    result=scene_result(state), flow_run_id=str(state.state_details.flow_run_id or "") or None)


def in_threads(shoot: SceneFlow, order: list[str], parameters: SceneParameters, max_parallel: int, run_id: str,
               log: RunLogger) -> dict[str, SceneEnd]:
    """Every scene of `order` as a sub-flow in this process, `max_parallel` at a time."""
    waiting = list(order)
    running: dict[str, PrefectFuture[SceneEnd]] = {}
    ends: dict[str, SceneEnd] = {}
    stopped_by: SceneEnd | None = None
    while waiting or running:
        while waiting and stopped_by is None and len(running) < max_parallel:
            scene = waiting.pop(0)
            running[scene] = _shoot_here.submit(shoot, scene, parameters)
        if not running:
            break
        done = next(as_completed(list(running.values())))
        scene = next(s for s, f in running.items() if f is done)
        del running[scene]
        end = _ended(done, scene)
        ends[scene] = end
        if not end.completed and stopped_by is None:
            stopped_by = end
            if running:
                log.warning("scene %s ended %s: stopping %s", scene, end.name, ", ".join(running))
                halt_run(run_id, f"scene {scene} ended {end.name}")
    return ends


def from_the_can(run: Run, film: LoadedFilm, order: list[str], settings: Settings,
                 log: RunLogger) -> dict[str, SceneEnd]:
    """The scenes of `order` that are in the can, served here by the film's open `run`: their
    ends, as a scene run would have reported them. A scene whose key cannot be made here (a
    reference gone, the store not answering) is left to its own run, which reports why."""
    ends: dict[str, SceneEnd] = {}
    for scene in order:
        try:
            at = run.at_scene(scene)
            shelf, key = keyed_scene(at, film, settings)
            served = served_from_the_can(at, shelf, key)
        except Exception as exc:  # noqa: BLE001 — the scene's own run meets it again and says so
            log.info("scene %s: not looked up in the can here (%s: %s); its run will", scene, type(exc).__name__, exc)
            continue
        if served is not None:
            result, made_by = served
            name, message = served_end(result, f"unchanged since run {made_by}: served by the film run, no scene run")
            ends[scene] = SceneEnd(scene=scene, name=name, completed=True, result=result, message=message)
    return ends


def _ended(future: PrefectFuture[SceneEnd], scene: str) -> SceneEnd:
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 — a scene whose sub-flow raised is a failed scene, not a lost film
        return SceneEnd(scene=scene, name="Failed", completed=False, message=f"{type(exc).__name__}: {exc}")


def _settle_link(client: SyncPrefectClient, run_id: UUID, state: State[R]) -> None:
    """run_deployment links a scene run to the film run by a task run it leaves Pending; give it
    the scene's end, so the film run's graph does not show its scenes as never finished."""
    from prefect.states import Completed, Failed
    try:
        link = client.read_flow_run(run_id).parent_task_run_id
        if link is not None:
            client.set_task_run_state(link, Completed(message=state.message) if state.is_completed()
                                      else Failed(message=state.message or state.name), force=True)
    except Exception:  # noqa: BLE001 — the graph's look; the scene's own state is what counts
        pass


def on_workers(root: Path, order: list[str], parameters: SceneParameters, max_parallel: int, log: RunLogger,
               poll: float = POLL_SECONDS) -> dict[str, SceneEnd]:
    """Every scene of `order` as a run of the scene deployment, `max_parallel` at a time; each
    run's end read from the server, its result from the word it left."""
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.states import Cancelled, Cancelling

    waiting = list(order)
    running: dict[str, UUID] = {}
    ends: dict[str, SceneEnd] = {}
    stopped_by: SceneEnd | None = None
    stop_deadline: float | None = None
    with get_client(sync_client=True) as client:
        while waiting or running:
            while waiting and stopped_by is None and len(running) < max_parallel:
                scene = waiting.pop(0)
                run = made_here(run_deployment(SCENE_DEPLOYMENT, parameters={**parameters, "scene": scene}, timeout=0,
                                               as_subflow=True))
                log.info("scene %s: flow run %s (%s), for any worker of the pool", scene, run.id, run.name)
                running[scene] = run.id
            if not running:
                break
            time.sleep(poll)
            for scene, run_id in list(running.items()):
                state = client.read_flow_run(run_id).state
                if state is None or not state.is_final():
                    continue
                del running[scene]
                _settle_link(client, run_id, state)
                end = SceneEnd(scene=scene, name=state.name, completed=state.is_completed(), message=state.message,
                               result=word_of(root, str(run_id)), flow_run_id=str(run_id))
                ends[scene] = end
                if not end.completed and stopped_by is None:
                    stopped_by = end
                    if end.name in SHARED_ENDS:
                        # A cap or the kill switch lives in the shared ledger: it refuses the
                        # other scenes' next paid call on every worker too, and they end
                        # Halted or Stopped by themselves once their calls in flight are
                        # recorded. A cancel would only leave them Cancelling (see below).
                        log.warning("scene %s ended %s: nothing more starts; %s stop at their next paid call",
                                    scene, end.name, ", ".join(running) or "no other scene")
                        continue
                    stop_deadline = time.monotonic() + STOP_WAIT_SECONDS
                    for other, other_id in running.items():
                        log.warning("scene %s ended %s: cancelling scene %s (flow run %s)", scene, end.name,
                                    other, other_id)
                        current = client.read_flow_run(other_id).state
                        reason = f"the film stopped: scene {scene} ended {end.name}"
                        # A run no process runs yet (scheduled, or pending on a worker) is
                        # cancelled outright — a Cancelling nobody watches would stay so; a
                        # running one is asked to stop (its worker ends its process, its hook
                        # stops spending).
                        new: State[None] = (Cancelled(message=reason)
                                            if current is None or current.is_scheduled() or current.is_pending()
                                            else Cancelling(message=reason))
                        client.set_flow_run_state(other_id, new, force=True)
            if stop_deadline is not None and running and time.monotonic() > stop_deadline:
                log.error("scenes %s did not stop within %.0fs of the cancel", ", ".join(running), STOP_WAIT_SECONDS)
                for scene, run_id in running.items():
                    ends[scene] = SceneEnd(scene=scene, name="Cancelling", completed=False, flow_run_id=str(run_id),
                                           message="asked to stop; not stopped yet")
                break
    return ends


def cancel_scene_runs(flow: Flow[P, R], flow_run: FlowRun, state: State[R]) -> None:
    """`on_cancellation` hook of the film flow: a cancelled film run cancels the scene runs it
    started on workers (they are runs of their own, which Prefect does not cancel with it)."""
    try:
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId
        from prefect.states import Cancelling
        with get_client(sync_client=True) as client:
            children = client.read_flow_runs(flow_run_filter=FlowRunFilter(
                parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[flow_run.id])))
            for child in children:
                if child.state is not None and not child.state.is_final():
                    client.set_flow_run_state(child.id, Cancelling(message=f"film run {flow_run.id} was cancelled"),
                                              force=True)
    except Exception:  # noqa: BLE001 — a hook must never turn a Cancel into a crash
        pass
