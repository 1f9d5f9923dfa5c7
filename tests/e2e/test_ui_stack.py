"""Run from the Prefect UI, against the real thing: the session's `slate up` stack (a Prefect
server, its scheduler and automations, a process worker) on free ports, stopped by process id.

  * the nightly: the scheduler has made the upcoming nightly-dailies runs, at 01:00 in the
    film's timezone, at the draft profile; the server's log holds no scheduler error;
  * approval: a final-profile scene run made from the `scene` deployment suspends at the
    approval (no process waits), is resumed with the form's input through the API, and
    completes — with no paid call made twice;
  * a killed worker: SIGKILLed while a video job is in flight, its run's process dies with it
    (flows/run/lifeline.py: no process left behind), the run ends Crashed, and Retry (what the UI's
    button sends) completes it with no paid call made twice, in the ledger or the provider's book;
  * the zombie automation: a Running run whose heartbeats stop (a dead machine) is marked Crashed;
  * a cap reached: the governor's event pauses the film's work pool, another film's does not;
  * `slate up` twice is one stack (`slate down` is checked by the fixture: no pid left).

Effects are counted where they land: flow runs on the server, ledger rows, the local
provider's book of video jobs, processes in /proc.
"""
from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.stack_harness import (FILM_ID, TIMEZONE, ZOMBIE_WINDOW, api, clips_asked, descendants, ledger_rows,
                                 paid_twice, reached_provider, slate, wait_for)
from slate.stack import alive, read

# One stack per session: its tests go to one worker (pytest -n, --dist loadgroup).
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("stack")]


def runs_of(client, deployment: str, **state):
    from prefect.client.schemas.filters import (DeploymentFilter, DeploymentFilterId, FlowRunFilter,
                                                FlowRunFilterState, FlowRunFilterStateType)
    dep = client.read_deployment_by_name(deployment)
    flt = FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=state["types"]))) \
        if state else None
    return client.read_flow_runs(deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[dep.id])),
                                 flow_run_filter=flt)


def test_the_nightly_dailies_are_scheduled_at_one_in_the_films_timezone(stack):
    from prefect.client.schemas.objects import StateType
    with api(stack) as client:
        upcoming = wait_for("the scheduler's nightly-dailies runs",
                            lambda: runs_of(client, "film/nightly-dailies", types=[StateType.SCHEDULED]), 90)
        schema = client.read_deployment_by_name("scene/scene").parameter_openapi_schema
    form, options = schema["properties"], schema["definitions"]["RunOptions"]["properties"]
    tz = ZoneInfo(TIMEZONE)
    times = sorted(r.expected_start_time.astimezone(tz) for r in upcoming)
    print(f"\nnightly-dailies: {len(upcoming)} upcoming, first {times[0].isoformat()}")
    assert {(t.hour, t.minute) for t in times} == {(1, 0)}, times
    assert len({t.date() for t in times}) == len(times)  # one a night
    assert times[0] - time_now(tz) < __import__("datetime").timedelta(hours=25)
    for r in upcoming:
        assert r.parameters["options"]["profile"] == "draft" and r.parameters["project"] == str(stack.resolve()), r.parameters
    log = (stack / ".slate" / "stack" / "server.log").read_text(errors="replace")
    assert "Can't evaluate bulk DML" not in log
    assert not [line for line in log.splitlines() if "scheduler" in line.lower() and
                ("error" in line.lower() or "traceback" in line.lower())]
    # The run form: the film's own scenes as a dropdown, fields titled for a person.
    assert form["scene"]["enum"] == ["scene-01", "scene-02"] and form["scene"]["title"] == "Scene"
    assert "draft" in options["profile"]["enum"] and options["run_cap_usd"]["title"] == "Run cap (USD)"
    # An option left empty is not told: no defaults (a default would be told on every run and
    # outvote slate.toml), and each field says the film's own value as its slate.toml has it.
    assert not [name for name, field in options.items() if "default" in field], options
    assert [("now draft" in options["profile"]["description"]), ("now local" in options["provider"]["description"]),
            ("now block" in options["cannot_judge"]["description"])] == [True] * 3, options["profile"]


def time_now(tz):
    from datetime import datetime
    return datetime.now(tz)


def _state(client, run_id):
    return client.read_flow_run(run_id).state


def _form(client, run_id, waiting) -> bool:
    import httpx
    try:
        return bool(client.read_flow_run_input(run_id, waiting.state_details.run_input_keyset["schema"]))
    except httpx.HTTPStatusError as missing:
        if missing.response.status_code == 404:
            return False
        raise


