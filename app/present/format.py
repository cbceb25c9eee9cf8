"""The one number formatter (SVG, labels JSON, explanations, make_dot): labels (compact, fixed maximum
width) and tooltips (full precision).

Why fixed maximum widths: the layout is computed once per topology and reused for every step, so a label
must never need more room than was reserved for it. `fmt_num` never returns more than NUM_WIDTH characters
and `fmt_preview` never more than its budget, whatever the value.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

NUM_WIDTH = 10  # "-1.235e-05": sign, 4 significant digits, exponent
PREVIEW_WIDTH = 26  # characters reserved for a tensor preview "[1, 2, 3, …]"
TOOLTIP_ELEMENTS = 6  # full-precision elements listed in a tooltip before eliding


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


_INF = float("inf")


def fmt_num(x: Any, digits: int = 4) -> str:
    """A compact number: `digits` significant digits, at most NUM_WIDTH characters; nan/inf plainly."""
    if type(x) is not float:  # floats are the hot path; everything else is sorted out here
        if x is None:
            return "?"
        if isinstance(x, bool):
            return "true" if x else "false"
        if isinstance(x, int) and abs(x) < 10**digits:
            return str(x)
        try:
            x = float(x)
        except (TypeError, ValueError, OverflowError):
            return "?"
    if x != x:
        return "nan"
    if x == _INF or x == -_INF:
        return "inf" if x > 0 else "-inf"
    if x == 0:
        return "0"  # also folds -0.0: a sign on zero only confuses students
    s = f"{x:.{digits}g}"  # "g" already drops trailing zeros, in the mantissa too ("1e+05")
    if len(s) > NUM_WIDTH and digits > 1:  # e.g. "-1.235e+300": trade a digit for the promised width
        return fmt_num(x, digits - 1)
    return s


def flatten(value: Any) -> Iterator[Any]:
    """Yield the scalars of a nested list in row-major order (lazily, so huge tensors cost nothing)."""
    if isinstance(value, (list, tuple)):
        for v in value:
            yield from flatten(v)
    else:
        yield value


def head(value: Any, k: int) -> list[Any]:
    """The first `k` scalars of a nested list: one plain recursion, cheaper than chained generators."""
    if isinstance(value, (list, tuple)):  # fast path: the first innermost row already holds k scalars
        row = value
        while row and isinstance(row[0], (list, tuple)):
            row = row[0]
        if len(row) >= k or row is value:
            return list(row[:k])
    out: list[Any] = []

    def walk(v: Any) -> None:
        if not isinstance(v, (list, tuple)):
            out.append(v)
        elif v and not isinstance(v[0], (list, tuple)):
            out.extend(v[: k - len(out)])  # an innermost row: one slice instead of a call per number
        else:
            for x in v:
                if len(out) >= k:
                    return
                walk(x)

    walk(value)
    return out


def numel(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def as_scalar(value: Any) -> tuple[bool, Any]:
    """(True, x) when the value is a number or a one-element (nested) list; scalars show as plain numbers."""
    if not isinstance(value, (list, tuple)):
        return True, value
    if numel(nested_shape(value)) != 1:
        return False, None
    while isinstance(value, (list, tuple)):
        value = value[0]
    return True, value


def fmt_pair(before: Any, after: Any, digits: int = 4) -> tuple[str, str] | None:
    """A scalar update `before -> after` with the fewest significant digits (at least `digits`, at most float32's
    9) that show the two differ: late in training `2 -> 2` says nothing, `1.999998 -> 1.999999` does."""
    ok_a, a = as_scalar(before)
    ok_b, b = as_scalar(after)
    if not (ok_a and ok_b):
        return None
    for d in range(digits, 10):
        pair = fmt_num(a, d), fmt_num(b, d)
        if pair[0] != pair[1]:
            return pair
    return fmt_num(a, digits), fmt_num(b, digits)


def is_scalar_shape(shape: tuple[int, ...]) -> bool:
    return numel(shape) == 1


def fmt_shape(shape: tuple[int, ...]) -> str:
    return "×".join(str(d) for d in shape) if shape else "scalar"


def fmt_preview(value: Any, width: int = PREVIEW_WIDTH) -> str:
    """A tensor preview that fits `width` characters: "[1, 2.5, -3, …]" with 3 significant digits."""
    return describe(value, width, full=False)[0]


def describe(value: Any, width: int = PREVIEW_WIDTH, full: bool = True) -> tuple[str, str]:
    """(compact text within `width`, full-precision text): one walk over the value for both."""
    if not isinstance(value, (list, tuple)):
        return fmt_num(value), (_full_num(value) if value is not None else "?")
    shape = nested_shape(value)
    total = getattr(value, "total", None) or numel(shape)  # a big tensor's Preview knows its real size
    first = head(value, max(width // 3 + 1, TOOLTIP_ELEMENTS if full else 0))
    if total == 1 and first:
        return fmt_num(first[0]), (_full_num(first[0]) if full else "")
    pieces: list[str] = []
    used = 1  # the "["
    cut = total > len(first)
    for v in first:
        # finite non-zero floats straight through "g" (the hot path); everything else via fmt_num
        t = f"{v:.3g}" if type(v) is float and v == v and v != 0 and -_INF < v < _INF else fmt_num(v, digits=3)
        extra = len(t) + (2 if pieces else 0)
        if used + extra + 4 > width:  # keep room for ", …]"
            cut = True
            break
        pieces.append(t)
        used += extra
    out = "[" + ", ".join(pieces) + ((", …]" if pieces else "…]") if cut else "]")
    if not full:
        return out, ""
    shown = first[:TOOLTIP_ELEMENTS]
    more = f", … ({total} elements)" if total > len(shown) else ""
    return out, "[" + _reprs(shown) + more + "]"


def fmt_value(value: Any, width: int = PREVIEW_WIDTH) -> str:
    """Scalars (and one-element tensors) as numbers, tensors as a preview."""
    ok, x = as_scalar(value)
    return fmt_num(x) if ok else fmt_preview(value, width)


def fmt_full(value: Any, limit: int = TOOLTIP_ELEMENTS) -> str:
    """Full precision for tooltips: repr of every float, elided after `limit` elements."""
    if value is None:
        return "?"
    if not isinstance(value, (list, tuple)):
        return _full_num(value)
    first = head(value, limit + 1)  # one more than shown tells whether anything was cut
    if len(first) == 1 and numel(nested_shape(value)) == 1:
        return _full_num(first[0])
    parts = _reprs(first[:limit])
    if len(first) <= limit:
        return "[" + parts + "]"
    return "[" + parts + f", … ({getattr(value, 'total', None) or numel(nested_shape(value))} elements)]"


def nested_shape(value: Any) -> tuple[int, ...]:
    """The shape of a regular nested list (as `tolist()` makes them), read along the first elements; a big
    tensor's Preview says its own (its nesting holds only its first elements)."""
    known = getattr(value, "shape", None)
    if isinstance(known, tuple):
        return known
    shape: list[int] = []
    while isinstance(value, (list, tuple)):
        shape.append(len(value))
        if not value:
            break
        value = value[0]
    return tuple(shape)


