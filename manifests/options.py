"""A run's options, declared once: what a run may be told, and where each can be told it.

Every option a run takes is one `RunOption` here: its title (the Prefect form's label), its
description, the settings key it is (slate.toml, `SLATE_<KEY>`; its default and bounds are that
field's in manifests/settings.py), the command-line flag that sets it for one run, the name of
the run form's parameter, the `RunSpec` field a stage is handed it in (tasks/context.py) and
whether it changes what a stage makes — only those feed a scene's cache key (tasks/can.py).

The surfaces are derived from this table, never written again: the typer options of `slate
run`, `check`, `estimate` and `doctor` (slate/commands/options.py), the run form's field
descriptions and titles (flows/options.py, deployments/register.py), the preflight's overrides
and the flags its problems name (tasks/preflight.py), the cache key's exclusions
(tasks/can.py `NOT_OUTPUT`) and the bounds the CLI and the form check. tests/integration/test_run_options.py
holds each surface to it.

It must never hold a value of a run (this is a table of names), never a key or a URL with a
password, and it imports nothing of ours but manifests.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["RunOption", "OPTIONS", "RUN_IDENTITY", "SWITCH_FORM", "option", "by_form", "cli_flags", "not_output", "overrides",
           "bounds", "titles"]


@dataclass(frozen=True)
class RunOption:
    """One thing a run may be told.

    ``setting`` is the Settings field (slate.toml key, SLATE_* variable) or None for what only a
    run is told (which scenes, the project); ``flag`` the command-line flag (None: not on the
    command line); ``form`` the run form's parameter (None: not on the form); ``run_field`` the
    RunSpec field that carries the resolved value to the stages (None: resolved before them);
    ``output`` whether it changes what a stage makes (False: it changes only what is spent, how
    long a run waits, or which run this is — never part of a cache key)."""

    name: str
    title: str
    help: str
    unset: str = ""             # what not giving it means (the command line says "default: …")
    setting: str | None = None
    flag: str | None = None
    form: str | None = None
    run_field: str | None = None
    output: bool = True
    many: bool = False          # repeatable on the command line / a list on the form
    joined: bool = False        # repeatable on the command line, held as one comma list (a text setting)
    kind: type = str            # the command line's type (money is text: parsed as Decimal, never float;
                                # a bool is a switch: --flag / --no-flag, neither typed keeps the setting)

    @property
    def cli_help(self) -> str:
        return self.help + (f" (default: {self.unset})" if self.unset else "")

    @property
    def param(self) -> str:
        """The Python name of the command line's parameter (``--cap`` → ``cap``)."""
        return (self.flag or f"--{self.name}").lstrip("-").replace("-", "_")


