"""The `bible` flow: a person approves a reference version from the Prefect UI.

The run reads the candidate version (tasks/workshop/bible.py) and the current canonical file, says which
shots' panels were made from the canonical and what re-making them would cost, and waits for a
person with a form that shows the candidate beside the canonical: suspended under a deployment
(no worker is held), paused otherwise (`.slate/bible-approval.json` says which run waits). If
the person approves, the version is promoted — refused, naming the asset and field, when the
canonical changed while the run waited (another promotion won) — and the decision is the
ledger's row as `slate bible approve` writes it.

It must never promote a version that failed its gate, or without a person's answer.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prefect import flow, get_run_logger
from prefect.client.schemas.objects import State
from prefect.flow_runs import pause_flow_run, suspend_flow_run
from prefect.input import RunInput
from prefect.runtime import flow_run
from prefect.states import Completed, Failed
from pydantic import BaseModel, Field

from slate.flows.review.approval import can_suspend, local_user, thumbnail_data_url
from slate.providers.storage_local import write_atomic

if TYPE_CHECKING:
    from slate.tasks.workshop.bible import Asset, Impact, VersionRecord

MARKER = "bible-approval.json"
WAIT_HOURS = 24.0


class BibleAnswer(RunInput):
    approve: bool = Field(False, title="Make it canonical",
                          description="promote this version to the canonical reference (the old one is kept)")
    notes: str = Field("", title="Notes", description="why — kept in the ledger with the decision")
    approved_by: str = Field("", title="Your name", description="who decided — kept in the ledger")


class PromotedVersion(BaseModel):
    """What an approved bible run made canonical (tasks/workshop/bible.py `promote`): the asset, its version,
    who approved it and when, the canonical file and where the one it replaced was kept."""

    asset: str                  # kind:ident
    version: int
    by: str
    at: str
    canonical: str
    history: str | None         # the replaced canonical, kept (None: there was none)
    sha256: str
    replaced: str | None        # the replaced canonical's hash


def form_text(asset: Asset, rec: VersionRecord, candidate: Path, canonical: Path | None, hit: Impact) -> str:
    """The form: the candidate beside the canonical, its gate, and what promoting it re-makes."""
    uses = ", ".join(f"{sc}/{s}" for sc, ids in hit["shots"].items() for s in ids) or "none"
    made = ", ".join(sorted(hit["made_from_old"])) or "nothing yet"
    old = f"![canonical]({thumbnail_data_url(canonical, 360)})" if canonical else "(none yet)"
    gate = "passed" if rec["gate"]["passed"] else "failed: " + "; ".join(rec["gate"]["failing"])
    return (f"### Approve {asset.kind} {asset.ident} version {rec['version']}\n\n"
            f"| candidate v{rec['version']} | canonical now |\n|---|---|\n"
            f"| ![candidate]({thumbnail_data_url(candidate, 360)}) | {old} |\n\n"
            f"Parent: {rec.get('parent') or '-'}; model {rec['provider']}:{rec['model']}; cost ${rec['cost_usd']}; "
            f"reference gate {gate}.\n\n"
            f"Shots that use it: {uses}. Made from the canonical now: {made}. Re-making those shots on the next "
            f"run is estimated at **${hit['remake_estimate_usd']}** (nothing is re-made until then).")


@flow(name="bible", log_prints=False)
def bible_flow(project: str, asset: str, version: int = Field(1, ge=1)) -> State[PromotedVersion]:
    """Show a reference version beside the canonical one and promote it if a person approves."""
    from slate.governor.ledger import Ledger
    from slate.manifests import load_film
    from slate.providers.registry import storage_for
    from slate.manifests.settings import project_settings
    from slate.tasks.workshop.bible import BibleError, asset_of, impact, key_sha256, promote
    from slate.tasks.workshop.bible import version as get_version
    log = get_run_logger()
    root = Path(project)
    film = load_film(root)
    storage = storage_for(root)
    try:
        target = asset_of(film, asset)
        rec = get_version(storage, target, version)
    except BibleError as exc:
        return Failed(name="Refused", message=str(exc))
    if not rec["gate"]["passed"]:
        return Failed(name="Refused", message=f"{target.name}: version {version}: failed its reference gate "
                                              f"({'; '.join(rec['gate']['failing'])})")
    seen = key_sha256(storage, target.canonical)
    hit = impact(root, film, project_settings(root), target, storage)
    scratch = root / ".slate" / "scratch" / "bible"
    scratch.mkdir(parents=True, exist_ok=True)
    candidate = scratch / f"candidate-{rec['sha256'][:16]}.png"
    candidate.write_bytes(storage.read_key(rec["key"]))
    canonical = None
    if seen:
        canonical = scratch / f"canonical-{seen[:16]}.png"
        canonical.write_bytes(storage.read_key(target.canonical))
    text = form_text(target, rec, candidate, canonical, hit)
    ready = BibleAnswer.with_initial_data(description=text, approve=False)
    marker = root / ".slate" / MARKER
    # Written beside and renamed: `slate approve`, an agent or a test polling for it must never
    # read it half-written (CI's run of stop 49 read it empty).
    write_atomic(marker, json.dumps({"flow_run_id": str(flow_run.get_id()), "asset": asset, "version": version,
                                     "canonical_sha256": seen, "text": text}, indent=2).encode())
    key = f"bible-{target.kind}-{target.ident}-{version}"
    seconds = int(WAIT_HOURS * 3600)
    log.info("%s version %s: waiting for a person to approve it (open the run and press Resume)", target.name,
             version)
    try:
        if can_suspend():
            answer = suspend_flow_run(wait_for_input=ready, timeout=seconds + 3600, key=key)
        else:
            answer = pause_flow_run(wait_for_input=ready, timeout=seconds, poll_interval=2, key=key)
    finally:
        marker.unlink(missing_ok=True)
    if not answer.approve:
        return Completed(name="Declined", message=f"{target.name}: version {version} not promoted"
                                                  + (f" ({answer.notes})" if answer.notes else ""))
    try:
        promoted = promote(root, film, target, version, by=answer.approved_by or local_user(), storage=storage,
                           ledger=Ledger.for_project(root), expect_sha256=seen)
    except BibleError as exc:
        return Failed(name="Refused", message=str(exc))
    done = PromotedVersion.model_validate(promoted)
    return Completed(message=f"promoted {done.asset} v{version} to {done.canonical} by {done.by}", data=done)
