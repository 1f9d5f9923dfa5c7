"""The finishing pass: a scene's approved clips to a graded cut with its sound mixed and its
loudness at the delivery's target, in one ffmpeg run (plus the loudness measurement before it);
the editor's mezzanine, when a delivery asks for one, is a second output of that same run.

For: building the pass's filter graph with ffmpeg-python's graph builder (picture: trims, per-shot
exposure and saturation, cuts, dissolves, dips to a colour, the LUT, fades from and to black;
sound: each clip's own audio or silence of exactly its length, crossfades at dissolves, the cues
placed, gained and faded, music ducked under dialogue, loudness normalised in two passes: the
mix measured with ebur128, then brought to the target by one gain),
compiling it to an argument list and running it through media/ffmpeg.py; then measuring what
was made (EBU R128 integrated loudness and true peak with ffmpeg's ebur128 filter) and probing it.

Never: start a process other than through ffmpeg.run, leave a half-written file at the target
(render.py's atomic write), or import anything of ours beyond media. The judges never see what
this makes: it reads the approved clips and writes a new file beside them.
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import ffmpeg  # ffmpeg-python: the graph builder only; it never runs anything here

from .colour import BT709, Colour, output_args as colour_args, to_colour
from .commands import exact_rate, fmt_rate, frame_count, frame_at_args, on_frame
from .ffmpeg import MediaError, run, run_with_progress
from .probe import Probe, probe, probe_copied
from .render import scratch_beside
from .session_memo import kept

#: A stream of ffmpeg-python's graph: the library ships no types, so its nodes are Any to us.
Stream = Any

RATE = 48000           # the mix's sample rate (AAC and broadcast both take it)
_QUIET = ["-nostdin", "-hide_banner", "-loglevel", "error"]


@dataclass(frozen=True)
class FinishShot:
    """One approved clip as the edit uses it. `transition` joins it to the next shot:
    ("cut", 0), ("dissolve", d) or ("dip", d) (to `dip_colour` and back, centred on the cut)."""
    path: str
    seconds: float
    has_audio: bool = False
    trim_in: float = 0.0
    trim_out: float = 0.0
    exposure: float = 0.0
    saturation: float = 1.0
    transition: tuple[str, float] = ("cut", 0.0)
    dip_colour: str = "#000000"

    @property
    def length(self) -> float:
        return float(self.seconds) - self.trim_in - self.trim_out


@dataclass(frozen=True)
class FinishCue:
    """One audio file placed at `start` seconds into the scene, read from `offset` seconds in."""
    path: str
    kind: str
    start: float
    seconds: float        # the file's own length (measured at the check)
    offset: float = 0.0
    length: float | None = None
    gain_db: float = 0.0
    fade_in: float = 0.0
    fade_out: float = 0.0
    ducks: bool = False


@dataclass(frozen=True)
class FinishPlan:
    shots: list[FinishShot]
    width: int
    height: int
    fps: int | float         # as the film keeps it (23.976); ffmpeg is given it exactly (commands.exact_rate)
    cues: list[FinishCue] = field(default_factory=list)
    lut: str | None = None
    fade_in: float = 0.0
    fade_out: float = 0.0
    target_lufs: float = -14.0
    true_peak: float = -1.0
    #: what every deliverable's picture is converted to and tagged (media/colour.py)
    colour: Colour = BT709

    def __post_init__(self) -> None:
        # Every length the picture is cut at, on a whole frame at the plan's exact rate: a
        # manifest's 0.375 s dissolve is 8.99 frames at 23.976, which the pass rendered a frame
        # from where every timeline export (counting whole frames) put it (issue 39).
        object.__setattr__(self, "shots", [replace(
            s, seconds=on_frame(s.seconds, self.fps), trim_in=on_frame(s.trim_in, self.fps),
            trim_out=on_frame(s.trim_out, self.fps), transition=(s.transition[0], on_frame(s.transition[1], self.fps)))
            for s in self.shots])
        object.__setattr__(self, "fade_in", on_frame(self.fade_in, self.fps))
        object.__setattr__(self, "fade_out", on_frame(self.fade_out, self.fps))

    def starts(self) -> list[float]:
        """Where each shot starts on the scene's timeline (a dissolve overlaps two shots)."""
        out, at = [], 0.0
        for shot in self.shots:
            out.append(at)
            kind, d = shot.transition
            at += shot.length - (float(d) if kind == "dissolve" else 0.0)
        return out

    @property
    def total(self) -> float:
        last = self.shots[-1]
        return self.starts()[-1] + last.length

    @property
    def has_sound(self) -> bool:
        return bool(self.cues) or any(s.has_audio for s in self.shots)