def test_a_final_scene_suspends_for_approval_and_resumes_with_input(stack):
    from prefect.deployments import run_deployment
    from prefect.flow_runs import resume_flow_run
    with api(stack) as client:
        run = run_deployment("scene/scene", parameters={"scene": "scene-01", "options": {"profile": "final"}}, timeout=0)
        waiting = wait_for("the approval", lambda: (s := _state(client, run.id)) and s.is_paused() and s, 300)
        assert waiting.name == "Suspended" and waiting.state_details.pause_key == "approve-scene-01-final", waiting
        # The UI draws the form from its stored schema, which Prefect writes just *after* the run is
        # Suspended; an answer in between is refused ("Run input schema not found").
        wait_for("the approval form", lambda: _form(client, run.id, waiting), 60)
        ours = [r for r in ledger_rows(stack) if r.run_id == str(run.id)]
        assert not [r for r in ours if r.stage == "video"]  # panels judged, not one final clip paid
        before = len(reached_provider(ours))
        answered = time.time()
        resume_flow_run(run.id, run_input={"approve": "only the shots ticked", "shots": ["1A"],
                                           "notes": "1C: the lamp is wrong", "approved_by": "Ana"})
        done = wait_for("the approved run's end", lambda: (s := _state(client, run.id)) and s.is_final() and s, 300)
        seconds = time.time() - answered
        artifacts = {a.key for a in client.read_artifacts() if a.flow_run_id == run.id and a.key}
    print(f"\napproval: answered through the API, the run ended {done.name} {seconds:.1f}s later")
    assert done.name == "Completed", (done.name, done.message)
    ours = [r for r in ledger_rows(stack) if r.run_id == str(run.id)]
    videos = sorted((r.shot, r.status) for r in ours if r.stage == "video")
    assert videos == [("1A", "succeeded")], videos  # 1C was not approved: no final clip for it
    assert paid_twice(ours) == []
    # everything before the suspension came back from the cache and the ledger: only videos,
    # their keyframe verdicts and the continuity check were paid after the answer
    after = [r for r in reached_provider(ours)][before:]
    assert {r.stage for r in after} <= {"video", "keyframe_gate"}, [(r.stage, r.shot) for r in after]
    from slate.governor.ledger import Ledger
    with Ledger.for_project(stack) as ledger:
        [decision] = ledger.approvals(run_id=str(run.id))
    assert decision.by == "Ana" and "approved 1A; rejected 1C" in decision.message
    assert (stack / "renders" / "scene-01-final.mp4").is_file()
    assert any(k.startswith("validation") or "validation" in k for k in artifacts), artifacts


def test_a_killed_worker_ends_crashed_and_retry_completes_with_nothing_paid_twice(stack):
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId
    from prefect.deployments import run_deployment
    from prefect.states import Scheduled
    with api(stack) as client:
        run = run_deployment("scene/scene", parameters={"scene": "scene-01", "options": {"profile": "draft"}}, timeout=0)
        in_flight = wait_for("a video job in flight", lambda: [
            r for r in ledger_rows(stack) if r.run_id == str(run.id) and r.stage == "video"
            and r.status == "submitted" and r.job_id], 300, every=0.2)
        worker = read(stack).pids["worker"]
        runs_below = descendants(worker)  # the flow-run process the worker started
        assert runs_below, "the worker shows no flow-run process"
        killed = time.time()
        os.kill(worker, signal.SIGKILL)
        # The run's process dies with its worker — nothing left behind to keep calling providers
        # with its log lost. flows/run/lifeline.py sees to it; here, under a worker that pipes the
        # run's output, the run also died with SLATE_LIFELINE=off (tried: it did not fail this
        # wait), so tests/e2e/test_lifeline.py is what guards the lifeline itself.
        wait_for("the run's processes to die with the worker", lambda: not any(alive(p) for p in runs_below + [worker]),
                 30, every=0.2)
        gone_after = time.time() - killed
        # Crashed: by the run itself on its way out, or by the zombie automation once it is silent.
        crashed = wait_for("the run to end Crashed", lambda: (s := _state(client, run.id)) and s.is_crashed() and s,
                           ZOMBIE_WINDOW + 150, every=1)
        crashed_after = time.time() - killed
        # A new worker on the same server (slate up again sees the worker gone), then the UI's Retry.
        out = slate("up", str(stack))
        assert out.returncode == 0 and "a new one runs" in out.stdout, out.stdout + out.stderr
        retried = client.set_flow_run_state(run.id, Scheduled(name="AwaitingRetry", message="Retry from the UI"),
                                            force=False)
        assert retried.status.value == "ACCEPT", retried
        done = wait_for("the retried run's end", lambda: (s := _state(client, run.id)) and s.is_final() and s, 300)
        # The killed attempt's shoot-scene sub-flow beat too: the automation ended it as well,
        # so no sub-flow of the run is left showing Running.
        subs = client.read_flow_runs(flow_run_filter=FlowRunFilter(
            parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[run.id])))
        assert subs and not [r for r in subs if not r.state.is_final()], [(r.name, r.state.name) for r in subs]
    print(f"\nkilled worker: its run's processes gone {gone_after:.1f}s after the SIGKILL, the run Crashed after "
          f"{crashed_after:.0f}s ({crashed.message[:80]!r}); Retry ended it {done.name}")
    assert done.name == "Completed", (done.name, done.message)
    ours = [r for r in ledger_rows(stack) if r.run_id == str(run.id)]
    # A verdict whose answer died with the process is asked again, once: a judge keeps no job to
    # re-attach to, and the lost one stays counted as spent. Never a panel or a clip.
    for key in paid_twice(ours):
        tries = sorted((r for r in ours if r.request_key == key), key=lambda r: r.created_at)
        assert [r.status for r in tries] == ["unknown", "succeeded"] and tries[0].stage.endswith("gate"), \
            [(r.stage, r.shot, r.status) for r in tries]
    [held] = [r for r in ours if r.call_id == in_flight[0].call_id]
    assert held.status == "succeeded"  # the job in flight at the kill was re-attached, not sent again
    asked = clips_asked(stack)
    assert len(asked) == len(set(asked)), asked  # the provider's own book: no clip asked twice
    assert (stack / "renders" / "scene-01-draft.mp4").is_file()


