"""The rate card: what one provider call costs, in exact dollars.

What it is for: turning the ``Usage`` of a call (output seconds at a resolution, images,
judge tokens, a spoken line's characters and seconds, the GPU seconds a self-hosted job took) into a
``Decimal`` price, from data. Prices live in ``governor/rates.toml``
(packaged) and, for one film, in ``<project>/rates.toml``, whose entries replace the packaged
ones of the same key. ``Pricing`` says which rate-card entries a run's calls are priced as,
including a rehearsal on the local provider priced as a real video model.

What it must never do: hold a price in code, use ``float`` for money (amounts are TOML
strings parsed to ``Decimal``; a float literal is refused on load), or guess. A model that
is not on the card, or a resolution an entry does not price, raises an error that names
it: an estimate that silently used a neighbouring price could let a run past its cap.
It imports only the standard library and ``governor`` modules.

A key's model may be a pattern (``comfyui:video-*``): a provider whose models a film names itself
(its ComfyUI workflows, issue 41) is priced by one row for all of them; a row of the exact key, in
the packaged card or the film's, is taken before any pattern, and the longest pattern before a shorter.
"""
from __future__ import annotations

import fnmatch
import math
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping, TypeVar

from slate.governor.chokepoint import Usage
from slate.providers.base import CAPABILITIES, CLIPS
from slate.governor.money import MAX_USD, usd
from slate.errors import SlateError

__all__ = ["RateError", "RateCardError", "UnknownRate", "UnpricedResolution", "UnpricedDuration",
           "Rate", "RateCard", "Pricing", "FailedRuns", "RATES_FILE", "MILLION", "KINDS", "CLIP_KINDS", "LINEUP_KINDS"]

RATES_FILE = "rates.toml"
MILLION = Decimal(1_000_000)
#: A row's kind is a capability's name (providers/base.py): what a call of that capability is priced as.
KINDS = CAPABILITIES
#: The kinds priced like a clip, by its seconds: a clip made, and the passes over a finished one
#: (lip-sync, issue 38; face swap and upscale, issue 41).
CLIP_KINDS = CLIPS
#: The kinds a run's lineup names one model for (a spoken line's model is its speaker's voice's).
LINEUP_KINDS = ("image", "video", "judge")
CONFIDENCES = ("S", "D", "?")

_T = TypeVar("_T")


class RateError(SlateError, ValueError):
    """A call cannot be priced from the card."""


class RateCardError(RateError):
    """A rates.toml file is malformed (float money, missing source, unknown scheme…)."""


class UnknownRate(RateError, KeyError):
    """No entry for this model key. KeyError too, so ``card[key]`` style callers catch it."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


class UnpricedResolution(RateError):
    """The model is on the card but this resolution is not priced."""


class UnpricedDuration(RateError):
    """The model cannot be asked for this many seconds, so there is no price for it."""


def _money(key: str, name: str, value: object) -> Decimal:
    # Only strings: a TOML float (0.03) has already lost exactness by the time we see it,
    # and an int would be legal but makes "is every price a string" impossible to audit.
    if not isinstance(value, str):
        raise RateCardError(f"{key}: {name} must be a quoted string like \"0.03\" "
                            f"(money is never float), got {type(value).__name__} {value!r}")
    try:
        d = Decimal(value.strip())
    except InvalidOperation:
        raise RateCardError(f"{key}: {name} is not a dollar amount: {value!r}") from None
    if not d.is_finite() or d < 0 or d > MAX_USD:
        raise RateCardError(f"{key}: {name} must be a finite amount from 0 to {MAX_USD:,}, got {value!r}")
    return d


def _int(key: str, name: str, value: object, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise RateCardError(f"{key}: {name} must be an integer >= {minimum}, got {value!r}")
    return value


def _quantity(key: str, name: str, value: object) -> Decimal:
    """A count that multiplies money (GPU seconds an estimate counts): a whole number or a decimal
    string, never a float (it would carry its binary expansion into a price), more than zero."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise RateCardError(f"{key}: {name} must be a whole number or a quoted decimal like \"1.5\", got {value!r}")
    try:
        d = Decimal(str(value).strip())
    except InvalidOperation:
        raise RateCardError(f"{key}: {name} is not a number: {value!r}") from None
    if not d.is_finite() or d <= 0:
        raise RateCardError(f"{key}: {name} must be more than 0, got {value!r}")
    return d


