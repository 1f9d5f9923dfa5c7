"""`slate bible …`: the bible workshop's commands — make a turnaround or plate version, fix one
view or make one edit, make a version of a voice (tasks/workshop/audition.py), list versions, approve one
as canonical.

Each is a thin call into tasks/workshop/bible.py (and tasks/workshop/audition.py for voices); what a version costs is the governor's, what a
promotion would re-make is `slate estimate`'s figures.

It must never print a key, and never promote without printing first what the old reference made.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, Optional

import typer

from slate.commands.shared import Directory, console, err, load_or_exit, say, say_error, settings_or_exit

if TYPE_CHECKING:
    from slate.tasks.workshop.bible import VersionRecord

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="The bible workshop: make, fix, list and approve turnarounds, plates and voices.")


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
    """One version made (tasks/workshop/bible.py make_version) and said; its record."""
    from slate.governor.chokepoint import RunHalted
    from slate.providers.errors import ProviderError
    from slate.tasks.workshop.bible import BibleError, asset_of, make_version
    film = load_or_exit(directory)
    settings = settings_or_exit(directory)
    from slate.providers.prompts import recipe_step_warning
    line = recipe_step_warning(f"{kind} '{name}': --edit", instruction) if instruction else None
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
    from slate.tasks.workshop.bible import BibleError, asset_of
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


def _say_voice(rec: dict[str, Any]) -> None:
    from slate.governor.money import fmt_usd
    gate = rec["gate"]
    verdict = "passed" if gate["passed"] else "FAILED: " + "; ".join(gate["failing"])
    parent = f" from v{rec['parent']}" if rec.get("parent") else ""
    settings = ", ".join(f"{k}={v}" for k, v in sorted(rec["settings"].items()))
    say(f"{rec['asset']} v{rec['version']}{parent}: {rec['provider']}:{rec['model']} voice {rec['voice']!r}"
        f"{f' ({settings})' if settings else ''}, {rec['speech_seconds']:.1f} s of speech, {fmt_usd(rec['cost_usd'])}"
        f"{' (reused: nothing paid)' if rec.get('reused') else ''}; sample check {verdict}; {rec['key']}")


@app.command()
def voice(directory: Directory,
          character: str = typer.Argument(...,
                                        help="a character of the bible with a voice, or narrator for the bible's "
                                             "narrator"),
          model: Optional[str] = typer.Option(None, "--model", help="speech model, model or provider:model (default: "
                                                                     "the voice's model, or its provider's default "
                                                                     "speech model for the profile)"),
          parent: Optional[int] = typer.Option(None, "--from", help="start from this version's provider, model, "
                                                                     "voice and settings instead of bible.yaml's"),
          voice_name: Optional[str] = typer.Option(None, "--voice", help="another voice name or id of the provider, "
                                                                          "to audition it"),
          overrides: list[str] = typer.Option([], "--set", metavar="KEY=VALUE",
                                              help="a voice setting over the voice's (repeatable), e.g. --set "
                                                   "pitch=60")):
    """Make a version of a voice: the sample line spoken by the character's voice (one paid call).

    The sample line is the same for every voice (docs: Voices and dialogue). The version is kept
    with its parent, sample text, model, voice, settings, cost and its sample check; approve it
    with `slate bible approve DIR CHARACTER --voice --version N`.
    """
    from slate.governor.chokepoint import RunHalted
    from slate.providers.errors import ProviderError
    from slate.tasks.workshop.audition import make_voice_version
    from slate.tasks.workshop.bible import BibleError
    film = load_or_exit(directory)
    settings = settings_or_exit(directory)
    try:
        rec = make_voice_version(directory, film, settings, character, model=model, parent=parent,
                                 voice_name=voice_name, overrides=tuple(overrides))
    except (BibleError, ValueError) as exc:
        _fail(exc)
    except (RunHalted, ProviderError) as exc:
        _fail(f"voice '{character}': {exc}", 1)
    _say_voice(dict(rec))


@app.command("versions")
def list_versions(directory: Directory, asset: Optional[str] = typer.Argument(None, help="a character or location id"),
                  of_voice: bool = typer.Option(False, "--voice", help="the versions of that character's voice (or "
                                                                       "narrator's)")):
    """Every version of one asset (or of the whole bible, voices too): parent, model, cost, gate, canonical."""
    from slate.tasks.workshop.audition import voice_asset
    from slate.tasks.workshop.bible import BibleError, asset_of, key_sha256, versions
    from slate.providers.registry import storage_for
    film = load_or_exit(directory)
    storage = storage_for(directory)
    try:
        if of_voice and asset is None:
            _fail("--voice: say whose voice (a character, or narrator)")
        assets = [voice_asset(film, asset)[0] if of_voice else asset_of(film, asset)] if asset else \
            [asset_of(film, f"character:{c.id}") for c in film.bible.characters] + \
            [asset_of(film, f"location:{loc.id}") for loc in film.bible.locations] + \
            [voice_asset(film, who)[0] for who, v in film.bible.voices().items() if v is not None]
    except BibleError as exc:
        _fail(exc)
    for a in assets:
        canonical = key_sha256(storage, a.canonical)
        have = versions(storage, a)
        if not have and asset is None:
            continue
        say(f"{a.kind} {a.ident}: canonical {a.canonical} ({canonical[:12] if canonical else 'none'})")
        if a.kind == "voice":
            _list_voice(have, canonical)
            continue
        for v in have:
            gate = "passed" if v["gate"]["passed"] else "failed"
            scores = ", ".join(f"{s['name']} {s['value']:.2f}" for s in v["gate"]["scores"] if s.get("value") is not None)
            mark = "  * canonical" if v["sha256"] == canonical else ""
            say(f"  v{v['version']}  parent {v['parent'] or '-'}  {v['provider']}:{v['model']}  ${v['cost_usd']}  "
                f"gate {gate} ({scores}){mark}")


def _list_voice(have: list[Any], canonical: str | None) -> None:
    from slate.governor.money import fmt_usd
    for v in have:
        gate = "passed" if v["gate"]["passed"] else "failed"
        mark = "  * canonical" if v["sha256"] == canonical else ""
        say(f"  v{v['version']}  parent {v['parent'] or '-'}  {v['provider']}:{v['model']} voice {v['voice']!r} "
            f"{v['settings'] or ''}  {fmt_usd(v['cost_usd'])}  sample check {gate} "
            f"({v['speech_seconds']:.1f} s of speech){mark}")


@app.command()
def approve(directory: Directory,
            asset: str = typer.Argument(..., help="a character or location id (with --voice: a character, or "
                                                  "narrator)"),
            version: int = typer.Option(..., "--version", help="the version to promote"),
            by: Optional[str] = typer.Option(None, "--by", help="who decides (default: this machine's user)"),
            expect: Optional[str] = typer.Option(None, "--expect", help="the canonical's sha256 you saw (refused if "
                                                                         "it changed since)"),
            of_voice: bool = typer.Option(False, "--voice", help="approve a version of the character's voice (or "
                                                                 "narrator's): its sample becomes the approved one")):
    """Promote a version to the canonical _APPROVED reference (the old one kept as history).

    With --voice, a version of a voice (`slate bible voice`) becomes the speaker's approved sample,
    characters/<id>/<id>_voice_APPROVED.wav (narrator/narrator_voice_APPROVED.wav), or the key
    their voice's `sample` names: only a version spoken by the voice bible.yaml says now.
    """
    from slate.governor.ledger import Ledger
    from slate.providers.registry import storage_for
    from slate.tasks.workshop.bible import BibleError, asset_of, expected_sha256, impact, promote, version as get_version
    try:
        expect = expected_sha256(expect)   # a value that is no hash is refused before anything is read
    except BibleError as exc:
        _fail(exc)
    film = load_or_exit(directory)
    settings = settings_or_exit(directory)
    storage = storage_for(directory)
    if of_voice:
        _approve_voice(directory, film, settings, storage, asset, version, by, expect)
        return
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
    _say_promoted(done)


def _say_promoted(done: Any) -> None:
    console.print(f"promoted {done['asset']} v{done['version']} to {done['canonical']} "
                  f"(the old one kept at {done['history'] or '-'}); approved by {done['by']} at {done['at']}",
                  markup=False, highlight=False)


def _approve_voice(directory: Path, film: Any, settings: Any, storage: Any, speaker: str, n: int, by: str | None,
                   expect: str | None) -> None:
    """`approve --voice`: the lines the voice speaks are said first, then the version promoted."""
    import getpass
    from slate.governor.ledger import Ledger
    from slate.tasks.workshop.audition import approve_voice, lines_of, voice_asset
    from slate.tasks.workshop.bible import BibleError, version as get_version
    try:
        a, _ = voice_asset(film, speaker)
        get_version(storage, a, n)
    except BibleError as exc:
        _fail(exc)
    lines = lines_of(film, speaker)
    said = sum(len(v) for v in lines.values())
    say(f"{a.name}: lines it speaks: {said} in {', '.join(lines) or 'no shot yet'} (each is spoken again on the "
        "next run: a line's key holds its voice's approved sample)")
    try:
        done = approve_voice(directory, film, settings, speaker, n, by=by or getpass.getuser(), storage=storage,
                             ledger=Ledger.for_project(directory), expect_sha256=expect)
    except BibleError as exc:
        _fail(exc, 1)
    _say_promoted(done)
