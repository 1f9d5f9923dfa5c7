"""A pass over the clip, declared once: its name, its model, the shots it takes, its price, its key, its stage and its place in the lane.

A pass over the clip takes a shot's clip once its gates passed it and makes it again, paid and
gated once more: the face swap (tasks/shot/faceswap.py), the upscale (tasks/shot/upscale.py), and any pass a
film-maker's plugin or a test declares beside them. Each is one `PassDef`, declared with
`declare_pass(...)` (slate's own two at the foot of this module, where nothing imports Prefect: the
reel keys a film before Prefect starts), and everything that once named a pass by hand reads the
declarations instead:

  - its capability (providers/base.py `Capability`, `passes=True`): what a provider offers models
    of (a spec's `offers[<name>]`, its factory), what the rate card prices (kind `<name>`, by the
    clip's seconds), the ledger's stage of its paid call;
  - its option: `--<name>-model` where slate gave it a field (`faceswap_model`, `upscale_model`),
    else `--pass-model <name>=provider:model` (`pass_models`), and the profile's `[models.<profile>]
    <name>`; chosen with the lineup (providers/registry.py `lineup`, into `RunLineup.passes`);
  - `applies(plan, profile)`: which shots it takes at a profile (a face swap: a shot that asks for
    one; an upscale: every shot of a run a person approves; a declared one: its own rule);
  - `usage(plan)`: what one shot's pass is priced as, each Usage once (the estimate's "passes $",
    the scene's expected bill, the amount a person approves: `pass_costs`);
  - `versions`: its make's and its gate's versions — with its model, what its provider's settings
    change of it and its name, the pass's part of a scene's can key (`key_part`, tasks/run/can.py);
  - `stage(run, plan, clip_uri, seconds)`: its `Stage` of the one take loop (make take N, judge it);
  - `after`: its place in the shot's lane (flows/shot/lane.py) — right after the clip ("clip": before the
    speech, so the lip-sync moves the face the audience sees) or after the lip-sync ("lipsync": on
    the clip as the cut will show it) — in declaration order among the passes of one place.

A pass whose shots need its model (`required`: the face swap a shot asks for) escalates such a shot
in a run without one, and `slate check` refuses that run; any other pass without a model is not
run. The lip-sync stays its own stage: it is made from the shot's spoken lines (after the speech),
and its key lives beside them (tasks/run/can.py `lipsync_part`), so a scene without a line keeps its key.

A plugin declares its passes in an installed module named under the `slate.passes` entry-point
group (read the first time the passes are asked for), or by calling `declare_pass` itself.

It must never decide what a pass's gate passes (its stage does), nor map a take's outcome (the
take loop does); adding a pass must never need an edit anywhere but its provider module and its
declaration.
"""
from __future__ import annotations

import importlib.metadata
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from slate.governor.chokepoint import Usage
from slate.manifests.frame_rate import Fps
from slate.manifests.profiles import PROFILES
from slate.providers.base import (FACESWAP, UPSCALE, Capability, ClipPass, Storage, declare_capability,
                                  withdraw_capability)
from slate.tasks.shot.take_loop import Approved, Stage
from slate.tasks.run.versions import FACESWAP_VERSION, SWAP_GATE_VERSION, UPSCALE_CHECK_VERSION, UPSCALE_VERSION

if TYPE_CHECKING:
    from slate.governor.ratecard import Pricing
    from slate.manifests import LoadedFilm
    from slate.providers.registry import Lineup
    from slate.tasks.shot.plan import ShotPlan
    from slate.tasks.run.run import Run

__all__ = ["PassDef", "declare_pass", "withdraw_pass", "passes", "pass_named", "passes_at", "pass_costs",
           "costs_by_pass", "key_part", "keyed_passes", "clip_size", "unasked", "as_used", "unmodelled", "ENTRY_POINTS"]

#: The entry-point group an installed package names its pass declarations in (a plugin):
#: `[project.entry-points."slate.passes"] grain = "film_grain.passes"` — the module is imported,
#: and declares its passes with `declare_pass` when it is.
ENTRY_POINTS = "slate.passes"
Place = Literal["clip", "lipsync"]


