"""A toy pass's provider: `grainy` adds film grain to a clip (tests/integration/test_toy_capability.py).

The provider module of a pass over the clip that slate does not ship — "grain" — as a plugin's
would be: it names the pass's capability (declared beside slate's own with the pass's stage:
tasks/shot/clip_passes.py `declare_pass`), offers two models of it (`grainy:fine`, `grainy:coarse`: how strong the
grain is) and builds their clients. A job is submitted, polled, downloaded and cancelled as a
vendor's is; what it makes is the clip given with ffmpeg's `noise` filter over it, at the clip's
own size, frame rate and length. The pass's stage (its take, its gate, its declaration) is the
test's, not this module's.

It is installed as a plugin is (a dist-info naming it under `slate.providers`, `installed`), never
imported by slate's code.
"""
from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from slate.providers.base import Capability, ClipPass, JobStatus, Storage
from slate.providers.spec import Offer, ProviderSpec

NAME = "grainy"
#: The pass's capability: a pass over the clip, a job with an expected duration, priced by the
#: clip's seconds (kind "grain" on a rate card) — declared with its stage (the test's `declare_pass`).
GRAIN: Capability[ClipPass] = Capability("grain", timed=True, passes=True, clip=True)
#: model -> the noise filter's strength
STRENGTH = {"fine": 12, "coarse": 40}
#: What a rate card prices each model at (per second of clip): a test's film adds these rows.
RATES = """
[models."grainy:fine"]
kind = "grain"
per_second = "0.01"
billing_seconds = "exact"
source = "tests/fakes/grain.py: a test's own price"
confidence = "S"

[models."grainy:coarse"]
kind = "grain"
per_second = "0.02"
billing_seconds = "exact"
source = "tests/fakes/grain.py: a test's own price"
confidence = "S"
"""
#: Every job submitted, in order: (model, the request)
JOBS: list[tuple[str, Any]] = []


class GrainJobs:
    """One grain model's jobs: the grained clip made at submit, handed over at download."""

    name = NAME
    poll_interval = 0.05
    expected_seconds = 30.0

    def __init__(self, model: str, storage: Storage):
        self.model, self.storage = model, storage
        self.variant: dict[str, Any] = {"strength": STRENGTH[model]}
        self._made: dict[str, Path] = {}

    def submit(self, request: Any, *, client_ref: str) -> str:
        import imageio_ffmpeg
        source = self.storage.open_local(request.clip_uri)
        job_id = f"grain-{len(JOBS) + 1}"
        out = source.with_name(f".{job_id}-{client_ref[:12]}.mp4")
        subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-y", "-i", str(source),
                        "-vf", f"noise=alls={STRENGTH[self.model]}:allf=t", "-c:v", "libx264", "-preset", "ultrafast",
                        "-pix_fmt", "yuv420p", "-an", "-f", "mp4", str(out)], check=True)
        JOBS.append((self.model, request))
        self._made[job_id] = out
        return job_id

    def poll(self, job_id: str) -> JobStatus:
        return JobStatus("succeeded", progress=1.0)

    def download(self, job_id: str, dest: Path) -> Path:
        self._made.pop(job_id).replace(dest)
        return dest

    def cancel(self, job_id: str) -> None:
        self._made.pop(job_id, None)

    def find_job(self, client_ref: str, since: object = None, *, request: object = None) -> str | None:
        raise NotImplementedError("the grain provider keeps no book by our ids")


def _grain(model: str, *, storage: Storage, base_url: str | None = None, settings: object = None) -> GrainJobs:
    return GrainJobs(model, storage)


PROVIDER = ProviderSpec(name=NAME, offers={GRAIN.name: Offer(tuple(STRENGTH))}, passes={GRAIN.name: _grain},
                        job_seconds={model: 30.0 for model in STRENGTH})


@contextmanager
def installed(folder: Path) -> Iterator[list[tuple[str, Any]]]:
    """The grain provider installed as a plugin is (a dist-info in `folder`, on sys.path, naming
    this module under `slate.providers`) for the length of the block; its jobs, emptied."""
    import sys

    from slate.providers import registry
    info = folder / "slate_grainy-0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: slate-grainy\nVersion: 0\n")
    (info / "entry_points.txt").write_text(f"[slate.providers]\n{NAME} = tests.fakes.grain:PROVIDER\n")
    sys.path.insert(0, str(folder))
    registry.forget()
    JOBS.clear()
    try:
        yield JOBS
    finally:
        sys.path.remove(str(folder))
        registry.forget()
