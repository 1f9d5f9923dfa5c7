"""Deployments of slate's flows for one film project, served from one long-lived process.

    scene              — one scene on demand (parameters: project; scene/profile/… from the form)
    film               — the whole film on demand
    nightly-dailies    — every scene at the draft profile, every night at 01:00, then the wrap report,
                         and the dailies form opened for the night's takes
    bible              — a reference version approved by a person (once the film has a bible)
    dailies            — the dailies form: a person's word on the shots with new takes

`build_deployments` only builds `RunnerDeployment` objects (`flow.to_deployment`); it never
contacts a Prefect server. `serve` registers and runs them (`prefect.serve`); stopping it
pauses their schedules. For a work pool instead of a serving process, `slate up` registers the
same deployments (deployments/register.py), or use deployments/prefect.yaml with `prefect deploy`.

This module must never start a run itself or hold a provider key: runs come from the
schedule or the UI, and keys are read by the providers from the environment.
"""
from __future__ import annotations

from pathlib import Path

from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron

from slate.flows.film import film_flow
from slate.flows.run.outcome import made_here
from slate.flows.scene import scene_flow
from slate.deployments.register import (ENTRYPOINTS, NIGHTLY, NIGHTLY_CRON, NIGHTLY_PARAMETERS, apply_form,
                                        bible_deployment, dailies_deployment, dailies_form, film_values,
                                        project_timezone)


def _film(project: Path):
    """The film at `project`, or None when the folder holds no film yet (the forms then take free text)."""
    from slate.manifests import ManifestError, load_film
    try:
        return load_film(project)
    except (ManifestError, OSError):
        return None


def build_deployments(project: str, timezone: str = "UTC") -> list[RunnerDeployment]:
    """The deployments for the film project at `project` (the bible's once it has one); `timezone`
    is the nightly cron's."""
    project = str(Path(project).resolve())
    film = _film(Path(project))
    scene_ids = [sc.id for _, sc in film.scenes] if film is not None else []
    made = [made_here(d) for d in (
        scene_flow.to_deployment(
            name="scene", parameters={"project": project},
            description="Render one scene of the film (choose the scene and profile in the run form).",
            tags=["slate"]),
        film_flow.to_deployment(
            name="film", parameters={"project": project},
            description="Render every scene of the film and cut them into one mp4.", tags=["slate"]),
        film_flow.to_deployment(
            name=NIGHTLY, parameters={"project": project, **NIGHTLY_PARAMETERS},
            schedules=[Cron(NIGHTLY_CRON, timezone=timezone or "UTC", slug=NIGHTLY)],
            description="Every night at 01:00: every scene at the draft profile (480p), then the wrap report "
                        "and the dailies form.",
            tags=["slate", "nightly"]),
    )]
    if film is not None and (film.bible.characters or film.bible.locations):
        made.append(bible_deployment({"project": project}, film))
    made.append(dailies_deployment({"project": project}))
    values = film_values(Path(project))
    for d in made:
        apply_form(d, scene_ids, values)
        d.entrypoint = ENTRYPOINTS["film" if d.name == NIGHTLY else d.name]
        if d.name == "dailies":
            dailies_form(d, scene_ids)
    return made


def serve(project: str) -> None:
    """Register the deployments and run their flows in this process until interrupted."""
    from prefect import serve as prefect_serve

    prefect_serve(*build_deployments(project, project_timezone(project)))


if __name__ == "__main__":
    import sys

    serve(sys.argv[1] if len(sys.argv) > 1 else "example-film")
