"""A run: one typed value from the flag to the ledger, and the live services it owns.

`Run` is what every stage is handed: who the run is (project folder, run id, film, scene), what it
was resolved to do (`settings`: the film's settings with the run's told options and its budget
limits over them — one value, `Decimal` money included), the models it uses (`lineup`) and where
each limit came from (`origins`). It is passed to every task but excluded from every cache key:
where and when a run happens must never change what a shot's content is (what does change it —
the options declared `output`, the lineup, a provider's own variant — reaches a scene's key in
tasks/run/can.py).

A run's live services (`Crew`: storage, providers, judge, gate policy, pricing, the governor with
its ledger engine, the scenes' finals allowances, the run's listeners) belong to the run: a flow
opens them with `open_run` when its body starts, every stage reaches them as `run.crew`, and they
are closed when the body ends. A film's scenes run in this process work on their film's crew
(`Run.at_scene`): one governor, so halting the film halts them all. A deployment run is a process
of its own and opens its own. Code that has a `Run` that was never opened (a script, the reel
computing keys) has no crew: asking for one is `RunNotOpen`, never a crew made on the side.

Two registries stay module-level, each for a reason of Prefect's, and this is the one place that
says so:
  - `_OPEN`, the runs open in this process by run id: a Cancel hook (flows/run/lifeline.py) and a film
    stopping its scenes (flows/run/units.py) are handed a flow run, not our Run, and must find its
    governor to halt it (`halt_run`);
  - flows/run/outcome.py's memo of what a flow body returned, by flow-run id: Prefect's engine hands
    back a state without its data when the answer to the state's request was lost.
And the preflight a caller already made is handed to the flow it starts through a context
variable (tasks/run/preflight.py `handed_on`): a flow's parameters are stored on the server, a check
of the whole film is not a parameter.

`emit(run, ...)` tells the run's listeners (a scene's progress bar) and the process's (the CLI's
live table, which outlives the runs it shows) what a shot is doing, as a typed event
(tasks/run/events.py).

It must never put a key, a client or an open file into a task's parameters, never keep a crew
after its run's body ended, and never let one run find another run's services.
"""
from __future__ import annotations

import logging
import os
import threading
from contextlib import contextmanager
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, TypeVar, cast, overload

from pydantic import BaseModel, ConfigDict, PrivateAttr

from slate.errors import SlateError
from slate.governor.allowance import Allowances, FinalsAllowance
from slate.governor.limits import LIMITS, Limits
from slate.governor.chokepoint import CallContext, Governor, RunHalted
from slate.governor.gates import GatePolicy
from slate.governor.ledger import Cap, Ledger
from slate.governor.policy import TakePolicy
from slate.governor.ratecard import Pricing, RateCard
from slate.manifests.settings import Settings, model_audio
from slate.providers.base import ImageGenerator, Judge, Storage, VideoGenerator
from slate.providers.registry import (Lineup, ModelRef, base_urls, build, expected_job_seconds, lineup, provider_variant,
                                      storage_for)
from slate.providers.spec import IMAGE, JUDGE, VIDEO, Capability, job_deadline
from slate.tasks.run.events import Event, event_of

if TYPE_CHECKING:  # Prefect is imported where a task is called: Run and run_of are read before it starts
    from prefect import Task

__all__ = ["Run", "RunLineup", "Crew", "RunNotOpen", "open_run", "run_of", "halt_run", "open_runs", "listen",
           "emit", "in_project"]

log = logging.getLogger("slate.run")
#: A service of the crew, as its capability types it (providers.spec.Capability).
Made = TypeVar("Made")


def _silence_seconds() -> float:
    """SLATE_PROVIDER_SILENCE_SECONDS: how long a provider that stopped answering is waited for
    (governor/chokepoint.py `silence_seconds`); 300 when unset or not a positive number."""
    try:
        value = float(os.environ.get("SLATE_PROVIDER_SILENCE_SECONDS", "300"))
    except ValueError:
        return 300.0
    return value if 0 < value < float("inf") else 300.0


