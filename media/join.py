"""A film's join of its finished scenes with no second encode of what does not change.

Each scene leaves its finishing pass as a deliverable: graded, mixed, at the delivery's loudness
and in its colour. Running the film's join through the pass again (media/finish.py) decodes and
encodes every picture once more for nothing (a one-scene film's cut measured 47.7 dB against
its scene's). So, for a join plan that only strings whole files together with cuts:

- one file that already is the deliverable: that file, hard-linked (else copied);
- several whose streams agree (the same H.264 configuration, size, rate and pixel format, the
  same colour tags, the same sound codec, rate and channels): their pictures joined by stream
  copy (ffmpeg's concat demuxer), their sound decoded file by file and encoded once;
- anything else: None, and the pass runs as before.

The sound is not copied: AAC packets copied across a join play each later file's 1024 priming
samples and the earlier one's padding, so every join put the sound 21 ms later than its
picture (measured: a silence that starts at 2.000 s in the scene started at 2.021 s in the
join; 5.52 s of sound under 5.50 s of picture). Decoded by each file's own demuxer (its edit
list drops the priming and the padding), the sound joins to the sample.

Whatever is made is measured and held to `deliverable_problems` as the pass's cut is.
Never: start a process other than through ffmpeg.run, leave a file at the target that failed
its check, or import anything of ours beyond media.
"""
from __future__ import annotations

import math
import os
import shutil
from fractions import Fraction
from pathlib import Path

from .finish import RATE, Finished, FinishPlan, deliverable_problems, heard
from .commands import exact_rate
from .ffmpeg import run
from .mp4 import Track, pixel_format, read_track
from .probe import probe_copied, probe_of_track, streams
from .render import scratch_beside

__all__ = ["passes_through", "kept", "join_args"]


def passes_through(plan: FinishPlan) -> list[str] | None:
    """The files a plan would only re-encode: whole shots with their sound, joined by cuts, with
    no trim, grade, fade, cue or LUT (a film's join of its finished scenes). None for any other plan."""
    if plan.cues or plan.lut or plan.fade_in or plan.fade_out:
        return None
    for i, shot in enumerate(plan.shots):
        if shot.trim_in or shot.trim_out or shot.exposure or shot.saturation != 1.0 or not shot.has_audio:
            return None
        if i + 1 < len(plan.shots) and shot.transition[0] != "cut":
            return None
    return [shot.path for shot in plan.shots]


def _agreeing(paths: list[str], plan: FinishPlan) -> list[Track] | None:
    """The files' video tracks when every file already is what the plan delivers and all are
    interchangeable to a decoder set up for the first (the concat demuxer keeps the first
    file's codec parameters for all); None when one is not."""
    tracks = [read_track(p) for p in paths]
    signatures = set()
    for t in tracks:
        if (t is None or pixel_format(t.config) != "yuv420p" or not t.fps or t.fps != exact_rate(plan.fps)
                or (t.width, t.height) != (plan.width, plan.height) or t.other_tracks < 1):
            return None
        signatures.add((t.config, t.timescale, t.frame_ticks))
    if len(signatures) != 1:
        return None
    heads = [streams(p) for p in paths]   # the colour tags and the sound: one short ffmpeg run a file
    if any(h.colour != plan.colour or h.audio is None or h.audio[1] != RATE for h in heads):
        return None
    if len({h.audio for h in heads}) != 1:
        return None
    return [t for t in tracks if t is not None]


