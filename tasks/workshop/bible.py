"""The bible workshop: versions of a character's turnaround or a location's plate, made, fixed,
listed and promoted to canonical inside slate.

A version is one paid image call through the governor (estimate, cap, ledger row, like every
paid call): from the bible's locked description, or one edit of a parent version — a sheet's
one view (`view`), a plate's one thing (`instruction`). It is kept in the film's storage (the
project folder, or the bucket, with the same keys) beside the asset's canonical file:

    characters/<id>/versions/<n>/<id>_turnaround_v<n>.png   and   .../<n>/version.json
    locations/<id>/versions/<n>/<id>_plate_v<n>.png         and   .../<n>/version.json

with its prompt, model, parent, cost, call id and the reference gate's verdict (slate's own
measures, held to the policy's "reference" stage, as `slate check` holds them; with the local
judge, the outfit against the words). A version made from a parent must differ from it, where
the judge can locate what the edit names (tasks/workshop/edit_check.py): an edit that came back unchanged
fails "the edit changed nothing", and so can never be promoted. A fix of one
view keeps the parent's other views bit for bit whatever model drew it: only that view's cell
of the model's picture is pasted onto the parent.

`promote` makes a version canonical: refused for a version that is missing or failed its gate,
or when the canonical changed since it was read (a promotion racing another: one ledger row
per asset and promotion number, so two promoters of one generation cannot both win); the
replaced file is kept under `<folder>/history/`; the decision (who, when, which version) is a
ledger row. `impact` says which shots' panels and clips were made from the current reference
(by the ledger's reference URIs, which name content hashes) and what re-making them would cost.

It must never overwrite a canonical reference except in `promote`, never pay except through the
governor, and never import Prefect at module level (the CLI reads versions without a server).
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, TypedDict, TypeGuard

from PIL import Image
from pydantic import JsonValue

from slate.governor.chokepoint import Answer, CallArtifact, CallSpec, Usage
from slate.governor.gates import GatePolicy, failing, judge_kind
from slate.governor.ledger import ApprovalRow, Ledger
from slate.manifests import LoadedFilm
from slate.manifests.keys import check_key
from slate.manifests.settings import Settings
from slate.manifests.turnaround import BIBLE_PLATE_SIZE, CELL_H, CELL_W, VIEWS
from slate.providers.base import ImageGenerator, PanelRequest, ReferenceRequest, Storage, fingerprint
from slate.tasks.workshop.edit_check import edit_scores, locates_edits
from slate.tasks.gates.sheet_check import content_failed, hold, measured, named_colours
from slate.errors import SlateError

if TYPE_CHECKING:  # a run is opened here only for the one paid call (tasks/run/run.py imports nothing of this)
    from slate.tasks.run.run import Crew, Run

__all__ = ["BibleError", "Asset", "asset_of", "versions", "make_version", "promote", "impact", "VIEWS",
           "expected_sha256"]

STAGE = "reference"            # the ledger's stage of a version's paid call
APPROVE_STAGE = "bible_approve"


class BibleError(SlateError, ValueError):
    """Bad input to the workshop: names the asset and the field, before anything is paid."""


class GateRecord(TypedDict):
    """A version's verdict at the reference gate, as its version.json keeps it."""

    passed: bool
    failing: list[str]
    scores: list[dict[str, JsonValue]]   # name, value, threshold, passed, reason, role


class VersionRecord(TypedDict):
    """A version of a turnaround or plate: its version.json in the film's storage, read by `slate
    bible versions`, the MCP tools and the production report."""

    version: int
    asset: str                 # "character:<id>" | "location:<id>"
    key: str
    sha256: str
    prompt: str
    provider: str
    model: str
    parent: int | None
    view: str | None
    instruction: str | None
    cost_usd: str
    call_id: str
    reused: bool
    made_at: str
    gate: GateRecord


class Impact(TypedDict):
    """What promoting a version would re-make (`slate bible impact`, the MCP tool)."""

    shots: dict[str, list[str]]          # scene -> the shots that use the asset
    made_from_old: dict[str, list[str]]  # "<scene>/<shot>" -> the stages the ledger made from the canonical file
    old_sha256: str | None
    spent_on_old_usd: str
    remake_estimate_usd: str


class Promotion(TypedDict):
    """A promotion as `slate bible approve` reports it."""

    asset: str
    version: int
    by: str
    at: str
    canonical: str
    history: str | None        # where the replaced canonical file was kept
    sha256: str
    replaced: str | None


