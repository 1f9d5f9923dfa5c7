"""The MCP server's `voice` tool (slate/agent/server.py) driven by the SDK's stdio client: a
`slate mcp` process, and each version a `slate bible voice` process under it (about 20 s, so it
is an end-to-end test; the workshop's own tests are tests/integration/test_voice_workshop.py)."""
from __future__ import annotations

import sys
from pathlib import Path

import anyio
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests.integration.test_voice_workshop import voice_rows, with_voices
from tests.prefect_homes import slate_env


def test_an_agent_makes_a_voice_version_within_its_session_but_never_approves_one(example_film, tmp_path):
    """The MCP server's `voice` tool (slate/agent/server.py), over the SDK's stdio client: a version
    paid under the session's caller, one from it, a speaker the film lacks refused by the argument
    check and a character with no voice by the workshop, before any row; no tool approves, and the approved sample is never written."""
    with_voices(example_film)
    params = StdioServerParameters(command=str(Path(sys.executable).with_name("slate")),
                                   args=["mcp", str(example_film), "--cap", "1"], cwd=str(example_film),
                                   env=slate_env(tmp_path / "home", SLATE_PAID_CALLS_ALLOWED="local"))
    said: dict[str, str] = {}

    async def main() -> None:
        async with Client(stdio_client(params, errlog=sys.__stderr__), read_timeout_seconds=180) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            assert "voice" in names and not [n for n in names if "approve" in n or "promote" in n], names
            for key, args in (("made", {"speaker": "mia"}), ("from", {"speaker": "mia", "from_version": 1}),
                              ("nobody", {"speaker": "zed"}), ("voiceless", {"speaker": "nina"}),
                              ("orphan", {"speaker": "mia", "from_version": 9})):
                result = await client.call_tool("voice", args)
                said[key] = ("error: " if result.is_error else "") + " ".join(
                    getattr(b, "text", "") for b in result.content)
    anyio.run(main)
    assert "voice:mia v1" in said["made"] and "(exit 0" in said["made"] and not said["made"].startswith("error"), said
    assert "voice:mia v2 from v1" in said["from"], said
    assert said["nobody"].startswith("error: ") and "'speaker'" in said["nobody"], said
    assert said["orphan"].startswith("error: ") and "no version 9" in said["orphan"], said
    assert said["voiceless"].startswith("error: ") and "character 'nina' has no voice" in said["voiceless"], said
    rows = voice_rows(example_film)
    assert [(r.stage, r.shot, r.status) for r in rows] == [("voice", "voice:mia", "succeeded")] * 2
    assert rows[0].caller.startswith("agent") and rows[0].caller == rows[1].caller, rows[0].caller
    assert not (example_film / "characters/mia/mia_voice_APPROVED.wav").exists()
