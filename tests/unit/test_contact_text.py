"""A judge's words of any shape on the contact sheet: drawn on one line and cut to their cell,
never an error (issue 35).

A real vision judge's reasons often hold line breaks; Pillow refuses to measure such a text
("can't measure length of multiline text"), and a scene that had paid for its takes ended Failed
on its report's picture."""
from __future__ import annotations

import numpy as np
from PIL import Image

from slate.media.contact import BACKGROUND, LINE_H, PAD, ContactEntry, badge_box, contact_sheet, sheet_size

REASONS = {
    "line breaks": "The figure at the left\nis cut off at the knee.\r\n\nThe lamp\tflickers.",
    "5,000 characters": ("the mug is hard to make out; " * 200)[:5000],
    "right to left": "مرحبا بالعالم — הדמות חסרה בתמונה",
    "CJK": "人物が画面の左端で切れています。ランプが点滅しています。",
    "emoji": "👩‍🍳 ☕️ 🇯🇵 the cook is missing",
    "empty": "",
}
COLUMNS, THUMB = 3, 160


def _ink(px: np.ndarray) -> np.ndarray:
    return np.abs(px - np.array(BACKGROUND)).sum(axis=2) > 60


def test_a_judges_words_of_any_shape_are_drawn_in_their_own_cell(tmp_path):
    entries = [ContactEntry(label=f"1A panel start take 1\n({name})", image=None, verdict="escalated",
                            detail=reason, lines=(reason, f"lowest: {reason}")) for name, reason in REASONS.items()]
    out = contact_sheet(entries, tmp_path / "sheet.png", columns=COLUMNS, thumb_width=THUMB)
    px = np.asarray(Image.open(out).convert("RGB")).astype(int)
    assert px.shape[1::-1] == sheet_size(len(entries), columns=COLUMNS, thumb_width=THUMB, lines=2)
    for i, (name, reason) in enumerate(REASONS.items()):
        left, top, right, bottom = badge_box(i, columns=COLUMNS, thumb_width=THUMB, lines=2)
        first, second = (px[bottom + 1 + n * LINE_H: bottom + 1 + (n + 1) * LINE_H, left:right + 1] for n in (0, 1))
        assert _ink(first).any() == bool(reason), name          # the reason is written (an empty one is not)
        assert _ink(second).any(), name                         # "lowest: ..." always is
        # Cut to the cell: nothing spills into the gap before the next one.
        gap = px[top - 30: bottom + 1 + 2 * LINE_H, right + 1: right + PAD]
        assert not _ink(gap).any(), name
    again = contact_sheet(entries, tmp_path / "again.png", columns=COLUMNS, thumb_width=THUMB)
    assert again.read_bytes() == out.read_bytes()               # the same words, the same picture
