"""What the speech stage of a scene judges a line against, and what of the film it keys on.

For:
  * `reference_of`: a speaker's reference sample — the approved sample the bible workshop
    writes (the voice's `sample`, else its canonical key), or, until one is approved, the
    *interim reference*: a fixed sentence spoken by the voice's own local eSpeak settings on
    this machine (free, offline, deterministic: what that voice says when nothing goes wrong).
    A vendor voice with no approved sample has no interim reference: nothing is paid for a
    sample no person approved; its lines escalate without a call (the stage says so).
  * `judge`: a spoken take against that reference (media/voiceprint.judge_line: the voice, a
    silence where speech should be, a line cut short), with the thresholds voiceprint holds
    (benchmarks/voices.py measures them).
  * `too_long`: a line measured past the end of its shot, in words naming both durations.
  * `speech_fingerprint`: what of the film a scene's spoken lines depend on (each shot's lines,
    the voices that speak them, their reference samples' content and the stage versions), for
    the can's key (tasks/run/can.py) — None for a scene without a line, so its key stays as it was.

It must never import Prefect (the can and the reel read it before Prefect starts), never call a
provider other than the local voice's free, offline engine, and never read a key.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slate.manifests import LoadedFilm
# where the bible workshop (tasks/workshop/audition.py) approves a sample: one name, the narrator's in narrator/
from slate.manifests.keys import canonical_voice_key
from slate.manifests.dialogue import DEFAULT_WPM, Line, Voice, estimated_seconds, line_spans
from slate.tasks.run.versions import SPEECH_VERSION, SUBTITLES_VERSION, VOICE_GATE_VERSION

if TYPE_CHECKING:   # the measures are imported where a line is judged: the can's key needs none of numpy
    import numpy as np

    from decimal import Decimal

    from slate.governor.ratecard import Pricing
    from slate.media.voiceprint import Signature, VoiceVerdict

#: What the interim reference says: every vowel and the common consonants, about three seconds.
REFERENCE_TEXT = "The quick brown fox jumps over the lazy dog, and then walks home slowly."




@dataclass(frozen=True)
class VoiceReference:
    """A speaker's reference: its signature, its pace (spoken characters a second), what it is
    (`approved` or `interim`) and `version`, the content hash the line takes are keyed by."""
    speaker: str
    kind: str
    version: str
    signature: Signature
    chars_per_second: float


def _approved_path(root: Path, speaker: str, voice: Voice) -> Path:
    return Path(root) / (voice.sample or canonical_voice_key(speaker))


def _wav(path: Path) -> tuple["np.ndarray", int]:
    from slate.media.voiceprint import read_pcm16
    return read_pcm16(path)


def reference_of(root: Path | str, speaker: str, voice: Voice) -> VoiceReference | None:
    """The reference a speaker's lines are judged against (module docstring); None when there is
    none to be had without spending (a vendor voice with no approved sample)."""
    from slate.media.voiceprint import pace, signature, spoken_chars
    approved = _approved_path(Path(root), speaker, voice)
    if approved.is_file():
        samples, rate = _wav(approved)
        version = "approved:" + hashlib.sha256(approved.read_bytes()).hexdigest()[:16]
        said = approved.with_suffix(".txt")   # the sample's words, when the workshop wrote them beside it
        if said.is_file() and spoken_chars(said.read_text()):
            try:
                cps = pace(said.read_text(), samples, rate)
            except ValueError as exc:   # `slate check` refuses such a sample first; a run still names it
                raise ValueError(f"{approved}: {exc}") from None
        else:   # the voice's declared pace, in the characters a line of the film is counted in
            cps = voice.pace_wpm * 4.7 / 60.0   # about 4.7 letters a word in conversational English
        sig = signature(samples, rate)
        return None if sig is None else VoiceReference(speaker, "approved", version, sig, cps)
    if voice.provider != "local":
        return None
    import io

    from slate.media.voiceprint import read_pcm16
    from slate.providers.registry import offline_line
    samples, rate = read_pcm16(io.BytesIO(offline_line(voice.voice, voice.settings, REFERENCE_TEXT).wav))
    sig = signature(samples, rate)
    if sig is None:
        return None
    settings = sorted((str(k), str(v)) for k, v in voice.settings.items())
    version = "interim:" + hashlib.sha256(repr((voice.voice, settings, REFERENCE_TEXT)).encode()).hexdigest()[:16]
    return VoiceReference(speaker, "interim", version, sig, pace(REFERENCE_TEXT, samples, rate))


def judge(wav: Path, text: str, reference: VoiceReference) -> VoiceVerdict:
    """A spoken take (a 16-bit mono WAV) of `text` against its speaker's reference."""
    from slate.media.voiceprint import judge_line
    samples, rate = _wav(wav)
    return judge_line(samples, rate, text=text, approved=reference.signature,
                      chars_per_second=reference.chars_per_second)


