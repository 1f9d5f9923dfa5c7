"""Settings: defaults < the film project's `slate.toml` < `SLATE_*` environment < command line.

What a film-maker tunes per project (profile, provider, caps, retry policy) lives here with a
description and bounds on every field. `check_settings` reads them the way a run will and
returns every mistake as a Problem naming where the value came from (`slate.toml` and its
line or key, the `SLATE_*` variable, or the command-line flag): a TOML syntax error, an
unknown or misspelt key (which pydantic-settings would silently ignore), a wrong type, a value
out of bounds. `project_settings` is the same reading for code that wants Settings or an error.

It must never hold a provider key: keys are read from the environment by the provider module
that needs them, by name, at the moment of use. Like the rest of manifests/, it never writes.
"""
from __future__ import annotations

import difflib
import os
import re
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_serializer, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError

from .frame_rate import Fps, frame_rate
from .load import FILM_FILENAMES, ManifestError, Problem, error_message, locate, read_bounded, read_document
from .options import RunOptions, option_names

__all__ = ["Settings", "ProfileModels", "model_audio", "StorageSettings", "SETTINGS_FILE", "check_settings", "project_settings", "read_settings_file", "salvaged_settings", "setting_origin"]

SETTINGS_FILE = "slate.toml"
MAX_SETTINGS_BYTES = 64 << 10   # a settings file is a dozen lines
# Keys slate.toml may hold that are not Settings fields, and who reads them.
OTHER_KEYS = {"ledger_url": "slate.governor.ledger reads it at the moment of use (it may hold a password)"}
TABLE = "slate"                 # settings may also sit in a [slate] table


#: A provider's base URL may be set as `<name>_base_url` in slate.toml, SLATE_<NAME>_BASE_URL, or
#: in a [base_urls] table. Which names are providers is the registry's to say (providers/
#: registry.py `base_urls`): manifests/ imports nothing of ours, so here only the form is checked.
BASE_URL_KEY = re.compile(r"([a-z][a-z0-9]{1,30})_base_url")
BASE_URL_ENV = re.compile(r"SLATE_([A-Za-z][A-Za-z0-9]{1,30})_BASE_URL", re.IGNORECASE)
#: A provider's own setting may be written `<name>_<setting>` in slate.toml (local_latency), as a
#: base URL is; which names and settings exist is the registry's to say.
PROVIDER_KEY = re.compile(r"([a-z][a-z0-9]{1,30})_([a-z][a-z0-9_]{0,40})")


def _base_url(v: str) -> str:
    # Read only when a call is made: a typo here used to surface as the first paid call's error.
    if not re.match(r"^https?://[^/@\s]+(/\S*)?$", v):
        raise ValueError(f"{_masked(v)!r} is not an http(s) URL without credentials in it, e.g. "
                         "https://api.example.com/v1")
    return v


BaseUrl = Annotated[str, AfterValidator(_base_url)]


def _model_key(key: str) -> str:
    # Which models exist is the registry's to say (providers/registry.py `job_seconds_told`); here the form.
    if not re.fullmatch(r"[a-z][a-z0-9]{1,30}:\S+", key):
        raise ValueError(f"{key!r} is not a `provider:model` (e.g. \"replicate:bytedance/seedance-1-lite\")")
    return key


#: A `[job_seconds]` entry: a `provider:model`, and seconds, more than none and at most a day.
ModelKey = Annotated[str, AfterValidator(_model_key)]
JobSeconds = Annotated[float, Field(gt=0, le=86400)]


class JudgeFloor(BaseModel):
    """The [judge_trial] table (issue 60): the figures a film's judge must have measured in a judge
    trial (`slate judge-trial`) for a run to start. Unset: no floor. (Not `[judge]`: `judge` is the
    run option naming the judge.)"""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_catch: float | None = Field(None, ge=0, le=1, description="the least share of the trial's faulty panels the judge must fail")
    max_false_alarms: float | None = Field(None, ge=0, le=1, description="the largest share of the trial's clean panels it may fail")