class RunNotOpen(SlateError, RuntimeError):
    """A run's services were asked for outside the flow body that opened them."""


class RunLineup(BaseModel):
    """The models a run uses, resolved (providers/registry.py `lineup`, once: tasks/run/run_plan.py),
    as a task's parameters carry them: `provider:model` each (`of` and `refs` turn one into the
    other, the only place that does). `passes`: the model of each pass over the clip the run has
    one for, by the pass's name (tasks/shot/clip_passes.py: a face swap, an upscale, a declared one)."""

    model_config = ConfigDict(frozen=True)

    panel: str
    videos: tuple[str, ...]       # the first, then fallbacks on refusal
    judge: str
    lipsync: str | None = None    # the lip-sync model of on-camera lines (None: they are not lip-synced)
    passes: dict[str, str] = {}   # pass -> its model (a pass not here: the run has none, it does not run)
    second_judge: str | None = None   # a ladder's second judge (issue 60; None: one judge)

    @classmethod
    def of(cls, chosen: Lineup) -> "RunLineup":
        return cls(panel=str(chosen.panel), videos=tuple(str(v) for v in chosen.videos), judge=str(chosen.judge),
                   lipsync=str(chosen.lipsync) if chosen.lipsync is not None else None,
                   passes={name: str(m) for name, m in chosen.passes.items()},
                   second_judge=str(chosen.second_judge) if chosen.second_judge is not None else None)

    def refs(self) -> Lineup:
        """The lineup as model references again."""
        return Lineup(ModelRef.parse(self.panel), tuple(ModelRef.parse(v) for v in self.videos),
                      ModelRef.parse(self.judge), ModelRef.parse(self.lipsync) if self.lipsync is not None else None,
                      {name: ModelRef.parse(m) for name, m in self.passes.items()},
                      ModelRef.parse(self.second_judge) if self.second_judge is not None else None)

    def pass_model(self, name: str) -> str | None:
        """The model of the pass called `name` (None: the run has none)."""
        return self.passes.get(name)


class Run(BaseModel):
    """One run of one scene (a film run's scenes share its crew): see the module's docstring."""

    model_config = ConfigDict(frozen=True)

    root: str
    run_id: str
    film: str
    scene: str
    settings: Settings
    lineup: RunLineup
    origins: dict[str, str] = {}           # limit -> where its value came from (governor/budget.py)
    _crew: "Crew | None" = PrivateAttr(default=None)

    @property
    def profile(self) -> str:
        return self.settings.profile

    @property
    def model_audio(self) -> bool:
        """Whether this run asks its video models for their sound (the profile's, unless told)."""
        return model_audio(self.settings)

    @property
    def takes(self) -> TakePolicy:
        return TakePolicy(self.settings.max_takes, self.settings.no_progress_takes)

    @property
    def crew(self) -> "Crew":
        """The run's live services: there while the flow body that opened the run runs."""
        crew = self._crew
        if crew is not None and crew.closed:
            from slate.governor.killswitch import process_stop
            stop = process_stop()
            if stop is not None:
                # The flow body ended because this process was told to (SIGTERM, its parent gone):
                # a shot still in flight on a thread learns that, in those words, not as a
                # programming error (RunNotOpen).
                raise RunHalted(f"stopped by a signal ({stop.reason}): shot work still in flight ends here, nothing "
                                f"new is sent; jobs already sent keep their job ids, and the next run collects them "
                                f"and makes what is left", kind="stop")
        if crew is None or crew.closed:
            raise RunNotOpen(f"run {self.run_id} (scene {self.scene}) is not open: its services exist only "
                             f"inside the flow body that opened it (tasks/run/run.py open_run)")
        return crew

    def at_scene(self, scene: str) -> "Run":
        """This run at another scene of its film, on the same crew (one governor, one ledger)."""
        moved = self.model_copy(update={"scene": scene})
        moved._crew = self._crew
        return moved

    def call_at(self, shot: str, stage: str, take: int, provider: str, model: str, *, profile: str | None = None,
                scene: str | None = None) -> CallContext:
        """Where a paid call of this run sits in the film (the ledger's who-and-why columns): the
        run's own id, film, scene and profile unless the call says otherwise — a film-wide check
        is scene "*", the bible's drawings scene "bible"; a take's maker carries its profile."""
        return CallContext(self.run_id, self.film, self.scene if scene is None else scene, shot, stage, take,
                           provider, model, self.profile if profile is None else profile)

    def scratch(self, name: str) -> Path:
        path = Path(self.root) / ".slate" / "scratch" / self.run_id / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def variants(self) -> dict[str, dict[str, Any]]:
        """What each provider of the lineup's own settings change of what it makes (its variant),
        by provider: part of a scene's key."""
        names = sorted({ref.split(":", 1)[0] for ref in (self.lineup.panel, self.lineup.judge, *self.lineup.videos)})
        return {name: variant for name in names if (variant := provider_variant(name, self.settings))}


