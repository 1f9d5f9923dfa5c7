"""The voice audition: versions of a speaker's voice sample, made and approved in the bible workshop
like a turnaround (tasks/workshop/bible.py does the keeping and the promotion; this module the voice's part).

A version is the **sample line** (SAMPLE_LINE, the same for every voice) spoken by a provider voice:
one paid call through the governor — priced from the rate card, held to the caps, a ledger row at
stage `voice`, scene `bible`, shot `voice:<speaker>` — made with tasks/shot/speech.py's `speak_line`, the
call every line of dialogue is spoken by. The speaker is a character of the bible, or `narrator`
for the bible's narrator. The voice is the bible's (`characters[i].voice`, `narrator`), or with
`from_version` the parent version's; `model`, `voice_name` and `overrides` (settings) change it.
Versions are kept beside the speaker's canonical sample:

    characters/<id>/voice/versions/<n>/<id>_voice_v<n>.wav   and   .../<n>/version.json
    narrator/voice/versions/<n>/narrator_voice_v<n>.wav       and   .../<n>/version.json

with the sample text, provider, model, voice name, settings, parent, cost, call id, the sample's
measured speech, its speaker signature (media/voiceprint.py) and pace, and the **sample check**:
a sample with no voiced speech, or far less speech than its text takes at the voice's pace
(silent, cut short), cannot be approved. Approval is tasks/workshop/bible.py `promote` (history, the ledger's
`bible_approve` row, races refused) to the canonical key the film reads (`Bible.voice_sample_key`:
the voice's `sample`, else `characters/<id>/<id>_voice_APPROVED.wav`), and only for a version spoken
by the voice bible.yaml says now — else the lines would be spoken by another voice than the sample
they are judged against. The sample line's words are written beside the approved sample
(`<sample>.txt`): the speech stage reads the voice's pace from them (tasks/shot/voicing.py).

`approved_sample` is what the film reads of it: the key, its content hash (a line's voice version),
its speaker signature and pace, measured from the file (the voice gate compares lines with them).
`voice_problems` is `slate check`'s part: a voice naming a provider, model or voice that does not
exist (file and field), and a speaker with lines but no approved sample in storage (refused for a
vendor's voice; for a local voice warned of: the speech stage judges it by an interim reference).

It must never pay except through the governor, never write a canonical sample except through
`promote` (or, for a film's local voices with none yet, `sample_local_voices`: free, offline, what
`slate init --example` does), and never import Prefect at module level (the CLI reads versions
without a server).
"""
from __future__ import annotations

import io
import json
import math
import wave
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np
from pydantic import JsonValue

from slate.manifests import LoadedFilm
from slate.manifests.dialogue import NARRATOR, Voice, estimated_seconds
from slate.manifests.load import Problem
from slate.manifests.settings import Settings
from slate.media.voiceprint import Signature, pace, signature, speech_spans
from slate.providers.base import SpeechRequest, Storage
from slate.providers.spec import SPEECH
from slate.governor.ledger import Ledger
from slate.tasks.workshop.bible import (Asset, BibleError, GateRecord, Promotion, VersionRecord, version, versions,
                               write_key)

if TYPE_CHECKING:
    from slate.providers.registry import ModelRef

__all__ = ["SAMPLE_LINE", "STAGE", "ApprovedSample", "VoiceRecord", "approve_voice", "approved_sample", "voice_asset",
           "make_voice_version", "sample_check", "spoken_by_bible", "lines_of", "voice_problems"]

STAGE = "voice"   # the ledger's stage of a voice version's paid call (scene "bible", shot "voice:<speaker>")

#: What every version of every voice says: three of the Harvard sentences (IEEE Recommended Practice
#: for Speech Quality Measurements, 1969, list 1), written to hold the sounds of English in ordinary
#: proportion. One fixed text rather than the character's first line: versions and voices are then
#: compared like for like; it takes 6–9 s to say (a first line may be one word — too little speech for a
#: stable signature); the voice gate reads a voice's pace from it, which needs a known text; and a
#: rewrite of the script never changes what the approved sample is.
SAMPLE_LINE = ("The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background. "
               "It's easy to tell the depth of a well.")
