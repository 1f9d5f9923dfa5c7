"""Issue 40, item 4: agents propose, people decide — the dailies over the real MCP protocol.

`slate mcp DIR` is a subprocess driven by the SDK's stdio client (tests/e2e/test_agent_mcp.py's
`_drive`), on the example rendered down to one shot by an in-process `slate run`. The agent reads
the dailies (`dailies`) and proposes an NG with a note (`propose_ng`); what it did is counted where
it lands: the ledger's approvals (stage, by, caller, key), what the dailies show the person
(flows/review/rushes.py `dailies_of`), and — after another `slate run` — the ledger's paid rows, which a
proposal must never add to.
"""
from __future__ import annotations

import base64
from pathlib import Path

import pytest
from typer.testing import CliRunner

from slate.cli import app
from slate.flows.review.rushes import dailies_of
from slate.governor.ledger import Ledger
from slate.governor.money import fmt_usd
from slate.providers.storage_local import LocalStorage
from slate.tasks.review.circle import PROPOSAL_STAGE, WORD_STAGE, words_of
from tests.e2e.test_agent_mcp import FAKE_KEYS, Agent, _drive
from tests.scene_cuts import keep_shots, without_finishing

FILM, SCENE, SHOT = "night-diner", "scene-01", "1C"
NOTE = "the cup should stay on the table, it slides off"
PANEL_NOTE = "her apron is blue in the bible, red here"
#: An agent pastes a key into a note by mistake: the ledger (and the person's dailies) get it masked.
PASTED = f" (key {FAKE_KEYS['FAL_KEY']})"


#: The local provider's video rehearsed at a real price, so a take's cost is money to read.
PRICE_AS = "replicate:bytedance/seedance-1-pro"


def _run(root: Path) -> str:
    out = CliRunner().invoke(app, ["run", "--price-as", PRICE_AS, str(root)])
    assert out.exit_code == 0 and "state: Completed" in out.output, out.output[-3000:]
    return out.output


def _paid(root: Path) -> list[tuple[str, str, str, int, str]]:
    with Ledger.for_project(root) as ledger:
        return [(r.call_id, r.shot, r.stage, r.take, r.status) for r in ledger.rows(film=FILM)]


def _said(result) -> str:
    return " ".join(getattr(b, "text", "") for b in result.content)


