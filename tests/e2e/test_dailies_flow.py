"""Issue 40, the Prefect UI's half: the dailies flow shows each shot with new takes in a form and
writes the person's word; nothing else.

Run in this process, as a terminal run would be (no deployment: the flow pauses, it cannot be
suspended): the example rendered with one shot (1C), the flow started in a thread, the form read
and answered from outside through Prefect's input API — the form's own fields, as the UI sends
them — and what happened read where it lands: the ledger's approvals. The suspension of a
deployment's run and the nightly that opens the form are tested on the stack, in a browser
(tests/e2e/test_browser.py).
"""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from typer.testing import CliRunner

from slate.cli import app
from slate.flows.dailies import EXPIRED, dailies_flow
from slate.flows.review.rushes import read_rushes
from slate.governor.ledger import Ledger
from slate.tasks.review.circle import PROPOSAL_STAGE, WORD_STAGE, say_word, words_of
from tests.scene_cuts import keep_shots, without_finishing

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_harness", "local_calls")]
FILM, SCENE = "night-diner", "scene-01"
NOTE = "the cup stays on the table"


def rendered(root):
    """The example with one shot, 1C, rendered at the draft profile: its takes are new."""
    keep_shots(root, ("1C",))
    without_finishing(root)
    out = CliRunner().invoke(app, ["run", str(root)])
    assert out.exit_code == 0 and "state: Completed" in out.output, out.output[-3000:]
    return read_rushes(root, SCENE, "draft").shot("1C")


def propose(root, take: int, key: str) -> None:
    """An agent's proposal on the take (what the MCP server writes): shown, never a word."""
    with Ledger.for_project(root) as ledger:
        say_word(ledger, run_id="agent-run", film=FILM, scene=SCENE, shot="1C", kind="clip", take=take, word="ng",
                 note="slower, she hesitates", add_to_prompt=False, profile="draft", key=key, by="agent-7",
                 proposal=True, caller="mcp")


def words(root):
    with Ledger.for_project(root) as ledger:
        return words_of(ledger, FILM), ledger.approvals(film=FILM, stage=WORD_STAGE)


def start(root):
    box: dict = {}
    thread = threading.Thread(target=lambda: box.setdefault(
        "state", dailies_flow(project=str(root), return_state=True)))
    thread.start()
    return thread, box


def paused_dailies(seen: set, timeout: float = 120):
    """The next dailies run to pause for its form (not one of `seen`), and its state."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName
    deadline = time.time() + timeout
    with get_client(sync_client=True) as client:
        while time.time() < deadline:
            runs = [r for r in client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["dailies"])))
                    if r.id not in seen and r.state is not None and r.state.is_paused()]
            if runs:
                seen.add(runs[0].id)
                return runs[0]
            time.sleep(0.3)
    raise AssertionError("no dailies run paused for its form")


def form_of(run) -> tuple[str, dict]:
    """The paused run's form as the UI draws it: its text, and its fields (the stored schema)."""
    from prefect.input import read_flow_run_input
    from prefect.input.run_input import keyset_from_paused_state
    keys = keyset_from_paused_state(run.state)
    deadline = time.time() + 60
    schema = None
    while schema is None and time.time() < deadline:   # stored just after the run pauses
        schema = read_flow_run_input(keys["schema"], run.id)
        time.sleep(0.2)
    fields = (schema or {}).get("properties", {})
    # The form's own text, then each field's: a shot's pictures and scores are shown in its first
    # field, above its controls (issue 57: the UI's dialog shrinks the form's own text).
    told = [read_flow_run_input(keys["description"], run.id) or "", *(f.get("description", "") for f in fields.values())]
    return "\n\n".join(told), fields


def answer(run, fields: dict) -> None:
    from slate.flows.review.approval import resume_when_paused
    resume_when_paused(str(run.id), run_input=fields)


