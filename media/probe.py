"""What a video file really is, measured with ffmpeg alone (the wheel ships no ffprobe).

For: Probe (duration, size, fps, codec, frame count, audio) of a rendered or received clip.
Never: trust the container's duration over the decoded frame count, start processes
other than through ffmpeg.run, or import anything of ours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

from .colour import Colour, read_colour
from .commands import count_frames_args, exact_rate, fmt_rate, probe_args
from .ffmpeg import MediaError, run
from .mp4 import Track, pixel_format, read_track, sound_tracks


@dataclass(frozen=True)
class Probe:
    duration: float            # frames / fps: exact, what a viewer sees
    container_duration: float  # the header's Duration (can be off by a frame or two); -1 if N/A
    width: int
    height: int
    fps: Fraction
    codec: str                 # e.g. "h264"
    pix_fmt: str               # e.g. "yuv420p"
    frames: int                # decoded video frames
    has_audio: bool
    colour: Colour | None = None   # its tags, where ffmpeg's header was read (None: none declared, or not read)


_DURATION = re.compile(r"Duration:\s*(?:(\d+):(\d+):(\d+(?:\.\d+)?)|N/A)")
_VIDEO = re.compile(r"Stream #\d+:\d+\S*: Video: (.*)")
_AUDIO = re.compile(r"Stream #\d+:\d+\S*: Audio: ")
_SIZE = re.compile(r"(?:^|[\s,])(\d{2,5})x(\d{2,5})(?=[\s,\[]|$)")
_RATE = re.compile(r"([\d.]+)(k?) (fps|tbr)\b")
_FRAME = re.compile(r"frame=\s*(\d+)")
# Decimal rates ffmpeg prints for NTSC-style rates, mapped back to their exact fractions.
_NTSC = {"23.98": Fraction(24000, 1001), "29.97": Fraction(30000, 1001),
         "47.95": Fraction(48000, 1001), "59.94": Fraction(60000, 1001),
         "119.88": Fraction(120000, 1001)}


def _rate(text: str, kind: str) -> Fraction | None:
    for value, kilo, unit in _RATE.findall(text):
        if unit == kind:
            if value in _NTSC and not kilo:
                return _NTSC[value]
            f = Fraction(value) * (1000 if kilo else 1)
            return f.limit_denominator(1001)
    return None


def _split_top_level(desc: str) -> list[str]:
    """Split a stream description on commas that are not inside parentheses."""
    out: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in desc:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur).strip())
    return out


def parse_probe(stderr_header: str, frame_count_stderr: str) -> Probe:
    """Pure parser: ffmpeg's input header (stderr of `-i FILE`) + a null-decode's stderr."""
    # Only the INPUT section: the Output #0 section describes ffmpeg's own null stream.
    header = re.split(r"^(?:Output #\d|Stream mapping:)", stderr_header, maxsplit=1, flags=re.M)[0]
    m = _DURATION.search(header)
    if m is None:
        raise ValueError("no 'Duration:' line in ffmpeg header")
    container = (int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))) if m.group(1) else -1.0
    v = _VIDEO.search(header)
    if v is None:
        raise ValueError("no video stream in ffmpeg header")
    desc = v.group(1)
    fields = _split_top_level(desc)
    codec = fields[0].split()[0]
    pix_fmt = fields[1].split("(")[0].strip() if len(fields) > 1 else ""
    size = _SIZE.search(desc)
    if size is None:
        raise ValueError(f"no WxH in video stream line: {desc!r}")
    fps = _rate(desc, "fps") or _rate(desc, "tbr")
    if not fps:
        raise ValueError(f"no frame rate in video stream line: {desc!r}")
    counts = _FRAME.findall(frame_count_stderr)
    if not counts:
        raise ValueError("no 'frame=' progress line in frame-count stderr")
    frames = int(counts[-1])  # the last progress line is the final count
    return Probe(
        duration=float(frames / fps),
        container_duration=float(container),
        width=int(size.group(1)),
        height=int(size.group(2)),
        fps=fps,
        codec=codec,
        pix_fmt=pix_fmt,
        frames=frames,
        has_audio=_AUDIO.search(header) is not None,
        colour=read_colour(fields[1]) if len(fields) > 1 else None,
    )


def probe(path) -> Probe:
    """Probe a file with one full decode (its stderr holds both the header and the count)."""
    p = Path(path)
    if not p.is_file():
        raise MediaError(f"no such file: {p}", [str(p)], "")
    args = count_frames_args(p)
    proc = run(args)
    try:
        found = parse_probe(proc.stderr, proc.stderr)
    except ValueError as exc:
        raise MediaError(f"could not parse ffmpeg output for {p}: {exc}", args, proc.stderr) from exc
    # The rate as the boxes hold it: ffmpeg's header prints 24000/1001 and 2997/125 (23.976 taken
    # as a decimal) alike as "23.98 fps", and only the first is the NTSC rate an editor conforms to.
    track = read_track(p)
    if track is not None and track.fps and track.fps != found.fps:
        found = replace(found, fps=track.fps, duration=float(found.frames / track.fps))
    return found


def has_sound(path) -> bool:
    """Whether a file carries sound: read from its MP4 boxes (no ffmpeg started: a finishing pass
    asks it of every clip, serially, before it starts), else from a probe."""
    tracks = sound_tracks(path)
    return tracks > 0 if tracks is not None else probe(path).has_audio


def probe_of_track(track: Track, pix_fmt: str) -> Probe:
    """The Probe an H.264 track's boxes say (media/mp4.py read_track), no ffmpeg started: a
    track whose frames all last alike (its `fps` known)."""
    assert track.fps is not None   # callers read the rate first
    return Probe(duration=float(Fraction(track.frames) / track.fps), container_duration=track.seconds,
                 width=track.width, height=track.height, fps=track.fps, codec="h264", pix_fmt=pix_fmt,
                 frames=track.frames, has_audio=track.other_tracks > 0)


def probe_copied(path, copy_stderr: str) -> Probe:
    """The probe of a file just written by stream copy: its boxes read back (media/mp4.py: size,
    rate, codec configuration and frame count, no ffmpeg started — on a 4-scene film the second
    ffmpeg took a third of the whole join), held to the frame count ffmpeg printed while writing
    it. The frames were decoded and checked when each clip was made; decoding them all again
    would cost more than the join. A track the box reader cannot name (not H.264) is read by
    ffmpeg's header instead."""
    track = read_track(path)
    counts = _FRAME.findall(copy_stderr)
    written = int(counts[-1]) if counts else None
    pix_fmt = pixel_format(track.config) if track is not None else None
    if track is not None and pix_fmt and track.fps and written is not None:
        if track.frames != written:
            raise MediaError(f"{path}: its boxes list {track.frames} frames, ffmpeg wrote {written}",
                             [str(path)], copy_stderr)
        return probe_of_track(track, pix_fmt)
    args = probe_args(Path(path))
    proc = run(args)
    try:
        return parse_probe(proc.stderr, copy_stderr)
    except ValueError as exc:
        raise MediaError(f"could not parse ffmpeg output for {path}: {exc}", args, proc.stderr) from exc


