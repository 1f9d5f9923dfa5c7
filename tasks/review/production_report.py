"""The production report: one static HTML page per film that a person reads in any browser.

Per scene: links to its cut and contact sheet of each profile in renders/; per shot: the panels,
the keyframes and a link to each clip, verdict badges with their scores and the judge's reasons,
the assembled prompts in collapsible blocks, the references the shot uses as thumbnails, its
takes, what it cost against the caps and who spent it (a person, or an agent's session: the
ledger's caller), and the decisions written in the ledger beside it (escalations, approvals,
re-anchors, refusals); then the bible, every reference with its versions (tasks/workshop/bible.py), and
the coverage of references (tasks/workshop/coverage.py). Every take is labelled with its profile and the
run that made it (the runs are listed, numbered, at the top): a draft's and a final's "start
take 1", or two runs' takes of one shot, are never told alike.

The dailies (issue 40), when the caller hands them over (`dailies`: flows/review/rushes.py `dailies_of`,
by profile — read by the caller, since tasks/ never imports flows/): per shot, its panel takes side
by side and its clip takes side by side, each with its gate's verdict and scores, cost and time,
the take the cut uses marked; then the person's word that stands, the agents' proposals (marked as
proposals) and a word the last run cleared.

Everything comes from what slate already keeps: the manifests, the ledger (every call's prompt,
references, artifact and cost; every decision as a $0 note) and the film's storage. Images are
copied beside the page (`media/`, named by content), clips linked, so the folder can be zipped
or served as it is. Jinja2 renders it with autoescape on: a manifest's or a judge's words are
text, never markup.

It must never call a provider, write anything but the report's folder, or import Prefect.
"""
from __future__ import annotations

import json
import os
from collections import defaultdict
from datetime import datetime, timezone
from decimal import Decimal
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from jinja2 import Environment, select_autoescape

from slate.governor.ledger import CallRow, Ledger
from slate.manifests import LoadedFilm
from slate.manifests.dialogue import on_camera
from slate.manifests.profiles import PROFILES, render_stem
from slate.manifests.settings import Settings
from slate.providers.base import Storage
from slate.tasks.review.circle import TakeWord

STAGES_WITH_VERDICTS = ("panel_gate", "keyframe_gate", "reference_gate", "continuity", "drift")
#: What the page's template reads of a scene, a shot, a take, a note or a bible entry, by name.
PageRow = dict[str, Any]


class _Media:
    """Copies artifacts and keys beside the page, once each, and says their relative path."""

    def __init__(self, storage: Storage, folder: Path) -> None:
        self.storage, self.folder = storage, folder
        (folder / "media").mkdir(parents=True, exist_ok=True)

    def uri(self, uri: str | None) -> str | None:
        if not uri:
            return None
        name = uri.split("://", 1)[-1].replace("/", "_")
        dest = self.folder / "media" / name
        if not dest.exists():
            try:
                dest.write_bytes(self.storage.get_bytes(uri))
            except Exception:  # noqa: BLE001 - an artifact gone from storage is a missing picture, not a failure
                return None
        return f"media/{name}"

    def key(self, key: str) -> str | None:
        if not self.storage.key_exists(key):
            return None
        data = self.storage.read_key(key)
        import hashlib
        name = f"{hashlib.sha256(data).hexdigest()[:16]}-{key.rsplit('/', 1)[-1]}"
        dest = self.folder / "media" / name
        if not dest.exists():
            dest.write_bytes(data)
        return f"media/{name}"


class DailyTakeView(Protocol):
    """What the report reads of one take at the dailies (flows/review/rushes.py DailyTake)."""

    @property
    def kind(self) -> str: ...
    @property
    def take(self) -> int: ...
    @property
    def preview(self) -> str: ...
    @property
    def uri(self) -> str: ...
    @property
    def passed(self) -> bool: ...
    @property
    def scores(self) -> Sequence[str]: ...
    @property
    def reasons(self) -> Sequence[str]: ...
    @property
    def cost_usd(self) -> str: ...
    @property
    def made_at(self) -> str: ...
    @property
    def in_cut(self) -> bool: ...
    @property
    def current(self) -> bool: ...


