"""Money values for the governor: exact US dollars as ``Decimal``.

What it is for: one way to turn prices, estimates and caps into exact amounts
(``usd``) and one way to show them to a film-maker (``fmt_usd``).

What it must never do: accept or produce a ``float``. Binary floating point cannot
represent $0.10 exactly, and a ledger that sums thousands of inexact amounts drifts
away from the provider's invoice and, worse, from the cap it is meant to enforce.
Every amount is quantised to one micro-dollar (6 decimal places), the precision of
the ledger's ``Numeric(18, 6)`` columns, so that what is stored is exactly what was
computed.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from slate.errors import SlateError
from slate.manifests.amounts import typed_amount

__all__ = ["MICRO", "MAX_USD", "NotAnAmount", "usd", "fmt_usd"]

#: One micro-dollar: the ledger's resolution (Numeric(18, 6)).
MICRO = Decimal("0.000001")

#: The largest amount there is: 12 integer digits + 6 decimals = Numeric(18, 6). Anything
#: larger would not fit the Postgres column and is certainly a mistake (a trillion-dollar take).
MAX_USD = Decimal("999999999999.999999")


class NotAnAmount(SlateError, ValueError):
    """A value that is not an amount of dollars the ledger can hold: not a number, not finite, or
    out of its range. Its message names the value; a caller that knows the flag or field adds it."""


def usd(x: str | int | Decimal) -> Decimal:
    """Return ``x`` as a Decimal quantised to 0.000001 dollars.

    Accepts ``str``, ``int`` and ``Decimal``. ``float`` (and ``bool``, which is an
    int by accident of history) raises ``TypeError``: money is never float.
    Rounding is half-even (banker's), so repeated rounding does not bias sums.
    """
    if isinstance(x, bool) or isinstance(x, float):
        raise TypeError(f"money is never float: got {type(x).__name__} {x!r}; pass a str or Decimal")
    if isinstance(x, Decimal):
        d = x
    elif isinstance(x, int):
        d = Decimal(x)
    elif isinstance(x, str):
        try:
            # Tolerate a leading "$" and thousands separators: rate cards written by people hold them.
            d = Decimal(typed_amount(x))
        except InvalidOperation:
            raise NotAnAmount(f"not a dollar amount: {_shown(x)}") from None
        except ValueError as exc:   # a comma that is not a thousands separator
            raise NotAnAmount(f"not a dollar amount: {_shown(x)} ({exc})") from None
    else:
        raise TypeError(f"usd() takes str, int or Decimal, not {type(x).__name__}")
    if not d.is_finite():
        raise NotAnAmount(f"not a finite dollar amount: {_shown(x)}")
    # Before quantising: 1e400 cannot be written to six places in Decimal's 28 digits, and
    # quantize() raised decimal.InvalidOperation (a traceback from `--cap 1e400`).
    if abs(d) > MAX_USD:
        raise NotAnAmount(f"dollar amount out of range for the ledger (at most {MAX_USD:,}): {_shown(x)}")
    q = d.quantize(MICRO, rounding=ROUND_HALF_EVEN)
    # Normalise -0.000000 to 0.000000 so equal amounts also print the same.
    return q + 0 if q else Decimal("0.000000")


def _shown(x: object) -> str:
    """A typed value as an error names it: whole when short, its head and length when not."""
    text = repr(x)
    return text if len(text) <= 60 else f"{text[:40]}… ({len(str(x))} characters)"


def fmt_usd(d: Decimal | str | int) -> str:
    """Format dollars for people: ``$0.39``, ``$1,234.50``, ``-$2.00``.

    Two decimals normally; a non-zero amount below one cent keeps its significant
    digits (``$0.0042``, ``$0.000001``) because "$0.00" for a real charge would hide
    money from the film-maker.
    """
    d = usd(d)
    sign = "-" if d < 0 else ""
    a = abs(d)
    if a == 0 or a >= Decimal("0.01"):
        # Round half-up for display (what people expect on a bill).
        body = f"{a.quantize(Decimal('0.01'), rounding='ROUND_HALF_UP'):,.2f}"
    else:
        # Sub-cent: print all 6 places, then drop trailing zeros (keep >= 2 places).
        body = f"{a:.6f}".rstrip("0")
        if len(body.split(".")[1]) < 2:
            body = f"{a:.2f}"
    return f"{sign}${body}"
