"""In the can: a finished scene recognised at once, so an unchanged scene costs one lookup.

A scene's key covers everything its output depends on: every shot's plan (its requests, whose
reference images are content URIs, its prompts, size, timing and transitions), the options of
the run that change what is made or judged (models, fallbacks, takes, drift, CLIP weights: each
declared `output` in manifests/options.py), what the providers' own settings change (the local
provider's fault rehearsal), the gate policy's fingerprint and the version string of every stage. A scene
that finished — a cut published, every shot approved or escalated by a gate's verdict on its
takes (`settled`: what the same key would decide again), nothing halted, rejected, unjudged or
escalated for any other reason (a loop that stopped, a retake a person declined) — is written
down under that key with its result and its cut's content hash. A later run with the same key
finds the cut in storage, restores `renders/` if it was removed, and returns the result — its
escalations included — without a task, a provider call, an approval or a ledger row. A change
to an escalated shot (its seed, prompt, `enters`, a composite) changes its plan, so the key.

The reel (tasks/run/reel.py) computes these same keys before Prefect starts, to serve a whole
unchanged film without a run.

It must never serve a scene whose cut is gone or differs from what was written down, never
record a scene whose end the same key might not reach again, and never key on the run id, a cap
or a price (they change what may be spent, not what is made).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slate.providers.storage_local import cas_uri, copy_atomic, file_sha256, write_atomic
from slate.manifests import LoadedFilm
from slate.manifests.options import output_names
from slate.providers.base import Storage
from slate.providers.registry import base_urls, provider_variant
from slate.governor.ledger import Ledger
from slate.tasks.review.circle import TakeWord, standing, words_of
from slate.tasks.run.clapper import content_key
from slate.tasks.gates.deviations import Deviation, as_accepted, deviations_of
from slate.tasks.shot.clip_passes import key_part, keyed_passes
from slate.tasks.run.run import Run
from slate.tasks.edit.assembly import edit_fingerprint
from slate.tasks.shot.plan import ShotPlan, plan_scene
from slate.tasks.gates.references import lock_scene_references
from slate.tasks.shot.voicing import speech_fingerprint
from slate.tasks.run.versions import (CONTINUITY_VERSION, DRIFT_VERSION, GATE_VERSION, KEYFRAME_VERSION, LIPSYNC_VERSION,
                                  PANEL_VERSION, REFERENCE_VERSION, STITCH_VERSION, SYNC_GATE_VERSION, VIDEO_VERSION)


CAN_VERSION = "can-v1"
STAGES = (REFERENCE_VERSION, PANEL_VERSION, GATE_VERSION, VIDEO_VERSION, KEYFRAME_VERSION, CONTINUITY_VERSION,
          DRIFT_VERSION, STITCH_VERSION)
#: The run options that change what is made (manifests/options.py `Told.output`): a scene's key
#: holds their values; the others (caps, prices, waits, which scenes) never reach it.
OUTPUT = tuple(output_names())

if TYPE_CHECKING:  # the can's shelf is the run's result storage; tasks/run/cache.py imports Prefect
    from slate.tasks.run.cache import BucketResults

#: A scene's recorded result: a SceneResult's fields (flows/run/scene_result.py) as JSON.
SceneFields = dict[str, Any]


def run_part(run: Run) -> dict[str, Any]:
    """What of a run changes what its scene makes: the film and scene, the options declared so
    (their resolved values: the budget block's takes), the models, where their APIs stand and
    what the providers' own settings change (the local provider's fault rehearsal)."""
    return {"film": run.film, "scene": run.scene,
            "options": run.settings.model_dump(mode="json", include=set(OUTPUT)),
            # The lip-sync model is the speech part's (`lipsync_part`): a scene without a line is not re-keyed by it;
            # each pass's model is that pass's own part (tasks/shot/clip_passes.py `key_part`), for the same reason.
            # A ladder's second judge only where there is one: a film with one judge keeps its keys.
            "lineup": run.lineup.model_dump(mode="json", exclude={"lipsync", "passes"} | (
                {"second_judge"} if run.lineup.second_judge is None else set())), "base_urls": base_urls(run.settings),
            "variants": run.variants()}


def scene_key(run: Run, plans: list[ShotPlan], policy: str, edit: dict[str, Any] | None = None,
              speech: dict[str, Any] | None = None, words: dict[str, Any] | None = None) -> str:
    """The key of everything a scene's cut depends on (see the module's docstring). `edit`: the
    assembly manifest's part (tasks/edit/finish.py's edit_fingerprint), when the film has one;
    `speech`: its lines, voices, reference samples and the speech, voice-gate and subtitle
    stages' versions (tasks/shot/voicing.py speech_fingerprint), when the scene has a line; `words`:
    what a person circled or NG'd at the dailies (`words_part`), when anything."""
    parts: dict[str, Any] = {"stages": list(STAGES), "run": run_part(run), "plans": plans, "policy": policy}
    if edit is not None:   # a film without `finishing:` keeps the keys it always had
        parts["edit"] = edit
    # Not in STAGES: a scene without a line keeps the key it always had (its film is not paid again).
    if speech is not None:
        parts["speech"] = speech
    if words:   # a scene nobody has circled or NG'd a take of keeps the key it always had
        parts["words"] = words
    # Each pass over the clip that one of its shots takes (tasks/shot/clip_passes.py: the face swap a
    # shot asks for, the upscale of a run a person approves, a declared pass's own rule), by its
    # declaration: a scene no pass takes keeps the key it always had.
    for definition in keyed_passes(run, plans):
        parts[definition.name] = key_part(run, definition)
    return content_key(CAN_VERSION, parts, exclude=())