@dataclass(frozen=True)
class PassDef:
    """One pass over the clip (the module's docstring says how each field is read)."""

    capability: Capability[ClipPass]
    #: how a person reads it: "face swap" (the lineup's line, the dailies, an escalation)
    title: str
    #: its Stage of the take loop for one shot: (run, plan, the clip's URI, its seconds) -> Stage
    stage: Callable[[Run, ShotPlan, str, float], Stage[Any]]
    #: whether it takes a shot (its plan) at a profile, given the run has its model
    applies: Callable[[ShotPlan, str], bool]
    #: what one shot's pass is priced as: each Usage priced once on the pass's model
    usage: Callable[[ShotPlan], Sequence[Usage]]
    #: its make's and its gate's versions (a change to what it makes or passes bumps one)
    versions: tuple[str, ...]
    #: its gate's stage in the ledger and on the run ("faceswap_gate")
    gate: str
    #: where it runs in a shot's lane: right after the clip, or after the lip-sync
    after: Place = "lipsync"
    #: a shot it takes needs its model: without one the shot escalates (and `slate check` refuses)
    required: bool = False
    #: how an escalation names it, for a shot on a model ("the face swap of jenny"); None: its title
    what: Callable[[ShotPlan, str], str] | None = None
    #: what an approved take adds to the shot's outcome besides its clip (the upscale: its reading)
    keep: Callable[[Approved[Any]], dict[str, Any]] | None = None
    #: a reason a shot it takes is not passed over this round, said as "skipped" (the upscale: the
    #: finals a person has not approved yet); called with (run, plan, the shot's clip outcome, the
    #: scene's finals or None); None: it always runs where it applies
    waits: Callable[[Run, ShotPlan, Any, Any], str | None] | None = None
    #: the shot field a shot asks for it by, by name (`face_swap`): where no shot of a run asks,
    #: its model is neither checked nor asked for (`as_used`), and a shot that asks in a run with no
    #: model is `slate check`'s to refuse when it is `required`; None: no shot asks for it by name
    asked_by: str | None = None
    #: who its gate is, said to a person and the agent ("slate's swap gate (media/faceswap.py)"),
    #: and the key of its $0 ledger row's parameters that holds what the gate read ("scores")
    judged_by: tuple[str, str] | None = None

    @property
    def name(self) -> str:
        """The pass's name: its capability's, its ledger stage's, its option's and its key's."""
        return self.capability.name

    def said(self, plan: ShotPlan, model: str) -> str:
        """How an escalation names this pass on `plan`'s shot."""
        return self.what(plan, model) if self.what is not None else f"the {self.title} on {model}"

    def kept(self, end: Approved[Any]) -> dict[str, Any]:
        return self.keep(end) if self.keep is not None else {}

    def asked(self, shot: Any) -> Any:
        """What `shot` (its manifest's Shot) asks of this pass by name: its field's value (falsy:
        nothing); None for a pass no shot asks for by name."""
        return getattr(shot, self.asked_by) if self.asked_by is not None else None


_PASSES: dict[str, PassDef] = {}
_LOCK = threading.Lock()
_LOADED = False


def declare_pass(definition: PassDef) -> PassDef:
    """Declare a pass over the clip (its capability with it: providers/base.py
    `declare_capability`). Declaring the same one again is one declaration; another under a name
    already declared is an error. Returns `definition`, so a module keeps it by name."""
    with _LOCK:
        known = _PASSES.get(definition.name)
        if known is not None and known != definition:
            raise ValueError(f"pass {definition.name!r} is already declared")
        if definition.after not in ("clip", "lipsync"):
            raise ValueError(f"pass {definition.name!r}: after is 'clip' or 'lipsync', not {definition.after!r}")
        declare_capability(definition.capability)
        _PASSES[definition.name] = definition
    return definition


def withdraw_pass(name: str) -> None:
    """Take back a pass declared beside slate's own (a test's toy, at its end)."""
    with _LOCK:
        if name in ("faceswap", "upscale"):
            raise ValueError(f"{name!r} is one of slate's own passes")
        _PASSES.pop(name, None)
        withdraw_capability(name)


def _load() -> None:
    """slate's own passes and the plugins' (`slate.passes`), declared once a process."""
    global _LOADED
    if _LOADED:
        return
    for entry in importlib.metadata.entry_points(group=ENTRY_POINTS):
        entry.load()
    _LOADED = True


def passes() -> list[PassDef]:
    """Every declared pass, in declaration order (slate's own first: the face swap, the upscale)."""
    _load()
    with _LOCK:
        return list(_PASSES.values())


def pass_named(name: str) -> PassDef:
    """The pass declared as `name` (KeyError: none is)."""
    _load()
    return _PASSES[name]


