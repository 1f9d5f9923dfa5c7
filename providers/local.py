"""The local provider: a real, offline image and video model for rehearsals and tests.

Panels are composed from the locked bible images (the plate framed by the camera intent, each
character's turnaround view placed per the shot, the scene's wardrobe put on); clips are
rendered by ffmpeg from the approved start panel (and end panel) with the camera move. Video
jobs are durable: a job is a folder under `.slate/local-jobs/` (and, for a film in a bucket,
an object under the film's `local-jobs/`, so a run retried on another worker finds it), so a
crashed run can re-attach to it exactly as it would to a vendor's job. A fault mode makes a seeded share of outputs
off-model (recoloured character, wrong plate, missing character, corrupted frames) so the
gates can be measured. SLATE_LOCAL_FAULT_KINDS also takes the spoken line's faults
(`wrong_voice`, `silent_line`, `cut_line`: providers/local_speech.py), which leave pictures and
clips as they are, and a lip-sync's (`lip_offset`, `lip_still`, `lip_other_line`: LocalLipSync,
providers/local_lipsync.py). Its speech capability is the eSpeak NG voice of local_speech.py (LocalSpeech,
model local-espeak-v1, $0), declared here like its painter, its video model and its judge.

Like a vendor, the local provider answers a lookup of a call whose answer was lost: it books
each request it receives (fsynced) before it works on it, and keeps the answer by our call id.
Its work runs in the caller's process, so a request received by a process that died was never
finished there: the lookup finishes it — the provider completing the job it was given, as a
vendor's server would — and a request it has no receipt of was never received (`NotReceived`:
nothing ran, it may be sent now). Either way it is received once, and drawn or judged once.

It must never reach the network, never read a key, and never invent a reference the bible
lacks: it draws only from what storage holds.
"""
from __future__ import annotations

import io
import json
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from collections.abc import Mapping
from typing import Any

from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, field_validator

from slate.manifests.keys import parse_canonical
from slate.media import add_sound_bed, render_clip
from slate.media import session_memo
from slate.providers.base import (BucketStorage, CharacterRef, ClipRequest, ContinuityJudge, DoctorFinding, FaceCue,
                                  JobStatus, LipSyncRequest, PanelRequest, ReferencePainter, ReferenceRequest, Storage, VideoGenerator)
from slate.providers.errors import JobFailed, NotReceived
from slate.providers.spec import MusicLimits, Offer, ProviderSpec, TakesReferences
from slate.providers.local_draw import (CLIP_FAULT_KINDS, CONTINUITY_FAULT_KINDS, FAULT_KINDS, HAIR_DRIFT,
                                        LIP_FAULT_KINDS, PANEL_VIEWS, add_grain, choose_fault, corrupt, dress,
                                        frame_plate, hue_rotate, light_set, misheld, paste_figure, place_figures,
                                        placed_props, rng_for, turn_hair, view_cell, views_needed)
from slate.providers.local_music import LOCAL_MUSIC_MODEL, LocalComposer
from slate.providers.local_speech import LOCAL_SPEECH_MODEL, SPEECH_FAULT_KINDS, LocalSpeech
from slate.providers.storage_local import LocalStorage, append_entry, copy_atomic, temp_folder_beside, write_atomic


#: The local painter's lip-sync model (LocalLipSync), priced at $0 on the rate card.
LOCAL_LIPSYNC_MODEL = "local-lipsync-v1"


@dataclass(frozen=True)
class FaultMode:
    rate: float = 0.0
    seed: int = 0
    kinds: tuple[str, ...] = FAULT_KINDS

    @classmethod
    def parse(cls, rate: float, seed: int, kinds: str) -> "FaultMode":
        chosen = tuple(k.strip() for k in kinds.split(",") if k.strip())
        known = FAULT_KINDS + CLIP_FAULT_KINDS + CONTINUITY_FAULT_KINDS + SPEECH_FAULT_KINDS + LIP_FAULT_KINDS
        unknown = set(chosen) - set(known)
        if unknown:
            raise ValueError(f"unknown local fault kind(s) {sorted(unknown)} (known: {', '.join(known)})")
        return cls(rate, seed, chosen)

    def as_variant(self) -> dict[str, Any]:
        """What of the fault mode changes output: nothing when it is off."""
        if self.rate <= 0:
            return {}
        return {"fault_rate": self.rate, "fault_seed": self.seed, "fault_kinds": list(self.kinds)}