class ProfileModels(BaseModel):
    """One `[models.<profile>]` table: which model draws panels, animates them, and judges them.
    Each is `provider` (its default model) or `provider:model`, as on the rate card."""

    #: extra keys: the model of a pass over the clip declared beside the face swap and the upscale
    #: (tasks/shot/clip_passes.py), by its name — held to the declared passes where the lineup is chosen
    #: (providers/registry.py `lineup`: a name no pass has is refused there, with the closest)
    model_config = ConfigDict(extra="allow")

    panel: str | None = Field(None, description="the panel (image) model, e.g. gemini:gemini-2.5-flash-image")
    video: list[str] | None = Field(None, description="video models in order: the first is used, the rest are fallbacks when a take is refused")
    judge: str | None = Field(None, description="the judge of the panel and keyframe gates, e.g. gemini:gemini-2.5-flash")
    lipsync: str | None = Field(None, description="the lip-sync model of on-camera lines, e.g. fal:fal-ai/sync-lipsync/v2; none: not lip-synced")
    faceswap: str | None = Field(None, description="the face-swap model of shots that ask for `face_swap:`, e.g. comfyui:faceswap-reactor (issue 41)")
    upscale: str | None = Field(None, description="the upscale model this profile passes every approved take through, e.g. comfyui:upscale-esrgan; none (the default): no upscale")
    audio: bool | None = Field(None, description="ask this profile's video model for the sound it makes with the picture, and pay for it (default: off)")

    @model_validator(mode="after")
    def _pass_models(self):
        for key, value in (self.model_extra or {}).items():
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{key}: a pass's model is `provider` or `provider:model`, not {value!r}")
        return self

    @field_validator("video", mode="before")
    @classmethod
    def _one_or_many(cls, v):
        return [x.strip() for x in v.split(",") if x.strip()] if isinstance(v, str) else v


def model_audio(settings, profile: str | None = None) -> bool:
    """Whether a run of `profile` (default: the settings') asks its video model for its sound.

    Off unless the film-maker says so: `model_audio` for every profile, else the profile's
    `[models.<profile>] audio`. Sound is money (Veo 3.1 fast: $0.15/s with it, $0.10/s without)
    and a draft is a rehearsal of the picture, so nothing pays for it by default; a final or hero
    run is the film-maker's to turn on, where the picture is kept — and where the estimate a
    person approves already carries the with-audio price."""
    if settings.model_audio is not None:
        return bool(settings.model_audio)
    table = (settings.models or {}).get(profile or settings.profile)
    return bool(table is not None and table.audio)


def _masked(url: str) -> str:
    """A URL as it may be shown: whatever stands before an @ (a user, a password, a key) is ***."""
    return re.sub(r"^([a-zA-Z][\w+.-]*://)?[^/@\s]*@", lambda m: f"{m.group(1) or ''}***@", url)


_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


class StorageSettings(BaseModel):
    """The `[storage]` table: where artifacts, pushed films and task results live.

    There is no field for a credential, on purpose: the identity comes from the environment
    (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or AWS_PROFILE / `profile`), so a slate.toml can
    be committed and a key cannot end up in a flow parameter. A key written here is an unknown
    setting."""

    model_config = ConfigDict(extra="forbid")

    backend: Literal["local", "s3"] = Field("local", description="local: the project folder; s3: an S3-compatible bucket (AWS, R2, MinIO, SeaweedFS)")
    bucket: str | None = Field(None, description="the bucket (s3 backend)")
    prefix: str = Field("", description="a folder of the bucket everything of slate's goes under, e.g. studio/slate")
    endpoint_url: str | None = Field(None, description="the S3 endpoint for R2, MinIO or SeaweedFS, e.g. https://<account>.r2.cloudflarestorage.com (default: AWS)")
    region: str | None = Field(None, description="the bucket's region (R2: auto)")
    profile: str | None = Field(None, description="an AWS profile name for the identity (default: the environment's)")
    max_object_bytes: int = Field(2 << 30, ge=1, le=5 << 40, description="objects bigger than this are refused before upload (default 2 GiB)")

    @field_validator("bucket")
    @classmethod
    def _bucket_name(cls, v: str | None) -> str | None:
        if v is not None and not _BUCKET.match(v):
            raise ValueError(f"{v!r} is not a bucket name (3-63 lowercase letters, digits, dots and dashes)")
        return v

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        v = v.strip("/")
        if v and (".." in v.split("/") or not re.fullmatch(r"[A-Za-z0-9._/-]+", v) or "//" in v):
            raise ValueError(f"{v!r} is not a bucket folder (letters, digits, . _ - and /, no '..')")
        return v

    @field_validator("endpoint_url")
    @classmethod
    def _endpoint(cls, v: str | None) -> str | None:
        if v is not None:
            if not re.match(r"^https?://[^/@\s]+(/.*)?$", v):
                raise ValueError(f"{_masked(v)!r} is not an http(s) URL without credentials in it")
        return v

    @model_validator(mode="after")
    def _bucket_for_s3(self):
        if self.backend == "s3" and not self.bucket:
            raise ValueError("backend = \"s3\" needs a bucket")
        return self