@dataclass(frozen=True)
class Asset:
    """A reference the workshop makes versions of: a turnaround, a plate, or a speaker's voice
    sample (tasks/workshop/audition.py; `home` keeps its versions apart from the turnaround's)."""

    kind: Literal["character", "location", "voice"]
    ident: str
    description: str
    canonical: str         # the canonical key (bible.yaml's turnaround/plate, or the default path)
    field: str             # bible.yaml's field, e.g. characters[2].turnaround
    home: str | None = None   # where versions and history live (None: the canonical's folder)
    ext: str = "png"

    @property
    def folder(self) -> str:
        return self.home if self.home is not None else self.canonical.rsplit("/", 1)[0]

    @property
    def noun(self) -> str:
        return {"character": "turnaround", "location": "plate"}.get(self.kind, self.kind)

    @property
    def gate(self) -> str:
        """The check a version must pass to be promoted, as messages name it."""
        return "sample check" if self.kind == "voice" else "reference gate"

    @property
    def name(self) -> str:
        return f"{self.kind} '{self.ident}'"

    def version_key(self, n: int) -> str:
        return f"{self.folder}/versions/{n}/{self.ident}_{self.noun}_v{n}.{self.ext}"

    def record_key(self, n: int) -> str:
        return f"{self.folder}/versions/{n}/version.json"


def asset_of(film: LoadedFilm, name: str) -> Asset:
    """The bible's character or location called `name` ("mia", or "location:diner" where both exist)."""
    kind, _, ident = name.rpartition(":")
    chars = {c.id: (i, c) for i, c in enumerate(film.bible.characters)}
    locs = {loc.id: (i, loc) for i, loc in enumerate(film.bible.locations)}
    if kind in ("", "character") and ident in chars:
        i, c = chars[ident]
        return Asset("character", ident, c.description, film.character(ident).turnaround_key,
                     f"characters[{i}].turnaround")
    if kind in ("", "location") and ident in locs:
        i, loc = locs[ident]
        return Asset("location", ident, loc.description, film.location(ident).plate_key, f"locations[{i}].plate")
    raise BibleError(f"{film.film.bible}: no character or location {name!r} (characters: "
                     f"{', '.join(chars) or 'none'}; locations: {', '.join(locs) or 'none'})")


def character_of(film: LoadedFilm, name: str) -> Asset:
    asset = asset_of(film, name if ":" in name else f"character:{name}")
    return asset


# -- storage of named keys (the project folder or the bucket: the same keys) ----------------------
class UploadsKeys(Protocol):
    """A bucket: a project file is uploaded to its key (providers/storage_s3.py)."""

    def put_key_file(self, key: str, path: Path) -> bool: ...


def uploads_keys(storage: Storage) -> TypeGuard[UploadsKeys]:
    return hasattr(storage, "put_key_file")


def write_key(storage: Storage, key: str, data: bytes) -> None:
    """Put bytes at a named key of the film's storage, atomically."""
    check_key(key)
    if uploads_keys(storage):      # a bucket: uploaded from a temporary file
        with tempfile.NamedTemporaryFile(suffix=".part", delete=False) as tmp:
            tmp.write(data)
        try:
            storage.put_key_file(key, Path(tmp.name))
        finally:
            os.unlink(tmp.name)
        return
    from slate.providers.storage_local import LocalStorage, write_atomic
    if not isinstance(storage, LocalStorage):
        raise TypeError(f"{type(storage).__name__} can neither upload a key nor keep one in the project folder")
    write_atomic(storage.root / key, data)


def key_sha256(storage: Storage, key: str) -> str | None:
    if not storage.key_exists(key):
        return None
    return hashlib.sha256(storage.read_key(key)).hexdigest()


def versions(storage: Storage, asset: Asset) -> list[VersionRecord]:
    """Every version of the asset, oldest first, as its version.json says."""
    found: list[VersionRecord] = []
    for key in storage.list_keys(f"{asset.folder}/versions/"):
        if key.endswith("/version.json"):
            found.append(json.loads(storage.read_key(key)))
    return sorted(found, key=lambda v: v["version"])


def version(storage: Storage, asset: Asset, n: int, field: str = "--version") -> VersionRecord:
    have = versions(storage, asset)
    for v in have:
        if v["version"] == n:
            return v
    raise BibleError(f"{asset.name}: {field}: no version {n} (versions: "
                     f"{', '.join(str(v['version']) for v in have) or 'none yet'})")


