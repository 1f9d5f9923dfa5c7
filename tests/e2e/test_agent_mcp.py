"""`slate mcp`, driven by the MCP SDK's own client over stdio, as an agent would drive it.

The server is `.venv/bin/slate mcp DIR` in a subprocess (the client starts it); its runs are
`slate run` subprocesses of it with the local provider, rehearsed at a real video price
(`--price-as`) so money is not zero. What is counted lands somewhere a person could look: the
ledger's rows (and their caller column), the files under renders/, the approval marker.

Two tests render (a scene cut to one or two shots, under a minute each); the others never start a run.
"""
from __future__ import annotations

import base64
import json
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

import anyio
import pytest
import yaml
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.shared.exceptions import MCPError

from slate.governor.ledger import Ledger
from tests.scene_cuts import fit_music, without_finishing
from tests.prefect_homes import slate_env

PRICE_AS = "replicate:bytedance/seedance-1-pro"
SCENE = "scene-01"
#: Fake keys in the server's environment: no tool result may carry one. Key-shaped only when
#: assembled (the prompt lint must see the pasted one as a key), never written out whole here.
FAKE_KEYS = {"REPLICATE_API_TOKEN": "r8_" + "notakey" * 3, "GEMINI_API_KEY": "AIza" + "notakey" * 3,
             "FAL_KEY": "fal-" + "notakey" * 3}
#: What only a person may do: no tool of the server may be any of these.
PERSON_LEVERS = ("approve", "promote", "reconcile", "raise", "cap", "clear", "unstop", "resume", "override",
                 "circle", "hold")
#: A preview's most, as the base64 a result carries (slate/agent/server.py PREVIEW_BYTES, 200 kB).
PREVIEW_B64 = 200_000 * 4 // 3 + 4
TOOLS = {"bible", "scenes", "shot", "prompt", "references", "images", "verdicts", "ledger", "refusals", "check",
         "estimate", "run", "status", "stop", "escalations", "report", "turnaround", "plate", "voice", "versions",
         "dailies", "propose_ng"}


def _slate() -> str:
    return str(Path(sys.executable).with_name("slate"))


def _env(home: Path) -> dict[str, str]:
    return slate_env(home, SLATE_PAID_CALLS_ALLOWED="local", **FAKE_KEYS)


def _trim(film: Path, shots: int) -> None:
    """The example scene cut to its first shots: a render of about a minute. No finishing: the
    agent's tools, caps and approvals are the subject, not the finished cut."""
    without_finishing(film)
    path = film / "scenes" / f"{SCENE}.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["shots"] = doc["shots"][:shots]
    fit_music(doc)
    doc["shots"][-1]["transition_out"] = {"kind": "cut", "duration": 0}   # nothing to dissolve into
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


class Agent:
    """The SDK client's calls, each result kept (every one is searched for keys at the end)."""

    def __init__(self, client: Client):
        self.client = client
        self.seen: list[str] = []

    async def call(self, name: str, **args):
        result = await self.client.call_tool(name, args)
        for block in result.content:
            self.seen.append(getattr(block, "text", None) or getattr(block, "data", "") or "")
        return result

    async def json(self, name: str, **args) -> dict:
        result = await self.call(name, **args)
        assert not result.is_error, result.content[0].text
        return json.loads(result.content[0].text)

    def no_key_seen(self) -> None:
        for text in self.seen:
            for value in FAKE_KEYS.values():
                assert value not in text


def _drive(film: Path, home: Path, script, *flags: str):
    """Start `slate mcp film flags` with the SDK's stdio client and hand `script` an Agent."""
    params = StdioServerParameters(command=_slate(), args=["mcp", str(film), *flags], env=_env(home), cwd=str(film))
    box = {}

    async def main():
        async with Client(stdio_client(params, errlog=sys.__stderr__), read_timeout_seconds=300) as client:
            agent = Agent(client)
            box["out"] = await script(agent)
            agent.no_key_seen()
    anyio.run(main)
    return box["out"]


REFUSAL_WORDS = "E005: The input or output was flagged as sensitive. Please try again with different inputs."


