"""The film flow: every scene of a film, at once, cut together in film order into one mp4.

    scene-01 ─┐
    scene-02 ─┼─► (all done) ─► stitch (cuts, film order) ─► renders/<film-id>-<profile>.mp4
    …        ─┘

The scenes run concurrently, at most `max_parallel_scenes` at a time (flows/run/units.py): under a
deployment (a worker) each scene is a run of the film's `scene` deployment, linked as a sub-flow
of the film run so any worker may take it and its caps count this film run; in this process
(`slate run`, tests) each scene is a sub-flow on one of the film's threads. Each keeps its own
named state, artifacts and cached results. The film then reacts to each scene's final state:

- "Completed": the scene's mp4 goes into the film.
- "Escalated" (a Completed type): the scene's mp4 (without its escalated shots) goes in, and
  the film ends `Completed(name="Escalated")`, naming the scene(s) in its message.
- a Completed-type state with no output: the scene is left out, the film goes on and ends
  "Escalated", naming the scene(s) left out.
- any other end (Failed type such as "Halted" or "Failed", Crashed, Cancelled): the film stops
  at once and ends in a Failed state with that scene's name and message: scenes not started
  are not started, scenes running are stopped (cancelled on workers; the run's governor halted
  in this process), and nothing is stitched.

`project` is a folder or a pushed film's bucket address (flows/run/lot.py): a film pulled from the
bucket sends its renders back there, and a scene cut made on another worker is fetched by its
content URI for the stitch.

It must never start a scene after one ended Failed-type (money may be at stake), never publish
a half-written or unvalidated film file (it stitches to a hidden temp name, probes it, and only
then os.replace()s it into place), and never hide an escalated or missing scene inside a plain
"Completed".
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from prefect.runtime import deployment, flow_run
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.states import Completed, Failed
from pydantic import BaseModel

from slate.flows.run.outcome import keep, outcome
from slate.flows.review import reports
from slate.flows.run.logs import slate_lines_on_the_run
from slate.providers.keys import install_log_redaction
from slate.flows.run.lifeline import RunLogger, ends_on_sigterm, hold_lifeline, stop_on_cancel
from slate.flows.run.lot import on_the_lot, wrap_up
from slate.flows.run.options import OPTIONS, PROJECT, run_name
from slate.flows.run import units
from slate.flows.scene import renders_dir, scene_flow
from slate.flows.run.scene_result import SceneResult
from slate.flows.run.call_sheet import film_plan, top_run_id
from slate.flows.dailies import AFTER as DAILIES_AFTER, open_dailies
from slate.media import probe as probe_media, scratch_beside
from slate.media.cut import Stitching, make_cut
from slate.media.mp4 import read_track
from slate.media.finish import FinishPlan, FinishShot
from slate.manifests import LoadedFilm
from slate.manifests.settings import Settings
from slate.manifests.frame_rate import Fps
from slate.providers.storage import storage_for
from slate.providers.storage_s3 import S3Storage
from slate.tasks.run.preflight import Preflight, handed_on, preflight, refused
from slate.manifests.options import RunOptions
from slate.tasks.run.run import Run, open_run, run_of
from slate.tasks.edit.subtitles import subtitle_film
from slate.errors import SlateError


class FilmResult(BaseModel):
    film: str
    profile: str
    output: str | None
    duration: float | None
    scenes: list[SceneResult]
    #: the film's .srt and .vtt beside its cut (paths), when a scene has a line heard
    subtitles: list[str] = []


class FilmJoin(BaseModel):
    """The film's scenes joined into its one file (`stitch_film`): where it is, and what its probe
    read of it."""

    output: str
    duration: float
    width: int
    height: int
    codec: str


class FilmEnded(SlateError):
    """A film run that stopped before it finished: why, and `result`, what was made so far
    (a Failed state's data must be an exception, or Prefect logs a TypeError instead)."""

    def __init__(self, message: str, result: FilmResult | None = None):
        super().__init__(message)
        self.result = result

    def __reduce__(self) -> tuple[type[FilmEnded], tuple[str, FilmResult | None]]:
        return (type(self), (str(self), self.result))


def film_result(state: State[State[FilmResult]]) -> FilmResult | None:
    data = outcome(state, raise_on_failure=False)
    if isinstance(data, FilmEnded):
        return data.result
    return data if isinstance(data, FilmResult) else None


def film_output(root: Path, film_id: str, profile: str) -> Path:
    """Where the film of a profile is published: <project>/renders/<film-id>-<profile>.mp4."""
    stem = re.sub(r"[^a-z0-9-]+", "-", f"{film_id}-{profile}".lower())
    return renders_dir(root) / f"{stem}.mp4"


def _has_sound(path: str) -> bool:
    """Whether a scene's cut carries a track beside its picture: read from the MP4's boxes, no decode."""
    track = read_track(path)
    return probe_media(path).has_audio if track is None else track.other_tracks > 0


def join_plan(clips: list[tuple[str, float]], fps: Fps, width: int, height: int,
              loudness: tuple[float, float] | None) -> FinishPlan | None:
    """How the film joins its scenes when a scene's cut carries sound: one finishing graph of the
    cuts with their sound, brought to `loudness` (target LUFS, true peak) as a whole; None when
    no cut has sound (or no loudness is asked), and the cuts are stitched as they are."""
    if loudness is None:
        return None
    sounds = [_has_sound(path) for path, _ in clips]
    if not any(sounds):
        return None
    return FinishPlan(shots=[FinishShot(path, float(secs), has_audio=has) for (path, secs), has in zip(clips, sounds)],
                      width=width, height=height, fps=fps, target_lufs=loudness[0], true_peak=loudness[1])


@task(name="stitch-film", cache_policy=NO_CACHE, persist_result=False)
def stitch_film(clips: list[tuple[str, float]], out: str, fps: Fps, width: int, height: int,
                loudness: tuple[float, float] | None = None) -> FilmJoin:
    """Cut the scenes' mp4s together, validate the probe, then move the file into place. With
    `loudness` (target LUFS, true peak), when a scene's cut has sound (a finished scene, issue 23),
    the film keeps it: joined with its sound and brought to the target once more as a whole."""
    target = Path(out)
    tmp = scratch_beside(target, ".mp4")   # a killed run's is swept by the next (its pid in the name)
    plan = join_plan(clips, fps, width, height, loudness)
    name = f"stitched film {target.name}"   # what a CutMismatch names
    try:
        if plan is not None:
            probe = make_cut(name, plan, tmp).probe
        else:
            probe = make_cut(name, Stitching(clips, [("cut", 0.0)] * (len(clips) - 1), fps=fps, width=width,
                                             height=height), tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return FilmJoin(output=str(target), duration=probe.duration, width=probe.width, height=probe.height,
                    codec=probe.codec)


def _subtitles(root: Path, settings: Settings, included: list[SceneResult], cut: Path) -> dict[str, Path]:
    """The film's .srt and .vtt beside its cut, and the stream in it, from its scenes' subtitles
    (tasks/subtitles.subtitle_film); nothing when no scene has a line."""
    storage = storage_for(root, settings)
    scenes: list[tuple[Path | None, float]] = []
    for r in included:
        srt = next((d.uri for d in r.deliverables if d.kind == "subtitles" and d.file.endswith(".srt")), None)
        scenes.append((Path(storage.open_local(srt)) if srt else None, float(r.duration or 0.0)))
    if not any(path for path, _ in scenes):
        return {}
    return subtitle_film(scenes, cut)


def _summary(result: FilmResult, notes: list[str]) -> str:
    rows = "\n".join(f"| {s.scene} | {s.output or '(left out)'} | "
                     f"{'' if s.duration is None else f'{s.duration:.3f}'} | {len(s.escalated)} | "
                     f"{s.provider_calls} |" for s in result.scenes)
    return (f"# Film {result.film} ({result.profile})\n\nOutput: `{result.output}`  \n"
            + "".join(f"Subtitles: `{path}`  \n" for path in result.subtitles)
            + f"Duration: {'' if result.duration is None else f'{result.duration:.3f}s'}\n\n"
            + "".join(f"- {n}\n" for n in notes)
            + "\n| scene | output | duration | escalated shots | provider calls |\n|---|---|---|---|---|\n" + rows)


def _run_name() -> str:
    return run_name("film", flow_run.parameters)


def _cut_of(root: Path, settings: Settings, scene: SceneResult) -> tuple[str, float]:
    """The scene's cut on this machine, by its content URI from the film's storage (the bucket:
    another worker may have made it; a path it published is on that worker's disk), and its length."""
    assert scene.output is not None and scene.duration is not None  # only a scene with its cut is joined
    if not scene.cut:
        return scene.output, float(scene.duration)
    return str(storage_for(root, settings).open_local(scene.cut)), float(scene.duration)


# Threads for the scenes run in this process (one each, at most max_parallel_scenes) and the stitch.
# (Prefect types a flow's task runner as one of futures of any kind, which no runner is: its
# TaskRunner is invariant in the futures it makes.)
@flow(name="film", flow_run_name=_run_name, log_prints=False,
      on_cancellation=[stop_on_cancel, units.cancel_scene_runs],
      task_runner=ThreadPoolTaskRunner(max_workers=65))  # type: ignore[arg-type]
def film_flow(project: str = PROJECT, options: RunOptions = OPTIONS,
              dailies: bool = DAILIES_AFTER) -> State[FilmResult]:
    """Render the film's scenes (`options.scenes`, else all) and cut them into
    renders/<film-id>-<profile>.mp4; a wrap report closes the run. Scenes run at once (at most
    `max_parallel_scenes`); the film stops at the first scene that does not complete.

    The run cap is this whole film run's — every scene's spending counts against it, because the
    scenes' paid calls carry this run's id. With `dailies`, the run ends by opening the dailies
    form for the takes it made (flows/dailies.py)."""
    # What the body returns is kept here too: flows/run/outcome.py says why.
    with ends_on_sigterm():   # SIGTERM stops its spending and ends its process within seconds
        ended = keep(_film(project, options))
        # Issue 40: the nightly ends by opening the dailies form, whatever its end (a halted night
        # made takes too); the form waits on its own, this run ends.
        if dailies:
            open_dailies(project, options)
        return ended


def _film(project: str, options: RunOptions) -> State[FilmResult]:
    """The film run's body (`film_flow`): its end state, or what it made."""
    log = get_run_logger()
    install_log_redaction()  # a deployment's worker has no CLI to install it
    slate_lines_on_the_run()  # the governor's and providers' lines on this run's page
    hold_lifeline(log)  # a deployment run's process dies with the worker that started it
    root, store = on_the_lot(project)
    # The run's options resolved and checked once: every scene is checked before the first one
    # starts (a film must not stop in scene 4 on a mistake that was there to see, after paying
    # for scenes 1 to 3), and the scenes run here are handed this check (tasks/run/preflight.py).
    checked = preflight(root, options)
    if not checked.ok:
        refusal: State[FilmResult] = refused(checked)
        return refusal
    settings = checked.settings
    film = checked.film
    assert film is not None and settings is not None  # a preflight with no problems read both
    film_id = film.film.id
    known = [s.id for _, s in film.scenes]
    wanted = list(options.scenes) or known
    unknown = [s for s in wanted if s not in known]
    if unknown:
        return Failed(name="Refused", message=f"unknown scene(s) {', '.join(unknown)} (film has: {', '.join(known)})")
    order = [s for s in known if s in wanted]
    # The run's services, for every scene it runs here (one governor: halting the film halts
    # them all); closed at its end.
    plan = film_plan(root, film, settings, options)   # its lineup and limits, resolved once (tasks/run/run_plan.py)
    with open_run(run_of(root, "", film_id, plan.settings, top_run_id(), plan.limits, plan.lineup)) as run:
        return _scenes(run, project, root, store, film, settings, order, options, checked, log)


def _scenes(run: Run, project: str, root: Path, store: S3Storage | None, film: LoadedFilm, settings: Settings,
            order: list[str], options: RunOptions, checked: Preflight, log: RunLogger) -> State[FilmResult]:
    """The film's scenes, shot and cut together (`_film`'s body, its run open)."""
    film_id = film.film.id
    results: list[SceneResult] = []
    escalated: list[str] = []
    unjudged: list[str] = []   # scenes of a rehearsal (cannot_judge = warn) the judge could not read
    left_out: list[str] = []

    def wrap() -> None:
        from slate.governor.ledger import Ledger
        ledger = Ledger.for_project(root)
        try:
            reports.film_wrap(film_id, settings.profile, top_run_id(), ledger, results)
        finally:
            ledger.close()
        # the production report (issue 24), as a link on the film run; it never fails the run
        reports.production_report(root, film, settings, reports.key(film_id, settings.profile, "report"))

    at_once = settings.max_parallel_scenes
    told = options.telling(profile=settings.profile)
    if deployment.id:
        # Under a worker: every scene a run of the scene deployment, for any worker of the pool,
        # given the project as the film run was (a folder, or the film's bucket address) and
        # the options it was told (never the film's resolved ones: a scene resolves its own) and
        # the film's profile, which every scene of one film shares (and its run's name says).
        # A scene in the can is served here: its own run would be a poll and a process for one lookup.
        ends = units.from_the_can(run, film, order, settings, log)
        ends.update(units.on_workers(root, [s for s in order if s not in ends], {"project": project,
                                     "options": told}, at_once, log))
    else:
        with handed_on(checked):
            ends = units.in_threads(scene_flow, order, {"project": str(root), "options": told}, at_once,
                                    run.run_id, log)
    results.extend(scene_made for s in order if s in ends and (scene_made := ends[s].result) is not None)
    failed = next((e for e in ends.values() if not e.completed), None)  # the first to end Failed-type
    if failed is not None:
        not_run = [s for s in order if s not in ends]
        log.error("scene %s ended %s (%s); film stopped%s", failed.scene, failed.name, failed.message,
                  f", not run: {', '.join(not_run)}" if not_run else "")
        partial = FilmResult(film=film_id, profile=settings.profile, output=None, duration=None, scenes=results)
        wrap()
        wrap_up(root, store)
        return Failed(data=FilmEnded(failed.message or failed.name, partial), name=failed.name,
                      message=failed.message)
    for scene_id in order:
        end = ends[scene_id]
        if end.result is None or not end.result.output:
            left_out.append(scene_id)
            continue
        if end.name == "Escalated" or end.result.escalated:
            escalated.append(f"{scene_id} ({end.message or f'{len(end.result.escalated)} shot(s) escalated'})")
        elif end.name == "Unjudged":
            unjudged.append(f"{scene_id} ({end.message})")

    included = [r for r in results if r.output]
    notes = ([f"scene(s) left out (no output): {', '.join(left_out)}"] if left_out else []) + \
            ([f"escalated: {'; '.join(escalated)}"] if escalated else [])
    wrap()
    if not included:
        result = FilmResult(film=film_id, profile=settings.profile, output=None, duration=None, scenes=results)
        message = f"no scene of film {film_id} produced an output" + (f" ({'; '.join(notes)})" if notes else "")
        return Failed(data=FilmEnded(message, result), message=message)

    out = film_output(root, film_id, settings.profile)
    delivery = film.film.finishing.delivery_for(settings.profile) if film.film.finishing else None
    made = stitch_film([_cut_of(root, settings, r) for r in included], str(out), settings.fps,
                       max(r.width for r in included), max(r.height for r in included),
                       (delivery.target_lufs, delivery.true_peak) if delivery else (-14.0, -1.0))
    subtitled = _subtitles(root, settings, included, Path(made.output))
    if subtitled:
        log.info("film %s: subtitles %s", film_id, ", ".join(p.name for p in subtitled.values()))
    result = FilmResult(film=film_id, profile=settings.profile, output=made.output, duration=made.duration,
                        scenes=results, subtitles=[str(p) for p in subtitled.values()])
    reports.markdown_artifact(lambda: _summary(result, notes), reports.key(film_id, settings.profile, "film"),
                              f"film {film_id} ({settings.profile}): scenes, escalations, output",
                              f"the summary of film {film_id}")
    reports.output_artifact(reports.key(film_id, settings.profile, "film-output"), Path(made.output),
                            f"film {film_id} ({settings.profile}): {made.duration:.2f} s")
    wrap_up(root, store)
    if notes:
        log.warning("film %s: %s", film_id,
                    "; ".join(notes + [f"unjudged: {'; '.join(unjudged)}"] * bool(unjudged)))
        return Completed(data=result, name="Escalated", message="; ".join(notes))
    if unjudged:
        log.warning("film %s: unjudged: %s", film_id, "; ".join(unjudged))
        return Completed(data=result, name="Unjudged", message=f"unjudged: {'; '.join(unjudged)}")
    return Completed(data=result, message=f"{len(included)} scene(s), {result.duration:.3f}s")