@dataclass(frozen=True)
class Loudness:
    integrated: float   # LUFS
    true_peak: float    # dBTP


@dataclass(frozen=True)
class Finished:
    probe: Probe
    loudness: Loudness | None   # None: the cut has no sound source (silence throughout)
    audio_seconds: float
    mezzanine: Probe | None = None   # the editor's intermediate the same run wrote, if asked


def _n(x: float) -> str:
    return f"{float(x):.6f}".rstrip("0").rstrip(".") or "0"


def _input(path):
    # Inputs can come from providers we do not control: files only, never a followed reference.
    return ffmpeg.input(os.fspath(path), protocol_whitelist="file")


def _silence(seconds: float):
    return ffmpeg.input(f"anullsrc=r={RATE}:cl=stereo", f="lavfi", t=_n(seconds)).audio


def _fit_audio(stream, seconds: float):
    """A clip's or cue's sound as the mix wants it: 48 kHz stereo float, exactly `seconds` long
    (padded with silence or cut), so picture and sound never drift."""
    return (stream.filter("aresample", RATE).filter("aformat", sample_fmts="fltp", channel_layouts="stereo")
            .filter("apad", whole_dur=_n(seconds)).filter("atrim", duration=_n(seconds))
            .filter("asetpts", "PTS-STARTPTS"))


def _shot_picture(src, shot: FinishShot, plan: FinishPlan):
    # Each shot in the delivery's colour as it enters (media/colour.py): shots from different
    # providers, tagged or not, meet in one colour space, and every RGB filter after (exposure,
    # the LUT) reads the matrix the frames truly have.
    v = (src.video.trim(start=_n(shot.trim_in), duration=_n(shot.length)).setpts("PTS-STARTPTS")
         .filter("scale", plan.width, plan.height, out_color_matrix=plan.colour.matrix, out_range=plan.colour.range)
         .filter("setsar", 1).filter("fps", fmt_rate(plan.fps))
         .filter("format", "yuv420p"))
    if shot.exposure:
        # Stops on display-encoded values: a gain of 2^(stops/2.2), the sRGB curve's rough slope.
        k = _n(2 ** (shot.exposure / 2.2))
        v = v.filter("colorchannelmixer", rr=k, gg=k, bb=k)
    if shot.saturation != 1.0:
        v = v.filter("eq", saturation=_n(shot.saturation))
    return v.filter("format", "yuv420p").filter("settb", "AVTB")


def _picture(plan: FinishPlan, sources):
    starts = plan.starts()
    cur = _shot_picture(sources[0], plan.shots[0], plan)
    length = plan.shots[0].length
    for i, shot in enumerate(plan.shots[1:], start=1):
        nxt = _shot_picture(sources[i], shot, plan)
        kind, d = plan.shots[i - 1].transition
        if kind == "dissolve":
            cur = ffmpeg.filter([cur, nxt], "xfade", transition="fade", duration=_n(d), offset=_n(length - float(d)))
            length += shot.length - float(d)
        else:   # cut, and a dip (a cut under a colour laid over it below)
            cur = ffmpeg.concat(cur, nxt, v=1, a=0)
            length += shot.length
    if plan.lut:
        cur = cur.filter("lut3d", file=os.fspath(plan.lut))
    total = plan.total
    for i, shot in enumerate(plan.shots[:-1]):
        kind, d = shot.transition
        if kind != "dip":
            continue
        cut, half = starts[i + 1], float(d) / 2
        colour = (ffmpeg.input(f"color=c=0x{shot.dip_colour.lstrip('#')}:s={plan.width}x{plan.height}:"
                               f"r={fmt_rate(plan.fps)}", f="lavfi", t=_n(total)).video
                  .filter("format", "rgba")
                  .filter("fade", t="in", st=_n(max(0.0, cut - half)), d=_n(half), alpha=1)
                  .filter("fade", t="out", st=_n(cut), d=_n(half), alpha=1))
        cur = ffmpeg.overlay(cur, colour, eof_action="pass")
    if plan.fade_in:
        cur = cur.filter("fade", t="in", st=0, d=_n(plan.fade_in))
    if plan.fade_out:
        cur = cur.filter("fade", t="out", st=_n(max(0.0, total - plan.fade_out)), d=_n(plan.fade_out))
    return cur   # each output converts it to its own pixel format and the delivery's colour