# -- making a version -----------------------------------------------------------------------------
def _prompt(asset: Asset, view: str | None, instruction: str | None) -> str:
    if asset.kind == "character":
        if view:
            return (f"Turnaround sheet of {asset.ident}. The front, side and back views are right; redraw only the "
                    f"{view.replace('_', ' ')} view so it shows the same person as the others:\n{asset.description}")
        return (f"Character turnaround sheet of {asset.ident}: four full-body views in a row (front, three-quarter, "
                f"side, back) on a plain transparent ground, the same person, outfit and height in every view:\n"
                f"{asset.description}")
    if instruction:
        return f"Location plate of {asset.ident}. One edit, nothing else changes: {instruction}"
    return f"Location plate of {asset.ident}, no people, eye-level, wide:\n{asset.description}"


def _size(asset: Asset) -> tuple[int, int]:
    return (CELL_W * len(VIEWS), CELL_H) if asset.kind == "character" else BIBLE_PLATE_SIZE


def _composite_view(parent: bytes, drawn: bytes, view: str) -> bytes:
    """The parent sheet, at its own size, with only `view`'s cell taken from what the model drew
    (scaled to the parent): every other pixel is the parent's, whatever the model returned."""
    opened = Image.open(io.BytesIO(parent))
    base = opened.convert("RGBA" if opened.mode in ("RGBA", "LA", "P") else "RGB")
    w, h = base.size
    new = Image.open(io.BytesIO(drawn)).convert(base.mode).resize((w, h), Image.Resampling.NEAREST)
    i = VIEWS.index(view)
    box = (round(i * w / len(VIEWS)), 0, round((i + 1) * w / len(VIEWS)), h)
    base.paste(new.crop(box), box[:2])
    buf = io.BytesIO()
    base.save(buf, format="PNG")
    return buf.getvalue()


def gate_verdict(root: Path, asset: Asset, data: bytes, judge: str, profile: str, *,
                 judge_obj: object = None, parent: tuple[int, bytes] | None = None,
                 instruction: str | None = None) -> GateRecord:
    """The reference gate's verdict on one version, from slate's own measures (and the judge's
    free readings: the outfit against the words, where an edit's subject is). `parent`: the
    version it edits and its picture, which it must differ from — where the edit was asked."""
    scores = measured(asset.kind, data)
    if asset.kind == "character" and judge_kind(judge.split(":")[0]) == "local" and not content_failed(scores):
        with tempfile.NamedTemporaryFile(suffix=".png") as tmp:
            tmp.write(data)
            tmp.flush()
            scores += named_colours(judge_obj, Path(tmp.name), asset.ident, asset.description)
    if parent is not None:
        n, before = parent
        where = None
        if instruction and locates_edits(judge_obj):
            with tempfile.NamedTemporaryFile(suffix=".png") as tmp:
                tmp.write(before)
                tmp.flush()
                where = judge_obj.locate_edit(Path(tmp.name), asset.description, instruction)
        scores += edit_scores(before, data, f"version {n}", *(where or (None,)))
    # held as the run's reference gate holds it for this judge (its provider: local or a vision model)
    verdict = hold(GatePolicy.load(root, "block"), scores, judge_kind(judge.split(":")[0]), profile)
    return {"passed": bool(verdict["passed"]), "failing": failing(verdict),
            "scores": [{k: s.get(k) for k in ("name", "value", "threshold", "passed", "reason", "role")}
                       for s in verdict.get("scores", [])]}


def workshop_run(root: Path, film: LoadedFilm, settings: Settings, model: str | None) -> Run:
    """The workshop's run: the film's settings (its caps: slate.toml's, or what an agent's session
    has left), the panel model asked for, scene "bible"; opened by whoever makes a version."""
    from slate.providers.registry import ModelRef, lineup
    from slate.tasks.run.run import Run, RunLineup
    chosen = lineup(settings)
    panel = str(ModelRef.parse(model)) if model else str(chosen.panel)
    return Run(root=str(root), run_id=f"bible-{uuid.uuid4().hex[:12]}", film=film.film.id, scene="bible",
               settings=settings, lineup=RunLineup(panel=panel, videos=tuple(str(v) for v in chosen.videos),
                                                   judge=str(chosen.judge)))


