"""Pure builders of ffmpeg argument lists (no executable at index 0; ffmpeg.run prepends it).

For: deciding WHAT ffmpeg is asked to do, in a form unit tests can compare exactly.
Never: start a process, touch the filesystem, or import anything of ours but the rates' arithmetic
(manifests/frame_rate.py, which imports nothing of ours).

Conventions shared by every builder:
  * `-nostdin -hide_banner` always; `-loglevel error` unless the caller parses stderr.
  * `-protocol_whitelist file` before EVERY input: inputs can come from providers we do
    not control, and ffmpeg would otherwise follow http/concat/subfile/... references.
  * Outputs are overwritten (`-y`); atomicity is the caller's job (render.py).
"""

from __future__ import annotations

import os
from fractions import Fraction

from slate.manifests.frame_rate import exact

MOVEMENTS = ("static", "dolly_in", "dolly_out", "pan_left", "pan_right", "tilt_up", "tilt_down")

# Zoom reached by a dolly (dolly_in ends here, dolly_out starts here).
DOLLY_ZOOM = 1.15
# Pans/tilts need off-frame content a still does not have, so they are "push-pans":
# zoom from 1.0 to PAN_ZOOM while the window slides to one edge. With this zoom the
# window's far edge travels exactly PAN_FRACTION of the panel width (or height).
PAN_FRACTION = 0.08
PAN_ZOOM = 1.0 / (1.0 - PAN_FRACTION)
# A move's window is placed below a pixel: ffmpeg's `perspective` (sense=source) maps the window's
# four corners, real numbers, onto the frame's, resampling between pixels. `zoompan`, before,
# cropped at whole pixels of a 2x panel, so a move slower than about a pixel a frame went in jumps
# (a drift's turnaround: steps 0.26 then 3.49) that the cadence check read as a stutter in clean
# takes (benchmarks/local_takes.py, 2026-12-01); placed this way, the same takes step evenly, at
# the same ffmpeg CPU within 12%.

_H264_OUT = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
             "-movflags", "+faststart", "-an"]


def _p(path) -> str:
    return os.fspath(path)


def exact_rate(fps) -> Fraction:
    """fps as an exact ratio. A film's rate as slate keeps it is read by manifests/frame_rate.py:
    23.976 is 24000/1001 — the decimal itself (2997/125) is a rate no editor's NTSC timebase
    names and drifts from it, and 24 would gain a frame every 42 s. A Fraction stays as it is;
    any other number (a preview's 12.5) is taken as written."""
    if isinstance(fps, Fraction):
        return fps
    try:
        return exact(fps)
    except ValueError:
        return Fraction(fps).limit_denominator(100000)


def fmt_rate(fps) -> str:
    """fps as ffmpeg wants it: '24', '25/2' or '24000/1001' (exact: `exact_rate`)."""
    f = exact_rate(fps)
    if f.denominator == 1:
        return str(f.numerator)
    return f"{f.numerator}/{f.denominator}"


def on_frame(seconds: float, fps) -> float:
    """`seconds` moved to the nearest whole frame at `fps` (exact: 23.976 is 24000/1001): the same
    rounding as manifests/frame_rate.py `frames`, which every timeline export counts with, so the
    finishing pass cuts where the exports say (issue 39)."""
    rate = exact_rate(fps)
    return float(round(float(seconds) * float(rate)) / rate)


def frame_count(seconds: float, fps) -> int:
    """Number of frames a clip of `seconds` at `fps` has: round(seconds*fps) at the exact rate, at least 1."""
    return max(1, round(float(seconds) * float(exact_rate(fps))))


def _num(x: float) -> str:
    """Plain decimal for expressions (no exponent notation, trimmed)."""
    return f"{x:.6f}".rstrip("0").rstrip(".") or "0"


def _check_dims(width: int, height: int) -> None:
    if width <= 0 or height <= 0 or width % 2 or height % 2:
        raise ValueError(f"width/height must be positive and even (yuv420p), got {width}x{height}")


def _input(path, fps) -> list[str]:
    # A looped still becomes an endless stream at exactly `fps`; -frames:v ends it.
    return ["-protocol_whitelist", "file", "-loop", "1", "-framerate", fmt_rate(fps), "-i", _p(path)]


def _cover(width: int, height: int) -> str:
    """Scale to cover width x height and centre-crop: this IS the 'panel framing'."""
    return (f"scale={width}:{height}:force_original_aspect_ratio=increase,"
            f"crop={width}:{height},setsar=1")


