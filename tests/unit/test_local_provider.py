"""The local provider is a real provider: deterministic panels, durable video jobs, faults."""
from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from slate.media import probe
from slate.providers.errors import NotReceived
from slate.providers.local import FaultMode, LocalImage, LocalVideo
from benchmarks.judge_trials import panel_requests
from slate.providers.storage_local import LocalStorage


@pytest.fixture
def film(example_film):
    return example_film, LocalStorage(example_film), panel_requests(example_film)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_same_request_same_pixels_new_seed_new_panel(film):
    root, storage, reqs = film
    painter = LocalImage(storage)
    req = reqs[2]
    a, b = painter.generate_panel(req), LocalImage(storage).generate_panel(req)
    assert sha(a) == sha(b)
    assert sha(painter.generate_panel(replace(req, seed=req.seed + 1))) != sha(a)
    img = Image.open(__import__("io").BytesIO(a))
    assert img.size == (req.width, req.height)


def test_panel_is_drawn_from_the_bible(film):
    """The plate shows through; each character's hair colour from the turnaround is on screen."""
    root, storage, reqs = film
    req = reqs[2]  # 1C: gabe and jenny in the diner
    panel = np.asarray(Image.open(__import__("io").BytesIO(LocalImage(storage).generate_panel(req))).convert("RGB"))
    sheet = np.asarray(Image.open(storage.open_local(req.characters[0].turnaround_uri)).convert("RGBA"))
    hair = sheet[sheet[..., 3] > 0][:, :3][0]  # topmost opaque pixel row is hair
    assert (np.abs(panel.astype(int) - hair).max(axis=2) <= 8).sum() > 50


@pytest.mark.parametrize("kind", ["recolour", "wrong_plate", "missing", "corrupted"])
def test_fault_mode_is_seeded_and_reproducible(film, kind):
    root, storage, reqs = film
    painter = LocalImage(storage)
    clean = painter.generate_panel(reqs[2])
    bad1 = painter.generate_panel(reqs[2], force_fault=kind)
    bad2 = LocalImage(storage).generate_panel(reqs[2], force_fault=kind)
    assert sha(bad1) == sha(bad2) != sha(clean)


def test_fault_rate_picks_the_same_outputs_every_time(film):
    root, storage, reqs = film
    rated = LocalImage(storage, FaultMode(rate=0.5, seed=7))
    picks = [sha(rated.generate_panel(replace(reqs[0], seed=s))) for s in range(12)]
    again = [sha(LocalImage(storage, FaultMode(rate=0.5, seed=7)).generate_panel(replace(reqs[0], seed=s)))
             for s in range(12)]
    clean = [sha(LocalImage(storage).generate_panel(replace(reqs[0], seed=s))) for s in range(12)]
    assert picks == again
    assert 0 < sum(p != c for p, c in zip(picks, clean)) < 12


def test_video_job_survives_its_process_and_renders_h264(film, tmp_path):
    """A job submitted by one provider object is found, polled and downloaded by another, as a
    crashed run's successor must; the clip is H.264 at the requested size and length."""
    from slate.providers.base import ClipRequest
    root, storage, reqs = film
    start = storage.put_bytes(LocalImage(storage).generate_panel(reqs[0]), "png")
    req = ClipRequest(prompt="walks", start_uri=start, end_uri=None, seconds=2.0, width=426, height=240, fps=12,
                      resolution="240p", movement="dolly_in", camera_fixed=False, seed=1)
    first = LocalVideo(storage, latency=0.5)
    job = first.submit(req, client_ref="call-abc")
    later = LocalVideo(storage)
    assert later.find_job("call-abc") == job
    with pytest.raises(NotReceived):   # its own book is complete: a call it has no job of never reached it
        later.find_job("call-other")
    assert later.poll(job).state == "running"
    import time
    time.sleep(0.6)
    assert later.poll(job).state == "succeeded"
    out = later.download(job, tmp_path / "clip.mp4")
    p = probe(out)
    assert (p.codec, p.width, p.height, p.frames) == ("h264", 426, 240, 24)
    assert [s["client_ref"] for s in later.submissions()] == ["call-abc"]


def _clip_request(storage, reqs, movement: str):
    """A one-second 240p clip request from the example's first panel, drawn by the local painter."""
    from slate.providers.base import ClipRequest
    start = storage.put_bytes(LocalImage(storage).generate_panel(reqs[0]), "png")
    return ClipRequest(prompt="walks", start_uri=start, end_uri=None, seconds=1.0, width=426, height=240, fps=12,
                       resolution="240p", movement=movement, camera_fixed=False, seed=1)


def _made(storage, request, dest: Path) -> Path:
    """The clip a local video job for `request` makes, downloaded to `dest`."""
    video = LocalVideo(storage)
    return video.download(video.submit(request, client_ref=dest.stem), dest)


