"""The dailies form: what a person reads and answers in the Prefect UI about the shots with new takes.

Per shot, inside that shot's own part of the form (the description of its *your word* field, right
above its controls — the Prefect UI shows a form in a dialog that scrolls, and a shot's pictures
some thousands of characters away from its answer read as no picture at all), the form shows a
picture of each take it offers (small, inline: the UI needs no server to show it), which one the
cut plays, its gate scores by name, what it cost, the word that stands, and an agent's proposals as
"proposed by <agent>: NG — <note>". The form's own text says only what is asked. Per shot it asks:

- *your word*: no answer (the default) / circle / NG / hold,
- *which take*: the take the word is about (the clip take in the cut first),
- *note*: why (with NG: what the next take must do differently),
- *add the note to the prompt*: a tick; only then does the note reach the next take's prompt,

and once, *your name*. What is shown is kept as `Shown` (the takes offered, each shot's keys) so a
suspended run started again from the top reads the answer against the form the person saw, not
against dailies that changed while it waited.

It must never write a word (flows/dailies.py does, with tasks/circle.say_word), never offer a
take whose word would be cleared (a take of the shot as it was before), and never turn an agent's
proposal into an answer: the default is always "no answer".
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, get_args

from prefect.input import RunInput
from pydantic import BaseModel, Field, create_model

from slate.flows.review.approval import field_markdown, thumbnail_data_url
from slate.flows.review.rushes import DailyShot, DailyTake
from slate.governor.money import fmt_usd
from slate.tasks.review.circle import Kind, Word, WordGiven
from slate.tasks.review.production_report import score_parts

__all__ = ["Answer", "ANSWERS", "ShownTake", "ShownShot", "Shown", "Said", "shown_of", "form_for", "form_text",
           "said_of"]

Answer = Literal["no answer", "circle", "NG", "hold"]
ANSWERS: tuple[str, ...] = get_args(Answer)
#: The form's answer -> the word tasks/review/circle.py writes.
WORD_OF: dict[str, Word] = {"circle": "circled", "NG": "ng", "hold": "hold"}
THUMB_WIDTH = 200   # px: every shot's picture rides inside the form's text, so each is kept small


class ShownTake(BaseModel):
    label: str      # as the form offers it: "clip take 2 (in the cut)"
    kind: Kind
    take: int
    preview: str = ""   # its picture: a storage URI (the panel, or the clip's middle keyframe)
    said: str = ""      # a line on it beside its picture: passed or failed (why), its cost


class ShownShot(BaseModel):
    scene: str
    shot: str
    name: str                   # its fields' prefix on the form: the shot id, with the scene when two share it
    takes: list[ShownTake]      # the takes a word may be about, the default first
    keys: dict[str, str]        # kind -> what a word on that kind is said about (tasks/review/circle.py)
    heading: str                # its part of the form's text: the heading, then the picture, then the body
    body: str
    preview: str = ""           # the picture shown: a storage URI


class Shown(BaseModel):
    """What one dailies form showed: its shots, in film order."""

    film: str
    profile: str
    shots: list[ShownShot] = []


#: One word the person gave on the form, before it is written (tasks/review/circle.py).
Said = WordGiven


def _label(t: DailyTake) -> str:
    return f"{t.kind} take {t.take}" + (" (in the cut)" if t.in_cut else "")


def _take_line(t: DailyTake) -> str:
    return f"- {_label(t)} — {_verdict(t)}"


def _verdict(t: DailyTake) -> str:
    verdict = "passed" if t.passed else "failed" + (f" ({'; '.join(t.reasons)})" if t.reasons else "")
    return f"{verdict}; {fmt_usd(_usd(t.cost_usd))}" + (f", made {_when(t)}" if t.made_at else "")


def _when(t: DailyTake) -> str:
    """When its first paid row was written, to the minute (the ledger's time is UTC)."""
    return f"{t.made_at.replace('T', ' ')[:16]} UTC"


def _usd(value: str) -> Decimal:
    return Decimal(value or "0")


def _offered(d: DailyShot) -> list[DailyTake]:
    """The takes a word may be about: the shot's current ones (a word on an older one would be
    cleared at once), the clip in the cut first, then the other clips, newest first, then panels."""
    current = [t for t in d.takes if t.current]
    return sorted(current, key=lambda t: (t.kind != "clip", not t.in_cut, -t.take))


def _section(d: DailyShot, shown: DailyTake, offered: list[DailyTake]) -> tuple[str, str]:
    """Its heading (the take shown, its cost, the shot's in all) and its body (the rest)."""
    total = sum((_usd(t.cost_usd) for t in d.takes), Decimal(0))
    head = f"#### {d.shot} ({d.scene}) — {_label(shown)}, {fmt_usd(_usd(shown.cost_usd))}"
    made = (f"Made {_when(shown)}; " if shown.made_at else "") + \
        f"{fmt_usd(total)} for the shot in all" + (f"; the last run left it {d.status}" if d.status else "") + "."
    scores = "\n".join(f"- {line}" for line in shown.scores) or "- (no gate score recorded)"
    warned = ("\n\nWarnings:\n" + "\n".join(f"- {w}" for w in shown.warnings)) if shown.warnings else ""
    before = [t for t in offered if t is not shown]
    older = len([t for t in d.takes if not t.current])
    takes = ("\n\nThe other takes:\n" + "\n".join(_take_line(t) for t in before)) if before else ""
    history = f"\n\n({older} take(s) of the shot as it was before: history, not offered)" if older else ""
    words = [w.said() for w in (d.clip_word, d.panel_word) if w is not None]
    standing = ("\n\nStanding word: " + "; ".join(words)) if words else ""
    cleared = f"\n\nCleared: {d.cleared}" if d.cleared else ""
    # Issue 58: the continuity ledger's state of the shot beside its frames, and what of it the
    # shown take failed (the gate's props, blocking and light scores, by name).
    broken = [line for line in shown.scores if line.split(" ", 1)[0] in LEDGER_SCORES and score_parts(line)[2]]
    ledger = ("\n\nContinuity ledger:\n" + "\n".join(f"- {line}" for line in d.ledger)
              + ("\n\nNot as the ledger holds it:\n" + "\n".join(f"- {line}" for line in broken)
                 + f"\n\nTo keep the picture instead (no retake, $0; the shots after it follow it): "
                   f"`slate continuity <film> {d.shot} THING FIELD=VALUE`" if broken else "")
              ) if d.ledger else ""
    # An agent's proposal is shown, in its own words, and is no answer: the person picks NG or not.
    proposed = "".join(f"\n\n> proposed by {p.by}: NG — {p.note or '(no note)'} ({p.kind} take {p.take})"
                       for p in d.proposals)
    return head, (f"{made}\n\nGate scores of {_label(shown)}:\n{scores}{warned}{ledger}{takes}{history}{standing}"
                  f"{cleared}{proposed}")


#: The gate scores that hold a take to the continuity ledger (providers/local_ledger_checks.py).
LEDGER_SCORES = ("props", "blocking", "light")


def _field_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9-]+", "-", text).strip("-") or "shot"


