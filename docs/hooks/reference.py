"""MkDocs hook: the pages of the site that are made from the code at build time, so they cannot drift.

    reference/cli.md       every command and group of the typer app (`slate.cli:app`, walked as the
                           click commands `typer.main.get_command` makes of it): usage, help, and
                           each argument and option with its type, default, bounds and help
    reference/settings.md  the settings model (`slate.manifests.settings.Settings` and its nested
                           `StorageSettings` and `ProfileModels`): each field's type, default, bounds
                           from its constraints, description and `SLATE_*` variable; then the run
                           options (`slate.manifests.options.RunOptions`): setting, flag, run form, agent, cache key
    results.md             benchmarks/RESULTS.md, the dated measurements, published as written

and two splices, each where a page's marker stands, so each table has one source:

    gates.md     the shipped gate thresholds, read from governor/gates.toml
    providers.md the rate card's prices and how sure they are, read from governor/rates.toml

mkdocs.yml names this file under `hooks:` (and keeps it out of the site with `exclude_docs`);
`on_files` adds the pages to the build with `File.generated`, so no generated markdown is ever
committed, and `mkdocs build --strict` (tests/unit/test_docs.py) checks their links like any page's.

It reads the code, and must never do more: never import flows/, tasks/, deployments/ or Prefect
beyond what `import slate.cli` imports (today none of them: the commands import their heavy
modules when they run; the import takes about half a second), never call a command, start a
server or a run, never read a key, and never write into docs/ or the repository. Importing the CLI
sets two PREFECT_* defaults in this process's environment and masks keys in log records; nothing
else. `make docs` imports the code once: restart it to see a changed command or setting.
"""
from __future__ import annotations

import html
import inspect
import re
import typing
from decimal import Decimal
from pathlib import Path
from types import NoneType, UnionType
from typing import Any

from mkdocs.structure.files import File, Files

CLI_PAGE = "reference/cli.md"
SETTINGS_PAGE = "reference/settings.md"
RESULTS_PAGE = "results.md"
RESULTS_SOURCE = Path("benchmarks") / "RESULTS.md"

GENERATED = "<!-- Generated at build time by docs/hooks/reference.py from {source}: edit the code, not this page. -->\n"

THRESHOLDS_MARKER = re.compile(r"<!-- gate thresholds:[^>]*-->")
GATES_SOURCE = Path("governor") / "gates.toml"
PRICES_MARKER = re.compile(r"<!-- rate card:[^>]*-->")
RATES_SOURCE = Path("governor") / "rates.toml"


def on_files(files: Files, config) -> Files:
    root = Path(config.config_file_path).resolve().parent
    files.append(File.generated(config, CLI_PAGE, content=cli_page()))
    files.append(File.generated(config, SETTINGS_PAGE, content=settings_page()))
    files.append(File.generated(config, RESULTS_PAGE, content=(root / RESULTS_SOURCE).read_text(encoding="utf-8")))
    return files


def on_page_markdown(markdown: str, page, config, files) -> str:
    root = Path(config.config_file_path).resolve().parent
    if THRESHOLDS_MARKER.search(markdown):
        markdown = THRESHOLDS_MARKER.sub(lambda _: thresholds(root / GATES_SOURCE), markdown)
    if PRICES_MARKER.search(markdown):
        markdown = PRICES_MARKER.sub(lambda _: prices(root / RATES_SOURCE), markdown)
    return markdown


# ------------------------------------------------------------------------------------- splices

def thresholds(policy: Path) -> str:
    """The gate policy as tables: per stage, each score's threshold for the local and the vision
    judge (`warn` where it only reports), then each profile's own thresholds."""
    import tomllib

    data = tomllib.loads(policy.read_text(encoding="utf-8"))
    judges = ("local", "vision")
    out = []
    for stage, by_judge in data.items():
        if stage in ("profiles", "stages") or not isinstance(by_judge, dict):
            continue
        scores = list(dict.fromkeys(name for j in judges for name in by_judge.get(j, {})))
        out += [f"**{stage}**", "", "| score | local judge | vision judge |", "| --- | --- | --- |"]
        for name in scores:
            cells = []
            for j in judges:
                rule = by_judge.get(j, {}).get(name)
                cells.append("–" if rule is None else
                             f"{rule['threshold']}" + (" (warn)" if rule.get("role") == "warn" else ""))
            out.append(f"| `{name}` | {cells[0]} | {cells[1]} |")
        out.append("")
    rows = [f"| `{profile}` | {stage} | {judge} | `{name}` | {rule['threshold']} |"
            for profile, stages in data.get("profiles", {}).items()
            for stage, by_judge in stages.items() for judge, rules in by_judge.items()
            for name, rule in rules.items()]
    if rows:
        out += ["Per profile, over the above:", "", "| profile | stage | judge | score | threshold |",
                "| --- | --- | --- | --- | --- |", *rows, ""]
    return "\n".join(out)


