"""Deployments of one film on a process work pool: what `slate up` registers on its server.

    scene             — one scene on demand; the form's scene list is the film's own
    film              — every scene (or those picked), cut together
    nightly-dailies   — every scene at the draft profile, 01:00 in the film's timezone, ending
                        with the film's wrap report (film_flow writes it)
    approvals-warden  — every few minutes: suspended approvals past their deadline end
                        "Approval expired" (a suspended run has no process of its own to do it)

Each deployment names its flow by module (slate.flows.scene:scene_flow: one copy of each
module in the worker, never a second one loaded from a file path) and pulls by setting the
working directory to this checkout. The form is the flow's own schema with the titles of
flows/options.py and the film's scenes as choices, fixed at registration (registering again
after editing the film refreshes them).

It must never start a run, and never put a key or a URL with a password in a deployment's
parameters or job variables: those are stored on the server and shown in the UI.
"""
from __future__ import annotations

import copy
from datetime import timedelta
from pathlib import Path

from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron, Interval

from slate.deployments.warden import approvals_warden
from slate.flows.film import film_flow
from slate.flows.options import TITLES
from slate.flows.scene import scene_flow
from slate.governor.budget import block_name
from slate.manifests import load_film
from slate.manifests.settings import project_settings

REPO = Path(__file__).resolve().parents[1]
NIGHTLY = "nightly-dailies"
NIGHTLY_CRON = "0 1 * * *"
WARDEN = "approvals-warden"
WARDEN_EVERY = timedelta(minutes=5)

#: The module entrypoint of each flow (serve.py's deployments carry the same ones).
ENTRYPOINTS = {"scene": "slate.flows.scene:scene_flow", "film": "slate.flows.film:film_flow",
               "approvals-warden": "slate.deployments.warden:approvals_warden",
               "bible": "slate.flows.bible:bible_flow"}   # issue 24: a reference version approved from the UI


def pool_name(film_id: str) -> str:
    """The film's process work pool: one per film, so pausing it (the budget automation) stops
    only that film's runs."""
    return "slate-" + block_name(film_id)


def project_timezone(project: Path) -> str:
    """The nightly schedule's timezone: slate.toml's `timezone`, else UTC."""
    return getattr(project_settings(Path(project)), "timezone", None) or "UTC"


def form_defaults(project: Path) -> dict:
    """What the run form shows before a person changes anything: the film's own settings (its
    profile, provider, what a gate does with what the judge cannot judge, scenes at once), not
    the placeholder "from slate.toml" a person cannot read a value from. Registering again
    after editing slate.toml refreshes them. Empty when the settings cannot be read (a run
    then says why)."""
    try:
        settings = project_settings(Path(project))
    except Exception:  # noqa: BLE001 - `slate check` names what is wrong; the form keeps its placeholders
        return {}
    # Model audio keeps "from slate.toml": its value is the profile's ([models.<profile>] audio), so
    # the default profile's answer shown here would be wrong the moment a person picks another one.
    return {"profile": settings.profile, "provider": settings.provider, "cannot_judge": settings.cannot_judge,
            "max_parallel_scenes": settings.max_parallel_scenes}


def form_schema(schema: dict, scene_ids: list[str], defaults: dict | None = None) -> dict:
    """The run form: each field titled for a person, scene(s) offered from the film's list, and
    the film's own values as the defaults."""
    schema = copy.deepcopy(schema)
    props = schema.get("properties", {})
    for name, title in TITLES.items():
        if name in props:
            props[name]["title"] = title
    for name, value in (defaults or {}).items():
        if name in props and value not in (None, ""):
            props[name]["default"] = value
    if scene_ids and "scene" in props:
        # A dropdown of this film's scenes; the first is what an empty scene meant.
        props["scene"].update({"enum": list(scene_ids), "default": scene_ids[0], "type": "string"})
    if scene_ids and "scenes" in props:
        props["scenes"]["items"] = {"type": "string", "enum": list(scene_ids)}
    return schema


