"""A shot's lane: its stages after the clip, run one after another for that shot alone.

    a shot's clip (keyframe gate, its cut held) ─► passes after the clip (face swap) ─► speech ─► lip-sync
        ─► passes after the lip-sync (upscale) ─► (the scene's stitch)

Once a shot's clip has landed and its cut from the shot before it is decided (flows/edit/cuts.py
`hold_the_cuts` says so, in shot order), the scene starts its lane: the stages that shot takes,
each only where it applies, each a stage of the one take loop — the passes over the clip as they
are declared (tasks/shot/clip_passes.py: each at its place, `after` "clip" or "lipsync", in the order
declared; run by flows/shot/passes.py `pass_of`), the speech (flows/shot/scene_speech.py) and the lip-sync
(flows/shot/scene_lipsync.py: made from the lines the speech spoke, so it stays its own stage). A lane never waits for another shot: shot 1's
lip-sync is made while shot 9's clip still renders. What needs neighbours or a person stays with
the scene: the continuity gate between cuts (before the lane), the approval before finals, the
stitch and the finish (after every lane).

Why the order inside a lane: the swap before the speech, so the lip-sync moves the face the
audience sees; the speech before the lip-sync, so the mouth moves to the take the cut hears; the
upscale last, on the clip as the cut will show it.

A lane ends in the shot's outcome as it stands after its last stage (its clip in the cut, or none
and why: escalated or halted) and the lines heard. It must never decide anything about another
shot, never raise what a stage can say as an outcome, and never start a stage once the run halted.
"""
from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel

from slate.flows.shot.passes import pass_of
from slate.flows.shot.scene_lipsync import lipsync_of
from slate.flows.shot.scene_speech import VoicedLine, VoiceReferences, voice_lines_of
from slate.flows.shot.shot import ClipOutcome, Finals
from slate.manifests import LoadedFilm
from slate.tasks.shot.clip_passes import passes_at
from slate.tasks.shot.plan import ShotPlan
from slate.tasks.run.run import Run


class LaneEnd(BaseModel):
    """What a shot's lane came to: its outcome after its last stage, and the lines it heard."""

    clip: ClipOutcome
    voiced: list[VoicedLine] = []


@task(name="shot-lane", cache_policy=NO_CACHE, task_run_name="lane {plan.shot}")
def shot_lane(run: Run, film: LoadedFilm, plan: ShotPlan, clip: ClipOutcome, finals: Finals | None,
              references: VoiceReferences) -> LaneEnd:
    """One shot's stages after its clip (the module's docstring). Not cached itself: each stage's
    paid takes and gates are."""
    return run_lane(run, film, plan, clip, finals, references)


def run_lane(run: Run, film: LoadedFilm, plan: ShotPlan, clip: ClipOutcome, finals: Finals | None,
             references: VoiceReferences) -> LaneEnd:
    """The lane's body, for a caller already inside a task or a flow."""
    def open_() -> bool:   # a halted run starts no further stage
        return run.crew.governor.halted is None

    voiced: list[VoicedLine] = []
    for definition in passes_at("clip"):
        if open_():
            clip = pass_of(run, plan, clip, finals, definition)
    if open_():
        clip, voiced = voice_lines_of(run, film, plan, clip, references)
    if open_() and voiced:
        clip = lipsync_of(run, plan, clip, voiced)
    for definition in passes_at("lipsync"):
        if open_():
            clip = pass_of(run, plan, clip, finals, definition)
    return LaneEnd(clip=clip, voiced=voiced)
