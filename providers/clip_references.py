"""A clip's reference images as one video model takes them: how many, and how its prompt names them.

A reference shot (`frame_mode: reference`) sends the video model the cast's turnarounds, the
location plate and any extra reference the shot names, instead of a start frame. What each model
takes is data (providers.spec.TakesReferences, declared in each provider module); this module
applies it the same way for every vendor: the references within the model's count (the cast
first, then the plate, then the extras: an identity matters most), and the prompt naming them
the way the family wants — `[Image1]`… for Seedance 2.0, by type for Veo, in order otherwise.

It must never send anything (the provider modules do), read a key, or let a frame go with
references to a model whose notes do not say it may.
"""
from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any

from slate.providers.base import ClipRequest
from slate.providers.errors import BadRequest
from slate.providers.spec import TakesReferences

#: A turnaround sheet's cells, left to right (manifests/turnaround.py's contract; the workshop
#: makes sheets this way, and `slate check` holds a shot's `views` to it).
SHEET_VIEWS = ("front", "three_quarter", "side", "back")
#: A sheet's width over its height: four cells, each half as wide as it is tall.
SHEET_ASPECT = 2.0

_ORDER = {"character": 0, "location": 1, "extra": 2}


#: One reference image as a ClipRequest carries it: {"uri", "kind", "name"} and what the kind adds
#: ("views", "colour", "framing", "angle", "seed"): JSON, as the plan keeps it.
Reference = dict[str, Any]


def ordered(references: Iterable[Reference]) -> list[Reference]:
    """The references, cast first, then plate, then extras (stable within each kind)."""
    return sorted(references, key=lambda r: _ORDER.get(r.get("kind") or "", 3))


def chosen(request: ClipRequest, takes: TakesReferences) -> list[Reference]:
    """What of the request's references this model gets: all of them, within its count."""
    refs = ordered(request.references)
    return refs[:takes.most] if takes.most else refs


def is_sheet(width: int, height: int) -> bool:
    """Whether a picture has a turnaround sheet's shape (four cells in a row), within 2%."""
    return height > 0 and abs(width / height - SHEET_ASPECT) <= 0.02 * SHEET_ASPECT


def views_of(sheet: bytes, views: list[str]) -> bytes:
    """The chosen views of a turnaround sheet side by side, in the sheet's order, as a PNG: each
    cell as it is (alpha and all). BadRequest for a picture that is not a four-cell sheet."""
    from PIL import Image

    with Image.open(io.BytesIO(sheet)) as img:
        img.load()
        if not is_sheet(*img.size):
            raise BadRequest(f"a turnaround of {img.size[0]}x{img.size[1]} is not a sheet of four views in a row "
                             f"({', '.join(SHEET_VIEWS)}): its views cannot be cut out")
        cell = img.size[0] / len(SHEET_VIEWS)
        chosen_views = [v for v in SHEET_VIEWS if v in views]
        out = Image.new(img.mode, (round(cell * len(chosen_views)), img.size[1]))
        for i, v in enumerate(chosen_views):
            left = round(SHEET_VIEWS.index(v) * cell)
            out.paste(img.crop((left, 0, left + round(cell), img.size[1])), (round(i * cell), 0))
    buf = io.BytesIO()
    out.save(buf, "PNG")
    return buf.getvalue()


def picture(ref: Reference, read: Callable[[str], bytes]) -> bytes:
    """The image a reference sends (`read(uri) -> bytes`): the file itself, or for a character
    whose shot chose `views`, those views of its sheet."""
    data = read(ref["uri"])
    return views_of(data, ref["views"]) if ref.get("kind") == "character" and ref.get("views") else data


def label(ref: Reference) -> str:
    kind = ref.get("kind")
    if kind == "character":
        if ref.get("views"):
            shown = ", ".join(v.replace("_", " ") for v in SHEET_VIEWS if v in ref["views"])
            return f"{ref['name']} (character views: {shown}; keep this face, hair and outfit)"
        return f"{ref['name']} (character turnaround: keep this face, hair and outfit)"
    if kind == "location":
        return f"{ref['name']} (the location: keep this set and its light)"
    return f"{ref['name']} (reference: keep it exactly as shown)"


def named_prompt(prompt: str, refs: list[Reference], naming: str) -> str:
    """The prompt with its references named the family's way."""
    if not refs:
        return prompt
    if naming == "tags":
        said = "; ".join(f"[Image{i}] is {label(r)}" for i, r in enumerate(refs, 1))
    elif naming == "typed":
        said = "The reference images show: " + "; ".join(label(r) for r in refs)
    else:
        said = "Reference images, in order: " + "; ".join(label(r) for r in refs)
    return f"{prompt}\n\n{said}."


def for_model(provider: str, model: str, request: ClipRequest, takes: TakesReferences | None) -> list[Reference]:
    """The references this model is sent for `request` (empty: a frames-only clip), refusing —
    before anything is sent — what the model cannot take."""
    if not request.references:
        return []
    if takes is None:
        raise BadRequest(f"{model} takes no reference images: a reference shot needs a model that does", provider=provider)
    if request.has_frame and takes.with_frame is not True:
        why = "its notes say not" if takes.with_frame is False else "its notes do not say it may"
        raise BadRequest(f"{model} is not sent a start frame together with references ({why})", provider=provider)
    if takes.resolutions and request.resolution not in takes.resolutions:
        raise BadRequest(f"{model} takes references only at {'/'.join(takes.resolutions)} "
                         f"(the shot asks {request.resolution})", provider=provider)
    return chosen(request, takes)