def test_the_suites_render_memo_gives_the_bytes_ffmpeg_would_and_keys_by_what_was_rendered(film, tmp_path,
                                                                                          monkeypatch):
    """The test suite's memo of the stand-in's clips (RENDER_MEMO) hands a second job for the same
    frames the very bytes a render would make, and renders anew for a new move or new frames."""
    from slate.providers.local import RENDER_MEMO
    root, storage, reqs = film
    req = _clip_request(storage, reqs, "dolly_in")

    def clip(request, name: str) -> bytes:
        return _made(storage, request, tmp_path / f"{name}.mp4").read_bytes()
    monkeypatch.delenv(RENDER_MEMO, raising=False)
    rendered = clip(req, "plain")
    memo = tmp_path / "memo"
    monkeypatch.setenv(RENDER_MEMO, str(memo))
    first, second = clip(req, "first"), clip(req, "second")
    assert sha(first) == sha(second) == sha(rendered)
    assert len(list(memo.glob("*.mp4"))) == 1
    panned = clip(replace(req, movement="pan_left"), "panned")
    other = storage.put_bytes(LocalImage(storage).generate_panel(replace(reqs[0], seed=reqs[0].seed + 1)), "png")
    clip(replace(req, start_uri=other), "other")
    assert len(list(memo.glob("*.mp4"))) == 3 and sha(panned) != sha(rendered)


def test_a_new_seed_makes_a_static_take_that_drifts_otherwise_from_and_to_the_panel(film, tmp_path):
    """An NG's retake of a static shot differs (issue 57: the stand-in's take 2 of the example's 1D
    was byte-identical to take 1): the camera drifts its own way by the seed and settles back, so
    both takes start and end on the panel. A shot that names a move makes it on its own pace and to
    its own end, each take swaying its own way across it; a locked-off camera never moves, whatever
    the seed."""
    from slate.media.frames import extract_frame, extract_last_frame
    root, storage, reqs = film
    req = _clip_request(storage, reqs, "static")

    def take(request, name: str) -> Path:
        return _made(storage, request, tmp_path / f"{name}.mp4")

    def frame(clip: Path, at: float) -> np.ndarray:
        return np.asarray(Image.open(extract_frame(clip, at, tmp_path / f"{clip.stem}-{at}.png")).convert("L"),
                          dtype=np.float32)
    one, two = take(req, "take1"), take(replace(req, seed=2), "take2")
    assert sha(one.read_bytes()) != sha(two.read_bytes())
    assert np.abs(frame(one, 0) - frame(two, 0)).mean() < 2      # the same first frame: the panel's
    assert np.abs(frame(one, 0.5) - frame(two, 0.5)).mean() > 2  # apart on the way
    last = [np.asarray(Image.open(extract_last_frame(c, tmp_path / f"{c.stem}-last.png")).convert("L"), np.float32)
            for c in (one, two)]
    assert np.abs(last[0] - last[1]).mean() < 2                  # and the same last frame
    for move in ("dolly_in", "pan_right"):
        # seeds 1 and 3 sway to opposite sides (providers/local.py take_move)
        a, b = (take(replace(req, seed=s, movement=move), f"{move}{s}") for s in (1, 3))
        assert np.abs(frame(a, 0) - frame(b, 0)).mean() < 2, move
        assert np.abs(frame(a, 0.75) - frame(b, 0.75)).mean() > 2, move     # apart on the way
        ends = [np.asarray(Image.open(extract_last_frame(c, tmp_path / f"{c.stem}-last.png")).convert("L"),
                           np.float32) for c in (a, b)]
        # the move's own last frame, where a chain starts: 1.9 grey levels apart at 240p (the encoder's
        # P-frame after different frames), against 16-18 a quarter of a second before the end
        assert np.abs(ends[0] - ends[1]).mean() < 2, move
    same = [take(replace(req, seed=s, camera_fixed=True), f"locked{s}") for s in (1, 2)]
    assert sha(same[0].read_bytes()) == sha(same[1].read_bytes())


@pytest.mark.parametrize(("profile", "shot", "seed"), [("draft", "1D", 1005), ("final", "1C", 1014)])
def test_a_slow_move_glides_below_a_pixel_and_reads_as_no_stutter(film, tmp_path, profile, shot, seed):
    """The stand-in places a move's window below a pixel (media/commands.py `_move_filter`): where
    the move is slower than a pixel a frame — a static camera's drift at its turnaround (1D, seed
    1005: a pan out and back at 854x480), a pan's ease-out at 1280x720 (1C, seed 1014) — the picture
    steps evenly. Placed in whole pixels (ffmpeg zoompan, before), both were read as a stutter by
    the keyframe gate's cadence check (steps 0.26 then 3.49: benchmarks/local_takes.py), which a
    clean take must never be before a stutter may block."""
    from benchmarks.gate_corpus import write_png
    from slate.manifests import load_film
    from slate.media import render_clip
    from slate.media.dailies import cadence_scores, watch
    from slate.providers.local import take_move
    from slate.tasks.shot.plan import plan_from_project
    root, storage, _ = film
    plan = {p.shot: p for p in plan_from_project(load_film(root), "scene-01", profile, 24)}[shot]
    move = take_move(plan.movement, plan.camera_fixed, seed)
    assert move.movement != "static" and (move.back or move.sway)   # the drift, the swaying pan
    start = write_png(LocalImage(storage).draw(replace(plan.panel_request("start", 1), seed=seed)),
                      tmp_path / "start.png")
    clip = tmp_path / "take.mp4"
    render_clip(start, clip, width=plan.width, height=plan.height, fps=24, seconds=plan.duration,
                movement=move.movement, reach=move.reach, back=move.back, sway=move.sway)
    timing = {s["name"]: s for s in cadence_scores(watch(clip), expect_motion=True)}
    assert timing["clip_stutter"]["passed"], timing["clip_stutter"]["reason"]
    assert timing["clip_dropped"]["passed"], timing["clip_dropped"]["reason"]
