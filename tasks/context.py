"""What every task of a run is handed, and the services it builds from it.

`RunSpec` is the run's identity and knobs (project folder, run id, provider names, fault mode).
It is passed to every task but excluded from every cache key: where and when a run happens
must never change what a shot's content is. What a provider setting does change (the local
fault mode) reaches the key as the provider's `variant`, a parameter of every stage task.
`Crew` holds the live objects (storage, providers, judge, governor) of one RunSpec;
`crew(run)` finds it on the run's soundstage (tasks/soundstage.py), where it is built once and
closed when the run ends. `emit` tells the run's listeners (and the process's display) what a
shot is doing, as a typed event (tasks/events.py).

It must never put a key, a client or an open file into a task's parameters, and never keep a
crew anywhere but on its run's soundstage.
"""
from __future__ import annotations

import logging
import threading
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Callable

from pydantic import BaseModel, ConfigDict

from slate.governor.allowance import FinalsAllowance
from slate.governor.chokepoint import CallContext, Governor
from slate.governor.gates import GatePolicy
from slate.governor.ledger import Cap, Ledger
from slate.governor.policy import TakePolicy
from slate.governor.ratecard import Pricing, RateCard
from slate.providers.local import FaultMode
from slate.manifests.options import OPTIONS
from slate.manifests.settings import model_audio
from slate.providers.registry import base_urls, image_provider, judge_provider, lineup, storage_for, video_provider
from slate.tasks.events import Event, event_of
from slate.tasks.soundstage import Soundstage, current, stage_for


class RunSpec(BaseModel):
    model_config = ConfigDict(frozen=True)

    root: str
    run_id: str
    film: str
    scene: str
    profile: str
    panel_model: str = "local:local-compositor-v1"
    video_models: tuple[str, ...] = ("local:local-ffmpeg-v1",)   # the first, then fallbacks on refusal
    judge_model: str = "local:local-pixels-v1"
    base_urls: dict[str, str] = {}   # provider -> base URL (settings; never a key)
    fps: int = 24
    max_takes: int = 3
    no_progress_takes: int = 2
    drift_every: int = 5
    drift_threshold: float = 0.35
    local_latency: float = 0.0
    local_fault_rate: float = 0.0
    local_fault_seed: int = 0
    local_fault_kinds: str = "recolour,wrong_plate,missing,corrupted"
    run_cap_usd: str = "25"
    film_cap_usd: str = "250"
    price_as: str | None = None
    video_slots: int = 1
    busy_wait_seconds: float = 1800.0
    approved_fallbacks: tuple[str, ...] = ()
    clip_model: str = ""
    clip_weights: str = ""
    fallback_gate_share: str = "0.15"
    cannot_judge: str = "block"      # "warn": a rehearsal, takes the judge cannot judge go on unjudged
    model_audio: bool = False        # the video model is asked for its sound (manifests.settings.model_audio)

    def call_at(self, shot: str, stage: str, take: int, provider: str, model: str, *, profile: str | None = None,
                scene: str | None = None) -> CallContext:
        """Where a paid call of this run sits in the film (the ledger's who-and-why columns): the
        run's own id, film, scene and profile unless the call says otherwise — a film-wide check
        is scene "*", the bible's drawings scene "bible"; a take's maker carries its profile."""
        return CallContext(self.run_id, self.film, self.scene if scene is None else scene, shot, stage, take,
                           provider, model, self.profile if profile is None else profile)


# RunSpec fields a run resolves rather than copies: the lineup's models, the budget's caps and
# takes, and the values whose spelling differs (CLIP without weights is off; money as text).
_RESOLVED = ("panel_model", "run_cap_usd", "film_cap_usd", "max_takes", "no_progress_takes", "clip_model",
             "fallback_gate_share", "model_audio")


def run_spec(root: Path, scene_id: str, film_id: str, settings, run_id: str, takes: TakePolicy,
             caps: tuple[Decimal, Decimal] = (Decimal(0), Decimal(0))) -> RunSpec:
    """A scene run's RunSpec from its settings, its take policy and its (run, film) caps — the
    caps are never part of a key, so the reel, which only keys, leaves them at 0: the one
    rule, used by the scene flow and by the reel (tasks/reel.py), whose keys must agree. Every
    declared option a stage is handed under its own name is copied (manifests/options.py)."""
    chosen = lineup(settings)
    copied = {o.run_field: getattr(settings, o.setting) for o in OPTIONS
              if o.run_field and o.run_field == o.setting and o.setting not in _RESOLVED}
    return RunSpec(**copied, run_cap_usd=str(caps[0]), film_cap_usd=str(caps[1]),
                   max_takes=takes.max_takes, no_progress_takes=takes.no_progress_takes,
                   panel_model=str(chosen.panel), video_models=tuple(str(v) for v in chosen.videos),
                   judge_model=str(chosen.judge), base_urls=base_urls(settings),
                   approved_fallbacks=tuple(settings.approve_fallback),
                   fallback_gate_share=str(settings.fallback_gate_share),
                   clip_model=settings.clip_model if settings.clip_weights else "",
                   model_audio=model_audio(settings),
                   root=str(root), run_id=run_id, film=film_id, scene=scene_id)


