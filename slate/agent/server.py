"""The MCP tools of `slate mcp DIR`, on the official SDK's MCPServer (mcp 2.x).

Context tools read (slate/agent/context.py); work tools go through the governor: `check`,
`estimate`, `escalations` and `report` run the CLI's own commands (`python -m slate.cli ...`, in
a subprocess: their output is what a person would read, and nothing they print can reach the MCP
channel on stdout); `run` starts a session run (slate/agent/session.py) and returns its id at
once; `status` and `stop` take that id. `turnaround` and `plate` make a new bible version
(`slate bible turnaround|plate`, through the governor under the session's caller and what its cap
has left); `versions` lists them. Making a version is the agent's; making it canonical is not.

Absent on purpose, not refused: approve, promote a reference, raise a cap, clear a STOP,
reconcile, and any profile above `--max-profile` (the `run` tool's profile list ends there).
Those are a person's levers; an agent that cannot see them cannot talk itself into pulling them.

Every result passes through `session.scrub` (no key), and a refusal is a tool error whose text
names the lever that refused it.

It must never register a tool that spends outside a session run, approves, promotes, raises a
cap, clears a stop or reconciles.
"""
# No `from __future__ import annotations`: the SDK reads each tool's annotations, and `Profile`
# (the profiles this session allows) is local to build().
import functools
import json
import subprocess
import sys
from decimal import Decimal
from typing import Any, Callable, Literal, Optional

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.utilities.types import Image
from mcp_types import TextContent, ToolAnnotations

from pydantic import ValidationError

from slate.commands.options import argv_of
from slate.governor.money import fmt_usd
from slate.manifests.options import RunOptions, option_names
from slate.agent import context
from slate.agent.session import Refused, Session, scrub
from slate.manifests.turnaround import View

#: What the agent is told when it connects: the levers, so it does not go looking for others.
INSTRUCTIONS = """slate renders one film: storyboard panels, gates, video clips, a cut.
Read before you spend: bible, shot, prompt (with its lint), references, images, verdicts, ledger, refusals.
Spend only through run (a scene or the film, at a profile this session allows) and turnaround / plate (a new
reference version), within this session's cap; estimate first. A run goes in the background: poll status with its run id; stop ends your own run.
A person approves finals, promotes a version to the canonical reference, raises caps, clears a STOP and reconciles: there are no tools
for those. A final-profile run waits for a person at its approval: tell your user, do not wait in a loop."""

CLI_TIMEOUT = 300.0


def _text(value: Any) -> TextContent:
    body = value if isinstance(value, str) else json.dumps(value, indent=1, default=str, ensure_ascii=False)
    return TextContent(type="text", text=scrub(body))


def _tool(fn: Callable) -> Callable:
    """A tool body: a refusal becomes a tool error naming its lever; text results are scrubbed."""
    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        try:
            got = fn(*args, **kwargs)
        except Refused as exc:
            raise ToolError(scrub(str(exc))) from None
        if isinstance(got, list):
            return [x if isinstance(x, Image) else _text(x) for x in got]
        return [_text(got)]
    return wrapped


