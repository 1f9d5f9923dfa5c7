"""Subtitles: lines of dialogue timed through the edit, written as SRT and WebVTT, carried in the
MP4 as a mov_text stream, or burned into the picture.

For:
  * `TimedLine` (speaker, text, start and end seconds in the cut) and `cues()`: the lines as
    cues a viewer can read — at most 42 characters a line and 2 lines a cue (a longer line is
    split by words into consecutive cues, its time shared by their lengths), in time order, each
    shown at least `min_seconds` unless the next cue starts sooner, never overlapping (a cue
    ends where the next starts), the speaker named when off screen or when asked.
  * `srt()` / `vtt()` and `write_srt()` / `write_vtt()`: the text of each format (SRT
    `HH:MM:SS,mmm`, no markup of ours and none of the text's read as markup; VTT `HH:MM:SS.mmm`
    under the WEBVTT header, `&`, `<`, `>` escaped, the speaker as a voice span `<v Name>`),
    written atomically (beside the target, then renamed) with mode 0644.
  * `place_lines()`: lines timed within their shots (shot id, offset in the shot's clip, length)
    to times in the cut, by the arithmetic the finishing pass cuts the picture with
    (media/finish.py `FinishPlan.starts`, the timeline record of tasks/edit/export.py): a shot's kept
    span is [trim_in, seconds - trim_out] of its clip, a shot starts where the previous kept
    shot ends less the previous dissolve. A line keeps its time under a dissolve, is clipped to
    the kept span when a trim cuts into it, and is dropped when the trim (or the shot's absence
    from the cut) leaves nothing of it; each `Placed` says which and why.
  * `mux_subtitles()`: an SRT or VTT file into an MP4 as a mov_text stream, picture and sound
    copied (not re-encoded); `subtitle_streams()` lists an MP4's subtitle streams from
    ffmpeg's header and `extract_srt()` converts one back to SRT (`read_srt()` parses it).
  * `burn_in()`: the subtitles drawn into the picture (a delivery option; the picture is
    re-encoded, the sound copied). imageio-ffmpeg's build has libass, so this is ffmpeg's
    `subtitles` filter with the font Pillow ships (Aileron) given to libass, so the look does
    not depend on the fonts of the machine; a build without libass draws each cue with
    `drawtext` (freetype) instead; `filters()` says what the build has.

Never: start a process other than through media/ffmpeg.py, leave a half-written file at a
target, or import anything of ours beyond media (and the error root through it).
"""
from __future__ import annotations

import math
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Literal, Mapping

from .commands import probe_args
from .ffmpeg import MediaError, run
from .mp4 import disable_tracks, read_track
from .render import scratch_beside

__all__ = ["CutShot", "SubtitleCue", "Placed", "ShotLine", "SubtitleStream", "TimedLine", "burn_in", "cues",
           "cut_length", "cut_shots", "extract_srt", "filters", "mux_subtitles", "place_lines", "read_srt",
           "shot_starts", "srt", "subtitle_streams", "vtt", "write_srt", "write_vtt"]

LINE_CHARS = 42          # characters a subtitle line holds (the broadcast and streaming norm)
CUE_LINES = 2            # lines a cue holds
MIN_SECONDS = 5 / 6      # the shortest a cue is shown unless the next one starts sooner (20 frames at 24 fps)
MIN_KEPT = 0.2           # a line a trim leaves less of than this (seconds) is dropped, not clipped

Speakers = Literal["off_screen", "always", "never"]


# --- lines and cues -------------------------------------------------------------------------

@dataclass(frozen=True)
class TimedLine:
    """A line of dialogue where it is heard in the cut: `start` and `end` in seconds."""
    speaker: str
    text: str
    start: float
    end: float
    off_screen: bool = False

    def __post_init__(self) -> None:
        if not _clean(self.text):
            raise ValueError(f"a line of {self.speaker!r} at {self.start:g}s has no text")
        if not (math.isfinite(self.start) and math.isfinite(self.end)) or self.start < 0 or self.end <= self.start:
            raise ValueError(f"a line of {self.speaker!r} runs from {self.start:g}s to {self.end:g}s: "
                             "it must start at 0 or later and end after it starts")


@dataclass(frozen=True)
class SubtitleCue:
    """One subtitle as shown: from `start_ms` to `end_ms`, its `lines` (already wrapped), and
    the speaker to name (None: not named)."""
    start_ms: int
    end_ms: int
    lines: tuple[str, ...]
    speaker: str | None = None

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _clean(text: str) -> str:
    """One line of plain text: control characters gone, every run of white space (a newline
    too: a blank line would end an SRT cue) one space."""
    return " ".join(_CONTROL.sub(" ", text).split())


