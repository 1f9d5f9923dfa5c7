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
characters, the swapped one's hair and clothes, the motion, the length. A take that fails is
swapped again from the same clip with the next seed, up to the run's `max_takes`; a shot that
never passes escalates naming what changed, and is not in the cut: a clip that was to be
swapped is never cut in unswapped.

It must never call a face-swap model except through `faceswap_take`, never change a shot that
does not ask, and never put a swap that was not gated into the cut.
"""
from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture

from slate.flows.passes import PassEscalated, pass_landed
from slate.flows.shot import ClipOutcome
from slate.manifests import LoadedFilm
from slate.providers.base import ClipPassRequest
from slate.tasks.faceswap import FaceSwapTake, SwapCheck, approved_face, face_index, faceswap_take, swap_gate
from slate.tasks.plan import ShotPlan
from slate.tasks.run import Run, emit, in_project
from slate.tasks.take_inputs import Maker




def swap_the_faces(run: Run, film: LoadedFilm, plans: list[ShotPlan], clips: dict[str, ClipOutcome]) -> dict[str, ClipOutcome]:
    """Every shot in the cut that asks for a face swap, swapped and gated (the module's
    docstring): the clips as they stand after the swap gate — a swapped shot's clip is the swap;
    an escalated shot has none in the cut."""
    out = dict(clips)
    shots = {s.id: s for s in film.scene(run.scene).shots}
    landing: dict[str, PrefectFuture[ClipOutcome]] = {}
    for p in plans:
        faces = list(shots[p.shot].face_swap) if p.shot in shots else []
        clip = clips[p.shot]
        if not faces or not clip.clip_uri:
            continue
        if run.lineup.faceswap is None:   # `slate check` refuses this before a run; said, never swapped blind
            reason = f"scene {run.scene}, shot {p.shot}: asks for a face swap and the run has no face-swap model"
            emit(run, scene=run.scene, shot=p.shot, stage="faceswap", status="escalated", reasons=[reason])
            out[p.shot] = clip.model_copy(update={"clip_uri": None, "escalated": reason})
            continue
        landing[p.shot] = swap_shot.submit(run, p, clip, faces)
    for shot, future in landing.items():
        out[shot] = future.result()
    return out


@task(name="faceswap-shot", cache_policy=NO_CACHE, task_run_name="face swap {plan.shot}")
def swap_shot(run: Run, plan: ShotPlan, clip: ClipOutcome, faces: list[str]) -> ClipOutcome:
    """One shot through the face-swap stage: its clip swapped and gated, or escalated or halted
    (said on the run, never raised: the other shots go on). Not cached itself: its paid takes
    and its gate are (tasks/faceswap.py)."""
    return pass_landed(run, plan, clip, lambda: _swap_shot(run, plan, clip, faces), gate_stage="faceswap_gate")


def _swap_shot(run: Run, plan: ShotPlan, clip: ClipOutcome, faces: list[str]) -> ClipOutcome:
    st = run.crew
    where = f"scene {run.scene}, shot {plan.shot}"
    request = plan.request_of("start")
    cast = {c.id: c for c in request.characters}
    turnarounds = {cid: c.turnaround_uri for cid, c in cast.items()}
    wardrobe = {cid: c.wardrobe_colour for cid, c in cast.items()}
    named = tuple(cast)
    assert clip.clip_uri is not None and run.lineup.faceswap is not None
    source = clip.clip_uri
    local = st.storage.open_local(source)
    provider, _, model = run.lineup.faceswap.partition(":")
    swapper = st.pass_for(run.lineup.faceswap, "faceswap")
    maker = Maker(provider=provider, model=model, variant=dict(swapper.variant or {}), profile=run.profile)
    # Who stands where is read once, from the clip as the keyframe gate passed it.
    wanted = {cid: (approved_face(st.storage, turnarounds[cid]),
                    face_index(st.storage, local, named, turnarounds, wardrobe, request.plate_uri, cid))
              for cid in faces}
    said: list[str] = []
    for take in range(1, max(1, run.settings.max_takes) + 1):
        swapped = source
        for cid in faces:
            face_uri, index = wanted[cid]
            swapped = in_project(faceswap_take, run, FaceSwapTake(
                shot=plan.shot, take=take, character=cid, maker=maker, request=ClipPassRequest(
                    kind="faceswap", clip_uri=swapped, width=plan.width, height=plan.height, fps=plan.fps,
                    seconds=clip.seconds, seed=take, character=cid, face_uri=face_uri, face_index=index)),
                artifacts=lambda uri: [uri])
        scores = in_project(swap_gate, run, SwapCheck(
            shot=plan.shot, take=take, clip_uri=source, swapped_uri=swapped, swapped=tuple(faces), named=named,
            turnarounds=turnarounds, wardrobe=wardrobe, plate_uri=request.plate_uri, maker=maker),
            artifacts=lambda _: [swapped])
        failed = [s for s in scores if not s.passed]
        said = [f"{s.name}: {s.reason}" for s in (failed or scores)]
        emit(run, scene=run.scene, shot=plan.shot, stage="faceswap_gate", take=take,
             status="failed" if failed else "passed", reasons=said)
        if not failed:
            return clip.model_copy(update={"clip_uri": swapped})
    raise PassEscalated(f"{where}: the face swap of {', '.join(faces)} failed its gate in {run.settings.max_takes} "
                     f"take(s): {'; '.join(said)}")
