"""Deployments of one film on a process work pool: what `slate up` registers on its server.

    scene             — one scene on demand; the form's scene list is the film's own
    film              — every scene (or those picked), cut together
    nightly-dailies   — every scene at the draft profile, 01:00 in the film's timezone, ending
                        with the film's wrap report (film_flow writes it) and by opening the
                        dailies form for the night's takes
    dailies           — the dailies form: a person's word on the shots with new takes
                        (flows/dailies.py); the nightly opens it, anyone may run it after a run
    approvals-warden  — every few minutes: suspended approvals past their deadline end
                        "Approval expired", suspended dailies "Dailies expired" (a suspended run
                        has no process of its own to do it)

Each deployment names its flow by module (slate.flows.scene:scene_flow: one copy of each
module in the worker, never a second one loaded from a file path) and pulls by setting the
working directory to this checkout. The form is the flow's own schema with the titles of
flows/run/options.py and the film's scenes as choices, fixed at registration (registering again
after editing the film refreshes them).

It must never start a run, and never put a key or a URL with a password in a deployment's
parameters or job variables: those are stored on the server and shown in the UI.
"""
from __future__ import annotations

import copy
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron, Interval

from slate.deployments.warden import approvals_warden
from slate.flows.film import film_flow
from slate.flows.run.outcome import made_here
from slate.manifests.options import RunOptions, option_names
from slate.flows.scene import scene_flow
from slate.governor.budget import block_name
from slate.manifests import LoadedFilm, load_film
from slate.manifests.settings import project_settings

if TYPE_CHECKING:
    from prefect.client.orchestration import SyncPrefectClient

REPO = Path(__file__).resolve().parents[1]
NIGHTLY = "nightly-dailies"
NIGHTLY_CRON = "0 1 * * *"
#: The nightly's run: the draft profile, ending with the dailies form (issue 40).
NIGHTLY_PARAMETERS = {"options": RunOptions(profile="draft").model_dump(mode="json"), "dailies": True}
WARDEN = "approvals-warden"
WARDEN_EVERY = timedelta(minutes=5)

#: The module entrypoint of each flow (serve.py's deployments carry the same ones).
ENTRYPOINTS = {"scene": "slate.flows.scene:scene_flow", "film": "slate.flows.film:film_flow",
               "approvals-warden": "slate.deployments.warden:approvals_warden",
               "bible": "slate.flows.bible:bible_flow",   # issue 24: a reference version approved from the UI
               "dailies": "slate.flows.dailies:dailies_flow"}   # issue 40: a person's word on the takes


def pool_name(film_id: str) -> str:
    """The film's process work pool: one per film, so pausing it (the budget automation) stops
    only that film's runs."""
    return "slate-" + block_name(film_id)


def project_timezone(project: Path | str) -> str:
    """The nightly schedule's timezone: slate.toml's `timezone`, else UTC."""
    return getattr(project_settings(Path(project)), "timezone", None) or "UTC"


def film_values(project: Path) -> dict[str, object]:
    """The film's own value of each option on the form (its settings, as a run not told them
    resolves them), to say beside each field; empty when the settings cannot be read (a run
    then says why). Registering again after editing slate.toml refreshes them."""
    try:
        settings = project_settings(Path(project))
    except Exception:  # noqa: BLE001 - `slate check` names what is wrong; the form says no value
        return {}
    return {name: getattr(settings, name) for name in option_names(form=True, setting=True)}


def _plain(prop: dict[str, Any]) -> None:
    """A field as a person fills it: no "or null" toggle (empty is "not told"), money as text."""
    branches = [b for b in prop.pop("anyOf", []) if b.get("type") != "null"]
    if len(branches) == 1:
        prop.update(branches[0])
    elif branches:   # Decimal: a number or a text; the form asks for the text (never a float)
        prop.update({"type": "string"})
    if prop.get("type") == "boolean":   # a switch left alone is not told; a checkbox cannot say that
        prop.pop("type")
        prop.update({"type": "string", "enum": ["on", "off"]})