def _plays(cue: FinishCue, total: float) -> float:
    """How long `cue` is heard in a cut `total` seconds long (0 or less: not at all)."""
    plays = cue.seconds - cue.offset
    if cue.length is not None:
        plays = min(plays, cue.length)
    return min(plays, total - cue.start)


def _cue_reads(cues: list[FinishCue]) -> list:
    """Each cue's file read as a stream of its own. A file heard twice (one line spoken twice,
    word for word: the same take, the same WAV) is read once and split: the graph builder merges
    two reads of one file it cannot tell apart, and ffmpeg refuses one stream sent two ways."""
    uses: dict[str, int] = {}
    for cue in cues:
        uses[str(cue.path)] = uses.get(str(cue.path), 0) + 1
    outs: dict[str, list] = {}
    for path, n in uses.items():
        audio = _input(path).audio
        outs[path] = [audio] if n == 1 else [audio.filter_multi_output("asplit", n).stream(k) for k in range(n)]
    return [outs[str(cue.path)].pop(0) for cue in cues]


def _cue_stream(cue: FinishCue, total: float, source):
    plays = _plays(cue, total)
    a = source.filter("atrim", start=_n(cue.offset), duration=_n(plays)).filter("asetpts", "PTS-STARTPTS")
    a = a.filter("aresample", RATE).filter("aformat", sample_fmts="fltp", channel_layouts="stereo")
    if cue.gain_db:
        a = a.filter("volume", f"{_n(cue.gain_db)}dB")
    if cue.fade_in:
        a = a.filter("afade", t="in", st=0, d=_n(min(cue.fade_in, plays)))
    if cue.fade_out:
        a = a.filter("afade", t="out", st=_n(max(0.0, plays - cue.fade_out)), d=_n(min(cue.fade_out, plays)))
    if cue.start > 0:
        a = a.filter("adelay", delays=str(round(cue.start * 1000)), all=1)
    return _fit_audio(a, total)


def _mix(streams: list):
    if len(streams) == 1:
        return streams[0]
    # normalize=0: amix would otherwise scale every input down by their count.
    return ffmpeg.filter(streams, "amix", inputs=len(streams), duration="first", normalize=0)


#: The stems a mix is split into, as a post house delivers them: each cue's kind to its stem (the
#: clips' own sound and ambience go with the effects).
STEMS = ("dialogue", "music", "effects")
_STEM_OF = {"dialogue": "dialogue", "music": "music", "effects": "effects", "ambience": "effects"}


