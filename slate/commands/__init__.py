"""slate's commands, one small module per family (slate/cli.py puts them on the app).

A command parses what was typed, calls the layer that does the work and shows what it returns.
It must never hold logic a lower layer owns (costs are governor/'s, checks tasks/run/preflight.py's).
"""
