"""The colour a deliverable says it is — primaries, transfer, matrix and range — and the pixels
made to be what it says.

For: the finishing pass's graph (every shot brought to the delivery's colour as it enters, the
picture tagged as it leaves), the encoders' output options, and reading the tags back from
ffmpeg's description of a stream (`read_colour`) for the checks and the tests.

A file with no tags is read by each player as it guesses: Resolve and Premiere take BT.709 for
HD, browsers and QuickTime BT.601 for small pictures, and a post house's QC rejects "unknown".
slate's own clips are untagged and were made from RGB stills by swscale, whose default matrix
is BT.601: tagging their pixels BT.709 without converting them shifts every colour (a red of
192,48,32 decoded as 203,59,29). So the pass converts (scale's `out_color_matrix`, reading the
matrix a source declares, BT.601 when it declares none) and only then tags.

Never: tag a picture without converting it to what the tag says, start a process, or import
anything of ours.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Colour", "BT709", "to_colour", "output_args", "read_colour"]


@dataclass(frozen=True)
class Colour:
    """A picture's colour as ffmpeg names it: `primaries` (color_primaries), `transfer`
    (color_trc), `matrix` (colorspace) and `range` ("tv": limited, 16-235; "pc": full)."""
    primaries: str = "bt709"
    transfer: str = "bt709"
    matrix: str = "bt709"
    range: str = "tv"


#: HD video's colour, and every deliverable's unless a delivery declares another: what an
#: editor's NLE, a broadcaster's QC and a web player all take for HD without guessing.
BT709 = Colour()


def to_colour(stream: Any, colour: Colour = BT709) -> Any:
    """An ffmpeg-python video stream converted to `colour`'s matrix and range (from what each
    frame declares; BT.601 for a frame that declares nothing, as swscale made it), then tagged
    with all four, so every filter and encoder after it knows what the pixels are."""
    return (stream.filter("scale", out_color_matrix=colour.matrix, out_range=colour.range)
            .filter("setparams", color_primaries=colour.primaries, color_trc=colour.transfer,
                    colorspace=colour.matrix, range=colour.range))


def output_args(colour: Colour = BT709) -> dict[str, str]:
    """The encoder's tags as ffmpeg-python output keywords (libx264 writes them into the VUI,
    the mov/mp4 muxer into the `colr` box). The frames carry them too (`to_colour`): this ffmpeg
    takes an encoder's colour from its frames, and the options say it again for one that does not."""
    return {"color_primaries": colour.primaries, "color_trc": colour.transfer, "colorspace": colour.matrix,
            "color_range": colour.range}


_FIELD_ORDER = ("progressive", "top first", "bottom first", "top coded first", "bottom coded first")


def read_colour(pix_fmt_field: str) -> Colour | None:
    """The tags in ffmpeg's description of a video stream's pixel format, as it prints them:
    "yuv420p(tv, bt709, progressive)" (all three one name) or "yuv420p(tv, bt709/unknown/unknown)"
    (matrix/primaries/transfer). None when the stream declares no colour at all."""
    inside = pix_fmt_field.partition("(")[2].rpartition(")")[0]
    words = [w.strip() for w in inside.split(",") if w.strip()]
    range_ = words.pop(0) if words and words[0] in ("tv", "pc") else "unknown"
    names = next((w for w in words if not w.startswith(_FIELD_ORDER)), None)
    if names is None:
        return None if range_ == "unknown" else Colour("unknown", "unknown", "unknown", range_)
    matrix, _, rest = names.partition("/")
    primaries, _, transfer = rest.partition("/")
    return Colour(primaries or matrix, transfer or matrix, matrix, range_)