def _layers(plan: FinishPlan, sources) -> list[tuple[str, Stream]]:
    """The scene's mix before loudness, as its layers, each with the stem it belongs to: the
    clips' own sound (or silence) joined like the picture, plus the cues; music (and any cue
    marked `duck`) under dialogue, ducked by kind (a stem is ducked as the mix hears it)."""
    total = plan.total
    # One silence for every silent clip, split: the graph builder merges nodes it cannot tell
    # apart, so two silences of one length would be one stream read twice (refused by ffmpeg).
    silent = [i for i, s in enumerate(plan.shots) if not s.has_audio]
    quiet = {}
    if silent:
        source = _silence(total)
        split = source.filter_multi_output("asplit", len(silent)) if len(silent) > 1 else None
        quiet = {i: (split.stream(k) if split is not None else source) for k, i in enumerate(silent)}
    cur = None
    for i, shot in enumerate(plan.shots):
        a = _fit_audio(sources[i].audio.filter("atrim", start=_n(shot.trim_in), duration=_n(shot.length))
                       .filter("asetpts", "PTS-STARTPTS"), shot.length) if shot.has_audio else \
            _fit_audio(quiet[i].filter("atrim", duration=_n(shot.length)), shot.length)
        if cur is None:
            cur = a
        elif plan.shots[i - 1].transition[0] == "dissolve":
            cur = ffmpeg.filter([cur, a], "acrossfade", d=_n(plan.shots[i - 1].transition[1]), c1="tri", c2="tri")
        else:
            cur = ffmpeg.concat(cur, a, v=0, a=1)
    production = _fit_audio(cur, total)
    ducked: dict[str, list[Stream]] = {}
    dialogue: list[Stream] = []
    others: list[tuple[str, Stream]] = []
    heard = [cue for cue in plan.cues if _plays(cue, total) > 0]
    for cue, source in zip(heard, _cue_reads(heard)):
        s = _cue_stream(cue, total, source)
        stem = _STEM_OF.get(cue.kind, "effects")
        if cue.kind == "dialogue":
            dialogue.append(s)
        elif cue.ducks:
            ducked.setdefault(stem, []).append(s)
        else:
            others.append((stem, s))
    layers: list[tuple[str, Stream]] = [("effects", production)]
    if dialogue:
        key = _mix(dialogue)
        if ducked:
            split = key.filter_multi_output("asplit", len(ducked) + 1)
            key = split.stream(0)
            for k, (stem, streams) in enumerate(ducked.items(), start=1):
                layers.append((stem, ffmpeg.filter([_mix(streams), split.stream(k)], "sidechaincompress",
                                                   threshold=0.03, ratio=8, attack=20, release=400)))
        layers.append(("dialogue", key))
    else:
        layers += [(stem, _mix(streams)) for stem, streams in ducked.items()]
    return layers + others


def _sound(plan: FinishPlan, sources):
    """The scene's mix before loudness (`_layers`, summed)."""
    return _mix([stream for _, stream in _layers(plan, sources)])


def stems_args(plan: FinishPlan, measured: dict, outs: dict[str, Path]) -> list[str]:
    """The mix's stems (`outs`: stem -> WAV path, of STEMS), each its layers summed at the mix's
    own gain (`measured`: pass one's reading, as `finish_args` applies it; before the mix's peak
    limiter, which acts on the sum): laid together they are the mix. A stem with nothing in it is
    silence of the cut's length, so an editor always gets the same set."""
    total = plan.total
    layers = _layers(plan, _sources(plan))
    raise_db, gain = float(measured.get("slate_raise_db", 0.0)), gain_db(plan, measured)
    empty = [stem for stem in outs if not any(k == stem for k, _ in layers)]
    silences: dict[str, Stream] = {}
    if empty:   # one silence, split: two of one length would be one node read twice (see `_layers`)
        quiet = _fit_audio(_silence(total), total)
        split = quiet.filter_multi_output("asplit", len(empty)) if len(empty) > 1 else None
        silences = {stem: split.stream(i) if split is not None else quiet for i, stem in enumerate(empty)}
    outputs = []
    for stem, path in outs.items():
        streams = [stream for k, stream in layers if k == stem]
        a = _mix(streams) if streams else silences[stem].filter("aformat", sample_fmts="fltp", channel_layouts="stereo")
        if raise_db > 0:
            a = a.filter("volume", f"{raise_db:.2f}dB")
        a = _fit_audio(a.filter("volume", f"{gain:.2f}dB"), total)
        outputs.append(ffmpeg.output(a, os.fspath(path), **{"c:a": "pcm_s24le", "ar": RATE}))
    return [*_QUIET, "-y", *ffmpeg.merge_outputs(*outputs).get_args()]


def _sources(plan: FinishPlan):
    return [_input(s.path) for s in plan.shots]


def _check(plan: FinishPlan) -> None:
    if not plan.shots:
        raise ValueError("a finishing pass needs at least one shot")
    for s in plan.shots:
        if s.length <= 0:
            raise ValueError(f"{s.path}: trims of {s.trim_in:g}s + {s.trim_out:g}s leave nothing of a {s.seconds:g}s clip")