class Crew:
    """The live side of a run: storage, providers and the governor (the governor is the run's,
    shared by every crew on its soundstage)."""

    def __init__(self, run: RunSpec, stage: Soundstage):
        self.run = run
        self.stage = stage
        self.root = Path(run.root)
        self.storage = storage_for(self.root)
        self.faults = FaultMode.parse(run.local_fault_rate, run.local_fault_seed, run.local_fault_kinds)
        self._videos: dict[str, object] = {}
        self._lock = threading.Lock()

    @cached_property
    def images(self):
        return image_provider(self.run.panel_model, self.storage, self.faults, base_urls=self.run.base_urls)

    @cached_property
    def videos(self):
        return self.video_for(self.run.video_models[0])

    def video_for(self, model: str):
        """The video provider for one model of the lineup (a fallback is built when first needed)."""
        with self._lock:
            if model not in self._videos:
                self._videos[model] = video_provider(model, self.storage, latency=self.run.local_latency,
                                                     faults=self.faults, base_urls=self.run.base_urls)
            return self._videos[model]

    @cached_property
    def gates(self):
        """The gate policy of this film (governor/gates.toml with the film's gates.toml over it)."""
        return GatePolicy.load(self.root, self.run.cannot_judge)

    @cached_property
    def judge(self):
        return judge_provider(self.run.judge_model, self.storage, base_urls=self.run.base_urls)

    @property
    def governor(self) -> Governor:
        return self.stage.governor(self.run.run_id, self._make_governor)

    def _make_governor(self) -> Governor:
        ledger = Ledger.for_project(self.root)  # the URL is resolved there, never passed around
        return Governor(run_id=self.run.run_id, film=self.run.film, root=self.root, ledger=ledger,
                        estimate=self.pricing.estimate, storage=self.storage,
                        caps=[Cap("run", Decimal(self.run.run_cap_usd)), Cap("film", Decimal(self.run.film_cap_usd))],
                        busy_wait=self.run.busy_wait_seconds, failure_charge=self.pricing.card.failure_charge)

    @cached_property
    def pricing(self) -> Pricing:
        return Pricing.for_lineup(RateCard.load(self.root), self.run.panel_model, self.run.video_models,
                                  self.run.judge_model, self.run.price_as)

    def allowance(self, approved: Decimal, first_takes: dict[str, Decimal]) -> FinalsAllowance:
        """This scene's finals allowance in this run (governor/allowance.py), seeded from the ledger."""
        return self.stage.allowances.for_scene(self.run.run_id, self.run.scene, approved, first_takes,
                                               lambda: self.governor.ledger.rows(run_id=self.run.run_id))

    def close(self) -> None:
        """What this crew opened (storage, providers) closed: the run ended."""
        built = [self.__dict__.get(name) for name in ("images", "judge")] + list(self._videos.values())
        for thing in [self.storage, *built]:
            close = getattr(thing, "close", None)
            if callable(close):
                close()

    def scratch(self, name: str) -> Path:
        path = self.root / ".slate" / "scratch" / self.run.run_id / name
        path.mkdir(parents=True, exist_ok=True)
        return path


def crew(run: RunSpec) -> Crew:
    """The run's crew for this RunSpec, on the run's soundstage (a stray one outside any flow)."""
    stage = stage_for(run.run_id)
    return stage.crew(run.model_dump_json(), lambda: Crew(run, stage))


# -- progress: tasks tell whoever listens (the CLI's live display) what a shot is doing -------
# `emit(**fields)` makes the fields one typed event (tasks/events.py) and hands it to every
# listener, on the emitting task's thread: a listener must return at once. A listener added
# inside a run (a scene's progress bar) is the run's, and goes with it; one added outside any
# run (the CLI's display, which outlives the runs it shows) is the process's.
_PROCESS_LISTENERS: list[Callable[[Event], None]] = []
_LISTENERS_LOCK = threading.Lock()
log = logging.getLogger("slate.progress")


def listen(fn: Callable[[Event], None]) -> Callable[[], None]:
    """Call `fn` with every event from now on; returns how to stop (once or more: a listener
    stopped early, by a scene that ended, is stopped again on the way out)."""
    stage = current()
    if stage is not None:
        return stage.listen(fn)
    with _LISTENERS_LOCK:
        _PROCESS_LISTENERS.append(fn)

    def stop() -> None:
        with _LISTENERS_LOCK:
            if fn in _PROCESS_LISTENERS:
                _PROCESS_LISTENERS.remove(fn)
    return stop


def emit(**fields) -> None:
    try:
        event = event_of(fields)
    except TypeError as exc:  # a display that misses an event must never stop a paid run
        log.warning("progress event not sent: %s", exc)
        return
    stage = current()
    with _LISTENERS_LOCK:
        listeners = list(_PROCESS_LISTENERS)
    for fn in (stage.listeners() if stage is not None else []) + listeners:
        try:
            fn(event)
        except Exception:  # a broken display must never break a paid run
            pass


# -- calling a cached task inside a film project ------------------------------------------------
def in_project(task_obj, run: RunSpec, *args, artifacts: Callable[[object], list[str]] = lambda r: [r]):
    """Call a cached stage task so that its result is durable the moment it finishes.

    Stage tasks run nested in a shot's take loop. Prefect stages a nested task's cache record
    until the enclosing task commits, and rolls the staged records back when any sibling fails:
    a paid clip whose keyframe gate then raised (a cap refused it) was forgotten and paid for
    again on the next run. An eager transaction around each call commits its record at once.

    A cache record whose artifact is gone from storage (someone cleaned `.slate/artifacts`) is
    a miss: the take is made again rather than handing a later stage a URI to nothing.
    """
    # Imported here: RunSpec and run_spec are read by the reel (tasks/reel.py) before Prefect starts.
    from prefect.transactions import CommitMode, transaction
    with transaction(commit_mode=CommitMode.EAGER):
        result = task_obj(run, *args)
    storage = crew(run).storage
    if not all(storage.exists(uri) for uri in artifacts(result) if uri):
        with transaction(commit_mode=CommitMode.EAGER):
            result = task_obj.with_options(refresh_cache=True)(run, *args)
    return result
