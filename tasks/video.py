"""Video take: one paid image-to-video job from the approved panel(s).

Submitted once through the governor, which records the job id before polling, re-attaches to
it after a crash, and puts the clip into content-addressed storage before it settles the
call. The result is the clip's URI, cached by the clip request plus provider, model, variant
and profile. It must never submit a job itself, nor keep a clip anywhere but storage.
"""
from __future__ import annotations

from prefect import task

from slate.governor.chokepoint import CallSpec, Usage
from slate.providers.base import fingerprint
from slate.providers.keys import MissingKey
from slate.tasks.cache import ContentKey
from slate.tasks.run import Run, emit
from slate.tasks.lint import check_before_paying
from slate.tasks.slots import video_slot
from slate.tasks.take_inputs import ClipTake
from slate.tasks.versions import VIDEO_VERSION  # bumped there


@task(name="video-take", cache_policy=ContentKey(stage=VIDEO_VERSION), result_serializer="json",
      task_run_name="video {given.shot} take {given.take}")
def video_take(run: Run, given: ClipTake) -> str:
    st = run.crew
    shot, take = given.shot, given.take
    provider, model, variant, profile = given.maker.provider, given.maker.model, given.maker.variant, given.maker.profile
    req = given.request
    check_before_paying(run.root, req.prompt, f"{provider}:{model}", "clip", shot=shot, with_references=True,
                        camera_fixed=req.camera_fixed)
    emit(run, scene=run.scene, shot=shot, stage="video", take=take, status="rendering")
    spec = CallSpec(
        context=run.call_at(shot, "video", take, provider, model, profile=profile),
        units=Usage("video", seconds=req.seconds, resolution=req.resolution, audio=req.audio),
        fingerprint=fingerprint({"request": req.fingerprint(), "variant": variant}), prompt=req.prompt,
        references=tuple(u for u in (req.start_uri, req.end_uri) if u) + tuple(r["uri"] for r in req.references),
        parameters={"seconds": req.seconds, "resolution": req.resolution, "movement": req.movement,
                    "camera_fixed": req.camera_fixed, "seed": req.seed, "fps": req.fps,
                    **({"audio": True} if req.audio else {}), **variant})
    videos = st.video_for(f"{provider}:{model}")  # the run's video model, or a fallback
    try:
        key_id = getattr(videos, "key_id", "default")  # the slot is named by the key's short hash
    except MissingKey as exc:  # the key went away mid-run: nothing more can be paid for here
        raise st.governor.halt(f"{exc}; then run the same command again") from None
    expected, deadline = st.job_times(f"{provider}:{model}", videos)

    def waiting(line: str) -> None:   # what the job waits for, on the live table and in a nightly's log
        emit(run, scene=run.scene, shot=shot, stage="video", take=take, status="waiting for a slot", reasons=(line,))
    # A job stuck past its deadline is cancelled and raises JobStuck: leaving this block frees the
    # key's slot for the other shots' clips.
    with video_slot(provider, key_id, run.settings.video_slots, say=waiting):
        delivery = st.governor.job_call(spec, submit=lambda ref: videos.submit(req, client_ref=ref),
                                        poll=videos.poll, download=videos.download, suffix="mp4",
                                        deadline=deadline, expected=expected, poll_interval=videos.poll_interval,
                                        find=lambda ref, since: videos.find_job(ref, since, request=req),
                                        cancel=videos.cancel)
    return delivery.uri