#: How far below the true-peak ceiling the limiter holds a raised mix (sample peaks, so some room
#: for the inter-sample peaks ebur128 reads), and the most a mix is raised before it.
LIMIT_MARGIN_DB = 1.0
MAX_RAISE_DB = 24.0
#: How far under the true-peak ceiling the pass's gain holds the mix's measured peak: the AAC
#: encode after it adds some half a dB of inter-sample overshoot (a one-line scene read -0.6 dBTP
#: in the file for -1.0 in the mix).
ENCODE_HEADROOM_DB = 0.5


def _raised(a: Any, plan: FinishPlan, raise_db: float) -> Any:
    """The mix raised by `raise_db` through a peak limiter (see `measure`); unchanged at 0."""
    if raise_db <= 0:
        return a
    ceiling = 10 ** ((plan.true_peak - LIMIT_MARGIN_DB) / 20)
    return (a.filter("volume", f"{raise_db:.2f}dB")
            .filter("alimiter", limit=f"{ceiling:.4f}", attack=5, release=50, level="disabled"))


def measure_args(plan: FinishPlan, raise_db: float = 0.0) -> list[str]:
    """Pass one of loudness: the mix (no picture) through ebur128, which prints its integrated
    loudness and true peak. (loudnorm's own first pass read the same two figures at a third of the
    speed: it resamples to 192 kHz to do so.)"""
    a = _raised(_sound(plan, _sources(plan)), plan, raise_db).filter("ebur128", peak="true")
    return ["-nostdin", "-hide_banner", "-nostats", *ffmpeg.output(a, "-", f="null").get_args()]


def gain_db(plan: FinishPlan, reading: dict) -> float:
    """The one gain that brings a measured mix to the target loudness, held where its true peak
    would pass the ceiling: loudnorm's linear mode, without its resampling. The pass lands on the
    target (ebur128 reads a gain exactly), or short of it by what the ceiling holds back."""
    return min(plan.target_lufs - float(reading["input_i"]), _peak_room(plan, reading))


def _peak_room(plan: FinishPlan, reading: dict) -> float:
    """The most gain the mix's measured true peak leaves under the ceiling (less the encode's headroom)."""
    return plan.true_peak - ENCODE_HEADROOM_DB - float(reading["input_tp"])


#: The editor's intermediates a delivery may ask for: the encoder's options and its pixel format.
#: 10-bit 4:2:2 ProRes from the pass's own frames (the web cut's are 8-bit 4:2:0 and compressed).
MEZZANINES: dict[str, tuple[dict[str, str | int], str]] = {
    "prores_proxy": ({"c:v": "prores_ks", "profile:v": 0}, "yuv422p10le"),
    "dnxhr_lb": ({"c:v": "dnxhd", "profile:v": "dnxhr_lb"}, "yuv422p"),
}

#: Where a mezzanine's timecode track starts: 01:00:00:00, where slate's timelines start their
#: record (tasks/edit/export.py RECORD_START_HOURS, a post house's convention), so an editor who
#: conforms a scene's timeline against this file finds every event at the timecode the timeline
#: names, with no offset to enter. Non-drop frame (":" separators) at every rate, as the EDL's FCM
#: line says: at 29.97 it counts 30 frame numbers a second (manifests/frame_rate.timebase), the
#: same numbers as the timeline, frame for frame; ffmpeg marks the track NTSC from the stream's
#: 30000/1001.
MEZZANINE_TIMECODE = "01:00:00:00"