def shown_of(film: str, profile: str, dailies: list[DailyShot]) -> Shown:
    """The form's shots: those with takes made since a person last spoke of them, and those an
    agent proposed something about (its proposal waits for a person's look)."""
    wanted = [d for d in dailies if (d.new or d.proposals) and _offered(d)]
    twice = {d.shot for d in wanted if [x.shot for x in wanted].count(d.shot) > 1}
    shots = []
    for d in wanted:
        offered = _offered(d)
        shown = offered[0]   # the clip in the cut, else the newest take there is
        heading, body = _section(d, shown, offered)
        shots.append(ShownShot(
            scene=d.scene, shot=d.shot, name=_field_name(f"{d.scene}-{d.shot}" if d.shot in twice else d.shot),
            takes=[ShownTake(label=_label(t), kind=t.kind, take=t.take, preview=t.preview, said=_verdict(t))
                   for t in offered], keys=dict(d.keys),
            heading=heading, body=body, preview=shown.preview))
    return Shown(film=film, profile=profile, shots=shots)


#: Where a picture is read from: the film's storage's `open_local` (a content URI -> a file here).
LocalFile = Callable[[str], Path]


def form_for(shown: Shown, local_file: LocalFile | None = None) -> type[RunInput]:
    """The form's class: four fields a shot (its takes offered as a list), then the person's name.
    With `local_file` (the form as first shown), each shot's first field carries that shot's part
    of the form — its heading, a picture of each take offered, its scores and words — so what a
    person looks at sits beside what they answer; without it (an answered form read again) only
    what each field means."""
    fields: dict[str, Any] = {}
    for i, s in enumerate(shown.shots):
        labels = tuple(t.label for t in s.takes)
        # The UI's dialog shrinks the form's own text to nothing under a long form: what is asked
        # is said again at the top of the first shot's part.
        asked = f"{asked_text(shown)}\n\n---\n\n" if i == 0 and local_file else ""
        meaning = ("circle: this take goes in the cut; NG: no good, make another on the next run; "
                   "hold: decide later; no answer: it comes back on the next dailies")
        fields[f"{s.name}_word"] = (Answer, Field(
            "no answer", title=f"{s.name}: your word",
            description=f"{asked}{shot_section(s, local_file)}\n\n**Your word** — {meaning}" if local_file
            else meaning))
        # The takes are known only now: a Literal made at run time (pydantic offers it as a list).
        fields[f"{s.name}_take"] = (Literal[labels], Field(
            labels[0], title=f"{s.name}: which take", description="the take your word is about"))
        fields[f"{s.name}_note"] = (str, Field(
            "", title=f"{s.name}: note", description="why — with NG, what the next take must do differently "
                                                    "(kept in the ledger with your word)"))
        fields[f"{s.name}_add_to_prompt"] = (bool, Field(
            False, title=f"{s.name}: add the note to the prompt",
            description="with NG: the next take's prompt carries your note (checked by the prompt lint first)"))
    fields["said_by"] = (str, Field("", title="Your name", description="who gave these words — kept in the ledger"))
    model: type[RunInput] = create_model("Dailies", __base__=RunInput, **fields)
    return model