#: The sample must hold at least this share of the speech its text takes at the voice's pace: a
#: silent take has none, a cut one stops early. Loose: a voice's real pace is not its `pace_wpm`
#: (the local cast speaks the sample in 0.8–1.1 of it).
MIN_SAMPLE_SPEECH = 0.5


class VoiceRecord(VersionRecord):
    """A voice version's version.json: a VersionRecord (prompt: the sample text; view, instruction:
    None) and the voice it was spoken by, and what was measured of it."""

    speaker: str
    voice: str
    settings: dict[str, JsonValue]
    seconds: float                 # the WAV's length
    speech_seconds: float          # of it, speech (media/voiceprint.py speech_spans)
    pace_cps: float | None         # characters a second of speech (the voice gate's pace)
    signature: dict[str, JsonValue] | None


@dataclass(frozen=True)
class Chosen:
    """The voice a version is spoken by, and where each of its parts was said."""

    ref: ModelRef
    voice: str
    settings: dict[str, float | int | str]
    said: dict[str, str]           # part -> where it came from (a bible field, --from N, an option)


def voice_asset(film: LoadedFilm, speaker: str) -> tuple[Asset, Voice]:
    """The speaker's voice as a workshop asset ("mia", or "narrator" for the bible's narrator)."""
    bible = film.film.bible
    if speaker == NARRATOR:
        if film.bible.narrator is None:
            raise BibleError(f"{bible}: narrator: the bible has no narrator voice (narrator: description, provider, "
                             f"voice)")
        voice, field = film.bible.narrator, "narrator"
    else:
        found = [(i, c) for i, c in enumerate(film.bible.characters) if c.id == speaker]
        if not found:
            raise BibleError(f"{bible}: no character {speaker!r} (characters: "
                             f"{', '.join(c.id for c in film.bible.characters) or 'none'}; or narrator)")
        i, character = found[0]
        field = f"characters[{i}].voice"
        if character.voice is None:
            raise BibleError(f"{bible}: {field}: character {speaker!r} has no voice: give them one (voice: "
                             f"description, provider, voice) before making a version")
        voice = character.voice
    canonical = film.bible.voice_sample_key(speaker)
    home = f"{'narrator' if speaker == NARRATOR else f'characters/{speaker}'}/voice"
    return Asset("voice", speaker, voice.description, canonical, f"{field}.sample", home=home, ext="wav"), voice


def _setting(text: str) -> tuple[str, float | int | str]:
    key, eq, raw = text.partition("=")
    if not eq or not key.strip():
        raise BibleError(f"--set {text!r}: give a setting as KEY=VALUE, e.g. --set pitch=60")
    for kind in (int, float):
        try:
            value = kind(raw)
        except ValueError:
            continue
        if not math.isfinite(value):
            raise BibleError(f"--set {text!r}: {raw!r} is not a finite number")
        return key.strip(), value
    return key.strip(), raw


def choose(film: LoadedFilm, settings: Settings, asset: Asset, voice: Voice, *, parent: VoiceRecord | None,
           model: str | None, voice_name: str | None, overrides: tuple[str, ...]) -> Chosen:
    """The voice a version is spoken by, every part checked before anything is paid: the bible's
    voice (or the parent's), with `--model`, `--voice` and `--set` over it."""
    from slate.providers.registry import UnknownProvider, speech_model, unknown_voice
    bible = film.film.bible
    field = asset.field.removesuffix(".sample")
    if parent is not None:
        origin = f"--from {parent['version']}"
        provider, name = parent["provider"], parent["voice"]
        base_model: str | None = parent["model"]
        base = cast(dict[str, float | int | str], dict(parent["settings"]))
        said = {"provider": origin, "model": origin, "voice": origin}
    else:
        provider, base_model, name, base = voice.provider, voice.model, voice.voice, dict(voice.settings)
        said = {"provider": f"{bible}: {field}.provider", "model": f"{bible}: {field}.model",
                "voice": f"{bible}: {field}.voice"}
    if model is not None:
        asked, _, rest = model.partition(":")
        if rest and asked != provider and voice_name is None:
            raise BibleError(f"{asset.name}: --model {model}: {name!r} is a {provider} voice; give a voice of "
                             f"{asked} too (--voice NAME)")
        provider, base_model = (asked, rest) if rest else (provider, model)
        said["provider"] = said["model"] = "--model"
    if voice_name is not None:
        name, said["voice"] = voice_name, "--voice"
    try:
        ref = speech_model(provider, base_model, settings.profile)
    except UnknownProvider as exc:
        raise BibleError(f"{asset.name}: {said['model']}: {exc}") from None
    chosen = {**base, **dict(_setting(s) for s in overrides)}
    said["settings"] = "--set" if overrides else said["voice"].replace(".voice", ".settings")
    why = unknown_voice(ref, name)
    if why is None and ref.provider == "local":
        why = _local_refusal(name, {})
        if why is None and (why := _local_refusal(name, chosen)) is not None:
            raise BibleError(f"{asset.name}: {said['settings']}: {why}")
    if why is not None:
        raise BibleError(f"{asset.name}: {said['voice']}: {why}")
    return Chosen(ref, name, chosen, said)


