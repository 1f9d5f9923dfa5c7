"""ComfyUI: a film's own GPU as a provider — panels, clips, face swaps and upscales from the film's workflows (issue 41).

A model here is a workflow of the film's (providers/comfyui_workflow.py: `comfyui/<model>.json`
in ComfyUI's API format, with its mapping `comfyui/<model>.toml`), named `panel-<name>` or
`video-<name>`: `--panel-model comfyui:panel-flux`, `--video-model comfyui:video-wan21`, or
`--provider comfyui` for the example's two (`slate init --example` writes them). The server is
the `comfyui_base_url` setting (SLATE_COMFYUI_BASE_URL; ComfyUI's own default address,
http://127.0.0.1:8188 [D], when unset). It has no key: a film's own machine.

A panel and a clip are both jobs the governor follows (PanelJobs, VideoGenerator): the pictures
are uploaded (/upload/image, content-named, so an upload again is the same file), the filled
workflow queued (/prompt, with this process's client id, a prompt id made from slate's call id,
and slate's note on it in `extra_data`), and the prompt id is the job id, in the ledger before the
first poll. A poll reads /queue (waiting, running) then /history/{id} (finished: its status and
outputs — in that order, so a prompt that ends between the two reads is never lost); the result is
fetched from /view. A job past its deadline, or on a hard stop, is taken out of the queue if it
waits (POST /queue delete) or interrupted if it runs (POST /interrupt with its id). After a crash
the next run re-attaches by the prompt id; an intent whose id never reached the ledger is found by
the prompt id slate would have chosen, or by its call id in a prompt's note, in the queue and the
history (`find_job`). ComfyUI's own book is in memory and bounded (a restart forgets it [V]): a
prompt found nowhere is not proof it never ran, so a lost one stays unknown for a person.

Money: $0 by default, or the film's per-GPU-second rate (governor/rates.toml `comfyui:panel-*`,
`comfyui:video-*`, a film's own rows): a finished or failed job reports the GPU seconds it held,
from its history's execution timestamps (comfyui_api.gpu_seconds); where the server stamps none,
the wall time this process saw it run (to within a poll); where neither is known, the estimate
is charged. The ledger keeps those GPU seconds beside the cost (its `usage` column).

Checked before anything runs: `slate check` reads each workflow the run uses and names the file
and the node of every problem (`film_problems`, offline), and a start+end shot or a composite
a workflow cannot take; `slate doctor` (and every run, before its first call) asks the server for
each node type a workflow needs and the model files its loaders name (/object_info/{class}), and
says its free VRAM (/system_stats).

A pass over a finished clip (ComfyPass) is a job the same way: a `faceswap-…` workflow swaps one
character's face for their approved one (tasks/shot/faceswap.py, after the keyframe gate), an
`upscale-…` workflow makes an approved take larger (flows/shot/scene_upscale.py, after a person's
approval); the clip goes up through /upload/image as ComfyUI's own page sends a video [?].

It must never send a key (there is none), fetch a file from anywhere but the server it was given,
send a workflow slate has not checked, or send one request twice (the governor decides that).
"""
from __future__ import annotations

import hashlib
import io
import logging
import math
import tempfile
import time
import uuid
from collections.abc import Mapping
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from slate.manifests.frame_rate import exact
from slate.providers import download
from slate.providers.base import (ClipPass, ClipPassRequest, ClipRequest, DoctorFinding, JobStatus, PanelJobs,
                                  PanelRequest, Storage, VideoGenerator)
from slate.providers.comfyui_api import (NAME, Server, gpu_seconds, job_status, note_of, output_files,
                                         translate_error)
from slate.providers.comfyui_workflow import Workflow, WorkflowError, capability_of, load
from slate.providers.errors import BadOutput, BadRequest, JobFailed, ProviderError, ProviderTimeout
from slate.providers.http import where
from slate.providers.replicate import fit
from slate.providers.spec import PASSES, Offer, ProviderSpec, job_deadline, reached_at

if TYPE_CHECKING:
    from slate.manifests.load import LoadedFilm, Problem

log = logging.getLogger("slate.providers.comfyui")

