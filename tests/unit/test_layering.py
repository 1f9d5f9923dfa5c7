"""The folder arrows of the design hold: nothing imports upward.

manifests and media import nothing of ours; providers import manifests and media (a change to
the design: the local provider renders with media's ffmpeg functions, and a second copy of
them in providers/ would drift); governor imports manifests; tasks import the four below;
flows import tasks and below; only deployments and slate import flows. One more arrow, by
module: the governor decides what a failed paid call means from the providers' error tree,
and holds what it is handed by the capability contracts, so governor/ may import
providers.errors and providers.base — and no other providers module (never a vendor's).
The film project's
settings live in manifests/settings.py (slate/settings.py re-exports them), so no layer
needs to import slate/ to read them. Sub-packages (governor/ledger/) are walked too.

The folders sit at the top of the repository but are installed and imported as slate.<folder>
(pyproject's package-dir): an import of slate.flows is the flows layer here. Nothing may import
a folder by its old top-level name (a module imported as both flows.shot and slate.flows.shot is
two copies, with two sets of classes and registries); a built wheel's only top-level package is
slate; and every distribution product code imports is declared in pyproject.toml.
"""
from __future__ import annotations

import ast
import importlib.metadata
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("manifests", "media", "providers", "governor", "tasks", "flows", "deployments")
OURS = {*FOLDERS, "slate"}
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


MODULES_ALLOWED = {"governor": {"slate.providers.errors", "slate.providers.base"}}


def imported_names(path: Path) -> set[str]:
    """Full names of every module a file imports absolutely (`from slate import flows` is slate.flows)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            if node.module == "slate":
                found |= {f"slate.{a.name}" for a in node.names if a.name in FOLDERS}
    return found


def layer_name(module: str) -> str | None:
    """slate.flows.scene is flows.scene (its folder's layer); slate.cli is slate; None: not ours."""
    parts = module.split(".")
    if parts[0] != "slate":
        return None
    if len(parts) > 1 and parts[1] in FOLDERS:
        return ".".join(parts[1:])
    return "slate"


#: The one module every folder may import: the root of slate's errors, which imports nothing.
EVERYONE = {"slate.errors"}


def imports_of(path: Path) -> set[str]:
    """The modules of ours that a file imports, named by layer (flows.scene, governor.ledger, slate)."""
    return {layer_name(m) for m in imported_names(path) - EVERYONE} - {None}


def test_no_folder_imports_upward():
    wrong = []
    for package, allowed in ALLOWED.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            for target in imports_of(path):
                top = target.split(".")[0]
                if top in allowed | {package} or target in {layer_name(m) for m in MODULES_ALLOWED.get(package, ())}:
                    continue
                wrong.append(f"{path.relative_to(ROOT)} imports {target}")
    assert not wrong, wrong


# -- slate's own namespace -----------------------------------------------------------------------
OLD_NAME = re.compile(rf"^({'|'.join(FOLDERS)})(\.\w+)*(:\w+)?$")
OLD_CODE = re.compile(rf"(^|\n)\s*(from ({'|'.join(FOLDERS)})[.\w]* import |import ({'|'.join(FOLDERS)})\b)")


def _python_files():
    for top in (*sorted(OURS), "tests", "benchmarks"):
        yield from sorted(p for p in (ROOT / top).rglob("*.py") if "__pycache__" not in p.parts)


def _names_a_module(name: str) -> bool:
    """`flows.shot` or `tasks.context.studio` names a module of a folder (`media.mp4` names a file)."""
    parts = name.split(":")[0].split(".")
    return len(parts) > 1 and ((ROOT / parts[0] / f"{parts[1]}.py").is_file()
                               or (ROOT / parts[0] / parts[1] / "__init__.py").is_file())


def old_names_in(path: Path) -> list[str]:
    """Each import of a folder by its old top-level name: an import statement, a module named in a
    string (a monkeypatch target, import_module, a -c program, an entrypoint)."""
    wrong = []
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
            if OLD_CODE.search(text) or (OLD_NAME.match(text) and _names_a_module(text)) \
                    or re.search(rf"\b({'|'.join(FOLDERS)})/\w+\.py:\w", text):
                wrong.append(f"{path.relative_to(ROOT)}:{node.lineno}: {text[:80]!r}")
            continue
        wrong += [f"{path.relative_to(ROOT)}:{node.lineno}: import {n}" for n in names if n.split(".")[0] in FOLDERS]
    return wrong


def test_nothing_imports_a_folder_by_its_old_top_level_name():
    wrong = [w for path in _python_files() for w in old_names_in(path)]
    assert not wrong, wrong


def test_the_old_name_check_sees_each_form(tmp_path):
    """The check above is not blind: each form of an old import is caught, the new ones are not.
    (The old names are put together at run time, so this file holds none for the check to find.)"""
    old = tmp_path / "old.py"
    old.write_text("import {f}.scene\nfrom {t}.context import studio\nimport {m}\nfrom {g} import ledger as g\n"
                   "t = '{t}.soundstage'\ncode = 'import sys\\nfrom {p}.registry import lineup'\n"
                   "e = '{f}/scene.py:scene_flow'\n".format(f="flows", t="tasks", m="media", g="governor", p="providers"))
    new = tmp_path / "new.py"
    new.write_text("import slate.flows.scene\nfrom slate.tasks.context import studio\nfrom slate import media\n"
                   "t = 'slate.tasks.soundstage'\nf = '{t}.json'\ne = 'slate.flows.scene:scene_flow'\n"
                   .format(t="tasks"))
    global ROOT
    root, ROOT = ROOT, tmp_path
    try:
        for module in ("flows/scene.py", "tasks/soundstage.py", "tasks/context.py"):
            (tmp_path / module).parent.mkdir(exist_ok=True)
            (tmp_path / module).touch()
        found, wrongly = old_names_in(old), old_names_in(new)
    finally:
        ROOT = root
    assert len(found) == 7 and not wrongly, (found, wrongly)


def _packages() -> dict[str, Path]:
    """Every package of the checkout by its installed name, and its folder."""
    found = {}
    for top, name in [("slate", "slate"), *((f, f"slate.{f}") for f in FOLDERS)]:
        for init in (ROOT / top).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / top)
            if "__pycache__" not in rel.parts:
                found[".".join([name, *rel.parts])] = init.parent
    return found