@pytest.mark.e2e
@pytest.mark.usefixtures("prefect_harness", "local_calls")
def test_an_agent_reads_the_dailies_and_proposes_an_ng_the_run_does_not_obey(example_film, tmp_path):
    """An agent reads each take's scores, cost and place in the cut as the dailies hold them, and
    proposes an NG of the clip in the cut and of its panel, each with a note (a key pasted into one
    is masked): two proposal rows in the ledger, by the session, with the dailies' keys; the person's dailies show them as the
    agent's and no word stands. It cannot circle or hold (no tool, and the proposal tool takes no
    word), nor propose on a take or shot the dailies do not have. The next `slate run` pays for
    nothing and keeps the same take in the cut."""
    keep_shots(example_film, (SHOT,))
    without_finishing(example_film)
    _run(example_film)
    with Ledger.for_project(example_film) as ledger:
        [before] = dailies_of(example_film, ledger, FILM, [SCENE], "draft")
    clip = next(t for t in before.takes if t.kind == "clip" and t.in_cut)
    panel = next(t for t in before.takes if t.kind == "panel" and t.in_cut)
    storage = LocalStorage(example_film)

    async def script(agent: Agent):
        listed = {t.name: t for t in (await agent.client.list_tools()).tools}
        assert {"dailies", "propose_ng"} <= set(listed)
        # No tool says a person's word, and the one that proposes has no word to say.
        assert not [n for n in listed if "circle" in n or "hold" in n or n in ("ng", "say_word", "word")]
        assert "word" not in listed["propose_ng"].input_schema["properties"]
        assert not listed["propose_ng"].annotations.read_only_hint   # it writes a row the person reads

        read = await agent.json("dailies", scene=SCENE)
        [shot] = read["shots"]
        assert (shot["shot"], shot["profile"], shot["new"]) == (SHOT, "draft", True)
        assert shot["word"] == {"clip": None, "panel": None} and shot["proposals"] == []
        # Every take the dailies hold, with the same facts: scores by name, money, time, the cut.
        assert [(t["kind"], t["take"], t["passed"], t["in_cut"], t["scores"], t["cost"], t["made_at"])
                for t in shot["takes"]] == [
            (t.kind, t.take, t.passed, t.in_cut, t.scores, fmt_usd(t.cost_usd), t.made_at or None)
            for t in before.takes if t.current]
        seen = next(t for t in shot["takes"] if t["kind"] == "clip" and t["in_cut"])
        assert seen["scores"] and seen["cost"] != "$0.00", seen      # judged, and it cost something
        # Its picture is a resource the agent can read: the clip's middle keyframe, byte for byte.
        full = (await agent.client.read_resource(seen["picture"])).contents[0]
        assert base64.b64decode(full.blob) == storage.get_bytes(clip.preview)

        proposed = await agent.json("propose_ng", scene=SCENE, shot=SHOT, take=clip.take, note=NOTE)
        assert proposed["proposed"].startswith(f"NG take {clip.take} (proposed by agent:"), proposed
        await agent.json("propose_ng", scene=SCENE, shot=SHOT, take=panel.take, note=PANEL_NOTE + PASTED,
                         kind="panel")

        # Refused, each naming what it refused, nothing written:
        for args, words in (
                ({"word": "circled"}, ("'word'", "only a person circles")),     # a person's word: no argument for it
                ({"word": "hold"}, ("'word'", "only a person circles")),
                ({"take": 9}, ("no clip take 9", f"its clip takes: {clip.take}")),   # a take the dailies lack
                ({"kind": "panel", "take": panel.take + 5}, (f"no panel take {panel.take + 5}",)),
                ({"shot": "1A"}, ("'shot'", "'1A'")),                              # a shot the scene no longer has
                ({"profile": "final"}, ("shot 1C", "no take of it at final")),     # nor takes at that profile
                ({"note": "bad"}, ("'note'",))):                                   # a note says what is wrong
            got = await agent.call("propose_ng", **{"scene": SCENE, "shot": SHOT, "take": clip.take, "note": NOTE,
                                                    **args})
            assert got.is_error and all(w in _said(got) for w in words), (args, _said(got))

        again = await agent.json("dailies")
        [shot] = again["shots"]
        assert shot["word"] == {"clip": None, "panel": None}                      # a proposal never stands
        assert shot["proposals"] == [f"NG take {clip.take} (proposed by {proposed['by']}): {NOTE}",
                                     f"NG panel take {panel.take} (proposed by {proposed['by']}): {PANEL_NOTE} "
                                     f"(key ***)"]
        return (await agent.json("status"))["session"]

    paid_before = _paid(example_film)
    caller = _drive(example_film, tmp_path / "home", script, "--session", "reviewer", "--cap", "0")
    assert caller == "agent:reviewer"

    with Ledger.for_project(example_film) as ledger:
        rows = ledger.approvals(film=FILM)
        assert [(r.stage, r.shot, r.take, r.by, r.caller, r.fingerprint, r.message) for r in rows] == [
            (PROPOSAL_STAGE, SHOT, clip.take, caller, caller, before.keys["clip"], NOTE),
            (PROPOSAL_STAGE, SHOT, panel.take, caller, caller, before.keys["panel"], f"{PANEL_NOTE} (key ***)")]
        assert [r.parameters["word"] for r in rows] == ["ng", "ng"] and not ledger.approvals(stage=WORD_STAGE)
        assert words_of(ledger, FILM) == []                                       # no person's word among them
        [shown] = dailies_of(example_film, ledger, FILM, [SCENE], "draft")
    assert shown.clip_word is None and shown.panel_word is None
    assert [(p.kind, p.take, p.note, p.proposal) for p in shown.proposals] == [
        ("clip", clip.take, NOTE, True), ("panel", panel.take, f"{PANEL_NOTE} (key ***)", True)]
    assert _paid(example_film) == paid_before                                     # proposing paid nothing

    # The next run obeys persons' words only: no new row, the same take in the cut.
    _run(example_film)
    assert _paid(example_film) == paid_before
    with Ledger.for_project(example_film) as ledger:
        [after] = dailies_of(example_film, ledger, FILM, [SCENE], "draft")
    assert [(t.kind, t.take) for t in after.takes if t.in_cut] == [(t.kind, t.take) for t in before.takes if t.in_cut]
    assert len(after.proposals) == 2                                              # still waiting for the person


def test_before_any_run_the_dailies_are_empty_and_nothing_can_be_proposed(example_film, tmp_path):
    """No run yet: the dailies say so, and a proposal on a shot of the film is refused naming the
    shot — the agent cannot write a word about a take nobody made. No row is written."""
    async def script(agent: Agent):
        read = await agent.json("dailies")
        assert read["shots"] == [] and "no run" in read["none"] and "a person" in read["who_decides"]
        got = await agent.call("propose_ng", scene=SCENE, shot="1A", take=1, note=NOTE)
        assert got.is_error and "shot 1A" in _said(got) and "no run has left takes" in _said(got), _said(got)
        scene_wide = await agent.call("dailies", scene="scene-99")
        assert scene_wide.is_error and "'scene'" in _said(scene_wide)

    _drive(example_film, tmp_path / "home", script, "--cap", "0")
    with Ledger.for_project(example_film) as ledger:
        assert ledger.approvals(film=FILM) == []