def test_slate_up_twice_is_one_stack(stack):
    first = read(stack)
    out = slate("up", str(stack))
    assert out.returncode == 0 and "already running" in out.stdout, out.stdout + out.stderr
    again = read(stack)
    assert again.pids == first.pids and again.api_url == first.api_url
    home = str((stack / ".slate" / "stack" / "home").resolve())
    servers = [pid for pid in map(int, filter(str.isdigit, os.listdir("/proc")))
               if _is_server_of(pid, home)]
    assert servers == [first.pids["server"]], servers
    status = slate("status", str(stack))
    assert first.ui_url in status.stdout, status.stdout
    assert json.loads((stack / ".slate" / "stack" / "stack.json").read_text())["film"] == FILM_ID


def _is_server_of(pid: int, home: str) -> bool:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False
    # a Prefect server: `prefect server start`, or the app slate wraps for `slate up` (slate/server.py)
    server = (b"server" in cmd and b"start" in cmd) or any(b"create_app" in c or b"stack_app" in c for c in cmd)
    return server and f"PREFECT_HOME={home}".encode() in env


def test_the_stacks_server_takes_sixteen_writers_at_once(stack):
    """`slate up`'s SQLite server under 16 writers with no retries: every write lands (Prefect's
    own server answered many 503: a Resume click was lost)."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
    from prefect.client.schemas.objects import StateType

    from tests.e2e.test_server import ALL_LANDED, sixteen_writers

    # The sixteen are the load under test: a run an earlier test left going (its task runs, logs
    # and events, the services writing them beside the gate) is waited out first. CI once ran
    # this beside such a run on a machine at full load: 15 of 320 writes found no turn in 30 s.
    moving = FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(
        any_=[StateType.RUNNING, StateType.PENDING, StateType.CANCELLING])))

    def quiet() -> bool:
        with api(stack) as client:
            return not client.read_flow_runs(flow_run_filter=moving)
    wait_for("the stack's runs to end", quiet, timeout=600, every=2)
    log = stack / ".slate" / "stack" / "server.log"
    before = len(log.read_text(errors="replace").splitlines())
    got = sixteen_writers(read(stack).api_url)
    busy = [line for line in log.read_text(errors="replace").splitlines()[before:] if "database busy" in line]
    assert got == ALL_LANDED, "\n".join(busy[-20:])


def test_a_cap_reached_event_pauses_the_films_work_pool(stack):
    """The governor's `slate.budget.cap-reached` for this film pauses its pool; another film's
    event does not. Sent as the governor's alert sends it: a Prefect event to the server."""
    import uuid
    from datetime import datetime, timezone

    import httpx
    record = read(stack)

    def send(film_id: str) -> None:
        event = {"id": str(uuid.uuid4()), "occurred": datetime.now(timezone.utc).isoformat(),
                 "event": "slate.budget.cap-reached", "resource": {"prefect.resource.id": f"slate.film.{film_id}"},
                 "related": [], "payload": {"cap": "run", "limit_usd": "0.00"}}
        httpx.post(f"{record.api_url}/events", json=[event], timeout=30).raise_for_status()

    with api(stack) as client:
        assert not client.read_work_pool(record.pool).is_paused
        send("another-film")
        time.sleep(5)
        assert not client.read_work_pool(record.pool).is_paused  # not this film's cap
        send(FILM_ID)
        try:
            wait_for("the pool to pause", lambda: client.read_work_pool(record.pool).is_paused, 60)
        finally:
            from prefect.client.schemas.actions import WorkPoolUpdate
            client.update_work_pool(record.pool, WorkPoolUpdate(is_paused=False))