DEFAULT_URL = "http://127.0.0.1:8188"     # where ComfyUI listens unless told otherwise [D]
#: The example's workflows (manifests/example_comfyui.py), the models `--provider comfyui` picks.
EXAMPLE_PANEL, EXAMPLE_VIDEO = "panel-qwen-edit", "video-wan21"
#: The example's passes over a finished clip: ReActor's face swap, a 2x ESRGAN upscale.
EXAMPLE_FACESWAP, EXAMPLE_UPSCALE = "faceswap-reactor", "upscale-esrgan"
#: How long one job is expected to take, queue included (a film's mapping says it for its own
#: machine: `job_seconds`; slate.toml's [job_seconds] over both). A GPU's speed varies tenfold
#: between cards: these are a mid-range card's [?], a 1024-pixel Qwen-Image-Edit panel and a Wan 2.1 14B clip
#: of a few seconds at 480p.
JOB_SECONDS = {EXAMPLE_PANEL: 120.0, EXAMPLE_VIDEO: 600.0, EXAMPLE_FACESWAP: 300.0, EXAMPLE_UPSCALE: 300.0}
OWN_JOB_SECONDS = {"image": 120.0, "video": 600.0, "faceswap": 300.0, "upscale": 300.0}
#: The namespace of the prompt ids slate chooses: one call id, one prompt id, every time.
PROMPT_IDS = uuid.UUID("6f3c1f9e-2b7a-4d55-9a43-51a7e0c2d1b8")
#: This process's client id: ComfyUI sends a client's progress over its websocket by it [D].
CLIENT_ID = f"slate-{uuid.uuid4().hex}"
LOOKUP_ITEMS = 500          # how far back the history is read for a prompt whose id was lost


class ComfySettings(BaseModel):
    """comfyui's own settings (slate.toml `comfyui_poll_seconds`, SLATE_COMFYUI_POLL_SECONDS)."""

    #: seconds between polls of a job: the server is the film's own, and a poll costs nothing
    poll_seconds: float = Field(2.0, gt=0, le=60)


def prompt_id_for(client_ref: str) -> str:
    """The prompt id slate asks for a call (a server that takes one keeps it [S])."""
    return str(uuid.uuid5(PROMPT_IDS, client_ref))


def frame_count(seconds: float, rate: Fraction | float, step: int) -> int:
    """The frames a clip of `seconds` at `rate` needs, at least; a model that makes step·n+1
    frames (Wan: 4) is asked the next such count up, so the clip never runs short."""
    frames = max(1, math.ceil(round(seconds * float(rate), 6)))
    return frames if step <= 1 else step * math.ceil((frames - 1) / step) + 1


def stacked(sheets: list[bytes], gap: int = 24) -> bytes:
    """Turnaround sheets one under another on a transparent ground, `gap` pixels apart: one
    picture for a workflow with fewer character loaders than the shot has characters (one sheet:
    itself, as it is)."""
    if len(sheets) == 1:
        return sheets[0]
    from PIL import Image
    opened = [Image.open(io.BytesIO(s)).convert("RGBA") for s in sheets]
    out = Image.new("RGBA", (max(i.width for i in opened), sum(i.height for i in opened) + gap * (len(opened) - 1)),
                    (0, 0, 0, 0))
    top = 0
    for sheet in opened:
        out.paste(sheet, (0, top), sheet)
        top += sheet.height + gap
    buf = io.BytesIO()
    out.save(buf, format="PNG")
    return buf.getvalue()


def _same(item: object, job_id: str) -> bool:
    return isinstance(item, list) and len(item) > 1 and item[1] == job_id