def _local_refusal(name: str, settings: Mapping[str, object]) -> str | None:
    from slate.providers.registry import local_voice_refusal
    return local_voice_refusal(name, settings)


# -- the sample check -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Measured:
    seconds: float
    speech_seconds: float
    pace_cps: float | None
    signature: dict[str, JsonValue] | None
    gate: GateRecord


def _samples(wav: bytes) -> tuple[np.ndarray, int]:
    with wave.open(io.BytesIO(wav), "rb") as src:
        return np.frombuffer(src.readframes(src.getnframes()), dtype="<i2"), src.getframerate()


def sample_check(wav: bytes, text: str, pace_wpm: int) -> Measured:
    """What a sample is measured as, and whether it may be approved: it has voiced speech to read a
    signature from, and at least MIN_SAMPLE_SPEECH of the speech its text takes at `pace_wpm`."""
    samples, rate = _samples(wav)
    spans = speech_spans(samples, rate)
    speech = sum(s.seconds for s in spans)
    expected = estimated_seconds(text, pace_wpm)
    sig = signature(samples, rate) if spans else None
    share = speech / expected
    scores: list[dict[str, JsonValue]] = [
        {"name": "speech", "value": round(share, 3), "threshold": MIN_SAMPLE_SPEECH,
         "passed": share >= MIN_SAMPLE_SPEECH, "role": "block",
         "reason": f"{speech:.2f} s of speech where the sample line takes about {expected:.1f} s at "
                   f"{pace_wpm} words a minute" + ("" if share >= MIN_SAMPLE_SPEECH else ": silent or cut short")},
        {"name": "voiced", "value": None if sig is None else round(sig.voiced_seconds, 3), "threshold": None,
         "passed": sig is not None, "role": "block",
         "reason": "voiced speech to read a speaker signature from" if sig is not None
                   else "no voiced frame: no speaker signature can be read from it"}]
    failing = [f"{s['name']}: {s['reason']}" for s in scores if not s["passed"]]
    return Measured(seconds=len(samples) / rate, speech_seconds=round(speech, 3),
                    pace_cps=round(pace(text, samples, rate), 3) if spans else None,
                    signature=cast(dict[str, JsonValue], sig.as_dict()) if sig is not None else None,
                    gate={"passed": not failing, "failing": failing, "scores": scores})


# -- making a version -----------------------------------------------------------------------------
def make_voice_version(root: Path, film: LoadedFilm, settings: Settings, speaker: str, *, model: str | None = None,
                       parent: int | None = None, voice_name: str | None = None,
                       overrides: tuple[str, ...] = ()) -> VoiceRecord:
    """One new version of the speaker's voice sample, paid through the governor, checked, stored."""
    from slate.providers.registry import storage_for
    from slate.tasks.workshop.bible import workshop_run
    from slate.tasks.run.run import open_run
    asset, voice = voice_asset(film, speaker)
    storage = storage_for(root, settings)
    parent_rec = cast(VoiceRecord, version(storage, asset, parent, "--from")) if parent is not None else None
    chosen = choose(film, settings, asset, voice, parent=parent_rec, model=model, voice_name=voice_name,
                    overrides=overrides)
    with open_run(workshop_run(root, film, settings, None)) as run:
        return _spoken(run, asset, voice, chosen, parent)


