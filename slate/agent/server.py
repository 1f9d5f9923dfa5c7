"""The MCP tools of `slate mcp DIR`, on the official SDK's MCPServer (mcp 2.x).

Context tools read (slate/agent/context.py); work tools go through the governor: `check`,
`estimate`, `escalations` and `report` run the CLI's own commands (`python -m slate.cli ...`, in
a subprocess: their output is what a person would read, and nothing they print can reach the MCP
channel on stdout); `run` starts a session run (slate/agent/session.py) and returns its id at
once; `status` and `stop` take that id. `turnaround`, `plate` and `voice` make a new bible version
(`slate bible turnaround|plate|voice`, through the governor under the session's caller and what its
cap has left); `versions` lists them. Making a version is the agent's; making it canonical is not.
`dailies` reads every shot's takes and the words on them, and `propose_ng` writes the session's
proposal of an NG with a note (slate/agent/dailies.py): shown to the person, never acted on.
A command that fails is a tool error carrying what it printed; an argument reaches a command as
`--option=value` or after `--`, never where it could be read as an option.

Every call's arguments are checked first (slate/agent/arguments.py): one the tool does not take,
or a value naming nothing of the film, is a tool error naming the argument. Pictures come back as
small previews with a link to the full file, which is a resource: so are the bible, each scene's
manifest and a shot's prompt (`slate://bible`, `slate://scene/<scene>`,
`slate://prompt/<scene>/<shot>`).

Absent on purpose, not refused: approve, promote a reference, raise a cap, clear a STOP,
reconcile, circle, NG or hold a take (a person's word at the dailies), and any profile above
`--max-profile` (the `run` tool's profile list ends there).
Those are a person's levers; an agent that cannot see them cannot talk itself into pulling them.

Every result passes through `session.scrub` (no key), and a refusal is a tool error whose text
names the lever that refused it.

It must never register a tool that spends outside a session run, approves, promotes, raises a
cap, clears a stop, reconciles, or says a person's word on a take.
"""
# No `from __future__ import annotations`: the SDK reads each tool's annotations, and `Profile`
# (the profiles this session allows) is local to build().
import functools
import inspect
import json
import re
import subprocess
import sys
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Literal, Optional

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError, UnexpectedToolError
from mcp.server.mcpserver.resources import FunctionResource
from mcp.server.mcpserver.utilities.types import Image
from mcp_types import ImageContent, ResourceLink, TextContent, ToolAnnotations

from pydantic import ValidationError

from slate.commands.options import argv_of
from slate.errors import SlateError
from slate.governor.money import fmt_usd
from slate.manifests.options import RunOptions, option_names
from slate.agent import context
from slate.agent import dailies as agent_dailies
from slate.agent.arguments import Arguments, said
from slate.agent.session import Refused, Session, scrub
from slate.manifests.turnaround import View

#: What the agent is told when it connects: the levers, so it does not go looking for others.
INSTRUCTIONS = """slate renders one film: storyboard panels, gates, video clips, a cut.
Read before you spend: bible, shot, prompt (with its lint), references, images, verdicts, ledger, refusals.
Spend only through run (a scene or the film, at a profile this session allows) and turnaround / plate / voice (a new
reference version), within this session's cap; estimate first. A run goes in the background: poll status with its run id; stop ends your own run.
A person approves finals, promotes a version to the canonical reference, raises caps, clears a STOP and reconciles: there are no tools
for those. A final-profile run waits for a person at its approval: tell your user, do not wait in a loop.
At the dailies a person circles, NGs or holds a take: you may read them (dailies) and propose an NG with a note (propose_ng)."""

#: Said to the agent when the person gave the session no name: its cap is this process's.
UNNAMED = ("This session has no name (slate mcp --session): its cap counts this server process only, and a "
           "restarted server starts a fresh count.")

CLI_TIMEOUT = 300.0
#: A picture handed to the agent is a preview this size at most (the longer side; and in bytes):
#: the full file is a resource the agent reads only if it needs it.
PREVIEW_SIDE = 512
SHEET_SIDE = 1024
PREVIEW_BYTES = 200_000


def _text(value: Any) -> TextContent:
    body = value if isinstance(value, str) else json.dumps(value, indent=1, default=str, ensure_ascii=False)
    return TextContent(type="text", text=scrub(body))


