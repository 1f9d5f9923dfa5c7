"""The reel: a finished film recognised before Prefect starts, so a cached film costs seconds.

A film's key is made over the can keys of the scenes wanted (tasks/run/can.py `scene_key`, computed
here exactly as the scene flow computes it, but without a Prefect run: the references locked by
content hash without storing them, the shots' plans, the gate policy's fingerprint, the run's
settings that change what is made) and over what its cut is (film, profile, fps, the scenes in
order). After a run that finished — Completed, or Escalated where every escalation is one the
can keeps (tasks/run/can.py `cannable`) — the CLI writes the reel down
(`.slate/results/reel-<film>-<profile>.json`): the key, the take policy the scenes were keyed
with (the budget block's, read from the server while it was up), the film cut's sha256 and its
duration. The next `slate run` serves the film from the reel when the key is the same, every
scene is in the can with its cut verified, and the film's cut is the file written down: no
Prefect server, no flow run, no ledger row.

It must never serve a film whose inputs changed (a manifest, a reference, a setting, the gate
policy, a stage version), whose cut is gone or differs, or one it cannot check without a server:
with a Prefect server configured or a `slate up` stack running the budget block may have been
edited where this cannot see it, and with s3 storage the can is in the bucket — those runs go
through Prefect as before. It must never write a reel for a run whose end the same inputs might
not reach again (a scene left out, stopped, unjudged, or escalated other than by a gate).
"""
from __future__ import annotations

import json
import os
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from slate.governor.gates import GatePolicy
from slate.governor.policy import TakePolicy
from slate.manifests import LoadedFilm
from slate.manifests.frame_rate import Fps
from slate.manifests.settings import Settings
from slate.providers.storage_local import file_sha256, write_atomic
from slate.tasks.run.clapper import content_key
from slate.tasks.run.can import SceneFields, from_the_can, read_record, scene_key_of
from slate.providers.registry import storage_for
from slate.tasks.run.run import Run, run_of

REEL_VERSION = "reel-v2"   # v2: the take policy slate.toml said is written down beside the block's
NOT_A_RUN = "reel"   # the run id of the Runs built here: excluded from every key


def reel_path(root: Path, film_id: str, profile: str) -> Path:
    stem = re.sub(r"[^a-z0-9-]+", "-", f"{film_id}-{profile}".lower())
    return Path(root) / ".slate" / "results" / f"reel-{stem}.json"


def _shelf(root: Path) -> Path:
    # The can's local shelf (tasks.run.cache.result_storage for the local backend), never created here.
    return Path(root) / ".slate" / "results"


def scene_keys(root: Path, film: LoadedFilm, settings: Settings, scenes: list[str],
               policy: TakePolicy) -> dict[str, tuple[str, Run]]:
    """Each wanted scene's can key and the Run it was made with, as the scene flow makes them."""
    root = Path(root).resolve()
    fingerprint = GatePolicy.load(root, settings.cannot_judge).fingerprint
    # The takes the scenes were keyed with: the budget's, as resolved when the reel was written.
    settings = settings.model_copy(update={"max_takes": policy.max_takes, "no_progress_takes": policy.no_progress_takes})
    storage = storage_for(root, settings)
    out: dict[str, tuple[str, Run]] = {}
    for scene_id in scenes:
        run = run_of(root, scene_id, film.film.id, settings, NOT_A_RUN)
        out[scene_id] = (scene_key_of(run, film, fingerprint, storage), run)
    return out


def film_key(film_id: str, profile: str, fps: Fps, keys: list[str]) -> str:
    return content_key(REEL_VERSION, {"film": film_id, "profile": profile, "fps": fps, "scenes": keys}, exclude=())