def _spoken(run: object, asset: Asset, voice: Voice, chosen: Chosen, parent: int | None) -> VoiceRecord:
    import hashlib

    from slate.tasks.run.run import Run
    from slate.tasks.shot.speech import LineTake, speak_line
    from slate.tasks.shot.take_inputs import Maker
    assert isinstance(run, Run)
    st = run.crew
    storage = st.storage
    n = max((v["version"] for v in versions(storage, asset)), default=0) + 1
    speaker = asset.ident
    voice_gen = st.service(SPEECH, str(chosen.ref))
    # The version number is the seed: a new version of the same voice is a new take where the model
    # takes a seed (the local voice is the same every time: a version from it changes a setting).
    given = LineTake(shot=f"voice:{speaker}", line=0, speaker=speaker, take=n, voice_version="audition",
                     request=SpeechRequest(SAMPLE_LINE, chosen.voice, chosen.settings, seed=n),
                     maker=Maker.of(voice_gen, run.profile), pace_wpm=voice.pace_wpm)
    context = run.call_at(f"voice:{speaker}", STAGE, n, chosen.ref.provider, chosen.ref.model)
    took = speak_line(st.governor, voice_gen, given, context)
    data = storage.get_bytes(took.uri)
    row = st.governor.ledger.find(took.call_id)
    cost = Decimal(0) if took.reused else Decimal(row.actual_cost if row.actual_cost is not None else row.estimate)
    measured = sample_check(data, SAMPLE_LINE, voice.pace_wpm)
    record: VoiceRecord = {
        "version": n, "asset": f"voice:{speaker}", "key": asset.version_key(n),
        "sha256": hashlib.sha256(data).hexdigest(), "prompt": SAMPLE_LINE, "provider": chosen.ref.provider,
        "model": chosen.ref.model, "parent": parent, "view": None, "instruction": None,
        "cost_usd": str(cost), "call_id": took.call_id,
        "reused": took.reused, "made_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "gate": measured.gate, "speaker": speaker, "voice": chosen.voice,
        "settings": cast(dict[str, JsonValue], dict(chosen.settings)), "seconds": round(measured.seconds, 3),
        "speech_seconds": measured.speech_seconds, "pace_cps": measured.pace_cps, "signature": measured.signature}
    write_key(storage, asset.version_key(n), data)
    write_key(storage, asset.record_key(n), json.dumps(record, indent=2, sort_keys=True).encode())
    return record


# -- the approved sample, as the film reads it ------------------------------------------------------
@dataclass(frozen=True)
class ApprovedSample:
    """A speaker's approved sample as the speech stage and the voice gate read it: its key and content
    hash (a line's `voice_version`), its speaker signature and its pace in characters a second."""

    key: str
    sha256: str
    signature: Signature | None
    pace_cps: float | None


def approved_sample(storage: Storage, film: LoadedFilm, speaker: str) -> ApprovedSample | None:
    """The speaker's approved sample, measured now from the file (so a sample placed by hand is read
    the same way as one the workshop approved); None when there is none."""
    import hashlib
    key = film.bible.voice_sample_key(speaker)
    if not storage.key_exists(key):
        return None
    data = storage.read_key(key)
    samples, rate = _samples(data)
    has_speech = bool(speech_spans(samples, rate))
    return ApprovedSample(key, hashlib.sha256(data).hexdigest(), signature(samples, rate) if has_speech else None,
                          pace(SAMPLE_LINE, samples, rate) if has_speech else None)


