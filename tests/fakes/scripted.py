"""A provider whose jobs end as a test says: the take loop's table (tests/unit/test_take_table.py).

`script` offers a clip (`script:clip`), a lip-sync (`script:sync`), a face swap (`script:swap`),
an upscale (`script:up`), a voice (`script:voice`, one answer a line) and a composer (`script:score`,
one answer a cue: "ok" the local composer's cue, "short" one half as long), the first four each as a job — submitted, polled, downloaded, cancelled — the way a
vendor's is, so the governor's real job call meets each ending as it would at a vendor:

- "ok": the job succeeds with a real clip — the local provider's render for a clip, the local
  painter's mouths for a lip-sync, the clip unchanged for a face swap (its faces were on model
  already), the clip scaled by ffmpeg for an upscale;
- "failed": it ends failed, in a lip-sync model's words ("No face was detected");
- "unusable": it succeeds, and what it gives is not a video (BadOutput, billed);
- "stuck": it runs for ever, until it is cancelled;
- "refused": it ends failed, refused by moderation.

A clip whose prompt holds a word of `BOOK.slow` runs that many seconds before it ends (a slow shot
beside a fast one), or, when `BOOK.until` gives that word a question, until the question's answer
is yes — whichever is first (a test that orders two things waits on the thing, not on the clock).

What each job was asked and how it ended is kept in `BOOK`, where a test counts effects at the
provider. It is installed as a plugin is (a dist-info naming it under `slate.providers`,
tests/fakes/scripted.py `installed`), never imported by slate's code.
"""
from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slate.providers.base import JobStatus, Storage
from slate.providers.errors import BadOutput, JobFailed, RefusedByModeration
from slate.providers.spec import Offer, ProviderSpec

NAME = "script"
ENDINGS = ("ok", "failed", "unusable", "stuck", "refused", "short")
MODELS = {"video": "clip", "lipsync": "sync", "faceswap": "swap", "upscale": "up", "speech": "voice", "music": "score"}
#: The capabilities whose calls are one answer, not a job.
ONE_ANSWER = ("speech", "music")
#: What a rate card prices each of its models at (per second of clip): a test's film adds these rows.
RATES = """
[models."script:clip"]
kind = "video"
per_second = { "480p" = "0.10", "720p" = "0.20", "1080p" = "0.40" }
billing_seconds = "exact"
source = "tests/fakes/scripted.py: a test's own price"
confidence = "S"

[models."script:sync"]
kind = "lipsync"
per_second = "0.05"
billing_seconds = "exact"
source = "tests/fakes/scripted.py: a test's own price"
confidence = "S"

[models."script:swap"]
kind = "faceswap"
per_second = "0.02"
billing_seconds = "exact"
source = "tests/fakes/scripted.py: a test's own price"
confidence = "S"

[models."script:voice"]
kind = "speech"
per_million_characters = "50000"
source = "tests/fakes/scripted.py: a test's own price"
confidence = "S"

[models."script:score"]
kind = "music"
per_second = "0.01"
source = "tests/fakes/scripted.py: a test's own price"
confidence = "S"

[models."script:up"]
kind = "upscale"
per_second = "0.03"
billing_seconds = "exact"
source = "tests/fakes/scripted.py: a test's own price"
confidence = "S"
"""


@dataclass
class Job:
    capability: str
    job_id: str
    ending: str
    request: Any
    inner: str | None = None       # the local provider's job, for an "ok" clip or lip-sync
    cancelled: bool = False
    submitted: float = field(default_factory=time.monotonic)