def finish_args(plan: FinishPlan, out, measured: dict | None, mezzanine: tuple[str, Path] | None = None) -> list[str]:
    """The pass itself: picture and sound into one H.264 + AAC file (+faststart). `measured` is
    pass one's reading (None: no sound source, the track is silence). With `mezzanine` (kind,
    path), the same run writes the editor's intermediate as a second output of the same graph:
    the pass's own frames and mix (before H.264 and AAC), with a timecode track — never a
    re-encode of the web cut, a third generation of its pictures."""
    _check(plan)
    sources = _sources(plan)
    v = _picture(plan, sources)
    if measured is None:
        a = _fit_audio(_silence(plan.total), plan.total)
    else:
        a = (_raised(_sound(plan, sources), plan, float(measured.get("slate_raise_db", 0.0)))
             .filter("volume", f"{gain_db(plan, measured):.2f}dB"))
        a = _fit_audio(a, plan.total)
    frames = frame_count(plan.total, plan.fps)
    common = {"r": fmt_rate(plan.fps), "frames:v": frames, "ar": RATE, **colour_args(plan.colour)}
    web = {"c:v": "libx264", "preset": "veryfast", "crf": 20, "pix_fmt": "yuv420p", "c:a": "aac", "b:a": "192k",
           "movflags": "+faststart", **common}
    if mezzanine is None:
        outputs = ffmpeg.output(to_colour(v, plan.colour).filter("format", "yuv420p"), a, os.fspath(out), **web)
    else:
        kind, path = mezzanine
        codec, pix_fmt = MEZZANINES[kind]
        pictures, sounds = v.filter_multi_output("split", 2), a.filter_multi_output("asplit", 2)
        outputs = ffmpeg.merge_outputs(
            ffmpeg.output(to_colour(pictures.stream(0), plan.colour).filter("format", "yuv420p"), sounds.stream(0),
                          os.fspath(out), **web),
            ffmpeg.output(to_colour(pictures.stream(1), plan.colour).filter("format", pix_fmt), sounds.stream(1),
                          os.fspath(path), **codec, pix_fmt=pix_fmt, **{"c:a": "pcm_s16le"},
                          timecode=MEZZANINE_TIMECODE, **common))
    # slate's conventions first (commands.py): no stdin, no banner, errors only, overwrite.
    return [*_QUIET, "-y", *outputs.get_args()]


def measure(plan: FinishPlan) -> dict | None:
    """The mix's reading, for the pass. The pass's one gain never raises a mix past its true-peak
    ceiling (nor did loudnorm's linear mode before it): a mix of speech alone (a short scene of
    one line, peaks 15 dB over its loudness) came out at -19.1 LUFS for a -14 target, and the cut
    failed its check. Such a mix is measured again raised by the missing gain through a peak
    limiter (`_raised`), and the pass raises it the same way (`slate_raise_db` in the reading); a
    mix with the headroom gets its gain alone."""
    if not plan.has_sound:
        return None
    reading = _reading(plan, 0.0)
    raise_db = 0.0
    for _ in range(4):   # limiting takes some loudness back: raise again by what is still missing
        if reading is None:
            return None
        short = _short_of_target(plan, reading)
        if short <= 0.2 or raise_db >= MAX_RAISE_DB:   # within a fifth of a LU, or as far as it goes
            break
        raise_db = min(raise_db + short + (LIMIT_MARGIN_DB if raise_db == 0 else 0.0), MAX_RAISE_DB)
        reading = _reading(plan, raise_db)
    return None if reading is None else {**reading, "slate_raise_db": raise_db}


def _short_of_target(plan: FinishPlan, reading: dict) -> float:
    """How many LU the pass's gain would stop short of the target at the true-peak ceiling."""
    return plan.target_lufs - float(reading["input_i"]) - _peak_room(plan, reading)


def _reading(plan: FinishPlan, raise_db: float) -> dict | None:
    """The mix's integrated loudness and true peak (`input_i`, `input_tp`, as loudnorm named them),
    None for silence all through (nothing to bring up)."""
    done = run(measure_args(plan, raise_db), timeout=900)
    read = _summary(done.stderr)
    if read is None:
        raise MediaError("ebur128 printed no summary of the mix", measure_args(plan, raise_db), done.stderr)
    if not math.isfinite(read.integrated) or not math.isfinite(read.true_peak):
        return None
    return {"input_i": read.integrated, "input_tp": read.true_peak}


_I = re.compile(r"I:\s+(-?[\d.]+|-inf) LUFS")
_PEAK = re.compile(r"Peak:\s+(-?[\d.]+|-inf) dBFS")
_TIME = re.compile(r"time=(\d+):(\d+):(\d+(?:\.\d+)?)")