class DailyView(Protocol):
    """What the report reads of one shot at the dailies (flows/review/rushes.py DailyShot), duck-typed so
    this module does not import flows/."""

    @property
    def scene(self) -> str: ...
    @property
    def shot(self) -> str: ...
    @property
    def takes(self) -> Sequence[DailyTakeView]: ...
    @property
    def clip_word(self) -> TakeWord | None: ...
    @property
    def panel_word(self) -> TakeWord | None: ...
    @property
    def proposals(self) -> Sequence[TakeWord]: ...
    @property
    def cleared(self) -> str: ...


def score_parts(text: str) -> tuple[str, str, bool, str]:
    """A take's score as the rushes keep it (flows/review/rushes.py, by governor/gates.py `against`:
    "identity 0.62 / 0.85 — nina: the judge's reason") read back as its name, "0.62/0.85", whether
    it is under its threshold, and the reason. A score of another shape is its own text, passing."""
    head, _, reason = text.partition(" — ")
    parts = head.split()
    if len(parts) == 4 and parts[2] == "/":
        name, value, _, threshold = parts
        try:
            return name, f"{value}/{threshold}", float(value) < float(threshold), reason
        except ValueError:
            pass
    return head, "", False, reason


def _daily_row(v: DailyView, profile: str, media: _Media, root: Path) -> PageRow:
    """One shot's dailies at one profile as the page shows them: its current takes side by side,
    panels then clips (the takes of the shot as it was before are history: the ledger's takes below
    show them), the word that stands, the proposals and a cleared word; beside each take, the
    commands that answer it (the page is read-only: it says how to answer, it cannot)."""
    import shlex
    where = shlex.quote(str(root))

    def answers(kind: str, take: int) -> dict[str, str]:
        tail = f" --profile {profile}" + (" --panel" if kind == "panel" else "")
        return {"circle": f"slate dailies {where} --circle {v.shot}:{take}{tail}",
                "ng": f"slate dailies {where} --ng {v.shot}:{take} --note \"…\"{tail}"}
    kinds = []
    for kind in ("panel", "clip"):
        takes = sorted((t for t in v.takes if t.kind == kind and t.current), key=lambda t: t.take)
        if takes:
            kinds.append({"kind": kind, "takes": [
                {"take": t.take, "image": media.uri(t.preview), "clip": media.uri(t.uri) if kind == "clip" else None,
                 "passed": t.passed, "in_cut": t.in_cut, "cost": Decimal(t.cost_usd or 0), "made": t.made_at,
                 "reasons": list(t.reasons), "answers": answers(kind, t.take),
                 "scores": [dict(zip(("name", "value", "failing", "reason"), score_parts(s))) for s in t.scores]}
                for t in takes]})
    return {"profile": profile, "kinds": kinds, "words": [w.said() for w in (v.panel_word, v.clip_word) if w],
            "proposals": [p.said() for p in v.proposals], "cleared": v.cleared}


def _verdict(storage: Storage, uri: str | None) -> PageRow | None:
    if not uri or not uri.endswith(".json"):
        return None
    try:
        verdict: PageRow = json.loads(storage.get_bytes(uri))
        return verdict
    except Exception:  # noqa: BLE001 - a verdict gone from storage: shown as missing
        return None


def who(caller: str | None) -> str:
    """Who asked for a call, in a person's words: the ledger's caller is NULL (or "person") for
    a person's run, "agent:<session>" for a run an agent started through `slate mcp`."""
    if not caller or caller == "person":
        return "a person"
    kind, _, name = caller.partition(":")
    return f"{kind} {name}" if name else caller


def _by_whom(rows: list[CallRow]) -> list[tuple[str, Decimal]]:
    """What each caller spent of `rows`, a person first, then by name."""
    spent: dict[str, Decimal] = defaultdict(Decimal)
    for r in rows:
        spent[who(r.caller)] += Decimal(r.actual_cost or 0)
    return sorted(spent.items(), key=lambda kv: (kv[0] != "a person", kv[0]))