def options_form(definition: dict[str, Any], scene_ids: list[str],
                 values: dict[str, object] | None = None) -> dict[str, Any]:
    """The RunOptions part of a run form: only the options a run form may tell (`Told.form`), each
    titled and described by its field, with no default — a field left empty is not told, and
    the film's slate.toml keeps its say (its current value is said in the description) — the
    providers as choices and the film's scenes offered."""
    from slate.providers.registry import provider_names
    keep = set(option_names(form=True))
    values = values or {}
    props = {name: prop for name, prop in definition.get("properties", {}).items() if name in keep}
    for name, prop in props.items():
        prop.pop("default", None)
        _plain(prop)
        if name in values and values[name] not in (None, "", [], {}):
            value = values[name]
            shown = ("on" if value else "off") if isinstance(value, bool) else value
            prop["description"] = f"{prop.get('description', '')} (empty: the film's own, now {shown})"
    if "provider" in props:
        props["provider"]["enum"] = list(provider_names())
    if scene_ids and "scenes" in props:
        props["scenes"]["items"] = {"type": "string", "enum": list(scene_ids)}
    definition["properties"] = props
    definition.pop("required", None)
    return definition


def form_schema(schema: dict[str, Any], scene_ids: list[str],
                values: dict[str, object] | None = None) -> dict[str, Any]:
    """The run form: project and scene titled for a person, the scene offered from the film's
    list, and the options as `options_form` makes them."""
    schema = copy.deepcopy(schema)
    props = schema.get("properties", {})
    for name, title in (("project", "Film project"), ("scene", "Scene"), ("options", "Options"),
                        ("dailies", "Dailies after"), ("scenes", "Scenes"), ("profile", "Profile")):
        if name in props:
            props[name]["title"] = title
    if scene_ids and "scene" in props:
        # A dropdown of this film's scenes; the first is what an empty scene meant.
        props["scene"].update({"enum": list(scene_ids), "default": scene_ids[0], "type": "string"})
    for key in ("definitions", "$defs"):
        if "RunOptions" in (schema.get(key) or {}):
            options_form(schema[key]["RunOptions"], scene_ids, values)
    if "options" in props:
        props["options"]["default"] = {}
    schema["required"] = [r for r in schema.get("required", []) if r != "options"]
    return schema


def apply_form(deployment: RunnerDeployment, scene_ids: list[str], values: dict[str, object] | None = None) -> None:
    """The form on a built deployment (Prefect keeps the flow's schema in a private field)."""
    schema = deployment._parameter_openapi_schema
    made = form_schema(schema.model_dump(), scene_ids, values)
    schema.properties = made["properties"]
    schema.required = made.get("required", [])
    if made.get("definitions") is not None:
        schema.definitions = made["definitions"]


def build(project: Path, timezone: str | None = None, address: str | None = None) -> list[RunnerDeployment]:
    """The film's six deployments, built here (nothing is sent to a server). With `address`
    (a pushed film's s3://…/films/<id>), runs are given that instead of the folder: each
    worker pulls the film into its own working folder (flows/run/lot.py); the dailies are then not
    among them."""
    project = Path(project).resolve()
    film = load_film(project)
    scene_ids = [sc.id for _, sc in film.scenes]
    tz = timezone or project_timezone(project)
    where = {"project": address or str(project)}
    made = [made_here(d) for d in (
        scene_flow.to_deployment(
            name="scene", parameters={**where, "scene": scene_ids[0]}, tags=["slate"],
            description="Render one scene of the film: pick the scene and the profile (final and hero wait for "
                        "your approval before any final video)."),
        film_flow.to_deployment(
            name="film", parameters=where, tags=["slate"],
            description="Render every scene of the film (or those picked) and cut them into one mp4."),
        film_flow.to_deployment(
            name=NIGHTLY, parameters={**where, **NIGHTLY_PARAMETERS},
            tags=["slate", "nightly"],
            schedules=[Cron(NIGHTLY_CRON, timezone=tz, slug=NIGHTLY)],
            description=f"Every night at 01:00 ({tz}): every scene at the draft profile (480p), then the film's "
                        "wrap report — and the dailies form waits for your word in the morning."),
        bible_deployment(where, film),
        approvals_warden.to_deployment(
            name=WARDEN, tags=["slate"], schedules=[Interval(WARDEN_EVERY, slug=WARDEN)],
            description="Ends suspended approvals past their deadline as 'Approval expired' (nothing is rendered "
                        "at final size)."),
    )]
    if address is None:
        # The dailies read the takes runs left in the film's folder (.slate/rushes); a pushed film's
        # takes are spread over its workers' own folders, so it has none to show.
        made.insert(-1, dailies_deployment(where))
    values = film_values(project)
    for d in made:
        apply_form(d, scene_ids, values)
        d.enforce_parameter_schema = True
        if d.name == "dailies":
            dailies_form(d, scene_ids)
    return made


