"""Voices and lines of dialogue as data: what a character sounds like, and what they say in a shot.

A character's `voice` (and the bible's `narrator`) is locked like their face: a description in
physical terms (age, pitch, timbre, accent, pace), the provider voice chosen for it (provider,
model, voice name or id, settings) and the key of its approved reference sample, which the bible
workshop writes when a person approves a version. A shot's `dialogue` is its lines: who speaks
(a character of the shot, an off-screen character of the bible, or the narrator), the text, when
the line starts (an offset in the shot, or after the previous line) and delivery words from a
short physical vocabulary — the lesson the video models taught (mood words and metaphors do not
survive a model) holds for speech models too.

`line_spans` estimates where each line falls in its shot from the text's length at the voice's
pace, before anything is spent; `dialogue_problems` names what cannot be: an unknown speaker, a
speaker with no voice, a line that runs past its shot, one speaker's lines overlapping. The
measured length after synthesis is the speech stage's to hold.

It must never read files, touch the network, or import anything of ours but manifests.keys.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from .keys import AssetKey

NARRATOR = "narrator"   # the speaker id of the bible's narrator voice
#: Delivery words a line may carry: physical and technical, what a speech model can do.
DELIVERY = ("whispered", "quiet", "raised", "shouted", "flat", "fast", "slow", "low", "high", "breathy", "hoarse",
            "clipped", "trembling", "laughing", "crying")
PAUSE_SECONDS = 0.3      # between a line and the next one that starts "after the previous line"
LEAD_SECONDS = 0.25      # before the first line of a shot that gives no start
DEFAULT_WPM = 150        # words a minute: conversational English
_WORD = re.compile(r"[\w'’-]+")


def _text(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _spoken(value: str) -> str:
    """A line a speech provider is sent: not empty, and no control character (a NUL, an escape)
    that no voice can say and a provider may cut the text at — a line break or a tab may stay."""
    _text(value)
    for i, ch in enumerate(value):
        if unicodedata.category(ch) == "Cc" and ch not in "\n\t":
            raise ValueError(f"holds a control character (U+{ord(ch):04X}) at character {i + 1}: "
                             f"a speech provider cannot say it; take it out")
    return value


Text = Annotated[str, AfterValidator(_text)]
Spoken = Annotated[str, AfterValidator(_spoken)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Voice(_Model):
    """A voice locked in the bible: described, chosen, and (once approved) sampled."""
    description: Text                    # physical terms: age, pitch, timbre, accent, pace
    provider: Text                       # a provider that speaks: local, gemini, …
    voice: Text                          # the provider's voice name or id
    model: str | None = None             # the provider's speech model (None: its default)
    settings: dict[str, float | int | str] = {}
    pace_wpm: int = Field(default=DEFAULT_WPM, ge=60, le=300)   # words a minute, for the fit before any spend
    sample: AssetKey | None = None       # the approved reference sample (None: the canonical key)


class Line(_Model):
    """One line of dialogue in a shot."""
    speaker: Text                        # a character id of the bible, or "narrator"
    text: Spoken
    at: float | None = Field(default=None, ge=0)   # seconds into the shot (None: after the previous line)
    delivery: list[str] = []

    @field_validator("delivery")
    @classmethod
    def _physical(cls, v: list[str]) -> list[str]:
        for i, word in enumerate(v):
            if word not in DELIVERY:
                raise ValueError(f"delivery[{i}] {word!r} is not a delivery a speech model can do; use physical "
                                 f"and technical words: {', '.join(DELIVERY)}")
        if len(set(v)) != len(v):
            raise ValueError("a delivery word is listed twice")
        return v

    def quoted(self) -> str:
        """The line as a person reads it on a sheet or a form: `speaker: “text”`."""
        return f"{self.speaker}: “{self.text}”"


#: Letters a word is counted as when a line is measured in characters: a little more than a word of
#: conversational English holds (about 4.7), so an ordinary line is measured by its words, and a
#: line of long words or a script written without spaces (one "word" of 10,000 letters) by its letters.
LETTERS_PER_WORD = 6.0


def words(text: str) -> int:
    return len(_WORD.findall(text))


def letters(text: str) -> int:
    """The characters of a line a voice says (letters and digits, any script)."""
    return sum(1 for ch in text if ch.isalnum())


def spoken_words(text: str) -> float:
    """What a line is measured in at a pace: its words, or its letters as words (LETTERS_PER_WORD),
    whichever is more."""
    return max(float(words(text)), letters(text) / LETTERS_PER_WORD)


def estimated_seconds(text: str, pace_wpm: int) -> float:
    """A line's spoken length at a pace: its words (or its letters, `spoken_words`) at `pace_wpm`,
    at least half a second."""
    return max(0.5, spoken_words(text) * 60.0 / pace_wpm)


@dataclass(frozen=True)
class LineSpan:
    index: int          # the line's index in the shot's dialogue
    speaker: str
    start: float        # seconds into the shot
    end: float          # estimated (before synthesis) or measured (after)


def line_spans(lines: Sequence[Line], paces: Mapping[str, int],
               measured: Mapping[int, float] | None = None) -> list[LineSpan]:
    """Where each line falls in its shot: at its `at`, or PAUSE_SECONDS after the previous line's
    end (LEAD_SECONDS into the shot for the first); lasting its measured seconds where given,
    else its estimate at the speaker's pace (DEFAULT_WPM for a speaker with none)."""
    spans: list[LineSpan] = []
    for i, line in enumerate(lines):
        if line.at is not None:
            start = line.at
        elif spans:
            start = spans[-1].end + PAUSE_SECONDS
        else:
            start = LEAD_SECONDS
        seconds = (measured or {}).get(i)
        if seconds is None:
            seconds = estimated_seconds(line.text, paces.get(line.speaker, DEFAULT_WPM))
        spans.append(LineSpan(i, line.speaker, start, start + seconds))
    return spans


