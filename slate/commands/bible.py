"""`slate bible …`: the bible workshop's commands — make a turnaround or plate version, fix one
view or make one edit, list versions, approve one as canonical.

Each is a thin call into tasks/bible.py; what a version costs is the governor's, what a
promotion would re-make is `slate estimate`'s figures.

It must never print a key, and never promote without printing first what the old reference made.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, Optional

import typer

from slate.commands.shared import Directory, console, err, load_or_exit, say, say_error, settings_or_exit

if TYPE_CHECKING:
    from slate.tasks.bible import VersionRecord

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="The bible workshop: make, fix, list and approve turnarounds and plates.")


def _fail(exc: Exception | str, code: int = 2) -> NoReturn:
    """Say what is wrong (`error: ...`) and exit: 2 for a mistake in how the command was called."""
    say_error(exc)
    raise typer.Exit(code)


def _say_version(rec: VersionRecord) -> None:
    gate = rec["gate"]
    verdict = "passed" if gate["passed"] else "FAILED: " + "; ".join(gate["failing"])
    parent = f" from v{rec['parent']}" if rec.get("parent") else ""
    what = f" (fix {rec['view']})" if rec.get("view") else f" (edit: {rec['instruction']})" if rec.get("instruction") else ""
    say(f"{rec['asset']} v{rec['version']}{parent}{what}: {rec['provider']}:{rec['model']}, "
        f"${rec['cost_usd']}{' (reused: nothing paid)' if rec.get('reused') else ''}; reference gate {verdict}; "
        f"{rec['key']}")


def _make(directory: Path, name: str, kind: str, model: str | None, view: str | None, parent: int | None,
          instruction: str | None) -> VersionRecord:
    """One version made (tasks/bible.py make_version) and said; its record."""
    from slate.governor.chokepoint import RunHalted
    from slate.providers.errors import ProviderError
    from slate.tasks.bible import BibleError, asset_of, make_version
    film = load_or_exit(directory)
    settings = settings_or_exit(directory)
    from slate.tasks.recipe import lint_line
    line = lint_line(f"{kind} '{name}': --edit", instruction) if instruction else None
    if line:
        err.print(f"warning: {line}", markup=False, highlight=False)
    try:
        asset = asset_of(film, f"{kind}:{name}")
        rec = make_version(directory, film, settings, asset, model=model, view=view, parent=parent,
                           instruction=instruction)
    except (BibleError, ValueError) as exc:
        _fail(exc)
    except (RunHalted, ProviderError) as exc:
        _fail(f"{kind} '{name}': {exc}", 1)
    _say_version(rec)
    return rec


@app.command()
def turnaround(directory: Directory, character: str,
               model: Optional[str] = typer.Option(None, "--model", help="panel model provider:model (default: the "
                                                                          "lineup's panel model)"),
               fix: Optional[str] = typer.Option(None, "--fix", help="redraw only this view: front, three_quarter, "
                                                                     "side or back"),
               parent: Optional[int] = typer.Option(None, "--from", help="the version to fix")):
    """Make a version of a character's turnaround sheet (or fix one view of a version)."""
    _make(directory, character, "character", model, fix, parent, None)


@app.command()
def plate(directory: Directory, location: str,
          model: Optional[str] = typer.Option(None, "--model", help="panel model provider:model"),
          edit: Optional[str] = typer.Option(None, "--edit", help="one change, e.g. \"remove the red stools\""),
          parent: Optional[int] = typer.Option(None, "--from", help="the version to edit"),
          recipe: bool = typer.Option(False, "--recipe", help="apply the location's recipe from bible.yaml, one "
                                                               "edit a version, each from the one before")):
    """Make a version of a location plate (or one edit of a version, or its recipe of edits)."""
    if not recipe:
        _make(directory, location, "location", model, None, parent, edit)
        return
    from slate.tasks.bible import BibleError, asset_of
    film = load_or_exit(directory)
    try:
        asset = asset_of(film, f"location:{location}")
    except BibleError as exc:
        _fail(exc)
    steps = next(loc.recipe for loc in film.bible.locations if loc.id == asset.ident)
    if not steps:
        _fail(f"{film.film.bible}: {asset.field.replace('.plate', '.recipe')}: {asset.name} has no recipe")
    if edit is not None or parent is None:
        _fail(f"{asset.name}: --recipe: give the version it starts from (--from N), and no --edit")
    for step in steps:
        parent = _make(directory, location, "location", model, None, parent, step)["version"]


