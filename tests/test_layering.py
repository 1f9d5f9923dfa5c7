"""The folder arrows of the design hold: nothing imports upward.

manifests and media import nothing of ours; providers import manifests and media (a change to
the design: the local provider renders with media's ffmpeg functions, and a second copy of
them in providers/ would drift); governor imports manifests; tasks import the four below;
flows import tasks and below; only deployments and slate import flows. One more arrow, by
module: the governor decides what a failed paid call means from the providers' error tree,
so governor/ may import providers.errors — and no other providers module (never a vendor's).
The film project's
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


MODULES_ALLOWED = {"governor": {"providers.errors"}}


def imports_of(path: Path) -> set[str]:
    """Full names of the modules of ours that a file imports."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return {m for m in found if m.split(".")[0] in OURS}


def test_no_folder_imports_upward():
    wrong = []
    for package, allowed in ALLOWED.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            for target in imports_of(path):
                top = target.split(".")[0]
                if top in allowed | {package} or target in MODULES_ALLOWED.get(package, set()):
                    continue
                wrong.append(f"{path.relative_to(ROOT)} imports {target}")
    assert not wrong, wrong