def too_long(lines: list[Line], index: int, measured: dict[int, float], paces: dict[str, int],
             shot_seconds: float) -> str | None:
    """Why line `index`, at its measured length, does not fit its shot (None when it does)."""
    span = line_spans(lines, paces, measured)[index]
    if span.end <= shot_seconds + 1e-6:
        return None
    estimate = estimated_seconds(lines[index].text, paces.get(lines[index].speaker, DEFAULT_WPM))
    return (f"measured {span.end - span.start:.2f} s (estimated {estimate:.2f} s) from {span.start:.2f} s, "
            f"it ends at {span.end:.2f} s, past the shot's {shot_seconds:.2f} s")


def speech_fingerprint(root: Path | str, film: LoadedFilm, scene_id: str) -> dict[str, Any] | None:
    """What a scene's spoken lines depend on, for its key in the can; None without a line."""
    scene = film.scene(scene_id)
    lines = {s.id: [line.model_dump(mode="json") for line in s.dialogue] for s in scene.shots if s.dialogue}
    if not lines:
        return None
    voices = film.bible.voices()
    speakers = sorted({line["speaker"] for own in lines.values() for line in own})
    heard: dict[str, Any] = {}
    for who in speakers:
        voice = voices.get(who)
        sample = _approved_path(Path(root), who, voice) if voice is not None else None
        heard[who] = {"voice": voice.model_dump(mode="json") if voice is not None else None,
                      "sample": hashlib.sha256(sample.read_bytes()).hexdigest()
                      if sample is not None and sample.is_file() else None}
    return {"versions": [SPEECH_VERSION, VOICE_GATE_VERSION, SUBTITLES_VERSION], "lines": lines, "voices": heard}


def line_price(film: LoadedFilm, line: Line, profile: str, pricing: "Pricing") -> "Decimal":
    """What speaking `line` once costs before it is spoken: its characters and its words at the
    speaker's pace, priced as the speaker's speech model at `profile` (or as `price_as`, when it
    names a speech model: governor/ratecard Pricing). A speaker with no voice is `slate check`'s
    to refuse: priced at nothing here."""
    from decimal import Decimal

    from slate.governor.estimate import price_line
    from slate.providers.registry import speech_model
    voice = film.bible.voices().get(line.speaker)
    if voice is None:
        return Decimal(0)
    return price_line(pricing, str(speech_model(voice.provider, voice.model, profile)), line.text, voice.pace_wpm)


def line_costs(film: LoadedFilm, scene_id: str, profile: str, pricing: "Pricing") -> dict[str, "Decimal"]:
    """By shot of `scene_id` that has lines: what speaking each of them once costs (line_price)."""
    from decimal import Decimal
    return {shot.id: sum((line_price(film, line, profile, pricing) for line in shot.dialogue), Decimal(0))
            for shot in film.scene(scene_id).shots if shot.dialogue}
