"""The finishing pass as a stage of its own, after the stitch: a scene's approved clips to the
graded cut with its sound, at its delivery's loudness, plus the profile's other deliverables.

Cached by content like every stage: the clips' URIs, the edit (trims, transitions, fades, dips,
grade trims), the LUT's and the cues' content (as cas:// URIs the flow stores them under) and the
delivery. A changed LUT or cue re-runs this task alone: the panels, clips, gates and stitch are
cache hits, so a re-finish never pays a provider. It must never call a provider, never hand its
graded frames to a judge (gates read the clips it reads, never what it writes), and never
publish a file that fails its probe (length equal to the edit's within one frame, sound present,
loudness within 1 LU of the target, a mezzanine with the cut's frames, sound and colour:
media/cut.py checks it, CutMismatch says what is off).
"""
from __future__ import annotations

from typing import Callable

from prefect import task

from slate.media.cut import make_cut
from slate.media.finish import STEMS, FinishCue, FinishPlan, FinishShot, poster_args
from slate.media.poster import settled_moment
from slate.manifests.frame_rate import Fps
from slate.media import has_sound, run as run_ffmpeg
from slate.tasks.run.cache import ContentKey
from slate.tasks.edit.results import FinishResult
from slate.tasks.run.run import Crew, Run, emit
from slate.tasks.shot.take_inputs import FinishInput, FinishingCue, FinishingEdit, FinishingShot
from slate.tasks.run.versions import FINISH_VERSION


def plan_of(st: Crew, shots: list[FinishingShot], cues: list[FinishingCue], lut: str | None, edit: FinishingEdit,
            width: int, height: int, fps: Fps) -> FinishPlan:
    """The media-level plan, with every cas:// URI opened as a local file."""
    made = []
    for s in shots:
        path = str(st.storage.open_local(s.uri))
        made.append(FinishShot(path=path, seconds=float(s.seconds), has_audio=has_sound(path),
                               trim_in=s.trim_in if s.trim_in is not None else 0.0,
                               trim_out=s.trim_out if s.trim_out is not None else 0.0,
                               exposure=s.exposure if s.exposure is not None else 0.0,
                               saturation=s.saturation if s.saturation is not None else 1.0,
                               transition=(s.transition[0], float(s.transition[1])),
                               dip_colour=s.dip_colour if s.dip_colour is not None else "#000000"))
    placed = [FinishCue(path=str(st.storage.open_local(c.uri)), kind=c.kind, start=float(c.start),
                        seconds=float(c.seconds), offset=c.offset, length=c.length, gain_db=c.gain_db,
                        fade_in=c.fade_in, fade_out=c.fade_out, ducks=c.ducks) for c in cues]
    return FinishPlan(shots=made, cues=placed, width=width, height=height, fps=fps,
                      lut=str(st.storage.open_local(lut)) if lut else None,
                      fade_in=edit.fade_in, fade_out=edit.fade_out, target_lufs=edit.target_lufs,
                      true_peak=edit.true_peak)


def _progress(run: Run, scene: str) -> Callable[[float], None]:
    """At each quarter of a pass: a line in the run's log (the Prefect run shows it) and an event
    for the CLI's live table (tasks/events.SceneFinishing)."""
    from prefect import get_run_logger
    log, said = get_run_logger(), [0]

    def heard(share: float) -> None:
        quarter = int(share * 4)
        if quarter > said[0]:
            said[0] = quarter
            log.info("finishing %s: %d%%", scene, quarter * 25)
            emit(run, event="finishing", scene=scene, share=quarter / 4)
    return heard


@task(name="finish", cache_policy=ContentKey(stage=FINISH_VERSION), result_serializer="json",
      task_run_name="finish {given.scene}")
def finish_scene(run: Run, given: FinishInput) -> FinishResult:
    """The scene's finishing pass (tasks/shot/take_inputs.py says what each shot, cue and the edit hold)."""
    st = run.crew
    scene, edit, fps = given.scene, given.edit, given.fps
    plan = plan_of(st, given.shots, given.cues, given.lut, edit, given.width, given.height, fps)
    out = st.scratch("finish") / f"{scene}.mp4"
    # The editor's mezzanine is a second output of the pass itself (media/finish.finish_args),
    # held to the cut's frames, sound and colour with it (deliverable_problems).
    mezzanine = (edit.mezzanine, out.with_name(f"{scene}-{edit.mezzanine}.mov")) if edit.mezzanine else None
    stems = {stem: out.with_name(f"{scene}-{stem}.wav") for stem in STEMS} if edit.stems else None
    done = make_cut(f"finished scene {scene}", plan, out, _progress(run, scene), mezzanine=mezzanine, stems=stems)
    emit(run, event="finishing", scene=scene, share=1.0)   # ffmpeg's last block can stop short of the end
    uri = st.storage.put_file(out, "mp4")
    mezzanine_uri = poster_uri = None
    if mezzanine is not None:
        mezzanine_uri = st.storage.put_file(mezzanine[1], "mov")
        mezzanine[1].unlink(missing_ok=True)
    if edit.poster:
        png = out.with_name(f"{scene}-poster.png")
        # inside a shot's settled frames: never a fade, a dip or a dissolve (media/poster.py)
        run_ffmpeg(poster_args(out, png, settled_moment(plan)))
        poster_uri = st.storage.put_file(png, "png")
        png.unlink(missing_ok=True)
    kept_stems = {}
    for stem, path in (stems or {}).items():
        if path.is_file():   # a cut with no sound source has none
            kept_stems[stem] = st.storage.put_file(path, "wav")
            path.unlink(missing_ok=True)
    out.unlink(missing_ok=True)
    return FinishResult(uri=uri, duration=done.probe.duration, frames=done.probe.frames, width=done.probe.width,
                        height=done.probe.height, has_audio=done.probe.has_audio,
                        loudness=None if done.loudness is None else done.loudness.integrated,
                        true_peak=None if done.loudness is None else done.loudness.true_peak,
                        target_lufs=plan.target_lufs, model_audio=sum(s.has_audio for s in plan.shots),
                        mezzanine_uri=mezzanine_uri, poster_uri=poster_uri, stems=kept_stems)

