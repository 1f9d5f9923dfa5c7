"""The folder arrows of the design hold: nothing imports upward.

manifests and media import nothing of ours; providers import manifests and media (a change to
the design: the local provider renders with media's ffmpeg functions, and a second copy of
them in providers/ would drift); governor imports manifests; tasks import the four below;
flows import tasks and below; only deployments and slate import flows. One more arrow, by
module: the governor decides what a failed paid call means from the providers' error tree,
and holds what it is handed by the capability contracts, so governor/ may import
providers.errors and providers.base — and no other providers module (never a vendor's). And
media/ may import manifests.frame_rate (the frame rates' arithmetic, which imports nothing of
ours), so a cut is made and checked at exactly the rate the manifests accept.
The film project's
settings live in manifests/settings.py (slate/settings.py re-exports them), so no layer
needs to import slate/ to read them. Sub-packages (governor/ledger/) are walked too.

The folders sit at the top of the repository but are installed and imported as slate.<folder>
(pyproject's package-dir): an import of slate.flows is the flows layer here. Nothing may import
a folder by its old top-level name (a module imported as both flows.shot and slate.flows.shot is
two copies, with two sets of classes and registries); a built wheel's only top-level package is
slate; and every distribution product code imports is declared in pyproject.toml.

Two rules by module, over every product module's AST: the core knows no vendor (nothing outside
providers/ imports a module that implements a provider: VENDOR_MODULES below), and no module
takes another module's private names (`from m import _name`, `m._name`).
"""
from __future__ import annotations

import ast
import functools
import importlib.metadata
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# One worker parses the code once (`_walked`, 3-4 s), instead of each worker that draws one of
# these tests parsing it again.
pytestmark = pytest.mark.xdist_group("layering")
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


MODULES_ALLOWED = {"governor": {"slate.providers.errors", "slate.providers.base"},
                   # The rates' arithmetic (23.976 is 24000/1001), one module that imports nothing of
                   # ours: media makes and checks at the rate the manifests accept (issue 39).
                   "media": {"slate.manifests.frame_rate"}}


@functools.lru_cache(maxsize=None)
def _walked(path: Path, stamp: tuple[int, int]) -> tuple[ast.AST, ...]:
    return tuple(ast.walk(ast.parse(path.read_text())))


def _walk(path: Path) -> tuple[ast.AST, ...]:
    """Every node of a file's tree, parsed once a process for each version of the file (keyed by
    its change time and size): the checks here each walk all of slate, and parsing it again for
    each was most of their time."""
    st = path.stat()
    return _walked(path, (st.st_mtime_ns, st.st_size))


def imported_names(path: Path) -> set[str]:
    """Full names of every module a file imports absolutely (`from slate import flows` is slate.flows)."""
    found = set()
    for node in _walk(path):
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
    for node in _walk(path):
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


# -- the core knows no vendor --------------------------------------------------------------------
#: The modules of providers/ that implement a provider — a vendor's: each declares PROVIDER
#: (local, gemini, replicate, fal, openrouter, elevenlabs), or is one provider's own part (the local painter's
#: drawing, bible, blocking; the local judge, what it reads, its kept verdicts). Only providers/
#: may import them: the core reaches a provider through the capability Protocols
#: (providers/base.py) and the registry, never by its module.
VENDOR_MODULES = {"local", "local_bible", "local_blocking", "local_draw", "local_judge", "local_judge_inputs", "local_ledger_checks",
                  "local_verdicts", "local_speech", "local_music", "local_lipsync", "gemini", "replicate", "fal", "openrouter", "elevenlabs", "vlm",
                  "comfyui", "comfyui_api", "comfyui_workflow"}
#: ... and those every layer may import: the contracts, the registry, the error tree, storage,
#: keys, HTTP and downloads, the prompts and the rubric shared by every vendor.
SHARED_PROVIDER_MODULES = {"base", "spec", "registry", "errors", "http", "download", "keys", "prompts", "rubric",
                           "clip_references", "storage", "storage_errors", "storage_local", "storage_s3", "audio"}
VENDORS = {f"slate.providers.{m}" for m in VENDOR_MODULES}


