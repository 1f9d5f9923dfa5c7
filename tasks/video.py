"""Video take: one paid image-to-video job from the approved panel(s).

Submitted once through the governor, which records the job id before polling and re-attaches
to it after a crash. The downloaded clip goes into content-addressed storage; the result is
its URI, cached by the clip request plus provider, model and profile. It must never submit a
job itself, nor keep a clip anywhere but storage.
"""
from __future__ import annotations

from prefect import task

from governor.chokepoint import CallContext, CallSpec, Units
from providers.base import ClipRequest
from tasks.cache import ContentKey
from tasks.context import RunSpec, emit, studio
from tasks.slots import video_slot

VIDEO_VERSION = "video-take-v1"


@task(name="video-take", cache_policy=ContentKey(stage=VIDEO_VERSION), result_serializer="json",
      task_run_name="video {shot} take {take}")
def video_take(run: RunSpec, shot: str, take: int, request: dict, provider: str, model: str, profile: str) -> str:
    st = studio(run)
    req = ClipRequest(**request)
    emit(shot=shot, stage="video", take=take, status="rendering")
    spec = CallSpec(
        context=CallContext(run.run_id, run.film, run.scene, shot, "video", take, provider, model, profile),
        units=Units("video", seconds=req.seconds, resolution=req.resolution),
        fingerprint=req.fingerprint(), prompt=req.prompt,
        references=tuple(u for u in (req.start_uri, req.end_uri) if u),
        parameters={"seconds": req.seconds, "resolution": req.resolution, "movement": req.movement,
                    "camera_fixed": req.camera_fixed, "seed": req.seed, "fps": req.fps})
    # The same path for the same request in every run: a killed run's partial file is found.
    dest = st.root / ".slate" / "downloads" / f"{spec.fingerprint[:32]}.mp4"
    dest.parent.mkdir(parents=True, exist_ok=True)
    with video_slot(provider, getattr(st.videos, "key_id", "default"), run.video_slots):
        path = st.governor.job_call(spec, submit=lambda ref: st.videos.submit(req, client_ref=ref),
                                    poll=st.videos.poll, download=st.videos.download, dest=dest,
                                    find=st.videos.find_job, cancel=st.videos.cancel)
    uri = st.storage.put_file(path, "mp4")
    path.unlink(missing_ok=True)
    return uri