def bible_deployment(where: dict[str, str], film: LoadedFilm) -> RunnerDeployment:
    """The bible workshop's approval: pick the asset and the version; the run waits with the
    candidate beside the canonical reference (flows/bible.py)."""
    from slate.flows.bible import bible_flow
    first = (film.bible.characters or film.bible.locations)[0].id
    return made_here(bible_flow.to_deployment(
        name="bible", parameters={**where, "asset": first, "version": 1}, tags=["slate", "bible"],
        description="Approve a reference version (slate bible turnaround/plate made it): the run shows it beside "
                    "the canonical one and the shots it would re-make, and promotes it if you approve."))


def dailies_deployment(where: dict[str, str]) -> RunnerDeployment:
    """The dailies form on demand (the nightly opens one itself): pick the scenes and the profile,
    or leave them for all scenes at the film's profile."""
    from slate.flows.dailies import dailies_flow
    return made_here(dailies_flow.to_deployment(
        name="dailies", parameters=dict(where), tags=["slate", "dailies"],
        description="The dailies: each shot with new takes — its picture, gate scores, cost, the takes before it — "
                    "and your word on it (circle, NG with a note, hold). Waits suspended until you answer."))


def dailies_form(deployment: RunnerDeployment, scene_ids: list[str]) -> None:
    """The dailies' run form: the film's scenes offered, the profile a plain choice (empty: the film's)."""
    props = deployment._parameter_openapi_schema.properties
    if scene_ids and "scenes" in props:
        props["scenes"]["items"] = {"type": "string", "enum": list(scene_ids)}
    if "profile" in props:
        props["profile"].pop("default", None)
        _plain(props["profile"])


def pull_steps() -> list[dict[str, dict[str, str]]]:
    """Run from this checkout, wherever the worker was started."""
    return [{"prefect.deployments.steps.set_working_directory": {"directory": str(REPO)}}]


def register(client: SyncPrefectClient, project: Path, pool: str, timezone: str | None = None,
             address: str | None = None) -> dict[str, str]:
    """Create or update (by flow and name) the film's deployments on `pool`; their ids by name.
    `client` is a sync Prefect client of the server to register on."""
    ids = {}
    for d in build(project, timezone, address):
        assert d.flow_name is not None  # built from a flow (`to_deployment`): it carries the flow's name
        flow_id = client.create_flow_from_name(d.flow_name)
        entry = ENTRYPOINTS["film" if d.name == NIGHTLY else d.name]
        ids[d.name] = str(client.create_deployment(
            flow_id=flow_id, name=d.name, description=d.description, tags=d.tags, parameters=d.parameters,
            parameter_openapi_schema=d._parameter_openapi_schema.model_dump(exclude_unset=True),
            enforce_parameter_schema=True,
            # A built deployment's schedules are ones to create; Prefect types them as ones to create
            # or update, which its client's create_deployment does not take.
            schedules=d.schedules,  # type: ignore[arg-type]
            work_pool_name=pool, entrypoint=entry, pull_steps=pull_steps(),
            job_variables={}))
    return ids
