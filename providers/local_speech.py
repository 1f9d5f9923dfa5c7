"""The local provider's voices: real synthesised speech, offline, from eSpeak NG.

eSpeak NG's library and its data come in the PyPI wheel `espeakng-loader` (a dependency of
slate: nothing is installed on the machine, no root, no network). The library is called through
ctypes in its synchronous mode: `espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, …, data path)`, a
synth callback that collects the int16 samples, `espeak_SetVoiceByName` and `espeak_SetParameter`
(rate, pitch, range), `espeak_Synth`, `espeak_Synchronize`.

A voice is a name plus settings (`LocalVoice("en+f3", pitch=70, range=60, rate=165)`): an eSpeak
language and an optional `+variant` (a file of the data's `voices/!v`). `speak(text, voice)`
gives `Speech` (PCM int16 mono and its sample rate); `wav_bytes`/`write_wav` write it as a WAV
with the stdlib `wave` module.

Deterministic: the same text and voice give the same samples. eSpeak keeps state between
utterances that neither espeak_Terminate nor espeak_Initialize resets (the pitch flutter's phase is
a function-static counter in its wave generator; its random seed is global), so two calls with the
same text differ by a few samples. Each utterance is therefore spoken by a freshly loaded copy of
the library: a private copy of the wheel's .so (so no other user of the wheel in this process
shares its handle) is dlopened, initialised, made to speak and dlclosed — about 6 ms. The library
is process-global, so one lock serialises it.

Faults (`SPEECH_FAULT_KINDS`, named in SLATE_LOCAL_FAULT_KINDS like the picture faults of
local_draw.py) are pure functions over a spoken line, so a voice gate can be measured:
`wrong_voice` (the line spoken in another character's voice), `silent_line` (near-silence of the
line's length) and `cut_line` (the line stopped at 25–55% of its length). `faulty_line` applies one.

`LocalSpeech` is the local provider's speech capability (providers/base.py SpeechGenerator, model
`local-espeak-v1`, priced at $0 on the rate card): a SpeechRequest's voice is a name of the local
cast or any eSpeak voice name, its settings pitch, range and rate; the delivery words "fast" and
"slow" change the pace (eSpeak has no way to whisper or shout a line: the other words are not
rendered). With the fault mode on, a seeded share of lines comes back wrong as above. Like the
local painter it books each request it receives by our call id before it speaks, and keeps the
line by it: a run that died before its answer looks it up (`recover`) and pays nothing again.

It must never reach the network, never read a key.
"""
from __future__ import annotations

import _ctypes
import atexit
import ctypes
import io
import json
import os
import shutil
import tempfile
import threading
import wave
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from slate.providers.audio import spoken_line
from slate.providers.base import SpeechRequest, SpokenLine, Storage
from slate.providers.errors import BadRequest, NotReceived
from slate.providers.local_draw import choose_fault
from slate.providers.storage_local import LocalStorage, append_entry, process_alive, write_atomic

# Faults of spoken lines (never drawn on pictures or clips): a line in another character's
# voice, a silent line, a line cut off well before its end.
SPEECH_FAULT_KINDS = ("wrong_voice", "silent_line", "cut_line")

# speak_lib.h
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_EE_OK = 0
_RATE, _PITCH, _RANGE = 1, 3, 4

_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)

#: eSpeak's own bounds of the settings a LocalVoice carries (words per minute; 0–100)
RATE_BOUNDS = (80, 450)
PITCH_BOUNDS = (0, 100)
RANGE_BOUNDS = (0, 100)


@dataclass(frozen=True)
class LocalVoice:
    """An eSpeak NG voice with its settings: `name` is a language (`en`, `en-us`) and an optional
    `+variant` (`en+f3`); pitch and range 0–100 (eSpeak's 50 is the voice's own); rate in words
    per minute."""

    name: str
    pitch: int = 50
    range: int = 50
    rate: int = 165

    def __post_init__(self) -> None:
        for what, value, (lo, hi) in (("pitch", self.pitch, PITCH_BOUNDS), ("range", self.range, RANGE_BOUNDS),
                                      ("rate", self.rate, RATE_BOUNDS)):
            if not lo <= value <= hi:
                raise BadRequest(f"local voice {self.name!r}: {what} {value} is outside {lo}–{hi}", provider="local")

    def label(self) -> str:
        return f"{self.name} pitch {self.pitch} range {self.range} rate {self.rate}"


