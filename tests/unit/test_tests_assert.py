"""Every test can fail: each `test_*` function asserts, expects a raise, or calls a helper that asserts.

A test that only runs code guards nothing but "it did not crash". Read from the AST of every
tests/**/test_*.py: a test function passes this check if its body holds an `assert`, a
`pytest.raises(...)` or `pytest.fail(...)`, or a call to a helper function — defined in the same
module, or imported from a module under tests/ — that itself passes (helpers may call helpers).
Two look-alikes that cannot fail do not count: `assert` on a constant or on a tuple
(`assert (x, "why")` is always true), and a `pytest.raises(E)` that is neither a `with` item
nor given the function to call (on its own it checks nothing).

It must never import the test modules it reads: parsing is enough, and importing would run them.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]   # tests/: its helpers at the top, tests in unit/, integration/, …
PYTEST_CHECKS = {"raises", "fail"}


@dataclass
class Module:
    """What one tests/*.py file defines and imports, as far as calls resolve."""

    name: str
    functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = field(default_factory=dict)
    imported: dict[str, tuple[str, str]] = field(default_factory=dict)   # local name -> (module, function)
    modules: dict[str, str] = field(default_factory=dict)                # alias -> tests/ module
    pytest_names: set[str] = field(default_factory=set)                  # aliases of pytest itself
    pytest_checks: dict[str, str] = field(default_factory=dict)          # bare name -> "raises"/"fail"


def _tests_module(dotted: str | None) -> str | None:
    """`postgres_db` or `tests.postgres_db` -> "postgres_db", `tests.e2e.test_server` -> "e2e.test_server",
    when that file is under tests/."""
    if not dotted:
        return None
    name = dotted.removeprefix("tests.")
    return name if _path(name).is_file() else None


def _path(name: str) -> Path:
    """The file of a module named relative to tests/ ("e2e.test_server")."""
    return TESTS.joinpath(*name.split(".")).with_suffix(".py")


def _name(path: Path) -> str:
    """The module name of a file under tests/, relative to it; a file elsewhere by its stem."""
    try:
        return ".".join(path.resolve().relative_to(TESTS).with_suffix("").parts)
    except ValueError:
        return path.stem


def read_module(path: Path) -> Module:
    tree = ast.parse(path.read_text(), filename=str(path))
    mod = Module(_name(path))
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            mod.functions[node.name] = node
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    mod.functions[f"{node.name}.{item.name}"] = item
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "pytest":
                    mod.pytest_names.add(alias.asname or "pytest")
                elif source := _tests_module(alias.name):
                    mod.modules[alias.asname or alias.name] = source
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            if node.module == "pytest":
                mod.pytest_checks |= {a.asname or a.name: a.name for a in node.names if a.name in PYTEST_CHECKS}
            elif source := _tests_module(node.module):
                for alias in node.names:
                    mod.imported[alias.asname or alias.name] = (source, alias.name)
    return mod


def _pytest_check(call: ast.Call, mod: Module) -> str | None:
    """"raises" or "fail" when the call is pytest's, under any name it was imported as."""
    f = call.func
    if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id in mod.pytest_names:
        return f.attr if f.attr in PYTEST_CHECKS else None
    if isinstance(f, ast.Name) and f.id in mod.pytest_checks:
        return mod.pytest_checks[f.id]
    return None


def _assert_can_fail(node: ast.Assert) -> bool:
    test = node.test
    if isinstance(test, ast.Constant):
        return not test.value
    return not (isinstance(test, ast.Tuple) and test.elts)


def _with_items(fn: ast.AST) -> set[int]:
    return {id(item.context_expr) for node in ast.walk(fn) if isinstance(node, (ast.With, ast.AsyncWith))
            for item in node.items}


def _callee(call: ast.Call, mod: Module) -> tuple[str, str] | None:
    """The tests/ function a call names, as (module, function), if it names one."""
    f = call.func
    if isinstance(f, ast.Name):
        if f.id in mod.functions:
            return mod.name, f.id
        return mod.imported.get(f.id)
    if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id in mod.modules:
        return mod.modules[f.value.id], f.attr
    return None


class Checker:
    def __init__(self) -> None:
        self.modules: dict[str, Module] = {}

    def module(self, name: str) -> Module:
        if name not in self.modules:
            self.modules[name] = read_module(_path(name))
        return self.modules[name]

    def can_fail(self, module: str, function: str, visiting: frozenset = frozenset()) -> bool:
        key = (module, function)
        if key in visiting:
            return False  # a helper reached again through its own calls adds nothing new
        mod = self.module(module)
        fn = mod.functions.get(function)
        if fn is None:
            return False
        with_items = _with_items(fn)
        return any(self._checks(node, mod, with_items, visiting | {key}) for node in ast.walk(fn))

    def _checks(self, node: ast.AST, mod: Module, with_items: set[int], visiting: frozenset) -> bool:
        if isinstance(node, ast.Assert):
            return _assert_can_fail(node)
        if not isinstance(node, ast.Call):
            return False
        check = _pytest_check(node, mod)
        if check == "fail":
            return True
        if check == "raises":
            return id(node) in with_items or len(node.args) >= 2  # pytest.raises(E, func, *args)
        callee = _callee(node, mod)
        return callee is not None and self.can_fail(*callee, visiting)


def offenders(paths=None) -> list[str]:
    """`file::test (line N)` for every test function in `paths` (default every tests/**/test_*.py) that cannot fail."""
    checker = Checker()
    found = []
    for path in sorted(paths or TESTS.rglob("test_*.py")):
        mod = checker.module(_name(path)) if TESTS in path.resolve().parents else read_module(path)
        checker.modules[mod.name] = mod
        for name, fn in mod.functions.items():
            if name.split(".")[-1].startswith("test_") and not checker.can_fail(mod.name, name):
                found.append(f"{path.name}::{name} (line {fn.lineno})")
    return found


def test_every_test_function_can_fail():
    found = offenders()
    assert found == [], "test functions with no assert, no pytest.raises/fail and no asserting helper:\n" + "\n".join(found)


def test_the_checker_catches_a_test_that_cannot_fail(tmp_path):
    """The meta-test's own guard: each way of passing is recognised, and nothing else is."""
    sample = tmp_path / "test_sample.py"
    sample.write_text(
        "import pytest\n"
        "from pytest import raises as expect_raise\n"
        "from postgres_db import pg_database\n"
        "def check(x):\n    assert x\n"
        "def check_twice(x):\n    check(x)\n    check(x)\n"
        "def just_runs(x):\n    return x\n"
        "def test_asserts():\n    assert 1 + 1 == 2\n"
        "def test_raises():\n    with pytest.raises(ValueError):\n        int('x')\n"
        "def test_fails():\n    pytest.fail('no')\n"
        "def test_bare_raises():\n    with expect_raise(ValueError):\n        int('x')\n"
        "def test_helper():\n    check(1)\n"
        "def test_helper_of_helper():\n    check_twice(1)\n"
        "def test_only_runs():\n    just_runs(1)\n"
        "def test_only_a_fixture_helper():\n    with pg_database():\n        pass\n"
        "def test_nothing():\n    x = 1 + 1\n"
        "class TestGroup:\n    def test_method_without_assert(self):\n        print('hi')\n"
        "def test_raises_by_call():\n    pytest.raises(ValueError, int, 'x')\n"
        "def test_raises_not_used():\n    pytest.raises(ValueError)\n    int('1')\n"
        "def test_constant_assert():\n    assert True\n"
        "def test_tuple_assert():\n    assert (1 == 2, 'never fails')\n"
        "def ping(x):\n    pong(x)\n"
        "def pong(x):\n    ping(x)\n"
        "def test_helpers_calling_each_other():\n    ping(1)\n"
    )
    assert offenders([sample]) == [
        "test_sample.py::test_only_runs (line 25)",
        "test_sample.py::test_only_a_fixture_helper (line 27)",
        "test_sample.py::test_nothing (line 30)",
        "test_sample.py::TestGroup.test_method_without_assert (line 33)",
        "test_sample.py::test_raises_not_used (line 37)",
        "test_sample.py::test_constant_assert (line 40)",
        "test_sample.py::test_tuple_assert (line 42)",
        "test_sample.py::test_helpers_calling_each_other (line 48)",
    ]
