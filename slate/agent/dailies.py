"""The dailies for an agent (issue 40): it reads every shot's takes, and it may propose an NG.

A person watches the takes and says of a shot's clip or start panel: circled (it goes in the
cut), NG with a note (make another), or hold (tasks/review/circle.py). An agent reviewing what it made
will almost always approve it; what it can add is a second pair of eyes with a reason. So:

  * `read` gives what the dailies show (flows/review/rushes.py `dailies_of`), compact: per shot each
    take's gate scores by name, what it cost, when it was made, which take the cut uses, the
    word that stands and the proposals waiting — a picture as the resource that holds it;
  * `propose_ng` writes an agent's proposal of an NG with a note, on a take the dailies list
    (`say_word(proposal=True)`: the ledger's `dailies_proposal` stage, by and caller the
    session's "agent:<session>", the key the dailies give for that take's kind). The person
    sees it beside the take, as the agent's; a run never reads it.

It must never write a person's word (circled, NG or hold: `say_word` without `proposal`), never
write on a take the dailies do not list (a word on a shot as it no longer is would be cleared,
and a made-up take is a made-up record), and never spend or start anything.
"""
from __future__ import annotations

from typing import Any

from slate.agent.context import picture_link
from slate.agent.session import PROFILE_ORDER, Refused, Session, scrub
from slate.flows.review.rushes import DailyShot, DailyTake, dailies_of, read_rushes
from slate.governor.ledger import Ledger
from slate.governor.money import fmt_usd
from slate.tasks.review.circle import TakeWord, say_word

#: Who answers a proposal, said with every reading so an agent does not go looking for a lever.
WHO_DECIDES = ("a person circles, NGs or holds a take: `slate dailies DIR`, or the dailies form in the Prefect "
               "UI; an agent may only propose an NG (propose_ng), which the person sees as the agent's")


def _profiles(profile: str | None) -> tuple[str, ...]:
    return (profile,) if profile is not None else PROFILE_ORDER


def _shots(session: Session, scenes: list[str], profile: str) -> list[DailyShot]:
    with Ledger.for_project(session.root) as ledger:
        return dailies_of(session.root, ledger, session.film.film.id, scenes, profile)


def _said(word: TakeWord | None) -> str | None:
    return word.said() if word is not None else None


def _take(t: DailyTake) -> dict[str, Any]:
    link = picture_link(t.preview)
    return {"kind": t.kind, "take": t.take, "passed": t.passed, "in_cut": t.in_cut,
            "scores": t.scores, **({"reasons": t.reasons} if t.reasons else {}),
            **({"warnings": t.warnings} if t.warnings else {}),
            "cost": fmt_usd(t.cost_usd), "made_at": t.made_at or None,
            "picture": link[0] if link else (t.preview or None)}


def _shot(s: DailyShot, profile: str) -> dict[str, Any]:
    current = [t for t in s.takes if t.current]
    return {"scene": s.scene, "shot": s.shot, "profile": profile, "status": s.status, "new": s.new,
            "word": {"clip": _said(s.clip_word), "panel": _said(s.panel_word)},
            "proposals": [p.said() for p in s.proposals],
            **({"cleared": s.cleared} if s.cleared else {}),
            "takes": [_take(t) for t in current],
            # A take of the shot as it was before (a changed manifest, a retaken panel) is history:
            # counted, not listed, since no word on it would stand.
            **({"older_takes": len(s.takes) - len(current)} if len(current) < len(s.takes) else {})}


def read(session: Session, scene: str | None = None, profile: str | None = None) -> dict[str, Any]:
    """What the dailies show of the film's scenes (or one) at a profile (or every profile a run
    left takes at): each shot with its current takes, the word that stands and the proposals."""
    scenes = [scene] if scene is not None else session.scene_ids()
    shots = [_shot(s, p) for p in _profiles(profile) for s in _shots(session, scenes, p)]
    return {"source": ".slate/rushes (each run's takes) and the ledger (cost, time, words)",
            "who_decides": WHO_DECIDES, "shots": shots,
            **({} if shots else {"none": "no run has left takes here yet"})}


def _where(session: Session, scene: str, shot: str, profile: str | None) -> tuple[DailyShot, str]:
    """The shot as the dailies show it, at the profile named — or at the one profile it has takes
    at; refused naming what is missing."""
    found = [(s, p) for p in _profiles(profile) for s in _shots(session, [scene], p) if s.shot == shot]
    if not found:
        at = f" at {profile}" if profile else ""
        runs = [p for p in _profiles(profile) if read_rushes(session.root, scene, p) is not None]
        raise Refused(f"scene {scene}, shot {shot}: the dailies have no take of it{at} "
                      f"({'no run has left takes of this scene' + at if not runs else 'not rendered yet'}); "
                      f"nothing was written")
    if len(found) > 1:
        raise Refused(f"scene {scene}, shot {shot}: it has takes at {', '.join(p for _, p in found)}; say which "
                      f"(argument 'profile'); nothing was written")
    return found[0]


def propose_ng(session: Session, scene: str, shot: str, take: int, note: str, kind: str = "clip",
               profile: str | None = None) -> dict[str, Any]:
    """Write the session's proposal of an NG, with its note, on a take the dailies list."""
    daily, at = _where(session, scene, shot, profile)
    if daily.take(kind, take) is None:
        have = [str(t.take) for t in daily.takes if t.kind == kind and t.current]
        raise Refused(f"scene {scene}, shot {shot}: no {kind} take {take} at {at} (its {kind} takes: "
                      f"{', '.join(have) or 'none'}); nothing was written")
    key = daily.keys.get(kind)
    if not key:
        raise Refused(f"scene {scene}, shot {shot}: the dailies hold no key for its {kind} at {at}; "
                      f"nothing was written")
    with Ledger.for_project(session.root) as ledger:
        # A proposal, always: say_word refuses anything but an NG as one, and it is never a
        # person's word. The note is scrubbed: a key pasted into it must not reach the ledger (nor
        # the person's dailies). No run wrote this row: its run id is the session that did.
        word = say_word(ledger, run_id=session.caller, film=session.film.film.id, scene=scene, shot=shot, kind=kind,
                        take=take, word="ng", note=scrub(note.strip()), add_to_prompt=False, profile=at, key=key,
                        by=session.caller, caller=session.caller, proposal=True)
    return {"proposed": word.said(), "scene": scene, "shot": shot, "kind": kind, "take": take, "profile": at,
            "by": word.by, "at": word.at,
            "what_now": "the person sees it beside the take at the dailies and decides; a run does not act on it"}