def product_modules(root: Path | None = None) -> list[tuple[Path, str]]:
    """Every product module (the folders and slate's own files, not tests or benchmarks) and its
    installed name: providers/local.py is slate.providers.local, slate/cli.py is slate.cli."""
    root = root or ROOT
    found = []
    for top, name in [("slate", "slate"), *((f, f"slate.{f}") for f in FOLDERS)]:
        # rglob does not follow slate/<folder>, a symlink: each folder is walked once, by its own name
        for path in sorted((root / top).rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            parts = path.relative_to(root / top).with_suffix("").parts
            found.append((path, ".".join([name, *(parts[:-1] if parts[-1] == "__init__" else parts)])))
    return found


def _imports(path: Path, module: str):
    """(line, module imported from, names taken or None for `import m`) of every import in a file,
    relative ones resolved against `module` (an __init__.py's module is its package)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in _walk(path):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, None, alias
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            for alias in node.names:
                yield node.lineno, base, alias.name, alias


def vendor_imports_in(path: Path, module: str) -> list[str]:
    """Each import of a vendor's module (VENDOR_MODULES) by a module outside providers/: as a
    module, from it, or named in a string (import_module("slate.providers.local"))."""
    if module.startswith("slate.providers."):
        return []
    rel = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    seen: dict[tuple[int, str], None] = {}   # an import statement naming a vendor's module, once
    for line, base, name, _ in _imports(path, module):
        for target in (base, f"{base}.{name}") if name else (base,):
            vendor = next((v for v in VENDORS if target == v or target.startswith(v + ".")), None)
            if vendor:
                seen[line, vendor] = None
    wrong = [f"{rel}:{line}: imports {vendor} (a vendor's module: only providers/ may)" for line, vendor in seen]
    for node in _walk(path):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            name = re.split(r"[:\s]", node.value, maxsplit=1)[0]
            if any(name == v or name.startswith(v + ".") for v in VENDORS):
                wrong.append(f"{rel}:{node.lineno}: names {name} (a vendor's module: only providers/ may)")
    return wrong


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_imports_in(path: Path, module: str) -> list[str]:
    """Each private name (`_name`) a module takes from another: `from m import _name`, or
    `m._name` / `Thing._name` on a name it imported from a module of ours."""
    rel = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    wrong, ours = [], set()
    for line, base, name, alias in _imports(path, module):
        if name is not None and _private(name):
            wrong.append(f"{rel}:{line}: imports {name} from {base} (a private name of another module)")
        if base.split(".")[0] == "slate":
            ours.add(alias.asname or (name if name is not None else base.split(".")[0]))
    for node in _walk(path):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in ours:
                wrong.append(f"{rel}:{node.lineno}: reaches {ast.unparse(node)} (a private name of another module)")
    return wrong


def test_the_providers_modules_are_each_a_vendors_or_shared():
    """Every module of providers/ is decided: a vendor's or shared (a new one must be put in one
    list); every module that declares a PROVIDER is a vendor's."""
    names = {p.stem for p in (ROOT / "providers").glob("*.py")} - {"__init__"}
    assert not VENDOR_MODULES & SHARED_PROVIDER_MODULES
    assert names == VENDOR_MODULES | SHARED_PROVIDER_MODULES, (names - VENDOR_MODULES - SHARED_PROVIDER_MODULES,
                                                                VENDOR_MODULES | SHARED_PROVIDER_MODULES - names)
    declares = {n for n in names if re.search(r"^PROVIDER\s*(:[^=\n]*)?=", (ROOT / "providers" / f"{n}.py").read_text(),
                                              re.MULTILINE)}
    assert declares and declares <= VENDOR_MODULES, declares - VENDOR_MODULES


def test_no_module_outside_providers_imports_a_vendors_module():
    wrong = [w for path, module in product_modules() for w in vendor_imports_in(path, module)]
    assert not wrong, "\n".join(wrong)


def test_no_module_takes_another_modules_private_names():
    wrong = [w for path, module in product_modules() for w in private_imports_in(path, module)]
    assert not wrong, "\n".join(wrong)