def _wrap(text: str, width: int) -> list[str]:
    """Greedy word wrap at `width`; a word longer than a line is cut at the width."""
    lines: list[str] = []
    cur = ""
    for word in text.split(" "):
        while len(word) > width:
            if cur:
                lines.append(cur)
                cur = ""
            lines.append(word[:width])
            word = word[width:]
        if not word:
            continue
        if cur and len(cur) + 1 + len(word) > width:
            lines.append(cur)
            cur = word
        else:
            cur = f"{cur} {word}" if cur else word
    if cur:
        lines.append(cur)
    return lines


def _balance(lines: list[str], width: int) -> tuple[str, ...]:
    """Two lines of one cue split where the longer is shortest (a reader's eye travels less);
    a single line, or words that cannot be split another way, as they are."""
    if len(lines) != 2:
        return tuple(lines)
    words = f"{lines[0]} {lines[1]}".split(" ")
    best = (max(len(lines[0]), len(lines[1])), lines[0], lines[1])
    for k in range(1, len(words)):
        a, b = " ".join(words[:k]), " ".join(words[k:])
        if len(a) <= width and len(b) <= width and max(len(a), len(b)) < best[0]:
            best = (max(len(a), len(b)), a, b)
    return (best[1], best[2])


def _chunks(text: str, width: int, max_lines: int) -> list[tuple[str, ...]]:
    """`text` as the fewest cues of at most `max_lines` lines of `width`, its words shared
    evenly between them (no cue left holding one word a greedy fill would strand)."""
    wrapped = _wrap(text, width)
    greedy = [_balance(wrapped[i:i + max_lines], width) for i in range(0, len(wrapped), max_lines)]
    n = len(greedy)
    if n < 2:
        return greedy
    words = [w for l in wrapped for w in l.split(" ")]   # a too-long word is already cut in pieces
    total = sum(len(w) + 1 for w in words)
    groups: list[list[str]] = [[]]
    done = 0
    for word in words:
        # A new cue once this one holds its share: cut where the running length is nearest it.
        share = total * len(groups) / n
        if groups[-1] and len(groups) < n and abs(done + len(word) + 1 - share) > abs(done - share):
            groups.append([])
        groups[-1].append(word)
        done += len(word) + 1
    even = [_wrap(" ".join(g), width) for g in groups]
    if len(even) != n or any(len(lines) > max_lines for lines in even):
        return greedy
    return [_balance(lines, width) for lines in even]


def _ms(seconds: float) -> int:
    return int(round(seconds * 1000))


def cues(lines: Iterable[TimedLine], *, speakers: Speakers = "off_screen", label_in_text: bool = True,
         width: int = LINE_CHARS, max_lines: int = CUE_LINES, min_seconds: float = MIN_SECONDS,
         until: float | None = None) -> list[SubtitleCue]:
    """The lines as cues, in time order (see the module's docstring). `speakers`: name the
    speaker of an off-screen line ("off_screen"), of every line ("always") or of none. With
    `label_in_text` the name is written into the first cue of its line as `NAME: ` (SRT, and
    counted in its width); without it the cue carries it for the writer (VTT's voice span).
    `until` (the cut's length): no cue is lengthened past it."""
    made: list[SubtitleCue] = []
    for line in sorted(lines, key=lambda l: (l.start, l.end)):
        text = _clean(line.text)
        named = speakers == "always" or (speakers == "off_screen" and line.off_screen)
        speaker = _clean(line.speaker) if named and _clean(line.speaker) else None
        shown = f"{speaker.upper()}: {text}" if speaker and label_in_text else text
        groups = _chunks(shown, width, max_lines)
        start, end = _ms(line.start), _ms(line.end)
        weights = [sum(len(l) for l in g) for g in groups]
        total, done = sum(weights), 0
        for group, weight in zip(groups, weights):
            a = start + round((end - start) * done / total)
            done += weight
            b = start + round((end - start) * done / total)
            made.append(SubtitleCue(a, b, group, None if label_in_text else speaker))
    made.sort(key=lambda c: (c.start_ms, c.end_ms))   # a split line's later cues among the others
    return _timed(made, min_ms=_ms(min_seconds), until_ms=None if until is None else _ms(until))


