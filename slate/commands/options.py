"""The command line's run options, derived from their one declaration (manifests/options.py).

`run_options("profile", "provider", …)` adds a typer Option per named field of `RunOptions` to a
command: typer reads a function's `__signature__`, so the flag, its help and its bounds come from
the field and its `Told`, not from the command. The command is handed `options`, a `RunOptions`
holding what was typed (a flag not typed is not told: slate.toml and SLATE_* keep their say).
Money is typed as text and parsed by the model as `Decimal`, never a float; a value the model
refuses is said as one line naming the flag, before the command runs.

It must never give an option a default of its own.
"""
from __future__ import annotations

import functools
import inspect
import typing
from typing import Any, Callable, Optional

import typer
from pydantic import ValidationError

from slate.manifests.options import RunOptions, bounds, told_of

__all__ = ["run_options"]


def _kind(name: str) -> Any:
    """The command line's type of an option: its own, with money and choices as text."""
    annotation = RunOptions.model_fields[name].annotation
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    base = args[0] if typing.get_origin(annotation) in (typing.Union, getattr(__import__("types"), "UnionType", None)) \
        and len(args) == 1 else annotation
    if typing.get_origin(base) in (list, dict):   # a dict is typed KEY=VALUE, once a key
        return list[str]
    if base in (int, float, bool):
        return base
    return str   # Decimal, Literal choices, model names: the model parses and checks them


def _typer_option(name: str, help: str | None = None) -> inspect.Parameter:
    told, field = told_of(name), RunOptions.model_fields[name]
    if told.flag is None:
        raise ValueError(f"{name} is not told on the command line (it has no flag)")
    kind = _kind(name)
    if told.joined and kind is str:
        kind = list[str]
    extra = {}
    if kind is int:
        low, high = bounds(name)
        extra = {k: v for k, v in (("min", low), ("max", high)) if v is not None}
    said = help or field.description or ""
    said += f" (default: {told.unset})" if told.unset and not help else ""
    # A switch is said both ways (--model-audio / --no-model-audio): a slate.toml that turns it on
    # can be turned off for one run; typing neither leaves the setting its say.
    flag = f"{told.flag}/--no-{told.flag[2:]}" if kind is bool else told.flag
    default = typer.Option(None, flag, help=said, **extra)
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=Optional[kind])


def told(given: dict[str, Any], directory: Any = None) -> RunOptions:
    """The options typed, as one RunOptions. Every value it refuses is one problem line naming
    the flag, as the preflight names a setting (`command line: --profile: ...`), then exit 1."""
    for name, value in list(given.items()):
        if told_of(name).joined and isinstance(value, list):
            # Typed once per value, held as one comma list.
            given[name] = ",".join(v.strip() for v in value if v.strip()) or None
    try:
        return RunOptions(**given)
    except ValidationError as exc:
        from slate.commands.shared import problems_or_exit, shown
        from slate.manifests import Problem
        problems = []
        for e in exc.errors():
            name = str(e["loc"][0]) if e["loc"] else "options"
            flag = told_of(name).flag if name in RunOptions.model_fields else name
            typed = e.get("input")   # what was typed, beside what is wrong with it
            problems.append(Problem("command line", None, flag or name,
                                    str(e["msg"]).removeprefix("Value error, ")
                                    + (f" (got {shown(typed)})" if isinstance(typed, str) else "")))
        problems_or_exit(problems, directory if directory is not None else "the command line")
        raise   # problems_or_exit exits; never reached


def run_options(*names: str, exclude: tuple[str, ...] = (), help: dict[str, str] | None = None) -> Callable:
    """Add the options `names` (fields of RunOptions with a flag; none named: every one but those
    the command `exclude`s by name, as making no sense for it) to a command, which receives what was
    typed as `options: RunOptions`. `help` replaces an option's description where a command means it
    differently (`slate estimate --cap`: the cap it checks against)."""
    for name in (*names, *exclude):
        if name not in RunOptions.model_fields or told_of(name).flag is None:
            raise ValueError(f"run option {name!r} has no flag")
    names = names or tuple(n for n in RunOptions.model_fields if told_of(n).flag and n not in exclude)

    def wrap(command: Callable) -> Callable:
        own = inspect.signature(command, eval_str=True)
        kept = [p for p in own.parameters.values() if p.name != "options"]
        added = [_typer_option(n, (help or {}).get(n)) for n in names]

        @functools.wraps(command)
        def with_options(*args: Any, **kwargs: Any) -> Any:
            given = {n: kwargs.pop(n) for n in names if n in kwargs}
            return command(*args, options=told(given, kwargs.get("directory")), **kwargs)

        del with_options.__wrapped__   # typer must read this signature, not the command's
        with_options.__signature__ = own.replace(parameters=kept + added)  # type: ignore[attr-defined]
        with_options.__annotations__ = {p.name: p.annotation for p in kept + added}
        return with_options
    return wrap


def argv_of(options: RunOptions) -> list[str]:
    """The flags that tell a `slate` command what `options` were told (the session of `slate mcp`
    starts its runs so): every told option with a flag, each value joined to its flag
    (`--scene=scene-01`), so that no value, whatever it holds, is read as an option."""
    args: list[str] = []
    for name, value in options.told().items():
        told = told_of(name)
        if told.flag is None:
            continue
        if isinstance(value, bool):
            args.append(told.flag if value else f"--no-{told.flag[2:]}")
        elif isinstance(value, dict):
            args += [f"{told.flag}={key}={item}" for key, item in value.items()]
        elif isinstance(value, list):
            args += [f"{told.flag}={item}" for item in value]
        elif told.joined and isinstance(value, str):
            args += [f"{told.flag}={item.strip()}" for item in value.split(",")]
        else:
            args.append(f"{told.flag}={value}")
    return args
