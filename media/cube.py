"""Reading a 3D LUT in the .cube format (Adobe / Resolve), so a bad one is refused at `slate check`
rather than by ffmpeg's lut3d halfway through a finishing pass, and so tests can say where a
colour should land.

For: parsing and range-checking a .cube text (TITLE, DOMAIN_MIN/MAX, LUT_3D_SIZE, then size^3
rows of three numbers, red changing fastest), and applying it to one RGB triple (trilinear, as
lut3d's default interpolation does). Never: read a file larger than MAX_CUBE_BYTES, start a
process, or import anything of ours but the error root (slate.errors).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from slate.errors import SlateError

MAX_CUBE_BYTES = 64 << 20   # a 65-point LUT is ~7 MB of text; anything far past that is not a LUT
MAX_SIZE = 256


class CubeError(SlateError, ValueError):
    """The .cube does not parse or holds values out of range; `line` is 1-based (0: the whole file)."""

    def __init__(self, message: str, line: int = 0):
        super().__init__(f"line {line}: {message}" if line else message)
        self.line = line


@dataclass(frozen=True)
class Cube:
    size: int
    table: list[tuple[float, float, float]]   # size^3 entries, red fastest
    lo: tuple[float, float, float] = (0.0, 0.0, 0.0)
    hi: tuple[float, float, float] = (1.0, 1.0, 1.0)

    def at(self, r: int, g: int, b: int) -> tuple[float, float, float]:
        return self.table[r + g * self.size + b * self.size * self.size]

    def apply(self, rgb: tuple[float, float, float]) -> tuple[float, float, float]:
        """Where the colour `rgb` (0..1 each) lands, interpolated trilinearly."""
        n = self.size - 1
        pos = [min(max((c - lo) / (hi - lo), 0.0), 1.0) * n for c, lo, hi in zip(rgb, self.lo, self.hi)]
        base = [min(int(p), n - 1) if n else 0 for p in pos]
        frac = [p - b for p, b in zip(pos, base)]
        out = [0.0, 0.0, 0.0]
        for dr in (0, 1):
            for dg in (0, 1):
                for db in (0, 1):
                    w = ((frac[0] if dr else 1 - frac[0]) * (frac[1] if dg else 1 - frac[1])
                         * (frac[2] if db else 1 - frac[2]))
                    if w:
                        v = self.at(min(base[0] + dr, n), min(base[1] + dg, n), min(base[2] + db, n))
                        out = [o + w * x for o, x in zip(out, v)]
        return (out[0], out[1], out[2])


def _triple(parts: list[str], line: int, what: str) -> tuple[float, float, float]:
    if len(parts) != 3:
        raise CubeError(f"{what} needs three numbers (got {len(parts)})", line)
    try:
        return (float(parts[0]), float(parts[1]), float(parts[2]))
    except ValueError:
        raise CubeError(f"{what} is not three numbers: {' '.join(parts)!r}", line) from None


def parse_cube(text: str) -> Cube:
    """The LUT in `text`, or CubeError naming the line: a 1D LUT, a missing or absurd size, a
    row that is not three numbers, too few or too many rows, or a value outside the domain
    (a LUT's output is a colour the next stage reads as 0..1)."""
    size, lo, hi, rows, where = None, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0), [], []
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        head, *rest = line.split()
        key = head.upper()
        if key == "TITLE":
            continue
        if key == "LUT_1D_SIZE":
            raise CubeError("a 1D LUT (LUT_1D_SIZE): the grade takes a 3D LUT (LUT_3D_SIZE)", n)
        if key == "LUT_3D_SIZE":
            if len(rest) != 1 or not rest[0].isdigit() or not (2 <= int(rest[0]) <= MAX_SIZE):
                raise CubeError(f"LUT_3D_SIZE must be a whole number from 2 to {MAX_SIZE} (got {' '.join(rest)!r})", n)
            size = int(rest[0])
            continue
        if key == "DOMAIN_MIN":
            lo = _triple(rest, n, "DOMAIN_MIN")
            continue
        if key == "DOMAIN_MAX":
            hi = _triple(rest, n, "DOMAIN_MAX")
            continue
        if key[0].isalpha() and not key.startswith(("E", "N", "I")):   # not a number like 1e-3, nan, inf
            raise CubeError(f"unknown keyword {head!r}", n)
        if size is None:
            raise CubeError("a table row before LUT_3D_SIZE", n)
        rows.append(_triple([head, *rest], n, "a table row"))
        where.append(n)
    if size is None:
        raise CubeError("no LUT_3D_SIZE line: not a 3D .cube LUT")
    if any(h <= l for l, h in zip(lo, hi)):
        raise CubeError(f"DOMAIN_MAX {hi} must be above DOMAIN_MIN {lo}")
    if len(rows) != size ** 3:
        raise CubeError(f"LUT_3D_SIZE {size} needs {size ** 3} rows, the file has {len(rows)}")
    for row, n in zip(rows, where):
        if not all(-1e-6 <= v <= 1 + 1e-6 for v in row):   # NaN fails this too
            raise CubeError(f"{' '.join(f'{v:g}' for v in row)} is outside 0..1", n)
    return Cube(size, rows, lo, hi)


def read_cube(path) -> Cube:
    p = Path(path)
    if p.stat().st_size > MAX_CUBE_BYTES:
        raise CubeError(f"{p.stat().st_size} bytes: more than a .cube LUT ({MAX_CUBE_BYTES} bytes at most)")
    try:
        return parse_cube(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise CubeError("not text: a .cube LUT is a text file") from None
