"""What an agent reads about a film, each fact with its source: the manifest file and field it
comes from, the ledger row (call id) or the storage URI.

  * the bible's locked blocks (characters, locations, each scene's wardrobe, every voice) and one
    shot's manifest, with its lines of dialogue placed in the shot as a run would place them;
  * the prompt slate would send for a shot, for a stage (panel or clip) and a model family —
    assembled by the code a run uses (tasks/shot/plan.py `moment_blocks`, providers/prompts.py
    `assemble`) — with the lint's findings (`lint`, as the preflight and the chokepoint read it);
  * the references a shot uses, its latest panel, keyframes and the scene's contact sheet, as
    image bytes;
  * gate verdicts (the judge's own JSON, as the ledger's row points to it), the shot's ledger rows,
    and a provider's refusal in its own words (tasks/review/escalations.py `refusals`).

It must never write anything, never paraphrase a provider or a judge (their words are passed on
as the ledger or the artifact holds them), and never return a key.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

from slate.agent.session import PROFILE_ORDER, Refused, Session

#: Stages whose artifact is a verdict (JSON), and the one whose artifact is a panel (PNG).
GATES = ("panel_gate", "keyframe_gate", "continuity_gate", "reference_gate")
#: The lip-sync's gate (issue 38): slate's own measure, its readings in its $0 ledger row.
SYNC_GATE = "sync_gate"


def own_gates() -> dict[str, tuple[str, str]]:
    """The gates slate measures itself, whose $0 row holds what they read, by stage: (who judges,
    the row's parameters' key) — the lip-sync's, and each declared pass's that says (tasks/shot/clip_passes.py
    `judged_by`: the swap gate, the upscale check, a plugin's)."""
    from slate.tasks.shot.clip_passes import passes
    return {SYNC_GATE: ("slate's sync gate (media/lipsync.py)", "readings"),
            **{p.gate: p.judged_by for p in passes() if p.judged_by is not None}}
MAX_ROWS = 200   # a shot's rows, newest last; older ones are left out (and said so)
#: The content-addressed pictures a link may name (storage_local's cas://<sha256>.<suffix>).
PICTURE = re.compile(r"cas://([0-9a-f]{64})\.(png|jpg)")


def picture_link(uri: str | None) -> tuple[str, str] | None:
    """(the resource's URI, its MIME type) of a stored picture, or None for any other URI: the
    agent reads the full picture as the server's `slate://artifact/...` resource, never by path."""
    m = PICTURE.fullmatch(uri or "")
    if m is None:
        return None
    return f"slate://artifact/{m.group(1)}.{m.group(2)}", "image/png" if m.group(2) == "png" else "image/jpeg"


def _shot(session: Session, scene: str, shot: str):
    try:
        sc = session.film.scene(scene)
    except KeyError as exc:
        raise Refused(str(exc).strip("'\"")) from None
    try:
        return sc, sc.shot(shot)
    except (KeyError, ValueError):
        raise Refused(f"scene {scene}: unknown shot {shot!r} (its shots: {', '.join(s.id for s in sc.shots)})") \
            from None


def bible(session: Session) -> dict:
    """The locked blocks every prompt is made of, with the file each comes from."""
    film = session.film
    source = film.film.bible
    return {
        "film": film.film.id, "source": source,
        "characters": [{"id": c.id, "name": c.name, "description": c.description, "turnaround": c.turnaround_key,
                        "field": f"characters[{i}]"} for i, c in enumerate(film.bible.characters)],
        "locations": [{"id": loc.id, "name": loc.name, "description": loc.description, "plate": loc.plate_key,
                       "field": f"locations[{i}]"} for i, loc in enumerate(film.bible.locations)],
        "wardrobe": {sc.id: {"source": key, **{cid: w.description for cid, w in sc.wardrobe.items()}}
                     for key, sc in film.scenes if sc.wardrobe},
        "voices": voices(session),
    }


def voices(session: Session) -> list[dict]:
    """Every voice of the bible — each character's that has one, and the narrator's — as locked,
    with the field it is read from. A speaker with no voice is not listed: `slate check` refuses
    their lines."""
    from slate.manifests.dialogue import NARRATOR
    bible = session.film.bible
    fields = {c.id: f"characters[{i}].voice" for i, c in enumerate(bible.characters)} | {NARRATOR: "narrator"}
    return [{"speaker": who, "field": fields[who], **v.model_dump(mode="json")}
            for who, v in bible.voices().items() if v is not None]


def shot_manifest(session: Session, scene: str, shot: str) -> dict:
    """One shot as its scene file declares it, with the scene's location resolved."""
    sc, s = _shot(session, scene, shot)
    index = [x.id for x in sc.shots].index(s.id)
    return {"source": session.film.scene_file(scene), "field": f"shots[{index}]", "scene": scene,
            "location": sc.location_of(s), "shot": s.model_dump(mode="json"), "dialogue": _lines(session, s)}


def _lines(session: Session, s) -> list[dict]:
    """The shot's lines as a run places them before any is spoken: where each starts and ends at
    its speaker's pace (manifests/dialogue.line_spans), and whether its speaker is on camera."""
    from slate.manifests.dialogue import DEFAULT_WPM, line_spans, on_camera
    paces = {who: v.pace_wpm if v is not None else DEFAULT_WPM for who, v in session.film.bible.voices().items()}
    return [{"line": span.index, "field": f"dialogue[{span.index}]", "speaker": line.speaker, "text": line.text,
             "delivery": list(line.delivery), "start": round(span.start, 3), "end": round(span.end, 3),
             "estimated": True, "on_camera": on_camera(line, s.characters)}
            for line, span in zip(s.dialogue, line_spans(s.dialogue, paces))]


def prompt(session: Session, scene: str, shot: str, stage: str = "panel", model: str | None = None,
           moment: str = "start") -> dict:
    """The prompt a run sends for this shot and stage to this model (the run's lineup when not
    named), and what the lint finds in it."""
    from slate.providers.prompts import assemble, lint, load_rules
    from slate.providers.registry import lineup
    from slate.tasks.shot.plan import moment_blocks
    if stage not in ("panel", "clip"):
        raise Refused(f"stage {stage!r}: a prompt is sent for 'panel' or 'clip'")
    if moment not in ("start", "end"):
        raise Refused(f"moment {moment!r}: a panel is drawn for 'start' or 'end'")
    _, s = _shot(session, scene, shot)
    if stage == "panel" and moment == "end" and s.frame_mode != "start_end":
        raise Refused(f"scene {scene}, shot {shot}: frame_mode is {s.frame_mode!r}, it has no end panel")
    chosen = lineup(session.settings)
    model = model or str(chosen.panel if stage == "panel" else chosen.videos[0])
    rules = load_rules(session.root)
    family = rules.family_of(model)
    blocks = moment_blocks(session.film, scene, shot, moment if stage == "panel" else "clip")
    text = assemble(blocks, family, stage)
    found = lint(text, family, stage, rules, with_references=bool(s.characters), camera_fixed=s.camera.fixed)
    return {"scene": scene, "shot": shot, "stage": stage, "moment": moment if stage == "panel" else "clip",
            "model": model, "family": family.name, "prompt": text,
            "blocks": blocks.as_dict(), "sources": {"blocks": session.film.film.bible,
                                                    "action": session.film.scene_file(scene),
                                                    "rules": "providers/prompt_rules.toml and the film's "
                                                             "prompt_rules.toml"},
            "lint": [{"severity": f.severity, "rule": f.rule, "message": f.message} for f in found]}


def references(session: Session, scene: str, shot: str) -> list[tuple[dict[str, object], bytes | None]]:
    """Each reference the shot uses, with its bytes (None, and why, when it cannot be read)."""
    from slate.providers.errors import ReferenceMissing
    from slate.providers.registry import storage_for
    from slate.tasks.gates.references import read_reference, scene_needs
    sc, s = _shot(session, scene, shot)
    wanted = {("character", c) for c in s.characters} | {("location", sc.location_of(s))} | \
             {("panel override", s.id)}
    storage = storage_for(session.root)
    out: list[tuple[dict[str, object], bytes | None]] = []
    for need in scene_needs(session.film, scene):
        if (need.kind, need.ident) not in wanted:
            continue
        about = {"kind": need.kind, "id": need.ident, "key": need.key, "source": need.file, "field": need.field}
        try:
            data, w, h = read_reference(storage, need)
            out.append(({**about, "width": w, "height": h}, data))
        except ReferenceMissing as exc:
            out.append(({**about, "missing": str(exc)}, None))
    return out


def _rows(session: Session, scene: str, shot: str) -> list:
    from slate.governor.ledger import Ledger
    with Ledger.for_project(session.root) as ledger:
        return [r for r in ledger.rows(film=session.film.film.id) if r.scene == scene and r.shot == shot]


def row_dict(r) -> dict:
    d = asdict(r)
    for k, v in list(d.items()):
        if not isinstance(v, (str, int, float, bool, type(None), list, dict, tuple)):
            d[k] = str(v)
    return d


def ledger_rows(session: Session, scene: str, shot: str) -> dict:
    _shot(session, scene, shot)
    rows = _rows(session, scene, shot)
    return {"source": "the ledger (paid_calls)", "rows": [row_dict(r) for r in rows[-MAX_ROWS:]],
            "left_out": max(0, len(rows) - MAX_ROWS)}


def _read_json(storage, uri: str) -> Any:
    try:
        return json.loads(Path(storage.open_local(uri)).read_text())
    except (OSError, ValueError) as exc:
        return {"unreadable": f"{uri}: {exc}"}


def verdicts(session: Session, scene: str, shot: str) -> dict:
    """Every gate verdict of the shot the ledger holds, newest last: the judge's own JSON (its
    scores and reasons) from the artifact the row names, with the row's take and outcome."""
    from slate.providers.registry import storage_for
    _shot(session, scene, shot)
    storage = storage_for(session.root)
    out = []
    gates = own_gates()
    for r in _rows(session, scene, shot):
        if r.stage in gates and r.parameters:
            # slate's own measures (tasks/shot/lipsync.py, tasks/shot/faceswap.py, tasks/shot/upscale.py): the $0 row holds what they read.
            judge, key = gates[r.stage]
            out.append({"call_id": r.call_id, "run_id": r.run_id, "stage": r.stage, "take": r.take,
                        "judge": judge, "when": r.created_at.isoformat(timespec="seconds"),
                        "artifact": None, "images_judged": list(r.reference_hashes),
                        "verdict": {"outcome": r.error_class, key: r.parameters.get(key, [])}})
            continue
        if r.stage not in GATES or r.status != "succeeded" or not r.artifact_uri:
            continue
        out.append({"call_id": r.call_id, "run_id": r.run_id, "stage": r.stage, "take": r.take,
                    "judge": f"{r.provider}:{r.model}", "when": r.created_at.isoformat(timespec="seconds"),
                    "artifact": r.artifact_uri, "images_judged": list(r.reference_hashes),
                    "verdict": _read_json(storage, r.artifact_uri)})
    return {"source": "the ledger's gate rows and the verdicts they name", "verdicts": out}


def images(session: Session, scene: str, shot: str, profile: str | None = None) -> list[tuple[dict, Path | None]]:
    """The shot's latest panel, the keyframes its latest keyframe gate judged, and the scene's
    contact sheet (of `profile`, else the newest), each as (what, local file)."""
    from slate.providers.registry import storage_for
    _shot(session, scene, shot)
    storage = storage_for(session.root)
    rows = _rows(session, scene, shot)
    out: list[tuple[dict, Path | None]] = []

    def local(uri: str) -> Path | None:
        try:
            path = Path(storage.open_local(uri))
            return path if path.is_file() else None
        except (OSError, ValueError):
            return None
    panels = [r for r in rows if r.stage == "panel" and r.status == "succeeded" and r.artifact_uri]
    if panels:
        p = panels[-1]
        out.append(({"what": "latest panel", "call_id": p.call_id, "take": p.take, "uri": p.artifact_uri},
                    local(p.artifact_uri)))
    gates = [r for r in rows if r.stage == "keyframe_gate" and r.status == "succeeded"]
    if gates:
        g = gates[-1]
        for i, uri in enumerate(g.reference_hashes):
            out.append(({"what": f"keyframe {i + 1} of {len(g.reference_hashes)} (latest keyframe gate)",
                         "call_id": g.call_id, "take": g.take, "uri": uri}, local(uri)))
    # The sheet's file is named by the scene and a profile, both ids the film knows (checked by the
    # tool's arguments, and again here): never a pattern, never a path the agent wrote.
    if profile is not None and profile not in PROFILE_ORDER:
        raise Refused(f"profile {profile!r} is not a profile ({', '.join(PROFILE_ORDER)})")
    sheets = [(p, session.root / "renders" / f"{scene}-{p}-contact.png") for p in ([profile] if profile
                                                                                     else PROFILE_ORDER)]
    sheets = sorted(((p, f) for p, f in sheets if f.is_file()), key=lambda pf: pf[1].stat().st_mtime)
    if sheets:
        made, sheet = sheets[-1]
        out.append(({"what": "contact sheet", "scene": scene, "profile": made,
                     "file": str(sheet.relative_to(session.root))}, sheet))
    return out


def refusals(session: Session, scene: str, shot: str) -> dict:
    """Every call of the shot a provider's moderation refused, in the provider's own words."""
    from slate.governor.ledger import Ledger
    from slate.tasks.review.escalations import refusals as refused
    _shot(session, scene, shot)
    with Ledger.for_project(session.root) as ledger:
        found = refused(ledger, session.film.film.id, scene, shot)
    return {"source": "the ledger's refused rows (error_message is the provider's own words)",
            "refusals": [{"call_id": r.call_id, "stage": r.stage, "take": r.take, "model": f"{r.provider}:{r.model}",
                          "provider_said": r.words, "prompt_sent": r.prompt, "references_sent": list(r.references),
                          "when": r.when.isoformat(timespec="seconds"),
                          "words_no_accepted_prompt_had": list(r.offered)} for r in found]}