def _money(scheme: dict) -> str:
    """One rate-card entry's price in words: per second (by resolution), per image, per token, per
    character of a spoken line."""
    def per_second(v):
        if isinstance(v, dict):
            return ", ".join(f"{res} ${usd}/s" for res, usd in v.items())
        return f"${v}/s"
    words = []
    if "per_second" in scheme:
        words.append(per_second(scheme["per_second"]))
    if "per_image" in scheme:
        words.append(f"${scheme['per_image']}/image")
    if "per_million_video_tokens" in scheme:
        words.append(f"${scheme['per_million_video_tokens']} per million video tokens (w·h·fps·s/1024)")
    if "base_price" in scheme:
        words.append(f"${scheme['base_price']} for the first {scheme.get('base_seconds', '?')} s, "
                     f"then ${scheme.get('per_extra_second', '?')}/s")
    if "per_million_characters" in scheme:
        words.append(f"${scheme['per_million_characters']} per million characters")
    if "per_million_input" in scheme:
        words.append(f"${scheme['per_million_input']}/M tokens in, ${scheme.get('per_million_output', '?')}/M out")
    if "audio_tokens_per_second" in scheme:
        words.append(f"{scheme['audio_tokens_per_second']} audio tokens a second, "
                     f"{scheme.get('characters_per_token', '?')} characters a token")
    if "with_audio" in scheme:
        words.append(f"with the model's sound: {_money(scheme['with_audio'])}")
    return "; ".join(words) or "–"


def prices(rates: Path) -> str:
    """The rate card as a table: each model's price and its confidence tag (D, S or ?)."""
    import tomllib

    models = tomllib.loads(rates.read_text(encoding="utf-8")).get("models", {})
    out = ["| model | kind | price | confidence |", "| --- | --- | --- | --- |"]
    for key, entry in models.items():
        out.append(f"| `{key}` | {entry.get('kind', '')} | {inline(_money(entry))} | "
                   f"{inline(entry.get('confidence', '?'))} |")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------- text helpers

def inline(text: str | None) -> str:
    """Help text as one line of markdown for a table cell: code spans (`...`) kept, everything
    else escaped, so `<profile>`, `SLATE_*` and `a | b` read as written."""
    if not text:
        return ""
    text = " ".join(line.strip() for line in text.replace("\b", "").split("\n") if line.strip())
    parts = re.split(r"(`[^`]+`)", text)
    out = []
    for part in parts:
        if part.startswith("`") and part.endswith("`") and len(part) > 1:
            out.append(part)
        else:
            part = html.escape(part, quote=False)
            out.append(re.sub(r"([\\*_\[\]|#])", r"\\\1", part))
    return "".join(out)


def paragraphs(text: str | None) -> str:
    """A command's help as markdown paragraphs (its docstring, blank lines kept)."""
    if not text:
        return ""
    text = inspect.cleandoc(text)
    return "\n\n".join(inline(p) for p in re.split(r"\n\s*\n", text) if p.strip())


def code(value: Any) -> str:
    return f"`{value}`"


# ----------------------------------------------------------------------------------------- CLI

def _type(param, ctx) -> str:
    """The parameter's type as `--help` shows it (typer's own display), else click's type name."""
    if getattr(param, "is_flag", False):
        return "switch" if getattr(param, "secondary_opts", None) else "flag"
    shown = getattr(param, "display_type", None)
    if callable(shown):
        return shown(ctx).strip("<>")
    return getattr(getattr(param, "type", None), "name", "") or ""


def _bounds(param) -> str:
    low = getattr(param, "min", None)
    high = getattr(param, "max", None)
    if low is None and high is None and hasattr(param, "type"):
        low, high = getattr(param.type, "min", None), getattr(param.type, "max", None)
    if low is None and high is None:
        return ""
    if low is not None and high is not None:
        return f"{low} ≤ x ≤ {high}"
    return f"≥ {low}" if low is not None else f"≤ {high}"


def _default(param) -> str:
    if param.required:
        return "required"
    value = param.default
    if callable(value):
        return "computed"
    if getattr(param, "is_flag", False) and value in (False, None):
        return "off" if not getattr(param, "secondary_opts", None) else "unset"
    if value is None or value == () or value == []:
        return "–"
    return code(value)