@app.command("versions")
def list_versions(directory: Directory, asset: Optional[str] = typer.Argument(None, help="a character or location id")):
    """Every version of one asset (or of the whole bible): parent, model, cost, gate, canonical."""
    from slate.tasks.bible import BibleError, asset_of, key_sha256, versions
    from slate.providers.registry import storage_for
    film = load_or_exit(directory)
    storage = storage_for(directory)
    try:
        assets = [asset_of(film, asset)] if asset else \
            [asset_of(film, f"character:{c.id}") for c in film.bible.characters] + \
            [asset_of(film, f"location:{loc.id}") for loc in film.bible.locations]
    except BibleError as exc:
        _fail(exc)
    for a in assets:
        canonical = key_sha256(storage, a.canonical)
        have = versions(storage, a)
        if not have and asset is None:
            continue
        say(f"{a.kind} {a.ident}: canonical {a.canonical} ({canonical[:12] if canonical else 'none'})")
        for v in have:
            gate = "passed" if v["gate"]["passed"] else "failed"
            scores = ", ".join(f"{s['name']} {s['value']:.2f}" for s in v["gate"]["scores"] if s.get("value") is not None)
            mark = "  * canonical" if v["sha256"] == canonical else ""
            say(f"  v{v['version']}  parent {v['parent'] or '-'}  {v['provider']}:{v['model']}  ${v['cost_usd']}  "
                f"gate {gate} ({scores}){mark}")


@app.command()
def approve(directory: Directory, asset: str,
            version: int = typer.Option(..., "--version", help="the version to promote"),
            by: Optional[str] = typer.Option(None, "--by", help="who decides (default: this machine's user)"),
            expect: Optional[str] = typer.Option(None, "--expect", help="the canonical's sha256 you saw (refused if "
                                                                         "it changed since)")):
    """Promote a version to the canonical _APPROVED reference (the old one kept as history)."""
    from slate.governor.ledger import Ledger
    from slate.providers.registry import storage_for
    from slate.tasks.bible import BibleError, asset_of, expected_sha256, impact, promote, version as get_version
    try:
        expect = expected_sha256(expect)   # a value that is no hash is refused before anything is read
    except BibleError as exc:
        _fail(exc)
    film = load_or_exit(directory)
    settings = settings_or_exit(directory)
    storage = storage_for(directory)
    try:
        a = asset_of(film, asset)
        get_version(storage, a, version)
        hit = impact(directory, film, settings, a, storage)
    except BibleError as exc:
        _fail(exc)
    uses = [f"{scene}/{s}" for scene, ids in hit["shots"].items() for s in ids]
    say(f"{a.name}: shots that use it: {', '.join(uses) or 'none'}")
    made = ", ".join(f"{k} ({'+'.join(v)})" for k, v in sorted(hit["made_from_old"].items()))
    say(f"made from the current {a.canonical}: {made or 'nothing yet'} (spent ${hit['spent_on_old_usd']})")
    say(f"re-making those shots on the next run is estimated at ${hit['remake_estimate_usd']} "
        "(nothing is re-made until then)")
    import getpass
    try:
        done = promote(directory, film, a, version, by=by or getpass.getuser(), storage=storage,
                       ledger=Ledger.for_project(directory), expect_sha256=expect)
    except BibleError as exc:
        _fail(exc, 1)
    console.print(f"promoted {done['asset']} v{done['version']} to {done['canonical']} "
                  f"(the old one kept at {done['history'] or '-'}); approved by {done['by']} at {done['at']}",
                  markup=False, highlight=False)