def _runs(rows: list[CallRow]) -> dict[str, PageRow]:
    """Every run of the film's ledger, numbered in the order they started: what each take's
    label names (a short id alone would leave a person comparing hex)."""
    firsts: dict[str, CallRow] = {}
    for r in sorted(rows, key=lambda r: (r.created_at, r.id)):
        firsts.setdefault(r.run_id, r)
    runs: dict[str, PageRow] = {}
    for n, (run_id, first) in enumerate(firsts.items(), 1):
        mine = [r for r in rows if r.run_id == run_id]
        runs[run_id] = {"n": n, "id": run_id[:8], "full": run_id, "when": first.created_at,
                        "profiles": sorted({r.profile for r in mine}), "spent": _by_whom(mine),
                        "scenes": sorted({r.scene for r in mine if r.scene not in ("*", "")})}
    return runs


def _renders(root: Path, scene: str, folder: Path) -> list[PageRow]:
    """The scene's cut (or partial cuts) and contact sheet of each profile in renders/, linked
    from the report's folder."""
    renders = root / "renders"
    found: list[PageRow] = []
    for profile in PROFILES:
        stem = render_stem(scene, profile)
        cuts = [(renders / f"{stem}.mp4", f"cut ({profile})")]
        cuts += [(p, f"partial cut {p.name.split('.partial-')[1].removesuffix('.mp4').replace('-', ' ')} ({profile})")
                 for p in sorted(renders.glob(f"{stem}.partial-*.mp4"))]
        for path, text in cuts + [(renders / f"{stem}-contact.png", f"contact sheet ({profile})")]:
            if path.is_file():
                found.append({"kind": "sheet" if path.suffix == ".png" else "cut", "profile": profile, "text": text,
                              "href": Path(os.path.relpath(path, folder)).as_posix()})
    return found


