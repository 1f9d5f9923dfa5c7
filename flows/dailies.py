"""The `dailies` flow: a person's word on the shots with new takes, given from the Prefect UI.

After a run, and every morning after the nightly batch (`film_flow(dailies=True)` opens it), this
flow reads the dailies (flows/review/rushes.py `dailies_of`), shows each shot with takes nobody has given
a word on in a form (flows/review/dailies_form.py), and waits for a person:

  * a run of the `dailies` deployment is *suspended*: no process, no worker held, nothing paid,
    while nobody answers; when the form is submitted it starts again from the top and reads the
    answer against the form it showed (kept as one of the run's inputs);
  * run in this process it is *paused* (the process polls).

On the answer each word is written with tasks/circle.say_word — who (the form's name), when, the
shot, the take, the note — as a $0 row of the ledger's approvals, and the run ends Completed
naming what was said; the next run obeys the words (flows/shot/shot.py). A note to be added to the
prompt goes through the prompt lint first: a note a blocking rule refuses is not written, nor
anything of that shot, and the end says why — the shot stays on the next dailies (it has no word),
and the others' words stand (asking everything again would hold them to another wait and its
expiry over one note). Past the film's `approval_timeout_hours` the run ends "Dailies expired"
(a Completed type: nothing went wrong, the takes come back on the next form) with nothing written
— a paused run by itself, a suspended one by `expire_dailies` (the approvals warden runs it).

It must never spend or make anything, never write a word the person did not give on the form
(an agent's proposal is shown, never applied), and never write a word on a take the form did not
offer.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prefect import flow, get_run_logger
from prefect.client.schemas.objects import State
from prefect.input import RunInput
from prefect.runtime import deployment, flow_run
from prefect.states import Completed, Failed
from pydantic import BaseModel, Field

from slate.flows.review.approval import answered_before, can_suspend, wait_for_a_person
from slate.flows.review.dailies_form import Said, Shown, form_for, form_text, said_of, shown_of
from slate.governor.ledger import Ledger
from slate.manifests import LoadedFilm
from slate.manifests.options import Profile, RunOptions
from slate.manifests.settings import Settings
from slate.tasks.review.circle import WORD_STAGE, TakeWord, say_word, with_note

if TYPE_CHECKING:
    from prefect.client.orchestration import SyncPrefectClient

__all__ = ["dailies_flow", "Answered", "open_dailies", "expire_dailies", "DEPLOYMENT", "EXPIRED", "AFTER"]

DEPLOYMENT = "dailies/dailies"
EXPIRED = "Dailies expired"
SHOWN = "dailies-shown"       # the run input that keeps what the form showed
NAMELESS = "someone at the dailies form"   # the form's name left empty: Prefect's own server knows no user

PROJECT: Any = Field(title="Film project", description="the film project's folder (with film.yaml) on the worker's "
                     "machine, where its runs left their takes")
SCENES: Any = Field([], title="Scenes", description="the scenes whose takes to show (empty: all)")
PROFILE: Any = Field(None, title="Profile", description="the profile whose takes to show (empty: the film's own)")
#: The film run's switch: end by opening the dailies form for what the run made.
AFTER: Any = Field(False, title="Dailies after", description="end by opening the dailies form for the takes this "
                   "run made (a run of the dailies deployment; the nightly batch does)")


class Answered(BaseModel):
    """What a dailies run wrote: the words, and the notes it refused (with why)."""

    words: list[TakeWord] = []
    refused: list[str] = []

    def summary(self) -> str:
        said = "; ".join(f"{w.shot} {w.said()}" + (" (added to the prompt)" if w.add_to_prompt and w.note else "")
                         for w in self.words)
        return (said or "no word given") + (f" — refused: {'; '.join(self.refused)}" if self.refused else "")


def _run_name() -> str:
    return f"dailies-{flow_run.parameters.get('profile') or 'default'}"


@flow(name="dailies", flow_run_name=_run_name, log_prints=False)
def dailies_flow(project: str = PROJECT, scenes: list[str] = SCENES,
                 profile: Profile | None = PROFILE) -> State[Answered]:
    """Show the shots with new takes in a form, wait for a person's word on each, write it."""
    from slate.manifests import ManifestError, load_film
    from slate.manifests.settings import project_settings
    from slate.providers.storage import parse_film_url
    if parse_film_url(project) is not None:
        # The rushes are the folder's (.slate/rushes): a worker's copy of a pushed film has not
        # the takes another worker made.
        return Failed(name="Refused", message="the dailies read the takes a run left in the film's folder: give "
                                              "the folder, not a bucket address")
    root = Path(project).resolve()
    try:
        film, settings = load_film(root), project_settings(root)
    except ManifestError as exc:
        return Failed(name="Refused", message=str(exc))
    known = [s.id for _, s in film.scenes]
    unknown = [s for s in scenes if s not in known]
    if unknown:
        return Failed(name="Refused", message=f"unknown scene(s) {', '.join(unknown)} (film has: {', '.join(known)})")
    chosen, wanted = profile or settings.profile, [s for s in known if s in scenes] or known
    shown = _shown_once(lambda: _shown(root, film, wanted, chosen))
    if not shown.shots:
        return Completed(message=f"no new take at {chosen}: nothing to ask", data=Answered())
    answer = _wait(root, settings, shown, wanted)   # the ledger is not held open while a person is away
    if answer is None:
        return Completed(name=EXPIRED, data=Answered(),
                         message=f"nobody gave a word on {len(shown.shots)} shot(s) within "
                                 f"{settings.approval_timeout_hours:g} h: nothing written (they stay new)")
    with Ledger.for_project(root) as ledger:
        done = _write(ledger, film, settings, shown, said_of(answer, shown),
                      str(answer.model_dump().get("said_by") or "").strip() or NAMELESS)
    get_run_logger().info("dailies: %s", done.summary())
    return Completed(data=done, message=done.summary())