def test_the_form_shows_the_new_takes_and_writes_the_word_given(example_film):
    shot = rendered(example_film)
    take = shot.in_cut["clip"]
    propose(example_film, take, shot.keys["clip"])
    seen: set = set()

    # The form: 1C's take in the cut with its picture, its scores by name, its cost, the panel
    # before it, the agent's proposal — and no answer chosen for the person.
    thread, box = start(example_film)
    run = paused_dailies(seen)
    text, fields = form_of(run)
    for words_ in ("#### 1C (scene-01) — clip take", "(in the cut)", "data:image/jpeg;base64,", "Gate scores of clip",
                   "identity", "for the shot in all", "panel take 1", "proposed by agent-7: NG — slower, she hesitates"):
        assert words_ in text, (words_, text[:3000])
    assert fields["1C_word"]["enum"] == ["no answer", "circle", "NG", "hold"]
    assert fields["1C_word"]["default"] == "no answer"        # an agent's proposal is no answer
    label = f"clip take {take} (in the cut)"
    assert fields["1C_take"]["default"] == label and "panel take 1 (in the cut)" in fields["1C_take"]["enum"]
    # Submitted as it came (only a name given): no word — the agent's proposal is not one.
    answer(run, {"said_by": "Ana"})
    thread.join(120)
    state = box["state"]
    assert state.name == "Completed" and state.message == "no word given", (state.name, state.message)
    assert words(example_film) == ([], [])

    # A note the prompt lint refuses (a URL: it would be sent to the provider) is not written,
    # nor anything of its shot; the end says why.
    thread, box = start(example_film)
    run = paused_dailies(seen)
    answer(run, {"1C_word": "NG", "1C_take": label, "1C_note": "as in https://example.com/ref.mp4",
                 "1C_add_to_prompt": True, "said_by": "Ana"})
    thread.join(120)
    state = box["state"]
    assert state.is_completed() and "refused by the prompt lint" in state.message, (state.name, state.message)
    assert "nothing written for 1C" in state.message
    assert words(example_film) == ([], [])

    # The word given: written with who, the take, the note and the tick, by this run; the shot
    # no longer new, the agent's proposal still only that.
    thread, box = start(example_film)
    run = paused_dailies(seen)
    answer(run, {"1C_word": "NG", "1C_take": label, "1C_note": NOTE, "1C_add_to_prompt": True, "said_by": "Ana"})
    thread.join(120)
    state = box["state"]
    assert state.name == "Completed" and f"1C NG take {take} (Ana): {NOTE}" in state.message, state.message
    [word], [row] = words(example_film)
    assert (word.shot, word.kind, word.take, word.word, word.note, word.add_to_prompt, word.by, word.proposal) == \
        ("1C", "clip", take, "ng", NOTE, True, "Ana", False)
    assert word.key == shot.keys["clip"] and row.run_id == str(run.id)
    with Ledger.for_project(example_film) as ledger:
        assert len(ledger.approvals(film=FILM, stage=PROPOSAL_STAGE)) == 1
        assert not [r for r in ledger.rows(film=FILM) if r.run_id == str(run.id)]   # never a paid call
    again = dailies_flow(project=str(example_film), return_state=True)
    assert again.is_completed() and "nothing to ask" in again.message, (again.name, again.message)


def test_an_unanswered_form_expires_with_nothing_written(example_film):
    shot = rendered(example_film)
    propose(example_film, shot.in_cut["clip"], shot.keys["clip"])
    (example_film / "slate.toml").write_text("approval_timeout_hours = 0.001\n")   # 3.6 seconds
    state = dailies_flow(project=str(example_film), return_state=True)
    assert state.is_completed() and state.name == EXPIRED, (state.name, state.message)
    assert "nothing written" in state.message
    assert words(example_film) == ([], [])     # the agent's proposal did not become a word either


def test_the_warden_ends_a_suspended_dailies_past_its_deadline_and_nothing_else():
    """A suspended run has no process to notice its deadline: the approvals warden (`slate up`
    runs it every few minutes) ends it "Dailies expired" — our deadline is an hour before the
    server's own timeout — and leaves alone a dailies form still in time and a waiting approval.
    The zombie automation knows the name as an end, or it would mark the run Crashed."""
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.states import Suspended

    from slate.deployments.automations import QUIET_STATES
    from slate.deployments.warden import approvals_warden
    from slate.flows.dailies import expire_dailies

    @flow(name="waiting")
    def waiting() -> None:
        pass

    with get_client(sync_client=True) as client:
        made = {}
        for name, key, seconds in (("past", "dailies-draft", 3600 - 60), ("in time", "dailies-final", 3600 + 60),
                                   ("approval", "approve-scene-01-final", 3600 + 60)):
            run = client.create_flow_run(waiting)
            client.set_flow_run_state(run.id, Suspended(timeout_seconds=seconds, pause_key=key), force=True)
            made[name] = run.id
        assert approvals_warden() == [str(made["past"])]
        assert client.read_flow_run(made["past"]).state.name == EXPIRED
        assert expire_dailies(client, now=datetime.now(timezone.utc) + timedelta(minutes=2)) == [str(made["in time"])]
        assert client.read_flow_run(made["approval"]).state.name == "Suspended"
    assert EXPIRED in QUIET_STATES


def test_a_film_run_in_this_process_says_how_to_open_the_dailies(tmp_path):
    """Without a deployment there is no server-side form to open and wait on: the film's end says
    how to give the word, and no dailies run is made; nor for a pushed film."""
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    from slate.flows.dailies import open_dailies
    from slate.manifests.options import RunOptions

    def dailies_runs() -> set:
        with get_client(sync_client=True) as client:
            return {r.id for r in client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["dailies"])))}

    @flow(name="film-ending")
    def ending(project: str) -> str:
        return open_dailies(project, RunOptions(profile="draft"))

    before = dailies_runs()
    line = ending(str(tmp_path))
    assert "run the dailies deployment" in line and f"slate dailies {tmp_path}" in line, line
    # A pushed film's takes are in its workers' own folders: no form to open for it.
    assert "not opened" in ending("s3://films-bucket/studio/films/night-diner")
    assert dailies_runs() == before