def _move_filter(movement: str, width: int, height: int, fps, frames: int, reach: float = 1.0,
                 back: bool = False, sway: float = 0.0) -> str:
    """Filter chain turning a looped still into the `movement` at width x height.

    Every move except dolly_out starts at zoom 1.0 with no offset, so frame 0 equals
    the panel. dolly_out cannot zoom out past the panel (there is nothing outside
    it), so it runs 1.15 -> 1.0: its FIRST frame is the panel zoomed in 1.15x
    (centred) and its LAST frame is the panel framing.

    `reach` scales how far the move goes (its zoom past 1.0): 1 is the move above, 0.5 half of it.
    `back`: the move goes out and comes back (a sine over the shot), so the last frame is the
    first one again.
    `sway` (-1 to 1): the window also drifts across the move and back — sideways in a dolly or a
    tilt, up or down in a pan — by that share of the room the zoom leaves on that side, on a sine
    eased out of and into 0 at the first and last frame: those frames are the move's own, the
    frames between differ (a take's own hand on the camera: providers/local.py `take_move`).
    """
    if movement not in MOVEMENTS:
        raise ValueError(f"unknown movement {movement!r}; expected one of {MOVEMENTS}")
    if not reach > 0:
        raise ValueError(f"a move's reach is more than 0 (got {reach!r})")
    if back and movement == "dolly_out":
        raise ValueError("a dolly out cannot come back: it starts past the panel")
    if not -1.0 <= sway <= 1.0:
        raise ValueError(f"a sway is a share of the room beside the move, -1 to 1 (got {sway!r})")
    if movement == "static":
        return _cover(width, height)
    k = max(frames - 1, 1)
    # Smoothstep easing on the frame number: starts and ends gently, hits 0 and 1 exactly.
    # `in` is the looped frame's number counted from 1 (ffmpeg's perspective filter gives its
    # expressions frame_count + 1): counted as if from 0, frame 0 was already a step into the move
    # (a drift's first frame 1-5 px off the panel, another take's elsewhere) and the last two frames
    # were one (the move held at its end): tests/unit/test_media_render.py holds both ends.
    u = f"min((in-1)/{k},1)"
    p = f"(sin(PI*{u}))" if back else f"({u}*{u}*(3-2*{u}))"
    dolly, pan = (DOLLY_ZOOM - 1) * reach, (PAN_ZOOM - 1) * reach
    if movement == "dolly_in":
        z = f"1+{_num(dolly)}*{p}"
    elif movement == "dolly_out":
        z = f"{_num(1 + dolly)}-{_num(dolly)}*{p}"
    else:
        z = f"1+{_num(pan)}*{p}"
    # The window, in the frame's own pixels (W x H): width W/z, its top left corner at (x, y).
    ww, wh = f"W/({z})", f"H/({z})"
    centre_x, centre_y = f"(W-{ww})/2", f"(H-{wh})/2"
    x, y = {
        "dolly_in": (centre_x, centre_y),
        "dolly_out": (centre_x, centre_y),
        "pan_left": ("0", centre_y),            # window anchored left: view drifts left
        "pan_right": (f"W-{ww}", centre_y),     # anchored right
        "tilt_up": (centre_x, "0"),             # anchored top
        "tilt_down": (centre_x, f"H-{wh}"),     # anchored bottom
    }[movement]
    if sway:
        # Across the move: a pan's window moves up or down from the middle, a dolly's or a tilt's
        # sideways; sin²(PI*u) is 0 at both ends and eases in and out as the move does (a sine's
        # sideways start, at full speed while the move itself barely moved, read as frames dropped).
        across = f"(1+{_num(sway)}*sin(PI*{u})*sin(PI*{u}))"
        if movement in ("pan_left", "pan_right"):
            y = f"{centre_y}*{across}"
        else:
            x = f"{centre_x}*{across}"
    left, top = f"({x})", f"({y})"
    right, bottom = f"{left}+{ww}", f"{top}+{wh}"
    warp = (f"perspective=x0='{left}':y0='{top}':x1='{right}':y1='{top}':x2='{left}':y2='{bottom}'"
            f":x3='{right}':y3='{bottom}':sense=source:eval=frame:interpolation=linear")
    # trim to ONE input frame, framed once, then looped `frames` times and timed at the rate: the
    # looped still is not decoded again for every frame. The warp runs on yuv420p, the output's
    # own format (a 4:4:4 warp cost 40% more ffmpeg CPU for the same clip, measured).
    return (f"trim=end_frame=1,{_cover(width, height)},loop=loop={frames - 1}:size=1:start=0,"
            f"setpts=N/({fmt_rate(fps)})/TB,format=yuv420p,{warp},setsar=1")


