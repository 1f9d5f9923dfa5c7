"""The upscale check's measure (media/upscale.py, issue 41) on real encodes.

A take is the local painter's panel of the example rendered as the local provider renders a clip
(H.264, a dolly in), at 426x240 so the file takes seconds; its upscales are made here by ffmpeg,
encoded again as a model's answer is. An upscale by lanczos or by nearest neighbour passes (one
that dropped the take's first frame too, held a frame later); a square painted over, another
shot's take, the wrong size, another frame rate and frames dropped each fail, naming what.
The floors themselves were measured at 480p and 720p on the same kind of takes
(media/upscale.py says the figures); this is a sample of them. Every clip is made here.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from slate.media.ffmpeg import ffmpeg_exe
from slate.media.render import render_clip
from slate.media.upscale import BLOCK_CEILING, PSNR_FLOOR, judge_upscale

# One worker renders the module's takes (`takes`, 5-6 s of CPU) once, instead of each worker that
# draws one of its tests rendering them again.
pytestmark = pytest.mark.xdist_group("upscale-takes")

W, H, FPS, SECONDS = 426, 240, 24, 2.0


def _encode(src: Path, out: Path, vf: str, *args: str) -> Path:
    """`src` through the filter `vf`, encoded again as an upscale model's answer is (H.264)."""
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", str(src), "-vf", vf, *args, "-c:v", "libx264",
                    "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", "-an", str(out)], check=True)
    return out


@pytest.fixture(scope="module")
def takes(painted_master, tmp_path_factory) -> dict[str, Path]:
    """Two shots' takes (the painter's first two panels, rendered), and upscales of the first."""
    from slate.providers.storage_local import LocalStorage
    folder = tmp_path_factory.mktemp("upscale")
    storage = LocalStorage(painted_master.root)
    made: dict[str, Path] = {}
    for name, uri in zip(("take", "other"), painted_master.drawn[:2]):
        made[name] = folder / f"{name}.mp4"
        render_clip(storage.open_local(uri), made[name], width=W, height=H, fps=FPS, seconds=SECONDS,
                    movement="dolly_in")
    big = f"scale={2 * W}:{2 * H}"
    for name, src, vf, args in (
            ("lanczos", "take", f"{big}:flags=lanczos", ()),
            ("nearest", "take", f"{big}:flags=neighbor", ()),
            ("late", "take", f"trim=start_frame=1,setpts=PTS-STARTPTS,{big}", ()),
            ("square", "take", f"{big},drawbox=x=400:y=200:w=32:h=32:color=0x806040@1:t=fill", ()),
            ("other_shot", "other", f"{big}:flags=lanczos", ()),
            ("three_x", "take", f"scale={3 * W}:{3 * H}", ()),
            ("rate_25", "take", big, ("-r", "25")),
            ("short", "take", f"trim=start_frame=3,setpts=PTS-STARTPTS,{big}", ())):
        made[name] = _encode(made[src], folder / f"{name}.mp4", vf, *args)
    return made


@pytest.mark.parametrize("name, offset", [("lanczos", 0), ("nearest", 0), ("late", 1)])
def test_a_take_upscaled_and_nothing_else_passes(takes, name, offset):
    r = judge_upscale(takes["take"], takes[name], width=2 * W, height=2 * H)
    assert r.verdict == "passed", r.reason
    assert (r.width, r.height, r.fps, r.take_frames) == (2 * W, 2 * H, "24", 48), r
    assert r.offset == offset, r
    # with room to spare: the floors sit well below what an upscale reads
    assert r.worst_psnr is not None and r.worst_psnr >= PSNR_FLOOR + 5, r
    assert r.worst_block is not None and r.worst_block <= BLOCK_CEILING / 2, r
    assert "it is the take" in r.reason


@pytest.mark.parametrize("name, said", [
    ("square", "a 16-pixel square differs by"),
    ("other_shot", "it is not the take"),
    ("three_x", f"is {3 * W}x{3 * H}, asked {2 * W}x{2 * H}"),
    ("rate_25", "runs at 25 fps, the take at 24"),
    ("short", "has 45 frames, the take 48"),
])
def test_an_upscale_that_changed_more_than_its_size_fails_naming_what(takes, name, said):
    r = judge_upscale(takes["take"], takes[name], width=2 * W, height=2 * H)
    assert r.verdict == "failed", r
    assert said in r.reason, r.reason


def test_a_painted_square_hides_in_the_frame_psnr_and_shows_in_its_block(takes):
    """Why the check reads squares as well as frames: a small change of content moves a frame's
    PSNR little; its square is far off."""
    r = judge_upscale(takes["take"], takes["square"], width=2 * W, height=2 * H)
    assert r.worst_psnr is not None and r.worst_block is not None
    assert r.worst_block > 2 * BLOCK_CEILING, r