def check_request(storage: Storage, asset: Asset, *, view: str | None, parent: int | None,
                  instruction: str | None) -> VersionRecord | None:
    """Every bad input named before anything is paid; the parent version's record, if any."""
    if asset.kind == "character":
        if instruction:
            raise BibleError(f"{asset.name}: --edit: a turnaround is fixed one view at a time (--fix VIEW --from N)")
        if view is not None and view not in VIEWS:
            raise BibleError(f"{asset.name}: --fix: no view {view!r} (views: {', '.join(VIEWS)})")
        if view is not None and parent is None:
            raise BibleError(f"{asset.name}: --fix {view}: give the version it fixes (--from N)")
        if parent is not None and view is None:
            raise BibleError(f"{asset.name}: --from {parent}: say which view to fix (--fix VIEW)")
    else:
        if view is not None:
            raise BibleError(f"{asset.name}: --fix: a plate has no views; edit it (--edit \"one change\" --from N)")
        if instruction is not None and not instruction.strip():
            raise BibleError(f"{asset.name}: --edit: the edit has no instruction")
        if instruction is not None and parent is None:
            raise BibleError(f"{asset.name}: --edit: give the version it edits (--from N)")
        if parent is not None and instruction is None:
            raise BibleError(f"{asset.name}: --from {parent}: say what to change (--edit \"one change\")")
    return version(storage, asset, parent, "--from") if parent is not None else None


def make_version(root: Path, film: LoadedFilm, settings: Settings, asset: Asset, *, model: str | None = None,
                 view: str | None = None, parent: int | None = None, instruction: str | None = None) -> VersionRecord:
    """One new version of the asset, paid through the governor, gated, stored; its record. The
    workshop's run is opened for the one call and closed after it (its ledger engine too)."""
    from slate.tasks.run.run import open_run
    with open_run(workshop_run(root, film, settings, model)) as run:
        return _make_version(root, run, asset, view=view, parent=parent, instruction=instruction)


def _make_version(root: Path, run: Run, asset: Asset, *, view: str | None, parent: int | None,
                  instruction: str | None) -> VersionRecord:
    from slate.tasks.run.lint import check_before_paying
    st = run.crew
    storage = st.storage
    parent_rec = check_request(storage, asset, view=view, parent=parent, instruction=instruction)
    n = max((v["version"] for v in versions(storage, asset)), default=0) + 1
    parent_uri = None
    if parent_rec is not None:
        parent_uri = storage.put_bytes(storage.read_key(parent_rec["key"]), "png")
    width, height = _size(asset)
    prompt = _prompt(asset, view, instruction)
    # The version number is the seed: a new version of the same request is a new draw.
    kind = asset.kind
    if kind == "voice":   # a voice is spoken, not drawn: tasks/workshop/audition.py
        raise BibleError(f"{asset.name}: a voice version is made by `slate bible voice`")
    req = ReferenceRequest(kind=kind, ident=asset.ident, description=asset.description, prompt=prompt,
                           width=width, height=height, seed=n, parent_uri=parent_uri, view=view,
                           instruction=instruction)
    provider, model_name = run.lineup.panel.split(":", 1)
    check_before_paying(root, prompt, run.lineup.panel, "panel", shot=None, with_references=bool(parent_uri))
    images = st.images
    spec = CallSpec(
        context=run.call_at(f"{asset.kind}:{asset.ident}", STAGE, 1, provider, model_name),
        units=Usage("image", images=1, resolution=f"{height}p"),
        fingerprint=fingerprint({"reference": req.fingerprint(), "variant": images.variant}), prompt=prompt,
        references=(parent_uri,) if parent_uri else (),
        parameters={"version": n, "parent": parent, "view": view, "instruction": instruction})
    delivery = _paid(run, spec, req, images)
    data = storage.get_bytes(delivery.uri)
    if view is not None and parent_rec is not None:   # a view is fixed only from a parent (check_request)
        data = _composite_view(storage.read_key(parent_rec["key"]), data, view)
    row = st.governor.ledger.find(delivery.call_id)
    cost = Decimal(0) if delivery.reused else Decimal(row.actual_cost if row.actual_cost is not None else row.estimate)
    record: VersionRecord = {
        "version": n, "asset": f"{asset.kind}:{asset.ident}", "key": asset.version_key(n),
        "sha256": hashlib.sha256(data).hexdigest(), "prompt": prompt, "provider": provider,
        "model": model_name, "parent": parent, "view": view, "instruction": instruction,
        "cost_usd": f"{cost:.2f}", "call_id": delivery.call_id, "reused": delivery.reused,
        "made_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "gate": gate_verdict(root, asset, data, run.lineup.judge, run.profile, judge_obj=st.judge,
                             parent=(parent_rec["version"], storage.read_key(parent_rec["key"])) if parent_rec else None,
                             instruction=instruction)}
    write_key(storage, asset.version_key(n), data)
    write_key(storage, asset.record_key(n), json.dumps(record, indent=2, sort_keys=True).encode())
    return record