def passes_at(place: Place) -> list[PassDef]:
    """The passes that run at `place` of a shot's lane, in order."""
    return [p for p in passes() if p.after == place]


def costs_by_pass(plans: Iterable[ShotPlan], profile: str, models: Mapping[str, str], pricing: Pricing
                  ) -> dict[str, dict[str, Decimal]]:
    """By pass, by shot of `plans`: what it costs — each pass with a model in `models` (by name: the
    lineup's) where it applies to the shot at `profile`, its `usage` priced by the rate card, each
    Usage once. A pass that takes no shot is not there. Money stays Decimal."""
    out: dict[str, dict[str, Decimal]] = {}
    listed = list(plans)
    for p in passes():
        model = models.get(p.name)
        if model is None:
            continue
        for plan in listed:
            if p.applies(plan, profile):
                out.setdefault(p.name, {})[plan.shot] = sum((pricing.estimate(u, model) for u in p.usage(plan)),
                                                            Decimal(0))
    return out


def pass_costs(plans: Iterable[ShotPlan], profile: str, models: Mapping[str, str], pricing: Pricing
               ) -> dict[str, Decimal]:
    """By shot of `plans`: what every pass it takes costs, each once (`costs_by_pass`, summed) — the
    estimate's "passes $", the scene's expected bill, part of the amount a person approves. A shot
    no pass takes is not there."""
    out: dict[str, Decimal] = {}
    for by_shot in costs_by_pass(plans, profile, models, pricing).values():
        for shot, cost in by_shot.items():
            out[shot] = out.get(shot, Decimal(0)) + cost
    return out


def keyed_passes(run: Run, plans: Sequence[ShotPlan]) -> list[PassDef]:
    """The passes that key a scene of `plans` in `run`: each that applies to one of its shots, and
    that the run has a model for — or that such a shot needs (`required`: its part then says the
    model is missing). Every other pass leaves the scene the key it always had."""
    return [p for p in passes()
            if (run.lineup.pass_model(p.name) is not None or p.required)
            and any(p.applies(plan, run.profile) for plan in plans)]


def unasked(film: LoadedFilm, scenes: Iterable[str]) -> list[str]:
    """The passes a shot asks for by name (`asked_by`) that no shot of `scenes` asks for."""
    shots = [shot for sc in scenes for shot in film.scene(sc).shots]
    return [p.name for p in passes() if p.asked_by is not None and not any(p.asked(s) for s in shots)]


def as_used(chosen: Lineup, film: LoadedFilm, scenes: Iterable[str]) -> Lineup:
    """`chosen` without the model of a pass no shot of `scenes` asks for (`unasked`): a model
    nothing uses is neither checked nor asked for (its workflow need not exist)."""
    return chosen.without(unasked(film, list(scenes)))


def unmodelled(film: LoadedFilm, scenes: Iterable[str], chosen: Lineup) -> list[tuple[str, str, PassDef]]:
    """(scene, shot, pass) for each shot of `scenes` that asks for a `required` pass by name in a
    run whose lineup has no model for it: such a shot could only escalate, so `slate check` refuses it."""
    return [(sc, shot.id, p) for p in passes() if p.required and p.asked_by is not None
            and chosen.pass_model(p.name) is None
            for sc in scenes for shot in film.scene(sc).shots if p.asked(shot)]


def key_part(run: Run, definition: PassDef) -> dict[str, Any]:
    """What of a run changes a pass over its clips: the model, what its provider's settings change
    of it (a workflow's bytes), and the pass's versions."""
    from slate.providers.registry import build, provider_variant, storage_for
    model = run.lineup.pass_model(definition.name)
    if model is None:
        return {"model": None}
    # Built here, not taken from the crew: the reel keys a scene with no run open. Building one
    # reads the film's workflow, never the network.
    variant = build(definition.capability, model, storage_for(Path(run.root), run.settings), run.settings).variant
    return {"model": model, "variant": variant, "provider": provider_variant(model.partition(":")[0], run.settings),
            "versions": list(definition.versions)}


def clip_size(storage: Storage, uri: str) -> tuple[int, int]:
    """The size of the clip a pass is given, as the video model made it: a model's own size
    (852x480 for 854x480) passed the keyframe gate, and a pass is held to the clip it was sent,
    never to the plan's size."""
    from slate.media.probe import probe
    got = probe(storage.open_local(uri))
    return got.width, got.height


