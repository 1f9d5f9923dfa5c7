"""A pass is held to the clip it was sent, not to the plan's size (issue 55): a video model's
852x480 for a planned 854x480 passed the keyframe gate, and a lip-sync or upscale held to the
plan's size ended runs with BadOutput. `clip_size` reads the size the clip has."""
from __future__ import annotations

from PIL import Image


def test_a_pass_is_given_the_size_the_video_model_made_not_the_plans(tmp_path):
    from slate.media.render import render_clip
    from slate.providers.storage_local import LocalStorage
    from slate.tasks.shot.clip_passes import clip_size
    from slate.tasks.shot.upscale import upscaled_size
    still = tmp_path / "still.png"
    Image.new("RGB", (854, 480), (90, 60, 40)).save(still)
    out = tmp_path / "clip.mp4"
    render_clip(still, out, width=852, height=480, fps=24, seconds=0.5, movement="static")
    storage = LocalStorage(tmp_path / "store")
    uri = storage.put_bytes(out.read_bytes(), "mp4")
    assert clip_size(storage, uri) == (852, 480)
    assert upscaled_size(*clip_size(storage, uri)) == (1704, 960)