def words_part(run: Run, words: list[TakeWord] | None) -> dict[str, Any]:
    """The dailies' words that change what a scene's cut is (issue 40): each shot's circled or
    NG'd take, the key it was said about, and an NG's note when it goes into the prompt — so a
    new word re-makes the scene instead of serving the old cut from the can. A hold changes
    nothing. `words` None: read from the project's ledger (the reel has no run's own)."""
    if words is None:
        with Ledger.for_project(Path(run.root)) as ledger:
            words = words_of(ledger, run.film)
    out: dict[str, Any] = {}
    for shot, said in sorted(standing(words, run.scene, run.profile).items()):
        for kind, w in (("panel", said.panel), ("clip", said.clip)):
            if w is not None and w.word != "hold":
                out.setdefault(shot, {})[kind] = [w.word, w.take, w.key, w.note if w.add_to_prompt else ""]
    return out


def scene_key_of(run: Run, film: LoadedFilm, policy: str, storage: Storage,
                 words: list[TakeWord] | None = None, deviations: list[Deviation] | None = None) -> str:
    """run.scene's key as the scene flow and the reel both take it: its references in `storage`
    locked by content hash (nothing stored: a reference's URI is its content's name), its shots
    planned from them — with the continuity deviations the director accepted, as the scene flow
    plans them (`deviations`: the film's, else read from the project's ledger) — and the dailies'
    words on them (`words`: likewise). The run's own reference check stores and writes the lock."""
    if deviations is None:
        with Ledger.for_project(Path(run.root)) as ledger:
            deviations = deviations_of(ledger, run.film)
    film = as_accepted(film, deviations)
    lock = lock_scene_references(storage, film, run.scene, store=False)
    plans = plan_scene(film, run.scene, lock, run.profile, run.settings.fps, panel_model=run.lineup.panel,
                       video_model=run.lineup.videos[0], audio=run.model_audio)
    speech = speech_fingerprint(Path(run.root), film, run.scene)
    return scene_key(run, plans, policy, edit_fingerprint(Path(run.root), film, run.scene),
                     None if speech is None else {**speech, "lipsync": lipsync_part(run)}, words_part(run, words))


def lipsync_part(run: Run) -> dict[str, Any]:
    """What of a run changes its on-camera lines' lip-sync (issue 38): the model, what its
    provider's own settings change, the lip-sync and sync-gate versions. In a scene's key only
    beside its lines (a scene without one keeps its key)."""
    model = run.lineup.lipsync
    provider = model.split(":", 1)[0] if model else None
    return {"model": model, "versions": [LIPSYNC_VERSION, SYNC_GATE_VERSION],
            "variant": provider_variant(provider, run.settings) if provider else {}}


# `shelf` is the run's own result store (tasks.run.cache.result_storage): the project's
# .slate/results, or (s3 backend) the film's bucket, so a scene in the can on one worker is in
# the can for every worker.

def read_record(shelf: Path | BucketResults, key: str) -> bytes | None:
    if isinstance(shelf, Path):
        record = shelf / f"scene-{key}.json"
        return record.read_bytes() if record.is_file() else None
    try:
        return shelf.read_now(f"scene-{key}.json")
    except Exception:  # noqa: BLE001 — a record that cannot be read is no record: the scene is made
        return None


