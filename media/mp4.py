"""Reading an MP4's boxes for what stitch needs to know without starting ffmpeg: the video
track's codec configuration (avcC/hvcC: the exact SPS/PPS a decoder is set up with), size,
time scale, frame durations and count, and whether any other track (audio) is there.

For: deciding cheaply (about a millisecond a file) whether clips can be joined by stream copy,
and reading a file joined by copy back without starting ffmpeg again (`pixel_format` reads an
H.264 sequence parameter set far enough to name its chroma layout and bit depth).
Never: decode media, trust a box's size beyond the file, or import anything of ours. A file
it cannot read is simply not copyable (None), never an error: ffmpeg re-encodes it. The one
write (`disable_tracks`) flips a track's "enabled" flag in place, one bit of its tkhd box.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl"}
_MAX_MOOV = 64 << 20   # a moov bigger than this is not a clip slate made or asked for


@dataclass(frozen=True)
class Track:
    config: bytes          # sample entry type + its decoder configuration box, byte for byte
    width: int
    height: int
    timescale: int
    frames: int
    frame_ticks: int       # every frame's duration in timescale ticks (0 when they vary)
    other_tracks: int      # tracks that are not video (audio, data)

    @property
    def fps(self) -> Fraction | None:
        return Fraction(self.timescale, self.frame_ticks) if self.frame_ticks else None

    @property
    def seconds(self) -> float:
        return self.frames * self.frame_ticks / self.timescale if self.frame_ticks else -1.0


def _boxes(data: bytes, start: int = 0, end: int | None = None):
    end = len(data) if end is None else end
    i = start
    while i + 8 <= end:
        size, kind = struct.unpack(">I4s", data[i:i + 8])
        head = 8
        if size == 1 and i + 16 <= end:
            size, head = struct.unpack(">Q", data[i + 8:i + 16])[0], 16
        elif size == 0:
            size = end - i
        if size < head or i + size > end:
            return
        yield kind, i + head, i + size
        i += size


def _moov(path: Path) -> bytes | None:
    found = _moov_at(path)
    if found is None or found[1] > _MAX_MOOV:
        return None
    with open(path, "rb") as f:
        f.seek(found[0])
        return f.read(found[1])


def _moov_at(path: Path) -> tuple[int, int] | None:
    """Where the moov box's content starts in the file (after its header), and its length; or None."""
    with open(path, "rb") as f:
        pos = 0
        while True:
            f.seek(pos)
            head = f.read(16)
            if len(head) < 8:
                return None
            size, kind = struct.unpack(">I4s", head[:8])
            skip = 8
            if size == 1:
                size, skip = struct.unpack(">Q", head[8:16])[0], 16
            if size < skip:
                return None
            if kind == b"moov":
                return pos + skip, size - skip
            pos += size


def disable_tracks(path, handlers: tuple[bytes, ...]) -> int:
    """Clear the "track enabled" flag (tkhd flags bit 0) of every track whose handler is one of
    `handlers` (b"sbtl", b"text"), in place; the number of tracks changed. ffmpeg's MP4 muxer
    enables the first track of each kind when none is marked default, so a subtitle stream asked
    not to be shown unasked is read back as default, and players show it."""
    path = Path(path)
    found, moov = _moov_at(path), _moov(path)
    if found is None or moov is None:
        return 0
    at = found[0]
    flips = []
    for kind, a, b in _boxes(moov):
        if kind != b"trak":
            continue
        tkhd = next(((x, y) for k, x, y in _boxes(moov, a, b) if k == b"tkhd"), None)
        mdia = next(((x, y) for k, x, y in _boxes(moov, a, b) if k == b"mdia"), None)
        hdlr = next(((x, y) for k, x, y in _boxes(moov, *mdia) if k == b"hdlr"), None) if mdia else None
        if tkhd is None or hdlr is None or hdlr[1] - hdlr[0] < 12 or tkhd[1] - tkhd[0] < 4:
            continue
        if moov[hdlr[0] + 8:hdlr[0] + 12] in handlers and moov[tkhd[0] + 3] & 1:
            flips.append(at + tkhd[0] + 3)   # the flags' last byte: bit 0 is "enabled"
    with open(path, "r+b") as f:
        for pos in flips:
            f.seek(pos)
            byte = f.read(1)[0]
            f.seek(pos)
            f.write(bytes([byte & ~1 & 0xFF]))
    return len(flips)