def shot_section(s: ShownShot, local_file: LocalFile) -> str:
    """One shot's part of the form: its heading, a picture of each take offered (the one the cut
    plays first) with its label and verdict under it, then its scores, takes and words."""
    def picture(t: ShownTake) -> str:
        if not t.preview:
            return f"*{t.label}* — {t.said} (no picture)"
        try:
            image = f"![{s.shot} {t.label}]({thumbnail_data_url(local_file(t.preview), THUMB_WIDTH)})"
        except (OSError, ValueError):   # a picture gone from storage: the shot is still there to answer
            image = "(its picture is not in storage)"
        return f"{image}\n\n*{t.label}* — {t.said}" if t.said else f"{image}\n\n*{t.label}*"
    pictures = "\n\n".join(picture(t) for t in s.takes)
    return field_markdown(f"{s.heading}\n\n{pictures}\n\n{s.body}")


def form_text(shown: Shown, scenes: list[str]) -> str:
    """The form's own text: what is asked (each shot's pictures and scores are beside its fields)."""
    return f"### Dailies — {shown.film}, {shown.profile}, {', '.join(scenes)}\n\n{asked_text(shown)}"


def asked_text(shown: Shown) -> str:
    """What the form asks, in a paragraph."""
    listed = ", ".join(s.shot for s in shown.shots)
    return (f"{len(shown.shots)} shot(s) with takes you have not given a word on: {listed}. Each shot's takes, "
            f"with their pictures and scores, are shown just above its fields. For each: **circle** the take "
            f"that goes in the cut, call it **NG** with a note (the next run makes another; tick *add the note "
            f"to the prompt* for the next take to be told), **hold** it, or leave it unanswered. Nothing is paid "
            f"now.")


def said_of(answer: BaseModel | Mapping[str, Any], shown: Shown) -> list[Said]:
    """The words given on the form, shot by shot (an unanswered shot gives none)."""
    data = answer.model_dump() if isinstance(answer, BaseModel) else dict(answer)
    out = []
    for s in shown.shots:
        word = WORD_OF.get(str(data.get(f"{s.name}_word") or "no answer"))
        if word is None:
            continue
        label = data.get(f"{s.name}_take") or s.takes[0].label
        take = next((t for t in s.takes if t.label == label), s.takes[0])
        out.append(Said(scene=s.scene, shot=s.shot, kind=take.kind, take=take.take, word=word,
                        note=str(data.get(f"{s.name}_note") or "").strip(),
                        add_to_prompt=bool(data.get(f"{s.name}_add_to_prompt")), key=s.keys.get(take.kind, "")))
    return out
