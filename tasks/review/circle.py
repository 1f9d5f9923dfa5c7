"""A person's word on a take at the dailies (issue 40): circled, NG, or hold.

The gates catch what can be measured; what they pass still goes before a person, who watches the
takes and says of a shot's clip (or its start panel) one of:

- **circled** — this take goes in the cut. The shot's take loop walks to it (every take before it
  comes from the cache: nothing is paid) and keeps it, even over a later take a re-run made, even
  one its gate failed: a person's word is over a gate's.
- **NG** with a note — no good, make another. The loop walks the takes up to the NG'd one again
  (free) and keeps none of them; it makes the next take (its own seed, paid through the governor
  within the caps, judged by the gates as always), the take policy counting only the takes after
  the NG. The note goes into the new takes' prompt only when the person asked for it
  (`add_to_prompt`); it is lint-checked like any prompt text before it is written.
- **hold** — decide later: nothing changes; the dailies show it.

A word is a $0 row of the ledger's approvals (stage `dailies`: who, when, shot, take, note), like
an approval; the latest word on a shot's clip (or panel) stands. An agent may only *propose* an
NG (stage `dailies_proposal`): it is shown to the person and never acted on.

Each word carries the key of what it was said about — the shot as planned at the run that made
the take (`panel_key`), and for a clip also the panel it was made from (`clip_key`). When the
shot's manifest changes (a new action, new references), or its panel is retaken, the key no
longer matches: the word is cleared, and the run says so.

It must never spend or make anything, and never act on a proposal.
"""
from __future__ import annotations

from datetime import datetime
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict

from slate.governor.ledger import Ledger
from slate.providers.base import fingerprint
from slate.tasks.shot.plan import ShotPlan

__all__ = ["Word", "Kind", "WORDS", "KINDS", "WORD_STAGE", "PROPOSAL_STAGE", "WordGiven", "TakeWord",
           "ShotWords", "say_word", "words_of", "standing", "panel_key", "clip_key", "with_note"]

Word = Literal["circled", "ng", "hold"]
Kind = Literal["clip", "panel"]
WORDS: tuple[str, ...] = get_args(Word)
KINDS: tuple[str, ...] = get_args(Kind)
WORD_STAGE = "dailies"
PROPOSAL_STAGE = "dailies_proposal"


class WordGiven(BaseModel):
    """One word as a person gives it (the dailies form, the command, the agent), before it is
    written: the take it is about, the word, the note, and the key of what it was said about."""

    model_config = ConfigDict(frozen=True)

    scene: str
    shot: str
    kind: Kind
    take: int
    word: Word
    note: str = ""
    add_to_prompt: bool = False
    key: str


class TakeWord(WordGiven):
    """One word on one take as the ledger holds it: the word given, at which profile, who said it
    and when."""

    profile: str
    by: str
    at: str                     # ISO time, UTC
    proposal: bool = False      # an agent's proposal: shown, never acted on

    def said(self) -> str:
        """How the dailies and the run say it: "NG take 2 (ana): the door swings open"."""
        what = {"circled": "circled", "ng": "NG", "hold": "held"}[self.word]
        who = f"{'proposed by ' if self.proposal else ''}{self.by}"
        panel = " panel" if self.kind == "panel" else ""
        return f"{what}{panel} take {self.take} ({who})" + (f": {self.note}" if self.note else "")


class ShotWords(BaseModel):
    """The words that stand on one shot at one profile: its clip's and its start panel's."""

    model_config = ConfigDict(frozen=True)

    clip: TakeWord | None = None
    panel: TakeWord | None = None


def panel_key(plan: ShotPlan) -> str:
    """What a panel word was said about: the shot as planned (its prompt, references, size,
    seed...). A changed manifest plans another shot: the word no longer matches."""
    return fingerprint({"plan": plan.model_dump(mode="json")})


def clip_key(plan: ShotPlan, panel_uri: str) -> str:
    """What a clip word was said about: the shot as planned and the panel its clip starts from."""
    return fingerprint({"plan": plan.model_dump(mode="json"), "panel": panel_uri})


def say_word(ledger: Ledger, *, run_id: str, film: str, scene: str, shot: str, kind: str, take: int, word: str,
             note: str, add_to_prompt: bool, profile: str, key: str, by: str, caller: str | None = None,
             proposal: bool = False) -> TakeWord:
    """Write a word (or an agent's proposal) into the ledger's approvals: never a paid call."""
    if word not in WORDS:
        raise ValueError(f"a word is one of {', '.join(WORDS)}, not {word!r}")
    if kind not in KINDS:
        raise ValueError(f"a word is on a take of a {' or a '.join(KINDS)}, not {kind!r}")
    if proposal and word != "ng":
        raise ValueError("an agent may only propose an NG: only a person circles or holds a take")
    row = ledger.approve(run_id=run_id, film=film, scene=scene, shot=shot,
                         stage=PROPOSAL_STAGE if proposal else WORD_STAGE, take=take, by=by, fingerprint=key,
                         message=note, caller=caller,
                         parameters={"word": word, "kind": kind, "add_to_prompt": bool(add_to_prompt),
                                     "profile": profile})
    return _word(row.scene, row.shot, row.take, row.by, row.created_at, row.fingerprint, row.message,
                 row.parameters, proposal)


def _word(scene: str, shot: str, take: int, by: str, at: datetime, key: str, note: str,
          parameters: dict[str, object], proposal: bool) -> TakeWord:
    return TakeWord(scene=scene, shot=shot, kind=parameters.get("kind", "clip"), take=take,
                    word=parameters["word"], note=note, add_to_prompt=bool(parameters.get("add_to_prompt")),
                    profile=str(parameters.get("profile", "")), key=key, by=by, at=at.isoformat(), proposal=proposal)


def words_of(ledger: Ledger, film: str, *, proposals: bool = False) -> list[TakeWord]:
    """Every word said on the film's takes, oldest first (with `proposals`: the agents' too)."""
    stages = [WORD_STAGE, PROPOSAL_STAGE] if proposals else [WORD_STAGE]
    rows = [r for stage in stages for r in ledger.approvals(film=film, stage=stage)]
    rows.sort(key=lambda r: r.id)
    return [_word(r.scene, r.shot, r.take, r.by, r.created_at, r.fingerprint, r.message, r.parameters,
                  r.stage == PROPOSAL_STAGE) for r in rows]


def standing(words: list[TakeWord], scene: str, profile: str) -> dict[str, ShotWords]:
    """The word that stands on each shot's clip and panel of a scene at a profile: the latest a
    person said (proposals never stand)."""
    out: dict[str, dict[str, TakeWord]] = {}
    for w in words:
        if w.proposal or w.scene != scene or w.profile != profile:
            continue
        out.setdefault(w.shot, {})[w.kind] = w
    return {shot: ShotWords(**kinds) for shot, kinds in out.items()} 


def with_note(prompt: str, word: TakeWord | None) -> str:
    """A prompt with the person's NG note added — only when they asked for it."""
    if word is None or word.word != "ng" or not word.add_to_prompt or not word.note.strip():
        return prompt
    return f"{prompt.rstrip()} {word.note.strip()}"
