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


def main(argv: list[str]) -> None:
    rev = argv[0] if argv else None
    counts = {k: 0 for k in KINDS}
    files: set[str] = set()
    for name, text in sources(rev).items():
        for kind, pattern in KINDS.items():
            n = len(pattern.findall(text))
            counts[kind] += n
            if n:
                files.add(name)
    print(f"whole-scene renders asked for in tests/ at {rev or 'the working tree'}:")
    for kind, n in counts.items():
        print(f"  {kind:18} {n:4}")
    print(f"  {'total':18} {sum(counts.values()):4} call sites in {len(files)} files")


if __name__ == "__main__":
    main(sys.argv[1:])