#: The local cast: voices recognisably different from each other (variant timbre and pitch), two
#: female and two male, plus a child and a narrator. Characters of a film are given one of these
#: (or any LocalVoice) by name.
LOCAL_VOICES: dict[str, LocalVoice] = {
    "female_low": LocalVoice("en+f2", pitch=45, range=45, rate=160),
    "female_high": LocalVoice("en+linda", pitch=55, range=60, rate=170),
    "male_low": LocalVoice("en+edward", pitch=30, range=40, rate=150),
    "male_high": LocalVoice("en+klatt", pitch=75, range=55, rate=175),
    "child": LocalVoice("en+f5", pitch=95, range=70, rate=180),
    "narrator": LocalVoice("en-us+m2", pitch=50, range=30, rate=145),
}


@dataclass(frozen=True)
class Speech:
    """A spoken line: PCM int16 mono samples at `rate` Hz."""

    samples: np.ndarray = field(repr=False)
    rate: int

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.rate


def wav_bytes(speech: Speech) -> bytes:
    """The line as a WAV file (16-bit PCM mono)."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(speech.rate)
        out.writeframes(np.asarray(speech.samples, dtype="<i2").tobytes())
    return buf.getvalue()


def write_wav(speech: Speech, path: Path) -> Path:
    path.write_bytes(wav_bytes(speech))
    return path


def read_wav(path: Path) -> Speech:
    """A 16-bit mono WAV as Speech (what write_wav wrote, or a sample approved elsewhere): read by
    media.voiceprint.read_pcm16, the one reader of a spoken line."""
    from slate.media.voiceprint import read_pcm16
    try:
        samples, rate = read_pcm16(path)
    except ValueError as exc:
        raise BadRequest(str(exc), provider="local") from None
    return Speech(samples, rate)


#: The folder each process's copy of the library lives in: ENGINE_PREFIX, its pid, a dash.
ENGINE_PREFIX = "slate-espeak-"


def sweep_engines(tmp: Path) -> list[Path]:
    """Remove the library copies of processes that are gone (killed before their exit could),
    and say which; a live process's copy, or a folder not named by a pid, is left alone."""
    gone = []
    for folder in tmp.glob(f"{ENGINE_PREFIX}*-*"):
        pid = folder.name[len(ENGINE_PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or process_alive(int(pid)):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        gone.append(folder)
    return gone


class _Engine:
    """The eSpeak NG library, one utterance at a time (module docstring: a fresh copy per line)."""

    def __init__(self) -> None:
        import espeakng_loader   # imported here: a process that never speaks never needs the wheel

        self.lock = threading.Lock()
        self.data_path = espeakng_loader.get_data_path()
        self.variants = Path(self.data_path) / "voices" / "!v"
        # Named by this process's id, so that the copy of a process killed before its exit (a
        # SIGKILL, a crash test) is found and removed by the next engine made on this machine.
        sweep_engines(Path(tempfile.gettempdir()))
        self._dir = tempfile.mkdtemp(prefix=f"{ENGINE_PREFIX}{os.getpid()}-")
        atexit.register(shutil.rmtree, self._dir, True)
        self.library = str(Path(self._dir) / "libespeak-ng.so")
        shutil.copyfile(espeakng_loader.get_library_path(), self.library)
        self._chunks: list[np.ndarray] = []
        self._callback = _CALLBACK(self._collect)   # kept alive as long as the engine
        self._known: dict[str, bool] = {}

    def _collect(self, wav: ctypes._Pointer[ctypes.c_short], n: int, _events: int | None) -> int:
        if wav and n > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).astype(np.int16))
        return 0   # go on

    def _load(self) -> tuple[ctypes.CDLL, int]:
        lib = ctypes.CDLL(self.library)
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
                                     ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, self.data_path.encode(), 0)
        if rate <= 0:
            _ctypes.dlclose(lib._handle)
            raise RuntimeError(f"eSpeak NG did not start (data at {self.data_path})")
        lib.espeak_SetSynthCallback(self._callback)
        lib.espeak_ng_SetRandSeed(1)
        return lib, int(rate)

    def _unload(self, lib: ctypes.CDLL) -> None:
        lib.espeak_Terminate()
        _ctypes.dlclose(lib._handle)

    def check(self, voice: LocalVoice) -> None:
        """A voice eSpeak has, or BadRequest naming it: its language is one SetVoiceByName takes
        and its variant a file of the data's voices/!v (eSpeak itself silently ignores an
        unknown variant)."""
        language, _, variant = voice.name.partition("+")
        if variant and not (self.variants / variant).is_file():
            known = ", ".join(sorted(p.name for p in self.variants.iterdir())[:12])
            raise BadRequest(f"unknown local voice {voice.name!r}: eSpeak NG has no variant {variant!r} "
                             f"(variants are files of {self.variants}, e.g. {known}, …)", provider="local")
        if language not in self._known:
            with self.lock:
                lib, _ = self._load()
                try:
                    self._known[language] = lib.espeak_SetVoiceByName(language.encode()) == _EE_OK
                finally:
                    self._unload(lib)
        if not self._known[language]:
            raise BadRequest(f"unknown local voice {voice.name!r}: eSpeak NG has no language {language!r}",
                             provider="local")

    def speak(self, text: str, voice: LocalVoice) -> Speech:
        self.check(voice)
        with self.lock:
            lib, rate = self._load()
            try:
                self._chunks = []
                if lib.espeak_SetVoiceByName(voice.name.encode()) != _EE_OK:
                    raise BadRequest(f"unknown local voice {voice.name!r}", provider="local")
                for param, value in ((_RATE, voice.rate), (_PITCH, voice.pitch), (_RANGE, voice.range)):
                    lib.espeak_SetParameter(param, value, 0)
                raw = text.encode("utf-8")
                status = lib.espeak_Synth(raw, len(raw) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
                lib.espeak_Synchronize()
                if status != _EE_OK:
                    raise RuntimeError(f"eSpeak NG refused to speak {text[:40]!r} (status {status})")
                samples = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
            finally:
                self._chunks = []
                self._unload(lib)
        return Speech(samples, rate)


_engine: _Engine | None = None
_engine_lock = threading.Lock()


def _the_engine() -> _Engine:
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = _Engine()
        return _engine


def check_voice(voice: LocalVoice) -> None:
    """Raise BadRequest naming the voice when eSpeak NG has no such voice."""
    _the_engine().check(voice)


def speak(text: str, voice: LocalVoice) -> Speech:
    """`text` spoken by `voice`: the same text and voice always give the same samples."""
    if not text.strip():
        raise BadRequest("a line to speak has no text", provider="local")
    return _the_engine().speak(text, voice)


# --- faults: pure functions over a spoken line ---------------------------------------------------

def _rng(*parts: object) -> np.random.Generator:
    import hashlib
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


def other_voice(voice: LocalVoice, cast: list[LocalVoice] | tuple[LocalVoice, ...], seed: int = 0) -> LocalVoice:
    """Another voice of the cast than `voice` (seeded): whose voice a `wrong_voice` line is in."""
    others = [v for v in cast if v != voice]
    if not others:
        raise ValueError(f"no other voice than {voice.label()} in the cast to speak a wrong_voice line")
    return others[int(_rng("other-voice", seed, voice).integers(0, len(others)))]


def silenced(speech: Speech, seed: int = 0) -> Speech:
    """Near-silence of the line's length: a dither of ±2 LSB (about -80 dBFS), as a model that
    returned an empty take would."""
    noise = _rng("silent", seed, len(speech.samples)).integers(-2, 3, size=len(speech.samples))
    return Speech(noise.astype(np.int16), speech.rate)


def cut_short(speech: Speech, seed: int = 0) -> Speech:
    """The line stopped at 25–55% of its length (seeded): either the file ends there, or what
    follows is silence to the line's full length (a model that stopped speaking but not writing)."""
    rng = _rng("cut", seed, len(speech.samples))
    keep = int(len(speech.samples) * rng.uniform(0.25, 0.55))
    head = speech.samples[:keep]
    if rng.random() < 0.5:
        return Speech(head.copy(), speech.rate)
    return Speech(np.concatenate([head, np.zeros(len(speech.samples) - keep, np.int16)]), speech.rate)


def faulty_line(kind: str, text: str, voice: LocalVoice, *, cast: list[LocalVoice] | tuple[LocalVoice, ...] = (),
                seed: int = 0) -> Speech:
    """`text` as `voice` would speak it, gone wrong the way `kind` (SPEECH_FAULT_KINDS) says."""
    if kind == "wrong_voice":
        return speak(text, other_voice(voice, cast or tuple(LOCAL_VOICES.values()), seed))
    if kind == "silent_line":
        return silenced(speak(text, voice), seed)
    if kind == "cut_line":
        return cut_short(speak(text, voice), seed)
    raise ValueError(f"unknown speech fault kind {kind!r} (known: {', '.join(SPEECH_FAULT_KINDS)})")


# --- the local provider's speech capability -------------------------------------------------------

#: The model the rate card prices the local voice as ($0).
LOCAL_SPEECH_MODEL = "local-espeak-v1"
#: How the delivery words eSpeak can do change a voice's pace (words a minute, times this).
PACE_OF_DELIVERY = {"fast": 1.15, "slow": 0.85}
#: The settings a local voice takes (LocalVoice's own fields).
VOICE_SETTINGS = ("pitch", "range", "rate")


def local_voice(name: str, settings: dict[str, object] | None = None, delivery: tuple[str, ...] = ()) -> LocalVoice:
    """The voice a request names: one of LOCAL_VOICES, or any eSpeak voice name, with `settings`
    (pitch, range, rate: whole numbers) over it and the pace its delivery words ask. BadRequest
    names a setting it does not take."""
    base = LOCAL_VOICES.get(name, None)
    fields = {"pitch": 50, "range": 50, "rate": 165} if base is None else \
        {"pitch": base.pitch, "range": base.range, "rate": base.rate}
    for key, value in (settings or {}).items():
        if key not in VOICE_SETTINGS:
            raise BadRequest(f"local voice {name!r}: no setting {key!r} (it takes {', '.join(VOICE_SETTINGS)})",
                             provider="local")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
            raise BadRequest(f"local voice {name!r}: {key} must be a whole number, not {value!r}", provider="local")
        fields[key] = int(value)
    for word in delivery:
        if word in PACE_OF_DELIVERY:
            fields["rate"] = max(RATE_BOUNDS[0], min(RATE_BOUNDS[1], round(fields["rate"] * PACE_OF_DELIVERY[word])))
    return LocalVoice(base.name if base is not None else name, **fields)


class LocalSpeech:
    """A SpeechGenerator on this machine: eSpeak NG, deterministic, free."""

    name = "local"

    def __init__(self, storage: Storage | None = None, *, fault_rate: float = 0.0, fault_seed: int = 0,
                 fault_kinds: tuple[str, ...] = (), variant: dict[str, object] | None = None):
        self.model = LOCAL_SPEECH_MODEL
        self.storage = storage
        self.fault_rate, self.fault_seed, self.fault_kinds = fault_rate, fault_seed, tuple(fault_kinds)
        self.variant = dict(variant or {})

    def speak(self, request: SpeechRequest, *, client_ref: str | None = None) -> SpokenLine:
        book = self._book()
        if client_ref and book is not None:
            # Received, booked before any work: a lookup of this call id finds the request even if
            # this process dies while speaking it.
            write_atomic(book / f"{client_ref}.request.json", json.dumps(asdict(request), sort_keys=True).encode())
            append_entry(book / "submissions.jsonl", {"client_ref": client_ref, "fingerprint": request.fingerprint()})
        line = self._spoken(request)
        if client_ref and book is not None:
            write_atomic(book / f"{client_ref}.wav", line.wav)
        return line

    def _spoken(self, request: SpeechRequest) -> SpokenLine:
        voice = local_voice(request.voice, request.settings, request.delivery)
        fault = choose_fault(self.fault_rate, self.fault_seed, self.fault_kinds, "line", request.fingerprint())
        if fault in SPEECH_FAULT_KINDS:
            speech = faulty_line(fault, request.text, voice, seed=request.seed or 0)
        else:   # a picture's or a clip's fault leaves a line as spoken
            speech = speak(request.text, voice)
        return spoken_line(self.name, wav_bytes(speech), len(request.text))

    def _book(self) -> Path | None:
        return None if self.storage is None else self.storage.root / ".slate" / "local-jobs" / "speech"

    def recover(self, client_ref: str) -> SpokenLine | None:
        """The line spoken for our call id; one received and never finished (its process died) is
        spoken now, from the request it booked; NotReceived when this folder's book (complete for a
        film on this disk) has no receipt of it; None for a film in a bucket (another worker may
        have received it)."""
        book = self._book()
        if book is None:
            return None
        kept = book / f"{client_ref}.wav"
        if kept.is_file():
            data = kept.read_bytes()
            request = self._booked(book, client_ref)
            return spoken_line(self.name, data, len(request.text) if request else 0)
        request = self._booked(book, client_ref)
        if request is None:
            if not isinstance(self.storage, LocalStorage):
                return None
            raise NotReceived(f"the local voice never received call {client_ref}", provider=self.name)
        line = self._spoken(request)
        write_atomic(kept, line.wav)
        return line

    @staticmethod
    def _booked(book: Path, client_ref: str) -> SpeechRequest | None:
        receipt = book / f"{client_ref}.request.json"
        if not receipt.is_file():
            return None
        fields = json.loads(receipt.read_text())
        return SpeechRequest(**{**fields, "delivery": tuple(fields.get("delivery") or ())})

    def submissions(self) -> list[dict[str, object]]:
        """The voice's own book of lines it was asked for by a governor (what a test counts)."""
        book = self._book()
        path = book / "submissions.jsonl" if book is not None else None
        if path is None or not path.is_file():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