def _refused_call(film: Path) -> str:
    """A clip call of shot 1C a provider's moderation refused, as a person's run left it."""
    from decimal import Decimal

    from slate.governor.ledger import CallRequest
    request = CallRequest(run_id="earlier", film="night-diner", scene=SCENE, shot="1C", stage="video", take=1,
                          provider="replicate", model="bytedance/seedance-1-pro", profile="draft", fingerprint="f-1c",
                          prompt="Gabe lifts the knife.", reference_hashes=(), parameters={}, estimate=Decimal("0.12"))
    with Ledger.for_project(film.resolve()) as ledger:
        call_id = ledger.reserve(cap_scopes=[], request=request).call_id
        ledger.fail(call_id, error_class="RefusedByModeration", message=REFUSAL_WORDS)
    return call_id


def _rows(film: Path) -> list:
    with Ledger.for_project(film.resolve()) as ledger:
        return ledger.rows(film="night-diner")


async def _until(agent: Agent, run_id: str, states: tuple[str, ...], seconds: float = 420) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        got = await agent.json("status", run_id=run_id)
        if got["state"] in states or not (got["state"] in ("running",) and time.monotonic() < deadline):
            return got
        await anyio.sleep(2)


def test_tools_context_and_no_person_lever(example_film, tmp_path):
    """The tools an agent gets, and none of a person's; a shot's context and prompt with the
    lint's findings; an estimate against the session's money; no key in any result (one is
    even pasted into a shot's action by mistake)."""
    path = example_film / "scenes" / f"{SCENE}.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["shots"][1]["action"] += f" Token {FAKE_KEYS['REPLICATE_API_TOKEN']} on the napkin."
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    refused = _refused_call(example_film)

    async def script(agent: Agent):
        listed = (await agent.client.list_tools()).tools
        names = {t.name for t in listed}
        assert names == TOOLS
        assert not [n for n in names for lever in PERSON_LEVERS if lever in n]
        spending = [t.name for t in listed if not t.annotations.read_only_hint]
        # A client may ask its user before these (propose_ng spends nothing: it writes a row a person reads).
        assert spending == ["run", "stop", "turnaround", "plate", "voice", "propose_ng"]
        run_schema = next(t for t in listed if t.name == "run").input_schema
        profile = run_schema["properties"]["profile"]
        assert profile.get("enum", [profile.get("const")]) == ["draft"]   # --max-profile draft: no other offered

        bible = await agent.json("bible")
        assert bible["source"] == "bible.yaml" and {c["id"] for c in bible["characters"]} >= {"gabe", "jenny"}
        shot = await agent.json("shot", scene=SCENE, shot="1A")
        assert shot["source"] == f"scenes/{SCENE}.yaml" and shot["field"] == "shots[0]" and shot["shot"]["id"] == "1A"

        panel = await agent.json("prompt", scene=SCENE, shot="1A")
        who = next(c for c in bible["characters"] if c["id"] == shot["shot"]["characters"][0])
        assert panel["model"] == "local:local-compositor-v1" and who["description"].strip()[:40] in panel["prompt"]
        assert shot["shot"]["action"].strip() in panel["prompt"]
        clip = await agent.json("prompt", scene=SCENE, shot="1B", stage="clip", model=PRICE_AS)
        assert clip["family"] == "seedance" and clip["prompt"] != panel["prompt"]
        assert [f for f in clip["lint"] if f["severity"] == "block"], clip["lint"]   # the pasted key: blocked

        refs = await agent.call("references", scene=SCENE, shot="1A")
        kinds = [b.type for b in refs.content]
        assert kinds.count("image") >= 2 and "text" in kinds   # gabe's turnaround and the diner's plate
        # Each a small preview and a link to the full picture, which the agent can read as a resource.
        assert all(b.mime_type == "image/jpeg" and len(b.data) < PREVIEW_B64 for b in refs.content if b.type == "image")
        links = [b for b in refs.content if b.type == "resource_link"]
        assert len(links) == kinds.count("image")
        about = {json.loads(b.text)["kind"]: json.loads(b.text) for b in refs.content if b.type == "text"}
        plate = next(b for b in links if str(b.uri) == f"slate://reference/location/{about['location']['id']}.png")
        full = (await agent.client.read_resource(plate.uri)).contents[0]
        assert base64.b64decode(full.blob) == (example_film / about["location"]["key"]).read_bytes()
        assert full.mime_type == "image/png"

        # The bible, a scene's manifest and a shot's prompt are resources too.
        uris = {str(r.uri) for r in (await agent.client.list_resources()).resources}
        assert {"slate://bible", f"slate://scene/{SCENE}"} <= uris
        scene_text = (await agent.client.read_resource(f"slate://scene/{SCENE}")).contents[0].text
        assert yaml.safe_load(scene_text)["id"] == SCENE and "***" in scene_text   # the pasted key, masked
        as_resource = (await agent.client.read_resource(f"slate://prompt/{SCENE}/1A")).contents[0].text
        assert json.loads(as_resource)["prompt"] == panel["prompt"]

        estimate = await agent.call("estimate", scenes=[SCENE])
        table, money = estimate.content[0].text, json.loads(estimate.content[1].text)
        assert f"video priced as {PRICE_AS}" in table and "(exit 0)" in table
        assert money["session_cap"] == "$1.50" and money["session_spent"] == "$0.00"

        checked = await agent.call("check", scenes=[SCENE])   # a command that fails is a tool error
        text = checked.content[0].text
        assert checked.is_error and "(exit 1)" in text and "1B" in text, text   # the pasted key blocks the run, named
        shot_two = await agent.call("shot", scene=SCENE, shot="1B")
        assert "***" in shot_two.content[0].text   # the pasted key, masked
        status = await agent.json("status")
        assert status["runs"] == [] and status["profiles_allowed"] == ["draft"]

        said = await agent.json("refusals", scene=SCENE, shot="1C")
        (one,) = said["refusals"]
        assert one["provider_said"] == REFUSAL_WORDS and one["call_id"] == refused   # its words, not a paraphrase
        rows = await agent.json("ledger", scene=SCENE, shot="1C")
        assert [(r["call_id"], r["status"], r["caller"]) for r in rows["rows"]] == [(refused, "failed", None)]

    _drive(example_film, tmp_path / "home", script, "--cap", "1.50", "--price-as", PRICE_AS)
    assert [r.call_id for r in _rows(example_film)] == [refused]   # reading spends nothing