# -- approval -------------------------------------------------------------------------------------
def spoken_by_bible(film: LoadedFilm, settings: Settings, asset: Asset, voice: Voice, rec: VoiceRecord) -> None:
    """BibleError, naming the field, when version `rec` was not spoken by the voice bible.yaml says
    now (provider, model, voice name, settings): the film's lines would be spoken by that voice and
    judged against a sample of another. Write the version's voice into bible.yaml, then approve."""
    differ = voice_differs(settings, asset.field.removesuffix(".sample"), voice, rec, f"version {rec['version']}")
    if differ:
        raise BibleError(f"{asset.name}: --version {rec['version']} was spoken by another voice than "
                         f"{film.film.bible} says: {'; '.join(differ)}. Put the version's voice into "
                         f"{film.film.bible}, then approve it: not promoted")


def voice_differs(settings: Settings, field: str, voice: Voice, spoken: Mapping[str, object], what: str) -> list[str]:
    """Where the voice `spoken` by (a version's record, or an approved sample's `voice_key` note:
    provider, model, voice, settings) differs from `voice`, the bible's now: each as
    "<field>.voice: 'female_high' (<what>: 'male_low')"; empty when it is the same voice."""
    from slate.providers.registry import UnknownProvider, speech_model
    try:
        ref = speech_model(voice.provider, voice.model, settings.profile)
        wanted = (ref.provider, ref.model)
    except UnknownProvider:
        wanted = (voice.provider, voice.model or "")
    differ = []
    if (spoken["provider"], spoken["model"]) != wanted:
        differ.append(f"{field}.model: {wanted[0]}:{wanted[1]} ({what}: {spoken['provider']}:{spoken['model']})")
    if spoken["voice"] != voice.voice:
        differ.append(f"{field}.voice: {voice.voice!r} ({what}: {spoken['voice']!r})")
    if dict(cast(Mapping[str, object], spoken["settings"])) != dict(voice.settings):
        differ.append(f"{field}.settings: {dict(voice.settings)} ({what}: {spoken['settings']})")
    return differ


def voice_key(sample_key: str) -> str:
    """Where the voice that spoke the approved sample is noted beside it (`<sample>.voice.json`:
    provider, model, voice, settings): `slate check` holds the bible's voice to it."""
    return words_key(sample_key).removesuffix(".txt") + ".voice.json"


def _note_voice(storage: Storage, sample_key: str, spoken: Mapping[str, object]) -> None:
    write_key(storage, voice_key(sample_key), json.dumps({k: spoken[k] for k in ("provider", "model", "voice",
                                                                                 "settings")}).encode())


def sample_voice(storage: Storage, asset: Asset) -> dict[str, object] | None:
    """The voice that spoke the approved sample: its note (`voice_key`), else the workshop version
    whose sound it is; None when neither says (a sample placed by hand before notes were kept)."""
    import hashlib
    if not storage.key_exists(asset.canonical):
        return None
    if storage.key_exists(voice_key(asset.canonical)):
        try:
            noted = json.loads(storage.read_key(voice_key(asset.canonical)))
            if isinstance(noted, dict) and {"provider", "model", "voice", "settings"} <= set(noted):
                return noted
        except ValueError:
            pass
    sha = hashlib.sha256(storage.read_key(asset.canonical)).hexdigest()
    found = [v for v in versions(storage, asset) if v.get("sha256") == sha]
    return cast(dict[str, object], found[-1]) if found else None


def words_key(sample_key: str) -> str:
    """Where the approved sample's words lie beside it (`<sample>.txt`): the speech stage reads the
    voice's pace from them (tasks/shot/voicing.py reference_of)."""
    return sample_key.rsplit(".", 1)[0] + ".txt" if "." in sample_key.rsplit("/", 1)[-1] else sample_key + ".txt"


def approve_voice(root: Path, film: LoadedFilm, settings: Settings, speaker: str, n: int, *, by: str,
                  storage: Storage, ledger: Ledger, expect_sha256: str | None = None) -> Promotion:
    """Version `n` of the speaker's voice made their approved sample: refused (BibleError) for a
    version that is missing, failed its sample check, or was spoken by another voice than bible.yaml
    gives now; else tasks/workshop/bible.py `promote` (history, the ledger's decision, races refused), and
    the sample line's words written beside the sample."""
    from slate.tasks.workshop.bible import promote
    asset, voice = voice_asset(film, speaker)
    rec = cast(VoiceRecord, version(storage, asset, n))
    spoken_by_bible(film, settings, asset, voice, rec)
    done = promote(root, film, asset, n, by=by, storage=storage, ledger=ledger, expect_sha256=expect_sha256)
    write_key(storage, words_key(asset.canonical), rec["prompt"].encode())
    _note_voice(storage, asset.canonical, cast(Mapping[str, object], rec))
    return done