def clip_seconds(storage: Storage, uri: str, seconds: float, fps: Fps) -> float:
    """The seconds of the clip a pass is sent: the shot's `seconds` when the clip holds them
    (within a frame), else the clip's own. A video model that makes whole seconds (Seedance: a
    2.5 s shot's clip is 3 s, cut to 2.5 by the stitch) sends the pass a longer clip, and a pass
    is held to, and paid for, the clip it was sent — never the plan's length. A clip of the
    shot's length keeps the shot's seconds exactly, and with them every pass's key."""
    from slate.media.commands import frame_count
    from slate.media.probe import probe
    got = probe(storage.open_local(uri))
    return seconds if abs(got.frames - frame_count(seconds, fps)) <= 1 else got.duration


# -- slate's own passes ---------------------------------------------------------------------------
# Declared here, where nothing imports Prefect (the reel keys a film before Prefect starts): each
# stage's code (its Prefect tasks) is imported only when a stage is made.

def _faceswap_stage(run: Run, plan: ShotPlan, clip_uri: str, seconds: float) -> Stage[Any]:
    from slate.tasks.shot.faceswap import FaceSwapStage
    return FaceSwapStage.of(run, plan, clip_uri, seconds)


def _upscale_stage(run: Run, plan: ShotPlan, clip_uri: str, seconds: float) -> Stage[Any]:
    from slate.tasks.shot.upscale import UpscaleStage
    return UpscaleStage.of(run, plan, clip_uri, seconds)


def _upscale_waits(run: Run, plan: ShotPlan, clip: Any, finals: Any) -> str | None:
    """Why a shot is not upscaled this round, or None: only a take a person approved is (its shot
    among the finals approved, not declined, not rejected) — never a draft's, never before."""
    if finals is None:
        # A draft, or a round nobody approved: said once a shot, so the model is not thought forgotten.
        return (f"not upscaled by {run.lineup.pass_model(UPSCALE.name)}: a {run.profile} run's takes are upscaled "
                f"only once a person approved them (final and hero profiles)")
    if plan.shot not in finals.first_takes or plan.shot in finals.declined or clip.rejected:
        # Never a take nobody approved: a clip in the cut is one of the approved shots', or
        # something is wrong upstream — left as it is, said, never paid for.
        return "not upscaled: not among the shots a person approved"
    return None


#: How much larger an approved take is made, each way (tasks/shot/upscale.py UPSCALE): a 720p final is
#: delivered at 1440p, a hero's 1080p critical shot at 2160p. A change here changes every upscale:
#: bump UPSCALE_VERSION (a scene's can key holds the version).
UPSCALE_FACTOR = 2

#: The face swap (tasks/shot/faceswap.py): on each shot that asks for `face_swap:`, right after its clip
#: (before the speech, so the lip-sync moves the face the audience will see), one job a face priced
#: at the shot's seconds; a shot that asks needs the run's model.
FACESWAP_PASS = declare_pass(PassDef(
    capability=FACESWAP, title="face swap", stage=_faceswap_stage, gate="faceswap_gate", after="clip",
    required=True, applies=lambda plan, profile: bool(plan.face_swap), asked_by="face_swap",
    judged_by=("slate's swap gate (media/faceswap.py)", "scores"),
    usage=lambda plan: [Usage(FACESWAP.name, seconds=plan.duration)] * len(plan.face_swap),
    versions=(FACESWAP_VERSION, SWAP_GATE_VERSION),
    what=lambda plan, model: f"the face swap of {', '.join(plan.face_swap)}"))

#: The upscale (tasks/shot/upscale.py): last in a shot's lane, on the clip as the cut will show it, only
#: at a profile a person approves (final, hero) and only once they did, one job a shot priced at its
#: seconds; without a model (the default), no upscale.
UPSCALE_PASS = declare_pass(PassDef(
    capability=UPSCALE, title="upscale", stage=_upscale_stage, gate="upscale_check", after="lipsync",
    applies=lambda plan, profile: PROFILES[profile].needs_approval,
    usage=lambda plan: [Usage(UPSCALE.name, seconds=plan.duration)],
    versions=(UPSCALE_VERSION, UPSCALE_CHECK_VERSION),
    what=lambda plan, model: f"its {UPSCALE_FACTOR}x upscale on {model}",
    keep=lambda end: {"upscale": end.reading}, waits=_upscale_waits,
    judged_by=("slate's upscale check (media/upscale.py)", "reading")))