def test_an_agent_makes_a_turnaround_version_but_cannot_make_it_canonical(example_film, tmp_path):
    """The workshop through the agent: a new version of a character and a fix of one view, paid
    through the governor under the session's caller; the canonical reference untouched (no tool
    promotes); a bad view refused by the tool's schema, a missing parent by the workshop, unpaid."""
    canonical = example_film / "characters" / "gabe" / "gabe_turnaround_APPROVED.png"
    before = canonical.read_bytes()

    async def script(agent: Agent):
        made = await agent.call("turnaround", character="gabe")
        text = made.content[0].text
        assert not made.is_error and "gabe v1" in text and "(exit 0" in text, text
        fixed = await agent.call("turnaround", character="gabe", fix_view="three_quarter", from_version=1)
        assert not fixed.is_error and "v2 from v1 (fix three_quarter)" in fixed.content[0].text, fixed.content[0].text
        bad = await agent.call("turnaround", character="gabe", fix_view="top", from_version=1)
        assert bad.is_error
        orphan = await agent.call("turnaround", character="gabe", fix_view="side", from_version=9)
        assert orphan.is_error and "9" in orphan.content[0].text
        listed = (await agent.call("versions", asset="gabe")).content[0].text
        assert "v1" in listed and "v2  parent 1" in listed, listed
        names = {t.name for t in (await agent.client.list_tools()).tools}
        assert not [n for n in names if "approve" in n or "promote" in n]
        return (await agent.json("status"))["session"]

    caller = _drive(example_film, tmp_path / "home", script, "--cap", "1.50")
    rows = [r for r in _rows(example_film) if r.stage == "reference"]
    assert [(r.scene, r.shot, r.status, r.caller) for r in rows] == [("bible", "character:gabe", "succeeded", caller)] * 2
    assert canonical.read_bytes() == before   # nothing became canonical
    assert not list(canonical.parent.glob("history/*"))   # and nothing was replaced


