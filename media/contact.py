"""Contact sheets: a grid of thumbnails with labels and coloured verdict bars.

For: a one-glance PNG of what a run produced (per shot/take: image, label, verdict).
Never: depend on system fonts or anything non-deterministic (same entries => same
bytes), judge verdicts itself, or import anything of ours.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

VERDICT_COLOURS = {
    "pass": (46, 160, 67),
    "fail": (200, 40, 40),
    "escalated": (235, 140, 20),
    "missing": (128, 128, 128),
}
PAD = 8          # around each cell
LABEL_H = 18     # label text line
BAR_H = 20       # verdict bar
BACKGROUND = (24, 24, 24)
THUMB_BG = (48, 48, 48)
TEXT = (235, 235, 235)


@dataclass
class ContactEntry:
    label: str               # e.g. "1C take 2"
    image: Path | None       # None or unreadable => drawn as an empty thumbnail
    verdict: str             # "pass" / "fail" / "escalated" / "missing"
    detail: str = ""


def sheet_size(n: int, *, columns: int = 3, thumb_width: int = 320) -> tuple[int, int]:
    """Pixel size of the sheet for n entries (thumbnails are 16:9, letterboxed)."""
    rows = max(1, math.ceil(n / columns))
    cell_w, cell_h = _cell(thumb_width)
    return columns * cell_w + PAD, rows * cell_h + PAD


def _cell(thumb_width: int) -> tuple[int, int]:
    thumb_h = thumb_width * 9 // 16
    return thumb_width + PAD, thumb_h + LABEL_H + BAR_H + PAD


def _fit(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> str:
    # Truncate with an ellipsis so long labels never spill into the next cell.
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "...", font=font) > width:
        text = text[:-1]
    return text + "..."


def _thumb(path: Path | None, w: int, h: int) -> Image.Image | None:
    if path is None:
        return None
    try:
        with Image.open(path) as im:
            im = im.convert("RGB")
            im.thumbnail((w, h), Image.LANCZOS)
            return im.copy()
    except (OSError, ValueError):
        return None


def contact_sheet(entries: list[ContactEntry], out_png, *, columns: int = 3,
                  thumb_width: int = 320) -> Path:
    """Draw the grid and write it as PNG; returns the path."""
    if columns < 1 or thumb_width < 16:
        raise ValueError("columns must be >= 1 and thumb_width >= 16")
    font = ImageFont.load_default()
    size = sheet_size(len(entries), columns=columns, thumb_width=thumb_width)
    sheet = Image.new("RGB", size, BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    cell_w, cell_h = _cell(thumb_width)
    thumb_h = thumb_width * 9 // 16
    for i, e in enumerate(entries):
        x0 = PAD + (i % columns) * cell_w
        y0 = PAD + (i // columns) * cell_h
        draw.rectangle([x0, y0, x0 + thumb_width - 1, y0 + thumb_h - 1], fill=THUMB_BG)
        t = _thumb(e.image, thumb_width, thumb_h)
        if t is not None:  # centred, letterboxed
            sheet.paste(t, (x0 + (thumb_width - t.width) // 2, y0 + (thumb_h - t.height) // 2))
        draw.text((x0 + 2, y0 + thumb_h + 3), _fit(draw, e.label, font, thumb_width - 4), fill=TEXT, font=font)
        by = y0 + thumb_h + LABEL_H
        colour = VERDICT_COLOURS.get(e.verdict, VERDICT_COLOURS["missing"])
        draw.rectangle([x0, by, x0 + thumb_width - 1, by + BAR_H - 1], fill=colour)
        bar_text = e.verdict.upper() + (f" - {e.detail}" if e.detail else "")
        draw.text((x0 + 4, by + 4), _fit(draw, bar_text, font, thumb_width - 8), fill=(255, 255, 255), font=font)
    out = Path(out_png)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out, format="PNG", optimize=False)
    return out
