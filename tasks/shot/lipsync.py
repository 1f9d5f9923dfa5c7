"""Lip-sync take: a shot's clip and its speech sent to a lip-sync model — a paid job through the governor.

A lip-sync model (providers/base.py LipSyncer) takes the clip that passed its keyframe gate and a
WAV of the shot's on-camera lines, placed where the cut hears them, and gives back the clip with
the speakers' mouths moving to them. It is a job like a clip's: the governor prices it from the
rate card before anything is sent (kind "lipsync", by the clip's seconds), records the job id
before it polls, re-attaches to it after a crash, keeps the clip in content-addressed storage,
and writes its ledger row with stage `lipsync`.

Its key is what changes the picture: the clip's content and the speech's (both URIs are
content-addressed), whose mouths and when, the seed, the model and its variant. A re-run with the
same clip and lines is found in the ledger and costs nothing; a retimed line syncs again.

The sync gate (`sync_gate`) measures what came back, one reading a line (media/lipsync.py
`judge_sync`), cached by the same content; each judgement is written into the ledger beside the
call as a $0 row of stage `sync_gate` (its readings in the row's parameters), so the production
report and an agent's `verdicts` and `ledger` read it where they read every other gate.

It must never call a lip-sync model except through the governor, never let the model judge its
own output, and never hold a key.
"""
from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from prefect import task
from pydantic import BaseModel, ConfigDict

from slate.governor.chokepoint import Usage
from slate.providers.base import LipSyncRequest
from slate.providers.spec import LIPSYNC
from slate.tasks.run.cache import ContentKey
from slate.tasks.gates.gate_inputs import StageInput
from slate.tasks.gates.reading import note_reading
from slate.tasks.shot.jobs import job_spec, paid_job
from slate.tasks.run.run import Run, emit
from slate.tasks.shot.take_inputs import Maker
from slate.tasks.run.versions import LIPSYNC_VERSION, SYNC_GATE_VERSION

if TYPE_CHECKING:
    from slate.governor.ratecard import Pricing
    from slate.manifests import LoadedFilm
    from slate.providers.registry import ModelRef

STAGE = "lipsync"
#: The framings whose speakers are lip-synced: a mouth in a wide shot is a few pixels, which no
#: model moves and no one reads (flows/shot/scene_lipsync.py).
LIPSYNC_FRAMINGS = ("close", "medium")


def synced_shots(film: LoadedFilm, scene_id: str) -> list[str]:
    """The shots of `scene_id` the lip-sync stage sends to its model: a line whose speaker is one
    of the shot's characters, framed close enough for a mouth to be seen."""
    from slate.manifests.dialogue import on_camera
    return [shot.id for shot in film.scene(scene_id).shots
            if shot.camera.framing in LIPSYNC_FRAMINGS and any(on_camera(x, shot.characters) for x in shot.dialogue)]


def dialogue_costs(film: LoadedFilm, scene_id: str, profile: str, pricing: Pricing,
                   lipsync: ModelRef | None) -> dict[str, Decimal]:
    """By shot of `scene_id` with lines: what speaking each once costs (tasks/shot/voicing.py
    line_costs), and lip-syncing its clip once where the lip-sync stage will (`lipsync`: the
    lineup's model, None for none) — the estimate's "speech $" column."""
    from slate.tasks.shot.voicing import line_costs
    costs = line_costs(film, scene_id, profile, pricing)
    for shot, cost in sync_costs(film, scene_id, lipsync, pricing).items():
        costs[shot] = costs.get(shot, Decimal(0)) + cost
    return costs


def sync_costs(film: LoadedFilm, scene_id: str, model: ModelRef | None, pricing: Pricing) -> dict[str, Decimal]:
    """By shot the lip-sync stage sends to `model` (None: no lip-sync): what one lip-sync of its
    clip costs, priced by the rate card at the shot's seconds (the card is keyed "provider:model")."""
    if model is None:
        return {}
    shots = {s.id: s for s in film.scene(scene_id).shots}
    return {sid: pricing.estimate(Usage("lipsync", seconds=shots[sid].duration), str(model))
            for sid in synced_shots(film, scene_id)}


class LipSyncTake(StageInput):
    """Take `take` of a shot's lip-sync: `request` made by `maker`'s lip-sync model."""

    shot: str
    take: int
    request: LipSyncRequest
    maker: Maker