def join_args(listing, files: list[tuple[str, Fraction]], out) -> list[str]:
    """The pictures of `listing` (a concat-demuxer list of the files: `_listing`) by stream copy,
    and the sound of each file decoded, held to its picture's length (`files`: path, seconds),
    joined by the concat filter and encoded once (AAC at the pass's rate). `-copyts`: the
    demuxer's timeline starts where the first file's earliest packet does — its sound's priming,
    21 ms before zero — and ffmpeg would otherwise shift every picture 21 ms late to start it at
    zero. `-stats` prints the frames written (the file is read back from its boxes, not decoded)."""
    inputs = [a for path, _ in files for a in ("-protocol_whitelist", "file", "-i", os.fspath(path))]
    # Each file's sound exactly as long as its picture, so the next file's is heard with its own
    # first frame however long the last one's sound ran.
    held = [f"[{i + 1}:a:0]atrim=end={float(seconds):.9f},apad=whole_dur={float(seconds):.9f}[a{i}]"
            for i, (_, seconds) in enumerate(files)]
    sound = ";".join([*held, "".join(f"[a{i}]" for i in range(len(files))) + f"concat=n={len(files)}:v=0:a=1[a]"])
    return ["-nostdin", "-hide_banner", "-loglevel", "error", "-stats", "-y", "-copyts",
            "-f", "concat", "-safe", "0", "-protocol_whitelist", "file", "-i", os.fspath(listing), *inputs,
            "-filter_complex", sound, "-map", "0:v:0", "-map", "[a]", "-c:v", "copy",
            "-c:a", "aac", "-b:a", "192k", "-ar", str(RATE), "-movflags", "+faststart", os.fspath(out)]


def _seconds(track: Track) -> Fraction:
    """How long a track's pictures last, exactly."""
    return Fraction(track.frames * track.frame_ticks, track.timescale)


def _listing(paths: list[str], tracks: list[Track]) -> str:
    """The concat demuxer's list: each file from its first picture for exactly its pictures'
    length (`inpoint`, `duration`): by default the demuxer steps to the next file after the longer
    of picture and sound, and a scene whose sound ran 60 ms past its last frame held that frame
    60 ms (measured: one frame of 1761 ticks among frames of 1024)."""
    rows = []
    for path, t in zip(paths, tracks):
        quoted = str(Path(path).resolve()).replace("'", "'\\''")
        rows.append(f"file '{quoted}'\ninpoint 0\nduration {float(_seconds(t)):.9f}\n")
    return "".join(rows)


def kept(plan: FinishPlan, out) -> Finished | None:
    """`out` made from the plan's files as they are (see the module's docstring) and measured:
    its picture from its boxes, its sound decoded once (loudness, length). None, with nothing
    left at `out`, when the plan is not a plain join of agreeing files, or what the join made
    is not the deliverable (its loudness off the target, its true peak over the ceiling): the
    pass must run. Silence all through is joined too, with no loudness (as the pass makes it)."""
    paths = passes_through(plan)
    tracks = _agreeing(paths, plan) if paths else None
    if paths is None or tracks is None:
        return None
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = scratch_beside(target, target.suffix)
    listing = scratch_beside(target, ".txt")
    try:
        if len(paths) == 1:
            try:
                os.link(paths[0], tmp)
            except OSError:          # another file system, or links refused: a byte copy
                shutil.copyfile(paths[0], tmp)
            pix_fmt = pixel_format(tracks[0].config)
            assert pix_fmt is not None   # _agreeing read it
            picture = probe_of_track(tracks[0], pix_fmt)
        else:
            listing.write_text(_listing(paths, tracks))
            files = [(p, _seconds(t)) for p, t in zip(paths, tracks)]
            picture = probe_copied(tmp, run(join_args(listing, files, tmp), timeout=1800).stderr)
        sound, seconds = heard(tmp)
        # Silence all through (scenes with no sound source) has no loudness to hold to the
        # target, as the pass's own silent track has none (media/finish.py `measure`).
        loud = sound if math.isfinite(sound.true_peak) else None
        done = Finished(picture, loud, seconds)
        if deliverable_problems(done, plan) or (loud is not None and loud.true_peak > plan.true_peak + 0.5):
            return None
        os.replace(tmp, target)
        return done
    finally:
        tmp.unlink(missing_ok=True)
        listing.unlink(missing_ok=True)
