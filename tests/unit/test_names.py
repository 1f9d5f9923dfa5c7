"""One meaning per name: no public class is defined in two product modules (a `Studio` that was
both a run's services and a multi-service stack, two `Progress` and two `Finding`), and the
glossary of film words (docs/concepts.md) points at modules that exist."""
from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("manifests", "media", "providers", "governor", "tasks", "flows", "deployments", "slate")


def public_classes(root: Path = ROOT) -> dict[str, list[str]]:
    """Every public top-level class of the product's modules: name -> the modules defining it."""
    found: dict[str, list[str]] = defaultdict(list)
    for folder in FOLDERS:
        for path in sorted((root / folder).rglob("*.py")):
            for node in ast.parse(path.read_text(), filename=str(path)).body:
                if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                    found[node.name].append(str(path.relative_to(root)))
    return found


def test_no_public_class_is_defined_twice():
    twice = {name: where for name, where in public_classes().items() if len(where) > 1}
    assert not twice, f"one name, two meanings: {twice}"


def test_the_check_sees_a_name_defined_twice(tmp_path):
    """The check itself can fail: two modules of a made-up tree each define `Progress`."""
    for folder in FOLDERS:
        (tmp_path / folder).mkdir()
    (tmp_path / "flows" / "reports.py").write_text("class Progress:\n    pass\n")
    (tmp_path / "slate" / "report.py").write_text("class Progress:\n    pass\n\nclass _Private:\n    pass\n")
    (tmp_path / "tasks" / "other.py").write_text("class _Private:\n    pass\n")
    assert {n: w for n, w in public_classes(tmp_path).items() if len(w) > 1} == \
        {"Progress": ["flows/reports.py", "slate/report.py"]}


def test_the_glossary_names_modules_that_exist():
    page = (ROOT / "docs" / "concepts.md").read_text()
    section = page.split("## Film words in the code", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| word")
            and not line.startswith("| ---")]
    assert len(rows) >= 20, rows
    for row in rows:
        word, _, where = [cell.strip() for cell in row.strip("|").split(" | ")]
        paths = re.findall(r"`([\w/]+(?:\.py|/))`", where)
        assert paths, f"glossary row {word!r} names no module or folder"
        for path in paths:
            assert (ROOT / path).exists(), f"glossary row {word!r}: {path} does not exist"
        for name in re.findall(r"`(\w+)`$", where.strip()):   # a class named after the module
            module = ast.parse((ROOT / paths[-1]).read_text())
            assert any(getattr(n, "name", None) == name for n in module.body), f"{paths[-1]} has no {name}"