def write_record(shelf: Path | BucketResults, key: str, data: bytes) -> None:
    if isinstance(shelf, Path):
        write_atomic(shelf / f"scene-{key}.json", data)
    else:
        shelf.write_now(f"scene-{key}.json", data)


def from_the_can(root: Path, storage: Storage, shelf: Path | BucketResults, key: str) -> SceneFields | None:
    """The recorded result of the scene under `key` (a SceneResult's fields), its cut verified in
    the film's `storage` and back in place under `root`; None when there is none or its cut is gone."""
    data = read_record(shelf, key)
    if data is None:
        return None
    root = Path(root)
    try:
        entry = json.loads(data)
        result, cut = entry["result"], entry["cut"]
        if not cannable(result):
            return None   # written down before a rule it now breaks (a shot whose line failed): made again
        # Paths are kept relative to the project: another worker's folder is never written to.
        output, sheet = root / entry["output"], root / entry["contact_sheet"]
    except (ValueError, KeyError, TypeError):
        return None
    sheet_uri = entry.get("sheet")   # records written before the sheet was stored have none
    if sheet_uri is None and not sheet.is_file():
        return None  # made again by the run (its stages all cached), with its contact sheet
    extras = result.get("deliverables") or []   # the profile's mezzanine and poster, beside the cut
    if not storage.exists(cut) or (sheet_uri is not None and not storage.exists(sheet_uri)) or \
            not all(storage.exists(e["uri"]) for e in extras):
        return None
    result = {**result, "output": str(output), "contact_sheet": str(sheet), "cut": cut}
    # renders/ is the film-maker's folder (or, on a worker, a folder that never saw the scene):
    # a removed or replaced cut or sheet is put back from storage, where every worker finds it.
    in_place(storage, cut, output, "mp4")
    if sheet_uri is not None:
        in_place(storage, sheet_uri, sheet, "png")
    for extra in extras:
        in_place(storage, extra["uri"], output.with_name(extra["file"]), Path(extra["file"]).suffix.lstrip("."))
    return result


def in_place(storage: Storage, uri: str, path: Path, ext: str) -> None:
    """The stored `uri` at `path` (atomically), unless `path` already holds that content."""
    if path.is_file() and cas_uri(file_sha256(path), ext) == uri:
        return
    copy_atomic(storage.open_local(uri), path)   # under a name of its own (two runs may put one cut back)


def cannable(result: SceneFields) -> bool:
    """Whether a scene's result is what its key will always come to: a cut, and every shot
    approved or escalated by a gate's verdict on its cached takes (see the module's docstring)."""
    shots = result.get("shots") or []
    return bool(result.get("output")) and not result.get("halted") and bool(shots) and all(
        s.get("status") == "approved" or (s.get("status") == "escalated" and s.get("settled")
                                          and not _dialogue_failed(s)) for s in shots)


def _dialogue_failed(shot: SceneFields) -> bool:
    """A shot escalated because its line failed (issue 57): never served from the can. The picture
    a run keeps for it follows `dialogue_failure`, which is not in the key; and a record written
    before the picture was kept (the lip-sync's or the voice gate's escalation, in slate's own
    words) holds a cut without it."""
    reason = str(shot.get("reason") or "")
    return bool(shot.get("picture_kept")) or "failed the sync gate" in reason or "failed the voice gate" in reason \
        or "the sync gate" in reason and "cannot judge" in reason


def into_the_can(run: Run, shelf: Path | BucketResults, key: str, result: SceneFields) -> bool:
    """Write down a scene that finished (`cannable`; the run is open: its storage keeps the cut);
    False (nothing written) for any other."""
    if not cannable(result):
        return False
    root = Path(run.root).resolve()
    output, sheet = Path(result["output"]).resolve(), Path(result.get("contact_sheet") or "").resolve()
    if root not in output.parents or root not in sheet.parents or not sheet.is_file():
        return False
    storage = run.crew.storage
    cut = storage.put_file(output, "mp4")  # already there: the stitch stored it
    sheet_uri = storage.put_file(sheet, "png")  # so a worker whose folder never saw the scene serves it
    write_record(shelf, key, json.dumps({"key": key, "cut": cut, "sheet": sheet_uri, "result": result,
                                        "output": str(output.relative_to(root)),
                                        "contact_sheet": str(sheet.relative_to(root))}, sort_keys=True).encode())
    return True
