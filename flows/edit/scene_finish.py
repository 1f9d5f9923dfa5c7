"""After the stitch: the scene's transitions between approved clips, the finishing pass (graded
cut with its sound, issue 23), the profile's mezzanine and poster copied beside the cut in
renders/, and the timeline record `slate export` reads.

A scene with spoken lines (flows/shot/scene_speech.py) is finished even when the film asks for no
finishing (at the default delivery): its lines are placed where they are heard through the
edit's trims and transitions (media/subtitles.place_lines) and mixed as dialogue cues — the
dialogue stem music ducks under (media/finish.py) — loudness measured after the mix; then the
scene's .srt and .vtt are written beside the cut and carried in it as a mov_text stream. A scene
without a line is finished exactly as before.

It must never call a provider or re-make a clip: a changed grade or cue re-makes only this.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import get_run_logger

from slate.flows.edit.scene_music import music_cues
from slate.flows.shot.scene_speech import VoicedLine
from slate.flows.shot.shot import ClipOutcome, PanelOutcome
from slate.media.subtitles import CutShot, Placed, ShotLine, place_lines
from slate.manifests import LoadedFilm
from slate.tasks.run.run import Run, in_project
from slate.tasks.shot.plan import ShotPlan
from slate.tasks.edit.assembly import finishing_inputs
from slate.tasks.edit.finish import finish_scene
from slate.tasks.edit.results import FinishResult
from slate.tasks.edit.subtitles import HeardLine, SubtitlesInput, subtitle_scene
from slate.tasks.shot.take_inputs import FinishInput, Finishing, FinishingCue, FinishingShot
from slate.tasks.edit import export
from slate.tasks.run.can import in_place
from slate.flows.run.scene_result import Deliverable


def transitions_between(plans: list[ShotPlan], approved: list[str],
                        order: list[str] | None = None) -> list[list[str | float]]:
    """Between two approved clips, the earlier one's transition — unless a shot between them
    was escalated, where the gap is a plain cut. `order`: the edit's order of the shots (the
    scene's `finishing.cut`; default the plans'), which says what is between them."""
    index = {p.shot: p for p in plans}
    place = {shot: i for i, shot in enumerate(order if order is not None else [p.shot for p in plans])}
    out: list[list[str | float]] = []
    for a, b in zip(approved, approved[1:]):
        pa = index[a]
        adjacent = place[b] == place[a] + 1
        out.append([pa.transition, pa.transition_seconds] if adjacent and pa.transition == "dissolve" else ["cut", 0.0])
    return out



def placed_lines(inputs: Finishing, shots: list[str],
                 voiced: list[VoicedLine]) -> list[tuple[VoicedLine, Placed, float]]:
    """Each heard line where the cut hears it (`inputs.shots` are the cut's shots `shots`, in
    order), and how far into its take the cut lets it in (a trim into its head)."""
    cut = [CutShot(shot, row.seconds, row.trim_in or 0.0, row.trim_out or 0.0,
                   (str(row.transition[0]), float(row.transition[1]))) for shot, row in zip(shots, inputs.shots)]
    trims = {c.shot: c.trim_in for c in cut}
    lines = [ShotLine(v.shot, v.speaker, v.text, v.offset, v.seconds, v.off_screen) for v in voiced]
    return [(v, p, max(0.0, trims.get(v.shot, 0.0) - v.offset)) for v, p in zip(voiced, place_lines(lines, cut))]


def dialogue_cues(placed: list[tuple[VoicedLine, Placed, float]]) -> list[FinishingCue]:
    """The heard lines as dialogue cues on the scene's timeline: from where a trim lets them in
    (`offset` into the take), as long as the trims leave them; a dropped line is not heard."""
    return [FinishingCue(uri=v.uri, file=f"{v.shot}-line-{v.line}.wav", kind="dialogue", start=p.timed.start,
                         seconds=v.seconds, offset=head, length=round(p.timed.end - p.timed.start, 6),
                         gain_db=0.0, fade_in=0.0, fade_out=0.0, ducks=False)
            for v, p, head in placed if p.timed is not None]


def subtitles_pass(run: Run, inputs: Finishing | None, graded: FinishResult | None, shots: list[str],
                   voiced: list[VoicedLine], burn: bool = False) -> tuple[FinishResult | None, dict[str, str]]:
    """The finished cut with its lines as a subtitle stream, and the scene's .srt and .vtt (by
    suffix, their URIs); the cut as it was, and none, for a scene with no line heard."""
    if not voiced or inputs is None or graded is None:
        return graded, {}
    heard = [HeardLine(speaker=p.timed.speaker, text=p.timed.text, start=p.timed.start, end=p.timed.end,
                       off_screen=p.timed.off_screen)
             for _, p, _ in placed_lines(inputs, shots, voiced) if p.timed is not None]
    if not heard:
        return graded, {}
    made = in_project(subtitle_scene, run, SubtitlesInput(scene=run.scene, cut=graded.uri, seconds=graded.duration,
                                                          lines=heard, burn=burn),
                      artifacts=lambda r: [r.uri, r.srt_uri, r.vtt_uri, *([r.burned_uri] if r.burned_uri else [])])
    get_run_logger().info("subtitled scene %s: %d line(s) heard, %d cue(s)", run.scene, len(heard), made.cues)
    extras = {".srt": made.srt_uri, ".vtt": made.vtt_uri}
    if made.burned_uri:
        extras[BURNED] = made.burned_uri
    return graded.model_copy(update={"uri": made.uri}), extras


def finishing_pass(run: Run, root: Path, film: LoadedFilm, approved: list[tuple[str, str, float]],
                   transitions: list[list[str | float]], width: int,
                   height: int, voiced: list[VoicedLine] | None = None) -> tuple[Finishing | None, FinishResult | None]:
    """The finishing pass after the stitch (issue 23), when the film asks for one or lines are
    heard: the graded cut with its sound. Cached by content apart from the stitch: a changed LUT
    or cue makes only this."""
    voiced = voiced or []
    inputs = finishing_inputs(run.crew, root, film, run.scene, approved,
                              [(str(kind), float(seconds)) for kind, seconds in transitions], run.profile,
                              dialogue=bool(voiced))
    if inputs is None:
        return None, None
    if voiced:   # a scene without a line keeps the finish input (its cache key) it always had
        spoken = dialogue_cues(placed_lines(inputs, [a[0] for a in approved], voiced))
        inputs = inputs.model_copy(update={"cues": [*inputs.cues, *spoken]})
    # Cues made to a brief (issue 59), spotted on this cut: paid calls through the governor, made
    # before the mix and cached by content, so an unchanged cut makes none.
    made = music_cues(run, film, inputs, [a[0] for a in approved])
    if made:
        inputs = inputs.model_copy(update={"cues": [*inputs.cues, *made]})
    finished = in_project(finish_scene, run, FinishInput(scene=run.scene, shots=inputs.shots, cues=inputs.cues,
                                                     lut=inputs.lut, edit=inputs.edit, width=width,
                                                     height=height, fps=run.settings.fps),
                      artifacts=lambda r: [r.uri])
    if finished.loudness is not None:
        get_run_logger().info("finished scene %s: %.1f LUFS (target %g), true peak %.1f dBTP", run.scene,
                              finished.loudness, finished.target_lufs, finished.true_peak)
    return inputs, finished



def timeline(run: Run, root: Path, plans: list[ShotPlan], panels: dict[str, PanelOutcome],
             clips: dict[str, ClipOutcome], approved: list[str], inputs: Finishing | None,
             graded: FinishResult | None, output: str, width: int, height: int,
             voiced: list[VoicedLine] | None = None, order: list[str] | None = None,
             briefs: dict[str, dict[str, Any]] | None = None) -> None:
    """The scene's edit as `slate export` reads it (tasks/edit/export.py): every shot with its approved
    clip, in/out, transition, take, scores and status; the cues where they were placed. With a
    finishing pass, its OpenTimelineIO export is written beside the record too. `order`: the
    edit's order (`finishing.cut`); a shot it leaves out is listed last, dropped, with no media.
    `briefs`: a made cue's brief and model by its file (flows/edit/scene_music.py), carried with it."""
    st = run.crew
    rows = {row.uri: row for row in (inputs.shots if inputs else [])}
    shots: list[export.TimelineShot] = []
    cut = order if order is not None else [p.shot for p in plans]
    for p in sorted(plans, key=lambda p: cut.index(p.shot) if p.shot in cut else len(cut) + p.index):
        c, pn = clips[p.shot], panels[p.shot]
        last = c.takes[-1] if c.takes else None
        row = rows.get(c.clip_uri or "")
        dropped = bool(c.clip_uri) and p.shot not in cut
        status = "dropped" if dropped else "approved" if c.clip_uri else ("rejected" if c.rejected else "escalated")
        entry: export.TimelineShot = {
                      "shot": p.shot, "status": status,
                      "reason": "left out of the edit (finishing.cut)" if dropped else
                      c.rejected or c.escalated or pn.escalated or c.halted or pn.halted or "",
                      "media": export.media_path(st.storage, c.clip_uri) if c.clip_uri and not dropped else None,
                      "seconds": c.seconds, "trim_in": (row.trim_in or 0.0) if row else 0.0,
                      "trim_out": (row.trim_out or 0.0) if row else 0.0,
                      "transition": list(row.transition) if row else
                      [p.transition if p.transition == "dissolve" else "cut",
                       p.transition_seconds if p.transition == "dissolve" else 0.0],
                      "take": last.take if last else None,
                      "scores": {s.name: s.value for s in (last.scores if last else []) if s.name},
                      "warnings": (list(last.warnings) if last else [])
                      + ([f"its line: {c.dialogue_failed}"] if c.clip_uri and c.dialogue_failed else [])}
        _with_finish(entry, row)
        shots.append(entry)
    total = graded.duration if graded else float("inf")
    cues: list[export.TimelineCue] = []
    for placed in (inputs.cues if inputs else []):
        if placed.start >= total:
            continue
        cue: export.TimelineCue = {
            "file": placed.file, "media": export.media_path(st.storage, placed.uri), "kind": placed.kind,
            "start": placed.start, "offset": placed.offset,
            # as long as it is heard: to the file's end, its `length`, or the scene's end
            "seconds": min(placed.seconds - placed.offset, placed.length or placed.seconds, total - placed.start),
            "gain_db": placed.gain_db, "file_seconds": placed.seconds, "fade_in": placed.fade_in,
            "fade_out": placed.fade_out, "ducks": placed.ducks}
        if placed.kind == "music" and placed.file in (briefs or {}):   # a cue made to a brief: what it was made to
            cue["brief"] = (briefs or {})[placed.file]
        cues.append(cue)
    heard: list[export.TimelineLine] = [
        {"speaker": p.timed.speaker, "text": p.timed.text, "start": p.timed.start, "end": p.timed.end}
        for _, p, _ in (placed_lines(inputs, approved, voiced) if voiced and inputs is not None else [])
        if p.timed is not None]
    finish: export.TimelineFinish = {
        "lut": export.media_path(st.storage, inputs.lut) if inputs is not None and inputs.lut else None,
        "fade_in": inputs.edit.fade_in if inputs is not None else 0.0,
        "fade_out": inputs.edit.fade_out if inputs is not None else 0.0}
    record = export.timeline_record(film=run.film, scene=run.scene, profile=run.profile, fps=run.settings.fps, width=width,
                                    height=height, output=output, shots=shots, cues=cues, finished=graded,
                                    lines=heard, finish=finish)
    path = export.write_record(export.record_path(root, run.scene, run.profile), record)
    if graded is not None:
        # Beside the record, not in renders/: what renders/ holds is what the can restores.
        written = export.write_timeline(export.build_timeline([record]), "otio", path.with_suffix(".otio"))
        get_run_logger().info("timeline for an editor: %s (slate export %s --format fcp7|edl for the others)",
                              written, root)