class DrawsReferences(Protocol):
    """An image model with its own reference painter (the local provider's bible drawings)."""

    def generate_reference(self, request: ReferenceRequest, *, client_ref: str | None = None) -> bytes: ...


def draws_references(images: ImageGenerator) -> TypeGuard[DrawsReferences]:
    return hasattr(images, "generate_reference")


def _paid(run: Run, spec: CallSpec, req: ReferenceRequest, images: ImageGenerator) -> CallArtifact:
    """The one paid call: the provider's own reference painter, else its panel model asked with the
    parent (or a plain ground) as the image it works from."""
    from slate.tasks.shot.panel import by_job, draws_by_job
    st = run.crew
    if draws_references(images):
        painter = images
        return st.governor.sync_call(
            spec, lambda call_id: Answer(painter.generate_reference(req, client_ref=call_id), "png"), repeatable=True)
    ground = req.parent_uri or st.storage.put_bytes(_plain(req.width, req.height), "png")
    panel = PanelRequest(prompt=req.prompt, location_id=req.ident if req.kind == "location" else "bible",
                         plate_uri=ground, characters=(), framing="wide", angle="eye", movement="static",
                         width=req.width, height=req.height, seed=req.seed,
                         override_uri=req.parent_uri)
    if draws_by_job(images):
        return by_job(run, spec, images, panel)
    return st.governor.sync_call(
        spec, lambda call_id: Answer(images.generate_panel(panel, client_ref=call_id), "png"), repeatable=True)


def _plain(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (236, 236, 236)).save(buf, format="PNG")
    return buf.getvalue()


# -- what a promotion would re-make ---------------------------------------------------------------
def impact(root: Path, film: LoadedFilm, settings: Settings, asset: Asset, storage: Storage) -> Impact:
    """The shots that use the asset; which of their panels and clips the ledger says were made
    from the current canonical file; and what re-making those shots would cost (`slate estimate`).
    A picture's: a voice's lines are tasks/workshop/audition.py `lines_of`."""
    from slate.governor.estimate import estimate_scene, lineup_pricing
    from slate.governor.ledger import Ledger
    from slate.providers.registry import lineup
    from slate.tasks.shot.plan import plan_from_project
    shots: dict[str, list[str]] = {}
    for _, sc in film.scenes:
        for s in sc.shots:
            uses = asset.ident in s.characters if asset.kind == "character" else sc.location_of(s) == asset.ident
            if uses:
                shots.setdefault(sc.id, []).append(s.id)
    old = key_sha256(storage, asset.canonical)
    made: dict[str, set[str]] = {}
    spent = Decimal(0)
    if old:
        for row in Ledger.for_project(root).rows():
            # Only what shots made (panels, gates, clips): the workshop's own calls are not shots.
            if row.film == film.film.id and row.scene != "bible" and any(old in r for r in row.reference_hashes or ()):
                made.setdefault(f"{row.scene}/{row.shot}", set()).add(row.stage)
                spent += Decimal(row.actual_cost or 0)
    pricing = lineup_pricing(root, lineup(settings), settings.price_as)
    cost = Decimal(0)
    for scene_id, ids in shots.items():
        plans = [p for p in plan_from_project(film, scene_id, settings.profile, settings.fps) if p.shot in ids]
        cost += estimate_scene(plans, pricing).total
    return {"shots": {k: v for k, v in shots.items()}, "made_from_old": {k: sorted(v) for k, v in made.items()},
            "old_sha256": old, "spent_on_old_usd": f"{spent:.2f}", "remake_estimate_usd": f"{cost:.2f}"}


# -- promotion ------------------------------------------------------------------------------------
def promotions(ledger: Ledger, film_id: str, asset: Asset) -> list[ApprovalRow]:
    """The asset's promotions, oldest first (rows of the ledger's approvals, schema v6)."""
    return [a for a in ledger.approvals(film=film_id, stage=APPROVE_STAGE) if a.shot == f"{asset.kind}:{asset.ident}"]


