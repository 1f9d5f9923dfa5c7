"""Keyframe gate: the first, middle and last frames of a clip judged against its panels, and the
whole clip looked at by slate itself.

The first frame must be the start image, the last the end panel in start+end mode, and the
middle must still look like the shot (colours, no decoder garbage). A keyframe with no content
(media/content.py: flat, black, washed out, noise) fails before any judge is shown the frames.
Whatever the judge, slate checks the whole clip too (own_scores): every frame at low resolution
for black or flat spans, a move that stops, a cast, noise (media.dailies), and who stands in it
— each character the shot names, whatever the clip started from (a chained start included;
one the shot says `enters` in the clip's last part only), and no one else of the scene
(media.presence). Keyframes are kept in
storage: the last one starts the next shot of a chain. It must never pass a clip whose
verdict failed, and never call the judge except through the governor.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image
from prefect import task

from slate.governor.chokepoint import CallSpec, Usage
from slate.governor.gates import GatePolicy, judge_kind
from slate.media import keyframes
from slate.media import load_rgb, presence, session_memo
from slate.media.dailies import JUMP_LEVELS, cadence_scores, dailies_scores, jump_mask, scaled, sharpest_jump, watch
from slate.media.motion import format_score, motion_scores
from slate.media.probe import Probe, probe
from slate.media.presence import presence_scores
from slate.media.sheet import read_sheet
from slate.media.wardrobe import dress
from slate.providers.base import fingerprint
from slate.tasks.run.cache import ContentKey
from slate.tasks.run.run import Run, emit
from slate.governor.estimate import IMAGE_TOKENS, VERDICT_TOKENS
from slate.tasks.gates.gate import ask_ladder, blank_pictures, reference_images, unseen
from slate.tasks.gates.sheet_check import SHEET
from slate.tasks.gates.gate_inputs import CastMember, KeyframeInput
from slate.tasks.gates.verdicts import KeyframeVerdict, ScoreFields, VerdictFields
from slate.tasks.run.versions import KEYFRAME_VERSION  # bumped there


@task(name="keyframe-gate", cache_policy=ContentKey(stage=KEYFRAME_VERSION), result_serializer="json",
      task_run_name="keyframe gate {given.shot} take {given.take}")
def keyframe_gate(run: Run, given: KeyframeInput) -> KeyframeVerdict:
    """The judge's verdict on a clip's keyframes, with slate's own checks (own_scores: motion
    sanity, the whole clip looked at, who is in it), held to the gate policy. `given.cast`: the
    scene's characters ({id: {turnaround_uri, wardrobe_colour}}); the shot's own always count.
    `given.board`: a reference shot's start is its references laid out, not a frame the clip
    began from: the whole-clip checks hold the clip to its own first frame instead."""
    st = run.crew
    shot, take, clip_uri, start_uri, end_uri = given.shot, given.take, given.clip_uri, given.start_uri, given.end_uri
    req, cast = given.request, given.cast
    judge, model, variant, profile = (given.judging.judge, given.judging.model, given.judging.judge_variant,
                                      given.judging.profile)
    scratch = st.scratch(f"keyframes-{clip_uri[6:18]}")
    clip = st.storage.open_local(clip_uri)
    info = probe(clip)   # once: the format check, the keyframes, the motion check and the dailies share it
    frames = keyframes(clip, scratch, info=info)
    frame_uris = {name: st.storage.put_file(path, "png") for name, path in frames.items()}
    local = {name: st.storage.open_local(uri) for name, uri in frame_uris.items()}
    spec = CallSpec(
        context=run.call_at(shot, "keyframe_gate", take, judge, model, profile=profile),
        units=Usage("judge", input_tokens=5 * IMAGE_TOKENS + 400, output_tokens=VERDICT_TOKENS),
        fingerprint=fingerprint({"clip": clip_uri, "start": start_uri, "end": end_uri, "judge": model,
                                 "variant": variant}),
        prompt=f"judge keyframes {shot}", references=tuple(frame_uris.values()))
    # What was asked first: a clip of another size, rate or length is a failed take before any
    # judge is paid to look at it (and the stitch never scales it into the scene unsaid).
    form = format_score(info, width=req.width, height=req.height, fps=given.fps, seconds=given.seconds,
                        sizes=given.sizes)
    blank = [form] if not form["passed"] else blank_pictures({f"the {name} frame": path for name, path in local.items()})
    raw: VerdictFields = unseen(judge, blank) if blank else ask_ladder(st, spec, lambda asked, call_id: asked.judge_keyframes(
        local, st.storage.open_local(start_uri), st.storage.open_local(end_uri) if end_uri else None,
        req, reference_images(st, req), client_ref=call_id))
    people = {**cast, **{c.id: CastMember(turnaround_uri=c.turnaround_uri, wardrobe_colour=c.wardrobe_colour)
                         for c in req.characters}}
    who = ClipCast(tuple(c.id for c in req.characters),
                   {cid: st.storage.open_local(p.turnaround_uri) for cid, p in people.items()},
                   {cid: p.wardrobe_colour for cid, p in people.items()}, st.storage.open_local(req.plate_uri),
                   entering=given.enters)
    if form["passed"]:
        raw = {**raw, "scores": [*raw.get("scores", []), *own_scores(
            clip, local, seconds=given.seconds, fps=given.fps, expect_motion=given.expect_motion,
            start=st.storage.open_local(start_uri), end=st.storage.open_local(end_uri) if end_uri else None, cast=who,
            start_in_clip=given.board, size=(req.width, req.height), sizes=given.sizes, info=info)]}
        if given.chain_origin_uri and not end_uri and "last" in local:
            raw["scores"] = [*raw["scores"], *chained_to_bible(local["last"], st.storage.open_local(given.chain_origin_uri),
                                                               who)]
    for path in frames.values():
        path.unlink(missing_ok=True)
    verdict = KeyframeVerdict.held(GatePolicy.load(Path(run.root), run.settings.cannot_judge).apply(
        raw, "keyframe", judge_kind(str(raw.get("judge") or judge)), profile), keyframes=frame_uris)
    emit(run, scene=run.scene, shot=shot, stage="keyframe_gate", take=take, status="passed" if verdict.passed else "failed",
         reasons=verdict.failing)
    return verdict


@dataclass(frozen=True)
class ClipCast:
    """Who the clip is checked for: the shot's characters (`named`), everyone of the scene who
    could wrongly stand in it (`turnarounds`: local files of every cast member's sheet, named or
    not), the scene's wardrobe colour of each (when it gives one), the shot's plate, and those
    of the named who walk in partway (`entering`: looked for in the clip's last part only)."""
    named: tuple[str, ...]
    turnarounds: dict[str, Path]
    wardrobe: dict[str, str | None] = field(default_factory=dict)
    plate: Path | None = None
    entering: tuple[str, ...] = ()


def own_scores(clip: Path, frames: dict[str, Path], *, seconds: float, fps: float, expect_motion: bool,
               start: Path | None = None, end: Path | None = None, cast: ClipCast | None = None,
               start_in_clip: bool = False, size: tuple[int, int] | None = None,
               sizes: tuple[tuple[int, int], ...] = (), info: Probe | None = None) -> list[ScoreFields]:
    """`checked_clip`'s scores, or those it gave the same files and arguments earlier in the test
    session (media/session_memo.py: only the suite sets one; a film's runs always check)."""
    names = sorted(frames)
    people = sorted(cast.turnarounds) if cast is not None else []
    arguments = (KEYFRAME_VERSION, names, seconds, fps, expect_motion, start_in_clip, size, sizes,
                 None if cast is None else (cast.named, people, sorted(cast.wardrobe.items()), cast.entering,
                                            cast.plate is not None))
    files: list[Path | None] = [clip, *(frames[n] for n in names), start, end]
    if cast is not None:
        files += [*(cast.turnarounds[c] for c in people), cast.plate]
    return session_memo.kept("own-scores", arguments, files, lambda: checked_clip(
        clip, frames, seconds=seconds, fps=fps, expect_motion=expect_motion, start=start, end=end, cast=cast,
        start_in_clip=start_in_clip, size=size, sizes=sizes, info=info), list, list)


def checked_clip(clip: Path, frames: dict[str, Path], *, seconds: float, fps: float, expect_motion: bool,
                 start: Path | None = None, end: Path | None = None, cast: ClipCast | None = None,
                 start_in_clip: bool = False, size: tuple[int, int] | None = None,
                 sizes: tuple[tuple[int, int], ...] = (), info: Probe | None = None) -> list[ScoreFields]:
    """slate's own checks of a clip, whatever the judge: first its format against what was asked
    (`size`: the shot's (width, height), `sizes` any other its model was asked, `fps`,
    `seconds`: media.motion `clip_format`; a clip that is not what was asked is looked at no
    further), the three keyframes' motion sanity (media.motion), the whole clip looked at
    (media.dailies: black or flat spans, a move that stops, a cast, noise, against the picture
    it `start`ed from; frame to frame: repeated frames, a still run, a jump or a flash) and who
    is in it (media.presence, for the shot's `cast`: present, nobody else, and each one's own
    colours held across the clip). A pure function of the files, so benchmarks/gates.py measures
    exactly what the gate does. `start_in_clip`: `start` is not a frame the clip began from (a
    reference shot's board: a model frames its references its own way), so tones, casts and
    presence are levelled to the clip's own first frame. `info`: the clip's probe when the
    caller has it (a probe is a whole decode: the gate probes once)."""
    try:
        p = info or probe(clip)
    except Exception:  # noqa: BLE001 — an unreadable clip is said by `motion` and `frames`
        p = None
    scores: list[ScoreFields] = []
    if size is not None and p is not None:
        scores.append(format_score(p, width=size[0], height=size[1], fps=fps, seconds=seconds, sizes=sizes))
        if not scores[-1]["passed"]:
            return scores
    scores += motion_scores(clip, frames, seconds=seconds, fps=fps, expect_motion=expect_motion, info=p)
    if start is None:
        return scores
    try:
        seen = watch(clip, info=p)
    except Exception as exc:  # noqa: BLE001 — an undecodable clip already fails `motion` and `frames`
        return scores + [{"name": "clip_content", "value": 0.0, "threshold": 0.9, "passed": False, "role": "block",
                          "reason": f"the clip could not be decoded whole ({str(exc)[:160]})"}]
    # Why the clip's own first frame for a reference shot: levelling every frame's tones to a
    # board the model never drew bends the colours presence looks for (Gabe and Jenny, plainly
    # in every frame of a fake's reference clip, read missing for most of it).
    first = seen.frames[0] if start_in_clip and len(seen.frames) else load_rgb(start)
    scores += dailies_scores(seen, first, expect_motion=expect_motion,
                             end=load_rgb(end) if end is not None else None)
    jump = sharpest_jump(seen)
    scores += cadence_scores(seen, expect_motion=expect_motion, travel=end is not None, jump=jump)
    if cast is not None and len(seen.frames):
        small = scaled(first, seen.frames)
        at = ((jump.at, jump_mask(jump, small.shape[:2])) if jump is not None and jump.levels >= JUMP_LEVELS
              else None)
        scores += presence_scores(cast_of(cast, small.shape[:2]), seen.frames, seen.times, seen.seconds, small,
                                  list(cast.named), travel=end is not None, entering=list(cast.entering), jump=at)
    return scores


def cast_of(cast: ClipCast, size: tuple[int, int]) -> presence.Cast:
    """The cast's colour signatures for frames of `size` (height, width)."""
    figures: dict[str, np.ndarray] = {}
    unreadable: dict[str, str] = {}
    for cid, path in cast.turnarounds.items():
        try:
            figures[cid] = _figure(str(path), cast.wardrobe.get(cid))
        except Exception as exc:  # noqa: BLE001 — art slate cannot read is said, not raised
            unreadable[cid] = f"its turnaround could not be read as figures on a plain sheet ({exc})"
    plate = backdrop = None
    if cast.plate is not None:
        with Image.open(cast.plate) as im:
            whole = im.convert("RGB")
        plate = np.asarray(whole.resize((size[1], size[0]), Image.Resampling.BOX))
        # Twice the frames' scale: a close framing's window of it is still sharp when searched
        # for (media.presence: someone dressed in the set's colours is told where the frame is not it).
        backdrop = np.asarray(whole.resize((2 * size[1], 2 * size[0]), Image.Resampling.BOX))
    made = presence.Cast.of(figures, plate, set(cast.named), backdrop)
    return presence.Cast(made.members, {**made.unseen, **unreadable}, made.plate)


@lru_cache(maxsize=64)
def _figure(path: str, wardrobe_colour: str | None) -> np.ndarray:
    """The first view's figure of a turnaround sheet (alpha or a plain ground, media.sheet), as
    RGBA, wearing the scene's wardrobe colour."""
    with Image.open(path) as im:
        sheet = im.convert("RGBA")
    read = read_sheet(sheet, SHEET)
    if not read.views:
        raise ValueError(read.ground)
    view = read.views[0]
    x0, y0, x1, y1 = view.box
    rgba = np.array(sheet.crop((x0, y0, x1, y1)))
    rgba[..., 3] = np.where(view.bins >= 0, 255, 0)
    return np.array(dress(Image.fromarray(rgba, "RGBA"), wardrobe_colour, SHEET.torso))


def dressed_figure(path: Path, wardrobe_colour: str | None) -> np.ndarray:
    """A turnaround's first view as RGBA, dressed in the scene's wardrobe (as presence reads it)."""
    return _figure(str(path), wardrobe_colour)


BIBLE_THRESHOLD = 0.5   # a chained clip's people against the bible: 1 - half the worst part's share of its cut


def chained_to_bible(last: Path, origin: Path, cast: ClipCast) -> list[ScoreFields]:
    """A chained clip (started from the shot before's last frame) held to the bible, not only to
    its start, which may have drifted already: each character of the shot, in the clip's last
    frame, against their turnaround dressed in the scene's wardrobe (media.likeness: hair and
    skin for `identity_bible`, the outfit for `wardrobe_bible`), read where `origin` — the
    approved panel the chain's frames descend from — shows them; a part's hue turn or lightness
    past the drift check's cuts (tasks/gates/drift.py HUE_CUT, LIGHTNESS_CUT) fails, naming who and
    what. A pure function of the files (benchmarks/gates.py measures it as the gate runs it).
    Nothing to say when the frame shows another picture than `origin` (its window matches
    below media.likeness.ALIGNED): the whole-clip checks judge that."""
    from slate.media import likeness
    from slate.tasks.gates.drift import HUE_CUT, LIGHTNESS_CUT, bible_parts
    named = set(cast.named)
    parts = bible_parts({c: p for c, p in cast.turnarounds.items() if c in named}, cast.wardrobe)
    frame = load_rgb(last)
    crop, match = likeness.aligned(frame, load_rgb(origin), parts)
    frame = np.asarray(Image.fromarray(frame).resize(crop.shape[1::-1], Image.Resampling.BOX))
    if match < likeness.ALIGNED:
        return []
    worst: dict[str, tuple[float, str]] = {"identity_bible": (0.0, ""), "wardrobe_bible": (0.0, "")}
    for r in likeness.read(frame, crop, parts):
        score = "wardrobe_bible" if r.part.name == "outfit" else "identity_bible"
        for ratio, what in ((abs(r.hue) / HUE_CUT if r.hue is not None else 0.0, "hue"),
                            (abs(r.lightness) / LIGHTNESS_CUT, "lightness")):
            if ratio > worst[score][0]:
                worst[score] = (ratio, likeness.describe(r, what))
    out: list[ScoreFields] = []
    for name, (ratio, why) in worst.items():
        value = round(max(0.0, 1.0 - 0.5 * ratio), 4)
        out.append({"name": name, "value": value, "threshold": BIBLE_THRESHOLD, "passed": value >= BIBLE_THRESHOLD,
                    "role": "block", "reason": f"{why} against the turnaround, in the chained clip's last frame"
                    if why else "nobody of the shot to hold to the bible in the clip's last frame"})
    return out