def _timed(made: list[SubtitleCue], *, min_ms: int, until_ms: int | None) -> list[SubtitleCue]:
    """Each cue at least `min_ms` long (not past `until_ms`), then no overlaps: a cue ends where
    the next starts; a next cue starting sooner than `min_ms` after this one is moved to then
    (two lines starting together are read one after the other, never one over the other)."""
    out: list[SubtitleCue] = []
    for cue in made:
        end = max(cue.end_ms, cue.start_ms + min_ms)
        if until_ms is not None:
            end = max(cue.end_ms, min(end, until_ms))
        out.append(SubtitleCue(cue.start_ms, end, cue.lines, cue.speaker))
    for i in range(len(out) - 1):
        cur, nxt = out[i], out[i + 1]
        if cur.end_ms <= nxt.start_ms:
            continue
        if nxt.start_ms - cur.start_ms < min_ms:
            start = cur.start_ms + min_ms
            out[i + 1] = SubtitleCue(start, max(nxt.end_ms, start + min_ms), nxt.lines, nxt.speaker)
            nxt = out[i + 1]
        out[i] = SubtitleCue(cur.start_ms, nxt.start_ms, cur.lines, cur.speaker)
    return out


# --- the two formats ------------------------------------------------------------------------

def _stamp(ms: int, sep: str) -> str:
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


# What an SRT reader takes for markup: an HTML-like tag (<i>, </b>, <font color=…>) or an ASS
# override block ({\an8}). SRT has no escape: the brackets are written as their look-alikes.
_SRT_TAG = re.compile(r"<(\s*/?\s*[A-Za-z][^<>]*)>")


def _srt_text(line: str) -> str:
    line = _SRT_TAG.sub("\u2039\\1\u203a", line)          # ‹i› for <i>
    return line.replace("{\\", "\uff5b\\").replace("-->", "->")


def _vtt_text(line: str) -> str:
    return line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def srt(made: Iterable[SubtitleCue]) -> str:
    """SubRip: numbered cues, `HH:MM:SS,mmm --> HH:MM:SS,mmm`, a blank line after each."""
    blocks = []
    for n, cue in enumerate(made, start=1):
        text = "\n".join(_srt_text(l) for l in cue.lines)
        if cue.speaker:
            text = f"{_srt_text(cue.speaker.upper())}: {text}"
        blocks.append(f"{n}\n{_stamp(cue.start_ms, ',')} --> {_stamp(cue.end_ms, ',')}\n{text}\n")
    return "\n".join(blocks)


def vtt(made: Iterable[SubtitleCue]) -> str:
    """WebVTT: the header, then cues `HH:MM:SS.mmm --> HH:MM:SS.mmm`; a named speaker as a voice
    span (`<v Name>text`), the text escaped."""
    blocks = ["WEBVTT\n"]
    for cue in made:
        text = "\n".join(_vtt_text(l) for l in cue.lines)
        if cue.speaker:
            # The annotation runs to '>': the name escaped like text (no '>' can end it early).
            text = f"<v {_vtt_text(cue.speaker)}>{text}"
        blocks.append(f"{_stamp(cue.start_ms, '.')} --> {_stamp(cue.end_ms, '.')}\n{text}\n")
    return "\n".join(blocks)