def _seconds(x: float | int | Decimal | str) -> Decimal:
    """Seconds as Decimal. Durations are not money, but they multiply money: go through the
    shortest decimal text of a float (2.5 -> "2.5") so no binary expansion leaks into a price."""
    if isinstance(x, bool):
        raise TypeError("seconds must be a number, not bool")
    if isinstance(x, float):
        return Decimal(repr(x))
    return Decimal(x)


@dataclass(frozen=True)
class Rate:
    """One parsed rate-card entry. Exactly the fields of its scheme are set."""

    key: str
    kind: str
    source: str
    confidence: str
    # image
    per_image: Decimal | None = None
    # a job on a film's own GPU (image or video): dollars per GPU-second it took, and the GPU
    # seconds an estimate counts before it ran (per image, or per second of clip)
    per_gpu_second: Decimal | None = None
    gpu_seconds_per_image: Decimal | None = None
    gpu_seconds_per_second: Decimal | None = None
    # judge
    per_million_input: Decimal | None = None
    per_million_output: Decimal | None = None
    # video: per second, by resolution (None key = flat, any resolution)
    per_second: Mapping[str | None, Decimal] | None = None
    # video: token-priced
    per_million_video_tokens: Decimal | None = None
    token_fps: int | None = None
    dims: Mapping[str, tuple[int, int]] | None = None
    # video: a first block then per extra second
    base_price: Decimal | None = None
    base_seconds: int | None = None
    per_extra_second: Decimal | None = None
    # video: which lengths can be billed
    billing_seconds: str = "exact"
    min_seconds: int | None = None
    max_seconds: int | None = None
    durations: tuple[int, ...] | None = None
    # video: the price when the model is asked for its sound, where the provider prices it
    # differently (a `with_audio` table: the money fields of a scheme); None: one price either way
    with_audio: "Rate | None" = None
    # speech: per character of text sent and/or per second of speech made (per_second, flat), or
    # by tokens (per_million_input/output) with how tokens follow from characters and seconds
    per_million_characters: Decimal | None = None
    characters_per_token: int | None = None
    audio_tokens_per_second: int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def scheme(self) -> str:
        if self.kind == "speech":
            return "speech tokens" if self.audio_tokens_per_second is not None else "speech"
        if self.per_gpu_second is not None:
            return "per_gpu_second"
        if self.kind not in CLIP_KINDS:
            return self.kind
        if self.per_second is not None:
            return "per_second"
        if self.per_million_video_tokens is not None:
            return "tokens"
        return "block"

    @property
    def resolutions(self) -> tuple[str, ...] | None:
        """Resolutions this entry prices; None when the price does not depend on resolution."""
        if self.per_second is not None:
            return None if None in self.per_second else tuple(r for r in self.per_second if r is not None)
        if self.dims is not None:
            return tuple(self.dims)
        return None

    # ------------------------------------------------------------------ parsing

    @classmethod
    def parse(cls, key: str, entry: Mapping[str, Any]) -> "Rate":
        if not isinstance(entry, Mapping):
            raise RateCardError(f"{key}: an entry must be a table")
        if ":" not in key:
            raise RateCardError(f"{key}: keys are '<provider>:<model>'")
        if "*" in key.partition(":")[0]:
            raise RateCardError(f"{key}: only the model of a key may be a pattern ('<provider>:video-*')")
        kind = entry.get("kind")
        if kind not in KINDS:
            raise RateCardError(f"{key}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
        # Provenance is mandatory: a price nobody can trace cannot be corrected when it changes.
        source = entry.get("source")
        if not isinstance(source, str) or not source.strip():
            raise RateCardError(f"{key}: every entry needs a `source` saying where the price came from")
        confidence = entry.get("confidence")
        if confidence not in CONFIDENCES:
            raise RateCardError(f"{key}: confidence must be one of {CONFIDENCES}, got {confidence!r}")
        allowed = {"kind", "source", "confidence"}
        f: dict[str, Any] = {"key": key, "kind": kind, "source": source, "confidence": confidence,
                             "raw": MappingProxyType(dict(entry))}

        if kind == "image" and "per_gpu_second" in entry:
            allowed |= {"per_gpu_second", "gpu_seconds_per_image"}
            f.update(cls._gpu(key, entry, "gpu_seconds_per_image"))
        elif kind == "image":
            allowed |= {"per_image"}
            if "per_image" not in entry:
                raise RateCardError(f"{key}: an image entry needs per_image (or per_gpu_second)")
            f["per_image"] = _money(key, "per_image", entry["per_image"])
        elif kind == "judge":
            allowed |= {"per_million_input", "per_million_output"}
            for name in ("per_million_input", "per_million_output"):
                if name not in entry:
                    raise RateCardError(f"{key}: a judge entry needs {name}")
                f[name] = _money(key, name, entry[name])
        elif kind == "speech":
            allowed |= SPEECH_FIELDS
            f.update(cls._speech(key, entry))
        elif kind == "music":
            # a cue (issue 59): by the seconds of music made, one amount (music has no resolution),
            # with the shortest length a vendor bills where it bills one
            allowed |= {"per_second", "min_seconds"}
            if "per_second" not in entry or isinstance(entry["per_second"], Mapping):
                raise RateCardError(f"{key}: a music entry needs per_second, one amount (music has no resolution)")
            f["per_second"] = MappingProxyType({None: _money(key, "per_second", entry["per_second"])})
            if "min_seconds" in entry:
                f["min_seconds"] = _int(key, "min_seconds", entry["min_seconds"], 0)
        elif kind in CLIP_KINDS and "per_gpu_second" in entry:
            allowed |= {"per_gpu_second", "gpu_seconds_per_second"}
            f.update(cls._gpu(key, entry, "gpu_seconds_per_second"))
        else:   # video, and the passes over a clip (lip-sync, face swap, upscale), priced like video: by its seconds
            allowed |= {"per_second", "per_million_video_tokens", "token_fps", "dims", "base_price",
                        "base_seconds", "per_extra_second", "billing_seconds", "min_seconds",
                        "max_seconds", "durations", "with_audio"}
            if "with_audio" in entry:
                f["with_audio"] = cls._with_audio(key, entry)
            schemes = [s for s in ("per_second", "per_million_video_tokens", "base_price") if s in entry]
            if len(schemes) != 1:
                raise RateCardError(f"{key}: a video entry needs exactly one of per_second, "
                                    f"per_million_video_tokens, base_price (got {schemes or 'none'})")
            if "per_second" in entry:
                ps = entry["per_second"]
                if isinstance(ps, Mapping):
                    if not ps:
                        raise RateCardError(f"{key}: per_second table is empty")
                    f["per_second"] = MappingProxyType(
                        {str(r): _money(key, f"per_second[{r}]", v) for r, v in ps.items()})
                else:
                    f["per_second"] = MappingProxyType({None: _money(key, "per_second", ps)})
            elif "per_million_video_tokens" in entry:
                f["per_million_video_tokens"] = _money(key, "per_million_video_tokens",
                                                       entry["per_million_video_tokens"])
                f["token_fps"] = _int(key, "token_fps", entry.get("token_fps"), 1)
                dims = entry.get("dims")
                if not isinstance(dims, Mapping) or not dims:
                    raise RateCardError(f"{key}: token pricing needs dims = {{ \"720p\" = [w, h], … }}")
                parsed = {}
                for r, wh in dims.items():
                    if not (isinstance(wh, list) and len(wh) == 2):
                        raise RateCardError(f"{key}: dims[{r}] must be [width, height]")
                    parsed[str(r)] = (_int(key, f"dims[{r}]", wh[0], 1), _int(key, f"dims[{r}]", wh[1], 1))
                f["dims"] = MappingProxyType(parsed)
            else:
                f["base_price"] = _money(key, "base_price", entry["base_price"])
                f["base_seconds"] = _int(key, "base_seconds", entry.get("base_seconds"), 1)
                f["per_extra_second"] = _money(key, "per_extra_second", entry.get("per_extra_second"))
            billing = entry.get("billing_seconds", "exact")
            if billing not in ("ceil", "exact"):
                raise RateCardError(f"{key}: billing_seconds must be 'ceil' or 'exact', got {billing!r}")
            f["billing_seconds"] = billing
            for name in ("min_seconds", "max_seconds"):
                if name in entry:
                    f[name] = _int(key, name, entry[name], 0)
            if "durations" in entry:
                ds = entry["durations"]
                if not isinstance(ds, list) or not ds:
                    raise RateCardError(f"{key}: durations must be a non-empty list of integers")
                f["durations"] = tuple(sorted(_int(key, "durations", d, 1) for d in ds))

        extra = set(entry) - allowed
        if extra:
            raise RateCardError(f"{key}: unknown field(s) {', '.join(sorted(extra))} for a {kind} entry")
        return cls(**f)

    @staticmethod
    def _gpu(key: str, entry: Mapping[str, Any], estimate: str) -> dict[str, Any]:
        """A job on a film's own GPU: `per_gpu_second` (dollars; "0" for a machine nobody bills)
        and `estimate`, the GPU seconds counted before the job ran (what a cap reserves)."""
        if estimate not in entry:
            raise RateCardError(f"{key}: a per_gpu_second entry needs {estimate} (the GPU seconds an estimate "
                                f"counts before the job ran)")
        return {"per_gpu_second": _money(key, "per_gpu_second", entry["per_gpu_second"]),
                estimate: _quantity(key, estimate, entry[estimate])}

    @staticmethod
    def _speech(key: str, entry: Mapping[str, Any]) -> dict[str, Any]:
        """A speech entry's fields: by characters and/or seconds, or by tokens (all four token
        fields together, and nothing else priced)."""
        tokens = [n for n in SPEECH_TOKEN_FIELDS if n in entry]
        plain = [n for n in ("per_million_characters", "per_second") if n in entry]
        if tokens and (plain or len(tokens) != len(SPEECH_TOKEN_FIELDS)):
            raise RateCardError(f"{key}: a speech entry priced by tokens needs exactly "
                                f"{', '.join(SPEECH_TOKEN_FIELDS)} (and no per_million_characters or per_second)")
        if not tokens and not plain:
            raise RateCardError(f"{key}: a speech entry needs per_million_characters and/or per_second, or the "
                                f"token fields {', '.join(SPEECH_TOKEN_FIELDS)}")
        f: dict[str, Any] = {}
        if "per_million_characters" in entry:
            f["per_million_characters"] = _money(key, "per_million_characters", entry["per_million_characters"])
        if "per_second" in entry:
            if isinstance(entry["per_second"], Mapping):
                raise RateCardError(f"{key}: a speech entry's per_second is one amount (speech has no resolution)")
            f["per_second"] = MappingProxyType({None: _money(key, "per_second", entry["per_second"])})
        if tokens:
            f["per_million_input"] = _money(key, "per_million_input", entry["per_million_input"])
            f["per_million_output"] = _money(key, "per_million_output", entry["per_million_output"])
            f["characters_per_token"] = _int(key, "characters_per_token", entry["characters_per_token"], 1)
            f["audio_tokens_per_second"] = _int(key, "audio_tokens_per_second", entry["audio_tokens_per_second"], 1)
        return f

    @classmethod
    def _with_audio(cls, key: str, entry: Mapping[str, Any]) -> "Rate":
        """The with-audio price of a video entry: its `with_audio` table holds the money of one
        scheme (per_second, per_million_video_tokens, or base_price + per_extra_second); the
        billed seconds, dims and token rate are the entry's own, so the two prices can differ
        only in money."""
        extra = entry["with_audio"]
        money = {"per_second", "per_million_video_tokens", "base_price", "per_extra_second"}
        if not isinstance(extra, Mapping) or not extra or set(extra) - money:
            raise RateCardError(f"{key}: with_audio must be a table of the money of one scheme "
                                f"({', '.join(sorted(money))}), got {extra!r}")
        schemes = {"per_second", "per_million_video_tokens", "base_price"}
        kept = {k: v for k, v in entry.items() if k not in schemes | {"per_extra_second", "with_audio"}}
        return cls.parse(f"{key} (with audio)", {**kept, **extra})

    # ------------------------------------------------------------------ pricing

    def billed_seconds(self, seconds: float | int | Decimal) -> Decimal:
        """The seconds the provider bills for a request of ``seconds``."""
        s = _seconds(seconds)
        if s <= 0:
            raise UnpricedDuration(f"{self.key}: a clip of {s} s has no price")
        if self.durations is not None:
            # Fixed lengths only (Kling 5|10, Veo 4|6|8): a shorter shot is generated at the
            # next length up and trimmed, and the provider bills the length it generated.
            for d in self.durations:
                if s <= d:
                    return Decimal(d)
            raise UnpricedDuration(f"{self.key}: {s} s is longer than the longest duration it offers "
                                   f"({', '.join(map(str, self.durations))} s)")
        if self.billing_seconds == "ceil":
            s = Decimal(math.ceil(s))
        if self.min_seconds is not None and s < self.min_seconds:
            s = Decimal(self.min_seconds)   # the shortest clip it makes; the shot is trimmed
        if self.max_seconds is not None and s > self.max_seconds:
            raise UnpricedDuration(f"{self.key}: {seconds} s is over its maximum of {self.max_seconds} s")
        return s

    def _unpriced(self, resolution: str | None) -> UnpricedResolution:
        return UnpricedResolution(
            f"{self.key} has no price for resolution {resolution!r} "
            f"(priced: {', '.join(self.resolutions or ())}); add it to rates.toml with a source")

    def _required(self, value: _T | None, name: str) -> _T:
        """A field its scheme always sets (``parse`` makes sure): never None here."""
        if value is None:
            raise RateCardError(f"{self.key}: a {self.scheme} entry without {name}")
        return value

    def price(self, units: Usage) -> Decimal:
        """Exact price of one call, quantised to the ledger's micro-dollar."""
        if units.kind != self.kind:
            raise RateError(f"{self.key} is a {self.kind} model; it cannot price a {units.kind} call")
        if self.per_gpu_second is not None:
            return usd(self.per_gpu_second * self.gpu_seconds(units))
        if self.kind == "image":
            return usd(self._required(self.per_image, "per_image") * units.images)
        if self.kind == "judge":
            per_input = self._required(self.per_million_input, "per_million_input")
            per_output = self._required(self.per_million_output, "per_million_output")
            return usd((per_input * units.input_tokens + per_output * units.output_tokens) / MILLION)
        if self.kind == "speech":
            return usd(self._speech_price(units))
        if self.kind == "music":
            seconds = _seconds(units.seconds)
            if seconds < 0:
                raise RateError(f"{self.key}: a cue of {seconds} s has no price")
            shortest = Decimal(self.min_seconds or 0)
            return usd(self._required(self.per_second, "per_second")[None] * (seconds if seconds > shortest else shortest))
        return usd(self._video(units))

    def gpu_seconds(self, units: Usage) -> Decimal:
        """The GPU seconds a per-GPU-second call is priced by: what the job reported it took, else
        (an estimate, before it ran) the row's figure per image or per second of clip."""
        if units.gpu_seconds is not None:
            if units.gpu_seconds < 0:
                raise RateError(f"{self.key}: a job of {units.gpu_seconds} GPU seconds has no price")
            return _seconds(units.gpu_seconds)
        if self.kind == "image":
            return self._required(self.gpu_seconds_per_image, "gpu_seconds_per_image") * units.images
        return self._required(self.gpu_seconds_per_second, "gpu_seconds_per_second") * self.billed_seconds(units.seconds)

    def _speech_price(self, units: Usage) -> Decimal:
        seconds = _seconds(units.seconds)
        if units.characters < 0 or seconds < 0:
            raise RateError(f"{self.key}: a spoken line of {units.characters} characters and {seconds} s has no price")
        if self.audio_tokens_per_second is not None:
            # What the model reports it used, when it does; else what the characters and the
            # seconds come to, as the provider counts them (rounded up: an estimate errs high).
            reported = units.input_tokens or units.output_tokens
            tokens_in = units.input_tokens if reported else \
                math.ceil(units.characters / self._required(self.characters_per_token, "characters_per_token"))
            tokens_out = units.output_tokens if reported else math.ceil(seconds * self.audio_tokens_per_second)
            per_input = self._required(self.per_million_input, "per_million_input")
            per_output = self._required(self.per_million_output, "per_million_output")
            return (per_input * tokens_in + per_output * tokens_out) / MILLION
        price = Decimal(0)
        if self.per_million_characters is not None:
            price += self.per_million_characters * units.characters / MILLION
        if self.per_second is not None:
            price += self.per_second[None] * seconds
        return price

    def _video(self, units: Usage) -> Decimal:
        if units.audio and self.with_audio is not None:
            return self.with_audio._video(Usage("video", seconds=units.seconds, resolution=units.resolution))
        res = units.resolution
        s = self.billed_seconds(units.seconds)
        if self.per_second is not None:
            if None in self.per_second:
                return self.per_second[None] * s
            if res not in self.per_second:
                raise self._unpriced(res)
            return self.per_second[res] * s
        if self.per_million_video_tokens is not None:
            dims = self._required(self.dims, "dims")
            if res is None or res not in dims:
                raise self._unpriced(res)
            w, h = dims[res]
            tokens = Decimal(w * h * self._required(self.token_fps, "token_fps")) * s / 1024
            return tokens * self.per_million_video_tokens / MILLION
        extra = max(s - self._required(self.base_seconds, "base_seconds"), Decimal(0))
        return (self._required(self.base_price, "base_price")
                + self._required(self.per_extra_second, "per_extra_second") * extra)


#: The fields a speech entry may have: by characters and/or seconds, or by tokens.
SPEECH_TOKEN_FIELDS = ("per_million_input", "per_million_output", "characters_per_token", "audio_tokens_per_second")
SPEECH_FIELDS = {"per_million_characters", "per_second", *SPEECH_TOKEN_FIELDS}


#: What a provider bills for a call it ran that failed: its compute, or nothing.
FAILURE_CHARGES = ("compute", "nothing")


@dataclass(frozen=True)
class FailedRuns:
    """One provider's [failed_runs] entry: what it bills for a run that failed, or that its
    moderation refused after running it."""

    provider: str
    failed: str
    refused: str
    source: str
    confidence: str

    @classmethod
    def parse(cls, provider: str, entry: Mapping[str, Any]) -> "FailedRuns":
        where = f"failed_runs.{provider}"
        if not isinstance(entry, Mapping):
            raise RateCardError(f"{where}: an entry must be a table")
        extra = set(entry) - {"failed", "refused", "source", "confidence"}
        if extra:
            raise RateCardError(f"{where}: unknown field(s) {', '.join(sorted(extra))}")
        for name in ("failed", "refused"):
            if entry.get(name) not in FAILURE_CHARGES:
                raise RateCardError(f"{where}: {name} must be one of {', '.join(FAILURE_CHARGES)}, "
                                    f"got {entry.get(name)!r}")
        source = entry.get("source")
        if not isinstance(source, str) or not source.strip():
            raise RateCardError(f"{where}: needs a `source` saying where this came from")
        if entry.get("confidence") not in CONFIDENCES:
            raise RateCardError(f"{where}: confidence must be one of {CONFIDENCES}, got {entry.get('confidence')!r}")
        return cls(provider, entry["failed"], entry["refused"], source, entry["confidence"])


class RateCard:
    """All known rates, by key. Build with ``RateCard.load()``."""

    def __init__(self, rates: Mapping[str, Rate], sources: tuple[str, ...] = (),
                 failed_runs: Mapping[str, FailedRuns] | None = None):
        self._rates = dict(rates)
        self.sources = sources   # files read, packaged first: shown when a price is questioned
        self.failed_runs = dict(failed_runs or {})

    def failure_charge(self, model_key: str, kind: str) -> str:
        """What the provider of `model_key` bills for a run of it that ran and failed (`kind`
        "failed") or was refused by its moderation ("refused"): "compute" or "nothing". A
        provider the card says nothing of is "compute": counted as spent, never a silent $0."""
        entry = self.failed_runs.get(model_key.partition(":")[0])
        if entry is None:
            return "compute"
        return entry.refused if kind == "refused" else entry.failed

    # ------------------------------------------------------------------ loading

    @staticmethod
    def _read(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as e:
            raise RateCardError(f"{path}: not valid TOML: {e}") from None
        models = data.get("models")
        if not isinstance(models, dict):
            raise RateCardError(f"{path}: expected [models.\"<provider>:<model>\"] tables")
        failed = data.get("failed_runs", {})
        if not isinstance(failed, dict):
            raise RateCardError(f"{path}: failed_runs must be [failed_runs.<provider>] tables")
        extra = set(data) - {"models", "failed_runs"}
        if extra:
            raise RateCardError(f"{path}: unknown top-level key(s) {', '.join(sorted(extra))}")
        return models, failed

    @classmethod
    def from_files(cls, *paths: Path) -> "RateCard":
        """Later files replace earlier files' entries, key by key (whole entries, not fields:
        a corrected entry must be complete, so it cannot inherit a stale half)."""
        entries: dict[str, Any] = {}
        failed: dict[str, Any] = {}
        for p in paths:
            models, failed_runs = cls._read(p)
            entries.update(models)
            failed.update(failed_runs)
        rates = {}
        for k, v in entries.items():
            rates[k] = Rate.parse(k, v)
        return cls(rates, tuple(str(p) for p in paths),
                   {name: FailedRuns.parse(name, entry) for name, entry in failed.items()})

    @classmethod
    def load(cls, project_root: Path | None = None) -> "RateCard":
        """The packaged card, overridden by ``<project_root>/rates.toml`` if it exists."""
        paths = [Path(__file__).with_name(RATES_FILE)]
        if project_root is not None:
            override = Path(project_root) / RATES_FILE
            if override.is_file():
                paths.append(override)
        return cls.from_files(*paths)

    # ------------------------------------------------------------------ lookup

    def keys(self, kind: str | None = None) -> list[str]:
        if kind is not None and kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        return sorted(k for k, r in self._rates.items() if kind is None or r.kind == kind)

    def __contains__(self, key: object) -> bool:
        return key in self._rates

    def rate(self, key: str, kind: str | None = None) -> Rate:
        r = self._rates.get(key) or self._pattern_for(key)
        if r is None or (kind is not None and r.kind != kind):
            known = self.keys(kind if kind is not None else (r.kind if r else None))
            what = f"{kind} " if kind else ""
            raise UnknownRate(f"no {what}rate for {key!r} on the rate card; known {what}models: "
                              f"{', '.join(known) or '(none)'} (add it to rates.toml with a source)")
        return r

    def _pattern_for(self, key: str) -> Rate | None:
        """The row of the longest pattern that matches `key` (same provider), None when none does."""
        provider = key.partition(":")[0]
        found = [(len(k), r) for k, r in self._rates.items()
                 if "*" in k and k.partition(":")[0] == provider and fnmatch.fnmatchcase(key, k)]
        return max(found, key=lambda f: f[0])[1] if found else None

    def price(self, model_key: str, units: Usage) -> Decimal:
        """Price of one call of ``model_key``; unknown keys list the known keys of that kind."""
        return self.rate(model_key, units.kind).price(units)


def price_as_keys(price_as: str | None) -> list[str]:
    """The rate-card keys of a `price_as` setting: one key, or a comma list of them."""
    return [k.strip() for k in (price_as or "").split(",") if k.strip()]


def repricing(card: "RateCard", price_as: str | None) -> dict[str, str]:
    """kind -> the key its calls are priced as, from `price_as`: each key re-prices the capability
    its model offers (panels: an image model, judge calls: a judge model, video), at most one
    per capability."""
    out: dict[str, str] = {}
    for key in price_as_keys(price_as):
        kind = card.rate(key).kind
        if kind in out:
            raise RateError(f"price_as names two {kind} models ({out[kind]!r} and {key!r}): one per capability "
                            f"(panel, judge, video, speech)")
        out[kind] = key
    return out


@dataclass(frozen=True)
class Pricing:
    """Which rate-card entries a run's calls are priced as, one per kind of call."""

    card: RateCard
    image_key: str
    video_key: str
    judge_key: str
    #: every video model the run may switch to on a refusal (the first is video_key)
    video_keys: tuple[str, ...] = ()
    #: the kinds `price_as` re-prices: their calls are priced as its key whatever model makes them
    repriced: tuple[str, ...] = ()
    #: what every spoken line is priced as when `price_as` names a speech model (a rehearsal on the
    #: local voice priced as a vendor's); else each line is priced as its own voice's model
    speech_key: str | None = None
    #: a ladder of judges (issue 60): the second judge's key and the share of verdicts it is expected
    #: to be asked for (the first judge's trial: what it failed or could not judge; 1 unmeasured)
    ladder: tuple[str, Decimal] | None = None

    @classmethod
    def for_run(cls, card: RateCard, provider: str, image_model: str, video_model: str, judge: str,
                judge_model: str, price_as: str | None = None) -> "Pricing":
        """Keys from the run's provider and models; ``price_as`` (a rate-card key) re-prices the
        video calls, or the image calls if it names an image model. A rehearsal on the local
        provider is priced as the real model it rehearses, so its cap is tested honestly.
        The judge keeps its own key: it is a separate provider. Every key is checked now, so an
        unpriced model stops the run before its first call, not halfway through."""
        keys = {"image": f"{provider}:{image_model}", "video": f"{provider}:{video_model}",
                "judge": f"{judge}:{judge_model}"}
        repriced = repricing(card, price_as)
        keys.update(repriced)
        p = cls(card, keys["image"], keys["video"], keys["judge"], (keys["video"],), tuple(repriced),
                repriced.get("speech"))
        for kind in LINEUP_KINDS:
            card.rate(p.key_for(kind), kind)
        return p

    @classmethod
    def for_lineup(cls, card: RateCard, panel: str, videos: tuple[str, ...] | list[str], judge: str,
                   price_as: str | None = None) -> "Pricing":
        """Keys from a run's lineup (`provider:model` each; the video list with its fallbacks).
        Every key is checked now, fallbacks included."""
        videos = tuple(videos)
        repriced = repricing(card, price_as)
        keys = {"image": panel, "video": videos[0], "judge": judge, **repriced}
        p = cls(card, keys["image"], keys["video"], keys["judge"], videos, tuple(repriced), repriced.get("speech"))
        for kind in LINEUP_KINDS:
            card.rate(p.key_for(kind), kind)
        if "video" not in p.repriced:
            for key in videos:
                card.rate(key, "video")
        return p

    def key_for(self, kind: str) -> str:
        if kind == "speech":
            if self.speech_key is None:
                raise RateError("a spoken line is priced as its voice's speech model: name it (provider:model)")
            return self.speech_key
        try:
            return {"image": self.image_key, "video": self.video_key, "judge": self.judge_key}[kind]
        except KeyError:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}") from None

    def estimate(self, units: Usage, model_key: str | None = None) -> Decimal:
        """The price of a call: of `model_key` (the model that makes it) unless `price_as`
        re-prices its kind, else of the run's model for that kind."""
        if model_key is None or units.kind in self.repriced:
            return self.card.price(self.key_for(units.kind), units)
        return self.card.price(model_key, units)