@dataclass
class Book:
    """The script (capability → the endings of its next jobs, in order; "ok" once it runs out)
    and every job the provider was given."""

    script: dict[str, list[str]] = field(default_factory=dict)
    jobs: list[Job] = field(default_factory=list)
    #: a clip whose prompt holds one of these words runs this many seconds before it ends
    slow: dict[str, float] = field(default_factory=dict)
    #: … or ends as soon as this question's answer is yes, if that is sooner
    until: dict[str, Callable[[], bool]] = field(default_factory=dict)
    #: the id of the provider key the jobs are made on: a key's video jobs share its slots
    #: (tasks/run/slots.py), so a test that needs its own slot count names its own key
    key_id: str = "default"

    def reset(self, *, slow: dict[str, float] | None = None, until: dict[str, Callable[[], bool]] | None = None,
              key_id: str = "default", **script: list[str]) -> None:
        unknown = [e for endings in script.values() for e in endings if e not in ENDINGS]
        assert not unknown, unknown
        self.script = {k: list(v) for k, v in script.items()}
        self.jobs = []
        self.slow = dict(slow or {})
        self.until = dict(until or {})
        self.key_id = key_id

    def of(self, capability: str) -> list[Job]:
        return [j for j in self.jobs if j.capability == capability]


BOOK = Book()


class ScriptedJobs:
    """One capability's jobs, ending as BOOK's script says."""

    name = NAME
    poll_interval = 0.05

    def __init__(self, capability: str, model: str, storage: Storage, inner: Any = None):
        self.capability, self.model, self.storage, self.inner = capability, model, storage, inner
        self.variant: dict[str, Any] = {}
        self.expected_seconds = 60.0

    @property
    def key_id(self) -> str:
        return BOOK.key_id

    def submit(self, request: Any, *, client_ref: str) -> str:
        queue = BOOK.script.get(self.capability, [])
        ending = queue.pop(0) if queue else "ok"
        job = Job(self.capability, f"{self.capability}-{len(BOOK.jobs) + 1}", ending, request)
        if ending == "ok" and self.inner is not None:
            job.inner = self.inner.submit(request, client_ref=client_ref)
        BOOK.jobs.append(job)
        return job.job_id

    def _job(self, job_id: str) -> Job:
        return next(j for j in BOOK.jobs if j.job_id == job_id)

    def poll(self, job_id: str) -> JobStatus:
        job = self._job(job_id)
        if job.cancelled:
            return JobStatus("canceled")
        if job.ending == "failed":
            return JobStatus("failed", error="No face was detected in the input video")
        if job.ending == "refused":
            return JobStatus("failed", error="the input was flagged by moderation (E005)", refused=True)
        if job.ending == "stuck":
            return JobStatus("running", progress=0.1)
        prompt = getattr(job.request, "prompt", "")
        if any(w in prompt and time.monotonic() - job.submitted < s and not (w in BOOK.until and BOOK.until[w]())
               for w, s in BOOK.slow.items()):
            return JobStatus("running", progress=0.5)
        if job.inner is not None:
            status: JobStatus = self.inner.poll(job.inner)
            return status
        return JobStatus("succeeded", progress=1.0)

    def download(self, job_id: str, dest: Path) -> Path:
        job = self._job(job_id)
        if job.ending == "unusable":
            raise BadOutput("the output is an HTML page, not a video", provider=NAME)
        if job.inner is not None:
            made: Path = self.inner.download(job.inner, dest)
            return made
        source = self.storage.open_local(job.request.clip_uri)
        if self.capability == "upscale":
            import imageio_ffmpeg
            req = job.request
            subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-y", "-i", str(source),
                            "-vf", f"scale={req.width}:{req.height}:flags=bicubic", "-c:v", "libx264", "-crf", "12",
                            "-pix_fmt", "yuv420p", "-an", "-f", "mp4", str(dest)], check=True)
        else:
            shutil.copyfile(source, dest)
        return dest

    def cancel(self, job_id: str) -> None:
        self._job(job_id).cancelled = True

    def find_job(self, client_ref: str, since: object = None, *, request: object = None) -> str | None:
        raise NotImplementedError("the scripted provider keeps no book by our ids")