def server_configured() -> bool:
    """A Prefect server other than the embedded one would be used (the environment, the active
    profile, or this process's settings): the budget block the keys depend on lives there, so
    the reel cannot vouch for the take policy. (The CLI also asks whether a `slate up` stack
    of the project is running.)"""
    if os.environ.get("PREFECT_API_URL"):
        return True
    if "prefect.settings" in sys.modules:  # already imported (a test harness, a worker): ask it
        from prefect.settings import PREFECT_API_URL
        if PREFECT_API_URL.value():
            return True
    home = Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect").expanduser()
    profiles = Path(os.environ.get("PREFECT_PROFILES_PATH") or home / "profiles.toml").expanduser()
    try:
        doc = tomllib.loads(profiles.read_text()) if profiles.is_file() else {}
    except (OSError, tomllib.TOMLDecodeError):
        return True  # a profile file that cannot be read may name a server: do not guess
    active = os.environ.get("PREFECT_PROFILE") or doc.get("active") or "ephemeral"
    return bool((doc.get("profiles", {}).get(active) or {}).get("PREFECT_API_URL"))


@dataclass
class Served:
    """A film served from the reel: what `slate run` prints."""

    film: str
    profile: str
    output: str
    duration: float
    scenes: list[SceneFields]   # each scene's recorded result, its cut verified and in place


def recognise(root: Path, film: LoadedFilm, settings: Settings, scenes: list[str]) -> Served | str:
    """The film served from the reel, or why not (one line: the run goes through Prefect)."""
    root = Path(root).resolve()
    if settings.storage.backend != "local":
        return "the can is in the bucket (s3 storage)"
    if server_configured():
        return "a Prefect server is configured: the budget block is there"
    path = reel_path(root, film.film.id, settings.profile)
    try:
        reel = json.loads(path.read_bytes())
        policy = TakePolicy(**reel["take_policy"])
        written_from = reel["takes_in_settings"]
        recorded_key, output, cut_sha = reel["key"], root / reel["output"], reel["sha256"]
        duration = float(reel["duration"])
    except FileNotFoundError:
        return "no reel written yet"
    except (ValueError, KeyError, TypeError):
        return "the reel cannot be read"
    if reel.get("scenes") != scenes:
        return "other scenes were wanted"
    if written_from != _takes_in(settings):
        # The budget block follows slate.toml (governor/budget.py): a changed take policy there
        # is the next run's, and what the block says now only a server can tell.
        return "the film's take policy changed in its settings"
    keys = scene_keys(root, film, settings, scenes, policy)
    if film_key(film.film.id, settings.profile, settings.fps, [k for k, _ in keys.values()]) != recorded_key:
        return "the film's inputs changed"
    made = []
    for scene_id, (key, run) in keys.items():
        canned = from_the_can(root, storage_for(root, settings), _shelf(root), key)
        if canned is None:
            return f"scene {scene_id} is not in the can"
        made.append({**canned, "provider_calls": 0, "spent_usd": "0"})
    if not output.is_file() or file_sha256(output) != cut_sha:
        return "the film's cut is gone or differs"
    return Served(film.film.id, settings.profile, str(output), duration, made)


def write_reel(root: Path, film: LoadedFilm, settings: Settings, scenes: list[str], policy: TakePolicy, output: str,
               duration: float) -> bool:
    """Write the reel after a run that finished (the caller's judgement: state Completed, or
    Escalated with every scene in the can); False, nothing written, when a scene is not in the
    can after all."""
    root = Path(root).resolve()
    if settings.storage.backend != "local":
        return False
    cut = Path(output).resolve()
    if root not in cut.parents or not cut.is_file():
        return False
    keys = scene_keys(root, film, settings, scenes, policy)
    if any(read_record(_shelf(root), key) is None for key, _ in keys.values()):
        return False
    reel = {"version": REEL_VERSION, "film": film.film.id, "profile": settings.profile, "scenes": scenes,
            "key": film_key(film.film.id, settings.profile, settings.fps, [k for k, _ in keys.values()]),
            "take_policy": {"max_takes": policy.max_takes, "no_progress_takes": policy.no_progress_takes},
            "takes_in_settings": _takes_in(settings),
            "output": str(cut.relative_to(root)), "sha256": file_sha256(cut), "duration": duration}
    write_atomic(reel_path(root, film.film.id, settings.profile), json.dumps(reel, sort_keys=True).encode())
    return True


def _takes_in(settings: Settings) -> dict[str, int]:
    """The take policy the film's settings say (what its budget block follows, unless edited)."""
    return {"max_takes": settings.max_takes, "no_progress_takes": settings.no_progress_takes}
