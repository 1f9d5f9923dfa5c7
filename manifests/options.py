"""A run's options: one typed value, everything a run may be told, declared once.

`RunOptions` is a pydantic model. Each field is one option: its type, default and bounds, its
title (the Prefect form's label) and description, and — in a `Told` beside it — where it may be
told (a flag of `slate run`, the Prefect run form, the MCP run tool, slate.toml and `SLATE_*`)
and whether it changes what a stage makes (only those reach a scene's cache key). Every surface
is derived from these fields, never written again:

  - the film's settings (manifests/settings.py `Settings`) inherit them: slate.toml's run keys,
    `SLATE_*`, their bounds and the "did you mean" of a misspelt key;
  - the command line's flags (slate/commands/options.py);
  - the flows take one `options: RunOptions` parameter (flows/scene.py, flows/film.py), so Prefect
    draws the run form from this model (deployments/register.py titles it for a person);
  - the MCP run tool's arguments (slate/agent/server.py);
  - a scene's cache key (tasks/run/can.py) takes the options whose `output` is true.

A `RunOptions` holds what a run was *told*: the fields given when it was made (pydantic's
`model_fields_set`); an option not told stands at its default and leaves the film's settings
their say. So a value arriving blank from a form or as None from code is not told (`_untold`),
and a `RunOptions` dumps only its told values — what crosses to a deployment's run, or is kept as
a flow run's parameters, is what the person said, and an untouched default never overrides the
film's slate.toml. `over(settings)` resolves: the told values over the film's (tasks/run/run.py).

Where a value comes from, lowest first: the default here, slate.toml, SLATE_*, then what the run
was told (a flag, the form, the agent).

It must never hold a key or a URL with a password (those are read where they are used), never a
provider's own knobs (a provider declares its settings itself: providers/spec.py), and it imports
nothing of ours but manifests/frame_rate.py (which imports nothing of ours).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_serializer, model_validator

from .frame_rate import FrameRate
from .amounts import typed_amount

__all__ = ["RunOptions", "Told", "FROM_SETTINGS", "SWITCH_FORM", "PROFILES", "told_of", "option_names", "flag_of",
           "cli_flags", "bounds", "output_names", "told_pass_model"]

#: How the run form spells "not told: the film's own value" in a choice.
FROM_SETTINGS = "from slate.toml"
#: How the run form spells a switch.
SWITCH_FORM: dict[bool, str] = {True: "on", False: "off"}
#: What "not told" arrives as: None from code, blank or the placeholder from a form, an empty list.
_NOT_TOLD = (None, "", FROM_SETTINGS)


@dataclass(frozen=True)
class Told:
    """Where an option may be told, and what telling it changes.

    ``flag``: the command-line flag (None: not on the command line); ``form``: on the Prefect run
    form; ``mcp``: an argument of the MCP run tool (what an agent may choose; caps never are);
    ``setting``: a key of slate.toml and a `SLATE_*` variable (False: only a run is told it);
    ``output``: it changes what a stage makes, so it is part of a scene's cache key (False: it
    changes what is spent, how long a run waits or which scenes run — never what is made);
    ``unset``: what not telling it means, for the command line's help; ``many``: repeatable on the
    command line; ``joined``: repeatable on the command line, held as one comma list."""

    flag: str | None = None
    form: bool = True
    mcp: bool = False
    setting: bool = True
    output: bool = True
    unset: str = ""
    many: bool = False
    joined: bool = False


Profile = Literal["draft", "final", "hero"]
#: The profiles, in order.
PROFILES: tuple[str, ...] = get_args(Profile)
CannotJudge = Literal["block", "warn"]
DialogueFailure = Literal["keep_picture", "drop_shot"]
# Caps are finite: an `inf` in slate.toml would be a cap that never refuses. And at most what
# the ledger holds (governor/money.py MAX_USD, written again here: this module imports nothing
# of ours): `--cap 1e400` passed as a Decimal and failed the run's first sum with a traceback.
MAX_USD = Decimal("999999999999.999999")
Usd = Annotated[Decimal, Field(ge=0, le=MAX_USD, allow_inf_nan=False)]


class RunOptions(BaseModel):
    """Everything a run may be told (the module's docstring says how each field is used)."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)
    #: Whether blank values are "not told" (a run's options) or values (the film's settings).
    __told__ = True

    scenes: Annotated[list[str], Told(flag="--scene", mcp=True, setting=False, output=False, many=True,
                                      unset="every scene of the film")] = Field(
        default_factory=list, title="Scenes", description="the scenes to render, in film order (repeatable)")
    profile: Annotated[Profile, Told(flag="--profile", mcp=True)] = Field(
        "draft", title="Profile", description="draft = 480p, no approval (the nightly batch); final = 720p after "
        "a person approves the shots; hero = 1080p for shots marked critical")
    provider: Annotated[str, Told(flag="--provider")] = Field(
        "local", title="Provider", description="who draws panels and animates them, where it offers them (local: "
        "offline and free; an unknown name lists them)")
    panel_model: Annotated[str | None, Told(flag="--panel-model", unset="from slate.toml")] = Field(
        None, title="Panel model", description="panel model: provider or provider:model, e.g. "
        "gemini:gemini-2.5-flash-image (beats [models.<profile>])")
    video_model: Annotated[str | None, Told(flag="--video-model", unset="from slate.toml")] = Field(
        None, title="Video model(s)", description="video model(s), comma-separated: the first is used, the rest "
        "are fallbacks when a take is refused, e.g. replicate:bytedance/seedance-1-lite")
    judge: Annotated[str | None, Told(flag="--judge", unset="local with local panels, else gemini")] = Field(
        None, title="Judge", description="judge of the gates: provider or provider:model")
    second_judge: Annotated[str | None, Told(flag="--second-judge", output=False, unset="none")] = Field(
        None, title="Second judge", description="a ladder of judges (issue 60): the judge asked only where the "
        "first fails a take or cannot judge it — provider or provider:model, e.g. the paid vision judge behind a "
        "free local one; both answers are ledger rows, the second's is the verdict")
    model_audio: Annotated[bool | None, Told(flag="--model-audio", unset="the profile's, else off")] = Field(
        None, title="Model audio", description="ask the video model for the sound it makes with the picture, and "
        "pay for it where the rate card prices it higher (per profile: [models.<profile>] audio in slate.toml)")
    lipsync_model: Annotated[str | None, Told(flag="--lipsync-model", unset="the provider's, else local for local "
                                                 "clips, else none")] = Field(
        None, title="Lip-sync model", description="the lip-sync model that moves an on-camera speaker's mouth to "
        "their line: provider or provider:model; none: on-camera lines are not lip-synced (a person is told)")
    faceswap_model: Annotated[str | None, Told(flag="--faceswap-model", output=False,
                                               unset="the provider's where it offers one, else none")] = Field(
        None, title="Face-swap model", description="the model that swaps a character's face for their approved one "
        "in the shots that ask for `face_swap:`, e.g. comfyui:faceswap-reactor; none: such shots cannot run")
    upscale_model: Annotated[str | None, Told(flag="--upscale-model", output=False,
                                              unset="the profile's [models.<profile>] upscale, else none")] = Field(
        None, title="Upscale model", description="the model every take a person approved is made larger with before "
        "the cut, e.g. comfyui:upscale-esrgan (final and hero runs, after the approval); none: no upscale")
    pass_models: Annotated[dict[str, str], Told(flag="--pass-model", output=False, many=True,
                                                unset="the profile's [models.<profile>] <pass>, else none")] = Field(
        default_factory=dict, title="Other passes' models", description="the model of a pass over the clip "
        "declared beside the face swap and the upscale (tasks/shot/clip_passes.py), as PASS=provider:model, e.g. "
        "grain=comfyui:grain-35mm (repeatable; on the form and in slate.toml's [pass_models]: a table of pass "
        "and model); PASS=none: not run")
    cannot_judge: Annotated[CannotJudge, Told(flag="--cannot-judge", unset="slate.toml, block")] = Field(
        "block", title="What the judge cannot judge", description="block | warn: what a gate does with a take its "
        "judge cannot judge (art it cannot read). warn rehearses the plumbing offline: such takes go on, shown "
        "UNJUDGED on the contact sheet, the validation table and the summary")
    # Not part of a scene's key (output=False): a scene whose line failed is never put in the can
    # (tasks/run/can.py `cannable`), so either way its next run is made again from the cached takes.
    dialogue_failure: Annotated[DialogueFailure, Told(flag="--dialogue-failure", output=False,
                                                      unset="slate.toml, keep_picture")] = Field(
        "keep_picture", title="A shot whose line fails", description="keep_picture | drop_shot: a shot whose line "
        "fails its voice gate, or whose lip-sync fails its sync gate, keeps its picture in the cut (not lip-synced, "
        "its lines heard where they passed; a marker on the timeline says what failed) and is escalated for its "
        "line only; drop_shot takes it out of the cut")
    run_cap_usd: Annotated[Usd, Told(flag="--cap", output=False, unset="the film's budget block")] = Field(
        Decimal("25"), title="Run cap (USD)", description="the most this run may spend in USD, e.g. 5.00; 0 is a "
        "cap of zero")
    film_cap_usd: Annotated[Usd, Told(form=False, output=False)] = Field(
        Decimal("250"), title="Film cap (USD)", description="per-film budget cap in USD, across runs")
    price_as: Annotated[str | None, Told(flag="--price-as", output=False, joined=True)] = Field(
        None, title="Price as (rehearsal)", description="rehearse: price the calls of a capability as this model, "
        "once per capability (panel, judge, video), e.g. --price-as gemini:gemini-2.5-flash-image --price-as "
        "gemini:gemini-2.5-flash --price-as replicate:bytedance/seedance-1-pro (on the form: a comma list)")
    approve_fallback: Annotated[list[str], Told(flag="--approve-fallback", many=True)] = Field(
        default_factory=list, title="Approved fallbacks", description="allow this fallback video model whatever "
        "its cost impact (the command a halted run names)")
    max_takes: Annotated[int, Told(flag="--max-takes", unset="the film's budget block")] = Field(
        3, ge=1, le=20, title="Takes per shot", description="takes of one stage before a shot is escalated")
    no_progress_takes: Annotated[int, Told(form=False)] = Field(
        2, ge=1, le=20, title="Takes without progress", description="escalate when the best gate score has not "
        "improved over this many takes")
    max_parallel_scenes: Annotated[int, Told(flag="--max-parallel-scenes", output=False,
                                             unset="max_parallel_scenes in slate.toml, 4")] = Field(
        4, ge=1, le=64, title="Scenes at once", description="scenes of a film rendered at once (each a scene run: in "
        "this process, or on any worker when the film runs under a deployment)")
    # The rates film.yaml's `fps` takes (a whole rate stays an int: the keys it always had).
    fps: Annotated[FrameRate, Told(form=False, unset="the film's fps")] = Field(
        24, title="Frames per second", description="frames per second of rendered clips: the film's `fps` "
        "(film.yaml) unless told here; whole (1-120) or NTSC (23.976, 29.97, 59.94)")
    drift_every: Annotated[int, Told(form=False)] = Field(
        5, ge=1, le=100, title="Drift check every", description="check drift against the master references every "
        "Nth shot of a chain")
    drift_threshold: Annotated[float, Told(form=False)] = Field(
        0.35, ge=0, le=1, title="Drift threshold", description="drift (the worst of 1-SSIM, colour distance and "
        "1-CLIP similarity to the approved panel) past which the next chained shot re-anchors")
    clip_model: Annotated[str, Told(form=False)] = Field(
        "ViT-B-32", title="CLIP model", description="open_clip model name for drift checks (needs the slate[clip] "
        "extra)")
    clip_weights: Annotated[str, Told(form=False)] = Field(
        "", title="CLIP weights", description="CLIP weights: a checkpoint file's path or an open_clip pretrained tag "
        "(fetched from a hub); empty: CLIP drift is off")
    fallback_gate_share: Annotated[Decimal, Told(form=False)] = Field(
        Decimal("0.15"), ge=0, le=1, allow_inf_nan=False, title="Fallback gate share", description="a switch to a "
        "fallback video model that would raise the remaining cost by more than this share of the remaining budget "
        "waits for a person")
    video_slots: Annotated[int, Told(form=False, output=False)] = Field(
        1, ge=1, le=32, title="Video slots", description="video jobs in flight per provider key")
    busy_wait_seconds: Annotated[float, Told(form=False, output=False)] = Field(
        1800, ge=0, le=86400, title="Busy wait", description="how long a run waits for a paid call that another "
        "live run is making of the same request, before halting that shot")

    @model_validator(mode="before")
    @classmethod
    def _untold(cls, data: Any) -> Any:
        """A run's options: what arrives blank (None, "", the form's "from slate.toml", an empty
        list) was not told. The film's settings (a subclass) keep every value they are given."""
        if not cls.__told__ or not isinstance(data, dict):
            return data
        return {k: v for k, v in data.items() if not (v is None or v == [] or (isinstance(v, str) and v in _NOT_TOLD))}

    @field_validator("run_cap_usd", "film_cap_usd", mode="before")
    @classmethod
    def _dollars(cls, v: Any) -> Any:
        # "$5.00" and "1,000" as people type amounts on a command line or a form (slate.toml's
        # values are written once and checked as they stand: "$5" there is a mistake to name).
        if cls.__told__ and isinstance(v, str):
            return typed_amount(v)   # a comma not between groups of three digits is refused
        return v

    @field_validator("price_as", mode="before")
    @classmethod
    def _price_as_list(cls, v: Any) -> Any:
        # A list (repeated flags, a TOML array) is held as the one comma list the runs pass on.
        if isinstance(v, (list, tuple)):
            v = ",".join(str(x).strip() for x in v if str(x).strip())
        return v or None

    @field_validator("model_audio", mode="before")
    @classmethod
    def _switch(cls, v: Any) -> Any:
        # The form's spelling of a switch ("on"/"off"), as the CLI and code say it (True/False).
        for on, spelt in SWITCH_FORM.items():
            if v == spelt:
                return on
        return v

    @field_validator("pass_models", mode="before")
    @classmethod
    def _pass_models(cls, v: Any) -> Any:
        # PASS=MODEL, typed once a pass (a list) or as one comma list (a form's text field); a JSON
        # object as SLATE_PASS_MODELS spells a table.
        if isinstance(v, str):
            v = [v] if v.strip().startswith("{") else [x for x in v.split(",") if x.strip()]
        if isinstance(v, (list, tuple)):
            pairs: dict[str, Any] = {}
            for item in v:
                if isinstance(item, str) and item.strip().startswith("{"):
                    import json
                    try:
                        item = json.loads(item)
                    except ValueError:
                        raise ValueError(f"{item!r} is not a table of PASS = provider:model") from None
                if isinstance(item, dict):
                    pairs.update(item)
                    continue
                name, eq, model = str(item).partition("=")
                if not eq or not name.strip() or not model.strip():
                    raise ValueError(f"{item!r} is not PASS=provider:model (e.g. grain=comfyui:grain-35mm)")
                pairs[name.strip()] = model.strip()
            return pairs
        return v

    @field_validator("scenes", "approve_fallback", mode="before")
    @classmethod
    def _names(cls, v: Any) -> Any:
        # One name or a comma list, as a form's text field may send it.
        if isinstance(v, str):
            return [x.strip() for x in v.split(",") if x.strip()]
        return v

    @model_serializer(mode="wrap")
    def _dump(self, handler: Any) -> dict[str, Any]:
        """Only the told values: what crosses to a deployment's run, or is kept as a flow run's
        parameters, is what the run was told (an untold default must never become a told one)."""
        data: dict[str, Any] = handler(self)
        return {k: v for k, v in data.items() if k in self.model_fields_set}

    def told(self) -> dict[str, Any]:
        """What this run was told, by option name (the Python values)."""
        return {name: getattr(self, name) for name in type(self).model_fields if name in self.model_fields_set}

    def telling(self, **more: Any) -> "RunOptions":
        """These options with `more` told as well (None: leave as it is)."""
        return RunOptions(**{**self.told(), **{k: v for k, v in more.items() if v is not None}})


def told_pass_model(options: RunOptions, name: str) -> tuple[str | None, str]:
    """The model a run (or a film's settings) names for the pass over the clip called `name`, and
    the option that named it: the pass's own field where it has one (`faceswap_model`,
    `upscale_model`: their flags and keys kept), else `pass_models[name]`; (None, the option) when
    neither does."""
    own = f"{name}_model"
    if own in type(options).model_fields and name in _OWN_PASS_FIELDS:
        value = getattr(options, own)
        if value:
            return value, own
    return options.pass_models.get(name) or None, "pass_models" if name in options.pass_models else own


#: The passes whose model has a field of its own (the two slate shipped with: their flags, slate.toml
#: keys and the deployments' parameters keep working); every other pass is told in `pass_models`.
_OWN_PASS_FIELDS = ("faceswap", "upscale")


def told_of(name: str) -> Told:
    """The `Told` of an option (every field has one)."""
    field = RunOptions.model_fields[name]
    return next(m for m in field.metadata if isinstance(m, Told))


def option_names(**where: bool) -> list[str]:
    """The options whose `Told` matches every `where` (e.g. form=True, setting=False), in order."""
    return [n for n in RunOptions.model_fields if all(getattr(told_of(n), k) == v for k, v in where.items())]


def flag_of(name: str) -> str | None:
    return told_of(name).flag


def cli_flags() -> dict[str, str]:
    """Option → the command-line flag that tells it (how a problem names what was typed)."""
    return {n: told_of(n).flag for n in RunOptions.model_fields if told_of(n).flag}  # type: ignore[misc]


def output_names() -> list[str]:
    """The options that change what a stage makes: a scene's cache key holds their values."""
    return option_names(output=True)


def bounds(name: str) -> tuple[Any, Any]:
    """(ge, le) of an option (None where unbounded), as its field declares them."""
    low = high = None
    for m in RunOptions.model_fields[name].metadata:
        low = getattr(m, "ge", None) if getattr(m, "ge", None) is not None else low
        low = getattr(m, "gt", None) if getattr(m, "gt", None) is not None else low
        high = getattr(m, "le", None) if getattr(m, "le", None) is not None else high
    return low, high