def _tool(fn: Callable) -> Callable:
    """A tool body: a refusal (or any error slate says in one line) becomes a tool error naming
    its lever; text results are scrubbed; pictures and links pass as they are."""
    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        try:
            got = fn(*args, **kwargs)
        except SlateError as exc:
            raise ToolError(scrub(str(exc))) from None
        if isinstance(got, list):
            return [x if isinstance(x, (Image, ImageContent, ResourceLink)) else _text(x) for x in got]
        return [_text(got)]
    return wrapped


class SlateServer(MCPServer):
    """The SDK's server, with every call's arguments checked first (slate/agent/arguments.py) and
    an argument the SDK's schema refuses said the same way: the tool, the argument, why."""

    def __init__(self, session: Session, **kwargs: Any):
        super().__init__(**kwargs)
        self.arguments = Arguments(session)
        self.takes: dict[str, list[str]] = {}

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        if name in self.takes:
            try:
                self.arguments.check(name, arguments, self.takes[name])
            except Refused as exc:
                raise ToolError(scrub(str(exc))) from None
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            if isinstance(exc, UnexpectedToolError) or not isinstance(exc.__cause__, ValidationError):
                raise
            raise ToolError(f"{name}: " + "; ".join(
                f"argument {_loc(e['loc'])!r}: {e['msg']}" + (f" (got {said(e['input'])})" if "input" in e else "")
                for e in exc.__cause__.errors(include_url=False))) from exc.__cause__


def _loc(loc: tuple) -> str:
    """pydantic's location of an error as the agent wrote it: scenes[0]."""
    out = str(loc[0]) if loc else "?"
    for part in loc[1:]:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


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


def _cli(session: Session, command: Sequence[str], flags: Sequence[str] = (), positionals: Sequence[str] = ()) -> str:
    """One of the CLI's own commands on this film (`command`, then `flags` as --name=value, then
    `--` and the film's folder and `positionals`: no value is read as an option), as a person would
    read it, exit code said; a command that fails is a tool error carrying what it printed."""
    args = [*command, *flags, "--", str(session.root), *positionals]
    done = subprocess.run([sys.executable, "-m", "slate.cli", *args], cwd=session.root, capture_output=True,
                          text=True, timeout=CLI_TIMEOUT, stdin=subprocess.DEVNULL)
    out = (done.stdout + ("\n" + done.stderr if done.stderr.strip() else "")).strip()
    text = f"$ slate {' '.join(args)}\n{out}\n(exit {done.returncode})"
    if done.returncode != 0:
        raise Refused(f"slate {' '.join(command)} failed (exit {done.returncode}):\n{text}")
    return text


def _preview(about: dict, data: bytes | None = None, path: Path | None = None, *, side: int = PREVIEW_SIDE,
             link: str | None = None, mime: str = "image/png") -> list:
    """A picture as the agent is handed it: what it is, a small JPEG of it, and a link to the full
    file (a resource of this server) when there is one."""
    from slate.media.preview import still_preview
    picture = path if path is not None else data
    if picture is None:
        return [about]
    try:
        small = still_preview(picture, side=side, max_bytes=PREVIEW_BYTES)
    except (OSError, ValueError) as exc:
        return [{**about, "preview": f"cannot be drawn ({exc})"}]
    out: list = [{**about, **({"full": link} if link else {})},
                 ImageContent(type="image", data=_b64(small), mime_type="image/jpeg")]
    if link:
        size = path.stat().st_size if path is not None else len(data or b"")
        out.append(ResourceLink(type="resource_link", uri=link, name=str(about.get("what") or about.get("id")),
                                mime_type=mime, size=size))
    return out


def _b64(data: bytes) -> str:
    import base64
    return base64.b64encode(data).decode()