class LocalSettings(BaseModel):
    """The local provider's own settings: rehearsal knobs no vendor has. In slate.toml as
    `local_<setting>` or a [providers.local] table, or SLATE_LOCAL_<SETTING> (providers/registry.py
    `provider_settings`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    latency: float = Field(0.0, ge=0, le=600, description="seconds the local provider takes per video job "
                           "(rehearse waits and crashes)")
    fault_rate: float = Field(0.0, ge=0, le=1, description="share of local provider outputs made off-model on purpose")
    fault_seed: int = Field(0, description="seed of the local provider's fault mode")
    fault_kinds: str = Field(",".join(FAULT_KINDS), description="comma-separated fault kinds")

    @field_validator("fault_kinds")
    @classmethod
    def _known_kinds(cls, v: str) -> str:
        FaultMode.parse(0.0, 0, v)   # an unknown kind is said here, naming the known ones
        return v

    @property
    def faults(self) -> FaultMode:
        return FaultMode.parse(self.fault_rate, self.fault_seed, self.fault_kinds)

    def variant(self) -> dict[str, Any]:
        """What these settings change of what the provider makes: the fault mode, when it is on
        (the latency changes only how long a job takes)."""
        return self.faults.as_variant()



def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    # Level 1: grain makes panels nearly incompressible, and level 6 costs 10x the time for ~3%.
    img.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def _drawn(fault: str | None) -> str | None:
    """A fault a picture can carry: a clip's own (CLIP_FAULT_KINDS), a spoken line's
    (SPEECH_FAULT_KINDS) and a lip-sync's (LIP_FAULT_KINDS) leave pictures as drawn."""
    return None if fault in CLIP_FAULT_KINDS + SPEECH_FAULT_KINDS + LIP_FAULT_KINDS else fault


def _filmed(fault: str | None) -> str | None:
    """A fault a clip can carry: a spoken line's (SPEECH_FAULT_KINDS), a lip-sync's
    (LIP_FAULT_KINDS) and a panel's against the continuity ledger (CONTINUITY_FAULT_KINDS: a clip
    is animated from its panels, and holds what they hold) leave clips as rendered."""
    return None if fault in SPEECH_FAULT_KINDS + LIP_FAULT_KINDS + CONTINUITY_FAULT_KINDS else fault


