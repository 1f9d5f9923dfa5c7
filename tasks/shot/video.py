"""Video take: one paid image-to-video job from the approved panel(s).

Submitted once through the governor, which records the job id before polling, re-attaches to
it after a crash, and puts the clip into content-addressed storage before it settles the
call. The result is the clip's URI, cached by the clip request plus provider, model, variant
and profile. It must never submit a job itself, nor keep a clip anywhere but storage.
"""
from __future__ import annotations

from prefect import task

from contextlib import AbstractContextManager

from slate.governor.chokepoint import Usage
from slate.providers.base import ClipRequest, Jobs
from slate.providers.spec import VIDEO
from slate.tasks.run.cache import ContentKey
from slate.tasks.shot.jobs import job_spec, paid_job
from slate.tasks.run.run import Run, emit
from slate.tasks.run.lint import check_before_paying
from slate.tasks.run.slots import video_slot
from slate.tasks.shot.take_inputs import ClipTake
from slate.tasks.run.versions import VIDEO_VERSION  # bumped there


@task(name="video-take", cache_policy=ContentKey(stage=VIDEO_VERSION), result_serializer="json",
      task_run_name="video {given.shot} take {given.take}")
def video_take(run: Run, given: ClipTake) -> str:
    shot, take = given.shot, given.take
    provider, model = given.maker.provider, given.maker.model
    req = given.request
    check_before_paying(run.root, req.prompt, f"{provider}:{model}", "clip", shot=shot, with_references=True,
                        camera_fixed=req.camera_fixed)
    emit(run, scene=run.scene, shot=shot, stage="video", take=take, status="rendering")
    spec = job_spec(run, "video", shot, take, given.maker, req,
                    Usage("video", seconds=req.seconds, resolution=req.resolution, audio=req.audio),
                    prompt=req.prompt, references=(req.start_uri, req.end_uri, *(r["uri"] for r in req.references)),
                    parameters={"seconds": req.seconds, "resolution": req.resolution, "movement": req.movement,
                                "camera_fixed": req.camera_fixed, "seed": req.seed, "fps": req.fps,
                                **({"audio": True} if req.audio else {})})

    def waiting(line: str) -> None:   # what the job waits for, on the live table and in a nightly's log
        emit(run, scene=run.scene, shot=shot, stage="video", take=take, status="waiting for a slot", reasons=(line,))

    def slot(videos: Jobs[ClipRequest]) -> AbstractContextManager[object]:
        # The key's slot is named by its short hash (a key gone mid-run halts the run); a job stuck
        # past its deadline is cancelled and raises JobStuck: leaving the slot frees it for the
        # other shots' clips.
        return video_slot(provider, getattr(videos, "key_id", "default"), run.settings.video_slots, say=waiting)
    return paid_job(run, VIDEO, given.maker, spec, req, held=slot)