def _with_finish(entry: export.TimelineShot, row: FinishingShot | None) -> None:
    """A shot's grade and dip colour into its record (tasks/edit/export.py), when the finishing pass
    gave it some."""
    if row is None:
        return
    grade = {k: v for k, v in (("exposure", row.exposure), ("saturation", row.saturation)) if v is not None}
    if grade:
        entry["grade"] = grade
    if row.dip_colour and row.transition[0] == "dip":
        entry["dip_colour"] = row.dip_colour


#: The copy of a cut with its lines drawn in, by what its name adds to the cut's.
BURNED = "-subtitled.mp4"

#: What a finishing pass may make beside the cut, and the name each takes in renders/ after the
#: cut's own stem (a partial cut's extras are named like it: never under the finished scene's name).
EXTRAS = {"mezzanine_uri": ("mezzanine", "{stem}.mov"), "poster_uri": ("poster", "{stem}-poster.png")}


def extras_into_renders(run: Run, graded: FinishResult | None, output: str,
                        subtitles: dict[str, str] | None = None) -> list[Deliverable]:
    """The profile's mezzanine, poster frame and stems, and a scene's subtitles, beside the cut in
    renders/, where the film-maker and an editor look for them (the finishing pass stored them;
    here they are copied out)."""
    made = []
    for suffix, sub_uri in (subtitles or {}).items():
        if suffix == BURNED:   # beside the cut under its name: scene-01-draft-subtitled.mp4
            path = Path(output).with_name(Path(output).stem + suffix)
            in_place(run.crew.storage, sub_uri, path, "mp4")
            made.append(Deliverable(kind="burned subtitles", file=path.name, uri=sub_uri))
            continue
        path = Path(output).with_suffix(suffix)
        in_place(run.crew.storage, sub_uri, path, suffix.lstrip("."))
        made.append(Deliverable(kind="subtitles", file=path.name, uri=sub_uri))
    for key, (kind, name) in EXTRAS.items():
        uri = getattr(graded, key) if graded is not None else None
        if not uri:
            continue
        path = Path(output).with_name(name.format(stem=Path(output).stem))
        in_place(run.crew.storage, uri, path, path.suffix.lstrip("."))
        made.append(Deliverable(kind=kind, file=path.name, uri=uri))
    for stem, uri in (graded.stems if graded is not None else {}).items():   # the delivery's `stems`
        path = Path(output).with_name(f"{Path(output).stem}-{stem}.wav")
        in_place(run.crew.storage, uri, path, "wav")
        made.append(Deliverable(kind=f"{stem} stem", file=path.name, uri=uri))
    return made
