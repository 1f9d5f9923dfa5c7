"""What an agent's tool arguments may hold, checked before a tool runs: one refusal naming the tool,
the argument and the value.

An argument a tool does not take is refused by name (an agent that sends `cap` must learn it set
nothing). Every argument that names something of the film — a scene, a shot, a character, a
location, a profile, a run of the session, a model — must name one that exists: its value never
reaches a glob, a path or a command line unchecked. An edit is one change in words, and so is a
dailies note (what is wrong with a take). A version, and a take, is a whole number from 1. A
person's word on a take (`word`: circled, NG, hold) is no argument of any tool: handed one, the
refusal says who gives it. What a tool's types already say (a choice of views, stages, moments) is the
SDK's check; its message is said the same way by the server (server.py `SlateServer`).

It must never touch the film (reading ids only), and never echo a value at length.
"""
from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from slate.agent.session import PROFILE_ORDER, Refused, Session

#: The longest an edit may be: one change, said in a sentence.
MAX_EDIT = 400
#: The most a version number may be: far more than any asset has.
MAX_VERSION = 100_000
#: The longest a proposal's note may be: what is wrong with a take, said in a few sentences.
MAX_NOTE = 600
#: Said when an agent hands a tool a person's word on a take, so it learns where that lever is.
PERSONS_WORD = ("only a person circles, NGs or holds a take (slate dailies, or the dailies form in the Prefect UI); "
                "an agent proposes an NG with propose_ng")


def said(value: Any) -> str:
    """A value as a refusal shows it: quoted, and cut short."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise Refused(f"argument {name!r}: {said(value)} is not text")
    return value


def _one_of(name: str, value: Any, known: Collection[str], what: str) -> str:
    text = _text(name, value)
    if text not in known:
        raise Refused(f"argument {name!r}: {said(value)} is not {what} (known: {', '.join(known) or 'none'})")
    return text


def _edit(name: str, value: Any) -> str:
    text = _text(name, value).strip()
    words = [w for w in text.split() if any(c.isalpha() for c in w)]
    if text.startswith("-") or len(words) < 2 or len(text) > MAX_EDIT:
        raise Refused(f"argument {name!r}: {said(value)} is not an edit: one change said in words, at most "
                      f"{MAX_EDIT} characters, e.g. 'remove the red stools'")
    return text


def _note(name: str, value: Any) -> str:
    text = _text(name, value).strip()
    words = [w for w in text.split() if any(c.isalpha() for c in w)]
    if len(words) < 2 or len(text) > MAX_NOTE:
        raise Refused(f"argument {name!r}: {said(value)} is not a note: what is wrong with the take, said in "
                      f"words (at most {MAX_NOTE} characters), e.g. 'the door swings open, it does not explode'")
    return text


def _number(name: str, value: Any, what: str) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_VERSION:
        raise Refused(f"argument {name!r}: {said(value)} is not {what} (a whole number from 1)")
    return value


class Arguments:
    """The checks of one session's tools (see the module docstring)."""

    def __init__(self, session: Session):
        self.session = session
        film = session.film
        self.characters = [c.id for c in film.bible.characters]
        self.locations = [loc.id for loc in film.bible.locations]
        # a character (one with no voice yet is the workshop's to refuse, naming the field) or the narrator
        self.speakers = list(film.bible.voices())
        self.checks: dict[str, Callable[[str, Any, Mapping[str, Any]], Any]] = {
            "scene": lambda n, v, _: _one_of(n, v, session.scene_ids(), "a scene of the film"),
            "scenes": self._scenes,
            "shot": self._shot,
            "profile": lambda n, v, _: _one_of(n, v, PROFILE_ORDER, "a profile"),
            "character": lambda n, v, _: _one_of(n, v, self.characters, "a character of the bible"),
            "location": lambda n, v, _: _one_of(n, v, self.locations, "a location of the bible"),
            "asset": lambda n, v, _: _one_of(n, v, [*self.characters, *self.locations],
                                             "a character or location of the bible"),
            "speaker": lambda n, v, _: _one_of(n, v, self.speakers, "a character of the bible, or its narrator"),
            "run_id": lambda n, v, _: _one_of(n, v, list(session.runs), "a run of this session"),
            "model": self._model,
            "edit": lambda n, v, _: _edit(n, v),
            "from_version": lambda n, v, _: _number(n, v, "a version number"),
            "take": lambda n, v, _: _number(n, v, "a take number"),
            "note": lambda n, v, _: _note(n, v),
        }

    def check(self, tool: str, given: Mapping[str, Any], takes: Collection[str]) -> None:
        """Refuse (Refused, naming the tool and the argument) what `tool` must not be handed."""
        unknown = [name for name in given if name not in takes]
        if unknown:
            why = f"; {PERSONS_WORD}" if "word" in unknown else ""
            raise Refused(f"{tool}: unknown argument{'s' if len(unknown) > 1 else ''} "
                          f"{', '.join(repr(n) for n in unknown)} (it takes: {', '.join(takes) or 'no argument'})"
                          f"{why}; nothing was done")
        for name, value in given.items():
            if value is None or name not in self.checks:
                continue   # not given; or a choice the tool's schema holds
            try:
                self.checks[name](name, value, given)
            except Refused as exc:
                raise Refused(f"{tool}: {exc}") from None

    def _scenes(self, name: str, value: Any, _given: Mapping[str, Any]) -> None:
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list):
            raise Refused(f"argument {name!r}: {said(value)} is not a list of scenes")
        for v in values:
            _one_of(name, v, self.session.scene_ids(), "a scene of the film")

    def _shot(self, name: str, value: Any, given: Mapping[str, Any]) -> None:
        scene = given.get("scene")
        if scene not in self.session.scene_ids():
            return   # the scene's own check says so
        _one_of(name, value, [s.id for s in self.session.film.scene(scene).shots], f"a shot of scene {scene}")

    def _model(self, name: str, value: Any, given: Mapping[str, Any]) -> None:
        from slate.errors import SlateError
        from slate.providers.registry import resolve
        text = _text(name, value)
        capability = "video" if given.get("stage") == "clip" else "image"
        if ":" not in text:
            raise Refused(f"argument {name!r}: {said(value)} is not a model ('provider:model', e.g. "
                          f"gemini:gemini-2.5-flash-image)")
        try:
            resolve(text, capability, "draft")
        except (SlateError, ValueError, KeyError) as exc:
            raise Refused(f"argument {name!r}: {said(value)}: {exc}") from None
