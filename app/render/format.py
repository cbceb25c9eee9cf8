"""Number and tensor formatting for labels (compact, fixed maximum width) and tooltips (full precision).

Why fixed maximum widths: the layout is computed once per topology and reused for every step, so a label
must never need more room than was reserved for it. `fmt_num` never returns more than NUM_WIDTH characters
and `fmt_preview` never more than its budget, whatever the value.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

NUM_WIDTH = 10  # "-1.235e-05": sign, 4 significant digits, exponent
PREVIEW_WIDTH = 26  # characters reserved for a tensor preview "[1, 2, 3, …]"
TOOLTIP_ELEMENTS = 48  # full-precision elements listed in a tooltip before eliding


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def fmt_num(x: Any, digits: int = 4) -> str:
    """A compact number: `digits` significant digits, at most NUM_WIDTH characters; nan/inf plainly."""
    if x is None:
        return "?"
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int) and abs(x) < 10**digits:
        return str(x)
    try:
        f = float(x)
    except (TypeError, ValueError, OverflowError):
        return "?"
    if math.isnan(f):
        return "nan"
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    if f == 0:
        return "0"  # also folds -0.0: a sign on zero only confuses students
    s = f"{f:.{digits}g}"
    if "e" in s:
        # "1.235e+05" -> "1.235e+05" keeps width bounded; strip a redundant mantissa ".0"
        mant, exp = s.split("e")
        if "." in mant:
            mant = mant.rstrip("0").rstrip(".")
        s = f"{mant}e{exp}"
    if len(s) > NUM_WIDTH and digits > 1:  # e.g. "-1.235e+300": trade a digit for the promised width
        return fmt_num(f, digits - 1)
    return s


def flatten(value: Any) -> Iterator[Any]:
    """Yield the scalars of a nested list in row-major order (lazily, so huge tensors cost nothing)."""
    if isinstance(value, (list, tuple)):
        for v in value:
            yield from flatten(v)
    else:
        yield value


def numel(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def as_scalar(value: Any) -> tuple[bool, Any]:
    """(True, x) when the value is a number or a one-element (nested) list; scalars show as plain numbers."""
    if value is None or _is_number(value) or isinstance(value, bool):
        return True, value
    if isinstance(value, (list, tuple)):
        it = flatten(value)
        first = next(it, _MISSING)
        if first is _MISSING:
            return False, None
        if next(it, _MISSING) is _MISSING:
            return True, first
    return False, None


_MISSING = object()


def is_scalar_shape(shape: tuple[int, ...]) -> bool:
    return numel(shape) == 1


def fmt_shape(shape: tuple[int, ...]) -> str:
    return "×".join(str(d) for d in shape) if shape else "scalar"


def fmt_preview(value: Any, width: int = PREVIEW_WIDTH) -> str:
    """A tensor preview that fits `width` characters: "[1, 2.5, -3, …]" with 3 significant digits."""
    ok, x = as_scalar(value)
    if ok:
        return fmt_num(x)
    if not isinstance(value, (list, tuple)):
        return "?"
    out = "["
    items = 0
    for v in flatten(value):
        s = fmt_num(v, digits=3)
        sep = ", " if items else ""
        # keep room for ", …]" in case more elements follow
        if len(out) + len(sep) + len(s) + len(", …]") > width:
            return out + (", …]" if items else "…]")
        out += sep + s
        items += 1
    return out + "]" if items else "[]"


def fmt_value(value: Any, width: int = PREVIEW_WIDTH) -> str:
    """Scalars (and one-element tensors) as numbers, tensors as a preview."""
    ok, x = as_scalar(value)
    return fmt_num(x) if ok else fmt_preview(value, width)


def fmt_full(value: Any) -> str:
    """Full precision for tooltips: repr of every float, elided after TOOLTIP_ELEMENTS elements."""
    if value is None:
        return "?"
    ok, x = as_scalar(value)
    if ok and not isinstance(value, (list, tuple)):
        return _full_num(x)
    parts: list[str] = []
    total = 0
    for v in flatten(value):
        total += 1
        if len(parts) < TOOLTIP_ELEMENTS:
            parts.append(_full_num(v))
    if total > TOOLTIP_ELEMENTS:
        return "[" + ", ".join(parts) + f", … ({total} elements)]"
    return "[" + ", ".join(parts) + "]"


def _full_num(x: Any) -> str:
    if isinstance(x, float):
        return repr(x)  # repr is the shortest string that round-trips: full precision
    return str(x)
