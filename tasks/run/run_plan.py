"""A run resolved once: what a run told some options would use, obey and cost, each value with where
it came from.

`plan_run(film, options, block)` turns the film, its settings, what the run was told and the film's
budget block (governor/budget.py `SlateBudget`, as a person may have edited it in the Prefect UI)
into one `RunPlan`:

  - `lineup`: the models, as references (providers/registry.py `lineup`), and `origins` saying
    which setting, table or default chose each;
  - `limits`: the run and film caps, takes per shot and takes without progress (governor/budget.py
    `resolve_limits`: told, else the block where a person edited it, else slate.toml);
  - `settings`: the film's settings with the told options and the limits over them (what a `Run`
    is made from);
  - `estimate`: the film's (or the asked scenes') expected cost — panels, judge calls, clips, the
    lines of dialogue spoken and lip-synced, the face swaps shots ask for, the approved takes'
    upscale at a final or hero run — held to the run cap above (`estimate_of`, the one assembly of an
    estimate: the flows price a scene's own plans with it too).

`slate run`, `check`, `estimate`, `doctor`, `status`, the agent's session and the flows all ask it,
so they show one cap and one total. Where the block is read is the caller's (a command finds the
film's server, a flow has its own): handed none, the block stands as slate writes it from
slate.toml (`film_block`), and `block_from` says so.

It must never spend, call a provider, or write anything but the budget block (and that only with
`save`, as a run's start does); money stays Decimal.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slate.governor.estimate import FilmEstimate, estimate_film, lineup_pricing, takes_so_far
from slate.governor.gates import judge_kind
from slate.governor.limits import LIMITS, Limits
from slate.governor.money import fmt_usd
from slate.governor.ratecard import Pricing
from slate.manifests import LoadedFilm
from slate.manifests.options import RunOptions, cli_flags, option_names
from slate.manifests.settings import Settings, check_settings, model_audio, setting_origin
from slate.providers.registry import Lineup, lineup
from slate.tasks.shot.clip_passes import as_used, pass_costs, passes

if TYPE_CHECKING:   # the block is Prefect's: imported where a plan is made, not where one is read
    from slate.governor.budget import SlateBudget
    from slate.governor.ledger import CallRow
    from slate.manifests.dialogue import Line
    from slate.tasks.shot.plan import ShotPlan

__all__ = ["RunPlan", "plan_run", "estimate_of", "film_rows", "NO_BLOCK_READ"]

#: Where the limits came from when nobody handed the film's block (no server holds it here).
NO_BLOCK_READ = ("no Prefect server holds the film's budget block here: it follows slate.toml unless edited in "
                 "the Prefect UI, and a run says so")

#: The lineup's roles, as a person reads them (each pass over the clip: its declared title).
ROLES = {"panel": "panels", "videos": "video", "judge": "judge", "lipsync": "lip-sync"}


@dataclass(frozen=True)
class RunPlan:
    """What a run told these options would use, obey and cost (the module's docstring)."""

    film_id: str
    settings: Settings                 # the film's, with the told options and the limits over them
    lineup: Lineup                     # the models, as references
    limits: Limits                     # the caps and take policy, each with where it came from
    scenes: tuple[str, ...]            # the scenes it makes, in film order
    estimate: FilmEstimate | None      # None: not priced (`priced=False`)
    origins: dict[str, str] = field(default_factory=dict)   # lineup role -> where its model came from
    used: Lineup | None = None         # the lineup without a pass no shot of its scenes asks for (what is checked)
    block_from: str = NO_BLOCK_READ    # where the film's budget block was read
    speech: Mapping[str, tuple[str, ...]] = field(default_factory=dict)   # speech model -> who speaks with it in its scenes
    costs: Mapping[str, Decimal] = field(default_factory=dict)   # lineup role (or "speech MODEL", "music MODEL") -> one take of what it makes
    music: Mapping[str, tuple[str, ...]] = field(default_factory=dict)   # music model -> the cues made with it

    def _cost(self, role: str) -> str:
        return f" {fmt_usd(self.costs[role])}" if role in self.costs else ""

    @property
    def cap(self) -> Decimal:
        return self.limits.run_cap_usd

    @property
    def pricing(self) -> Pricing:
        assert self.estimate is not None, "an unpriced plan"
        return next(iter(self.estimate.scenes.values())).pricing

    def limits_line(self) -> str:
        """The caps and take policy, each with where it came from, and where the block was read."""
        l = self.limits
        return (f"run cap {l.said('run_cap_usd')}, film cap {l.said('film_cap_usd')}; takes {l.said('max_takes')}, "
                f"without progress {l.said('no_progress_takes')} ({self.block_from})")

    def lineup_line(self) -> str:
        """Each model of the lineup the run uses and where it came from (a face swap no shot asks for,
        or a pass it has no model for: not said)."""
        c = self.used or self.lineup
        parts = [f"panels {c.panel} ({self.origins['panel']}){self._cost('panel')}",
                 f"video {' then '.join(map(str, c.videos))} ({self.origins['videos']}){self._cost('videos')}",
                 f"judge {c.judge} ({self.origins['judge']}){self._cost('judge')}"]
        if c.second_judge is not None:   # a ladder (issue 60): asked only where the first fails or cannot judge
            parts.append(f"then judge {c.second_judge} where the first fails a take or cannot judge it "
                         f"({self.origins.get('second_judge', 'told')}){self._cost('second_judge')}")
        if c.lipsync is not None:
            parts.append(f"{ROLES['lipsync']} {c.lipsync} ({self.origins['lipsync']}){self._cost('lipsync')}")
        for p in passes():   # each pass over the clip the run has a model for, in the lane's order of declaration
            model = c.pass_model(p.name)
            if model is not None:
                parts.append(f"{p.title} {model} ({self.origins[p.name]}){self._cost(p.name)}")
        for spoken, speakers in self.speech.items():   # the voices of the scenes' lines (the bible's)
            parts.append(f"speech {spoken} (bible.yaml: {', '.join(speakers)}){self._cost('speech ' + spoken)}")
        for composer, cues in self.music.items():   # the scenes' cues made to a brief (finishing.music)
            parts.append(f"music {composer} (finishing.music: {', '.join(cues)}){self._cost('music ' + composer)}")
        priced = f"; rehearsal priced as {self.settings.price_as.replace(',', ', ')}" if self.settings.price_as else ""
        each = "; $: one take of everything each model makes" if self.costs else ""
        return "models: " + ", ".join(parts) + priced + each

    def total_line(self) -> str:
        """The expected total against the run cap (the line every command prints the same)."""
        assert self.estimate is not None, "an unpriced plan"
        return self.estimate.verdict()

    def lines(self) -> list[str]:
        """What every command says of the run: its models, its limits (and the slate.toml values a UI
        edit outvotes), and its expected total against its cap."""
        said = [self.lineup_line(), self.limits_line(), *(f"warning: {u}" for u in self.limits.unused)]
        return said + ([self.total_line()] if self.estimate is not None else [])


def plan_run(film: LoadedFilm, options: RunOptions | None = None, block: SlateBudget | None = None, *,
             settings: Settings | None = None, own: Settings | None = None, block_from: str | None = None,
             scenes: Sequence[str] | None = None, rows: Sequence[CallRow] | None = None, priced: bool = True,
             plans: Mapping[str, Sequence[ShotPlan]] | None = None, save: bool = False) -> RunPlan:
    """The run's plan (the module's docstring). `settings`: the film's settings with the told options
    (the preflight's; read from the project when not given); `own`: the film's own, never one run's
    flags (read when not given); `block`: the film's budget block as the server holds it (None:
    as slate writes it from slate.toml); `save`: let the block follow slate.toml (a run's start).
    `scenes`: the scenes priced (default: the told ones, else every scene); `rows`: the film's
    ledger rows so far (the top of the range counts the takes its shots needed; none: the take
    policy); `plans`: the scenes' shot plans when the caller has them (a scene flow's own).
    A setting or a lineup that cannot be resolved is raised as the settings' ManifestError or the
    registry's UnknownProvider, naming the setting; a price the rate card lacks, as a RateError."""
    from slate.governor.budget import film_block, resolve_limits
    from slate.tasks.run.preflight import settings_overrides
    options = options if options is not None else RunOptions()
    root = Path(film.root)
    told = settings_overrides(options)
    if own is None:
        own = _settings(root, {})
    if settings is None:
        settings = _settings(root, told)
    limits = resolve_limits(film.film.id, own, options.told(), origin_of=setting_origin,
                            block=block if block is not None else film_block(own), save=save and block is not None)
    settings = settings.model_copy(update={name: getattr(limits, name) for name in LIMITS})
    chosen = lineup(settings)
    ids = [sc.id for _, sc in film.scenes]
    wanted = tuple(s for s in ids if s in (scenes if scenes is not None else options.scenes or ids))
    estimate = None
    if priced:
        if plans is None:
            plans = {sc: _planned(film, sc, settings, chosen) for sc in wanted}
        estimate = estimate_of(film, plans, lineup_pricing(root, chosen, settings.price_as), chosen, settings,
                               rows=rows or ())
    costs = {} if estimate is None or plans is None else \
        model_costs(film, plans, estimate, chosen, settings.profile)
    return RunPlan(film.film.id, settings, chosen, limits, wanted, estimate,
                   origins=_lineup_origins(chosen, told, own), used=as_used(chosen, film, wanted),
                   block_from=block_from or NO_BLOCK_READ, speech=speech_models(film, wanted, settings.profile),
                   costs=costs, music=music_models(film, wanted))


def model_costs(film: LoadedFilm, plans: Mapping[str, Sequence[ShotPlan]], estimate: FilmEstimate, chosen: Lineup,
                profile: str) -> dict[str, Decimal]:
    """What each model of the lineup costs in `estimate`, one take of everything it makes in the
    scenes of `plans`: by lineup role ("panel", "videos" — priced as its first model —, "judge",
    "lipsync", each pass by name) and "speech MODEL" for each voice model the lines speak with.
    The same prices as the estimate's columns, split by who is paid: the sum is its one take."""
    from slate.tasks.shot.clip_passes import costs_by_pass
    from slate.tasks.shot.lipsync import sync_costs
    from slate.tasks.shot.voicing import line_price
    pricing = next(iter(estimate.scenes.values())).pricing if estimate.scenes else None
    if pricing is None:
        return {}
    kinds = estimate.by_kind()
    out = {"panel": kinds["panels"], "judge": kinds["judge"], "videos": kinds["video"]}
    if chosen.lipsync is not None:
        out["lipsync"] = sum((c for sc in plans for c in sync_costs(film, sc, chosen.lipsync, pricing).values()),
                             Decimal(0))
    models = {name: str(m) for name, m in chosen.passes.items()}
    for sc, scene_plans in plans.items():
        for name, by_shot in costs_by_pass(scene_plans, profile, models, pricing).items():
            out[name] = out.get(name, Decimal(0)) + sum(by_shot.values(), Decimal(0))
    for model, line in spoken_lines(film, list(plans), profile):
        out[f"speech {model}"] = out.get(f"speech {model}", Decimal(0)) + line_price(film, line, profile, pricing)
    for sc in plans:
        for _, model, price in cue_prices(film, sc, pricing):
            out[f"music {model}"] = out.get(f"music {model}", Decimal(0)) + price
    return out


def music_models(film: LoadedFilm, scenes: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """The music models ("provider:model") the scenes' cues are made with, each with its cues'
    names, in order: the plan's models line and `slate check`'s keys."""
    out: dict[str, tuple[str, ...]] = {}
    for sc in scenes:
        fin = film.scene(sc).finishing
        for brief in fin.music if fin else []:
            out[brief.model] = (*out.get(brief.model, ()), brief.name)
    return out


def spoken_lines(film: LoadedFilm, scenes: Sequence[str], profile: str) -> Iterator[tuple[str, Line]]:
    """Each line of the scenes with the speech model ("provider:model") it is spoken with; a line
    whose speaker has no voice, or a voice no model speaks, is the voice's own problem (`slate
    check` names it) and is passed over."""
    from slate.providers.registry import UnknownProvider, speech_model
    voices = film.bible.voices()
    for sc in scenes:
        for shot in film.scene(sc).shots:
            for line in shot.dialogue:
                voice = voices.get(line.speaker)
                if voice is None:
                    continue
                try:
                    model = str(speech_model(voice.provider, voice.model, profile))
                except (UnknownProvider, ValueError):
                    continue
                yield model, line


def speech_models(film: LoadedFilm, scenes: Sequence[str], profile: str) -> dict[str, tuple[str, ...]]:
    """The speech models ("provider:model") the scenes' lines are spoken with, each with its
    speakers, in order — the plan's models line and `slate check`'s keys (tasks/run/preflight.py)."""
    out: dict[str, tuple[str, ...]] = {}
    for model, line in spoken_lines(film, scenes, profile):
        if line.speaker not in out.get(model, ()):
            out[model] = (*out.get(model, ()), line.speaker)
    return out


def estimate_of(film: LoadedFilm, plans: Mapping[str, Sequence[ShotPlan]], pricing: Pricing, chosen: Lineup,
                settings: Settings, *, rows: Sequence[CallRow] = ()) -> FilmEstimate:
    """The one assembly of an estimate: each scene's `plans` priced (governor/estimate.py) with its
    lines of dialogue spoken by their voices and lip-synced where the lip-sync model will (tasks/
    lipsync.py `dialogue_costs`), the passes over its clips (tasks/shot/clip_passes.py `pass_costs`: each
    declared pass where it takes a shot — the face swaps shots ask for, a final or hero run's upscales), the turnarounds a vision judge gates, and
    the top of the range at the takes the film's shots needed so far (its ledger `rows`) — or, for a
    film with none yet, its take policy — held to the settings' run cap."""
    from slate.tasks.shot.lipsync import dialogue_costs
    from slate.tasks.gates.sheet_check import gated_needs
    profile = settings.profile
    if chosen.second_judge is not None:   # a ladder: the second judge at the share its trial says it is asked
        from slate.tasks.review.judge_trial import ladder_share
        pricing = replace(pricing, ladder=(str(chosen.second_judge), ladder_share(film.root, str(chosen.judge))))
    models = {name: str(m) for name, m in chosen.passes.items()}
    speech = {sc: dialogue_costs(film, sc, profile, pricing, chosen.lipsync) for sc in plans}
    over = {sc: pass_costs(scene_plans, profile, models, pricing) for sc, scene_plans in plans.items()}
    # The reference gate asks a vision judge about each turnaround (a plate is slate's own measure).
    references = {sc: len([n for n in gated_needs(film, sc) if n.kind == "character"]) for sc in plans}
    vision = judge_kind(chosen.judge.provider) == "vision"
    made = [r for r in rows if r.stage in ("panel", "video")]
    ranged: dict[str, Any]
    if not made:
        ranged = {"max_takes": settings.max_takes,
                  "takes_from": f"the take policy: up to {settings.max_takes} takes of each stage"}
    else:
        known = {sc: takes_so_far(made, sc) for sc in plans}
        every = [t for by_shot in known.values() for t in by_shot.values()]
        # A shot not made yet counts what the film's shots made so far needed, on average (rounded up).
        usual = (-(-sum(p for p, _ in every) // len(every)), -(-sum(v for _, v in every) // len(every))) if every \
            else (settings.max_takes, settings.max_takes)
        ranged = {"takes": {sc: {p.shot: known[sc].get(p.shot, usual) for p in scene_plans}
                            for sc, scene_plans in plans.items()},
                  "max_takes": settings.max_takes, "takes_from": "the takes this film's shots needed so far"}
    music = {sc: music_costs(film, sc, pricing) for sc in plans}
    return estimate_film(plans, pricing, settings.run_cap_usd, speech=speech, passes=over, references=references,
                         vision_judge=vision, music=music, **ranged)


def music_costs(film: LoadedFilm, scene_id: str, pricing: Pricing) -> Decimal:
    """What a scene's cues made to a brief cost, each made once (`cue_prices`)."""
    return sum((price for _, _, price in cue_prices(film, scene_id, pricing)), Decimal(0))


def music_prices(film: LoadedFilm, scene_id: str, pricing: Pricing) -> dict[str, Decimal]:
    """Each cue of a scene made to a brief, by its name, made once (`cue_prices`): what a
    person approving the scene's finals is shown and approves."""
    return {name: price for name, _, price in cue_prices(film, scene_id, pricing)}


def cue_prices(film: LoadedFilm, scene_id: str, pricing: Pricing) -> list[tuple[str, str, Decimal]]:
    """Each cue of a scene made to a brief (its name, its model, its price), made once at the length it is spotted at
    on the planned cut (tasks/edit/spotting.py, as `slate check` spots it), priced by its own model's
    row (or as `price_as` re-prices music). A brief that cannot be spotted is `slate check`'s to
    refuse: it is priced at nothing here."""
    from slate.governor.chokepoint import Usage
    from slate.tasks.edit.spotting import SpotError, edit_order, places, planned_cut, spot

    scene = film.scene(scene_id)
    fin = scene.finishing
    if fin is None or not fin.music:
        return []
    cut = places(*planned_cut(scene))
    out = []
    for brief in fin.music:
        try:
            spotted = spot(brief, cut, float(film.film.fps), edit_order(scene))
        except SpotError:
            continue
        out.append((brief.name, brief.model, pricing.estimate(Usage("music", seconds=spotted.seconds), brief.model)))
    return out


def _planned(film: LoadedFilm, scene_id: str, settings: Settings, chosen: Lineup) -> list[ShotPlan]:
    """A scene's shot plans as its run would make them; a reference not in storage names the scene's file."""
    from slate.providers.errors import ReferenceMissing
    from slate.tasks.shot.plan import plan_from_project
    try:
        return plan_from_project(film, scene_id, settings.profile, settings.fps, panel_model=str(chosen.panel),
                                 video_model=str(chosen.video), audio=model_audio(settings))
    except ReferenceMissing as exc:
        raise ReferenceMissing(f"{film.scene_file(scene_id)}: references: {exc}") from None


def film_rows(root: Path, film_id: str) -> list[CallRow]:
    """The film's ledger rows so far — none, without opening a ledger, for a project that has never
    had one (its default SQLite file not made yet): pricing a film must not make its ledger."""
    from slate.governor.ledger import Ledger
    if not ledger_kept(Path(root)):
        return []
    with Ledger.for_project(root) as ledger:
        return list(ledger.rows(film=film_id))


def ledger_kept(root: Path) -> bool:
    """Whether the project has a ledger to read: one configured (the environment, slate.toml), or
    its default SQLite file made by an earlier run. Reading must not make one."""
    import os
    return bool(os.environ.get("SLATE_LEDGER_URL")) or _configured(root) or (root / ".slate" / "ledger.db").is_file()


def _configured(root: Path) -> bool:
    import tomllib
    try:
        return bool(tomllib.loads((root / "slate.toml").read_text(encoding="utf-8")).get("ledger_url"))
    except (OSError, ValueError):
        return False


def _settings(root: Path, overrides: Mapping[str, Any]) -> Settings:
    from slate.manifests import ManifestError
    settings, problems = check_settings(root, overrides, flags=cli_flags())
    if problems or settings is None:
        raise ManifestError(problems)
    return settings


def _lineup_origins(chosen: Lineup, told: Mapping[str, Any], own: Settings) -> dict[str, str]:
    """Where each model of the lineup came from, as a person reads it."""
    set_in = set(getattr(own, "model_fields_set", set())) - set(option_names(setting=False))
    out: dict[str, str] = {}
    for role, by in chosen.chosen_by.items():
        if by == "provider":   # no setting named a model: the provider's own (`provider` chose which)
            out[role] = "the provider's default"
        elif by in told:
            out[role] = "told to this run"
        elif by.startswith("models."):
            _, profile, key = by.split(".", 2)
            out[role] = f"slate.toml: [models.{profile}] {key}"
        elif by in set_in:
            file, where = setting_origin(by)
            out[role] = f"{file}: {where}"
        else:
            out[role] = "the provider's default"
    return out