def told_tool(body: Callable[[RunOptions], Any], narrowed: dict[str, Any] | None = None) -> Callable:
    """A tool whose arguments are the run options an agent may tell (`Told.mcp` in
    manifests/options.py), each optional, typed as RunOptions declares it (`narrowed`: a narrower
    type for one, e.g. the profiles this session allows); `body` is handed them as one RunOptions."""
    import inspect
    names = option_names(mcp=True)
    params = []
    for name in names:
        field = RunOptions.model_fields[name]
        kind = (narrowed or {}).get(name, field.annotation)
        default = field.get_default(call_default_factory=True) if name in (narrowed or {}) else None
        params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                        annotation=kind if default is not None else Optional[kind]))

    def tool(**given: Any) -> Any:
        try:
            options = RunOptions(**given)
        except ValidationError as exc:
            raise Refused("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())) from None
        return body(options)
    tool.__name__ = body.__name__
    tool.__doc__ = body.__doc__
    tool.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    tool.__annotations__ = {p.name: p.annotation for p in params}
    return tool


def _cli(session: Session, *args: str) -> str:
    """One of the CLI's own commands on this film, as a person would read it (exit code said)."""
    done = subprocess.run([sys.executable, "-m", "slate.cli", *args], cwd=session.root, capture_output=True,
                          text=True, timeout=CLI_TIMEOUT, stdin=subprocess.DEVNULL)
    out = (done.stdout + ("\n" + done.stderr if done.stderr.strip() else "")).strip()
    return f"$ slate {' '.join(args)}\n{out}\n(exit {done.returncode})"


def build(session: Session) -> MCPServer:
    """The server for one session: every tool of the module docstring, and no other."""
    mcp = MCPServer(name="slate", instructions=INSTRUCTIONS, version="0.1.0", log_level="WARNING")
    root = str(session.root)
    profiles = session.allowed_profiles()
    # The run tool's schema offers only what the person allowed: a type made at run time (the SDK
    # reads it from the tool's signature), so to a type checker a value.
    Profile: object = Literal[profiles]

    def add(fn: Callable, description: str) -> None:
        # Hints for the client (e.g. to ask its user before a call): only run spends, only stop ends something.
        hints = ToolAnnotations(read_only_hint=fn.__name__ not in ("run", "stop", "turnaround", "plate"),
                                destructive_hint=fn.__name__ == "stop",
                                idempotent_hint=fn.__name__ not in ("run", "turnaround", "plate"))
        mcp.add_tool(_tool(fn), name=fn.__name__, description=description, structured_output=False,
                     annotations=hints)

    # -- context ------------------------------------------------------------------------------
    def bible() -> Any:
        return context.bible(session)
    add(bible, "The bible's locked blocks (characters, locations, each scene's wardrobe), with their source file.")

    def scenes() -> Any:
        return [{"scene": sc.id, "source": key, "shots": [s.id for s in sc.shots],
                 "seconds": sc.total_seconds()} for key, sc in session.film.scenes]
    add(scenes, "The film's scenes and their shots, in film order.")

    def shot(scene: str, shot: str) -> Any:
        return context.shot_manifest(session, scene, shot)
    add(shot, "One shot's manifest as its scene file declares it (source file and field).")

    def prompt(scene: str, shot: str, stage: Literal["panel", "clip"] = "panel", model: Optional[str] = None,
               moment: Literal["start", "end"] = "start") -> Any:
        return context.prompt(session, scene, shot, stage, model, moment)
    add(prompt, "The exact prompt slate would send for a shot's panel (start or end) or clip, to a model "
                "('provider:model'; default: the film's lineup), assembled by the code a run uses, with the "
                "lint's findings (warn / block).")

    def references(scene: str, shot: str) -> Any:
        out: list = []
        for about, data in context.references(session, scene, shot):
            out.append(about)
            if data is not None:
                out.append(Image(data=data, format="jpeg" if data[:3] == b"\xff\xd8\xff" else "png"))
        return out or "this shot uses no reference"
    add(references, "The references a shot uses (character turnarounds, its location's plate, a panel "
                    "override), as images, each after a line saying which it is and where it comes from.")

    def images(scene: str, shot: str, profile: Optional[str] = None) -> Any:
        out: list = []
        for about, path in context.images(session, scene, shot, profile):
            out.append(about if path is not None else {**about, "missing": "not in local storage"})
            if path is not None:
                out.append(Image(path=path))
        return out or f"scene {scene}, shot {shot}: nothing rendered yet"
    add(images, "A shot's latest panel, the keyframes of its latest clip as the gate judged them, and its "
                "scene's contact sheet (of a profile, else the newest), as images.")

    def verdicts(scene: str, shot: str) -> Any:
        return context.verdicts(session, scene, shot)
    add(verdicts, "Every gate verdict of a shot: the judge's own scores and reasons, with the ledger call it "
                  "came from.")

    def ledger(scene: str, shot: str) -> Any:
        return context.ledger_rows(session, scene, shot)
    add(ledger, "The ledger rows of a shot: every paid call, its cost, its outcome, who asked (caller).")

    def refusals(scene: str, shot: str) -> Any:
        return context.refusals(session, scene, shot)
    add(refusals, "A provider's refusals of a shot's calls, in the provider's own words, with the prompt and "
                  "references that were sent.")

    # -- work through the governor ------------------------------------------------------------
    # check, estimate and run take the run options an agent may choose (manifests/options.py
    # `Told.mcp`), derived from RunOptions; the profile offered stops at --max-profile.
    def check(options: RunOptions) -> Any:
        session.check_request(options)
        return _cli(session, "check", root, *argv_of(session.told(options)))
    add(told_tool(check, {"profile": Profile}), "slate check: everything a run needs, checked before it spends "
        "(manifests, references, prompts' lint, providers, prices).")

    def estimate(options: RunOptions) -> Any:
        session.check_request(options)
        table = _cli(session, "estimate", root, *argv_of(session.told(options).telling(run_cap_usd=session.left())))
        return [table, _session_money(session)]
    add(told_tool(estimate, {"profile": Profile}), "slate estimate: the expected cost per shot and in total, against "
        "what this session has left.")

    def run(options: RunOptions) -> Any:
        started = session.start(options)
        return {"run_id": started.id, "scenes": started.scenes or "the film", "profile": started.profile,
                "estimate": fmt_usd(started.estimate), "run_cap": fmt_usd(started.cap),
                "next": "poll status with this run_id until it ends"}
    add(told_tool(run, {"profile": Profile}), "Render scenes (or the film) at a profile this session allows, in the "
        "background, within the session's cap: refused before anything is paid when the estimate does not fit. "
        "Returns a run id.")

    def status(run_id: Optional[str] = None) -> Any:
        if run_id is None:
            return {**_session_money(session), "runs": [{"run_id": r.id, "state": r.state(), "scenes": r.scenes,
                                                          "profile": r.profile} for r in session.runs.values()]}
        r = session.run(run_id)
        rows = session.rows(r)
        spent = sum((x.actual_cost if x.actual_cost is not None else x.estimate) for x in rows
                    if x.status in ("succeeded", "failed", "unknown", "submitted", "reserved")) or Decimal(0)
        state = r.state()
        out = {"run_id": r.id, "state": state, "scenes": r.scenes or "the film", "profile": r.profile,
               "calls": len(rows), "by_status": _count(x.status for x in rows), "spent_about": fmt_usd(spent),
               **_session_money(session), "output_tail": r.output(40)}
        if state == "waiting for a person":
            out["approval"] = {**_approval(session), "who": "a person: slate approve DIR, or Resume in the Prefect "
                                                            "UI; no tool of this server can answer it"}
        return out
    add(status, "A run's live progress (its state, its calls, what it spent, the last lines it printed); "
                "without a run id: the session's money and runs.")

    def stop(run_id: str) -> Any:
        r = session.stop(run_id)
        return {"run_id": r.id, "state": r.state(),
                "note": "jobs already sent keep their job ids in the ledger; the next run collects them"}
    add(stop, "Stop one of this session's runs (never anyone else's): nothing new is sent.")

    def escalations(scene: Optional[str] = None) -> Any:
        return _cli(session, "escalations", root, *(["--scene", scene] if scene else []))
    add(escalations, "slate escalations: every escalated shot of each scene's latest run, its failing scores with "
                     "the judge's reasons, a provider's refusal in its own words, and what a person can do.")

    # -- the bible workshop: new versions only; promoting one is a person's (slate bible approve)
    def turnaround(character: str, fix_view: Optional[View] = None,
                   from_version: Optional[int] = None) -> Any:
        return session.make_version(["turnaround", root, character, *_given(fix=fix_view, from_=from_version)])
    add(turnaround, "Make a new version of a character's turnaround sheet from the bible's locked description, or "
                    "fix one view of a version (fix_view + from_version), through the governor within this "
                    "session's cap; the version passes the reference gate or says why not. It never becomes the "
                    "canonical reference: a person approves that.")

    def plate(location: str, edit: Optional[str] = None, from_version: Optional[int] = None) -> Any:
        return session.make_version(["plate", root, location, *_given(edit=edit, from_=from_version)])
    add(plate, "Make a new version of a location plate, or one edit of a version (edit: one change, e.g. "
               "'remove the red stools', + from_version), through the governor within this session's cap. A "
               "person approves it as canonical.")

    def versions(asset: Optional[str] = None) -> Any:
        return _cli(session, "bible", "versions", root, *([asset] if asset else []))
    add(versions, "slate bible versions: every version of a character or location (or the whole bible) with its "
                  "parent, model, cost, reference-gate scores and which one is canonical.")

    def report(run_id: Optional[str] = None) -> Any:
        out: list[str | dict[str, object]] = [_cli(session, "status", root), _cli(session, "report", root)]
        if run_id is not None:
            r = session.run(run_id)
            out.append({"run_id": r.id, "state": r.state(), "output": r.output(400)})
        return out
    add(report, "slate status (renders, spending, what waits for a person) and slate report (writes the film's "
                "production report, one HTML page a person opens: its path is given); with a run id, that run's "
                "full printed report.")
    return mcp


def _given(**flags) -> list[str]:
    """`--name value` for each flag given (None: left out); `from_` is `--from`."""
    out: list[str] = []
    for name, value in flags.items():
        if value is not None:
            out += [f"--{name.rstrip('_')}", str(value)]
    return out


def _approval(session: Session) -> dict:
    """What the waiting run's marker says (flows/approval.py): scene, profile, shots, deadline."""
    from slate.flows.approval import APPROVAL_FILE
    try:
        record = json.loads((session.root / ".slate" / APPROVAL_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return {k: record[k] for k in ("scene", "profile", "shots", "deadline") if k in record}


def _count(values) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


def _session_money(session: Session) -> dict:
    spent = session.spent()
    return {"session": session.caller, "session_cap": fmt_usd(session.cap),
            "session_spent": fmt_usd(spent.total), "session_left": fmt_usd(max(Decimal(0), session.cap - spent.total)),
            "profiles_allowed": list(session.allowed_profiles()), "price_as": session.price_as}
