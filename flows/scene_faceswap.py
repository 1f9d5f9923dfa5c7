"""The face-swap stage of a scene: each shot that asks for `face_swap:` swapped, gated again, retaken or escalated.

    … clips (keyframe gate) ─► face swap (shots that ask) ─► speech, lip-sync ─► stitch, finish

Why after the keyframe gate and before the speech: a swap is paid for only on a clip that passed
(a clip the gate refused would be retaken anyway), and the lip-sync moves the mouth of the face
the audience will see — the approved one — so it runs on the swap, not under it.

A shot's characters named in its `face_swap:` are swapped one after another, each a paid job
(tasks/faceswap.py `faceswap_take`) given the clip as it stands and the character's approved
face (the head of their turnaround's front view), with which face of the frame is theirs
(counted left to right where presence finds them in the first frame). The swap gate then holds
the result to the clip the stage was given (media/faceswap.py): each swapped face nearer its
approved one (or on model already, and still), and nothing else changed — the set, the other
characters, the swapped one's hair and clothes, the motion, the length. The swap is a stage of
the one take loop (tasks/take_loop.py, flows/passes.py): a take whose gate fails, or whose job
failed or came back unusable, is swapped again from the same clip with the next seed within the
take policy (its cap and its no-progress rule); a shot that never passes escalates naming what
changed, and is not in the cut: a clip that was to be swapped is never cut in unswapped.

It must never call a face-swap model except through `faceswap_take`, never change a shot that
does not ask, and never put a swap that was not gated into the cut.
"""
from __future__ import annotations

from dataclasses import dataclass

from prefect import task
from prefect.cache_policies import NO_CACHE

from slate.flows.passes import clip_size, pass_over
from slate.flows.shot import ClipOutcome
from slate.manifests import LoadedFilm
from slate.providers.base import ClipPassRequest
from slate.providers.spec import FACESWAP
from slate.tasks.faceswap import (GATE_STAGE, STAGE, FaceSwapTake, SwapCheck, approved_face, face_index, faceswap_take,
                                  swap_gate)
from slate.tasks.plan import ShotPlan
from slate.tasks.run import Run, emit, in_project
from slate.tasks.take_inputs import Maker
from slate.tasks.take_loop import Judged
from slate.tasks.verdicts import GateScore


def swap_faces_of(run: Run, film: LoadedFilm, plan: ShotPlan, clip: ClipOutcome) -> ClipOutcome:
    """A shot in the cut that asks for a face swap, swapped and gated (the module's docstring):
    its clip as it stands after the swap gate — the swap, or none in the cut and why. A shot
    that asks for none, or has no clip in the cut, is returned as it is. Run in the shot's lane
    (flows/lane.py)."""
    shots = {s.id: s for s in film.scene(run.scene).shots}
    faces = list(shots[plan.shot].face_swap) if plan.shot in shots else []
    if not faces or not clip.clip_uri:
        return clip
    if run.lineup.faceswap is None:   # `slate check` refuses this before a run; said, never swapped blind
        reason = f"scene {run.scene}, shot {plan.shot}: asks for a face swap and the run has no face-swap model"
        emit(run, scene=run.scene, shot=plan.shot, stage="faceswap", status="escalated", reasons=[reason])
        return clip.model_copy(update={"clip_uri": None, "escalated": reason})
    return swap_shot(run, plan, clip, faces)


@task(name="faceswap-shot", cache_policy=NO_CACHE, task_run_name="face swap {plan.shot}")
def swap_shot(run: Run, plan: ShotPlan, clip: ClipOutcome, faces: list[str]) -> ClipOutcome:
    """One shot through the face-swap stage: its clip swapped and gated, or escalated or halted
    (said on the run, never raised: the other shots go on). Not cached itself: its paid takes
    and its gate are (tasks/faceswap.py)."""
    assert run.lineup.faceswap is not None
    return pass_over(run, plan, clip, FaceSwapStage.of(run, plan, clip, faces), run.lineup.faceswap,
                     what=f"the face swap of {', '.join(faces)}", keep=lambda _: {})


@dataclass
class FaceSwapStage:
    """The face swap as a stage of the take loop: take N swaps each named face in turn, from the
    clip as the keyframe gate passed it, with seed N; the swap gate holds the result to that clip."""

    run: Run
    plan: ShotPlan
    clip: ClipOutcome
    faces: list[str]
    wanted: dict[str, tuple[str, int | None]]    # character -> (their approved face's URI, which face of the frame)
    size: tuple[int, int]                 # the clip's own size, as the video model made it
    named: tuple[str, ...]
    turnarounds: dict[str, str]
    wardrobe: dict[str, str | None]
    plate_uri: str
    maker: Maker
    name: str = STAGE
    gate: str = GATE_STAGE
    gate_words: str = "the swap gate"

    @classmethod
    def of(cls, run: Run, plan: ShotPlan, clip: ClipOutcome, faces: list[str]) -> "FaceSwapStage":
        st = run.crew
        request = plan.request_of("start")
        cast = {c.id: c for c in request.characters}
        turnarounds = {cid: c.turnaround_uri for cid, c in cast.items()}
        wardrobe = {cid: c.wardrobe_colour for cid, c in cast.items()}
        named = tuple(cast)
        assert clip.clip_uri is not None and run.lineup.faceswap is not None
        local = st.storage.open_local(clip.clip_uri)
        maker = Maker.named(run.lineup.faceswap, st.service(FACESWAP, run.lineup.faceswap), run.profile)
        # Who stands where is read once, from the clip as the keyframe gate passed it.
        wanted = {cid: (approved_face(st.storage, turnarounds[cid]),
                        face_index(st.storage, local, named, turnarounds, wardrobe, request.plate_uri, cid))
                  for cid in faces}
        return cls(run, plan, clip, faces, wanted, clip_size(st.storage, clip.clip_uri), named, turnarounds,
                   wardrobe, request.plate_uri, maker)

    def make(self, take: int, model: str) -> str:
        assert self.clip.clip_uri is not None
        swapped = self.clip.clip_uri
        for cid in self.faces:
            face_uri, index = self.wanted[cid]
            swapped = in_project(faceswap_take, self.run, FaceSwapTake(
                shot=self.plan.shot, take=take, character=cid, maker=self.maker, request=ClipPassRequest(
                    kind="faceswap", clip_uri=swapped, width=self.size[0], height=self.size[1], fps=self.plan.fps,
                    seconds=self.clip.seconds, seed=take, character=cid, face_uri=face_uri, face_index=index)),
                artifacts=lambda uri: [uri])
        return swapped

    def judge(self, take: int, uri: str) -> Judged[list[GateScore]]:
        assert self.clip.clip_uri is not None
        scores = in_project(swap_gate, self.run, SwapCheck(
            shot=self.plan.shot, take=take, clip_uri=self.clip.clip_uri, swapped_uri=uri, swapped=tuple(self.faces),
            named=self.named, turnarounds=self.turnarounds, wardrobe=self.wardrobe, plate_uri=self.plate_uri,
            maker=self.maker), artifacts=lambda _: [uri])
        failed = [s for s in scores if not s.passed]
        said = [f"{s.name}: {s.reason}" for s in (failed or scores)]
        emit(self.run, scene=self.run.scene, shot=self.plan.shot, stage=GATE_STAGE, take=take,
             status="failed" if failed else "passed", reasons=said)
        # Progress is more of its scores passing: a take that mends one face of two is better.
        return Judged(not failed, (len(scores) - len(failed)) / max(1, len(scores)), tuple(said), reading=scores)