def build(session: Session) -> MCPServer:
    """The server for one session: every tool of the module docstring, and no other."""
    instructions = INSTRUCTIONS if session.named else f"{INSTRUCTIONS}\n{UNNAMED}"
    mcp = SlateServer(session, name="slate", instructions=instructions, version="0.1.0", log_level="WARNING")
    profiles = session.allowed_profiles()
    per_process = "" if session.named else " " + UNNAMED
    # The run tool's schema offers only what the person allowed: a type made at run time (the SDK
    # reads it from the tool's signature), so to a type checker a value.
    Profile: object = Literal[profiles]

    def add(fn: Callable, description: str) -> None:
        # Hints for the client (e.g. to ask its user before a call): run and the workshop spend,
        # propose_ng writes a $0 row a person will read, only stop ends something.
        writes = fn.__name__ in ("run", "stop", "turnaround", "plate", "voice", "propose_ng")
        hints = ToolAnnotations(read_only_hint=not writes, destructive_hint=fn.__name__ == "stop",
                                idempotent_hint=not writes or fn.__name__ == "stop")
        mcp.add_tool(_tool(fn), name=fn.__name__, description=description, structured_output=False,
                     annotations=hints)
        mcp.takes[fn.__name__] = list(inspect.signature(fn).parameters)

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
            if data is None:
                out.append(about)
                continue
            jpeg = data[:3] == b"\xff\xd8\xff"
            link = (f"slate://reference/{about['kind']}/{about['id']}.{'jpg' if jpeg else 'png'}"
                    if about["kind"] in ("character", "location") else None)
            out += _preview(about, data, link=link, mime="image/jpeg" if jpeg else "image/png")
        return out or "this shot uses no reference"
    add(references, "The references a shot uses (character turnarounds, its location's plate, a panel "
                    "override), each a line saying which it is and where it comes from, a small preview and a "
                    "link to the full picture (a resource).")

    def images(scene: str, shot: str, profile: Optional[str] = None) -> Any:
        out: list = []
        for about, path in context.images(session, scene, shot, profile):
            if path is None:
                out.append({**about, "missing": "not in local storage"})
            elif about["what"] == "contact sheet":
                out += _preview(about, path=path, side=SHEET_SIDE,
                                link=f"slate://contact/{scene}/{about['profile']}")
            else:
                link = context.picture_link(about.get("uri"))
                out += _preview(about, path=path, link=link[0] if link else None,
                                mime=link[1] if link else "image/png")
        return out or f"scene {scene}, shot {shot}: nothing rendered yet"
    add(images, "A shot's latest panel, the keyframes of its latest clip as the gate judged them, and its "
                "scene's contact sheet (of a profile, else the newest): each a line saying what it is, a small "
                "JPEG preview and a link to the full picture (a resource).")

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
        return _cli(session, ["check"], argv_of(session.told(options)))
    add(told_tool(check, {"profile": Profile}), "slate check: everything a run needs, checked before it spends "
        "(manifests, references, prompts' lint, providers, prices); the problems it finds are a tool error.")

    def estimate(options: RunOptions) -> Any:
        session.check_request(options)
        table = _cli(session, ["estimate"], argv_of(session.told(options).telling(run_cap_usd=session.left())))
        return [table, _session_money(session)]
    add(told_tool(estimate, {"profile": Profile}), "slate estimate: the expected cost per shot and in total, against "
        "what this session has left." + per_process)

    def run(options: RunOptions) -> Any:
        started = session.start(options)
        return {"run_id": started.id, "scenes": started.scenes or "the film", "profile": started.profile,
                "estimate": fmt_usd(started.estimate), "run_cap": fmt_usd(started.cap),
                "next": "poll status with this run_id until it ends"}
    add(told_tool(run, {"profile": Profile}), "Render scenes (or the film) at a profile this session allows, in the "
        "background, within the session's cap: refused before anything is paid when the estimate does not fit. "
        "Returns a run id." + per_process)

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
                "without a run id: the session's money and runs." + per_process)

    def stop(run_id: str) -> Any:
        r = session.stop(run_id)
        return {"run_id": r.id, "state": r.state(),
                "note": "jobs already sent keep their job ids in the ledger; the next run collects them"}
    add(stop, "Stop one of this session's runs (never anyone else's): nothing new is sent.")

    def escalations(scene: Optional[str] = None) -> Any:
        return _cli(session, ["escalations"], _given(scene=scene))
    add(escalations, "slate escalations: every escalated shot of each scene's latest run, its failing scores with "
                     "the judge's reasons, a provider's refusal in its own words, and what a person can do.")

    # -- the bible workshop: new versions only; promoting one is a person's (slate bible approve)
    def turnaround(character: str, fix_view: Optional[View] = None,
                   from_version: Optional[int] = None) -> Any:
        return session.make_version(["turnaround", *_given(fix=fix_view, from_=from_version), "--",
                                     str(session.root), character])
    add(turnaround, "Make a new version of a character's turnaround sheet from the bible's locked description, or "
                    "fix one view of a version (fix_view + from_version), through the governor within this "
                    "session's cap; the version passes the reference gate or says why not. It never becomes the "
                    "canonical reference: a person approves that." + per_process)

    def plate(location: str, edit: Optional[str] = None, from_version: Optional[int] = None) -> Any:
        return session.make_version(["plate", *_given(edit=edit, from_=from_version), "--", str(session.root),
                                     location])
    add(plate, "Make a new version of a location plate, or one edit of a version (edit: one change, e.g. "
               "'remove the red stools', + from_version), through the governor within this session's cap. A "
               "person approves it as canonical." + per_process)

    def voice(speaker: str, from_version: Optional[int] = None) -> Any:
        return session.make_version(["voice", *_given(from_=from_version), "--", str(session.root), speaker])
    add(voice, "Make a new version of a voice: the sample line spoken by a character's voice from the bible (or "
               "narrator's), or by version from_version's voice, through the governor within this session's cap; "
               "it passes the sample check or says why not. It never becomes the approved sample: a person "
               "approves that." + per_process)

    def versions(asset: Optional[str] = None) -> Any:
        return _cli(session, ["bible", "versions"], [], [asset] if asset else [])
    add(versions, "slate bible versions: every version of a character or location (or the whole bible) with its "
                  "parent, model, cost, reference-gate scores and which one is canonical.")

    def report(run_id: Optional[str] = None) -> Any:
        out: list[str | dict[str, object]] = [_cli(session, ["status"]), _cli(session, ["report"])]
        if run_id is not None:
            r = session.run(run_id)
            out.append({"run_id": r.id, "state": r.state(), "output": r.output(400)})
        return out
    add(report, "slate status (renders, spending, what waits for a person) and slate report (writes the film's "
                "production report, one HTML page a person opens: its path is given); with a run id, that run's "
                "full printed report.")

    # -- the dailies: read every take; propose an NG. Circling, NG'ing and holding are a person's
    # (slate dailies, the Prefect UI's form): no tool says them, and propose_ng takes no word.
    def dailies(scene: Optional[str] = None, profile: Optional[str] = None) -> Any:
        return agent_dailies.read(session, scene, profile)
    add(dailies, "The dailies: every shot a run left takes of (a scene's, at a profile; default every scene and "
                 "every profile), each take (panel or clip) with its gate scores by name, whether it passed, what "
                 "it cost, when it was made and whether the cut uses it, with a link to its picture (a resource); "
                 "the word a person said that stands on the shot, and the proposals waiting for them.")

    def propose_ng(scene: str, shot: str, take: int, note: str, kind: Literal["clip", "panel"] = "clip",
                   profile: Optional[str] = None) -> Any:
        return agent_dailies.propose_ng(session, scene, shot, take, note, kind, profile)
    add(propose_ng, "Propose an NG of one take the dailies list (a shot's clip, or its start panel), with a note "
                    "saying what is wrong. It is shown to the person as this session's proposal and changes "
                    "nothing: a run never acts on it. Only a person circles, NGs or holds a take; there is no "
                    "tool for that. profile: the one the take was made at (needed when the shot has takes at "
                    "more than one).")
    _resources(mcp, session)
    return mcp