class Settings(RunOptions, BaseSettings):
    """The film's settings: every run option (manifests/options.py `RunOptions`, inherited: one
    declaration) at the film's value, and what belongs to the project rather than to a run."""

    model_config = SettingsConfigDict(env_prefix="SLATE_", extra="ignore", validate_default=True, frozen=True)
    __told__ = False   # a blank value in slate.toml is a value, not "not told"

    models: dict[Literal["draft", "final", "hero"], ProfileModels] = Field(default_factory=dict, description="per-profile [models.<profile>] tables: panel, video, judge, audio, lipsync, faceswap, upscale")
    base_urls: dict[str, BaseUrl] = Field(default_factory=dict, description="the root of a provider's API paths, by provider, where a gateway, proxy or fake stands in (also `<provider>_base_url` in slate.toml, or SLATE_<PROVIDER>_BASE_URL); a provider not named here uses its own")
    providers: dict[str, dict[str, Any]] = Field(default_factory=dict, description="a provider's own settings, by provider: a [providers.<name>] table, or `<name>_<setting>` in slate.toml, or SLATE_<NAME>_<SETTING> (e.g. the local provider's latency and fault rehearsal: local_latency, local_fault_rate); which settings a provider has is its own to declare (providers/spec.py)")
    job_seconds: dict[ModelKey, JobSeconds] = Field(default_factory=dict, description="how long one provider job of a model is expected to take, in seconds, by `provider:model` (a [job_seconds] table), where the provider's own figure is wrong for this film: a job is waited for three times it, then cancelled at the provider and its shot escalated")
    approval_timeout_hours: float = Field(24, gt=0, le=24 * 30, description="how long a final or hero run waits for a person to approve its video before it ends 'Approval expired'")
    timezone: str | None = Field(None, description="timezone of the nightly schedule, e.g. Europe/Berlin (default UTC)")
    storage: StorageSettings = Field(default_factory=StorageSettings, description="the [storage] table: local folder or an S3 bucket")
    judge_trial: JudgeFloor = Field(default_factory=JudgeFloor, description="the [judge_trial] table: min_catch, max_false_alarms — the floor the run's judge must have measured (slate judge-trial) for a run to start; unset: none")
    # The ledger's URL (SLATE_LEDGER_URL, or `ledger_url` in slate.toml) is not a field here: it
    # may hold a password, so governor.ledger.Ledger.for_project reads it at the moment of use
    # and nothing ever passes it along as a flow or task parameter.

    @model_serializer(mode="wrap")
    def _dump(self, handler: Any) -> dict[str, Any]:
        """Every value: the film's settings are all said (only a run's options are a told few)."""
        return handler(self)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                ZoneInfo(v)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown timezone {v!r} (an IANA name such as 'Europe/Berlin' or 'UTC')") from None
        return v

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, _BaseUrlsFromEnv(settings_cls), env_settings)