def _write_text(path: Path, text: str) -> Path:
    """`text` at `path`, written beside it and renamed into place, readable as the umask allows."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = scratch_beside(out, out.suffix)
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def write_srt(path: Path, lines: Iterable[TimedLine], *, speakers: Speakers = "off_screen",
              until: float | None = None) -> Path:
    """The lines as an .srt file (the speaker named in the text: `NAME: …`)."""
    return _write_text(path, srt(cues(lines, speakers=speakers, label_in_text=True, until=until)))


def write_vtt(path: Path, lines: Iterable[TimedLine], *, speakers: Speakers = "off_screen",
              until: float | None = None) -> Path:
    """The lines as a .vtt file (the speaker named by a voice span)."""
    return _write_text(path, vtt(cues(lines, speakers=speakers, label_in_text=False, until=until)))


_SRT_BLOCK = re.compile(r"(\d+):(\d\d):(\d\d)[,.](\d{3})\s*-->\s*(\d+):(\d\d):(\d\d)[,.](\d{3})[^\n]*\n(.*?)(?:\n\s*\n|\Z)",
                        re.S)


def read_srt(text: str) -> list[SubtitleCue]:
    """Cues of an SRT (or VTT) text: times and lines as written (markup kept as text)."""
    made = []
    for m in _SRT_BLOCK.finditer(text.replace("\r\n", "\n")):
        g = [int(x) for x in m.groups()[:8]]
        start = ((g[0] * 60 + g[1]) * 60 + g[2]) * 1000 + g[3]
        end = ((g[4] * 60 + g[5]) * 60 + g[6]) * 1000 + g[7]
        made.append(SubtitleCue(start, end, tuple(m.group(9).strip("\n").split("\n"))))
    return made


def joined(parts: Iterable[tuple[list[SubtitleCue], float]]) -> list[SubtitleCue]:
    """Cues of pieces played one after another (a film's scenes, each `(its cues, its seconds)`):
    each piece's cues moved by the length of the pieces before it, and none running past its
    own piece's end."""
    made: list[SubtitleCue] = []
    at = 0
    for part, seconds in parts:
        end = at + _ms(seconds)
        for c in part:
            start = at + c.start_ms
            if start < end:
                made.append(SubtitleCue(start, min(end, at + c.end_ms), c.lines, c.speaker))
        at = end
    return made


def write_cues(path: Path, made: list[SubtitleCue]) -> Path:
    """Cues already timed as an .srt or a .vtt file, by `path`'s suffix."""
    return _write_text(path, vtt(made) if Path(path).suffix.lower() == ".vtt" else srt(made))


# --- timing through the edit ----------------------------------------------------------------

@dataclass(frozen=True)
class ShotLine:
    """A line timed within its shot: `offset` seconds from the start of the shot's clip (before
    any trim), heard for `seconds`."""
    shot: str
    speaker: str
    text: str
    offset: float
    seconds: float
    off_screen: bool = False


@dataclass(frozen=True)
class CutShot:
    """A shot as the cut uses it: its clip's `seconds`, the trims, and the transition into the
    next shot (("cut", 0), ("dissolve", d) or ("dip", d): a dip is a cut under a colour)."""
    shot: str
    seconds: float
    trim_in: float = 0.0
    trim_out: float = 0.0
    transition: tuple[str, float] = ("cut", 0.0)

    @property
    def length(self) -> float:
        return float(self.seconds) - self.trim_in - self.trim_out


def cut_shots(shots: Iterable[Mapping]) -> list[CutShot]:
    """The shots of a timeline record (tasks/edit/export.py: shot, media, seconds, trim_in, trim_out,
    transition) that are in the cut — those with media — in order."""
    return [CutShot(str(s["shot"]), float(s["seconds"]), float(s.get("trim_in") or 0.0),
                    float(s.get("trim_out") or 0.0),
                    (str(s.get("transition", ["cut", 0])[0]), float(s.get("transition", ["cut", 0])[1])))
            for s in shots if s.get("media")]


def shot_starts(shots: list[CutShot]) -> list[float]:
    """Where each shot starts in the cut: media/finish.py's arithmetic (a dissolve overlaps)."""
    out, at = [], 0.0
    for shot in shots:
        out.append(at)
        kind, d = shot.transition
        at += shot.length - (float(d) if kind == "dissolve" else 0.0)
    return out


def cut_length(shots: list[CutShot]) -> float:
    """How long the cut lasts (0 with no shot)."""
    return shot_starts(shots)[-1] + shots[-1].length if shots else 0.0


@dataclass(frozen=True)
class Placed:
    """What became of a line: `kept` whole, `clipped` to what a trim left, or `dropped`; its
    `timed` line in the cut (None when dropped) and, unless kept, why."""
    line: ShotLine
    fate: Literal["kept", "clipped", "dropped"]
    timed: TimedLine | None
    reason: str = ""


def place_lines(lines: Iterable[ShotLine], shots: list[CutShot], *, start: float = 0.0,
                min_kept: float = MIN_KEPT) -> list[Placed]:
    """Each line's time in the cut (`start`: where this cut begins on a longer one, e.g. a
    scene's place in the film). A line maps by its shot's start in the cut plus its offset
    less the shot's trim_in; the part outside the shot's kept span is cut off (`clipped`); a
    line with less than `min_kept` seconds left, or whose shot is not in the cut, is `dropped`."""
    starts = dict(zip((s.shot for s in shots), shot_starts(shots)))
    by_id = {s.shot: s for s in shots}
    placed = []
    for line in lines:
        shot = by_id.get(line.shot)
        if shot is None:
            placed.append(Placed(line, "dropped", None, f"shot {line.shot} is not in the cut"))
            continue
        a, b = float(line.offset), float(line.offset) + float(line.seconds)
        keep_a, keep_b = max(a, shot.trim_in), min(b, shot.seconds - shot.trim_out)
        if keep_b - keep_a < min_kept - 1e-9:
            placed.append(Placed(line, "dropped", None,
                                 f"the trims of shot {line.shot} keep {shot.trim_in:g}s to "
                                 f"{shot.seconds - shot.trim_out:g}s of its clip; the line runs {a:g}s to {b:g}s"))
            continue
        at = start + starts[line.shot] - shot.trim_in
        timed = TimedLine(line.speaker, line.text, round(at + keep_a, 6), round(at + keep_b, 6), line.off_screen)
        if (keep_a, keep_b) == (a, b):
            placed.append(Placed(line, "kept", timed))
        else:
            placed.append(Placed(line, "clipped", timed,
                                 f"the trims of shot {line.shot} keep {keep_a:g}s to {keep_b:g}s of the line's "
                                 f"{a:g}s to {b:g}s"))
    return placed


# --- into the MP4 and back ------------------------------------------------------------------

_FORMATS = {".srt": "srt", ".vtt": "webvtt"}
_QUIET = ["-nostdin", "-hide_banner", "-loglevel", "error"]


def _format(subs: Path) -> str:
    fmt = _FORMATS.get(Path(subs).suffix.lower())
    if fmt is None:
        raise ValueError(f"{subs}: subtitles are read from .srt or .vtt files")
    return fmt


@dataclass(frozen=True)
class SubtitleStream:
    index: int              # the stream's number in the file (#0:index)
    codec: str              # mov_text
    language: str | None    # ISO 639-2 (eng), None when unset ("und")
    default: bool = False   # marked default: players show it unasked


_STREAM = re.compile(r"Stream #0:(\d+)(?:\[[^\]]*\])?(?:\((\w+)\))?: Subtitle: (\w+)([^\n]*)")


def subtitle_streams(mp4: Path) -> list[SubtitleStream]:
    """The subtitle streams ffmpeg's header lists for a file (the wheel has no ffprobe)."""
    done = run(probe_args(Path(mp4)))
    header = re.split(r"^(?:Output #\d|Stream mapping:)", done.stderr, maxsplit=1, flags=re.M)[0]
    return [SubtitleStream(int(i), codec, None if lang in (None, "und") else lang, "(default)" in rest)
            for i, lang, codec, rest in _STREAM.findall(header)]


def mux_subtitles(mp4: Path, subs: Path, out: Path, language: str = "eng", *, default: bool = False) -> Path:
    """`mp4` with `subs` (.srt or .vtt) as a mov_text stream in `language` (ISO 639-2) at `out`:
    picture and sound stream-copied, any subtitle stream it had replaced. `default`: players
    show it unasked. Written beside `out` and renamed; the picture is checked to be the same
    frames (not re-encoded) before it is."""
    if not re.fullmatch(r"[a-z]{3}", language):
        raise ValueError(f"language {language!r}: an ISO 639-2 code of three letters (eng, fra, deu)")
    src, target = Path(mp4), Path(out)
    args_for = lambda tmp: [*_QUIET, "-y", "-protocol_whitelist", "file", "-i", os.fspath(src),
                            "-protocol_whitelist", "file", "-f", _format(Path(subs)), "-i", os.fspath(subs),
                            "-map", "0:v", "-map", "0:a?", "-map", "1:s:0", "-map_metadata", "0",
                            "-c", "copy", "-c:s", "mov_text", "-metadata:s:s:0", f"language={language}",
                            "-disposition:s:0", "default" if default else "0", "-movflags", "+faststart",
                            os.fspath(tmp)]
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = scratch_beside(target, ".mp4")
    try:
        args = args_for(tmp)
        done = run(args)
        before, after = read_track(src), read_track(tmp)
        if before is not None and (after is None or (after.config, after.frames) != (before.config, before.frames)):
            raise MediaError(f"{target}: the picture changed while the subtitles were added", args, done.stderr)
        if not default:
            # The MP4 muxer enables the first subtitle track when none is default: shown unasked.
            disable_tracks(tmp, (b"sbtl", b"text"))
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def extract_srt(mp4: Path, out: Path, stream: int = 0) -> Path:
    """The file's subtitle stream number `stream` (of its subtitle streams) as SRT at `out`."""
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = scratch_beside(target, ".srt")
    try:
        run([*_QUIET, "-y", "-protocol_whitelist", "file", "-i", os.fspath(mp4), "-map", f"0:s:{stream}",
             "-c:s", "srt", "-f", "srt", os.fspath(tmp)])
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


# --- burned in ------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def filters() -> frozenset[str]:
    """The names of the filters the bundled ffmpeg has (`ffmpeg -filters`)."""
    done = run(["-nostdin", "-hide_banner", "-filters"])
    return frozenset(m.group(1) for m in re.finditer(r"^\s*[A-Z.|]{2,3}\s+(\w+)\s+\S+->\S+", done.stdout, re.M))


def _font_dir(into: Path) -> str:
    """Pillow's own font (Aileron Regular, shipped inside Pillow) written into `into`: what
    libass draws with, on any machine. Returns its family name."""
    from PIL import ImageFont

    font = ImageFont.load_default(size=16)
    data = getattr(font, "font_bytes", None)
    if not isinstance(font, ImageFont.FreeTypeFont) or not data:
        return ""   # an old Pillow without FreeType: libass falls back to the machine's fonts
    (into / "slate-subtitles.otf").write_bytes(data)
    return str(font.getname()[0])


def _quoted(value: str) -> str:
    # A filter option's value in single quotes: inside them only a quote is special, and the
    # scratch paths this module makes never hold one.
    if "'" in value or "\\" in value:
        raise ValueError(f"{value!r}: a path with a quote or backslash cannot be given to a filter")
    return f"'{value}'"


def _drawtext_chain(made: list[SubtitleCue], into: Path, font: Path | None, height: int) -> str:
    parts = []
    size = max(10, round(height * 0.055))
    for k, cue in enumerate(made):
        text = into / f"cue{k}.txt"
        text.write_text(cue.text, encoding="utf-8")
        opts = [f"textfile={_quoted(str(text))}", "expansion=none", f"fontsize={size}", "fontcolor=white",
                "borderw=2", "bordercolor=black", "x=(w-text_w)/2", f"y=h-text_h-{size}",
                f"enable='between(t,{cue.start_ms / 1000:.3f},{cue.end_ms / 1000:.3f})'"]
        if font is not None:
            opts.insert(0, f"fontfile={_quoted(str(font))}")
        parts.append("drawtext=" + ":".join(opts))
    return ",".join(parts) or "null"


def burn_in(mp4: Path, subs: Path, out: Path, *, crf: int = 20,
            method: Literal["auto", "subtitles", "drawtext"] = "auto") -> Path:
    """`mp4` with the cues of `subs` (.srt or .vtt) drawn into its picture at `out`: the picture
    re-encoded (H.264, as the finishing pass writes it), the sound copied. `method` "auto": with
    libass (the `subtitles` filter) when the build has it, else drawtext (each cue's text as it
    is written in an SRT: a VTT's markup would show); MediaError when it has neither."""
    _format(Path(subs))
    have = filters() if method == "auto" else frozenset({method}) & filters()
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="slate-subs-"))
    tmp = scratch_beside(target, ".mp4")
    try:
        if "subtitles" in have:
            local = scratch / f"cues{Path(subs).suffix.lower()}"
            shutil.copyfile(subs, local)
            family = _font_dir(scratch)
            graph = f"subtitles=filename={_quoted(str(local))}:fontsdir={_quoted(str(scratch))}"
            if family:
                graph += f":force_style={_quoted(f'FontName={family}')}"
        elif "drawtext" in have:
            made = read_srt(Path(subs).read_text(encoding="utf-8"))
            family = _font_dir(scratch)
            font = scratch / "slate-subtitles.otf" if family else None
            track = read_track(Path(mp4))
            graph = _drawtext_chain(made, scratch, font, track.height if track else 360)
        else:
            raise MediaError("this ffmpeg lacks the filter to burn subtitles in with "
                             f"({'subtitles (libass) or drawtext' if method == 'auto' else method})", ["-filters"], "")
        args = [*_QUIET, "-y", "-protocol_whitelist", "file", "-i", os.fspath(mp4), "-map", "0:v:0", "-map", "0:a?",
                "-vf", graph, "-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf), "-pix_fmt", "yuv420p",
                "-c:a", "copy", "-movflags", "+faststart", os.fspath(tmp)]
        run(args)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
        shutil.rmtree(scratch, ignore_errors=True)
    return target