def run_of(root: Path, scene: str, film_id: str, settings: Settings, run_id: str,
           limits: Limits | None = None, chosen: Lineup | None = None) -> Run:
    """The Run of one scene from its resolved settings and its budget limits (a run's plan, tasks/
    run_plan.py, hands its settings, limits and lineup): the one rule, used by the scene flow and by
    the reel (tasks/run/reel.py), whose keys must agree. Without `limits` (the reel, which only keys)
    the caps stay the settings' own: a cap is never part of a key; without `chosen`, the lineup
    the settings choose."""
    if limits is not None:
        settings = settings.model_copy(update={name: getattr(limits, name) for name in LIMITS})
    chosen = chosen if chosen is not None else lineup(settings)
    if not settings.clip_weights:
        # CLIP without weights is off: the model named beside it changes nothing a run makes.
        settings = settings.model_copy(update={"clip_model": ""})
    return Run(root=str(root), run_id=run_id, film=film_id, scene=scene, settings=settings,
               lineup=RunLineup.of(chosen), origins=dict(limits.origins) if limits is not None else {})


class Crew:
    """The live side of a run: storage, providers, the judge, the gate policy, pricing and the
    governor, built when first needed, closed with the run (`open_run`)."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.root = Path(run.root)
        self.storage: Storage = storage_for(self.root, run.settings)
        self.allowances = Allowances()
        self.closed = False
        self._services: dict[tuple[str, str], object] = {}
        self._listeners: list[Callable[[Event], None]] = []
        self._governor: Governor | None = None
        self._lock = threading.RLock()

    @property
    def images(self) -> ImageGenerator:
        """The lineup's panel model."""
        return self.service(IMAGE, self.run.lineup.panel)

    @property
    def videos(self) -> VideoGenerator:
        """The lineup's first video model."""
        return self.service(VIDEO, self.run.lineup.videos[0])

    def service(self, capability: Capability[Made], model: str) -> Made:
        """The client of one "provider:model" for `capability` (`run.crew.service(LIPSYNC,
        run.lineup.lipsync)`): built when first asked for, then the same one for the run, and
        closed with it."""
        with self._lock:
            key = (capability.name, model)
            if key not in self._services:
                self._services[key] = build(capability, model, self.storage, self.run.settings)
            return cast(Made, self._services[key])

    def job_times(self, model: str, maker: object) -> tuple[float, float]:
        """(expected, deadline) in seconds of one job of `model` ("provider:model") made by
        `maker`: the film's slate.toml figure ([job_seconds]), else the provider's own; the
        deadline is spec.STUCK_AFTER times it. Past it the governor cancels the job."""
        expected, _ = expected_job_seconds(model, maker, self.run.settings)
        return expected, job_deadline(expected)

    @cached_property
    def gates(self) -> GatePolicy:
        """The gate policy of this film (governor/gates.toml with the film's gates.toml over it)."""
        return GatePolicy.load(self.root, self.run.settings.cannot_judge)

    @property
    def judge(self) -> Judge:
        """The lineup's judge."""
        return self.service(JUDGE, self.run.lineup.judge)

    @property
    def second_judge(self) -> Judge | None:
        """The ladder's second judge: asked where the first fails a take or cannot judge it (None: no ladder)."""
        ref = self.run.lineup.second_judge
        return self.service(JUDGE, ref) if ref is not None else None

    @property
    def governor(self) -> Governor:
        """The run's one governor (every scene of a film run in this process shares it)."""
        with self._lock:
            if self._governor is None:
                settings = self.run.settings
                self._governor = Governor(
                    run_id=self.run.run_id, film=self.run.film, root=self.root,
                    ledger=Ledger.for_project(self.root),   # the URL is resolved there, never passed around
                    estimate=self.pricing.estimate, storage=self.storage,
                    caps=[Cap("run", settings.run_cap_usd), Cap("film", settings.film_cap_usd)],
                    busy_wait=settings.busy_wait_seconds, failure_charge=self.pricing.card.failure_charge,
                    silence_seconds=_silence_seconds())
            return self._governor

    @cached_property
    def pricing(self) -> Pricing:
        return Pricing.for_lineup(RateCard.load(self.root), self.run.lineup.panel, self.run.lineup.videos,
                                  self.run.lineup.judge, self.run.settings.price_as)

    def scratch(self, name: str) -> Path:
        """A working folder of this run's (`.slate/scratch/<run id>/<name>`), swept when stale."""
        return self.run.scratch(name)

    def allowance(self, scene: str, approved: Decimal, first_takes: dict[str, Decimal]) -> FinalsAllowance:
        """A scene's finals allowance in this run (governor/allowance.py), seeded from the ledger."""
        return self.allowances.for_scene(self.run.run_id, scene, approved, first_takes,
                                         lambda: self.governor.ledger.rows(run_id=self.run.run_id))

    # -- who listens to this run (a scene's progress bar) ------------------------------------
    def listen(self, fn: Callable[[Event], None]) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(fn)

        def stop() -> None:
            with self._lock:
                if fn in self._listeners:
                    self._listeners.remove(fn)
        return stop

    def listeners(self) -> list[Callable[[Event], None]]:
        with self._lock:
            return list(self._listeners)

    # -- the end of the run ------------------------------------------------------------------
    def halt(self, reason: str) -> bool:
        """Stop the run's spending: its next paid call is refused as a stop (False: it has made
        no governor yet, so it has nothing to stop)."""
        with self._lock:
            gov = self._governor
        if gov is None:
            return False
        gov._halt(RunHalted(f"stop requested: {reason}", kind="stop"))
        return True

    def close(self) -> None:
        """Close everything the run opened (storage, providers, the ledger engine); once."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
            built = list(self._services.values())
            governor, self._governor = self._governor, None
            self._listeners = []
        for thing in [self.storage, *built, *([governor.ledger] if governor is not None else [])]:
            close = getattr(thing, "close", None)
            if not callable(close):
                continue
            try:
                close()
            except Exception as exc:  # noqa: BLE001 — one service that will not close must not keep the rest open
                log.warning("run %s: %s did not close: %s", self.run.run_id, type(thing).__name__, exc)


# The runs open now in this process, by run id: an entry lives exactly as long as its flow body.
_OPEN: dict[str, Run] = {}
_LOCK = threading.Lock()


@contextmanager
def open_run(run: Run) -> Iterator[Run]:
    """`run` with its crew, for the length of a flow's body: opened and closed here — or, a
    sub-flow of a run already open in this process (a film's scene), that run's crew, left open
    for its owner."""
    with _LOCK:
        owner = _OPEN.get(run.run_id)
        if owner is None:
            opened = run.model_copy()
            opened._crew = Crew(opened)
            _OPEN[run.run_id] = opened
        else:
            opened = run.model_copy()
            opened._crew = owner._crew
    try:
        yield opened
    finally:
        if owner is None:
            with _LOCK:
                if _OPEN.get(run.run_id) is opened:
                    del _OPEN[run.run_id]
            assert opened._crew is not None
            opened._crew.close()


def open_runs() -> list[str]:
    """The run ids open now in this process."""
    with _LOCK:
        return list(_OPEN)


def halt_run(run_id: str, reason: str) -> bool:
    """Stop one run's spending in this process (a Cancel): its next paid call is refused as a
    stop; calls already sent go on as on `slate stop`. False if the run has no governor here."""
    with _LOCK:
        run = _OPEN.get(run_id)
    return run is not None and run._crew is not None and run._crew.halt(reason)


# -- progress: tasks tell whoever listens (the CLI's live display) what a shot is doing -------
# `emit(run, **fields)` makes the fields one typed event (tasks/run/events.py) and hands it to every
# listener, on the emitting task's thread: a listener must return at once. A listener of a run
# (a scene's progress bar) goes with it; one added with no run (the CLI's display, which outlives
# the runs it shows) is the process's.
_PROCESS_LISTENERS: list[Callable[[Event], None]] = []
_LISTENERS_LOCK = threading.Lock()
progress_log = logging.getLogger("slate.progress")


def listen(fn: Callable[[Event], None], run: Run | None = None) -> Callable[[], None]:
    """Call `fn` with every event of `run` (every run's, without one) from now on; returns how
    to stop (once or more)."""
    if run is not None:
        return run.crew.listen(fn)
    with _LISTENERS_LOCK:
        _PROCESS_LISTENERS.append(fn)

    def stop() -> None:
        with _LISTENERS_LOCK:
            if fn in _PROCESS_LISTENERS:
                _PROCESS_LISTENERS.remove(fn)
    return stop


def emit(run: Run | None, **fields: Any) -> None:
    try:
        event = event_of(fields)
    except TypeError as exc:  # a display that misses an event must never stop a paid run
        progress_log.warning("progress event not sent: %s", exc)
        return
    crew = run._crew if run is not None else None
    with _LISTENERS_LOCK:
        listeners = list(_PROCESS_LISTENERS)
    for fn in (crew.listeners() if crew is not None else []) + listeners:
        try:
            fn(event)
        except Exception:  # noqa: BLE001 — a broken display must never break a paid run
            pass


# -- calling a cached task inside a film project ------------------------------------------------
R = TypeVar("R")


@overload
def in_project(task_obj: Task[..., str], run: Run, *args: object) -> str: ...


@overload
def in_project(task_obj: Task[..., R], run: Run, *args: object, artifacts: Callable[[R], list[str]]) -> R: ...


def in_project(task_obj: Task[..., Any], run: Run, *args: object,
               artifacts: Callable[[Any], list[str]] = lambda r: [r]) -> Any:
    """Call a cached stage task so that its result is durable the moment it finishes.

    Stage tasks run nested in a shot's take loop. Prefect stages a nested task's cache record
    until the enclosing task commits, and rolls the staged records back when any sibling fails:
    a paid clip whose keyframe gate then raised (a cap refused it) was forgotten and paid for
    again on the next run. An eager transaction around each call commits its record at once.

    A cache record whose artifact is gone from storage (someone cleaned `.slate/artifacts`) is
    a miss: the take is made again rather than handing a later stage a URI to nothing.
    """
    # Imported here: Run and run_of are read by the reel (tasks/run/reel.py) before Prefect starts.
    from prefect.transactions import CommitMode, transaction
    with transaction(commit_mode=CommitMode.EAGER):
        result = task_obj(run, *args)
    storage = run.crew.storage
    if not all(storage.exists(uri) for uri in artifacts(result) if uri):
        with transaction(commit_mode=CommitMode.EAGER):
            result = task_obj.with_options(refresh_cache=True)(run, *args)
    return result

