"""`slate check`'s word on shots that send references to the video model, and composites to polish.

A reference shot (`frame_mode: reference`) sends the cast's turnarounds, the plate and its extra
references instead of a frame; a start shot that lists `references` sends a start frame plus
references. Which video model takes either, how many images and at which resolutions, is data each
provider declares (providers.spec.TakesReferences); this module holds a run's lineup — its video
model and every fallback — to it, shot by shot, and names the shot, the field and the models that
can. It does the same for a human composite's polish pass (a panel model whose provider cannot
polish one).

It must never call a provider, spend, or read an image.
"""
from __future__ import annotations

from slate.manifests import LoadedFilm, Problem, Shot
from slate.manifests.profiles import PROFILES
from slate.providers.registry import ModelRef, provider, reference_models, specs, takes_references


def reference_count(shot: Shot) -> int:
    """How many images the shot's clip is given: its cast, its plate (with no frame), its extras."""
    return len(shot.characters) + (1 if shot.frame_mode == "reference" else 0) + len(shot.references)


def reference_problems(film: LoadedFilm, scenes: list[str], videos: list[str], panel: str,
                       profile: str) -> tuple[list[Problem], list[Problem]]:
    """(problems, warnings) for these scenes' shots with this lineup (`videos`: the video model
    first, then its fallbacks; `panel`: the panel model)."""
    problems: list[Problem] = []
    warnings: list[Problem] = []
    for scene_id in scenes:
        file = film.scene_file(scene_id)
        for shot in film.scene(scene_id).shots:
            if shot.panel_override and not provider(ModelRef.parse(panel).provider).polishes:
                can = [n for n, spec in specs().items() if spec.polishes and spec.models("image")]
                problems.append(Problem(file, shot.id, "panel_override", f"{panel} cannot polish a human composite: "
                                        f"choose a panel model of a provider that can ({', '.join(can)})"))
            if shot.frame_mode != "reference" and not shot.references:
                continue
            problems += _held_to_lineup(file, shot, videos, profile, warnings)
    return problems, warnings


def _held_to_lineup(file: str, shot: Shot, videos: list[str], profile: str, warnings: list[Problem]) -> list[Problem]:
    out = []
    with_frame = shot.frame_mode != "reference"
    field = "references" if with_frame else "frame_mode"
    resolution = PROFILES[profile].for_shot(shot.critical)[0]
    able = [m for m in reference_models()
            if not with_frame or getattr(takes_references(m), "with_frame", None) is True]
    count = reference_count(shot)
    for i, model in enumerate(videos):
        role = "the video model" if i == 0 else "the fallback video model"
        takes = takes_references(model)
        if takes is None:
            out.append(Problem(file, shot.id, field, f"{role} {model} takes no reference images; models that do: "
                                                     f"{', '.join(able) or 'none'}"))
            continue
        if with_frame and takes.with_frame is not True:
            why = "its notes say not" if takes.with_frame is False else "its notes do not say it may"
            out.append(Problem(file, shot.id, field, f"{role} {model} cannot take a start frame together with "
                                                     f"references ({why}): use frame_mode: reference, or a model "
                                                     f"that can: {', '.join(able) or 'none'}"))
            continue
        if takes.resolutions and resolution not in takes.resolutions:
            out.append(Problem(file, shot.id, "critical" if shot.critical else field,
                               f"{role} {model} takes references only at {'/'.join(takes.resolutions)}; the "
                               f"{profile} profile makes this shot at {resolution}"))
        if takes.seconds and shot.duration not in takes.seconds:
            out.append(Problem(file, shot.id, "duration", f"{role} {model} takes references only for "
                                                          f"{'/'.join(map(str, takes.seconds))} s clips"))
        if takes.most is not None and count > takes.most:
            warnings.append(Problem(file, shot.id, field, f"{model} takes {takes.most} reference images; this shot "
                                                          f"has {count}: the first {takes.most} are sent (the cast, "
                                                          f"then the plate, then the extras)"))
        elif takes.most is None and model.split(":")[0] != "local":
            warnings.append(Problem(file, shot.id, field, f"{model}: how many reference images it takes is not "
                                                          f"documented; all {count} are sent"))
    return out