class _BaseUrlsFromEnv(PydanticBaseSettingsSource):
    """SLATE_<PROVIDER>_BASE_URL variables as entries of `base_urls` (above slate.toml's)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        found = {m.group(1).lower(): v for k, v in os.environ.items() if (m := BASE_URL_ENV.fullmatch(k))}
        return {"base_urls": found} if found else {}


class _FileValues(PydanticBaseSettingsSource):
    """The values read from slate.toml by `read_settings_file`, as the lowest-priority source."""

    def __init__(self, settings_cls: type[BaseSettings], values: Mapping[str, Any]):
        super().__init__(settings_cls)
        self.values = dict(values)

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self.values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return {k: v for k, v in self.values.items() if k in self.settings_cls.model_fields}


_TOML_WHERE = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


def _toml_problem(text: str, exc: tomllib.TOMLDecodeError) -> Problem:
    msg = str(exc)
    m = _TOML_WHERE.search(msg)
    if m:
        return Problem(SETTINGS_FILE, None, f"line {m.group(1)}",
                       f"invalid TOML: {msg[:m.start()]} (column {m.group(2)})")
    msg = msg.removesuffix(" (at end of document)")
    last = len(text.rstrip("\n").split("\n")) if text.strip() else 1
    return Problem(SETTINGS_FILE, None, f"line {last}", f"invalid TOML: {msg} (at the end of the file)")


def read_settings_file(root: Path) -> tuple[dict[str, Any], list[Problem]]:
    """The settings in the project's slate.toml, flattened ([slate] table or top level).

    Returns (values, problems); a missing file is no problem (every setting has a default).
    Unknown keys are problems, with the closest known key; they are left out of the values."""
    root = Path(root)
    if not os.path.lexists(root / SETTINGS_FILE):
        return {}, []
    _, why = locate(root, SETTINGS_FILE)
    if why is not None:
        return {}, [Problem(SETTINGS_FILE, None, "file", why)]
    try:
        text = read_bounded(root / SETTINGS_FILE, MAX_SETTINGS_BYTES).decode("utf-8")
    except UnicodeDecodeError as exc:
        return {}, [Problem(SETTINGS_FILE, None, "file", f"is not valid UTF-8 (byte {exc.start})")]
    except ValueError as exc:
        return {}, [Problem(SETTINGS_FILE, None, "file", f"{exc} for a settings file")]
    except OSError as exc:
        return {}, [Problem(SETTINGS_FILE, None, "file", f"cannot be read: {exc.strerror or exc}")]
    try:
        data = tomllib.loads(text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as exc:
        return {}, [_toml_problem(text, exc)]

    problems: list[Problem] = []
    values: dict[str, tuple[str, Any]] = {}   # name -> (how it was written, value)
    table = data.pop(TABLE, None)
    entries = [(k, k, v) for k, v in data.items()]
    if isinstance(table, dict):
        entries += [(k, f"{TABLE}.{k}", v) for k, v in table.items()]
    elif table is not None:
        problems.append(Problem(SETTINGS_FILE, None, TABLE, f"must be a table ([{TABLE}]), not a {type(table).__name__}"))
    run_only = set(option_names(setting=False))
    known = [f for f in Settings.model_fields if f not in run_only] + list(OTHER_KEYS)
    for name, written, value in entries:
        if name in OTHER_KEYS:
            continue
        if name in run_only:
            problems.append(Problem(SETTINGS_FILE, None, written, "is not a setting: only a run is told it "
                                                                  "(a flag of `slate run`, the run form)"))
            continue
        if name not in Settings.model_fields and (url := BASE_URL_KEY.fullmatch(name)):
            named = {k: v for k, v in values.items() if k.startswith("base_urls.")}
            key = f"base_urls.{url.group(1)}"
            if key in named:
                problems.append(Problem(SETTINGS_FILE, None, written, f"is set twice (also as {named[key][0]})"))
            else:
                values[key] = (written, value)
            continue
        if name not in Settings.model_fields and not difflib.get_close_matches(name, known, n=1, cutoff=0.75) \
                and (own := PROVIDER_KEY.fullmatch(name)):
            # `<provider>_<setting>` (local_latency): a provider's own setting, folded into its
            # [providers.<name>] table; whether that provider has that setting is the registry's
            # to say (providers/registry.py `provider_settings`), as for base URLs.
            key = f"providers.{own.group(1)}.{own.group(2)}"
            if key in values:
                problems.append(Problem(SETTINGS_FILE, None, written, f"is set twice (also as {values[key][0]})"))
            else:
                values[key] = (written, value)
            continue
        if name not in Settings.model_fields:
            if isinstance(value, dict):
                problems.append(Problem(SETTINGS_FILE, None, written, f"unknown table [{written}]: settings are "
                                                                      f"top-level keys or in a [{TABLE}] table"))
                continue
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
            hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(known)}"
            problems.append(Problem(SETTINGS_FILE, None, written, f"unknown setting ({hint})"))
            continue
        if name in values:
            problems.append(Problem(SETTINGS_FILE, None, written, f"is set twice (also as {values[name][0]})"))
            continue
        values[name] = (written, value)
    return _fold_providers(_fold_base_urls({k: v for k, (_, v) in values.items()}, problems), problems), problems


def _fold_providers(values: dict[str, Any], problems: list[Problem]) -> dict[str, Any]:
    """`<provider>_<setting>` keys into the `providers` table, beside a [providers.<name>] table's own."""
    loose = {tuple(k.split(".")[1:3]): values.pop(k) for k in list(values) if k.startswith("providers.")}
    if not loose:
        return values
    table = values.get("providers")
    if table is not None and not isinstance(table, dict):
        return values   # the table's own type error is pydantic's to say
    table = {name: dict(v) if isinstance(v, dict) else v for name, v in (table or {}).items()}
    for (name, setting), value in loose.items():
        own = table.setdefault(name, {})
        if not isinstance(own, dict):
            continue
        if setting in own:
            problems.append(Problem(SETTINGS_FILE, None, f"{name}_{setting}", f"is set twice (also in [providers.{name}])"))
        own[setting] = value
    values["providers"] = table
    return values


