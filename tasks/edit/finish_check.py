"""The assembly manifest's files, checked at `slate check` before anything runs: every LUT
parses and stays in range, every audio cue decodes (its length and sample rate read), a cue
starts inside its scene and its offset inside its file, and every dissolve still fits once the
shots are trimmed.

For: Problems naming the file (film.yaml or the scene file), the shot where there is one, and
the field (``finishing.lut``, ``finishing.cues[1].file``, ...). Never: write anything, spend,
or read a file outside the project (keys are resolved with manifests.locate).
"""
from __future__ import annotations

from pathlib import Path

from slate.errors import SlateError
from slate.manifests import LoadedFilm, Problem
from slate.manifests.assembly import MusicBrief
from slate.manifests.load import locate
from slate.media import MediaError, dissolve_misfits
from slate.media.cube import CubeError, read_cube
from slate.media.finish import read_audio
from slate.tasks.edit.spotting import SpotError, edit_order, places, planned_cut, spot

MIN_SAMPLE_RATE = 8000


def _lut_problem(root: Path, key: str, file: str, field: str) -> list[Problem]:
    path, why = locate(root, key)
    if path is None:
        return [Problem(file, None, field, f"LUT {key!r} {why}")]
    try:
        read_cube(path)
    except CubeError as exc:
        return [Problem(file, None, field, f"LUT {key!r} does not read: {exc}")]
    return []


def cue_lengths(root: Path, film: LoadedFilm, scene_id: str) -> dict[str, float]:
    """The length in seconds of each cue file the scene names (those that decode)."""
    out = {}
    fin = film.scene(scene_id).finishing
    for cue in fin.cues if fin else []:
        path, _ = locate(root, cue.file)
        if path is not None and cue.file not in out:
            try:
                out[cue.file] = read_audio(path).seconds
            except MediaError:
                pass
    return out


def finish_problems(root: Path, film: LoadedFilm, scenes: list[str],
                    warnings: list[Problem] | None = None) -> list[Problem]:
    """Everything the finishing pass of these scenes would refuse, one Problem each; what it
    would only leave out (a cue that starts after its scene ends) goes to `warnings`."""
    warnings = warnings if warnings is not None else []
    root = Path(root)
    problems: list[Problem] = []
    if film.film.finishing and film.film.finishing.lut:
        problems += _lut_problem(root, film.film.finishing.lut, "film.yaml", "finishing.lut")
    for scene_id in scenes:
        scene, file = film.scene(scene_id), film.scene_file(scene_id)
        fin = scene.finishing
        if fin is None:
            continue
        if fin.lut:
            problems += _lut_problem(root, fin.lut, file, "finishing.lut")
        # The shots as the edit plays them (finishing.cut: an editor's order, a dropped shot left
        # out), each one's transition leading into the shot after it in the cut; the last ends on a cut.
        by_id = {s.id: s for s in scene.shots}
        shots = [by_id[i] for i in fin.in_cut([s.id for s in scene.shots])]
        trims = {s.id: fin.shots.get(s.id) for s in shots}
        planned, joins = planned_cut(scene)
        lengths = [secs for _, secs in planned]
        starts, at = {}, 0.0
        for k, (s, secs) in enumerate(zip(shots, lengths)):
            starts[s.id] = at
            at += secs - (joins[k][1] if k < len(joins) and joins[k][0] == "dissolve" else 0.0)
        total = at
        if any(trims.values()) or fin.cut is not None:
            misfits = dissolve_misfits(lengths, joins, labels=[s.id for s in shots])
            problems += [Problem(file, shots[i].id, "finishing.shots.trim_out" if any(trims.values()) else "finishing.cut",
                                 f"once trimmed, {why}" if any(trims.values()) else f"in the edit's order, {why}")
                         for i, why in misfits]
        for i, cue in enumerate(fin.cues):
            where = f"finishing.cues[{i}]"
            begins = (starts.get(cue.shot, 0.0) if cue.shot else 0.0) + cue.at
            if begins >= total:
                warnings.append(Problem(file, cue.shot, f"{where}.at",
                                        f"starts at {begins:g}s, after the scene's end ({total:g}s): not heard"))
            path, why = locate(root, cue.file)
            if path is None:
                problems.append(Problem(file, cue.shot, f"{where}.file", f"audio file {cue.file!r} {why}"))
                continue
            try:
                audio = read_audio(path)
            except MediaError:
                problems.append(Problem(file, cue.shot, f"{where}.file",
                                        f"audio file {cue.file!r} does not decode as audio"))
                continue
            if audio.sample_rate < MIN_SAMPLE_RATE:
                problems.append(Problem(file, cue.shot, f"{where}.file",
                                        f"audio file {cue.file!r} is sampled at {audio.sample_rate} Hz "
                                        f"(at least {MIN_SAMPLE_RATE} Hz)"))
            if cue.offset >= audio.seconds:
                problems.append(Problem(file, cue.shot, f"{where}.offset",
                                        f"offset {cue.offset:g}s is past the end of {cue.file!r} "
                                        f"({audio.seconds:.2f}s)"))
        problems += music_problems(file, fin.music, planned, joins, film.film.fps, edit_order(scene))
    return problems


def music_problems(file: str, briefs: list[MusicBrief], shots: list[tuple[str, float]],
                   joins: list[tuple[str, float]], fps: float, order: list[str]) -> list[Problem]:
    """Each music brief spotted on the planned cut (tasks/edit/spotting.py), as the run will spot it
    on the approved one: a hit outside its cue, a span the edit plays backwards, a length or tempo
    its model cannot make — each a Problem naming the brief's field, before anything is spent."""
    from slate.providers.registry import music_limits

    out: list[Problem] = []
    cut = places(shots, joins)
    for i, brief in enumerate(briefs):
        where = f"finishing.music[{i}]"
        try:
            spotted = spot(brief, cut, fps, order)
        except SpotError as exc:
            out.append(Problem(file, exc.shot, f"{where}.{exc.field}", f"cue {brief.name!r}: {exc.message}"))
            continue
        try:
            limits = music_limits(brief.model)
        except SlateError as exc:
            out.append(Problem(file, None, f"{where}.model", f"cue {brief.name!r}: {exc}"))
            continue
        why = limits.refusal(spotted.seconds, brief.tempo)
        if why is not None:
            out.append(Problem(file, None, f"{where}.model" if "long" in why or "short" in why else f"{where}.tempo",
                               f"cue {brief.name!r} ({spotted.seconds:.2f}s at {brief.tempo:g} BPM): {brief.model} {why}"))
    return out