class LocalImage:
    """Image generation from the bible's own pixels."""

    name = "local"
    model = "local-compositor-v1"

    def __init__(self, storage: Storage, faults: FaultMode = FaultMode()):
        self.storage = storage
        self.faults = faults
        self.variant = faults.as_variant()
        self._figures: dict[tuple[str, str, str | None], Image.Image] = {}

    def _open(self, uri: str) -> Image.Image:
        return Image.open(self.storage.open_local(uri))

    def generate_panel(self, request: PanelRequest, *, client_ref: str | None = None,
                       force_fault: str | None = None) -> bytes:
        if client_ref:
            # Received, booked before any work: a lookup of this call id finds the request even
            # if this process dies while drawing it.
            write_atomic(self._receipt(client_ref), json.dumps(
                {"request": request.as_dict(), "force_fault": force_fault}, sort_keys=True).encode())
            append_entry(self._kept(client_ref).parent / "submissions.jsonl",
                         {"client_ref": client_ref, "fingerprint": request.fingerprint()})
        png = self._draw_png(request, force_fault)
        if client_ref:
            # Kept by our call id, as a vendor keeps a prediction: a run killed before it got
            # the answer fetches it instead of paying for the panel again.
            write_atomic(self._kept(client_ref), png)
        return png

    def _draw_png(self, request: PanelRequest, force_fault: str | None) -> bytes:
        fault = force_fault or _drawn(choose_fault(self.faults.rate, self.faults.seed, self.faults.kinds,
                                                   "panel", request.fingerprint()))
        return png_bytes(self.draw(request, fault))

    def reference_board(self, request: ClipRequest) -> bytes:
        """A reference clip's board as PNG (providers.base.LaysOutReferences): the picture the
        local video model starts such a clip from, laid out by a painter without faults."""
        return png_bytes(reference_board(self.storage, request))

    def submissions(self) -> list[dict[str, Any]]:
        """The provider's own book of panels drawn for a governor (what a crash test counts)."""
        path = self.storage.root / ".slate" / "local-jobs" / "panels" / "submissions.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []

    def _kept(self, client_ref: str) -> Path:
        return self.storage.root / ".slate" / "local-jobs" / "panels" / f"{client_ref}.png"

    def _receipt(self, client_ref: str) -> Path:
        return self.storage.root / ".slate" / "local-jobs" / "panels" / f"{client_ref}.request.json"

    def recover(self, client_ref: str) -> bytes | None:
        """The panel drawn for our call id; one received and never finished (its process died)
        is drawn now, from the request it booked; NotReceived when it has no receipt of it (in
        this folder's book, which is complete; a film in a bucket: None, not found)."""
        path = self._kept(client_ref)
        if path.is_file():
            return path.read_bytes()
        receipt = self._receipt(client_ref)
        if not receipt.is_file():
            if not isinstance(self.storage, LocalStorage):
                # A film in a bucket runs on several workers, and receipts are kept on each one's
                # disk: another worker may have received it. Not found is all that can be said.
                return None
            raise NotReceived(f"the local painter never received call {client_ref}", provider=self.name)
        booked = json.loads(receipt.read_text())
        request = PanelRequest(**{**booked["request"], "characters": tuple(
            CharacterRef(**c) for c in booked["request"]["characters"])})
        png = self._draw_png(request, booked.get("force_fault"))
        write_atomic(path, png)
        return png

    def draw(self, request: PanelRequest, fault: str | None = None) -> Image.Image:
        rng = rng_for("fault-detail", request.seed, request.moment)
        if request.override_uri:
            # A human composite: the polish pass only conforms it to the frame.
            img = self._open(request.override_uri).convert("RGB").resize(
                (request.width, request.height), Image.Resampling.LANCZOS)
            return add_grain(img, request.seed)
        plate = self._open(request.plate_uri)
        if fault == "wrong_plate":
            plate = self._wrong_plate(request.location_id, plate)
        held: Mapping[str, Any] = request.continuity or {}
        if fault in CONTINUITY_FAULT_KINDS:
            wrong = misheld(held, fault, rng)
            # Nothing of the ledger for this kind to get wrong: break the frame instead.
            held, fault = (wrong, None) if wrong is not None else (held, "corrupted")
        canvas = light_set(frame_plate(plate, request.framing, request.angle, request.width, request.height),
                           held.get("light"))
        figures, sizes = {}, {}
        for ch in request.characters:
            for view in views_needed(held.get("blocking")):
                fig = self._dressed(ch.turnaround_uri, view, ch.wardrobe_colour)
                figures[(ch.id, view)] = fig
                sizes[(ch.id, view)] = fig.size
        ids = [c.id for c in request.characters]
        drop = recolour = None
        if fault == "missing" and ids:
            drop = ids[int(rng.integers(0, len(ids)))]
        elif fault == "missing":
            fault = "corrupted"  # nobody to leave out: break the frame instead
        if fault == "recolour" and ids:
            recolour = ids[int(rng.integers(0, len(ids)))]
        for p in place_figures(ids, sizes, framing=request.framing, width=request.width, height=request.height,
                               seed=request.seed, moment=request.moment, blocking=held.get("blocking")):
            if p.character_id == drop:
                continue
            fig = figures[(p.character_id, p.view)]
            if p.character_id == recolour:
                fig = hue_rotate(fig, float(rng.uniform(100, 260)))
            paste_figure(canvas, fig, p)
        # The ledger's props stand in front (on the counter before the actors): always in sight.
        for _, sprite, x, y in placed_props(held.get("props") or {}, request.width, request.height):
            canvas.paste(sprite, (x, y), sprite.getchannel("A"))
        if fault == "corrupted" or (fault == "recolour" and not ids):
            canvas = corrupt(canvas, rng)
        return add_grain(canvas, request.seed)

    def generate_reference(self, request: ReferenceRequest, *, client_ref: str | None = None) -> bytes:
        """A version of a bible reference (providers/local_bible.py draws it from the words): a
        fix redraws only its view's cell, an edit only the thing it names."""
        from slate.providers import local_bible as bible
        parent = self._open(request.parent_uri) if request.parent_uri else None
        if request.kind == "character":
            img = bible.fix_view(parent, request.view or "three_quarter") if parent is not None \
                else bible.draw_sheet(request.description)
        elif parent is not None:
            img = bible.edit_plate(parent, request.description, request.instruction or "")
        else:
            img = bible.draw_plate(request.description)
        # The fault mode reaches references too: a sheet whose three-quarter view "keeps lying"
        # (recoloured), or a broken plate, so the reference gate and a fix can be rehearsed.
        fault = _drawn(choose_fault(self.faults.rate, self.faults.seed, self.faults.kinds, "reference",
                                    request.fingerprint()))
        if fault and request.kind == "character" and parent is None:
            img = bible.lying_view(img, "three_quarter")
        elif fault and request.kind == "location":
            img = corrupt(img, rng_for("reference-fault", request.seed, request.ident))
        return bible.png(img)

    def _dressed(self, turnaround_uri: str, view: str, colour: str | None) -> Image.Image:
        # Keyed by the turnaround's content URI: a changed reference is a different key.
        key = (turnaround_uri, view, colour)
        if key not in self._figures:
            self._figures[key] = dress(view_cell(self._open(turnaround_uri), view), colour)
        return self._figures[key]

    def _wrong_plate(self, location_id: str, plate: Image.Image) -> Image.Image:
        others = []
        for key in self.storage.list_keys("locations/"):
            kind = parse_canonical(key)
            if kind and kind[0] == "location" and kind[1] != location_id:
                others.append(key)
        if others:
            return Image.open(io.BytesIO(self.storage.read_key(sorted(others)[0])))
        # A film with one location: the set dressed wrong (mirrored, other colours).
        return hue_rotate(plate.transpose(Image.Transpose.FLIP_LEFT_RIGHT), 180).convert("RGB")


