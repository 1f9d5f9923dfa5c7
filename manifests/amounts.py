"""An amount of dollars as a person types it: on a command line, in a form, on a rate card.

"$5.00" and "1,250" are read as 5.00 and 1250; a comma anywhere but between groups of three
digits is refused, not dropped: "1,0,0" read as 100 or a European "1,50" read as 150 would be a
cap nobody meant. What the amount may be (a number, finite, in the ledger's range) is the
reader's to hold (governor/money.py `usd`, manifests/options.py `Usd`).

It must never import anything of ours but slate.errors, nor round or convert the amount.
"""
from __future__ import annotations

import re

#: An amount written with thousands separators: 1,250 or -12,345,678.50.
_GROUPED = re.compile(r"[-+]?\d{1,3}(,\d{3})+(\.\d*)?")


def typed_amount(text: str) -> str:
    """`text` without its leading "$" and its thousands separators; ValueError naming the comma
    rule when a comma stands anywhere else."""
    bare = text.strip().removeprefix("$").strip()
    if "," in bare and not _GROUPED.fullmatch(bare):
        raise ValueError("a comma stands only between groups of three digits, as in 1,250.00; "
                         "write cents with a point: 1.50")
    return bare.replace(",", "")


__all__ = ["typed_amount"]