def test_a_built_wheel_has_one_top_level_package_slate_with_everything_in_it(tmp_path):
    """Built offline from a copy of the checkout (a build in place would leave build/ and
    *.egg-info behind): its only top-level package is slate, it carries slate's own sub-packages,
    every folder as slate.<folder> with its modules, and every package-data file."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for top in OURS:
        shutil.copytree(ROOT / top, src / top, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path / "wheel"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                            "--quiet", "-w", str(out), str(src)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = out.glob("slate-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())

    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"slate"}, tops
    assert {"slate/agent/server.py", "slate/commands/run.py", "slate/flows/scene.py",
            "slate/governor/ledger/book.py", "slate/deployments/prefect.yaml"} <= names
    missing = []
    packages = _packages()
    for name, folder in packages.items():
        where = name.replace(".", "/")
        for f in folder.rglob("*"):
            inner = [p for p in f.parents if folder in p.parents]    # folders between this package and f
            if not f.is_file() or f.suffix == ".pyc" or "__pycache__" in f.parts \
                    or any(p in packages.values() for p in inner):    # a sub-package's file: checked as its own
                continue
            if f"{where}/{f.relative_to(folder).as_posix()}" not in names:
                missing.append(f"{where}/{f.relative_to(folder).as_posix()}")
    assert not missing, missing


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_distribution_product_code_imports_is_declared():
    """What product code imports is declared (a dependency or an extra), not borrowed from another
    distribution's requirements."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {_normal(re.split(r"[\s<>=!~\[;]", r, maxsplit=1)[0])
                for r in [*project["dependencies"], *(r for extra in project["optional-dependencies"].values()
                                                      for r in extra)]}
    owners = importlib.metadata.packages_distributions()
    tops = {name.split(".")[0] for top in OURS for path in (ROOT / top).rglob("*.py")
            if "__pycache__" not in path.parts for name in imported_names(path)}
    third = sorted(t for t in tops - OURS if t not in sys.stdlib_module_names and t != "__future__")
    undeclared = [f"{t} ({', '.join(owners.get(t, ['not installed']))})" for t in third
                  if not {_normal(d) for d in owners.get(t, [])} & declared]
    assert not undeclared, undeclared
