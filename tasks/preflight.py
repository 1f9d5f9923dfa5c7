"""Preflight: everything a run would refuse, found before it spends a cent.

One function, `preflight`, run by `slate check` and as the first step of the scene and film
flows, so the two can never disagree. It checks, for the whole film or the scene asked:

- settings: slate.toml, SLATE_* variables and the command line (manifests.settings);
- manifests: everything load_film checks, within its size, node and count limits;
- references: every turnaround, plate and panel override the shots use is a regular file
  inside the project, within its byte and pixel limits, and decodes (tasks.references, the
  same reading the run's reference check does);
- the stitch: every dissolve fits between its shots (media.dissolve_misfits, the rule the
  stitch itself enforces);
- providers and prices: provider and judge exist, and every call the run will make — each
  shot's clip at the resolution its profile gives it, panels, gates — has a price on the
  rate card, `price_as` included.

Each mistake is one Problem naming the file (or the SLATE_* variable, or the command-line
flag), the shot and the field. Nothing is raised for a bad input.

It must never spend, call a provider, write to storage or the ledger, or decode an image
before its header has been checked against the limits.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from governor.chokepoint import Units
from governor.estimate import JUDGE_TOKENS
from governor.ratecard import (Pricing, RateCard, RateCardError, RateError, UnknownRate, UnpricedDuration,
                               UnpricedResolution)
from manifests import LoadedFilm, ManifestError, Problem, load_film
from manifests.profiles import PROFILES
from manifests.settings import Settings, check_settings, setting_origin
from media import dissolve_misfits
from providers.local import FaultMode
from providers.registry import UnknownProvider, lineup, storage_for
from governor.gates import GatePolicy, GatePolicyError
from providers.prompts import RulesError
from tasks.lint import scene_findings
from tasks.sheet_check import sheet_problems
from tasks.references import reference_problems

__all__ = ["Preflight", "preflight", "refused"]

COMMAND_LINE = "command line"
FLAGS = {"run_cap_usd": "--cap", "price_as": "--price-as", "max_takes": "--max-takes", "panel_model": "--panel-model",
         "video_model": "--video-model", "judge": "--judge"}


@dataclass
class Preflight:
    """What preflight found: the film and settings a run may use, or the problems."""

    root: Path
    film: LoadedFilm | None
    settings: Settings | None
    scenes: list[str] = field(default_factory=list)   # scene ids checked, in film order
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)  # the prompt lint's warnings: printed, not refused

    @property
    def ok(self) -> bool:
        return not self.problems

    def report(self) -> str:
        """One problem a line, then how many."""
        return "\n".join([*map(str, self.problems), f"{len(self.problems)} problem(s): nothing was run or spent"])


def preflight(root: Path, *, scene: str | None = None, whole_film: bool = True, profile: str | None = None,
              provider: str | None = None, price_as: str | None = None, cap: Decimal | str | None = None,
              max_takes: int | None = None, judge: str | None = None, panel_model: str | None = None,
              video_model: str | None = None) -> Preflight:
    """Check a film project as a run with these options would use it.

    ``scene`` limits the reference, stitch and price checks to one scene; without it every
    scene is checked, or only the first when ``whole_film`` is False (what a scene run with
    no scene renders). Manifests and settings are always checked whole."""
    root = Path(root)
    overrides = {"profile": profile, "provider": provider, "price_as": price_as, "run_cap_usd": cap,
                 "max_takes": max_takes, "judge": judge, "panel_model": panel_model, "video_model": video_model}
    settings, problems = check_settings(root, overrides, flags=FLAGS)
    unknown_provider = _provider_problems(root, settings, overrides) if settings is not None else []
    problems += unknown_provider

    try:
        film = load_film(root)
    except ManifestError as exc:
        return Preflight(root, None, settings, [], problems + exc.problems)

    ids = [s.id for _, s in film.scenes]
    if scene is not None and scene not in ids:
        problems.append(Problem(COMMAND_LINE, None, "--scene", f"unknown scene {scene!r} (film has: {', '.join(ids)})"))
        return Preflight(root, film, settings, [], problems)
    scenes = [scene] if scene is not None else ids if whole_film else ids[:1]

    unreadable = reference_problems(storage_for(root), film, scenes)
    problems += unreadable
    if settings is not None and not unknown_provider and not unreadable:
        # The reference gate's free half: slate's own reading of each sheet and plate, held to
        # the policy as the run's judge would hold it (a bad gates.toml is reported below).
        try:
            problems += sheet_problems(storage_for(root), film, scenes, root, lineup(settings).judge.provider,
                                       settings.profile)
        except (GatePolicyError, UnknownProvider):
            pass  # each is its own problem line below / above
    for scene_id in scenes:
        problems += stitch_problems(film, scene_id)
    warnings: list[Problem] = []
    if settings is not None and not unknown_provider:
        problems += price_problems(root, film, scenes, settings, overrides)
        try:
            blocking, warnings = prompt_problems(film, scenes, settings)
            problems += blocking
        except RulesError as exc:
            problems.append(Problem("prompt_rules.toml", None, "file", str(exc)))
        try:
            GatePolicy.load(root)
        except GatePolicyError as exc:
            problems.append(Problem("gates.toml", None, "file", str(exc).removeprefix("gates.toml: ")))
    return Preflight(root, film, settings, scenes, problems, warnings)


def prompt_problems(film: LoadedFilm, scenes: list[str], settings: Settings) -> tuple[list[Problem], list[Problem]]:
    """The prompt lint over every prompt the run would send: (blocking, warnings)."""
    chosen = lineup(settings)
    blocking, warnings = [], []
    for scene_id in scenes:
        file = film.scene_file(scene_id)
        for shot, where, finding in scene_findings(film, scene_id, str(chosen.panel), [str(v) for v in chosen.videos]):
            (blocking if finding.blocking else warnings).append(Problem(file, shot, where, str(finding)))
    return blocking, warnings


def stitch_problems(film: LoadedFilm, scene_id: str) -> list[Problem]:
    """Dissolves the stitch would refuse, named by the shot whose transition_out they are."""
    shots = film.scene(scene_id).shots
    misfits = dissolve_misfits([s.duration for s in shots],
                               [(s.transition_out.kind, s.transition_out.duration) for s in shots[:-1]],
                               labels=[s.id for s in shots])
    file = film.scene_file(scene_id)
    return [Problem(file, shots[i].id, "transition_out.duration", why) for i, why in misfits]


def _setting_problem(name: str, message: str, overrides: dict) -> Problem:
    if name.startswith("models."):
        return Problem("slate.toml", None, name, message)
    file, where = setting_origin(name, overrides, FLAGS)
    return Problem(file, None, where, message)


def _provider_problems(root: Path, settings: Settings, overrides: dict) -> list[Problem]:
    """The lineup of models the settings choose (providers/registry.py), each one known."""
    problems = []
    try:
        lineup(settings)
    except UnknownProvider as exc:
        problems.append(_setting_problem(exc.setting, str(exc), overrides))
    try:
        FaultMode.parse(settings.local_fault_rate, settings.local_fault_seed, settings.local_fault_kinds)
    except ValueError as exc:
        problems.append(_setting_problem("local_fault_kinds", str(exc), overrides))
    return problems


def _rate_card(root: Path) -> tuple[RateCard | None, list[Problem]]:
    try:
        return RateCard.load(root), []
    except RateCardError as exc:
        # The message starts with the file's absolute path; the project's file is named by key.
        text = str(exc).replace(f"{root / 'rates.toml'}: ", "").replace(f"{root.resolve() / 'rates.toml'}: ", "")
        return None, [Problem("rates.toml", None, "file", text)]


def price_problems(root: Path, film: LoadedFilm, scenes: list[str], settings: Settings,
                   overrides: dict | None = None) -> list[Problem]:
    """Every call the run will make, priced as the run will price it; a call that cannot be is
    a Problem on the shot and field that make it unpriceable (duration, critical) or on the
    setting that chose the model or resolution."""
    card, problems = _rate_card(root)
    if card is None:
        return problems
    chosen_models = lineup(settings)

    def on_setting(name: str, message: str) -> Problem:
        return _setting_problem(name, message, overrides or {})

    # Which setting chose each key, so an unknown one is reported where it can be fixed.
    video_from = "video_model" if settings.video_model else "provider"
    chosen = {"image": (str(chosen_models.panel), "panel_model" if settings.panel_model else "provider"),
              "video": (str(chosen_models.video), video_from),
              "judge": (str(chosen_models.judge), "judge")}
    if settings.price_as is not None:
        try:
            kind = card.rate(settings.price_as).kind
        except UnknownRate as exc:
            return [on_setting("price_as", str(exc))]
        if kind == "judge":
            return [on_setting("price_as", f"{settings.price_as!r} is a judge model; price_as re-prices "
                                                 "the image or video calls only")]
        chosen[kind] = (settings.price_as, "price_as")
    for kind, (key, name) in chosen.items():
        try:
            card.rate(key, kind)
        except UnknownRate as exc:
            problems.append(on_setting(name, str(exc)))
    fallbacks = [str(v) for v in chosen_models.videos[1:]] if chosen["video"][1] != "price_as" else []
    for key in fallbacks:
        try:
            card.rate(key, "video")
        except UnknownRate as exc:
            problems.append(on_setting(video_from, f"fallback {exc}"))
    if problems:
        return problems
    pricing = Pricing.for_lineup(card, str(chosen_models.panel), [str(v) for v in chosen_models.videos],
                                 str(chosen_models.judge), settings.price_as)

    profile = PROFILES[settings.profile]
    said: set[str] = set()

    def once(problem: Problem) -> None:
        if str(problem) not in said:
            said.add(str(problem))
            problems.append(problem)

    try:
        pricing.estimate(Units("judge", input_tokens=JUDGE_TOKENS[0], output_tokens=JUDGE_TOKENS[1]),
                         chosen["judge"][0])
    except RateError as exc:
        once(on_setting("judge", str(exc)))
    for scene_id in scenes:
        file = film.scene_file(scene_id)
        for shot in film.scene(scene_id).shots:
            resolution, _, height = profile.for_shot(shot.critical)
            hero = shot.critical and profile.hero_resolution == resolution
            try:
                pricing.estimate(Units("image", images=1, resolution=f"{height}p"), chosen["image"][0])
            except RateError as exc:
                once(on_setting(chosen["image"][1], str(exc)))
            for key in fallbacks:
                try:
                    pricing.estimate(Units("video", seconds=shot.duration, resolution=resolution), key)
                except RateError as exc:
                    problems.append(Problem(file, shot.id, "duration", f"{exc}: the fallback video model cannot "
                                                                       f"make this shot"))
            try:
                pricing.estimate(Units("video", seconds=shot.duration, resolution=resolution), chosen["video"][0])
            except UnpricedDuration as exc:
                problems.append(Problem(file, shot.id, "duration", f"{exc}: the video model cannot make this shot"))
            except UnpricedResolution as exc:
                if hero:
                    problems.append(Problem(file, shot.id, "critical", f"{exc}; the {profile.name} profile renders "
                                                                       f"critical shots at {resolution}"))
                else:  # every shot at the profile's resolution: one line, on the setting
                    once(on_setting("profile", f"{exc}; the {profile.name} profile renders shots at {resolution}"))
            except RateError as exc:
                once(on_setting(chosen["video"][1], str(exc)))
    return problems


def refused(checked: Preflight):
    """The state a flow returns when preflight found problems: Failed, named "Refused", its
    message the problems one a line. Nothing was spent, nothing was written."""
    from prefect import get_run_logger
    from prefect.states import Failed

    report = checked.report()
    get_run_logger().error("refused before spending:\n%s", report)
    return Failed(name="Refused", message=report)