def _summary(stderr: str) -> Loudness | None:
    """The integrated loudness and true peak ebur128 printed last (its summary), None if none."""
    i, peak = _I.findall(stderr), _PEAK.findall(stderr)
    return Loudness(float(i[-1]), float(peak[-1])) if i and peak else None


def loudness(path) -> Loudness:
    """EBU R128 integrated loudness and true peak of a file's first audio stream (ebur128)."""
    return heard(path)[0]


def heard(path) -> tuple[Loudness, float]:
    """One decode of a file's first audio stream: its EBU R128 loudness and true peak (ebur128),
    and its length in seconds (the decode's last `time=`)."""
    done = run(["-nostdin", "-hide_banner", "-protocol_whitelist", "file", "-i", os.fspath(path),
                "-map", "0:a:0", "-af", "ebur128=peak=true", "-f", "null", "-"], timeout=900)
    read, times = _summary(done.stderr), _TIME.findall(done.stderr)
    if read is None or not times:
        raise MediaError("ebur128 printed no summary", [os.fspath(path)], done.stderr)
    h, m, sec = times[-1]
    return read, int(h) * 3600 + int(m) * 60 + float(sec)


@dataclass(frozen=True)
class AudioFile:
    seconds: float
    sample_rate: int
    channels: str


_RATE_HZ = re.compile(r"Audio: [^,]+, (\d+) Hz, ([^,]+)")


def read_audio(path) -> AudioFile:
    """Decode a whole audio file (or a video's first audio stream): its length, rate and
    channels. MediaError when it does not decode.

    A pure function of the file's bytes: under the test suite it is kept in the session's memo
    (media/session_memo.py) — every check of a copied example film decoded the same two cue files
    again (one odd-values check test: 20 of its 21 ffmpeg runs). A film's own commands always decode."""
    return kept("audio", (), [Path(path)], lambda: _decoded(path), asdict, lambda d: AudioFile(**d))


def _decoded(path) -> AudioFile:
    done = run(["-nostdin", "-hide_banner", "-protocol_whitelist", "file", "-i", os.fspath(path),
                "-map", "0:a:0", "-f", "null", "-"], timeout=300)
    rate = _RATE_HZ.search(done.stderr)
    times = _TIME.findall(done.stderr)
    if not rate or not times:
        raise MediaError("no audio stream decoded", [os.fspath(path)], done.stderr)
    h, m, s = times[-1]
    return AudioFile(int(h) * 3600 + int(m) * 60 + float(s), int(rate.group(1)), rate.group(2).strip())


def _beside(target: Path) -> Path:
    return scratch_beside(target, target.suffix)


def finish(plan: FinishPlan, out, on_progress=None, mezzanine: tuple[str, Path] | None = None,
           stems: dict[str, Path] | None = None) -> Finished:
    """Run the pass into `out` (atomically) and measure it: probe, loudness, sound's length.
    `on_progress(share)` (0..1 of the edit rendered), when given, hears how far the pass is.
    With `mezzanine` (kind, path) the same run writes the editor's intermediate there too
    (`finish_args`), atomically, and it is probed by a full decode. With `stems` (stem -> WAV
    path), the mix's stems are written there after it (`stems_args`), each atomically; a cut
    with no sound source has none."""
    _check(plan)
    measured = measure(plan)
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _beside(target)
    kind, mov = mezzanine if mezzanine is not None else ("", None)
    mov_tmp = _beside(Path(mov)) if mov is not None else None
    total = plan.total
    try:
        wrote = run_with_progress(finish_args(plan, tmp, measured, (kind, mov_tmp) if mov_tmp else None),
                                  lambda done: on_progress(min(1.0, done / total)) if on_progress else None)
        os.replace(tmp, target)
        if mov is not None and mov_tmp is not None:
            os.replace(mov_tmp, mov)
    finally:
        tmp.unlink(missing_ok=True)
        if mov_tmp is not None:
            mov_tmp.unlink(missing_ok=True)
    # Read back without decoding the picture again: its boxes, held to the frames ffmpeg says it
    # wrote (media/probe.probe_copied) — a full decode of the cut was the pass's biggest cost
    # beyond the render itself. The sound is decoded once, for its loudness and its length.
    if stems and measured is not None:
        scratch = {stem: _beside(Path(path)) for stem, path in stems.items()}
        try:
            run(stems_args(plan, measured, scratch))
            for stem, path in stems.items():
                os.replace(scratch[stem], path)
        finally:
            for tmp_stem in scratch.values():
                tmp_stem.unlink(missing_ok=True)
    picture = probe_copied(target, wrote.stdout)
    master = probe(mov) if mov is not None else None
    if measured is None:
        return Finished(picture, None, read_audio(target).seconds, master)
    sound, seconds = heard(target)
    return Finished(picture, sound, seconds, master)