class _Jobs:
    """What a panel and a clip share: the workflow, the server, and a job's poll, cancel and lookup."""

    name = NAME
    capability = "image"

    def __init__(self, model: str, *, storage: Storage, base_url: str, settings: BaseModel | None):
        if capability_of(model) != self.capability:
            raise ValueError(f"{model!r} is not a {self.capability} workflow of comfyui")
        self.model, self.storage, self.base_url = model, storage, base_url
        own = settings if isinstance(settings, ComfySettings) else ComfySettings()
        self.poll_interval = own.poll_seconds
        self._workflow: Workflow | None = None
        self._problem: WorkflowError | None = None
        try:
            self._workflow = load(storage, model)
        except WorkflowError as exc:   # said by `slate check`; a submit is refused with it ($0)
            self._problem = exc
        # What changes what it makes: the workflow and its mapping, by their bytes.
        self.variant: dict[str, Any] = {"workflow": self._workflow.digest if self._workflow else None}
        self.expected_seconds = (self._workflow.job_seconds if self._workflow and self._workflow.job_seconds
                                 else JOB_SECONDS.get(model, OWN_JOB_SECONDS[self.capability]))
        # The server is what a video slot is counted on (there is no key): one slot set per server.
        self.key_id = hashlib.sha256(base_url.encode()).hexdigest()[:8]
        self._running_since: dict[str, float] = {}   # job id -> when this process first saw it run
        self._deleted: set[str] = set()              # job ids this process took out of the queue

    def workflow(self) -> Workflow:
        if self._workflow is None:
            raise BadRequest(f"comfyui:{self.model} cannot run: {self._problem}", provider=NAME)
        return self._workflow

    def _queue(self, client_ref: str, values: dict[str, object], pictures: Mapping[str, list[bytes]], *,
               end_frame: bool, note: dict[str, Any]) -> str:
        """Upload the pictures (each slot's, by content: the same picture is the same file), fill
        the workflow, queue it: the prompt id (the job id)."""
        wf = self.workflow()
        chosen = prompt_id_for(client_ref)
        with Server(self.base_url) as api:
            # The real server takes a prompt id it already holds and runs the graph again (billed
            # twice, on a GPU's time): the id is asked for first — waiting, running or finished,
            # the prompt this call already made is its job.
            running, pending = api.queue()
            if any(_same(i, chosen) for i in running + pending) or api.history(chosen) is not None:
                log.info("comfyui: prompt %s is already on the server: followed, not queued again", chosen)
                return chosen
            for slot, datas in pictures.items():
                suffix = "mp4" if slot == "clip" else "png"
                names = [api.upload_image(d, f"slate-{hashlib.sha256(d).hexdigest()[:24]}.{suffix}") for d in datas]
                values[slot] = names if slot == "characters" else names[0]
            graph = wf.filled(values, end_frame=end_frame)
            note = {"call": client_ref, "kind": self.capability, "model": self.model, "output": wf.output,
                    "workflow": wf.digest, **note}
            return api.queue_prompt(graph, prompt_id=chosen, client_id=CLIENT_ID,
                                    extra={"slate": note}, output=str(wf.output))

    def poll(self, job_id: str) -> JobStatus:
        with Server(self.base_url) as api:
            running, pending = api.queue()   # first: a prompt that ends meanwhile is in the history below
            if any(_same(i, job_id) for i in running):
                self._running_since.setdefault(job_id, time.monotonic())
                return JobStatus("running")
            if any(_same(i, job_id) for i in pending):
                return JobStatus("queued")
            entry = api.history(job_id)
        if entry is None:
            if job_id in self._deleted:
                return JobStatus("canceled", error="taken out of ComfyUI's queue before it ran", cost="0")
            return JobStatus("failed", error=f"ComfyUI has no prompt {job_id}: it is neither waiting, running nor in "
                                             f"its history (the server was restarted, or the prompt deleted)")
        return job_status(entry, self._usage(job_id, entry))

    def _usage(self, job_id: str, entry: dict[str, Any]) -> dict[str, Any] | None:
        """What the job used, as Usage fields: its GPU seconds (the server's timestamps, else the
        time this process saw it run), and what was asked (for a rate that prices by it)."""
        gpu = gpu_seconds(entry)
        if gpu is None and job_id in self._running_since:
            gpu = round(time.monotonic() - self._running_since[job_id], 3)
        if gpu is None:
            return None
        note = note_of(entry)
        kind = note.get("kind", self.capability)
        if kind in ("video", *PASSES):
            return {"kind": kind, "gpu_seconds": gpu, "seconds": float(note.get("seconds") or 0),
                    "resolution": note.get("resolution")}
        return {"kind": "image", "gpu_seconds": gpu, "images": 1}

    def cancel(self, job_id: str) -> None:
        """Take a waiting prompt out of the queue; interrupt a running one (that prompt only, on a
        server that takes its id); one that ended is left as it is."""
        with Server(self.base_url) as api:
            running, pending = api.queue()
            if any(_same(i, job_id) for i in pending):
                api.delete(job_id)
                self._deleted.add(job_id)
                log.info("comfyui: prompt %s taken out of the queue", job_id)
            elif any(_same(i, job_id) for i in running):
                api.interrupt(job_id)
                log.info("comfyui: prompt %s interrupted", job_id)

    def find_job(self, client_ref: str, since: datetime | None = None, *, request: object = None) -> str | None:
        """The prompt a lost queue request made: by the prompt id slate asked for, or by the call id
        in a prompt's note, waiting, running or in the recent history; None when none is found."""
        chosen = prompt_id_for(client_ref)
        with Server(self.base_url) as api:
            running, pending = api.queue()
            for item in running + pending:
                if _same(item, chosen) or note_of(item).get("call") == client_ref:
                    return str(item[1])
            if api.history(chosen) is not None:
                return chosen
            for found, entry in api.recent(LOOKUP_ITEMS).items():
                if note_of(entry).get("call") == client_ref:
                    return str(found)
        return None

    def _fetch(self, job_id: str, dest: Path, limit: int, what: str) -> dict[str, Any]:
        """The finished job's result file at `dest`; slate's note on the prompt."""
        with Server(self.base_url) as api:
            entry = api.history(job_id)
            if entry is None:
                raise BadOutput(f"prompt {job_id} is not in ComfyUI's history: nothing to fetch", provider=NAME)
            note = note_of(entry)
            node = str(note.get("output") or self.workflow().output)
            files = output_files(entry, node)
            if not files:
                raise BadOutput(f"prompt {job_id} finished, and its output node {node} made no file", provider=NAME)
            api.view(files[0], dest, limit, what)
        return note