class SyncLine(StageInput):
    """One on-camera line as the sync gate holds it: its index in the shot, who says it, and the
    seconds of the clip it spans."""

    line: int
    speaker: str
    start: float
    end: float


class LineSync(BaseModel):
    """The sync gate's reading of one on-camera line (media/lipsync.py SyncReading): who says it,
    the seconds of the clip it spans, the offset (ms, positive when the picture lags the sound;
    None when unread), the confidence, the share of its frames the mouth was read in, the verdict
    (passed | failed | cannot_judge), the reason a person reads, and the lip-sync take it read."""

    model_config = ConfigDict(frozen=True)

    line: int
    speaker: str
    span: tuple[float, float]
    offset_ms: float | None
    confidence: float
    found: float
    verdict: str
    reason: str
    take: int = 0


class SyncCheck(StageInput):
    """What the sync gate reads of take `take`: the synced clip, the shot's speech track, its
    on-camera lines, and the shot's cast (turnarounds, wardrobe colours, plate: storage URIs)."""

    shot: str
    take: int
    clip_uri: str
    speech_uri: str
    lines: tuple[SyncLine, ...]
    named: tuple[str, ...]
    turnarounds: dict[str, str]
    wardrobe: dict[str, str | None] = {}
    plate_uri: str
    maker: Maker


@task(name="sync-gate", cache_policy=ContentKey(stage=SYNC_GATE_VERSION), result_serializer="json",
      task_run_name="sync gate {given.shot} take {given.take}")
def sync_gate(run: Run, given: SyncCheck) -> list[LineSync]:
    """Each on-camera line's reading, written into the ledger (the module's docstring)."""
    from functools import partial

    from slate.media.lipsync import judge_sync
    from slate.tasks.gates.keyframes import ClipCast, cast_of
    st = run.crew
    who = ClipCast(given.named, {cid: st.storage.open_local(uri) for cid, uri in given.turnarounds.items()},
                   dict(given.wardrobe), st.storage.open_local(given.plate_uri))
    clip, speech = st.storage.open_local(given.clip_uri), st.storage.open_local(given.speech_uri)
    readings = []
    for x in given.lines:
        r = judge_sync(clip, speech, speaker=x.speaker, span=(x.start, x.end), cast=partial(cast_of, who),
                       named=given.named)
        readings.append(LineSync(line=x.line, speaker=r.speaker, span=r.span, offset_ms=r.offset_ms,
                                 confidence=r.confidence, found=r.found, verdict=r.verdict, reason=r.reason,
                                 take=given.take))
    worst = next((v for v in ("failed", "cannot_judge") if any(r.verdict == v for r in readings)), "passed")
    note_reading(run, shot=given.shot, stage="sync_gate", take=given.take, maker=given.maker, given=given,
                 units=Usage("lipsync"), references=(given.clip_uri, given.speech_uri),
                 readings={"readings": [r.model_dump(mode="json") for r in readings]},
                 word={"passed": "SyncGatePassed", "failed": "SyncGateFailed",
                       "cannot_judge": "SyncGateCannotJudge"}[worst],
                 reason="; ".join(f"line {r.line} ({r.speaker}): {r.reason}" for r in readings))
    return readings


@task(name="lipsync-take", cache_policy=ContentKey(stage=LIPSYNC_VERSION), result_serializer="json",
      task_run_name="lip-sync {given.shot} take {given.take}")
def lipsync_take(run: Run, given: LipSyncTake) -> str:
    """The lip-synced clip's URI (see the module docstring): priced by the clip's seconds, keyed by
    what it is made from."""
    maker, req = given.maker, given.request
    emit(run, scene=run.scene, shot=given.shot, stage=STAGE, take=given.take, status="lip-syncing")
    spec = job_spec(run, STAGE, given.shot, given.take, maker, req, Usage("lipsync", seconds=req.seconds),
                    references=(req.clip_uri, req.speech_uri),
                    parameters={"seconds": req.seconds, "fps": req.fps, "width": req.width, "height": req.height,
                                "seed": req.seed, "faces": [{"speaker": f.speaker, "start": f.start, "end": f.end}
                                                            for f in req.faces]})
    return paid_job(run, LIPSYNC, maker, spec, req)