def apply_form(deployment: RunnerDeployment, scene_ids: list[str], defaults: dict | None = None) -> None:
    """The form on a built deployment (Prefect keeps the flow's schema in a private field)."""
    schema = deployment._parameter_openapi_schema
    schema.properties = form_schema({"properties": schema.properties}, scene_ids, defaults)["properties"]


def build(project: Path, timezone: str | None = None, address: str | None = None) -> list[RunnerDeployment]:
    """The film's five deployments, built here (nothing is sent to a server). With `address`
    (a pushed film's s3://…/films/<id>), runs are given that instead of the folder: each
    worker pulls the film into its own working folder (flows/lot.py)."""
    project = Path(project).resolve()
    film = load_film(project)
    scene_ids = [sc.id for _, sc in film.scenes]
    tz = timezone or project_timezone(project)
    where = {"project": address or str(project)}
    made = [
        scene_flow.to_deployment(
            name="scene", parameters={**where, "scene": scene_ids[0]}, tags=["slate"],
            description="Render one scene of the film: pick the scene and the profile (final and hero wait for "
                        "your approval before any final video)."),
        film_flow.to_deployment(
            name="film", parameters=where, tags=["slate"],
            description="Render every scene of the film (or those picked) and cut them into one mp4."),
        film_flow.to_deployment(
            name=NIGHTLY, parameters={**where, "profile": "draft"}, tags=["slate", "nightly"],
            schedules=[Cron(NIGHTLY_CRON, timezone=tz, slug=NIGHTLY)],
            description=f"Every night at 01:00 ({tz}): every scene at the draft profile (480p), then the film's "
                        "wrap report — fresh dailies in the morning."),
        bible_deployment(where, film),
        approvals_warden.to_deployment(
            name=WARDEN, tags=["slate"], schedules=[Interval(WARDEN_EVERY, slug=WARDEN)],
            description="Ends suspended approvals past their deadline as 'Approval expired' (nothing is rendered "
                        "at final size)."),
    ]
    defaults = form_defaults(project)
    for d in made:
        apply_form(d, scene_ids, {k: v for k, v in defaults.items() if k not in d.parameters})
        d.enforce_parameter_schema = True
    return made


def bible_deployment(where: dict, film) -> RunnerDeployment:
    """The bible workshop's approval: pick the asset and the version; the run waits with the
    candidate beside the canonical reference (flows/bible.py)."""
    from slate.flows.bible import bible_flow
    first = (film.bible.characters or film.bible.locations)[0].id
    return bible_flow.to_deployment(
        name="bible", parameters={**where, "asset": first, "version": 1}, tags=["slate", "bible"],
        description="Approve a reference version (slate bible turnaround/plate made it): the run shows it beside "
                    "the canonical one and the shots it would re-make, and promotes it if you approve.")


def pull_steps() -> list[dict]:
    """Run from this checkout, wherever the worker was started."""
    return [{"prefect.deployments.steps.set_working_directory": {"directory": str(REPO)}}]


def register(client, project: Path, pool: str, timezone: str | None = None,
             address: str | None = None) -> dict[str, str]:
    """Create or update (by flow and name) the film's deployments on `pool`; their ids by name.
    `client` is a sync Prefect client of the server to register on."""
    ids = {}
    for d in build(project, timezone, address):
        flow_id = client.create_flow_from_name(d.flow_name)
        entry = ENTRYPOINTS["film" if d.name == NIGHTLY else d.name]
        ids[d.name] = str(client.create_deployment(
            flow_id=flow_id, name=d.name, description=d.description, tags=d.tags, parameters=d.parameters,
            parameter_openapi_schema=d._parameter_openapi_schema.model_dump(exclude_unset=True),
            enforce_parameter_schema=True,
            schedules=d.schedules, work_pool_name=pool, entrypoint=entry, pull_steps=pull_steps(),
            job_variables={}))
    return ids
