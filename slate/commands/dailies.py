"""`slate dailies`: the director's dailies in a terminal (issue 40) — every take of every shot with
its verdicts, and a person's word on one.

    slate dailies DIR [--scene S] [--profile P]              the list: shots with new takes first
    slate dailies DIR --circle 1C:2 --ng 1D --note "…" --hold 1E [--panel] [--add-to-prompt] [--by NAME]

The list is flows/review/rushes.py's `dailies_of` (the takes the runs kept, their cost and time from the
ledger, the word that stands, the agents' proposals), said a shot at a time. An answer is
tasks/review/circle.py's `say_word`: a $0 row of the ledger's approvals, with the key of the shot as the
rushes know it now, so the next run acts on it (flows/shot/shot.py) — or clears it, if the shot changed
before then. Every answer is checked before the first is written (slate/commands/dailies_answers.py);
a note that goes into a prompt is checked by the prompt lint first, as `slate check` checks the
shots' own prompts.

It must never spend, start a run, or write anything but the words it was given (and only once all
of them were checked); never write a proposal (only a person answers here: an agent proposes
through the MCP server); and never print a key.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from slate.commands.shared import Directory, err, load_or_exit, say, say_error, settings_or_exit, shown

if TYPE_CHECKING:
    from slate.commands.dailies_answers import DailiesAnswer
    from slate.flows.review.rushes import DailyShot, DailyTake, PassTake
    from slate.manifests import LoadedFilm
    from slate.manifests.settings import Settings
    from slate.providers.base import Storage
    from slate.providers.prompts import LintFinding
    from slate.tasks.review.circle import TakeWord

__all__ = ["dailies"]


def dailies(directory: Directory,
            scene: Optional[str] = typer.Option(None, "--scene", help="only this scene (an answer's shot is looked "
                                                                      "for in every scene without it)"),
            profile: Optional[str] = typer.Option(None, "--profile", help="the takes of this profile (default: the "
                                                                          "film's, from slate.toml)"),
            circle: Optional[list[str]] = typer.Option(None, "--circle", help="SHOT:TAKE goes in the cut, e.g. 1C:2 "
                                                                              "(repeatable)"),
            ng: Optional[list[str]] = typer.Option(None, "--ng", help="SHOT or SHOT:TAKE is no good: the next run "
                                                                      "makes another take (default: the take the cut "
                                                                      "uses; repeatable, each with its --note)"),
            note: Optional[list[str]] = typer.Option(None, "--note", help="why an --ng is no good: what the next take "
                                                                          "must do otherwise (one per --ng, in order)"),
            hold: Optional[list[str]] = typer.Option(None, "--hold", help="SHOT or SHOT:TAKE: decide later "
                                                                          "(repeatable)"),
            add_to_prompt: bool = typer.Option(False, "--add-to-prompt", help="put each --ng's note into the next "
                                                                              "take's prompt (checked by the prompt "
                                                                              "lint first)"),
            panel: bool = typer.Option(False, "--panel", help="the answers are about the shots' start panels, not "
                                                              "their clips (an NG'd panel re-takes the panel and its "
                                                              "clip)"),
            by: Optional[str] = typer.Option(None, "--by", help="who answers (default: this machine's user)")):
    """The dailies: each shot's takes (panels and clips) with their gate's verdict and scores, cost,
    when each was made, the take the cut uses, the word that stands and any agent's proposal —
    shots with new takes first. With --circle, --ng or --hold, a person's word on a take, written
    to the ledger for the next run: circled goes in the cut, NG makes another take, hold waits."""
    from slate.commands.dailies_answers import BadAnswer, read_answers
    from slate.manifests.profiles import PROFILES
    try:
        answers = read_answers(circle or [], ng or [], hold or [], note or [], add_to_prompt)
    except BadAnswer as exc:
        say_error(exc)
        raise typer.Exit(2)
    film = load_or_exit(directory)
    scenes = [sc.id for _, sc in film.scenes]
    if scene is not None and scene not in scenes:
        say_error(f"--scene: unknown scene {shown(scene)} (the film has: {', '.join(scenes)})")
        raise typer.Exit(2)
    if profile is not None and profile not in PROFILES:
        say_error(f"--profile: unknown profile {shown(profile)} (one of {', '.join(PROFILES)})")
        raise typer.Exit(2)
    settings = settings_or_exit(directory) if profile is None else _settings(directory, profile)
    chosen = [scene] if scene else scenes
    shots = _dailies_or_exit(directory, film, chosen, settings.profile)
    if not answers:
        _list(directory, film.film.id, settings.profile, shots)
        return
    from slate.flows.review.approval import local_user
    who = (by if by is not None else local_user()).strip()
    if not who:
        say_error("--by: who answers? a word is kept with its author's name (give --by NAME)")
        raise typer.Exit(2)
    try:
        _answer(directory, film, settings, shots, answers, kind="panel" if panel else "clip",
                add_to_prompt=add_to_prompt, by=who)
    except BadAnswer as exc:
        say_error(exc)
        raise typer.Exit(2)


def _settings(directory: Path, profile: str) -> Settings:
    """The film's settings as a run of `profile` reads them (its lineup is the profile's)."""
    from slate.manifests import ManifestError
    from slate.settings import project_settings
    try:
        return project_settings(directory, profile=profile)
    except ManifestError as exc:
        say_error(exc)
        raise typer.Exit(1)


def _dailies_or_exit(directory: Path, film: LoadedFilm, scenes: list[str], profile: str) -> list[DailyShot]:
    """The scenes' dailies at `profile`, or exit 2 when no run of it ever kept a take (the list would
    be empty, and an answer about nothing is refused): saying which profiles did run."""
    from slate.flows.review.rushes import dailies_of, read_rushes
    from slate.governor.ledger import Ledger
    from slate.manifests.profiles import PROFILES
    with Ledger.for_project(directory) as ledger:
        shots = dailies_of(directory, ledger, film.film.id, scenes, profile)
    if shots:
        return shots
    ran = [p for p in PROFILES if any(read_rushes(directory, s, p) is not None for s in scenes)]
    where = f" of {', '.join(scenes)}" if len(scenes) < len(film.scenes) else ""
    say_error(f"no take{where} at {profile} yet: no run of that profile kept one"
              + (f" (runs kept takes at {', '.join(ran)}: --profile {ran[0]})" if ran else
                 f" (`slate run {directory}` makes them)"))
    raise typer.Exit(2)


# -- the list ------------------------------------------------------------------------------------

def _list(directory: Path, film: str, profile: str, shots: list[DailyShot]) -> None:
    from slate.providers.registry import storage_for
    storage = storage_for(directory)
    # Shots with takes nobody has answered yet first; within each, the scenes' own order.
    ordered = [s for s in shots if s.new] + [s for s in shots if not s.new]
    fresh = sum(1 for s in shots if s.new)
    say(f"{film}, {profile}: the dailies of {len(shots)} shot(s), {fresh} with new takes")
    for shot in ordered:
        say("")
        for line in shot_lines(shot, lambda uri: _where(storage, uri)):
            say(line)
    say("")
    say(f"answer: slate dailies {directory} --circle SHOT:TAKE | --ng SHOT[:TAKE] --note \"…\" | --hold SHOT "
        "[--panel]")
    if any(s.ledger for s in shots):
        say(f"keep a picture the continuity ledger did not expect (no retake, $0; the shots after it follow it): "
            f"slate continuity {directory} SHOT THING FIELD=VALUE, e.g. mug side=right")


def shot_lines(shot: DailyShot, where: Callable[[str], str] = str) -> list[str]:
    """One shot as the terminal shows it: its head, the word that stands, the proposals, a cleared
    word, then each current take (panels first), and the takes of the shot as it was before in one
    line. `where` turns a storage URI into what a person opens (a local file's path)."""
    head = f"{shot.shot} ({shot.scene}) — {shot.status or 'not finished'}" + (" · new takes" if shot.new else "")
    lines = [head]
    words = [w for w in (shot.panel_word, shot.clip_word) if w is not None]
    lines += [f"  the word: {w.said()}" for w in words] or ["  the word: none yet"]
    # A proposal is never acted on: the line says what a person types to make it their own word.
    lines += [f"  {p.said()}   (an agent's proposal, not acted on; to make it yours: --ng {shot.shot}:{p.take} "
              f"--note {_quoted(p.note)}{' --panel' if p.kind == 'panel' else ''})" for p in shot.proposals]
    if shot.cleared:
        lines.append(f"  cleared by the last run: {shot.cleared}")
    lines += [f"  the ledger {line}" for line in shot.ledger]
    order = {"panel": 0, "clip": 1}
    current = sorted((t for t in shot.takes if t.current), key=lambda t: (order[t.kind], t.take))
    for t in current:
        lines += take_lines(t, where)
        if t.kind == "clip" and t.in_cut and shot.cut_uri and shot.cut_uri != t.uri:
            # A talking shot's cut plays its lip-synced file (a swap's, an upscale's): what the audience sees.
            lines.append(f"    the cut plays it as: {where(shot.cut_uri)} (after its passes: lip-sync, swap, upscale)")
    lines += [pass_line(t, where) for t in shot.passes]
    before = sorted((t for t in shot.takes if not t.current), key=lambda t: (order[t.kind], t.take))
    if before:
        lines.append("  before the shot changed (a word on these would be cleared): "
                     + ", ".join(f"{t.kind} take {t.take}" for t in before))
    return lines


def pass_line(t: PassTake, where: Callable[[str], str] = str) -> str:
    """A take of a pass over the shot's clip (a face swap, an upscale, a declared pass): its pass and
    number, whether it made a clip and the cut uses it, its cost and when, where to play it."""
    from slate.governor.money import fmt_usd
    head = [f"{t.title} take {t.take}", "made" if t.made else "made nothing"]
    head += ["in the cut"] if t.in_cut else []
    head += [fmt_usd(Decimal(t.cost_usd))] + ([f"made {_when(t.made_at)}"] if t.made_at else [])
    return "  " + " · ".join(head) + (f"\n    play: {where(t.uri)}" if t.uri else "")


def _quoted(text: str) -> str:
    import shlex
    return shlex.quote(text)


def take_lines(t: DailyTake, where: Callable[[str], str] = str) -> list[str]:
    """A take: its number and verdict, whether the cut uses it, cost and when; its scores by name
    (the failing ones again with the judge's reason); why it failed; what to look at."""
    from slate.governor.money import fmt_usd
    from slate.tasks.review.production_report import score_parts
    head = [f"{t.kind} take {t.take}", "passed" if t.passed else "failed"]
    head += ["in the cut"] if t.in_cut else []
    head += [fmt_usd(Decimal(t.cost_usd))] + ([f"made {_when(t.made_at)}"] if t.made_at else [])
    lines = ["  " + " · ".join(head)]
    if t.scores:
        lines.append(f"    scores: {_scores(t.scores)}")
    lines += [f"    failing: {s}" for s in t.scores if score_parts(s)[2]]
    lines += [f"    why not: {r}" for r in t.reasons]
    lines += [f"    warning: {w}" for w in t.warnings]
    if t.preview:
        lines.append(f"    look: {where(t.preview)}")
    if t.kind == "clip" and t.uri:
        lines.append(f"    play: {where(t.uri)}")
    return lines


def _scores(scores: list[str]) -> str:
    """The scores by name, "identity 0.62/0.85"; a name a take scored more than once (one per
    character) with its subject, as the judge's reason names it: "identity nina 1.00/0.85"."""
    from slate.tasks.review.production_report import score_parts
    read = [score_parts(s) for s in scores]
    names = [name for name, _, _, _ in read]
    out = []
    for name, value, _, reason in read:
        subject = _SUBJECT.match(reason)
        if names.count(name) > 1 and subject:
            name = f"{name} {subject.group(1)}"
        out.append(f"{name} {value}" if value else name)
    return ", ".join(out)


#: The subject a judge's reason starts with: a character's or a location's id ("nina: 100% of …").
_SUBJECT = re.compile(r"^([a-z][a-z0-9_-]{0,39}): ")


def _when(iso: str) -> str:
    at = datetime.fromisoformat(iso)
    at = at if at.tzinfo else at.replace(tzinfo=timezone.utc)
    return at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _where(storage: Storage, uri: str) -> str:
    """A local file's path (what a person opens); a bucket's artifact keeps its URI — fetching it
    to show a path would download every take."""
    from slate.providers.storage_local import LocalStorage
    if isinstance(storage, LocalStorage):
        try:
            return str(storage.open_local(uri))
        except (OSError, ValueError):
            return f"{uri} (gone from storage)"
    return uri


# -- the answers ---------------------------------------------------------------------------------

def _answer(directory: Path, film: LoadedFilm, settings: Settings, shots: list[DailyShot], answers: Sequence[DailiesAnswer],
            *, kind: str, add_to_prompt: bool, by: str) -> None:
    """Check every answer (BadAnswer on the first that fails), then write them all and say what
    the next run does with each."""
    from slate.commands.dailies_answers import BadAnswer, next_run, take_of
    from slate.flows.review.rushes import read_rushes
    from slate.governor.ledger import Ledger
    from slate.tasks.review.circle import TakeWord, say_word
    checked = []
    for a in answers:
        shot = _shot_of(a, shots, film, settings.profile)
        take = take_of(a, shot, kind)
        word = TakeWord(scene=shot.scene, shot=shot.shot, kind=kind, take=take.take, word=a.word, note=a.note,
                        add_to_prompt=add_to_prompt and a.word == "ng", profile=settings.profile,
                        key=shot.keys[kind], by=by, at=datetime.now(timezone.utc).isoformat())
        if word.add_to_prompt:
            found = note_findings(film, settings, word)
            blocking = [f for f in found if f.blocking]
            if blocking:
                raise BadAnswer(f"{a.flag} {a.typed}: the note would be refused in {shot.shot}'s {kind} prompt by the "
                                f"prompt lint — " + "; ".join(str(f) for f in blocking)
                                + " (reword it, or leave it out of the prompt: drop --add-to-prompt)")
            for f in found:
                err.print(f"warning: {shot.shot}: the note in the {kind} prompt: {f}", markup=False, highlight=False)
        checked.append((a, shot, take, word))
    with Ledger.for_project(directory) as ledger:
        for a, shot, take, word in checked:
            rushes = read_rushes(directory, shot.scene, settings.profile)
            say_word(ledger, run_id=rushes.run_id if rushes else "", film=film.film.id, scene=shot.scene,
                     shot=shot.shot, kind=kind, take=take.take, word=word.word, note=word.note,
                     add_to_prompt=word.add_to_prompt, profile=settings.profile, key=word.key, by=by)
            cost = next_take_cost(film, settings, shot.scene, shot.shot, kind) if a.word == "ng" else None
            say(next_run(a, shot, take, word.add_to_prompt, cost))


def _shot_of(answer: DailiesAnswer, shots: list[DailyShot], film: LoadedFilm, profile: str) -> DailyShot:
    """The shot an answer names, in the scenes looked at — refused when no run kept a take of it, or
    when several scenes have a shot of that id (--scene says which)."""
    from slate.commands.dailies_answers import BadAnswer
    found = [s for s in shots if s.shot == answer.shot]
    if len(found) == 1:
        return found[0]
    if found:
        raise BadAnswer(f"{answer.flag} {answer.typed}: {answer.shot} is a shot of {', '.join(s.scene for s in found)}"
                        f": say which with --scene")
    known = [s.id for _, sc in film.scenes for s in sc.shots]
    if answer.shot in known:
        looked = ", ".join(sorted({s.scene for s in shots}))
        raise BadAnswer(f"{answer.flag} {answer.typed}: no take of {answer.shot} at {profile} in {looked} yet (the "
                        f"dailies have {', '.join(sorted({s.shot for s in shots}))})")
    raise BadAnswer(f"{answer.flag} {answer.typed}: no shot {answer.shot} in the film (the dailies have "
                    f"{', '.join(sorted({s.shot for s in shots}))})")


def note_findings(film: LoadedFilm, settings: Settings, word: TakeWord) -> list[LintFinding]:
    """What the prompt lint says of the note, once it is in the prompt it goes into (tasks/run/lint.py
    `note_findings`, as the Prefect UI's dailies form asks it), at this run's lineup."""
    from slate.providers.registry import lineup
    from slate.tasks.review.circle import with_note
    from slate.tasks.run.lint import note_findings as findings
    chosen = lineup(settings)
    return findings(film, word.scene, word.shot, word.kind, lambda prompt: with_note(prompt, word),
                    str(chosen.panel), [str(v) for v in chosen.videos])


def next_take_cost(film: LoadedFilm, settings: Settings, scene: str, shot: str, kind: str) -> Decimal | None:
    """What the take an NG asks for is expected to cost, by the rate card (governor/estimate.py): a
    clip and its keyframe gate; for a panel, the start panel and its gate too. None when it cannot
    be priced without a run (a reference missing, a rate card that does not price the lineup): the
    answer is written all the same, and its line says no figure."""
    from slate.governor.chokepoint import Usage
    from slate.governor.estimate import JUDGE_TOKENS, estimate_scene, lineup_pricing
    from slate.governor.money import usd
    from slate.manifests.settings import model_audio
    from slate.providers.registry import lineup
    from slate.tasks.shot.plan import plan_from_project
    try:
        chosen = lineup(settings)
        pricing = lineup_pricing(film.root, chosen, settings.price_as)
        plans = plan_from_project(film, scene, settings.profile, settings.fps, panel_model=str(chosen.panel),
                                  video_model=str(chosen.video), audio=model_audio(settings))
        [line] = estimate_scene([p for p in plans if p.shot == shot], pricing).lines
        keyframe_gate = pricing.estimate(Usage("judge", input_tokens=JUDGE_TOKENS[0], output_tokens=JUDGE_TOKENS[1]))
    except Exception:  # noqa: BLE001 — a figure for the person, never a reason to refuse their word
        return None
    clip = line.video_cost + keyframe_gate
    if kind == "clip" or not line.panels:
        return usd(clip)
    # One start panel and its panel gate: the shot's panels' part (its judge cost less the keyframe
    # gate) over its panels — a start+end shot's end panel is not re-taken by a word on the start.
    return usd((line.panel_cost + line.judge_cost - keyframe_gate) / line.panels + clip)