def _resources(mcp: MCPServer, session: Session) -> None:
    """What an agent may read as resources: the bible, each scene's manifest (as its file says it),
    a shot's prompt, and the full pictures the tools preview. A name in a URI is checked against
    the film before anything is read; a picture is read from the film's storage or renders only."""
    check = Arguments(session)

    def named(uri: str, **given: str) -> None:
        try:
            check.check(uri, given, list(given))
        except Refused as exc:
            raise ResourceNotFoundError(str(exc)) from None

    mcp.add_resource(FunctionResource.from_function(
        lambda: json.dumps(context.bible(session), indent=1, ensure_ascii=False), uri="slate://bible",
        name="bible", description="The bible's locked blocks (characters, locations, each scene's wardrobe).",
        mime_type="application/json"))
    for key, sc in session.film.scenes:
        path = session.root / key
        mcp.add_resource(FunctionResource.from_function(
            functools.partial(lambda p: scrub(p.read_text()), path), uri=f"slate://scene/{sc.id}",
            name=f"scene {sc.id}", description=f"The manifest of scene {sc.id}, as {key} says it.",
            mime_type="application/yaml"))

    @mcp.resource("slate://prompt/{scene}/{shot}", name="prompt", mime_type="application/json",
                  description="The prompt slate would send for a shot's start panel to the film's panel model, "
                              "with the lint's findings (the prompt tool takes a stage, moment and model).")
    def prompt(scene: str, shot: str) -> str:
        named("slate://prompt", scene=scene, shot=shot)
        return scrub(json.dumps(context.prompt(session, scene, shot), indent=1, ensure_ascii=False))

    def picture(digest: str, suffix: str) -> bytes:
        from slate.providers.registry import storage_for
        if not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise ResourceNotFoundError(f"slate://artifact/{said(digest)}: not a stored picture's name")
        try:
            return storage_for(session.root).get_bytes(f"cas://{digest}.{suffix}")
        except (OSError, ValueError, SlateError) as exc:
            raise ResourceNotFoundError(f"slate://artifact/{digest}.{suffix}: {exc}") from None

    def artifact_of(suffix: str) -> Callable[[str], bytes]:
        return lambda digest: picture(digest, suffix)

    for suffix, mime in (("png", "image/png"), ("jpg", "image/jpeg")):
        mcp.resource(f"slate://artifact/{{digest}}.{suffix}", name=f"picture ({suffix})", mime_type=mime,
                     description="A stored panel or keyframe, full size, as the images tool links it.")(
            artifact_of(suffix))

    @mcp.resource("slate://contact/{scene}/{profile}", name="contact sheet", mime_type="image/png",
                  description="A scene's contact sheet of a profile, full size.")
    def contact(scene: str, profile: str) -> bytes:
        named("slate://contact", scene=scene, profile=profile)
        path = session.root / "renders" / f"{scene}-{profile}-contact.png"
        if not path.is_file():
            raise ResourceNotFoundError(f"slate://contact/{scene}/{profile}: no contact sheet yet")
        return path.read_bytes()

    def reference(kind: str, ident: str, suffix: str) -> bytes:
        from slate.providers.errors import ReferenceMissing
        from slate.providers.registry import storage_for
        from slate.tasks.gates.references import read_reference, scene_needs
        if kind not in ("character", "location"):
            raise ResourceNotFoundError(f"slate://reference/{said(kind)}: a reference is a character's or a location's")
        named("slate://reference", **{kind: ident})
        need = next((n for sid in session.scene_ids() for n in scene_needs(session.film, sid)
                     if n.kind == kind and n.ident == ident), None)
        if need is None:
            raise ResourceNotFoundError(f"slate://reference/{kind}/{ident}: no scene uses it")
        try:
            data = read_reference(storage_for(session.root), need)[0]
        except ReferenceMissing as exc:
            raise ResourceNotFoundError(f"slate://reference/{kind}/{ident}: {exc}") from None
        if (data[:3] == b"\xff\xd8\xff") != (suffix == "jpg"):
            raise ResourceNotFoundError(f"slate://reference/{kind}/{ident}.{suffix}: it is not a {suffix} picture")
        return data

    def reference_of(suffix: str) -> Callable[[str, str], bytes]:
        return lambda kind, ident: reference(kind, ident, suffix)

    for suffix, mime in (("png", "image/png"), ("jpg", "image/jpeg")):
        mcp.resource(f"slate://reference/{{kind}}/{{ident}}.{suffix}", name=f"reference ({suffix})", mime_type=mime,
                     description="A character's turnaround or a location's plate, full size.")(
            reference_of(suffix))


def _given(**flags) -> list[str]:
    """`--name=value` for each flag given (None: left out; one token, so a value is never read as
    an option); `from_` is `--from`."""
    return [f"--{name.rstrip('_')}={value}" for name, value in flags.items() if value is not None]


def _approval(session: Session) -> dict:
    """What the waiting run's marker says (flows/review/approval.py): scene, profile, shots, deadline."""
    from slate.flows.review.approval import APPROVAL_FILE
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
    spent, left, said = session.money()
    return {"session": session.caller, "session_cap": fmt_usd(session.cap),
            "session_spent": fmt_usd(spent), "session_left": fmt_usd(left),
            "counted": (f"every slate mcp --session {session.id} on this film" if session.named
                        else "this server process only (no --session name)"),
            **({"agents_daily_cap": fmt_usd(session.daily_cap)} if session.daily_cap is not None else {}),
            "cap_said": said, "profiles_allowed": list(session.allowed_profiles()), "price_as": session.price_as}
