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

from providers.registry import provider_names

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
# the parameter's name: deployments/serve.py gives the form its TITLES).
ProfileChoice = Annotated[Literal["from slate.toml", "draft", "final", "hero"], BeforeValidator(_blank)]
# The registry's providers, whichever modules declare them (a plugin's included).
ProviderChoice = Annotated[Literal[(FROM_SETTINGS, *provider_names())], BeforeValidator(_blank)]
CannotJudgeChoice = Annotated[Literal["from slate.toml", "block", "warn"], BeforeValidator(_blank)]
ModelText = Annotated[str, BeforeValidator(_text)]
ModelList = Annotated[list[str], BeforeValidator(_names)]
PositiveInt = Annotated[int, BeforeValidator(lambda v: v or 0)]

PROJECT = Field(description="the film project's folder (with film.yaml) on the worker's machine, or a pushed "
                            "film's address: s3://BUCKET[/PREFIX]/films/FILM_ID")
SCENE = Field("", description="the scene to render (empty: the first)")
SCENES = Field([], description="the scenes to render, in film order (empty: every scene)")
PROFILE = Field(FROM_SETTINGS, description="draft = 480p, no approval (the nightly batch); final = 720p after a "
                                           "person approves the shots; hero = 1080p for shots marked critical")
PROVIDER = Field(FROM_SETTINGS, description="who draws panels and animates them, where it offers them "
                                            "(local: offline and free)")
CAP = Field("", description="the most this run may spend in USD, e.g. 5.00 (empty: the film's slate-budget block; "
                            "0 is a cap of zero)")
TAKES = Field(0, ge=0, le=20, description="takes of one stage before a shot is escalated (0: the film's budget "
                                          "block)")


def chosen(value: Any) -> Any:
    """A form value as a settings override: None when the person left the project's setting."""
    if value in (None, "", FROM_SETTINGS) or value == []:
        return None
    return value


def cap_of(value: Any) -> Decimal | None:
    from governor.money import usd
    value = chosen(value)
    return None if value is None else usd(value)


PANEL_MODEL = Field("", description="provider or provider:model, e.g. gemini:gemini-2.5-flash-image (empty: "
                                     "from slate.toml)")
VIDEO_MODEL = Field("", description="comma-separated: the first is used, the rest are fallbacks when a take is "
                                    "refused (empty: from slate.toml)")
JUDGE = Field("", description="provider or provider:model of the gates' judge (empty: local with local panels, "
                              "else gemini)")
PRICE_AS = Field("", description="rehearsal: the local provider runs, every video call is priced and capped as "
                                 "this model, e.g. replicate:bytedance/seedance-1-pro")
APPROVE_FALLBACK = Field([], description="fallback video models allowed whatever their cost "
                                                           "impact (the command a held run names)")

CANNOT_JUDGE = Field(FROM_SETTINGS, description="a take the judge cannot judge (art it cannot read): block — the "
                                                 "shot is escalated; warn — a rehearsal: it goes on, shown UNJUDGED, "
                                                 "never passed silently")

MAX_PARALLEL_SCENES = Field(0, ge=0, le=64, description="scenes rendered at once (0: max_parallel_scenes in "
                                                        "slate.toml, 4 by default)")

#: How the UI titles each field of the run form.
TITLES = {"project": "Film project", "scene": "Scene", "scenes": "Scenes", "profile": "Profile",
          "provider": "Provider", "panel_model": "Panel model", "video_model": "Video model(s)", "judge": "Judge",
          "cap": "Run cap (USD)", "price_as": "Price as (rehearsal)", "max_takes": "Takes per shot",
          "approve_fallback": "Approved fallbacks", "max_parallel_scenes": "Scenes at once",
          "cannot_judge": "What the judge cannot judge"}