def _name(param) -> str:
    if param.param_type_name == "argument":
        return code((param.metavar or param.name).upper())
    names = ", ".join(code(o) for o in param.opts)
    if getattr(param, "secondary_opts", None):
        names += " / " + ", ".join(code(o) for o in param.secondary_opts)
    return names


def _params_table(command, ctx) -> list[str]:
    rows = [p for p in command.params if not getattr(p, "hidden", False)]
    out = ["| argument or option | type | default | bounds | what it does |", "| --- | --- | --- | --- | --- |"]
    for p in rows:
        cells = [_name(p), inline(_type(p, ctx)), _default(p), _bounds(p), inline(getattr(p, "help", None))]
        out.append("| " + " | ".join(cells) + " |")
    out.append("| `--help` | flag | off |  | show the command's help and exit |")
    return out


def _usage(command, ctx) -> str:
    usage = command.get_usage(ctx).strip()
    return usage.removeprefix("Usage:").strip()


def _subcommands(group, ctx) -> list[tuple[str, Any]]:
    return [(name, group.get_command(ctx, name)) for name in group.list_commands(ctx)]


def _command_section(path: list[str], command, ctx, level: int) -> list[str]:
    title = " ".join(path)
    out = [f"{'#' * level} {title}", "", "```", _usage(command, ctx), "```", "", paragraphs(command.help), ""]
    out += _params_table(command, ctx)
    out.append("")
    children = _subcommands(command, ctx) if hasattr(command, "list_commands") else []
    if children:
        out += _command_list(path, children)
        for name, child in children:
            child_ctx = child.context_class(child, info_name=name, parent=ctx)
            out += _command_section(path + [name], child, child_ctx, level + 1)
    return out


def _anchor(path: list[str]) -> str:
    return "-".join(path).lower()


def _command_list(path: list[str], children) -> list[str]:
    out = ["| command | what it does |", "| --- | --- |"]
    for name, child in children:
        first = (child.short_help or inspect.cleandoc(child.help or "").split("\n\n")[0])
        out.append(f"| [`{' '.join(path + [name])}`](#{_anchor(path + [name])}) | {inline(first)} |")
    return out + [""]


def cli_page() -> str:
    import typer

    from slate.cli import app

    group = typer.main.get_command(app)
    ctx = group.context_class(group, info_name="slate")
    out = [GENERATED.format(source="the typer app slate.cli:app"),
           "# Command line reference", "",
           "Every command of `slate`, read from the command-line app itself each time this site is built. "
           "`slate COMMAND --help` prints the same.", "",
           "```", _usage(group, ctx), "```", "", paragraphs(group.help), ""]
    children = _subcommands(group, ctx)
    out += _command_list(["slate"], children)
    for name, child in children:
        child_ctx = child.context_class(child, info_name=name, parent=ctx)
        out += _command_section(["slate", name], child, child_ctx, 2)
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------------------ settings

def type_name(annotation: Any) -> str:
    """A field's type in plain words: `"draft"`, `"final"` or `"hero"`; integer; list of text; …"""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return type_name(args[0])
    if origin is typing.Literal:
        return " or ".join(f'`"{a}"`' if isinstance(a, str) else code(a) for a in args)
    if origin in (typing.Union, UnionType):
        rest = [a for a in args if a is not NoneType]
        words = " or ".join(type_name(a) for a in rest)
        return f"{words}, or unset" if len(rest) < len(args) else words
    if origin in (list, tuple):
        return f"list of {type_name(args[0])}" if args else "list"
    if origin is dict:
        return f"table: {type_name(args[0])} → {type_name(args[1])}" if args else "table"
    if isinstance(annotation, type):
        plain = {str: "text", int: "integer", float: "number", bool: "true or false", Decimal: "decimal"}
        if annotation in plain:
            return plain[annotation]
        return f"`{annotation.__name__}` table"
    return inline(str(annotation))


def _field_bounds(field) -> str:
    """The field's constraints in words: ≥ 1, ≤ 60."""
    from annotated_types import Ge, Gt, Le, Lt, MaxLen, MinLen

    words = ((Ge, "ge", "≥ {}"), (Gt, "gt", "> {}"), (Le, "le", "≤ {}"), (Lt, "lt", "< {}"),
             (MinLen, "min_length", "at least {} long"), (MaxLen, "max_length", "at most {} long"))
    return ", ".join(say.format(getattr(m, attr)) for m in field.metadata
                     for kind, attr, say in words if isinstance(m, kind))