def _shown(root: Path, film: LoadedFilm, scenes: list[str], profile: str) -> Shown:
    from slate.flows.review.rushes import dailies_of
    with Ledger.for_project(root) as ledger:
        return shown_of(film.film.id, profile, dailies_of(root, ledger, film.film.id, scenes, profile))


def _shown_once(make: Callable[[], Shown]) -> Shown:
    """What this run's form shows: made once, and kept as the run's input — a suspended run starts
    again from the top when answered, and must read the answer against the form the person saw
    (a run in between may have made takes, a word from the terminal may have come)."""
    from prefect.input import create_flow_run_input, read_flow_run_input
    kept = read_flow_run_input(SHOWN)
    if kept:
        return Shown.model_validate(kept)
    shown = make()
    create_flow_run_input(SHOWN, shown.model_dump(mode="json"))
    return shown


def _wait(root: Path, settings: Settings, shown: Shown, scenes: list[str]) -> RunInput | None:
    """Suspend (a deployment's run) or pause (in this process) until the form is answered: the
    answer, or None when nobody answered in time."""
    from slate.providers.storage import storage_for
    key = f"dailies-{shown.profile}"
    seconds = int(settings.approval_timeout_hours * 3600)
    suspending = can_suspend()
    # A resumed run meets its answered wait again (the form's text is not needed then).
    first = not answered_before(key)
    text = form_text(shown, scenes) if first else ""
    ready = form_for(shown, storage_for(root, settings).open_local if first else None).with_initial_data(
        description=text or None)
    if text:
        get_run_logger().info("dailies: %d shot(s) wait for your word — open this run in the Prefect UI and press "
                              "Resume%s", len(shown.shots), " (suspended: no worker is held)" if suspending else "")
    # Suspended, the warden ends it at our deadline (the server's own timeout an hour later is a backstop).
    answer: RunInput | None = wait_for_a_person(ready, seconds, key, suspending)
    return answer


def _write(ledger: Ledger, film: LoadedFilm, settings: Settings, shown: Shown, said: list[Said], by: str) -> Answered:
    """Each word given, as a row of the ledger's approvals; a note to add to the prompt that the
    lint refuses keeps its shot's word out. Once per run: a run whose process died after writing
    some is not to write them twice when it runs again."""
    run_id = str(flow_run.get_id())
    written = {(a.scene, a.shot) for a in ledger.approvals(run_id=run_id, stage=WORD_STAGE)}
    done = Answered()
    for s in said:
        if (s.scene, s.shot) in written:
            continue
        word = TakeWord(**s.model_dump(), profile=shown.profile, by=by, at=datetime.now(timezone.utc).isoformat())
        refusal = _note_refused(film, settings, shown.profile, word)
        if refusal:
            done.refused.append(f"{s.shot}: {refusal} — nothing written for {s.shot}")
            continue
        done.words.append(say_word(ledger, run_id=run_id, film=shown.film, scene=s.scene, shot=s.shot, kind=s.kind,
                                   take=s.take, word=s.word, note=s.note, add_to_prompt=s.add_to_prompt,
                                   profile=shown.profile, key=s.key, by=by))
    return done