def deliverable_problems(done: Finished, plan: FinishPlan) -> list[str]:
    """What makes a finished cut not a deliverable: its rate not exactly the edit's, its length
    off the edit's by more than a frame, no sound, or loudness more than 1 LU from the target
    (when it has a sound source)."""
    out = []
    rate = exact_rate(plan.fps)
    frame = 1 / float(rate)
    if done.probe.fps != rate:   # 23.976 is delivered as 24000/1001, the rate an editor conforms to
        out.append(f"runs at {fmt_rate(done.probe.fps)} fps, the edit {fmt_rate(rate)}")
    if abs(done.probe.duration - plan.total) > frame + 1e-6:
        out.append(f"lasts {done.probe.duration:.3f}s, the edit {plan.total:.3f}s")
    if not done.probe.has_audio:
        out.append("has no audio stream")
    elif abs(done.audio_seconds - plan.total) > frame + 0.03:
        out.append(f"its sound lasts {done.audio_seconds:.3f}s, the edit {plan.total:.3f}s")
    if done.loudness is not None and abs(done.loudness.integrated - plan.target_lufs) > 1.0:
        out.append(f"measures {done.loudness.integrated:.1f} LUFS, the target {plan.target_lufs:g}")
    mov = done.mezzanine
    if mov is not None:   # the editor's copy of the cut: as long as it, with its sound, in its colour
        if mov.frames != done.probe.frames:
            out.append(f"its mezzanine has {mov.frames} frames, the cut {done.probe.frames}")
        if not mov.has_audio:
            out.append("its mezzanine has no audio stream")
        if mov.colour != plan.colour:
            out.append(f"its mezzanine is tagged {mov.colour}, the delivery {plan.colour}")
    return out


def poster_args(src, out, seconds: float) -> list[str]:
    """The poster frame: the picture shown at `seconds` (media/poster.py chooses them)."""
    return frame_at_args(src, out, seconds=seconds)


def graded_clip_args(path, out, *, seconds: float, has_audio: bool, exposure: float, saturation: float,
                     lut: str | None, width: int, height: int, fps) -> list[str]:
    """One approved clip graded exactly as the pass grades it (its exposure and saturation, the
    scene's LUT), whole — no trim, fade or dip: an editor's timeline makes those — with its own
    sound as it is: the media `slate export --media graded` points at (tasks/edit/graded.py)."""
    plan = FinishPlan(shots=[FinishShot(os.fspath(path), seconds, has_audio=has_audio, exposure=exposure,
                                        saturation=saturation)], width=width, height=height, fps=fps, lut=lut)
    _check(plan)
    sources = _sources(plan)
    streams = [_picture(plan, sources)]
    audio = {"c:a": "aac", "b:a": "192k", "ar": RATE} if has_audio else {"an": None}
    if has_audio:
        streams.append(_fit_audio(sources[0].audio, plan.total))
    # crf 16: an editor's source, a generation under the delivered cut's 20.
    out_args = {"c:v": "libx264", "preset": "veryfast", "crf": 16, "pix_fmt": "yuv420p", "r": fmt_rate(plan.fps),
                "frames:v": frame_count(plan.total, plan.fps), "movflags": "+faststart", **audio}
    return [*_QUIET, "-y", *ffmpeg.output(*streams, os.fspath(out), **out_args).get_args()]