def _field_default(field) -> str:
    from pydantic import BaseModel
    from pydantic_core import PydanticUndefined

    if field.default is PydanticUndefined and field.default_factory is None:
        return "required"
    value = field.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return "its table's defaults"
    if value is None:
        return "unset"
    if value in ({}, []):
        return "empty"
    if isinstance(value, str):
        return code(f'"{value}"')
    return code(value)


def _is_table(annotation: Any) -> bool:
    """Whether a SLATE_* variable gives this field as JSON (pydantic-settings' rule for complex types)."""
    from pydantic import BaseModel

    inner = [a for a in typing.get_args(annotation) if a is not NoneType] or [annotation]
    return any(typing.get_origin(a) in (list, dict, tuple) or (isinstance(a, type) and issubclass(a, BaseModel))
               or a in (list, dict) for a in [annotation, *inner])


def _fields_table(model, *, key: str, env_prefix: str | None, anchor: str | None = None) -> list[str]:
    """One row per field; with `anchor`, each row carries the id `<anchor>-<field>` to link to."""
    head = f"| {key} | type | default | bounds | environment | description |" if env_prefix else \
           f"| {key} | type | default | bounds | description |"
    out = [head, "| --- " * (6 if env_prefix else 5) + "|"]
    for name, field in model.model_fields.items():
        key_cell = f'<a id="{anchor}-{name}"></a>{code(name)}' if anchor else code(name)
        cells = [key_cell, type_name(field.annotation), _field_default(field), _field_bounds(field)]
        if env_prefix:
            env = code(f"{env_prefix}{name.upper()}")
            if _is_table(field.annotation):
                env += " (JSON)"
            cells.append(env)
        cells.append(inline(field.description))
        out.append("| " + " | ".join(cells) + " |")
    return out + [""]


def _options_table() -> list[str]:
    from slate.manifests.options import RunOptions, told_of

    out = ["| option | title on the run form | slate.toml / SLATE_* | command-line flag | on the run form "
           "| an agent's run tool | changes what a stage makes |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for name, field in RunOptions.model_fields.items():
        t = told_of(name)
        out.append("| " + " | ".join([
            code(name), inline(field.title or name), "yes" if t.setting else "–", code(t.flag) if t.flag else "–",
            "yes" if t.form else "–", "yes" if t.mcp else "–",
            "yes" if t.output else "no (never in a cache key)"]) + " |")
    return out + [""]


def settings_page() -> str:
    from slate.manifests import settings as s

    env_prefix = s.Settings.model_config.get("env_prefix", "SLATE_")
    out = [GENERATED.format(source="slate.manifests.settings and slate.manifests.options"),
           "# Settings reference", "",
           f"A film project's settings, read from the settings model each time this site is built. A value "
           f"comes from, lowest first: the field's default, the project's `{s.SETTINGS_FILE}` (top-level keys, or "
           f"a `[{s.TABLE}]` table), a `{env_prefix}*` environment variable, then the command line or the run "
           f"form for the [run options](#run-options). `slate check` names every unknown key, wrong type and "
           f"value out of bounds, with where it came from.", "",
           f"## `{s.SETTINGS_FILE}`", "",
           *_fields_table(s.Settings, key="setting", env_prefix=env_prefix, anchor="setting"),
           "A field whose variable says *(JSON)* takes a JSON value in the environment, e.g. "
           f"`{env_prefix}STORAGE='{{\"backend\": \"s3\", \"bucket\": \"my-films\"}}'`; in "
           f"`{s.SETTINGS_FILE}` it is a TOML table or list.", "",
           "## `[storage]`", "", paragraphs(s.StorageSettings.__doc__), "",
           *_fields_table(s.StorageSettings, key="key", env_prefix=None),
           "## `[models.<profile>]`", "", paragraphs(s.ProfileModels.__doc__), "",
           *_fields_table(s.ProfileModels, key="key", env_prefix=None),
           "## Keys that are not fields", "",
           "| key | environment | read by |", "| --- | --- | --- |"]
    for key, who in s.OTHER_KEYS.items():
        out.append(f"| {code(key)} | {code(env_prefix + key.upper())} | {inline(who)} |")
    out.append(f"| `<provider>_base_url` | `{env_prefix}<PROVIDER>_BASE_URL` | an entry of `base_urls`; "
               f"the provider registry refuses a name that is no provider |")
    out += ["", "## Run options", "",
            "What one run may be told, declared once as the fields of `slate.manifests.options.RunOptions`: "
            "the settings above inherit them, and the command line's flags, the Prefect run form's fields, the "
            "MCP run tool's arguments and a scene's cache key are derived from them.", "",
            *_options_table()]
    return "\n".join(out) + "\n"
