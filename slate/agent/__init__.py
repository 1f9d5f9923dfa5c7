"""slate for an AI agent: `slate mcp DIR`, an MCP server for one film.

    session.py  the agent's session: its caller id, its cap, its runs (each a `slate run` subprocess)
    context.py  what the agent reads: locked blocks, a shot, its prompt and lint, images, verdicts, rows
    dailies.py  the dailies as an agent reads them, and its proposal of an NG (a person decides)
    server.py   the MCP tools, over stdio or streamable HTTP on 127.0.0.1

The agent works through the same doors as a person's command line: every paid call of a run it
starts goes through the governor's chokepoint, with "agent:<session id>" in the ledger's caller
column. What only a person may do (approve finals, promote a reference, raise a cap, clear a
STOP, reconcile, circle, NG or hold a take, a profile above the one allowed) has no tool at all.

It must never hand the agent a key, and never offer a tool that moves money past a person.
"""