# Where a value comes from, lowest first: the default, slate.toml, SLATE_*, then the flag or the form.
OPTIONS: tuple[RunOption, ...] = (
    RunOption("project", "Film project", "the film project's folder (with film.yaml) on the worker's machine, or a "
              "pushed film's address: s3://BUCKET[/PREFIX]/films/FILM_ID", form="project", output=False),
    RunOption("scene", "Scene", "the scene to render", unset="the first", flag="--scene", form="scene"),
    RunOption("scenes", "Scenes", "the scenes to render, in film order (repeatable)", unset="every scene of the film",
              flag="--scene", form="scenes", many=True),
    RunOption("profile", "Profile", "draft = 480p, no approval (the nightly batch); final = 720p after a person "
              "approves the shots; hero = 1080p for shots marked critical", setting="profile", flag="--profile",
              form="profile", run_field="profile"),
    RunOption("provider", "Provider", "who draws panels and animates them, where it offers them (local: offline and "
              "free)", setting="provider", flag="--provider", form="provider"),
    RunOption("panel_model", "Panel model", "panel model: provider or provider:model, e.g. "
              "gemini:gemini-2.5-flash-image", unset="from slate.toml", setting="panel_model", flag="--panel-model", form="panel_model",
              run_field="panel_model"),
    RunOption("video_model", "Video model(s)", "video model(s), comma-separated: the first is used, the rest are "
              "fallbacks when a take is refused, e.g. replicate:bytedance/seedance-1-lite", unset="from slate.toml",
              setting="video_model",
              flag="--video-model", form="video_model", run_field="video_models"),
    RunOption("judge", "Judge", "judge of the gates: provider or provider:model",
              unset="local with local panels, else gemini", setting="judge", flag="--judge", form="judge", run_field="judge_model"),
    RunOption("model_audio", "Model audio", "ask the video model for the sound it makes with the picture, and pay "
              "for it where the rate card prices it higher (per profile: [models.<profile>] audio in slate.toml)",
              unset="the profile's, else off", setting="model_audio", flag="--model-audio", form="model_audio",
              run_field="model_audio", kind=bool),
    RunOption("cannot_judge", "What the judge cannot judge", "block | warn: what a gate does with a take its judge "
              "cannot judge (art it cannot read). warn rehearses the plumbing offline: such takes go on, shown "
              "UNJUDGED on the contact sheet, the validation table and the summary", unset="slate.toml, block",
              setting="cannot_judge", flag="--cannot-judge", form="cannot_judge", run_field="cannot_judge"),
    RunOption("run_cap_usd", "Run cap (USD)", "the most this run may spend in USD, e.g. 5.00; 0 is a cap of zero",
              unset="the film's budget block", setting="run_cap_usd", flag="--cap", form="cap",
              run_field="run_cap_usd", output=False),
    RunOption("film_cap_usd", "Film cap (USD)", "per-film budget cap in USD, across runs", setting="film_cap_usd",
              run_field="film_cap_usd", output=False),
    RunOption("price_as", "Price as (rehearsal)", "rehearse: price the calls of a capability as this model, once "
              "per capability (panel, judge, video), e.g. --price-as gemini:gemini-2.5-flash-image --price-as "
              "gemini:gemini-2.5-flash --price-as replicate:bytedance/seedance-1-pro (on the form: a comma list)",
              setting="price_as", flag="--price-as", form="price_as", run_field="price_as", output=False, joined=True),
    RunOption("approve_fallback", "Approved fallbacks", "allow this fallback video model whatever its cost impact "
              "(the command a halted run names)", setting="approve_fallback", flag="--approve-fallback",
              form="approve_fallback", run_field="approved_fallbacks", many=True),
    RunOption("max_takes", "Takes per shot", "takes of one stage before a shot is escalated",
              unset="the film's budget block", setting="max_takes", flag="--max-takes", form="max_takes", run_field="max_takes",
              kind=int),
    RunOption("no_progress_takes", "Takes without progress", "escalate when the best gate score has not improved "
              "over this many takes", setting="no_progress_takes", run_field="no_progress_takes", kind=int),
    RunOption("max_parallel_scenes", "Scenes at once", "scenes rendered at once",
              unset="max_parallel_scenes in slate.toml, 4", setting="max_parallel_scenes", flag="--max-parallel-scenes",
              form="max_parallel_scenes", output=False, kind=int),
    RunOption("fps", "Frames per second", "frames per second of rendered clips", setting="fps", run_field="fps",
              kind=int),
    RunOption("drift_every", "Drift check every", "check drift every Nth shot of a chain", setting="drift_every",
              run_field="drift_every", kind=int),
    RunOption("drift_threshold", "Drift threshold", "drift past which the next chained shot re-anchors",
              setting="drift_threshold", run_field="drift_threshold", kind=float),
    RunOption("clip_model", "CLIP model", "open_clip model name for drift checks", setting="clip_model",
              run_field="clip_model"),
    RunOption("clip_weights", "CLIP weights", "CLIP weights for drift checks (empty: CLIP drift is off)",
              setting="clip_weights", run_field="clip_weights"),
    RunOption("fallback_gate_share", "Fallback gate share", "a fallback's cost rise past this share of what is left "
              "waits for a person", setting="fallback_gate_share", run_field="fallback_gate_share"),
    RunOption("local_latency", "Local latency", "seconds the local provider takes per video job",
              setting="local_latency", run_field="local_latency", output=False, kind=float),
    RunOption("local_fault_rate", "Local fault rate", "share of local outputs made off-model on purpose",
              setting="local_fault_rate", run_field="local_fault_rate", kind=float),
    RunOption("local_fault_seed", "Local fault seed", "seed of the local provider's fault mode",
              setting="local_fault_seed", run_field="local_fault_seed", kind=int),
    RunOption("local_fault_kinds", "Local fault kinds", "comma-separated fault kinds", setting="local_fault_kinds",
              run_field="local_fault_kinds"),
    RunOption("video_slots", "Video slots", "video jobs in flight per provider key", setting="video_slots",
              run_field="video_slots", output=False, kind=int),
    RunOption("busy_wait_seconds", "Busy wait", "how long a run waits for a paid call another live run is making",
              setting="busy_wait_seconds", run_field="busy_wait_seconds", output=False, kind=float),
)

#: How the run form spells a switch (a bool option): a dropdown of "from slate.toml", "on", "off".
SWITCH_FORM: dict[bool, str] = {True: "on", False: "off"}

#: RunSpec fields that are not options: which run and scene this is, and where the providers are.
#: True: part of what a stage makes (a scene's key holds them); False: never in a key.
RUN_IDENTITY: dict[str, bool] = {"root": False, "run_id": False, "film": True, "scene": True, "base_urls": True}

_BY_NAME = {o.name: o for o in OPTIONS}


def option(name: str) -> RunOption:
    return _BY_NAME[name]


def by_form(form: str) -> RunOption:
    """The option a run form parameter sets."""
    return next(o for o in OPTIONS if o.form == form)


def titles() -> dict[str, str]:
    """How the run form titles each of its fields."""
    return {o.form: o.title for o in OPTIONS if o.form}


def cli_flags() -> dict[str, str]:
    """Settings field → the command-line flag that sets it (how a problem names what was typed)."""
    return {o.setting: o.flag for o in OPTIONS if o.setting and o.flag}


def overrides(values: dict[str, Any]) -> dict[str, Any]:
    """A run's given values (by option name; None: not given) as settings overrides, every
    option that is a setting and has a flag or a form present (None when not given)."""
    return {o.setting: values.get(o.name) for o in OPTIONS if o.setting and (o.flag or o.form)}


def not_output() -> tuple[str, ...]:
    """RunSpec fields that change what is spent, how long a run waits or which run it is —
    never what is made: left out of every cache key."""
    return tuple([f for f, made in RUN_IDENTITY.items() if not made]
                 + [o.run_field for o in OPTIONS if o.run_field and not o.output])


def bounds(name: str) -> tuple[Any, Any]:
    """(ge, le) of an option's setting, as Settings declares them (None where unbounded)."""
    from annotated_types import Ge, Gt, Le

    from slate.manifests.settings import Settings
    low = high = None
    for m in Settings.model_fields[option(name).setting].metadata:
        if isinstance(m, (Ge, Gt)):
            low = getattr(m, "ge", None) if isinstance(m, Ge) else m.gt
        if isinstance(m, Le):
            high = m.le
    return low, high