def _video(data: bytes, start: int, end: int) -> dict:
    found: dict = {}
    for kind, a, b in _boxes(data, start, end):
        if kind in _CONTAINERS:
            found.update(_video(data, a, b))
        elif kind == b"hdlr":
            found["handler"] = data[a + 8:a + 12]
        elif kind == b"mdhd":
            version = data[a]
            found["timescale"] = struct.unpack(">I", data[a + (20 if version == 1 else 12):][:4])[0]
        elif kind == b"stsd":
            entry = next(_boxes(data, a + 8, b), None)
            if entry:
                etype, ea, eb = entry
                found["width"], found["height"] = struct.unpack(">HH", data[ea + 24:ea + 28])
                # The decoder configuration box sits after the 78-byte visual sample entry.
                config = next((data[ca - 8:cb] for ck, ca, cb in _boxes(data, ea + 78, eb)
                               if ck in (b"avcC", b"hvcC", b"av1C", b"vpcC")), b"")
                found["config"] = etype + config if config else b""
        elif kind == b"stts":
            n = struct.unpack(">I", data[a + 4:a + 8])[0]
            runs = [struct.unpack(">II", data[a + 8 + 8 * k:a + 16 + 8 * k]) for k in range(min(n, 4096))]
            found["frames"] = sum(c for c, _ in runs)
            found["ticks"] = runs[0][1] if len({d for _, d in runs}) == 1 else 0
    return found


def read_track(path) -> Track | None:
    """The first video track of an MP4 file, or None when it is not one slate can read."""
    try:
        moov = _moov(Path(path))
        if not moov:
            return None
        video, others = None, 0
        for kind, a, b in _boxes(moov):
            if kind != b"trak":
                continue
            t = _video(moov, a, b)
            if t.get("handler") == b"vide" and video is None:
                video = t
            else:
                others += 1
        if not video or not video.get("config") or "frames" not in video:
            return None
        return Track(video["config"], video["width"], video["height"], video["timescale"], video["frames"],
                     video["ticks"], others)
    except (OSError, struct.error, KeyError, StopIteration):
        return None


def sound_tracks(path) -> int | None:
    """How many sound tracks (handler `soun`) an MP4 file has, from its boxes; None when it is not
    an MP4 this reader can open (ask ffmpeg then)."""
    try:
        moov = _moov(Path(path))
        if not moov:
            return None
        return sum(_video(moov, a, b).get("handler") == b"soun" for kind, a, b in _boxes(moov) if kind == b"trak")
    except (OSError, struct.error, KeyError, StopIteration):
        return None


# H.264 profiles whose sequence parameter set codes the chroma format and bit depth (ITU-T H.264
# 7.3.2.1.1); every other profile is 4:2:0 at 8 bits.
_HIGH_PROFILES = {100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135}
_CHROMA = {0: "gray", 1: "yuv420p", 2: "yuv422p", 3: "yuv444p"}


def pixel_format(config: bytes) -> str | None:
    """The pixel format (ffmpeg's name) an avc1/avc3 track's first SPS declares, or None when the
    track is not H.264 or its SPS cannot be read. Full-range (JPEG) video is named as its
    limited-range twin: range lives in the VUI, which this does not read."""
    try:
        if config[:4] not in (b"avc1", b"avc3") or config[8:12] != b"avcC":
            return None
        avcc = config[12:]
        if avcc[5] & 0x1F == 0:
            return None
        length = struct.unpack(">H", avcc[6:8])[0]
        nal = avcc[8:8 + length]
        # Emulation prevention: 00 00 03 inside a NAL unit stands for 00 00.
        rbsp = nal[1:].replace(b"\x00\x00\x03", b"\x00\x00")
        profile = rbsp[0]
        if profile not in _HIGH_PROFILES:
            return "yuv420p"
        bits = _Bits(rbsp[3:])
        bits.ue()                       # seq_parameter_set_id
        chroma = bits.ue()
        if chroma == 3:
            bits.u(1)                   # separate_colour_plane_flag
        depth = 8 + bits.ue()           # bit_depth_luma_minus8
        name = _CHROMA.get(chroma)
        if name is None or depth not in (8, 9, 10, 12, 14):
            return None
        return name if depth == 8 else f"{name}{depth}le"
    except (IndexError, struct.error):
        return None


class _Bits:
    """Exp-Golomb reading of an RBSP, most significant bit first."""

    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def u(self, n: int) -> int:
        v = 0
        for _ in range(n):
            v = (v << 1) | ((self.data[self.pos >> 3] >> (7 - (self.pos & 7))) & 1)
            self.pos += 1
        return v

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
            if zeros > 31:
                raise IndexError("not an Exp-Golomb code")
        return (1 << zeros) - 1 + self.u(zeros)
