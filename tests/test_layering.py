"""The folder arrows of the design hold: nothing imports upward.

manifests and media import nothing of ours; providers import manifests and media (a change to
the design: the local provider renders with media's ffmpeg functions, and a second copy of
them in providers/ would drift); governor imports manifests; tasks import the four below;
flows import tasks and below; only deployments and slate import flows. The film project's
settings live in manifests/settings.py (slate/settings.py re-exports them), so no layer
needs to import slate/ to read them. Sub-packages (governor/ledger/) are walked too.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OURS = {"manifests", "media", "providers", "governor", "tasks", "flows", "deployments", "slate"}
ALLOWED = {
    "manifests": set(),
    "media": set(),
    "providers": {"manifests", "media"},
    "governor": {"manifests"},
    "tasks": {"manifests", "media", "providers", "governor"},
    "flows": {"manifests", "media", "providers", "governor", "tasks"},
    "deployments": {"manifests", "media", "providers", "governor", "tasks", "flows", "slate"},
    "slate": OURS - {"slate"},
}


def imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & OURS


def test_no_folder_imports_upward():
    wrong = []
    for package, allowed in ALLOWED.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            for target in imports_of(path) - allowed - {package}:
                wrong.append(f"{path.relative_to(ROOT)} imports {target}")
    assert not wrong, wrong