def _fold_base_urls(values: dict[str, Any], problems: list[Problem]) -> dict[str, Any]:
    """`<name>_base_url` keys into the `base_urls` table, beside a [base_urls] table's own."""
    loose = {k.removeprefix("base_urls."): values.pop(k) for k in list(values) if k.startswith("base_urls.")}
    if not loose:
        return values
    table = values.get("base_urls")
    if table is not None and not isinstance(table, dict):
        return values   # the table's own type error is pydantic's to say
    table = dict(table or {})
    for name, url in loose.items():
        if name in table:
            problems.append(Problem(SETTINGS_FILE, None, f"{name}_base_url", "is set twice (also in [base_urls])"))
        table[name] = url
    values["base_urls"] = table
    return values


def film_rate(root: Path) -> Fps | None:
    """The frame rate the film's manifest declares (film.yaml's `fps`), or None where it declares
    none or one `slate check` refuses (said there, against film.yaml's `fps`)."""
    name = next((n for n in FILM_FILENAMES if os.path.lexists(Path(root) / n)), None)
    path = locate(Path(root), name)[0] if name is not None else None
    if name is None or path is None:
        return None
    data, problems = read_document(path, name)
    if problems or not isinstance(data, dict) or "fps" not in data:
        return None
    try:
        return frame_rate(data["fps"])
    except ValueError:
        return None


def _with_film_rate(root: Path, values: dict[str, Any]) -> dict[str, Any]:
    """slate.toml's values, with the film's rate where slate.toml names none: film.yaml's `fps`
    is the rate the film is made at, and was read by nothing before NTSC rates (issue 39). It is
    the lowest source, so SLATE_FPS and slate.toml's `fps` still override it; a film at 24 keeps
    the int 24 it always had (and its keys)."""
    if "fps" in values:
        return values
    rate = film_rate(root)
    return values if rate is None else {**values, "fps": rate}


def _env_name(field: str) -> str | None:
    """The SLATE_* variable that set ``field``, as spelt in the environment (case-insensitive,
    like pydantic-settings)."""
    want = f"SLATE_{field}".upper()
    return next((k for k in os.environ if k.upper() == want), None)