def _note_refused(film: LoadedFilm, settings: Settings, profile: str, word: TakeWord) -> str:
    """Why the prompt lint refuses the note in the next take's prompt ("" when it does not, or the
    note goes into no prompt); its warnings are logged, as before a paid call."""
    if with_note("", word) == "":   # the take loop's own test of whether the note goes into a prompt
        return ""
    from slate.providers.registry import lineup
    from slate.tasks.run.lint import note_findings
    chosen = lineup(settings, profile)
    found = note_findings(film, word.scene, word.shot, word.kind, lambda prompt: with_note(prompt, word),
                          str(chosen.panel), [str(v) for v in chosen.videos])
    for f in found:
        if not f.blocking:
            get_run_logger().warning("dailies: %s: the note in the prompt: %s", word.shot, f)
    return "; ".join(f"the note refused by the prompt lint ({f})" for f in found if f.blocking)


# -- the nightly's ending, and the warden's ---------------------------------------------------------

def open_dailies(project: str, options: RunOptions) -> str:
    """Open the dailies form for what a film run made: under a deployment (a server with slate's
    deployments), a run of the `dailies` deployment, not waited for — the film run ends, the form
    waits on its own, suspended; in this process, the line that says how to open it. Never fails
    the film run: its renders are made; the dailies are a courtesy after them. The line said."""
    from slate.providers.storage import parse_film_url
    log = get_run_logger()
    told = {"profile": options.profile} if "profile" in options.model_fields_set else {}
    parameters = {"project": project, "scenes": list(options.scenes), **told}
    if parse_film_url(project) is not None:
        line = ("dailies: not opened — a pushed film's takes are in its workers' own folders, and the dailies read "
                "them from the film's folder")
        log.info("%s", line)
        return line
    if not deployment.id:
        line = (f"dailies: to give your word on the new takes, run the dailies deployment (project {project}) from "
                f"the Prefect UI, or `slate dailies {project}`")
        log.info("%s", line)
        return line
    from prefect.deployments import run_deployment

    from slate.flows.run.outcome import made_here
    try:
        # Not a sub-flow: Prefect suspends only a top-level run, and a sub-flow would be paused,
        # holding a worker's process all morning.
        run = made_here(run_deployment(DEPLOYMENT, parameters=parameters, timeout=0, as_subflow=False))
    except Exception as exc:  # noqa: BLE001 — no dailies deployment on this server, or it is down
        line = f"dailies: could not open the form ({type(exc).__name__}: {exc}); `slate dailies {project}` shows them"
        log.warning("%s", line)
        return line
    line = f"dailies: the form waits for your word in flow run {run.name} ({run.id})"
    log.info("%s", line)
    return line


def expire_dailies(client: SyncPrefectClient, now: datetime | None = None) -> list[str]:
    """Suspended dailies past their deadline end "Dailies expired", nothing written (a suspended
    run has no process of its own to do it). Returns the ids it ended."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateName
    now = now or datetime.now(timezone.utc)
    ended = []
    waiting = client.read_flow_runs(flow_run_filter=FlowRunFilter(
        state=FlowRunFilterState(name=FlowRunFilterStateName(any_=["Suspended", "Paused"]))))
    for run in waiting:
        details = run.state.state_details if run.state else None
        # our deadline is the server's minus the hour of slack given it
        if details is not None and details.pause_timeout is not None and str(details.pause_key or "").startswith(
                "dailies-") and details.pause_timeout - timedelta(hours=1) < now:
            client.set_flow_run_state(run.id, Completed(name=EXPIRED, message="nobody gave a word in time: nothing "
                                                                            "written (the takes stay new)"),
                                      force=True)
            ended.append(str(run.id))
    return ended