class ComfyImage(_Jobs):
    """Panels from a `panel-…` workflow, followed by the governor as jobs (`submit_panel`, `poll`,
    `download_panel`), or all at once in `generate_panel`."""

    capability = "image"

    def _pictures(self, request: PanelRequest) -> dict[str, list[bytes]]:
        wf = self.workflow()
        if request.override_uri and not wf.takes("image"):
            raise BadRequest(f"comfyui:{self.model}'s workflow maps no image: it cannot polish the shot's composite",
                             provider=NAME)
        pictures: dict[str, list[bytes]] = {}
        if wf.takes("image"):
            # The picture to start from: the person's composite when the shot has one, else the plate.
            pictures["image"] = [self.storage.get_bytes(request.override_uri or request.plate_uri)]
        loaders = len(wf.slots.get("characters", ()))
        if loaders and request.characters:
            sheets = [self.storage.get_bytes(c.turnaround_uri) for c in request.characters]
            # More characters than loaders: the last loader's picture holds the rest, one under another.
            pictures["characters"] = sheets if len(sheets) <= loaders else \
                sheets[:loaders - 1] + [stacked(sheets[loaders - 1:])]
        return pictures

    def submit_panel(self, request: PanelRequest, *, client_ref: str) -> str:
        values: dict[str, object] = {"prompt": request.prompt, "seed": int(request.seed), "width": request.width,
                                     "height": request.height}
        return self._queue(client_ref, values, self._pictures(request), end_frame=True,
                           note={"width": request.width, "height": request.height, "moment": request.moment})

    def download_panel(self, job_id: str, dest: Path, width: int, height: int) -> Path:
        """The finished job's picture, checked and fitted to the panel's size, at `dest`."""
        with tempfile.TemporaryDirectory(prefix="comfyui-panel-") as tmp:
            got = Path(tmp) / "panel"
            self._fetch(job_id, got, download.MAX_IMAGE_BYTES, "a panel")
            dest.write_bytes(fit(download.checked_image(NAME, got.read_bytes()), width, height))
        return dest

    def generate_panel(self, request: PanelRequest, *, client_ref: str | None = None) -> bytes:
        """Queue, follow and fetch in one call (outside the governor: benchmarks, a quick look)."""
        job_id = self.submit_panel(request, client_ref=client_ref or uuid.uuid4().hex)
        deadline = time.monotonic() + job_deadline(self.expected_seconds)
        status = self.poll(job_id)
        while status.state in ("queued", "running"):
            if time.monotonic() > deadline:
                self.cancel(job_id)
                raise ProviderTimeout(f"prompt {job_id} had no result in {job_deadline(self.expected_seconds):g} s; "
                                      f"asked ComfyUI to stop it", provider=NAME)
            time.sleep(self.poll_interval)
            status = self.poll(job_id)
        if status.state != "succeeded":
            raise JobFailed(status.error or f"prompt {job_id} ended {status.state}", provider=NAME, usage=status.usage)
        with tempfile.TemporaryDirectory(prefix="comfyui-panel-") as tmp:
            return self.download_panel(job_id, Path(tmp) / "panel.png", request.width, request.height).read_bytes()