def test_the_vendor_and_private_checks_see_each_form(tmp_path):
    """The two checks above are not blind: each form is caught, with its file and line, and the
    allowed forms are not."""
    (tmp_path / "tasks").mkdir()
    (tmp_path / "providers").mkdir()
    core = tmp_path / "tasks" / "core.py"
    core.write_text("from slate.providers.local import reference_board\n"       # 1
                    "import slate.providers.local_judge\n"                         # 2
                    "from slate.providers import gemini\n"                         # 3
                    "from ..providers.local_draw import dress\n"                   # 4
                    "m = 'slate.providers.fal'\n"                                  # 5
                    "from slate.providers.registry import board_painter\n"        # 6: shared, allowed
                    "from slate.providers import base, registry\n"                 # 7: allowed
                    "from slate.tasks.run.cache import _edge, ContentKey\n"        # 8: private
                    "from .gate import _verdict\n"                                 # 9: private
                    "from slate import stack as film_stack\n"                      # 10
                    "film_stack._start()\n"                                        # 11: reach-in
                    "import slate.stack\n"                                         # 12
                    "slate.stack._env()\n"                                         # 13: reach-in
                    "import os\n"
                    "os._exit(0)\n"                                                # not ours: allowed
                    "self._x = film_stack.stack_env\n")                            # own and public: allowed
    vendor = tmp_path / "providers" / "local.py"
    vendor.write_text("from slate.providers.local_draw import dress\n")           # inside providers: allowed
    found = vendor_imports_in(core, "slate.tasks.core") + vendor_imports_in(vendor, "slate.providers.local")
    private = private_imports_in(core, "slate.tasks.core")
    assert [f.split(": ", 1)[0].rsplit(":", 1)[1] for f in found] == ["1", "2", "3", "4", "5"], found
    assert "slate.providers.local_draw" in found[3] and "core.py:1: imports slate.providers.local " in found[0], found
    assert [f.split(": ", 1)[0].rsplit(":", 1)[1] for f in private] == ["8", "9", "11", "13"], private
    assert "_verdict from slate.tasks.gate" in private[1], private


def _is_flow(decorator: ast.expr) -> bool:
    """`@flow` or `@flow(...)`."""
    return getattr(decorator.func if isinstance(decorator, ast.Call) else decorator, "id", None) == "flow"


def loose_modules(root: Path = ROOT) -> list[str]:
    """Modules outside a room (docs/architecture.md, The rooms): any module at the top of tasks/,
    a module at the top of flows/ that defines no flow, and a room without a docstring saying
    what it holds."""
    loose = [f"tasks/{p.name}: a task module outside a room" for p in sorted((root / "tasks").glob("*.py"))
             if p.name != "__init__.py"]
    for path in sorted((root / "flows").glob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        flows = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                 and any(_is_flow(d) for d in n.decorator_list)]
        if path.name != "__init__.py" and not flows:
            loose.append(f"flows/{path.name}: defines no flow, so it belongs in a room")
    for top in ("tasks", "flows"):
        for room in sorted(p for p in (root / top).iterdir() if p.is_dir() and p.name != "__pycache__"):
            init = room / "__init__.py"
            if not init.is_file() or not ast.get_docstring(ast.parse(init.read_text())):
                loose.append(f"{top}/{room.name}/: a room whose __init__.py does not say what it holds")
    return loose


def test_every_task_and_flow_part_lives_in_a_room():
    loose = loose_modules()
    assert not loose, "\n".join(loose)


def test_the_room_check_sees_a_loose_module(tmp_path):
    """The check itself can fail: a stage left at the top of tasks/, a helper at the top of flows/
    and a room that says nothing are each named; a flow at the top and a room that says what it
    holds are not."""
    for folder in ("tasks", "flows", "tasks/shot", "flows/shot", "flows/edit"):
        (tmp_path / folder).mkdir()
    (tmp_path / "tasks" / "__init__.py").write_text('"""slate.tasks"""\n')
    (tmp_path / "tasks" / "grain.py").write_text("X = 1\n")
    (tmp_path / "tasks" / "shot" / "__init__.py").write_text('"""The shot and its stages."""\n')
    (tmp_path / "flows" / "scene.py").write_text("from prefect import flow\n\n@flow(name='scene')\ndef scene_flow():\n    pass\n")
    (tmp_path / "flows" / "film.py").write_text("from prefect import flow\n\n@flow\ndef film_flow():\n    pass\n")
    (tmp_path / "flows" / "helpers.py").write_text("def tidy():\n    pass\n")
    (tmp_path / "flows" / "shot" / "__init__.py").write_text('"""A shot\'s way."""\n')
    (tmp_path / "flows" / "edit" / "__init__.py").write_text("")
    assert loose_modules(tmp_path) == ["tasks/grain.py: a task module outside a room",
                                       "flows/helpers.py: defines no flow, so it belongs in a room",
                                       "flows/edit/: a room whose __init__.py does not say what it holds"]