def lines_of(film: LoadedFilm, speaker: str) -> dict[str, list[str]]:
    """The lines a speaker says: "<scene>/<shot>" -> their texts (what a newly approved voice speaks
    again on the next run: a line's key holds its voice's approved sample)."""
    out: dict[str, list[str]] = {}
    for _, sc in film.scenes:
        for s in sc.shots:
            said = [line.text for line in s.dialogue if line.speaker == speaker]
            if said:
                out[f"{sc.id}/{s.id}"] = said
    return out


# -- slate check ----------------------------------------------------------------------------------
def voice_problems(film: LoadedFilm, settings: Settings, storage: Storage,
                   scenes: list[str]) -> tuple[list[Problem], list[Problem]]:
    """What `slate check` says of the voices, before anything is spent: (problems, notes).
    Refused: a voice of the bible naming a provider, model or voice that does not exist (the bible
    file and the field); a speaker of a line in `scenes` whose approved sample is unusable, or who
    has none and speaks with a vendor's voice (the speech stage has nothing to judge their lines
    by, tasks/shot/voicing.py, so they would escalate unspoken). Noted (`slate check`'s coverage lines): a
    local voice with no approved sample (its lines are judged against an interim reference)."""
    from slate.providers.registry import UnknownProvider, speech_model, unknown_voice
    problems: list[Problem] = []
    warnings: list[Problem] = []
    bible = film.film.bible
    fields = {c.id: f"characters[{i}].voice" for i, c in enumerate(film.bible.characters)}
    fields[NARRATOR] = "narrator"
    for speaker, voice in film.bible.voices().items():
        if voice is None:
            continue
        field = fields[speaker]
        try:
            ref = speech_model(voice.provider, voice.model, settings.profile)
        except UnknownProvider as exc:
            problems.append(Problem(bible, None, f"{field}.{'model' if voice.model else 'provider'}", str(exc)))
            continue
        why = unknown_voice(ref, voice.voice)
        if why is None and ref.provider == "local":
            why = _local_refusal(voice.voice, voice.settings)
        if why is not None:
            problems.append(Problem(bible, None, f"{field}.voice", why))
    voices = film.bible.voices()
    approved: dict[str, str | None] = {}
    stale: dict[str, str | None] = {}
    for key, sc in film.scenes:
        if sc.id not in scenes:
            continue
        for s in sc.shots:
            named: set[str] = set()
            for i, line in enumerate(s.dialogue):
                voice = voices.get(line.speaker)
                if voice is None or line.speaker in named:
                    continue   # an unknown speaker or one with no voice: the manifest's own problem
                named.add(line.speaker)
                sample = film.bible.voice_sample_key(line.speaker)
                if line.speaker not in approved:
                    approved[line.speaker] = _unusable(storage, sample, voice.pace_wpm)
                why = approved[line.speaker]
                if why is None:
                    if line.speaker not in stale:
                        stale[line.speaker] = _stale(film, settings, storage, line.speaker, voice)
                    said = stale[line.speaker]
                    if said:
                        problems.append(Problem(bible, None, fields[line.speaker], said))
                    continue
                make = (f"make one with `slate bible voice DIR {line.speaker}` and approve it (`slate bible approve "
                        f"DIR {line.speaker} --voice --version N`)")
                if why == "is missing" and voice.provider == "local":
                    warnings.append(Problem(key, s.id, f"dialogue[{i}].speaker", (
                        f"{line.speaker!r} has no approved voice sample ({sample} is missing): its lines are judged "
                        f"against an interim reference of the local voice until one is approved; {make}")))
                else:
                    problems.append(Problem(key, s.id, f"dialogue[{i}].speaker", (
                        f"{line.speaker!r} has no approved voice sample ({sample} {why}): {make}")))
    return problems, warnings