def still_clip_args(start_png, out_mp4, *, width: int, height: int, fps, seconds: float,
                    movement: str, end_png=None, reach: float = 1.0, back: bool = False,
                    sway: float = 0.0) -> list[str]:
    """H.264 clip of exactly round(seconds*fps) frames from a still with a camera move.

    Without end_png: the move is applied to the start panel (see _move_filter).
    With end_png (start+end frame mode): the move is applied to the start panel only,
    the end panel stays at its own panel framing, and a linear cross-fade (xfade) goes
    from 100% start on the first frame to 100% end on the last frame, so the first frame
    is the (moved) start panel and the last frame is exactly the end panel.
    """
    _check_dims(width, height)
    frames = frame_count(seconds, fps)
    # -xerror: a looped undecodable still would otherwise be retried forever (until timeout).
    args = ["-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-xerror", *_input(start_png, fps)]
    move = _move_filter(movement, width, height, fps, frames, reach, back, sway)
    if end_png is None:
        args += ["-vf", f"{move},format=yuv420p"]
    else:
        # xfade (native C) instead of a per-pixel blend expression, which was ~5x slower.
        # Its fade runs from offset 0 over (frames-1)/fps: progress hits exactly 0 and 1 on
        # the first and last frame, so those frames are the pure start and end panels.
        span = Fraction(frames - 1) / Fraction(fmt_rate(fps)) if frames > 1 else Fraction(1, 1000)
        graph = (f"[0:v]{move},format=yuv420p,settb=AVTB[a];"
                 f"[1:v]{_cover(width, height)},format=yuv420p,settb=AVTB[b];"
                 f"[a][b]xfade=transition=fade:duration={_num(float(span))}:offset=0[v]")
        args += [*_input(end_png, fps), "-filter_complex", graph, "-map", "[v]"]
    return args + ["-frames:v", str(frames), "-r", fmt_rate(fps), *_H264_OUT, _p(out_mp4)]


def _s(x: float) -> str:
    return f"{float(x):g}s"


def dissolve_misfits(seconds: list[float], transitions: list[tuple[str, float]],
                     labels: list[str] | None = None) -> list[tuple[int, str]]:
    """The dissolves a stitch cannot make, as (i, why) with i the transition joining clip i and
    clip i+1. The one rule, used by concat_args and by the preflight that reads manifests:

    * a dissolve is longer than 0 and shorter than each of the two clips it joins (xfade's
      offset, the running length minus the dissolve, must stay positive and inside clip i);
    * a clip's incoming and outgoing dissolves together are shorter than the clip, so the
      second fade starts after the first has ended and the clip is seen on its own.

    ``labels`` name the clips in messages (shot ids); by default "clip 0", "clip 1", …
    Transitions that are not dissolves are ignored here (concat_args refuses unknown kinds).
    """
    names = labels or [f"clip {i}" for i in range(len(seconds))]
    out = []
    for i, (kind, dur) in enumerate(transitions):
        if kind != "dissolve" or i + 1 >= len(seconds):
            continue
        d, here, there = float(dur), float(seconds[i]), float(seconds[i + 1])
        incoming = float(transitions[i - 1][1]) if i > 0 and transitions[i - 1][0] == "dissolve" else 0.0
        if d <= 0:
            out.append((i, f"a dissolve must last longer than 0s (got {_s(d)})"))
        elif d >= here:
            out.append((i, f"a {_s(d)} dissolve must be shorter than the shot it leaves ({names[i]}, {_s(here)})"))
        elif d >= there:
            out.append((i, f"a {_s(d)} dissolve must be shorter than the shot it enters "
                           f"({names[i + 1]}, {_s(there)})"))
        elif incoming and incoming + d >= here:
            out.append((i, f"{names[i]} ({_s(here)}) is shorter than its two dissolves together "
                           f"({_s(incoming)} in + {_s(d)} out): it would never be seen on its own"))
    return out


