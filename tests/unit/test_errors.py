"""One error root: every exception class of product code derives from SlateError (slate/errors.py).

Every module under slate/ (the folders too, through their slate/<folder> links) is imported, and
every class deriving from BaseException whose module is one of them is found — nested and
private classes included, as long as importing the module defines them. A class that does not
derive from SlateError is named, with its module, and the test fails. The CLI relies on it: it
prints a SlateError as `error: <message>` and shows anything else as a bug.
"""
from __future__ import annotations

import importlib
import pkgutil
import sys
import types

import slate
from slate.errors import SlateError


def product_modules() -> list[str]:
    """Every module of slate, by its installed name (slate.flows.scene), imported."""
    names = sorted({m.name for m in pkgutil.walk_packages(slate.__path__, "slate.")})
    failed = []
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 — a module that does not import is one not checked: said
            failed.append(f"{name}: {type(exc).__name__}: {exc}")
    assert not failed, "product modules that do not import:\n" + "\n".join(failed)
    return ["slate", *names]


def exception_classes(modules: set[str]) -> list[type[BaseException]]:
    """Every class deriving from BaseException defined in one of `modules`."""
    found: list[type[BaseException]] = []
    seen: set[type[BaseException]] = set()
    todo: list[type[BaseException]] = [BaseException]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub not in seen:
                seen.add(sub)
                todo.append(sub)
                if sub.__module__ in modules:
                    found.append(sub)
    return found


def strays(modules: set[str]) -> list[str]:
    """The exception classes of `modules` that do not derive from SlateError, by full name."""
    return sorted(f"{c.__module__}.{c.__qualname__}" for c in exception_classes(modules)
                  if not issubclass(c, SlateError))


def test_every_exception_class_of_product_code_derives_from_slate_error():
    modules = set(product_modules())
    assert len(modules) > 100, sorted(modules)   # the walk went through the folders' links
    classes = exception_classes(modules)
    assert len(classes) > 50, classes            # and it found the trees, not a handful
    wrong = strays(modules)
    assert not wrong, "exception classes that do not derive from SlateError (slate/errors.py):\n" + "\n".join(wrong)


def test_the_check_sees_a_stray_class(monkeypatch):
    """The check is not blind: a module of slate defining an exception outside the root (a
    builtin's subclass, a nested one) is named; one inside it is not."""
    module = types.ModuleType("slate.stray_for_the_test")
    exec("from slate.errors import SlateError\n"
         "class Stray(ValueError):\n    pass\n"
         "class Holder:\n    class Nested(Exception):\n        pass\n"
         "class Kept(SlateError, KeyError):\n    pass\n", module.__dict__)
    monkeypatch.setitem(sys.modules, module.__name__, module)
    assert strays({module.__name__}) == ["slate.stray_for_the_test.Holder.Nested",
                                         "slate.stray_for_the_test.Stray"]


def test_slate_error_imports_nothing_of_slate():
    """Every layer may import the root (tests/unit/test_layering.py), so it imports none of them."""
    import ast
    from pathlib import Path
    tree = ast.parse(Path(slate.errors.__file__).read_text())
    imported = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert [m for m in imported if m.split(".")[0] == "slate"] == [], imported