_SOUND = re.compile(r"Stream #\d+:\d+\S*: Audio: (\w+)[^,]*, (\d+) Hz, ([^,\n]+)")


@dataclass(frozen=True)
class Streams:
    """What a file's header declares, no frame decoded beyond the first: its first video
    stream's pixel format and colour tags, its first audio stream's codec, rate and channels
    (None: no sound). Two files join by stream copy only where these agree (media/join.py)."""
    pix_fmt: str
    colour: Colour | None
    audio: tuple[str, int, str] | None


def streams(path) -> Streams:
    """`Streams` of a file, from ffmpeg's description of its input (one short run)."""
    args = probe_args(Path(path))
    header = re.split(r"^(?:Output #\d|Stream mapping:)", run(args).stderr, maxsplit=1, flags=re.M)[0]
    video = _VIDEO.search(header)
    if video is None:
        raise MediaError(f"no video stream in {path}", args, header)
    fields = _split_top_level(video.group(1))
    sound = _SOUND.search(header)
    return Streams(pix_fmt=fields[1].split("(")[0].strip() if len(fields) > 1 else "",
                   colour=read_colour(fields[1]) if len(fields) > 1 else None,
                   audio=(sound.group(1), int(sound.group(2)), sound.group(3).strip()) if sound else None)


def mismatches(p: Probe, *, seconds: float, width: int, height: int, fps, codec: str = "h264") -> list[str]:
    """What is wrong with a rendered file against what was asked for (empty when nothing).

    The rate is held exactly (`fps` as a film keeps it: 23.976 is 24000/1001); duration to one
    and a half frames: a stitch is exact to the frame or it is wrong."""
    problems = []
    rate = exact_rate(fps)   # 23.976 asked is 24000/1001 made, never 2997/125 or 24
    if p.fps != rate:
        problems.append(f"runs at {fmt_rate(p.fps)} fps, expected {fmt_rate(rate)}")
    if abs(p.duration - seconds) > 1.5 / float(rate):
        problems.append(f"lasts {p.duration:.3f}s, expected {seconds:.3f}s")
    if (p.width, p.height) != (width, height):
        problems.append(f"is {p.width}x{p.height}, expected {width}x{height}")
    if p.codec != codec:
        problems.append(f"is {p.codec}, expected {codec}")
    return problems

