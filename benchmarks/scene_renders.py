"""How many whole-scene renders the test suite asks for: call sites of a scene or film run in tests/.

    .venv/bin/python -m benchmarks.scene_renders            # the working tree
    .venv/bin/python -m benchmarks.scene_renders af5b460    # a commit (read through git)

A whole run is the costly way to test a rule (docs/testing.md): every call site below renders at
least one scene. Counted statically, per kind — the scene flow called in-process, the film flow, a
`slate run` through typer's runner or a subprocess, a deployment's run on a served worker — and the
test files that hold any. Rules belong in-process (tests/integration/test_take_table.py); whole
scenes only for wiring and real servers.
"""
from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

KINDS = {
    "scene_flow(": re.compile(r"\bscene_flow\("),
    "film_flow(": re.compile(r"\bfilm_flow\("),
    "slate run (CLI)": re.compile(r"""\[\s*["']run["']\s*,"""),
    "deployment run": re.compile(r"\brun_deployment\("),
}


def sources(rev: str | None) -> dict[str, str]:
    """Each test module's text: the working tree's, or a commit's."""
    if rev is None:
        return {str(p): p.read_text() for p in Path("tests").rglob("*.py")}
    names = subprocess.run(["git", "ls-tree", "-r", "--name-only", rev, "tests"], check=True, capture_output=True,
                           text=True).stdout.split()
    return {n: subprocess.run(["git", "show", f"{rev}:{n}"], check=True, capture_output=True, text=True).stdout
            for n in names if n.endswith(".py")}


def through_helpers(text: str) -> int:
    """Calls, inside a module's tests, of that module's own helpers that render (a `run(film, ...)`
    wrapping `slate run`): a call site above counted once however many tests go through it."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return 0
    helpers = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)
               and not node.name.startswith("test_")
               and any(p.search(ast.get_source_segment(text, node) or "") for p in KINDS.values())}
    return sum(1 for node in tree.body if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
               for call in ast.walk(node)
               if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id in helpers)


def main(argv: list[str]) -> None:
    rev = argv[0] if argv else None
    counts = {k: 0 for k in KINDS}
    files: set[str] = set()
    helped = 0
    for name, text in sources(rev).items():
        helped += through_helpers(text)
        for kind, pattern in KINDS.items():
            n = len(pattern.findall(text))
            counts[kind] += n
            if n:
                files.add(name)
    print(f"whole-scene renders asked for in tests/ at {rev or 'the working tree'}:")
    for kind, n in counts.items():
        print(f"  {kind:18} {n:4}")
    print(f"  {'total':18} {sum(counts.values()):4} call sites in {len(files)} files")
    print(f"  {'through helpers':18} {helped:4} calls in tests of a file's own helper that renders")


if __name__ == "__main__":
    main(sys.argv[1:])