def expected_sha256(value: str | None) -> str | None:
    """`--expect` as a SHA-256 (64 hex digits, lower-cased), or BibleError naming what was typed:
    a value that is no hash at all was said as "changed since it was read", a race that never was."""
    if value is None:
        return None
    digest = value.strip().lower()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        shown = repr(value) if len(value) <= 80 else f"{value[:40]!r}… ({len(value)} characters)"
        raise BibleError(f"--expect: {shown} is not a SHA-256 (64 hex digits, as `sha256sum` prints for the "
                         "canonical file)")
    return digest


def promote(root: Path, film: LoadedFilm, asset: Asset, n: int, *, by: str, storage: Storage, ledger: Ledger,
            expect_sha256: str | None = None) -> Promotion:
    """Version `n` made canonical. `expect_sha256`: the canonical's hash the person saw (None: as
    read now); anything else there by the time it is written is a racing promotion, refused."""
    expect_sha256 = expected_sha256(expect_sha256)
    rec = version(storage, asset, n)
    if not rec["gate"]["passed"]:
        raise BibleError(f"{asset.name}: --version {n}: failed its {asset.gate} "
                         f"({'; '.join(rec['gate']['failing'])}): not promoted")
    data = storage.read_key(rec["key"])
    if hashlib.sha256(data).hexdigest() != rec["sha256"]:
        raise BibleError(f"{asset.name}: --version {n}: {rec['key']} does not match its version.json hash: "
                         "not promoted")
    current = key_sha256(storage, asset.canonical)
    expect = current if expect_sha256 is None else expect_sha256
    if current != expect:
        raise BibleError(f"{asset.name}: {asset.field}: {asset.canonical} changed since it was read "
                         f"({(expect or 'none')[:12]} → {(current or 'none')[:12]}): another promotion? not promoted")
    done = promotions(ledger, film.film.id, asset)
    # The canonical became `current` at the last promotion that wrote it (never, for a file put there by
    # hand); a promotion that replaced it since then is another one under way or finished: refused.
    became = max((r.created_at for r in done if (r.parameters or {}).get("sha256") == current), default=None)
    overtaken = [r for r in done if (r.parameters or {}).get("replaced") == current
                 and (became is None or r.created_at > became)]
    if overtaken:
        other = overtaken[-1].parameters
        raise BibleError(f"{asset.name}: {asset.field}: another promotion (version {other.get('version')} by "
                         f"{other.get('by')} at {other.get('at')}) already replaced {asset.canonical} as you saw it: "
                         "not promoted; look at `slate bible versions` and try again")
    generation = len(done) + 1
    replacing = len([r for r in done if (r.parameters or {}).get("replaced") == current])
    now = datetime.now(timezone.utc)
    # One row per canonical content replaced (and how often it was replaced before): two promoters
    # racing from the same canonical claim the same id, and the loser finds the winner's row.
    claim = hashlib.sha256(f"promote|{film.film.id}|{asset.canonical}|{current}|{replacing}".encode()).hexdigest()[:32]
    try:
        ledger.approve(run_id=f"bible-approve-{uuid.uuid4().hex[:8]}", film=film.film.id, scene="bible",
                       shot=f"{asset.kind}:{asset.ident}", stage=APPROVE_STAGE, take=generation, by=by,
                       fingerprint=fingerprint({"promote": asset.canonical, "generation": generation}),
                       message=f"{asset.name} version {n} approved by {by}", approval_id=claim,
                       parameters={"version": n, "by": by, "at": now.isoformat(timespec="seconds"),
                                   "sha256": rec["sha256"], "replaced": current, "generation": generation})
    except Exception as exc:  # noqa: BLE001 - the unique call id: someone promoted this generation first
        if "unique" in str(exc).lower() or "duplicate" in str(exc).lower() or "integrity" in type(exc).__name__.lower():
            raise BibleError(f"{asset.name}: {asset.field}: another promotion of {asset.canonical} won the race "
                             f"(promotion {generation}): not promoted; look at `slate bible versions` and try again") \
                from None
        raise
    if key_sha256(storage, asset.canonical) != current:
        raise BibleError(f"{asset.name}: {asset.field}: {asset.canonical} changed while promoting: not promoted")
    history = None
    if current is not None:
        history = f"{asset.folder}/history/{generation:03d}-{current[:12]}.{asset.ext}"
        write_key(storage, history, storage.read_key(asset.canonical))
    write_key(storage, asset.canonical, data)
    return {"asset": f"{asset.kind}:{asset.ident}", "version": n, "by": by, "at": now.isoformat(timespec="seconds"),
            "canonical": asset.canonical, "history": history, "sha256": rec["sha256"], "replaced": current}