def dialogue_problems(lines: Sequence[Line], shot_seconds: float, voices: Mapping[str, Voice | None],
                      cast: Sequence[str]) -> list[tuple[str, str]]:
    """(field, message) for each line that cannot be spoken as written, relative to the shot:
    `voices` maps every speaker the film knows (its characters and, if it has one, the narrator)
    to their voice or None. A character of the bible who is not in the shot speaks off screen."""
    out: list[tuple[str, str]] = []
    known = sorted(voices)
    for i, line in enumerate(lines):
        if line.speaker not in voices:
            out.append((f"dialogue[{i}].speaker", f"unknown speaker {line.speaker!r} (the film has: "
                                                   f"{', '.join(known) or 'no voices'})"))
        elif voices[line.speaker] is None:
            out.append((f"dialogue[{i}].speaker", f"{line.speaker!r} has no voice in bible.yaml: give them one "
                                                   f"(voice: description, provider, voice) and approve a sample"))
    paces = {s: v.pace_wpm for s, v in voices.items() if v is not None}
    spans = line_spans(lines, paces)
    for span in spans:
        if span.end > shot_seconds + 1e-9:
            text = lines[span.index].text
            counted = (f"{words(text)} word(s)" if words(text) >= letters(text) / LETTERS_PER_WORD
                       else f"{letters(text)} letters, counted as {letters(text) / LETTERS_PER_WORD:.0f} words")
            out.append((f"dialogue[{span.index}]", f"the line needs about {span.end - span.start:.1f} s from "
                                                   f"{span.start:.2f} s ({counted}) at "
                                                   f"{paces.get(span.speaker, DEFAULT_WPM)} words a minute, past "
                                                   f"the shot's {shot_seconds:g} s (ends at {span.end:.2f} s)"))
    by_speaker: dict[str, list[LineSpan]] = {}
    for span in spans:
        by_speaker.setdefault(span.speaker, []).append(span)
    for speaker, own in by_speaker.items():
        own = sorted(own, key=lambda s: s.start)
        for a, b in zip(own, own[1:]):
            if b.start < a.end - 1e-9:
                out.append((f"dialogue[{b.index}].at", f"{speaker}'s line starts at {b.start:.2f} s while their "
                                                        f"line dialogue[{a.index}] runs to {a.end:.2f} s: one "
                                                        f"speaker cannot say two lines at once"))
    return out


def on_camera(line: Line, cast: Sequence[str]) -> bool:
    """A line whose speaker is one of the shot's characters (off screen otherwise, narrator included)."""
    return line.speaker in cast and line.speaker != NARRATOR


__all__ = ["DELIVERY", "LETTERS_PER_WORD", "Line", "NARRATOR", "LineSpan", "Voice", "dialogue_problems",
           "estimated_seconds", "letters", "line_spans", "on_camera", "spoken_words", "words"]