def setting_origin(field: str, overrides: Mapping[str, Any] | None = None,
                   flags: Mapping[str, str] | None = None) -> tuple[str, str]:
    """Where the value of ``field`` comes from, as (file, field) for a Problem: the command
    line's flag, the SLATE_* variable, or slate.toml (also where a default is changed)."""
    if (overrides or {}).get(field) is not None:
        return "command line", (flags or {}).get(field, f"--{field.replace('_', '-')}")
    env = _env_name(field)
    if env is not None:
        return "environment", env
    return SETTINGS_FILE, field


def check_settings(root: Path, overrides: Mapping[str, Any] | None = None, *,
                   flags: Mapping[str, str] | None = None) -> tuple[Settings | None, list[Problem]]:
    """The project's settings as a run will build them, or every reason they cannot be built.

    ``overrides`` are the command line's values (None means not given); ``flags`` says how the
    caller spells each one (default ``--name-with-dashes``) so a problem names what was typed.
    Each problem names its source: ``slate.toml: <key>``, ``environment: SLATE_<KEY>`` or
    ``command line: --flag``. Returns (settings, problems); settings is None when any value
    is wrong. Unknown keys are problems but do not stop the settings being built."""
    root = Path(root)
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    flags = dict(flags or {})
    values, problems = read_settings_file(root)
    if any(p.field.startswith("line ") or p.field == "file" for p in problems):
        return None, problems   # the file could not be read at all: its values are unknown
    values = _with_film_rate(root, values)

    class ProjectSettings(Settings):
        @classmethod
        def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                       file_secret_settings) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, _BaseUrlsFromEnv(settings_cls), env_settings, _FileValues(settings_cls, values))

    try:
        settings = ProjectSettings(**given)
    except SettingsError as exc:  # an environment value pydantic-settings could not even parse
        return None, problems + [Problem("environment", None, "SLATE_*", str(exc))]
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            field = str(loc[0]) if loc else "settings"
            if field == "base_urls" and len(loc) > 1:   # named as it is written: <provider>_base_url
                field, loc = f"{loc[1]}_base_url", loc[1:]
            file, name = setting_origin(field, given, flags)
            if field == "job_seconds" and len(loc) > 1 and isinstance(loc[1], str):   # the model it is for
                name = f'{name}."{loc[1]}"'
            problems.append(Problem(file, None, name, error_message(err, Settings, loc)))
        return None, problems
    return settings, problems


def salvaged_settings(root: Path, overrides: Mapping[str, Any] | None = None) -> Settings | None:
    """The settings with every wrong value at its default, or None when even that cannot be
    built: what the checks after the settings (references, the judge's reading, prices) go on
    with, so a wrong `fps` does not hide them. Never what a run uses."""
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    values, problems = read_settings_file(root)
    if any(p.field.startswith("line ") or p.field == "file" for p in problems):
        values = {}
    values = _with_film_rate(root, values)

    class ProjectSettings(Settings):
        @classmethod
        def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                       file_secret_settings) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, _BaseUrlsFromEnv(settings_cls), env_settings, _FileValues(settings_cls, values))

    for _ in range(3):   # a default set for one field may let pydantic reach another
        try:
            return ProjectSettings(**given)
        except SettingsError:
            return None
        except ValidationError as exc:
            bad = {str(err["loc"][0]) for err in exc.errors() if err["loc"]} & set(Settings.model_fields)
            if not bad:
                return None
            given = {**given, **{f: Settings.model_fields[f].get_default(call_default_factory=True) for f in bad}}
    return None


def project_settings(root: Path, **overrides) -> Settings:
    """Settings for one film project: its `slate.toml` (top-level keys or a [slate] table), the
    SLATE_* environment, then ``overrides`` (None means not given). Raises ManifestError with
    one line per problem (an unknown key included) rather than a pydantic traceback."""
    settings, problems = check_settings(root, overrides)
    if problems or settings is None:
        raise ManifestError(problems)
    return settings