def _stale(film: LoadedFilm, settings: Settings, storage: Storage, speaker: str, voice: Voice) -> str | None:
    """Why the speaker's approved sample no longer speaks for their voice — bible.yaml names another
    voice, model or settings than the one that spoke it: their lines would be spoken by the new voice
    and judged against the old one's sample, failing the voice gate take after take — or None."""
    asset, _ = voice_asset(film, speaker)
    spoken = sample_voice(storage, asset)
    if spoken is None:
        return None
    differ = voice_differs(settings, asset.field.removesuffix(".sample"), voice, spoken, "its approved sample's")
    if not differ:
        return None
    return (f"{speaker}'s approved voice sample ({asset.canonical}) was spoken by another voice than "
            f"{film.film.bible} gives now: {'; '.join(differ)}. Make a sample of the new voice and approve it "
            f"(`slate bible voice DIR {speaker}`, then `slate bible approve DIR {speaker} --voice --version N`), or "
            f"put the old voice back")


def _unusable(storage: Storage, key: str, pace_wpm: int) -> str | None:
    """Why the sample at `key` cannot be a voice's approved sample ("is missing", "is not …"), or
    None: it must be a 16-bit mono WAV at a rate a voice comes at, hold every sample its header
    says, and pass the check a version passes to be approved (`sample_check`: speech to read a
    signature and a pace from, at least MIN_SAMPLE_SPEECH of what its words take at the voice's
    pace) — what the speech stage reads it for, so a run never pays for clips and then fails on it."""
    from slate.providers.audio import wav_seconds
    from slate.providers.errors import BadOutput
    if not storage.key_exists(key):
        return "is missing"
    data = storage.read_key(key)
    try:
        wav_seconds("sample", data, what="it")
    except BadOutput as exc:
        return f"is unusable: {str(exc).removeprefix('sample: ')}"
    with wave.open(io.BytesIO(data), "rb") as src:
        rate, declared = src.getframerate(), src.getnframes()
        held = len(src.readframes(declared)) // 2
    if held < declared:
        return (f"is truncated: its header says {declared / rate:.2f} s, the file holds {held / rate:.2f} s; "
                f"approve a whole one")
    said = key.rsplit(".", 1)[0] + ".txt"   # the sample's words, where the workshop wrote them beside it
    text = storage.read_key(said).decode("utf-8", "replace") if storage.key_exists(said) else SAMPLE_LINE
    measured = sample_check(data, text if text.strip() else SAMPLE_LINE, pace_wpm)
    if not measured.gate["passed"]:
        return "is unusable: " + "; ".join(str(f) for f in measured.gate["failing"])
    return None


# -- the example film -----------------------------------------------------------------------------
def sample_local_voices(root: Path) -> list[str]:
    """The approved samples of the film's local voices that have none yet, spoken on this machine
    (the sample line, registry.offline_line: free, no governor, the same bytes every time) and
    written with their words beside them: what `slate init --example` does after writing the
    example film, whose voices are local — as its turnarounds are drawn, its voices are sampled, so
    its lines are judged against an approved sample from the first run. A vendor's voice is never
    sampled here (that is a paid version and a person's approval). Returns the keys written."""
    from slate.manifests import load_film
    from slate.providers.registry import offline_line, speech_model
    from slate.providers.storage_local import LocalStorage
    film = load_film(root)
    storage = LocalStorage(Path(root))
    written = []
    for speaker, voice in sorted(film.bible.voices().items()):
        if voice is None or voice.provider != "local":
            continue
        key = film.bible.voice_sample_key(speaker)
        if storage.key_exists(key):
            continue
        write_key(storage, key, offline_line(voice.voice, voice.settings, SAMPLE_LINE).wav)
        write_key(storage, words_key(key), SAMPLE_LINE.encode())
        ref = speech_model(voice.provider, voice.model, "draft")   # the local voice: one model at every profile
        _note_voice(storage, key, {"provider": ref.provider, "model": ref.model, "voice": voice.voice,
                                   "settings": dict(voice.settings)})
        written.append(key)
    return written
