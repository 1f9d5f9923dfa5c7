"""The terminal's answers at the dailies (issue 40): `--circle 1C:2`, `--ng 1D --note "…"`, `--hold 1E`
read from the command line, checked against the dailies, and said back with what the next run will
do about them.

Every answer is checked before the first is written (`read_answers`, then `take_of` for each), so a
command that names one unknown shot writes nothing at all. A refusal is a `BadAnswer`, said as one
`error:` line that names the shot and the take; the command exits 2 on it, as for any bad input.

It must never write (slate/commands/dailies.py writes, once everything is checked), never answer for
an agent, and never decide what a run does: `next_run` says, in a person's words, what flows/shot/shot.py
does with a word.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from slate.errors import SlateError

if TYPE_CHECKING:   # the dailies' shapes are flows/' (flows/review/rushes.py), imported where the command runs
    from slate.flows.review.rushes import DailyShot, DailyTake

__all__ = ["DailiesAnswer", "BadAnswer", "read_answers", "take_of", "next_run"]

#: "1C" or "1C:2": a shot id (manifests/schema.py SHOT_ID_PATTERN) and, after a colon, a take.
_SPEC = re.compile(r"^(?P<shot>[0-9]{1,3}[A-Z]{1,2})(?::(?P<take>[0-9]{1,6}))?$")


class BadAnswer(SlateError, ValueError):
    """An answer the command refuses before writing anything: the message names what was typed."""


@dataclass(frozen=True)
class DailiesAnswer:
    """One answer as typed: `--ng 1D:2` with its note is DailiesAnswer("ng", "--ng", "1D:2", "1D", 2, "…")."""

    word: str             # circled | ng | hold (tasks/review/circle.py WORDS)
    flag: str             # the option it came from, to name in a refusal
    typed: str            # the value as typed
    shot: str
    take: int | None      # None: the take the cut uses (--ng, --hold)
    note: str = ""


def _spec(flag: str, value: str) -> tuple[str, int | None]:
    found = _SPEC.fullmatch(value.strip())
    if found is None:
        from slate.commands.shared import shown
        raise BadAnswer(f"{flag}: {shown(value)} is not SHOT or SHOT:TAKE (e.g. 1C or 1C:2)")
    take = found.group("take")
    if take is not None and int(take) < 1:
        raise BadAnswer(f"{flag}: {value}: takes are counted from 1")
    return found.group("shot"), int(take) if take is not None else None


def read_answers(circle: list[str], ng: list[str], hold: list[str], notes: list[str],
                 add_to_prompt: bool) -> list[DailiesAnswer]:
    """The command line's answers in the order circled, NG, hold. The n-th `--note` is the n-th
    `--ng`'s: a note is what an NG asks the next take to change, so a note with no NG to go with,
    and an NG with no note, are refused — as are a `--circle` without its take and two answers
    about one shot (which would stand? the command cannot tell what the person meant)."""
    answers: list[DailiesAnswer] = []
    for value in circle:
        shot, take = _spec("--circle", value)
        if take is None:
            raise BadAnswer(f"--circle {value}: circle which take? give SHOT:TAKE (e.g. --circle {shot}:2)")
        answers.append(DailiesAnswer("circled", "--circle", value, shot, take))
    if len(notes) > len(ng):
        raise BadAnswer(f"--note is an NG's note: {len(notes)} --note for {len(ng)} --ng (each --ng takes the "
                        "--note that follows it)")
    for i, value in enumerate(ng):
        shot, take = _spec("--ng", value)
        note = notes[i].strip() if i < len(notes) else ""
        if not note:
            raise BadAnswer(f"--ng {value}: an NG needs its note — what the next take must do otherwise "
                            f'(--ng {value} --note "the door swings open, it does not explode")')
        answers.append(DailiesAnswer("ng", "--ng", value, shot, take, note))
    for value in hold:
        shot, take = _spec("--hold", value)
        answers.append(DailiesAnswer("hold", "--hold", value, shot, take))
    if add_to_prompt and not ng:
        raise BadAnswer("--add-to-prompt puts an NG's note in the next take's prompt: give it with --ng")
    seen: dict[str, DailiesAnswer] = {}
    for a in answers:
        if a.shot in seen:
            first = seen[a.shot]
            raise BadAnswer(f"{a.shot}: two answers in one command ({first.flag} {first.typed} and {a.flag} "
                            f"{a.typed}): give one word a shot")
        seen[a.shot] = a
    return answers


def take_of(answer: DailiesAnswer, shot: DailyShot, kind: str) -> DailyTake:
    """The take the answer is about, among the shot's current takes of `kind` — or BadAnswer naming
    the shot and the take: one never made, one of the shot as it was before (a word on it would be
    cleared by the next run), or no take in the cut when none was named."""
    what = "panel" if kind == "panel" else "clip"
    current = sorted(t.take for t in shot.takes if t.kind == kind and t.current)
    have = f"its current {what} takes: {', '.join(map(str, current))}" if current else f"it has no current {what} take"
    if answer.take is None:
        used = next((t for t in shot.takes if t.kind == kind and t.in_cut), None)
        if used is None:
            raise BadAnswer(f"{answer.flag} {answer.typed}: no {what} take of {shot.shot} is in the cut "
                            f"({shot.status or 'not approved'}); name one, e.g. {answer.flag} {shot.shot}:N ({have})")
        return used
    found = shot.take(kind, answer.take)
    if found is not None:
        return found
    if any(t.kind == kind and t.take == answer.take for t in shot.takes):
        raise BadAnswer(f"{answer.flag} {answer.typed}: {what} take {answer.take} of {shot.shot} was made before the "
                        f"shot changed (its manifest, or the picture it starts from): a word on it would be cleared by "
                        f"the next run ({have})")
    raise BadAnswer(f"{answer.flag} {answer.typed}: {shot.shot} has no {what} take {answer.take} ({have})")


def next_run(answer: DailiesAnswer, shot: DailyShot, take: DailyTake, add_to_prompt: bool, cost: Decimal | None) -> str:
    """What the next `slate run` does with this word, as flows/shot/shot.py does it: "1D: NG take 2 — the
    next run makes take 3 (est. $0.42) with the note in its prompt"."""
    from slate.governor.money import fmt_usd
    what = "panel take" if take.kind == "panel" else "take"
    head = f"{shot.shot}: {'NG' if answer.word == 'ng' else answer.word} {what} {take.take}"
    if answer.word == "hold":
        return f"{head} — the next run changes nothing; the dailies show it held"
    if answer.word == "circled":
        # A take the gate failed is kept over it (said); one failed only by an earlier NG is not.
        from slate.tasks.review.production_report import score_parts
        over = " over its gate (which failed it)" if any(score_parts(s)[2] for s in take.scores) else ""
        if take.in_cut:
            return f"{head} — in the cut already; the next run keeps it there{over}, whatever a later take makes"
        if take.kind == "panel":
            # A panel back in the cut starts another clip: one made from it before is in the cache.
            return (f"{head} — the next run puts it back in the cut{over} from the cache, and the shot's clip is "
                    f"made from it (paid, unless a clip was made from this panel before)")
        return f"{head} — the next run puts it back in the cut{over}, from the cache: nothing paid"
    after = take.take + 1
    estimate = f" (est. {fmt_usd(cost)})" if cost is not None else ""
    from_what = ", and a new clip from it" if take.kind == "panel" else " from the same panel"
    note = "with the note in its prompt" if add_to_prompt else "the note kept in the ledger, not in its prompt"
    made = any(t.kind == take.kind and t.take == after and t.current for t in shot.takes)
    if made and not add_to_prompt:
        # The same request as before: the loop takes it up from the cache, and pays only past it.
        return (f"{head} — the next run takes up {what} {after}, made before, from the cache (nothing paid), and "
                f"makes a new take only if its gate fails it; {note}")
    return f"{head} — the next run makes {what} {after}{estimate}{from_what}, {note}"

