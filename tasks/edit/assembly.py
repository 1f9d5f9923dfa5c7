"""The assembly manifest turned into what the finishing pass is handed, and into what the can's
key covers: which clips with which trims and transitions, the cues placed on the scene's
timeline, the LUT and the delivery; the LUT and the cues stored by content so a changed file
moves the finish task's key (tasks/edit/finish.py) and the scene's key in the can (tasks/run/can.py).

Never imports Prefect (the reel and the can read it before Prefect starts), never calls a provider.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from slate.manifests import LoadedFilm
from slate.manifests.assembly import FilmFinish
from slate.tasks.shot.take_inputs import Finishing, FinishingCue, FinishingEdit, FinishingShot
from slate.tasks.run.versions import FINISH_VERSION

if TYPE_CHECKING:  # the crew is only read here (its storage)
    from slate.tasks.run.run import Crew


def finishing_inputs(st: Crew, root: Path | str, film: LoadedFilm, scene_id: str,
                     approved: list[tuple[str, str, float]], transitions: list[tuple[str, float]], profile: str, *,
                     model_audio: bool = False, dialogue: bool = False) -> Finishing | None:
    """The finish task's inputs for a scene's approved clips ((shot, uri, seconds) in order,
    joined by `transitions`), from the assembly manifest; None when the film asks for no
    finishing (no `finishing:` in film.yaml or the scene, no model audio, no `dialogue` heard):
    the stitched cut is then the scene's output, as before. The LUT and the cues are stored by content here, so the
    task's cache key moves with what is in them."""
    from slate.manifests.assembly import DEFAULT_DELIVERY
    from slate.media.finish import read_audio

    scene = film.scene(scene_id)
    film_fin, fin = film.film.finishing, scene.finishing
    if film_fin is None and fin is None and not model_audio and not dialogue:
        return None
    per_shot = fin.shots if fin else {}
    shots: list[FinishingShot] = []
    at, starts = 0.0, {}
    for k, (shot_id, uri, seconds) in enumerate(approved):
        entry = per_shot.get(shot_id)
        kind, secs = (transitions[k] if k < len(transitions) else ("cut", 0.0))
        row = FinishingShot(uri=uri, seconds=float(seconds), transition=(kind, float(secs)))
        if entry is not None:
            dips = entry.dip_out is not None and kind == "cut" and k + 1 < len(approved)
            row = FinishingShot(uri=uri, seconds=float(seconds), trim_in=entry.trim_in, trim_out=entry.trim_out,
                                exposure=entry.exposure, saturation=entry.saturation,
                                transition=("dip", entry.dip_out.duration) if dips and entry.dip_out else row.transition,
                                dip_colour=entry.dip_out.colour if dips and entry.dip_out else None)
        shots.append(row)
        starts[shot_id] = at
        at += float(seconds) - (row.trim_in or 0.0) - (row.trim_out or 0.0) - \
            (float(secs) if kind == "dissolve" else 0.0)
    cues: list[FinishingCue] = []
    for cue in fin.cues if fin else []:
        if cue.shot is not None and cue.shot not in starts:
            continue   # its shot is not in the cut (escalated or rejected): nothing to place it at
        path = Path(root) / cue.file
        cues.append(FinishingCue(uri=st.storage.put_file(path, path.suffix), file=cue.file, kind=cue.kind,
                                 start=(starts[cue.shot] if cue.shot else 0.0) + cue.at,
                                 seconds=read_audio(path).seconds, offset=cue.offset, length=cue.length,
                                 gain_db=cue.gain_db, fade_in=cue.fade_in, fade_out=cue.fade_out, ducks=cue.ducks))
    lut_key = (fin.lut if fin and fin.lut else None) or (film_fin.lut if film_fin else None)
    lut = st.storage.put_file(Path(root) / lut_key, "cube") if lut_key else None
    delivery = film_fin.delivery_for(profile) if film_fin else DEFAULT_DELIVERY
    edit = FinishingEdit(fade_in=fin.fade_in if fin else 0.0, fade_out=fin.fade_out if fin else 0.0,
                         target_lufs=delivery.target_lufs, true_peak=delivery.true_peak,
                         mezzanine=delivery.mezzanine, poster=delivery.poster, stems=delivery.stems)
    return Finishing(shots=shots, cues=cues, lut=lut, edit=edit)


def _film_part(finish: FilmFinish) -> dict[str, Any]:
    """The film's `finishing:` as the can keys it. A delivery's `burned_subtitles` (issue 37) or
    `stems` (issue 59) left off is not written: a film's keys stay what they were before the
    option existed."""
    dumped: dict[str, Any] = finish.model_dump(mode="json")
    for delivery in dumped.get("delivery", {}).values():
        for option in ("burned_subtitles", "stems"):
            if not delivery.get(option):
                delivery.pop(option, None)
    return dumped


def edit_fingerprint(root: Path | str, film: LoadedFilm, scene_id: str) -> dict[str, Any] | None:
    """What of the assembly manifest a scene's finished cut depends on, for the can's key
    (tasks/run/can.py): the film's and the scene's `finishing:` and the content of every LUT and cue
    they name. None when neither has one."""
    from slate.providers.storage_local import file_sha256

    scene = film.scene(scene_id)
    film_fin, fin = film.film.finishing, scene.finishing
    if film_fin is None and fin is None:
        return None
    files = sorted({k for k in [film_fin.lut if film_fin else None, fin.lut if fin else None] if k}
                   | {c.file for c in (fin.cues if fin else [])})
    return {"version": FINISH_VERSION, "film": _film_part(film_fin) if film_fin else None,
            "scene": fin.model_dump(mode="json") if fin else None,
            "files": {k: file_sha256(Path(root) / k) if (Path(root) / k).is_file() else None for k in files}}