class ComfyVideo(_Jobs):
    """Clips from a `video-…` workflow: start frame, or start and end frames."""

    capability = "video"

    def values(self, request: ClipRequest) -> tuple[dict[str, object], int, float]:
        """What the workflow is filled with for `request`, its frame count and frame rate."""
        wf = self.workflow()
        rate = exact(request.fps)   # the film's: the keyframe gate holds the clip to it (23.976 is 24000/1001)
        frames = frame_count(request.seconds, rate, wf.frames_step)
        fps = float(rate)
        return ({"prompt": request.prompt, "seed": int(request.seed), "width": request.width,
                 "height": request.height, "frames": frames, "fps": fps}, frames, fps)

    def submit(self, request: ClipRequest, *, client_ref: str) -> str:
        wf = self.workflow()
        if not request.start_uri:
            raise BadRequest(f"comfyui:{self.model} animates a start frame; a shot of references alone needs "
                             f"a model that takes them", provider=NAME)
        if request.end_uri and not wf.takes("end_image"):
            raise BadRequest(f"comfyui:{self.model}'s workflow maps no end_image: a start+end shot needs a "
                             f"workflow that takes its end frame", provider=NAME)
        values, frames, fps = self.values(request)
        pictures = {"start_image": [self.storage.get_bytes(request.start_uri)],
                    **({"end_image": [self.storage.get_bytes(request.end_uri)]} if request.end_uri else {})}
        return self._queue(client_ref, values, pictures, end_frame=bool(request.end_uri),
                           note={"seconds": request.seconds, "resolution": request.resolution, "width": request.width,
                                 "height": request.height, "frames": frames, "fps": fps})

    def download(self, job_id: str, dest: Path) -> Path:
        """The finished clip at `dest`, no shorter than asked (its note on the prompt says what was)."""
        note = self._note(job_id)
        seconds = float(note.get("seconds") or 0)
        limit, what = download.clip_limit(seconds, note.get("width"), note.get("height"))
        self._fetch(job_id, dest, limit, what)
        return download.checked_video(NAME, dest, seconds=seconds)

    def _note(self, job_id: str) -> dict[str, Any]:
        with Server(self.base_url) as api:
            entry = api.history(job_id)
        return note_of(entry) if entry else {}


class ComfyPass(_Jobs):
    """A pass over a finished clip from a `faceswap-…` or `upscale-…` workflow: the clip uploaded
    (and for a face swap the character's approved face), the same clip changed back."""

    def __init__(self, model: str, *, storage: Storage, base_url: str, settings: BaseModel | None):
        self.capability = capability_of(model) or "?"
        if self.capability not in PASSES:
            raise ValueError(f"{model!r} is not a face-swap or upscale workflow of comfyui")
        super().__init__(model, storage=storage, base_url=base_url, settings=settings)

    def submit(self, request: ClipPassRequest, *, client_ref: str) -> str:
        if request.kind != self.capability:
            raise BadRequest(f"comfyui:{self.model} is a {self.capability} workflow, asked for a {request.kind}",
                             provider=NAME)
        if request.kind == "faceswap" and not request.face_uri:
            raise BadRequest(f"comfyui:{self.model}: a face swap needs the character's approved face", provider=NAME)
        fps = float(exact(request.fps))
        values: dict[str, object] = {"fps": fps, **({"seed": int(request.seed)} if request.seed is not None else {})}
        if request.kind == "upscale":
            values |= {"width": request.width, "height": request.height}
        elif request.face_index is not None:
            values["face_index"] = str(request.face_index)   # ReActor takes a comma list of indices as text
        pictures = {"clip": [self.storage.get_bytes(request.clip_uri)],
                    **({"face": [self.storage.get_bytes(request.face_uri)]} if request.face_uri else {})}
        return self._queue(client_ref, values, pictures, end_frame=True,
                           note={"seconds": request.seconds, "resolution": f"{request.height}p",
                                 "width": request.width, "height": request.height, "fps": fps,
                                 "character": request.character})

    def download(self, job_id: str, dest: Path) -> Path:
        """The finished clip at `dest`, no shorter than the clip sent (its note says how long)."""
        with Server(self.base_url) as api:
            entry = api.history(job_id)
        note = note_of(entry) if entry else {}
        seconds = float(note.get("seconds") or 0)
        limit, what = download.clip_limit(seconds, note.get("width"), note.get("height"))
        self._fetch(job_id, dest, limit, what)
        return download.checked_video(NAME, dest, seconds=seconds)


