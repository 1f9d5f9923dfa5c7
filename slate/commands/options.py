"""The command line's run options, built from their one declaration (manifests/options.py).

`run_options("profile", "provider", …)` adds a typer Option per declared run option to a
command: typer reads a function's `__signature__`, so the flag, its help and its bounds come
from the declaration and the settings' field, not from the command. The command is handed
`options`, a dict by option name of what was typed (None: not given, the project's setting
stands); money stays text here and is parsed where it is used (never a float).

It must never give an option a default of its own: a flag not typed is None, so slate.toml and
SLATE_* keep their say.
"""
from __future__ import annotations

import functools
import inspect
from typing import Callable, Optional

import typer

from slate.manifests.options import bounds, option

__all__ = ["run_options"]


def _typer_option(name: str, help: str | None = None) -> inspect.Parameter:
    declared = option(name)
    kind = list[declared.kind] if declared.many or declared.joined else declared.kind
    extra = {}
    if declared.kind is int and declared.setting:
        low, high = bounds(name)
        extra = {k: v for k, v in (("min", low), ("max", high)) if v is not None}
    # A switch is said both ways (--model-audio / --no-model-audio): a slate.toml that turns it on
    # can be turned off for one run; typing neither leaves the setting its say.
    flag = f"{declared.flag}/--no-{declared.flag[2:]}" if declared.kind is bool else declared.flag
    default = typer.Option(None, flag, help=help or declared.cli_help, **extra)
    return inspect.Parameter(declared.param, inspect.Parameter.KEYWORD_ONLY, default=default,
                             annotation=Optional[kind])


def run_options(*names: str, help: dict[str, str] | None = None) -> Callable:
    """Add the declared run options `names` to a command, which receives them as `options`
    (by option name). `help` replaces an option's declared help where a command means it
    differently (`slate estimate --cap`: the cap it checks against)."""
    def wrap(command: Callable) -> Callable:
        own = inspect.signature(command, eval_str=True)
        kept = [p for p in own.parameters.values() if p.name != "options"]
        added = [_typer_option(n, (help or {}).get(n)) for n in names]
        params = {option(n).param: n for n in names}

        @functools.wraps(command)
        def with_options(*args, **kwargs):
            given = {params[p]: kwargs.pop(p) for p in list(kwargs) if p in params}
            for name, value in given.items():
                if option(name).joined and isinstance(value, list):
                    # Typed once per value, held as one comma list: the setting is text.
                    given[name] = ",".join(v.strip() for v in value if v.strip()) or None
            return command(*args, options=given, **kwargs)

        del with_options.__wrapped__   # typer must read this signature, not the command's
        with_options.__signature__ = own.replace(parameters=kept + added)
        with_options.__annotations__ = {p.name: p.annotation for p in kept + added}
        return with_options
    return wrap