def test_a_session_with_nothing_left_makes_no_version(example_film, tmp_path):
    """The workshop spends under the session's cap like a run: with nothing left, a new version is
    refused naming the cap, and no reference row is written."""
    async def script(agent: Agent):
        made = await agent.call("turnaround", character="gabe")
        assert made.is_error and "session cap of $0.00" in made.content[0].text, made.content[0].text

    _drive(example_film, tmp_path / "home", script, "--cap", "0")
    assert [r for r in _rows(example_film) if r.stage == "reference"] == []


#: The workshop's versions priced as an image model; the film's own rate card (rates.toml beside
#: it) says $0.40 a version, so a $1 cap holds two and few versions are made.
IMAGE_PRICE_AS = "gemini:gemini-3-pro-image-preview"
PRICIER = f'''[models."{IMAGE_PRICE_AS}"]
kind = "image"
per_image = "0.40"
source = "a test's price: three versions pass $1"
confidence = "S"
'''


@pytest.mark.e2e
def test_a_named_sessions_cap_holds_across_servers(example_film, tmp_path):
    """Two `slate mcp --session S --cap 1` servers, one after the other (a restart, or a client that
    starts a server per call): the first spends until its cap refuses, the second continues the
    same count and is refused at once. Together they spent no more than $1 — summed from the
    ledger's rows, every one of them the session's."""
    (example_film / "rates.toml").write_text(PRICIER)

    async def spend_until_refused(agent: Agent):
        made = 0
        while True:
            got = await agent.call("turnaround", character="gabe")
            if got.is_error:
                return made, got.content[0].text, await agent.json("status")
            made += 1
            assert made <= 3, "the $1 cap let a fourth $0.40 version through"

    flags = ("--session", "nightly", "--cap", "1", "--price-as", IMAGE_PRICE_AS)
    first, refusal, money = _drive(example_film, tmp_path / "home", spend_until_refused, *flags)
    assert first == 2 and money["session"] == "agent:nightly" and money["session_spent"] == "$0.80", (first, money)
    assert "cap $0.20 would be exceeded" in refusal, refusal      # the third: refused before it was sent
    second, refusal, money = _drive(example_film, tmp_path / "home", spend_until_refused, *flags)
    assert second == 0, f"the restarted server made {second} more version(s): its cap started afresh"
    assert "would be exceeded" in refusal and money["session_spent"] == "$0.80", (refusal, money)

    rows = [r for r in _rows(example_film) if r.status not in ("refused", "released")]
    assert {r.caller for r in rows} == {"agent:nightly"} and len(rows) == 2
    assert sum(r.actual_cost for r in rows) <= Decimal(1)