# -- what the registry builds ---------------------------------------------------------------------
def image(model: str, *, storage: Storage, base_url: str | None, settings: BaseModel | None = None) -> PanelJobs:
    return ComfyImage(model, storage=storage, base_url=reached_at(NAME, base_url), settings=settings)


def video(model: str, *, storage: Storage, base_url: str | None, settings: BaseModel | None = None) -> VideoGenerator:
    return ComfyVideo(model, storage=storage, base_url=reached_at(NAME, base_url), settings=settings)


def clip_pass(model: str, *, storage: Storage, base_url: str | None, settings: BaseModel | None = None) -> ClipPass:
    return ComfyPass(model, storage=storage, base_url=reached_at(NAME, base_url), settings=settings)


GB = 1024 ** 3


def doctor(*, base_url: str | None) -> list[DoctorFinding]:
    """`slate doctor`'s lines for the server: no key; it answers, its version, its GPU and the VRAM
    free (/system_stats)."""
    url = reached_at(NAME, base_url)
    key = DoctorFinding(NAME, "key", True, "a film's own server: no key, no bill unless rates.toml sets a "
                                           "per-GPU-second rate", blocking=False)
    try:
        with Server(url) as api:
            stats = api.system_stats()
    except ProviderError as exc:
        return [key, DoctorFinding(NAME, "server", False, f"ComfyUI does not answer at {where(url)}: {exc} — start "
                                                          f"it, or set comfyui_base_url (SLATE_COMFYUI_BASE_URL)")]
    version = (stats.get("system") or {}).get("comfyui_version") or "?"
    devices = [d for d in stats.get("devices") or [] if isinstance(d, dict)]
    gpus = "; ".join(f"{d.get('name', '?')}: {_gb(d.get('vram_free'))} of {_gb(d.get('vram_total'))} VRAM free"
                     for d in devices) or "no device reported"
    return [key, DoctorFinding(NAME, "server", True, f"ComfyUI {version} at {where(url)}; {gpus}", blocking=False)]


def _gb(value: object) -> str:
    return f"{value / GB:.1f} GB" if isinstance(value, (int, float)) and not isinstance(value, bool) else "? GB"


def film_doctor(*, base_url: str | None, storage: Storage, models: Mapping[str, tuple[str, ...]]) -> list[DoctorFinding]:
    """Each workflow the run uses against the server: the node types it lacks (by workflow file
    and node) and the model files a loader names that it does not have; blocking, both."""
    url = reached_at(NAME, base_url)
    findings: list[DoctorFinding] = []
    workflows: list[Workflow] = []
    for model in sorted({m for names in models.values() for m in names}):
        try:
            workflows.append(load(storage, model))
        except WorkflowError as exc:
            findings += [DoctorFinding(NAME, "workflow", False, f"{f}: {w}: {m}") for f, w, m in exc.problems[:5]]
    if not workflows:
        return findings
    known: dict[str, dict[str, Any] | None] = {}
    try:
        with Server(url) as api:
            for wf in workflows:
                for class_type in sorted(set(wf.class_types().values()) - set(known)):
                    known[class_type] = api.node_type(class_type)
    except ProviderError as exc:
        return findings + [DoctorFinding(NAME, "workflow", False, f"could not ask ComfyUI at {where(url)} for its "
                                                                  f"node types: {exc}")]
    for wf in workflows:
        findings += _held_to_server(wf, known, where(url))
    return findings