#: Where a film in a bucket keeps its local video jobs (under the film's folder of the bucket).
SHARED_JOBS = "local-jobs/"


def board_request(request: ClipRequest) -> PanelRequest:
    """A reference clip's references as the panel the local painter would lay them out as: the
    plate framed as the shot frames it, each character's turnaround placed and dressed. The
    layout's seed is the shot's (kept on the location reference), not the take's, so every take
    and the keyframe gate's board agree on where everyone stands."""
    loc = next((r for r in request.references if r.get("kind") == "location"), None)
    if loc is None:
        raise JobFailed("a reference clip with no location reference: the local provider has no set to place "
                        "the cast on", provider="local")
    chars = tuple(CharacterRef(id=r["name"], description="", turnaround_uri=r["uri"],
                               wardrobe_colour=r.get("colour")) for r in request.references
                  if r.get("kind") == "character")
    return PanelRequest(prompt=request.prompt, location_id=loc["name"], plate_uri=loc["uri"], characters=chars,
                        framing=loc.get("framing", "medium"), angle=loc.get("angle", "eye"),
                        movement=request.movement, width=request.width, height=request.height,
                        seed=int(loc.get("seed", 0)))


def reference_board(storage: Storage, request: ClipRequest) -> Image.Image:
    """What the local provider places a reference clip's references as (its first frame): the
    board, with each extra reference (a prop, a hand) set in along the bottom edge, in order."""
    painter = LocalImage(storage)
    board = painter.draw(board_request(request))
    extras = [r for r in request.references if r.get("kind") == "extra"]
    x = board.width // 40
    for ref in extras:
        with Image.open(storage.open_local(ref["uri"])) as im:
            thing = im.convert("RGBA")
        side = max(8, board.height // 5)
        thing.thumbnail((side, side), Image.Resampling.LANCZOS)
        board.paste(thing, (x, board.height - thing.height - board.height // 40), thing)
        x += thing.width + board.width // 40
    return board


class LocalVideo:
    """Image-to-video with ffmpeg, as durable jobs a later process can poll and download — on
    any worker, when the film's storage is a bucket."""

    name = "local"
    model = "local-ffmpeg-v1"
    key_id = "local"  # one "key": its video slots are shared by every run on this machine

    poll_interval = 0.25

    def __init__(self, storage: Storage, *, latency: float = 0.0, faults: FaultMode = FaultMode()):
        self.storage = storage
        self.latency = latency
        self.faults = faults
        self.variant = faults.as_variant()
        self.jobs = storage.root / ".slate" / "local-jobs"
        # A local job takes `latency` seconds and a render (its spec's figure).
        self.expected_seconds = LOCAL_JOB_SECONDS["local-ffmpeg-v1"] + latency

    def submit(self, request: ClipRequest, *, client_ref: str) -> str:
        job_id = "lj" + uuid.uuid4().hex[:20]
        record = {"job_id": job_id, "client_ref": client_ref, "submitted_at": time.time(),
                  "request": asdict(request), "latency": self.latency}
        write_atomic(self.jobs / job_id / "job.json", json.dumps(record, sort_keys=True).encode())
        bucket = self._bucket()
        if bucket is not None:
            # In a bucket the job outlives this worker: a retry on another one re-attaches to it.
            bucket.put_key_file(f"{SHARED_JOBS}{job_id}.json", self.jobs / job_id / "job.json")
        # The provider's own book of submissions: what a crash test counts duplicates in.
        append_entry(self.jobs / "submissions.jsonl",
                     {"job_id": job_id, "client_ref": client_ref, "fingerprint": request.fingerprint()})
        return job_id

    def _bucket(self) -> BucketStorage | None:
        """The film's bucket, when its storage is one (not this folder): jobs are kept there too."""
        if isinstance(self.storage, LocalStorage) or not isinstance(self.storage, BucketStorage):
            return None
        return self.storage

    @property
    def _shared(self) -> bool:
        return self._bucket() is not None

    def _record(self, job_id: str) -> dict[str, Any]:
        path = self.jobs / job_id / "job.json"
        if not path.is_file() and self._shared and self.storage.key_exists(f"{SHARED_JOBS}{job_id}.json"):
            write_atomic(path, self.storage.read_key(f"{SHARED_JOBS}{job_id}.json"))
        if not path.is_file():
            raise JobFailed(f"no local job {job_id}", provider=self.name)
        record: dict[str, Any] = json.loads(path.read_text())
        return record

    def poll(self, job_id: str) -> JobStatus:
        rec = self._record(job_id)
        if (self.jobs / job_id / "canceled").exists():
            return JobStatus("canceled")
        elapsed = time.time() - rec["submitted_at"]
        if elapsed < rec["latency"]:
            return JobStatus("running", progress=elapsed / rec["latency"])
        return JobStatus("succeeded", progress=1.0)

    def download(self, job_id: str, dest: Path) -> Path:
        rec = self._record(job_id)
        req = ClipRequest(**rec["request"])
        end = self.storage.open_local(req.end_uri) if req.end_uri else None
        fault = _filmed(choose_fault(self.faults.rate, self.faults.seed, self.faults.kinds, "clip", req.fingerprint()))
        # The frames a faulty clip is animated from are scratch: they must not outlive the render.
        with temp_folder_beside(dest) as work:   # named with this process: swept if it is killed here
            if req.has_frame:
                start = self.storage.open_local(req.start_uri)
            else:
                # A reference shot: the references placed in the frame, then animated like a panel.
                start = Path(work) / "references.png"
                reference_board(self.storage, req).save(start)
            if fault:
                start, end = self._fault_inputs(fault, req, start, end, Path(work))
            # At the film's exact rate: render_clip gives ffmpeg 23.976 as 24000/1001 (media/commands.exact_rate).
            _render(start, dest, width=req.width, height=req.height, fps=req.fps, seconds=req.seconds,
                    move=take_move(req.movement, req.camera_fixed, req.seed), end_png=end)
        if req.audio:
            # Asked for its sound, as a vendor's model would be: a tone of the clip's own (its
            # pitch follows the take's seed, so a mix can be heard to carry this clip's sound).
            add_sound_bed(dest, seconds=req.seconds, tone_hz=tone_of(req.seed), seed=req.seed)
        return dest

    def _fault_inputs(self, fault: str, req: ClipRequest, start: Path, end: Path | None,
                      work: Path) -> tuple[Path, Path | None]:
        """An off-model clip: the frames it is animated from go wrong, so its keyframes do."""
        rng = rng_for("clip-fault", req.seed, req.start_uri)

        def spoiled(src: Path, i: int) -> Path:
            img = Image.open(src).convert("RGB")
            if fault == "hair_drift":
                img = self._hair_turned(img)
            elif fault == "recolour":
                img = hue_rotate(img, 150).convert("RGB")
            elif fault in ("wrong_plate", "missing"):
                img = hue_rotate(img.transpose(Image.Transpose.FLIP_LEFT_RIGHT), 60).convert("RGB")
            else:
                img = corrupt(img, rng)
            path = work / f".fault-{req.seed}-{i}.png"
            img.save(path)
            return path
        # The start frame first: the seeded faults are drawn in that order.
        first = spoiled(start, 0)
        return first, spoiled(end, 1) if end is not None else None

    def _hair_turned(self, img: Image.Image) -> Image.Image:
        """The picture with the hair of the first character of the film (by id) whose hair it
        shows turned HAIR_DRIFT degrees (local_draw.turn_hair): one character's hair drifting."""
        for key in sorted(self.storage.list_keys("characters/")):
            kind = parse_canonical(key)
            if not kind or kind[0] != "character":
                continue
            turned = turn_hair(img, view_cell(Image.open(io.BytesIO(self.storage.read_key(key))), "front"), HAIR_DRIFT)
            if turned is not img:
                return turned
        return img

    def cancel(self, job_id: str) -> None:
        write_atomic(self.jobs / job_id / "canceled", b"")

    def find_job(self, client_ref: str, since: datetime | None = None, *,
                 request: ClipRequest | None = None) -> str | None:
        """The job submitted with our call id. With the jobs in this folder only, their book is
        complete (a job is written, atomically, before its id is handed back): no job means the
        request never arrived (NotReceived). In a bucket another worker's job may not be there
        yet, so none found is only "not found"."""
        for path in self.jobs.glob("*/job.json") if self.jobs.is_dir() else []:
            rec = json.loads(path.read_text())
            if rec.get("client_ref") == client_ref:
                return str(rec["job_id"])
        for key in self.storage.list_keys(SHARED_JOBS) if self._shared else []:
            rec = json.loads(self.storage.read_key(key))
            if rec.get("client_ref") == client_ref:
                return str(rec["job_id"])
        if not self._shared:
            raise NotReceived(f"no local video job was submitted for call {client_ref}", provider=self.name)
        return None

    def submissions(self) -> list[dict[str, Any]]:
        path = self.jobs / "submissions.jsonl"
        if not path.is_file():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class LocalLipSync:
    """The local painter's lip-sync (issue 38, providers/local_lipsync.py): the mouths it drew
    opened and closed with a shot's speech. A job like a clip's — booked in `.slate/local-jobs/`
    before its id is handed back, so a crashed run re-attaches to it — rendered when it is
    downloaded. With the fault mode on, a seeded share of takes comes back wrong (LIP_FAULT_KINDS).
    It finds only faces the local painter drew: a hosted model's clip is not its to sync."""

    name = "local"
    model = LOCAL_LIPSYNC_MODEL
    poll_interval = 0.25

    def __init__(self, storage: Storage, *, faults: FaultMode = FaultMode()):
        self.storage = storage
        self.faults = faults
        self.variant = faults.as_variant()
        self.jobs = storage.root / ".slate" / "local-jobs"
        self.expected_seconds = LOCAL_JOB_SECONDS[LOCAL_LIPSYNC_MODEL]

    def submit(self, request: LipSyncRequest, *, client_ref: str) -> str:
        job_id = "ls" + uuid.uuid4().hex[:20]
        record = {"job_id": job_id, "client_ref": client_ref, "submitted_at": time.time(),
                  "request": asdict(request)}
        write_atomic(self.jobs / job_id / "job.json", json.dumps(record, sort_keys=True).encode())
        append_entry(self.jobs / "lipsync-submissions.jsonl",
                     {"job_id": job_id, "client_ref": client_ref, "fingerprint": request.fingerprint()})
        return job_id

    def _request(self, job_id: str) -> LipSyncRequest:
        path = self.jobs / job_id / "job.json"
        if not path.is_file():
            raise JobFailed(f"no local lip-sync job {job_id}", provider=self.name)
        rec = json.loads(path.read_text())["request"]
        return LipSyncRequest(**{**rec, "faces": tuple(FaceCue(**f) for f in rec["faces"])})

    def poll(self, job_id: str) -> JobStatus:
        self._request(job_id)
        if (self.jobs / job_id / "canceled").exists():
            return JobStatus("canceled")
        return JobStatus("succeeded", progress=1.0)

    def download(self, job_id: str, dest: Path) -> Path:
        from slate.providers.local_lipsync import lipsync_clip
        req = self._request(job_id)
        fault = choose_fault(self.faults.rate, self.faults.seed, self.faults.kinds, "lipsync", req.fingerprint())
        fault = fault if fault in LIP_FAULT_KINDS else None
        clip, speech = self.storage.open_local(req.clip_uri), self.storage.open_local(req.speech_uri)
        # The test suite's render memo, as for clips (_render): the same clip, speech, faces,
        # fault and seed paint the same pixels, so each is painted and encoded once a session.
        kept = session_memo.memo_path(("lipsync", RENDER_MEMO_VERSION, tuple(asdict(f) for f in req.faces), fault,
                                       req.seed), (clip, speech))
        if kept is not None and kept.exists():
            copy_atomic(kept, dest)
            return dest
        lipsync_clip(clip, speech, dest, faces=req.faces, fault=fault, seed=int(req.seed or 0))
        if kept is not None:
            copy_atomic(dest, kept)   # whole or absent: processes of the suite share the folder
        return dest

    def cancel(self, job_id: str) -> None:
        write_atomic(self.jobs / job_id / "canceled", b"")

    def find_job(self, client_ref: str, since: datetime | None = None, *,
                 request: LipSyncRequest | None = None) -> str | None:
        """The job submitted with our call id; none in this folder's complete book: NotReceived."""
        for path in self.jobs.glob("ls*/job.json") if self.jobs.is_dir() else []:
            rec = json.loads(path.read_text())
            if rec.get("client_ref") == client_ref:
                return str(rec["job_id"])
        raise NotReceived(f"no local lip-sync job was submitted for call {client_ref}", provider=self.name)

    def submissions(self) -> list[dict[str, Any]]:
        path = self.jobs / "lipsync-submissions.jsonl"
        if not path.is_file():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# -- what the registry builds ---------------------------------------------------------------------
#: A folder where the stand-in keeps the clips it rendered, by what they were rendered from, so the
#: same frames, size and move are encoded once per test session, not once per test (317 clips,
#: 198 s of ffmpeg CPU, in one `make test`). Only the test suite sets it (tests/conftest.py): a
#: film's own runs render every clip they are asked for, as a vendor would.
RENDER_MEMO = session_memo.MEMO
RENDER_MEMO_VERSION = "6"   # bump when render_clip's output changes for the same inputs

#: A static camera that is not locked off drifts a little and settles back, each take its own way
#: and distance (a share of that move: at most about 5% of a dolly's push, 3% of the frame in a
#: pan), starting and ending on the panel's framing as a static shot does. An NG on the example's
#: static 1D made a byte-identical take (issue 57). A shot that names a move makes it on its own
#: pace and path, whatever the seed — takes timed otherwise (the share of the shot gone raised to
#: 0.6-1.6) or going 60-100% of the way failed the keyframe gate's motion and marks checks on clean
#: clips (the example's 1C and 1G at 720p: "the move stops" at its start, marks in a corner), which
#: are tuned to this one easing — and each take sways across its way by its own share (SWAY of the
#: room beside the move, up or down, left or right by the seed), back on the move's own path at
#: its last frame, so a chained shot starts where it always did and an NG'd take is another take.
DRIFTS = ("dolly_in", "pan_left", "pan_right", "tilt_up", "tilt_down")
DRIFT_REACH = (0.25, 0.4)
SWAY = (0.3, 0.8)


@dataclass(frozen=True)
class TakeMove:
    """What a take of the stand-in does with the shot's camera (media.render_clip's arguments)."""
    movement: str
    reach: float = 1.0
    back: bool = False
    sway: float = 0.0


def take_move(movement: str, camera_fixed: bool, seed: int) -> TakeMove:
    """The move a take of the stand-in makes: a static camera's seeded drift, out and back; the
    shot's own move otherwise, with the take's own sway across it; a locked-off camera never moves
    (its takes differ in their sound only, where it is asked for: `tone_of`). Every take starts on
    the panel and ends where the move does."""
    if camera_fixed:
        return TakeMove("static")
    rng = rng_for("take-move", seed)
    if movement != "static":
        side = 1.0 if rng.integers(2) else -1.0
        return TakeMove(movement, sway=round(side * float(rng.uniform(*SWAY)), 3))
    return TakeMove(DRIFTS[int(rng.integers(len(DRIFTS)))], round(float(rng.uniform(*DRIFT_REACH)), 3), back=True)


def _render(start: Path, dest: Path, *, width: int, height: int, fps: Any, seconds: float, move: TakeMove,
            end_png: Path | None) -> None:
    """render_clip, or its earlier output for the same frames and arguments (the memo above):
    byte for byte what it would render, since x264 is deterministic for one input and build."""
    def rendered() -> None:
        render_clip(start, dest, width=width, height=height, fps=fps, seconds=seconds, end_png=end_png,
                    movement=move.movement, reach=move.reach, back=move.back, sway=move.sway)
    kept = session_memo.memo_path((RENDER_MEMO_VERSION, width, height, str(fps), seconds, move.movement, move.reach,
                                   move.back, move.sway), (start, end_png))
    if kept is None:
        rendered()
        return
    if not kept.exists():
        rendered()
        copy_atomic(dest, kept)   # whole or absent: processes of the suite share the folder
        return
    copy_atomic(kept, dest)


def _own(settings: BaseModel | None) -> LocalSettings:
    """The local provider's settings as the registry hands them over (None: the defaults)."""
    if settings is None:
        return LocalSettings()
    if not isinstance(settings, LocalSettings):
        raise TypeError(f"the local provider's settings are LocalSettings, not {type(settings).__name__}")
    return settings


def image(model: str, *, storage: Storage, base_url: str | None = None,
          settings: BaseModel | None = None) -> ReferencePainter:
    return LocalImage(storage, _own(settings).faults)


def video(model: str, *, storage: Storage, base_url: str | None = None,
          settings: BaseModel | None = None) -> VideoGenerator:
    own = _own(settings)
    return LocalVideo(storage, latency=own.latency, faults=own.faults)


def judge(model: str, *, storage: Storage | None = None, base_url: str | None = None,
          settings: BaseModel | None = None) -> ContinuityJudge:
    from slate.providers.local_judge import LocalJudge
    from slate.providers.local_verdicts import KeptJudge
    if storage is None:
        return LocalJudge()
    jobs = storage.root / ".slate" / "local-jobs"
    # Its paid-call verdicts kept by call id: a verdict a dead run never got is looked up, not asked again.
    return KeptJudge(LocalJudge(book=jobs / "judgements.jsonl"), jobs / "verdicts",
                     complete=isinstance(storage, LocalStorage))


def speech(model: str, *, storage: Storage | None = None, base_url: str | None = None,
           settings: BaseModel | None = None) -> LocalSpeech:
    own = _own(settings)
    return LocalSpeech(storage, fault_rate=own.faults.rate, fault_seed=own.faults.seed,
                       fault_kinds=own.faults.kinds, variant=own.faults.as_variant())


def lipsync(model: str, *, storage: Storage, base_url: str | None = None,
            settings: BaseModel | None = None) -> LocalLipSync:
    return LocalLipSync(storage, faults=_own(settings).faults)


def music(model: str, *, storage: Storage | None = None, base_url: str | None = None,
          settings: BaseModel | None = None) -> LocalComposer:
    return LocalComposer(storage)


def doctor(*, base_url: str | None = None) -> list[DoctorFinding]:
    return [DoctorFinding("local", "key", True, "runs on this machine: no key, no bill", blocking=False)]


def tone_of(seed: int) -> int:
    """The pitch of a local clip's sound: one of eight notes, 220–605 Hz, by the take's seed."""
    return 220 + 55 * (int(seed) % 8)


#: How long a local clip job is expected to take, in seconds, besides its `latency` setting: an
#: ffmpeg render of a few seconds of picture on a loaded two-core machine, with room to spare.
LOCAL_JOB_SECONDS = {"local-ffmpeg-v1": 40.0, "local-lipsync-v1": 40.0}

#: The local provider takes the request's `audio` as a vendor takes generate_audio.
LOCAL_AUDIO = {"local-ffmpeg-v1": "field"}

#: The local provider places every reference it is given (its "count" is the film's); with a start
#: frame, the frame already holds the cast and set it was drawn from, so nothing more is placed.
LOCAL_REFERENCES = {"local-ffmpeg-v1": TakesReferences("references", None, with_frame=True, naming="order")}


PROVIDER = ProviderSpec(
    name="local",
    offers={"image": Offer(("local-compositor-v1",)), "video": Offer(("local-ffmpeg-v1",)),
            "judge": Offer(("local-pixels-v1",)), "speech": Offer((LOCAL_SPEECH_MODEL,)),
            "lipsync": Offer((LOCAL_LIPSYNC_MODEL,)), "music": Offer((LOCAL_MUSIC_MODEL,))},
    image=image, video=video, judge=judge, speech=speech, lipsync=lipsync, music=music, doctor=doctor, references=LOCAL_REFERENCES, audio=LOCAL_AUDIO,
    settings=LocalSettings, job_seconds=LOCAL_JOB_SECONDS,
    # the composer's own range (media/cue.py): 20-300 BPM, any length a scene has
    music_limits={LOCAL_MUSIC_MODEL: MusicLimits(min_seconds=1.0, max_seconds=600.0, tempo=(20.0, 300.0))},
)
