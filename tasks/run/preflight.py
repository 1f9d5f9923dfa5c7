"""Preflight: everything a run would refuse, found before it spends a cent.

One function, `preflight`, run by `slate check` and as the first step of the scene and film
flows, so the two can never disagree. It checks, for the whole film or the scene asked:

- settings: slate.toml, SLATE_* variables and the command line (manifests.settings), and the
  ledger's URL (SLATE_LEDGER_URL or slate.toml's ledger_url), which the run reads late: its
  form, then one brief connection (a closed port or a missing database said here, not at the
  run's first paid call);
- manifests: everything load_film checks, within its size, node and count limits;
- references: every turnaround, plate and panel override the shots use is a regular file
  inside the project, within its byte and pixel limits, and decodes (tasks.gates.references, the
  same reading the run's reference check does); slate's own reading of each sheet and plate
  (tasks.gates.sheet_check) and the run's judge's (tasks.gates.judge_reading: what the local judge would
  answer "cannot judge" for — warnings instead in a rehearsal, `cannot_judge = "warn"`);
- the stitch: every dissolve fits between its shots (media.dissolve_misfits, the rule the
  stitch itself enforces);
- continuity: the scenes' continuity ledgers hold from cut to cut — no prop moved, no side
  swapped, no eyelines that miss, no light that flips, with nothing declared
  (manifests.continuity_ledger);
- voices: each voice of the bible names a provider, model and voice that exist, and each speaker
  of the scenes' lines with a vendor's voice has an approved voice sample in storage (a local
  voice without one is judged against an interim reference: `slate check` notes it) (tasks.workshop.audition);
- providers and prices: provider and judge exist, and every call the run will make — each
  shot's clip at the resolution its profile gives it, panels, gates — has a price on the
  rate card, `price_as` included.

Each mistake is one Problem naming the file (or the SLATE_* variable, or the command-line
flag), the shot and the field. Nothing is raised for a bad input, and every problem is found
in one pass: a film with manifest problems is checked on with what can still be read of it
(ManifestError.partial), and wrong settings with those values at their defaults.

It must never spend, call a provider, write to storage or the ledger, or decode an image
before its header has been checked against the limits.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from pydantic import BaseModel

from slate.governor.chokepoint import Usage
from slate.governor.estimate import JUDGE_TOKENS
from slate.governor.ratecard import (Pricing, RateCard, RateCardError, RateError, UnknownRate, UnpricedDuration,
                                     UnpricedResolution, repricing)
from slate.manifests import LoadedFilm, ManifestError, Problem, load_film
from slate.manifests.options import RunOptions, cli_flags, option_names
from slate.manifests.profiles import PROFILES
from slate.manifests.settings import SETTINGS_FILE, Settings, check_settings, model_audio, salvaged_settings, setting_origin
from slate.media import dissolve_misfits
from slate.providers.base import Storage
from slate.providers.registry import (Lineup, UnknownProvider, build, job_seconds_told, lineup, provider,
                                     provider_settings, storage_for)
from slate.providers.spec import JUDGE
from slate.governor.gates import GatePolicy, GatePolicyError
from slate.providers.prompts import RulesError
from slate.tasks.run.audio_check import audio_warnings
from slate.tasks.shot.clip_passes import as_used, unmodelled
from slate.tasks.run.lint import line_findings, scene_findings
from slate.tasks.edit.finish_check import finish_problems
from slate.tasks.gates.judge_reading import judge_problems
from slate.tasks.gates.sheet_check import sheet_problems
from slate.tasks.gates.references import reference_problems
from slate.tasks.run.reference_shots import reference_problems as reference_problems_of

if TYPE_CHECKING:  # a flow's state: Prefect is imported only where a flow is refused
    from prefect.client.schemas.objects import State

__all__ = ["Preflight", "preflight", "handed_on", "refused", "settings_overrides"]

COMMAND_LINE = "command line"
FLAGS = cli_flags()   # how a problem names the flag that was typed (manifests/options.py)
log = logging.getLogger("slate.preflight")


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


def preflight(root: Path, options: RunOptions | None = None, *, scene: str | None = None,
              whole_film: bool = True, keys: bool = True) -> Preflight:
    """Check a film project as a run told these `options` would use it (manifests/options.py:
    what it was not told, the film's settings say), e.g. ``RunOptions(profile="final", run_cap_usd=5)``.
    ``scene`` (or ``options.scenes``) limits the reference, stitch and price checks to those
    scenes; without them every scene is checked, or only the first when ``whole_film`` is False
    (what a scene run with no scene renders). Manifests and settings are always checked whole.
    ``keys`` False leaves the providers' keys to the caller (`slate doctor` reads and tries them)."""
    root = Path(root)
    options = options if options is not None else RunOptions()
    overrides = settings_overrides(options)
    wanted = list(options.scenes) or ([scene] if scene is not None else [])
    held = _held_for(root, overrides, wanted, whole_film)
    if held is not None:
        return held
    log.info("preflight of %s", root)
    valid, problems = check_settings(root, overrides, flags=FLAGS)
    ledger_said = ledger_problems(root)
    problems += ledger_said
    # A wrong value must not hide what the later checks find: they go on with it at its default.
    settings = valid if valid is not None else salvaged_settings(root, overrides)
    unknown_provider = _provider_problems(root, settings, overrides) if settings is not None else []
    problems += unknown_provider

    # Every problem in one pass: a mistake in a manifest must not hide the references, the
    # judge's reading or the prices behind it. What can still be read of a film with problems
    # (its valid bible entries and shots) is checked on; it is never handed back to run.
    whole: frozenset[str] | None = None
    try:
        film = load_film(root)
    except ManifestError as exc:
        problems += exc.problems
        for file, timings in exc.timings.items():   # the stitch's rules, on scenes read in part
            problems += _misfits(file, timings)
        if exc.partial is None or not exc.partial.scenes:
            return Preflight(root, None, valid, [], problems)
        film, whole = exc.partial, exc.whole

    ids = [s.id for _, s in film.scenes]
    strangers = [s for s in wanted if s not in ids]
    for stranger in strangers:
        if whole is None or stranger not in _listed_ids(root):
            problems.append(Problem(COMMAND_LINE, None, "--scene", f"unknown scene {stranger!r} (film has: "
                                                                   f"{', '.join(ids)})"))
    if strangers:
        wanted = []   # and every scene is checked, so the rest is said in this pass too
        whole_film = True
    scenes = [s for s in ids if s in wanted] if wanted else ids if whole_film else ids[:1]

    problems += reference_problems(storage_for(root), film, scenes)
    warnings: list[Problem] = []
    if settings is not None and not unknown_provider:
        # The reference gate's free half: slate's own reading of each sheet and plate, held to
        # the policy as the run's judge would hold it (a bad gates.toml is reported below).
        # An unreadable reference is the reference check's line above; the others are read.
        judge = lineup(settings).judge.provider
        try:
            problems += sheet_problems(storage_for(root), film, scenes, root, judge, settings.profile,
                                       settings.cannot_judge, warnings)
        except GatePolicyError:
            pass  # its own problem line below
        # What the run's judge will be handed and could not read: refused now, or, when the
        # person rehearses with `cannot_judge = "warn"`, said and let through as unjudged.
        reader = build(JUDGE, lineup(settings).judge, storage_for(root), settings)
        unreadable = judge_problems(storage_for(root), film, scenes, reader, settings.profile, settings.cannot_judge)
        (warnings if settings.cannot_judge == "warn" else problems).extend(unreadable)
    for scene_id in scenes:
        if whole is None or scene_id in whole:   # a scene read in part has other dissolves
            problems += stitch_problems(film, scene_id)
    # the continuity ledger (issue 58): props, sides, eyelines and the light carried from cut to cut
    # — with the deviations the director accepted (tasks/gates/deviations.py), read from a ledger that answers.
    from slate.manifests.continuity_ledger import continuity_problems
    from slate.tasks.gates.deviations import accepted_film
    kept = film if ledger_said else accepted_film(root, film)
    problems += [p for p in continuity_problems(kept) if any(p.file == film.scene_file(sc) for sc in scenes)]
    # the assembly manifest's LUTs and cues (issue 23): the finishing pass's inputs, read now
    problems += finish_problems(root, film, [s for s in scenes if whole is None or s in whole], warnings)
    if settings is not None and not unknown_provider:
        problems += price_problems(root, film, scenes, settings, overrides)
        # the files of the film a provider runs (ComfyUI's workflows, issue 41): each named by its file and node
        chosen = lineup(settings)
        problems += provider_file_problems(storage_for(root), film, scenes, as_used(chosen, film, scenes)) + \
            pass_problems(film, scenes, chosen)
        if keys:
            problems += key_problems(film, scenes, settings, as_used(chosen, film, scenes), overrides)
        # the film's floor for its judge (issue 60): measured in a judge trial, or the run is refused
        from slate.tasks.review.judge_trial import floor_problems
        floor = settings.judge_trial
        problems += [Problem(SETTINGS_FILE, None, "judge_trial", why)
                     for why in floor_problems(root, str(chosen.judge), floor.min_catch, floor.max_false_alarms)]
        # the bible's voices (issue 37): each one a voice its provider has, and an approved sample
        # for every speaker of the scenes' lines (tasks/workshop/audition.py)
        from slate.tasks.workshop.audition import voice_problems
        problems += voice_problems(film, settings, storage_for(root), scenes)[0]   # its notes: `slate check`'s
        chosen = lineup(settings)
        refs, said = reference_problems_of(film, scenes, [str(v) for v in chosen.videos], str(chosen.panel),
                                           settings.profile)
        problems += refs
        warnings += said
        # the sound asked of the video models (issue 23): warned, never refused (tasks/run/audio_check.py)
        warnings += audio_warnings(film, scenes, [str(v) for v in chosen.videos], model_audio(settings))
        try:
            blocking, linted = prompt_problems(film, scenes, settings)
            problems += blocking
            warnings += linted
        except RulesError as exc:
            problems.append(Problem("prompt_rules.toml", None, "file", str(exc)))
        try:
            GatePolicy.load(root)
        except GatePolicyError as exc:
            problems.append(Problem("gates.toml", None, "file", str(exc).removeprefix("gates.toml: ")))
    if whole is not None:
        return Preflight(root, None, valid, [], problems, warnings)
    return Preflight(root, film, valid, scenes, problems, warnings)


def settings_overrides(options: RunOptions) -> dict[str, Any]:
    """What a run was told, as overrides of the film's settings: every told option that is a
    setting (which scenes run is not: it is the run's own)."""
    run_only = set(option_names(setting=False))
    return {k: v for k, v in options.told().items() if k not in run_only}


_HANDED_ON: ContextVar[Preflight | None] = ContextVar("slate_preflight", default=None)


@contextmanager
def handed_on(checked: Preflight) -> Iterator[Preflight]:
    """While the body runs (a film run, and the scenes it runs in this process: Prefect's
    threads copy the context), a preflight of the same project, settings and scenes is this
    one: the run's options are resolved and checked once, and every scene is handed the result."""
    token = _HANDED_ON.set(checked if checked.ok else None)
    try:
        yield checked
    finally:
        _HANDED_ON.reset(token)


def _held_for(root: Path, overrides: dict[str, Any], wanted: list[str], whole_film: bool) -> Preflight | None:
    """The check handed on to this run, when it answers this question: the same project, the
    same settings once resolved (slate.toml read again: cheap, and an edit since is seen), and
    every scene asked for among those it checked."""
    held = _HANDED_ON.get()
    if held is None or held.film is None or held.root.resolve() != root.resolve():
        return None
    settings, problems = check_settings(root, overrides, flags=FLAGS)
    if problems or settings is None or held.settings is None or settings.model_dump() != held.settings.model_dump():
        return None
    ids = [s.id for _, s in held.film.scenes]
    need = wanted or (ids if whole_film else ids[:1])
    return held if set(need) <= set(held.scenes) else None


def _listed_ids(root: Path) -> set[str]:
    """The ids of every scene file the film lists that reads as YAML (valid or not), so an
    unknown --scene is told apart from a scene whose file has problems."""
    from slate.manifests.load import read_document
    ids: set[str] = set()
    data, _ = read_document(Path(root) / "film.yaml", "film.yaml") if (Path(root) / "film.yaml").is_file() else ({}, [])
    for key in (data or {}).get("scenes") or []:
        try:
            doc, _ = read_document(Path(root) / key, key)
        except Exception:  # noqa: BLE001 - the manifests' own problems name it
            continue
        if isinstance(doc, dict) and isinstance(doc.get("id"), str):
            ids.add(doc["id"])
    return ids


def ledger_problems(root: Path) -> list[Problem]:
    """The ledger's URL as `Ledger.for_project` will read it (the environment, else slate.toml's
    top-level `ledger_url`), checked for its form, then connected to once, briefly (a closed port,
    a missing database, a file that is not one: governor/ledger `reach_problem`), writing
    nothing. Its password is masked."""
    import os
    import tomllib
    from slate.governor.ledger import reach_problem, url_problem
    problems = []
    env = os.environ.get("SLATE_LEDGER_URL")
    if env:
        why = url_problem(env) or reach_problem(env)
        if why:
            problems.append(Problem("environment", None, "SLATE_LEDGER_URL", why))
    try:
        doc = tomllib.loads((Path(root) / "slate.toml").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return problems  # no file, or one the settings check already named
    if isinstance(doc.get("slate"), dict) and "ledger_url" in doc["slate"]:
        problems.append(Problem("slate.toml", None, "slate.ledger_url", "the ledger reads ledger_url at the top "
                                                                         "level of slate.toml, not in [slate]"))
    value = doc.get("ledger_url")
    if value is not None and not env:
        why = (url_problem(value) or reach_problem(value)) if isinstance(value, str) and value else \
            f"must be a database URL in quotes (got {value!r})"
        if why:
            problems.append(Problem("slate.toml", None, "ledger_url", why))
    return problems


def prompt_problems(film: LoadedFilm, scenes: list[str], settings: Settings) -> tuple[list[Problem], list[Problem]]:
    """The prompt lint over every prompt the run would send: (blocking, warnings)."""
    chosen = lineup(settings)
    blocking: list[Problem] = []
    warnings: list[Problem] = []
    for scene_id in scenes:
        file = film.scene_file(scene_id)
        for shot, where, finding in scene_findings(film, scene_id, str(chosen.panel), [str(v) for v in chosen.videos]):
            (blocking if finding.blocking else warnings).append(Problem(file, shot, where, str(finding)))
        # the spoken lines: sent to a speech provider and kept in the ledger, held to the same rules
        blocking += [Problem(file, shot, where, f"the line is sent to the speech provider like a prompt: {finding}")
                     for shot, where, finding in line_findings(film, scene_id)]
    return blocking, warnings


def stitch_problems(film: LoadedFilm, scene_id: str) -> list[Problem]:
    """Dissolves the stitch would refuse, named by the shot whose transition_out they are."""
    shots = film.scene(scene_id).shots
    return _misfits(film.scene_file(scene_id), [(s.id, s.duration, s.transition_out.kind, s.transition_out.duration)
                                                for s in shots])


def _misfits(file: str, timings: list[tuple[str, float, str, float]]) -> list[Problem]:
    misfits = dissolve_misfits([d for _, d, _, _ in timings], [(k, t) for _, _, k, t in timings[:-1]],
                               labels=[label for label, _, _, _ in timings])
    return [Problem(file, timings[i][0], "transition_out.duration", why) for i, why in misfits]


def _setting_problem(name: str, message: str, overrides: dict[str, Any]) -> Problem:
    if name.startswith("models."):
        return Problem("slate.toml", None, name, message)
    file, where = setting_origin(name, overrides, FLAGS)
    return Problem(file, None, where, message)


def _provider_problems(root: Path, settings: Settings, overrides: dict[str, Any]) -> list[Problem]:
    """The lineup of models the settings choose (providers/registry.py), each one known."""
    problems = []
    try:
        lineup(settings)
    except UnknownProvider as exc:
        problems.append(_setting_problem(exc.setting, str(exc), overrides))
    try:
        job_seconds_told(settings)   # each [job_seconds] key a model some provider offers
    except UnknownProvider as exc:
        problems.append(_setting_problem(exc.setting, str(exc), overrides))
    # Each provider's own settings ([providers.<name>], `<name>_<setting>`, SLATE_<NAME>_<SETTING>),
    # as its module declares them: the local provider's fault rehearsal, say.
    from slate.providers.registry import ProviderSettingsError, provider_names
    for name in sorted(set(settings.providers or {}) | set(provider_names())):
        if name not in provider_names():
            # `colour_grade`: no provider `colour` — a misspelt or unknown setting, said as written.
            for setting in (settings.providers or {}).get(name) or {}:
                problems.append(_setting_problem(f"{name}_{setting}", f"unknown setting (known: "
                                                 f"{', '.join(_known_settings())})", overrides))
            continue
        try:
            provider_settings(name, settings)
        except ProviderSettingsError as exc:
            problems.append(_setting_problem(exc.setting, str(exc).split(": ", 1)[-1], overrides))
    return problems


def provider_file_problems(storage: Storage, film: LoadedFilm, scenes: list[str], chosen: Lineup) -> list[Problem]:
    """What each provider of the lineup that runs files the film keeps (its spec's
    `film_problems`: ComfyUI's workflows) says of them, for the models the run uses and the
    scenes it makes. Offline: nothing is asked of a server here (`slate doctor` asks)."""
    problems: list[Problem] = []
    for name in chosen.providers():
        check = provider(name).film_problems
        models = chosen.models_of(name)
        if check is not None and models:
            problems += check(storage=storage, models=models, film=film, scenes=tuple(scenes))
    return problems


def pass_problems(film: LoadedFilm, scenes: list[str], chosen: Lineup) -> list[Problem]:
    """A shot that asks for a pass by name (a face swap, `face_swap:`: tasks/shot/clip_passes.py
    `unmodelled`) in a run with no model for it: refused here, before anything is paid, naming
    the shot, its field and how to choose a model."""
    from slate.manifests.options import RunOptions, flag_of, told_pass_model
    out = []
    for scene_id, shot_id, p in unmodelled(film, scenes, chosen):
        asked = p.asked(film.scene(scene_id).shot(shot_id))
        what = ", ".join(asked) if isinstance(asked, (list, tuple)) else str(asked)
        _, option = told_pass_model(RunOptions(), p.name)
        # its own field where slate gave it one (faceswap_model), else pass_models
        how = (f"{option} ({flag_of(option)} <provider>:<model>)" if option in RunOptions.model_fields
               and option != "pass_models" else f"pass_models (--pass-model {p.name}=<provider>:<model>)")
        out.append(Problem(film.scene_file(scene_id), shot_id, p.asked_by or p.name,
                           f"asks for the {p.title} of {what}, and the run has no {p.title} model: set {how}"))
    return out


def key_problems(film: LoadedFilm, scenes: list[str], settings: Settings, chosen: Lineup,
                 overrides: dict[str, Any]) -> list[Problem]:
    """A model the run would call whose provider has no key in this process's environment: said
    before anything is spent, on the setting that chose the model (or the voice that speaks with
    it), naming the variable to set — every model of the lineup the scenes use (panels, video and
    its fallbacks, the judge, the lip-sync of on-camera lines, each pass) and every speech model
    their lines are spoken with. Where a Prefect server is configured (a `slate up` stack, a
    studio), a key may live in a Secret block there instead: that is `slate doctor`'s and the
    run's own provider check's to read (it refuses at $0), never guessed at here."""
    from slate.manifests.dialogue import on_camera
    from slate.providers.keys import MissingKey, provider_key
    from slate.providers.registry import UnknownProvider
    from slate.tasks.run.reel import server_configured
    from slate.tasks.run.run_plan import speech_models
    if server_configured():
        return []
    shots = [shot for sc in scenes for shot in film.scene(sc).shots]
    roles: list[tuple[str, Any]] = [("panel", chosen.panel), *(("videos", v) for v in chosen.videos),
                                    ("judge", chosen.judge)]
    if chosen.second_judge is not None:
        roles.append(("second_judge", chosen.second_judge))
    if chosen.lipsync is not None and any(on_camera(line, s.characters) for s in shots for line in s.dialogue):
        roles.append(("lipsync", chosen.lipsync))
    roles += list(chosen.passes.items())
    out: list[Problem] = []
    said: set[str] = set()

    def missing(name: str) -> str | None:
        try:
            if name in said or not provider(name).key_vars or provider(name).key_optional:
                return None
            provider_key(name)
        except MissingKey as exc:
            said.add(name)
            return f"{str(exc).removeprefix(f'{name}: ')}; the run would refuse at $0 before its first call"
        except UnknownProvider:
            return None   # the lineup's own problem, said above
        return None
    for role, ref in roles:
        why = missing(ref.provider)
        if why is not None:
            out.append(_setting_problem(chosen.chosen_by.get(role, "provider"),
                                        f"{'video' if role == 'videos' else role} model {ref}: {why}", overrides))
    fields = {c.id: f"characters[{i}].voice" for i, c in enumerate(film.bible.characters)}
    fields["narrator"] = "narrator"
    for model, speakers in speech_models(film, scenes, settings.profile).items():
        why = missing(model.split(":", 1)[0])
        if why is not None:   # said once, on the first speaker's voice
            out.append(Problem(film.film.bible, None, f"{fields.get(speakers[0], speakers[0])}.provider",
                               f"{', '.join(speakers)}'s speech model {model}: {why}"))
    for scene_id in scenes:   # each cue made to a brief, on its brief's model
        fin = film.scene(scene_id).finishing
        for i, brief in enumerate(fin.music if fin else []):
            why = missing(brief.model.split(":", 1)[0])
            if why is not None:
                out.append(Problem(film.scene_file(scene_id), None, f"finishing.music[{i}].model",
                                   f"cue {brief.name!r}'s music model {brief.model}: {why}"))
    return out


def _known_settings() -> list[str]:
    """Every key slate.toml may hold: the settings, and each provider's own as `<name>_<setting>`."""
    from slate.manifests.settings import OTHER_KEYS
    from slate.providers.registry import provider, provider_names
    run_only = set(option_names(setting=False))
    own = [f"{n}_{f}" for n in provider_names()
           if (model := provider(n).settings) is not None and issubclass(model, BaseModel) for f in model.model_fields]
    return [f for f in Settings.model_fields if f not in run_only] + list(OTHER_KEYS) + own


def _rate_card(root: Path) -> tuple[RateCard | None, list[Problem]]:
    try:
        return RateCard.load(root), []
    except RateCardError as exc:
        # The message starts with the file's absolute path; the project's file is named by key.
        text = str(exc).replace(f"{root / 'rates.toml'}: ", "").replace(f"{root.resolve() / 'rates.toml'}: ", "")
        return None, [Problem("rates.toml", None, "file", text)]


def price_problems(root: Path, film: LoadedFilm, scenes: list[str], settings: Settings,
                   overrides: dict[str, Any] | None = None) -> list[Problem]:
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
            for kind, key in repricing(card, settings.price_as).items():
                chosen[kind] = (key, "price_as")   # one key per capability: panels, judge calls, video
        except RateError as exc:
            return [on_setting("price_as", str(exc))]
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
    if chosen_models.second_judge is not None:   # a ladder's second judge (issue 60): priced before a call
        try:
            card.rate(str(chosen_models.second_judge), "judge")
        except UnknownRate as exc:
            problems.append(on_setting("second_judge", str(exc)))
    # An upscale model is paid only at a profile a person approves (final, hero: tasks/shot/upscale.py),
    # and there it must be priced before the first panel.
    upscale = chosen_models.pass_model("upscale")
    if upscale is not None and PROFILES[settings.profile].needs_approval:
        try:
            card.rate(str(upscale), "upscale")
        except UnknownRate as exc:
            problems.append(on_setting("upscale_model", str(exc)))
    if problems:
        return problems
    pricing = Pricing.for_lineup(card, str(chosen_models.panel), [str(v) for v in chosen_models.videos],
                                 str(chosen_models.judge), settings.price_as)

    profile = PROFILES[settings.profile]
    asked = model_audio(settings)   # the clips are priced with the sound the run asks for
    said: set[str] = set()

    def once(problem: Problem) -> None:
        if str(problem) not in said:
            said.add(str(problem))
            problems.append(problem)

    try:
        pricing.estimate(Usage("judge", input_tokens=JUDGE_TOKENS[0], output_tokens=JUDGE_TOKENS[1]),
                         chosen["judge"][0])
    except RateError as exc:
        once(on_setting("judge", str(exc)))
    for scene_id in scenes:
        file = film.scene_file(scene_id)
        for shot in film.scene(scene_id).shots:
            resolution, _, height = profile.for_shot(shot.critical)
            hero = shot.critical and profile.hero_resolution == resolution
            try:
                pricing.estimate(Usage("image", images=1, resolution=f"{height}p"), chosen["image"][0])
            except RateError as exc:
                once(on_setting(chosen["image"][1], str(exc)))
            for key in fallbacks:
                try:
                    pricing.estimate(Usage("video", seconds=shot.duration, resolution=resolution, audio=asked), key)
                except RateError as exc:
                    problems.append(Problem(file, shot.id, "duration", f"{exc}: the fallback video model cannot "
                                                                       f"make this shot"))
            try:
                pricing.estimate(Usage("video", seconds=shot.duration, resolution=resolution, audio=asked), chosen["video"][0])
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


def refused(checked: Preflight) -> State[Any]:
    """The state a flow returns when preflight found problems: Failed, named "Refused", its
    message the problems one a line. Nothing was spent, nothing was written. It carries no
    result, so it stands for a flow of any result type (State is invariant in it)."""
    from prefect import get_run_logger
    from prefect.states import Failed

    report = checked.report()
    get_run_logger().error("refused before spending:\n%s", report)
    return Failed(name="Refused", message=report)
