"""Arithmetic shown on screen that holds at the shown precision.

A line like `1.098 − 0.01 × (−16.23) = 1.260` must be recomputable from what it shows. `shown` grows the
significant digits (4 to 7) until the operands as shown, computed, round to the shown result; failing that
it shows 4 digits and `≈`. It never computes anything we display as PyTorch's: the result is always the
recorded value, the operands always recorded values; the arithmetic here only checks the claim.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from backprop_lens.present.format import as_scalar, fmt_num

OPS: dict[str, Callable[[Sequence[float]], float]] = {
    "mul": lambda v: v[0] * v[1],
    "add": lambda v: v[0] + v[1],
    "sub": lambda v: v[0] - v[1],
    "div": lambda v: v[0] / v[1],
    "sq": lambda v: v[0] * v[0],
    "sum": lambda v: math.fsum(v),
    "sgd": lambda v: v[0] - v[1] * v[2],  # before − lr × grad
    "fma": lambda v: v[0] * v[1] + v[2],  # momentum × buffer + grad
}


@dataclass(frozen=True, slots=True)
class Shown:
    operands: tuple[str, ...]
    result: str
    sign: str  # "=" when the shown arithmetic gives the shown result, else "≈"


def scalar(value: object) -> float | None:
    """A finite float for a number or a one-element tensor, else None (no arithmetic shown for it)."""
    ok, x = as_scalar(value)
    if not ok or isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _known(operands: Sequence[float | None], result: float | None) -> tuple[list[float], float] | None:
    """The numbers, when every one of them is known (scalar() gives None for tensors and non-finite values)."""
    nums = [x for x in operands if x is not None]
    if result is None or len(nums) != len(operands):
        return None
    return nums, result


def holds(op: str, operands: Sequence[float | None], result: float | None) -> bool:
    """The op's rule at full precision (float32 rounding allowed): else the op is not what we think it is.

    An unknown number never satisfies a rule."""
    known = _known(operands, result)
    if known is None:
        return False
    nums, result = known
    try:
        value = OPS[op](nums)
    except (ZeroDivisionError, OverflowError):
        return False
    return math.isclose(value, result, rel_tol=1e-4, abs_tol=1e-6)


def shown(op: str, operands: Sequence[float | None], result: float | None) -> Shown:
    """The operands and result with the digits it takes for the shown arithmetic to hold (else `≈`).

    Only for numbers `holds` accepted: every one of them known."""
    known = _known(operands, result)
    if known is None:
        raise ValueError("shown() needs every number known: check holds() first")
    operands, result = known
    for digits in range(4, 8):
        texts = tuple(fmt_num(x, digits) for x in operands)
        res = fmt_num(result, digits)
        try:
            value = OPS[op]([float(x) for x in texts])
        except (ZeroDivisionError, OverflowError, ValueError):
            break
        if fmt_num(value, digits) == res:
            return Shown(texts, res, "=")
    return Shown(tuple(fmt_num(x) for x in operands), fmt_num(result), "≈")


def paren(text: str) -> str:
    """A negative operand after an operator: `0.01 × (-16.23)`."""
    return f"({text})" if text.startswith("-") else text