def test_a_run_whose_heartbeats_stop_is_marked_crashed_by_the_zombie_automation(stack):
    """The automation alone, as a dead machine leaves a run: Running, one heartbeat, then
    silence (no process is left to report anything). The run is made through the API without a
    deployment, so no worker picks it up; the heartbeat is sent as a run's engine sends it."""
    import uuid
    from datetime import datetime, timezone

    import httpx
    from prefect import flow
    from prefect.states import Running

    @flow(name="silent")
    def silent():
        pass

    record = read(stack)
    with api(stack) as client:
        run = client.create_flow_run(silent)
        client.set_flow_run_state(run.id, Running(), force=True)
        beat = {"id": str(uuid.uuid4()), "occurred": datetime.now(timezone.utc).isoformat(),
                "event": "prefect.flow-run.heartbeat",
                "resource": {"prefect.resource.id": f"prefect.flow-run.{run.id}",
                             "prefect.resource.name": run.name},
                "related": [], "payload": {}}
        httpx.post(f"{record.api_url}/events", json=[beat], timeout=30).raise_for_status()
        sent = time.time()
        time.sleep(ZOMBIE_WINDOW / 2)
        assert _state(client, run.id).is_running()  # within the window: left alone
        crashed = wait_for("the zombie automation", lambda: (s := _state(client, run.id)) and s.is_crashed() and s,
                           ZOMBIE_WINDOW + 90, every=1)
    print(f"\nzombie automation: a run silent since its heartbeat marked Crashed after {time.time() - sent:.0f}s "
          f"(window {ZOMBIE_WINDOW} s)")
    assert "no heartbeat" in crashed.message


def test_a_terminal_final_run_waiting_for_approval_says_so_and_never_crashes(stack):
    """`slate run --profile final` from a terminal while the stack is up, its output a pipe (no
    live table): it prints one line saying what it waits for and how to answer; waiting past
    the zombie window, neither its film run nor its scene runs are ever marked Crashed (Prefect's
    default heartbeat, every 180 s, let a window shorter than that call a waiting run dead); `slate approve`
    answers it (no shot: this scene must not be in the can for the tests after it)."""
    import subprocess
    import sys
    import threading

    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId
    from prefect.client.schemas.objects import StateType

    from slate.deployments.automations import HEARTBEAT_SECONDS
    from slate.flows.review.approval import APPROVAL_FILE
    from tests.stack_harness import ENV
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env.update(ENV)
    run = subprocess.Popen([sys.executable, "-m", "slate.cli", "run", str(stack), "--scene", "scene-01",
                            "--profile", "final"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           env=env)
    said: list[str] = []
    reader = threading.Thread(target=lambda: said.extend(run.stdout), daemon=True)
    reader.start()
    try:
        line = wait_for("the line that says the run waits", lambda: next(
            (s for s in said if "waiting for a person to approve" in s), None), 300)
        assert f"slate approve {stack.resolve()}" in line and "Prefect UI" in line, line
        scene_run = json.loads((stack / ".slate" / APPROVAL_FILE).read_text())["flow_run_id"]

        def family(client) -> dict:
            """Every state each run of this `slate run` went through: the film run and all below it."""
            ids, todo = [], [film_run]
            while todo:
                ids.append(todo.pop())
                todo += [r.id for r in client.read_flow_runs(flow_run_filter=FlowRunFilter(
                    parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[ids[-1]])))]
            return {i: [s.type for s in client.read_flow_run_states(i)] for i in ids}

        with api(stack) as client:
            film_run = client.read_task_run(client.read_flow_run(scene_run).parent_task_run_id).flow_run_id
            while_waiting = ZOMBIE_WINDOW + HEARTBEAT_SECONDS + 5
            started = time.time()
            while time.time() - started < while_waiting:   # past the zombie window, watched throughout
                crashed = {i: h for i, h in family(client).items() if StateType.CRASHED in h}
                assert not crashed, f"crashed while waiting for a person: {crashed}"
                assert client.read_flow_run(scene_run).state.is_paused()
                time.sleep(2)
        answered = slate("approve", str(stack), "--reject", "--by", "Terminal Tess")
        assert answered.returncode == 0, answered.stdout + answered.stderr
        run.wait(300)
        with api(stack) as client:
            history = family(client)
        assert not {i: h for i, h in history.items() if StateType.CRASHED in h}, history
        assert [s for s in said if "waiting for a person to approve" in s] == [line]  # one line, said once
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    print(f"\nterminal final run: waited {while_waiting}s for approval (zombie window {ZOMBIE_WINDOW}s), never "
          f"Crashed; it said: {line.strip()}")