def concat_args(clips: list[tuple[str, float]], out_mp4, *, transitions: list[tuple[str, float]],
                fps, width: int, height: int) -> list[str]:
    """Stitch (path, seconds) clips; transitions[i] joins clip i and i+1.

    ("cut", 0) uses the concat filter; ("dissolve", d) uses xfade=fade whose offset is
    the running output length minus d. Total = sum(seconds) - sum(dissolve d).
    Each input is first trimmed to its declared seconds and normalised (size, SAR,
    fps, pix_fmt, timebase) because xfade/concat refuse mismatched streams.
    """
    _check_dims(width, height)
    if not clips:
        raise ValueError("concat_args needs at least one clip")
    if len(transitions) != len(clips) - 1:
        raise ValueError(f"need {len(clips) - 1} transitions for {len(clips)} clips, got {len(transitions)}")
    misfits = dissolve_misfits([secs for _, secs in clips], transitions)
    if misfits:
        raise ValueError("; ".join(f"dissolve between clips {i} and {i + 1} does not fit: {why}" for i, why in misfits))
    rate = fmt_rate(fps)
    args = ["-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    parts = []
    for i, (path, secs) in enumerate(clips):
        args += ["-protocol_whitelist", "file", "-i", _p(path)]
        parts.append(f"[{i}:v]trim=duration={_num(secs)},setpts=PTS-STARTPTS,"
                     f"scale={width}:{height},setsar=1,fps={rate},format=yuv420p,settb=AVTB[v{i}]")
    cur, length = "[v0]", float(clips[0][1])
    for i, ((kind, dur), (_, secs)) in enumerate(zip(transitions, clips[1:]), start=1):
        out = f"[x{i}]"
        if kind == "cut":
            parts.append(f"{cur}[v{i}]concat=n=2:v=1:a=0{out}")
            length += float(secs)
        elif kind == "dissolve":
            d = float(dur)  # dissolve_misfits has checked it fits
            parts.append(f"{cur}[v{i}]xfade=transition=fade:duration={_num(d)}:offset={_num(length - d)}{out}")
            length += float(secs) - d
        else:
            raise ValueError(f"unknown transition {kind!r}; expected 'cut' or 'dissolve'")
        cur = out
    parts.append(f"{cur}format=yuv420p[out]")
    args += ["-filter_complex", ";".join(parts), "-map", "[out]",
             "-frames:v", str(frame_count(length, fps)), "-r", rate, *_H264_OUT, _p(out_mp4)]
    return args


def frame_at_args(video, out_png, *, seconds: float) -> list[str]:
    """One PNG of the frame shown at `seconds` (input seek; decoding makes it frame-accurate)."""
    return ["-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-ss", _num(max(0.0, seconds)),
            "-protocol_whitelist", "file", "-i", _p(video), "-map", "0:v:0", "-frames:v", "1",
            "-update", "1", _p(out_png)]


def last_frame_args(video, out_png) -> list[str]:
    """PNG of the very last frame: decode the final second, and write only its last frame.

    Seeking to -0.1 s and taking one frame can land on the second-to-last frame at low
    fps, so the whole final second is decoded; `reverse` holds its frames (a second at most)
    and hands the last one out first, so one PNG is encoded where writing every frame over the
    same file ('-update 1' alone) encoded 24 to 30 of them. The bytes are the same: the same
    decoded frame through the same encoder (the frame's bytes feed the next shot's cache key).
    """
    return ["-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-sseof", "-1",
            "-protocol_whitelist", "file", "-i", _p(video), "-map", "0:v:0", "-vf", "reverse",
            "-frames:v", "1", "-update", "1", _p(out_png)]


def probe_args(video) -> list[str]:
    """Header only: ffmpeg prints the input description to stderr; decoding one frame to the
    null muxer gives it an output, so the command exits 0 instead of 'no output file'."""
    return ["-nostdin", "-hide_banner", "-protocol_whitelist", "file", "-i", _p(video),
            "-map", "0:v:0", "-frames:v", "1", "-f", "null", "-"]


def count_frames_args(video) -> list[str]:
    """Decode every video frame to the null muxer; stderr ends with 'frame=  N ...'.
    Its stderr also carries the input header, so probe() can parse both from one run."""
    return ["-nostdin", "-hide_banner", "-stats", "-protocol_whitelist", "file", "-i", _p(video),
            "-map", "0:v:0", "-f", "null", "-"]


def copy_concat_args(list_file, out_mp4) -> list[str]:
    """Join the files named in a concat-demuxer list without re-encoding them (stream copy).

    Only for files whose streams are interchangeable (render.stitch decides which are): the
    concat demuxer keeps the first file's codec parameters for all of them. `-safe 0` allows the
    absolute paths the list holds; the protocol whitelist still confines them to files.
    `-stats` makes ffmpeg print how many frames it wrote: the joined file's length, without
    decoding it again."""
    return ["-nostdin", "-hide_banner", "-loglevel", "error", "-stats", "-y", "-f", "concat", "-safe", "0",
            "-protocol_whitelist", "file", "-i", _p(list_file), "-map", "0:v:0", "-c", "copy",
            "-movflags", "+faststart", "-an", _p(out_mp4)]


def stitch_plan(copyable: list[bool], transitions: list[tuple[str, float]]) -> list[tuple[bool, int, int]]:
    """Split a sequence into segments (copy, first, last) with clips first..last inclusive.

    A clip is copied as it is only when `copyable` says its stream already is what the cut
    needs and no dissolve touches it (a dissolve mixes two clips' pixels, so both are
    re-encoded around it); every other clip is re-encoded, consecutive ones together in one
    segment so one ffmpeg run makes them. The segments are then joined by stream copy."""
    n = len(copyable)
    if len(transitions) != max(n - 1, 0):
        raise ValueError(f"need {max(n - 1, 0)} transitions for {n} clips, got {len(transitions)}")
    touched = [False] * n
    for i, (kind, _) in enumerate(transitions):
        if kind != "cut":
            touched[i] = touched[i + 1] = True
    plan: list[tuple[bool, int, int]] = []
    for i in range(n):
        copy = copyable[i] and not touched[i]
        if plan and not copy and not plan[-1][0]:
            plan[-1] = (False, plan[-1][1], i)
        else:
            plan.append((copy, i, i))
    return plan


def preview_frames_args(video, out_pattern, *, fps: float, width: int, max_frames: int) -> list[str]:
    """PNGs of the video at `fps` frames a second, `width` pixels wide (even height), at most
    `max_frames`: the frames of a moving preview."""
    return ["-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-protocol_whitelist", "file",
            "-i", _p(video), "-map", "0:v:0", "-vf", f"fps={_num(fps)},scale={int(width)}:-2",
            "-frames:v", str(int(max_frames)), _p(out_pattern)]


def raw_frames_args(video, *, width: int, height: int, every: int = 1, run: int = 1, first: int = 0) -> list[str]:
    """Every `every`-th frame of a video and the `run` - 1 frames after each, scaled to width x
    height by area averaging, as packed RGB24 on stdout: one decode a whole clip is looked at
    through (`run` 3: a frame and its next two, so a repeated frame shows wherever it falls).
    `first`: counted from that frame on (one clip's frames held against another's a frame later)."""
    if first > 0:
        pick = f"select='gte(n\\,{int(first)})*not(mod(n-{int(first)}\\,{int(every)}))',"
    else:
        pick = (f"select='lt(mod(n\\,{int(every)})\\,{int(run)})'," if 1 < run < every else
                f"select='not(mod(n\\,{int(every)}))'," if every > 1 else "")
    return ["-nostdin", "-hide_banner", "-loglevel", "error", "-protocol_whitelist", "file", "-i", _p(video),
            "-vf", f"{pick}scale={width}:{height}:flags=area", "-fps_mode", "passthrough",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]


def raw_clip_args(out_mp4, *, width: int, height: int, fps) -> list[str]:
    """An H.264 clip from packed RGB24 frames read on stdin (width x height, at `fps`)."""
    _check_dims(width, height)
    return ["-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
            "-s", f"{width}x{height}", "-framerate", fmt_rate(fps), "-protocol_whitelist", "pipe,fd", "-i", "-",
            *_H264_OUT, _p(out_mp4)]


def sound_bed_args(video, out_mp4, *, seconds: float, tone_hz: float, seed: int) -> list[str]:
    """The clip `video` with a sound track of exactly `seconds`: a steady tone at `tone_hz` over
    a quiet pink-noise bed (seeded), AAC at 48 kHz stereo. The picture is copied untouched.
    For the local provider's "model audio": something a mix can carry and a test can hear."""
    d = _num(seconds)
    return ["-nostdin", "-hide_banner", "-loglevel", "error", "-y",
            "-protocol_whitelist", "file", "-i", _p(video),
            "-f", "lavfi", "-i", f"sine=frequency={_num(tone_hz)}:sample_rate=48000:duration={d}",
            "-f", "lavfi", "-i", f"anoisesrc=color=pink:amplitude=0.05:sample_rate=48000:duration={d}:seed={int(seed)}",
            "-filter_complex", "[1:a][2:a]amix=inputs=2:duration=first:normalize=0,volume=0.3,"
                               "aformat=sample_rates=48000:channel_layouts=stereo[a]",
            "-map", "0:v:0", "-map", "[a]", "-c:v", "copy", "-c:a", "aac", "-b:a", "128k", "-t", d,
            "-movflags", "+faststart", _p(out_mp4)]
