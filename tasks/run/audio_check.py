"""`slate check`'s word on the sound a run asks its video models for (issue 23, model audio).

Whether a model makes sound, and how, is data each provider declares (providers.spec
AUDIO_WAYS): it takes `generate_audio`, it always makes its sound (Veo through the Gemini
Developer API), or it makes none. This module holds a run's lineup — its video model and every
fallback — to the run's `model_audio` and says, per scene, which shots will not get what was
asked.

Both findings are warnings, not refusals: nothing is wasted either way. A model that makes no
sound is sent no audio field and priced at its one price; its clips get silence of exactly their
length in the cut, as any silent clip does. A lineup may mix a sound model with a silent fallback
on purpose. And a model that always makes sound is billed at the with-audio price it has, asked
or not — said so the film-maker is not surprised by sound (or its price) they did not ask for.

It must never call a provider, spend, or read a file.
"""
from __future__ import annotations

from slate.manifests import LoadedFilm, Problem
from slate.providers.registry import ModelRef, provider

FIELD = "model_audio"


def audio_warnings(film: LoadedFilm, scenes: list[str], videos: list[str], asked: bool) -> list[Problem]:
    """Warnings for these scenes with this lineup (`videos`: the video model first, then its
    fallbacks) when the run asks (`asked`) for the models' sound — or does not, of a model that
    makes it anyway. One line per scene and model, naming the shots."""
    warnings: list[Problem] = []
    for index, key in enumerate(videos):
        ref = ModelRef.parse(key)
        way = provider(ref.provider).audio_of(ref.model)
        role = "video model" if index == 0 else "fallback video model"
        if asked and way == "none":
            said = (f"{role} {key} makes no sound (no audio input in its provider's notes): model_audio is on, "
                    f"but {'a shot switched to it' if index else 'these shots'} will be silent in the cut "
                    f"(silence of their length) and no audio is paid for")
        elif not asked and way == "always":
            said = (f"{role} {key} always makes its sound (the Gemini Developer API takes no generate_audio): "
                    f"model_audio is off, yet its clips carry sound, kept in the cut, and are billed at the "
                    f"with-audio price")
        else:
            continue
        for scene_id in scenes:
            shots = [s.id for s in film.scene(scene_id).shots]
            if shots:
                warnings.append(Problem(film.scene_file(scene_id), None, FIELD,
                                        f"shot{'s' if len(shots) > 1 else ''} {', '.join(shots)}: {said}"))
    return warnings
