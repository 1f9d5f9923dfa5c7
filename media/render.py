"""Render clips and stitch sequences, atomically.

For: the two writes the pipeline makes (one clip from stills, one film from clips):
render to a temporary file beside the target, os.replace() it into place, probe it.
Never: leave a half-written file at the target path or a temp file behind, or import
anything of ours.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from collections import Counter
from fractions import Fraction

from .commands import concat_args, copy_concat_args, exact_rate, sound_bed_args, still_clip_args, stitch_plan
from .mp4 import Track, read_track
from .probe import Probe, probe, probe_copied
from .ffmpeg import run


def scratch_beside(target: Path, suffix: str | None = None) -> Path:
    """Where a file that ffmpeg writes is made before it is renamed to `target`:
    `.<stem>.<pid>.<random>.part<suffix>`. Same directory => same filesystem => os.replace is
    atomic; hidden and unique so concurrent renders and listings never see it as finished; the
    writer's process id in the name so a killed writer's file is known for garbage by the next
    run's sweep (providers/storage_local.sweep_orphans), and a live writer's never is. The
    suffix stays last: ffmpeg picks the container by it."""
    target = Path(target)
    return target.with_name(f".{target.stem}.{os.getpid()}.{uuid.uuid4().hex[:12]}.part"
                            f"{suffix if suffix is not None else (target.suffix or '.mp4')}")




def _atomic(target, build, *, copied: bool = False) -> Probe:
    out = Path(target)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = scratch_beside(out)
    try:
        done = run(build(tmp))
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return probe_copied(out, done.stderr) if copied else probe(out)


def _copied(target, source) -> Probe:
    """`source`'s bytes at `target`, written beside it and renamed into place; probed by a decode."""
    out = Path(target)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = scratch_beside(out)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return probe(out)


def render_clip(start_png, out_mp4, *, width: int, height: int, fps, seconds: float,
                movement: str, end_png=None, reach: float = 1.0, back: bool = False, sway: float = 0.0) -> Probe:
    """Render a still (or start+end pair) into an H.264 clip; return its probe. `reach`, `back` and
    `sway`: how far the move goes, whether it comes back, how far it drifts across its way and back
    (commands._move_filter)."""
    return _atomic(out_mp4, lambda tmp: still_clip_args(
        start_png, tmp, width=width, height=height, fps=fps, seconds=seconds,
        movement=movement, end_png=end_png, reach=reach, back=back, sway=sway))


def add_sound_bed(mp4, *, seconds: float, tone_hz: float, seed: int) -> Probe:
    """Give a rendered clip a sound track of its length (a tone over a noise bed), in place."""
    return _atomic(mp4, lambda tmp: sound_bed_args(mp4, tmp, seconds=seconds, tone_hz=tone_hz, seed=seed))


def _signature(track: Track | None) -> tuple | None:
    # Clips join by copy only when a decoder set up for one is set up for all: the same codec
    # configuration (SPS/PPS) byte for byte, size, time base and frame duration.
    return None if track is None else (track.config, track.width, track.height, track.timescale, track.frame_ticks)


def stitch(clips: list[tuple[str, float]], out_mp4, *, transitions: list[tuple[str, float]],
           fps, width: int, height: int) -> Probe:
    """Join (path, seconds) clips with cuts/dissolves into one H.264 file; return its probe.

    What does not change is not re-encoded: clips that already are what the cut needs (one
    codec configuration, read from the file's boxes by media/mp4.py; the scene's size and rate;
    exactly their declared length; no dissolve on them) are stream-copied; the rest — dissolves with the clips they join, clips of another
    encoder, size or length — are re-encoded in segments, and the segments joined by copy.
    When our own segments would not match the copied clips, everything is re-encoded in one
    pass, as concat_args alone does. A re-encoded result is probed by a full decode; a joined one
    by its header and the frames ffmpeg wrote (each clip was decoded and checked when made)."""
    encode_all = lambda tmp: concat_args(clips, tmp, transitions=transitions, fps=fps, width=width, height=height)
    if not clips:
        return _atomic(out_mp4, encode_all)
    tracks = [read_track(path) for path, _ in clips]
    rate = exact_rate(fps)   # 23.976 is 24000/1001: what a clip made at it reads back as
    half_frame = 0.5 / float(rate)
    fits = [t is not None and t.other_tracks == 0 and (t.width, t.height) == (width, height)
            and t.fps == rate and abs(t.seconds - float(secs)) < half_frame
            for t, (_, secs) in zip(tracks, clips)]
    common = Counter(_signature(t) for t, ok in zip(tracks, fits) if ok).most_common(1)
    copyable = [ok and _signature(t) == common[0][0] for t, ok in zip(tracks, fits)]
    plan = stitch_plan(copyable, transitions)
    if plan == [(True, 0, 0)]:
        # One clip that already is the cut (a film of one scene): its bytes, not a second
        # generation of the same pictures.
        return _copied(out_mp4, clips[0][0])
    if not any(copy for copy, _, _ in plan) or len(plan) == 1:
        return _atomic(out_mp4, encode_all)
    out = Path(out_mp4)
    out.parent.mkdir(parents=True, exist_ok=True)
    parts: list[Path] = []
    try:
        listed = []
        for k, (copy, first, last) in enumerate(plan):
            if copy:
                listed.append(Path(clips[first][0]).resolve())
                continue
            part = scratch_beside(out.with_name(f"{out.stem}-segment{k}.mp4"))
            parts.append(part)
            run(concat_args(clips[first:last + 1], part, transitions=transitions[first:last],
                            fps=fps, width=width, height=height))
            if _signature(read_track(part)) != common[0][0]:
                # Our encoder's segment would not join the copied clips cleanly: one pass instead.
                return _atomic(out_mp4, encode_all)
            listed.append(part.resolve())
        cuts = scratch_beside(out.with_suffix(".txt"))
        parts.append(cuts)
        # The concat demuxer's list syntax: one quoted path a line, quotes escaped.
        cuts.write_text("".join("file '" + str(p).replace("'", "'\\''") + "'\n" for p in listed))
        return _atomic(out_mp4, lambda tmp: copy_concat_args(cuts, tmp), copied=True)
    finally:
        for part in parts:
            part.unlink(missing_ok=True)