def _reprs(scalars: list[Any]) -> str:
    """ "a, b, c" at full precision: a list's str is the repr of each element (floats round-trip), in C."""
    if all(type(v) is float or type(v) is int for v in scalars):
        return str(scalars)[1:-1]
    return ", ".join(repr(v) if type(v) is float else str(v) for v in scalars)


def _full_num(x: Any) -> str:
    if isinstance(x, float):
        return repr(x)  # repr is the shortest string that round-trips: full precision
    return str(x)


class MemoDescribe:
    """`describe` remembering its answers by object identity for one render: autograd hands the same tensor
    to several places (an op's grad is the upstream of each of its input edges), no need to format it twice.
    Holds references to the values, so identities stay valid while it lives."""

    def __init__(self) -> None:
        self._memo: dict[tuple[int, int], tuple[Any, tuple[str, str]]] = {}
        self._full: dict[int, tuple[Any, str]] = {}

    def full(self, value: Any) -> str:
        """Only the full-precision text (tooltips of edges without a visible label): cheaper than describe."""
        if not isinstance(value, list):
            return fmt_full(value)
        hit = self._full.get(id(value))
        if hit is None:
            memo = self._memo.get((id(value), NUM_WIDTH)) or self._memo.get((id(value), PREVIEW_WIDTH))
            hit = self._full[id(value)] = (value, memo[1][1] if memo is not None else fmt_full(value))
        return hit[1]

    def __call__(self, value: Any, width: int) -> tuple[str, str]:
        if not isinstance(value, list):
            return describe(value, width)  # numbers are cheap, and small ints share identities
        key = (id(value), width)
        hit = self._memo.get(key)
        if hit is None:
            hit = self._memo[key] = (value, describe(value, width))
        return hit[1]