def build(root: Path, film: LoadedFilm, settings: Settings, storage: Storage, out: Path | None = None,
          dailies: Mapping[str, Sequence[DailyView]] | None = None) -> Path:
    """Write the film's report folder; return the page's path. `dailies`: each profile's dailies
    (flows/review/rushes.py `dailies_of`), shown per shot; without them the page has no dailies."""
    from slate.tasks.workshop.bible import asset_of, versions
    from slate.tasks.workshop.coverage import coverage
    root = Path(root)
    folder = Path(out) if out else root / "renders" / "report"
    folder.mkdir(parents=True, exist_ok=True)
    media = _Media(storage, folder)
    from slate.manifests.continuity_ledger import ledger_lines
    from slate.tasks.gates.deviations import as_accepted, deviations_of
    with Ledger.for_project(root) as ledger:
        rows, approved = ledger.rows(film=film.film.id), ledger.approvals(film=film.film.id)
        deviations = deviations_of(ledger, film.film.id)
    # The continuity ledger as the runs hold the shots to it: with the deviations accepted.
    held = as_accepted(film, deviations)
    runs = _runs(rows)
    by_shot: dict[tuple[str, str], list[CallRow]] = defaultdict(list)
    for r in rows:
        by_shot[(r.scene, r.shot)].append(r)
    daily: dict[tuple[str, str], list[PageRow]] = defaultdict(list)
    for profile, views in (dailies or {}).items():
        for v in views:
            daily[(v.scene, v.shot)].append(_daily_row(v, profile, media, root))
    scenes: list[PageRow] = []
    for _, sc in film.scenes:
        shots: list[PageRow] = []
        for s in sc.shots:
            mine = by_shot.get((sc.id, s.id), [])
            takes: list[PageRow] = []
            seen: set[str | None] = set()
            for r in mine:
                if r.status != "succeeded" or r.artifact_uri in seen or r.stage not in ("panel", "video"):
                    continue
                seen.add(r.artifact_uri)
                gates = [g for g in mine if g.stage in STAGES_WITH_VERDICTS and g.status == "succeeded"
                         and (r.artifact_uri in (g.reference_hashes or ()) or
                              (r.stage == "video" and g.stage == "keyframe_gate" and g.take == r.take
                               and g.run_id == r.run_id))]
                verdicts = [{"stage": g.stage, **(_verdict(storage, g.artifact_uri) or {"missing": True})}
                            for g in gates]
                frames = [media.uri(u) for g in gates if g.stage == "keyframe_gate" for u in (g.reference_hashes or ())]
                takes.append({
                    "stage": r.stage, "take": r.take, "moment": (r.parameters or {}).get("moment", ""),
                    "image": media.uri(r.artifact_uri) if r.stage == "panel" else None,
                    "clip": media.uri(r.artifact_uri) if r.stage == "video" else None,
                    "frames": [f for f in frames if f], "prompt": r.prompt, "model": f"{r.provider}:{r.model}",
                    "cost": Decimal(r.actual_cost or 0) + sum((Decimal(g.actual_cost or 0) for g in gates), Decimal(0)),
                    "verdicts": verdicts, "run": runs[r.run_id], "profile": r.profile, "who": who(r.caller),
                    "when": r.created_at})
            # decisions written beside the calls (escalations, fallbacks), and calls that failed or were refused
            notes = [{"kind": r.error_class if r.status == "released" else f"{r.stage} {r.status}",
                      "message": r.error_message or r.error_class, "when": r.created_at}
                     for r in mine if (r.status == "released" and r.error_class) or
                     (r.status not in ("succeeded", "released", "reserved", "submitted") and r.error_class)]
            refs = [(f"character {c}", media.key(film.character(c).turnaround_key)) for c in s.characters]
            loc = sc.location_of(s)
            refs.append((f"location {loc}", media.key(film.location(loc).plate_key)))
            spent = sum((Decimal(r.actual_cost or 0) for r in mine), Decimal(0))
            shots.append({"id": s.id, "action": s.action, "characters": s.characters, "location": loc,
                          "lines": [{"speaker": x.speaker, "text": x.text, "delivery": ", ".join(x.delivery),
                                     "on_camera": on_camera(x, s.characters)} for x in s.dialogue],
                          "takes": takes, "notes": notes, "refs": refs, "spent": spent, "by": _by_whom(mine),
                          "dailies": daily.get((sc.id, s.id), []),
                          "ledger": ledger_lines(held.scene(sc.id), next(h for h in held.scene(sc.id).shots
                                                                         if h.id == s.id)),
                          "deviations": [d.said() for d in deviations if d.scene == sc.id and d.shot == s.id],
                          "panels": [t for t in takes if t["stage"] == "panel"],
                          "clips": [t for t in takes if t["stage"] == "video"]})
        # The scene's decisions in the order they were made: notes beside the calls, and a person's
        # approvals (their own ledger table since schema v6), shown as they always were.
        decisions: list[tuple[datetime, PageRow]] = [
            (r.created_at, {"kind": r.error_class, "message": r.error_message})
            for r in rows if r.scene == sc.id and r.shot in ("*", "") and r.error_class]
        decisions += [(a.created_at, {"kind": "Approval", "message": a.message})
                      for a in approved if a.scene == sc.id and a.stage == "approval"]
        scenes.append({"id": sc.id, "shots": shots, "notes": [n for _, n in sorted(decisions, key=lambda n: n[0])],
                       "renders": _renders(root, sc.id, folder)})
    bible: list[PageRow] = []
    for kind, items in (("character", film.bible.characters), ("location", film.bible.locations)):
        for item in items:
            asset = asset_of(film, f"{kind}:{item.id}")
            canonical = media.key(asset.canonical)
            vs = [{**v, "image": media.key(v["key"])} for v in versions(storage, asset)]
            approvals = [{"message": a.message, "by": a.parameters.get("by"), "version": a.parameters.get("version"),
                          "when": a.created_at}
                         for a in approved if a.stage == "bible_approve" and a.shot == f"{kind}:{item.id}"]
            bible.append({"kind": kind, "id": item.id, "key": asset.canonical, "canonical": canonical,
                          "description": item.description, "versions": vs, "approvals": approvals})
    spent = sum((Decimal(r.actual_cost or 0) for r in rows), Decimal(0))
    page = _ENV.from_string(_PAGE).render(
        film=film.film, scenes=scenes, bible=bible, spent=spent, by=_by_whom(rows), runs=list(runs.values()),
        caps={"run": settings.run_cap_usd,
                                                                       "film": settings.film_cap_usd},
        coverage=coverage(storage, film), calls=len([r for r in rows if r.status != "released"]),
        made=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))
    path = folder / "index.html"
    path.write_text(page)
    return path