class ScriptedVoice:
    """A voice, `script:voice`: one line, one synchronous answer, ending as BOOK's "speech" script
    says — "ok" the line spoken by the local voice of the same name; "failed", "unusable" and
    "refused" raised as a vendor's client raises them. (A line is not a job: it is never stuck.)"""

    name = NAME

    def __init__(self, model: str):
        self.model = model
        self.variant: dict[str, Any] = {}

    def speak(self, request: Any, *, client_ref: str | None = None) -> Any:
        queue = BOOK.script.get("speech", [])
        ending = queue.pop(0) if queue else "ok"
        BOOK.jobs.append(Job("speech", f"speech-{len(BOOK.jobs) + 1}", ending, request))
        if ending == "failed":
            raise JobFailed("the voice could not speak the line", provider=NAME)
        if ending == "unusable":
            raise BadOutput("the answer is an HTML page, not audio", provider=NAME)
        if ending == "refused":
            raise RefusedByModeration("the text was flagged by moderation", provider=NAME)
        from slate.providers.registry import offline_line
        return offline_line(request.voice, request.settings, request.text)


class ScriptedComposer:
    """A composer whose cues end as the script says — "ok" the local composer's cue, "short" one
    made half as long as asked (a take the music gate fails), "failed", "unusable" and "refused"
    raised as a vendor's client raises them."""

    name = NAME

    def __init__(self, model: str):
        self.model = model
        self.variant: dict[str, Any] = {}

    def compose(self, request: Any, *, client_ref: str | None = None) -> Any:
        from dataclasses import replace as changed

        from slate.providers.local_music import made_cue
        queue = BOOK.script.get("music", [])
        ending = queue.pop(0) if queue else "ok"
        BOOK.jobs.append(Job("music", f"music-{len(BOOK.jobs) + 1}", ending, request))
        if ending == "failed":
            raise JobFailed("the composer could not make the cue", provider=NAME)
        if ending == "unusable":
            raise BadOutput("the answer is an HTML page, not audio", provider=NAME)
        if ending == "refused":
            raise RefusedByModeration("the prompt was flagged by moderation", provider=NAME)
        if ending == "short":
            return made_cue(changed(request, seconds=request.seconds / 2,
                                    hits=tuple(h for h in request.hits if h < request.seconds / 2)))
        return made_cue(request)


def _music(model: str, *, storage: Storage | None = None, base_url: str | None = None,
           settings: object = None) -> ScriptedComposer:
    return ScriptedComposer(model)


def _speech(model: str, *, storage: Storage | None = None, base_url: str | None = None,
            settings: object = None) -> ScriptedVoice:
    return ScriptedVoice(model)


def _video(model: str, *, storage: Storage, base_url: str | None = None, settings: object = None) -> ScriptedJobs:
    from slate.providers.local import LocalVideo
    return ScriptedJobs("video", model, storage, LocalVideo(storage))


def _lipsync(model: str, *, storage: Storage, base_url: str | None = None, settings: object = None) -> ScriptedJobs:
    from slate.providers.local import LocalLipSync
    return ScriptedJobs("lipsync", model, storage, LocalLipSync(storage))


def _faceswap(model: str, *, storage: Storage, base_url: str | None = None, settings: object = None) -> ScriptedJobs:
    return ScriptedJobs("faceswap", model, storage)


def _upscale(model: str, *, storage: Storage, base_url: str | None = None, settings: object = None) -> ScriptedJobs:
    return ScriptedJobs("upscale", model, storage)


PROVIDER = ProviderSpec(
    name=NAME,
    offers={capability: Offer((model,)) for capability, model in MODELS.items()},
    video=_video, lipsync=_lipsync, faceswap=_faceswap, upscale=_upscale, speech=_speech,  # type: ignore[arg-type]
    music=_music,
    job_seconds={model: 60.0 for capability, model in MODELS.items() if capability not in ONE_ANSWER},
)


@contextmanager
def installed(folder: Path) -> Iterator[Book]:
    """The scripted provider installed as a plugin is (a dist-info in `folder`, on sys.path,
    naming this module under `slate.providers`) for the length of the block; its book, reset."""
    import sys

    from slate.providers import registry
    info = folder / "slate_scripted-0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: slate-scripted\nVersion: 0\n")
    (info / "entry_points.txt").write_text(f"[slate.providers]\n{NAME} = tests.fakes.scripted:PROVIDER\n")
    sys.path.insert(0, str(folder))
    registry.forget()
    BOOK.reset()
    try:
        yield BOOK
    finally:
        sys.path.remove(str(folder))
        registry.forget()
