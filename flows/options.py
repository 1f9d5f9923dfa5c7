"""The run form: the parameters a person fills in on the Prefect UI (and the CLI passes).

Prefect builds a deployment's run form from its flow's signature, so every parameter here has a
title, a description, a default a person can leave alone, and — where the answer is one of a
few — an enum the UI shows as a dropdown ("from slate.toml" keeps the project's setting; a
deployment's form shows the film's own value as its default instead: deployments/register.py
`form_defaults`). No parameter is `X | None`: the UI would show a type toggle where a person expects a field.
Values arriving as None or Decimal from code are turned into the form's own spelling.

It must never carry a key or a URL with a password: those are read where they are used.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from slate.manifests.options import SWITCH_FORM, bounds, by_form, titles
from slate.providers.registry import provider_names

FROM_SETTINGS = "from slate.toml"


def _blank(v: Any) -> Any:
    return FROM_SETTINGS if v in (None, "") else v


def _text(v: Any) -> str:
    return "" if v is None else str(v)


def _names(v: Any) -> list[str]:
    if v is None:
        return []
    if isinstance(v, str):
        return [x.strip() for x in v.split(",") if x.strip()]
    return [str(x) for x in v]


# Prefect reads a parameter's description from a Field given as its default (its title is always
# the parameter's name: deployments/register.py gives the form its TITLES). The descriptions,
# titles and bounds are the run options' declaration (manifests/options.py).
ProfileChoice = Annotated[Literal["from slate.toml", "draft", "final", "hero"], BeforeValidator(_blank)]
ProviderChoice = Annotated[Literal[("from slate.toml", *provider_names())],  # type: ignore[misc]
                           BeforeValidator(_blank)]
CannotJudgeChoice = Annotated[Literal["from slate.toml", "block", "warn"], BeforeValidator(_blank)]
ModelText = Annotated[str, BeforeValidator(_text)]


def _switch(v: Any) -> Any:
    """A switch from code (True/False/None, as the CLI hands it) in the form's own spelling."""
    if isinstance(v, bool):
        return SWITCH_FORM[v]
    return _blank(v)


SwitchChoice = Annotated[Literal["from slate.toml", "on", "off"], BeforeValidator(_switch)]
ModelList = Annotated[list[str], BeforeValidator(_names)]
PositiveInt = Annotated[int, BeforeValidator(lambda v: v or 0)]


def _field(form: str, default: Any, blank: str = "empty", **limits) -> Any:
    """The form's field for a declared run option: its description from manifests/options.py,
    with what leaving it `blank` (the form's spelling of "not given") means."""
    declared = by_form(form)
    unset = f" ({blank}: {declared.unset})" if declared.unset else ""
    return Field(default, description=declared.help + unset, **limits)


def _bounded(form: str) -> dict:
    """The setting's upper bound on the form (its 0 means "the film's own value")."""
    _, high = bounds(by_form(form).name)
    return {"ge": 0, **({"le": high} if high is not None else {})}


PROJECT = Field(description=by_form("project").help)
SCENE = _field("scene", "")
SCENES = _field("scenes", [])
PROFILE = _field("profile", FROM_SETTINGS)
PROVIDER = _field("provider", FROM_SETTINGS)
CAP = _field("cap", "")
TAKES = _field("max_takes", 0, "0", **_bounded("max_takes"))


def chosen(value: Any) -> Any:
    """A form value as a settings override: None when the person left the project's setting."""
    if value in (None, "", FROM_SETTINGS) or value == []:
        return None
    return value


def given_of(**form: Any) -> dict[str, Any]:
    """The form's values as a run's options by their declared name (manifests/options.py):
    what the person left alone is None, a count of 0 is "the film's own", a cap is Decimal."""
    given = {}
    for name, value in form.items():
        declared = by_form(name)
        value = cap_of(value) if declared.name == "run_cap_usd" else chosen(value)
        if declared.kind is bool and value is not None:
            value = {spelt: on for on, spelt in SWITCH_FORM.items()}[_switch(value)]
        given[declared.name] = (value or None) if declared.kind is int else value
    return given


def cap_of(value: Any) -> Decimal | None:
    from slate.governor.money import usd
    value = chosen(value)
    return None if value is None else usd(value)


PANEL_MODEL = _field("panel_model", "")
VIDEO_MODEL = _field("video_model", "")
JUDGE = _field("judge", "")
PRICE_AS = _field("price_as", "")
APPROVE_FALLBACK = _field("approve_fallback", [])
CANNOT_JUDGE = _field("cannot_judge", FROM_SETTINGS)
MODEL_AUDIO = _field("model_audio", FROM_SETTINGS, FROM_SETTINGS)
MAX_PARALLEL_SCENES = _field("max_parallel_scenes", 0, "0", **_bounded("max_parallel_scenes"))

#: How the UI titles each field of the run form.
TITLES = titles()