def _usd(value: Decimal | str | int | float | None) -> str:
    return f"${Decimal(value or 0):.2f}"


def _whom(spent: list[tuple[str, Decimal]]) -> str:
    """ "by a person" alone, or "by a person $1.20, agent s1 $0.35": who spent what."""
    if not spent:
        return "nothing spent"
    if len(spent) == 1:
        return f"by {spent[0][0]}"
    return "by " + ", ".join(f"{name} {_usd(amount)}" for name, amount in spent)


def _when(at: datetime | None) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if at else ""


def _iso(text: str) -> str:
    """An ISO time the dailies keep (UTC, naive or not) as the page says times."""
    if not text:
        return ""
    at = datetime.fromisoformat(text)
    return _when(at if at.tzinfo else at.replace(tzinfo=timezone.utc))


_ENV = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
_ENV.filters["usd"] = _usd
_ENV.filters["whom"] = _whom
_ENV.filters["when"] = _when
_ENV.filters["iso"] = _iso

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ film.title or film.id }} — production report</title>
<style>
body{font-family:system-ui,sans-serif;margin:24px;background:#fafafa;color:#222}
h1{margin-bottom:0} .sub{color:#666;margin-top:4px}
section.shot{background:#fff;border:1px solid #ddd;border-radius:6px;padding:12px 16px;margin:14px 0}
.row{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}
figure{margin:0} figure img{max-width:320px;border:1px solid #ccc;display:block}
.thumb img{max-width:120px;max-height:90px}
.badge{display:inline-block;padding:2px 8px;border-radius:10px;font-size:12px;color:#fff;margin-right:4px}
.pass{background:#2e7d32} .fail{background:#c62828} .note{background:#6a1b9a} .warn{background:#ef6c00}
.word{background:#1565c0} .proposal{background:#795548} .incut{background:#000}
.daily{border:1px solid #ddd;padding:6px;max-width:340px} .daily.in-cut{border:2px solid #000}
.daily img{max-width:320px} .daily .badge{margin-bottom:2px}
table{border-collapse:collapse} td,th{border:1px solid #ddd;padding:3px 8px;font-size:13px;text-align:left}
details{margin:6px 0} summary{cursor:pointer;color:#1565c0} pre{white-space:pre-wrap;background:#f3f3f3;padding:8px}
</style></head><body>
<h1>{{ film.title or film.id }}</h1>
<p class="sub">production report — made {{ made }} — {{ calls }} paid calls, spent {{ spent|usd }}
 (caps: run {{ caps.run|usd }}, film {{ caps.film|usd }}) — <span class="by">{{ by|whom }}</span></p>
{% if runs %}<details class="runs" open><summary>runs</summary><table class="runs">
<tr><th>run</th><th>id</th><th>profile</th><th>started</th><th>scenes</th><th>spent, by whom</th></tr>
{% for r in runs %}<tr id="run-{{ r.n }}" data-run="{{ r.full }}"><td>#{{ r.n }}</td><td>{{ r.id }}</td><td>{{ r.profiles|join(", ") }}</td>
<td>{{ r.when|when }}</td><td>{{ r.scenes|join(", ") }}</td><td class="by">{{ r.spent|whom }}</td></tr>{% endfor %}
</table></details>{% endif %}
{% for scene in scenes %}
<h2 id="{{ scene.id }}">Scene {{ scene.id }}</h2>
<p class="renders">{% for f in scene.renders %}<a class="{{ f.kind }}" data-profile="{{ f.profile }}" href="{{ f.href }}">{{ f.text }}</a>{% if not loop.last %} · {% endif %}{% else %}<em>no cut or contact sheet in renders/ yet</em>{% endfor %}</p>
{% for n in scene.notes %}<p><span class="badge note">{{ n.kind }}</span>{{ n.message }}</p>{% endfor %}
{% for shot in scene.shots %}
<section class="shot" id="shot-{{ scene.id }}-{{ shot.id }}" data-shot="{{ shot.id }}">
<h3>Shot {{ shot.id }} <small>— {{ shot.characters|join(", ") or "nobody" }} at {{ shot.location }}; spent {{ shot.spent|usd }}{% if shot.by %} <span class="by">({{ shot.by|whom }})</span>{% endif %}</small></h3>
<p>{{ shot.action }}</p>
{% if shot.lines %}<ul class="lines">{% for x in shot.lines %}<li><b>{{ x.speaker }}</b>{% if not x.on_camera %} <small>(off screen)</small>{% endif %}{% if x.delivery %} <small>[{{ x.delivery }}]</small>{% endif %}: “{{ x.text }}”</li>{% endfor %}</ul>{% endif %}
<div class="row refs">{% for name, src in shot.refs %}<figure class="thumb">{% if src %}<img src="{{ src }}" alt="{{ name }}">{% else %}<span class="badge fail">missing</span>{% endif %}<figcaption>{{ name }}</figcaption></figure>{% endfor %}</div>
{% for n in shot.notes %}<p><span class="badge note">{{ n.kind }}</span>{{ n.message }}</p>{% endfor %}
{% if shot.ledger %}<p class="ledger"><span class="badge note">continuity ledger</span>{{ shot.ledger|join("; ") }}</p>{% endif %}
{% for x in shot.deviations %}<p class="deviation"><span class="badge warn">deviation kept</span>{{ x }}</p>{% endfor %}
{% for d in shot.dailies %}
<div class="dailies" data-profile="{{ d.profile }}">
<h4>Dailies — {{ d.profile }}</h4>
<p class="how"><small>This page is read-only. Answer a take with the command beside it, or in the Prefect UI's dailies
form (a nightly run waits on it); the next run obeys the word.</small></p>
<p class="words">{% for w in d.words %}<span class="badge word">the word</span>{{ w }} {% else %}<em>no word yet</em>{% endfor %}</p>
{% for p in d.proposals %}<p class="proposal"><span class="badge proposal">agent's proposal</span>{{ p }} <small>(not acted on until a person says so)</small></p>{% endfor %}
{% if d.cleared %}<p class="cleared"><span class="badge warn">cleared</span>{{ d.cleared }}</p>{% endif %}
{% for k in d.kinds %}<div class="row side-by-side" data-kind="{{ k.kind }}">
{% for t in k.takes %}<figure class="daily{{ ' in-cut' if t.in_cut }}" data-kind="{{ k.kind }}" data-take="{{ t.take }}">
{% if t.image %}<img src="{{ t.image }}" alt="{{ shot.id }} {{ k.kind }} take {{ t.take }}, {{ d.profile }}">{% endif %}
<figcaption><b>{{ k.kind }} take {{ t.take }}</b> <span class="badge {{ 'pass' if t.passed else 'fail' }}">{{ "passed" if t.passed else "failed" }}</span>{% if t.in_cut %}<span class="badge incut">in the cut</span>{% endif %}
<br><small>{{ t.cost|usd }}{% if t.made %}, made {{ t.made|iso }}{% endif %}</small>{% if t.clip %} · <a class="clip" href="{{ t.clip }}">play</a>{% endif %}
<div>{% for s in t.scores %}<span class="badge {{ 'fail' if s.failing else 'pass' }}" title="{{ s.reason }}">{{ s.name }} {{ s.value }}</span>{% endfor %}</div>
{% for r in t.reasons %}<div><small>{{ r }}</small></div>{% endfor %}
<div class="answer"><small>circle: <code>{{ t.answers.circle }}</code><br>NG: <code>{{ t.answers.ng }}</code></small></div></figcaption></figure>{% endfor %}
</div>{% endfor %}
</div>
{% endfor %}
{% if not shot.takes %}<p><em>nothing made yet</em></p>{% endif %}
{% for t in shot.takes %}
{% set made = t.profile ~ ", run #" ~ t.run.n %}
<div class="take {{ t.stage }}" data-profile="{{ t.profile }}" data-run="{{ t.run.full }}">
<h4>{{ "Panel" if t.stage == "panel" else "Clip" }} {% if t.moment %}{{ t.moment }} {% endif %}take {{ t.take }} <span class="made">— {{ t.profile }}, <a href="#run-{{ t.run.n }}">run #{{ t.run.n }}</a> ({{ t.run.id }}, {{ t.when|when }})</span>
 <small>{{ t.model }}, {{ t.cost|usd }} by <span class="by">{{ t.who }}</span></small></h4>
<div class="row">
{% if t.image %}<figure><img class="panel" src="{{ t.image }}" alt="panel {{ shot.id }} {{ t.moment }} take {{ t.take }}, {{ made }}"><figcaption>{{ shot.id }} {{ t.moment }} take {{ t.take }} — {{ made }}</figcaption></figure>{% endif %}
{% for f in t.frames %}<figure class="thumb"><img class="keyframe" src="{{ f }}" alt="keyframe of {{ shot.id }} take {{ t.take }}, {{ made }}"></figure>{% endfor %}
{% if t.clip %}<p><a class="clip" href="{{ t.clip }}">play clip (take {{ t.take }}, {{ made }})</a></p>{% endif %}
</div>
{% for v in t.verdicts %}
<p>{% if v.missing %}<span class="badge warn">{{ v.stage }}: verdict missing</span>{% else %}
<span class="badge {{ 'pass' if v.passed else 'fail' }}">{{ v.stage }} {{ "passed" if v.passed else "failed" }}</span>
{% for s in v.scores %}<span class="badge {{ 'pass' if s.passed else 'fail' }}" title="{{ s.reason }}">{{ s.name }} {{ "%.2f"|format(s.value) }}</span>{% endfor %}{% endif %}</p>
{% if not v.missing %}<details><summary>judge's reasons ({{ v.judge }})</summary><ul>{% for s in v.scores %}<li>{{ s.name }}: {{ s.reason }}</li>{% endfor %}</ul></details>{% endif %}
{% endfor %}
<details class="prompt"><summary>prompt</summary><pre>{{ t.prompt }}</pre></details>
</div>
{% endfor %}
</section>
{% endfor %}
{% endfor %}
<h2 id="bible">The bible</h2>
{% for a in bible %}
<section class="shot asset" id="bible-{{ a.kind }}-{{ a.id }}">
<h3>{{ a.kind }} {{ a.id }}</h3>
<div class="row"><figure>{% if a.canonical %}<img src="{{ a.canonical }}" alt="canonical {{ a.id }}">{% else %}<span class="badge fail">no approved reference</span>{% endif %}<figcaption>{{ a.key }}</figcaption></figure></div>
<details><summary>locked description</summary><pre>{{ a.description }}</pre></details>
{% for ap in a.approvals %}<p><span class="badge note">approved</span>version {{ ap.version }} by {{ ap.by }} at {{ ap.when }}</p>{% endfor %}
{% if a.versions %}<table><tr><th>version</th><th>picture</th><th>parent</th><th>model</th><th>cost</th><th>gate</th><th>prompt</th></tr>
{% for v in a.versions %}<tr><td>v{{ v.version }}{% if v.view %} (fix {{ v.view }}){% endif %}{% if v.instruction %} (edit){% endif %}</td>
<td class="thumb">{% if v.image %}<img src="{{ v.image }}" alt="v{{ v.version }}">{% endif %}</td><td>{{ v.parent or "-" }}</td><td>{{ v.provider }}:{{ v.model }}</td><td>{{ v.cost_usd|usd }}</td>
<td><span class="badge {{ 'pass' if v.gate.passed else 'fail' }}">{{ "passed" if v.gate.passed else "failed" }}</span>{% for f in v.gate.failing %}<div>{{ f }}</div>{% endfor %}</td>
<td><details><summary>prompt</summary><pre>{{ v.prompt }}</pre></details></td></tr>{% endfor %}</table>{% endif %}
</section>
{% endfor %}
<h2 id="coverage">Coverage</h2>
<ul class="coverage">
{% for line in coverage %}<li>{{ line }}</li>{% else %}<li>every reference the manifests name is in storage, every approved one is used</li>{% endfor %}
</ul>
</body></html>
"""
