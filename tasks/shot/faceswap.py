"""Face swap: one character's face in a finished clip swapped for their approved one — a paid job, then a gate.

A shot may ask for `face_swap:` of some of its characters (issue 41): after its clip passed the
keyframe gate, each named character's face is replaced by their approved face — the head of
their turnaround's front view (media/faceswap.py `face_of`) — through the run's face-swap model
(`faceswap_model`, a film's ComfyUI workflow: providers/comfyui.py ComfyPass). It is a job like
a clip's: the governor prices it from the rate card before anything is sent (kind "faceswap", by
the clip's seconds), records the job id before it polls, re-attaches to it after a crash, keeps
the clip in content-addressed storage and writes its ledger row with stage `faceswap`.

Its key is what changes the picture: the clip's content, the face's, which face of the frame
(counted left to right), the seed, the model and its variant. A re-run with the same clip is found
in the ledger and costs nothing.

The swap gate (`swap_gate`) holds what came back to the clip it was made from (media/face_match.py
`face_scores`, frame by frame and by the face's make-up): the swapped faces nearer their approved ones, nothing else changed — the set, the
other characters, the motion, the length. Its scores are written into the ledger beside the call
as a $0 row of stage `faceswap_gate`, where the production report and an agent's `verdicts` read
every gate.

As a pass over the clip (declared in tasks/shot/clip_passes.py, `FACESWAP_PASS`) it runs in a shot's lane right
after the keyframe gate and before the speech (flows/shot/lane.py): a swap is paid for only on a clip
that passed (a clip the gate refused would be retaken anyway), and the lip-sync moves the mouth of
the face the audience will see. A shot's characters named in its `face_swap:` are swapped one
after another (`FaceSwapStage`, a stage of the one take loop), with which face of the frame is
theirs (counted left to right where presence finds them in the first frame); a take whose gate
fails, or whose job failed or came back unusable, is swapped again from the same clip with the
next seed within the take policy; a shot that never passes escalates naming what changed, and is
not in the cut: a clip that was to be swapped is never cut in unswapped. A shot that asks in a
run with no face-swap model escalates (`slate check` refuses that run first).

It must never call a face-swap model except through the governor, never let a model judge its
own output, never change a shot that does not ask, and never hold a key.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from prefect import task

from slate.governor.chokepoint import Usage
from slate.providers.base import ClipPassRequest, Storage
from slate.providers.spec import FACESWAP
from slate.tasks.run.cache import ContentKey
from slate.tasks.gates.gate_inputs import StageInput
from slate.tasks.gates.reading import note_reading
from slate.tasks.shot.jobs import job_spec, paid_job
from slate.tasks.shot.clip_passes import FACESWAP_PASS
from slate.tasks.shot.plan import ShotPlan
from slate.tasks.run.run import Run, emit, in_project
from slate.tasks.shot.take_inputs import Maker
from slate.tasks.shot.take_loop import Judged
from slate.tasks.gates.verdicts import GateScore
from slate.tasks.run.versions import FACESWAP_VERSION, SWAP_GATE_VERSION

STAGE = FACESWAP_PASS.name            # "faceswap": its paid calls' ledger stage
GATE_STAGE = FACESWAP_PASS.gate       # "faceswap_gate": its gate's
SCAN_WIDTH = 640      # px: the gate reads frames this wide at most (a medium shot's face is ~20 px here)
SAMPLES = 16          # frames sampled of each clip, evenly, the same ones of the clip and of the swap


def approved_face(storage: Storage, turnaround_uri: str) -> str:
    """The URI of a character's approved face as a face swap is given it (media/faceswap.py
    `face_of`: the head of their turnaround's front view, larger, on a plain ground), stored by
    content: the same turnaround is the same face, every run."""
    from slate.media.faceswap import face_of
    from slate.tasks.gates.keyframes import dressed_figure
    face = face_of(dressed_figure(storage.open_local(turnaround_uri), None))
    buf = io.BytesIO()
    Image.fromarray(face, "RGB").save(buf, format="PNG")
    return storage.put_bytes(buf.getvalue(), "png")


class FaceSwapTake(StageInput):
    """Take `take` of one character's face swap in a shot: `request` made by `maker`'s model."""

    shot: str
    take: int
    character: str
    request: ClipPassRequest
    maker: Maker


@task(name="faceswap-take", cache_policy=ContentKey(stage=FACESWAP_VERSION), result_serializer="json",
      task_run_name="face swap {given.shot} {given.character} take {given.take}")
def faceswap_take(run: Run, given: FaceSwapTake) -> str:
    """The swapped clip's URI (see the module docstring): priced by the clip's seconds, keyed by
    what it is made from."""
    maker, req = given.maker, given.request
    emit(run, scene=run.scene, shot=given.shot, stage=STAGE, take=given.take, status=f"swapping {given.character}")
    spec = job_spec(run, STAGE, given.shot, given.take, maker, req, Usage("faceswap", seconds=req.seconds),
                    references=(req.clip_uri, req.face_uri),
                    parameters={"character": given.character, "face_index": req.face_index, "seconds": req.seconds,
                                "fps": req.fps, "width": req.width, "height": req.height, "seed": req.seed})
    return paid_job(run, FACESWAP, maker, spec, req)


class SwapCheck(StageInput):
    """What the swap gate reads of take `take`: the clip as it was (`clip_uri`), the swap
    (`swapped_uri`), whose faces were swapped, and the shot's cast (turnarounds, wardrobe
    colours, plate: storage URIs) to find where each one stands."""

    shot: str
    take: int
    clip_uri: str
    swapped_uri: str
    swapped: tuple[str, ...]
    named: tuple[str, ...]
    turnarounds: dict[str, str]
    wardrobe: dict[str, str | None] = {}
    plate_uri: str
    maker: Maker


@task(name="swap-gate", cache_policy=ContentKey(stage=SWAP_GATE_VERSION), result_serializer="json",
      task_run_name="swap gate {given.shot} take {given.take}")
def swap_gate(run: Run, given: SwapCheck) -> list[GateScore]:
    """The swap's scores (media/faceswap.py), written into the ledger (the module's docstring)."""
    st = run.crew
    scores = swap_readings(st.storage, given)
    failed = [s for s in scores if not s["passed"]]
    note_reading(run, shot=given.shot, stage=GATE_STAGE, take=given.take, maker=given.maker, given=given,
                 units=Usage("faceswap"), references=(given.clip_uri, given.swapped_uri), readings={"scores": scores},
                 word="SwapGateFailed" if failed else "SwapGatePassed",
                 reason="; ".join(f"{s['name']}: {s['reason']}" for s in (failed or scores)))
    return [GateScore.model_validate(s) for s in scores]


def swap_readings(storage: Storage, given: SwapCheck) -> list[dict[str, Any]]:
    """media/faceswap.py's scores of the swap against the clip: both decoded at the same times,
    where each of the shot's characters stands found in the clip as it was (media.presence)."""
    from slate.media.face_match import colours_of, face_scores
    from slate.media.faceswap import Footage
    from slate.media.probe import probe
    from slate.tasks.gates.keyframes import ClipCast, cast_of, dressed_figure
    clip, swapped = storage.open_local(given.clip_uri), storage.open_local(given.swapped_uri)
    p_before, p_after = probe(clip), probe(swapped)
    width = min(SCAN_WIDTH, p_before.width)
    height = max(2, round(width * p_before.height / max(1, p_before.width) / 2) * 2)
    # The same frames of both, every stride-th: a swap is held frame for frame to the clip it was made from.
    stride = max(1, p_before.frames // SAMPLES)
    before = _sampled(clip, width, height, stride)
    footage_b = Footage(before, p_before.frames, float(p_before.fps), p_before.width, p_before.height)
    try:
        frames_a = _sampled(swapped, width, height, stride)
    except Exception:  # noqa: BLE001 — an undecodable swap is not the clip's length: said by swap_length
        frames_a = np.zeros((0,) + before.shape[1:], dtype=np.uint8)
    footage_a = Footage(frames_a, p_after.frames, float(p_after.fps), p_after.width, p_after.height)
    turnarounds = {cid: storage.open_local(uri) for cid, uri in given.turnarounds.items()}
    faces = {cid: colours_of(dressed_figure(turnarounds[cid], None)) for cid in given.swapped}
    who = ClipCast(given.named, turnarounds, dict(given.wardrobe), storage.open_local(given.plate_uri))
    # Where each one stands is found at half the scan's size (presence's cost is by the pixel; a
    # figure's box is coarse) and scaled back up: the faces themselves are read at the full scan.
    half = before[:, : before.shape[1] // 2 * 2, : before.shape[2] // 2 * 2]
    half = half.reshape(half.shape[0], half.shape[1] // 2, 2, half.shape[2] // 2, 2, 3).mean(axis=(2, 4)).astype(np.uint8)
    cast = cast_of(who, half.shape[1:3])
    found = figure_boxes(cast, half, list(given.named))
    # A face off model in the clip may hide its wearer from presence, or leave it a sliver of the
    # figure (1H's Leo drifted 35: boxes two pixels tall at the counter): the swapped characters are
    # looked for in the swap too, where their faces should be on model, for the frames the clip's
    # boxes hold no face in (media/face_match.py).
    in_swap: dict[str, list[tuple[int, int, int, int] | None]] = {}
    if len(frames_a) == len(before):
        half_a = frames_a[:, : before.shape[1] // 2 * 2, : before.shape[2] // 2 * 2]
        half_a = half_a.reshape(half.shape[0], half.shape[1], 2, half.shape[2], 2, 3).mean(axis=(2, 4)).astype(np.uint8)
        again = figure_boxes(cast, half_a, list(given.named))
        in_swap = {cid: again[cid] for cid in given.swapped}
        found.update({cid: again[cid] for cid in given.swapped
                      if not any(b is not None for b in found.get(cid, []))})

    def doubled(boxes: list[tuple[int, int, int, int] | None]) -> list[tuple[int, int, int, int] | None]:
        return [None if b is None else (2 * b[0], 2 * b[1], 2 * b[2], 2 * b[3]) for b in boxes]
    figures = {cid: doubled(boxes) for cid, boxes in found.items()}
    return face_scores(footage_b, footage_a, faces=faces, figures=figures,
                       in_swap={cid: doubled(boxes) for cid, boxes in in_swap.items()})


def _sampled(clip: Path, width: int, height: int, stride: int) -> np.ndarray:
    """Every `stride`-th frame of `clip` at width x height (N, H, W, 3 uint8): one decode."""
    from slate.media.commands import raw_frames_args
    from slate.media.ffmpeg import pipe
    raw = pipe(raw_frames_args(clip, width=width, height=height, every=stride))
    n = len(raw) // (width * height * 3)
    return np.frombuffer(raw[:n * width * height * 3], dtype=np.uint8).reshape(n, height, width, 3)


def figure_boxes(cast: Any, frames: np.ndarray, named: list[str]) -> dict[str, list[tuple[int, int, int, int] | None]]:
    """Each named character's figure box (top, left, bottom, right) in each frame, where
    media.presence finds them (its mask, trimmed of stray specks: the 2nd to 98th percentile of
    its rows and columns); None where they are not found."""
    looked = cast.looked(frames, frames[0], keep=tuple(range(len(frames))))
    out: dict[str, list[tuple[int, int, int, int] | None]] = {cid: [] for cid in named}
    for i in range(len(frames)):
        masks = looked.masks.get(i, {})
        for cid in named:
            mask = masks.get(cid)
            if mask is None or mask.sum() < 6:
                out[cid].append(None)
                continue
            rows, cols = np.nonzero(mask)
            top, bottom = np.percentile(rows, [2, 98])
            left, right = np.percentile(cols, [2, 98])
            out[cid].append((int(top), int(left), int(bottom) + 1, int(right) + 1))
    return out


def face_index(storage: Storage, clip: Path, named: tuple[str, ...], turnarounds: dict[str, str],
               wardrobe: dict[str, str | None], plate_uri: str, character: str) -> int | None:
    """Which face of the clip's first frame is `character`'s, counted from 0 left to right among
    the shot's characters found there (as ReActor's `input_faces_index` counts [?]); None when
    they are not found (the workflow's own index stands; the gate says if it was the wrong face)."""
    from slate.media.frames import extract_frame
    from slate.tasks.gates.keyframes import ClipCast, cast_of
    import tempfile
    with tempfile.TemporaryDirectory(prefix=".faceswap-") as work:
        with Image.open(extract_frame(clip, 0.0, Path(work) / "first.png")) as im:
            first = im.convert("RGB")
    small = np.asarray(first.resize((max(1, first.width // 2), max(1, first.height // 2)), Image.Resampling.BOX))
    who = ClipCast(named, {c: storage.open_local(u) for c, u in turnarounds.items()}, dict(wardrobe),
                   storage.open_local(plate_uri))
    boxes = figure_boxes(cast_of(who, small.shape[:2]), small[None], list(named))
    found = {cid: b[0] for cid, b in boxes.items() if b and b[0] is not None}
    if character not in found:
        return None
    order = sorted(found, key=lambda cid: (found[cid][1] + found[cid][3]) / 2)
    return order.index(character)


# -- the face swap as a stage of the take loop, and as a pass over the clip ------------------------

@dataclass
class FaceSwapStage:
    """The face swap as a stage of the take loop (tasks/shot/take_loop.py): take N swaps each face the
    shot asks for in turn, from the clip as the keyframe gate passed it, with seed N; the swap gate
    holds the result to that clip. Who stands where is read once, from that clip."""

    run: Run
    plan: ShotPlan
    clip_uri: str
    seconds: float
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
    def of(cls, run: Run, plan: ShotPlan, clip_uri: str, seconds: float) -> "FaceSwapStage":
        from slate.tasks.shot.clip_passes import clip_size
        st = run.crew
        model = run.lineup.pass_model(STAGE)
        assert model is not None
        request = plan.request_of("start")
        cast = {c.id: c for c in request.characters}
        turnarounds = {cid: c.turnaround_uri for cid, c in cast.items()}
        wardrobe = {cid: c.wardrobe_colour for cid, c in cast.items()}
        named = tuple(cast)
        faces = list(plan.face_swap)
        local = st.storage.open_local(clip_uri)
        maker = Maker.named(model, st.service(FACESWAP, model), run.profile)
        wanted = {cid: (approved_face(st.storage, turnarounds[cid]),
                        face_index(st.storage, local, named, turnarounds, wardrobe, request.plate_uri, cid))
                  for cid in faces}
        return cls(run, plan, clip_uri, seconds, faces, wanted, clip_size(run.crew.storage, clip_uri), named, turnarounds,
                   wardrobe, request.plate_uri, maker)

    def make(self, take: int, model: str) -> str:
        swapped = self.clip_uri
        for cid in self.faces:
            face_uri, index = self.wanted[cid]
            swapped = in_project(faceswap_take, self.run, FaceSwapTake(
                shot=self.plan.shot, take=take, character=cid, maker=self.maker, request=ClipPassRequest(
                    kind=STAGE, clip_uri=swapped, width=self.size[0], height=self.size[1], fps=self.plan.fps,
                    seconds=self.seconds, seed=take, character=cid, face_uri=face_uri, face_index=index)),
                artifacts=lambda uri: [uri])
        return swapped

    def judge(self, take: int, uri: str) -> Judged[list[GateScore]]:
        scores = in_project(swap_gate, self.run, SwapCheck(
            shot=self.plan.shot, take=take, clip_uri=self.clip_uri, swapped_uri=uri, swapped=tuple(self.faces),
            named=self.named, turnarounds=self.turnarounds, wardrobe=self.wardrobe, plate_uri=self.plate_uri,
            maker=self.maker), artifacts=lambda _: [uri])
        failed = [s for s in scores if not s.passed]
        said = [f"{s.name}: {s.reason}" for s in (failed or scores)]
        emit(self.run, scene=self.run.scene, shot=self.plan.shot, stage=GATE_STAGE, take=take,
             status="failed" if failed else "passed", reasons=said)
        # Progress is more of its scores passing: a take that mends one face of two is better.
        return Judged(not failed, (len(scores) - len(failed)) / max(1, len(scores)), tuple(said), reading=scores)