def test_session_cap_refuses_before_anything_is_paid(example_film, tmp_path):
    """A run whose estimate does not fit the session's cap, and a profile above --max-profile,
    are refused with the lever named; nothing started, no row in the ledger. A cap above the
    film's run cap does not even start the server."""
    async def script(agent: Agent):
        refused = await agent.call("run", scenes=[SCENE])
        assert refused.is_error
        text = refused.content[0].text
        assert "session cap of $0.05" in text and "--cap" in text and "nothing paid" in text, text
        final = await agent.call("run", scenes=[SCENE], profile="final")
        assert final.is_error
        status = await agent.json("status")
        assert status["runs"] == [] and status["session_spent"] == "$0.00"

    _drive(example_film, tmp_path / "home", script, "--cap", "0.05", "--price-as", PRICE_AS)
    assert _rows(example_film) == []
    assert not (example_film / "renders").exists()

    import subprocess
    above = subprocess.run([_slate(), "mcp", str(example_film), "--cap", "9999"], env=_env(tmp_path / "home"),
                           capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert above.returncode == 2 and "above the film's run cap ($25.00" in above.stderr, above.stderr
    assert above.stdout == ""
    # A lever the ledger cannot hold, or a session name that is not one: one line naming it.
    for flag, value in (("--cap", "1e400"), ("--daily-cap", "nan"), ("--session", "../x")):
        bad = subprocess.run([_slate(), "mcp", str(example_film), flag, value], env=_env(tmp_path / "home"),
                             capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        said = bad.stderr.strip().splitlines()
        # One problem line naming the flag and its value (a cap the option's bounds refuse comes as
        # the film's problems do: the line, then how many problems in which folder).
        assert bad.returncode in (1, 2) and said[0].startswith("error: ") and flag in said[0] and value in said[0], \
            bad.stderr
        assert "Traceback" not in bad.stderr and bad.stdout == "", bad.stderr


@pytest.mark.e2e
def test_agent_renders_a_draft_scene_within_its_cap(example_film, tmp_path):
    """Two shots: $0.22 expected, about $0.20 spent; the session's $0.35 takes one run, not two.
    Estimate, run a draft scene to completion in the background, poll it, read its verdicts
    and contact sheet; every row the run wrote names the agent's session; the prompt tool's text
    is the prompt the run sent; a second run past what is left is refused, nothing paid."""
    _trim(example_film, 2)

    async def script(agent: Agent):
        started = await agent.json("run", scenes=[SCENE])
        assert started["profile"] == "draft" and started["run_cap"] == "$0.35"
        again = await agent.call("run", scenes=[SCENE])   # one run at a time
        assert again.is_error and "still" in again.content[0].text
        done = await _until(agent, started["run_id"], ("completed",))
        assert done["state"] == "completed", done["output_tail"]
        assert done["calls"] > 0 and "contact sheet:" in done["output_tail"]
        session = done["session"]

        verdicts = await agent.json("verdicts", scene=SCENE, shot="1A")
        stages = {v["stage"] for v in verdicts["verdicts"]}
        assert {"panel_gate", "keyframe_gate"} <= stages
        assert all("scores" in v["verdict"] or "passed" in v["verdict"] for v in verdicts["verdicts"])
        images = await agent.call("images", scene=SCENE, shot="1A", profile="draft")
        said = [json.loads(b.text)["what"] for b in images.content if b.type == "text"]
        assert said[0] == "latest panel" and said[-1] == "contact sheet" and any("keyframe" in s for s in said)
        # Small previews, each with a link to the full picture: the contact sheet is read whole only
        # when the agent asks for it.
        pictures = [b for b in images.content if b.type == "image"]
        assert len(pictures) == len(said) and all(b.mime_type == "image/jpeg" for b in pictures)
        assert all(len(b.data) < PREVIEW_B64 for b in pictures), [len(b.data) for b in pictures]
        links = [b for b in images.content if b.type == "resource_link"]
        assert len(links) == len(said) and str(links[-1].uri) == f"slate://contact/{SCENE}/draft"
        sheet = (await agent.client.read_resource(links[-1].uri)).contents[0]
        assert base64.b64decode(sheet.blob) == (example_film / "renders" / f"{SCENE}-draft-contact.png").read_bytes()
        panel_full = (await agent.client.read_resource(links[0].uri)).contents[0]
        assert panel_full.mime_type == "image/png" and base64.b64decode(panel_full.blob)[:4] == b"\x89PNG"
        panel = await agent.json("prompt", scene=SCENE, shot="1A")
        report = await agent.call("report", run_id=started["run_id"])
        assert "renders:" in report.content[0].text
        page = example_film / "renders" / "report" / "index.html"
        assert f"report: {page}" in report.content[1].text and "1A" in page.read_text()   # the page a person opens

        # What is left is less than a second run's estimate: refused, the cap named.
        left = await agent.json("status")
        refused = await agent.call("run", scenes=[SCENE])
        assert refused.is_error and "session cap of $0.35" in refused.content[0].text, refused.content[0].text
        return session, panel["prompt"], left

    session, prompt, left = _drive(example_film, tmp_path / "home", script, "--cap", "0.35", "--price-as", PRICE_AS)
    rows = _rows(example_film)
    assert rows and {r.caller for r in rows} == {session} and session.startswith("agent:")
    spent = sum(r.actual_cost for r in rows if r.status == "succeeded")
    assert spent > 0 and left["session_spent"] != "$0.00"
    sent = [r.prompt for r in rows if r.shot == "1A" and r.stage == "panel"]
    assert sent and sent[-1] == prompt          # the prompt tool says what the run sent
    assert (example_film / "renders" / f"{SCENE}-draft-contact.png").is_file()
    assert len(rows) == len(_rows(example_film))  # and the refused run added none


@pytest.mark.e2e
def test_a_final_run_waits_for_a_person_and_cannot_be_approved_here(example_film, tmp_path):
    """With --max-profile final the agent may start a final run: it waits for a person at its
    approval (no final video paid), no tool can approve it, and the agent can stop its own run."""
    _trim(example_film, 1)

    async def script(agent: Agent):
        names = {t.name for t in (await agent.client.list_tools()).tools}
        assert names == TOOLS   # the same tools: no approval among them, whatever the profile
        t0 = time.monotonic()
        started = await agent.json("run", scenes=[SCENE], profile="final")
        waiting = await _until(agent, started["run_id"], ("waiting for a person",))
        t1 = time.monotonic()
        assert waiting["state"] == "waiting for a person", waiting["output_tail"]
        assert (example_film / ".slate" / "approval.json").is_file()
        assert waiting["approval"]["scene"] == SCENE and waiting["approval"]["profile"] == "final"
        assert "slate approve" in waiting["approval"]["who"]
        stopped = await agent.json("stop", run_id=started["run_id"])
        assert stopped["state"].startswith("stopped")
        print(f"final run: waiting for a person after {t1 - t0:.1f}s, stopped in {time.monotonic() - t1:.1f}s")
        other = await agent.call("stop", run_id="run-9-nobody")
        assert other.is_error and "not a run of this session" in other.content[0].text

    _drive(example_film, tmp_path / "home", script, "--max-profile", "final", "--cap", "5", "--price-as", PRICE_AS)
    rows = _rows(example_film)
    assert rows and not [r for r in rows if r.stage == "video" and r.profile == "final"]


@pytest.mark.e2e
def test_an_agents_run_outlives_the_thread_that_started_it(example_film, tmp_path, monkeypatch):
    """The MCP SDK calls a tool in one of anyio's worker threads, and anyio retires a worker idle
    for 10 s. The lifeline's parent-death signal follows the thread that started a run, not its
    process: a run started there was sent SIGTERM when that thread ended, which it handled the
    moment it woke (exit -15 — in CI while it waited; here when a person's answer woke it). The
    tool's thread is a plain one that ends once the run waits; a person's answer must then find
    the run alive and see it end by itself."""
    import subprocess
    import threading
    from decimal import Decimal

    from slate.agent.session import Session
    from slate.manifests.options import RunOptions
    _trim(example_film, 1)
    for name in [n for n in os.environ if n.startswith(("PREFECT_API", "PREFECT_PROFILE"))]:
        monkeypatch.delenv(name)
    for name, value in _env(tmp_path / "home").items():
        monkeypatch.setenv(name, value)
    session = Session(example_film, cap=Decimal(5), max_profile="final", price_as=PRICE_AS)
    box = {}

    def tool():   # as the SDK's worker thread: start the run, see it wait, end
        box["run"] = run = session.start(RunOptions(scenes=[SCENE], profile="final"))
        deadline = time.monotonic() + 300
        while run.state() == "running" and time.monotonic() < deadline:
            time.sleep(1)

    try:
        caller = threading.Thread(target=tool)
        caller.start()
        caller.join(330)
        run = box["run"]
        assert run.state() == "waiting for a person", run.output(30)   # its lifeline is held by now
        time.sleep(3)
        answer = subprocess.run([_slate(), "approve", str(example_film), "--by", "Ana"],
                                capture_output=True, text=True, timeout=120)
        assert answer.returncode == 0, answer.stdout + answer.stderr
        deadline = time.monotonic() + 180
        while run.running and time.monotonic() < deadline:
            time.sleep(1)
        assert run.state() == "completed", run.state() + "\n" + run.output(30)
    finally:
        session.close()


#: What an agent may send by mistake or on purpose. JSON has no infinity or NaN: the SDK's client
#: sends a non-finite number as null, which for an optional argument means "not given"; so those go
#: to the required arguments as numbers, and to every argument as the text an agent would type.
ODD = ["**", "../../etc/passwd", "--help", "", "1e400", "nan", -1]
NON_FINITE = [float("inf"), float("nan")]
#: A good value of each argument a tool requires, so that the odd one is the only fault.
GOOD = {"scene": SCENE, "shot": "1A", "character": "gabe", "location": "diner", "speaker": "gabe", "take": 1,
        "note": "the door swings open, it does not explode"}


def test_odd_values_to_every_tool_are_refused_by_name(example_film, tmp_path):
    """Every tool, every argument, every odd value: a tool error whose text names the argument —
    never a success, never the SDK's bare "Error executing tool" of a crash. An argument a tool does
    not take (`run` with `cap`) is refused by name. Nothing is written to the ledger, and no
    resource can be read outside the film's ids."""
    async def script(agent: Agent):
        listed = (await agent.client.list_tools()).tools
        assert {t.name for t in listed} == TOOLS
        seen: list[tuple[str, str, object, str]] = []

        async def refused(tool: str, args: dict, name: str, value: object) -> None:
            result = await agent.call(tool, **args)
            text = " ".join(getattr(b, "text", "") for b in result.content)
            seen.append((tool, name, value, text))
            assert result.is_error, (tool, args, text)
            assert f"'{name}'" in text and "Traceback" not in text, (tool, args, text)

        for tool in listed:
            schema = tool.input_schema
            required = set(schema.get("required", []))
            base = {n: GOOD[n] for n in required if n in GOOD}
            await refused(tool.name, {**base, "cap": 1000}, "cap", 1000)
            for name in schema.get("properties", {}):
                for value in ODD + (NON_FINITE if name in required else []):
                    await refused(tool.name, {**base, name: value}, name, value)
                if name == "scenes":
                    for value in ODD:
                        await refused(tool.name, {**base, name: [value]}, name, [value])
        print(f"{len(seen)} odd calls, each refused by name")

        for uri in ("slate://scene/..%2F..%2Fetc%2Fpasswd", "slate://prompt/scene-01/%2A%2A",
                    "slate://contact/scene-01/..%2F..", "slate://contact/%2A%2A/draft",
                    "slate://artifact/..%2F..%2Fetc%2Fpasswd.png", "slate://reference/character/%2A%2A.png",
                    "slate://reference/..%2F../gabe.png"):
            with pytest.raises(MCPError):
                await agent.client.read_resource(uri)

    _drive(example_film, tmp_path / "home", script, "--cap", "0", "--max-profile", "final")
    assert _rows(example_film) == []


def test_streamable_http_on_loopback(example_film, tmp_path):
    """`--http PORT`: the same tools over streamable HTTP, on 127.0.0.1 only."""
    import socket
    import subprocess
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([_slate(), "mcp", str(example_film), "--http", str(port)], env=_env(tmp_path / "home"),
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, server.stderr.read().decode()[-2000:]
                time.sleep(0.3)

        async def main():
            async with Client(f"http://127.0.0.1:{port}/mcp", read_timeout_seconds=120) as client:
                names = {t.name for t in (await client.list_tools()).tools}
                shot = await client.call_tool("shot", {"scene": SCENE, "shot": "1A"})
                return names, json.loads(shot.content[0].text)
        names, shot = anyio.run(main)
        assert names == TOOLS and shot["shot"]["id"] == "1A"
    finally:
        server.terminate()
        server.wait(timeout=30)
