"""Every Prefect task and flow of tasks/ and flows/ says what it returns, and it is never a dict.

A stage's or a flow's result is a model (a pydantic model or a dataclass) named for what it is,
read by attribute: a dict read by string keys hides a misspelt key until a paid run reaches it,
and says nothing of what a caller may rely on. Read from the AST of every module under tasks/ and
flows/: a function decorated with `task` or `flow` (bare, called as `@task(...)`, or as
`prefect.task`) fails here, by module, function and line, when

  * it has no return annotation;
  * its return annotation is or contains `dict`, `Dict` or `Mapping` (or a mapping kin such as
    `MutableMapping`, `OrderedDict`, `defaultdict`), spelt out, quoted, or through an alias
    defined in the same module (`list[dict]`, `Result | dict[str, Any]`, `Finishing = dict[...]`);
  * one of its own `return`s (not a nested function's) gives a dict literal, a dict
    comprehension or a `dict(...)` call, alone or inside a tuple or list.

It must never import the modules it reads: parsing is enough.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("tasks", "flows")
DECORATORS = {"task", "flow"}
MAPPINGS = {"dict", "Dict", "Mapping", "MutableMapping", "OrderedDict", "DefaultDict", "defaultdict"}


def _decorator_names(tree: ast.Module) -> set[str]:
    """`task` and `flow`, and whatever names this module imported them from prefect under."""
    names = set(DECORATORS)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "prefect":
            names |= {a.asname for a in node.names if a.name in DECORATORS and a.asname}
    return names


def _is_prefect_decorator(decorator: ast.expr, names: set[str]) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    if isinstance(target, ast.Name):
        return target.id in names
    return isinstance(target, ast.Attribute) and target.attr in DECORATORS


def _aliases(tree: ast.Module) -> dict[str, ast.expr]:
    """Module-level names bound to a type expression (`Finishing = dict[str, Any]`, `X: TypeAlias = ...`),
    looked at only for the names an annotation uses."""
    found: dict[str, ast.expr] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            found[node.targets[0].id] = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            found[node.target.id] = node.value
    return found


def _mapping_in(annotation: ast.expr, aliases: dict[str, ast.expr], seen: frozenset[str] = frozenset()) -> str | None:
    """The mapping name an annotation is or contains, or None."""
    for node in ast.walk(annotation):
        if isinstance(node, ast.Name):
            if node.id in MAPPINGS:
                return node.id
            if node.id in aliases and node.id not in seen:
                inner = _mapping_in(aliases[node.id], aliases, seen | {node.id})
                if inner is not None:
                    return f"{node.id} = {inner}"
        elif isinstance(node, ast.Attribute) and node.attr in MAPPINGS:
            return node.attr
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):   # a quoted annotation
            try:
                quoted = ast.parse(node.value, mode="eval").body
            except SyntaxError:
                continue
            inner = _mapping_in(quoted, aliases, seen)
            if inner is not None:
                return inner
    return None


def _own_returns(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.Return]:
    """The function's own `return`s: not those of a function, lambda or class defined inside it."""
    found: list[ast.Return] = []
    todo: list[ast.AST] = list(fn.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        if isinstance(node, ast.Return):
            found.append(node)
        todo.extend(ast.iter_child_nodes(node))
    return sorted(found, key=lambda r: r.lineno)


def _gives_a_dict(value: ast.expr | None) -> bool:
    if isinstance(value, (ast.Dict, ast.DictComp)):
        return True
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "dict":
        return True
    return isinstance(value, (ast.Tuple, ast.List)) and any(_gives_a_dict(e) for e in value.elts)


def findings(root: Path = ROOT) -> list[str]:
    """`<module>, line <n>, <function>: why` for every task or flow of `root`'s tasks/ and flows/ that
    returns, or may return, a dict."""
    out: list[str] = []
    for folder in FOLDERS:
        for path in sorted((root / folder).rglob("*.py")):
            module = path.relative_to(root).as_posix()
            tree = ast.parse(path.read_text(), filename=str(path))
            names, aliases = _decorator_names(tree), _aliases(tree)
            for fn in ast.walk(tree):
                if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                if not any(_is_prefect_decorator(d, names) for d in fn.decorator_list):
                    continue
                where = f"{module}, line {fn.lineno}, {fn.name}"
                if fn.returns is None:
                    out.append(f"{where}: no return annotation")
                elif (mapping := _mapping_in(fn.returns, aliases)) is not None:
                    out.append(f"{where}: its return annotation is or holds a mapping ({mapping})")
                out += [f"{module}, line {r.lineno}, {fn.name}: returns a dict" for r in _own_returns(fn)
                        if _gives_a_dict(r.value)]
    return out


def test_no_task_or_flow_returns_a_dict():
    found = findings()
    assert not found, "tasks and flows that return a dict (make each a model named for what it is):\n" + \
        "\n".join(found)


def test_the_check_sees_every_kind_of_dict_result(tmp_path):
    """The check itself can fail: a made-up tree with one task or flow of each kind it must refuse,
    and the look-alikes it must let be."""
    for folder in FOLDERS:
        (tmp_path / folder).mkdir()
    (tmp_path / "tasks" / "stage.py").write_text('''\
from typing import Any, Dict, Mapping
import prefect
from prefect import flow, task
from prefect import task as stage_task

Finishing = dict[str, Any]


class Made:
    pass


@task
def bare_dict() -> dict:
    return Made()


@task(name="keyed")
def called_dict() -> dict[str, Any]:
    return Made()


@flow(name="film")
def in_a_union() -> Made | Mapping[str, str]:
    return Made()


@prefect.task
def listed() -> list[Dict[str, int]]:
    return []


@stage_task()
def quoted() -> "tuple[Made, dict[str, str]]":
    return Made(), None


@task
def aliased() -> Finishing:
    return Made()


@task
def unannotated():
    return Made()


@flow
def literal() -> Made:
    if Made:
        return {"uri": "cas://x"}
    return dict(uri="cas://x")


@task
def in_a_tuple() -> tuple[Made, Made]:
    return Made(), {k: 1 for k in "ab"}


@task
def typed() -> Made:
    def helper() -> dict[str, str]:
        return {"nested": "a helper's, not the task's"}
    return Made()


def plain() -> dict[str, str]:
    return {"not": "a task"}
''')
    (tmp_path / "flows" / "fine.py").write_text('''\
from prefect import flow


@flow
def whole() -> list[str]:
    return []
''')
    assert findings(tmp_path) == [
        "tasks/stage.py, line 14, bare_dict: its return annotation is or holds a mapping (dict)",
        "tasks/stage.py, line 19, called_dict: its return annotation is or holds a mapping (dict)",
        "tasks/stage.py, line 24, in_a_union: its return annotation is or holds a mapping (Mapping)",
        "tasks/stage.py, line 29, listed: its return annotation is or holds a mapping (Dict)",
        "tasks/stage.py, line 34, quoted: its return annotation is or holds a mapping (dict)",
        "tasks/stage.py, line 39, aliased: its return annotation is or holds a mapping (Finishing = dict)",
        "tasks/stage.py, line 44, unannotated: no return annotation",
        "tasks/stage.py, line 51, literal: returns a dict",
        "tasks/stage.py, line 52, literal: returns a dict",
        "tasks/stage.py, line 57, in_a_tuple: returns a dict",
    ]
