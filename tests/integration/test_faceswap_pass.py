"""A face swap through slate's own pieces against the fake ComfyUI over real HTTP: the face-swap
workflow of the example film (ComfyPass), the approved face slate makes from the turnaround, which
face of the frame is the character's, and the swap gate on the clip that comes back (issue 41).

The take is made here (tests/integration/test_fake_comfyui_passes.py `made_take`): the diner with
Jenny on the left, her skin drifted 25 Lab units from her turnaround's, and Gabe on the right. A
clean swap brings her face back and passes; each of the fake's swap faults is caught by the gate,
named by what it spoiled. Counted where it lands: the prompts in the fake's book, the scores.
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from slate.providers import comfyui
from slate.providers.base import ClipPassRequest
from slate.providers.errors import BadOutput
from slate.tasks.shot.faceswap import SwapCheck, approved_face, face_index, swap_readings
from slate.tasks.shot.take_inputs import Maker
from tests.integration.test_fake_comfyui_passes import FPS, H, W, made_take

JENNY_SHEET = "characters/jenny/jenny_turnaround_APPROVED.png"
GABE_SHEET = "characters/gabe/gabe_turnaround_APPROVED.png"
PLATE = "locations/diner/diner_plate_APPROVED.png"


@pytest.fixture(scope="module")
def take():
    return made_take()


@pytest.fixture
def bench(painted, fakes, take):
    storage = painted.storage
    sheets = {"jenny": storage.put_bytes((painted.root / JENNY_SHEET).read_bytes(), "png"),
              "gabe": storage.put_bytes((painted.root / GABE_SHEET).read_bytes(), "png")}
    plate = storage.put_bytes((painted.root / PLATE).read_bytes(), "png")
    clip = storage.put_bytes(take.mp4, "mp4")
    swapper = comfyui.clip_pass("faceswap-reactor", storage=storage, base_url=fakes.url("comfyui"),
                                settings=comfyui.ComfySettings(poll_seconds=0.05))
    return storage, sheets, plate, clip, swapper


def swapped(bench, index: int | None) -> str:
    """The take through the example's face swap for Jenny: the swapped clip's URI."""
    storage, sheets, _, clip, swapper = bench
    request = ClipPassRequest(kind="faceswap", clip_uri=clip, width=W, height=H, fps=FPS, seconds=1.0, seed=1,
                              character="jenny", face_uri=approved_face(storage, sheets["jenny"]), face_index=index)
    job = swapper.submit(request, client_ref=f"test-{time.monotonic_ns()}")
    deadline = time.monotonic() + 60
    status = swapper.poll(job)
    while status.state in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.05)
        status = swapper.poll(job)
    assert status.state == "succeeded", status
    assert status.usage and status.usage["kind"] == "faceswap" and status.usage["gpu_seconds"] > 0
    dest = Path(storage.open_local(clip)).parent / f"swap-{job}.mp4"
    return storage.put_bytes(swapper.download(job, dest).read_bytes(), "mp4")


def scores(bench, after: str) -> dict[str, dict]:
    storage, sheets, plate, clip, _ = bench
    check = SwapCheck(shot="1D", take=1, clip_uri=clip, swapped_uri=after, swapped=("jenny",), named=("jenny", "gabe"),
                      turnarounds=sheets, plate_uri=plate,
                      maker=Maker(provider="comfyui", model="faceswap-reactor", profile="draft"))
    return {s["name"]: s for s in swap_readings(storage, check)}


def index_of(bench) -> int | None:
    storage, sheets, plate, clip, _ = bench
    return face_index(storage, Path(storage.open_local(clip)), ("jenny", "gabe"), sheets, {}, plate, "jenny")


def test_jenny_is_the_leftmost_face_and_her_drifted_face_swapped_back_passes_the_gate(bench, fakes):
    assert index_of(bench) == 0
    got = scores(bench, swapped(bench, 0))
    assert all(s["passed"] for s in got.values()), "\n".join(f"{s['name']}: {s['reason']}" for s in got.values())
    assert "nearer their approved face" in got["swap_identity"]["reason"], got["swap_identity"]
    assert len(fakes.jobs("comfyui")) == 1             # one prompt, for the one swap


@pytest.mark.parametrize("fault, fails, said", [
    ("swap_none", "swap_identity", "no nearer"),
    ("swap_wrong_face", "swap_others", "gabe"),
    ("swap_background", "swap_location", "changed"),
])
def test_each_spoiled_swap_is_caught_by_the_gate_naming_what_it_spoiled(bench, fakes, fault, fails, said):
    fakes.faults({"provider": "comfyui", "op": "run", "kind": fault})
    got = scores(bench, swapped(bench, 0))
    assert not got[fails]["passed"] and said in got[fails]["reason"], got


def test_a_swap_shorter_than_the_clip_is_refused_as_it_is_fetched(bench, fakes):
    # The provider's own check (providers/download.py checked_video): the gate never reads it.
    fakes.faults({"provider": "comfyui", "op": "run", "kind": "swap_short"})
    with pytest.raises(BadOutput, match="shorter than"):
        swapped(bench, 0)