def _held_to_server(wf: Workflow, known: Mapping[str, dict[str, Any] | None], url: str) -> list[DoctorFinding]:
    lacking = [f"{ct} (node {node})" for node, ct in wf.class_types().items() if known.get(ct) is None]
    filled = {(t.node, t.input) for targets in wf.slots.values() for t in targets}
    files = []
    for node, ct in wf.class_types().items():
        info = known.get(ct)
        for name, value in (wf.graph[node].get("inputs") or {}).items():
            choices = _choices(info, name)
            if isinstance(value, str) and choices is not None and value not in choices and (node, name) not in filled:
                files.append(f"model file {value!r} is missing for node {node} ({ct}), its {name} (the server has "
                             f"{len(choices)}{': ' + ', '.join(map(str, choices[:4])) if choices else ''})")
    file = wf.files[0]
    if lacking:
        return [DoctorFinding(NAME, "workflow", False, f"{file}: the server at {url} lacks the node type(s) "
                                                       f"{', '.join(lacking)}: install them (ComfyUI Manager), or "
                                                       f"update ComfyUI")]
    if files:
        # The node is there; what it names is not (issue 56: it read "has no node 37 (UNETLoader)").
        return [DoctorFinding(NAME, "workflow", False, f"{file}: on the server at {url}, {'; '.join(files)}: put the "
                                                       f"file in ComfyUI's models folder, or name one it has")]
    return [DoctorFinding(NAME, "workflow", True, f"{file}: every node type and model file it names is on the server",
                          blocking=False)]


def _choices(info: dict[str, Any] | None, name: str) -> list[Any] | None:
    """The values a combo input of a node type may take, as /object_info says (a list first in
    its spec [V]; the newer "COMBO" spelling's `options` [?]); None for any other input."""
    if not isinstance(info, dict):
        return None
    inputs = info.get("input") or {}
    for group in ("required", "optional"):
        spec = (inputs.get(group) or {}).get(name)
        if isinstance(spec, list) and spec:
            if isinstance(spec[0], list):
                return spec[0]
            if spec[0] == "COMBO" and len(spec) > 1 and isinstance(spec[1], dict) \
                    and isinstance(spec[1].get("options"), list):
                return list(spec[1]["options"])
    return None


def film_problems(*, storage: Storage, models: Mapping[str, tuple[str, ...]], film: LoadedFilm,
                  scenes: tuple[str, ...]) -> list[Problem]:
    """`slate check`: each workflow the run uses, read and checked (the file and the node of each
    problem), and every shot of `scenes` a workflow cannot make — a start+end shot with no
    end_image mapped, a composite with no image."""
    from slate.manifests.load import Problem
    problems: list[Problem] = []
    for capability, names in models.items():
        for model in names:
            try:
                wf = load(storage, model)
            except WorkflowError as exc:
                problems += [Problem(f, None, w, m) for f, w, m in exc.problems]
                continue
            for scene_id in scenes:
                for shot in film.scene(scene_id).shots:
                    if capability == "video" and shot.frame_mode == "start_end" and not wf.takes("end_image"):
                        problems.append(Problem(film.scene_file(scene_id), shot.id, "frame_mode",
                                                f"start_end, and comfyui:{model}'s workflow ({wf.files[1]}) maps no "
                                                f"end_image"))
                    if capability == "image" and shot.panel_override is not None and not wf.takes("image"):
                        problems.append(Problem(film.scene_file(scene_id), shot.id, "panel_override",
                                                f"comfyui:{model}'s workflow ({wf.files[1]}) maps no image to "
                                                f"start from, so it cannot polish the composite"))
    return problems


PROVIDER = ProviderSpec(
    name=NAME,
    offers={"image": Offer((EXAMPLE_PANEL,), own="panel-*"), "video": Offer((EXAMPLE_VIDEO,), own="video-*"),
            "faceswap": Offer((EXAMPLE_FACESWAP,), own="faceswap-*"),
            "upscale": Offer((EXAMPLE_UPSCALE,), own="upscale-*")},
    base_url=DEFAULT_URL,
    image=image, video=video, faceswap=clip_pass, upscale=clip_pass, doctor=doctor, film_problems=film_problems, film_doctor=film_doctor,
    translate_error=translate_error,
    lost_job_hint="its prompt in ComfyUI's queue or history (the Queue panel), queued at that time",
    job_seconds=JOB_SECONDS,
    settings=ComfySettings,
)
