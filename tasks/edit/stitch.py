"""Stitch: the approved clips of a scene into one mp4, validated after it is made.

Cuts and dissolves come from the manifests; the result is probed and must last the sum of its
clips minus the dissolve overlaps, at the scene's size, in H.264, or the task fails (CutMismatch:
media/cut.py joins and checks every cut). Clips are scaled to the scene's size as a safety net
(a hero shot asked at 1080p in a 720p scene), never as the place a wrong size is absorbed: a clip
of another size than its shot asked failed its keyframe gate (`clip_format`) and never gets here. Cached by the clips' content; the cut comes back as a
`StitchResult` (tasks/edit/results.py). It must never include a clip that did not pass its keyframe
gate (the flow hands it only approved clips) and never write the output anywhere but storage.
"""
from __future__ import annotations

from prefect import task

from slate.media.cut import Stitching, make_cut
from slate.tasks.run.cache import ContentKey
from slate.tasks.edit.results import StitchResult
from slate.tasks.run.run import Run
from slate.tasks.shot.take_inputs import StitchInput
from slate.tasks.run.versions import STITCH_VERSION  # bumped there


@task(name="stitch", cache_policy=ContentKey(stage=STITCH_VERSION), result_serializer="json",
      task_run_name="stitch {given.scene}")
def stitch_scene(run: Run, given: StitchInput) -> StitchResult:
    """The scene's clips stitched in order, with their transitions (see StitchInput)."""
    st = run.crew
    scene, clips, transitions = given.scene, given.clips, given.transitions
    width, height, fps = given.width, given.height, given.fps
    out = st.scratch("stitch") / f"{scene}.mp4"
    joined = Stitching([(str(st.storage.open_local(u)), float(s)) for u, s in clips],
                       [(k, float(s)) for k, s in transitions], fps=fps, width=width, height=height)
    probe = make_cut(f"stitched scene {scene}", joined, out)
    uri = st.storage.put_file(out, "mp4")
    out.unlink(missing_ok=True)
    return StitchResult(uri=uri, duration=probe.duration, width=probe.width, height=probe.height, codec=probe.codec,
                        frames=probe.frames)
